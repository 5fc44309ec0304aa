// The photos' lightbox: a thumbnail opens its photo at full size over the
// page, Esc or a click outside closes it, the arrow keys step through the
// page's photos. Without script a thumbnail is a plain link to the image.
const links = [...document.querySelectorAll("a.photo")];
if (links.length) {
  const chinese = document.documentElement.lang.startsWith("zh");
  const box = document.createElement("div");
  box.className = "lightbox";
  box.hidden = true;
  box.setAttribute("role", "dialog");
  box.setAttribute("aria-modal", "true");
  const image = document.createElement("img");
  const caption = document.createElement("p");
  const close = document.createElement("button");
  close.type = "button";
  close.className = "close";
  close.textContent = "×";
  close.setAttribute("aria-label", chinese ? "关闭" : "Close");
  caption.className = "caption";
  box.append(image, caption, close);
  document.body.append(box);
  let current = 0;
  let opener = null;

  const show = (index) => {
    current = (index + links.length) % links.length;
    const thumbnail = links[current].querySelector("img");
    image.src = links[current].href;
    image.alt = thumbnail.alt;
    caption.textContent = `${thumbnail.alt} (${current + 1}/${links.length})`;
  };
  const shut = () => {
    box.hidden = true;
    image.removeAttribute("src");
    opener?.focus();
  };
  links.forEach((link, index) =>
    link.addEventListener("click", (event) => {
      // A new tab or window still gets the image itself.
      if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
      event.preventDefault();
      opener = link;
      show(index);
      box.hidden = false;
      close.focus();
    }),
  );
  close.addEventListener("click", shut);
  box.addEventListener("click", (event) => {
    if (event.target === box) shut();
  });
  document.addEventListener("keydown", (event) => {
    if (box.hidden) return;
    if (event.key === "Escape") shut();
    else if (event.key === "ArrowRight") show(current + 1);
    else if (event.key === "ArrowLeft") show(current - 1);
  });
}
