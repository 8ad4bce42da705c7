"""Downloading what reporters send before the platform forgets it (a MediaId lives 3 days), and making photos safe.

A photo is validated, oriented, stripped of metadata (EXIF can identify the worker's phone) after its GPS and capture
time are read, thumbnailed and hashed. A broken or hostile file is recorded as rejected; the case goes on without it.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.media.photos import PhotoLimits, PhotoRejected, process_photo
from bot.services import Services
from bot.wechat.api import DownloadedMedia
from bot.wechat.errors import MediaTooLarge, WeChatAPIError, WeChatUnavailable
from handlers.report import apply_photo_facts
from storage.db import transaction
from storage.models import Case, Media

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


def fetch_media(services: Services, media_id: int) -> str:
    with transaction(services.sessions) as session:
        media = session.get(Media, media_id, with_for_update=True)
        if media is None or media.status != "pending":
            return media.status if media else "missing"
        media.attempts += 1
        attempts, platform_id, kind = media.attempts, media.platform_media_id, media.kind
    try:
        downloaded = services.wechat.download_media(platform_id, max_bytes=services.settings.media_max_bytes)
    except MediaTooLarge:
        return _finish(services, media_id, "rejected", error="too_large: over media.max_bytes")
    except WeChatAPIError as exc:
        if exc.transient and attempts < MAX_ATTEMPTS:
            raise
        return _finish(services, media_id, "expired" if exc.media_expired else "failed", error=str(exc))
    except WeChatUnavailable as exc:
        if attempts >= MAX_ATTEMPTS:
            return _finish(services, media_id, "failed", error=f"platform unavailable: {exc}")
        raise
    if kind == "image":
        return _store_photo(services, media_id, downloaded)
    suffix = _suffix(kind, downloaded)
    path = services.media.put(downloaded.content, suffix)
    return _finish(
        services,
        media_id,
        "stored",
        path=path,
        content_type=downloaded.content_type[:128],
        size=len(downloaded.content),
    )


def _store_photo(services: Services, media_id: int, downloaded: DownloadedMedia) -> str:
    limits = PhotoLimits(max_bytes=services.settings.media_max_bytes)
    try:
        photo = process_photo(downloaded.content, limits)
    except PhotoRejected as exc:
        log.warning("photo rejected", extra={"media_id": media_id, "reason": exc.reason})
        return _finish(services, media_id, "rejected", error=f"{exc.reason}: {exc.message}")
    info: dict[str, Any] = {
        "width": photo.width,
        "height": photo.height,
        "original_width": photo.original_width,
        "original_height": photo.original_height,
        "original_format": photo.original_format,
        "taken_at": photo.taken_at.isoformat() if photo.taken_at else None,
        "gps": list(photo.gps) if photo.gps else None,
    }
    return _finish(
        services,
        media_id,
        "stored",
        photo_facts=info,
        path=services.media.put(photo.image, ".jpg"),
        thumbnail_path=services.media.put(photo.thumbnail, ".jpg"),
        content_type="image/jpeg",
        size=len(photo.image),
        sha256=photo.sha256,
        phash=photo.phash,
        info=info,
    )


def _suffix(kind: str, downloaded: DownloadedMedia) -> str:
    name = (downloaded.filename or "").lower()
    for ext in (".amr", ".speex", ".mp3", ".mp4", ".jpg", ".png"):
        if name.endswith(ext):
            return ext
    return ".mp4" if kind in {"video", "shortvideo"} else ".bin"


def _finish(
    services: Services,
    media_id: int,
    status: str,
    error: str | None = None,
    photo_facts: dict[str, Any] | None = None,
    **fields: Any,
) -> str:
    with transaction(services.sessions) as session:
        media = session.get(Media, media_id)
        assert media is not None
        media.status = status
        media.error = error[:1000] if error else None
        for name, value in fields.items():
            setattr(media, name, value)
        if photo_facts and media.case_id is not None and media.purpose == "report":
            case = session.get(Case, media.case_id)
            assert case is not None
            apply_photo_facts(case, photo_facts.get("gps"), photo_facts.get("taken_at"), services.settings.timezone)
    log.info("media %s", status, extra={"media_id": media_id})
    return status
