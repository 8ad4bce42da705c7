"""What arrives from a user, independent of the platform's XML: the handlers' input."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

MEDIA_KINDS = frozenset({"image", "voice", "video", "shortvideo", "file"})


@dataclass(frozen=True)
class Inbound:
    """One message or event. `kind` is the platform's MsgType; for events `event` is the lower-case Event.

    Carries no sender: the caller resolves the sender to a reporter, so nothing downstream holds an openid.
    """

    kind: str
    created_at: datetime
    msg_id: str | None = None
    event: str | None = None
    event_key: str | None = None
    content: str | None = None
    media_id: str | None = None
    media_format: str | None = None
    recognition: str | None = None
    thumb_media_id: str | None = None
    pic_url: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    precision: float | None = None
    label: str | None = None
    title: str | None = None
    description: str | None = None
    url: str | None = None
    filename: str | None = None

    @property
    def is_media(self) -> bool:
        return self.kind in MEDIA_KINDS

    def payload(self) -> dict[str, Any]:
        """The fields worth keeping, for the database (no None values, no sender)."""
        data = {name: getattr(self, name) for name in _PAYLOAD_FIELDS}
        return {k: v for k, v in data.items() if v is not None and v != ""}

    def dedupe_suffix(self) -> str:
        """The platform's retry identity: MsgId for messages, event + time + key for events."""
        if self.msg_id:
            return f"msg:{self.msg_id}"
        stamp = int(self.created_at.timestamp())
        key = f"evt:{self.event or self.kind}:{stamp}:{self.event_key or ''}"
        # Long event keys (menu URLs) are hashed, so the whole key fits its column and stays unique.
        return key if len(key) <= 100 else "evt:h:" + hashlib.sha256(key.encode()).hexdigest()


_PAYLOAD_FIELDS = tuple(f.name for f in fields(Inbound) if f.name != "created_at")
