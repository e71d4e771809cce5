"""三个一批 as the office reads and exports it: each quarter and the year by county with the total row, the
planned investment summed beside the count (rounded to the 万元's hundredth in the workbook), a project whose
planned investment is not a number counted without adding to the sum, and a county's report holding its own
county only."""

from __future__ import annotations

import pytest
from sqlmodel import select
from test_projects_api import DAY, _project

from workflow.core.db import transaction
from workflow.core.models import Unit
from workflow.core.yamlcheck import Label
from workflow.projects.batches import BATCH_LIST, BATCHES, Cell, three_batches


@pytest.fixture
def towns(make):
    return {"yx": make.town("西烟镇", county="盂县"), "pd": make.town("娘子关镇", county="平定县"),
            "yx_user": make.user("county", county="盂县", username="yx_batches"),
            "pd_user": make.user("county", county="平定县", username="pd_batches"),
            "office": make.user("office", username="office_batches")}


def test_a_project_is_counted_even_when_its_planned_investment_is_not_a_number():
    cell = Cell()
    for amount in (1000, 250.5, "待定", True, None):
        cell.add(amount)
    assert (cell.count, cell.investment) == (5, 1250.5)


def test_the_workbook_rows_carry_quarter_county_counts_and_rounded_investment(db, make, towns):
    sign = ("sign", "signed_date")
    _project(db, make, towns["yx_user"], "key_project", towns["yx"], "甲", 1234.567, [(*sign, "2026-05-04")])
    _project(db, make, towns["yx_user"], "investment_project", None, "乙", 0.001, [(*sign, "2026-05-20")])
    _project(db, make, towns["pd_user"], "key_project", towns["pd"], "丙", 300, [(*sign, "2026-11-02")])
    with transaction(db) as s:
        report = three_batches(s, make.actor(towns["office"]), 2026)
        yx_id, pd_id = towns["yx"].county_id, towns["pd"].county_id
        q2 = report.row(2, yx_id)
        assert (q2.cells["signed"].count, q2.cells["started"].count) == (2, 0)
        header = [c.header("zh") for c in BATCH_LIST.columns]
        assert header[:4] == ["季度", "县（区）", "签约一批（个）", "签约一批计划总投资（万元）"]
        assert [c.header("en") for c in BATCH_LIST.columns][2:4] == ["Signed (projects)",
                                                                    "Signed: planned investment (10,000 yuan)"]
        assert len(BATCH_LIST.columns) == 2 + 2 * len(BATCHES)

        def values(row):
            return [c.value(row) for c in BATCH_LIST.columns]

        assert values(q2) == [Label("第2季度", "Q2"), Label("盂县", "盂县"), 2, 1234.57, 0, 0.0, 0, 0.0]
        year_total = report.row(0, None)
        assert values(year_total) == [Label("全年", "Year"), Label("合计", "Total"), 3, 1534.57, 0, 0.0, 0, 0.0]
        assert values(report.row(4, pd_id))[2:4] == [1, 300.0]
        assert [(r.quarter, r.county) for r in report.rows if r.county_id in (yx_id, None)][:2] == [(1, "盂县"),
                                                                                                     (1, "合计")]

        mine = three_batches(s, make.actor(towns["yx_user"]), 2026)
        assert {r.county_id for r in mine.rows} == {yx_id, None}
        assert mine.row(0, None).cells["signed"].count == 2  # 平定县's project is not 盂县's to count
        assert three_batches(s, make.actor(towns["office"]), 2025).row(0, None).cells["signed"].count == 0


def test_the_report_is_of_its_year_with_every_county_in_order_and_counts_only_what_the_reader_sees(db, make, towns):
    sign = ("sign", "signed_date")
    _project(db, make, towns["pd_user"], "key_project", towns["pd"], "丙", 300.004, [(*sign, "2026-11-02")])
    _project(db, make, towns["yx_user"], "key_project", towns["yx"], "甲", 100, [(*sign, "2026-02-02")])
    member = make.user("member", username="member_batches")
    with transaction(db) as s:
        report = three_batches(s, make.actor(towns["office"]), 2026)
        counties = [(cid, name) for cid, name in
                    s.exec(select(Unit.id, Unit.name).where(Unit.kind == "county").order_by(Unit.id)).all()]
        assert report.year == 2026
        assert [(r.county_id, r.county) for r in report.rows if r.quarter == 1] == [*counties, (None, "合计")]
        assert [r.quarter for r in report.rows[::len(counties) + 1]] == [1, 2, 3, 4, 0]
        assert [c.value(report.row(4, towns["pd"].county_id)) for c in BATCH_LIST.columns][2:] == [
            1, 300.0, 0, 0.0, 0, 0.0]
        # a member unit sees no project of the libraries: its report counts none
        theirs = three_batches(s, make.actor(member), 2026)
        assert theirs.row(0, None).cells["signed"].count == 0 and len(theirs.rows) == len(report.rows)
        # 盂县's own report: its project counted although 平定县's was filed first
        assert three_batches(s, make.actor(towns["yx_user"]), 2026).row(1, None).cells["signed"].count == 1


def test_a_project_held_by_the_office_is_no_countys_and_does_not_hide_those_after_it(db, make, towns):
    from workflow.projects.ledger import create_project

    office = make.actor(towns["office"])
    with transaction(db) as s:
        office_unit = s.exec(select(Unit).where(Unit.kind == "office")).first()
        create_project(session=s, key="investment_project", actor=office, now=DAY, town_id=None,
                       county_id=office_unit.id, data={"project_name": "市级招商项目", "investment_planned": 50})
    _project(db, make, towns["yx_user"], "investment_project", None, "乙", 10, [("sign", "signed_date", "2026-05-20")])
    with transaction(db) as s:  # the office's project comes first in the rows read
        report = three_batches(s, office, 2026)
    assert report.row(0, None).cells["signed"].count == 1
    assert report.row(2, towns["yx"].county_id).cells["signed"].investment == 10.0


def test_the_stage_dates_are_taken_as_stored_and_only_real_dates_of_the_year_count(db, make, towns):
    """The database picks the projects with a stage date in the year; each date is then checked as a date. Data
    written before the fields' checks (an import, an older definition) may hold anything."""
    import sqlalchemy as sa

    from workflow.core.models import Case

    stored = {  # project -> its data as stored
        "甲": {"signed_date": "2025-12-30", "started_date": "2026-01-05", "producing_date": "2026-07-01",
               "investment_planned": "待定"},  # counted when started and when put into production, adding nothing
        "乙": {"signed_date": 20260504, "started_date": "2026-02-30", "investment_planned": 10},  # no real date
        "丙": {"signed_date": "2026-1-5", "producing_date": "2026-13-01", "investment_planned": 20},  # nor here
        "丁": {"signed_date": "2027-03-01", "producing_date": "2026-10-08", "investment_planned": 7.5},
    }
    ids = {name: _project(db, make, towns["yx_user"], "key_project", towns["yx"], name, 1, []) for name in stored}
    investment = _project(db, make, towns["yx_user"], "investment_project", None, "戊", 1, [])
    table = Case.__table__
    with transaction(db) as s:
        for name, data in stored.items():
            s.connection().execute(sa.update(table).where(table.c.id == ids[name]).values(data=data))
        s.connection().execute(sa.update(table).where(table.c.id == investment).values(  # counts when signed only
            data={"started_date": "2026-03-01", "signed_date": "2026-08-08", "investment_planned": 3}))
    with transaction(db) as s:
        report = three_batches(s, make.actor(towns["office"]), 2026)
    county = towns["yx"].county_id

    def cells(quarter):
        return {batch: (c.count, c.investment) for batch, c in report.row(quarter, county).cells.items()}

    assert cells(1) == {"signed": (0, 0.0), "started": (1, 0.0), "producing": (0, 0.0)}
    assert cells(3) == {"signed": (1, 3.0), "started": (0, 0.0), "producing": (1, 0.0)}
    assert cells(4) == {"signed": (0, 0.0), "started": (0, 0.0), "producing": (1, 7.5)}
    assert cells(0) == {"signed": (1, 3.0), "started": (1, 0.0), "producing": (2, 7.5)}
    assert cells(2) == {"signed": (0, 0.0), "started": (0, 0.0), "producing": (0, 0.0)}
