"""The one way out: delivers outbox rows through the WeChat API, honouring the 48-hour customer-service window.

Outcomes of one attempt:
    sent                      -> status sent
    outside the window        -> status held: waits until the reporter writes again (intake releases it)
    reporter unsubscribed     -> status held, same
    quota / rate limited      -> stays pending with a later not_before (the sweeper picks it up then)
    platform unreachable, 5xx -> exception: RQ retries with backoff; the sweeper revives it if RQ gives up
    permanent error           -> status failed, with the reason (shown by `whistle outbox`)
Delivery is at-least-once: a worker killed between the API call and the commit sends the message again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.services import Services
from bot.wechat.errors import WeChatAPIError, WeChatUnavailable
from storage.db import transaction
from storage.models import OutboxMessage, Reporter
from storage.reporters import reveal_openid

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=48)
MAX_ATTEMPTS = 20
QUOTA_PAUSE = timedelta(hours=1)


def deliver(services: Services, outbox_id: int) -> str:
    """Try to deliver one message. Returns the resulting status (for logs and tests)."""
    now = services.clock()
    with transaction(services.sessions) as session:
        message = session.get(OutboxMessage, outbox_id, with_for_update=True)
        if message is None or message.status != "pending" or message.not_before > now:
            return message.status if message else "missing"
        reporter = session.get(Reporter, message.reporter_id)
        assert reporter is not None
        hold_reason = _hold_reason(reporter, now)
        if hold_reason:
            message.status, message.last_error = "held", hold_reason
            return "held"
        message.attempts += 1
        if message.attempts > MAX_ATTEMPTS:
            message.status, message.last_error = "failed", f"gave up after {MAX_ATTEMPTS} attempts"
            return "failed"
        openid = reveal_openid(session, services.vault, reporter.id, purpose="deliver outbox message")
        body = message.body
    try:
        services.wechat.send_text(openid, body)
    except WeChatAPIError as exc:
        return _record_error(services, outbox_id, exc, now)
    except WeChatUnavailable as exc:
        _note(services, outbox_id, f"platform unavailable: {exc}")
        raise
    with transaction(services.sessions) as session:
        message = session.get(OutboxMessage, outbox_id)
        assert message is not None
        message.status, message.sent_at, message.last_error = "sent", services.clock(), None
    log.info("outbox message sent", extra={"outbox_id": outbox_id})
    return "sent"


def _hold_reason(reporter: Reporter, now: datetime) -> str | None:
    if not reporter.subscribed:
        return "reporter unsubscribed; waits until they follow the account again"
    if reporter.last_inbound_at is None or now - reporter.last_inbound_at > WINDOW:
        return "outside the 48-hour window; waits until the reporter writes again"
    return None


def _record_error(services: Services, outbox_id: int, exc: WeChatAPIError, now: datetime) -> str:
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
