"""The leading group's roster as data (workflow.accounts.seats): seats by position, what their holders act as, a
seat handed to a successor with its pending work, and the pages: the administrator's roster and the printable one.

The annex's office deputies come from 市农业农村局 and 市文旅局: such a deputy's account is a member unit's, and
while acting in the seat they do the office's work, and are told what the office is told."""

from __future__ import annotations

import json

import pytest
import time_machine
from sqlmodel import select

from conftest import PASSWORD, api_headers, csrf_token, login
from workflow.accounts import seats
from workflow.core.actors import Actor
from workflow.core.db import transaction
from workflow.core.errors import Conflict, Forbidden, Unprocessable
from workflow.core.models import AuditEvent, CaseParty, LoginSession, Notification, OutboxMessage, Seat
from workflow.notify.rules import recipients_by_role

GROUP = "阳泉市专业镇高质量发展领导小组"
OFFICE = "市工信局"
ADMIN = Actor(user_id=None, name="管理员", role="admin", unit_id=None, unit_name=None)


@pytest.fixture
def units(make):
    return {"group": make.unit(GROUP, "leading_group"), "office": make.unit(OFFICE, "office"),
            "ny": make.unit("市农业农村局", "member"), "wl": make.unit("市文旅局", "member"),
            "yx": make.unit("盂县", "county")}


def seat(db, now, position: str, title: str, unit=None) -> Seat:
    with transaction(db) as s:
        return seats.create_seat(s, actor=ADMIN, position=position, title=title,
                                 unit_id=unit.id if unit else None, now=now)


def take(db, now, seat_row: Seat, user) -> None:
    with transaction(db) as s:
        seats.assign(s, actor=ADMIN, seat_id=seat_row.id, user_id=user.id, now=now)


def test_a_seat_acts_by_its_position_not_by_the_kind_of_the_holders_unit(db, now, units):
    assert (seat(db, now, "leader", "市委副书记、市长").role, ) == ("leader",)
    head = seat(db, now, "deputy_leader", "市委常委、副市长")
    assert (head.role, head.acting_unit_id, head.unit_id) == ("leader", units["group"].id, None)
    deputy = seat(db, now, "office_deputy", "市农业农村局分管负责人", units["ny"])
    assert (deputy.role, deputy.acting_unit_id, deputy.unit_id) == ("office", units["office"].id, units["ny"].id)
    county_head = seat(db, now, "member", "盂县县长", units["yx"])
    assert (county_head.role, county_head.acting_unit_id) == ("county", units["yx"].id)
    liaison = seat(db, now, "liaison", "市文旅局联络员", units["wl"])
    assert (liaison.role, liaison.acting_unit_id) == ("member", units["wl"].id)


def test_a_seat_is_refused_without_a_title_a_unit_where_needed_or_a_known_position(db, now, units):
    with transaction(db) as s, pytest.raises(Unprocessable) as refused:
        seats.create_seat(s, actor=ADMIN, position="chairman", title="  ", unit_id=None, now=now)
    assert {d["field"] for d in refused.value.details} == {"position", "title"}
    with transaction(db) as s, pytest.raises(Unprocessable) as refused:
        seats.create_seat(s, actor=ADMIN, position="member", title="某局局长", unit_id=None, now=now)
    assert refused.value.zh == "成员和联络员须指明所在单位。"
    with transaction(db) as s, pytest.raises(Forbidden):
        seats.create_seat(s, actor=Actor(user_id=1, name="x", role="office", unit_id=units["office"].id,
                                         unit_name=OFFICE), position="leader", title="市长", unit_id=None, now=now)
    with transaction(db) as s:
        assert s.exec(select(Seat)).all() == []


def test_only_business_accounts_take_a_seat_and_a_held_seat_is_handed_over_not_taken(db, now, make, units):
    deputy = seat(db, now, "office_deputy", "市农业农村局分管负责人", units["ny"])
    admin, auditor = make.user("admin"), make.user("auditor")
    for account in (admin, auditor):
        with transaction(db) as s, pytest.raises(Unprocessable) as refused:
            seats.assign(s, actor=ADMIN, seat_id=deputy.id, user_id=account.id, now=now)
        assert "三员分立" in refused.value.zh
    first = make.user("member", unit="市农业农村局")
    take(db, now, deputy, first)
    with transaction(db) as s, pytest.raises(Conflict):
        seats.assign(s, actor=ADMIN, seat_id=deputy.id, user_id=make.user("member").id, now=now)
    with transaction(db) as s, pytest.raises(Conflict):
        seats.set_seat_active(s, actor=ADMIN, seat_id=deputy.id, active=False, now=now)
    with transaction(db) as s, pytest.raises(Unprocessable):
        seats.hand_over(s, actor=ADMIN, seat_id=deputy.id, successor_id=first.id, now=now)


def test_one_person_may_hold_two_seats_and_acts_in_one_at_a_time(db, now, make, units):
    person = make.user("member", unit="市文旅局", username="wl_head")
    # a member's seat of the person's own unit acts as the account does: it adds nothing
    take(db, now, seat(db, now, "member", "市政协副主席、市文旅局局长", units["wl"]), person)
    take(db, now, seat(db, now, "office_deputy", "市文旅局分管负责人", units["wl"]), person)
    take(db, now, seat(db, now, "deputy_leader", "市委常委、副市长"), person)
    with transaction(db) as s:
        ways = seats.identities(s, s.get(type(person), person.id))
    assert [(w.role, w.unit_id) for w in ways] == [("member", units["wl"].id), ("office", units["office"].id),
                                                  ("leader", units["group"].id)]
    assert ways[0].seat_id is None and ways[1].title == "市文旅局分管负责人"


def test_the_deputy_from_the_agriculture_bureau_does_an_office_step_in_the_seat(db, now, make, units, client):
    deputy_seat = seat(db, now, "office_deputy", "市农业农村局分管负责人", units["ny"])
    deputy = make.user("member", unit="市农业农村局", username="ny_deputy")
    take(db, now, deputy_seat, deputy)
    case = make.case("designation", state="submitted")
    body = {"trigger": "accept", "expected_version": 1, "data": {"member_units": [units["wl"].id]}}

    as_member = api_headers(client, "ny_deputy")
    assert client.post(f"/api/v1/cases/{case.id}/transitions", headers=as_member, json=body).status_code == 404
    token = client.post("/api/v1/auth/token", json={"username": "ny_deputy", "password": PASSWORD,
                                                    "seat_id": deputy_seat.id})
    as_office = {"Authorization": f"Bearer {token.json['token']}"}
    me = client.get("/api/v1/me", headers=as_office).json
    assert (me["role"], me["unit"]["id"], me["seat_id"]) == ("office", units["office"].id, deputy_seat.id)
    assert [i["seat_id"] for i in me["identities"]] == [None, deputy_seat.id]
    done = client.post(f"/api/v1/cases/{case.id}/transitions", headers=as_office, json=body)
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.json["state"] == "consultation"
    with transaction(db) as s:
        step = s.exec(select(AuditEvent).where(AuditEvent.case_id == case.id, AuditEvent.trigger == "accept")).one()
    assert (step.actor_id, step.role, step.unit_id) == (deputy.id, "office", units["office"].id)


def test_a_token_for_a_seat_not_held_is_refused_and_none_is_issued(db, now, make, units, client):
    other = seat(db, now, "office_deputy", "市文旅局分管负责人", units["wl"])
    make.user("member", unit="市农业农村局", username="ny_clerk")
    refused = client.post("/api/v1/auth/token", json={"username": "ny_clerk", "password": PASSWORD,
                                                      "seat_id": other.id})
    assert refused.status_code == 422 and refused.json["message"]["zh"] == "您未担任该席位。"
    with transaction(db) as s:
        assert s.exec(select(LoginSession).where(LoginSession.kind == "api")).all() == []


def test_switching_the_seat_on_the_pages_is_recorded_and_ends_when_the_seat_is_handed_over(db, now, make, units,
                                                                                           app):
    deputy_seat = seat(db, now, "office_deputy", "市农业农村局分管负责人", units["ny"])
    deputy = make.user("member", unit="市农业农村局", username="ny_deputy2")
    take(db, now, deputy_seat, deputy)
    browser = app.test_client()
    assert login(browser, "ny_deputy2").status_code == 302
    page = browser.get("/inbox").get_data(as_text=True)
    assert 'id="acting-seat"' in page and "市农业农村局分管负责人" in page
    token = csrf_token(browser, "/inbox")
    assert browser.post("/acting", data={"seat": str(deputy_seat.id), "csrf_token": token}).status_code == 302
    page = browser.get("/inbox").get_data(as_text=True)
    assert "领导小组办公室 · " + OFFICE in page
    assert browser.post("/acting", data={"seat": "²", "csrf_token": token}).status_code == 302
    with transaction(db) as s:
        changed = s.exec(select(AuditEvent).where(AuditEvent.kind == "acting_changed")).all()
    logged = [(e.actor_id, json.loads(e.data)["role"], json.loads(e.data)["seat_id"]) for e in changed]
    assert logged == [(deputy.id, "office", deputy_seat.id)]
    successor = make.user("member", unit="市农业农村局")
    with transaction(db) as s:
        seats.hand_over(s, actor=ADMIN, seat_id=deputy_seat.id, successor_id=successor.id, now=now)
    page = browser.get("/inbox").get_data(as_text=True)
    assert "成员单位 · 市农业农村局" in page and 'id="acting-seat"' not in page


def test_a_seat_holder_is_told_what_the_office_is_told(db, now, make, units):
    deputy_seat = seat(db, now, "office_deputy", "市农业农村局分管负责人", units["ny"])
    deputy = make.user("member", unit="市农业农村局")
    office = make.user("office")
    with transaction(db) as s:
        assert recipients_by_role(s, "office") == [office.id]
    take(db, now, deputy_seat, deputy)
    with transaction(db) as s:
        assert recipients_by_role(s, "office") == sorted([office.id, deputy.id])


def test_handing_over_moves_the_seats_pending_work_and_keeps_the_rest(db, now, make, units, client,
                                                                      complete_application):
    deputy_seat = seat(db, now, "office_deputy", "市农业农村局分管负责人", units["ny"])
    deputy = make.user("member", unit="市农业农村局", username="ny_old", email="old@example.gov.cn")
    successor = make.user("member", unit="市农业农村局", username="ny_new", email="new@example.gov.cn")
    take(db, now, deputy_seat, deputy)
    county = make.user("county", county="盂县", username="yx_clerk")
    drafts = [make.case("designation", by=county, data=complete_application) for _ in range(2)]
    with time_machine.travel(now, tick=False):
        headers = api_headers(client, "yx_clerk")
        for draft in drafts:  # the office (and the deputy in the office's seat) is told of each application
            response = client.post(f"/api/v1/cases/{draft.id}/transitions", headers=headers,
                                   json={"trigger": "submit", "expected_version": draft.version})
            assert response.status_code == 200, response.get_data(as_text=True)
    with transaction(db) as s:  # 市农业农村局 is consulted on the second: that concerns the deputy's own unit
        s.add(CaseParty(case_id=drafts[1].id, unit_id=units["ny"].id, purpose="opinion", created_at=now))
        read = s.exec(select(Notification).where(Notification.user_id == deputy.id)).all()
        assert {n.case_id for n in read} == {drafts[0].id, drafts[1].id}
        login_row = LoginSession(key_hash="k" * 64, user_id=deputy.id, kind="web", created_at=now,
                                 last_seen_at=now, expires_at=now, acting_seat_id=deputy_seat.id)
        s.add(login_row)

    with transaction(db) as s:
        done = seats.hand_over(s, actor=ADMIN, seat_id=deputy_seat.id, successor_id=successor.id, now=now,
                               note="市政府办公室通知：分管负责人调整")
    assert (done.notices_moved, done.messages_moved) == (1, 1)
    with transaction(db) as s:
        mine = {n.case_id: n.user_id for n in s.exec(select(Notification)).all() if n.user_id in (deputy.id,
                                                                                              successor.id)}
        assert mine == {drafts[0].id: successor.id, drafts[1].id: deputy.id}
        queued = {m.case_id: m.user_id for m in s.exec(select(OutboxMessage)).all()
                  if m.user_id in (deputy.id, successor.id)}
        assert queued == {drafts[0].id: successor.id, drafts[1].id: deputy.id}
        assert s.get(Seat, deputy_seat.id).holder_id == successor.id
        assert s.exec(select(LoginSession).where(LoginSession.user_id == deputy.id)).one().acting_seat_id is None
        event = s.exec(select(AuditEvent).where(AuditEvent.kind == "seat_handed_over")).one()
    assert event.comment == "市政府办公室通知：分管负责人调整"
    data = json.loads(event.data)
    assert {k: data[k] for k in ("from_user_id", "to_user_id", "notices_moved", "messages_moved")} == {
        "from_user_id": deputy.id, "to_user_id": successor.id, "notices_moved": 1, "messages_moved": 1}
    with transaction(db) as s:  # the trail keeps who held the seat when
        assigned = s.exec(select(AuditEvent).where(AuditEvent.kind == "admin_change")).all()
    actions = [json.loads(e.data) for e in assigned]
    assert [a["action"] for a in actions if a.get("seat_id") == deputy_seat.id] == ["create_seat", "assign_seat"]


# --- the pages -------------------------------------------------------------------------------------------------


@pytest.fixture
def admin_browser(app, make):
    make.user("admin", username="rosteradmin")
    browser = app.test_client()
    assert login(browser, "rosteradmin").status_code == 302
    return browser


def post(browser, url: str, data: dict):
    return browser.post(url, data={**data, "csrf_token": csrf_token(browser, "/admin/roster")})


def test_the_administrator_keeps_the_roster_on_its_page(db, now, make, units, admin_browser):
    refused = post(admin_browser, "/admin/roster/seats", {"position": "member", "title": "", "unit_id": ""})
    assert refused.status_code == 422
    assert "请填写职务名称" in refused.get_data(as_text=True)
    added = post(admin_browser, "/admin/roster/seats", {"position": "office_deputy", "title": "市文旅局分管负责人",
                                                        "unit_id": str(units["wl"].id)})
    assert added.status_code == 302
    with transaction(db) as s:
        new_seat = s.exec(select(Seat)).one()
    holder, successor = make.user("member", unit="市文旅局"), make.user("member", unit="市文旅局")
    assert post(admin_browser, f"/admin/roster/seats/{new_seat.id}/assign", {"user_id": str(holder.id)}
                ).status_code == 302
    again = post(admin_browser, f"/admin/roster/seats/{new_seat.id}/assign", {"user_id": str(successor.id)})
    assert again.status_code == 409 and "交接" in again.get_data(as_text=True)
    missing = post(admin_browser, f"/admin/roster/seats/{new_seat.id}/hand-over", {"successor_id": ""})
    assert missing.status_code == 422
    assert post(admin_browser, f"/admin/roster/seats/{new_seat.id}/hand-over",
                {"successor_id": str(successor.id), "note": "换届"}).status_code == 302
    page = admin_browser.get("/admin/roster").get_data(as_text=True)
    assert successor.display_name in page and "市文旅局分管负责人" in page
    assert f'href="/admin/roster/seats/{new_seat.id}"' in page
    seat_page = admin_browser.get(f"/admin/roster/seats/{new_seat.id}").get_data(as_text=True)
    assert "继任者" in seat_page and holder.display_name in seat_page  # the predecessor is no successor choice
    assert f'<option value="{successor.id}">' not in seat_page
    assert post(admin_browser, f"/admin/roster/seats/{new_seat.id}/promote", {}).status_code == 404
    assert post(admin_browser, "/admin/roster/seats/99999/vacate", {}).status_code == 404
    assert post(admin_browser, f"/admin/roster/seats/{new_seat.id}/vacate", {}).status_code == 302
    assert post(admin_browser, f"/admin/roster/seats/{new_seat.id}/retire", {}).status_code == 302
    with transaction(db) as s:
        row = s.get(Seat, new_seat.id)
    assert (row.holder_id, row.is_active) == (None, False)


def test_the_printable_roster_lists_the_seats_as_the_annex_does(db, now, make, units, app):
    take(db, now, seat(db, now, "leader", "市委副书记、市长"), make.user("leader", display_name="刘市长"))
    seat(db, now, "office_director", "市工信局局长（兼）", units["office"])
    make.user("county", username="yx_reader")
    browser = app.test_client()
    assert browser.get("/roster").status_code == 302  # the login page first
    assert login(browser, "yx_reader").status_code == 302
    page = browser.get("/roster").get_data(as_text=True)
    assert "组长：" in page and "刘市长" in page and "市委副书记、市长" in page
    assert "办公室主任：" in page and "（空缺）" in page
