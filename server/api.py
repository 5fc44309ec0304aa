"""The HTTP API (flask-smorest): versioned under /api/v1, OpenAPI at /api/openapi.json."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import Api as SmorestApi
from werkzeug.exceptions import HTTPException

# Bilingual texts for the errors a client can cause, by HTTP status.
HTTP_MESSAGES = {
    400: "请求格式不正确 / the request is malformed",
    401: "未登录或设备访问已被撤销，请重新登录 / not logged in, or this device's access was revoked: log in again",
    403: "无权访问 / you may not access this",
    404: "找不到该地址或记录 / no such address or record",
    405: "不支持该请求方法 / method not allowed",
    413: "请求内容过大，请分批发送 / the request is too large: send it in smaller batches",
    415: "请求须为 JSON / the request body must be JSON",
    422: "数据校验未通过，见 errors / the data did not pass validation: see errors",
    429: "请求过于频繁，请稍后再试 / too many attempts: wait and try again",
}


class Api(SmorestApi):  # type: ignore[misc]
    """flask-smorest's Api, answering errors in JSON only under /api.

    smorest handles every HTTP error of the app; the console's pages want
    HTML error pages, so anything outside /api gets Flask's own handling.
    """

    def handle_http_exception(self, error: HTTPException) -> Any:
        if not request.path.startswith("/api/"):
            return error
        payload, code, headers = super().handle_http_exception(error)
        if "message" not in payload and code in HTTP_MESSAGES:
            payload["message"] = HTTP_MESSAGES[code]
        return payload, code, headers


api = Api()
