"""Accounts API: a phone logs in once and gets a device token."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, fields

from server.accounts import services
from server.accounts.auth import ServerBusy, current_device, password_login
from server.accounts.login import LoginRefused
from server.api import RETRY_AFTER, Blueprint
from server.db import db
from server.ledger.settings import phone_lock_minutes
from server.sync.scope import account_county
from shared.schemas import LoginSchema

blp = Blueprint(
    "accounts", __name__, url_prefix="/api/v1", description="Log in and register a device"
)


class AccountOut(Schema):
    id = fields.UUID()
    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    town_id = fields.UUID(allow_none=True)
    cadre_id = fields.UUID(allow_none=True)


class DeviceTokenOut(Schema):
    device_id = fields.UUID()
    token = fields.String(metadata={"description": "Send as 'Authorization: Bearer <token>'"})
    account = fields.Nested(AccountOut)
    lock_minutes = fields.Integer(
        metadata={"description": "Minutes in the background after which the app asks its PIN"}
    )


class WhoAmIOut(Schema):
    device_id = fields.UUID()
    device_name = fields.String()
    account = fields.Nested(AccountOut)


@blp.route("/devices")
class Devices(MethodView):
    @blp.arguments(LoginSchema)
    @blp.response(201, DeviceTokenOut)
    @blp.error(401, "Wrong username or password, or a disabled account")
    @blp.error(429, "Too many failed logins of the account or address", RETRY_AFTER)
    @blp.error(503, "Busy checking other logins", RETRY_AFTER)
    def post(self, login: dict[str, Any]) -> dict[str, Any]:
        """Log in and register this phone; returns the device token (shown once).

        A phone that sends the same ``registration_id`` again gets its device
        back with a new token (the one before stops working).
        """
        try:
            account = password_login(login["username"], login["password"])
        except LoginRefused as refused:
            if refused.retry_after is None:
                abort(401, message=str(refused))
            abort(
                503 if isinstance(refused, ServerBusy) else 429,
                message=str(refused),
                headers={"Retry-After": str(refused.retry_after)},
            )
        issued = services.register_device(
            db.session, account, login.get("device_name") or "", login.get("registration_id")
        )
        return {
            "device_id": issued.device.id,
            "token": issued.token,
            "account": account,
            "lock_minutes": phone_lock_minutes(
                db.session,
                account_county(db.session, account),
                current_app.config["PHONE_LOCK_MINUTES"],
            ),
        }


@blp.route("/devices/wiped")
class Wiped(MethodView):
    @blp.device_required
    @blp.response(204)
    @blp.error(409, "This device was not reported lost")
    def post(self) -> None:
        """A lost phone confirms it has erased its store; its token ends here."""
        device = current_device()
        if device.lost_at is None:
            abort(409, message="此手机未挂失，不需清除 / this phone was not reported lost")
        services.confirm_wipe(db.session, device)


@blp.route("/me")
class Me(MethodView):
    @blp.device_required
    @blp.response(200, WhoAmIOut)
    def get(self) -> dict[str, Any]:
        """The account and device a token belongs to."""
        device = current_device()
        return {"device_id": device.id, "device_name": device.name, "account": device.account}
