"""The demo's action plan: this year's plan, drafted by the office in January and approved by the leader, its
tasks under four programmes in several states (on track with their monthly reports, one flagged late, one complete
with its evidence, one under a 督办 notice), and a meeting of the leading group whose decision became two tasks
(called by workflow.seed.build_demo)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from workflow.core.actors import Actor
from workflow.core.attachments import store_bytes
from workflow.core.calendar import calendar_for, local_date, local_moment
from workflow.core.engine import fire
from workflow.core.models import Case, Town, Unit
from workflow.core.reasons import parse_date
from workflow.programmes.tasks import open_plan, record_meeting

EVIDENCE = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def _unit(session: Session, name: str) -> int:
    found = session.exec(select(Unit.id).where(Unit.name == name)).one()
    return int(found)  # type: ignore[arg-type]  # a stored row's key


def _on_track(session: Session, case: Case, actor: Actor, now: datetime, texts: list[str]) -> Case:
    """Report on each period the day before its report falls due, until the next one lies ahead."""
    n = 0
    while (due := parse_date(case.data.get("report_due_date"))) is not None and local_moment(due) < now:
        at = max(local_moment(due, datetime.min.time().replace(hour=10)) - timedelta(days=1),
                 case.updated_at + timedelta(hours=1))
        case = fire(session=session, case_id=case.id, trigger="submit_report", actor=actor, now=at,  # type: ignore[arg-type]  # saved
                    payload={"report": texts[n % len(texts)]})
        n += 1
    return case


def programmes_demo(session: Session, act: dict[str, Actor], towns: dict[str, Town], now: datetime) -> None:
    today = local_date(now)
    start = local_moment(today.replace(month=1, day=12), datetime.min.time().replace(hour=10))
    if start >= now - timedelta(days=20):  # early in the year: last year's December
        start = now - timedelta(days=40)
    plan = open_plan(session, actor=act["office"], now=start, year=local_date(start).year)
    kj, ny, sw, gx, scjg = (_unit(session, n) for n in ("市科技局", "市农业农村局", "市商务局", "市工信局",
                                                          "市市场监管局"))
    yx, pd = _unit(session, "盂县"), _unit(session, "平定县")
    tasks: list[dict[str, Any]] = [
        {"programme": "market_entities", "title": "专业镇新增市场主体", "lead_unit_id": gx, "units": [yx, pd],
         "target_text": "全年专业镇新增市场主体不少于300户", "target_figure": "300", "report_cycle": "monthly",
         "milestones": [{"title": "上半年完成150户", "due_date": f"{local_date(start).year}-06-30"}]},
        {"programme": "innovation", "title": "建设娘子关镇创新服务平台", "lead_unit_id": kj, "units": [kj, pd],
         "town_id": towns["娘子关镇"].id, "target_text": "年内建成砂器、刻花瓷创新服务平台并投入运行",
         "report_cycle": "monthly"},
        {"programme": "market_expansion", "title": "组织专业镇企业参加展会", "lead_unit_id": sw, "units": [ny],
         "target_text": "组织专业镇企业参展不少于5场", "target_figure": "5", "report_cycle": "quarterly"},
        {"programme": "quality_brands", "title": "申报地理标志商标", "lead_unit_id": scjg, "units": [yx],
         "target_text": "盂县小杂粮申报国家地理标志商标1件", "target_figure": "1", "report_cycle": "quarterly"},
    ]
    for task in tasks:
        fire(session=session, case_id=plan.id, trigger="save_task", actor=act["office"], now=start,  # type: ignore[arg-type]  # saved
             payload={"task": task})
    fire(session=session, case_id=plan.id, trigger="submit_plan", actor=act["office"], now=start)  # type: ignore[arg-type]  # saved
    approved_at = start + timedelta(days=3)
    plan = fire(session=session, case_id=plan.id, trigger="approve_plan", actor=act["leader"], now=approved_at)  # type: ignore[arg-type]  # saved
    cases = session.exec(select(Case).where(col(Case.id).in_(plan.data["task_cases"])).order_by(col(Case.id))).all()
    by = {(c.data["task_title"], c.data["responsible_unit_id"]): c for c in cases}

    _on_track(session, by[("专业镇新增市场主体", yx)], act["county_yx"], now,
              ["本月新增市场主体28户，其中企业9户", "本月新增市场主体31户，个转企2户"])
    late = by[("专业镇新增市场主体", pd)]
    due = parse_date(late.data["report_due_date"])
    assert due is not None
    fire(session=session, case_id=late.id, trigger="flag_late", actor=Actor.system(),  # type: ignore[arg-type]  # saved
         now=local_moment(due + timedelta(days=1)))
    platform = _on_track(session, by[("建设娘子关镇创新服务平台", pd)], act["county_pd"],
                         now - timedelta(days=45), ["平台场地已落实", "设备招标完成"])
    fire(session=session, case_id=platform.id, trigger="supervise", actor=act["office"],  # type: ignore[arg-type]  # saved
         now=now - timedelta(days=2), comment="平台设备安装进度滞后，请于期限内完成安装调试并报送",
         payload={"supervision_due_date": calendar_for(session).add_working_days(today, 10)[0].isoformat()})
    _on_track(session, by[("建设娘子关镇创新服务平台", kj)], act["member_kj"], now,
              ["已对接太原理工大学材料学院", "联合实验室方案已报送"])
    fairs = _on_track(session, by[("组织专业镇企业参加展会", ny)], act["member_ny"], now - timedelta(days=10),
                      ["已组织参加农交会、糖酒会等展会3场"])
    proof = store_bytes(session=session, actor=act["member_ny"], data=EVIDENCE, filename="参展证明.pdf",
                        content_type="application/pdf", kind="evidence", now=now - timedelta(days=9),
                        case_id=fairs.id)
    fairs = fire(session=session, case_id=fairs.id, trigger="submit_report", actor=act["member_ny"],  # type: ignore[arg-type]  # saved
                 now=now - timedelta(days=9), payload={"report": "全年已组织参展6场，超额完成目标",
                                                       "report_figure": "6", "report_attachments": [proof.id]})
    fire(session=session, case_id=fairs.id, trigger="complete", actor=act["office"], now=now - timedelta(days=7))  # type: ignore[arg-type]  # saved
    _on_track(session, by[("申报地理标志商标", yx)], act["county_yx"], now, ["申报材料已报省知识产权局"])

    record_meeting(session, actor=act["office"], now=now - timedelta(days=5),
                   meeting_date=(today - timedelta(days=6)).isoformat(),
                   title="市专业镇高质量发展领导小组第二次全体会议",
                   decisions=[{"title": "研究解决西烟镇铸造园区用地指标", "target_text": "一个月内提出用地保障方案",
                               "units": [yx, _unit(session, "市规划和自然资源局")], "town_id": towns["西烟镇"].id}])
