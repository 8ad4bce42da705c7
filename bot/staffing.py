"""Inviting staff: `whistle inspectors invite --section ID` prints a one-time code to send as `绑定 <code>`."""

from __future__ import annotations

import secrets
from datetime import timedelta

from bot.services import Services
from storage.db import transaction
from storage.inspectors import create_invitation

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def invite(services: Services, section_id: str, *, role: str = "inspector", days: int = 7) -> str:
    if section_id not in {s.id for s in services.settings.sections}:
        raise ValueError(f"no section {section_id!r} in the configuration")
    if role not in ("inspector", "head", "leader"):
        raise ValueError("role must be inspector, head or leader")
    code = "".join(secrets.choice(ALPHABET) for _ in range(10))
    with transaction(services.sessions) as session:
        create_invitation(
            session, services.vault.code_digest(code), section_id, role, services.clock() + timedelta(days=days)
        )
    return code
