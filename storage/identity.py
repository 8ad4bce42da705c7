"""Sealing reporters' openids at rest.

One 32-byte secret yields two keys: an HMAC key for the lookup digest (the same openid always finds the same row,
but the digest reveals nothing) and an AES-GCM key for the sealed copy that only the outbound gateway opens.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class IdentityError(Exception):
    """A sealed identity could not be opened: wrong key or damaged data."""


class IdentityVault:
    def __init__(self, secret: bytes) -> None:
        if len(secret) != 32:
            raise ValueError("identity secret must be 32 bytes")
        self._digest_key = hmac.new(secret, b"whistle/identity/digest", hashlib.sha256).digest()
        self._aead = AESGCM(hmac.new(secret, b"whistle/identity/seal", hashlib.sha256).digest())

    def digest(self, openid: str) -> str:
        return hmac.new(self._digest_key, openid.encode(), hashlib.sha256).hexdigest()

    def seal(self, openid: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, openid.encode(), b"openid")

    def open(self, sealed: bytes) -> str:
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], b"openid").decode()
        except (InvalidTag, ValueError) as exc:
            raise IdentityError("sealed identity cannot be opened with this key") from exc

    def seal_bytes(self, data: bytes, purpose: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, data, purpose)

    def open_bytes(self, sealed: bytes, purpose: bytes) -> bytes:
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], purpose)
        except (InvalidTag, ValueError) as exc:
            raise IdentityError("sealed data cannot be opened with this key") from exc

    def code_digest(self, code: str) -> str:
        """Digest of a reporter's private query code (stored instead of the code)."""
        return hmac.new(self._digest_key, b"query-code:" + code.encode(), hashlib.sha256).hexdigest()
