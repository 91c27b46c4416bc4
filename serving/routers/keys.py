"""API keys of the caller's organisation (``admin``): create, list, revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from recsys import keys
from serving.auth import PrincipalCache
from serving.deps import AdminPrincipal, SessionDep
from serving.errors import not_found
from serving.routers._common import ERROR_RESPONSES, NOT_FOUND
from serving.schemas import KeyCreate, KeyCreated, KeyOut

router = APIRouter(prefix="/v1/keys", tags=["keys"], responses=ERROR_RESPONSES)

KeyId = Annotated[str, Path(min_length=1, max_length=32)]


def _out(info: keys.KeyInfo) -> KeyOut:
    return KeyOut(
        id=info.id,
        org=info.org,
        name=info.name,
        roles=list(info.roles),
        created_at=info.created_at,
        revoked_at=info.revoked_at,
        active=info.active,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=KeyCreated)
def create_key(body: KeyCreate, principal: AdminPrincipal, session: SessionDep) -> KeyCreated:
    """Create a key for the caller's organisation. The plaintext is in this response only."""
    key_id, plaintext = keys.create_key(session, principal.org, body.name, body.roles)
    info = keys.get_key(session, key_id, principal.org)
    assert info is not None  # just created in this transaction
    return KeyCreated(**_out(info).model_dump(), key=plaintext)


@router.get("", response_model=list[KeyOut])
def list_keys(principal: AdminPrincipal, session: SessionDep) -> list[KeyOut]:
    return [_out(k) for k in keys.list_keys(session, principal.org)]


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
def revoke_key(
    key_id: KeyId, principal: AdminPrincipal, session: SessionDep, request: Request
) -> Response:
    """Revoke a key of the caller's organisation (idempotent); effective at once here."""
    if not keys.revoke_key(session, key_id, principal.org):
        raise not_found("key", key_id)
    session.commit()  # before forgetting, so no request can re-cache the still-active key
    cache: PrincipalCache = request.app.state.principals
    cache.forget_key(key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
