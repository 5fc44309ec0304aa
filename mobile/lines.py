"""Where a label's Chinese text breaks into lines: by the CJK rules, not anywhere.

Kivy breaks lines only at spaces, and cuts a word too long for its line
wherever it must: Chinese, written without spaces, was cut anywhere, so a
line could start with "，" "。" or "）" and end with "（". Here each
character's Unicode line-breaking class (UAX #14, from uniseg's tables)
says where a break is allowed, and the lines are filled greedily with the
label's own measure. uniseg's whole algorithm is pure Python and took a
second for a thousand characters; the pair rules below are the part of it
that Chinese, numbers and English words need, in a few milliseconds.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from functools import cache

from uniseg.linebreak import line_break

# A line never starts with these: closing brackets and punctuation
# （，。、）」》！？), "non-starters" (：；), a no-break space, an ellipsis.
NO_START = frozenset({"CL", "CP", "EX", "IS", "NS", "SY", "GL", "IN", "WJ", "ZW", "CM", "ZWJ"})
# A line never ends with these: opening brackets, a no-break space.
NO_END = frozenset({"OP", "GL", "WJ", "ZWJ"})
# Beside one of these a line may break (unless the rules above forbid):
# ideographs, kana and hangul, and the CJK punctuation around them. Between
# two letters or digits (a word, a number, a date) it may not.
BREAKS_BESIDE = frozenset(
    {"ID", "CJ", "H2", "H3", "JL", "JV", "JT", "CL", "CP", "EX", "NS", "OP", "B2", "IN"}
)


@cache
def _class(char: str) -> str:
    kind = str(line_break(char))
    if kind == "QU":
        # Quotes: “‘ open, ”’ close (their general category says which).
        category = unicodedata.category(char)
        return "OP" if category == "Pi" else "CL" if category == "Pf" else "AL"
    return kind


def _may_break(before: str, after: str) -> bool:
    """May a line end between the characters ``before`` and ``after``?"""
    first, second = _class(before), _class(after)
    if second == "SP":
        return False  # spaces stay at the end of the line they follow
    if first == "SP":
        return second not in NO_START
    if second in NO_START or first in NO_END:
        return False
    if first == second == "B2":
        return False  # the two halves of "——"
    return first in BREAKS_BESIDE or second in BREAKS_BESIDE


def units(paragraph: str) -> Iterator[str]:
    """The pieces of ``paragraph`` between the places a line may break."""
    start = 0
    for index in range(1, len(paragraph)):
        if _may_break(paragraph[index - 1], paragraph[index]):
            yield paragraph[start:index]
            start = index
    if paragraph:
        yield paragraph[start:]


def break_lines(text: str, width: float, measure: Callable[[str], float]) -> str:
    """``text`` with a newline wherever a line of at most ``width`` must end.

    A unit that is wider than a whole line on its own (a long number) is
    left whole: Kivy cuts it, as nothing better is allowed.
    """
    # Each unit is measured once (Chinese repeats its characters); a line's
    # width is their sum, checked by measuring the line itself before it ends.
    widths: dict[str, float] = {}

    def width_of(unit: str) -> float:
        if unit not in widths:
            widths[unit] = measure(unit)
        return widths[unit]

    lines: list[str] = []
    for paragraph in text.split("\n"):
        line: list[str] = []
        used = 0.0
        for unit in units(paragraph):
            if line and used + width_of(unit.rstrip(" ")) > width:
                # Sums can be off by rounding: give back what does not fit.
                while len(line) > 1 and measure("".join(line).rstrip(" ")) > width:
                    unit = line.pop() + unit
                lines.append("".join(line).rstrip(" "))
                line, used = [], 0.0
            line.append(unit)
            used += width_of(unit)
        lines.append("".join(line))
    return "\n".join(lines)
