"""The office's everyday forms: member units chosen by the annex's groups at 受理, the default opinion deadline
shown as a date, batch reminders."""

from __future__ import annotations

import re

import time_machine

from conftest import login
from workflow.core.db import transaction
from workflow.seed import MEMBER_UNIT_GROUPS, MEMBER_UNITS, ensure_reference_units


def text(response) -> str:
    return response.get_data(as_text=True)


def test_every_member_unit_of_the_annex_is_in_exactly_one_group():
    grouped = [name for _, names in MEMBER_UNIT_GROUPS for name in names]
    assert sorted(grouped) == sorted(MEMBER_UNITS) and len(grouped) == len(set(grouped))
    # within a group, the annex's order
    for _, names in MEMBER_UNIT_GROUPS:
        assert list(names) == sorted(names, key=MEMBER_UNITS.index)


def test_accept_form_groups_units_as_the_annex_and_shows_the_default_deadline(app, make, db, now):
    with transaction(db) as s:
        ensure_reference_units(s, now)
    make.unit("市新设协调中心", "member")  # a unit the annex does not name: listed last, under 其他
    case = make.case(state="submitted")
    make.user("office", unit="市工信局（领导小组办公室）", username="office_wang")
    client = app.test_client()
    with time_machine.travel(now, tick=False):  # Friday 27 November 2026
        login(client, "office_wang")
        page = text(client.get(f"/cases/{case.id}/do/accept"))
    legends = re.findall(r'data-unit-group="[^"]+">\s*<legend>([^<]+)</legend>', page)
    assert legends == ["市委部门", "市政府部门", "中央和省驻阳单位", "群团组织和新闻单位", "其他成员单位"]
    names = re.findall(r'name="member_units" value="\d+" >\s*([^<\n]+)', page)
    assert names[:4] == ["市委组织部", "市委宣传部", "市委统战部", "市文旅局"]
    assert names[-4:] == ["市工商联", "阳泉市广播电视台", "阳泉日报社", "市新设协调中心"]
    assert page.count('data-select-all="') == 5
    # 7 working days from Friday 27 November: Tuesday 8 December
    assert "不填写时，期限为 2026-12-08。" in page


# --- 催办 in one batch ------------------------------------------------------------------------------------------


def _consultation(make, db, now):
    """A designation in 会审: 市科技局 has answered, 市农业农村局 has not."""
    from workflow.core.engine import fire
    from workflow.seed import unit_id

    with transaction(db) as s:
        ensure_reference_units(s, now)
    people = {"county": make.user("county", username="yx_clerk"),
              "office": make.user("office", unit="市工信局（领导小组办公室）", username="office_wang"),
              "keji": make.user("member", unit="市科技局", username="keji_zhao"),
              "nongye": make.user("member", unit="市农业农村局", username="nongye_sun")}
    case = make.case(state="submitted", by=people["county"])
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="accept", actor=make.actor(people["office"]), now=now,
             payload={"member_units": [unit_id(s, "市科技局"), unit_id(s, "市农业农村局")]})
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="record_opinion", actor=make.actor(people["keji"]), now=now,
             payload={"opinion": "agree"})
    return case, people


def _post(client, url, data):
    from conftest import csrf_token

    return client.post(url, data={**data, "csrf_token": csrf_token(client, url)})


def test_the_office_reminds_the_units_that_have_not_answered_after_confirming(app, make, db, now):
    from sqlmodel import select

    from workflow.core.models import AuditEvent, Notification

    case, people = _consultation(make, db, now)
    office = app.test_client()
    login(office, "office_wang")
    assert f'href="/cases/{case.id}/chase"' in text(office.get(f"/cases/{case.id}"))
    confirm = text(office.get(f"/cases/{case.id}/chase"))
    assert "催办未提出意见的成员单位" in confirm
    assert re.search(r'<td class="owing">市农业农村局</td>', confirm)  # not 市科技局, which has answered
    unconfirmed = _post(office, f"/cases/{case.id}/chase", {})
    assert unconfirmed.status_code == 422 and "请勾选确认框。" in text(unconfirmed)
    with transaction(db) as s:
        assert not [n for n in s.exec(select(Notification)).all() if n.source_key.startswith("chase:")]
    sent = _post(office, f"/cases/{case.id}/chase", {"confirmed": "yes"})
    assert sent.status_code == 302 and sent.headers["Location"] == f"/cases/{case.id}"
    assert "已就 1 件案件向 1 人发送催办。" in text(office.get(f"/cases/{case.id}"))
    with transaction(db) as s:
        told = [n.user_id for n in s.exec(select(Notification)).all() if n.source_key.startswith("chase:")]
        events = s.exec(select(AuditEvent).where(AuditEvent.kind == "reminder_batch_sent")).all()
    assert told == [people["nongye"].id] and [e.actor_id for e in events] == [people["office"].id]
    nongye = app.test_client()
    login(nongye, "nongye_sun")
    assert "领导小组办公室催办" in text(nongye.get("/notifications"))


def test_the_api_reads_the_batch_then_sends_it(app, make, db, now):
    from conftest import api_headers

    case, _people = _consultation(make, db, now)
    headers = api_headers(app.test_client(), "office_wang")
    client = app.test_client()
    plan = client.get(f"/api/v1/cases/{case.id}/chase", headers=headers)
    assert plan.status_code == 200 and [i["owing"] for i in plan.json["items"]] == [["市农业农村局"]]
    assert client.post(f"/api/v1/cases/{case.id}/chase", headers=headers).json["users"] == 1
    county = api_headers(app.test_client(), "yx_clerk")
    refused = client.post(f"/api/v1/cases/{case.id}/chase", headers=county)
    assert refused.status_code == 403


def test_the_board_reminds_every_overdue_order(app, make, db, now):
    from datetime import timedelta

    from sqlmodel import select

    from workflow.core.models import Notification

    make.unit("市工信局（领导小组办公室）", "office")
    office_user = make.user("office", unit="市工信局（领导小组办公室）", username="office_wang")
    clerk = make.user("county", county="盂县", username="yx_clerk")
    late = make.case("rectification", county="盂县", by=office_user,
                     data={"problem": "厂区扬尘", "severity": "medium", "due_date": "2026-12-10"})
    office = app.test_client()
    with time_machine.travel(now + timedelta(days=20), tick=False):  # 17 December: the deadline has passed
        login(office, "office_wang")
        assert 'id="chase-orders"' in text(office.get("/supervision"))
        confirm = text(office.get("/supervision/chase"))
        assert late.number in confirm and '<td class="owing">盂县</td>' in confirm
        assert _post(office, "/supervision/chase", {"confirmed": "yes"}).status_code == 302
    with transaction(db) as s:
        told = [n.user_id for n in s.exec(select(Notification)).all() if n.source_key.startswith("chase:")]
    assert told == [clerk.id]
