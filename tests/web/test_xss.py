"""Every text field is rendered as text. Script payloads go into every kind of text a user can type (application
fields, titles, comments, opinions, expert names, findings, reports, town, unit and user names, certificate
subjects, file names, holiday notes, notification texts); then every page of the URL map is fetched by every role.
No page may carry a script, an event handler, an inline style or a javascript: link that came from the data, and
each payload must show up, escaped, somewhere (so that the test knows it looked at it)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from itertools import product

import pytest
from docxedit import edited

from conftest import COMPLETE_APPLICATION, attach_materials, csrf_token, login
from workflow.accounts import seats, units
from workflow.accounts import services as accounts
from workflow.accounts.auth import set_certificate
from workflow.core import templates
from workflow.core.attachments import store_bytes
from workflow.core.calendar_admin import enter_year
from workflow.core.db import transaction
from workflow.core.engine import create_case, fire
from workflow.core.models import Incident, OutboxMessage
from workflow.core.receipts import expect_receipt
from workflow.designation import application as schema
from workflow.notify.rules import notify
from workflow.towns.services import create_town

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


class Payloads:
    """Numbered payloads, each with a script tag, an attribute break-out with an event handler and a javascript:
    URL; odd numbers start with the script, even ones with the javascript: URL (for anything used as a link)."""

    def __init__(self):
        self.used: dict[int, str] = {}

    def __call__(self, where: str, *, slash: bool = True) -> str:
        n = len(self.used) + 1
        self.used[n] = where
        script = f"<script>alert({n})</script>" if slash else f"<script>alert({n})<script>"
        attribute = f'"><img src=x onerror=alert({n})>'
        link = f"javascript:alert({n})"
        return (f"{link}{script}{attribute}" if n % 2 == 0 else f"{script}{attribute}{link}")


@pytest.fixture
def xss_world(make, db, now):
    """Two counties' worth of cases with a payload in every text a user can type; returns ids and usernames."""
    p = Payloads()
    bad_unit = make.unit(p("member unit name"), "member")
    member = make.user("member", unit=bad_unit.name, username="kj_staff")
    county = make.user("county", county="盂县", username="yx_clerk")
    office = make.user("office", username="office_staff")
    leader = make.user("leader", username="leader_one")
    admin = make.user("admin", username="sysadmin")
    auditor = make.user("auditor", username="sec_auditor")
    act = {u.username: make.actor(u) for u in (member, county, office, leader, admin, auditor)}
    yx = make.unit("盂县", "county")
    ids: dict[str, list[int]] = {"case_id": [], "town_id": [], "attachment_id": [], "user_id": [], "notice_id": [],
                                 "outbox_id": [], "incident_id": []}
    with transaction(db) as s:
        for user in (member, county, office, leader, auditor):
            accounts.update_account(s, actor=act["sysadmin"], user_id=user.id, now=now,
                                    display_name=p(f"{user.role} display name"), email=None, mobile=None,
                                    unit_id=user.unit_id, role=user.role)
            ids["user_id"].append(user.id)
        set_certificate(s, username=county.username, subject=p("client certificate subject"), now=now,
                        actor=act["sysadmin"])
        town = create_town(session=s, actor=act["yx_clerk"], name=p("town name"), county_id=yx.id, now=now,
                           industry_category="manufacturing", leading_industry=p("town leading industry"))
        ids["town_id"].append(town.id)
        data = dict(COMPLETE_APPLICATION)
        for name, spec in schema.FIELDS.items():
            if spec.kind == "text":
                data[name] = p(f"application {name}")
        data["leading_enterprises"] = [{"name": p("leading enterprise"), "honours": ["zjtx"]}]
        data["brands"] = [{"name": p("brand"), "level": "city"}]
        data["standards"] = [{"name": p("standard"), "level": "local", "role": "led"}]
        data["platforms"] = [{"kind": "testing", "name": p("platform")}]
        case = create_case(session=s, definition_key="designation", actor=act["yx_clerk"], now=now,
                           town_id=town.id, title=p("case title"), data=data)
        attach_materials(s, case.id, now)
        steps = [("submit", "yx_clerk", {}, None),
                 ("return_for_revision", "office_staff", {}, p("return comment")),
                 ("resubmit", "yx_clerk", {}, p("resubmit comment")),
                 ("accept", "office_staff", {"member_units": [bad_unit.id]}, None),
                 ("record_opinion", "kj_staff", {"opinion": "disagree"}, p("opinion reason")),
                 ("conclude", "office_staff", {}, None),
                 ("record_experts", "office_staff", {"experts": [{"name": p("expert name"), "score": 80}],
                                                     "expert_recommendation": p("expert recommendation")}, None),
                 ("propose", "office_staff", {}, None)]
        for trigger, who, payload, comment in steps:
            fire(session=s, case_id=case.id, trigger=trigger, actor=act[who], now=now, payload=payload,
                 comment=comment)
        ids["case_id"].append(case.id)

        order = create_case(session=s, definition_key="rectification", actor=act["office_staff"], now=now,
                            town_id=town.id, data={"problem": p("rectification problem")})
        fire(session=s, case_id=order.id, trigger="acknowledge", actor=act["yx_clerk"], now=now)
        fire(session=s, case_id=order.id, trigger="submit_report", actor=act["yx_clerk"], now=now,
             payload={"report": p("rectification report")})
        fire(session=s, case_id=order.id, trigger="reject_report", actor=act["office_staff"], now=now,
             comment=p("reject comment"))
        ids["case_id"].append(order.id)

        inspection = create_case(session=s, definition_key="inspection", actor=act["office_staff"], now=now,
                                 town_id=town.id, data={"campaign": p("campaign"), "note": p("inspection note")})
        fire(session=s, case_id=inspection.id, trigger="start", actor=act["office_staff"], now=now)
        fire(session=s, case_id=inspection.id, trigger="record_finding", actor=act["office_staff"], now=now,
             payload={"finding": {"text": p("finding text"), "severity": "low", "attachments": []}})
        ids["case_id"].append(inspection.id)

        upload = store_bytes(session=s, actor=act["yx_clerk"], data=PDF, content_type="application/pdf",
                             filename=p("file name", slash=False) + ".pdf", kind="evidence", now=now,
                             case_id=case.id)
        ids["attachment_id"].append(upload.id)
        ids["receipt_id"] = [expect_receipt(s, attachment=upload, unit_id=yx.id, now=now).id]  # a notice to sign
        enter_year(session=s, year=2031, text=f"2031-01-01 休 {p('holiday note', slash=False)}",
                   actor=act["sysadmin"], now=now)
        failed = OutboxMessage(idempotency_key="xss:outbox", source=f"case:{case.id}:v1", rule="xss",
                               template="state_entered", category="event", channel="email", user_id=county.id,
                               case_id=case.id, status="failed", attempts=5, next_attempt_at=now, created_at=now,
                               failed_at=now, error_kind="permanent", last_error=p("a mail server's answer"),
                               address="wangli@yq.gov.cn")
        s.add(failed)
        stuck = Incident(case_id=case.id, trigger="expire", error_zh=p("incident error"), error_en=p("incident en"),
                         tries=3, first_failed_at=now, last_failed_at=now, status="resolved", resolved_at=now,
                         resolution="by_hand", comment=p("incident comment"))
        s.add(stuck)
        s.flush()
        ids["outbox_id"] = [failed.id]
        ids["incident_id"] = [stuck.id]
        unit = units.create_unit(s, actor=act["sysadmin"], name=p("unit name"), kind="member", now=now)
        ids["unit_id"] = [unit.id]
        seat = seats.create_seat(s, actor=act["sysadmin"], position="liaison", title=p("seat title"),
                                 unit_id=unit.id, now=now)  # on the roster pages, held by the member unit's user
        seats.assign(s, actor=act["sysadmin"], seat_id=seat.id, user_id=member.id, now=now)
        ids["seat_id"] = [seat.id]
        templates.upload(s, actor=act["office_staff"], name="designation_notice", now=now,
                         filename=p("template file name", slash=False) + ".docx",
                         data=edited("特此通知。", "特此通知！"), note=p("template note"))
        for user in (member, county, office, leader, admin, auditor):
            notify(s, user_ids=[user.id], case_id=case.id, kind="custom", source=f"xss:{user.id}", now=now,
                   params={"text": p(f"notification to {user.role}"), "text_en": p(f"notification en {user.role}")})
    # an account waiting for approval and a rejected one, named and commented with payloads (the approver's pages)
    from workflow.accounts import approvals

    pending = make.user("county", county="盂县", username="yx_waiting", email="w@yx.gov.cn",
                        display_name=p("waiting account name"))
    rejected = make.user("county", county="盂县", username="yx_rejected", mobile="13900001111")
    with transaction(db) as s:
        ids["request_id"] = [approvals.request_change(s, actor=act["sysadmin"], user=u, kind="reset", now=now).id
                             for u in (pending, rejected)]
        approvals.decide(s, actor=act["sec_auditor"], request_id=ids["request_id"][1], approve=False, confirmed=True,
                         comment=p("rejection comment"), now=now)
        ids["user_id"] += [pending.id, rejected.id]
    return {"ids": ids, "payloads": p.used, "users": [u.username for u in (county, office, member, leader, admin,
                                                                            auditor)],
            "extra": {"year": [2031], "trigger": ["return_for_revision", "record_opinion", "submit_report"],
                      "filename": ["css/app.css"], "name": ["designation_notice"], "library": ["key", "investment"]}}


class Inspector(HTMLParser):
    """Collects what may run: scripts, event handlers, inline styles, javascript: URLs."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag, attrs):
        names = {name.lower() for name, _ in attrs}
        if tag == "script":
            src = dict(attrs).get("src") or ""
            if not src.startswith("/static/"):
                self.problems.append(f"<script> without a static src: {attrs}")
            self.in_script = True
        if tag in ("style", "iframe", "object", "embed", "base"):
            self.problems.append(f"<{tag}>")
        for name in names:
            if name.startswith("on") or name in ("style", "srcdoc"):
                self.problems.append(f"<{tag} {name}=...>")
        for name, value in attrs:
            if name.lower() in ("href", "src", "action", "formaction", "xlink:href") and value and \
                    re.sub(r"[\s\x00-\x1f]", "", value).lower().startswith(("javascript:", "data:text", "vbscript:")):
                self.problems.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False

    def handle_data(self, data):
        if self.in_script and data.strip():
            self.problems.append("inline script content")


def pages(app, world):
    """Every GET route of the URL map with every fitting object of the world (pages and documents, not the API)."""
    values = {**world["ids"], **world["extra"]}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in (rule.methods or ()) or rule.endpoint.startswith("api.") or rule.endpoint == "static":
            continue
        names = sorted(rule.arguments)
        if any(name not in values for name in names):
            raise AssertionError(f"{rule.rule}: no test values for {names}; add them to the XSS world")
        for combination in product(*(values[name] for name in names)):
            yield rule, app.url_map.bind("localhost").build(rule.endpoint, dict(zip(names, combination, strict=True)))


def test_script_payloads_in_every_text_field_come_back_inert_on_every_page(app, xss_world):
    seen: set[int] = set()
    problems = []
    fetched = 0
    for username in xss_world["users"]:
        for lang in ("zh_CN", "en"):
            browser = app.test_client()
            assert login(browser, username).status_code == 302
            browser.post("/language", data={"lang": lang, "csrf_token": csrf_token(browser, "/password")})
            for _rule, url in pages(app, xss_world):
                response = browser.get(url)
                body = response.get_data(as_text=True) if response.mimetype.startswith(("text/", "image/svg")) \
                    else ""
                response.close()
                fetched += 1
                if not body:
                    continue
                assert response.headers["X-Content-Type-Options"] == "nosniff"
                for raw in ("<script>alert(", "<img src=x onerror", "<script>alert"):
                    if raw in body:
                        problems.append((username, url, f"raw {raw!r}"))
                if response.mimetype == "text/html":
                    inspector = Inspector()
                    inspector.feed(body)
                    problems += [(username, url, problem) for problem in inspector.problems]
                seen |= {int(n) for n in re.findall(r"alert\((\d+)\)", body)}
    assert problems == []
    unseen = {n: where for n, where in xss_world["payloads"].items() if n not in seen}
    assert unseen == {}, "payloads no page showed (the test did not look at them)"
    assert fetched > 100


def test_the_api_returns_the_same_text_as_json_that_no_browser_runs(app, xss_world):
    from conftest import api_headers

    client = app.test_client()
    headers = api_headers(client, "office_staff")
    for case_id in xss_world["ids"]["case_id"]:
        for url in (f"/api/v1/cases/{case_id}", f"/api/v1/cases/{case_id}/events"):
            response = client.get(url, headers=headers)
            assert response.status_code == 200 and response.mimetype == "application/json"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert "alert(" in response.get_data(as_text=True)  # stored as typed, escaped by whoever renders it


def test_a_payload_file_name_downloads_as_an_attachment_with_a_well_quoted_name(app, db, xss_world):
    from werkzeug.http import parse_options_header

    from workflow.core.models import Attachment

    client = app.test_client()
    login(client, "yx_clerk")
    attachment_id = xss_world["ids"]["attachment_id"][0]
    response = client.get(f"/attachments/{attachment_id}")
    response.close()
    with transaction(db) as s:
        stored = s.get(Attachment, attachment_id).filename
    kind, options = parse_options_header(response.headers["Content-Disposition"])
    assert kind == "attachment" and options["filename"] == stored  # the quote inside is escaped, nothing breaks out
    assert "\r" not in response.headers["Content-Disposition"] and "\n" not in response.headers["Content-Disposition"]
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'; sandbox")
