"""Files of downloaded media on local disk, named by content hash so a retry never writes twice."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

SAFE_SUFFIXES = {".jpg", ".png", ".gif", ".webp", ".amr", ".speex", ".mp3", ".mp4", ".bin"}


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, data: bytes, suffix: str) -> str:
        """Store `data`, return its path relative to the root. Atomic: a crash never leaves half a file."""
        suffix = suffix if suffix in SAFE_SUFFIXES else ".bin"
        digest = hashlib.sha256(data).hexdigest()
        relative = f"{digest[:2]}/{digest}{suffix}"
        target = self.root / relative
        if target.exists():
            return relative
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return relative

    def path(self, relative: str) -> Path:
        """The absolute path of a stored file; refuses anything that would leave the root."""
        target = (self.root / relative).resolve()
        if not target.is_relative_to(self.root.resolve()):
            raise ValueError("path outside the media store")
        return target
