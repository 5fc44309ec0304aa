"""A released app's sync conversation, recorded once and replayed against every
later server, so that a server upgrade never strands the phones that have not
updated yet (phones update slowly).

``python -m tests.server.sync.protocol.conversation`` records the current app's
conversation as ``v<PROTOCOL_VERSION>.json``: do it when a version of the app
is released, and keep every earlier file. What belongs to the recording's
county and moment becomes a placeholder that the replay fills with its own:
ids (``{household:0:1}``), the device and its stamps, times as offsets from the
recording's start (``{time:+150}``), the cursor and seqs the server last gave.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from server.accounts.models import Account
from server.ledger.models import Grid, Household
from shared.protocol import PROTOCOL_VERSION
from sync.hlc import COUNTER_BITS, MAX_COUNTER, wall_clock_ms
from sync.transport import Headers, HttpTransport
from tests.conftest import migrated_app
from tests.server.sync.world import County

HERE = Path(__file__).parent
CADRES, HOUSEHOLDS_EACH = 2, 3

ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$")
STAMP = re.compile(r"^([0-9a-f]{16})@(.+)$")
PLACEHOLDER = re.compile(r"\{(\w+)(?::([^}]*))?\}")
WHOLE_NUMBER = re.compile(r"^\{(ms|seq):[^}]*\}$")


def county_names(county: County) -> dict[str, str]:
    """The county's ids and usernames, each with the placeholder that stands for it."""
    names: dict[str, str] = {}
    with county.session() as session:
        for c, username in enumerate(county.cadres):
            names[username] = f"{{cadre:{c}}}"
            account = session.scalars(select(Account).where(Account.username == username)).one()
            names[str(account.cadre_id)] = f"{{cadre_id:{c}}}"
            for h, household_id in enumerate(county.households[username]):
                names[household_id] = f"{{household:{c}:{h}}}"
                village = session.scalars(
                    select(Grid.village_id)
                    .join(Household, Household.grid_id == Grid.id)
                    .where(Household.id == uuid.UUID(household_id))
                ).one()
                names.setdefault(str(village), "{village}")
    return names


def shape(value: Any) -> Any:
    """What an old phone relies on in an answer: its keys and their values' types.

    A list of records keeps one shape per kind of record, its kind named as it is.
    """
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        by_kind: dict[str, Any] = {}
        for item in value:
            kind = item.get("kind") if isinstance(item, dict) else None
            if kind not in by_kind:
                by_kind[kind] = shape(item) if kind is None else {**shape(item), "kind": kind}
        return list(by_kind.values())
    return type(value).__name__


def lacks(recorded: Any, answered: Any, where: str = "answer") -> list[str]:
    """What an answer lacks of the recorded shape (a null recorded accepts any value)."""
    if recorded == "NoneType":
        return []
    if isinstance(recorded, dict):
        if not isinstance(answered, dict):
            return [f"{where}: an object expected"]
        return [
            gap
            for key, item in recorded.items()
            for gap in (
                lacks(item, answered[key], f"{where}.{key}")
                if key in answered
                else [f"{where}.{key}: missing"]
            )
        ]
    if isinstance(recorded, list):
        if not isinstance(answered, list):
            return [f"{where}: a list expected"]
        kinds = {item.get("kind") if isinstance(item, dict) else None: item for item in answered}
        gaps = []
        for item in recorded:
            kind = item.get("kind") if isinstance(item, dict) else None
            if kind not in kinds:
                gaps.append(f"{where}: no item of kind {kind!r}")
            else:
                rest = {k: v for k, v in item.items() if k != "kind"} if kind else item
                gaps += lacks(rest, kinds[kind], f"{where}[{kind}]")
        return gaps
    actual = type(answered).__name__
    return [] if actual in (recorded, "NoneType") else [f"{where}: {recorded} expected, {actual}"]


def walk(value: Any, on_text: Callable[[str], Any]) -> Any:
    if isinstance(value, dict):
        return {key: walk(item, on_text) for key, item in value.items()}
    if isinstance(value, list):
        return [walk(item, on_text) for item in value]
    return on_text(value) if isinstance(value, str) else value


class Session:
    """One phone's side of the conversation: what it was told, to fill or make placeholders."""

    def __init__(self, names: dict[str, str], start_ms: int) -> None:
        self.names = names  # value -> placeholder
        self.start_ms = start_ms
        self.cursor: str | None = None
        self.seqs: dict[str, int] = {}  # record id -> the seq last pulled
        self.token = ""

    def heard(self, path: str, answer: dict[str, Any]) -> None:
        """Take in an answer: the device, its token, the cursor, the records' seqs."""
        if path == "/api/v1/devices":
            self.names[answer["device_id"]] = "{device}"
            self.token = answer["token"]
        if path == "/api/v1/sync/pull":
            self.cursor = answer["cursor"]
            self.seqs.update({record["id"]: record["seq"] for record in answer["records"]})

    # --- recording: real values to placeholders

    def place(self, body: dict[str, Any]) -> dict[str, Any]:
        placed: dict[str, Any] = walk(body, self._placed_text)
        if "device_time_ms" in body:
            placed["device_time_ms"] = f"{{ms:{body['device_time_ms'] - self.start_ms:+d}}}"
        if body.get("cursor") is not None and body["cursor"] == self.cursor:
            placed["cursor"] = "{cursor}"
        for original, change in zip(
            body.get("changes", []), placed.get("changes", []), strict=True
        ):
            record_id = original["record"].get("id")
            if original.get("base_seq") and self.seqs.get(record_id) == original["base_seq"]:
                change["base_seq"] = f"{{seq:{self.names[record_id].strip('{}')}}}"
        return placed

    def _placed_text(self, text: str) -> str:
        if text in self.names:
            return self.names[text]
        if ISO_TIME.match(text):
            at = datetime.fromisoformat(text)
            offset = round((at.timestamp() * 1000) - self.start_ms)
            return f"{{time:{offset:+d}}}"
        stamp = STAMP.match(text)
        if stamp:
            packed = int(stamp.group(1), 16)
            offset = (packed >> COUNTER_BITS) - self.start_ms
            node = self.names.get(stamp.group(2), stamp.group(2))
            return f"{{stamp:{offset:+d}:{packed & MAX_COUNTER}}}@{node}"
        return text

    # --- replaying: placeholders to this county's values

    def fill(self, template: dict[str, Any]) -> dict[str, Any]:
        values = {placeholder: value for value, placeholder in self.names.items()}
        filled: dict[str, Any] = walk(template, lambda text: self._filled_text(text, values))
        return filled

    def _filled_text(self, text: str, values: dict[str, str]) -> Any:
        def one(match: re.Match[str]) -> str:
            name, argument = match.group(1), match.group(2)
            if name == "time":
                at = datetime.fromtimestamp(self.start_ms / 1000, UTC)
                return (at + timedelta(milliseconds=int(argument))).isoformat()
            if name == "ms":
                return str(self.start_ms + int(argument))
            if name == "stamp":
                offset, counter = (int(part) for part in argument.split(":"))
                return f"{((self.start_ms + offset) << COUNTER_BITS) | counter:016x}"
            if name == "cursor":
                return str(self.cursor)
            if name == "seq":
                return str(self.seqs[values[f"{{{argument}}}"]])
            return values[match.group(0)]

        filled = PLACEHOLDER.sub(one, text)
        return int(filled) if WHOLE_NUMBER.match(text) else filled


class RecordingTransport(HttpTransport):
    """The phone's own HTTP transport, in-process, writing down each exchange."""

    def __init__(self, app: Flask, session: Session) -> None:
        super().__init__("")
        self.client = app.test_client()
        self.session = session
        self.exchanges: list[dict[str, Any]] = []

    def _exchange(
        self, path: str, payload: bytes, headers: dict[str, str]
    ) -> tuple[int, Headers, bytes]:
        body = json.loads(gzip.decompress(payload))
        request = self.session.place(body)
        response = self.client.post(path, data=payload, headers=headers)
        raw = response.get_data()
        encoded = response.headers.get("Content-Encoding") == "gzip"
        answer = json.loads(gzip.decompress(raw) if encoded else raw)
        self.session.heard(path, answer)
        self.exchanges.append(
            {
                "path": path,
                "authorised": "Authorization" in headers,
                "request": request,
                "status": response.status_code,
                "answer_shape": shape(answer),
                "results": [r["status"] for r in answer.get("results", [])],
            }
        )
        return response.status_code, response.headers, raw


def record(app: Flask, tmp: Path) -> list[dict[str, Any]]:
    """A cadre's first day and a week later, as the current app says them."""
    county = County.build(app, tmp, cadres=CADRES, households_each=HOUSEHOLDS_EACH)
    transport = RecordingTransport(app, Session(county_names(county), wall_clock_ms()))
    cadre = county.cadres[0]
    first, second = county.households[cadre][:2]
    phone = county.phone(cadre, transport)
    phone.sync()
    visit = phone.record_visit(
        first,
        roles=["policy", "opinions"],
        topics=["medical"],
        notes="看望了老人",
        location=(23.70, 117.43),
        issues=[{"category": "medical", "description": "看病难，药费高"}],
    )
    phone.edit_household(second, phones=["13800000000"], notes="儿子在厦门打工")
    phone.sync()
    (issue,) = phone.issues(first)
    phone.follow_up(issue["id"], note="已联系镇卫生院", status="in_progress")
    phone.record_visit(first, notes="补记：药费已报销", amends=visit)
    mistaken = phone.record_visit(second, notes="记错了户")
    phone.delete("visit", mistaken)
    phone.sync()
    phone.sync()  # nothing new
    return transport.exchanges


def main() -> None:

    with tempfile.TemporaryDirectory() as tmp:
        app = migrated_app(f"sqlite:///{tmp}/record.db")
        exchanges = record(app, Path(tmp))
    target = HERE / f"v{PROTOCOL_VERSION}.json"
    target.write_text(json.dumps(exchanges, ensure_ascii=False, indent=1) + "\n")
    print(f"{len(exchanges)} exchanges written to {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
