"""Bulk inserts: rows buffered per table, written with Core executemany."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from sqlalchemy import Connection, Table, insert

from server.models import Base

Row = dict[str, Any]


class Writer:
    """Buffers rows and inserts them table by table, parents before children.

    The generator flushes after each village, so the buffers hold at most a
    village's worth of rows and memory stays flat at any scale.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        # The county whose records are being written: every synced row carries it.
        self.county_id: uuid.UUID | None = None
        self.pending: dict[Table, list[Row]] = {table: [] for table in Base.metadata.sorted_tables}
        self.counts: Counter[str] = Counter()

    def add(self, model: type[Base], row: Row) -> None:
        table: Table = model.__table__  # type: ignore[assignment]
        if self.county_id is not None and "county_id" in table.columns:
            row.setdefault("county_id", self.county_id)
        self.pending[table].append(row)

    def flush(self) -> None:
        # sorted_tables lists each table after the tables it refers to.
        for table, rows in self.pending.items():
            if rows:
                self.connection.execute(insert(table), rows)
                self.counts[table.name] += len(rows)
                rows.clear()
