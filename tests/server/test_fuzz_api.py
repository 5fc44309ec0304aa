"""Schemathesis over the whole OpenAPI document, against the server as it runs
in production (gunicorn over HTTP): data made from the document and data
that breaks it, with a live device token, with none and with a revoked one.
No answer may be a server error or differ from what the document says."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.server.conftest import ApiCounty

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Data the document refuses is refused too, except within a push's changes:
# a malformed change is answered 200 and rejected in its result, so that it
# never blocks the rest of its batch.
REFUSED_WHOLE = [*CHECKS, negative_data_rejection]
# A photo upload's chunk (tus's media type) is bytes, as schemathesis sends octet streams.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
# Per operation, data kind and token: about a minute and a half in all here.
# MINQING_FUZZ_EXAMPLES=500 for a deeper run.
EXAMPLES = int(os.environ.get("MINQING_FUZZ_EXAMPLES", "30"))


# PostgreSQL only, to keep within a minute and a half: the backend that
# refuses what SQLite lets by (NUL in text, numbers beyond 64 bits).
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize("token", ["live", "none", "revoked"])
def test_the_api_answers_whatever_the_document_allows_without_a_server_error(
    api_county: ApiCounty, token: str
) -> None:
    bearer = {"live": api_county.token, "none": None, "revoked": api_county.revoked_token}[token]
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    schema = schemathesis.openapi.from_url(f"{api_county.server.url}/api/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 9
    answers: Counter[tuple[str, int]] = Counter()
    with requests.Session() as session:
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _fuzz(operation, mode, session, headers, answers)
    # The cases reached the views, not only the checks in front of them.
    if token == "live":
        assert {("/api/v1/sync/push", 200), ("/api/v1/sync/pull", 200)} <= set(answers)
        assert answers["/api/v1/sync/push", 422] and answers["/api/v1/sync/pull", 422]
    else:
        assert answers["/api/v1/sync/push", 401] and answers["/api/v1/me", 401]
        assert not {path for path, status in answers if status == 200}
    assert answers["/api/v1/devices", 401] + answers["/api/v1/devices", 429]


def _fuzz(
    operation: Any,
    mode: GenerationMode,
    session: requests.Session,
    headers: dict[str, str],
    answers: Counter[tuple[str, int]],
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def exchange(case: Any) -> None:
        checks = CHECKS if case.operation.path == "/api/v1/sync/push" else REFUSED_WHOLE
        response = case.call_and_validate(session=session, headers=headers, checks=checks)
        answers[case.operation.path, response.status_code] += 1

    exchange()
