"""The search box of the case list and the registry, the results page and GET /api/v1/search: the same service
(workflow.core.search) through the same access rule, matches marked and everything else escaped."""

from __future__ import annotations

import pytest

from conftest import api_headers, login
from workflow.core.db import transaction
from workflow.core.engine import fire


@pytest.fixture
def towns(make, db, now):
    """盂县 with 西烟镇 (an application naming an enterprise whose name holds markup) and 城区 with 义井镇 (an
    application the office sent back with a comment)."""
    yu, cheng = make.user("county", county="盂县"), make.user("county", county="城区")
    office = make.user("office")
    xiyan = make.town("西烟镇", county="盂县", industry_category="manufacturing", leading_industry="铸造")
    yijing = make.town("义井镇", county="城区", leading_industry="耐火材料")
    yu_case = make.case("designation", town=xiyan, by=yu, data={"leading_enterprises": [
        {"name": "<b>阳泉铸造</b>集团"}]})
    cheng_case = make.case("designation", state="submitted", town=yijing, by=cheng)
    with transaction(db) as s:
        fire(session=s, case_id=cheng_case.id, trigger="return_for_revision", actor=make.actor(office), now=now,
             comment="请补充义井镇产值证明")
    return {"yu": yu, "cheng": cheng, "office": office, "yu_case": yu_case, "cheng_case": cheng_case}


def test_the_case_list_has_a_search_box_and_the_results_mark_the_matches(client, towns):
    login(client, towns["yu"].username)
    listing = client.get("/cases").get_data(as_text=True)
    assert 'action="/search"' in listing and 'name="q"' in listing
    page = client.get("/search", query_string={"q": "阳泉铸造"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert towns["yu_case"].number in html
    assert "&lt;b&gt;<mark>阳泉铸造</mark>&lt;/b&gt;集团" in html  # the markup of the data is text, the mark is ours
    assert "<b>阳泉铸造" not in html
    assert "西烟镇" in html and "盂县" in html


def test_a_county_finds_nothing_of_another_county_on_the_page_or_through_the_api(client, towns):
    cheng = towns["cheng_case"]
    login(client, towns["yu"].username)
    for q in (cheng.number, "义井镇", "城区", "产值证明"):
        html = client.get("/search", query_string={"q": q}).get_data(as_text=True)
        assert 'class="search-hit"' not in html and f'href="/cases/{cheng.id}"' not in html, q
        assert "0 cases found" in html or "找到 0 个案件" in html, q
    headers = api_headers(client, towns["yu"].username)
    for q in (cheng.number, "义井镇", "产值证明"):
        body = client.get("/api/v1/search", query_string={"q": q}, headers=headers).json
        assert body["total"] == 0 and body["items"] == [], q
    headers = api_headers(client, towns["cheng"].username)
    body = client.get("/api/v1/search", query_string={"q": "产值证明", "per_page": 5}, headers=headers).json
    assert body["total"] == 1 and body["per_page"] == 5 and body["q"] == "产值证明"
    hit = body["items"][0]
    assert hit["case"]["id"] == cheng.id and hit["county"] == "城区" and hit["town"] == "义井镇"
    assert hit["snippet"] == [{"text": "请补充义井镇", "match": False}, {"text": "产值证明", "match": True}]


def test_a_bad_query_is_a_400_with_a_chinese_message(client, towns):
    login(client, towns["office"].username)
    assert client.get("/search").status_code == 200  # the box alone
    empty, too_long = "请输入要搜索的内容", "搜索内容不能超过 100 个字"
    for q, says in (("", empty), ("   ", empty), ("镇" * 101, too_long)):
        page = client.get("/search", query_string={"q": q})
        assert page.status_code == 400
        assert says in page.get_data(as_text=True)
    headers = api_headers(client, towns["office"].username)
    answer = client.get("/api/v1/search", query_string={"q": "镇" * 101}, headers=headers)
    assert answer.status_code == 400 and answer.json["error"] == "bad_query"
    assert "100" in answer.json["message"]["zh"]
    answer = client.get("/api/v1/search", headers=headers)
    assert answer.status_code == 400
    answer = client.get("/api/v1/search", query_string={"q": "镇", "page": "x"}, headers=headers)
    assert answer.status_code == 400


def test_results_are_paged(client, make, towns):
    town = make.town("东梁镇", county="盂县")
    for i in range(22):
        make.case("rectification", town=town, data={"problem": f"第{i}项问题"})
    login(client, towns["office"].username)
    first = client.get("/search", query_string={"q": "东梁镇"}).get_data(as_text=True)
    assert first.count('class="search-hit"') == 20 and "page=2" in first
    second = client.get("/search", query_string={"q": "东梁镇", "page": 2}).get_data(as_text=True)
    assert second.count('class="search-hit"') == 3  # 22 orders and the town's registry record


def test_the_registry_finds_towns_by_name_county_and_industry_within_what_the_user_sees(app, client, towns):
    county = app.test_client()
    login(county, towns["cheng"].username)
    html = county.get("/towns", query_string={"q": "镇"}).get_data(as_text=True)
    assert "<mark>镇</mark>" in html and "义井" in html and "西烟" not in html  # a county sees its own towns
    login(client, towns["office"].username)
    html = client.get("/towns", query_string={"q": "铸造"}).get_data(as_text=True)
    assert "西烟镇" in html and "义井镇" not in html and "<mark>铸造</mark>" in html
    html = client.get("/towns", query_string={"q": "制造 盂县"}).get_data(as_text=True)  # the category's label
    assert "西烟镇" in html and "义井镇" not in html
    html = client.get("/towns", query_string={"q": "城区"}).get_data(as_text=True)
    assert "义井镇" in html and "西烟镇" not in html
    refused = client.get("/towns", query_string={"q": "镇" * 101})
    assert refused.status_code == 400 and "100" in refused.get_data(as_text=True)
