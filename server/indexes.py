"""Partial indexes, written once for both databases the server runs on."""

from __future__ import annotations

from sqlalchemy import Index, text


def partial_index(name: str, *columns: str, where: str, unique: bool = False) -> Index:
    """An index over the rows matching ``where`` only, on SQLite and PostgreSQL alike."""
    return Index(
        name,
        *columns,
        unique=unique,
        sqlite_where=text(where),
        postgresql_where=text(where),
    )
