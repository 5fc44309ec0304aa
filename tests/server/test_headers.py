"""Security headers on every answer, and console templates the policy can hold."""

from __future__ import annotations

import re
from pathlib import Path

from flask.testing import FlaskClient

import server.console

TEMPLATES = Path(server.console.__file__).parent / "templates"
# What a Content-Security-Policy without 'unsafe-inline' blocks in a page.
INLINE = {
    "a <script> block": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "an event handler": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "a javascript: address": re.compile(r"javascript:", re.IGNORECASE),
    "a style attribute or block": re.compile(r"\sstyle\s*=|<style", re.IGNORECASE),
}


def directives(policy: str) -> dict[str, str]:
    return dict(
        (part.strip().split(" ", 1) + [""])[:2] for part in policy.split(";") if part.strip()
    )


def test_every_console_answer_forbids_inline_script_framing_and_sniffing(
    client: FlaskClient,
) -> None:
    answers = [
        client.get("/login"),
        client.get("/"),  # a redirect
        client.get("/no-such-page"),
        client.post("/login"),  # refused: no CSRF token
        client.get("/console/static/console.css"),
        client.get("/console/static/print.js"),
    ]
    for answer in answers:
        policy = directives(answer.headers["Content-Security-Policy"])
        assert policy["script-src"] == "'self'", answer.request.path
        assert policy["frame-ancestors"] == "'none'"
        assert policy["object-src"] == "'none'"
        assert policy["base-uri"] == "'self'" and policy["form-action"] == "'self'"
        assert "unsafe-inline" not in answer.headers["Content-Security-Policy"]
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["Referrer-Policy"] == "same-origin"
        answer.close()


def test_api_answers_may_not_be_run_or_framed_either(client: FlaskClient) -> None:
    for answer in (
        client.get("/api/openapi.json"),
        client.get("/api/v1/me"),  # 401
        client.post("/api/v1/devices", json={}),  # 422
    ):
        assert answer.is_json
        policy = directives(answer.headers["Content-Security-Policy"])
        assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["X-Frame-Options"] == "DENY"


def test_no_console_template_has_inline_script_or_style() -> None:
    templates = sorted(TEMPLATES.rglob("*.html"))
    assert len(templates) > 20
    found = [
        f"{template.relative_to(TEMPLATES)}: {what}"
        for template in templates
        for what, pattern in INLINE.items()
        if pattern.search(template.read_text())
    ]
    assert found == []
