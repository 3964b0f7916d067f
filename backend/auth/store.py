"""Users and tokens. Tokens are stored hashed; the plain token exists only in the return
value of the call that created it. Creating a user is recorded in the ledger (without the
token)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.auth.principal import OWNER, ROLES, Principal
from backend.auth.tokens import generate_token, hash_token
from backend.clock import now_text
from backend.errors import Conflict, NotFound, Unprocessable
from backend.ids import new_id
from backend.ledger.events import SYSTEM, Actor, EventType, NewEvent
from backend.ledger.store import LedgerStore
from backend.storage.models import ApiToken, User


class UserStore:
    """SQL and rules for users and their tokens."""

    def __init__(self, ledger: LedgerStore):
        self.ledger = ledger

    def owner_exists(self, session: Session) -> bool:
        return session.scalar(select(User.id).where(User.role == OWNER).limit(1)) is not None

    def create(
        self,
        session: Session,
        name: str,
        role: str,
        *,
        token: str | None = None,
        actor: Actor = SYSTEM,
    ) -> tuple[Principal, str]:
        """Create a user with a token (the given one, or a new random one)."""
        if role not in ROLES:
            raise Unprocessable(f"Unknown role '{role}'; use one of: {', '.join(ROLES)}.")
        if session.scalar(select(User.id).where(User.name == name)) is not None:
            raise Conflict(f"A user named '{name}' already exists.", code="user_exists")
        now, user_id = now_text(), new_id("usr")
        plain = token or generate_token()
        # The event makes the user's row (backend.ledger.projection); the token is not a
        # fact the ledger keeps.
        self.ledger.append(
            session,
            NewEvent(
                EventType.USER,
                {"phase": "created", "user_id": user_id, "name": name, "role": role, "at": now},
                actor=actor,
            ),
        )
        session.add(
            ApiToken(
                id=new_id("tok"), user_id=user_id, token_hash=hash_token(plain), created_at=now
            )
        )
        return Principal(user_id, name, role), plain

    def ensure_owner(self, session: Session, token: str | None) -> str | None:
        """Create the owner on first start. Returns the token if one was generated (to be
        shown once), None if the owner existed or the token was supplied."""
        if self.owner_exists(session):
            return None
        _, plain = self.create(session, "owner", OWNER, token=token)
        return None if token else plain

    def rotate(
        self, session: Session, name: str, *, actor: Actor = SYSTEM
    ) -> tuple[Principal, str]:
        """Revoke every token of user `name` and issue a new one (shown once)."""
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise NotFound(f"No user named '{name}'.", code="user_not_found")
        now = now_text()
        session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        plain = generate_token()
        session.add(
            ApiToken(
                id=new_id("tok"), user_id=user.id, token_hash=hash_token(plain), created_at=now
            )
        )
        self.ledger.append(
            session,
            NewEvent(EventType.USER, {"phase": "token_rotated", "user_id": user.id}, actor=actor),
        )
        return Principal(user.id, user.name, user.role), plain

    def resolve(self, session: Session, token: str) -> Principal | None:
        """The user a bearer token belongs to, if it is valid."""
        row = session.execute(
            select(User.id, User.name, User.role)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
        ).first()
        return Principal(row.id, row.name, row.role) if row else None

    def all(self, session: Session) -> list[Principal]:
        """Every user, oldest first."""
        rows = session.execute(select(User.id, User.name, User.role).order_by(User.created_at))
        return [Principal(r.id, r.name, r.role) for r in rows]
