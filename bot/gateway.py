"""The one way out: delivers outbox rows through the WeChat API, honouring the 48-hour customer-service window.

Outcomes of one attempt:
    sent                      -> status sent
    outside the window        -> a template message when one is configured (reporters' status updates), else
                                 status held: waits until the person writes again (intake releases it)
    recipient unsubscribed    -> status held, same
    its moment has passed     -> status expired (a reminder after its deadline, yesterday's digest)
    quota / rate limited      -> stays pending with a later not_before (the sweeper picks it up then)
    platform unreachable, 5xx -> exception: RQ retries with backoff; the sweeper revives it if RQ gives up
    permanent error           -> status failed, with the reason (shown by `whistle outbox`)
Delivery is at-least-once: a worker killed between the API call and the commit sends the message again.

A job that has just queued messages (triage announcing a case) may deliver them itself with `deliver_here`, sparing
each a round trip through Redis and a job of its own; whatever it cannot deliver goes to the queue as usual.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from bot.metrics import count_api_error
from bot.queue import RETRY_INTERVALS
from bot.services import Services
from bot.wechat.errors import WeChatAPIError, WeChatUnavailable
from handlers.outcome import JobRequest
from storage.db import transaction
from storage.models import Case, Inspector, OutboxMessage, Reporter
from storage.prepared import Prepared
from storage.reporters import reveal_openid

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=48)
MAX_ATTEMPTS = 20
QUOTA_PAUSE = timedelta(hours=1)


@dataclass(frozen=True)
class Delivery:
    """What one attempt needs outside the transaction (no ORM objects: the API call happens after commit)."""

    openid: str
    kind: str
    body: str
    template: dict[str, str] | None  # set when the window is closed and a template can carry the update


def deliver(services: Services, outbox_id: int) -> str:
    """Try to deliver one message. Returns the resulting status (for logs and tests)."""
    now = services.clock()
    with transaction(services.sessions) as session:
        row = _DUE.first(session, {"id": outbox_id})
        if row is None:
            return "missing"
        message = _Due(*row)
        if message.status != "pending" or message.not_before > now:
            return message.status
        delivery, status, error, attempts = _prepare(services, session, outbox_id, message, now)
        _SET_ATTEMPT.run(session, {"id": outbox_id, "status": status, "error": error, "attempts": attempts})
        if delivery is None:
            return status
    try:
        _send(services, delivery)
    except WeChatAPIError as exc:
        return _record_error(services, outbox_id, exc, now)
    except WeChatUnavailable as exc:
        _note(services, outbox_id, f"platform unavailable: {exc}")
        raise
    note = "sent as a template message (outside the 48-hour window)" if delivery.template is not None else None
    with transaction(services.sessions) as session:
        _SET_SENT.run(session, {"id": outbox_id, "at": services.clock(), "error": note})
    log.info("outbox message sent", extra={"outbox_id": outbox_id, "template": delivery.template is not None})
    return "sent"


def deliver_here(services: Services, requests: list[JobRequest]) -> list[JobRequest]:
    """Deliver now, in this worker, the messages among `requests` that are due (messages about a possible major
    hazard first). Returns the requests still to queue: other jobs, scheduled ones, the first message that fails as a
    retry after the first backoff step (as if its own job had failed once), and the messages after it."""
    rest = [r for r in requests if r.kind != "deliver_message" or r.at is not None]
    due = sorted((r for r in requests if r.kind == "deliver_message" and r.at is None), key=lambda r: not r.front)
    for i, request in enumerate(due):
        try:
            deliver(services, request.target_id)
        except Exception:
            log.warning("delivery handed to the queue", extra={"outbox_id": request.target_id}, exc_info=True)
            first_retry = services.clock() + timedelta(seconds=RETRY_INTERVALS[0])
            retry = JobRequest("deliver_message", request.target_id, at=first_retry, front=request.front, retry=True)
            return [*rest, retry, *due[i + 1 :]]
    return rest


@dataclass(frozen=True)
class _Due:
    """An outbox row and what its recipient (reporter or inspector) looks like: one read, locked for the attempt."""

    status: str
    not_before: datetime
    expires_at: datetime | None
    attempts: int
    last_error: str | None
    kind: str
    body: str
    case_id: int | None
    reporter_id: int | None
    subscribed: bool | None  # None: the recipient's row is gone
    last_inbound_at: datetime | None
    inspector_sealed_openid: bytes | None


# One delivery attempt: read the message with its recipient (locked on PostgreSQL: one attempt at a time), write
# the attempt's outcome, then after the API call write that it was sent. Prepared: every message takes this path.
_DUE = Prepared(
    select(
        OutboxMessage.status,
        OutboxMessage.not_before,
        OutboxMessage.expires_at,
        OutboxMessage.attempts,
        OutboxMessage.last_error,
        OutboxMessage.kind,
        OutboxMessage.body,
        OutboxMessage.case_id,
        OutboxMessage.reporter_id,
        func.coalesce(Inspector.subscribed, Reporter.subscribed),
        func.coalesce(Inspector.last_inbound_at, Reporter.last_inbound_at),
        Inspector.sealed_openid,
    )
    .outerjoin(Inspector, Inspector.id == OutboxMessage.inspector_id)
    .outerjoin(Reporter, Reporter.id == OutboxMessage.reporter_id)
    .where(OutboxMessage.id == bindparam("id"))
    .with_for_update(of=OutboxMessage)
)
_SET_ATTEMPT = Prepared(
    update(OutboxMessage)
    .where(OutboxMessage.id == bindparam("id"))
    .values(status=bindparam("status"), last_error=bindparam("error"), attempts=bindparam("attempts"))
)
_SET_SENT = Prepared(
    update(OutboxMessage)
    .where(OutboxMessage.id == bindparam("id"))
    .values(status="sent", sent_at=bindparam("at"), last_error=bindparam("error"))
)


def _prepare(
    services: Services, session: Session, outbox_id: int, message: _Due, now: datetime
) -> tuple[Delivery | None, str, str | None, int]:
    """What to send, if anything, and the message's status, error and attempts after this look at it (a message that
    expired or waits for its recipient is not an attempt)."""
    if message.subscribed is None:
        raise LookupError(f"outbox message {outbox_id} has no recipient")
    if message.expires_at is not None and message.expires_at <= now:
        return None, "expired", "no longer worth sending (its moment has passed)", message.attempts
    template = None
    hold_reason = _hold_reason(message.subscribed, message.last_inbound_at, now)
    if hold_reason and not message.subscribed:
        return None, "held", hold_reason, message.attempts
    if hold_reason:
        template = _template_for(services, session, message)
        if template is None:
            return None, "held", hold_reason, message.attempts
    attempts = message.attempts + 1
    if attempts > MAX_ATTEMPTS:
        return None, "failed", f"gave up after {MAX_ATTEMPTS} attempts", attempts
    if message.reporter_id is not None:
        openid = reveal_openid(session, services.vault, message.reporter_id, purpose="deliver outbox message")
    else:
        assert message.inspector_sealed_openid is not None, f"outbox message {outbox_id} has no recipient"
        openid = services.vault.open(message.inspector_sealed_openid)
    delivery = Delivery(openid=openid, kind=message.kind, body=message.body, template=template)
    return delivery, "pending", message.last_error, attempts


def _send(services: Services, delivery: Delivery) -> None:
    if delivery.template is not None:
        services.wechat.send_template(delivery.openid, services.settings.wechat.status_template_id, delivery.template)
    elif delivery.kind == "image":
        path = services.media.path(delivery.body)
        media_id = services.wechat.upload_image(path.read_bytes(), filename=path.name)
        services.wechat.send_image(delivery.openid, media_id)
    else:
        services.wechat.send_text(delivery.openid, delivery.body)


def _hold_reason(subscribed: bool, last_inbound_at: datetime | None, now: datetime) -> str | None:
    if not subscribed:
        return "recipient unsubscribed; waits until they follow the account again"
    if last_inbound_at is None or now - last_inbound_at > WINDOW:
        return "outside the 48-hour window; waits until the recipient writes again"
    return None


def _template_for(services: Services, session: Session, message: _Due) -> dict[str, str] | None:
    """A text about a case can travel as the configured template message; anything else waits for the window."""
    template_id = services.settings.wechat.status_template_id
    if not template_id or message.case_id is None or message.kind != "text":
        return None
    case = session.get(Case, message.case_id)
    if case is None:
        return None
    from handlers.texts import status_name

    ref_key, status_key, detail_key = services.settings.wechat.status_template_keys
    return {ref_key: case.reference, status_key: status_name(case.status)[:5], detail_key: message.body[:20]}


def _record_error(services: Services, outbox_id: int, exc: WeChatAPIError, now: datetime) -> str:
    count_api_error(services.redis, exc.errcode)
    with transaction(services.sessions) as session:
        message = session.get(OutboxMessage, outbox_id)
        assert message is not None
        message.last_error = f"{exc.errcode} {exc.errmsg}"
        if exc.out_of_window:
            message.status = "held"
        elif exc.quota_exceeded:
            message.not_before = now + QUOTA_PAUSE
        elif exc.transient:
            message.not_before = now + timedelta(seconds=30)
        else:
            message.status = "failed"
        status = message.status
    log.warning("outbox delivery refused", extra={"outbox_id": outbox_id, "errcode": exc.errcode, "status": status})
    return status


def _note(services: Services, outbox_id: int, error: str) -> None:
    with transaction(services.sessions) as session:
        message = session.get(OutboxMessage, outbox_id)
        if message is not None:
            message.last_error = error[:500]
