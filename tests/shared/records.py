"""Valid wire records, one builder per kind: tests alter what they are about."""

from __future__ import annotations

import uuid
from typing import Any


def household(**overrides: Any) -> dict[str, Any]:
    record = {
        "id": str(uuid.uuid4()),
        "code": "QL-01-0001",
        "grid_id": str(uuid.uuid4()),
        "head_name": "林春武",
        "members": 5,
        "phones": ["13905961234", "0596-5881234"],
        "tags": ["poor", "student"],
    }
    return {**record, **overrides}


def visit(**overrides: Any) -> dict[str, Any]:
    record = {
        "id": str(uuid.uuid4()),
        "cadre_id": str(uuid.uuid4()),
        "household_id": str(uuid.uuid4()),
        "visited_at": "2026-05-27T08:36:00+08:00",
        "kind": "home_visit",
    }
    return {**record, **overrides}


def issue(**overrides: Any) -> dict[str, Any]:
    record = {
        "id": str(uuid.uuid4()),
        "village_id": str(uuid.uuid4()),
        "raised_by_cadre_id": str(uuid.uuid4()),
        "raised_at": "2015-05-20T10:00:00+08:00",
        "category": "law_enforcement",
        "description": "摆摊物品被城管收走",
        "status": "open",
    }
    return {**record, **overrides}
