"""The problem ledger through the API: a member unit logs a problem, the office assigns it, the responsible unit
answers (in progress with a plan, the plan moved, resolved), the office sends it back and then closes it; an
escalation into a rectification order that then runs on its own path to overdue through the real sweep; a
referral to the leading group's meeting and the leader's two decisions; the deadline's reminders and the overdue
flag; and what each role sees of the ledger."""

from __future__ import annotations

from datetime import datetime

import ledger_world
import time_machine
from sqlmodel import select

from conftest import reload
from workflow.core.calendar import LOCAL_TZ
from workflow.core.db import transaction
from workflow.core.models import Case, Deadline, Notification
from workflow.core.queries import inbox
from workflow.core.sweep import sweep

NOW = datetime(2026, 11, 27, 10, tzinfo=LOCAL_TZ)  # a Friday
people, api = ledger_world.people, ledger_world.api  # the fixtures


def log(client, headers, **fields):
    body = {"category": "land", "description": "园区用地指标不足，铸造企业扩产项目无法落地", **fields}
    return client.post("/api/v1/problems", headers=headers, json=body)


def open_deadlines(db, case_id):
    with transaction(db) as s:
        rows = s.exec(select(Deadline).where(Deadline.case_id == case_id, Deadline.status == "open")).all()
        return sorted((r.kind, r.due_date, r.offset_days) for r in rows)


def test_a_problem_is_logged_assigned_answered_sent_back_and_closed(client, db, people, api):
    with time_machine.travel(NOW, tick=False):
        created = log(client, api("kj"), town_id=people.towns["西烟镇"].id, origin="enterprise",
                      enterprise_name="盂县华盛铸造有限公司", raised_by="企业负责人 刘建国")
        assert created.status_code == 201, created.json
        problem = created.json
        assert problem["number"].startswith("WT-2026-") and problem["state"] == "logged"
        assert problem["county_id"] == people.units["盂县"]
        assert problem["data"]["raiser_unit"] == "市科技局"
        pid = problem["id"]

        # the office assigns it to 市发改委 with a deadline
        assigned = client.post(f"/api/v1/problems/{pid}/assign", headers=api("office"),
                               json={"responsible_unit_id": people.units["市发改委"], "due_date": "2026-12-11"})
        assert assigned.status_code == 200, assigned.json
        assert assigned.json["state"] == "assigned" and assigned.json["data"]["responsible_unit"] == "市发改委"
        assert [d["due_date"] for d in assigned.json["deadlines"]] == ["2026-12-11"]

        # the unit that logged it cannot answer for the responsible one
        refused = client.post(f"/api/v1/problems/{pid}/answer", headers=api("kj"),
                              json={"outcome": "resolved", "text": "已解决"})
        assert refused.status_code == 422 and "不是该问题的责任单位" in refused.json["message"]["zh"]

        # in progress with a plan and a new date: the deadline follows the plan
        progress = client.post(f"/api/v1/problems/{pid}/answer", headers=api("fgw"),
                               json={"outcome": "in_progress", "text": "已列入年度用地计划调剂",
                                     "plan_date": "2026-12-18"})
        assert progress.status_code == 200, progress.json
        assert progress.json["state"] == "in_progress" and progress.json["data"]["due_date"] == "2026-12-18"
        assert progress.json["data"]["original_due_date"] == "2026-12-11"
        assert ("expiry", "2026-12-18", None) in open_deadlines(db, pid)
        # the plan moves: the same state, its deadline planned again
        moved = client.post(f"/api/v1/problems/{pid}/answer", headers=api("fgw"),
                            json={"outcome": "in_progress", "text": "调剂指标待省厅批复", "plan_date": "2026-12-24"})
        assert moved.status_code == 200 and moved.json["state"] == "in_progress"
        assert [d for d in open_deadlines(db, pid) if d[0] == "expiry"] == [("expiry", "2026-12-24", None)]

        resolved = client.post(f"/api/v1/problems/{pid}/answer", headers=api("fgw"),
                               json={"outcome": "resolved", "text": "调剂用地指标 50 亩已下达"})
        assert resolved.json["state"] == "answered" and resolved.json["data"]["outcome"] == "resolved"
        assert open_deadlines(db, pid) == []

        # the office sends it back (why is required), then closes it after the second answer
        bare = client.post(f"/api/v1/problems/{pid}/verify", headers=api("office"), json={"action": "send_back"})
        assert bare.status_code == 422 and reload(db, pid).state == "answered"
        back = client.post(f"/api/v1/problems/{pid}/verify", headers=api("office"),
                           json={"action": "send_back", "comment": "请附用地批复文件"})
        assert back.json["state"] == "assigned" and back.json["data"]["returns"] == 1
        assert back.json["data"]["due_date"] == "2026-12-11"  # ten working days from today: none was given
        again = client.post(f"/api/v1/problems/{pid}/answer", headers=api("fgw"),
                            json={"outcome": "resolved", "text": "用地批复已上传"})
        assert again.json["state"] == "answered"
        closed = client.post(f"/api/v1/problems/{pid}/verify", headers=api("office"), json={"action": "close"})
        assert closed.status_code == 200 and closed.json["state"] == "closed" and closed.json["closed_at"]

        events = client.get(f"/api/v1/cases/{pid}/events", headers=api("office")).json["items"]
        assert [e["trigger"] for e in events if e["kind"] == "transition"] == [
            "assign", "report_progress", "update_plan", "report_resolved", "send_back", "report_resolved",
            "close_problem"]


def test_a_problem_escalated_into_an_order_names_it_and_the_order_runs_to_overdue(client, db, people, api):
    with time_machine.travel(NOW, tick=False):
        pid = log(client, api("yx"), town_id=people.towns["西烟镇"].id, category="energy",
                  description="天然气管网未通到园区，企业只能用罐装气").json["id"]
        client.post(f"/api/v1/problems/{pid}/assign", headers=api("office"),
                    json={"responsible_unit_id": people.units["盂县"]})
        unsolvable = client.post(f"/api/v1/problems/{pid}/answer", headers=api("yx"),
                                 json={"outcome": "unsolvable", "text": "管网建设需市级统筹资金"})
        assert unsolvable.json["state"] == "answered"
        # a member unit may not escalate; the office must give the order's deadline
        assert client.post(f"/api/v1/problems/{pid}/escalate", headers=api("kj"),
                           json={"to": "order", "order_due_date": "2026-12-18"}).status_code == 404
        missing = client.post(f"/api/v1/problems/{pid}/escalate", headers=api("office"), json={"to": "order"})
        assert missing.status_code == 422 and reload(db, pid).state == "answered"
        escalated = client.post(f"/api/v1/problems/{pid}/escalate", headers=api("office"),
                                json={"to": "order", "order_due_date": "2026-12-18"})
        assert escalated.status_code == 200, escalated.json
        assert escalated.json["state"] == "escalated"
        order_id = escalated.json["data"]["order_id"]
    order = reload(db, order_id)
    assert order.definition_key == "rectification" and order.state == "issued" and order.parent_id == pid
    assert order.town_id == people.towns["西烟镇"].id
    assert order.data["source"] == "problem" and order.data["problem_id"] == pid
    assert order.data["problem"] == "天然气管网未通到园区，企业只能用罐装气" and order.data["due_date"] == "2026-12-18"
    # the clock moves past the order's deadline: the real sweep makes it overdue
    sweep(db, now=datetime(2026, 12, 21, 10, tzinfo=LOCAL_TZ))
    assert reload(db, order_id).state == "overdue"
    assert reload(db, pid).state == "escalated"


def test_a_problem_for_the_meeting_waits_in_the_leaders_inbox_and_the_leader_decides(client, db, make, people, api):
    with time_machine.travel(NOW, tick=False):
        first = log(client, api("office"), county_id=people.units["平定县"], category="finance",
                    description="中小企业融资担保难，担保机构代偿能力不足").json["id"]
        second = log(client, api("office"), town_id=people.towns["娘子关镇"].id, category="talent",
                     description="技工短缺，陶瓷企业招不到熟练工").json["id"]
        assert reload(db, first).town_id is None and reload(db, first).county_id == people.units["平定县"]
        # a problem with no town cannot become an order: the reason says where to take it instead
        no_town = client.post(f"/api/v1/problems/{first}/escalate", headers=api("office"),
                              json={"to": "order", "order_due_date": "2026-12-18"})
        assert no_town.status_code == 422 and "提请领导小组会议研究" in no_town.json["message"]["zh"]
        for pid in (first, second):
            sent = client.post(f"/api/v1/problems/{pid}/escalate", headers=api("office"),
                               json={"to": "meeting", "meeting_note": "建议由市金融办牵头研究设立风险补偿资金"})
            assert sent.json["state"] == "for_meeting"
        with transaction(db) as s:
            waiting = {c.id for c in inbox(s, make.actor(people.users["leader"])).items}
        assert {first, second} <= waiting
        # the office cannot decide for the leader
        assert client.post(f"/api/v1/problems/{first}/decide", headers=api("office"),
                           json={"decision_text": "办结"}).status_code == 403
        closed = client.post(f"/api/v1/problems/{first}/decide", headers=api("leader"),
                             json={"decision_text": "纳入市级风险补偿资金统筹解决，本台账办结"})
        assert closed.json["state"] == "closed" and closed.json["data"]["decision_text"].startswith("纳入")
        assigned = client.post(f"/api/v1/problems/{second}/decide", headers=api("leader"),
                               json={"decision_text": "交市人社局牵头组织订单式培训",
                                     "responsible_unit_id": people.units["市农业农村局"], "due_date": "2026-12-31"})
        assert assigned.status_code == 200, assigned.json
        assert assigned.json["state"] == "assigned" and assigned.json["data"]["responsible_unit"] == "市农业农村局"
        # the unit now responsible sees it
        assert client.get(f"/api/v1/cases/{second}", headers=api("ny")).status_code == 200


def test_the_deadline_reminds_before_and_flags_the_problem_overdue_after(client, db, people, api):
    with time_machine.travel(NOW, tick=False):
        pid = log(client, api("office"), town_id=people.towns["西烟镇"].id, category="approvals",
                  description="环评审批慢，项目开工推迟").json["id"]
        client.post(f"/api/v1/problems/{pid}/assign", headers=api("office"),
                    json={"responsible_unit_id": people.units["市发改委"], "due_date": "2026-12-04"})
    assert open_deadlines(db, pid) == [("expiry", "2026-12-04", None), ("reminder", "2026-12-04", 0),
                                       ("reminder", "2026-12-04", 1), ("reminder", "2026-12-04", 3)]

    def told(user):
        with transaction(db) as s:
            return [n.kind for n in s.exec(select(Notification).where(Notification.user_id == user.id,
                                                                      Notification.case_id == pid))]

    assert told(people.users["fgw"]).count("reminder") == 0
    sweep(db, now=datetime(2026, 12, 1, 9, 30, tzinfo=LOCAL_TZ))  # three working days before
    assert told(people.users["fgw"]).count("reminder") == 1 and told(people.users["yx"]).count("reminder") == 1
    assert told(people.users["kj"]) == []  # not a party of this problem
    sweep(db, now=datetime(2026, 12, 3, 9, 30, tzinfo=LOCAL_TZ))
    sweep(db, now=datetime(2026, 12, 4, 9, 30, tzinfo=LOCAL_TZ))
    assert told(people.users["fgw"]).count("reminder") == 3  # one working day before, then on the day
    assert reload(db, pid).state == "assigned"
    sweep(db, now=datetime(2026, 12, 5, 0, 30, tzinfo=LOCAL_TZ))  # the day after the deadline
    assert reload(db, pid).state == "overdue"
    assert told(people.users["office"])  # the office is told it passed
    with time_machine.travel(datetime(2026, 12, 7, 10, tzinfo=LOCAL_TZ), tick=False):
        flagged = client.get("/api/v1/problems?overdue=1", headers=api("office", fresh=True)).json
        assert [p["id"] for p in flagged["items"]] == [pid] and flagged["items"][0]["is_overdue"]
        # the responsible unit may still answer, late
        late = client.post(f"/api/v1/problems/{pid}/answer", headers=api("fgw", fresh=True),
                           json={"outcome": "resolved", "text": "已开辟环评绿色通道，批复已下达"})
        assert late.status_code == 200 and late.json["state"] == "answered"
        assert client.get("/api/v1/problems?overdue=1", headers=api("office")).json["total"] == 0


def test_each_role_sees_its_own_problems(client, db, make, people, api):
    with time_machine.travel(NOW, tick=False):
        yx = log(client, api("kj"), town_id=people.towns["西烟镇"].id).json["id"]
        pd = log(client, api("pd"), town_id=people.towns["娘子关镇"].id, category="market",
                 description="陶瓷产品市场渠道窄").json["id"]
        other = log(client, api("office"), town_id=people.towns["娘子关镇"].id, category="other",
                    description="园区道路破损").json["id"]
        client.post(f"/api/v1/problems/{other}/assign", headers=api("office"),
                    json={"responsible_unit_id": people.units["市发改委"]})

        def ids(who, query=""):
            return {p["id"] for p in client.get(f"/api/v1/problems{query}", headers=api(who)).json["items"]}

        assert ids("office") == ids("leader") == {yx, pd, other}
        assert ids("yx") == {yx} and ids("pd") == {pd, other}
        assert ids("kj") == {yx}  # what it logged
        assert ids("fgw") == {other}  # what it is responsible for
        assert ids("ny") == set()
        assert ids("office", f"?unit={people.units['市发改委']}") == {other}
        assert ids("office", "?category=market") == {pd}
        assert ids("office", f"?county={people.units['盂县']}") == {yx}
        assert ids("office", f"?town={people.towns['娘子关镇'].id}&state=assigned") == {other}
        assert client.get("/api/v1/problems?category=nope", headers=api("office")).status_code == 400
        # a county cannot open another county's problem, nor be made responsible for it
        assert client.get(f"/api/v1/cases/{pd}", headers=api("yx")).status_code == 404
        wrong = client.post(f"/api/v1/problems/{pd}/assign", headers=api("office"),
                            json={"responsible_unit_id": people.units["盂县"]})
        assert wrong.status_code == 422 and "问题所在的县（区）" in wrong.json["message"]["zh"]
        # reassigned: the unit responsible before still sees it but owes nothing more, the new one sees it too
        client.post(f"/api/v1/problems/{pd}/assign", headers=api("office"),
                    json={"responsible_unit_id": people.units["市农业农村局"]})
        client.post(f"/api/v1/problems/{pd}/escalate", headers=api("office"),
                    json={"to": "meeting", "meeting_note": "涉及多个部门"})
        client.post(f"/api/v1/problems/{pd}/decide", headers=api("leader"),
                    json={"decision_text": "改由市发改委牵头", "responsible_unit_id": people.units["市发改委"]})
        with transaction(db) as s:
            assert pd not in {c.id for c in inbox(s, make.actor(people.users["ny"])).items}
            assert pd in {c.id for c in inbox(s, make.actor(people.users["fgw"])).items}
        assert ids("ny") == {pd}
        with transaction(db) as s:
            assert s.get(Case, pd).state == "assigned"
        client.post(f"/api/v1/problems/{pd}/answer", headers=api("fgw"),
                    json={"outcome": "unsolvable", "text": "需商务部门牵头"})
        client.post(f"/api/v1/problems/{pd}/verify", headers=api("office"),
                    json={"action": "send_back", "comment": "改由市农业农村局办理"})
        assert ids("fgw") == {other, pd}
        # the member unit's log: county must be named when there is no town
        assert log(client, api("kj")).status_code == 422
