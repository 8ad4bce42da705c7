"""Who wrote, and what intake must know about them before deciding: found in one round trip per message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, exists, func, literal, select
from sqlalchemy.orm import Session

from storage.identity import IdentityVault
from storage.models import InboundMessage, Inspector, OutboxMessage, Reporter
from storage.prepared import Prepared
from storage.reporters import ReporterRef, add_reporter


@dataclass(frozen=True)
class Sender:
    reporter: ReporterRef
    recent: int  # messages stored since `since`, before the one being answered (the per-user rate limit)
    inspector_id: int | None  # the active staff row of the same person, if any
    has_held: bool  # messages to this reporter wait in the outbox for them to write


_STAFF_ID = (
    select(Inspector.id).where(Inspector.digest == bindparam("digest"), Inspector.active.is_(True)).scalar_subquery()
)
# One row whether or not the reporter exists (a one-row FROM, the reporter outer-joined to it): a first contact
# learns in the same round trip that it must create the reporter, and whether the person is staff.
_ONE = select(literal(1).label("one")).subquery("one")
_SENDER = Prepared(
    select(
        Reporter.id,
        Reporter.last_inbound_at,
        select(func.count())
        .select_from(InboundMessage)
        .where(InboundMessage.reporter_id == Reporter.id, InboundMessage.received_at >= bindparam("since"))
        .scalar_subquery(),
        _STAFF_ID,
        exists().where(OutboxMessage.reporter_id == Reporter.id, OutboxMessage.status == "held"),
    ).select_from(_ONE.outerjoin(Reporter, Reporter.digest == bindparam("digest")))
)


def identify_sender(session: Session, vault: IdentityVault, openid: str, since: datetime) -> Sender:
    """The sender's reporter row (created on first contact) with their recent messages, staff row and held
    messages: one statement, and one more (the INSERT) on first contact. This runs for every message."""
    digest = vault.digest(openid)
    found = _SENDER.first(session, {"digest": digest, "since": since})
    if found is None:  # cannot happen (the FROM has one row); say so rather than create a duplicate reporter
        raise LookupError("the sender query returned no row")
    reporter_id, last_inbound_at, recent, inspector_id, has_held = found
    if reporter_id is None:
        return Sender(add_reporter(session, vault, openid, digest), 0, inspector_id, False)
    return Sender(ReporterRef(reporter_id, digest, last_inbound_at), int(recent or 0), inspector_id, bool(has_held))
