"""The annual statistics report: opened for every reporting town once a year, filled by the county against
definitions/statistics.yaml (each value checked, the required ones before submit, a large change explained),
checked by the office, and on acceptance written to the town: its year, its output, its tier."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.errors import Forbidden, Unprocessable
from workflow.core.models import AuditEvent, Case, Town, TownStatistics
from workflow.core.panels import case_panel
from workflow.core.queries import registry_case
from workflow.statistics.campaign import open_reports, open_yearly_reports
from workflow.statistics.fields import StatisticsError, parse_statistics, statistics_spec

NOW = datetime(2027, 1, 12, 2, 0, tzinfo=UTC)  # Tuesday 12 January 2027, 10:00 in Yangquan

FULL = {"output_yi": "12.5", "tax_wan": "3200", "market_entities": "860", "above_scale_firms": "14",
        "employees": "5200", "high_tech_firms": "3", "specialised_firms": "2", "invention_patents": "11",
        "geographical_indications": "1", "service_platforms": "2", "key_projects": "4",
        "project_investment_yi": "6.8",
        "brands": [{"name": "盂县石材", "level": "provincial"}],
        "standards": [{"name": "建筑用石材加工规范", "kind": "group", "role": "lead"}]}


@pytest.fixture
def world(make):
    office, county = make.user("office"), make.user("county", county="盂县")
    towns = [make.town("西烟镇", county="盂县"), make.town("路家村镇", county="盂县")]
    return {"office": make.actor(office), "county": make.actor(county), "towns": towns,
            "leader": make.actor(make.user("leader"))}


def opened(db, world, year=2026, now=NOW):
    with transaction(db) as s:
        return open_reports(session=s, actor=world["office"], now=now, year=year)


def step(db, actor, case, trigger, now=NOW, **kw):
    with transaction(db) as s:
        return fire(session=s, case_id=case.id, trigger=trigger, actor=actor, now=now, **kw)


def accepted_year(db, world, case, figures, now=NOW, explanations=None):
    step(db, world["county"], case, "submit_figures", now,
         payload={"figures": figures, **({"explanations": explanations} if explanations else {})})
    return step(db, world["office"], case, "accept_figures", now)


def test_the_office_opens_one_report_per_reporting_town_and_never_twice(db, world):
    reports = opened(db, world)
    assert [(c.title, c.state, c.data["report_year"]) for c in reports] == [
        ("2026年度统计 · 西烟镇", "filling", 2026), ("2026年度统计 · 路家村镇", "filling", 2026)]
    assert opened(db, world) == []  # the same year again: nothing new
    with transaction(db) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.kind == "statistics_campaign_opened")).all()
    assert [json.loads(e.data) for e in events] == [{"report_year": 2026, "reports": 2}]


def test_only_the_office_opens_reports_and_only_for_a_year_that_has_ended(db, world):
    with transaction(db) as s, pytest.raises(Forbidden):
        open_reports(session=s, actor=world["county"], now=NOW, year=2026)
    with transaction(db) as s, pytest.raises(Unprocessable) as refused:
        open_reports(session=s, actor=world["office"], now=NOW, year=2027)
    assert refused.value.zh == "统计年度应为 2000～2026 年之间已结束的年份。"


def test_the_scheduler_opens_last_year_s_reports_once_from_the_configured_day(db, make, world):
    with transaction(db) as s:
        assert open_yearly_reports(session=s, now=datetime(2027, 1, 9, 2, tzinfo=UTC), month_day="01-10") == []
    with transaction(db) as s:
        reports = open_yearly_reports(session=s, now=datetime(2027, 1, 10, 2, tzinfo=UTC), month_day="01-10")
    assert {c.data["report_year"] for c in reports} == {2026} and len(reports) == 2
    make.town("上社镇", county="盂县")
    with transaction(db) as s:  # once a year: the next morning opens nothing, not even for the town added since
        assert open_yearly_reports(session=s, now=datetime(2027, 1, 11, 2, tzinfo=UTC), month_day="01-10") == []
    assert len(opened(db, world)) == 1  # the office opens the year again by hand: only the new town's


def test_each_value_is_checked_against_its_field_and_every_problem_is_named(db, world):
    report = opened(db, world)[0]
    bad = {"output_yi": "十二", "above_scale_firms": "14.5", "employees": "-3", "tax_wan": "3200.125",
           "brands": [{"name": "盂县石材", "level": "world"}], "fish": 3}
    with pytest.raises(Unprocessable) as refused:
        step(db, world["county"], report, "save_figures", payload={"figures": bad})
    assert [r["zh"] for r in refused.value.details] == [
        "没有这些统计项：fish", "主导产业产值须为数字", "税收最多保留 2 位小数", "规上工业企业数须为整数",
        "从业人员应在 0～1000000人 之间", "品牌第 1 项的级别不正确"]


def test_a_report_is_saved_incomplete_but_submitted_only_complete(db, world):
    report = opened(db, world)[0]
    saved = step(db, world["county"], report, "save_figures", payload={"figures": {"output_yi": "12.50"}})
    assert saved.state == "filling" and saved.data["figures"] == {"output_yi": 12.5, "brands": [], "standards": []}
    with pytest.raises(Unprocessable) as refused:
        step(db, world["county"], report, "submit_figures", payload={"figures": {"output_yi": "12.5"}})
    assert [r["zh"] for r in refused.value.details][:2] == ["请填写税收", "请填写市场主体数"]
    assert len(refused.value.details) == 11  # every required figure but the output


def test_a_large_change_from_last_year_needs_a_reason_before_submit(db, world):
    town = world["towns"][0]
    first = opened(db, world, year=2025, now=datetime(2026, 1, 12, 2, tzinfo=UTC))[0]
    accepted_year(db, world, first, FULL, now=datetime(2026, 1, 20, 2, tzinfo=UTC))
    report = next(c for c in opened(db, world) if c.town_id == town.id)
    grown = {**FULL, "output_yi": "25", "invention_patents": "12", "service_platforms": "3"}
    with pytest.raises(Unprocessable) as refused:
        step(db, world["county"], report, "submit_figures", payload={"figures": grown})
    # output +100 %, platforms +50 % (2 → 3); patents +9 % is within 30 %
    assert [r["zh"] for r in refused.value.details] == [
        "主导产业产值由上年的 12.5亿元 变为 25亿元（+100%），请说明原因",
        "公共服务平台由上年的 2个 变为 3个（+50%），请说明原因"]
    step(db, world["county"], report, "save_figures", payload={"figures": grown})
    with transaction(db) as s:
        panel = case_panel(session=s, actor=world["county"], case_id=report.id, now=NOW)
    to_do = next(sec for sec in panel.sections if sec.key == "to_do")
    assert [line.value.zh for line in to_do.lines] == ["需说明原因", "需说明原因"]
    done = step(db, world["county"], report, "submit_figures",
                payload={"figures": grown, "explanations": {"output_yi": "新增两家龙头企业投产",
                                                            "service_platforms": "新建检测中心"}})
    assert done.state == "submitted"
    with transaction(db) as s:
        office = case_panel(session=s, actor=world["office"], case_id=report.id, now=NOW)
    changes = next(sec for sec in office.sections if sec.key == "changes")
    assert [line.value.zh for line in changes.lines] == ["新增两家龙头企业投产", "新建检测中心"]


def test_accepting_writes_the_year_the_output_and_a_tier_change_to_the_town(db, world):
    town = world["towns"][0]
    first = opened(db, world, year=2025, now=datetime(2026, 1, 12, 2, tzinfo=UTC))[0]
    accepted_year(db, world, first, FULL, now=datetime(2026, 1, 20, 2, tzinfo=UTC))
    report = next(c for c in opened(db, world) if c.town_id == town.id)
    accepted_year(db, world, report, {**FULL, "output_yi": "21.3"},
                  explanations={"output_yi": "新增两家龙头企业投产"})
    with transaction(db) as s:
        row = s.get(Town, town.id)
        years = s.exec(select(TownStatistics.year, TownStatistics.output_yi)
                       .where(TownStatistics.town_id == town.id).order_by(TownStatistics.year)).all()
        record = registry_case(s, town.id)
        changes = [json.loads(e.data) for e in s.exec(
            select(AuditEvent).where(AuditEvent.kind == "tier_changed", AuditEvent.case_id == record.id)
            .order_by(AuditEvent.seq))]
    assert (row.output_yi, row.output_year) == (21.3, 2026)
    assert years == [(2025, 12.5), (2026, 21.3)]
    # no tier before the first report (the town never applied), 10亿级 from 2025, 20亿级 from 2026
    assert [(c["report_year"], c["tier_from"], c["tier_to"]) for c in changes] == [
        (2025, None, "t10"), (2026, "t10", "t20")]


def test_a_late_report_of_an_earlier_year_does_not_replace_the_latest_output(db, world):
    town = world["towns"][0]
    old = opened(db, world, year=2025)[0]  # opened late, in 2027
    new = next(c for c in opened(db, world, year=2026) if c.town_id == town.id)
    accepted_year(db, world, new, {**FULL, "output_yi": "30"})
    accepted_year(db, world, old, FULL, explanations=None)
    with transaction(db) as s:
        assert (s.get(Town, town.id).output_yi, s.get(Town, town.id).output_year) == (30.0, 2026)


def test_the_office_returns_a_report_with_its_reasons_and_the_county_reads_them(db, world):
    report = opened(db, world)[0]
    step(db, world["county"], report, "submit_figures", payload={"figures": FULL})
    with pytest.raises(Unprocessable):
        step(db, world["office"], report, "return_figures")  # a return says why
    returned = step(db, world["office"], report, "return_figures", comment="税收数据与税务部门不一致，请核实")
    assert returned.state == "returned"
    with transaction(db) as s:
        panel = case_panel(session=s, actor=world["county"], case_id=report.id, now=NOW)
        assert s.get(Case, report.id).data["figures"]["output_yi"] == 12.5  # nothing lost
    reason = next(sec for sec in panel.sections if sec.key == "return_reason")
    assert reason.text.zh == "税收数据与税务部门不一致，请核实"
    assert [s.trigger for s in panel.steps] == ["save_figures", "submit_figures"]


def test_the_shipped_fields_serve_the_plan():
    spec = statistics_spec()
    assert [g.key for g in spec.groups] == ["economy", "entities", "innovation", "quality", "platforms"]
    assert {f.key for f in spec.fields} >= {"output_yi", "above_scale_firms", "market_entities", "employees",
                                             "tax_wan", "high_tech_firms", "specialised_firms", "invention_patents",
                                             "brands", "standards", "geographical_indications",
                                             "service_platforms", "key_projects", "project_investment_yi"}
    assert all(f.clause for f in spec.fields)


BROKEN = """
key: statistics
version: 1
label: {zh: 统计, en: Statistics}
anomaly: {max_change: 0}
groups:
  - {key: economy, label: {zh: 经济, en: Economy}}
  - {key: empty, label: {zh: 空, en: Empty}}
fields:
  - {key: output_yi, group: economy, label: {zh: 产值, en: Output}, unit: {zh: 亿元, en: bn}, type: decimal,
     min: 0, max: 100, clause: 二}
  - {key: firms, group: economy, label: {zh: 企业, en: Firms}, type: integer, min: 5, max: 1, clause: 五}
  - {key: jobs, group: nowhere, label: {zh: 就业, en: Jobs}, type: integer, min: 0, max: 9, clause: 五}
  - {key: brands, group: economy, label: {zh: 品牌, en: Brands}, type: items, unit: {zh: 个, en: x}, clause: 五,
     items: [{key: name, label: {zh: 名称, en: Name}, type: text}]}
  - {key: std, group: economy, label: {zh: 标准, en: Std}, type: items, clause: 五,
     items: [{key: kind, label: {zh: 类别, en: Kind}, type: choice}]}
  - {key: gi, group: economy, label: {zh: 地标, en: GI}, type: integer, min: 0, max: 9, unit: {zh: 个, en: x}}
"""


def test_a_broken_fields_file_is_refused_with_every_problem_named():
    with pytest.raises(StatisticsError) as caught:
        parse_statistics(BROKEN, "statistics.yaml")
    assert caught.value.errors == [
        "statistics.yaml: anomaly.max_change: must be a share above 0 (0.3 is 30 %), at most 10",
        "statistics.yaml: fields[1].min: a number needs min below max",
        "statistics.yaml: fields[2].group: must be one of the groups",
        "statistics.yaml: fields[3]: a list of items has no unit, min, max or required",
        "statistics.yaml: fields[4].items[0].choices: a choice needs its choices",
        "statistics.yaml: fields[5].clause: must name the plan clause the figure serves",
        "statistics.yaml: groups: group empty has no field",
    ]


def test_the_county_is_told_when_its_reports_open_and_the_office_when_one_is_submitted(db, world):
    from workflow.core.models import Notification

    report = opened(db, world)[0]
    step(db, world["county"], report, "submit_figures", payload={"figures": FULL})
    with transaction(db) as s:
        told = s.exec(select(Notification.user_id, Notification.case_id)
                      .where(Notification.case_id.is_not(None)).order_by(Notification.id)).all()
    county, office = world["county"].user_id, world["office"].user_id
    first, second = opened_ids(db)
    # one in-app message per report for the county (two towns), then one for the office (the office is also
    # told, without a case, that 2027's holidays are not entered yet: the deadlines are estimates)
    assert told == [(county, first), (county, second), (office, report.id)]


def opened_ids(db):
    with transaction(db) as s:
        return [c.id for c in s.exec(select(Case).where(Case.definition_key == "statistics_report")
                                     .order_by(Case.id))]


def test_each_explanation_is_checked_named_and_kept_trimmed(db, world):
    report = opened(db, world)[0]
    with pytest.raises(Unprocessable) as refused:
        step(db, world["county"], report, "save_figures", payload={"figures": FULL, "explanations": "产值增长"})
    assert refused.value.details == [{"field": "explanations", "zh": "情况说明格式不正确",
                                      "en": "explanations must be a mapping"}]
    output = statistics_spec().field("output_yi").label
    too_long = "说" * 501
    with pytest.raises(Unprocessable) as refused:
        step(db, world["county"], report, "save_figures",
             payload={"figures": FULL, "explanations": {"fish": "鱼", "tax_wan": 3, "output_yi": too_long,
                                                        "employees": "新招工人"}})
    assert refused.value.details == [
        {"field": "explanations", "zh": "没有统计项 fish", "en": "no field fish"},
        {"field": "explanations", "zh": "没有统计项 tax_wan", "en": "no field tax_wan"},
        {"field": "output_yi", "zh": f"{output.zh}的情况说明不能超过 500 字",
         "en": f"the explanation of {output.en} is longer than 500"}]
    saved = step(db, world["county"], report, "save_figures",
                 payload={"figures": FULL, "explanations": {"output_yi": " " + "说" * 500 + " ", "tax_wan": "  "}})
    assert saved.data["explanations"] == {"output_yi": "说" * 500}  # trimmed; an empty one is no explanation
