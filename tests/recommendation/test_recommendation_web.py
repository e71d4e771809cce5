"""The provincial recommendation through the pages and the API: the shortlist page with its reasons, a round opened
and its towns chosen on the pages, submitted and approved as the round's transitions, the dossier downloaded (and
audited), the province's answers recorded through the API; the dashboard's provincial-town figure counts the town
recorded provincial; and who may do what."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import recommendation_world
import time_machine
from sqlmodel import select

from conftest import api_headers, csrf_token, login
from workflow.core.db import transaction
from workflow.core.models import AuditEvent, Case

world = recommendation_world.world  # the fixture

NOW = datetime(2027, 1, 20, 2, 0, tzinfo=UTC)  # a Wednesday; the accounts, made in November, need no new password


def _page(client, user):
    assert login(client, user.username).status_code == 302
    return client


def _fire(client, headers, case_id, trigger, comment=None):
    version = client.get(f"/api/v1/cases/{case_id}", headers=headers).json["version"]
    return client.post(f"/api/v1/cases/{case_id}/transitions", headers=headers,
                       json={"trigger": trigger, "expected_version": version, "comment": comment})


def _provincial(client, headers):
    dashboard = client.get("/api/v1/dashboard", headers=headers).json
    return next(t for t in dashboard["targets"] if t["key"] == "provincial_towns")["value"]


def test_a_round_on_the_pages_and_the_api_raises_the_dashboards_provincial_towns(app, client, db, world):
    towns = world["towns"]
    with time_machine.travel(NOW, tick=False):
        office = _page(app.test_client(), world["users"]["office"])
        page = office.get("/recommendation").get_data(as_text=True)
        assert "甲镇" in page and "2026 年主导产业产值 12 亿元，低于 20 亿元" in page
        token = csrf_token(office, "/recommendation")
        opened = office.post("/recommendation", data={"csrf_token": token, "recommendation_year": "2027",
                                                      "batch_no": "1"})
        assert opened.status_code == 302
        case_id = int(opened.headers["Location"].rsplit("/", 1)[1])
        refused = office.post(f"/recommendation/{case_id}/towns",
                              data={"csrf_token": token, "town_id": [str(towns["丙镇"].id)]})
        assert refused.status_code == 422 and "丙镇：认定为市级专业镇未满 1 年" in refused.get_data(as_text=True)
        chosen = office.post(f"/recommendation/{case_id}/towns",
                             data={"csrf_token": token, "town_id": [str(towns["甲镇"].id), str(towns["乙镇"].id)]})
        assert chosen.status_code == 302

        headers = {who: api_headers(client, world["users"][who].username) for who in ("office", "leader", "county")}
        before = _provincial(client, headers["office"])
        assert _fire(client, headers["office"], case_id, "submit_recommendation").status_code == 200
        assert _fire(client, headers["leader"], case_id, "approve_recommendation").status_code == 200
        shown = client.get(f"/api/v1/recommendation/rounds/{case_id}", headers=headers["leader"]).json
        assert {t["record_state"] for t in shown["towns"]} == {"recommended_provincial"}
        assert shown["towns"][0]["letter_number"] == "阳专镇荐〔2027〕1号"

        leader = _page(app.test_client(), world["users"]["leader"])
        zipped = leader.post(f"/recommendation/{case_id}/dossier",
                             data={"csrf_token": csrf_token(leader, "/recommendation")})
        assert zipped.status_code == 200 and zipped.mimetype == "application/zip"
        assert "manifest.json" in zipfile.ZipFile(io.BytesIO(zipped.data)).namelist()
        with transaction(db) as s:
            event = s.exec(select(AuditEvent).where(AuditEvent.kind == "dossier_downloaded")).one()
        assert event.case_id == case_id and event.role == "leader"

        assert client.get(f"/api/v1/recommendation/rounds/{case_id}", headers=headers["county"]).status_code == 403
        upload = client.post(f"/api/v1/cases/{case_id}/attachments", headers=headers["office"],
                             data={"kind": "province_document",
                                   "file": (io.BytesIO(b"%PDF-1.4\n% province\n%%EOF\n"), "省级认定文件.pdf")})
        assert upload.status_code == 201, upload.json
        missing = client.post(f"/api/v1/recommendation/rounds/{case_id}/answers", headers=headers["office"],
                              json={"town_id": towns["甲镇"].id, "answer": "approved"})
        assert missing.status_code == 422 and "须上传省级认定文件" in missing.json["message"]["zh"]
        answered = client.post(f"/api/v1/recommendation/rounds/{case_id}/answers", headers=headers["office"],
                               json={"town_id": towns["甲镇"].id, "answer": "approved",
                                     "document_id": upload.json["id"]})
        assert answered.status_code == 200, answered.json
        assert answered.json["case"]["state"] == "awaiting_province"
        refusal = {"csrf_token": token, "town_id": str(towns["乙镇"].id), "answer": "refused", "comment": "名额已满"}
        unconfirmed = office.post(f"/recommendation/{case_id}/answer", data=refusal)
        assert unconfirmed.status_code == 422 and "请勾选确认" in unconfirmed.get_data(as_text=True)
        assert office.post(f"/recommendation/{case_id}/answer", data={**refusal, "confirmed": "1"}).status_code == 302
        answered = client.get(f"/api/v1/recommendation/rounds/{case_id}", headers=headers["office"])
        assert answered.json["case"]["state"] == "closed"
        assert [t["answer"] for t in answered.json["towns"]] == ["approved", "refused"]
        assert answered.json["towns"][1]["comment"] == "名额已满"
        assert _provincial(client, headers["office"]) == before + 1

        record = answered.json["towns"][0]["record_id"]
        history = office.get(f"/cases/{record}").get_data(as_text=True)
        assert "省级专业镇" in history and "登记省级认定" in history
        town_page = office.get(f"/towns/{towns['甲镇'].id}").get_data(as_text=True)
        assert "省级专业镇" in town_page and "阳专镇荐〔2027〕1号.docx" in town_page and "省级认定文件.pdf" in town_page
    with transaction(db) as s:
        assert s.get(Case, record).state == "provincial"


def test_the_county_and_member_units_are_refused(app, client, world, make):
    member = make.user("member", unit="市发改委", username="fgw_staff")
    with time_machine.travel(NOW, tick=False):
        county = _page(app.test_client(), world["users"]["county"])
        assert county.get("/recommendation").status_code == 403
        unit = _page(app.test_client(), member)
        assert unit.get("/recommendation").status_code == 403
        headers = api_headers(client, world["users"]["leader"].username)
        assert client.post("/api/v1/recommendation/rounds", headers=headers,
                           json={"recommendation_year": 2027, "batch_no": 1}).status_code == 403
        shortlist = client.get("/api/v1/recommendation/shortlist", headers=headers).json["towns"]
        assert [t["town"] for t in shortlist if t["is_eligible"]] == ["甲镇", "乙镇"]
