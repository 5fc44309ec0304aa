"""Bearer-token authentication for phones: ``Authorization: Bearer <device token>``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request
from flask_smorest import abort

from server.accounts.models import Device
from server.accounts.services import device_for_token
from server.db import db
from server.monitoring import note

F = TypeVar("F", bound=Callable[..., Any])


def current_device() -> Device:
    device: Device = g.device
    return device


def device_required(view: F) -> F:
    """Refuse the request with 401 unless it carries a live device token."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        device = device_for_token(db.session, token) if scheme == "Bearer" and token else None
        if device is None:
            abort(
                401,
                message="设备未登录或访问已被撤销，请重新登录；未发送的记录仍保存在手机上"
                " / this device is not logged in or its access was revoked: log in again;"
                " unsent records stay on the phone",
            )
        g.device = device
        note(account=str(device.account_id), device=str(device.id))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
