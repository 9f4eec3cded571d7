"""Login throttling: attempts counted per account and client address and per account
(a success clears them), failures per client address.

Once a counter reaches its limit, logins it covers are refused with 429 until the window
that began with the first failure has passed. Guessing one password from one address
locks only that address out of the account (a few failures), so a stranger cannot lock
the owner out; guessing it from many addresses locks the account for everyone only after
many more; one address failing on many accounts is locked out of all of them. A
successful login clears its account's count and its address's count on that account.
An IPv6 address counts as its /64.
Redis shares the counters between replicas; without Redis they live in the process (one
replica, development).
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from dataclasses import dataclass

from shared.counters import CounterStore


@dataclass(frozen=True)
class Limit:
    key: str
    max_failures: int


class LoginThrottle:
    def __init__(
        self,
        store: CounterStore,
        *,
        max_failures_per_account: int,
        max_failures_per_account_all_addresses: int,
        max_failures_per_address: int,
        window_seconds: int,
    ) -> None:
        self._store = store
        self._per_account = max_failures_per_account
        self._per_account_everywhere = max_failures_per_account_all_addresses
        self._per_address = max_failures_per_address
        self._window = window_seconds

    async def attempt(self, email: str, address: str | None) -> int | None:
        """Seconds to wait before trying again, or None when this login may go on.

        The attempt is counted on the account (from this address, and from anywhere)
        before its password is checked, so that guesses sent in parallel cannot all get
        past the limit while the first ones are still being hashed; a success clears
        both counts. The address's count is only of failures: people behind one address
        logging in successfully use none of it."""
        waits = []
        account_limits = [
            Limit(_pair_key(email, address), self._per_account),
            Limit(_account_key(email), self._per_account_everywhere),
        ]
        for limit in account_limits:
            count, left = await self._store.increment(limit.key, self._window)
            if count > limit.max_failures:
                waits.append(max(1, math.ceil(left)))
        if address:
            count, left = await self._store.get(_address_key(address))
            if count >= self._per_address:
                waits.append(max(1, math.ceil(left)))
        return max(waits) if waits else None

    async def failed(self, address: str | None) -> None:
        """The password was wrong (the account's counts already hold the attempt)."""
        if address:
            await self._store.increment(_address_key(address), self._window)

    async def succeeded(self, email: str, address: str | None) -> None:
        """The owner got in: the account and this address start afresh (other addresses'
        failures on it still count)."""
        await self._store.clear(_pair_key(email, address))
        await self._store.clear(_account_key(email))


def source_of(address: str) -> str:
    """Who a count is kept for: an IPv4 address, or an IPv6 address's /64 (one host
    commonly holds a whole /64, and would otherwise have endless addresses to try from)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _account(email: str) -> str:
    # A digest: the username is any text, and must not spell another counter's key.
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _account_key(email: str) -> str:
    return f"login:account:{_account(email)}"


def _address_key(address: str) -> str:
    return f"login:address:{source_of(address)}"


def _pair_key(email: str, address: str | None) -> str:
    # Logins of unknown origin share one count per account.
    source = source_of(address) if address else "unknown"
    return f"login:pair:{_account(email)}:{source}"


class RegistrationLimit:
    """Accounts created per client address and window: bounds sign-up spam and the
    hashing work it costs."""

    def __init__(self, store: CounterStore, *, max_per_address: int, window_seconds: int) -> None:
        self._store = store
        self._max = max_per_address
        self._window = window_seconds

    async def retry_after(self, address: str | None) -> int | None:
        if not address:
            return None
        count, left = await self._store.get(_registration_key(address))
        return max(1, math.ceil(left)) if count >= self._max else None

    async def registered(self, address: str | None) -> None:
        if address:
            await self._store.increment(_registration_key(address), self._window)


def _registration_key(address: str) -> str:
    return f"register:address:{source_of(address)}"
