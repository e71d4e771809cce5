"""The "what to do now" panel of an inspection and a rectification order, as the service builds it for each role
and state: the county reads what to rectify, by when and why its report came back; the office reads the request
or the report it must decide; the leader reads the draft criticism; an overdue order keeps its passed deadline."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import time_machine

from workflow.core.calendar import LOCAL_TZ
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.panels import case_panel
from workflow.core.sweep import sweep


def panel_for(db, make, user, case, now):
    with transaction(db) as s:
        return case_panel(session=s, actor=make.actor(user), case_id=case.id, now=now)


def section(panel, key):
    return next(s for s in panel.sections if s.key == key)


def keys(panel):
    return [s.key for s in panel.sections]


def lines(sec, lang="zh"):
    return {line.label.get(lang): line.value.get(lang) for line in sec.lines}


@pytest.fixture
def people(make):
    return {"county": make.user("county", county="盂县"), "office": make.user("office"),
            "leader": make.user("leader")}


@pytest.fixture
def order(db, make, people):
    inspection = make.case("inspection", state="in_progress", by=people["office"])
    case = make.case("rectification", state="rectifying", by=people["office"], county="盂县",
                     data={"problem": "工作台账不全", "severity": "high", "finding_type": "ledger_incomplete",
                           "finding_no": 2, "due_date": "2026-12-18"})
    with transaction(db) as s:  # raised from the inspection's second finding
        row = s.get(type(case), case.id)
        row.parent_id = inspection.id
        s.add(row)
    return case, inspection


def step(db, make, user, case, trigger, now, **kw):
    with transaction(db) as s:
        return fire(session=s, case_id=case.id, trigger=trigger, actor=make.actor(user), now=now, **kw)


def test_the_county_reads_what_to_rectify_and_by_when(db, make, people, order, now):
    case, inspection = order
    panel = panel_for(db, make, people["county"], case, now)
    assert panel.main.trigger == "submit_report"
    assert keys(panel) == ["order", "how"]
    shown = lines(section(panel, "order"))
    assert shown["问题类型"] == "工作台账、档案资料不完整"
    assert shown["问题"] == "工作台账不全"
    assert shown["严重程度"] == "严重"
    assert shown["整改期限"] == "2026-12-18"
    assert shown["来源"] == f"{inspection.number} 第 2 项检查发现"
    assert "可在期限前申请延期一次" in section(panel, "how").text.zh
    (due,) = panel.due
    assert (due.label.zh, due.due_date, due.working_days_left) == ("整改期限", "2026-12-18", 15)


def test_after_a_rejected_report_the_county_reads_the_office_s_reasons(db, make, people, order, now):
    case, _ = order
    step(db, make, people["county"], case, "submit_report", now, payload={"report": "已补齐台账"})
    step(db, make, people["office"], case, "reject_report", now, comment="台账缺少 2025 年数据，请补充后重报。")
    panel = panel_for(db, make, people["county"], case, now)
    assert keys(panel) == ["order", "report_rejected", "how"]
    assert section(panel, "report_rejected").text.zh == "台账缺少 2025 年数据，请补充后重报。"


def test_the_office_decides_an_extension_with_the_request_in_front_of_it(db, make, people, order, now):
    case, _ = order
    step(db, make, people["county"], case, "request_extension", now, payload={"requested_due_date": "2027-01-15"},
         comment="企业设备改造需停产一个月")
    panel = panel_for(db, make, people["office"], case, now)
    assert [s.trigger for s in panel.steps] == ["grant_extension", "deny_extension"]
    assert lines(section(panel, "extension")) == {"当前期限": "2026-12-18", "申请延至": "2027-01-15",
                                                  "申请理由": "企业设备改造需停产一个月"}
    # refused: the county reads why, and that its one request is used
    step(db, make, people["office"], case, "deny_extension", now, comment="期限内可以完成")
    panel = panel_for(db, make, people["county"], case, now)
    assert section(panel, "extension_denied").text.zh == "期限内可以完成"
    assert "延期申请已使用过一次" in section(panel, "how").text.zh


def test_the_office_verifies_the_report_it_reads_on_the_panel(db, make, people, order, now):
    case, _ = order
    step(db, make, people["county"], case, "submit_report", now, payload={"report": "已补齐 2024—2026 年台账"})
    panel = panel_for(db, make, people["office"], case, now)
    assert [s.trigger for s in panel.steps] == ["accept", "reject_report"]
    shown = lines(section(panel, "report"))
    assert shown["报告内容"] == "已补齐 2024—2026 年台账"
    assert shown["是否逾期"] == "按期提交"
    assert shown["证明材料"] == "未附材料"
    assert panel.due == ()  # nothing runs against the office here
    # the county has nothing to do now, and is told who acts next
    waiting = panel_for(db, make, people["county"], case, now)
    assert waiting.steps == () and waiting.waiting_on == ("office",)


def test_an_overdue_order_keeps_its_passed_deadline_and_says_what_each_side_may_do(db, make, people, order):
    case, _ = order
    later = datetime(2026, 12, 22, 10, tzinfo=LOCAL_TZ)  # Tuesday: two working days after the 18th
    sweep(db, now=later)
    county = panel_for(db, make, people["county"], case, later)
    assert county.main.trigger == "submit_report"
    assert "仍可提交整改报告" in section(county, "overdue").text.zh
    (due,) = county.due
    assert (due.due_date, due.working_days_left) == ("2026-12-18", -2)
    office = panel_for(db, make, people["office"], case, later)
    assert [s.trigger for s in office.steps] == ["criticise"]
    assert "可拟通报批评" in section(office, "overdue").text.zh
    # the leader returns the draft: the office reads why
    step(db, make, people["office"], case, "criticise", later, comment="逾期未整改，台账仍不全")
    leader = panel_for(db, make, people["leader"], case, later)
    assert lines(section(leader, "criticism"))["拟通报事实"] == "逾期未整改，台账仍不全"
    assert leader.has_preview
    step(db, make, people["leader"], case, "return_criticism", later, comment="事实表述不够具体")
    office = panel_for(db, make, people["office"], case, later)
    assert section(office, "criticism_returned").text.zh == "事实表述不够具体"


def test_after_the_criticism_the_office_reads_the_notice_and_may_reissue(db, make, people, order):
    case, _ = order
    later = datetime(2026, 12, 22, 10, tzinfo=LOCAL_TZ)
    sweep(db, now=later)
    step(db, make, people["office"], case, "criticise", later, comment="逾期未整改")
    step(db, make, people["leader"], case, "approve_criticism", later)
    panel = panel_for(db, make, people["office"], case, later)
    assert panel.main.trigger == "reissue"
    shown = lines(section(panel, "criticism"))
    assert shown["通报文号"].startswith("阳专镇通〔2026〕") and shown["印发日期"] == "2026-12-22"
    (due,) = panel.due  # still overdue, in red
    assert due.working_days_left == -2


def test_the_inspection_panel_counts_the_findings_still_to_decide(db, make, people, now):
    inspection = make.case("inspection", state="in_progress", by=people["office"])
    for text in ("厂区扬尘", "台账不全"):
        step(db, make, people["office"], inspection, "record_finding", now,
             payload={"finding": {"text": text, "severity": "medium"}})
    panel = panel_for(db, make, people["office"], inspection, now)
    assert lines(section(panel, "findings")) == {"已登记发现": "2 项", "待作出处理决定": "2 项（第 1、2 项）",
                                                 "已下达整改": "0 项"}
    assert "才能结束检查" in section(panel, "findings").text.zh
    step(db, make, people["office"], inspection, "decide_finding", now,
         payload={"finding_no": 1, "decision": "no_action"})
    step(db, make, people["office"], inspection, "decide_finding", now,
         payload={"finding_no": 2, "decision": "rectify", "due_date": "2026-12-31"})
    panel = panel_for(db, make, people["office"], inspection, now)
    assert lines(section(panel, "findings"))["已下达整改"] == "1 项"
    assert section(panel, "findings").text.zh == "所有发现均已处理，可以结束检查。"


def test_a_planned_inspection_shows_the_visit(db, make, people, now):
    planned = make.case("inspection", by=people["office"],
                        data={"planned_date": (date(2026, 12, 10)).isoformat(), "note": "重点查看台账"})
    panel = panel_for(db, make, people["office"], planned, now + timedelta(hours=1))
    assert lines(section(panel, "plan"))["计划日期"] == "2026-12-10"
    assert lines(section(panel, "plan"))["备注"] == "重点查看台账"


def test_the_api_gives_the_same_panel_as_the_page(db, make, people, order, now, app):
    from conftest import PASSWORD

    def api_token(client, user):
        got = client.post("/api/v1/auth/token", json={"username": user.username, "password": PASSWORD})
        return {"Authorization": f"Bearer {got.get_json()['token']}"}

    case, _ = order
    step(db, make, people["county"], case, "submit_report", now, payload={"report": "已补齐台账"})
    step(db, make, people["office"], case, "reject_report", now, comment="缺少 2025 年数据")
    client = app.test_client()
    with time_machine.travel(now, tick=False):  # Friday 27 November, as the steps above
        got = client.get(f"/api/v1/cases/{case.id}/panel", headers=api_token(client, people["county"]))
    assert got.status_code == 200
    body = got.get_json()
    assert body["main"] == "submit_report"
    assert [s["trigger"] for s in body["steps"]] == ["submit_report", "request_extension"]
    assert [s["key"] for s in body["sections"]] == ["order", "report_rejected", "how"]
    assert body["sections"][1]["text"] == {"zh": "缺少 2025 年数据", "en": "缺少 2025 年数据"}
    assert body["due"] == [{"label": {"zh": "整改期限", "en": "Rectification deadline"}, "due_date": "2026-12-18",
                            "working_days_left": 15, "overdue": False, "is_estimated": False}]
    other = make.user("county", county="平定县")
    assert client.get(f"/api/v1/cases/{case.id}/panel", headers=api_token(client, other)).status_code == 404
