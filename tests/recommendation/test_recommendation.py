"""Recommending towns to the province (推荐上报): the criteria as data, the shortlist with the reasons of the towns
that miss them, a round from the office's choice through the leader's approval (the records moved, the dossier
.zip with its manifest and letters) to the province's answers recorded town by town; the leader's return."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import docx
import pytest
import recommendation_world
from recommendation_world import NOW, open_round, order, step
from sqlmodel import select

from workflow.core.attachments import store_upload
from workflow.core.db import transaction
from workflow.core.errors import Unprocessable
from workflow.core.models import Attachment, AuditEvent
from workflow.core.queries import registry_case
from workflow.recommendation.criteria import CriteriaError, parse_criteria, reasons_for, shortlist
from workflow.recommendation.rules import record_answer

world = recommendation_world.world  # the fixture

GOOD = """key: provincial_criteria
version: 1
label: {zh: 条件, en: Criteria}
min_municipal_years: 1
statistics: {min_output_yi: 20, max_age_years: 2}
evaluation: {max_age_years: 2, min_score_percent: 70, max_rank: 5}
blocking_rectification_states: [overdue]
"""


def test_the_criteria_load_and_a_broken_file_names_each_problem():
    assert parse_criteria(GOOD, "c.yaml", {"overdue"}).min_output_yi == 20
    bad = GOOD.replace("min_output_yi: 20", "min_output_yi: -1").replace("[overdue]", "[late]") \
        .replace("max_rank: 5", "max_rank: 0")
    with pytest.raises(CriteriaError) as info:
        parse_criteria(bad + "colour: red\n", "provincial_criteria.yaml", {"overdue"})
    assert info.value.errors == [
        "provincial_criteria.yaml: colour: unknown key",
        "provincial_criteria.yaml: statistics.min_output_yi: must be a number from 0",
        "provincial_criteria.yaml: evaluation.max_rank: must be a whole number of at least 1",
        "provincial_criteria.yaml: blocking_rectification_states: unknown state 'late' of rectification",
    ]


def test_the_shortlist_gives_every_municipal_town_with_the_reasons_it_misses(db, world, make):
    order(make, world, world["towns"]["乙镇"], "overdue")
    with transaction(db) as s:
        rows = {r.town: r for r in shortlist(s, NOW.date())}
    assert rows["甲镇"].is_eligible and next(iter(rows)) == "甲镇"
    assert [r["zh"] for r in rows["乙镇"].reasons] == [
        f"有逾期未整改或被通报批评的整改通知：{rows['乙镇'].reasons[0]['zh'].split('：')[1]}"]
    assert [r["zh"] for r in rows["丙镇"].reasons] == [
        "认定为市级专业镇未满 1 年（认定日期 2027-01-10）",
        "2026 年主导产业产值 12 亿元，低于 20 亿元",
        "2026 年度评价总分 55 / 100，低于满分的 60%",
        "2026 年度评价排名第 9 位，未进入前 5 名"]
    assert rows["丙镇"].reasons[1]["en"] == "the leading industry's output of 2026 is 12 亿元, under 20 亿元"


def test_a_town_without_statistics_or_evaluation_is_told_so(db, world, make):
    from recommendation_world import designated

    town = designated(make, db, "丁镇", output=None, total=None)
    with transaction(db) as s:
        assert [r["en"] for r in reasons_for(s, town.id, NOW.date())] == [
            "no accepted annual statistics of 2025 or later", "no final annual evaluation of 2025 or later"]


def _answer_document(db, world, case):
    with transaction(db) as s:
        return store_upload(session=s, actor=world["office"], case_id=case.id, filename="省级认定文件.pdf",
                            stream=io.BytesIO(b"%PDF-1.4\n% province\n%%EOF\n"), now=NOW,
                            upload_dir=_upload_root(), kind="province_document")


def _upload_root():
    from workflow.core.attachments import upload_root

    return upload_root()


def test_a_town_missing_a_criterion_is_refused_with_the_reason(db, world):
    case = open_round(db, world)
    with pytest.raises(Unprocessable) as info:
        step(db, world["office"], case, "select_towns", payload={"selected_towns": [world["towns"]["丙镇"].id]})
    assert "丙镇：2026 年主导产业产值 12 亿元，低于 20 亿元" in info.value.zh
    with pytest.raises(Unprocessable) as info:
        step(db, world["office"], case, "submit_recommendation")
    assert "尚未选择推荐对象" in info.value.zh


def test_a_round_from_the_shortlist_to_the_provinces_answers(db, world):
    towns = world["towns"]
    case = open_round(db, world)
    assert case.title == "2027年第1批省级专业镇推荐上报" and case.number.startswith("SJ-2027-")
    step(db, world["office"], case, "select_towns", payload={"selected_towns": [towns["甲镇"].id, towns["乙镇"].id]})
    step(db, world["office"], case, "submit_recommendation")
    case = step(db, world["leader"], case, "approve_recommendation")
    assert case.state == "awaiting_province"
    with transaction(db) as s:
        records = {n: registry_case(s, towns[n].id) for n in ("甲镇", "乙镇")}
        dossier = s.get(Attachment, case.data["dossier_id"])
        letter_on_town = s.exec(select(Attachment).where(Attachment.town_id == towns["甲镇"].id,
                                                         Attachment.kind == "recommendation_letter")).one()
    assert {r.state for r in records.values()} == {"recommended_provincial"}
    assert records["甲镇"].data["recommendation_id"] == case.id
    from workflow.core.attachments import stored_path

    package = zipfile.ZipFile(io.BytesIO(stored_path(_upload_root(), dossier.sha256).read_bytes()))
    manifest = json.loads(package.read("manifest.json"))
    assert manifest["round"] == case.number and manifest["towns"] == [towns["甲镇"].id, towns["乙镇"].id]
    for entry in manifest["files"]:
        assert hashlib.sha256(package.read(entry["path"])).hexdigest() == entry["sha256"]
    kinds = {(e["town"], e["kind"]) for e in manifest["files"]}
    assert {("甲镇", "recommendation_letter"), ("甲镇", "statistics"), ("甲镇", "evaluation"),
            ("乙镇", "recommendation_letter")} <= kinds
    number = case.data["letters"][str(towns["甲镇"].id)]["number"]
    assert number == "阳专镇荐〔2027〕1号" and letter_on_town.filename == f"{number}.docx"
    letter = next(e["path"] for e in manifest["files"] if e["town"] == "甲镇" and e["kind"] == "recommendation_letter")
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(package.read(letter))).paragraphs)
    assert number in text and "关于推荐盂县甲镇申报省级专业镇的函" in text and "2026年主导产业产值 30 亿元" in text
    assert json.loads(package.read(f"甲镇-{towns['甲镇'].id}/年度统计-2026.json"))["output_yi"] == 30

    document = _answer_document(db, world, case)
    with transaction(db) as s, pytest.raises(Unprocessable) as info:
        record_answer(s, actor=world["office"], now=NOW, case_id=case.id, town_id=towns["乙镇"].id,
                      answer="refused")
    assert "须填写说明" in info.value.zh
    with transaction(db) as s:
        case = record_answer(s, actor=world["office"], now=NOW, case_id=case.id, town_id=towns["甲镇"].id,
                             answer="approved", document_id=document.id)
    assert case.state == "awaiting_province"
    with transaction(db) as s:
        case = record_answer(s, actor=world["office"], now=NOW, case_id=case.id, town_id=towns["乙镇"].id,
                             answer="refused", comment="产值未达到省级标准")
    assert case.state == "closed" and case.closed_at is not None
    with transaction(db) as s:
        records = {n: registry_case(s, towns[n].id) for n in ("甲镇", "乙镇")}
        copy = s.exec(select(Attachment).where(Attachment.town_id == towns["甲镇"].id,
                                               Attachment.kind == "province_document")).one()
        events = s.exec(select(AuditEvent).where(AuditEvent.case_id == records["乙镇"].id)
                        .order_by(AuditEvent.seq)).all()
    assert records["甲镇"].state == "provincial" and records["甲镇"].data["province_document_id"] == copy.id
    assert records["乙镇"].state == "municipal"
    assert events[-1].trigger == "record_not_provincial" and events[-1].comment == "产值未达到省级标准"
    assert events[-1].actor_name == world["office"].name


def test_the_leader_returns_the_list_with_a_comment(db, world):
    case = open_round(db, world)
    step(db, world["office"], case, "select_towns", payload={"selected_towns": [world["towns"]["甲镇"].id]})
    step(db, world["office"], case, "submit_recommendation")
    with pytest.raises(Unprocessable) as info:
        step(db, world["leader"], case, "return_recommendation")
    assert "必须填写意见" in info.value.zh
    case = step(db, world["leader"], case, "return_recommendation", comment="请补充乙镇")
    assert case.state == "selecting"
    with transaction(db) as s:
        assert registry_case(s, world["towns"]["甲镇"].id).state == "municipal"


def test_a_town_is_in_one_open_round_at_a_time_and_a_year_batch_once(db, world):
    first = open_round(db, world)
    step(db, world["office"], first, "select_towns", payload={"selected_towns": [world["towns"]["甲镇"].id]})
    second = open_round(db, world, batch=2)
    with pytest.raises(Unprocessable) as info:
        step(db, world["office"], second, "select_towns", payload={"selected_towns": [world["towns"]["甲镇"].id]})
    assert f"甲镇：已列入{first.number}" in info.value.zh
    with pytest.raises(Unprocessable) as info:
        open_round(db, world)
    assert "2027年第1批推荐已经存在" in info.value.zh


def test_a_record_on_town_version_2_is_recommended_as_the_office_who_submitted(db, world):
    """Records designated before town.yaml version 3 keep their version: their recommend_provincial is the office's,
    fired on approval as the office user who submitted the round."""
    import hashlib as h
    from pathlib import Path

    import sqlalchemy as sa

    from workflow.core.models import Case, DefinitionSource

    source = (Path(__file__).parents[1] / "fixtures" / "recommendation" / "town_v2.yaml").read_text(encoding="utf-8")
    town = world["towns"]["甲镇"]
    with transaction(db) as s:
        s.add(DefinitionSource(key="town", version=2, sha256=h.sha256(source.encode()).hexdigest(), source=source,
                               loaded_at=NOW))
        record = registry_case(s, town.id)
        s.connection().execute(sa.update(Case.__table__).where(Case.__table__.c.id == record.id)
                               .values(definition_version=2))
    case = open_round(db, world)
    step(db, world["office"], case, "select_towns", payload={"selected_towns": [town.id]})
    step(db, world["office"], case, "submit_recommendation")
    step(db, world["leader"], case, "approve_recommendation")
    with transaction(db) as s:
        record = registry_case(s, town.id)
        event = s.exec(select(AuditEvent).where(AuditEvent.case_id == record.id)
                       .order_by(AuditEvent.seq.desc())).first()
    assert record.state == "recommended_provincial" and record.definition_version == 2
    assert (event.trigger, event.role, event.actor_id) == ("recommend_provincial", "office", world["office"].user_id)
    assert "recommendation_id" not in record.data  # version 2 accepts no payload on this step
