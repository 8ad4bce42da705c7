"""One inbound message, one transaction: store it, let the conversation decide, commit, then enqueue.

The reply is stored with the message, so a platform retry (same MsgId, or the same event) gets the same answer and
causes nothing new, even when it arrives while the first try is still running.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.services import Services
from bot.wechat.protocol import Envelope, parse_xml, to_inbound
from handlers import texts
from handlers.dispatch import handle
from handlers.inbound import Inbound
from handlers.inspection import Desk
from handlers.outcome import JobRequest, Outcome
from handlers.report import Conversation
from handlers.staff import bind, handle_staff
from storage.db import transaction
from storage.inbound import Received, claim_inbound, settle_inbound
from storage.models import Inspector
from storage.outbox import add_message, held_messages
from storage.reporters import ReporterRef, reporter_for, touch_inbound
from storage.senders import Sender, identify_sender

log = logging.getLogger(__name__)

# Events that do not come from the user acting in the chat: they neither open the 48-hour window nor release
# messages held for it.
PASSIVE_EVENTS = frozenset({"location", "unsubscribe", "view", "templatesendjobfinish"})
RATE_WINDOW = timedelta(minutes=1)


def accept(services: Services, envelope: Envelope) -> str | None:
    """Returns the text to reply with, or None to answer `success`."""
    return _accept(services, envelope)[0]


def _accept(services: Services, envelope: Envelope) -> tuple[str | None, bool]:
    """The reply, and whether this call processed the message (False: an earlier try had already)."""
    inbound = envelope.inbound
    now = services.clock()
    with transaction(services.sessions) as session:
        sender = identify_sender(session, services.vault, envelope.sender, since=now - RATE_WINDOW)
        reporter = sender.reporter
        message, is_new = claim_inbound(
            session,
            dedupe_key=f"{reporter.digest[:40]}:{inbound.dedupe_suffix()}",
            reporter_id=reporter.id,
            kind=inbound.kind,
            platform_time=inbound.created_at,
            payload=inbound.payload(),
            received_at=now,
        )
        if not is_new:
            log.info("duplicate delivery answered from the first try", extra={"inbound_id": message.id})
            return message.reply, False
        outcome = _decide(services, session, sender, inbound, message, now)
        message.reply = outcome.reply
        settle_inbound(session, message)
        inbound_id = message.id
    services.queue.submit(outcome.jobs)
    log.info(
        "inbound accepted",
        extra={"inbound_id": inbound_id, "kind": inbound.kind, "event": inbound.event, "jobs": len(outcome.jobs)},
    )
    return outcome.reply, True


def _decide(
    services: Services, session: Session, sender: Sender, inbound: Inbound, message: Received, now: datetime
) -> Outcome:
    limit = services.settings.webhook_per_user_per_minute
    reporter = sender.reporter
    if inbound.kind != "event":
        sent = sender.recent + 1  # this one included
        if sent > limit:
            # Kept (the row is stored) but not acted on; told once, then silence, so a flood cannot make us flood.
            log.warning("sender over the rate limit", extra={"inbound_id": message.id, "recent": sent})
            return Outcome(texts.RATE_LIMITED if sent == limit + 1 else None)
    inspector = session.get(Inspector, sender.inspector_id) if sender.inspector_id is not None else None
    if inspector is not None and inbound.event == "unsubscribe":
        inspector.subscribed = False
    active = inbound.kind != "event" or inbound.event not in PASSIVE_EVENTS
    released = _release(session, reporter, inspector, now, reporter_has_held=sender.has_held) if active else []
    decided = _staff_or_bind(services, session, reporter, inspector, inbound, message, now)
    if decided is None:
        conv = Conversation(session, reporter, services.report_rules, now, services.vault.code_digest)
        decided = handle(conv, inbound, message)
    if active:
        touch_inbound(session, reporter, now)
    decided.jobs[:0] = released
    return decided


def _staff_or_bind(
    services: Services,
    session: Session,
    reporter: ReporterRef,
    inspector: Inspector | None,
    inbound: Inbound,
    message: Received,
    now: datetime,
) -> Outcome | None:
    rules = services.desk_rules
    if inbound.kind == "text":
        bound = bind(session, inbound.content or "", reporter, now, services.vault.code_digest, rules.sections)
        if bound is not None:
            return bound
    if inspector is None:
        return None
    return handle_staff(Desk(session, inspector, rules, now), inbound, message)


def _release(
    session: Session, reporter: ReporterRef, inspector: Inspector | None, now: datetime, *, reporter_has_held: bool
) -> list[JobRequest]:
    """The person wrote: the 48-hour window is open again, so messages held for it can go now."""
    held = held_messages(session, reporter_id=reporter.id) if reporter_has_held else []
    if inspector is not None:
        inspector.last_inbound_at = now
        inspector.subscribed = True
        held += held_messages(session, inspector_id=inspector.id)
    released = []
    for message in held:
        message.status, message.last_error = "pending", None
        # a new round: the job that held it has finished, and its id stays taken for a while
        released.append(JobRequest("deliver_message", message.id, round=int(now.timestamp())))
    return released


def accept_spooled(services: Services, xml: bytes) -> None:
    """Replay a message the webhook had to spool: process it now, and send the answer it could not give then."""
    envelope = to_inbound(parse_xml(xml))
    reply, processed = _accept(services, envelope)
    if not reply or not processed:
        return  # a platform retry got through meanwhile and was answered then: do not say it twice
    jobs: list[JobRequest] = []
    with transaction(services.sessions) as session:
        reporter = reporter_for(session, services.vault, envelope.sender)
        key = f"spooled:{reporter.digest[:40]}:{envelope.inbound.dedupe_suffix()}"
        queued = add_message(session, reporter_id=reporter.id, body=reply, now=services.clock(), dedupe_key=key[:160])
        if queued is not None:
            jobs.append(JobRequest("deliver_message", queued))
    services.queue.submit(jobs)
