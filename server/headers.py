"""Security headers on every answer, set in this one place.

The console's pages run only the server's own scripts and styles (no inline
script: an injected one would not run), send forms only to the server and are
never framed by another site; the API's JSON is to be read, never run or
framed. No page tells other sites where it was reached from.
"""

from __future__ import annotations

from flask import Flask, Response, request

CONSOLE_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # What frame-ancestors says, for browsers too old to read it.
    "X-Frame-Options": "DENY",
}


def init_app(app: Flask) -> None:
    @app.after_request
    def _security_headers(response: Response) -> Response:
        policy = API_POLICY if request.path.startswith("/api/") else CONSOLE_POLICY
        response.headers.setdefault("Content-Security-Policy", policy)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response
