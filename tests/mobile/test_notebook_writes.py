"""The app's Notebook hands each write to the Phone as the Phone takes it."""

from __future__ import annotations

import inspect

import pytest

from mobile.notebook import Notebook
from sync.phone import Phone

WRITES = ("record_visit", "edit_household", "follow_up", "record_inspection")


@pytest.mark.parametrize("name", WRITES)
def test_each_write_takes_the_phones_arguments_by_the_same_names_in_the_same_order(
    name: str,
) -> None:
    wrapper = list(inspect.signature(getattr(Notebook, name)).parameters.values())
    phone = list(inspect.signature(getattr(Phone, name)).parameters.values())
    passed = [p for p in wrapper if p.kind is not p.VAR_KEYWORD]
    # The leading arguments match one for one; the rest reach the Phone by keyword.
    assert [(p.name, p.kind) for p in passed] == [(p.name, p.kind) for p in phone[: len(passed)]]
    rest = phone[len(passed) :]
    assert all(p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) for p in rest)
    bucket = next((p.name for p in wrapper if p.kind is p.VAR_KEYWORD), None)
    assert bucket is not None or not rest, "the Phone's keywords cannot be passed"
    if rest and rest[-1].kind is rest[-1].VAR_KEYWORD:
        assert bucket == rest[-1].name
