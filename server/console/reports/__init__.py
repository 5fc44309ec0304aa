"""What the console shows, read with aggregate SQL: each module answers one page area.

Reports take the session, the account's ``Scope`` and, where time matters,
``now``; they return plain rows for the templates and never write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta, timezone
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from server.ledger.models import County

# The county's clock: a day on a page is a day in China.
CHINA = timezone(timedelta(hours=8))
PER_PAGE = 100

Row = TypeVar("Row")


@dataclass(frozen=True)
class Page(Generic[Row]):
    """One page of a long list, and where it stands in the whole."""

    rows: list[Row]
    total: int
    number: int
    per_page: int = PER_PAGE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def paginate(
    session: Session, query: Select[Any], number: int, per_page: int = PER_PAGE
) -> Page[Any]:
    """Count the query's rows, and fetch page ``number`` (from 1) of them."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    number = min(max(number, 1), max(1, -(-total // per_page)))
    rows = session.execute(query.limit(per_page).offset((number - 1) * per_page)).all()
    return Page(list(rows), total, number, per_page)


def first_county(session: Session) -> County | None:
    """The county whose settings and departments the console keeps: the first by
    name (a ledger holds one; a benchmark's may hold several)."""
    return session.scalar(select(County).order_by(County.name).limit(1))
