"""Print-ready PDFs (fpdf2): contact cards (联系服务卡), eight to an A4 sheet, a
cadre's notebook (民情记录本), and the inspectors' inspection sheet (督查表).

The Chinese font is Droid Sans Fallback, which has no Latin letters or digits;
DejaVu Sans fills those in (fpdf2's fallback fonts), so a phone number prints.
Both fonts ship in server/assets/fonts with their licences. Printed outputs
are in Chinese, the county's working language.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from itertools import groupby
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from server.console.reports import CHINA
from server.console.reports.outputs import Card, Notebook, OpenIssue, SheetVillage
from shared.vocab import HouseholdTag, IssueEventKind, VisitRole

FONTS = Path(__file__).resolve().parent.parent / "assets" / "fonts"
CJK_FONT = FONTS / "DroidSansFallbackFull.ttf"
LATIN_FONT = FONTS / "DejaVuSans.ttf"

# The card grid on an A4 sheet (mm): two across, four down, with room to cut.
CARD_WIDTH, CARD_HEIGHT = 90.0, 66.0
CARD_COLUMNS, CARD_ROWS = 2, 4
CARD_LEFT, CARD_TOP, CARD_GAP_X, CARD_GAP_Y = 10.0, 10.5, 10.0, 5.0
CARDS_PER_PAGE = CARD_COLUMNS * CARD_ROWS


class Document(FPDF):  # type: ignore[misc]
    """An A4 document with the fonts set up for Chinese and Latin."""

    def __init__(self, title: str, orientation: str = "portrait") -> None:
        super().__init__(orientation=orientation, unit="mm", format="A4")
        self.add_font("cjk", fname=str(CJK_FONT))
        self.add_font("latin", fname=str(LATIN_FONT))
        self.set_fallback_fonts(["latin"], exact_match=False)
        self.set_font("cjk", size=10)
        self.set_title(title)
        self.set_creator("民情 Minqing")
        self.set_compression(True)
        self._cjk_glyphs = self.fonts["cjk"].cmap
        # Each character's advance in its font, in thousandths of the type size.
        self._advances: dict[str, float] = {}

    def font_for(self, char: str) -> str:
        """The font that has a glyph for ``char``: Droid's CJK, else DejaVu's Latin."""
        return "cjk" if ord(char) in self._cjk_glyphs else "latin"

    def width(self, text: str, size: float) -> float:
        """``text``'s width in mm at ``size`` pt, each character in the font that has
        it: fpdf2's get_string_width, without its per-call text analysis."""
        advances, total = self._advances, 0.0
        for char in text:
            advance = advances.get(char)
            if advance is None:
                advance = advances[char] = self.fonts[self.font_for(char)].cw[ord(char)]
            total += advance
        return total * size / 1000 / self.k


def contact_cards(cards: Iterable[Card], county: str, service_numbers: list[str]) -> bytes:
    """One card per household: the household, its cadre's unit, name and phone, and
    the county's public-service numbers."""
    pdf = Document(f"{county}联系服务卡")
    pdf.set_auto_page_break(False)
    pdf.set_draw_color(120)
    for index, card in enumerate(cards):
        slot = index % CARDS_PER_PAGE
        if slot == 0:
            pdf.add_page()
        column, row = slot % CARD_COLUMNS, slot // CARD_COLUMNS
        _card(
            pdf,
            CARD_LEFT + column * (CARD_WIDTH + CARD_GAP_X),
            CARD_TOP + row * (CARD_HEIGHT + CARD_GAP_Y),
            card,
            county,
            service_numbers,
        )
    if pdf.page == 0:
        pdf.add_page()
        _write(pdf, CARD_LEFT, CARD_TOP, "没有农户 / no households", 12)
    return bytes(pdf.output())


def _write(pdf: Document, x: float, y: float, text: str, size: float, center: float = 0) -> None:
    """``text`` with its baseline at ``y``, centred in ``center`` mm if given.

    Cards use plain text runs, each in the font that has its glyphs: a town
    prints thousands, and fpdf2's cells with fallback fonts are several times slower.
    """
    runs = [
        (font, "".join(chars)) for font, chars in groupby(text, key=lambda char: pdf.font_for(char))
    ]
    if center:
        x += (center - pdf.width(text, size)) / 2
    for font, run in runs:
        pdf.set_font(font, size=size)
        pdf.text(x, y, run)
        x += pdf.width(run, size)


def _card(pdf: Document, x: float, y: float, card: Card, county: str, numbers: list[str]) -> None:
    pdf.rect(x, y, CARD_WIDTH, CARD_HEIGHT)
    _write(pdf, x, y + 7.5, "联系服务卡", 14, center=CARD_WIDTH)
    _write(pdf, x, y + 12, f"{county} · 重心下移访民情 · 包村包户全覆盖", 7.5, center=CARD_WIDTH)
    lines = [
        (9, f"户主：{card.head_name}    户号：{card.code}"),
        (8, f"地址：{card.address or card.village}"),
        (10, f"挂户干部：{card.cadre or '（待落实）'}"),
        (9, f"单位：{card.unit}"),
        (10, f"电话：{card.phone}"),
    ]
    baseline = y + 18.5
    for size, text in lines:
        _write(pdf, x + 4, baseline, text, size)
        baseline += 5.4
    pdf.line(x + 4, baseline - 2.6, x + CARD_WIDTH - 4, baseline - 2.6)
    _write(pdf, x + 4, baseline + 0.8, "公共服务电话", 7.5)
    width = (CARD_WIDTH - 8) / 2
    for number, text in enumerate(numbers[:8]):
        _write(pdf, x + 4 + (number % 2) * width, baseline + 4.8 + (number // 2) * 4, text, 7.5)


# --- the notebook ---------------------------------------------------------------------


def _day(moment: datetime | date | None) -> str:
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        moment = moment.astimezone(CHINA)
    return moment.strftime("%Y-%m-%d")


# A row of photo thumbnails in the notebook: each this high (mm), side by side.
THUMBNAIL_HEIGHT = 18.0


def _thumbnails(pdf: Document, images: list[bytes]) -> None:
    """A record's photos as a row of thumbnails under it, on the next page if
    the row would not fit."""
    if not images:
        return
    if pdf.get_y() + THUMBNAIL_HEIGHT + 2 > pdf.h - pdf.b_margin:
        pdf.add_page()
    x, y = pdf.l_margin + 6, pdf.get_y() + 1
    for image in images:
        placed = pdf.image(io.BytesIO(image), x=x, y=y, h=THUMBNAIL_HEIGHT)
        x += placed.rendered_width + 2
    pdf.set_y(y + THUMBNAIL_HEIGHT + 1)


class NotebookDocument(Document):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font_size(8)
        self.cell(0, 6, f"第 {self.page_no()} 页", align="C")


def notebook_pdf(notebook: Notebook, printed: date) -> bytes:
    """A cadre's notebook: a cover, the households at a glance, then each one's page."""
    cadre = notebook.cadre
    pdf = NotebookDocument(f"民情记录本 {cadre.name}")
    pdf.set_auto_page_break(True, margin=16)
    pdf.set_margins(15, 15, 15)
    pdf.add_page()
    pdf.set_font_size(24)
    pdf.cell(0, 30, "民情记录本", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(12)
    for label, value in (
        ("挂户干部", cadre.name),
        ("单位", notebook.unit.name),
        ("电话", cadre.phone),
        ("挂钩农户", f"{len(notebook.households)} 户"),
        ("打印日期", printed.isoformat()),
    ):
        pdf.cell(0, 9, f"{label}：{value}", align="C", new_x="LMARGIN", new_y="NEXT")

    labels = {tag.value: tag.zh for tag in HouseholdTag}
    pdf.add_page()
    pdf.set_font_size(14)
    pdf.cell(0, 10, "挂钩农户一览", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(9)
    # Droid Sans has no bold: headings are shaded instead.
    headings = FontFace(emphasis="NONE", fill_color=(230, 230, 230))
    # A phone number is never broken across lines: each has its own line, in
    # a column wide enough for a landline with its area code.
    with pdf.table(
        col_widths=(30, 18, 10, 46, 36, 40), line_height=5.5, headings_style=headings
    ) as table:
        table.row(["户编号", "户主", "人口", "地址", "电话", "情况"])
        for page in notebook.households:
            household = page.household
            table.row(
                [
                    household.code,
                    household.head_name,
                    str(household.members),
                    household.address,
                    "\n".join(household.phones),
                    "、".join(labels.get(tag, tag) for tag in household.tags),
                ]
            )

    roles = {role.value: role.zh for role in VisitRole}
    pdf.add_page()
    for page in notebook.households:
        household = page.household
        # Households follow one another; one starts a new sheet only near the bottom.
        if pdf.get_y() > pdf.h - 60:
            pdf.add_page()
        elif pdf.get_y() > pdf.t_margin + 1:
            pdf.ln(3)
            pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
            pdf.ln(3)
        pdf.set_font_size(14)
        pdf.cell(0, 9, f"{household.head_name}  {household.code}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font_size(9)
        pdf.multi_cell(
            0,
            5,
            # The phones on a line of their own, so a long address cannot push
            # one over the line's end.
            f"{page.village} · {household.address} · 人口 {household.members}\n"
            f"电话 {'、'.join(household.phones) or '无'}"
            + (f"\n备注：{household.notes}" if household.notes else ""),
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.ln(2)
        pdf.set_font_size(11)
        pdf.cell(0, 7, f"走访记录（{len(page.visits)} 次）", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font_size(9)
        for visit in page.visits:
            what = "、".join(roles.get(role, role) for role in visit.roles)
            topics = "、".join(visit.topics)
            pdf.multi_cell(
                0,
                5,
                f"{_day(visit.visited_at)}  {visit.kind.zh}"
                + (f"  {what}" if what else "")
                + (f"  话题：{topics}" if topics else "")
                + (f"\n    {visit.notes}" if visit.notes else ""),
                new_x="LMARGIN",
                new_y="NEXT",
            )
            _thumbnails(pdf, notebook.thumbnails.get(visit.id, []))
        pdf.ln(2)
        pdf.set_font_size(11)
        pdf.cell(0, 7, f"反映的问题（{len(page.issues)} 个）", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font_size(9)
        for issue, events in page.issues:
            pdf.multi_cell(
                0,
                5,
                f"{_day(issue.raised_at)}  【{issue.category.zh}】{issue.description}"
                f"  —— {issue.status.zh}" + (f"（{issue.department}）" if issue.department else ""),
                new_x="LMARGIN",
                new_y="NEXT",
            )
            _thumbnails(pdf, notebook.thumbnails.get(issue.id, []))
            for event in events:
                step = (
                    event.status.zh
                    if event.kind == IssueEventKind.STATUS and event.status
                    else "跟进"
                )
                pdf.multi_cell(
                    0,
                    5,
                    f"    {_day(event.at)}  {step}"
                    + (f"（{event.department}）" if event.department else "")
                    + (f"：{event.note}" if event.note else ""),
                    new_x="LMARGIN",
                    new_y="NEXT",
                )
                _thumbnails(pdf, notebook.thumbnails.get(event.id, []))
    return bytes(pdf.output())


# --- the inspection sheet -------------------------------------------------------------


class SheetDocument(Document):
    """Landscape, for the sheet's many columns; every page names the sheet."""

    def __init__(self, title: str) -> None:
        super().__init__(title, orientation="landscape")
        self.sheet_title = title

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font_size(8)
        self.cell(0, 5, f"{self.sheet_title} · 第 {self.page_no()} 页", align="C")


# What the office asks at each household (left blank to tick or write in the
# field), after what the ledger says; widths in mm, 277 across.
SHEET_COLUMNS = (
    ("序号", 8),
    ("户主 / 户编号", 30),
    ("网格 · 地址 · 电话", 54),
    ("挂户干部", 22),
    ("最近走访", 20),
    ("未解决的问题", 54),
    ("认识干部", 14),
    ("农户说最近走访", 18),
    ("问题解决", 16),
    ("满意度", 21),
    ("备注", 20),
)
BLANKS = ("□是 □否", "", "□是 □否\n□部分", "□满意 □基本\n□不满意", "")
# The rows' type (pt), line height and padding inside a cell (mm), and the
# bottom margin the footer keeps.
ROW_SIZE, ROW_LINE, PAD_X, PAD_Y = 8, 4.2, 1.0, 0.3
SHEET_BOTTOM = 14
# A word that is never broken across lines (a phone number, a household code):
# a run of Latin letters, digits and signs. Anything else breaks after any character.
WORD = re.compile(r" +|[!-~]+|.")


def _issue(issue: OpenIssue) -> str:
    where = issue.department + ("，超期" if issue.overdue else "")
    return f"{_day(issue.raised_at)}【{issue.category.zh}】{issue.description}" + (
        f"（{where}）" if where else ""
    )


def _wrap(pdf: Document, text: str, width: float, size: float) -> list[str]:
    """``text``'s lines as printed ``width`` mm wide: its own line ends kept, Chinese
    broken anywhere, a Latin word only where it alone is wider than a line."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, used = "", 0.0
        for word in WORD.findall(paragraph):
            wide = pdf.width(word, size)
            if used + wide <= width or (word[0] == " " and line):
                line, used = line + word, used + wide
                continue
            if line.strip():
                lines.append(line.rstrip())
            line, used = ("", 0.0) if word[0] == " " else (word, wide)
            while used > width and len(line) > 1:  # a word wider than the cell
                cut = len(line) - 1
                while cut > 1 and pdf.width(line[:cut], size) > width:
                    cut -= 1
                lines.append(line[:cut])
                line = line[cut:]
                used = pdf.width(line, size)
        lines.append(line.rstrip())
    return lines


def _row(pdf: Document, cells: list[str], shade: bool = False) -> None:
    """One row of the sheet at the current y, drawn whole.

    Drawn as plain text runs, as the cards are: fpdf2's tables take ~10 ms a row,
    a minute for a big town. The row goes to the next page if it does not fit
    here, and a row taller than a page is cut short with an ellipsis."""
    widths = [width for _, width in SHEET_COLUMNS]
    wrapped = [
        _wrap(pdf, text, width - 2 * PAD_X, ROW_SIZE)
        for text, width in zip(cells, widths, strict=True)
    ]
    room = pdf.h - SHEET_BOTTOM - pdf.t_margin - 2 * PAD_Y
    most = int(room / ROW_LINE) - (0 if shade else 3)  # room left under the headings
    for lines in wrapped:
        if len(lines) > most:
            del lines[most:]
            lines[-1] = lines[-1][:-1] + "…"
    height = max(len(lines) for lines in wrapped) * ROW_LINE + 2 * PAD_Y
    # Headings keep at least a line of the rows under them.
    needed = height + (ROW_LINE + 2 * PAD_Y if shade else 0)
    if pdf.get_y() + needed > pdf.h - SHEET_BOTTOM:
        pdf.add_page()
        if not shade:
            _headings(pdf)
    y, x = pdf.get_y(), pdf.l_margin
    if shade:
        pdf.set_fill_color(230)
    for lines, width in zip(wrapped, widths, strict=True):
        pdf.rect(x, y, width, height, style="DF" if shade else "D")
        # Each line's baseline where fpdf2 puts a cell's: 0.3 of the type below its middle.
        baseline = y + PAD_Y + ROW_LINE / 2 + 0.3 * ROW_SIZE / pdf.k
        for line in lines:
            _write(pdf, x + PAD_X, baseline, line, ROW_SIZE)
            baseline += ROW_LINE
        x += width
    if shade:
        pdf.set_fill_color(0)  # fpdf2 brackets text in a colour change while fill and text differ
    # Back to the Chinese font, which the page's footer and the headings print in.
    pdf.set_font("cjk", size=ROW_SIZE)
    pdf.set_y(y + height)


def _headings(pdf: Document) -> None:
    # Droid Sans has no bold: headings are shaded instead.
    _row(pdf, [heading for heading, _ in SHEET_COLUMNS], shade=True)


def inspection_sheet_pdf(
    villages: list[SheetVillage],
    title: str,
    printed: date,
    progress: Callable[[float], None],
) -> bytes:
    """The inspection sheet: per village, each household's cadre, latest visit and
    unsolved issues as the ledger has them, and blank columns for what the
    inspector finds there."""
    pdf = SheetDocument(title)
    pdf.set_margins(10, 10, 10)
    pdf.set_auto_page_break(True, margin=SHEET_BOTTOM)
    pdf.add_page()
    total = sum(len(village.households) for village in villages)
    pdf.set_font_size(16)
    pdf.cell(0, 9, title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(10)
    pdf.cell(
        0,
        7,
        f"打印日期：{printed.isoformat()}    共 {total} 户"
        "    督查人：______________    督查日期：______________",
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    if not villages:
        pdf.cell(0, 10, "没有农户 / no households", new_x="LMARGIN", new_y="NEXT")
    done = 0
    for village in villages:
        if pdf.get_y() > pdf.h - 50:
            pdf.add_page()
        pdf.ln(2)
        pdf.set_font_size(12)
        pdf.cell(
            0,
            8,
            f"{village.town} {village.name}（{len(village.households)} 户）",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.set_font_size(8)
        if village.issues:
            pdf.multi_cell(
                0,
                4.2,
                "全村未解决的问题：" + "；".join(_issue(issue) for issue in village.issues),
                new_x="LMARGIN",
                new_y="NEXT",
            )
            pdf.ln(1)
        _headings(pdf)
        for number, household in enumerate(village.households, start=1):
            _row(
                pdf,
                [
                    str(number),
                    f"{household.head_name}\n{household.code}",
                    # Phones apart by two spaces (Droid's are narrow), where a line
                    # may break: never inside one.
                    f"{household.grid} {household.address}\n{'  '.join(household.phones)}",
                    f"{household.cadre}\n{household.cadre_phone}"
                    if household.cadre
                    else "（待落实）",
                    _day(household.last_visit) or "从未走访",
                    "\n".join(_issue(issue) for issue in household.issues) or "无",
                    *BLANKS,
                ],
            )
            done += 1
            if done % 100 == 0:
                progress(done / total * 0.9)  # the rest is fpdf writing the file out
    return bytes(pdf.output())
