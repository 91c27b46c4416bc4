"""Authentication, roles and tenancy, parametrised over the route table.

``ROUTES`` lists every route the app serves with the roles it admits and a check that a key
of organisation B can neither see nor change organisation A's data through it. A test fails
when the app gains a route that is not in the table, so no route escapes these checks.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from serving_helpers import assert_error, auth, feedback, mentee, mentor, pairing

from recsys import db, store
from recsys.context import AppContext

APP, COORD, ADMIN = "app", "coordinator", "admin"


@dataclass(frozen=True)
class Tenant:
    org: str
    key: str  # admin: every role
    key_id: str
    mentor_id: str
    mentee_id: str
    pairing_id: str
    feedback_id: str
    alert_id: int
    recommendation_id: str
    draft_id: str


def _seed(client: TestClient, ctx: AppContext, make_key: Callable[..., str], org: str) -> Tenant:
    key = make_key(org, ADMIN)
    h = auth(key)
    m, e, p, f = (f"{org}-mentor", f"{org}-mentee", f"{org}-pairing", f"{org}-fb")
    assert client.put(f"/v1/mentors/{m}", json=mentor(m, title="Original"), headers=h).is_success
    assert client.put(f"/v1/mentees/{e}", json=mentee(e), headers=h).is_success
    assert client.put(f"/v1/pairings/{p}", json=pairing(p, m, e), headers=h).is_success
    text = "We keep cancelling sessions."
    assert client.post("/v1/feedback", json=feedback(f, p, text), headers=h).is_success
    rec = client.post("/v1/recommendations", json={"mentee_id": e, "k": 3}, headers=h)
    assert rec.is_success, rec.text
    with store.transaction(ctx.sessions) as session:
        alert = db.Alert(
            org_id=org, pairing_id=p, status="open", risk=0.8, signals=["low_commitment"],
            reasons=["cancelled sessions"], evidence=[], actions=[], as_of=dt.date.today(),
        )  # fmt: skip
        session.add(alert)
        session.flush()
        alert_id = alert.id
        draft_id = f"draft-{org}"
        session.add(db.MatchDraft(id=draft_id, org_id=org, status="draft", as_of=dt.date.today(),
                                  params={"profiles": {e: mentee(e)}}, summary={}))  # fmt: skip
        session.flush()
        session.add(db.MatchDraftItem(draft_id=draft_id, mentee_id=e, slot=0, mentor_id=None,
                                      score=None, reasons=[]))  # fmt: skip
    key_id = key.split("_")[1]
    return Tenant(org, key, key_id, m, e, p, f, alert_id, rec.json()["recommendation_id"], draft_id)


@pytest.fixture(scope="module")
def tenants(
    client: TestClient, serving_ctx: AppContext, make_key: Callable[..., str]
) -> tuple[Tenant, Tenant]:
    global _KEYS
    _KEYS = make_key
    suffix = uuid.uuid4().hex[:6]
    a = _seed(client, serving_ctx, make_key, f"a{suffix}")
    b = _seed(client, serving_ctx, make_key, f"b{suffix}")
    return a, b


Check = Callable[[TestClient, Tenant, Tenant], None]
_KEYS: Callable[..., str]  # set by the ``tenants`` fixture: checks that need a third org


def _ids(resp: Any) -> set[str]:
    assert resp.status_code == 200, resp.text
    body = resp.json()
    items = body["items"] if isinstance(body, dict) else body
    return {str(i["id"]) for i in items}


def _a_mentor_unchanged(c: TestClient, a: Tenant) -> None:
    resp = c.get(f"/v1/mentors/{a.mentor_id}", headers=auth(a.key))
    assert resp.status_code == 200 and resp.json()["title"] == "Original"


def _a_still_has(c: TestClient, a: Tenant, path: str) -> None:
    assert c.get(path, headers=auth(a.key)).status_code == 200


# --------------------------------------------------------------------------- cross-tenant checks
def x_get_404(path: str) -> Check:
    def check(c: TestClient, a: Tenant, b: Tenant) -> None:
        assert_error(c.get(path.format(**vars(a)), headers=auth(b.key)), 404, "not_found")

    return check


def x_list_hides(path: str, attr: str) -> Check:
    def check(c: TestClient, a: Tenant, b: Tenant) -> None:
        seen = _ids(c.get(path, headers=auth(b.key)))
        assert str(getattr(a, attr)) not in seen
        assert str(getattr(b, attr)) in seen  # the list works, it just shows B's own rows
        assert str(getattr(a, attr)) in _ids(c.get(path, headers=auth(a.key)))

    return check


def x_delete_404(path: str, still: str) -> Check:
    def check(c: TestClient, a: Tenant, b: Tenant) -> None:
        resp = c.delete(path.format(**vars(a)), headers=auth(b.key))
        assert_error(resp, 404, "not_found")
        _a_still_has(c, a, still.format(**vars(a)))

    return check


def _attacker(b: Tenant) -> dict[str, str]:
    """A key of a throwaway organisation, for writes that would otherwise leave B holding
    rows with A's ids (which would blur the list checks that follow)."""
    return auth(_KEYS(f"w{uuid.uuid4().hex[:8]}", ADMIN))


def x_put_mentor(c: TestClient, a: Tenant, b: Tenant) -> None:
    body = mentor(a.mentor_id, title="Hijacked")
    assert c.put(f"/v1/mentors/{a.mentor_id}", json=body, headers=_attacker(b)).status_code == 200
    _a_mentor_unchanged(c, a)


def x_post_mentor(c: TestClient, a: Tenant, b: Tenant) -> None:
    body = mentor(a.mentor_id, title="Hijacked")
    assert c.post("/v1/mentors", json=body, headers=_attacker(b)).status_code == 201
    _a_mentor_unchanged(c, a)


def x_bulk_mentors(c: TestClient, a: Tenant, b: Tenant) -> None:
    body = {"items": [mentor(a.mentor_id, title="Hijacked")]}
    assert c.post("/v1/mentors:bulk", json=body, headers=_attacker(b)).status_code == 200
    _a_mentor_unchanged(c, a)


def _a_mentee_goals(c: TestClient, a: Tenant) -> str:
    return str(c.get(f"/v1/mentees/{a.mentee_id}", headers=auth(a.key)).json()["goals"])


def x_mentee_write(method: str, path: str, wrap: bool = False) -> Check:
    def check(c: TestClient, a: Tenant, b: Tenant) -> None:
        before = _a_mentee_goals(c, a)
        body: Any = mentee(a.mentee_id, goals="Hijacked")
        if wrap:
            body = {"items": [body]}
        resp = c.request(method, path.format(**vars(a)), json=body, headers=_attacker(b))
        assert resp.is_success, resp.text
        assert _a_mentee_goals(c, a) == before

    return check


def x_pairing_refs(method: str, path: str) -> Check:
    def check(c: TestClient, a: Tenant, b: Tenant) -> None:
        body = pairing(a.pairing_id, a.mentor_id, a.mentee_id, status="completed",
                       ended_at="2024-06-01")  # fmt: skip
        resp = c.request(method, path.format(**vars(a)), json=body, headers=auth(b.key))
        err = assert_error(resp, 422, "validation_error")
        assert {d["field"] for d in err["details"]} == {"body.mentor_id", "body.mentee_id"}
        got = c.get(f"/v1/pairings/{a.pairing_id}", headers=auth(a.key)).json()
        assert got["status"] == "active"

    return check


def x_feedback_ref(c: TestClient, a: Tenant, b: Tenant) -> None:
    body = feedback(f"{b.org}-x", a.pairing_id, "hello")
    err = assert_error(
        c.post("/v1/feedback", json=body, headers=auth(b.key)), 422, "validation_error"
    )
    assert err["details"][0]["field"] == "body.pairing_id"


def x_analyze(c: TestClient, a: Tenant, b: Tenant) -> None:
    resp = c.post("/v1/feedback/analyze", json={"text": "We keep cancelling."}, headers=auth(b.key))
    assert resp.status_code == 200  # stateless: nothing of A's is involved


def x_interaction_ref(c: TestClient, a: Tenant, b: Tenant) -> None:
    body = {"mentee_id": b.mentee_id, "mentor_id": b.mentor_id, "at": "2024-03-01",
            "event": "accepted", "recommendation_id": a.recommendation_id}  # fmt: skip
    resp = c.post("/v1/interactions", json=body, headers=auth(b.key))
    err = assert_error(resp, 422, "validation_error")
    assert err["details"][0]["field"] == "body.recommendation_id"


def x_recommend(c: TestClient, a: Tenant, b: Tenant) -> None:
    resp = c.post("/v1/recommendations", json={"mentee_id": a.mentee_id}, headers=auth(b.key))
    assert_error(resp, 404, "not_found")
    # A fresh organisation has no mentors: A's (which match this profile) are never candidates.
    inline = {"mentee": mentee("inline"), "k": 100}
    assert c.post("/v1/recommendations", json=inline, headers=auth(a.key)).json()["recommendations"]
    empty_org = _KEYS(f"c{b.org}", ADMIN)
    got = c.post("/v1/recommendations", json=inline, headers=auth(empty_org))
    assert got.status_code == 200 and got.json()["recommendations"] == []


def x_alert_action(action: str) -> Check:
    def check(c: TestClient, a: Tenant, b: Tenant) -> None:
        resp = c.post(f"/v1/alerts/{a.alert_id}/{action}", headers=auth(b.key))
        assert_error(resp, 404, "not_found")
        listed = c.get("/v1/alerts", params={"status": "open"}, headers=auth(a.key))
        assert a.alert_id in {i["id"] for i in listed.json()["items"]}

    return check


def x_match_cohort(c: TestClient, a: Tenant, b: Tenant) -> None:
    body = {"mentee_ids": [a.mentee_id]}
    assert_error(c.post("/v1/matching/cohort", json=body, headers=auth(b.key)), 404, "not_found")


def _a_draft_untouched(c: TestClient, a: Tenant) -> None:
    got = c.get(f"/v1/matching/drafts/{a.draft_id}", headers=auth(a.key))
    assert got.status_code == 200 and got.json()["status"] == "draft"
    assert got.json()["items"][0]["mentor_id"] is None


def x_draft_edit(c: TestClient, a: Tenant, b: Tenant) -> None:
    path = f"/v1/matching/drafts/{a.draft_id}/items/{a.mentee_id}"
    resp = c.patch(path, json={"mentor_id": a.mentor_id}, headers=auth(b.key))
    assert_error(resp, 404, "not_found")
    _a_draft_untouched(c, a)


def x_draft_accept(c: TestClient, a: Tenant, b: Tenant) -> None:
    resp = c.post(f"/v1/matching/drafts/{a.draft_id}/accept", headers=auth(b.key))
    assert_error(resp, 404, "not_found")
    _a_draft_untouched(c, a)


def x_models_get(c: TestClient, a: Tenant, b: Tenant) -> None:
    assert c.get("/v1/models", headers=auth(b.key)).status_code == 200  # no tenant data


def x_models_reload(c: TestClient, a: Tenant, b: Tenant) -> None:
    assert c.post("/v1/models/reload", headers=auth(b.key)).status_code == 200


def x_key_create(c: TestClient, a: Tenant, b: Tenant) -> None:
    resp = c.post("/v1/keys", json={"name": "x", "roles": ["app"]}, headers=auth(b.key))
    assert resp.status_code == 201 and resp.json()["org"] == b.org
    assert resp.json()["id"] not in _ids(c.get("/v1/keys", headers=auth(a.key)))


def x_key_revoke(c: TestClient, a: Tenant, b: Tenant) -> None:
    assert_error(c.delete(f"/v1/keys/{a.key_id}", headers=auth(b.key)), 404, "not_found")
    assert c.get("/v1/models", headers=auth(a.key)).status_code == 200  # A's key still works


def x_public(c: TestClient, a: Tenant, b: Tenant) -> None:
    return None  # probes carry no tenant data


@dataclass(frozen=True)
class RouteCase:
    method: str
    path: str
    roles: frozenset[str] | None  # None: public
    cross_tenant: Check


def _r(method: str, path: str, roles: set[str] | None, check: Check) -> RouteCase:
    return RouteCase(method, path, None if roles is None else frozenset(roles), check)


READ = {APP, COORD, ADMIN}
WRITE = {APP, ADMIN}
ROUTES: list[RouteCase] = [
    _r("GET", "/healthz", None, x_public),
    _r("GET", "/readyz", None, x_public),
    _r("GET", "/metrics", None, x_public),
    _r("POST", "/v1/mentors", WRITE, x_post_mentor),
    _r("POST", "/v1/mentors:bulk", WRITE, x_bulk_mentors),
    _r("GET", "/v1/mentors", READ, x_list_hides("/v1/mentors", "mentor_id")),
    _r("PUT", "/v1/mentors/{mentor_id}", WRITE, x_put_mentor),
    _r("GET", "/v1/mentors/{mentor_id}", READ, x_get_404("/v1/mentors/{mentor_id}")),
    _r("DELETE", "/v1/mentors/{mentor_id}", WRITE,
       x_delete_404("/v1/mentors/{mentor_id}", "/v1/mentors/{mentor_id}")),
    _r("POST", "/v1/mentees", WRITE, x_mentee_write("POST", "/v1/mentees")),
    _r("POST", "/v1/mentees:bulk", WRITE, x_mentee_write("POST", "/v1/mentees:bulk", wrap=True)),
    _r("GET", "/v1/mentees", READ, x_list_hides("/v1/mentees", "mentee_id")),
    _r("PUT", "/v1/mentees/{mentee_id}", WRITE, x_mentee_write("PUT", "/v1/mentees/{mentee_id}")),
    _r("GET", "/v1/mentees/{mentee_id}", READ, x_get_404("/v1/mentees/{mentee_id}")),
    _r("DELETE", "/v1/mentees/{mentee_id}", WRITE,
       x_delete_404("/v1/mentees/{mentee_id}", "/v1/mentees/{mentee_id}")),
    _r("POST", "/v1/pairings", WRITE, x_pairing_refs("POST", "/v1/pairings")),
    _r("GET", "/v1/pairings", READ, x_list_hides("/v1/pairings", "pairing_id")),
    _r("PUT", "/v1/pairings/{pairing_id}", WRITE, x_pairing_refs("PUT", "/v1/pairings/{pairing_id}")),
    _r("GET", "/v1/pairings/{pairing_id}", READ, x_get_404("/v1/pairings/{pairing_id}")),
    _r("DELETE", "/v1/pairings/{pairing_id}", WRITE,
       x_delete_404("/v1/pairings/{pairing_id}", "/v1/pairings/{pairing_id}")),
    _r("GET", "/v1/pairings/{pairing_id}/risk", {COORD, ADMIN},
       x_get_404("/v1/pairings/{pairing_id}/risk")),
    _r("POST", "/v1/feedback", WRITE, x_feedback_ref),
    _r("GET", "/v1/feedback", WRITE, x_list_hides("/v1/feedback", "feedback_id")),
    _r("POST", "/v1/feedback/analyze", READ, x_analyze),
    _r("GET", "/v1/feedback/{feedback_id}", WRITE, x_get_404("/v1/feedback/{feedback_id}")),
    _r("DELETE", "/v1/feedback/{feedback_id}", WRITE,
       x_delete_404("/v1/feedback/{feedback_id}", "/v1/feedback/{feedback_id}")),
    _r("POST", "/v1/interactions", WRITE, x_interaction_ref),
    _r("POST", "/v1/recommendations", WRITE, x_recommend),
    _r("GET", "/v1/alerts", {COORD, ADMIN}, x_list_hides("/v1/alerts", "alert_id")),
    _r("POST", "/v1/alerts/{alert_id}/acknowledge", {COORD, ADMIN}, x_alert_action("acknowledge")),
    _r("POST", "/v1/alerts/{alert_id}/resolve", {COORD, ADMIN}, x_alert_action("resolve")),
    _r("POST", "/v1/matching/cohort", {COORD, ADMIN}, x_match_cohort),
    _r("GET", "/v1/matching/drafts/{draft_id}", {COORD, ADMIN},
       x_get_404("/v1/matching/drafts/{draft_id}")),
    _r("PATCH", "/v1/matching/drafts/{draft_id}/items/{mentee_id}", {COORD, ADMIN}, x_draft_edit),
    _r("POST", "/v1/matching/drafts/{draft_id}/accept", {COORD, ADMIN}, x_draft_accept),
    _r("DELETE", "/v1/matching/drafts/{draft_id}", {COORD, ADMIN},
       x_delete_404("/v1/matching/drafts/{draft_id}", "/v1/matching/drafts/{draft_id}")),
    _r("GET", "/v1/models", READ, x_models_get),
    _r("POST", "/v1/models/reload", {ADMIN}, x_models_reload),
    _r("POST", "/v1/keys", {ADMIN}, x_key_create),
    _r("GET", "/v1/keys", {ADMIN}, x_list_hides("/v1/keys", "key_id")),
    _r("DELETE", "/v1/keys/{key_id}", {ADMIN}, x_key_revoke),
]  # fmt: skip
PROTECTED = [r for r in ROUTES if r.roles is not None]
_ID = lambda r: f"{r.method} {r.path}"  # noqa: E731
_PLACEHOLDERS = {
    "mentor_id": "nope", "mentee_id": "nope", "pairing_id": "nope", "feedback_id": "nope",
    "alert_id": "999999", "key_id": "nope", "draft_id": "nope",
}  # fmt: skip


def test_route_table_covers_every_route(app: FastAPI) -> None:
    served = {
        (m, str(r.path))
        for r in iter_route_contexts(app.routes)
        for m in (r.methods or ())
        if m not in {"HEAD", "OPTIONS"}
    }
    served -= {("GET", p) for p in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")}
    listed = {(r.method, r.path) for r in ROUTES}
    assert served == listed, f"add to ROUTES: {served - listed}; stale: {listed - served}"


@pytest.mark.parametrize("case", PROTECTED, ids=_ID)
def test_missing_or_wrong_key_is_401(client: TestClient, case: RouteCase) -> None:
    path = case.path.format(**_PLACEHOLDERS)
    err = assert_error(client.request(case.method, path, json={}), 401, "unauthorized")
    assert "missing" in err["message"]
    for headers in (
        {"Authorization": "Bearer rsk_0123456789abcdef_wrongsecret"},
        {"X-API-Key": "not-a-key"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ):
        resp = client.request(case.method, path, json={}, headers=headers)
        assert_error(resp, 401, "unauthorized")
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("case", PROTECTED, ids=_ID)
@pytest.mark.parametrize("role", [APP, COORD, ADMIN])
def test_roles(
    client: TestClient, make_key: Callable[..., str], case: RouteCase, role: str
) -> None:
    key = make_key(f"roles-{uuid.uuid4().hex[:8]}", role)
    path = case.path.format(**_PLACEHOLDERS)
    # An empty body: role checks run before body validation, and allowed calls change nothing.
    resp = client.request(case.method, path, json={}, headers={"X-API-Key": key})
    assert case.roles is not None
    if role in case.roles:
        assert resp.status_code not in (401, 403), resp.text
    else:
        assert_error(resp, 403, "forbidden")


@pytest.mark.parametrize("case", ROUTES, ids=_ID)
def test_other_organisations_data_is_invisible(
    client: TestClient, tenants: tuple[Tenant, Tenant], case: RouteCase
) -> None:
    a, b = tenants
    case.cross_tenant(client, a, b)


def test_public_routes_need_no_key(client: TestClient) -> None:
    for case in ROUTES:
        if case.roles is None:
            assert client.request(case.method, case.path).status_code == 200, case.path


def test_revoked_key_is_rejected(
    client: TestClient, make_key: Callable[..., str], org: str
) -> None:
    admin = make_key(org, ADMIN)
    victim = make_key(org, APP)
    assert client.get("/v1/mentors", headers=auth(victim)).status_code == 200
    victim_id = victim.split("_")[1]
    assert client.delete(f"/v1/keys/{victim_id}", headers=auth(admin)).status_code == 204
    assert_error(client.get("/v1/mentors", headers=auth(victim)), 401, "unauthorized")
