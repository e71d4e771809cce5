"""A small world for the route-by-route security tests: two counties with a town and a case each, a member unit
asked about county A's case only, an attachment (a notice for the county to acknowledge) and a notification on each
side, two of the office's saved sets of member units, one logged-in client per role.

"own" is what the role may reach (county A's objects, the member's invited case, the user's own notification);
"other" is the same kind of object of county B (or of another user); "missing" an id that does not exist."""

from __future__ import annotations

from dataclasses import dataclass, field

from conftest import COMPLETE_APPLICATION, PASSWORD, Factory, csrf_token, login
from workflow.accounts import approvals, seats
from workflow.core.actors import Actor
from workflow.core.db import transaction
from workflow.core.models import CaseParty, Incident, OutboxMessage, UnitPreset
from workflow.core.receipts import expect_receipt
from workflow.notify.rules import notify

ROLES = ("county", "office", "member", "leader", "admin", "auditor", "anonymous")
MISSING = 999_999
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


@dataclass
class World:
    ids: dict[str, dict[str, object]]  # url argument -> {"own" | "other" | "missing": value}
    users: dict[str, int]  # role -> user id
    usernames: dict[str, str]
    notices: dict[str, int] = field(default_factory=dict)  # role -> its own notification's id
    cases: dict[str, int] = field(default_factory=dict)


def build_world(make: Factory, db, now) -> World:
    """Create the objects; returns their ids, and the users of each role (logged in by `clients`)."""
    from workflow.core.attachments import store_bytes

    yx_town = make.town("西烟镇", county="盂县")
    cq_town = make.town("义井镇", county="城区")
    yx_clerk = make.user("county", county="盂县", username="yx_clerk")
    cq_clerk = make.user("county", county="城区", username="cq_clerk")
    yx_target = make.user("county", county="盂县", username="yx_target")  # what the administrator acts on
    waiting_a = make.user("county", county="盂县", username="yx_waiting", email="yx.waiting@yq.gov.cn")
    waiting_b = make.user("county", county="城区", username="cq_waiting", mobile="13900001111")
    member = make.user("member", unit="市科技局", username="kj_staff")
    kj = make.unit("市科技局", "member")
    users = {"county": yx_clerk, "office": make.user("office", username="office_staff"), "member": member,
             "leader": make.user("leader", username="leader_one"), "admin": make.user("admin", username="sysadmin"),
             "auditor": make.user("auditor", username="sec_auditor")}
    data = {**COMPLETE_APPLICATION, "consulted_units": [kj.id]}
    yx_case = make.case("designation", town=yx_town, by=yx_clerk, state="consultation", data=data)
    cq_case = make.case("designation", town=cq_town, by=cq_clerk, state="consultation", data=data)
    with transaction(db) as s:
        s.add(CaseParty(case_id=yx_case.id, unit_id=kj.id, purpose="consultation", created_at=now))
        files = [store_bytes(session=s, actor=Actor.system(), data=PDF, filename=f"{n}.pdf",
                             content_type="application/pdf", kind="evidence", now=now, case_id=c.id)
                 for n, c in (("yx", yx_case), ("cq", cq_case))]
        # each county's notice to acknowledge (签收)
        notices_to_sign = [expect_receipt(s, attachment=f, unit_id=c.county_id, now=now)
                           for f, c in zip(files, (yx_case, cq_case), strict=True)]
        # a failed e-mail about each county's case, for the office's retry (notifications)
        outbox = [OutboxMessage(idempotency_key=f"world:{case.id}:email", source=f"world:{case.id}",
                                rule="order_issued", template="order_issued", category="event", channel="email",
                                user_id=clerk.id, case_id=case.id, params={"number": case.number}, status="failed",
                                attempts=1, next_attempt_at=now, created_at=now, failed_at=now,
                                last_error="SMTP 550 no such user", error_kind="permanent")
                  for case, clerk in ((yx_case, yx_clerk), (cq_case, cq_clerk))]
        s.add_all(outbox)
        # an automatic step of each county's case that failed after its retries (the office's incidents)
        failures = [Incident(case_id=case.id, trigger="expire", error_zh="磁盘已满", error_en="disk full", tries=3,
                             first_failed_at=now, last_failed_at=now) for case in (yx_case, cq_case)]
        s.add_all(failures)
        # two saved sets of member units (常用组合), the office's whatever the county
        presets = [UnitPreset(name=name, unit_ids=[kj.id], created_by_id=users["office"].id, created_at=now,
                              updated_at=now) for name in ("工业类", "农业类")]
        s.add_all(presets)
        # two seats of the roster, vacant (the administrator's roster page acts on them)
        roster = [seats.create_seat(s, actor=None, position="liaison", title=f"{n}联络员", unit_id=kj.id, now=now)
                  for n in ("甲", "乙")]
        # a password reset of each county's user waiting for the approver (the auditor here)
        account_requests = [approvals.request_change(s, actor=Actor.of(users["admin"], None), user=u, kind="reset",
                                                     now=now) for u in (waiting_a, waiting_b)]
        notices = {}
        for role, user in {**users, "other": cq_clerk}.items():
            notify(s, user_ids=[user.id], case_id=None, kind="calendar_missing", params={"year": 2031},
                   source=f"world:{role}", now=now)
        s.flush()
        from sqlmodel import select

        from workflow.core.models import Notification
        for role, user in {**users, "other": cq_clerk}.items():
            notices[role] = s.exec(select(Notification.id).where(Notification.user_id == user.id)).one()
    ids = {
        "case_id": {"own": yx_case.id, "other": cq_case.id, "missing": MISSING},
        "town_id": {"own": yx_town.id, "other": cq_town.id, "missing": MISSING},
        "attachment_id": {"own": files[0].id, "other": files[1].id, "missing": MISSING},
        "notice_id": {"own": None, "other": notices["other"], "missing": MISSING},  # own: per role, see `args`
        "outbox_id": {"own": outbox[0].id, "other": outbox[1].id, "missing": MISSING},
        "incident_id": {"own": failures[0].id, "other": failures[1].id, "missing": MISSING},
        "receipt_id": {"own": notices_to_sign[0].id, "other": notices_to_sign[1].id, "missing": MISSING},
        "preset_id": {"own": presets[0].id, "other": presets[1].id, "missing": MISSING},
        "seat_id": {"own": roster[0].id, "other": roster[1].id, "missing": MISSING},
        "request_id": {"own": account_requests[0].id, "other": account_requests[1].id, "missing": MISSING},
        "action": {"own": "retire", "other": "retire", "missing": "retire"},  # a vacant seat retired (again: no-op)
        "user_id": {"own": yx_target.id, "other": cq_clerk.id, "missing": MISSING},
        "unit_id": {"own": make.unit("市统计局", "member").id, "other": make.unit("市商务局", "member").id,
                    "missing": MISSING},
        "year": {"own": 2026, "other": 2027, "missing": 1999},
        "trigger": {"own": "record_opinion", "other": "record_opinion", "missing": "record_opinion"},
        "filename": {"own": "css/app.css", "other": "js/app.js", "missing": "css/none.css"},
        # a document the system issues (its template); the office's, whatever the county
        "name": {"own": "designation_notice", "other": "criticism_notice", "missing": "no_such_notice"},
        # a project library (its list, export, import): each county's own projects in it, every county's for the office
        "library": {"own": "key", "other": "investment", "missing": "no_such_library"},
    }
    return World(ids=ids, users={r: u.id for r, u in users.items()},
                 usernames={r: u.username for r, u in users.items()},
                 notices={r: notices[r] for r in users}, cases={"own": yx_case.id, "other": cq_case.id})


def args(world: World, role: str, arguments, which: str) -> dict[str, object]:
    """URL arguments for a rule: the `which` object of each kind, as `role` sees it."""
    values = {}
    for name in arguments:
        if name not in world.ids:
            raise AssertionError(f"no test object for the URL argument {name!r}: add an own, another county's and "
                                 f"a missing one to tests/world.py")
        value = world.ids[name][which]
        if name == "notice_id" and which == "own":
            value = world.notices.get(role, world.ids["notice_id"]["other"])
        values[name] = value
    return values


def clients(app, world: World) -> dict[str, object]:
    """A browser per role, logged in (anonymous: a fresh one that has seen the login page)."""
    found = {}
    for role in ROLES:
        browser = app.test_client()
        if role == "anonymous":
            csrf_token(browser)
        else:
            assert login(browser, world.usernames[role], PASSWORD).status_code == 302, role
        found[role] = browser
    return found


def tokens(app, world: World) -> dict[str, dict[str, str]]:
    """Bearer headers per role ({} for anonymous)."""
    found: dict[str, dict[str, str]] = {"anonymous": {}}
    for role in ROLES[:-1]:
        response = app.test_client().post("/api/v1/auth/token",
                                          json={"username": world.usernames[role], "password": PASSWORD})
        assert response.status_code == 200, (role, response.json)
        found[role] = {"Authorization": f"Bearer {response.json['token']}"}
    return found
