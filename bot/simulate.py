"""`whistle simulate`: send a message to a running server exactly as the platform would, and show the reply."""

from __future__ import annotations

import mimetypes
import secrets
from dataclasses import dataclass
from pathlib import Path

import requests

from bot.config import Settings
from bot.wechat import messages
from bot.wechat.protocol import AesCodec


@dataclass(frozen=True)
class Simulation:
    url: str
    sender: str
    encrypt: bool = False
    timeout: float = 10.0


def upload_photo(fake_api_url: str, photo: Path) -> str:
    """Give the sandbox's fake platform the photo, so the worker can download it by MediaId like the real one."""
    media_id = "SIM-" + secrets.token_hex(8)
    content_type = mimetypes.guess_type(photo.name)[0] or "image/jpeg"
    response = requests.post(
        f"{fake_api_url.rstrip('/')}/__fake__/media",
        params={"media_id": media_id, "content_type": content_type, "filename": photo.name},
        data=photo.read_bytes(),
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["media_id"])


def send(settings: Settings, sim: Simulation, xml: str) -> tuple[int, str]:
    """Post `xml` signed (and encrypted when asked); returns the HTTP status and the reply text."""
    w = settings.wechat
    codec = AesCodec(w.token, w.encoding_aes_key, w.app_id) if sim.encrypt else None
    signed = messages.signed(xml, w.token, codec=codec)
    response = requests.post(
        sim.url, params=signed.query, data=signed.body, headers={"Content-Type": "text/xml"}, timeout=sim.timeout
    )
    if response.status_code != 200:
        return response.status_code, response.text
    reader = AesCodec(w.token, w.encoding_aes_key, w.app_id)
    return 200, messages.read_reply(response.content, reader) or "(success: no reply)"
