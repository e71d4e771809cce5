"""The round's guards and actions (definitions/provincial_recommendation.yaml), and the services the pages and the
API call: opening a round, choosing its towns, recording the province's answer for a town (and closing the round
once every town is answered).

The towns' registry records move by their own transitions, by name, through the engine: `recommend_provincial`
on approval (the system's since town.yaml version 3; on an older record the office's own step, fired as the office
user who submitted the round), `record_provincial` and `record_not_provincial` as the office records an answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from workflow.core.access import MAX_ID
from workflow.core.actors import Actor
from workflow.core.catalog import CATALOG
from workflow.core.engine import FireContext, create_case, fire
from workflow.core.errors import Unprocessable
from workflow.core.models import Attachment, Case, Town, Unit, User
from workflow.core.queries import office_unit, registry_case
from workflow.core.reasons import reason
from workflow.core.registry import action, guard
from workflow.recommendation.criteria import reasons_for

KEY = "provincial_recommendation"
OPEN_STATES = ("selecting", "leader_approval")  # a town chosen in a round still to be approved is held by it
MAX_TOWNS = 50
MAX_BATCH = 99
ANSWERS = {"approved": ("省级认定", "designated provincial"), "refused": ("未获省级认定", "not designated")}


def round_title(year: int, batch: int) -> str:
    return f"{year}年第{batch}批省级专业镇推荐上报"


def round_label(data: dict[str, Any]) -> str:
    return f"{data.get('recommendation_year')}年第{data.get('batch_no')}批"


def rounds(session: Session) -> list[Case]:
    """Every round, newest first."""
    return list(session.exec(select(Case).where(Case.definition_key == KEY).order_by(col(Case.id).desc())).all())


def _year_batch(session: Session, year: int, batch: int) -> Case | None:
    return session.exec(select(Case).where(Case.definition_key == KEY,
                                           col(Case.data)["recommendation_year"].as_integer() == year,
                                           col(Case.data)["batch_no"].as_integer() == batch)).first()


def open_round(session: Session, *, actor: Actor, now: datetime, year: Any, batch: Any) -> Case:
    """Open the round of `year` and `batch` (the office's; held by the office's unit)."""
    data = {"recommendation_year": year, "batch_no": batch}
    title = round_title(year, batch) if isinstance(year, int) and isinstance(batch, int) else None
    return create_case(session=session, definition_key=KEY, actor=actor, now=now, county_id=office_unit(session).id,
                       title=title, data=data)


@guard("round_valid")
def round_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """A year from 2020 to next year and a batch from 1 to 99, never two rounds of the same year and batch."""
    year, batch = ctx.payload.get("recommendation_year"), ctx.payload.get("batch_no")
    found = []
    if isinstance(year, bool) or not isinstance(year, int) or not 2020 <= year <= ctx.today.year + 1:
        found.append(reason(f"推荐年度应为 2020～{ctx.today.year + 1} 之间的年份",
                            f"the year must be from 2020 to {ctx.today.year + 1}", "recommendation_year"))
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= MAX_BATCH:
        found.append(reason(f"批次应为 1～{MAX_BATCH} 之间的整数", f"the batch must be from 1 to {MAX_BATCH}",
                            "batch_no"))
    if not found and _year_batch(ctx.session, int(year), int(batch)) is not None:  # type: ignore[arg-type]  # checked above
        found.append(reason(f"{year}年第{batch}批推荐已经存在", f"round {year} batch {batch} exists already",
                            "batch_no"))
    return found


def held_elsewhere(session: Session, town_id: int, case_id: int | None) -> Case | None:
    """Another round not yet approved that holds the town."""
    for other in session.exec(select(Case).where(Case.definition_key == KEY, col(Case.state).in_(OPEN_STATES))):
        if other.id != case_id and town_id in (other.data or {}).get("selected_towns", []):
            return other
    return None


def town_reasons(session: Session, town_id: Any, case_id: int | None, today: Any) -> list[dict[str, Any]]:
    """Why the town may not be chosen for this round ([]: it may)."""
    town = session.get(Town, town_id) if isinstance(town_id, int) and not isinstance(town_id, bool) \
        and 0 < town_id <= MAX_ID else None
    if town is None:
        return [reason(f"专业镇 {town_id} 不存在", f"no town {town_id}", "selected_towns")]
    found = [reason(f"{town.name}：{r['zh']}", f"{town.name}: {r['en']}", "selected_towns")
             for r in reasons_for(session, town_id, today)]
    other = held_elsewhere(session, town_id, case_id)
    if other is not None:
        found.append(reason(f"{town.name}：已列入{other.number}（{other.title}）",
                            f"{town.name}: already in {other.number}", "selected_towns"))
    return found


@guard("towns_recommendable")
def towns_recommendable(ctx: FireContext) -> list[dict[str, Any]]:
    """The towns chosen: a list of 1 to 50 town ids, each meeting the criteria and in no other open round."""
    towns = ctx.payload.get("selected_towns")
    if not isinstance(towns, list) or not towns or len(towns) > MAX_TOWNS or len(set(map(str, towns))) != len(towns):
        return [reason(f"请选择 1～{MAX_TOWNS} 个不重复的专业镇", f"choose 1 to {MAX_TOWNS} towns, each once",
                       "selected_towns")]
    return [r for t in towns for r in town_reasons(ctx.session, t, ctx.case.id, ctx.today)]


@guard("selection_recommendable")
def selection_recommendable(ctx: FireContext) -> list[dict[str, Any]]:
    """At least one town chosen, and each still meets the criteria today."""
    towns = ctx.case.data.get("selected_towns") or []
    if not towns:
        return [reason("尚未选择推荐对象", "no town chosen yet", "selected_towns")]
    return [r for t in towns for r in town_reasons(ctx.session, t, ctx.case.id, ctx.today)]


@action("note_submitter")
def note_submitter(ctx: FireContext) -> None:
    """Who in the office submitted the list (the round's recommendation of an older record is theirs)."""
    ctx.data["submitted_by_id"] = ctx.actor.user_id
    ctx.data["submitted_at"] = ctx.now.isoformat(timespec="seconds")


def _submitter(session: Session, data: dict[str, Any]) -> Actor | None:
    user = session.get(User, data.get("submitted_by_id")) if isinstance(data.get("submitted_by_id"), int) else None
    return Actor.of(user, session.get(Unit, user.unit_id) if user.unit_id else None) if user else None


def fire_on_record(ctx: FireContext, record: Case, trigger: str, payload: dict[str, Any], *,
                   office: Actor | None, comment: str | None = None) -> Case:
    """Fire `trigger` on a town's registry record: as the system where its version makes it the system's, else as
    the office; the payload keeps only what the record's version accepts."""
    definition = CATALOG.get(record.definition_key, record.definition_version, ctx.session)
    spec = definition.transition(trigger, record.state)
    if spec is None:
        raise Unprocessable(f"专业镇档案 {record.number} 当前为“{definition.state_label(record.state)}”，"
                            f"不能执行“{definition.trigger_label(trigger)}”",
                            f"the town record {record.number} is in state '{record.state}'")
    actor = Actor.system() if spec.system else office
    if actor is None:
        raise Unprocessable("找不到报送推荐名单的办公室人员", "the office user who submitted the round is gone")
    allowed = set(spec.accepts) | set(spec.requires)
    assert record.id is not None
    return fire(session=ctx.session, case_id=record.id, trigger=trigger, actor=actor, now=ctx.now,
                calendar=ctx.calendar, comment=comment,
                payload={k: v for k, v in payload.items() if k in allowed})


@action("recommend_towns")
def recommend_towns(ctx: FireContext) -> None:
    """Move each chosen town's record to 推荐省级 and assemble the dossier with the recommendation letters."""
    from workflow.recommendation.dossier import assemble

    office = _submitter(ctx.session, ctx.data)
    towns = [int(t) for t in ctx.data.get("selected_towns") or []]
    records = {}
    for town_id in towns:
        record = registry_case(ctx.session, town_id)
        assert record is not None  # the guard checked that the town is municipal
        fire_on_record(ctx, record, "recommend_provincial",
                       {"recommendation_id": ctx.case.id, "recommended_date": ctx.today.isoformat()}, office=office)
        records[str(town_id)] = record.id
    ctx.data["records"] = records
    ctx.data["answers"] = {}
    ctx.data["approved_at"] = ctx.now.isoformat(timespec="seconds")
    ctx.data.update(assemble(ctx, towns))
    ctx.audit_data.update(towns=towns, dossier_id=ctx.data["dossier_id"], letters=ctx.data["letters"])


@guard("province_answer_valid")
def province_answer_valid(ctx: FireContext) -> list[dict[str, Any]]:
    """A town of the round not answered yet; approved with the province's document (an attachment of the round),
    refused with the comment."""
    town_id, answer = ctx.payload.get("answer_town_id"), ctx.payload.get("answer")
    found = []
    towns = ctx.case.data.get("selected_towns") or []
    if town_id not in towns:
        found.append(reason("该镇不在本批推荐名单中", "the town is not in this round", "answer_town_id"))
    elif str(town_id) in (ctx.case.data.get("answers") or {}):
        found.append(reason("该镇的省级结果已经登记", "the town's answer is recorded already", "answer_town_id"))
    if answer not in ANSWERS:
        found.append(reason("请选择省级认定结果（获认定 / 未获认定）", "choose the answer: approved or refused",
                            "answer"))
    document = ctx.payload.get("province_document_id")
    if answer == "approved":
        row = ctx.session.get(Attachment, document) if isinstance(document, int) else None
        if row is None or row.case_id != ctx.case.id:
            found.append(reason("获省级认定的，须上传省级认定文件", "attach the province's document of the designation",
                                "province_document_id"))
    if answer == "refused" and not ctx.comment:
        found.append(reason("未获省级认定的，须填写说明", "say why the province refused", "comment"))
    return found


@action("apply_answer")
def apply_answer(ctx: FireContext) -> None:
    """The answer on the town's record: record_provincial with the province's document (a copy kept on the town),
    or record_not_provincial with the comment."""
    from workflow.core.attachments import store_bytes, stored_path, upload_root

    town_id, answer = int(ctx.payload["answer_town_id"]), ctx.payload["answer"]
    record = registry_case(ctx.session, town_id)
    assert record is not None
    entry: dict[str, Any] = {"answer": answer, "at": ctx.now.isoformat(timespec="seconds"), "by": ctx.actor.name}
    if answer == "approved":
        row = ctx.session.get(Attachment, ctx.payload["province_document_id"])
        assert row is not None
        copy = store_bytes(session=ctx.session, actor=ctx.actor, data=stored_path(upload_root(), row.sha256)
                           .read_bytes(), filename=row.filename, content_type=row.content_type,
                           kind="province_document", now=ctx.now, town_id=town_id)
        fire_on_record(ctx, record, "record_provincial",
                       {"recommendation_id": ctx.case.id, "province_document_id": copy.id}, office=ctx.actor)
        entry["document_id"] = row.id
    else:
        fire_on_record(ctx, record, "record_not_provincial", {"recommendation_id": ctx.case.id}, office=ctx.actor,
                       comment=ctx.comment)
        entry["comment"] = ctx.comment
    answers = dict(ctx.data.get("answers") or {})
    answers[str(town_id)] = entry
    ctx.data["answers"] = answers
    ctx.data.pop("answer_town_id", None)
    ctx.data.pop("answer", None)
    ctx.data.pop("province_document_id", None)
    ctx.audit_data.update(town_id=town_id, answer=answer, record=record.number)


@guard("all_answered")
def all_answered(ctx: FireContext) -> list[dict[str, Any]]:
    """Every town of the round has the province's answer."""
    answers = ctx.case.data.get("answers") or {}
    waiting = [t for t in ctx.case.data.get("selected_towns") or [] if str(t) not in answers]
    if waiting:
        return [reason(f"尚有 {len(waiting)} 个镇未登记省级结果", f"{len(waiting)} towns still without an answer")]
    return []


def record_answer(session: Session, *, actor: Actor, now: datetime, case_id: int, town_id: Any, answer: Any,
                  document_id: int | None = None, comment: str | None = None) -> Case:
    """Record the province's answer for one town of the round; the round closes when every town is answered."""
    payload: dict[str, Any] = {"answer_town_id": town_id, "answer": answer}
    if document_id is not None:
        payload["province_document_id"] = document_id
    case = fire(session=session, case_id=case_id, trigger="record_answer", actor=actor, now=now, payload=payload,
                comment=comment)
    if not all_answered_now(case):
        return case
    return fire(session=session, case_id=case_id, trigger="close_round", actor=Actor.system(), now=now)


def all_answered_now(case: Case) -> bool:
    answers = case.data.get("answers") or {}
    return all(str(t) in answers for t in case.data.get("selected_towns") or [])
