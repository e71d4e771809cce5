"""The statistics report's guards and actions (definitions/statistics_report.yaml): figures checked against
definitions/statistics.yaml, complete before submit, anomalies explained; accepting writes the town's year."""

from __future__ import annotations

from typing import Any

from workflow.core.engine import FireContext
from workflow.core.registry import action, guard
from workflow.statistics import fields as spec_of
from workflow.statistics.history import accept_year, last_accepted

MAX_EXPLANATION = 500


def _spec(ctx: FireContext) -> spec_of.StatisticsSpec:
    """The report's fields (definitions/statistics.yaml; the version is kept with the figures)."""
    return spec_of.statistics_spec()


def _explanations(ctx: FireContext) -> tuple[dict[str, str], list[dict[str, Any]]]:
    raw = ctx.data.get("explanations") or {}
    if not isinstance(raw, dict):
        return {}, [spec_of.reason("explanations", "情况说明格式不正确", "explanations must be a mapping")]
    spec = _spec(ctx)
    found, problems = {}, []
    for key, text in raw.items():
        field = spec.field(str(key))
        if field is None or not isinstance(text, str):
            problems.append(spec_of.reason("explanations", f"没有统计项 {key}", f"no field {key}"))
            continue
        text = text.strip()
        if len(text) > MAX_EXPLANATION:
            problems.append(spec_of.reason(field.key, f"{field.label.zh}的情况说明不能超过 {MAX_EXPLANATION} 字",
                                           f"the explanation of {field.label.en} is longer than {MAX_EXPLANATION}"))
        elif text:
            found[field.key] = text
    return found, problems


@guard("figures_valid")
def figures_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """Every value fits its field (number, whole number, range, items); unknown fields are named."""
    _, problems = spec_of.read_figures(_spec(ctx), ctx.data.get("figures"))
    return problems + _explanations(ctx)[1]


@guard("figures_complete")
def figures_complete(ctx: FireContext) -> list[dict[str, Any]]:
    """Every required figure is filled in before the report is submitted."""
    figures, problems = spec_of.read_figures(_spec(ctx), ctx.data.get("figures"))
    return [] if problems else spec_of.missing(_spec(ctx), figures)


@guard("anomalies_explained")
def anomalies_explained(ctx: FireContext) -> list[dict[str, Any]]:
    """A figure that moved by more than the allowed share since the town's last accepted year is explained."""
    figures, problems = spec_of.read_figures(_spec(ctx), ctx.data.get("figures"))
    if problems or ctx.case.town_id is None:
        return []
    last = last_accepted(ctx.session, ctx.case.town_id, before=int(ctx.data["report_year"]))
    return spec_of.unexplained(_spec(ctx), figures, last.figures if last else None, _explanations(ctx)[0])


@action("keep_figures")
def keep_figures(ctx: FireContext) -> None:
    """Store the figures as read (numbers as numbers, items cleaned) and the explanations that are given."""
    spec = _spec(ctx)
    ctx.data["figures"], _ = spec_of.read_figures(spec, ctx.data.get("figures"))
    ctx.data["explanations"], _ = _explanations(ctx)
    ctx.data["spec_version"] = spec.version


@action("apply_figures")
def apply_figures(ctx: FireContext) -> None:
    """The accepted year becomes the town's: its row of statistics, its output and, with it, its tier."""
    change = accept_year(ctx.session, case=ctx.case, figures=ctx.data["figures"],
                         spec_version=int(ctx.data.get("spec_version", _spec(ctx).version)), now=ctx.now)
    ctx.audit_data.update(change)
