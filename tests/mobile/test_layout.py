"""The app's layout on a 5-inch phone (360x640 dp): Chinese lines broken by
the CJK rules, titles that fit beside the language button, and a notice
in the status bar, over no form, moving nothing."""

from __future__ import annotations

from kivy.metrics import dp
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.textinput import TextInput
from kivy.uix.widget import Widget

from mobile.lines import break_lines
from tests.live import LiveServer
from tests.mobile.driver import Phone
from tests.server.sync.world import County

NO_LINE_STARTS_WITH = "，。、；：？！）」』】》”"
NO_LINE_ENDS_WITH = "（「『【《“"
NOTES = (
    "户主反映：家中收入来源单一（主要靠种植茶叶、养鸡），希望得到技术培训。"
    "另外，孩子上学的“雨露计划”补助还没到账；已告知村里，请镇里帮忙问一问！"
    "老人说：“身体还好，就是腿脚不便。”下次走访带上血压计。"
) * 3


def window_box(widget: Widget) -> tuple[float, float, float, float]:
    x, y = widget.to_window(widget.x, widget.y)
    return x, y, x + widget.width, y + widget.height


def overlaps(a: Widget, b: Widget) -> bool:
    ax, ay, ar, at = window_box(a)
    bx, by, br, bt = window_box(b)
    return ax < br and bx < ar and ay < bt and by < at


def shown_lines(root: Widget) -> list[str]:
    """Every line Kivy laid out in the labels under ``root``."""
    lines = []
    for widget in root.walk(restrict=True):
        if isinstance(widget, Label) and widget.text and widget._label._cached_lines:
            for line in widget._label._cached_lines:
                lines.append("".join(word.text for word in line.words))
    return lines


def test_long_chinese_notes_break_only_where_the_cjk_rules_allow_at_phone_width(
    phone: Phone, live: tuple[LiveServer, County]
) -> None:
    _, county = live
    phone.log_in(county.cadres[0])
    phone.record_visit("林00", NOTES)
    phone.running.say(NOTES[:120])
    phone.frames(count=3)
    lines = shown_lines(phone.running.root)
    wrapped = [line for line in lines if "户主反映" in line or "雨露计划" in line]
    assert wrapped, "the visit's notes are on the household's screen"
    assert len(lines) > 20
    for line in lines:
        assert line[:1] not in NO_LINE_STARTS_WITH, f"a line starts with {line[:1]}: {line}"
        assert line[-1:] not in NO_LINE_ENDS_WITH, f"a line ends with {line[-1:]}: {line}"
    phone.screenshot("household-long-notes")


def test_lines_are_filled_as_far_as_the_rules_let_them() -> None:
    def measure(text: str) -> float:
        return 10.0 * len(text)

    # Six characters a line: "，" and "。" may not start one: "户" and "一" go with them.
    assert (
        break_lines("走访时发现该户，收入单一。", 60, measure) == "走访时发现该\n户，收入单\n一。"
    )
    assert break_lines("（养殖、种植）以及", 40, measure) == "（养殖、\n种植）以\n及"
    # Words, numbers and no-break spaces are never cut; spaces end a line.
    assert break_lines("sent 12\u00a0records to the county", 100, measure) == (
        "sent\n12\u00a0records\nto the\ncounty"
    )


def test_every_screens_title_fits_beside_the_language_button_at_phone_width(
    phone: Phone, live: tuple[LiveServer, County]
) -> None:
    _, county = live
    phone.log_in(county.cadres[0])
    for lang in ("zh", "en"):
        phone.running.lang = lang
        # The longest titles: a household's name after a word, and no back button.
        for name, params in (
            ("households", {}),
            (
                "visit",
                {"household_id": county.households[county.cadres[0]][0], "head_name": "林00"},
            ),
            ("notebook", {}),
        ):
            phone.running.go(name, **params)
            phone.settle()
            bars = [w for w in phone.screen.walk(restrict=True) if type(w).__name__ == "TopBar"]
            title = bars[0].ids.title
            width, height = title.texture_size
            assert width <= title.width and height <= title.height, (name, lang, title.text)
            shown = "".join(shown_lines(title)).replace(" ", "")
            assert shown == title.text.replace(" ", ""), "the whole title, not cut short"
            assert not overlaps(title, bars[0].ids.language) or bars[0].ids.language.width == 0
    assert phone.running.root.width == 540, "a 360 dp phone at density 1.5"


def test_a_notice_shows_in_the_status_bar_over_no_field_or_button_and_moves_nothing(
    phone: Phone, live: tuple[LiveServer, County]
) -> None:
    _, county = live
    phone.log_in(county.cadres[0])
    phone.open_household("林00")
    phone.tap(phone.ids("new_visit"))
    phone.running.notice = ""
    phone.frames(count=3)
    touchable = [
        widget
        for widget in phone.screen.walk(restrict=True)
        if isinstance(widget, Button | TextInput) and widget.width and widget.height
    ]
    before = {
        widget: (tuple(widget.to_window(*widget.pos)), tuple(widget.size)) for widget in touchable
    }
    phone.running.say("已从服务器收到 12 条新记录；" * 4)
    phone.frames(count=3)
    (bar,) = [w for w in phone.screen.walk(restrict=True) if type(w).__name__ == "StatusBar"]
    assert bar.ids.pending.text.startswith("已从服务器收到 12 条新记录")
    assert bar.ids.pending.texture_size[1] <= bar.height, "two lines at most, inside the bar"
    assert bar.ids.pending.width > 0.9 * (bar.width - 2 * dp(12)), "the bar's whole width"
    scroller = phone.ids("scroller")
    assert phone.ids("save") in touchable
    for widget in touchable:
        assert (tuple(widget.to_window(*widget.pos)), tuple(widget.size)) == before[widget], (
            f"{widget} moved when the notice came"
        )
        inside = scroller in list(widget.walk_reverse()) or _within(widget, scroller)
        # What scrolled out of view is clipped by its scroller: its visible part counts.
        if inside and not overlaps(widget, scroller):
            continue
        assert widget is bar or not overlaps(widget, bar.ids.pending), f"the notice covers {widget}"
    assert not overlaps(scroller, bar)
    phone.screenshot("visit-with-notice")


def _within(widget: Widget, ancestor: Widget) -> bool:
    parent = widget.parent
    while parent is not None and parent is not parent.parent:
        if parent is ancestor:
            return True
        parent = parent.parent
    return False
