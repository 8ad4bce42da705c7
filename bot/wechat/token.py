"""One access token for every process, kept in Redis.

Each fetch of a new access_token invalidates the previous one (after a 5-minute grace), and the platform
allows 2,000 fetches a day. So every web and worker process must share one token: it lives in Redis with a TTL
shorter than its life, and a refresh happens under a Redis lock, re-checking the key once the lock is held
because another process may have refreshed while we waited. If Redis is down we keep sending with a
process-local copy rather than fail every message; that degrades to one token per process, which is wasteful
but correct.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import redis

logger = logging.getLogger(__name__)

#: The platform's day (and its daily quotas) follow Beijing time.
PLATFORM_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
#: Refresh this long before the platform says the token expires.
EXPIRY_MARGIN = 300
#: After Redis fails, use the process-local token for this many seconds before trying Redis again.
REDIS_RETRY_AFTER = 10.0
#: A token this process read from Redis (or stored there) is used this long without asking Redis again. Safe: a
#: refresh by another process leaves it working for the platform's 5-minute grace, and a token the platform rejects
#: is forgotten at once (`invalidate`). Each send saves a Redis round trip.
LOCAL_TRUST_SECONDS = 30.0

# Delete the key only if it still holds the token the caller found invalid: if another process has already
# stored a fresh one, deleting it would cost a needless fetch (and invalidate that fresh token for everyone).
_COMPARE_AND_DELETE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


@dataclass(frozen=True)
class IssuedToken:
    """What the platform returned: the token and its lifetime in seconds."""

    value: str
    expires_in: int

    @property
    def cache_seconds(self) -> int:
        """How long to keep it: its life minus a margin, but never zero for very short lives."""
        if self.expires_in > 2 * EXPIRY_MARGIN:
            return self.expires_in - EXPIRY_MARGIN
        return max(1, self.expires_in // 2)


class _LocalToken:
    """The last token this process saw, used when Redis cannot be reached."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: str | None = None
        self._expires_at = 0.0
        self._learned_at = float("-inf")  # when it last came from (or went to) Redis

    def remember(self, value: str, seconds: float) -> None:
        with self._lock:
            now = time.monotonic()
            self._value, self._expires_at, self._learned_at = value, now + seconds, now

    def recent(self, trust: float) -> str | None:
        """The token, if it is valid and this process learned it from Redis less than `trust` seconds ago."""
        value, now = self._value, time.monotonic()
        if value is not None and now < self._expires_at and now - self._learned_at < trust:
            return value
        return None

    def forget(self, value: str) -> None:
        with self._lock:
            if self._value == value:
                self._value = None

    def get_or_fetch(self, fetch: Callable[[], IssuedToken]) -> str:
        """Return the cached token or fetch one; threads of this process wait for a single fetch."""
        with self._lock:
            if self._value is not None and time.monotonic() < self._expires_at:
                return self._value
            issued = fetch()
            self._value, self._expires_at = issued.value, time.monotonic() + issued.cache_seconds
            return issued.value


class SharedToken:
    """The access token shared by all processes through Redis, refreshed under a lock."""

    def __init__(
        self,
        conn: redis.Redis,
        *,
        app_id: str,
        key_prefix: str,
        fetch: Callable[[], IssuedToken],
        lock_timeout: float = 10.0,
        local_trust: float = LOCAL_TRUST_SECONDS,
    ) -> None:
        self._redis = conn
        self._fetch = fetch
        self._lock_timeout = lock_timeout
        self._local_trust = local_trust
        self.key = f"{key_prefix}:wechat:token:{app_id}"
        self.lock_key = f"{key_prefix}:wechat:token-lock:{app_id}"
        self._counter_prefix = f"{key_prefix}:wechat:token-fetches:{app_id}"
        self._local = _LocalToken()
        self._redis_down = False
        self._redis_down_until = 0.0

    def get(self) -> str:
        """The current token, fetching one only if no process holds a valid one."""
        recent = self._local.recent(self._local_trust)
        if recent is not None:
            return recent
        if not self._redis_suspended():
            try:
                token = self._read() or self._refresh_locked()
            except redis.RedisError as exc:
                self._redis_failed(exc)
            else:
                self._redis_ok()
                return token
        return self._local.get_or_fetch(self._fetch_and_count)

    def invalidate(self, token: str) -> None:
        """Forget a token the platform rejected, unless another process has already replaced it."""
        self._local.forget(token)
        if self._redis_suspended():
            return
        try:
            self._redis.eval(_COMPARE_AND_DELETE, 1, self.key, token)
        except redis.RedisError as exc:
            self._redis_failed(exc)

    def fetches_today(self) -> int:
        """Fetches counted today (Beijing time), for operators to compare with the 2,000-a-day limit."""
        value = self._redis.get(self._counter_key())
        return int(value) if value is not None else 0

    def _read(self) -> str | None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.get(self.key)
        pipe.pttl(self.key)
        raw, pttl = pipe.execute()
        if raw is None:
            return None
        value = raw.decode() if isinstance(raw, bytes) else str(raw)
        if pttl and pttl > 0:
            self._local.remember(value, pttl / 1000)
        return value

    def _refresh_locked(self) -> str:
        lock = self._redis.lock(self.lock_key, timeout=self._lock_timeout, blocking_timeout=self._lock_timeout + 1)
        if not lock.acquire():
            # The holder outlived its lock: it is hung or dead. Fetch anyway rather than stall the sender.
            logger.warning("could not take the access token lock within %.0f s; fetching anyway", self._lock_timeout)
            return self._store(self._fetch_and_count())
        try:
            return self._read() or self._store(self._fetch_and_count())
        finally:
            self._release(lock)

    @staticmethod
    def _release(lock: redis.lock.Lock) -> None:
        try:
            lock.release()
        except redis.exceptions.LockError:
            logger.warning("the access token lock expired before the refresh finished")

    def _store(self, issued: IssuedToken) -> str:
        # Remember it locally first: if Redis fails now, the fallback path must not fetch a second token.
        self._local.remember(issued.value, issued.cache_seconds)
        self._redis.set(self.key, issued.value, ex=issued.cache_seconds)
        return issued.value

    def _fetch_and_count(self) -> IssuedToken:
        issued = self._fetch()
        self._count_fetch()
        return issued

    def _count_fetch(self) -> None:
        key = self._counter_key()
        try:
            pipe = self._redis.pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, 2 * 24 * 3600)
            count = pipe.execute()[0]
        except redis.RedisError:
            return
        logger.info("fetched a new WeChat access token (%s today)", count)
        if count > 1500:
            logger.warning("%s access token fetches today; the platform allows 2,000", count)

    def _counter_key(self) -> str:
        return f"{self._counter_prefix}:{datetime.now(PLATFORM_TZ):%Y%m%d}"

    def _redis_suspended(self) -> bool:
        return time.monotonic() < self._redis_down_until

    def _redis_failed(self, exc: redis.RedisError) -> None:
        """Stop asking Redis for a while: a dead Redis must not add its connect timeout to every send."""
        if not self._redis_down:
            logger.warning(
                "Redis unreachable (%s); using a process-local access token for %.0f s",
                type(exc).__name__,
                REDIS_RETRY_AFTER,
            )
        self._redis_down = True
        self._redis_down_until = time.monotonic() + REDIS_RETRY_AFTER

    def _redis_ok(self) -> None:
        if self._redis_down:
            logger.info("Redis reachable again; sharing the access token through it")
        self._redis_down = False
