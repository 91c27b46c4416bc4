"""API keys: format, hashing at rest, authentication, revocation, org scoping."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from recsys import db, keys
from recsys.keys import Role
from recsys.store import make_engine, migrate, session_factory


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'k.db'}")
    migrate(engine)
    with session_factory(engine)() as s:
        yield s
    engine.dispose()


def test_create_and_authenticate(session: Session) -> None:
    key_id, plaintext = keys.create_key(session, "acme", "app", ["app", "coordinator", "app"])
    prefix, kid, secret = plaintext.split("_", 2)
    assert (prefix, kid) == ("rsk", key_id)
    row = session.get(db.ApiKey, key_id)
    assert row is not None and row.roles == ["app", "coordinator"]
    assert row.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in row.key_hash and session.get(db.Organisation, "acme") is not None
    principal = keys.authenticate(session, plaintext)
    assert principal is not None and principal.org == "acme" and principal.key_id == key_id
    assert principal.has(Role.app) and not principal.has(Role.admin)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"),  # wrong secret
        lambda k: k.replace("rsk_", "xyz_", 1),  # wrong prefix
        lambda k: "rsk_" + "0" * 16 + "_" + k.split("_", 2)[2],  # unknown id
        lambda k: "rsk_" + "0" * 40 + "_x",  # id longer than any stored one
        lambda k: "",
        lambda k: "rsk__",
    ],
)
def test_wrong_keys_do_not_authenticate(session: Session, mangle: object) -> None:
    _, plaintext = keys.create_key(session, "acme", "k", ["admin"])
    assert keys.authenticate(session, mangle(plaintext)) is None  # type: ignore[operator]


def test_revoke_is_scoped_and_idempotent(session: Session) -> None:
    key_id, plaintext = keys.create_key(session, "acme", "k", ["app"])
    assert keys.revoke_key(session, key_id, org="globex") is False
    assert keys.authenticate(session, plaintext) is not None
    assert keys.revoke_key(session, key_id, org="acme") is True
    assert keys.revoke_key(session, key_id) is True
    assert keys.authenticate(session, plaintext) is None
    assert keys.revoke_key(session, "missing") is False


def test_list_keys(session: Session) -> None:
    a, _ = keys.create_key(session, "acme", "one", ["app"])
    b, _ = keys.create_key(session, "globex", "two", ["admin"])
    keys.revoke_key(session, a)
    assert [k.id for k in keys.list_keys(session, "acme")] == [a]
    assert {k.id for k in keys.list_keys(session)} == {a, b}
    assert keys.list_keys(session, "acme", include_revoked=False) == []
    assert keys.list_keys(session, "globex")[0].roles == (Role.admin,)


def test_admin_implies_every_role(session: Session) -> None:
    _, plaintext = keys.create_key(session, "acme", "k", ["admin"])
    principal = keys.authenticate(session, plaintext)
    assert principal is not None and all(principal.has(r) for r in Role)


def test_roles_are_validated(session: Session) -> None:
    with pytest.raises(ValueError, match="unknown role 'root'"):
        keys.create_key(session, "acme", "k", ["root"])
    with pytest.raises(ValueError, match="at least one role"):
        keys.create_key(session, "acme", "k", [])
