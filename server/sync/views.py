"""The sync API: push a batch of changes, pull pages of records."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import Any

from flask import Response, current_app
from flask import request as flask_request
from flask.views import MethodView
from flask_smorest import abort

from server.accounts.auth import current_device
from server.api import Blueprint
from server.clock import now_ms
from server.db import db
from server.ledger.settings import phone_lock_minutes
from server.monitoring import metrics, note
from server.sync import openapi
from server.sync.pull import pull
from server.sync.push import push
from server.sync.scope import SyncRefused
from shared import protocol

# Pushes of a county that write take its change counter's lock in turn
# anyway (server/sequence.py). Within a process they go one at a time, so the
# push holding the lock does not share the interpreter with others of this
# process that would only wait for it: it commits sooner, and so does the
# queue. Other counties' pushes would not wait for that lock, but would share
# the one interpreter: they go at once in other worker processes.
PUSH_GATE = threading.Lock()

blp = Blueprint(
    "sync",
    __name__,
    url_prefix="/api/v1/sync",
    description="Offline sync: push changes, pull what changed (protocol version 1)",
)


@blp.route("/push")
class Push(MethodView):
    @blp.device_required
    @blp.arguments(openapi.PushRequestSchema)
    @blp.response(200, protocol.PushResponseSchema)
    def post(self, request: dict[str, Any]) -> Response:
        """Push a batch of changes; each gets its own result.

        Results: ``applied``, ``already_applied`` (sent before: nothing
        changed), ``conflict`` (applied, and a concurrent change lost or won;
        see ``conflicts``), or ``rejected`` (with ``message`` and ``errors``;
        the rest of the batch still applies).
        """
        started = time.perf_counter()
        with PUSH_GATE:
            answer = _run(
                lambda: push(
                    db.session, current_device(), request["device_time_ms"], request["changes"]
                )
            )
        metrics.count_push(answer["results"], time.perf_counter() - started)
        note(pushed=dict(Counter(result["status"] for result in answer["results"])))
        # Built from plain strings and numbers: sent as it is (the schema
        # above documents it), not dumped through it result by result.
        return _json(json.dumps(answer, ensure_ascii=False, separators=(",", ":")))


@blp.route("/pull")
class Pull(MethodView):
    @blp.device_required
    @blp.arguments(protocol.PullRequestSchema)
    @blp.response(200, openapi.PullResponseSchema)
    @blp.error(
        400,
        "Not JSON (see push), or a cursor this server never gave: sync again without it",
    )
    @blp.error(403, "The account covers no households: nothing to sync")
    @blp.error(
        410, "The phone was reported lost: it erases its store and confirms (/devices/wiped)"
    )
    def post(self, request: dict[str, Any]) -> Response:
        """Pull the next page of the device's scope.

        Send back the ``cursor`` of the previous page and the ids of the
        households the phone holds; repeat while ``more`` is true. Drop the
        households in ``evict`` once their pending changes are pushed.
        """
        started = time.perf_counter()
        # Asked in a header, which a server from before ignores: the phone
        # reads either form.
        as_text = flask_request.headers.get(protocol.RECORDS_HEADER) == "text"
        page = _run(
            lambda: pull(
                db.session,
                current_device(),
                request["cursor"],
                request["held"],
                request["limit"],
                as_text,
            )
        )
        metrics.count_pull(len(page.records), time.perf_counter() - started)
        note(pulled=len(page.records))
        head = json.dumps(
            {
                "protocol": protocol.PROTOCOL_VERSION,
                "cursor": page.cursor,
                "more": page.more,
                "server_time_ms": now_ms(),
                "evict": page.evict,
                "epoch": page.epoch,
                "reset": page.reset,
                # The county's rule, so a change reaches phones already logged in.
                "lock_minutes": phone_lock_minutes(
                    db.session, page.county_id, current_app.config["PHONE_LOCK_MINUTES"]
                ),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        # The records are already JSON text (server/sync/records.py): written
        # into the answer as they are, not parsed and run through the schema.
        return _json(f'{head[:-1]},"records":[{",".join(page.records)}]}}')


def _json(body: str) -> Response:
    return Response(body, mimetype="application/json")


def _run(call: Any) -> Any:
    try:
        return call()
    except SyncRefused as refused:
        abort(refused.status, message=str(refused))
