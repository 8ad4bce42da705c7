"""One inbound message, one transaction: store it, let the conversation decide, commit, then enqueue.

The reply is stored with the message, so a platform retry (same MsgId, or the same event) gets the same answer and
causes nothing new, even when it arrives while the first try is still running.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from bot.services import Services
from bot.wechat.protocol import Envelope
from handlers.dispatch import handle
from handlers.outcome import JobRequest, Outcome
from handlers.report import Conversation
from storage.db import transaction
from storage.inbound import claim_inbound
from storage.outbox import held_messages
from storage.reporters import reporter_for, touch_inbound

log = logging.getLogger(__name__)

# Events that do not come from the user acting in the chat: they neither open the 48-hour window nor release
# messages held for it.
PASSIVE_EVENTS = frozenset({"location", "unsubscribe", "view", "templatesendjobfinish"})


def accept(services: Services, envelope: Envelope) -> str | None:
    """Returns the text to reply with, or None to answer `success`."""
    inbound = envelope.inbound
    now = services.clock()
    with transaction(services.sessions) as session:
        reporter = reporter_for(session, services.vault, envelope.sender)
        message, is_new = claim_inbound(
            session,
            dedupe_key=f"{reporter.digest[:40]}:{inbound.dedupe_suffix()}",
            reporter_id=reporter.id,
            kind=inbound.kind if inbound.kind != "event" else "event",
            platform_time=inbound.created_at,
            payload=inbound.payload(),
            received_at=now,
        )
        if not is_new:
            log.info("duplicate delivery answered from the first try", extra={"inbound_id": message.id})
            return message.reply
        outcome = Outcome()
        if inbound.kind != "event" or inbound.event not in PASSIVE_EVENTS:
            touch_inbound(reporter, now)
            outcome.then(*_release_held(session, reporter.id))
        conv = Conversation(session, reporter, services.report_rules, now, services.vault.code_digest)
        decided = handle(conv, inbound, message)
        outcome.reply = decided.reply
        outcome.jobs[:0] = decided.jobs
        message.reply = outcome.reply
        inbound_id = message.id
    services.queue.submit(outcome.jobs)
    log.info(
        "inbound accepted",
        extra={"inbound_id": inbound_id, "kind": inbound.kind, "event": inbound.event, "jobs": len(outcome.jobs)},
    )
    return outcome.reply


def _release_held(session: Session, reporter_id: int) -> list[JobRequest]:
    """The reporter wrote: messages held for the 48-hour window can go now."""
    released = []
    for held in held_messages(session, reporter_id=reporter_id):
        held.status = "pending"
        held.last_error = None
        released.append(JobRequest("deliver_message", held.id))
    return released
