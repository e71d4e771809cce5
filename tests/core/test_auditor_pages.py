"""The auditor's pages: only the auditor gets in; filters, keyset pages, a case's history, .xlsx and CSV
exports, the integrity check; every search and export is itself in the trail; nothing edits or deletes."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from sqlmodel import select

from conftest import csrf_token, login
from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.calendar import to_local
from workflow.core.db import is_sqlite, transaction
from workflow.core.engine import fire
from workflow.core.models import AuditEvent, Unit

TABLE = AuditEvent.__table__
KEY = "test-anchor-key-0123456789abcdef0123456789"
SEQ_CELL = re.compile(r"<tr>\s*<td[^>]*>(\d+)<")


@pytest.fixture
def auditor_app(app, tmp_path):
    app.config.update(ANCHOR_DIR=str(tmp_path / "anchors"), AUDIT_HMAC_KEY=KEY)
    return app


@pytest.fixture
def auditor(make, client, auditor_app):
    user = make.user("auditor", username="auditor1")
    login(client, "auditor1")
    return user


def seqs(response) -> list[int]:
    return [int(s) for s in SEQ_CELL.findall(response.get_data(as_text=True))]


def stored(db, *where) -> list[dict]:
    with transaction(db) as s:
        return [dict(r) for r in s.connection().execute(sa.select(TABLE).where(*where).order_by(TABLE.c.seq.desc()))
                .mappings()]


def kinds_of(db, kind: str) -> list[dict]:
    return stored(db, TABLE.c.kind == kind)


@pytest.fixture
def history(db, make, now, complete_application):
    """Two counties' cases moved by their clerks and the office, with a time gap: a small varied trail."""
    yu = make.user("county", county="盂县", username="yu_clerk")
    pd = make.user("county", county="平定县", username="pd_clerk")
    office = make.user("office", username="office_clerk")
    yu_case = make.case("designation", by=yu)
    pd_case = make.case("designation", by=pd, county="平定县")
    later = now + timedelta(days=3)
    for case, clerk, moment in ((yu_case, yu, now), (pd_case, pd, later)):
        for actor, trigger, kwargs in ((clerk, "edit", {"payload": complete_application}), (clerk, "submit", {}),
                                       (office, "return_for_revision", {"comment": "请补充：=HYPERLINK(\"x\")"})):
            with transaction(db) as s:
                fire(session=s, case_id=case.id, trigger=trigger, actor=make.actor(actor), now=moment, **kwargs)
    return {"yu": yu, "pd": pd, "office": office, "yu_case": yu_case, "pd_case": pd_case, "later": later}


# --- who gets in ---------------------------------------------------------------------------------------------------

PAGES = [("get", "/auditor/"), ("get", "/auditor/cases/1"), ("get", "/auditor/verify"),
         ("post", "/auditor/verify"), ("post", "/auditor/export")]


@pytest.mark.parametrize("role", ["admin", "office", "county", "member", "leader"])
def test_every_other_role_is_refused_with_403_and_the_refusal_is_audited(make, client, db, auditor_app, role):
    user = make.user(role, username=f"{role}_x")
    login(client, user.username)
    token = csrf_token(client, "/notifications")
    for method, url in PAGES:
        data = {"csrf_token": token, "format": "csv"} if method == "post" else None
        response = getattr(client, method)(url, data=data)
        assert response.status_code == 403, (role, url)
    refused = kinds_of(db, "permission_refused")
    assert [(e["actor_id"], e["role"], audit_data(e)["method"], audit_data(e)["path"]) for e in reversed(refused)] == [
        (user.id, role, method.upper(), url) for method, url in PAGES]
    assert kinds_of(db, "search") == [] and kinds_of(db, "export") == []


def audit_data(event: dict) -> dict:
    return json.loads(event["data"])


def test_nobody_logged_in_is_sent_to_the_login_page(client, auditor_app):
    response = client.get("/auditor/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_auditor_gets_in_and_finds_the_trail_in_the_menu(auditor, client):
    response = client.get("/auditor/")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert 'href="/auditor/"' in text


def test_the_pages_only_read_get_and_post_and_there_is_no_route_that_edits_or_deletes(auditor_app):
    rules = [r for r in auditor_app.url_map.iter_rules() if r.endpoint.startswith("auditor.")]
    assert {r.endpoint for r in rules} == {"auditor.search", "auditor.case_history", "auditor.export",
                                          "auditor.verify"}
    for rule in rules:
        assert set(rule.methods or ()) <= {"GET", "HEAD", "OPTIONS", "POST"}, rule
    assert {r.endpoint for r in rules if "POST" in (r.methods or ())} == {"auditor.export", "auditor.verify"}
    every_method = {m for r in auditor_app.url_map.iter_rules() for m in (r.methods or ())}
    assert not {"DELETE", "PUT", "PATCH"} & {m for r in rules for m in (r.methods or ())}
    assert every_method  # the app has routes at all


# --- search --------------------------------------------------------------------------------------------------------

def test_the_first_page_shows_the_newest_events_first(auditor, client, db, history):
    shown = seqs(client.get("/auditor/"))
    newest = [e["seq"] for e in stored(db)]
    # the page's own search event is written after the search: it is not on the page it records
    assert shown == newest[1:51]


@pytest.mark.parametrize("query, where", [
    (lambda h: {"kind": "transition"}, lambda h: [TABLE.c.kind == "transition"]),
    (lambda h: {"user": "yu_clerk"}, lambda h: [TABLE.c.actor_id == h["yu"].id]),
    (lambda h: {"user": str(h["office"].id)}, lambda h: [TABLE.c.actor_id == h["office"].id]),
    (lambda h: {"role": "office"}, lambda h: [TABLE.c.role == "office"]),
    (lambda h: {"county": str(h["pd_case"].county_id)}, lambda h: [TABLE.c.county_id == h["pd_case"].county_id]),
    (lambda h: {"unit": str(h["yu"].unit_id)}, lambda h: [TABLE.c.unit_id == h["yu"].unit_id]),
    (lambda h: {"case": str(h["yu_case"].id)}, lambda h: [TABLE.c.case_id == h["yu_case"].id]),
    (lambda h: {"case": h["pd_case"].number}, lambda h: [TABLE.c.case_id == h["pd_case"].id]),
    (lambda h: {"kind": "transition", "county": str(h["yu_case"].county_id), "user": "office_clerk"},
     lambda h: [TABLE.c.kind == "transition", TABLE.c.county_id == h["yu_case"].county_id,
                TABLE.c.actor_id == h["office"].id]),
])
def test_each_filter_finds_exactly_the_matching_events(auditor, client, db, history, query, where):
    expected = [e["seq"] for e in stored(db, *where(history))]
    assert expected
    response = client.get("/auditor/", query_string=query(history))
    assert response.status_code == 200
    assert seqs(response) == expected


def test_the_time_range_is_read_in_beijing_time(auditor, client, db, history, now):
    later = to_local(history["later"])  # the day 平定县's case moved, 10:00 in Beijing
    day = later.strftime("%Y-%m-%d")
    expected = [e["seq"] for e in stored(db, TABLE.c.occurred_at == history["later"])]
    assert len(expected) == 3
    assert seqs(client.get("/auditor/", query_string={"start": day, "end": day})) == expected
    # a time range: from 09:59 to 10:00 Beijing time leaves out the events at 10:00 itself (the end is exclusive)
    assert seqs(client.get("/auditor/", query_string={"start": f"{day}T09:59", "end": f"{day}T10:00"})) == []
    assert seqs(client.get("/auditor/", query_string={"start": f"{day}T10:00", "end": f"{day}T10:01"})) == expected


def test_a_user_or_case_that_does_not_exist_finds_nothing(auditor, client, history):
    for query in ({"user": "nobody"}, {"case": "XX-0000"}, {"case": "99999999999"}):
        response = client.get("/auditor/", query_string=query)
        assert response.status_code == 200 and seqs(response) == []
        assert "没有符合条件的事件" in response.get_data(as_text=True) or "No events match" in response.get_data(
            as_text=True)


@pytest.mark.parametrize("query", [{"start": "yesterday"}, {"start": "2026-11-27", "end": "2026-11-01"},
                                   {"unit": "x"}, {"role": "mayor"}, {"user": "x" * 101}])
def test_bad_filters_are_refused_with_400_and_not_searched(auditor, client, db, query):
    response = client.get("/auditor/", query_string=query)
    assert response.status_code == 400
    assert 'class="field-error"' in response.get_data(as_text=True)
    assert kinds_of(db, "search") == []


def test_pages_are_keyset_pages_the_next_link_carries_the_last_seq_shown(auditor, client, db, now):
    with transaction(db) as s:
        for n in range(120):
            audit.record(s, kind="login_failed", now=now + timedelta(seconds=n), data={"username": f"u{n}"})
    matching = [e["seq"] for e in kinds_of(db, "login_failed")]
    first = client.get("/auditor/", query_string={"kind": "login_failed"})
    assert seqs(first) == matching[:50]
    older = _link(first, "next")
    assert older["before"] == [str(matching[49])] and older["kind"] == ["login_failed"]
    second = client.get("/auditor/", query_string=older)
    assert seqs(second) == matching[50:100]
    third = client.get("/auditor/", query_string=_link(second, "next"))
    assert seqs(third) == matching[100:] and _link(third, "next") is None
    newer = _link(third, "prev")
    assert newer["after"] == [str(matching[100])]
    assert seqs(client.get("/auditor/", query_string=newer)) == matching[50:100]
    assert _link(first, "prev") is None


def _link(response, rel: str) -> dict | None:
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', response.get_data(as_text=True))
    if not found:
        return None
    url = urlsplit(found.group(1).replace("&amp;", "&"))
    assert url.path == "/auditor/"
    return parse_qs(url.query)


def test_searches_are_recorded_with_their_filters(auditor, client, db, history):
    client.get("/auditor/", query_string={"kind": "transition", "county": str(history["yu_case"].county_id),
                                          "start": "2026-11-27T08:00"})
    (event,) = kinds_of(db, "search")
    assert (event["actor_id"], event["role"]) == (auditor.id, "auditor")
    assert audit_data(event) == {"kind": "transition", "county_id": history["yu_case"].county_id,
                                 "start_at": "2026-11-27T00:00:00.000000+00:00", "shown": 3}


def test_a_case_history_is_on_one_page_oldest_first(auditor, client, db, history):
    case = history["yu_case"]
    with transaction(db) as s:  # more than one search page of events about the case
        for _ in range(60):
            audit.record(s, kind="reminder_sent", now=history["later"], actor=Actor.system(), case_id=case.id)
    expected = [e["seq"] for e in reversed(stored(db, TABLE.c.case_id == case.id))]
    assert len(expected) > 60
    response = client.get(f"/auditor/cases/{case.id}")
    assert response.status_code == 200
    assert seqs(response) == expected
    page = response.get_data(as_text=True)
    assert case.number in page
    # steps and states by their labels in the case's own definition, not their codes
    assert "待形式审查 → 退回补正" in page and "submitted →" not in page
    (event,) = kinds_of(db, "search")
    assert audit_data(event) == {"case": str(case.id), "view": "case_history", "shown": len(expected)}
    assert client.get("/auditor/cases/987654").status_code == 404


# --- export --------------------------------------------------------------------------------------------------------

def export(client, fmt: str, **filters):
    token = csrf_token(client, "/auditor/verify")
    return client.post("/auditor/export", data={"csrf_token": token, "format": fmt, **filters})


def test_the_xlsx_export_has_every_matching_event_with_chinese_text(auditor, auditor_app, client, db, history):
    from webapp.auditor.export import headers

    with auditor_app.test_request_context():
        wanted = tuple(headers())  # in Chinese, the default language, once the catalog has them
    response = export(client, "xlsx", kind="transition")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == wanted
    expected = list(reversed(kinds_of(db, "transition")))  # oldest first in the file
    assert [r[0] for r in rows[1:]] == [e["seq"] for e in expected]
    assert [r[-1] for r in rows[1:]] == [e["hash"] for e in expected]
    by_seq = {r[0]: r for r in rows[1:]}
    returned = next(e for e in expected if e["trigger"] == "return_for_revision")
    assert by_seq[returned["seq"]][15] == "请补充：=HYPERLINK(\"x\")"  # the comment, as text, not a formula
    assert by_seq[returned["seq"]][6] == "office用户"
    assert by_seq[returned["seq"]][1] == to_local(returned["occurred_at"]).strftime("%Y-%m-%d %H:%M:%S")


def test_the_csv_export_starts_with_a_bom_and_defuses_formulas(auditor, client, db, history, now):
    with transaction(db) as s:
        audit.record(s, kind="login_failed", now=now, data={}, comment="=cmd|' /C calc'!A0")
    response = export(client, "csv", kind="login_failed")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][0] in ("序号", "Seq") and len(rows) == 2
    assert rows[1][15] == "'=cmd|' /C calc'!A0"


def test_exports_are_recorded_with_filters_format_and_rows(auditor, client, db, history):
    export(client, "csv", case=history["pd_case"].number)
    (event,) = kinds_of(db, "export")
    assert audit_data(event) == {"case": history["pd_case"].number, "format": "csv", "rows": 4}
    assert event["actor_id"] == auditor.id


def test_an_export_without_csrf_token_or_with_an_unknown_format_is_refused(auditor, client, db):
    assert client.post("/auditor/export", data={"format": "csv"}).status_code == 400
    token = csrf_token(client, "/auditor/verify")
    assert client.post("/auditor/export", data={"csrf_token": token, "format": "pdf"}).status_code == 400
    assert kinds_of(db, "export") == []


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_an_export_over_the_limit_is_refused_and_not_recorded(auditor, client, db, history, monkeypatch, fmt):
    import gc

    from webapp.auditor import views

    monkeypatch.setattr(views, "EXPORT_LIMIT", 3)
    response = export(client, fmt)
    assert response.status_code == 422
    assert kinds_of(db, "export") == []
    gc.collect()  # a temporary file left open would warn here (warnings are errors), not in a later test


# --- verify --------------------------------------------------------------------------------------------------------

def test_verify_shows_ok_then_broken_after_tampering(auditor, client, db, engine, history):
    token = csrf_token(client, "/auditor/verify")
    ok = client.post("/auditor/verify", data={"csrf_token": token}).get_data(as_text=True)
    assert "完整" in ok and "已损坏" not in ok
    target = kinds_of(db, "transition")[-1]
    with engine.begin() as conn:
        if is_sqlite(conn):
            conn.exec_driver_sql("DROP TRIGGER audit_event_no_update")
            conn.exec_driver_sql(f"UPDATE audit_event SET comment = '改过了' WHERE id = {target['id']}")
        else:
            conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
            conn.exec_driver_sql(f"UPDATE audit_event SET comment = '改过了' WHERE id = {target['id']}")
            conn.exec_driver_sql("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
    broken = client.post("/auditor/verify", data={"csrf_token": token}).get_data(as_text=True)
    assert f"已损坏：事件 #{target['id']}（序号 {target['seq']}）被篡改" in broken
    checks = kinds_of(db, "integrity_check")
    assert [audit_data(e)["ok"] for e in reversed(checks)] == [True, False]


def test_verify_checks_the_anchors_too(auditor, client, db, auditor_app, now):
    with transaction(db) as s:
        audit.write_anchor(s, directory=auditor_app.config["ANCHOR_DIR"], key=KEY.encode(), now=now)
    token = csrf_token(client, "/auditor/verify")
    page = client.post("/auditor/verify", data={"csrf_token": token}).get_data(as_text=True)
    assert "锚点：已核对 1 个" in page and "全部相符" in page
    auditor_app.config["AUDIT_HMAC_KEY"] = "another-key-0123456789abcdef0123456789"
    page = client.post("/auditor/verify", data={"csrf_token": token}).get_data(as_text=True)
    assert "完整：" in page and "签名不符" in page and 'class="flash error"' in page


def test_verify_in_english(auditor, client):
    client.post("/language", data={"csrf_token": csrf_token(client, "/auditor/verify"), "lang": "en"})
    page = client.post("/auditor/verify", data={"csrf_token": csrf_token(client, "/auditor/verify")})
    assert "OK: " in page.get_data(as_text=True) and "anchors: none yet" in page.get_data(as_text=True)


def test_the_unit_list_names_every_unit(auditor, client, db, history):
    with transaction(db) as s:
        names = s.exec(select(Unit.name)).all()
    page = client.get("/auditor/").get_data(as_text=True)
    assert all(name in page for name in names)


def test_paging_stays_on_seq_when_new_events_arrive(auditor, client, db, now):
    with transaction(db) as s:
        for n in range(60):
            audit.record(s, kind="logout", now=now + timedelta(seconds=n))
    first = client.get("/auditor/", query_string={"kind": "logout"})
    with transaction(db) as s:
        for _ in range(5):  # newer events do not shift the next page (OFFSET would)
            audit.record(s, kind="logout", now=now + timedelta(hours=1))
    second = client.get("/auditor/", query_string=_link(first, "next"))
    assert seqs(second) == [e["seq"] for e in kinds_of(db, "logout")][55:65]


def test_every_kind_the_search_offers_has_a_label():
    from webapp.auditor.views import KIND_LABELS

    assert set(KIND_LABELS) == set(audit.EVENT_KINDS)


# --- what a person reads -------------------------------------------------------------------------------------------

def test_event_details_are_labelled_fields_and_a_case_by_its_number(auditor, client, history):
    case = history["yu_case"]
    page = client.get(f"/auditor/cases/{case.id}").get_data(as_text=True)
    # the application's fields by their labels and coded values by theirs, as the form names them
    assert "<dt>产业类别</dt>" in page and "制造业" in page
    assert "industry_category" not in page and "manufacturing" not in page and '"changes"' not in page
    # the case is named by its number, in the title and the case column, never as "#15"
    assert f"<h1>{case.number} 的全部记录</h1>" in page
    assert f"#{case.id}<" not in page and f"#{case.id} " not in page
    search = client.get(f"/auditor/?case={case.number}").get_data(as_text=True)
    assert f">{case.number}</a>" in search and f">#{case.id}<" not in search
