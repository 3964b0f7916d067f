"""The authenticated user behind a request."""

from __future__ import annotations

from dataclasses import dataclass

from backend.ledger.events import Actor

OWNER = "owner"
MEMBER = "member"
ROLES = (OWNER, MEMBER)


@dataclass(frozen=True, slots=True)
class Principal:
    """A user with a role; what every route acts on behalf of."""

    user_id: str
    name: str
    role: str

    @property
    def is_owner(self) -> bool:
        return self.role == OWNER

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id, self.role)

    def may_see(self, owner_user_id: str) -> bool:
        """Object-level access: the owner sees everything, a member only their own."""
        return self.is_owner or owner_user_id == self.user_id
