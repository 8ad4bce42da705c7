"""Who wrote, and what intake must know about them before deciding: found in one round trip per message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, exists, func, select
from sqlalchemy.orm import Session

from storage.identity import IdentityVault
from storage.models import InboundMessage, Inspector, OutboxMessage, Reporter
from storage.prepared import Prepared
from storage.reporters import ReporterRef, reporter_for


@dataclass(frozen=True)
class Sender:
    reporter: ReporterRef
    recent: int  # messages stored since `since`, before the one being answered (the per-user rate limit)
    inspector_id: int | None  # the active staff row of the same person, if any
    has_held: bool  # messages to this reporter wait in the outbox for them to write


_STAFF_ID = (
    select(Inspector.id).where(Inspector.digest == bindparam("digest"), Inspector.active.is_(True)).scalar_subquery()
)
_KNOWN = Prepared(
    select(
        Reporter.id,
        Reporter.last_inbound_at,
        select(func.count())
        .select_from(InboundMessage)
        .where(InboundMessage.reporter_id == Reporter.id, InboundMessage.received_at >= bindparam("since"))
        .scalar_subquery(),
        _STAFF_ID,
        exists().where(OutboxMessage.reporter_id == Reporter.id, OutboxMessage.status == "held"),
    ).where(Reporter.digest == bindparam("digest"))
)
_NEW = Prepared(select(_STAFF_ID))


def identify_sender(session: Session, vault: IdentityVault, openid: str, since: datetime) -> Sender:
    """The sender's reporter row (created on first contact) with their recent messages, staff row and held
    messages. A known sender costs one statement: this runs for every message."""
    digest = vault.digest(openid)
    found = _KNOWN.first(session, {"digest": digest, "since": since})
    if found is not None:
        reporter_id, last_inbound_at, recent, inspector_id, has_held = found
        return Sender(ReporterRef(reporter_id, digest, last_inbound_at), int(recent or 0), inspector_id, bool(has_held))
    reporter = reporter_for(session, vault, openid)
    staff = _NEW.first(session, {"digest": digest})
    return Sender(reporter, 0, staff[0] if staff else None, False)
