"""The demo data of the original chat (development only): users, groups and chats.

Ids are fixed (uuid5 of the email) so auth_service and chat_service can each load their
half of the demo without talking to each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import NAMESPACE_URL, UUID, uuid5


@dataclass(frozen=True)
class DemoUser:
    email: str
    password: str
    display_name: str
    is_superuser: bool = False

    @property
    def id(self) -> UUID:
        return uuid5(NAMESPACE_URL, f"demo-user:{self.email.lower()}")


ADMIN = DemoUser("admin@admin.com", "admin", "Admin", is_superuser=True)
TEST_USERS = tuple(
    DemoUser(f"TestUser{n}@TestUser{n}.com", f"TestUser{n}", f"TestUser{n}") for n in range(1, 5)
)
DEMO_USERS = (ADMIN, *TEST_USERS)


@dataclass(frozen=True)
class DemoChat:
    name: str
    group: str
    owner: DemoUser
    members: tuple[DemoUser, ...]

    @property
    def id(self) -> UUID:
        return uuid5(NAMESPACE_URL, f"demo-chat:{self.name}")


DEMO_CHATS = (
    DemoChat("TestChat1", "TestGroup1", ADMIN, (ADMIN, TEST_USERS[0])),
    DemoChat("TestChat2", "TestGroup2", TEST_USERS[1], TEST_USERS[1:4]),
)
