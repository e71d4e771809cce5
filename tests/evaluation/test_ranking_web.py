"""The year's ranking page, its workbook and its JSON: the office and the leader read it in every state (while the
towns are being scored, each town's state and score so far, and the office's step to submit; at the leader's
approval the table and the steps to approve or return it); a county reads it only once approved and published
(the whole ranking, a public notice, but only its own towns' cases linked), and is told plainly before; a member
unit and the auditor are refused. The results workbook is exported by a POST and recorded in the audit trail."""

from __future__ import annotations

import io
import json

import pytest
import test_ranking
from openpyxl import load_workbook
from sqlmodel import select
from test_campaign import step
from test_ranking import all_final, approved, to_final, year_opened

from conftest import api_headers, csrf_token, login
from workflow.core.db import transaction
from workflow.core.errors import Forbidden, NotFound
from workflow.core.models import AuditEvent, Case, User
from workflow.evaluation.export import HEADER_ROW, RESULTS_SHEET
from workflow.evaluation.ranking_view import ranking_view

world = test_ranking.world  # five towns of 盂县 driven to their final scores by all_final and approved
NOT_PUBLISHED = "该年度的评价排名尚未审定发布"


@pytest.fixture
def people(make, db, world):
    """Usernames of the world's office, leader and county (盂县), and of another county, a member unit and the
    auditor."""
    with transaction(db) as s:
        names = {role: s.get(User, world[role].user_id).username for role in ("office", "leader", "county")}
    names["other"] = make.user("county", county="平定县").username
    names["member"] = make.user("member", unit="市科技局").username
    names["auditor"] = make.user("auditor").username
    return names


def page_as(app, username, url):
    client = app.test_client()
    login(client, username)
    return client.get(url)


def test_while_scoring_the_office_sees_each_town_and_its_step_to_submit(app, db, world, people):
    cases, ranking = year_opened(db, world)
    to_final(db, world, cases["甲镇"], "1000")
    office = page_as(app, people["office"], "/evaluation/ranking?year=2026")
    text = office.get_data(as_text=True)
    assert office.status_code == 200
    assert "各镇评分中" in text and "4 个镇（共 5 个）的评分尚未确定" in text
    assert all(name in text for name in ("甲镇", "乙镇", "丙镇", "丁镇", "戊镇"))
    assert f'href="/cases/{ranking.id}/do/submit_ranking"' in text  # the case's own transition page
    assert f'href="/cases/{cases["甲镇"].id}"' in text
    leader = page_as(app, people["leader"], "/evaluation/ranking?year=2026").get_data(as_text=True)
    assert "各镇评分中" in leader and "submit_ranking" not in leader
    county = page_as(app, people["county"], "/evaluation/ranking?year=2026")
    assert county.status_code == 404 and NOT_PUBLISHED in county.get_data(as_text=True)
    assert page_as(app, people["member"], "/evaluation/ranking?year=2026").status_code == 403
    assert page_as(app, people["auditor"], "/evaluation/ranking?year=2026").status_code == 403


def test_at_approval_the_leader_sees_the_table_and_the_steps(app, db, world, people):
    _cases, ranking = all_final(db, world)
    office = page_as(app, people["office"], "/evaluation/ranking?year=2026").get_data(as_text=True)
    assert "每个镇的评分均已确定" in office
    step(db, world["office"], ranking, "submit_ranking")
    response = page_as(app, people["leader"], "/evaluation/ranking")  # the latest year by default
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "排名待领导审定" in text and "尚未向各县（区）发布" in text
    table = text[text.index('id="ranking-table"'):]
    assert [table.index(n) for n in ("甲镇", "乙镇", "丙镇", "丁镇", "戊镇")] == sorted(
        table.index(n) for n in ("甲镇", "乙镇", "丙镇", "丁镇", "戊镇"))
    assert "表扬" in table and "督办" in table and "新参评" in table
    assert f'href="/cases/{ranking.id}/do/approve_ranking"' in text
    assert f'href="/cases/{ranking.id}/do/return_ranking"' in text
    assert 'id="ranking-chart"' in text and text.count('class="town-bar"') == 5
    county = page_as(app, people["county"], "/evaluation/ranking?year=2026")
    assert county.status_code == 404 and NOT_PUBLISHED in county.get_data(as_text=True)
    headers = api_headers(app.test_client(), people["county"])
    refused = app.test_client().get("/api/v1/evaluation/rankings/2026", headers=headers)
    assert refused.status_code == 404 and refused.json["error"] == "not_published"
    assert refused.json["message"]["zh"].startswith(NOT_PUBLISHED)


def test_the_published_ranking_names_the_notice_the_orders_and_the_proposals(app, db, world, people):
    approved(db, world, 2025)
    _cases, ranking = approved(db, world, 2026)
    text = page_as(app, people["office"], "/evaluation/ranking?year=2026").get_data(as_text=True)
    notice = ranking.data["praise_notice"]
    assert notice["number"] in text and f'href="/attachments/{notice["attachment_id"]}"' in text
    for order_id in ranking.data["orders"].values():
        assert f'href="/cases/{order_id}"' in text
    for record_id in ranking.data["revocation_cases"].values():
        assert f'href="/cases/{record_id}"' in text
    assert "连续 2 年排名末位（督办）" in text and "拟撤销" in text
    assert "持平" in text  # each town holds last year's place
    overview = page_as(app, people["office"], "/evaluation?year=2026").get_data(as_text=True)
    assert 'href="/evaluation/ranking?year=2026"' in overview
    case_page = page_as(app, people["leader"], f"/cases/{ranking.id}").get_data(as_text=True)
    assert 'id="ranking-summary"' in case_page and 'href="/evaluation/ranking?year=2026"' in case_page


def test_a_county_reads_the_published_ranking_but_opens_only_its_own_cases(app, db, world, people):
    cases, ranking = approved(db, world)
    other = page_as(app, people["other"], "/evaluation/ranking?year=2026")
    text = other.get_data(as_text=True)
    assert other.status_code == 200
    assert all(name in text for name in ("甲镇", "乙镇", "丙镇", "丁镇", "戊镇"))
    assert ranking.data["praise_notice"]["number"] in text
    assert "/cases/" not in text.replace("/cases/new", "")  # no case of 盂县's, and not the ranking's
    own = page_as(app, people["county"], "/evaluation/ranking?year=2026").get_data(as_text=True)
    assert f'href="/cases/{cases["戊镇"].id}"' in own and f'href="/cases/{ranking.id}"' not in own
    overview = page_as(app, people["other"], "/evaluation?year=2026").get_data(as_text=True)
    assert 'href="/evaluation/ranking?year=2026"' in overview
    assert page_as(app, people["member"], "/evaluation/ranking?year=2026").status_code == 403


def export(app, username, year=2026):
    client = app.test_client()
    login(client, username)
    return client.post(f"/evaluation/ranking/{year}/export",
                       data={"csrf_token": csrf_token(client, "/evaluation")})


def test_the_results_workbook_is_exported_and_recorded(app, db, world, people):
    _cases, ranking = all_final(db, world)
    assert export(app, people["office"]).status_code == 422  # nothing submitted yet
    step(db, world["office"], ranking, "submit_ranking")
    assert export(app, people["county"]).status_code == 404  # not published yet
    response = export(app, people["leader"])
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert "filename*=UTF-8''2026" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data))[RESULTS_SHEET]
    rows = list(sheet.iter_rows(min_row=HEADER_ROW + 1, values_only=True))
    assert [r[2] for r in rows] == ["甲镇", "乙镇", "丙镇", "丁镇", "戊镇"]
    assert [r[-1] for r in rows] == ["表扬", "表扬", "表扬", "督办", "督办"]
    step(db, world["leader"], ranking, "approve_ranking")
    assert export(app, people["other"]).status_code == 200
    assert export(app, people["member"]).status_code == 403
    with transaction(db) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.kind == "list_exported")).all()
    assert [(e.role, json.loads(e.data)["list"], json.loads(e.data)["rows"]) for e in events] == [
        ("leader", "evaluation_results", 5), ("county", "evaluation_results", 5)]
    client = app.test_client()
    login(client, people["office"])
    assert client.post("/evaluation/ranking/2026/export").status_code == 400  # no CSRF token


def test_the_api_gives_the_same_ranking_to_the_same_readers(app, db, world, people):
    cases, ranking = approved(db, world)
    client = app.test_client()
    office = client.get("/api/v1/evaluation/rankings/2026", headers=api_headers(client, people["office"])).json
    assert office["state"] == "approved" and office["is_published"] and office["number"] == ranking.number
    assert [r["town"] for r in office["rows"]] == ["甲镇", "乙镇", "丙镇", "丁镇", "戊镇"]
    assert office["rows"][0]["change"] == {"zh": "新参评", "en": "new"}
    assert office["rows"][0]["case_id"] == cases["甲镇"].id
    assert office["praise_notice"]["number"] == ranking.data["praise_notice"]["number"]
    assert {o["case_id"] for o in office["orders"]} == set(ranking.data["orders"].values())
    other = client.get("/api/v1/evaluation/rankings/2026", headers=api_headers(client, people["other"]))
    assert other.status_code == 200 and [r["rank"] for r in other.json["rows"]] == [1, 2, 3, 4, 5]
    assert {r["case_id"] for r in other.json["rows"]} == {None} and other.json["case_id"] is None
    assert {o["case_id"] for o in other.json["orders"]} == {None}
    assert other.json["praise_notice"]["attachment_id"] is None
    missing = client.get("/api/v1/evaluation/rankings/2031", headers=api_headers(client, people["office"]))
    assert missing.status_code == 404
    member = client.get("/api/v1/evaluation/rankings/2026", headers=api_headers(client, people["member"]))
    assert member.status_code == 403


def test_the_rules_are_the_services(db, world):
    year_opened(db, world)
    with transaction(db) as s:
        assert ranking_view(s, world["office"], 2026).progress
        with pytest.raises(NotFound):
            ranking_view(s, world["county"], 2026)
        with pytest.raises(Forbidden):
            ranking_view(s, world["units"]["市科技局"], 2026)
        with pytest.raises(NotFound):
            ranking_view(s, world["leader"], 2031)


def test_equal_totals_are_marked_tied_with_what_ordered_them(app, db, world, people):
    _cases, ranking = all_final(db, world)
    submitted = step(db, world["office"], ranking, "submit_ranking")
    with transaction(db) as s:  # as compute_ranking keeps two towns of equal totals
        case = s.get(Case, submitted.id)
        rows = [dict(r) for r in case.data["ranking"]]
        rows[1].update(rank=2, tied=True, decided_by={"zh": "同分时按产业规模得分排序", "en": "by scale"})
        rows[2].update(rank=2, tied=True, decided_by=rows[1]["decided_by"])
        case.data = {**case.data, "ranking": rows}
        s.add(case)
    text = page_as(app, people["leader"], "/evaluation/ranking?year=2026").get_data(as_text=True)
    table = text[text.index('id="ranking-table"'):]
    assert table.count(">并列<") == 2 and "同分时按产业规模得分排序" in table
