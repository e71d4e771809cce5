"""The security auditor reviews who did what when, not what was written (三员分立): every page reachable from the
auditor's menu and every export withholds the values of the field groups definitions/visibility.yaml does not
show the auditor and of the keys it declares `personal`, but names the fields, says that they were recorded or
changed, and shows who did it, when, which step, on which case. The office still reads the values, and the trail
itself (and its hash chain) keeps them."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from conftest import csrf_token, login
from workflow.accounts.services import update_account
from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.models import AuditEvent
from workflow.core.visibility import CHANGED, WITHHELD, AuditorView, redacted_for_auditor

TABLE = AuditEvent.__table__
KEY = "test-anchor-key-0123456789abcdef0123456789"
APPLICATION = {"industry_category": "manufacturing", "leading_industry": "耐火材料", "main_products": "高铝砖",
               "output_yi": 12.5, "leading_enterprises": [{"name": "盂县耐材集团"}], "supporting_enterprises": 12}
EXPERTS = [{"name": "张评审", "score": 80}, {"name": "赵评审", "score": 91}]
CASE_SECRETS = ("张评审", "赵评审", "建议认定，注意安全生产", "产值数据需核实")
PERSONAL = ("li.keji@example.cn", "new.li@example.cn", "13912345678", "13887654321", "wang.fg@example.cn")
SECRETS = CASE_SECRETS + PERSONAL
CHANGED_TEXT = "已修改（内容不向审计员显示）"
RECORDED_TEXT = "已记录（内容不向审计员显示）"
HREF = re.compile(r'href="([^"]+)"')


@pytest.fixture
def auditor_app(app, tmp_path):
    app.config.update(ANCHOR_DIR=str(tmp_path / "anchors"), AUDIT_HMAC_KEY=KEY)
    return app


@pytest.fixture
def trail(make, db, now, tmp_path, monkeypatch):
    """A designation taken through the joint review (市发改委's 王发改 disagrees, with reasons) and the expert
    review to the leading group's decision; an account's contact details changed by the administrator; and events
    whose data name contact details outright: an account change as a service that logged the numbers would
    write it, and an e-mail notification with the address it went to (as the dispatcher writes it)."""
    from workflow.core import attachments

    monkeypatch.setattr(attachments.settings, "upload_dir", str(tmp_path / "files"))
    county = make.user("county", county="盂县", username="yu_clerk")
    office = make.user("office", username="office_clerk", display_name="周办公")
    kj = make.user("member", unit="市科技局", display_name="李科技", username="kj_member",
                   email="li.keji@example.cn", mobile="13912345678")
    fg = make.user("member", unit="市发改委", display_name="王发改", username="fg_member")
    admin = make.user("admin", username="admin1", display_name="系统管理员")
    case = make.case("designation", state="submitted", town=make.town("梁家寨乡"), by=county, data=dict(APPLICATION))
    later = now + timedelta(hours=1)
    steps = [(office, "accept", {"member_units": [kj.unit_id, fg.unit_id]}, None, now),
             (kj, "record_opinion", {"opinion": "agree"}, None, now),
             (fg, "record_opinion", {"opinion": "disagree"}, "产值数据需核实", later),
             (office, "conclude", {}, None, later),
             (office, "record_experts", {"experts": EXPERTS, "expert_recommendation": "建议认定，注意安全生产"}, None,
              later),
             (office, "propose", {}, None, later)]
    for user, trigger, payload, comment, moment in steps:
        with transaction(db) as s:
            fire(session=s, case_id=case.id, trigger=trigger, actor=make.actor(user), now=moment, payload=payload,
                 comment=comment)
    with transaction(db) as s:
        update_account(s, actor=make.actor(admin), user_id=kj.id, now=later, display_name="李科技",
                       email="new.li@example.cn", mobile="13887654321", unit_id=kj.unit_id, role="member")
        audit.record(s, kind="admin_change", now=later, actor=make.actor(admin),
                     data={"action": "update_account", "user_id": fg.id, "username": "fg_member",
                           "changes": {"email": [None, "wang.fg@example.cn"], "mobile": ["13912345678", None]}})
        audit.record(s, kind="notification_sent", now=later, actor=Actor.system(), case_id=case.id,
                     county_id=case.county_id,
                     data={"outbox_id": 1, "channel": "email", "user_id": kj.id, "rule": "consultation_invited",
                           "template": "consultation_invited", "address": "new.li@example.cn", "attempts": 1})
    return SimpleNamespace(case=case, county=county, office=office, kj=kj, fg=fg, admin=admin, later=later)


@pytest.fixture
def auditor(make, client, auditor_app):
    user = make.user("auditor", username="auditor1", display_name="审计员甲")
    login(client, "auditor1")
    return user


def leaked(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def crawl(client, start: list[str]) -> dict[str, str]:
    """Every page reachable from `start` by the links on the pages (same site, not logging out), by URL."""
    seen: dict[str, str] = {}
    todo = list(start)
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        response = client.get(url)
        assert response.status_code == 200, url
        if url == "/favicon.ico":
            continue
        seen[url] = text = response.get_data(as_text=True)
        assert len(seen) < 400, "the crawl does not end"
        for found in HREF.findall(text):
            link = html.unescape(found)
            if link.startswith("/") and not link.startswith(("//", "/static/", "/logout")) and link not in seen:
                todo.append(link)
    return seen


def cells(response, fmt: str) -> list[list[str]]:
    assert response.status_code == 200
    if fmt == "xlsx":
        sheet = load_workbook(io.BytesIO(response.data), read_only=True).active
        return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def export(client, fmt: str, **filters):
    token = csrf_token(client, "/auditor/verify")
    return client.post("/auditor/export", data={"csrf_token": token, "format": fmt, **filters})


def stored(db, *where) -> list[dict]:
    with transaction(db) as s:
        return [dict(r) for r in s.connection().execute(sa.select(TABLE).where(*where).order_by(TABLE.c.seq))
                .mappings()]


# --- every page and export --------------------------------------------------------------------------------------

def test_no_page_reachable_from_the_auditors_menu_shows_a_confidential_or_personal_value(auditor, client, trail,
                                                                                          monkeypatch):
    from webapp.auditor import views

    monkeypatch.setattr(views, "PAGE_SIZE", 4)  # so that the walk follows the newer and older pages too
    case = trail.case
    filters = [f"/auditor/?case={case.number}", f"/auditor/?case={case.id}", "/auditor/?kind=transition",
               "/auditor/?kind=admin_change", "/auditor/?kind=notification_sent", "/auditor/?role=member",
               f"/auditor/?user={trail.fg.username}", f"/auditor/?county={case.county_id}",
               f"/auditor/?unit={trail.fg.unit_id}", "/auditor/?start=2026-11-27&end=2026-11-27"]
    pages = crawl(client, ["/auditor/", *filters])
    assert {f"/auditor/cases/{case.id}", "/auditor/verify", "/notifications", "/password"} <= set(pages)
    assert [url for url in pages if "before=" in url] and [url for url in pages if "after=" in url]
    assert {url: leaked(text) for url, text in pages.items() if leaked(text)} == {}
    verified = client.post("/auditor/verify", data={"csrf_token": csrf_token(client, "/auditor/verify")})
    assert verified.status_code == 200 and leaked(verified.get_data(as_text=True)) == []


def test_the_case_history_names_the_fields_and_who_changed_them_when_not_the_values(auditor, client, trail):
    page = client.get(f"/auditor/cases/{trail.case.id}").get_data(as_text=True)
    assert leaked(page) == []
    for label in ("评审专家", "专家组意见", "会审意见", "意见"):
        assert f"<dt>{label}</dt><dd>" in page, label
    assert f"<dt>评审专家</dt><dd>{CHANGED_TEXT}</dd>" in page
    assert f"<dt>专家组意见</dt><dd>{CHANGED_TEXT}</dd>" in page
    assert f"<dt>意见</dt><dd>{RECORDED_TEXT}</dd>" in page  # agree or disagree: the step's own data
    assert f'<span class="muted">{RECORDED_TEXT}</span>' in page  # 王发改's reasons, in the comment column
    assert f"<dt>发送地址</dt><dd>{RECORDED_TEXT}</dd>" in page
    # who, when, which step: the application's ordinary fields by their values, as before
    assert "王发改" in page and "李科技" in page and "周办公" in page
    assert "2026-11-27 11:00:00" in page and "2026-11-27 10:00:00" in page
    assert "<dt>产业类别</dt><dd>制造业</dd>" in page and "<dt>主导产业</dt><dd>耐火材料</dd>" in page


def test_account_changes_show_which_contact_details_changed_not_the_numbers(auditor, client, trail):
    page = client.get("/auditor/?kind=admin_change").get_data(as_text=True)
    assert leaked(page) == []
    assert page.count(f"<dt>电子邮箱</dt><dd>{CHANGED_TEXT}</dd>") == 2
    assert page.count(f"<dt>手机号码</dt><dd>{CHANGED_TEXT}</dd>") == 2
    assert "<dt>用户名</dt><dd>kj_member</dd>" in page and "<dt>用户名</dt><dd>fg_member</dd>" in page
    assert "系统管理员" in page


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
@pytest.mark.parametrize("filters", [{}, {"case": "number"}, {"kind": "admin_change"}], ids=["all", "case", "kind"])
def test_no_export_holds_a_confidential_or_personal_value(auditor, client, db, trail, fmt, filters):
    if filters.get("case"):
        filters = {"case": trail.case.number}
    rows = cells(export(client, fmt, **filters), fmt)
    assert [(i, cell) for i, row in enumerate(rows) for cell in row if leaked(cell)] == []
    assert len(rows) > 2


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_an_export_keeps_who_when_which_step_and_the_field_names(auditor, client, db, trail, fmt):
    rows = cells(export(client, fmt, case=trail.case.number), fmt)
    by_seq = {row[0]: row for row in rows[1:]}
    events = {e["trigger"] or e["kind"]: e for e in stored(db, TABLE.c.case_id == trail.case.id)}
    experts = by_seq[str(events["record_experts"]["seq"])]
    assert experts[6] == "周办公" and experts[12] == "record_experts" and experts[1] == "2026-11-27 11:00:00"
    assert json.loads(experts[16]) == {"changes": {"experts": CHANGED_TEXT, "expert_recommendation": CHANGED_TEXT}}
    opinion = by_seq[str(stored(db, TABLE.c.case_id == trail.case.id, TABLE.c.actor_id == trail.fg.id)[0]["seq"])]
    assert opinion[6] == "王发改" and opinion[12] == "record_opinion" and opinion[15] == RECORDED_TEXT
    assert json.loads(opinion[16]) == {"changes": {"opinions": CHANGED_TEXT}, "opinion": RECORDED_TEXT}
    sent = by_seq[str(events["notification_sent"]["seq"])]
    assert json.loads(sent[16]) == {"address": RECORDED_TEXT, "attempts": 1, "channel": "email", "outbox_id": 1,
                                    "rule": "consultation_invited", "template": "consultation_invited",
                                    "user_id": trail.kj.id}


# --- the values are still there for those who may read them ----------------------------------------------------

def test_the_office_still_reads_the_values_and_the_trail_keeps_them_with_its_chain_intact(app, auditor, client, db,
                                                                                          trail):
    office = app.test_client()
    login(office, trail.office.username)
    page = office.get(f"/cases/{trail.case.id}").get_data(as_text=True)
    assert [secret for secret in CASE_SECRETS if secret not in page] == []
    admin = app.test_client()
    login(admin, trail.admin.username)
    account = admin.get(f"/admin/users/{trail.kj.id}").get_data(as_text=True)
    assert "new.li@example.cn" in account and "13887654321" in account
    everything = json.dumps([(e["comment"], e["data"]) for e in stored(db)], ensure_ascii=False)
    # the trail never held the first address nor the new number: the account service logs only that they changed
    assert [secret for secret in SECRETS if secret not in everything] == ["li.keji@example.cn", "13887654321"]
    verified = client.post("/auditor/verify", data={"csrf_token": csrf_token(client, "/auditor/verify")})
    assert "完整：共" in verified.get_data(as_text=True)


# --- the rule itself --------------------------------------------------------------------------------------------

def event(**fields) -> SimpleNamespace:
    base = {"case_id": 7, "trigger": None, "from_state": None, "to_state": None, "comment": None, "data": "{}"}
    return SimpleNamespace(**{**base, **fields, "data": json.dumps(fields.get("data", {}), ensure_ascii=False)})


def test_a_step_that_follows_a_confidential_group_keeps_its_keys_and_loses_every_value_and_its_comment():
    found = redacted_for_auditor(event(trigger="record_opinion", from_state="consultation", to_state="consultation",
                                       comment="产值数据需核实",
                                       data={"changes": {"opinions": [{}, {"5": {"answer": "disagree"}}]},
                                             "opinion": "disagree"}), "designation")
    assert found == AuditorView(WITHHELD, {"changes": {"opinions": CHANGED}, "opinion": WITHHELD})


def test_other_steps_lose_only_the_confidential_fields_and_personal_keys_at_any_depth():
    found = redacted_for_auditor(event(trigger="record_experts", to_state="expert_review", comment="已录入",
                                       data={"changes": {"experts": [None, EXPERTS], "jobs": [100, 120]},
                                             "address": "a@example.cn",
                                             "list": [{"email": "b@example.cn", "name": "甲"}]}), "designation")
    assert found == AuditorView("已录入", {"changes": {"experts": CHANGED, "jobs": [100, 120]}, "address": WITHHELD,
                                          "list": [{"email": WITHHELD, "name": "甲"}]})


def test_a_new_cases_confidential_fields_are_recorded_not_shown():
    found = redacted_for_auditor(event(kind="case_created", to_state="draft",
                                       data={"definition": "designation@4", "data": {"experts": EXPERTS,
                                                                                      "leading_industry": "耐火材料"}}),
                                 "designation")
    assert found.data == {"definition": "designation@4", "data": {"experts": WITHHELD, "leading_industry": "耐火材料"}}


def test_an_event_about_a_case_of_an_unknown_process_hides_every_processs_confidential_fields():
    found = redacted_for_auditor(event(data={"changes": {"opinions": [None, {}], "jobs": [1, 2]}}), None)
    assert found.data == {"changes": {"opinions": CHANGED, "jobs": [1, 2]}}


def test_an_event_about_no_case_hides_only_personal_keys():
    data = {"changes": {"mobile": "changed", "role": ["office", "leader"]}, "experts": 3}
    found = redacted_for_auditor(event(case_id=None, data=data), None)
    assert found.data == {"changes": {"mobile": CHANGED, "role": ["office", "leader"]}, "experts": 3}
