"""What an operator watches: a JSON line and a request id for every request,
liveness and readiness, and Prometheus metrics (docs/operations.md)."""

from __future__ import annotations

from flask import Flask, got_request_exception

from server.monitoring import health, scrape
from server.monitoring.requests import RequestLog, log_failure, note, request_id

__all__ = ["init_app", "note", "request_id"]


def init_app(app: Flask) -> None:
    """Wrap the app outermost, so every answer is logged and counted, errors too."""
    app.register_blueprint(health.bp)
    app.register_blueprint(scrape.bp)

    @app.before_request
    def _name_the_route() -> None:
        from flask import request

        if request.url_rule is not None:
            note(route=request.url_rule.rule)

    got_request_exception.connect(log_failure, app)
    app.wsgi_app = RequestLog(app.wsgi_app)  # type: ignore[method-assign]
