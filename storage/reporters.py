"""Reporters: find or create by openid, and the only way to get an openid back (audited)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.identity import IdentityVault
from storage.models import IdentityAccess, Reporter

_BY_DIGEST = select(Reporter).where(Reporter.digest == bindparam("digest"))  # built once (the hot path)


def reporter_for(session: Session, vault: IdentityVault, openid: str) -> Reporter:
    """The reporter row for this openid, created on first contact (safe against a concurrent first contact)."""
    digest = vault.digest(openid)
    found = session.scalars(_BY_DIGEST, {"digest": digest}).one_or_none()
    if found is not None:
        return found
    try:
        with session.begin_nested():
            reporter = Reporter(digest=digest, sealed_openid=vault.seal(openid))
            session.add(reporter)
        return reporter
    except IntegrityError:
        return session.scalars(_BY_DIGEST, {"digest": digest}).one()


def touch_inbound(reporter: Reporter, at: datetime) -> None:
    """Remember the last time the reporter wrote: it opens the 48-hour customer-service window."""
    if reporter.last_inbound_at is None or at > reporter.last_inbound_at:
        reporter.last_inbound_at = at


def reveal_openid(session: Session, vault: IdentityVault, reporter_id: int, purpose: str) -> str:
    """Unseal a reporter's openid for `purpose`, leaving a trace. Only the outbound gateway should call this."""
    reporter = session.get(Reporter, reporter_id)
    if reporter is None:
        raise LookupError(f"no reporter {reporter_id}")
    session.add(IdentityAccess(reporter_id=reporter_id, purpose=purpose))
    return vault.open(reporter.sealed_openid)
