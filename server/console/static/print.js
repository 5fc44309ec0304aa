// The print button of a printable page, from a file: the console's
// Content-Security-Policy runs no inline script.
for (const button of document.querySelectorAll("button[data-print]")) {
  button.addEventListener("click", () => window.print());
}
