"""Inspectors, section heads and bureau leaders: from the configuration, or bound with a one-time invitation code."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from storage.db import dialect_insert
from storage.identity import IdentityVault
from storage.models import Inspector, Invitation
from storage.prepared import Prepared


@dataclass(frozen=True)
class Staff:
    openid: str
    section_id: str | None
    role: str  # inspector | head | leader


def sync_staff(session: Session, vault: IdentityVault, staff: Iterable[Staff]) -> None:
    """Make the table hold everyone the configuration lists; people removed from it are deactivated."""
    listed: set[str] = set()
    for person in staff:
        digest = vault.digest(person.openid)
        listed.add(digest)
        stmt = (
            dialect_insert(session, Inspector)
            .values(
                digest=digest,
                sealed_openid=vault.seal(person.openid),
                section_id=person.section_id,
                role=person.role,
                source="config",
                active=True,
                subscribed=True,
            )
            .on_conflict_do_update(
                index_elements=["digest"],
                set_={"section_id": person.section_id, "role": person.role, "active": True},
            )
        )
        session.execute(stmt)
    stale = select(Inspector.id).where(Inspector.source == "config", Inspector.digest.not_in(listed or {""}))
    session.execute(update(Inspector).where(Inspector.id.in_(stale)).values(active=False))


def inspector_by_digest(session: Session, digest: str) -> Inspector | None:
    stmt = select(Inspector).where(Inspector.digest == digest, Inspector.active.is_(True))
    return session.scalars(stmt).one_or_none()


@dataclass(frozen=True)
class StaffMember:
    """An active inspector, head or leader as a recipient of messages."""

    id: int
    role: str
    section_id: str | None


_STAFF: dict[tuple[bool, tuple[str, ...]], Prepared] = {}


def staff_of(session: Session, section_id: str | None, roles: Iterable[str]) -> list[StaffMember]:
    """The active staff with these roles, of one section (any section when None), in a stable order. Every case
    card and deadline notice asks: a prepared statement a (section or not, roles) combination."""
    roles = tuple(roles)
    key = (section_id is not None, roles)
    prepared = _STAFF.get(key)
    if prepared is None:
        stmt = select(Inspector.id, Inspector.role, Inspector.section_id).where(
            Inspector.active.is_(True), or_(*(Inspector.role == role for role in roles))
        )
        if section_id is not None:
            stmt = stmt.where(Inspector.section_id == bindparam("section_id"))
        prepared = _STAFF[key] = Prepared(stmt.order_by(Inspector.id))
    params = {"section_id": section_id} if section_id is not None else {}
    return [StaffMember(*row) for row in prepared.rows(session, params)]


def all_inspectors(session: Session) -> list[Inspector]:
    stmt = select(Inspector).where(Inspector.active.is_(True), Inspector.role.in_(("inspector", "head")))
    return list(session.scalars(stmt.order_by(Inspector.id)))


def create_invitation(
    session: Session, code_digest: str, section_id: str, role: str, expires_at: datetime
) -> Invitation:
    invitation = Invitation(code_digest=code_digest, section_id=section_id, role=role, expires_at=expires_at)
    session.add(invitation)
    session.flush()
    return invitation


def redeem_invitation(
    session: Session, code_digest: str, openid_digest: str, sealed_openid: bytes, now: datetime
) -> Inspector | None:
    """Bind the sender with a valid, unused code; None when the code is wrong, used or expired."""
    stmt = select(Invitation).where(Invitation.code_digest == code_digest).with_for_update()
    invitation = session.scalars(stmt).one_or_none()
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= now:
        return None
    inspector = session.scalars(select(Inspector).where(Inspector.digest == openid_digest)).one_or_none()
    if inspector is None:
        inspector = Inspector(digest=openid_digest, sealed_openid=sealed_openid, source="invitation")
        session.add(inspector)
    inspector.section_id, inspector.role, inspector.active = invitation.section_id, invitation.role, True
    session.flush()
    invitation.used_at, invitation.used_by = now, inspector.id
    return inspector


def all_staff(session: Session) -> list[Inspector]:
    return list(session.scalars(select(Inspector).where(Inspector.active.is_(True)).order_by(Inspector.id)))
