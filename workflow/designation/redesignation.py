"""Rolling re-designation (滚动认定复核, definitions/redesignation.yaml): opening the re-reviews as review dates
come near, the county's confirmation and its eligibility check, the leading group's renewal or exit.

It lives in the designation package because it applies the designation's own criteria (the eligibility table and
the application's fields) to a designated town again. The review dates it reads and the renewals it writes are
`workflow.core.review`'s; the town's latest accepted statistics are read from the `town_statistics` table; the
exit fires the registry record's `propose_revocation`, by name, through the engine.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.calendar import local_date
from workflow.core.catalog import CATALOG
from workflow.core.engine import FireContext, create_case, fire
from workflow.core.models import Case, Town, TownStatistics
from workflow.core.queries import registry_case
from workflow.core.registry import action, guard
from workflow.core.review import REVIEW_PROCESS, ReviewStatus, cycle_after, due_for_review, review_status
from workflow.core.yamlcheck import Label
from workflow.designation import application as app
from workflow.designation.application import reason
from workflow.designation.eligibility import Result, evaluate

LEAD_DAYS = 90  # calendar days before the review date that the re-review opens (ZYZ_REDESIGNATION_LEAD_DAYS)
MAX_NAMES = 50
MAX_TEXT = 2000
# The statistics' choices in the application's words (definitions/statistics.yaml → application.FIELDS).
BRAND_LEVELS = {"national": "national", "provincial": "province", "municipal": "city"}
STANDARD_LEVELS = {"national": "national", "industry": "industry", "local": "local"}  # association standards: none
STANDARD_ROLES = {"lead": "led", "participate": "joined"}
# The labels of the review's own fields (errors, the timeline).
FIELDS = {
    "confirmation": Label("复核说明", "Statement on the criteria"),
    "leading_enterprise_names": Label("龙头企业（每行一家）", "Leading enterprises (one a line)"),
    "new_review_date": Label("新的复核日期", "New review date"),
    "previous_review_date": Label("原复核日期", "Previous review date"),
    "eligibility": Label("认定条件核验", "Criteria check"),
    "statistics_year": Label("统计年度", "Statistics year"),
    "revocation_case_id": Label("专业镇档案", "Town record"),
}


# --- opening ---------------------------------------------------------------------------------------------------


def open_review(*, session: Session, town_id: int, now: datetime) -> Case:
    """Open the re-review of one designated town (refused when it is not designated or has one open)."""
    town = session.get(Town, town_id)
    status = review_status(session, town_id, local_date(now))
    when = status.review_date.isoformat() if status and status.review_date else "—"
    return create_case(session=session, definition_key=REVIEW_PROCESS, actor=Actor.system(), now=now,
                       town_id=town_id, title=f"滚动认定复核 · {town.name if town else ''}（复核日期 {when}）")


def open_due_reviews(*, session: Session, now: datetime, lead_days: int = LEAD_DAYS) -> list[Case]:
    """Open a re-review for every designated town whose review date is at most `lead_days` calendar days away (or
    has passed) and that has none under way; run daily by the scheduler, so a second run opens nothing."""
    due = due_for_review(session, local_date(now), lead_days)
    opened = [open_review(session=session, town_id=s.town_id, now=now) for s in due]
    if opened:
        audit.record(session, kind="redesignation_reviews_opened", now=now, actor=Actor.system(),
                     data={"reviews": [c.number for c in opened], "lead_days": lead_days})
    return opened


# --- the eligibility check on the latest statistics --------------------------------------------------------------


def latest_statistics(session: Session, town_id: int) -> TownStatistics | None:
    """The town's latest accepted year of statistics."""
    return session.exec(select(TownStatistics).where(TownStatistics.town_id == town_id)
                        .order_by(col(TownStatistics.year).desc())).first()


def _items(entries: Any) -> list[dict[str, Any]]:
    return [e for e in entries or [] if isinstance(e, dict) and str(e.get("name") or "").strip()]


def from_statistics(figures: dict[str, Any]) -> dict[str, Any]:
    """The application's fields that a year's statistics give: the output, the brands and the standards (an
    association standard has no counterpart among the application's kinds and is left out)."""
    found: dict[str, Any] = {}
    output = figures.get("output_yi")
    if isinstance(output, int | float) and not isinstance(output, bool):
        found["output_yi"] = output
    if "brands" in figures:
        found["brands"] = [{"name": str(b["name"])[:100], "level": BRAND_LEVELS[str(b.get("level"))]}
                           for b in _items(figures.get("brands")) if b.get("level") in BRAND_LEVELS]
    if "standards" in figures:
        found["standards"] = [{"name": str(s["name"])[:200], "level": STANDARD_LEVELS[str(s.get("kind"))],
                               "role": STANDARD_ROLES[str(s.get("role"))]}
                              for s in _items(figures.get("standards"))
                              if s.get("kind") in STANDARD_LEVELS and s.get("role") in STANDARD_ROLES]
    return found


def names_of(text: Any) -> list[str]:
    """The leading enterprises the county lists, one a line (blank lines and repeats left out)."""
    names: list[str] = []
    for line in str(text or "").splitlines():
        name = line.strip()
        if name and name not in names:
            names.append(name)
    return names


def from_county(data: dict[str, Any]) -> dict[str, Any]:
    """The application's fields that the county's confirmation gives."""
    found: dict[str, Any] = {}
    if data.get("leading_enterprise_names"):
        found["leading_enterprises"] = [{"name": n} for n in names_of(data["leading_enterprise_names"])]
    if isinstance(data.get("supporting_enterprises"), int):
        found["supporting_enterprises"] = data["supporting_enterprises"]
    return found


def review_basis(session: Session, case: Case, data: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
    """What the eligibility table is applied to: the town's designation application, then its latest accepted
    statistics over it, then the county's confirmation over both; and the statistics' year (None: none yet)."""
    basis: dict[str, Any] = {}
    record = registry_case(session, case.town_id) if case.town_id else None
    designation_id = (record.data or {}).get("designation_case_id") if record else None
    application = session.get(Case, designation_id) if isinstance(designation_id, int) else None
    if application is not None:
        basis.update({k: v for k, v in application.data.items() if k in app.FIELDS})
    town = session.get(Town, case.town_id) if case.town_id else None
    if town is not None and town.industry_category and "industry_category" not in basis:
        basis["industry_category"] = town.industry_category
    latest = latest_statistics(session, case.town_id) if case.town_id else None
    if latest is not None:
        basis.update(from_statistics(latest.figures or {}))
    basis.update(from_county(data))
    return basis, latest.year if latest else None


def check(session: Session, case: Case, data: dict[str, Any]) -> tuple[Result, int | None]:
    """The eligibility table on the review's basis."""
    basis, year = review_basis(session, case, data)
    return evaluate(basis), year


# --- guards and actions ------------------------------------------------------------------------------------------


def due_reasons(status: ReviewStatus | None) -> list[dict[str, Any]]:
    """Why a town may not get a re-review now: not designated, or one already under way."""
    if status is None or not status.designated:
        return [reason("该镇不是已认定的专业镇，不能开展滚动认定复核",
                       "the town is not a designated professional town; it has no re-designation review",
                       "town_id")]
    if status.open_case_id is not None:
        return [reason(f"该镇已有未办结的滚动认定复核（{status.open_case_number}）",
                       f"the town already has a re-designation review under way ({status.open_case_number})",
                       "town_id")]
    return []


@guard("town_due_for_review")
def town_due_for_review(ctx: FireContext) -> list[dict[str, Any]]:
    """The town is designated and has no re-review under way (never two open for a town)."""
    if ctx.case.town_id is None:
        return [reason("必须选择专业镇", "a town is required", "town_id")]
    return due_reasons(review_status(ctx.session, ctx.case.town_id, ctx.today))


def confirmation_reasons(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The county's confirmation: a statement, and where given a list of names and a whole number in range."""
    found = []
    text = payload.get("confirmation")
    if text is not None and (not isinstance(text, str) or len(text) > MAX_TEXT):
        found.append(reason(f"复核说明应为不超过 {MAX_TEXT} 字的文字", f"the statement must be text of at most "
                            f"{MAX_TEXT} characters", "confirmation"))
    names = payload.get("leading_enterprise_names")
    if names is not None and (not isinstance(names, str) or len(names) > MAX_TEXT
                              or len(names_of(names)) > MAX_NAMES):
        found.append(reason(f"龙头企业每行填写一家，最多 {MAX_NAMES} 家", f"list the leading enterprises one a "
                            f"line, at most {MAX_NAMES}", "leading_enterprise_names"))
    count = payload.get("supporting_enterprises")
    limit = app.FIELDS["supporting_enterprises"].max
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0
                              or (limit is not None and Decimal(count) > limit)):
        found.append(reason(f"上下游配套企业户数应为 0～{limit} 之间的整数",
                            f"supporting enterprises must be a whole number from 0 to {limit}",
                            "supporting_enterprises"))
    return found


@guard("review_confirmation_valid")
def review_confirmation_valid(ctx: FireContext) -> list[dict[str, Any]]:
    return confirmation_reasons(ctx.payload)


@guard("town_still_designated")
def town_still_designated(ctx: FireContext) -> list[dict[str, Any]]:
    """The designation can be renewed only while the town is still at a designated level."""
    status = review_status(ctx.session, ctx.case.town_id, ctx.today) if ctx.case.town_id else None
    if status is None or not status.designated:
        return [reason("该镇已不在已认定专业镇之列（可能已启动撤销），不能续期认定",
                       "the town is no longer designated (a revocation may be under way); it cannot be renewed",
                       "town_id")]
    return []


def exit_reasons(session: Session, record: Case | None) -> list[dict[str, Any]]:
    """The registry record can take a revocation proposal in its state (town.yaml: from municipal level)."""
    if record is None:
        return [reason("该镇没有档案记录", "the town has no registry record", "town_id")]
    registry = CATALOG.get(record.definition_key, record.definition_version, session)
    if registry.transition("propose_revocation", record.state) is None:
        level = registry.state_label(record.state)
        return [reason(f"该镇档案当前为“{level}”，不能提出撤销认定建议（须为市级专业镇）",
                       f"the town's record is '{registry.state_label(record.state, 'en')}'; a revocation can be "
                       "proposed only for a municipal town", "town_id")]
    return []


@guard("registry_takes_exit")
def registry_takes_exit(ctx: FireContext) -> list[dict[str, Any]]:
    record = registry_case(ctx.session, ctx.case.town_id) if ctx.case.town_id else None
    return exit_reasons(ctx.session, record)


@action("note_review_date")
def note_review_date(ctx: FireContext) -> None:
    """The review date the re-review is about, and the designation number, as they stand when it opens."""
    status = review_status(ctx.session, ctx.case.town_id, ctx.today) if ctx.case.town_id else None
    record = registry_case(ctx.session, ctx.case.town_id) if ctx.case.town_id else None
    if status is not None and status.review_date is not None:
        ctx.data["review_date"] = status.review_date.isoformat()
    if record is not None and record.data.get("designation_number"):
        ctx.data["designation_number"] = record.data["designation_number"]


@action("check_review_eligibility")
def check_review_eligibility(ctx: FireContext) -> None:
    """Apply the eligibility table to the latest statistics and the county's confirmation; keep the result."""
    result, year = check(ctx.session, ctx.case, ctx.data)
    ctx.data["eligibility"] = result.as_dict()
    ctx.data["statistics_year"] = year
    ctx.audit_data["eligibility_hard_failures"] = [c.key for c in result.hard_failures]


def next_review(previous: Any, today: Any) -> Any:
    """The review date after a renewal: a cycle after the previous one, or after today when that is past too."""
    following = cycle_after(previous) if previous is not None else cycle_after(today)
    return following if following > today else cycle_after(today)


@action("renew_designation")
def renew_designation(ctx: FireContext) -> None:
    """Write the next review date on the re-review (the registry reads the newest renewal) and say so on the
    town's record."""
    assert ctx.case.town_id is not None  # town_still_designated refused it otherwise
    status = review_status(ctx.session, ctx.case.town_id, ctx.today)
    previous = status.review_date if status else None
    following = next_review(previous, ctx.today)
    ctx.data["previous_review_date"] = previous.isoformat() if previous else None
    ctx.data["new_review_date"] = following.isoformat()
    ctx.audit_data["new_review_date"] = following.isoformat()
    record = registry_case(ctx.session, ctx.case.town_id)
    audit.record(ctx.session, kind="designation_renewed", now=ctx.now, actor=ctx.actor,
                 case_id=record.id if record else None, county_id=ctx.case.county_id,
                 data={"review_case": ctx.case.number, "previous_review_date": ctx.data["previous_review_date"],
                       "new_review_date": following.isoformat()})


@action("propose_exit")
def propose_exit(ctx: FireContext) -> None:
    """Start the exit: the town record's revocation proposal, with the leading group's reasons."""
    record = registry_case(ctx.session, ctx.case.town_id)  # type: ignore[arg-type]  # registry_takes_exit found it
    assert record is not None and record.id is not None
    grounds = f"滚动认定复核（{ctx.case.number}）决定启动退出程序：{ctx.comment or ''}"
    fire(session=ctx.session, case_id=record.id, trigger="propose_revocation", actor=Actor.system(), now=ctx.now,
         calendar=ctx.calendar, payload={"revocation_reason": grounds[:MAX_TEXT]})
    ctx.data["revocation_case_id"] = record.id
