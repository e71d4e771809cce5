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
from recommendation_world import NOW, approved_round, open_round, order, step
from sqlmodel import select

from conftest import on_town_version_2
from workflow.core.attachments import store_upload
from workflow.core.db import transaction
from workflow.core.errors import Unprocessable
from workflow.core.models import Attachment, AuditEvent
from workflow.core.queries import registry_case
from workflow.recommendation.criteria import CriteriaError, parse_criteria, reasons_for, shortlist
from workflow.recommendation.rules import record_answer, round_label, rounds

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
    town = world["towns"]["甲镇"]
    on_town_version_2(db, town, now=NOW)
    approved_round(db, world, [town.id])
    with transaction(db) as s:
        record = registry_case(s, town.id)
        event = s.exec(select(AuditEvent).where(AuditEvent.case_id == record.id)
                       .order_by(AuditEvent.seq.desc())).first()
    assert record.state == "recommended_provincial" and record.definition_version == 2
    office = world["office"]
    assert (event.trigger, event.role, event.actor_id, event.actor_name, event.unit_id, event.unit_name) == (
        "recommend_provincial", "office", office.user_id, "office用户", office.unit_id, "市工信局")
    assert "recommendation_id" not in record.data  # version 2 accepts no payload on this step


def _submitted_by(db, case, user_id):
    """The round's data as it names its submitter: `user_id`, or no submitter at all when None."""
    import sqlalchemy as sa

    from workflow.core.models import Case

    with transaction(db) as s:
        data = {k: v for k, v in s.get(Case, case.id).data.items() if k != "submitted_by_id"}
        if user_id is not None:
            data["submitted_by_id"] = user_id
        s.connection().execute(sa.update(Case.__table__).where(Case.__table__.c.id == case.id).values(data=data))


@pytest.mark.parametrize("submitter", ["gone", "unknown"])
def test_an_older_record_is_not_recommended_without_the_office_user_who_submitted(db, world, submitter):
    """An older record's recommend_provincial is the office's: with the submitter's account gone, or no submitter on
    the round, approval is refused and nothing moves; a record on the current version is the system's and moves."""
    from workflow.core.models import User

    jia, yi = world["towns"]["甲镇"], world["towns"]["乙镇"]
    on_town_version_2(db, jia, now=NOW)
    older = open_round(db, world)
    step(db, world["office"], older, "select_towns", payload={"selected_towns": [jia.id]})
    step(db, world["office"], older, "submit_recommendation")
    current = open_round(db, world, batch=2)
    step(db, world["office"], current, "select_towns", payload={"selected_towns": [yi.id]})
    step(db, world["office"], current, "submit_recommendation")
    with transaction(db) as s:
        missing = max(s.exec(select(User.id)).all()) + 1
    for case in (older, current):
        _submitted_by(db, case, missing if submitter == "gone" else None)

    with pytest.raises(Unprocessable) as info:
        step(db, world["leader"], older, "approve_recommendation")
    assert (info.value.zh, info.value.en) == ("找不到报送推荐名单的办公室人员",
                                              "the office user who submitted the round is gone")
    assert recommendation_world.reload(db, older).state == "leader_approval"
    with transaction(db) as s:
        assert registry_case(s, jia.id).state == "municipal"

    assert step(db, world["leader"], current, "approve_recommendation").state == "awaiting_province"
    with transaction(db) as s:
        record = registry_case(s, yi.id)
        event = s.exec(select(AuditEvent).where(AuditEvent.case_id == record.id)
                       .order_by(AuditEvent.seq.desc())).first()
    assert record.state == "recommended_provincial" and record.data["recommendation_id"] == current.id
    assert (event.trigger, event.role, event.actor_id) == ("recommend_provincial", "system", None)


def test_rounds_are_listed_newest_first_and_a_batch_number_is_per_year(db, world):
    first = open_round(db, world, year=2027, batch=1)
    second = open_round(db, world, year=2026, batch=1)  # batch 1 of another year
    assert (second.title, round_label(second.data)) == ("2026年第1批省级专业镇推荐上报", "2026年第1批")
    with transaction(db) as s:
        assert [(c.id, c.definition_key) for c in rounds(s)] == [
            (second.id, "provincial_recommendation"), (first.id, "provincial_recommendation")]


def test_the_reasons_a_town_may_not_be_chosen_each_name_the_town_and_the_field(db, world):
    import sqlalchemy as sa

    from workflow.core.models import Town

    towns = world["towns"]
    jia = towns["甲镇"]
    open_round(db, world, batch=1)  # a round without towns yet holds none
    first = open_round(db, world, batch=2)
    step(db, world["office"], first, "select_towns", payload={"selected_towns": [jia.id]})
    case = open_round(db, world, batch=3)
    last = 2**31 - 1  # the last id an INTEGER column holds: a town of it is looked up
    with transaction(db) as s:
        s.connection().execute(sa.insert(Town.__table__).values(
            {**{c.key: getattr(jia, c.key) for c in Town.__table__.columns}, "id": last, "name": "最后一个镇"}))

    def refused(selected):
        with pytest.raises(Unprocessable) as info:
            step(db, world["office"], case, "select_towns", payload={"selected_towns": selected})
        return info.value.details

    assert refused([float(jia.id), str(jia.id), True, 0, 2**31, 2**63]) == [
        {"zh": f"专业镇 {jia.id}.0 不存在", "en": f"no town {jia.id}.0", "field": "selected_towns"},
        {"zh": f"专业镇 {jia.id} 不存在", "en": f"no town {jia.id}", "field": "selected_towns"},
        {"zh": "专业镇 True 不存在", "en": "no town True", "field": "selected_towns"},
        {"zh": "专业镇 0 不存在", "en": "no town 0", "field": "selected_towns"},
        {"zh": "专业镇 2147483648 不存在", "en": "no town 2147483648", "field": "selected_towns"},
        {"zh": "专业镇 9223372036854775808 不存在", "en": "no town 9223372036854775808", "field": "selected_towns"}]
    assert refused([towns["丙镇"].id]) == [
        {"zh": "丙镇：认定为市级专业镇未满 1 年（认定日期 2027-01-10）",
         "en": "丙镇: designated municipal less than 1 years ago (on 2027-01-10)", "field": "selected_towns"},
        {"zh": "丙镇：2026 年主导产业产值 12 亿元，低于 20 亿元",
         "en": "丙镇: the leading industry's output of 2026 is 12 亿元, under 20 亿元", "field": "selected_towns"},
        {"zh": "丙镇：2026 年度评价总分 55 / 100，低于满分的 60%",
         "en": "丙镇: the 2026 evaluation's total 55 / 100 is under 60% of the points", "field": "selected_towns"},
        {"zh": "丙镇：2026 年度评价排名第 9 位，未进入前 5 名",
         "en": "丙镇: ranked 9 in 2026, not within the first 5", "field": "selected_towns"}]
    assert refused([last]) == [{"zh": "最后一个镇：该镇当前不是市级专业镇，不能推荐省级",
                                "en": "最后一个镇: the town is not a municipal professional town now",
                                "field": "selected_towns"}]
    assert refused([jia.id]) == [{"zh": f"甲镇：已列入{first.number}（2027年第2批省级专业镇推荐上报）",
                                  "en": f"甲镇: already in {first.number}", "field": "selected_towns"}]
    assert step(db, world["office"], case, "select_towns",
                payload={"selected_towns": [towns["乙镇"].id]}).data["selected_towns"] == [towns["乙镇"].id]


def test_a_town_the_province_refused_may_be_chosen_in_a_later_round(db, world):
    jia = world["towns"]["甲镇"]
    first = approved_round(db, world, [jia.id])
    with transaction(db) as s:
        first = record_answer(s, actor=world["office"], now=NOW, case_id=first.id, town_id=jia.id, answer="refused",
                              comment="产值未达到省级标准")
    assert first.state == "closed"
    second = open_round(db, world, batch=2)
    second = step(db, world["office"], second, "select_towns", payload={"selected_towns": [jia.id]})
    assert second.data["selected_towns"] == [jia.id]


def test_the_answer_for_a_town_revoked_meanwhile_is_refused_with_its_records_state(db, world):
    jia = world["towns"]["甲镇"]
    case = approved_round(db, world, [jia.id])
    with transaction(db) as s:
        record = registry_case(s, jia.id)
    step(db, world["leader"], record, "revoke", comment="弄虚作假")
    with transaction(db) as s, pytest.raises(Unprocessable) as info:
        record_answer(s, actor=world["office"], now=NOW, case_id=case.id, town_id=jia.id, answer="refused",
                      comment="产值未达到省级标准")
    assert (info.value.zh, info.value.en) == (
        f"专业镇档案 {record.number} 当前为“撤销认定”，不能执行“登记省级未获认定”",
        f"the town record {record.number} is in state 'revoked'")
    assert recommendation_world.reload(db, case).data["answers"] == {}
