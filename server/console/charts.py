"""Horizontal bar charts laid out on the server and drawn as inline SVG.

No chart library and nothing from a CDN: the geometry is computed here and a
Jinja macro (templates/console/macros.html) writes the SVG, so a chart shows
on any phone browser and prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Below this share a bar is drawn in the warning colour.
LOW_SHARE = 0.5


@dataclass(frozen=True)
class Bar:
    label: str
    # A share from 0 to 1; None when there is nothing to share (no households).
    value: float | None
    note: str
    href: str


@dataclass(frozen=True)
class PlacedBar:
    bar: Bar
    y: float
    width: float

    @property
    def low(self) -> bool:
        return self.bar.value is not None and self.bar.value < LOW_SHARE


@dataclass(frozen=True)
class BarChart:
    bars: list[PlacedBar]
    width: int
    height: int
    label_width: int
    plot_width: int
    row: int
    # x of the 0 %, 25 %, 50 %, 75 % and 100 % grid lines, with their labels.
    ticks: list[tuple[float, str]]
    # Each label on its own line above its bar (the phone layout), not beside it.
    stacked: bool = False


# The phone layout's width: an SVG scales its text with it, so at this width
# the 12px text shows at about 11px on a 360px-wide phone.
PHONE_WIDTH = 380


def bar_chart(
    bars: Sequence[Bar], *, width: int = 720, label_width: int = 170, row: int = 24
) -> BarChart:
    """Place ``bars`` one per row; the plot leaves room after the longest bar for its note."""
    plot_width = width - label_width - 120
    top = 18  # room for the tick labels
    placed = [
        PlacedBar(bar, top + index * row, (bar.value or 0) * plot_width)
        for index, bar in enumerate(bars)
    ]
    ticks = [(label_width + plot_width * step / 4, f"{step * 25}%") for step in range(5)]
    return BarChart(placed, width, top + len(bars) * row + 4, label_width, plot_width, row, ticks)


def phone_chart(bars: Sequence[Bar]) -> BarChart:
    """The same bars laid out for a phone's width: the label above each bar."""
    row, top = 38, 18
    plot_width = PHONE_WIDTH - 110  # room for the note after a full bar
    placed = [
        PlacedBar(bar, top + index * row, (bar.value or 0) * plot_width)
        for index, bar in enumerate(bars)
    ]
    ticks = [(plot_width * step / 4, f"{step * 25}%") for step in range(5)]
    return BarChart(placed, PHONE_WIDTH, top + len(bars) * row + 4, 0, plot_width, row, ticks, True)
