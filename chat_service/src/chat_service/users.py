"""Who can join a chat: the users auth_service knows, looked up with the caller's token.

chat_service keeps no user directory of its own. It asks auth_service's user search for
the ids it is given, a page of them per call, and remembers the names it found for a
while (the oldest go first when full), so adding people seen recently costs no call.
Ids it does not find are never remembered: someone who registers a moment later can be
added at once.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

import httpx

from chat_service.errors import UserNotFound
from shared.errors import InvalidToken, ServiceUnavailable
from shared.logging import get_logger

log = get_logger(__name__)

# auth_service's user search takes this many ids at once.
IDS_PER_CALL = 100


@dataclass(frozen=True)
class _Known:
    until: float
    display_name: str


class UserDirectory:
    def __init__(
        self,
        auth_url: str,
        client: httpx.AsyncClient,
        *,
        ttl: float = 60.0,
        max_entries: int = 10_000,
        timeout: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = auth_url.rstrip("/") + "/api/v1/users"
        self._client = client
        self._ttl = ttl
        self._max_entries = max_entries
        self._timeout = timeout
        self._clock = clock
        self._known: OrderedDict[UUID, _Known] = OrderedDict()

    async def display_names(self, token: str, user_ids: Sequence[UUID]) -> dict[UUID, str]:
        """Each user's display name. Raises UserNotFound naming the ids auth_service has
        no active user for, InvalidToken if it refuses the caller's token (a session
        logged out, say), ServiceUnavailable if it cannot be asked."""
        now = self._clock()
        asked = list(dict.fromkeys(user_ids))
        names: dict[UUID, str] = {}
        to_ask: list[UUID] = []
        for user_id in asked:
            known = self._known.get(user_id)
            if known is not None and known.until > now:
                names[user_id] = known.display_name
            else:
                to_ask.append(user_id)
        for start in range(0, len(to_ask), IDS_PER_CALL):
            found = await self._ask(token, to_ask[start : start + IDS_PER_CALL])
            names.update(found)
            self._remember(found, now + self._ttl)
        unknown = [user_id for user_id in asked if user_id not in names]
        if unknown:
            raise UserNotFound(unknown)
        return {user_id: names[user_id] for user_id in asked}

    async def _ask(self, token: str, user_ids: Sequence[UUID]) -> dict[UUID, str]:
        try:
            response = await self._client.get(
                self._url,
                params={"id": [str(u) for u in user_ids], "limit": IDS_PER_CALL},
                headers={"Authorization": f"Bearer {token}"},
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            log.warning("users.unreachable", error=type(exc).__name__)
            raise _unavailable() from exc
        if response.status_code == 401:
            raise InvalidToken("auth_service refused the token: log in again")
        if response.status_code != 200:
            log.warning("users.unexpected_status", status=response.status_code)
            raise _unavailable()
        try:
            found = {
                UUID(str(item["id"])): str(item["display_name"])
                for item in response.json()["items"]
            }
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("users.unexpected_body")
            raise _unavailable() from exc
        # Only those asked for: anyone else in the answer says nothing of them.
        return {user_id: found[user_id] for user_id in user_ids if user_id in found}

    def _remember(self, names: dict[UUID, str], until: float) -> None:
        for user_id, name in names.items():
            self._known[user_id] = _Known(until, name)
            self._known.move_to_end(user_id)
        while len(self._known) > self._max_entries:
            self._known.popitem(last=False)


def _unavailable() -> ServiceUnavailable:
    return ServiceUnavailable("cannot look users up at auth_service right now; try again later")
