"""marshmallow schemas for every record: the wire format both sides validate.

Every message says what is wrong in Chinese and in English ("中文 / English"),
because the same errors reach a cadre's phone, the admin console and the CLI.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, missing, validate, validates_schema
from marshmallow.decorators import POST_LOAD, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA

from shared.vocab import (
    AccountRole,
    HouseholdTag,
    IssueCategory,
    IssueEventKind,
    IssueStatus,
    Labelled,
    LeaderRole,
    ProblemSolved,
    Rank,
    Satisfaction,
    UnitKind,
    VisitKind,
    VisitRole,
)

# Chinese mobile numbers (11 digits from 13x–19x) and landlines with an area
# code (Dongshan's is 0596), optionally with a dash.
PHONE_PATTERN = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")

MAX_NOTE_LENGTH = 2000
MAX_NAME_LENGTH = 40

FIELD_MESSAGES = {
    "required": "必填项，不能为空 / this field is required",
    "null": "不能为空 / this field may not be empty",
    "invalid": "格式不正确 / not a valid value",
}


def _messages(**extra: str) -> dict[str, Any]:
    return {**FIELD_MESSAGES, **extra}


class Text(fields.String):
    """A string without the NUL character, which no database column can store.

    Every field a person types into is one (tests/shared/test_schemas.py
    holds every string field of the wire to refusing a NUL).
    """

    default_error_messages = {
        "nul": "文字中不能含有空字符 / text may not contain the NUL character",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise self.make_error("nul")
        return text


def text(max_length: int, *, required: bool = True, allow_empty: bool = False) -> Text:
    """A text field with a bilingual length message."""
    minimum = 0 if allow_empty else 1
    return Text(
        **_presence(required, default=""),
        validate=validate.Length(
            min=minimum,
            max=max_length,
            error=f"长度应为 {minimum}–{max_length} 个字 / must be {minimum}–{max_length} characters",
        ),
        error_messages=_messages(invalid="应为文字 / must be text"),
    )


def enum_code(enum: type[Labelled], *, required: bool = True) -> fields.String:
    codes = enum.codes()
    return fields.String(
        **_presence(required),
        validate=validate.OneOf(codes, error="取值应为 {choices} 之一 / must be one of {choices}"),
        error_messages=_messages(invalid="应为文字 / must be text"),
    )


def enum_codes(enum: type[Labelled]) -> fields.List[str]:
    return fields.List(
        enum_code(enum),
        load_default=list,
        error_messages=_messages(invalid="应为列表 / must be a list"),
    )


def _presence(required: bool, default: Any = None) -> dict[str, Any]:
    """marshmallow refuses a default on a required field; optional ones get one."""
    if required:
        return {"required": True}
    return {"load_default": default, "allow_none": default is None}


def record_id(*, required: bool = True) -> fields.UUID:
    return fields.UUID(
        **_presence(required),
        error_messages=_messages(invalid_uuid="应为 UUID / must be a UUID"),
    )


# Times and dates a record may carry: a phone whose clock was reset, or a
# hand-typed year, must not reach the ledger (or overflow its arithmetic).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
OUT_OF_RANGE = "时间应在 1970–2099 年之间 / must be between the years 1970 and 2099"


def timestamp(*, required: bool = True) -> fields.AwareDateTime:
    return fields.AwareDateTime(
        **_presence(required),
        validate=validate.Range(min=EARLIEST, max=LATEST, max_inclusive=False, error=OUT_OF_RANGE),
        error_messages=_messages(
            invalid="应为 ISO 8601 时间，如 2026-05-27T08:36:00+08:00 "
            "/ must be an ISO 8601 time such as 2026-05-27T08:36:00+08:00",
            invalid_awareness="时间须带时区 / the time must carry a time zone",
        ),
    )


def day(*, required: bool = True) -> fields.Date:
    return fields.Date(
        **_presence(required),
        validate=validate.Range(
            min=EARLIEST.date(), max=LATEST.date(), max_inclusive=False, error=OUT_OF_RANGE
        ),
        error_messages=_messages(
            invalid="应为日期，如 2026-05-27 / must be a date such as 2026-05-27"
        ),
    )


def validate_phone(value: str) -> None:
    if not PHONE_PATTERN.fullmatch(value):
        raise ValidationError(
            f"“{value}”不是有效的电话号码（11 位手机号或带区号的固话）"
            f" / '{value}' is not a phone number (11-digit mobile or landline with area code)"
        )


def phone(*, required: bool = True) -> fields.String:
    return fields.String(
        **_presence(required),
        validate=validate_phone,
        error_messages=_messages(invalid="应为文字 / must be text"),
    )


def whole_number(minimum: int, maximum: int, *, error: str) -> fields.Integer:
    """A required integer from ``minimum`` to ``maximum``; strict, so 3.0 and "3" are refused."""
    return fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=minimum, max=maximum, error=error),
        error_messages=_messages(invalid="应为整数 / must be a whole number"),
    )


class RecordSchema(Schema):
    """Base: unknown fields are refused, and said so in both languages."""

    error_messages = {
        "unknown": "未知字段 / unknown field",
        "type": "应为 JSON 对象 / must be a JSON object",
    }


class QuickLoader:
    """``schema.load``, with less of marshmallow's bookkeeping for each field.

    A push validates hundreds of records, and that bookkeeping (a closure,
    an error store and a validator chain built anew for every field) was
    most of their validation time. This runs the same fields' conversions
    and validators and the schema's validators, in the same order, for the
    plain case only: a dict whose keys are all fields, every value given or
    defaulted, none refused. Anything else — an unknown or missing key, a
    null where none is allowed, any refusal — goes to ``schema.load``, whose
    result or error is then the answer: refusals always carry marshmallow's
    own messages. tests/shared/test_quick_loader.py holds the two to the
    same results.
    """

    def __init__(self, schema: Schema) -> None:
        hooks = schema._hooks  # marshmallow keeps decorated methods here
        if hooks[PRE_LOAD] or hooks[POST_LOAD] or hooks[VALIDATES] or schema.unknown != RAISE:
            raise ValueError(f"{type(schema).__name__}: only plain schemas load quickly")
        for name, pass_collection, options in hooks[VALIDATES_SCHEMA]:
            if pass_collection or options.get("pass_original"):
                raise ValueError(f"{type(schema).__name__}.{name}: not a plain schema validator")
        for name, field in schema.load_fields.items():
            if field.data_key or field.attribute or field.pre_load or field.post_load:
                raise ValueError(f"{type(schema).__name__}.{name}: not a plain field")
        self.schema = schema
        self._names = frozenset(schema.load_fields)
        self._fields = [
            (name, field, tuple(field.validators)) for name, field in schema.load_fields.items()
        ]
        self._schema_validators = [getattr(schema, name) for name, _, _ in hooks[VALIDATES_SCHEMA]]

    def load(self, data: Any) -> dict[str, Any]:
        if type(data) is not dict or not self._names.issuperset(data):
            return self._load_slowly(data)
        loaded: dict[str, Any] = {}
        try:
            for name, field, validators in self._fields:
                value = data.get(name, missing)
                if value is missing:
                    if field.required:
                        return self._load_slowly(data)
                    default = field.load_default
                    if default is not missing:
                        loaded[name] = default() if callable(default) else default
                    continue
                if value is None:
                    if not field.allow_none:
                        return self._load_slowly(data)
                    loaded[name] = None
                    continue
                value = field._deserialize(value, name, data)
                for validator in validators:
                    if validator(value) is False:
                        return self._load_slowly(data)
                loaded[name] = value
            for validator in self._schema_validators:
                validator(loaded, partial=self.schema.partial, many=False, unknown=RAISE)
        except ValidationError:
            return self._load_slowly(data)
        return loaded

    def _load_slowly(self, data: Any) -> dict[str, Any]:
        loaded: dict[str, Any] = self.schema.load(data)
        return loaded


# --- the ledger -------------------------------------------------------------


class TownSchema(RecordSchema):
    id = record_id()
    name = text(64)


class VillageSchema(RecordSchema):
    id = record_id()
    town_id = record_id()
    name = text(64)


class GridSchema(RecordSchema):
    id = record_id()
    village_id = record_id()
    name = text(64)


class HouseholdSchema(RecordSchema):
    id = record_id()
    code = text(40)
    grid_id = record_id()
    head_name = text(MAX_NAME_LENGTH)
    members = whole_number(1, 50, error="家庭人口应为 1–50 / members must be between 1 and 50")
    address = text(200, required=False, allow_empty=True)
    phones = fields.List(
        phone(),
        load_default=list,
        validate=validate.Length(max=5, error="最多 5 个电话 / at most 5 phone numbers"),
        error_messages=_messages(invalid="应为列表 / must be a list"),
    )
    tags = enum_codes(HouseholdTag)
    notes = text(MAX_NOTE_LENGTH, required=False, allow_empty=True)


class WorkUnitSchema(RecordSchema):
    id = record_id()
    name = text(64)
    kind = enum_code(UnitKind)
    town_id = record_id(required=False)


class CadreSchema(RecordSchema):
    id = record_id()
    name = text(MAX_NAME_LENGTH)
    unit_id = record_id()
    phone = phone()
    rank = enum_code(Rank)
    active = fields.Boolean(load_default=True)


class HouseholdLinkSchema(RecordSchema):
    id = record_id()
    household_id = record_id()
    cadre_id = record_id()
    started_at = timestamp()
    ended_at = timestamp(required=False)


class VillageLinkSchema(RecordSchema):
    id = record_id()
    village_id = record_id()
    role = enum_code(LeaderRole)
    cadre_id = record_id()
    started_at = timestamp()
    ended_at = timestamp(required=False)


# --- the notebook -----------------------------------------------------------


class VisitSchema(RecordSchema):
    id = record_id()
    cadre_id = record_id()
    household_id = record_id()
    visited_at = timestamp()
    kind = enum_code(VisitKind)
    roles = enum_codes(VisitRole)
    topics = fields.List(text(100), load_default=list)
    notes = text(MAX_NOTE_LENGTH, required=False, allow_empty=True)
    latitude = fields.Float(
        load_default=None,
        allow_none=True,
        validate=validate.Range(-90, 90, error="纬度应在 ±90 之间 / latitude must be within ±90"),
    )
    longitude = fields.Float(
        load_default=None,
        allow_none=True,
        validate=validate.Range(
            -180, 180, error="经度应在 ±180 之间 / longitude must be within ±180"
        ),
    )
    amends_id = record_id(required=False)

    @validates_schema
    def _location_is_complete(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            raise ValidationError(
                "经纬度须同时填写或同时留空 / give both latitude and longitude or neither",
                "latitude",
            )


class IssueSchema(RecordSchema):
    id = record_id()
    village_id = record_id()
    household_id = record_id(required=False)
    visit_id = record_id(required=False)
    raised_by_cadre_id = record_id()
    raised_at = timestamp()
    category = enum_code(IssueCategory)
    description = text(MAX_NOTE_LENGTH)
    status = enum_code(IssueStatus)
    department = text(100, required=False, allow_empty=True)
    aid_amount = fields.Decimal(
        load_default=None,
        allow_none=True,
        places=2,
        validate=validate.Range(
            min=0,
            max=10_000_000,
            error="金额应在 0–10,000,000 元之间 / amount must be 0–10,000,000 yuan",
        ),
        error_messages=_messages(invalid="应为金额数字 / must be an amount in yuan"),
    )

    @validates_schema
    def _passed_on_names_department(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("status") == IssueStatus.PASSED_TO_DEPARTMENT and not data.get("department"):
            raise ValidationError(
                "转交部门时须写明部门 / name the department the problem is passed to",
                "department",
            )


class IssueEventSchema(RecordSchema):
    id = record_id()
    issue_id = record_id()
    at = timestamp()
    kind = enum_code(IssueEventKind)
    status = enum_code(IssueStatus, required=False)
    # For a status event: the status its author saw (see sync/merge.py).
    base_status = enum_code(IssueStatus, required=False)
    department = text(100, required=False, allow_empty=True)
    note = text(MAX_NOTE_LENGTH, required=False, allow_empty=True)

    @validates_schema
    def _status_event_has_status(self, data: dict[str, Any], **_: Any) -> None:
        has_status = data.get("status") is not None
        if data.get("kind") == IssueEventKind.STATUS and not has_status:
            raise ValidationError("状态变更须给出新状态 / a status change needs a status", "status")
        if data.get("kind") == IssueEventKind.NOTE:
            if has_status:
                raise ValidationError(
                    "跟进记录不能改变状态 / a follow-up note cannot change the status", "status"
                )
            if not data.get("note"):
                raise ValidationError("跟进记录不能为空 / a follow-up note needs text", "note")


class InspectionSchema(RecordSchema):
    id = record_id()
    household_id = record_id()
    inspected_on = day()
    knows_cadre = fields.Boolean(
        required=True, error_messages=_messages(invalid="应为是或否 / must be true or false")
    )
    last_visit_reported = day(required=False)
    problem_solved = enum_code(ProblemSolved)
    satisfaction = enum_code(Satisfaction)
    notes = text(MAX_NOTE_LENGTH, required=False, allow_empty=True)


# --- photos -----------------------------------------------------------------

# The records a photo may belong to.
PHOTO_RECORD_KINDS = ("visit", "issue", "issue_event")
PHOTO_CONTENT_TYPE = "image/jpeg"
# An upload's whole size (shared/protocol.py has the other photo limits).
MAX_PHOTO_BYTES = 2 * 1024 * 1024
SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")


def _pixels() -> fields.Integer:
    return whole_number(1, 20_000, error="像素数应为 1–20000 / must be 1–20000 pixels")


class PhotoSchema(RecordSchema):
    """A photo of a visit, an issue or a follow-up: the record of its bytes,
    which travel apart, after it, named by their SHA-256 (docs/sync.md)."""

    id = record_id()
    household_id = record_id()
    record_kind = fields.String(
        required=True,
        validate=validate.OneOf(
            PHOTO_RECORD_KINDS,
            error="照片只能属于走访、问题或跟进记录 / a photo belongs to a visit, a problem or a follow-up",
        ),
    )
    record_id = record_id()
    sha256 = fields.String(
        required=True,
        validate=validate.Regexp(
            SHA256_PATTERN,
            error="应为 64 位小写十六进制 SHA-256 / must be a SHA-256 in 64 lowercase hex digits",
        ),
    )
    size = whole_number(
        1,
        MAX_PHOTO_BYTES,
        error=f"照片应为 1–{MAX_PHOTO_BYTES} 字节 / a photo must be 1–{MAX_PHOTO_BYTES} bytes",
    )
    width = _pixels()
    height = _pixels()
    content_type = fields.String(
        required=True,
        validate=validate.Equal(
            PHOTO_CONTENT_TYPE, error="照片须为 JPEG 格式 / a photo must be a JPEG"
        ),
    )


# --- accounts ---------------------------------------------------------------


class AccountSchema(RecordSchema):
    username = fields.String(
        required=True,
        validate=validate.Regexp(
            r"^[A-Za-z0-9_.\-]{3,64}$|^1[3-9]\d{9}$",
            error="用户名应为 3–64 个字母、数字或 _.- / username must be 3–64 letters, digits or _.-",
        ),
    )
    display_name = text(64, required=False, allow_empty=True)
    password = Text(
        required=True,
        load_only=True,
        validate=validate.Length(
            min=8, max=200, error="密码至少 8 个字符 / the password needs at least 8 characters"
        ),
    )
    role = enum_code(AccountRole)
    town_id = record_id(required=False)
    cadre_id = record_id(required=False)

    @validates_schema
    def _scope_matches_role(self, data: dict[str, Any], **_: Any) -> None:
        role = data.get("role")
        if role == AccountRole.TOWN_ADMIN and not data.get("town_id"):
            raise ValidationError("镇级管理员须指定镇 / a town admin needs a town", "town_id")
        if role in (AccountRole.CADRE, AccountRole.VILLAGE_LEADER) and not data.get("cadre_id"):
            raise ValidationError(
                "干部账号须对应一名干部 / this role needs the cadre it belongs to", "cadre_id"
            )


class LoginSchema(RecordSchema):
    username = Text(required=True, validate=validate.Length(min=1, max=64))
    password = Text(required=True, load_only=True, validate=validate.Length(max=200))
    device_name = text(100, required=False, allow_empty=True)
    # Made once by the phone and sent with every login: a login retried after
    # its answer was lost gets the same device back. Older apps send none.
    registration_id = record_id(required=False)


class AuditEntrySchema(RecordSchema):
    id = record_id()
    at = timestamp()
    account_id = record_id(required=False)
    device_id = record_id(required=False)
    action = text(40)
    entity = text(40)
    entity_id = record_id(required=False)
    changes = fields.Dict()
