"""Search (workflow.core.search): found by number, town, county, enterprise, title and comment, in Chinese, through
the same access rule as every list of cases; on SQLite (FTS5 trigram) and PostgreSQL (pg_trgm) alike."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import select
from statements import counted, shape

from workflow.core import search
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.errors import InvalidInput
from workflow.core.models import Case, CaseParty, CaseSearch, Town, Unit
from workflow.core.queries import registry_case
from workflow.core.search import highlight, like_pattern, search_cases, snippet, terms_of

YU_APPLICATION = {"industry_category": "manufacturing", "leading_industry": "铸造", "main_products": "铸件",
                  "output_yi": 12.5, "leading_enterprises": [{"name": "阳泉铸造集团有限公司"}],
                  "supporting_enterprises": 12}
CHENG_APPLICATION = {"industry_category": "manufacturing", "leading_industry": "耐火材料", "main_products": "高铝砖",
                     "output_yi": 20, "leading_enterprises": [{"name": "义井耐材股份公司"}, {"name": "晋东陶瓷厂"}],
                     "supporting_enterprises": 30}


@pytest.fixture
def world(db, make, now):
    """盂县 (西烟镇) and 城区 (义井镇), an application in each, an order in 盂县; 市科技局 consulted on 盂县's
    application; the office sends 城区's application back with a comment."""
    yu_town = make.town("西烟镇", county="盂县")
    cheng_town = make.town("义井镇", county="城区")
    yu_county = make.user("county", county="盂县")
    cheng_county = make.user("county", county="城区")
    office = make.user("office")
    yu_case = make.case("designation", town=yu_town, by=yu_county, data=dict(YU_APPLICATION))
    yu_order = make.case("rectification", town=yu_town, data={"problem": "台账缺失，完成率50%_待核"})
    cheng_case = make.case("designation", state="submitted", town=cheng_town, by=cheng_county,
                           data=dict(CHENG_APPLICATION))
    with transaction(db) as s:
        fire(session=s, case_id=cheng_case.id, trigger="return_for_revision", actor=make.actor(office), now=now,
             comment="请补充产值统计证明材料")
    member = make.user("member", unit="市科技局")
    other_member = make.user("member", unit="市发改委")
    with transaction(db) as s:
        s.add(CaseParty(case_id=yu_case.id, unit_id=member.unit_id, purpose="consultation", created_at=now))
        cheng_record = registry_case(s, cheng_town.id)
    return {"yu_case": yu_case, "yu_order": yu_order, "cheng_case": cheng_case, "cheng_record": cheng_record,
            "yu_county": make.actor(yu_county), "cheng_county": make.actor(cheng_county),
            "office": make.actor(office), "leader": make.actor(make.user("leader")),
            "member": make.actor(member), "other_member": make.actor(other_member),
            "admin": make.actor(make.user("admin")), "auditor": make.actor(make.user("auditor")),
            "yu_town": yu_town, "cheng_town": cheng_town}


def found(db, actor, q, **kwargs) -> list[int]:
    with transaction(db) as s:
        return [hit.case.id for hit in search_cases(s, actor, q, **kwargs).items]


def test_a_county_never_finds_another_countys_case(db, world):
    """By number, town, county, enterprise and the office's comment: the office finds 城区's application, 盂县 never
    does, and 城区 does (its own)."""
    cheng = world["cheng_case"]
    for q in (cheng.number, "义井镇", "城区", "义井耐材", "晋东陶瓷厂", "产值统计证明", "耐火材料"):
        assert cheng.id in found(db, world["office"], q), q
        assert cheng.id in found(db, world["cheng_county"], q), q
        assert found(db, world["yu_county"], q) == [], q
    yu = world["yu_case"]
    for q in (yu.number, "西烟镇", "盂县", "阳泉铸造集团", "铸造"):
        assert yu.id in found(db, world["yu_county"], q), q
        assert found(db, world["cheng_county"], q) == [], q


def test_member_units_find_only_the_cases_they_were_brought_into(db, world):
    assert found(db, world["member"], "西烟镇") == [world["yu_case"].id]  # not the order, not the town's record
    assert found(db, world["member"], "义井镇") == []
    assert found(db, world["other_member"], "西烟镇") == []
    for role in ("admin", "auditor"):
        assert found(db, world[role], "西烟镇") == []
    assert len(found(db, world["leader"], "镇")) == len(found(db, world["office"], "镇")) >= 5


def test_every_case_a_list_shows_is_found_by_its_number_and_no_other(db, world):
    """The scoping is case_filter's: for each actor the cases found by a term every case has are those case_list
    shows."""
    from workflow.core.queries import case_list

    for name in ("yu_county", "cheng_county", "office", "member", "other_member", "admin"):
        with transaction(db) as s:
            listed = {c.id for c in case_list(s, world[name], per_page=100).items}
            hits = search_cases(s, world[name], "-20", per_page=100)  # every number is PREFIX-YEAR-NNNN
        assert {h.case.id for h in hits.items} == listed, name
        assert hits.total == len(listed)


def test_short_queries_of_one_or_two_characters_are_found_too(db, world):
    yu = {world["yu_case"].id, world["yu_order"].id}
    assert yu <= set(found(db, world["yu_county"], "盂县"))
    assert set(found(db, world["yu_county"], "西")) >= yu
    assert found(db, world["office"], "井") and world["cheng_case"].id in found(db, world["office"], "井")
    assert found(db, world["office"], "铸造")[0] == world["yu_case"].id
    assert found(db, world["office"], "无此内容") == []


def test_several_words_must_all_be_found(db, world):
    assert found(db, world["office"], "西烟镇 阳泉铸造") == [world["yu_case"].id]
    assert found(db, world["office"], "  义井  城区 ") == sorted(
        {world["cheng_case"].id, world["cheng_record"].id}, reverse=True)
    assert found(db, world["office"], "西烟镇 义井镇") == []


def test_like_wildcards_in_the_query_are_plain_characters(db, world):
    order = world["yu_order"].id
    assert found(db, world["office"], "%") == [order]
    assert found(db, world["office"], "_") == [order]
    assert found(db, world["office"], "50%_") == [order]
    assert found(db, world["office"], "50%_待核") == [order]
    assert found(db, world["office"], "完成率5_%") == []
    assert found(db, world["office"], "西%镇") == []
    assert found(db, world["office"], "\\") == []
    assert found(db, world["office"], '"西烟镇"') == []  # quotes are characters too, not FTS syntax
    assert like_pattern("a%b_c\\") == "%a\\%b\\_c\\\\%"


def test_the_query_is_one_to_a_hundred_characters(db, world):
    with transaction(db) as s:
        for bad in ("", "   ", None, "镇" * 101):
            with pytest.raises(InvalidInput) as refused:
                search_cases(s, world["office"], bad)
            assert refused.value.code == "bad_query"
            assert "搜索" in refused.value.zh
        assert search_cases(s, world["office"], " " + "镇" * 100 + " ").total == 0
        with pytest.raises(InvalidInput):
            search_cases(s, world["office"], " ".join("甲乙丙丁戊己庚辛壬"))
    assert terms_of(" 西烟  西烟 镇 ") == ["西烟", "镇"]


def test_matches_are_marked_in_number_title_and_a_line_of_the_text(db, world):
    yu = world["yu_case"]
    with transaction(db) as s:
        hit = search_cases(s, world["office"], "阳泉铸造").items[0]
        assert hit.case.id == yu.id and hit.county == "盂县" and hit.town == "西烟镇"
        assert hit.snippet == [("阳泉铸造", True), ("集团有限公司", False)]
        assert hit.number == [(yu.number, False)]
        hit = next(h for h in search_cases(s, world["office"], "西烟").items if h.case.id == yu.id)
        assert ("西烟", True) in hit.title
        assert "".join(text for text, _ in hit.title) == yu.title
        number_hit = search_cases(s, world["office"], yu.number).items[0]
        assert number_hit.case.id == yu.id and number_hit.number == [(yu.number, True)]
    assert highlight("<b>西烟镇</b> & 西烟", ["西烟"]) == [("<b>", False), ("西烟", True), ("镇</b> & ", False),
                                                        ("西烟", True)]
    assert highlight("abcABC", ["bc", "cab"]) == [("a", False), ("bcABC", True)]
    long = "甲" * 50 + "目标" + "乙" * 50
    assert snippet("编号\n" + long, ["目标"], skip=["编号"]) == [
        ("…", False), ("甲" * 30, False), ("目标", True), ("乙" * 30, False), ("…", False)]


def test_results_are_paginated_newest_first_an_exact_number_first(db, make, world):
    town = make.town("东梁镇", county="盂县")
    orders = [make.case("rectification", town=town, data={"problem": f"第{i}项问题"}).id for i in range(7)]
    with transaction(db) as s:
        first = search_cases(s, world["office"], "东梁镇", page=1, per_page=3)
        third = search_cases(s, world["office"], "东梁镇", page=3, per_page=3)
        beyond = search_cases(s, world["office"], "东梁镇", page=9, per_page=3)
        record = registry_case(s, town.id).id
    everything = sorted([*orders, record], reverse=True)
    assert first.total == 8 and first.pages == 3 and first.has_next and not first.has_prev
    assert [h.case.id for h in first.items] == everything[:3]
    assert [h.case.id for h in third.items] == everything[6:] and not third.has_next
    assert beyond.items == [] and beyond.total == 8
    with transaction(db) as s:
        number = s.get(Case, orders[0]).number
    assert found(db, world["office"], number)[0] == orders[0]


def test_the_case_with_the_number_searched_for_comes_first_on_the_first_page_only(db, make, world):
    town = make.town("东梁镇", county="盂县")
    orders = [make.case("rectification", town=town, data={"problem": f"第{i}项问题"}).id for i in range(5)]
    with transaction(db) as s:
        number = s.get(Case, orders[0]).number
        prefix = number[:-1]  # the number without its last digit: found in the others' numbers too
    with transaction(db) as s:
        s.get(Case, orders[2]).title = f"涉及{prefix}的整改"
    with transaction(db) as s:
        pages = [search_cases(s, world["office"], prefix, page=n, per_page=2) for n in (1, 2, 3)]
    seen = [h.case.id for p in pages for h in p.items]
    assert sorted(seen) == sorted(set(seen)) and orders[2] in seen


def test_the_count_stops_at_the_cap(db, make, world, monkeypatch):
    monkeypatch.setattr(search, "COUNT_CAP", 3)
    with transaction(db) as s:
        many = search_cases(s, world["office"], "镇", per_page=2)
        few = search_cases(s, world["office"], "西烟镇 阳泉", per_page=2)
    assert many.capped and many.total == 3 and many.pages == 2 and len(many.items) == 2
    assert not few.capped and few.total == 1


def test_the_text_follows_each_transition_and_comment(db, make, now, world):
    yu = world["yu_case"]
    submitted = make.case("designation", state="submitted", town=make.town("杜家庄乡", county="城区"),
                          county="城区", data=dict(CHENG_APPLICATION))
    assert found(db, world["cheng_county"], "龙头企业名单不全") == []
    with transaction(db) as s:
        fire(session=s, case_id=submitted.id, trigger="return_for_revision", actor=world["office"], now=now,
             comment="龙头企业名单不全")
    assert found(db, world["cheng_county"], "龙头企业名单不全") == [submitted.id]
    assert found(db, world["office"], "名单不全") == [submitted.id]
    assert found(db, world["yu_county"], "龙头企业名单不全") == []
    with transaction(db) as s:  # the application edited: the new enterprise is found, the old one no more
        fire(session=s, case_id=yu.id, trigger="edit", actor=world["yu_county"], now=now,
             payload={"leading_enterprises": [{"name": "狮脑山机械厂"}]})
    assert found(db, world["yu_county"], "狮脑山机械") == [yu.id]
    assert found(db, world["yu_county"], "阳泉铸造集团") == []


def test_the_text_follows_a_new_title_and_a_renamed_town_or_county(db, world):
    yu = world["yu_case"]
    with transaction(db) as s:
        case = s.get(Case, yu.id)
        case.title = "盂县西烟镇铸造专业镇申请（更正）"
    assert found(db, world["yu_county"], "申请（更正）") == [yu.id]
    with transaction(db) as s:
        s.get(Town, world["yu_town"].id).name = "西烟新镇"
    assert set(found(db, world["yu_county"], "西烟新镇")) >= {yu.id, world["yu_order"].id}
    with transaction(db) as s:
        s.exec(select(Unit).where(Unit.name == "城区")).one().name = "城区（新）"
    assert world["cheng_case"].id in found(db, world["cheng_county"], "城区（新）")


def test_what_a_county_may_not_read_is_not_in_the_text(db, make, now, world):
    """A member unit's opinion and its comment (definitions/visibility.yaml) are not searchable: a match would tell
    the applying county what the opinion said."""
    office, member = world["office"], world["member"]
    case = make.case("designation", state="submitted", town=make.town("路家村镇"), data=dict(YU_APPLICATION))
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="accept", actor=office, now=now,
             payload={"member_units": [member.unit_id]})
        fire(session=s, case_id=case.id, trigger="record_opinion", actor=member, now=now,
             payload={"opinion": "disagree"}, comment="产值数据需核实")
    for who in ("yu_county", "office", "member"):
        assert found(db, world[who], "产值数据需核实") == [], who
    assert case.id in found(db, world["yu_county"], "路家村镇")


def test_a_case_text_is_read_with_the_case_and_written_only_when_missing_or_changed(db, world, monkeypatch):
    """index_case reads the case, its town's and county's names and the stored text in one statement, the comments
    in another; it writes the text when there is none yet or it changed, and nothing when it is the same."""
    case_id = world["cheng_case"].id
    table = CaseSearch.__table__  # type: ignore[attr-defined]
    on_sqlite = db.kw["bind"].dialect.name == "sqlite"
    chars = ["INSERT case_search_fts_chars"] if on_sqlite else []  # SQLite's index of single characters

    def indexed() -> list[str]:
        with transaction(db) as s, counted(db.kw["bind"], monkeypatch) as statements:
            search.index_case(s, case_id)
        return [shape(q) for q in statements]

    reads = ["SELECT case_file", "SELECT audit_event"]
    with transaction(db) as s:
        stored = s.connection().execute(sa.select(table.c.body).where(table.c.case_id == case_id)).scalar_one()
    assert "请补充产值统计证明材料" in stored
    assert indexed() == reads  # unchanged: nothing written
    cases = Case.__table__  # type: ignore[attr-defined]
    with transaction(db) as s:  # a new title, written around the ORM (which would index the case at once)
        s.connection().execute(cases.update().where(cases.c.id == case_id).values(title="义井镇耐火材料申请"))
    assert indexed() == [*reads, "UPDATE case_search", *chars, *chars]  # the old text's characters out, the new in
    assert found(db, world["cheng_county"], "耐火材料申请") == [case_id]
    with transaction(db) as s:  # the text taken out (as `rebuild` starts)
        text = s.connection().execute(sa.select(table.c.body).where(table.c.case_id == case_id)).scalar_one()
        if on_sqlite:
            s.connection().exec_driver_sql("INSERT INTO case_search_fts_chars(case_search_fts_chars, rowid, body) "
                                           "VALUES ('delete', ?, ?)", (case_id, search.spaced(text)))
        s.connection().execute(table.delete().where(table.c.case_id == case_id))
    assert found(db, world["cheng_county"], "耐火材料申请") == []
    assert indexed() == [*reads, "INSERT case_search", *chars]
    with transaction(db) as s:
        assert s.connection().execute(sa.select(table.c.body).where(table.c.case_id == case_id)).scalar_one() == text
    assert found(db, world["cheng_county"], "耐火材料申请") == [case_id]
    assert found(db, world["cheng_county"], "产值统计证明") == [case_id]


def test_rebuild_writes_the_text_of_every_case_again(db, world):
    with transaction(db) as s:
        total = s.exec(select(sa.func.count()).select_from(Case)).one()
        s.connection().execute(sa.delete(CaseSearch.__table__))  # type: ignore[attr-defined]
    assert found(db, world["office"], "西烟镇") == []
    with transaction(db) as s:
        assert search.rebuild(s) == total
    assert world["yu_case"].id in found(db, world["office"], "西烟镇")
    assert world["yu_case"].id in found(db, world["office"], "西")


def test_the_migration_fills_the_text_of_the_cases_already_there(engine, db, world):
    from alembic import command
    from alembic.config import Config

    from workflow.core.db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0012")
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    assert world["cheng_case"].id in found(db, world["office"], "晋东陶瓷厂")
    assert found(db, world["office"], "产值统计证明") == [world["cheng_case"].id]


PLANS = {"scan newest-first": lambda *args: True, "narrowed by the index": lambda *args: False}


@pytest.mark.parametrize("plan", [*PLANS, "chosen"])
def test_both_plans_of_short_words_find_what_a_plain_like_finds(db, make, world, monkeypatch, plan):
    """A word of one or two characters is found by the index of characters (rare words) or by a scan newest-first
    (common ones): the same cases, in the same order, with the same marks and count, for the office, a county
    (its own cases only) and a member unit, as a plain LIKE over the same texts through case_filter."""
    from workflow.core.access import case_filter

    yu_town, cheng_town = world["yu_town"], world["cheng_town"]
    problems = ["铸造台账缺失", "县镇两级台账", "镇属企业铸件", "耐火材料100%合格", "镇", "铸 造 分开", "盂县铸造"]
    for i, problem in enumerate(problems * 2):
        make.case("rectification", town=yu_town if i % 3 else cheng_town, data={"problem": f"{problem}{i}"})
    if plan in PLANS:
        monkeypatch.setattr(search, "scans", PLANS[plan])
    for q in ("镇", "铸造", "县镇", "镇县", "台账", "盂县", "%", "铸造 镇", "铸造台账缺失 镇", "义井 镇"):
        for who in ("office", "yu_county", "cheng_county", "member"):
            actor = world[who]
            with transaction(db) as s:
                where = sa.and_(case_filter(actor), *(CaseSearch.body.like(like_pattern(t), escape="\\")
                                                      for t in q.split()))
                expected = list(s.exec(select(Case.id).join(CaseSearch, CaseSearch.case_id == Case.id)
                                       .where(where).order_by(Case.id.desc())).all())
                pages = [search_cases(s, actor, q, page=n, per_page=4) for n in (1, 2, 3, 4, 5, 6, 7)]
            got = [h.case.id for p in pages for h in p.items]
            assert got == expected, (plan, q, who)
            assert {p.total for p in pages} == {len(expected)}, (plan, q, who)
            for hit in (h for p in pages for h in p.items):
                assert any(marked for _, marked in hit.number + hit.title + hit.snippet), (plan, q, who)
    assert found(db, world["yu_county"], "铸造") and found(db, world["cheng_county"], "铸造")


def test_the_plan_of_a_short_word_follows_its_density(db, world):
    """The scan newest-first for a word in many cases, the index for a rare one; the count (1,001 rows) needs a
    denser word than the page (20) before the scan pays."""
    assert search.scans(0.5, 100_000, 21, "sqlite") and search.scans(0.5, 100_000, 1001, "sqlite")
    assert search.scans(0.1, 100_000, 21, "sqlite") and not search.scans(0.1, 100_000, 1001, "sqlite")
    assert not search.scans(0.01, 100_000, 21, "sqlite") and not search.scans(0.01, 100_000, 21, "postgresql")
    assert not search.scans(1.0, 0, 21, "sqlite")
    with transaction(db) as s:
        conn = s.connection()
        sqlite = conn.dialect.name == "sqlite"
        cases = s.exec(select(sa.func.max(CaseSearch.case_id))).one()
        assert search._density(conn, ["镇"], sqlite) == (1.0, cases)  # every case here has a town
        assert search._density(conn, ["铸造"], sqlite)[0] == pytest.approx(1 / cases)
        assert search._density(conn, ["无此"], sqlite) == (0.0, cases)
        assert search._density(conn, ["镇", "无此"], sqlite)[0] == 0.0
