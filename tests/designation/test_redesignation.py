"""Rolling re-designation (滚动认定复核, issue 16 §4): a re-review opens ZYZ_REDESIGNATION_LEAD_DAYS before a
designated town's review date (never two at once, never for a town not designated); the county confirms, the
eligibility table runs on the town's latest accepted statistics; the office reviews; the leading group renews (the
registry shows the next review date) or starts the exit (the town record's revocation path). A designated town past
its review date is flagged 复核逾期 on the registry, its page and the dashboard."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlmodel import select

from conftest import csrf_token, login, on_town_version_2
from workflow.core.actors import Actor
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.errors import NotFound, Unprocessable
from workflow.core.models import AuditEvent, Case, TownStatistics
from workflow.core.queries import registry_case
from workflow.core.review import ReviewStatus, overdue_count, review_status, review_statuses
from workflow.designation.redesignation import (
    confirmation_reasons,
    due_reasons,
    exit_reasons,
    from_statistics,
    names_of,
    next_review,
    open_due_reviews,
    open_review,
    review_basis,
)
from workflow.towns.registry_view import town_entry

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # Friday 27 November 2026, 10:00 in Yangquan
TODAY = date(2026, 11, 27)


@pytest.fixture
def people(make):
    return {"office": make.user("office", username="office_zhang"),
            "leader": make.user("leader", username="leader_li"),
            "county": make.user("county", county="盂县", username="yx_clerk"),
            "other": make.user("county", county="平定县", username="pd_clerk")}


def designated(make, db, name: str, review: str | None, *, county: str = "盂县", category: str = "manufacturing",
               level: str | None = None, application: dict | None = None):
    """A town designated at municipal level with `review` as its review date (none: the record has none), and
    `level` reached after it; with `application`, the designation application's data, linked from the record."""
    town = make.town(name, county=county, industry_category=category)
    payload = {"designation_number": f"阳专镇〔2023〕{town.id}号", "designated_date": "2023-12-01",
               "review_date": review, "industry_category": category}
    if review is None:
        del payload["review_date"]
    if application is not None:
        payload["designation_case_id"] = make.case("designation", town=town, state="designated", materials=False,
                                                   data=application).id
    with transaction(db) as s:
        record = registry_case(s, town.id)
        fire(session=s, case_id=record.id, trigger="designate", actor=Actor.system(), now=NOW, payload=payload)
        if level == "recommended_provincial":
            s.connection().execute(Case.__table__.update().where(Case.__table__.c.id == record.id)
                                   .values(state=level))
    return town


def statistics(db, town, year: int, figures: dict) -> None:
    with transaction(db) as s:
        record = registry_case(s, town.id)
        s.add(TownStatistics(town_id=town.id, county_id=town.county_id, year=year, output_yi=figures.get("output_yi"),
                             figures=figures, spec_version=1, report_case_id=record.id, accepted_at=NOW))


def step(db, make, user, case_id, trigger, *, payload=None, comment=None):
    with transaction(db) as s:
        return fire(session=s, case_id=case_id, trigger=trigger, actor=make.actor(user), now=NOW, payload=payload,
                    comment=comment)


def reviews(db):
    with transaction(db) as s:
        return s.exec(select(Case).where(Case.definition_key == "redesignation").order_by(Case.id)).all()


# --- opening -------------------------------------------------------------------------------------------------------


def test_reviews_open_within_the_lead_time_once_and_only_for_designated_towns(db, make):
    at_edge = designated(make, db, "九十天镇", "2027-02-25")  # 90 calendar days after 27 November 2026
    designated(make, db, "九十一天镇", "2027-02-26")  # 91: not yet
    late = designated(make, db, "逾期镇", "2026-11-20")  # passed, none opened: opened now
    make.town("培育镇")  # a candidate has no review
    with transaction(db) as s:
        opened = open_due_reviews(session=s, now=NOW, lead_days=90)
    assert sorted(c.town_id for c in opened) == sorted([at_edge.id, late.id])
    first = next(c for c in opened if c.town_id == at_edge.id)
    assert (first.state, first.data["review_date"], first.data["designation_number"]) == (
        "confirming", "2027-02-25", f"阳专镇〔2023〕{at_edge.id}号")
    assert first.title == "滚动认定复核 · 九十天镇（复核日期 2027-02-25）"
    with transaction(db) as s:
        assert open_due_reviews(session=s, now=NOW, lead_days=90) == []  # idempotent: one open per town
        with pytest.raises(Unprocessable) as refused:
            open_review(session=s, town_id=at_edge.id, now=NOW)
        assert f"该镇已有未办结的滚动认定复核（{first.number}）" in refused.value.zh
    with transaction(db) as s:
        candidate = s.exec(select(Case).where(Case.definition_key == "town", Case.state == "candidate")).one()
        with pytest.raises(Unprocessable) as refused:
            open_review(session=s, town_id=candidate.town_id, now=NOW)
        assert "该镇不是已认定的专业镇" in refused.value.zh
    with transaction(db) as s:  # a day later the 91-day town is due too
        later = open_due_reviews(session=s, now=datetime(2026, 11, 28, 2, 0, tzinfo=UTC), lead_days=90)
    assert [c.title for c in later] == ["滚动认定复核 · 九十一天镇（复核日期 2027-02-26）"]
    with transaction(db) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.kind == "redesignation_reviews_opened")).all()
    assert [len(json.loads(e.data)["reviews"]) for e in events] == [2, 1]


def test_the_opening_is_audited_with_the_reviews_it_opened_and_the_lead_time(db, make):
    first = designated(make, db, "西烟镇", "2027-01-15")
    second = designated(make, db, "娘子关镇", "2026-12-31", county="平定县")
    with transaction(db) as s:
        opened = open_due_reviews(session=s, now=NOW, lead_days=60)
    assert [c.town_id for c in opened] == [first.id, second.id]
    with transaction(db) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.kind == "redesignation_reviews_opened")).one()
    assert json.loads(event.data) == {"reviews": [opened[0].number, opened[1].number], "lead_days": 60}
    assert (event.actor_id, event.actor_name, event.role, event.case_id) == (None, "系统", "system", None)


def test_a_review_date_the_record_does_not_have_shows_as_a_dash_in_the_title(db, make):
    town = designated(make, db, "西烟镇", None)
    with transaction(db) as s:
        case = open_review(session=s, town_id=town.id, now=NOW)
    assert case.title == "滚动认定复核 · 西烟镇（复核日期 —）" and "review_date" not in case.data
    with transaction(db) as s, pytest.raises(Unprocessable) as refused:  # no such town: refused, nothing opened
        open_review(session=s, town_id=999_999, now=NOW)
    assert refused.value.details == [{"field": "town_id", "zh": "所选专业镇不存在", "en": "no such town"}]


def test_why_a_town_gets_no_review_now(db, make):
    def status(level: str, open_number: str | None = None) -> ReviewStatus:
        return ReviewStatus(town_id=7, level=level, review_date=date(2027, 1, 15), renewed_by=None,
                            open_case_id=12 if open_number else None, open_case_number=open_number, overdue=False)

    not_designated = [{"zh": "该镇不是已认定的专业镇，不能开展滚动认定复核",
                       "en": "the town is not a designated professional town; it has no re-designation review",
                       "field": "town_id"}]
    assert due_reasons(None) == not_designated
    assert due_reasons(status("candidate")) == not_designated
    assert due_reasons(status("revocation_proposed")) == not_designated
    assert due_reasons(status("municipal", "FH2026-0003")) == [
        {"zh": "该镇已有未办结的滚动认定复核（FH2026-0003）",
         "en": "the town already has a re-designation review under way (FH2026-0003)", "field": "town_id"}]
    assert due_reasons(status("municipal")) == []
    town = designated(make, db, "西烟镇", "2027-01-15")
    with transaction(db) as s:
        first = open_review(session=s, town_id=town.id, now=NOW)
    with transaction(db) as s, pytest.raises(Unprocessable) as refused:
        open_review(session=s, town_id=town.id, now=NOW)
    assert refused.value.details == [
        {"zh": f"该镇已有未办结的滚动认定复核（{first.number}）",
         "en": f"the town already has a re-designation review under way ({first.number})", "field": "town_id"}]
    candidate = make.town("培育镇")
    with transaction(db) as s, pytest.raises(Unprocessable) as refused:
        open_review(session=s, town_id=candidate.id, now=NOW)
    assert refused.value.details == not_designated


def test_the_scheduler_opens_the_due_reviews_on_its_day(app, db, make):
    from webapp.cli import _scheduler

    designated(make, db, "西烟镇", "2027-03-01")
    designated(make, db, "远期镇", "2027-06-30")
    app.config["REDESIGNATION_LEAD_DAYS"] = 60
    app.config["STATISTICS_DATE"] = "12-31"
    with time_machine.travel(datetime(2027, 1, 4, 2, 0, tzinfo=UTC), tick=True):  # 56 days before 1 March
        scheduler = _scheduler(app, background=True)
        scheduler.start()
        try:
            for _ in range(100):  # the job runs at start, then every morning
                found = reviews(db)
                if found:
                    break
                time.sleep(0.1)
            time.sleep(0.3)
        finally:
            scheduler.shutdown(wait=True)
    assert [(c.title, c.state) for c in reviews(db)] == [("滚动认定复核 · 西烟镇（复核日期 2027-03-01）", "confirming")]


# --- the eligibility check -----------------------------------------------------------------------------------------


def test_statistics_map_onto_the_application_s_fields():
    assert from_statistics({"output_yi": 12.5, "brands": [{"name": "盂县石材", "level": "provincial"},
                                                          {"name": "", "level": "national"}],
                            "standards": [{"name": "耐火砖", "kind": "industry", "role": "lead"},
                                          {"name": "团标", "kind": "group", "role": "participate"}]}) == {
        "output_yi": 12.5, "brands": [{"name": "盂县石材", "level": "province"}],
        "standards": [{"name": "耐火砖", "level": "industry", "role": "led"}]}
    assert from_statistics({}) == {}
    assert names_of(" 甲公司\n\n乙公司\n甲公司 ") == ["甲公司", "乙公司"]
    assert names_of(None) == [] and names_of("") == []


def test_statistics_names_are_cut_to_the_application_s_lengths():
    # a brand's name: at most 100 characters, a standard's: at most 200 (application.FIELDS)
    assert from_statistics({"brands": [{"name": "盂" * 101, "level": "municipal"}],
                            "standards": [{"name": "标" * 201, "kind": "local", "role": "participate"}]}) == {
        "brands": [{"name": "盂" * 100, "level": "city"}],
        "standards": [{"name": "标" * 200, "level": "local", "role": "joined"}]}


def test_the_review_s_basis_is_the_application_then_the_latest_statistics_then_the_county(db, make, people):
    town = designated(make, db, "西烟镇", "2027-01-15", application={
        "industry_category": "agriculture", "leading_industry": "小杂粮", "jobs": 1200, "output_yi": 8.5,
        "brands": [{"name": "盂县小米", "level": "city"}], "designation_number": "阳专镇〔2023〕1号"})
    statistics(db, town, 2024, {"output_yi": 4.0})
    statistics(db, town, 2025, {"output_yi": 12.5, "brands": [{"name": "盂县石材", "level": "provincial"}]})
    with transaction(db) as s:
        case = open_review(session=s, town_id=town.id, now=NOW)
        basis = review_basis(s, case, {"confirmation": "仍符合", "leading_enterprise_names": "甲公司\n乙公司",
                                       "supporting_enterprises": 18})
    # the application's own fields (its category over the town's), the 2025 statistics over them, the county's last
    assert basis == ({"industry_category": "agriculture", "leading_industry": "小杂粮", "jobs": 1200,
                      "output_yi": 12.5, "brands": [{"name": "盂县石材", "level": "province"}],
                      "leading_enterprises": [{"name": "甲公司"}, {"name": "乙公司"}], "supporting_enterprises": 18},
                     2025)
    done = step(db, make, people["county"], case.id, "confirm_criteria", payload={"confirmation": "仍符合"})
    outcome = {c["key"]: (c["outcome"], c["reason"]["zh"]) for c in done.data["eligibility"]["criteria"]}
    assert outcome["agglomeration"] == ("pass", "特优农业类主导产业产值 12.50 亿元，达到 2 亿元")
    plain = designated(make, db, "娘子关镇", "2027-01-15", county="平定县", category="light_industry")
    with transaction(db) as s:  # no application on the record, no statistics: the town's category only
        case = open_review(session=s, town_id=plain.id, now=NOW)
        assert review_basis(s, case, {}) == ({"industry_category": "light_industry"}, None)
        # a case with no town (the create guard refuses one) has the county's confirmation alone as its basis
        townless = Case(number="", definition_key="redesignation", definition_version=1, state="confirming",
                        county_id=plain.county_id, title="", created_at=NOW, updated_at=NOW, data={})
        assert review_basis(s, townless, {"supporting_enterprises": 3}) == ({"supporting_enterprises": 3}, None)


def test_the_county_s_confirmation_runs_the_criteria_on_the_latest_statistics(db, make, people):
    town = designated(make, db, "西烟镇", "2027-01-15")
    statistics(db, town, 2024, {"output_yi": 4.0})
    statistics(db, town, 2025, {"output_yi": 12.5, "brands": [{"name": "盂县石材", "level": "provincial"}]})
    with transaction(db) as s:
        case = open_review(session=s, town_id=town.id, now=NOW)
    with pytest.raises(Unprocessable) as refused:
        step(db, make, people["county"], case.id, "confirm_criteria",
             payload={"confirmation": "仍符合", "supporting_enterprises": -3})
    assert refused.value.details == [SUPPORTING]
    done = step(db, make, people["county"], case.id, "confirm_criteria",
                payload={"confirmation": "主导产业产值保持增长，龙头企业带动明显。",
                         "leading_enterprise_names": "阳泉华鑫机械有限公司\n盂县石材集团",
                         "supporting_enterprises": 18})
    assert done.state == "office_review" and done.data["statistics_year"] == 2025
    outcome = {c["key"]: (c["outcome"], c["reason"]["zh"]) for c in done.data["eligibility"]["criteria"]}
    assert outcome["agglomeration"] == ("pass", "制造业类主导产业产值 12.50 亿元，达到 10 亿元")
    assert outcome["leading_enterprises"][0] == "pass"
    assert outcome["supporting_enterprises"][0] == "pass"
    assert done.data["eligibility"]["has_hard_failure"] is False


STATEMENT = {"zh": "复核说明应为不超过 2000 字的文字", "en": "the statement must be text of at most 2000 characters",
             "field": "confirmation"}
NAMES = {"zh": "龙头企业每行填写一家，最多 50 家", "en": "list the leading enterprises one a line, at most 50",
         "field": "leading_enterprise_names"}
SUPPORTING = {"zh": "上下游配套企业户数应为 0～100000 之间的整数",
              "en": "supporting enterprises must be a whole number from 0 to 100000", "field": "supporting_enterprises"}


def test_the_county_s_confirmation_is_checked_field_by_field():
    fifty = "".join(f"阳泉第{i:02d}{'机' * 34}\n" for i in range(50))  # 50 names, 2000 characters
    assert len(fifty) == 2000
    assert confirmation_reasons({}) == []
    assert confirmation_reasons({"confirmation": "说" * 2000, "leading_enterprise_names": fifty,
                                 "supporting_enterprises": 100000}) == []
    assert confirmation_reasons({"confirmation": "", "leading_enterprise_names": "", "supporting_enterprises": 0}) == []
    assert confirmation_reasons({"confirmation": "说" * 2001}) == [STATEMENT]
    assert confirmation_reasons({"confirmation": 5}) == [STATEMENT]
    assert confirmation_reasons({"leading_enterprise_names": fifty + "阳泉第五十一公司"}) == [NAMES]  # 51 names
    assert confirmation_reasons({"leading_enterprise_names": "甲" * 2001}) == [NAMES]  # one name, too long
    assert confirmation_reasons({"leading_enterprise_names": ["甲公司"]}) == [NAMES]
    assert confirmation_reasons({"leading_enterprise_names": 123}) == [NAMES]
    for count in (-1, 100001, True, 18.0, "18"):
        assert confirmation_reasons({"supporting_enterprises": count}) == [SUPPORTING], count
    assert confirmation_reasons({"confirmation": ["仍符合"], "leading_enterprise_names": 1,
                                 "supporting_enterprises": -3}) == [STATEMENT, NAMES, SUPPORTING]


def test_a_town_below_the_threshold_fails_the_check_and_the_office_sees_it(db, make, people):
    town = designated(make, db, "西烟镇", "2027-01-15")
    statistics(db, town, 2025, {"output_yi": 6.2})
    with transaction(db) as s:
        case = open_review(session=s, town_id=town.id, now=NOW)
    done = step(db, make, people["county"], case.id, "confirm_criteria", payload={"confirmation": "产值有所下降"})
    failed = [c["key"] for c in done.data["eligibility"]["criteria"] if c["hard"] and c["outcome"] == "fail"]
    assert failed[0] == "agglomeration" and done.data["eligibility"]["has_hard_failure"] is True
    from workflow.core.panels import case_panel

    with transaction(db) as s:
        shown = case_panel(session=s, actor=make.actor(people["office"]), case_id=case.id, now=NOW)
    sections = {sec.key: sec for sec in shown.sections}
    assert sections["evaluations"].text.zh == "尚无年度评价结果"
    assert any(line.value.zh.startswith("未满足：制造业类主导产业产值 6.20 亿元") for line in
               sections["eligibility"].lines)
    assert sections["confirmation"].text.zh == "产值有所下降"
    assert [s.trigger for s in shown.steps] == ["forward_review", "return_review"]


def test_the_office_reads_the_towns_last_evaluations_with_their_published_ranks(db, make, people):
    town = designated(make, db, "西烟镇", "2027-01-15")
    statistics(db, town, 2025, {"output_yi": 12.5})
    scored = {year: make.case("evaluation_town", town=town, state="scored",
                              data={"evaluation_year": year, "statistics_values": {"output": output}})
              for year, output in ((2022, 50), (2023, 50), (2024, 50), (2025, 30))}
    make.case("evaluation_town", town=town, state="office_review", data={"evaluation_year": 2026})
    with transaction(db) as s:
        for year, state in ((2024, "approved"), (2025, "submitted")):  # the year's ranking, as its process keeps it
            s.add(Case(number=f"PM{year}", definition_key="evaluation_ranking", definition_version=1, state=state,
                       county_id=town.county_id, title=f"{year}年度排名", created_at=NOW, updated_at=NOW,
                       data={"evaluation_year": year, "ranking": [
                           {"case_id": scored[year].id, "town_id": town.id, "town": "西烟镇",
                            "county_id": town.county_id, "county": "盂县", "rank": 4, "tied": False, "total": "10",
                            "groups": {}, "last_rank": None, "outcome": None}]}))
        case = open_review(session=s, town_id=town.id, now=NOW)
    step(db, make, people["county"], case.id, "confirm_criteria", payload={"confirmation": "仍符合"})
    from workflow.core.panels import case_panel

    with transaction(db) as s:
        shown = case_panel(session=s, actor=make.actor(people["office"]), case_id=case.id, now=NOW)
    section = {sec.key: sec for sec in shown.sections}["evaluations"]
    assert section.text is None
    # a designation cycle's years (three), latest first; a year under way or a ranking not approved shows no rank
    assert [(line.label.zh, line.value.zh) for line in section.lines] == [
        ("2025 年度", "5 / 100 分，排名尚未公布"), ("2024 年度", "10 / 100 分，全市第 4 名"),
        ("2023 年度", "10 / 100 分，排名尚未公布")]
    assert section.lines[1].value.en == "10 / 100 points, ranked 4 in the city"


# --- renewal and exit ----------------------------------------------------------------------------------------------


def to_decision(db, make, people, case_id):
    step(db, make, people["county"], case_id, "confirm_criteria", payload={"confirmation": "仍符合认定标准"})
    step(db, make, people["office"], case_id, "return_review", comment="请补充龙头企业情况")
    step(db, make, people["county"], case_id, "confirm_criteria",
         payload={"confirmation": "仍符合认定标准", "leading_enterprise_names": "阳泉华鑫机械有限公司"})
    return step(db, make, people["office"], case_id, "forward_review", comment="建议续期")


def test_renewing_sets_the_next_review_date_that_the_registry_shows(db, make, people):
    town = designated(make, db, "西烟镇", "2026-11-20")  # already past: overdue
    with transaction(db) as s:
        assert review_status(s, town.id, TODAY).overdue
        case = open_review(session=s, town_id=town.id, now=NOW)
    assert to_decision(db, make, people, case.id).state == "decision"
    renewed = step(db, make, people["leader"], case.id, "renew")
    assert renewed.state == "renewed" and renewed.closed_at is not None
    assert (renewed.data["previous_review_date"], renewed.data["new_review_date"]) == ("2026-11-20", "2029-11-20")
    with transaction(db) as s:
        entry, _ = town_entry(s, make.actor(people["office"]), town.id, today=TODAY)
        record = registry_case(s, town.id)
        event = s.exec(select(AuditEvent).where(AuditEvent.kind == "designation_renewed")).one()
    assert (entry.review_date, entry.review_overdue, entry.review.renewed_by) == ("2029-11-20", False, case.number)
    assert record.state == "municipal" and record.data["review_date"] == "2026-11-20"  # the record keeps its own
    assert event.case_id == record.id and json.loads(event.data)["new_review_date"] == "2029-11-20"
    with transaction(db) as s:  # the next cycle's review opens from the renewed date
        assert open_due_reviews(session=s, now=NOW, lead_days=90) == []


def test_next_review_date_rolls_on_from_the_previous_one():
    assert next_review(date(2026, 12, 1), TODAY) == date(2029, 12, 1)
    assert next_review(date(2024, 2, 29), TODAY) == date(2027, 2, 28)
    assert next_review(date(2020, 1, 1), TODAY) == date(2029, 11, 27)  # a cycle on is past too: from today
    assert next_review(None, TODAY) == date(2029, 11, 27)
    assert next_review(date(2023, 11, 27), TODAY) == date(2029, 11, 27)  # a cycle on falls today: from today


def test_exit_starts_the_revocation_path_of_the_town_record(db, make, people):
    town = designated(make, db, "西烟镇", "2027-01-15")
    with transaction(db) as s:
        case = open_review(session=s, town_id=town.id, now=NOW)
    to_decision(db, make, people, case.id)
    with pytest.raises(Unprocessable) as refused:
        step(db, make, people["leader"], case.id, "start_exit")
    assert "必须填写意见或理由" in refused.value.zh
    done = step(db, make, people["leader"], case.id, "start_exit", comment="主导产业连续下滑，不再符合认定标准")
    with transaction(db) as s:
        record = registry_case(s, town.id)
    assert done.state == "exiting" and done.data["revocation_case_id"] == record.id
    assert record.state == "revocation_proposed"
    assert record.data["revocation_reason"] == (f"滚动认定复核（{case.number}）决定启动退出程序："
                                                "主导产业连续下滑，不再符合认定标准")
    step(db, make, people["office"], record.id, "refer_revocation")  # the revocation path runs on
    with transaction(db) as s:
        assert registry_case(s, town.id).state == "revocation_decision"
        assert not review_status(s, town.id, date(2027, 6, 1)).overdue  # out of the designated levels


def test_exit_is_refused_where_the_registry_cannot_take_a_revocation_proposal(db, make, people):
    town = designated(make, db, "西烟镇", "2027-01-15", level="recommended_provincial")
    with transaction(db) as s:
        case = open_review(session=s, town_id=town.id, now=NOW)
    to_decision(db, make, people, case.id)
    with pytest.raises(Unprocessable) as refused:
        step(db, make, people["leader"], case.id, "start_exit", comment="不再符合")
    assert refused.value.details == [
        {"zh": "该镇档案当前为“推荐省级”，不能提出撤销认定建议（须为市级专业镇）",
         "en": "the town's record is 'Recommended for provincial level'; a revocation can be proposed only for a "
               "municipal town", "field": "town_id"}]
    step(db, make, people["leader"], case.id, "send_back_review", comment="请核实省级推荐情况")
    with transaction(db) as s:
        assert s.get(Case, case.id).state == "office_review"


def test_exit_reads_the_registry_record_s_own_definition_version(db, make):
    """A record on an older town.yaml (kept in the database only) is judged by that version's states."""
    municipal = designated(make, db, "西烟镇", "2027-01-15")
    recommended = designated(make, db, "娘子关镇", "2027-01-15", level="recommended_provincial")
    on_town_version_2(db, municipal, recommended, now=NOW)
    with transaction(db) as s:
        assert exit_reasons(s, registry_case(s, municipal.id)) == []
        assert exit_reasons(s, registry_case(s, recommended.id)) == [
            {"zh": "该镇档案当前为“推荐省级”，不能提出撤销认定建议（须为市级专业镇）",
             "en": "the town's record is 'Recommended for provincial level'; a revocation can be proposed only for "
                   "a municipal town", "field": "town_id"}]
        assert exit_reasons(s, None) == [
            {"zh": "该镇没有档案记录", "en": "the town has no registry record", "field": "town_id"}]


# --- the overdue flag, the pages and who sees what -----------------------------------------------------------------


def get(client, url):
    page = client.get(url)
    assert page.status_code == 200, url
    return page.get_data(as_text=True)


def test_an_overdue_review_is_flagged_on_the_registry_the_town_page_and_the_dashboard(client, db, make, people):
    late = designated(make, db, "逾期镇", "2026-11-20")
    designated(make, db, "按期镇", "2027-06-30")
    other = designated(make, db, "平定逾期镇", "2026-10-01", county="平定县")
    with time_machine.travel(NOW, tick=False):
        login(client, "office_zhang")
        registry = get(client, "/towns")
        rows = {row.split("</a>")[0].rsplit(">", 1)[-1]: row for row in registry.split("<tr>")[2:]}
        assert "复核逾期" in rows["逾期镇"] and "复核逾期" in rows["平定逾期镇"] and "复核逾期" not in rows["按期镇"]
        town_page = get(client, f"/towns/{late.id}")
        assert "复核逾期" in town_page and "2026-11-20" in town_page
        board = get(client, "/dashboard")
        assert '<div class="reviews-overdue"><dt>复核逾期</dt><dd class="tone-bad">2</dd>' in board
        client.post("/logout", data={"csrf_token": csrf_token(client, "/inbox")})
        login(client, "yx_clerk")  # a county sees its own towns only, and its own count
        registry = get(client, "/towns")
        assert "逾期镇" in registry and "平定逾期镇" not in registry
        assert client.get(f"/towns/{other.id}").status_code == 404
        assert '<dd class="tone-bad">1</dd>' in get(client, "/dashboard")


def test_a_county_sees_only_its_own_reviews(client, db, make, people):
    own = designated(make, db, "西烟镇", "2027-01-15")
    other = designated(make, db, "娘子关镇", "2027-01-15", county="平定县")
    with transaction(db) as s:
        opened = {c.town_id: c for c in open_due_reviews(session=s, now=NOW, lead_days=90)}
    with time_machine.travel(NOW, tick=False):
        login(client, "yx_clerk")
        page = get(client, f"/cases/{opened[own.id].id}")
        assert "确认仍符合认定标准" in page and "最新年度统计" in page
        assert client.get(f"/cases/{opened[other.id].id}").status_code == 404
        assert client.get(f"/cases/{opened[other.id].id}/do/confirm_criteria").status_code == 404
        form = get(client, f"/cases/{opened[own.id].id}/do/confirm_criteria")
        assert "龙头企业（每行一家）" in form and "上下游配套企业户数" in form
    with transaction(db) as s, pytest.raises(NotFound):
        fire(session=s, case_id=opened[other.id].id, trigger="confirm_criteria",
             actor=make.actor(people["county"]), now=NOW, payload={"confirmation": "x"})


def test_the_demo_has_one_review_open_for_its_designated_town(db):
    from workflow.seed import build_demo

    with transaction(db) as s:
        build_demo(s, NOW)
    found = reviews(db)
    assert [(c.title.split("（")[0], c.state) for c in found] == [("滚动认定复核 · 娘子关镇", "confirming")]


def test_a_review_is_overdue_from_the_day_after_its_date_and_counted_per_county(db, make, people):
    today = designated(make, db, "西烟镇", "2026-11-27")  # due today: not yet overdue
    past = designated(make, db, "娘子关镇", "2026-11-26", county="平定县")
    with transaction(db) as s:
        mine = review_statuses(s, TODAY, county_id=today.county_id)
        assert list(mine) == [today.id] and not mine[today.id].overdue
        assert review_statuses(s, date(2026, 11, 28), county_id=today.county_id)[today.id].overdue
        theirs = review_statuses(s, TODAY, county_id=past.county_id)
        assert list(theirs) == [past.id] and theirs[past.id].overdue
        assert review_statuses(s, TODAY, []) == {}
        assert (overdue_count(s, TODAY), overdue_count(s, TODAY, county_id=today.county_id),
                overdue_count(s, TODAY, county_id=past.county_id)) == (1, 0, 1)


def test_the_overdue_count_is_the_count_of_the_overdue_statuses(db, make, people):
    """overdue_count reads only two columns of the records and the renewals: it counts what review_statuses calls
    overdue, for every county and each, on days around the dates, whatever the dates are stored as."""
    towns = [designated(make, db, name, review, county=county) for name, review, county in (
        ("西烟镇", "2026-11-26", "盂县"), ("路家村镇", "2026-11-27", "盂县"), ("娘子关镇", "2026-11-20", "盂县"),
        ("孙家庄镇", "2020-11-01", "平定县"), ("冠山镇", None, "平定县"), ("张庄镇", "2026-11-01", "平定县"),
        ("巨城镇", "2026-11-01", "平定县"))]
    renewed = towns[2]  # overdue by its record, renewed until 2032 by the newest renewal
    for _ in range(2):
        with transaction(db) as s:
            case = open_review(session=s, town_id=renewed.id, now=NOW)
        to_decision(db, make, people, case.id)
        step(db, make, people["leader"], case.id, "renew")
    table = Case.__table__
    with transaction(db) as s:  # review dates stored before the field's checks: a number, no real day
        for town, value in ((towns[5], 20201101), (towns[3], "2020-11-31")):
            record = registry_case(s, town.id)
            s.connection().execute(table.update().where(table.c.id == record.id).values(
                data={**record.data, "review_date": value}))
        gone = registry_case(s, towns[0].id)  # no longer designated: never overdue
        s.connection().execute(table.update().where(table.c.id == gone.id).values(state="revoked"))
    with transaction(db) as s:
        for day in (date(2026, 11, 26), TODAY, date(2026, 11, 28), date(2032, 12, 1)):
            for county in (None, towns[0].county_id, towns[3].county_id):
                statuses = review_statuses(s, day, county_id=county)
                assert overdue_count(s, day, county_id=county) == sum(st.overdue for st in statuses.values())
        assert [overdue_count(s, date(2026, 11, 28), county_id=c) for c in (None, towns[0].county_id)] == [2, 1]
        assert overdue_count(s, date(2032, 12, 1)) == 3  # 路家村镇, 巨城镇 and the renewed town


def test_the_newest_renewal_sets_the_review_date(db, make, people):
    town = designated(make, db, "西烟镇", "2026-11-20")
    numbers = []
    for _ in range(2):
        with transaction(db) as s:
            case = open_review(session=s, town_id=town.id, now=NOW)
        to_decision(db, make, people, case.id)
        numbers.append(step(db, make, people["leader"], case.id, "renew").number)
    with transaction(db) as s:
        status = review_status(s, town.id, TODAY)
    assert (status.review_date, status.renewed_by, status.overdue) == (date(2032, 11, 20), numbers[1], False)


def test_a_review_date_is_read_as_stored_and_only_a_real_date_is_one(db, make, people):
    """Only the review dates of the data are read (not the whole of it); a value that is no ISO date, written before
    the field's checks, gives no review date on either database (PostgreSQL's text of a number is not one either)."""
    towns = {value: designated(make, db, name, "2026-11-20") for name, value in (
        ("西烟镇", 20201120), ("娘子关镇", "2020-11-31"), ("路家村镇", "2020-11-20"), ("孙家庄镇", None))}
    table = Case.__table__
    with transaction(db) as s:
        for value, town in towns.items():
            record = registry_case(s, town.id)
            s.connection().execute(table.update().where(table.c.id == record.id).values(
                data={**record.data, "review_date": value}))
        statuses = review_statuses(s, TODAY)
    assert {value: (statuses[t.id].review_date, statuses[t.id].overdue) for value, t in towns.items()} == {
        20201120: (None, False), "2020-11-31": (None, False), "2020-11-20": (date(2020, 11, 20), True),
        None: (None, False)}
