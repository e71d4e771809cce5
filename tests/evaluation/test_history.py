"""A town's evaluations over the years (workflow/evaluation/history.py): the final totals of its scored evaluations
(an evaluation still under way left out), the rank of an approved ranking only (a ranking not yet approved
publishes nothing), latest year first; the town page's table and chart, seen by who sees the town."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from test_campaign import designated

from conftest import csrf_token, login
from workflow.core.db import transaction
from workflow.core.evaluations import evaluation_history
from workflow.core.models import Case
from workflow.evaluation import values as v
from workflow.evaluation.history import published_ranks, town_history

NOW = datetime(2027, 4, 1, 2, 0, tzinfo=UTC)


def evaluation(make, town, year, *, state="scored", output=30):
    """A town's evaluation of `year` in `state`, scored on the output alone (5 points for 30, 10 for 50)."""
    return make.case("evaluation_town", town=town, state=state,
                     data={"evaluation_year": year, "spec_version": 1, "statistics_values": {"output": output}})


def ranking(db, year, rows, *, state="approved", county_id):
    """The year's ranking case as its process writes it (rows of data["ranking"])."""
    with transaction(db) as s:
        case = Case(number=f"PM{year}{state}", definition_key="evaluation_ranking", definition_version=1,
                    state=state, county_id=county_id, title=f"{year}年度专业镇评价排名",
                    data={"evaluation_year": year, "ranking": rows}, created_at=NOW, updated_at=NOW)
        s.add(case)
        s.flush()
        return case.id


def row(case, town, rank, total="5"):
    return {"case_id": case.id, "town_id": town.id, "town": town.name, "county_id": town.county_id,
            "county": "盂县", "rank": rank, "tied": False, "total": total, "groups": {"scale": total},
            "last_rank": None, "outcome": None}


@pytest.fixture
def towns(make, db):
    return designated(make, db, "西烟镇"), designated(make, db, "娘子关镇", county="平定县")


def test_the_history_holds_scored_years_only_latest_first_with_the_rank_of_an_approved_ranking(db, make, towns):
    town, other = towns
    first = evaluation(make, town, 2024, output=50)
    second = evaluation(make, town, 2025)
    evaluation(make, town, 2026, state="unit_scoring")  # under way: not a result yet
    theirs = evaluation(make, other, 2025, output=50)
    ranking(db, 2024, [row(first, town, 3, "10")], county_id=town.county_id)
    ranking(db, 2025, [row(theirs, other, 1, "10"), row(second, town, 2)], state="submitted",
            county_id=town.county_id)  # not approved: its ranks are not published
    with transaction(db) as s:
        assert published_ranks(s, town.id) == {2024: 3}
        found = town_history(s, town.id)
        assert evaluation_history(s, town.id) == found  # the core reads it through the registered reader
        assert town_history(s, 9999) == []
    assert [(e.year, e.case_id, e.total, e.max_points, e.rank) for e in found] == [
        (2025, second.id, Decimal(5), Decimal(100), None), (2024, first.id, Decimal(10), Decimal(100), 3)]
    assert found[0].total == v.town_score(second).total


def test_an_approved_ranking_publishes_its_rank_and_rows_of_other_towns_or_malformed_are_ignored(db, make, towns):
    town, other = towns
    case = evaluation(make, town, 2025)
    theirs = evaluation(make, other, 2025, output=50)
    ranking(db, 2025, [row(theirs, other, 1, "10"), {"town_id": town.id, "rank": "2"}, row(case, town, 2)],
            county_id=town.county_id)
    ranking(db, 2024, "not a list", county_id=town.county_id)
    with transaction(db) as s:
        assert published_ranks(s, town.id) == {2025: 2}
        assert published_ranks(s, other.id) == {2025: 1}
        assert [(e.year, e.rank) for e in town_history(s, town.id)] == [(2025, 2)]


def test_the_town_page_shows_the_table_and_the_chart_to_who_sees_the_town(client, db, make, towns):
    town, other = towns
    make.user("county", county="盂县", username="yx_clerk")
    make.user("county", county="平定县", username="pd_clerk")
    make.user("office", username="office_zhang")
    first, second = evaluation(make, town, 2024, output=50), evaluation(make, town, 2025)
    ranking(db, 2024, [row(first, town, 3, "10")], county_id=town.county_id)
    login(client, "yx_clerk")
    page = client.get(f"/towns/{town.id}").get_data(as_text=True)
    section = page[page.index('id="town-evaluations"'):]
    assert "年度评价" in section
    assert '<tr data-year="2025">' in section and '<tr data-year="2024">' in section
    assert section.index('data-year="2025"') < section.index('data-year="2024"')  # latest first
    assert "5 / 100" in section and "10 / 100" in section and "尚未公布" in section
    assert f'href="/cases/{second.id}"' in section  # the county sees its evaluation cases
    # the chart: drawn on the server as SVG (no script, nothing fetched), the table beside it as its fallback
    assert 'id="c-evaluation-total-t"' in section and 'id="c-evaluation-rank-t"' in section
    assert "<script" not in section[:section.index("</section>")]
    assert '<circle cx="' in section and "<title>" in section
    client.post("/logout", data={"csrf_token": csrf_token(client, "/inbox")})
    login(client, "pd_clerk")  # another county's town: as if it did not exist
    assert client.get(f"/towns/{town.id}").status_code == 404
    assert 'id="c-evaluation' not in client.get(f"/towns/{other.id}").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/inbox")})
    login(client, "office_zhang")
    other_page = client.get(f"/towns/{other.id}").get_data(as_text=True)
    assert "尚无年度评价结果" in other_page[other_page.index('id="town-evaluations"'):]
    assert '<tr data-year="2025">' in client.get(f"/towns/{town.id}").get_data(as_text=True)
