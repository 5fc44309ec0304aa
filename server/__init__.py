"""The Minqing server: the central household ledger, its sync API and admin console."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

import server.models  # noqa: F401 - every mapper and the seq numbering
from server import compression, headers, monitoring
from server import config as settings
from server.accounts import auth
from server.api import api
from server.db import db

# Every console form carries a CSRF token; the API uses bearer tokens instead.
csrf = CSRFProtect()


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_path=os.environ.get("MINQING_INSTANCE_PATH"))
    app.config.from_mapping(settings.load(Path(app.instance_path)))
    app.config.from_mapping(config or {})
    if app.config["TRUSTED_PROXIES"]:
        # The client's address and scheme as the proxies in front saw them.
        proxies = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    db.init_app(app)
    api.init_app(app)
    csrf.init_app(app)
    auth.init_app(app)

    from server.accounts.views import blp as accounts_api
    from server.console.views import bp as console
    from server.photos.views import blp as photos_api
    from server.sync.views import blp as sync_api

    compression.init_app(app)
    headers.init_app(app)
    # Last, so it wraps everything: every answer is logged and counted.
    monitoring.init_app(app)
    for blueprint in (accounts_api, sync_api, photos_api):
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint)
    app.register_blueprint(console)
    return app
