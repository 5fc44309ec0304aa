"""What an operator watches: request ids, one JSON log line per request,
liveness and readiness, and Prometheus metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server import create_app
from server.db import db
from sync.phone import Phone
from tests.conftest import fresh_database_url
from tests.server.sync.transport import FlaskTransport
from tests.server.sync.world import County


def log_lines(captured: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]


def test_every_answer_names_its_request_id_and_a_proxys_sane_id_is_kept(
    client: FlaskClient,
) -> None:
    made = client.get("/login").headers["X-Request-ID"]
    assert len(made) == 32
    assert (
        client.get("/login", headers={"X-Request-ID": "nginx-42abcdef"}).headers["X-Request-ID"]
        == "nginx-42abcdef"
    )
    forged = client.get("/login", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert forged.headers["X-Request-ID"] != "<script>alert(1)</script>"


def test_a_push_writes_one_json_line_with_who_what_and_how_many(
    county: County, transport: FlaskTransport, capsys: pytest.CaptureFixture[str]
) -> None:
    phone = county.phone(county.cadres[0], transport)
    phone.sync()
    phone.record_visit(county.households[county.cadres[0]][0])
    capsys.readouterr()
    phone.sync()
    lines = log_lines(capsys.readouterr().out)
    (push,) = [line for line in lines if line["route"] == "/api/v1/sync/push"]
    assert push["status"] == 200 and push["pushed"] == {"applied": 1}
    assert push["device"] == phone.device_id and push["account"]
    assert isinstance(push["duration_ms"], float) and push["request_id"]
    pulls = [line for line in lines if line["route"] == "/api/v1/sync/pull"]
    assert pulls and all("pulled" in line for line in pulls)


def test_a_server_error_page_names_the_request_id_found_in_the_log(
    app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh = create_app({**app.config, "TESTING": False, "PROPAGATE_EXCEPTIONS": False})
    fresh.add_url_rule("/boom", "boom", lambda: 1 / 0)
    response = fresh.test_client().get("/boom")
    db.dispose(fresh)
    assert response.status_code == 500
    request_id = response.headers["X-Request-ID"]
    page = response.get_data(as_text=True)
    assert request_id in page and "服务器出错" in page
    lines = log_lines(capsys.readouterr().out)
    assert {"request_id": request_id, "status": 500} in [
        {"request_id": line["request_id"], "status": line.get("status")} for line in lines
    ]
    (failure,) = [line for line in lines if line.get("level") == "error"]
    assert failure["request_id"] == request_id and "ZeroDivisionError" in str(failure["traceback"])


def test_the_server_is_live_and_ready_only_when_its_schema_is_current(
    client: FlaskClient, backend: str, tmp_path: Path
) -> None:
    assert client.get("/health/live").get_json() == {"status": "ok"}
    ready = client.get("/health/ready")
    assert ready.status_code == 200 and ready.get_json()["database"] == "ok"
    behind = create_app(
        {"DATABASE_URL": fresh_database_url(backend, tmp_path, "unmigrated"), "SECRET_KEY": "t"}
    )
    answer = behind.test_client().get("/health/ready")
    db.dispose(behind)
    assert answer.status_code == 503 and "minqing db upgrade" in answer.get_json()["database"]


def test_metrics_count_requests_sync_records_by_result_and_silent_phones(
    county: County, transport: FlaskTransport, sync_app: Flask
) -> None:
    phone: Phone = county.phone(county.cadres[0], transport)
    phone.sync()
    phone.record_visit(county.households[county.cadres[0]][0])
    phone.sync()
    text = sync_app.test_client().get("/metrics").get_data(as_text=True)
    assert 'minqing_sync_records_total{op="push",result="applied"}' in text
    assert (
        'minqing_http_requests_total{method="POST",route="/api/v1/sync/push",status="200"}' in text
    )
    assert "minqing_change_counter_lock_seconds_count" in text
    assert "minqing_open_conflicts 0.0" in text
    assert 'minqing_phones_not_seen{days="7"} 0.0' in text
