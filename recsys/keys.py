"""API keys: creation, listing, revocation and authentication.

A key reads ``rsk_<id>_<secret>``. The id is the public prefix (primary key of ``api_keys``,
safe to show in logs and listings); only the sha256 of the secret is stored, so a leaked
database does not leak usable keys. Authentication looks the key up by id and compares the
hashes in constant time, so response timing says nothing about how much of a guess was right.

Roles: ``app`` (recommendations, profiles, feedback, interactions), ``coordinator`` (alerts and
risk; may read profiles, pairings and feedback) and ``admin`` (models and keys). ``admin``
implies every other role. A key belongs to exactly one organisation and every request made
with it is scoped to that organisation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from recsys import db
from recsys.store import ensure_org

KEY_PREFIX = "rsk"
_ID_BYTES = 8  # 16 hex characters: collisions are practically impossible and checked anyway
_SECRET_BYTES = 32
# Hash compared against when the key id is unknown, so that path costs the same as a real check.
_DUMMY_HASH = hashlib.sha256(b"recsys-unknown-key").hexdigest()


class Role(StrEnum):
    app = "app"
    coordinator = "coordinator"
    admin = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key id, its organisation and its roles."""

    key_id: str
    org: str
    roles: frozenset[Role]

    def has(self, role: Role) -> bool:
        return Role.admin in self.roles or role in self.roles

    def has_any(self, roles: Iterable[Role]) -> bool:
        return any(self.has(r) for r in roles)


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A stored key as listings show it: never the secret or its hash."""

    id: str
    org: str
    name: str
    roles: tuple[Role, ...]
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_key(plaintext: str) -> tuple[str, str] | None:
    """Split ``rsk_<id>_<secret>`` into (id, secret); None when it is not shaped like a key."""
    parts = plaintext.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def normalise_roles(roles: Iterable[str]) -> tuple[Role, ...]:
    """Validate and de-duplicate role names (ValueError on an unknown role or none at all)."""
    out: list[Role] = []
    for name in roles:
        try:
            role = Role(name)
        except ValueError:
            allowed = ", ".join(r.value for r in Role)
            raise ValueError(f"unknown role {name!r} (allowed: {allowed})") from None
        if role not in out:
            out.append(role)
    if not out:
        raise ValueError("a key needs at least one role")
    return tuple(out)


def create_key(session: Session, org: str, name: str, roles: Iterable[str]) -> tuple[str, str]:
    """Create a key for ``org``; returns (key_id, plaintext). The plaintext is never stored."""
    role_list = normalise_roles(roles)
    ensure_org(session, org)
    key_id = secrets.token_hex(_ID_BYTES)
    while session.get(db.ApiKey, key_id) is not None:  # pragma: no cover - 2**-64 odds
        key_id = secrets.token_hex(_ID_BYTES)
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    session.add(
        db.ApiKey(
            id=key_id,
            org_id=org,
            name=name,
            key_hash=hash_secret(secret),
            roles=[r.value for r in role_list],
        )
    )
    session.flush()
    return key_id, f"{KEY_PREFIX}_{key_id}_{secret}"


def _info(row: db.ApiKey) -> KeyInfo:
    return KeyInfo(
        id=row.id,
        org=row.org_id,
        name=row.name,
        roles=tuple(Role(r) for r in row.roles if r in Role.__members__),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def list_keys(
    session: Session, org: str | None = None, *, include_revoked: bool = True
) -> list[KeyInfo]:
    """Keys of ``org`` (all organisations when None), oldest first."""
    stmt = select(db.ApiKey).order_by(db.ApiKey.created_at, db.ApiKey.id)
    if org is not None:
        stmt = stmt.where(db.ApiKey.org_id == org)
    if not include_revoked:
        stmt = stmt.where(db.ApiKey.revoked_at.is_(None))
    return [_info(r) for r in session.scalars(stmt)]


def get_key(session: Session, key_id: str, org: str | None = None) -> KeyInfo | None:
    row = session.get(db.ApiKey, key_id)
    if row is None or (org is not None and row.org_id != org):
        return None
    return _info(row)


def revoke_key(session: Session, key_id: str, org: str | None = None) -> bool:
    """Revoke a key (idempotent). With ``org``, a key of another organisation counts as unknown.

    Returns False when no such key exists (for that organisation).
    """
    row = session.get(db.ApiKey, key_id)
    if row is None or (org is not None and row.org_id != org):
        return False
    if row.revoked_at is None:
        row.revoked_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        session.flush()
    return True


def authenticate(session: Session, plaintext: str) -> Principal | None:
    """The principal for a plaintext key, or None when it is malformed, unknown or revoked."""
    parsed = parse_key(plaintext)
    if parsed is None:
        return None
    key_id, secret = parsed
    row = session.get(db.ApiKey, key_id) if len(key_id) <= 32 else None
    stored = row.key_hash if row is not None else _DUMMY_HASH
    matches = hmac.compare_digest(stored.encode("ascii"), hash_secret(secret).encode("ascii"))
    if row is None or not matches or row.revoked_at is not None:
        return None
    roles = frozenset(Role(r) for r in row.roles if r in Role.__members__)
    return Principal(key_id=row.id, org=row.org_id, roles=roles)
