"""The notices of a rectification order: the 整改通知书 that goes out, numbered in its own series, with every
order; the criticism that cites it, read by the leading group as a draft before it approves."""

from __future__ import annotations

import io
import json
from datetime import timedelta

from docx import Document
from sqlmodel import select

from conftest import csrf_token, login, reload
from workflow.core.attachments import stored_path, upload_root
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.models import Attachment, AuditEvent, Counter
from workflow.core.previews import preview_for


def text(content: bytes) -> str:
    return "\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs)


def notice_text(db, kind: str, case_id: int) -> tuple[Attachment, str]:
    with transaction(db) as s:
        row = s.exec(select(Attachment).where(Attachment.kind == kind, Attachment.case_id == case_id)).one()
    return row, text(stored_path(upload_root(), row.sha256).read_bytes())


def test_every_order_goes_out_with_a_numbered_rectification_notice_to_its_county(make, db):
    office = make.user("office")
    town = make.town("河底镇", county="郊区")
    first = make.case("rectification", town=town, by=office, data={
        "problem": "公共服务平台未按计划建成运营。", "severity": "medium", "due_date": "2026-12-31"})
    second = make.case("rectification", town=make.town("荫营镇", county="郊区"), by=office,
                       data={"problem": "龙头企业培育不力。", "severity": "low"})
    numbers = (reload(db, first.id).data["notice_number"], reload(db, second.id).data["notice_number"])
    assert numbers == ("阳专镇改〔2026〕1号", "阳专镇改〔2026〕2号")  # kept on the order
    row, body = notice_text(db, "rectification_notice", first.id)
    assert (row.town_id, row.filename) == (town.id, "整改通知书-阳专镇改〔2026〕1号.docx")
    assert "关于限期整改河底镇专业镇建设问题的通知" in body and "郊区人民政府：" in body
    for words in ("公共服务平台未按计划建成运营。", "于2026年12月31日前完成整改", first.number, "阳专镇改〔2026〕1号"):
        assert words in body
    _, other = notice_text(db, "rectification_notice", second.id)
    assert f"于{reload(db, second.id).data['due_date'][:4]}年" in other  # the deadline counted when none was given
    with transaction(db) as s:
        created = s.exec(select(AuditEvent).where(AuditEvent.case_id == first.id,
                                                  AuditEvent.kind == "case_created")).one()
    data = json.loads(created.data) if isinstance(created.data, str) else created.data
    assert data["notice_number"] == data["data"]["notice_number"] == "阳专镇改〔2026〕1号"


def test_the_criticism_cites_the_rectification_notice_and_the_leader_reads_it_as_a_draft_first(make, db, app, now):
    office, leader = make.user("office"), make.user("leader")
    town = make.town("河底镇", county="郊区")
    order = make.case("rectification", state="overdue", town=town, by=office,
                      data={"problem": "公共服务平台未按计划建成运营。", "severity": "high"})
    with transaction(db) as s:
        fire(session=s, case_id=order.id, trigger="criticise", actor=make.actor(office), now=now,
             comment="逾期未建成公共服务平台，且未申请延期。")
    _, draft_file = notice_text(db, "criticism_draft", order.id)
    with transaction(db) as s:
        draft = preview_for(session=s, actor=make.actor(leader), case_id=order.id, now=now + timedelta(days=1))
        assert s.exec(select(Counter).where(Counter.key == "criticism")).first() is None
    for body in (draft_file, text(draft.content)):
        assert "阳专镇通〔2026〕　　号" in body
        assert "下达了《整改通知书》（阳专镇改〔2026〕1号）" in body
        assert "主要问题：逾期未建成公共服务平台，且未申请延期。" in body

    client = app.test_client()
    login(client, leader.username)
    confirm = client.get(f"/cases/{order.id}/do/approve_criticism").get_data(as_text=True)
    assert "本步骤将印发的文书" in confirm and "关于对郊区未按期完成河底镇整改任务的通报批评" in confirm
    with transaction(db) as s:
        fire(session=s, case_id=order.id, trigger="approve_criticism", actor=make.actor(leader), now=now)
    _, issued = notice_text(db, "criticism_notice", order.id)
    assert "阳专镇通〔2026〕1号" in issued and "《整改通知书》（阳专镇改〔2026〕1号）" in issued


def test_the_office_reads_the_rectification_notice_of_a_finding_before_it_orders_it(make, db, app, now):
    office = make.user("office")
    inspection = make.case("inspection", state="in_progress", town=make.town("河底镇", county="郊区"), by=office)
    with transaction(db) as s:
        fire(session=s, case_id=inspection.id, trigger="record_finding", actor=make.actor(office), now=now,
             payload={"finding": {"text": "检验检测公共服务平台未运行。", "severity": "high"}})
    version = reload(db, inspection.id).version
    client = app.test_client()
    login(client, office.username)
    url = f"/cases/{inspection.id}/do/decide_finding"
    form = client.get(url).get_data(as_text=True)
    assert "预览将印发的文书（草稿）" in form
    token = csrf_token(client, url)
    fields = {"csrf_token": token, "expected_version": version, "finding_no": "1", "decision": "rectify",
              "due_date": "2026-12-31", "preview": "1"}
    page = client.post(url, data=fields).get_data(as_text=True)
    for words in ("本步骤将印发的文书", "关于限期整改河底镇专业镇建设问题的通知", "阳专镇改〔2026〕　　号",
                  "检验检测公共服务平台未运行。", "于2026年12月31日前完成整改"):
        assert words in page
    without = client.post(url, data={**fields, "decision": "no_action"}).get_data(as_text=True)
    assert "按当前填写的内容，本步骤不印发文书。" in without
    with transaction(db) as s:  # reading drafts changed nothing and took no number
        assert s.exec(select(Counter).where(Counter.key == "rectification_notice")).first() is None
    assert reload(db, inspection.id).version == version

    done = client.post(url, data={k: v for k, v in fields.items() if k != "preview"})
    assert done.status_code == 302
    order_id = reload(db, inspection.id).data["findings"][0]["order_id"]
    assert reload(db, order_id).data["notice_number"] == "阳专镇改〔2026〕1号"
