"""The dashboard's figures checked against sums worked out by hand: towns in two counties at different registry
levels, accepted statistics over several years (brands and standards among their items), rectification orders in
different states and a criticism issued through the real steps. A county's dashboard counts its own towns only; the
page and the API show the same figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
import time_machine
from sqlmodel import select

from conftest import api_headers, login
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.errors import Forbidden, NotFound
from workflow.core.models import Attachment, Case, TownStatistics, Unit
from workflow.dashboard import targets as targets_module
from workflow.dashboard.figures import build, city_readings, elapsed_share, indicator_catalogue, pace
from workflow.dashboard.targets import period_for, plan_periods

TODAY = date(2026, 11, 27)  # the `now` fixture's day in Yangquan
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def set_level(db, town, level):
    with transaction(db) as s:
        s.connection().execute(sa.update(Case.__table__).where(Case.__table__.c.town_id == town.id,
                                                              Case.__table__.c.definition_key == "town")
                               .values(state=level))


def accepted(db, town, year, output, brands=(), standards=(), **numbers):
    """The row the office's acceptance writes (tests/statistics covers the acceptance itself); it names the town's
    registry record as its report, which only the foreign key reads."""
    with transaction(db) as s:
        case = s.exec(sa.select(Case.id).where(Case.town_id == town.id,
                                               Case.definition_key == "town")).scalar_one()
        s.add(TownStatistics(town_id=town.id, county_id=town.county_id, year=year, output_yi=output,
                             figures={"output_yi": output, "brands": [dict(b) for b in brands],
                                      "standards": [dict(x) for x in standards], **numbers},
                             spec_version=1, report_case_id=case, accepted_at=NOW))


@pytest.fixture
def world(db, make):
    office, leader = make.user("office", username="office_zhang"), make.user("leader", username="leader_li")
    yx, pd = make.user("county", county="盂县", username="yx_clerk"), make.user("county", county="平定县",
                                                                               username="pd_clerk")
    a1, a2, a3 = (make.town(n, county="盂县") for n in ("西烟镇", "路家村镇", "梁家寨乡"))
    b1, b2 = (make.town(n, county="平定县") for n in ("娘子关镇", "冠山镇"))
    for town, level in ((a1, "provincial"), (a2, "municipal"), (b1, "municipal"), (b2, "revoked")):
        set_level(db, town, level)  # a3 stays a candidate
    national, provincial = {"level": "national"}, {"level": "provincial"}
    accepted(db, a1, 2022, 90, brands=[{"name": "旧品牌", **national}])  # before the period: not counted
    accepted(db, a1, 2024, 100.5, brands=[{"name": "西烟石材", **national}],
             standards=[{"name": "石材加工规范", "kind": "industry", "role": "lead"}])
    # a choice the targets do not ask about, with a value one of them names: the brand is not a national one
    accepted(db, a2, 2024, 20, brands=[{"name": "路家村铸件", "level": "municipal", "market": "national"}])
    accepted(db, b1, 2024, 50.25, brands=[{"name": "娘子关砂器", **provincial}],
             standards=[{"name": "砂器团体标准", "kind": "group", "role": "lead"}])
    accepted(db, a1, 2025, 110, brands=[{"name": "西烟石材", **national}, {"name": "西烟石雕", **national}],
             standards=[{"name": "石材加工规范", "kind": "industry", "role": "lead"},
                        {"name": "建筑石材国家标准", "kind": "national", "role": "participate"}])
    accepted(db, b1, 2025, 60.5, brands=[{"name": "娘子关砂器", **national}])
    accepted(db, a2, 2026, 30)

    # rectification orders: 盂县 one rectifying, one criticised (through the real steps), one completed;
    # 平定县 one overdue, one issued, one rectifying, and a criticism notice of last year
    orders = {}
    for key, town, state in (("a_open", a1, "rectifying"), ("a_late", a3, "overdue"), ("a_done", a2, "completed"),
                             ("b_late", b1, "overdue"), ("b_new", b1, "issued"), ("b_open", b1, "rectifying")):
        orders[key] = make.case("rectification", state=state, town=town, by=office, data={"problem": "台账不全"})
    with transaction(db) as s:
        fire(session=s, case_id=orders["a_late"].id, trigger="criticise", actor=make.actor(office), now=NOW,
             comment="逾期未整改")
        fire(session=s, case_id=orders["a_late"].id, trigger="approve_criticism", actor=make.actor(leader), now=NOW)
        s.add(Attachment(case_id=orders["b_late"].id, kind="criticism_notice", sha256="0" * 64, filename="旧.docx",
                         content_type="application/octet-stream", size=1,
                         uploaded_at=datetime(2025, 6, 1, 2, tzinfo=UTC)))
    # designations: one in progress, one designated this year
    make.case("designation", state="submitted", county="盂县")
    done = make.case("designation", state="designated", county="平定县")
    with transaction(db) as s:
        s.connection().execute(sa.update(Case.__table__).where(Case.__table__.c.id == done.id).values(closed_at=NOW))
    return {"office": make.actor(office), "leader": make.actor(leader), "yx": make.actor(yx), "pd": make.actor(pd),
            "yx_id": a1.county_id, "pd_id": b1.county_id}


def figures(board):
    return {f.target.key: (f.value, f.goal, f.share, f.pace, f.year) for f in board.targets}


def test_the_plan_s_targets_by_hand_for_the_city(db, world):
    with transaction(db) as s:
        board = build(s, world["leader"], TODAY, "2023-2025")
    assert figures(board) == {
        # towns at the levels, today: 西烟镇 provincial; 西烟镇, 路家村镇, 娘子关镇 designated (冠山镇 revoked)
        "provincial_towns": (1, 2, Decimal("0.5"), "missed", None),
        "municipal_towns": (3, 10, Decimal("0.3"), "missed", None),
        # the latest year of the period with accepted figures, 2025: 110 + 60.5
        "total_output": (Decimal("170.5"), 300, Decimal("0.5683"), "missed", 2025),
        # national brands of 2023-2025 by town and name: 西烟石材 (2024 and 2025, once), 西烟石雕, 娘子关砂器 (2025)
        "cluster_brands": (3, 2, Decimal("1.5"), "met", None),
        # industry and national standards: 石材加工规范 (twice, once), 建筑石材国家标准; the 团体标准 is not one
        "industry_standards": (2, 3, Decimal("0.6667"), "missed", None),
    }
    by_county = {f.target.key: {c.county: c.value for c in f.counties} for f in board.targets}
    assert by_county["total_output"] == {"盂县": Decimal("110.0"), "平定县": Decimal("60.5")}
    assert by_county["cluster_brands"] == {"盂县": 2, "平定县": 1}
    assert board.years == [2022, 2024, 2025, 2026]
    assert board.output_total == {2022: 90, 2024: Decimal("170.75"), 2025: Decimal("170.5"), 2026: 30}
    assert board.towns_reported == {2022: 1, 2024: 3, 2025: 2, 2026: 1}
    assert board.output_by_county == {world["yx_id"]: {2022: 90, 2024: Decimal("120.5"), 2025: 110, 2026: 30},
                                      world["pd_id"]: {2024: Decimal("50.25"), 2025: Decimal("60.5")}}
    orders = {o.county: (o.open, o.overdue, o.overdue_rate, o.criticisms) for o in board.orders}
    assert orders == {"盂县": (2, 1, Decimal("0.5"), 1), "平定县": (3, 1, Decimal("0.3333"), 0)}
    assert (board.open_orders, board.overdue_orders, board.overdue_rate, board.criticisms_this_year) == (
        5, 2, Decimal("0.4"), 1)
    assert (board.applications_in_progress, board.designated_this_year) == (1, 1)
    assert board.designated_towns(world["yx_id"]) == 2 and board.designated_towns(world["pd_id"]) == 1
    # the registry by county and level (the towns of the two designation cases are candidates, with 梁家寨乡),
    # and the designations by state: towns and designation cases only
    assert board.levels == {world["yx_id"]: {"provincial": 1, "municipal": 1, "candidate": 2},
                            world["pd_id"]: {"municipal": 1, "revoked": 1, "candidate": 1}}
    assert board.designations == {"submitted": 1, "designated": 1}


def test_the_next_period_measures_its_pace_and_the_counties_against_their_own_shares(db, world):
    with transaction(db) as s:
        city = build(s, world["office"], TODAY)  # today falls in 2026-2030
        yx = build(s, world["yx"], TODAY)
    assert city.period.key == "2026-2030" and city.elapsed == Decimal("0.1813")  # 331 of 1,826 days
    assert figures(city)["municipal_towns"] == (3, 15, Decimal("0.2"), "on_track", None)
    assert figures(city)["total_output"] == (30, 500, Decimal("0.06"), "behind", 2026)
    assert figures(city)["cluster_brands"] == (0, 4, 0, "behind", None)  # no report of the period lists one
    municipal = next(f for f in city.targets if f.target.key == "municipal_towns")
    assert {c.county: (c.value, c.goal, c.share) for c in municipal.counties} == {
        "盂县": (2, 4, Decimal("0.5")), "平定县": (1, 4, Decimal("0.25"))}
    # 盂县's own dashboard: its towns against its own shares; no share of the brands is set for it
    assert figures(yx)["municipal_towns"] == (2, 4, Decimal("0.5"), "on_track", None)
    assert figures(yx)["total_output"] == (30, 120, Decimal("0.25"), "on_track", 2026)
    assert figures(yx)["cluster_brands"] == (0, None, None, None, None)


def test_a_county_sees_only_its_own_towns(db, world):
    with transaction(db) as s:
        pd = build(s, world["pd"], TODAY, "2023-2025")
    assert [u.name for u in pd.counties] == ["平定县"] and pd.county.name == "平定县"
    assert {k: v[0] for k, v in figures(pd).items()} == {
        "provincial_towns": 0, "municipal_towns": 1, "total_output": Decimal("60.5"), "cluster_brands": 1,
        "industry_standards": 0}
    assert all(f.counties == () for f in pd.targets)
    assert pd.output_total == {2024: Decimal("50.25"), 2025: Decimal("60.5")}
    assert [(o.county, o.open, o.overdue, o.criticisms) for o in pd.orders] == [("平定县", 3, 1, 0)]
    assert (pd.criticisms_this_year, pd.applications_in_progress, pd.designated_this_year) == (0, 0, 1)


def targets_file(first: int, last: int, targets: str) -> str:
    """A targets file of one plan period, from `first` to `last`, with the targets given (YAML, one per item)."""
    return (f"key: targets\nversion: 1\nlabel: {{zh: 目标, en: Targets}}\nperiods:\n"
            f"  - key: \"{first}-{last}\"\n    label: {{zh: 示例规划期, en: An example period}}\n"
            f"    start: {first}-01-01\n    end: {last}-12-31\n    document: 某政办发〔{first}〕1号\n"
            f"    targets:\n{targets}")


@pytest.fixture
def targets_in(tmp_path, monkeypatch):
    """definitions/targets.yaml replaced by the text given, for the rest of the test."""
    def install(text):
        path = tmp_path / "targets.yaml"
        path.write_text(text, encoding="utf-8")
        monkeypatch.setattr(targets_module, "TARGETS_PATH", path)
        targets_module.plan_periods.cache_clear()
    yield install
    targets_module.plan_periods.cache_clear()


OTHER_SUMS = targets_file(2026, 2030, """\
      - key: jobs
        label: {zh: 从业人员, en: Employees}
        unit: {zh: 人, en: people}
        value: 4070
        counties: {盂县: 2470, 平定县: 1600}
        source: {kind: statistics_sum, field: employees}
      - key: tax
        label: {zh: 税收, en: Tax}
        unit: {zh: 万元, en: 10k yuan}
        value: 2000
        source: {kind: statistics_sum, field: tax_wan}
""")


def test_a_target_sums_any_number_of_the_latest_year_s_reports(db, make, targets_in):
    targets_in(OTHER_SUMS)  # targets that sum other numbers of the reports than the output
    office, yx = make.actor(make.user("office")), make.actor(make.user("county", county="盂县"))
    pd = make.actor(make.user("county", county="平定县"))
    a1, a2 = make.town("西烟镇", county="盂县"), make.town("路家村镇", county="盂县")
    b1 = make.town("娘子关镇", county="平定县")
    accepted(db, a1, 2025, 100, employees=5000, tax_wan=999)  # an earlier year: not the latest, not counted
    accepted(db, a1, 2026, 110, employees=1200, tax_wan=1234.567)
    accepted(db, a2, 2026, 20, employees=35, tax_wan=0.25)
    accepted(db, b1, 2026, 60, employees=800)  # no tax figure in its report
    with transaction(db) as s:
        city, own, other = build(s, office, TODAY), build(s, yx, TODAY), build(s, pd, TODAY)
    # jobs: 1,200 + 35 + 800 of 2026 against 4,070; tax: 1,234.567 + 0.25, to the fen
    assert figures(city) == {"jobs": (2035, 4070, Decimal("0.5"), "on_track", 2026),
                             "tax": (Decimal("1234.82"), 2000, Decimal("0.6174"), "on_track", 2026)}
    parts = {f.target.key: {c.county: (c.value, c.goal, c.share) for c in f.counties} for f in city.targets}
    assert parts == {"jobs": {"盂县": (1235, 2470, Decimal("0.5")), "平定县": (800, 1600, Decimal("0.5"))},
                     "tax": {"盂县": (Decimal("1234.82"), None, None), "平定县": (0, None, None)}}
    # each county: its own towns only, against its own share
    assert figures(own) == {"jobs": (1235, 2470, Decimal("0.5"), "on_track", 2026),
                            "tax": (Decimal("1234.82"), None, None, None, 2026)}
    assert figures(other) == {"jobs": (800, 1600, Decimal("0.5"), "on_track", 2026),
                              "tax": (0, None, None, None, 2026)}


def test_who_may_see_it_and_which_periods(db, world, make):
    member = make.actor(make.user("member"))
    with transaction(db) as s, pytest.raises(Forbidden) as refused:
        build(s, member, TODAY)
    assert (refused.value.zh, refused.value.en) == (
        "只有领导小组、领导小组办公室和县（区）可以查看工作看板。",
        "Only the leading group, the office and the counties see the dashboard.")
    with transaction(db) as s, pytest.raises(NotFound) as missing:
        build(s, world["office"], TODAY, "2031-2035")
    assert (missing.value.zh, missing.value.en) == ("没有这个规划期。", "No such plan period.")
    first, second = plan_periods()
    assert period_for(date(2022, 5, 1)) == first and period_for(date(2025, 12, 31)) == first
    assert period_for(date(2026, 1, 1)) == second and period_for(date(2031, 1, 1)) == second


def test_the_pace_rule():
    first = plan_periods()[0]  # 2023-01-01 to 2025-12-31: 1,096 days
    assert elapsed_share(first, date(2022, 12, 31)) == 0 and elapsed_share(first, date(2026, 1, 1)) == 1
    mid = date(2024, 7, 1)  # the end of its 548th day: 365 of 2023 and 183 of 2024
    assert elapsed_share(first, mid) == Decimal("0.5")
    assert pace(Decimal("0.5"), Decimal("0.5"), first, mid) == "on_track"
    assert pace(Decimal("0.4999"), Decimal("0.5"), first, mid) == "behind"
    assert pace(Decimal("1"), Decimal("0.5"), first, mid) == "met"
    assert pace(Decimal("0.99"), Decimal("1"), first, date(2026, 1, 1)) == "missed"
    assert pace(Decimal("0.99"), Decimal("1"), first, date(2025, 12, 31)) == "behind"  # its last day is not over
    assert pace(None, Decimal("0.5"), first, mid) is None


def test_the_page_and_the_api_show_the_same_figures(app, db, world):
    client = app.test_client()
    with time_machine.travel(NOW, tick=False):
        login(client, "leader_li")
        page = client.get("/dashboard?period=2023-2025")
        html = page.get_data(as_text=True)
        headers = api_headers(client, "office_zhang")
        body = client.get("/api/v1/dashboard?period=2023-2025", headers=headers).json
        missing = client.get("/api/v1/dashboard?period=1999-2000", headers=headers)
    assert page.status_code == 200
    # five charts: the fifth is 三个一批 (webapp/templates/projects/_dashboard.html)
    assert html.count("<svg class=\"chart") == 5 and html.count("<table class=\"list figures\">") == 4
    assert "170.5 亿元" in html and "57%" in html and "未完成" in html and "已完成" in html
    assert "<td class=\"num\">170.75</td>" in html  # 2024's total in the output table
    assert {t["key"]: (t["value"], t["goal"], t["pace"]) for t in body["targets"]} == {
        "provincial_towns": (1, 2, "missed"), "municipal_towns": (3, 10, "missed"),
        "total_output": (170.5, 300, "missed"), "cluster_brands": (3, 2, "met"),
        "industry_standards": (2, 3, "missed")}
    assert body["output"] == [{"year": 2022, "output_yi": 90, "towns": 1},
                              {"year": 2024, "output_yi": 170.75, "towns": 3},
                              {"year": 2025, "output_yi": 170.5, "towns": 2},
                              {"year": 2026, "output_yi": 30, "towns": 1}]
    assert body["supervision"]["open_orders"] == 5 and body["supervision"]["criticisms_this_year"] == 1
    assert [(c["county"], c["overdue_rate"]) for c in body["supervision"]["by_county"]] == [
        ("盂县", 0.5), ("平定县", 0.3333)]
    assert body["period"]["key"] == "2023-2025" and body["periods"] == ["2023-2025", "2026-2030"]
    assert missing.status_code == 404 and missing.json["message"]["zh"] == "没有这个规划期。"


def test_a_county_s_page_and_api_name_no_other_county(app, db, world):
    client = app.test_client()
    with time_machine.travel(NOW, tick=False):
        login(client, "pd_clerk")
        html = client.get("/dashboard?period=2023-2025").get_data(as_text=True)
        body = client.get("/api/v1/dashboard?period=2023-2025", headers=api_headers(client, "pd_clerk")).json
    assert "平定县" in html and "盂县" not in html
    assert "盂县" not in str(body) and body["county_id"] == world["pd_id"]
    assert {t["key"]: t["value"] for t in body["targets"]}["total_output"] == 60.5


def test_a_new_county_counts_nought_and_one_no_longer_active_leaves_the_city_s_list(db, world, make):
    cq = make.actor(make.user("county", county="城区"))  # no town and no order yet; its share of 2026-2030: 1 town
    kq = make.actor(make.user("county", county="矿区"))
    with transaction(db) as s:
        units = Unit.__table__
        s.connection().execute(sa.update(units).where(units.c.id == kq.unit_id).values(is_active=False))
        # 盂县's row written again: the counties are still listed in the order they were made
        s.connection().execute(sa.update(units).where(units.c.id == world["yx_id"]).values(name="盂县"))
    with transaction(db) as s:
        city, own, gone = build(s, world["office"], TODAY), build(s, cq, TODAY), build(s, kq, TODAY)
    assert [u.name for u in city.counties] == ["盂县", "平定县", "城区"]
    assert [(o.county, o.open, o.overdue, o.overdue_rate, o.criticisms) for o in city.orders][2] == (
        "城区", 0, 0, None, 0)
    assert city.designated_towns(cq.unit_id) == 0
    municipal = next(f for f in city.targets if f.target.key == "municipal_towns")
    assert [(c.county, c.value, c.goal, c.share) for c in municipal.counties][2] == ("城区", 0, 1, 0)
    output = next(f for f in city.targets if f.target.key == "total_output")
    assert [(c.county, c.value) for c in output.counties] == [("盂县", 30), ("平定县", 0), ("城区", 0)]
    # each its own dashboard, against its own share: the one no longer active as well
    assert own.county.name == "城区" and figures(own)["municipal_towns"] == (0, 1, 0, "behind", None)
    # its first town's orders: one overdue, one whose criticism is being drafted, one in rectification
    office = make.user("office", username="office_wang")
    town = make.town("义井镇", county="城区")
    for state in ("overdue", "criticism_pending", "rectifying"):
        make.case("rectification", state=state, town=town, by=office, data={"problem": "台账不全"})
    with transaction(db) as s:
        later = build(s, world["office"], TODAY)
    assert [(o.county, o.open, o.overdue, o.overdue_rate) for o in later.orders][2] == (
        "城区", 3, 2, Decimal("0.6667"))
    assert gone.county.name == "矿区" and figures(gone)["municipal_towns"] == (0, 1, 0, "behind", None)
    assert [o.county for o in gone.orders] == ["矿区"]


def test_this_year_counts_from_new_year_s_day_in_yangquan_and_the_reviews_overdue(db, world, make):
    start = datetime(2025, 12, 31, 16, 0, tzinfo=UTC)  # 2026-01-01 00:00 in Yangquan
    end = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)  # 2027-01-01 00:00
    second = timedelta(seconds=1)
    cases = Case.__table__
    closed = {}
    for key, state, at in (("first", "designated", start), ("last_year", "designated", start - second),
                           ("next_year", "designated", end), ("rejected", "rejected", NOW)):
        closed[key] = make.case("designation", state=state, county="平定县")
        with transaction(db) as s:
            s.connection().execute(sa.update(cases).where(cases.c.id == closed[key].id).values(closed_at=at))
    with transaction(db) as s:  # criticism notices issued on new year's day, the second before and the next year's
        for at in (start, start - second, end):
            s.add(Attachment(case_id=closed["first"].id, kind="criticism_notice", sha256="0" * 64,
                             filename="通报.docx", content_type="application/octet-stream", size=1, uploaded_at=at))
    # designated towns whose review date has passed (one each county), one due today, and a candidate's
    for name, county, review, level in (("冶西镇", "平定县", "2026-06-30", "municipal"),
                                        ("秀水镇", "盂县", "2026-11-26", "provincial"),
                                        ("仙人乡", "盂县", "2026-11-27", "municipal"),
                                        ("北下庄乡", "盂县", "2026-01-01", "candidate")):
        town = make.town(name, county=county)
        set_level(db, town, level)
        with transaction(db) as s:
            record = s.exec(select(Case).where(Case.town_id == town.id, Case.definition_key == "town")).one()
            record.data = {**record.data, "review_date": review}
            s.add(record)
    with transaction(db) as s:
        city, yx, pd = build(s, world["office"], TODAY), build(s, world["yx"], TODAY), build(s, world["pd"], TODAY)
    # the world's designation closed today and the one on new year's day; not the rejected one
    assert (city.designated_this_year, yx.designated_this_year, pd.designated_this_year) == (2, 0, 2)
    # the world's notice of 盂县 (through the real steps) and the one of new year's day
    assert (city.criticisms_this_year, yx.criticisms_this_year, pd.criticisms_this_year) == (2, 1, 1)
    assert (city.reviews_overdue, yx.reviews_overdue, pd.reviews_overdue) == (2, 1, 1)


ITEM_TARGETS = targets_file(2024, 2028, """\
      - key: lead_standards
        label: {zh: 主导制定的国家和行业标准, en: National and industry standards led}
        unit: {zh: 项, en: standards}
        value: 10
        source: {kind: statistics_items, field: standards, where: {kind: [industry, national], role: [lead]}}
      - key: brands
        label: {zh: 品牌, en: Brands}
        unit: {zh: 个, en: brands}
        value: 10
        source: {kind: statistics_items, field: brands}
""")


def test_an_item_counts_when_it_meets_every_condition_in_one_year_s_report(db, make, targets_in):
    targets_in(ITEM_TARGETS)
    office = make.actor(make.user("office"))
    a1, a2 = make.town("西烟镇", county="盂县"), make.town("路家村镇", county="盂县")
    b1 = make.town("娘子关镇", county="平定县")
    lead = {"name": "石材加工规范", "kind": "industry", "role": "lead"}
    accepted(db, a1, 2025, 100, brands=[{"name": "西烟石材", "level": "national"}],
             standards=[lead, {"name": "石雕工艺规范", "kind": "industry", "role": "participate"},  # not led
                        lead])  # entered twice: still one standard, and still counted
    # another town's standard of the same name is another standard
    accepted(db, a2, 2025, 20, brands=[{"name": "路家村铸件", "level": "municipal"}],
             standards=[{"name": "石材加工规范", "kind": "national", "role": "lead"}])
    # an industry standard one year, led the next as an association standard: neither year meets both
    accepted(db, b1, 2024, 50, standards=[{"name": "砂器规范", "kind": "industry", "role": "participate"}])
    accepted(db, b1, 2025, 60, standards=[{"name": "砂器规范", "kind": "group", "role": "lead"}])
    with transaction(db) as s:
        city = build(s, office, TODAY)
    parts = {f.target.key: (f.value, {c.county: c.value for c in f.counties}) for f in city.targets}
    # every brand, whatever its level; no standard among them
    assert parts == {"lead_standards": (2, {"盂县": 2, "平定县": 0}), "brands": (2, {"盂县": 2, "平定县": 0})}


def test_the_city_s_readings_are_the_dashboard_s_figures(db, world):
    asked = frozenset({"total_output", "cluster_brands", "municipal_towns", "not_a_target"})
    with transaction(db) as s:
        readings = city_readings(s, TODAY, asked)
        board = build(s, world["yx"], TODAY)  # a county's dashboard does not change the city's readings
        later = city_readings(s, date(2040, 1, 1), asked)  # after the last period: the last period's figures
        none_asked = city_readings(s, TODAY, frozenset())
        output_only = city_readings(s, TODAY, frozenset({"total_output"}))
    period = "“十五五”时期（2026—2030年）（示例）"
    assert {k: (r.indicator.key, r.indicator.unit.zh, r.value, r.goal, r.period.zh, r.year)
            for k, r in readings.items()} == {
        "total_output": ("total_output", "亿元", 30, 500, period, 2026),
        "cluster_brands": ("cluster_brands", "个", 0, 4, period, None),
        "municipal_towns": ("municipal_towns", "个", 3, 15, period, None)}
    assert figures(board)["municipal_towns"][0] == 2
    assert later == readings and none_asked == {} and output_only == {"total_output": readings["total_output"]}
    catalogue = indicator_catalogue()
    assert (catalogue["total_output"].key, catalogue["total_output"].unit.zh) == ("total_output", "亿元")
    assert catalogue["industry_standards"].label.zh == "行业标准"
