"""Names ordered as people count them: 第2网格 before 第10网格.

One order for every list of grids: the console's pages and the ledger .xlsx.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func


def name_order(
    column: Any, collate: Callable[[Any], Any] = lambda column: column
) -> tuple[Any, ...]:
    """ORDER BY terms for ``column``: the name without its digits, then the
    shorter (fewer digits) first, then as text.

    For names with one number in them (第N网格, N组, 东片) that is counting
    order, in plain SQL both backends run. The export passes ``collate`` to
    compare by code point on PostgreSQL too.
    """
    stripped = column
    for digit in "0123456789":
        stripped = func.replace(stripped, digit, "")
    return collate(stripped), func.length(column), collate(column)
