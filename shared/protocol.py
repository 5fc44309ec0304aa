"""The sync protocol's messages (version 1), as marshmallow schemas.

A phone pushes batches of changes and pulls pages of records; docs/sync.md
describes the exchange. The records inside changes are validated with the
record schemas of shared/schemas.py, one by one, so one bad record is
rejected alone and never blocks the rest of its batch.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from shared.schemas import MAX_PHOTO_BYTES as MAX_PHOTO_BYTES
from shared.schemas import PHOTO_CONTENT_TYPE as PHOTO_CONTENT_TYPE
from shared.schemas import (
    CadreSchema,
    GridSchema,
    HouseholdLinkSchema,
    HouseholdSchema,
    InspectionSchema,
    IssueEventSchema,
    IssueSchema,
    PhotoSchema,
    RecordSchema,
    Text,
    TownSchema,
    VillageLinkSchema,
    VillageSchema,
    VisitSchema,
    WorkUnitSchema,
)

PROTOCOL_VERSION = 1
# A week of a cadre's work is about 50 changes; a batch is capped well above.
MAX_PUSH_CHANGES = 500
# gzip levels both ways (docs/benchmarks.md, "Compression of sync's JSON"):
# level 6 sends 10-15% fewer bytes than level 1 for twice the CPU. Over 2G,
# or any link slower than a few MB/s, the bytes cost more time than the CPU,
# so requests and answers are compressed for size. A phone that measured its
# link as faster than that (on the server's own LAN, say) compresses for
# speed and asks the same of the server with FAST_LINK_HEADER: "fast" (a
# server from before ignores it).
# A phone that stores what it pulls as it came asks with RECORDS_HEADER: "text"
# for each record's data as JSON text ("text") instead of an object ("data"),
# with the few fields it reads of every record beside it (FIELDS_BESIDE_TEXT):
# it then neither parses nor writes out again the text of records it only
# stores. A server from before ignores the header and sends "data".
RECORDS_HEADER = "Minqing-Records"
FIELDS_BESIDE_TEXT = ("household_id", "stamp")
SIZE_GZIP_LEVEL = 6
SPEED_GZIP_LEVEL = 1
FAST_LINK_HEADER = "Minqing-Link"
MAX_PULL_LIMIT = 2000
DEFAULT_PULL_LIMIT = 500
# A clock stamp's 48 bits of milliseconds (sync/hlc.py): beyond any real clock.
MAX_DEVICE_TIME_MS = (1 << 48) - 1
# seqs are the database's BIGINT.
MAX_SEQ = (1 << 63) - 1
# A phone may hold at most this many households (the rule is 20–30 per cadre).
MAX_HELD_HOUSEHOLDS = 200

# Photos (issue 17): a photo record travels with the records, its bytes
# after them, resumably (docs/sync.md). An upload's whole size is capped; a
# photo the phone made (PHOTO_LONG_EDGE, PHOTO_JPEG_QUALITY) is far below it:
# docs/benchmarks.md has the sizes measured. MAX_PHOTO_BYTES and
# PHOTO_CONTENT_TYPE are the photo record schema's (shared/schemas.py).
MAX_PHOTOS_PER_RECORD = 5
MAX_UPLOAD_CHUNK = 256 * 1024
PHOTO_LONG_EDGE = 1280
PHOTO_JPEG_QUALITY = 60
THUMBNAIL_LONG_EDGE = 160

CHANGE_KINDS = ("visit", "issue", "issue_event", "inspection", "household", "photo")
CHANGE_OPS = ("create", "update", "delete")

# The one description of each kind of record's fields: a phone pushes a new
# record as its schema's fields (an optional one may be left out), and pulls
# one as its id and seq, and data of the schema's other fields and what the
# server adds (SERVER_FIELDS). tests/server/sync/test_record_fields.py holds the
# phone, the push and the pull to it.
# A county, which no phone or import writes, is the one kind without a schema
# (server/sync/records.py lists its fields).
RECORD_SCHEMAS: dict[str, type[RecordSchema]] = {
    "town": TownSchema,
    "village": VillageSchema,
    "grid": GridSchema,
    "work_unit": WorkUnitSchema,
    "cadre": CadreSchema,
    "village_link": VillageLinkSchema,
    "household_link": HouseholdLinkSchema,
    "household": HouseholdSchema,
    "visit": VisitSchema,
    "issue": IssueSchema,
    "issue_event": IssueEventSchema,
    "inspection": InspectionSchema,
    "photo": PhotoSchema,
}
# What a pulled record carries beyond its schema's fields: a household's
# field stamps (sync/merge.py), the stamp of the phone's write that made a
# record, its tombstone, and an issue event's author (the pushing account's cadre).
SERVER_FIELDS: dict[str, tuple[str, ...]] = {
    "household": ("field_stamps", "deleted_at"),
    "visit": ("stamp", "deleted_at"),
    "issue": ("stamp", "deleted_at"),
    "issue_event": ("cadre_id", "stamp"),
    "inspection": ("stamp", "deleted_at"),
    "photo": ("cadre_id", "stamp", "deleted_at"),
}


def pulled_fields(kind: str) -> tuple[str, ...]:
    """The fields of a pulled record's data, in the order they go out."""
    schema = RECORD_SCHEMAS[kind]
    return (
        *(name for name in schema._declared_fields if name != "id"),
        *SERVER_FIELDS.get(kind, ()),
    )


# What a push does with each change.
APPLIED = "applied"
ALREADY_APPLIED = "already_applied"
CONFLICT = "conflict"
REJECTED = "rejected"


def _protocol_field() -> fields.Integer:
    return fields.Integer(
        required=True,
        strict=True,
        validate=validate.Equal(
            PROTOCOL_VERSION,
            error=f"不支持的协议版本，请更新应用（服务器使用版本 {PROTOCOL_VERSION}）"
            f" / unsupported protocol version: update the app (the server speaks {PROTOCOL_VERSION})",
        ),
        error_messages={"required": "须给出协议版本 / the protocol version is required"},
    )


class ChangeSchema(RecordSchema):
    """One change in a push. ``record`` is validated later, by its kind's schema."""

    change_id = fields.UUID(required=True)
    kind = fields.String(
        required=True,
        validate=validate.OneOf(CHANGE_KINDS, error="未知的记录类型 / unknown kind of record"),
    )
    op = fields.String(
        required=True,
        validate=validate.OneOf(CHANGE_OPS, error="未知的操作 / unknown operation"),
    )
    # The device's hybrid logical clock stamp for this change (sync/hlc.py).
    stamp = Text(required=True, validate=validate.Length(min=18, max=80))
    record = fields.Dict(required=True)
    # For a household update: the household's seq when the phone last saw it.
    base_seq = fields.Integer(
        load_default=0,
        strict=True,
        validate=validate.Range(
            min=0, max=MAX_SEQ, error="base_seq 超出范围 / base_seq is out of range"
        ),
    )

    @validates_schema
    def _op_fits_kind(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("kind") == "household" and data.get("op") != "update":
            raise ValidationError(
                "手机只能修改农户信息，不能新增或删除 / phones may only update households", "op"
            )
        if data.get("kind") == "photo" and data.get("op") == "update":
            raise ValidationError(
                "照片不能修改，请删除后重新添加 / photos cannot be edited: delete and add again",
                "op",
            )
        if data.get("kind") != "household" and data.get("op") == "update":
            raise ValidationError(
                "走访、问题和督查记录不能修改，请补充一条更正记录"
                " / visits, problems and inspections cannot be edited: add a correction",
                "op",
            )


def changes_field(change: fields.Field[Any] | None = None) -> fields.List[Any]:
    """A push's changes. Each is checked on its own (ChangeSchema), so one
    malformed change is rejected alone instead of failing the whole batch:
    here each is loaded as it is (server/sync/openapi.py documents them)."""
    return fields.List(
        change or fields.Raw(),
        required=True,
        validate=validate.Length(
            max=MAX_PUSH_CHANGES,
            error=f"一批最多 {MAX_PUSH_CHANGES} 条，请分批发送"
            f" / at most {MAX_PUSH_CHANGES} changes per batch: send smaller batches",
        ),
    )


class PushRequestSchema(RecordSchema):
    protocol = _protocol_field()
    # The phone's clock when sending (ms since the epoch): the server measures
    # how far off it is and corrects the batch's times.
    device_time_ms = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(
            min=0,
            max=MAX_DEVICE_TIME_MS,
            error="手机时间无效，请检查手机时钟 / the phone's time is invalid: check its clock",
        ),
    )
    changes = changes_field()


# The answers below document what the server sends (it writes them itself).


class PushResultSchema(RecordSchema):
    change_id = fields.String(required=True)
    status = fields.String(
        required=True, validate=validate.OneOf([APPLIED, ALREADY_APPLIED, CONFLICT, REJECTED])
    )
    # Why a change was rejected, or what was done to it (a time corrected).
    message = fields.String()
    errors = fields.Dict()
    conflicts = fields.List(fields.Dict())


class PushResponseSchema(RecordSchema):
    protocol = fields.Integer(required=True)
    server_time_ms = fields.Integer(required=True)
    clock_skew_ms = fields.Integer(required=True)
    # The database's epoch: when it changes, the server was restored from a
    # backup and the phone sends its changes again (docs/sync.md).
    epoch = fields.String(required=True)
    results = fields.List(fields.Nested(PushResultSchema), required=True)


class PullRequestSchema(RecordSchema):
    protocol = _protocol_field()
    # Opaque to the phone: send back what the last page returned, or nothing.
    cursor = Text(load_default=None, allow_none=True, validate=validate.Length(max=40))
    # The households the phone holds now: the server sends whole any it is
    # missing and tells it which to drop, without keeping state per phone.
    held = fields.List(
        fields.UUID(),
        load_default=list,
        validate=validate.Length(max=MAX_HELD_HOUSEHOLDS),
    )
    limit = fields.Integer(
        load_default=DEFAULT_PULL_LIMIT,
        validate=validate.Range(
            min=1,
            max=MAX_PULL_LIMIT,
            error=f"每页 1–{MAX_PULL_LIMIT} 条 / limit must be 1–{MAX_PULL_LIMIT}",
        ),
    )


class PulledRecordSchema(RecordSchema):
    kind = fields.String(required=True)
    id = fields.UUID(required=True)
    seq = fields.Integer(required=True)
    # One of the two: the record's data, or (asked with RECORDS_HEADER) its
    # JSON text, with FIELDS_BESIDE_TEXT that it has beside it.
    data = fields.Dict()
    text = fields.String()
    household_id = fields.UUID(allow_none=True)
    stamp = fields.String(allow_none=True)


class PullResponseSchema(RecordSchema):
    protocol = fields.Integer(required=True)
    cursor = fields.String(required=True)
    more = fields.Boolean(required=True)
    server_time_ms = fields.Integer(required=True)
    records = fields.List(fields.Nested(PulledRecordSchema), required=True)
    # Households the phone must drop once its changes to them are pushed.
    evict = fields.List(fields.UUID(), required=True)
    epoch = fields.String(required=True)
    # The cursor sent was ahead of the server (restored to an earlier point):
    # the phone sends its changes again and pulls from the start.
    reset = fields.Boolean()
    # Minutes in the background before the phone asks its PIN again (the
    # county's rule; also sent at login). Servers before it send none.
    lock_minutes = fields.Integer()
