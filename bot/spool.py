"""The last line of "loses nothing": a message the webhook could not store (the database was down) is sealed into a
file and acknowledged; the sweeper replays it once the database is back, and the reply goes out as a message.

Files are sealed with the identity key (they hold the sender's openid) and written atomically; a file that keeps
failing moves to `dead/` after a few tries, for an operator to look at, instead of blocking the others.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from storage.identity import IdentityError, IdentityVault

log = logging.getLogger(__name__)
PURPOSE = b"whistle/spool"
MAX_TRIES = 5


class Spool:
    def __init__(self, directory: Path, vault: IdentityVault) -> None:
        self.directory = directory
        self.vault = vault

    def put(self, xml: bytes) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{uuid.uuid4().hex}.0.msg"
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(self.vault.seal_bytes(xml, PURPOSE))
            fh.flush()
            os.fsync(fh.fileno())
        target = self.directory / name
        os.replace(tmp, target)
        return target

    def pending(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.iterdir() if p.suffix == ".msg")

    def replay(self, handle: Callable[[bytes], None]) -> int:
        """Hand each spooled message to `handle` (oldest first); returns how many were replayed."""
        done = 0
        for path in self.pending():
            try:
                xml = self.vault.open_bytes(path.read_bytes(), PURPOSE)
                handle(xml)
            except IdentityError:
                self._bury(path, "cannot be opened with this identity key")
                continue
            except Exception:
                log.exception("spooled message could not be replayed yet", extra={"file": path.name})
                self._retry_later(path)
                continue
            path.unlink(missing_ok=True)
            done += 1
        return done

    def _retry_later(self, path: Path) -> None:
        stem, tries = path.name.rsplit(".", 2)[0], int(path.name.rsplit(".", 2)[1]) + 1
        if tries >= MAX_TRIES:
            self._bury(path, f"failed {tries} times")
            return
        path.rename(path.with_name(f"{stem}.{tries}.msg"))

    def _bury(self, path: Path, why: str) -> None:
        dead = self.directory / "dead"
        dead.mkdir(exist_ok=True)
        path.rename(dead / path.name)
        log.error("spooled message moved aside", extra={"file": path.name, "reason": why})
