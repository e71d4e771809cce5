"""The page 文书模板 and /api/v1/templates: the office uploads its edited template, downloads any version and the
sample, and puts an earlier version or the shipped template back; a refused upload keeps the template in use."""

from __future__ import annotations

import io
from datetime import date

import pytest
from docxedit import edited, text_of
from sqlmodel import func, select

from conftest import api_headers, csrf_token, login
from workflow.core.db import transaction
from workflow.core.documents import catalog, render, shipped
from workflow.core.models import AuditEvent, DocumentTemplate

PAGE = "/document-templates"
NOTICE = "designation_notice"
NEW_ENDING = "特此通知，请认真贯彻落实。"


@pytest.fixture
def office(make, client):
    user = make.user("office", username="office_clerk")
    assert login(client, user.username).status_code == 302
    return user


def post_upload(client, data: bytes, *, note: str = "结尾增加落实要求", filename: str = "认定通知.docx",
                confirmed: bool = True, name: str = NOTICE):
    form = {"csrf_token": csrf_token(client, f"{PAGE}/{name}"), "note": note,
            "file": (io.BytesIO(data), filename)}
    if confirmed:
        form["confirmed"] = "yes"
    return client.post(f"{PAGE}/{name}/upload", data=form, content_type="multipart/form-data")


def next_notice(db) -> str:
    with transaction(db) as s:
        return text_of(render(s, NOTICE, dict(catalog().get(NOTICE).sample), issued=date(2026, 12, 1)))


def versions(db) -> list[tuple[int, bool]]:
    with transaction(db) as s:
        return [tuple(r) for r in s.exec(select(DocumentTemplate.version, DocumentTemplate.active)
                                         .order_by(DocumentTemplate.version))]


def test_the_office_finds_the_page_in_its_menu_with_every_document(client, office):
    start = client.get("/inbox").get_data(as_text=True)
    assert f'href="{PAGE}"' in start and "文书模板" in start
    page = client.get(PAGE)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    for spec in catalog().documents.values():
        assert spec.label.zh in body
    assert body.count("系统自带") >= len(catalog().documents)
    assert "下载示例（草稿）" in body


def test_other_roles_neither_see_the_menu_entry_nor_reach_the_page(make, app):
    for role in ("county", "member", "leader", "admin"):
        browser = app.test_client()
        login(browser, make.user(role).username)
        assert browser.get(PAGE).status_code == 403, role
        home = browser.get("/notifications").get_data(as_text=True)
        assert f'href="{PAGE}"' not in home, role


def test_an_edited_template_uploaded_through_the_page_is_in_use_at_once(client, db, office):
    data = edited("特此通知。", NEW_ENDING)
    answer = post_upload(client, data)
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"{PAGE}/{NOTICE}")

    page = client.get(f"{PAGE}/{NOTICE}").get_data(as_text=True)
    assert "模板已通过检查：从现在起使用第 1 版。" in page
    assert "结尾增加落实要求" in page and "office用户" in page and "认定通知.docx" in page
    assert versions(db) == [(1, True)]
    assert NEW_ENDING in next_notice(db)

    in_use = client.get(f"{PAGE}/{NOTICE}/download")
    assert in_use.status_code == 200 and in_use.data == data
    assert "attachment" in in_use.headers["Content-Disposition"]
    assert client.get(f"{PAGE}/{NOTICE}/download?version=1").data == data
    assert client.get(f"{PAGE}/{NOTICE}/download?version=shipped").data == shipped(NOTICE)
    sample = client.get(f"{PAGE}/{NOTICE}/sample.docx")
    assert sample.status_code == 200
    assert NEW_ENDING in text_of(sample.data) and "梁家寨乡" in text_of(sample.data)
    listed = client.get(PAGE).get_data(as_text=True)
    assert "第 1 版" in listed and "结尾增加落实要求" in listed


def test_a_refused_upload_says_why_and_keeps_the_template_in_use(client, db, office):
    post_upload(client, edited("特此通知。", NEW_ENDING))

    refused = post_upload(client, edited("特此通知。", "特此通知{{ twon }}。"), note="改错了的版本")
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "模板未通过检查：模板使用了该文书没有的字段：twon。" in body
    assert 'value="改错了的版本"' in body  # the note is not lost
    assert versions(db) == [(1, True)]
    assert NEW_ENDING in next_notice(db)

    not_docx = post_upload(client, b"%PDF-1.4\n%%EOF\n", filename="认定通知.pdf")
    assert not_docx.status_code == 422
    assert "请上传 Word 文档（.docx）。WPS 用户请“另存为”Word 文档（.docx）格式。" in not_docx.get_data(as_text=True)
    broken = post_upload(client, edited("特此通知。", "{% if town %}特此通知。"))
    assert "模板未通过检查：{% if %} 标记缺少对应的 {% endif %}。" in broken.get_data(as_text=True)
    no_note = post_upload(client, edited("特此通知。", "另一结尾。"), note=" ")
    assert "请说明本次修改的内容（如“更换红头”）。" in no_note.get_data(as_text=True)
    assert versions(db) == [(1, True)]


def test_an_upload_without_the_confirmation_changes_nothing(client, db, office):
    answer = post_upload(client, edited("特此通知。", NEW_ENDING), confirmed=False)
    assert answer.status_code == 422
    assert "请勾选确认：上传的文件将替换正在使用的模板。" in answer.get_data(as_text=True)
    assert versions(db) == []
    assert NEW_ENDING not in next_notice(db)


def test_an_earlier_version_or_the_shipped_template_is_put_back_after_a_confirmation(client, db, office):
    post_upload(client, edited("特此通知。", "第一版结尾。"), note="第一次修改")
    post_upload(client, edited("特此通知。", "第二版结尾。"), note="第二次修改")

    confirm = client.get(f"{PAGE}/{NOTICE}/restore?version=shipped")
    assert confirm.status_code == 200
    body = confirm.get_data(as_text=True)
    assert "第 2 版" in body and "系统自带的模板" in body
    token = csrf_token(client, f"{PAGE}/{NOTICE}")
    unconfirmed = client.post(f"{PAGE}/{NOTICE}/restore", data={"csrf_token": token, "version": "shipped"})
    assert unconfirmed.status_code == 422
    assert versions(db) == [(1, False), (2, True)]

    done = client.post(f"{PAGE}/{NOTICE}/restore", data={"csrf_token": token, "version": "shipped",
                                                         "confirmed": "yes"}, follow_redirects=True)
    assert "已恢复使用系统自带的模板。" in done.get_data(as_text=True)
    assert versions(db) == [(1, False), (2, False)]
    assert "特此通知。" in next_notice(db)

    page = client.get(f"{PAGE}/{NOTICE}/restore?version=1").get_data(as_text=True)
    assert "第一次修改" in page
    done = client.post(f"{PAGE}/{NOTICE}/restore", data={"csrf_token": token, "version": "1", "confirmed": "yes"},
                       follow_redirects=True)
    assert "已恢复使用第 1 版模板。" in done.get_data(as_text=True)
    assert versions(db) == [(1, True), (2, False)]
    assert "第一版结尾。" in next_notice(db)
    with transaction(db) as s:
        kinds = s.exec(select(AuditEvent.kind).where(AuditEvent.kind.like("template_%"))  # type: ignore[attr-defined]
                       .order_by(AuditEvent.seq)).all()
    assert kinds == ["template_replaced", "template_replaced", "template_restored", "template_restored"]


def test_a_version_that_does_not_exist_is_not_found(client, office):
    assert client.get(f"{PAGE}/{NOTICE}/restore?version=3").status_code == 404
    assert client.get(f"{PAGE}/{NOTICE}/download?version=3").status_code == 404
    assert client.get(f"{PAGE}/{NOTICE}/download?version=latest").status_code == 404
    assert client.get(f"{PAGE}/no_such_notice").status_code == 404


def test_the_page_tells_how_to_edit_a_template_and_lists_the_marks_with_what_they_hold(client, office):
    body = client.get(f"{PAGE}/{NOTICE}").get_data(as_text=True)
    assert "Word 或 WPS" in body and ".docx" in body
    assert "{{ town }}" in body and "乡镇" in body
    assert "{{ issuing_body }}" in body and "发文机关（领导小组全称）" in body
    assert "{{ rows }}" not in body  # the opinion sheet's, not this document's
    sheet = client.get(f"{PAGE}/opinion_sheet").get_data(as_text=True)
    assert "{{ rows }}" in sheet


def test_the_sample_of_a_template_in_use_that_no_longer_works_says_so(client, db, office, monkeypatch):
    post_upload(client, edited("特此通知。", NEW_ENDING))
    from workflow.core import documents

    def failing(self, context):
        raise documents.TemplateProblem("模板使用了未知的字段（'x' is undefined）。", "unknown field")

    monkeypatch.setattr(documents.CompiledTemplate, "render", failing)
    answer = client.get(f"{PAGE}/{NOTICE}/sample.docx", follow_redirects=True)
    assert answer.status_code == 200
    assert "文书“认定通知”的模板无法使用：模板使用了未知的字段" in answer.get_data(as_text=True)


# --- the API ----------------------------------------------------------------------------------------------------


def test_the_api_lists_uploads_and_restores_like_the_page(client, make, db):
    headers = api_headers(client, make.user("office", username="office_api").username)
    listed = client.get("/api/v1/templates", headers=headers)
    assert listed.status_code == 200
    by_name = {d["name"]: d for d in listed.json["items"]}
    assert set(by_name) == set(catalog().documents)
    assert by_name[NOTICE]["in_use"] is None and by_name[NOTICE]["label"]["zh"] == "认定通知"
    assert {"name": "town", "label": {"zh": "乡镇", "en": "Town"}} in by_name[NOTICE]["fields"]

    data = edited("特此通知。", NEW_ENDING)
    uploaded = client.post(f"/api/v1/templates/{NOTICE}", headers=headers, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(data), "认定通知.docx"), "note": "结尾增加落实要求"})
    assert uploaded.status_code == 201
    assert (uploaded.json["in_use"]["version"], uploaded.json["in_use"]["note"]) == (1, "结尾增加落实要求")
    assert NEW_ENDING in next_notice(db)

    refused = client.post(f"/api/v1/templates/{NOTICE}", headers=headers, content_type="multipart/form-data",
                          data={"file": (io.BytesIO(edited("特此通知。", "{{ twon }}")), "a.docx"), "note": "错"})
    assert refused.status_code == 422 and refused.json["error"] == "invalid_template"
    assert refused.json["message"]["zh"] == "模板未通过检查：模板使用了该文书没有的字段：twon。"
    assert refused.json["details"][0]["field"] == "file"

    restored = client.post(f"/api/v1/templates/{NOTICE}/restore", headers=headers, json={"version": None})
    assert restored.status_code == 200 and restored.json["in_use"] is None
    assert [v["version"] for v in restored.json["versions"]] == [1]
    again = client.post(f"/api/v1/templates/{NOTICE}/restore", headers=headers, json={"version": 1})
    assert again.status_code == 200 and again.json["in_use"]["version"] == 1
    assert client.post(f"/api/v1/templates/{NOTICE}/restore", headers=headers,
                       json={"version": 9}).status_code == 404
    assert client.post("/api/v1/templates/no_such_notice/restore", headers=headers,
                       json={"version": None}).status_code == 404
    with transaction(db) as s:
        assert s.exec(select(func.count()).select_from(DocumentTemplate)).one() == 1


def test_the_api_refuses_other_roles(client, make):
    county = api_headers(client, make.user("county").username)
    assert client.get("/api/v1/templates", headers=county).status_code == 403
    answer = client.post(f"/api/v1/templates/{NOTICE}", headers=county, content_type="multipart/form-data",
                         data={"file": (io.BytesIO(edited("特此通知。", NEW_ENDING)), "a.docx"), "note": "改"})
    assert answer.status_code == 403
    assert client.post(f"/api/v1/templates/{NOTICE}/restore", headers=county,
                       json={"version": None}).status_code == 403


def test_a_file_over_the_limit_is_refused_before_it_is_read(client, db, office, monkeypatch):
    from webapp.files import responses

    monkeypatch.setattr(responses, "UPLOAD_BODY_LIMIT", 10_000)
    answer = post_upload(client, edited("特此通知。", NEW_ENDING) + b"\x00" * 20_000)
    assert answer.status_code == 302
    assert "文件超过 20 MB，不能上传。" in client.get(f"{PAGE}/{NOTICE}").get_data(as_text=True)
    assert versions(db) == []
