"""Incidents through the API: the office lists them, retries one, resolves one by hand (the pages' services)."""

import sqlalchemy as sa
from sqlmodel import select

from conftest import api_headers, login, reload
from workflow.core import incidents
from workflow.core import sweep as sweep_module
from workflow.core.db import transaction
from workflow.core.models import Deadline, Incident


def _stuck(db, make, now):
    """A returned application whose lapse failed after its retries: an open incident on its expiry."""
    county = make.user("county")
    case = make.case("designation", state="returned", by=county)
    with transaction(db) as s:
        deadline = s.exec(select(Deadline).where(Deadline.case_id == case.id, Deadline.kind == "expiry")).one()
        s.connection().execute(sa.update(Deadline.__table__).where(Deadline.__table__.c.case_id == case.id)
                               .values(status="failed", attempts=3, first_failed_at=now))
        incident = Incident(case_id=case.id, deadline_id=deadline.id, trigger="expire", error_zh="数据库连接中断",
                            error_en="database connection lost", tries=3, first_failed_at=now, last_failed_at=now)
        s.add(incident)
        s.flush()
        return case, incident.id


def test_the_office_lists_and_reads_incidents(client, db, make, now):
    case, incident_id = _stuck(db, make, now)
    office = make.user("office")
    headers = api_headers(client, office.username)
    listed = client.get("/api/v1/incidents", headers=headers)
    assert listed.status_code == 200
    assert listed.json["total"] == 1 and listed.json["items"][0]["case_id"] == case.id
    assert listed.json["items"][0]["error"] == {"zh": "数据库连接中断", "en": "database connection lost"}
    assert client.get("/api/v1/incidents?status=resolved", headers=headers).json["total"] == 0
    bad = client.get("/api/v1/incidents?status=later", headers=headers)
    assert bad.status_code == 400 and bad.json["error"] == "bad_request"
    one = client.get(f"/api/v1/incidents/{incident_id}", headers=headers)
    assert (one.json["status"], one.json["tries"], one.json["trigger"]) == ("open", 3, "expire")
    assert client.get("/api/v1/incidents/99999999999999999999999", headers=headers).status_code == 404
    county = make.user("county")
    assert client.get("/api/v1/incidents", headers=api_headers(client, county.username)).status_code == 403


def test_a_retry_that_fails_again_is_a_409_that_counts_the_try_and_one_that_works_resolves_it(
        client, db, make, now, monkeypatch):
    import workflow.core.sweep as sweep_module

    case, incident_id = _stuck(db, make, now)
    headers = api_headers(client, make.user("office").username)
    real_fire = sweep_module.fire

    def failing(**kwargs):
        raise ConnectionError("数据库连接中断")

    monkeypatch.setattr(sweep_module, "fire", failing)
    again = client.post(f"/api/v1/incidents/{incident_id}/retry", headers=headers)
    assert again.status_code == 409 and again.json["error"] == "retry_failed"
    assert again.json["message"]["zh"] == "重试仍然失败：系统内部错误：ConnectionError: 数据库连接中断"
    assert (again.json["details"]["tries"], again.json["details"]["status"]) == (4, "open")
    assert reload(db, case.id).state == "returned"

    monkeypatch.setattr(sweep_module, "fire", real_fire)
    done = client.post(f"/api/v1/incidents/{incident_id}/retry", headers=headers)
    assert done.status_code == 200, done.get_data(as_text=True)
    assert (done.json["status"], done.json["resolution"]) == ("resolved", "retried")
    assert reload(db, case.id).state == "withdrawn"
    twice = client.post(f"/api/v1/incidents/{incident_id}/retry", headers=headers)
    assert twice.status_code == 409 and twice.json["error"] == "incident_resolved"


def test_resolving_needs_a_comment_and_happens_once(client, db, make, now):
    case, incident_id = _stuck(db, make, now)
    headers = api_headers(client, make.user("office").username)
    for body in ({}, {"comment": ""}, {"comment": 5}, {"comment": "长" * 1001}):
        refused = client.post(f"/api/v1/incidents/{incident_id}/resolve", headers=headers, json=body)
        assert refused.status_code == 422, body
    resolved = client.post(f"/api/v1/incidents/{incident_id}/resolve", headers=headers,
                           json={"comment": "县里已重新提交，人工处理"})
    assert resolved.status_code == 200
    assert (resolved.json["status"], resolved.json["resolution"], resolved.json["comment"]) == (
        "resolved", "by_hand", "县里已重新提交，人工处理")
    again = client.post(f"/api/v1/incidents/{incident_id}/resolve", headers=headers, json={"comment": "再次"})
    assert again.status_code == 409
    assert reload(db, case.id).state == "returned"


def test_the_office_is_told_which_scheduled_job_failed(client, db, make, now):
    """A job's incident has no case: the office's notice names the job instead of a case's number and title."""
    office = make.user("office")
    with transaction(db) as s:
        incidents.job_failed(s, job="notification-dispatch", now=now, error=("邮件服务器无响应", "mail server down"),
                             tries=3, first_failed_at=now, notifier=sweep_module.NOTIFIER)
    login(client, office.username)
    page = client.get("/notifications").get_data(as_text=True)
    assert "自动步骤经多次重试仍然失败：定时任务 notification-dispatch——邮件服务器无响应。" in page
