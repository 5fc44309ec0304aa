"""Accounts API: a phone logs in once and gets a device token."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, fields

from server.accounts import services
from server.accounts.auth import ServerBusy, current_device, device_required, password_login
from server.accounts.login import LoginRefused
from server.api import Blueprint
from server.db import db
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


class WhoAmIOut(Schema):
    device_id = fields.UUID()
    device_name = fields.String()
    account = fields.Nested(AccountOut)


@blp.route("/devices")
class Devices(MethodView):
    @blp.arguments(LoginSchema)
    @blp.response(201, DeviceTokenOut)
    @blp.alt_response(401, description="Wrong username or password, or a disabled account")
    @blp.alt_response(429, description="Too many failed logins; see Retry-After")
    @blp.alt_response(503, description="Busy checking other logins; see Retry-After")
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
        return {"device_id": issued.device.id, "token": issued.token, "account": account}


@blp.route("/me")
class Me(MethodView):
    @device_required
    @blp.response(200, WhoAmIOut)
    def get(self) -> dict[str, Any]:
        """The account and device a token belongs to."""
        device = current_device()
        return {"device_id": device.id, "device_name": device.name, "account": device.account}
