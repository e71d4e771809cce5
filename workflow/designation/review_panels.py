"""What the case page's "what to do now" panel tells each role about a re-designation review."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from workflow.core.actors import Actor
from workflow.core.calendar import local_date
from workflow.core.evaluations import evaluation_history
from workflow.core.models import Case
from workflow.core.panels import Line, Section, last_comment, panel
from workflow.core.review import review_status
from workflow.core.settings import settings
from workflow.core.yamlcheck import Label
from workflow.designation.eligibility import OUTCOMES
from workflow.designation.redesignation import check, latest_statistics

NO_EVALUATION = Label("尚无年度评价结果", "No annual evaluation results yet")
OUTCOME_TONES = {"pass": "ok", "fail": "bad", "judge": "warn"}
OUTCOME_LABELS = {"pass": Label("满足", "met"), "fail": Label("未满足", "not met"),
                  "judge": Label("需评审判断", "for the reviewers")}
assert set(OUTCOME_LABELS) == set(OUTCOMES)


def _review(session: Any, case: Case, now: datetime) -> Section:
    status = review_status(session, case.town_id, local_date(now)) if case.town_id else None
    when = case.data.get("review_date") or "—"
    lines = [Line(Label("认定文号", "Designation number"), Label(*(2 * [case.data.get("designation_number") or "—"]))),
             Line(Label("复核日期", "Review date"), Label(when, when), "bad" if status and status.overdue else "")]
    if status is not None and status.overdue:
        lines.append(Line(Label("复核逾期", "Review overdue"),
                          Label("复核日期已过，请尽快办结", "the review date has passed; finish the review"), "bad"))
    return Section("review", Label("本次复核", "This review"), lines=tuple(lines))


def _statistics(session: Any, case: Case) -> Section:
    latest = latest_statistics(session, case.town_id) if case.town_id else None
    if latest is None:
        return Section("statistics", Label("最新年度统计", "Latest annual statistics"), text=Label(
            "该镇尚无已审核的年度统计；认定条件按认定申请时的数据核验。",
            "The town has no accepted annual statistics; the criteria are checked on its application's figures."))
    figures = latest.figures or {}
    output = figures.get("output_yi")
    lines = [Line(Label("统计年度", "Year"), Label(f"{latest.year} 年", str(latest.year))),
             Line(Label("主导产业产值", "Output of the leading industry"),
                  Label(f"{output} 亿元", f"{output} (100 million yuan)") if output is not None
                  else Label("未填写", "not given"))]
    for key, zh, en in (("employees", "从业人员", "People employed"),
                        ("above_scale_firms", "规上工业企业数", "Firms above designated size")):
        if figures.get(key) is not None:
            lines.append(Line(Label(zh, en), Label(str(figures[key]), str(figures[key]))))
    return Section("statistics", Label("最新年度统计", "Latest annual statistics"), lines=tuple(lines))


def _eligibility(result: dict[str, Any] | None, year: Any, *, preview: bool) -> Section:
    title = Label("认定条件核验（按最新统计）", "Criteria check (on the latest statistics)")
    if not result:
        return Section("eligibility", title, text=Label("尚未核验", "not checked yet"))
    criteria = result.get("criteria") or []
    failed = [c for c in criteria if c.get("hard") and c.get("outcome") == "fail"]
    basis = (Label(f"依据 {year} 年度统计", f"on the statistics of {year}") if year
             else Label("依据认定申请时的数据", "on the application's figures"))
    lines = [Line(Label("必备条件", "Required criteria"),
                  Label(f"{len(failed)} 项未满足", f"{len(failed)} not met") if failed
                  else Label("均已满足", "all met"), "bad" if failed else "ok"),
             Line(Label("核验依据", "Checked"),
                  Label(basis.zh + ("（县（区）确认前的预览）" if preview else ""),
                        basis.en + (" (preview before the county confirms)" if preview else "")))]
    for c in criteria:
        outcome = OUTCOME_LABELS.get(c.get("outcome"), Label("", ""))
        label = c.get("label") or {}
        why = c.get("reason") or {}
        lines.append(Line(Label(label.get("zh", ""), label.get("en", "")),
                          Label(f"{outcome.zh}：{why.get('zh', '')}", f"{outcome.en}: {why.get('en', '')}"),
                          OUTCOME_TONES.get(c.get("outcome"), "")))
    return Section("eligibility", title, lines=tuple(lines))


def _points(number: Any) -> str:
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _evaluations(session: Any, case: Case) -> Section:
    """The town's latest annual evaluations, one a designation cycle's years: total and published rank."""
    title = Label("历年年度评价", "Annual evaluations")
    found = evaluation_history(session, case.town_id)[:settings.designation_cycle_years] if case.town_id else []
    if not found:
        return Section("evaluations", title, text=NO_EVALUATION)
    lines = []
    for row in found:
        total, top = _points(row.total), _points(row.max_points)
        rank = (Label(f"，全市第 {row.rank} 名", f", ranked {row.rank} in the city") if row.rank is not None
                else Label("，排名尚未公布", ", ranking not published yet"))
        lines.append(Line(Label(f"{row.year} 年度", str(row.year)),
                          Label(f"{total} / {top} 分{rank.zh}", f"{total} / {top} points{rank.en}")))
    return Section("evaluations", title, lines=tuple(lines))


@panel("redesignation", states=("confirming",), roles=("county", "office", "leader"))
def confirming(session: Any, case: Case, actor: Actor, now: datetime) -> list[Section]:
    """The county: what it confirms, the check as it stands on the latest statistics, and the office's reasons
    of a return."""
    sections = [_review(session, case, now)]
    returned = last_comment(session, case.id or 0, "return_review")
    if returned:
        sections.append(Section("return_reason", Label("办公室退回原因", "Why the office returned it"),
                                text=Label(returned, returned)))
    sections.append(_statistics(session, case))
    result, year = check(session, case, case.data)
    sections.append(_eligibility(result.as_dict(), year, preview=True))
    sections.append(Section("to_do", Label("需要确认", "What to confirm"), text=Label(
        "请对照认定标准说明该镇仍符合条件的情况；可补充龙头企业（每行一家）和上下游配套企业户数，确认后系统按最新统计核验认定条件。",
        "State how the town still meets the criteria; you may list its leading enterprises (one a line) and "
        "the supporting enterprises; the criteria are then checked on the latest statistics.")))
    return sections


@panel("redesignation", states=("office_review", "decision"), roles=("county", "office", "leader"))
def reviewing(session: Any, case: Case, actor: Actor, now: datetime) -> list[Section]:
    """The office and the leading group: the county's statement, the check on the latest statistics, the
    statistics themselves, the annual evaluations, and (for the decision) the office's opinion."""
    text = str(case.data.get("confirmation") or "")
    sections = [_review(session, case, now),
                Section("confirmation", Label("县（区）确认情况", "The county's statement"), text=Label(text, text)),
                _eligibility(case.data.get("eligibility"), case.data.get("statistics_year"), preview=False),
                _statistics(session, case), _evaluations(session, case)]
    if case.state == "decision":
        opinion = last_comment(session, case.id or 0, "forward_review") or ""
        sections.insert(1, Section("office_opinion", Label("办公室复核意见", "The office's opinion"),
                                   text=Label(opinion, opinion)))
    sent_back = last_comment(session, case.id or 0, "send_back_review")
    if case.state == "office_review" and sent_back:
        sections.insert(1, Section("send_back_reason", Label("领导小组退回意见", "Why the leading group sent it back"),
                                   text=Label(sent_back, sent_back)))
    return sections
