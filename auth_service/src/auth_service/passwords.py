"""Password hashing (argon2id, off the event loop) and the password policy."""

from __future__ import annotations

import anyio
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from auth_service.config import Settings
from auth_service.errors import WeakPassword


class Passwords:
    """argon2id hashing in worker threads, a bounded number at a time: each hash holds
    ``argon2_memory_kib`` of memory and a core for tens of milliseconds."""

    def __init__(self, settings: Settings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        self._limiter = anyio.CapacityLimiter(settings.password_hash_concurrency)
        self._min_length = settings.password_min_length
        self.max_length = settings.password_max_length
        # Verified against when the account does not exist, so a login for an unknown
        # email takes as long as one with a wrong password (no account enumeration).
        self._dummy_hash = self._hasher.hash("not a password of anyone")

    def check_policy(self, password: str, *, email: str) -> None:
        if len(password) < self._min_length:
            raise WeakPassword(f"the password needs at least {self._min_length} characters")
        if len(password) > self.max_length:
            raise WeakPassword(f"the password may have at most {self.max_length} characters")
        lowered = password.strip().lower()
        local_part = email.lower().partition("@")[0]
        if lowered in (email.lower(), local_part):
            raise WeakPassword("the password must not be the email address")
        if len(set(password)) < 3:
            raise WeakPassword("the password needs more than two different characters")

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self._hasher.hash, password, limiter=self._limiter)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        target = password_hash or self._dummy_hash
        ok = await anyio.to_thread.run_sync(self._check, target, password, limiter=self._limiter)
        return ok and password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)

    def _check(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
