"""A finished sync in one plain sentence, and what happens next when it failed."""

from __future__ import annotations

from typing import Any

from mobile.i18n import join, pick, tr
from mobile.notebook import SyncOutcome
from shared.vocab import AccountRole
from sync.transport import NoNetwork, RequestRefused, ServerError, TransportError

# The order kinds are named in: what the cadre did most, first.
KINDS = ("visit", "issue", "issue_event", "household", "inspection")


def describe(outcome: SyncOutcome, lang: str) -> str:
    """ "12 visits sent; your change to 林光荣's phone number was replaced by …"."""
    report = outcome.report
    parts = []
    sent = [
        tr(f"kind.{kind}", lang, count=outcome.sent[kind])
        for kind in KINDS
        if outcome.sent.get(kind)
    ]
    if sent:
        parts.append(tr("outcome.sent", lang, what=join(sent, lang)))
    if report.photos_sent:
        parts.append(tr("outcome.photos_sent", lang, count=report.photos_sent))
    if report.resent:
        parts.append(tr("outcome.resent", lang, count=report.resent))
    for result in report.conflicts:
        parts.extend(_conflicts(result, outcome.names.get(result.get("change_id", ""), ""), lang))
    if report.rejected:
        parts.append(tr("outcome.rejected", lang, count=len(report.rejected)))
    if report.photos_rejected:
        parts.append(tr("outcome.photos_rejected", lang, count=len(report.photos_rejected)))
    if report.received:
        parts.append(tr("outcome.received", lang, count=report.received))
    if report.evicted:
        # An inspector's households leave once checked; a cadre's when given to another.
        account = outcome.status.account
        inspecting = account.get("role") == AccountRole.INSPECTOR and not account.get("cadre_id")
        key = "outcome.evicted_checked" if inspecting else "outcome.evicted"
        parts.append(tr(key, lang, count=report.evicted))
    pending = outcome.status.pending
    if report.revoked:
        parts.append(tr("outcome.revoked", lang, count=pending))
    elif report.error:
        parts.append(failed(report.failure, lang, pending))
    if not parts:
        parts.append(tr("outcome.nothing", lang))
    sentence = tr("outcome.joiner", lang).join(parts)
    return sentence[:1].upper() + sentence[1:]


def failed(failure: TransportError | None, lang: str, pending: int) -> str:
    """Why a sync did not get through, and what comes next, in one sentence.

    "No signal" only when no connection could be opened; a server that could
    not be talked to, or one that answered with an error, is said as such.
    """
    if isinstance(failure, NoNetwork):
        return tr("outcome.no_signal", lang, count=pending)
    if isinstance(failure, RequestRefused):
        return tr("outcome.refused", lang, message=_message(failure, lang), count=pending)
    if isinstance(failure, ServerError) and not failure.unreachable:
        return tr("outcome.server_error", lang, message=_message(failure, lang), count=pending)
    # TLS failed, the answer was cut off, or 502/503/504 from the server or its proxy.
    return tr("outcome.unreachable", lang, count=pending)


def _message(failure: TransportError, lang: str) -> str:
    return pick(str(failure), lang).rstrip("。.")


def _conflicts(result: dict[str, Any], name: str, lang: str) -> list[str]:
    """Each field of a change that met a concurrent change, or the server's note."""
    fields = result.get("conflicts") or []
    if not fields:
        return [pick(result["message"], lang)] if result.get("message") else []
    return [
        tr(
            "outcome.conflict_won" if conflict.get("yours_kept") else "outcome.conflict_lost",
            lang,
            name=name,
            field=tr(f"field.{conflict['field']}", lang),
            by=pick(conflict.get("by") or "", lang),
        )
        for conflict in fields
        if conflict.get("kind", "hard") == "hard"
    ]


def rejected_lines(outcome: SyncOutcome, lang: str) -> list[str]:
    """Why each refused record was refused, one line each."""
    lines = []
    for entry in outcome.rejected:
        result = entry.get("result") or {}
        reasons = [
            f"{name}: {pick(str(messages[0] if isinstance(messages, list) else messages), lang)}"
            for name, messages in (result.get("errors") or {}).items()
        ]
        kind = tr(f"record.{entry['kind']}", lang)
        lines.append(" — ".join([kind, pick(result.get("message", ""), lang), *reasons]))
    return lines


def rejected_photo_lines(outcome: SyncOutcome, lang: str) -> list[str]:
    """Why each refused photo was refused, and what the cadre can do."""
    return [
        tr("sync.photo_rejected", lang, message=pick(photo.get("message") or "", lang))
        for photo in outcome.rejected_photos
    ]
