"""The designation's notices as the office and the leading group see them: the 公示 announcement when the public
notice starts, the designation notice read as a draft before approval and before it is issued, and its number
taken only when the office issues it."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from docx import Document
from sqlmodel import select

from conftest import COMPLETE_APPLICATION, csrf_token, login, reload
from workflow.core.actors import Actor
from workflow.core.attachments import stored_path, upload_root
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.errors import NotFound
from workflow.core.models import Attachment, Counter, Deadline
from workflow.core.previews import preview_for

REVIEWED = {**COMPLETE_APPLICATION, "experts": [{"name": "甲", "score": 80}], "expert_recommendation": "同意"}


def text(content: bytes) -> str:
    return "\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs)


def test_approval_writes_the_public_notice_announcement_with_its_period_and_where_objections_go(make, db, now):
    county, leader = make.user("county"), make.user("leader")
    town = make.town("梁家寨乡", county="盂县")
    case = make.case("designation", state="decision", by=county, town=town, data=REVIEWED)
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="approve", actor=make.actor(leader), now=now)
    with transaction(db) as s:
        announcement = s.exec(select(Attachment).where(Attachment.kind == "publicity_announcement")).one()
        expiry = s.exec(select(Deadline).where(Deadline.case_id == case.id, Deadline.state == "publicity",
                                               Deadline.kind == "expiry")).one()
    assert (announcement.case_id, announcement.filename) == (case.id, f"公示-{case.number}.docx")
    body = text(stored_path(upload_root(), announcement.sha256).read_bytes())
    assert "关于拟认定盂县梁家寨乡为市级专业镇的公示" in body
    # Friday 27 November, five working days: 30 November to 4 December; the deadline counts the same period
    assert str(expiry.due_date) == "2026-12-04"
    assert "公示期为2026年11月27日至2026年12月4日（5个工作日）" in body
    assert "请以书面形式实名向阳泉市专业镇高质量发展领导小组办公室（设在市工业和信息化局）反映" in body
    assert case.number in body


def test_the_designation_notice_is_read_as_a_draft_then_numbered_only_when_the_office_issues_it(make, db, now):
    county, office, leader = make.user("county"), make.user("office"), make.user("leader")
    town = make.town("西烟镇", county="盂县")
    case = make.case("designation", state="decision", by=county, town=town, data=REVIEWED)

    with transaction(db) as s:
        draft = preview_for(session=s, actor=make.actor(leader), case_id=case.id, now=now)
    body = text(draft.content)
    assert draft.document == "designation_notice" and draft.filename == f"认定通知（草稿）-{case.number}.docx"
    assert "阳专镇〔2026〕　　号" in body and "关于认定盂县西烟镇为市级专业镇的通知" in body
    assert b'string="\xe8\x8d\x89\xe7\xa8\xbf"' in _header_bytes(draft.content)  # 草稿

    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="approve", actor=make.actor(leader), now=now)
    later = now + timedelta(days=8)
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="publicity_end", actor=Actor.system(), now=later)
        reminders = s.exec(select(Deadline.offset_days).where(Deadline.case_id == case.id,
                                                              Deadline.state == "notice_pending",
                                                              Deadline.kind == "reminder")).all()
    assert sorted(reminders) == [0, 2]  # the office is reminded: the notice is not forgotten
    with transaction(db) as s:
        for _ in range(3):  # reading drafts takes no number
            preview_for(session=s, actor=make.actor(office), case_id=case.id, now=later)
        assert s.exec(select(Counter).where(Counter.key == "designation")).first() is None
    with transaction(db) as s, pytest.raises(NotFound):
        preview_for(session=s, actor=make.actor(county), case_id=case.id, now=later)

    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="issue_notice", actor=make.actor(office), now=later)
    issued = reload(db, case.id)
    assert issued.state == "designated" and issued.data["designation_number"] == "阳专镇〔2026〕1号"
    with transaction(db) as s:
        notice = s.exec(select(Attachment).where(Attachment.kind == "designation_notice")).one()
        with pytest.raises(NotFound):  # nothing left to issue
            preview_for(session=s, actor=make.actor(office), case_id=case.id, now=later)
    content = stored_path(upload_root(), notice.sha256).read_bytes()
    assert "阳专镇〔2026〕1号" in text(content) and b"\xe8\x8d\x89\xe7\xa8\xbf" not in _header_bytes(content)


def _header_bytes(content: bytes) -> bytes:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(content)) as package:
        return b"".join(package.read(n) for n in package.namelist() if n.startswith("word/header"))


def test_the_pages_show_the_draft_on_the_case_and_on_the_confirmation_of_the_step(make, app, db):
    county, office = make.user("county", county="平定县"), make.user("office")
    case = make.case("designation", state="notice_pending", by=county, town=make.town("娘子关镇", county="平定县"),
                     data=REVIEWED)
    client = app.test_client()
    login(client, office.username)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f"/cases/{case.id}/preview" in page
    draft = client.get(f"/cases/{case.id}/preview").get_data(as_text=True)
    assert "认定通知" in draft and "草稿" in draft and "阳专镇〔2026〕　　号" in draft
    docx = client.get(f"/cases/{case.id}/preview.docx", buffered=True)
    assert docx.status_code == 200 and docx.data[:2] == b"PK"
    confirm = client.get(f"/cases/{case.id}/do/issue_notice").get_data(as_text=True)
    assert "本步骤将印发的文书" in confirm and "关于认定平定县娘子关镇为市级专业镇的通知" in confirm
    withhold = client.get(f"/cases/{case.id}/do/withhold_notice").get_data(as_text=True)
    assert "本步骤将印发的文书" not in withhold  # sending it back issues nothing

    token = csrf_token(client, f"/cases/{case.id}/do/issue_notice")
    done = client.post(f"/cases/{case.id}/do/issue_notice",
                       data={"csrf_token": token, "expected_version": case.version, "confirmed": "yes"})
    assert done.status_code == 302 and reload(db, case.id).state == "designated"

    client = app.test_client()
    login(client, county.username)
    assert client.get(f"/cases/{case.id}/preview").status_code == 404
    assert f"/cases/{case.id}/preview" not in client.get(f"/cases/{case.id}").get_data(as_text=True)
