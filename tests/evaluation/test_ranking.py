"""The year's ranking (issue 16 §2–3): submitted by the office only once every town's scores are final, kept as
submitted, returned by the leader with a comment (the office may then reopen a town's scores) or approved; approval
publishes it, issues the praise notice (its own 文号 series, on each praised town's record, acknowledged by the
county), a 督办 order per town at the bottom (a rectification order on the usual path), and a revocation proposal
for a town at the bottom two years running; every town's evaluation then ends with its rank."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from docx import Document
from sqlmodel import select
from test_campaign import NOW, designated, step, targets

from conftest import login, on_town_version_2
from workflow.core.actors import Actor
from workflow.core.attachments import stored_path, upload_root
from workflow.core.db import transaction
from workflow.core.errors import Unprocessable
from workflow.core.models import Attachment, AuditEvent, Case, NoticeReceipt
from workflow.core.panels import case_panel
from workflow.core.queries import registry_case
from workflow.core.sweep import sweep
from workflow.core.yamlcheck import Label
from workflow.evaluation import values as v
from workflow.evaluation.campaign import open_evaluation
from workflow.evaluation.history import town_history
from workflow.evaluation.indicators import TieBreaker, evaluation_spec
from workflow.evaluation.ranking import history_label, published, ranking_case, supervision_problem, tie_label

JOBS = {"甲镇": "1000", "乙镇": "800", "丙镇": "600", "丁镇": "400", "戊镇": "100"}  # 市人社局's figure: 5 … 0 points


@pytest.fixture
def world(make, db):
    office, leader = make.user("office"), make.user("leader")
    county = make.user("county", county="盂县")
    units = {name: make.user("member", unit=name) for name in v.member_providers(evaluation_spec())}
    towns = {name: designated(make, db, name) for name in JOBS}
    return {"office": make.actor(office), "leader": make.actor(leader), "county": make.actor(county),
            "towns": towns, "units": {name: make.actor(user) for name, user in units.items()}}


def assessment() -> dict[str, str]:
    spec = evaluation_spec()
    given = {"digital_projects": "3", "town_policy": "是", "training": "1200", "project_investment": "6",
             "business_environment": "是"}
    return {i.key: given[i.key] for i in v.provided_by(spec, "county")}


def to_final(db, world, case, jobs: str, points: dict[str, str] | None = None) -> Case:
    """One town's evaluation driven to its final scores, its total set by the jobs it created; the statistics'
    indicators (the towns have no statistics) scored by the office at their maximum, or at `points` where given."""
    step(db, world["county"], case, "submit_assessment", payload={"assessment": assessment(), "targets": targets()})
    step(db, world["office"], case, "accept_assessment")
    for name, unit in world["units"].items():
        given = {i.key: "是" if i.rule.kind == "yes_no" else "100" for i in v.provided_by(evaluation_spec(), name)}
        if name == "市人社局":
            given["new_jobs"] = jobs
        step(db, unit, case, "give_unit_values", payload={"unit_values": given})
    step(db, world["office"], case, "conclude_scoring")
    for score in v.missing(evaluation_spec(), _case(db, case).data):  # no statistics: the office scores them
        given = (points or {}).get(score.key, str(score.max_points))
        step(db, world["office"], case, "adjust_score", payload={"indicator": score.key, "points": given},
             comment="无统计数据，按办公室核实情况计分")
    return step(db, world["office"], case, "finish_review")


def _case(db, case) -> Case:
    with transaction(db) as s:
        return s.get(Case, case.id)


def year_opened(db, world, year=2026):
    with transaction(db) as s:
        cases = open_evaluation(session=s, actor=world["office"], now=NOW, year=year)
        ranking = ranking_case(s, year)
    return {c.title.split(" · ")[-1]: c for c in cases}, ranking


def all_final(db, world, year=2026, points=None):
    cases, ranking = year_opened(db, world, year)
    for name, case in cases.items():
        to_final(db, world, case, JOBS[name], (points or {}).get(name))
    return cases, ranking


def test_the_year_has_one_ranking_opened_with_its_evaluations(db, world):
    _cases, ranking = year_opened(db, world)
    assert ranking.state == "scoring" and ranking.data["evaluation_year"] == 2026
    assert ranking.number.startswith("PM-2027-") and ranking.title == "2026年度专业镇评价排名"
    with transaction(db) as s:
        assert ranking_case(s, 2026).id == ranking.id
        assert s.exec(select(Case).where(Case.definition_key == "evaluation_ranking")).all() == [ranking]


def test_the_ranking_is_submitted_only_when_every_town_is_final(db, world):
    cases, ranking = year_opened(db, world)
    to_final(db, world, cases["甲镇"], JOBS["甲镇"])
    with pytest.raises(Unprocessable) as refused:
        step(db, world["office"], ranking, "submit_ranking")
    assert refused.value.details[0]["zh"] == "尚有专业镇的评分未确定：丁镇、丙镇、乙镇、戊镇"  # by number
    assert _case(db, ranking).state == "scoring"


def test_the_office_panel_names_the_towns_not_final_and_then_says_it_can_submit(db, world):
    cases, ranking = year_opened(db, world)
    with transaction(db) as s:
        towns = case_panel(session=s, actor=world["office"], case_id=ranking.id, now=NOW).sections[0]
    assert towns.text.zh == "共 5 个专业镇，5 个评分尚未确定：" and towns.lines[0].value.zh == "待县（区）自评"
    for name, case in cases.items():
        to_final(db, world, case, JOBS[name])
    with transaction(db) as s:
        towns = case_panel(session=s, actor=world["office"], case_id=ranking.id, now=NOW).sections[0]
    assert towns.text.zh == "全部 5 个专业镇的评分均已确定，可以报送排名结果。"


def test_submitted_ranking_orders_the_towns_and_names_the_outcomes(db, world):
    cases, ranking = all_final(db, world)
    submitted = step(db, world["office"], ranking, "submit_ranking")
    with transaction(db) as s:
        panel = {x.key: x for x in case_panel(session=s, actor=world["leader"], case_id=ranking.id, now=NOW).sections}
    assert panel["summary"].text.zh == ("发布 5 个专业镇的排名；印发表扬通报（3 个）；下达督办通知（2 个）；"
                                        "提出撤销认定建议（0 个）。")
    assert [line.label.zh for line in panel["supervised"].lines] == ["丁镇", "戊镇"]
    assert submitted.state == "leader_approval"
    rows = submitted.data["ranking"]
    assert [r["town"] for r in rows] == ["甲镇", "乙镇", "丙镇", "丁镇", "戊镇"]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    assert all(r["last_rank"] is None and r["county"] == "盂县" for r in rows)
    assert [r["outcome"] for r in rows] == ["praised", "praised", "praised", "supervised", "supervised"]
    totals = [float(r["total"]) for r in rows]
    assert totals == sorted(totals, reverse=True)
    assert set(rows[0]["groups"]) == {g.key for g in evaluation_spec().groups}
    with pytest.raises(Unprocessable):  # the scores are with the leader now: they cannot be reopened
        step(db, world["office"], cases["戊镇"], "reopen_scores", comment="复核")
    with pytest.raises(Unprocessable), transaction(db) as s:  # nor can the year take another evaluation
        open_evaluation(session=s, actor=world["office"], now=NOW, year=2026)


def test_the_leader_returns_it_with_a_comment_and_the_office_reopens_a_town(db, world):
    cases, ranking = all_final(db, world)
    step(db, world["office"], ranking, "submit_ranking")
    with pytest.raises(Unprocessable):
        step(db, world["leader"], ranking, "return_ranking")  # a return needs its comment
    returned = step(db, world["leader"], ranking, "return_ranking", comment="请核实戊镇就业数据")
    assert returned.state == "scoring" and "ranking" not in returned.data and returned.data["returns"] == 1
    with transaction(db) as s:
        why = case_panel(session=s, actor=world["office"], case_id=ranking.id, now=NOW).sections[0]
    assert (why.key, why.text.zh) == ("return_reason", "请核实戊镇就业数据")
    reopened = step(db, world["office"], cases["戊镇"], "reopen_scores", comment="按领导意见复核就业数据")
    assert reopened.state == "office_review"
    step(db, world["office"], cases["戊镇"], "adjust_score", payload={"indicator": "new_jobs", "points": "5"},
         comment="核实后就业数据有误，按实际计分")
    step(db, world["office"], cases["戊镇"], "finish_review")
    again = step(db, world["office"], ranking, "submit_ranking")
    assert next(r["town"] for r in again.data["ranking"]) == "戊镇"


def approved(db, world, year=2026, points=None):
    cases, ranking = all_final(db, world, year, points)
    step(db, world["office"], ranking, "submit_ranking")
    return cases, step(db, world["leader"], ranking, "approve_ranking")


def test_approval_publishes_the_praise_notice_on_each_praised_town(db, world):
    _cases, ranking = approved(db, world)
    assert ranking.state == "approved"
    notice = ranking.data["praise_notice"]
    assert notice["number"] == "阳专镇表〔2027〕1号"
    with transaction(db) as s:
        own = s.get(Attachment, notice["attachment_id"])
        copies = s.exec(select(Attachment).where(Attachment.kind == "praise_notice",
                                                 Attachment.town_id.is_not(None))).all()  # type: ignore[union-attr]
        receipts = s.exec(select(NoticeReceipt)).all()
        praised = s.exec(select(AuditEvent).where(AuditEvent.kind == "town_praised")).all()
        records = {t: registry_case(s, world["towns"][t].id).id for t in ("甲镇", "乙镇", "丙镇")}
        content = (own.case_id, own.filename)
    assert content == (ranking.id, "阳专镇表〔2027〕1号.docx")
    assert sorted(c.town_id for c in copies) == sorted(world["towns"][t].id for t in ("甲镇", "乙镇", "丙镇"))
    assert {r.attachment_id for r in receipts} >= {c.id for c in copies}
    assert sorted(e.case_id for e in praised) == sorted(records.values())
    assert json.loads(praised[0].data)["number"] == "阳专镇表〔2027〕1号"


def test_approval_issues_a_supervision_order_to_each_town_at_the_bottom(db, world):
    cases, ranking = approved(db, world)
    orders = ranking.data["orders"]
    assert set(orders) == {str(world["towns"]["丁镇"].id), str(world["towns"]["戊镇"].id)}
    with transaction(db) as s:
        order = s.get(Case, orders[str(world["towns"]["戊镇"].id)])
        event = s.exec(select(AuditEvent).where(AuditEvent.case_id == order.id,
                                                AuditEvent.kind == "case_created")).one()
    assert order.definition_key == "rectification" and order.state == "issued"
    assert order.parent_id == cases["戊镇"].id and order.data["evaluation_id"] == cases["戊镇"].id
    assert order.data["source"] == "evaluation" and order.data["notice_number"].startswith("阳专镇改〔2027〕")
    assert order.data["problem"].startswith("2026年度专业镇评价总分 ")
    assert "排名第 5 位（共 5 个）" in order.data["problem"]
    assert order.data["due_date"] == "2027-05-13"  # 30 working days after 1 April 2027 (weekends only: an estimate)
    assert event.role == "system"
    sweep(db, now=NOW + timedelta(days=60))  # the order then runs the usual path: past its deadline, overdue
    assert _case(db, order).state == "overdue"


def test_every_town_evaluation_ends_with_its_rank(db, world):
    cases, ranking = approved(db, world)
    with transaction(db) as s:
        done = {name: s.get(Case, c.id) for name, c in cases.items()}
        history = town_history(s, world["towns"]["丙镇"].id)
    assert [(h.year, h.rank, str(h.total)) for h in history] == [(2026, 3, ranking.data["ranking"][2]["total"])]
    assert {n: (c.state, c.data["rank"], c.data["outcome"]) for n, c in done.items()} == {
        "甲镇": ("ranked", 1, "praised"), "乙镇": ("ranked", 2, "praised"), "丙镇": ("ranked", 3, "praised"),
        "丁镇": ("ranked", 4, "supervised"), "戊镇": ("ranked", 5, "supervised")}


def test_two_years_at_the_bottom_propose_revocation_on_the_record(db, world):
    approved(db, world, 2025)
    _cases, ranking = approved(db, world, 2026)
    rows = {r["town"]: r for r in ranking.data["ranking"]}
    assert rows["戊镇"]["last_rank"] == 5 and rows["甲镇"]["last_rank"] == 1
    assert rows["戊镇"]["revocation"][0]["zh"] == "连续 2 年排名末位（督办）"
    with transaction(db) as s:
        records = {n: registry_case(s, world["towns"][n].id) for n in ("丁镇", "戊镇", "甲镇")}
    assert records["戊镇"].state == "revocation_proposed" and records["丁镇"].state == "revocation_proposed"
    assert records["戊镇"].data["revocation_reason"].startswith(f"2026年度专业镇评价（{ranking.number}）：连续 2 年")
    assert records["甲镇"].state == "municipal"
    assert ranking.data["revocation_cases"] == {str(world["towns"][n].id): records[n].id for n in ("丁镇", "戊镇")}


def test_a_town_whose_record_cannot_take_a_proposal_is_noted_not_forced(db, world):
    approved(db, world, 2025)
    with transaction(db) as s:  # 丁镇 has become a provincial town since: its record takes no proposal
        record = registry_case(s, world["towns"]["丁镇"].id)
    step(db, Actor.system(), record, "recommend_provincial")  # a round's approval (tests/recommendation/)
    step(db, world["office"], record, "record_provincial")
    _cases, ranking = approved(db, world, 2026)
    assert ranking.data["revocations_not_proposed"] == {
        str(world["towns"]["丁镇"].id): "档案当前为“省级专业镇”，不能提出撤销建议"}
    assert _case(db, record).state == "provincial"
    with transaction(db) as s:  # the town ranked below it is still proposed
        last = registry_case(s, world["towns"]["戊镇"].id)
    assert last.state == "revocation_proposed"
    assert ranking.data["revocation_cases"] == {str(world["towns"]["戊镇"].id): last.id}


def test_a_record_on_an_older_town_version_takes_the_proposal_by_that_version(db, world):
    approved(db, world, 2025)
    on_town_version_2(db, world["towns"]["戊镇"], now=NOW)  # designated before town.yaml version 3
    _cases, ranking = approved(db, world, 2026)
    with transaction(db) as s:
        record = registry_case(s, world["towns"]["戊镇"].id)
    assert (record.definition_version, record.state) == (2, "revocation_proposed")
    assert ranking.data["revocation_cases"][str(world["towns"]["戊镇"].id)] == record.id


NO_STATISTICS = {i.key: "0" for i in v.provided_by(evaluation_spec(), "statistics")}


def test_a_proposal_on_two_grounds_names_both(db, world):
    approved(db, world, 2025)
    _cases, ranking = approved(db, world, 2026, points={"戊镇": NO_STATISTICS})  # 28 of 100: below 40 as well
    grounds = next(r["revocation"] for r in ranking.data["ranking"] if r["town"] == "戊镇")
    assert [g["zh"] for g in grounds] == ["连续 2 年排名末位（督办）", "总分 28 分，低于 40 分"]
    with transaction(db) as s:
        record = registry_case(s, world["towns"]["戊镇"].id)
    assert record.data["revocation_reason"] == (
        f"2026年度专业镇评价（{ranking.number}）：连续 2 年排名末位（督办）；总分 28 分，低于 40 分")


def test_the_problem_text_names_the_weakest_groups():
    spec = evaluation_spec()
    row = {"rank": 9, "total": "41.5", "groups": {g.key: str(g.points) for g in spec.groups}}
    weakest = spec.groups[-1]
    row["groups"][weakest.key] = "0"
    text = supervision_problem(spec, 2026, row, 10)
    assert text.startswith("2026年度专业镇评价总分 41.5 / 100 分，排名第 9 位（共 10 个），列入督办。")
    assert f"得分率较低的方面：{weakest.label.zh} 0 / " in text


def test_the_praise_shows_in_the_town_record_history(db, world, make, client):
    approved(db, world)
    with transaction(db) as s:
        record = registry_case(s, world["towns"]["甲镇"].id)
    login(client, make.user("office", username="office_li").username)
    page = client.get(f"/cases/{record.id}").get_data(as_text=True)
    assert "2026年度评价第 1 名（96.00 分），受到表扬（阳专镇表〔2027〕1号）" in page
    assert "<dt>认定文号</dt>" in page and "<dt>designation_number</dt>" not in page  # the record's fields by name


def test_the_change_from_last_year_reads_as_people_write_it():
    assert history_label({"rank": 3, "last_rank": None}) == Label("新参评", "new")
    assert history_label({"rank": 1, "last_rank": 3}) == Label("↑2", "↑2")
    assert history_label({"rank": 4, "last_rank": 1}) == Label("↓3", "↓3")
    assert history_label({"rank": 2, "last_rank": 2}) == Label("持平", "same")
    assert history_label({"rank": 2, "last_rank": 1}) == Label("↓1", "↓1")
    assert history_label({"rank": 1, "last_rank": 2}) == Label("↑1", "↑1")


def test_what_set_a_town_apart_is_named_by_the_definitions_labels():
    spec = evaluation_spec()
    assert tie_label(spec, None) is None
    assert tie_label(spec, TieBreaker("group", "innovation")) == {"zh": "同分时按创新能力得分排序",
                                                                  "en": "equal totals ordered by Innovation"}
    assert tie_label(spec, TieBreaker("indicator", "output")) == {
        "zh": "同分时按主导产业产值得分排序", "en": "equal totals ordered by Output of the leading industry's score"}
    assert tie_label(spec, TieBreaker("value", "output")) == {
        "zh": "同分时按主导产业产值数值排序", "en": "equal totals ordered by Output of the leading industry's value"}


def test_equal_totals_are_ordered_by_the_first_tie_breaker_and_the_row_says_so(db, world):
    cases, ranking = year_opened(db, world)
    for name, case in cases.items():  # 甲镇 and 乙镇: both 95, 甲镇 one point less in innovation, 乙镇 in scale
        given = {"甲镇": {"high_tech_firms": "5"}, "乙镇": {"output": "9"}}.get(name)
        to_final(db, world, case, JOBS["甲镇"] if name in ("甲镇", "乙镇") else JOBS[name], given)
    rows = step(db, world["office"], ranking, "submit_ranking").data["ranking"]
    said = {"zh": "同分时按创新能力得分排序", "en": "equal totals ordered by Innovation"}
    assert [(r["town"], r["rank"], r["tied"], r["decided_by"]) for r in rows[:3]] == [
        ("乙镇", 1, False, said), ("甲镇", 2, False, said), ("丙镇", 3, False, None)]


def test_a_town_between_the_praised_and_the_supervised_has_no_outcome(db, world, make):
    designated(make, db, "己镇")
    cases, ranking = year_opened(db, world)
    for name, case in cases.items():  # 己镇 ties 戊镇 at the bottom: the two are the two supervised
        to_final(db, world, case, JOBS.get(name, JOBS["戊镇"]))
    submitted = step(db, world["office"], ranking, "submit_ranking")
    outcomes = {r["town"]: r["outcome"] for r in submitted.data["ranking"]}
    assert outcomes == {"甲镇": "praised", "乙镇": "praised", "丙镇": "praised", "丁镇": None,
                        "戊镇": "supervised", "己镇": "supervised"}
    assert submitted.data["supervised"] == sorted([world["towns"]["戊镇"].id, cases["己镇"].town_id])


def test_the_towns_not_final_are_named_by_number_after_one_of_them_moved_on(db, world):
    cases, ranking = year_opened(db, world)
    step(db, world["county"], cases["丁镇"], "submit_assessment",
         payload={"assessment": assessment(), "targets": targets()})  # on PostgreSQL the row is written anew
    with pytest.raises(Unprocessable) as refused:
        step(db, world["office"], ranking, "submit_ranking")
    assert refused.value.details[0]["zh"] == "尚有专业镇的评分未确定：丁镇、丙镇、乙镇、戊镇、甲镇"


def test_equal_towns_share_their_rank(db, world):
    cases, ranking = year_opened(db, world)
    for name, case in cases.items():
        to_final(db, world, case, JOBS["甲镇"] if name in ("甲镇", "乙镇") else JOBS[name])
    rows = step(db, world["office"], ranking, "submit_ranking").data["ranking"]
    assert [(r["town"], r["rank"], r["tied"], r["decided_by"]) for r in rows[:3]] == [
        ("乙镇", 1, True, None), ("甲镇", 1, True, None), ("丙镇", 3, False, None)]


def test_each_row_names_the_town_its_county_and_last_year(db, world, make):
    approved(db, world, 2025)
    cases, ranking = approved(db, world, 2026)
    first = ranking.data["ranking"][0]
    assert {k: first[k] for k in ("town", "town_id", "county", "county_id", "case_id", "last_rank", "last_total",
                                  "outcome", "revocation")} == {
        "town": "甲镇", "town_id": world["towns"]["甲镇"].id, "county": "盂县",
        "county_id": world["towns"]["甲镇"].county_id, "case_id": cases["甲镇"].id, "last_rank": 1,
        "last_total": first["total"], "outcome": "praised", "revocation": []}
    last = ranking.data["ranking"][-1]
    assert last["revocation"] == [{"zh": "连续 2 年排名末位（督办）",
                                   "en": "in the bottom ranks (supervised) 2 years running"}]
    assert (ranking.data["towns"], ranking.data["spec_version"]) == (5, evaluation_spec().version)
    assert ranking.data["praise_notice"]["towns"] == [world["towns"][n].id for n in ("甲镇", "乙镇", "丙镇")]


def test_only_an_approved_ranking_is_published(db, world):
    _cases, ranking = all_final(db, world)
    step(db, world["office"], ranking, "submit_ranking")
    with transaction(db) as s:
        assert published(s, 2026) is None
    step(db, world["leader"], ranking, "approve_ranking")
    with transaction(db) as s:
        assert published(s, 2026).id == ranking.id


def test_a_town_designated_later_joins_the_year_s_one_ranking(db, world, make):
    _cases, ranking = year_opened(db, world)
    late = designated(make, db, "己镇")
    with transaction(db) as s:
        added = open_evaluation(session=s, actor=world["office"], now=NOW, year=2026)
        rankings = s.exec(select(Case).where(Case.definition_key == "evaluation_ranking")).all()
    assert [c.town_id for c in added] == [late.id] and [r.id for r in rankings] == [ranking.id]


def test_the_praise_is_recorded_on_each_town_with_its_notice_and_county(db, world):
    _cases, ranking = approved(db, world)
    with transaction(db) as s:
        own = s.get(Attachment, ranking.data["praise_notice"]["attachment_id"])
        event = s.exec(select(AuditEvent).where(AuditEvent.kind == "town_praised")
                       .order_by(AuditEvent.id)).first()
        copy = s.get(Attachment, json.loads(event.data)["attachment_id"])
        receipt = s.exec(select(NoticeReceipt).where(NoticeReceipt.attachment_id == copy.id)).one()
    assert own.kind == "praise_notice" and copy.kind == "praise_notice" and copy.town_id is not None
    assert copy.filename == own.filename == "阳专镇表〔2027〕1号.docx"
    assert event.county_id == world["towns"]["甲镇"].county_id == receipt.unit_id
    leader = world["leader"]  # the leader's approval issued it
    assert (event.role, event.actor_id, event.unit_id) == ("leader", leader.user_id, leader.unit_id)
    assert json.loads(event.data) == {"evaluation_year": 2026, "rank": 1, "total": ranking.data["ranking"][0]["total"],
                                      "number": "阳专镇表〔2027〕1号", "attachment_id": copy.id,
                                      "ranking": ranking.number}


def test_the_praise_notice_stored_names_its_number_year_and_towns(db, world):
    _cases, ranking = approved(db, world)
    with transaction(db) as s:
        own = s.get(Attachment, ranking.data["praise_notice"]["attachment_id"])
    notice = Document(stored_path(upload_root(), own.sha256))
    text = "\n".join(p.text for p in notice.paragraphs)
    assert "阳专镇表〔2027〕1号" in text and "2026年度" in text
    assert [c.text for c in notice.tables[0].rows[1].cells] == ["1", "盂县", "甲镇", "96"]  # the total as written


def test_the_supervision_order_is_titled_for_its_year_and_town(db, world):
    _cases, ranking = approved(db, world)
    with transaction(db) as s:
        order = s.get(Case, ranking.data["orders"][str(world["towns"]["戊镇"].id)])
    assert order.title == "督办：2026年度评价排名靠后 · 戊镇"
    assert order.data["problem"].endswith("请对照评价指标，分析原因，限期整改提升，并报送整改情况。")


def test_the_problem_text_names_the_two_weakest_groups_weakest_first():
    spec = evaluation_spec()
    groups = {g.key: str(g.points) for g in spec.groups}
    groups["quality"] = "5"  # 5 of 20: the weakest share
    groups["scale"] = "12"  # 12 of 30: the next
    text = supervision_problem(spec, 2026, {"rank": 4, "total": "77", "groups": groups}, 5)
    assert text == ("2026年度专业镇评价总分 77 / 100 分，排名第 4 位（共 5 个），列入督办。"
                    "得分率较低的方面：质量品牌 5 / 20 分；产业规模 12 / 30 分。"
                    "请对照评价指标，分析原因，限期整改提升，并报送整改情况。")
