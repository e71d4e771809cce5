"""What the case page's "what to do now" panel tells each role about a statistics report (workflow.core.panels):
the county sees what is still missing and which figures need a reason, the office the figures that moved and
the county's reasons, and both the office's reasons when a report was returned."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from workflow.core.actors import Actor
from workflow.core.models import Case
from workflow.core.panels import Line, Section, last_comment, panel
from workflow.core.yamlcheck import Label
from workflow.statistics import fields as spec_of
from workflow.statistics.history import last_accepted


def _last(session: Session, case: Case) -> dict | None:
    row = last_accepted(session, case.town_id or 0, before=int(case.data.get("report_year") or 0))
    return row.figures if row else None


@panel("statistics_report", states=("filling", "returned"), roles=("county",))
def to_fill(session: Session, case: Case, actor: Actor, now: datetime) -> list[Section]:
    """The office's reasons (after a return), the figures still to fill in, the changes to explain."""
    spec = spec_of.statistics_spec()
    figures = case.data.get("figures") or {}
    sections = []
    if case.state == "returned":
        why = last_comment(session, case.id or 0, "return_figures") or ""
        sections.append(Section("return_reason", Label("办公室退回原因", "Why the office returned it"),
                                text=Label(why, why) if why else Label("（未说明）", "(none given)")))
    todo = [Line(Label(r["zh"], r["en"]), Label("待填写", "to fill in"), "bad")
            for r in spec_of.missing(spec, figures)]
    todo += [Line(Label(r["zh"], r["en"]), Label("需说明原因", "needs a reason"), "warn")
             for r in spec_of.unexplained(spec, figures, _last(session, case), case.data.get("explanations") or {})]
    if todo:
        sections.append(Section("to_do", Label("报送前还需", "Before submitting"), lines=tuple(todo)))
    else:
        sections.append(Section("to_do", Label("报送前还需", "Before submitting"), text=Label(
            "各项数据已填写完整，变化较大的已说明原因，可以报送。",
            "Every figure is filled in and every large change explained: the report can be submitted.")))
    return sections


@panel("statistics_report", states=("submitted",), roles=("office",))
def to_check(session: Session, case: Case, actor: Actor, now: datetime) -> list[Section]:
    """The figures that moved by more than the allowed share since last year, each with the county's reason."""
    spec = spec_of.statistics_spec()
    figures = case.data.get("figures") or {}
    last = _last(session, case)
    explanations = case.data.get("explanations") or {}
    moved = spec_of.anomalies(spec, figures, last)
    if last is None:
        return [Section("changes", Label("与上年比较", "Against last year"),
                        text=Label("该镇没有上年已审核的统计数据，无法比较。",
                                   "The town has no accepted figures of an earlier year to compare with."))]
    if not moved:
        return [Section("changes", Label("与上年比较", "Against last year"), text=Label(
            f"各项数据与上年相比变化均未超过 {spec.max_change * 100:.0f}%。",
            f"No figure moved by more than {spec.max_change * 100:.0f}% since last year."))]
    lines = tuple(Line(Label(a.reason["zh"], a.reason["en"]),
                       Label(explanations.get(a.field.key, "（未说明）"), explanations.get(a.field.key, "(none)")),
                       "warn") for a in moved)
    return [Section("changes", Label("变化较大的数据及县区说明", "Large changes and the county's reasons"),
                    lines=lines)]
