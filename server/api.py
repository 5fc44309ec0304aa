"""The HTTP API (flask-smorest): versioned under /api/v1, OpenAPI at /api/openapi.json."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import flask_smorest
from flask import Flask, Request, request
from flask_smorest import Api as SmorestApi
from flask_smorest import abort
from flask_smorest.error_handler import ErrorSchema
from marshmallow import Schema, fields
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import HTTPException

from server.accounts.auth import device_required
from server.db import DatabaseUnavailable

# Bilingual texts for the errors a client can cause, by HTTP status.
HTTP_MESSAGES = {
    400: "请求格式不正确 / the request is malformed",
    401: "未登录或设备访问已被撤销，请重新登录 / not logged in, or this device's access was revoked: log in again",
    403: "无权访问 / you may not access this",
    404: "找不到该地址或记录 / no such address or record",
    405: "不支持该请求方法 / method not allowed",
    413: "请求内容过大，请分批发送 / the request is too large: send it in smaller batches",
    415: "请求须为 JSON（Content-Type: application/json）/ the request body must be JSON (Content-Type: application/json)",
    422: "数据校验未通过，见 errors / the data did not pass validation: see errors",
    429: "请求过于频繁，请稍后再试 / too many attempts: wait and try again",
    503: DatabaseUnavailable.description,
}
NOT_JSON = "请求内容不是有效的 JSON / the request body is not valid JSON"
TOO_DEEP = "JSON 嵌套层数过多 / the JSON is nested too deeply"
TOO_LONG_NUMBER = "JSON 中的数字位数过多 / a number in the JSON has too many digits"

DEVICE_TOKEN = "device_token"
# What any JSON body may be answered instead of its view's answer (JsonBodies,
# server/compression.py and MAX_CONTENT_LENGTH); 422 smorest documents itself.
BODY_ERRORS = {
    400: "Not JSON: broken text, NaN or Infinity, nested too deeply, a number of too many"
    " digits, or a corrupt or truncated gzip body",
    413: "Over the size limit, as sent or once inflated: send smaller batches",
    415: "A body whose Content-Type is not application/json",
}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}


class Api(SmorestApi):  # type: ignore[misc]
    """flask-smorest's Api, answering errors in JSON only under /api.

    smorest handles every HTTP error of the app; the console's pages want
    HTML error pages, so anything outside /api gets Flask's own handling.
    Its document lists the answers each endpoint really gives, with no
    catch-all "default" answer.
    """

    DEFAULT_ERROR_RESPONSE_NAME = None

    def init_app(self, app: Flask, **kwargs: Any) -> None:
        super().init_app(app, **kwargs)
        self.spec.components.security_scheme(
            DEVICE_TOKEN,
            {
                "type": "http",
                "scheme": "bearer",
                "description": "The token POST /api/v1/devices returned: "
                "'Authorization: Bearer <token>'",
            },
        )
        self.ma_plugin.converter.add_attribute_function(_one_of)
        self.ma_plugin.converter.add_attribute_function(_decimal_bounds)

    def handle_http_exception(self, error: HTTPException) -> Any:
        if not request.path.startswith("/api/"):
            return error
        payload, code, headers = super().handle_http_exception(error)
        if "message" not in payload and code in HTTP_MESSAGES:
            payload["message"] = HTTP_MESSAGES[code]
        return payload, code, {**error_headers(error), **(headers or {})}


def error_headers(error: HTTPException) -> dict[str, str]:
    """The headers werkzeug's own answer to ``error`` carries besides its
    HTML's Content-Type (a 405's Allow, a 401's WWW-Authenticate)."""
    return {name: value for name, value in error.get_headers() if name != "Content-Type"}


class JsonBodies(FlaskParser):  # type: ignore[misc]
    """Reads every JSON body of the API (gzip ones arrive inflated).

    Python's parser answers hostile JSON with exceptions that are no
    ``JSONDecodeError`` — a RecursionError for deep nesting, a ValueError
    for an integer of thousands of digits — which would be a 500: each is
    the client's mistake, answered 400 with what was wrong. NaN and
    Infinity are no JSON either.
    """

    def _raw_load_json(self, req: Request) -> Any:
        body = req.get_data(cache=True)
        if not body:
            return core.missing
        if not is_json_request(req):
            abort(415, message=HTTP_MESSAGES[415])
        try:
            return json.loads(body.decode("utf-8"), parse_constant=_no_constant)
        except RecursionError:
            abort(400, message=TOO_DEEP)
        except (json.JSONDecodeError, UnicodeDecodeError):
            abort(400, message=NOT_JSON)
        except ValueError:
            # int() refuses more than sys.get_int_max_str_digits() (4300) digits.
            abort(400, message=TOO_LONG_NUMBER)


def _no_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not JSON", name, 0)


class Blueprint(flask_smorest.Blueprint):  # type: ignore[misc]
    """The API's blueprints: their request bodies are read by ``JsonBodies``,
    and their documents say what that and a device token may answer."""

    ARGUMENTS_PARSER = JsonBodies()

    def arguments(self, schema: Any, **kwargs: Any) -> Callable[[Any], Any]:
        parse = super().arguments(schema, **kwargs)

        def decorator(view: Any) -> Any:
            view = parse(view)
            for status, description in BODY_ERRORS.items():
                view = self.error(status, description)(view)
            return view

        return decorator

    def response(self, status_code: int, schema: Any = None, **kwargs: Any) -> Callable[[Any], Any]:
        """smorest's success answer; and, as every endpoint may, a 503 while
        the database cannot be reached (``server.db.DatabaseUnavailable``)."""
        document = super().response(status_code, schema, **kwargs)

        def decorator(view: Any) -> Any:
            return self.error(
                503, "The database cannot be reached just now: retry after a while", RETRY_AFTER
            )(document(view))

        return decorator

    def error(
        self, status: int, description: str, headers: dict[str, Any] | None = None
    ) -> Callable[[Any], Any]:
        """Documents an error answer (the JSON of ``Api.handle_http_exception``)."""
        return self.alt_response(  # type: ignore[no-any-return]
            status, schema=ErrorSchema, description=description, headers=headers
        )

    def device_required(self, view: Any) -> Any:
        """``device_required``, and the document saying so."""
        view = device_required(view)
        view = self.doc(security=[{DEVICE_TOKEN: []}])(view)
        return self.error(401, "No live device token: not logged in, or the device was revoked")(
            view
        )


class OneOf(fields.Raw):
    """A value that is exactly one of ``variants`` (schemas by the value of
    their ``discriminator`` property, or by a label): loaded as it comes,
    for a service to check each on its own, and documented as ``oneOf``."""

    def __init__(
        self, variants: Mapping[str, type[Schema]], discriminator: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.variants = dict(variants)
        self.discriminator = discriminator


def _decimal_bounds(converter: Any, field: fields.Field, ret: dict[str, Any], **_: Any) -> Any:
    """A Decimal field's range as JSON numbers (its own output is text)."""
    return {
        key: float(ret[key]) for key in ("minimum", "maximum") if isinstance(ret.get(key), Decimal)
    }


def _one_of(converter: Any, field: fields.Field, **_: Any) -> dict[str, Any]:
    if not isinstance(field, OneOf):
        return {}
    refs = {
        value: converter.resolve_nested_schema(schema) for value, schema in field.variants.items()
    }
    document: dict[str, Any] = {"oneOf": list(refs.values())}
    if field.discriminator:
        document["discriminator"] = {
            "propertyName": field.discriminator,
            "mapping": {value: ref["$ref"] for value, ref in refs.items()},
        }
    return document


api = Api()
