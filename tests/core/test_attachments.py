"""Attachments: checked by content, stored once by sha256 outside the web root, seen only by who sees the case."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from urllib.parse import quote

import pytest
from flask import render_template_string
from sqlmodel import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from conftest import api_headers, csrf_token, login, without_csrf_token
from workflow.core import attachments
from workflow.core.actors import Actor
from workflow.core.attachments import MAX_SIZE, clean_filename, get_attachment, store_bytes, store_upload, stored_path
from workflow.core.db import transaction
from workflow.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from workflow.core.models import Attachment, AuditEvent, CaseParty

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "files"
MB = 1024 * 1024
SAMPLE_TYPES = [
    ("sample.pdf", "application/pdf"),
    ("sample.png", "image/png"),
    ("sample.jpg", "image/jpeg"),
    ("sample.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("sample.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("sample.doc", "application/msword"),
]
EXECUTABLES = {
    "mz": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(200),
    "elf": b"\x7fELF\x02\x01\x01\x00" + bytes(200),
    "shell": b"#!/bin/sh\nrm -rf / --no-preserve-root\n",
}


def files_in(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*") if p.is_file()) if Path(root).exists() else []


def footprint(db) -> tuple[int, int]:
    """(attachment rows, attachment_added events)."""
    with transaction(db) as s:
        rows = len(s.exec(select(Attachment)).all())
        events = len(s.exec(select(AuditEvent).where(AuditEvent.kind == "attachment_added")).all())
    return rows, events


@pytest.fixture
def upload_dir(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "uploads"
    monkeypatch.setattr(attachments.settings, "upload_dir", str(root))
    return root


def upload(db, make, user, case_id, name, content, upload_dir, now):
    with transaction(db) as s:
        return store_upload(session=s, actor=make.actor(user), case_id=case_id, filename=name,
                            stream=io.BytesIO(content), now=now, upload_dir=upload_dir)


# --- the service ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "content_type"), SAMPLE_TYPES)
def test_accepted_types_are_stored_by_sha256_with_an_audit_event(make, db, now, upload_dir, name, content_type):
    county = make.user("county")
    case = make.case(by=county, materials=False)
    content = (SAMPLES / name).read_bytes()
    row = upload(db, make, county, case.id, f"申报材料-{name}", content, upload_dir, now)

    sha = hashlib.sha256(content).hexdigest()
    assert (row.sha256, row.size, row.content_type, row.kind) == (sha, len(content), content_type, "evidence")
    assert row.filename == f"申报材料-{name}" and row.case_id == case.id and row.uploaded_by_id == county.id
    assert stored_path(upload_dir, sha) == upload_dir / sha[:2] / sha
    assert files_in(upload_dir) == [upload_dir / sha[:2] / sha]
    assert (upload_dir / sha[:2] / sha).read_bytes() == content
    with transaction(db) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.kind == "attachment_added")).one()
    assert (event.case_id, event.county_id, event.actor_id) == (case.id, case.county_id, county.id)
    assert json.loads(event.data) == {"attachment_id": row.id, "filename": row.filename, "sha256": sha,
                                      "size": len(content), "kind": "evidence"}


def test_identical_content_is_stored_once(make, db, now, upload_dir):
    county = make.user("county")
    case = make.case(by=county, materials=False)
    content = (SAMPLES / "sample.pdf").read_bytes()
    first = upload(db, make, county, case.id, "a.pdf", content, upload_dir, now)
    second = upload(db, make, county, case.id, "b.pdf", content, upload_dir, now)
    assert first.id != second.id and first.sha256 == second.sha256
    assert len(files_in(upload_dir)) == 1
    assert footprint(db) == (2, 2)


@pytest.mark.parametrize("kind", sorted(EXECUTABLES))
def test_an_executable_named_pdf_is_refused_and_nothing_is_kept(make, db, now, upload_dir, kind):
    county = make.user("county")
    case = make.case(by=county, materials=False)
    with pytest.raises(Unprocessable) as refused:
        upload(db, make, county, case.id, "申报书.pdf", EXECUTABLES[kind], upload_dir, now)
    assert refused.value.details[0]["field"] == "file"
    assert "可执行程序" in refused.value.zh and "executable" in refused.value.en
    assert files_in(upload_dir) == []
    assert footprint(db) == (0, 0)


@pytest.mark.parametrize(("name", "content", "words"), [
    ("报告.docx", (SAMPLES / "sample.pdf").read_bytes(), "与扩展名“.docx”不符"),
    ("photo.png", (SAMPLES / "sample.jpg").read_bytes(), "与扩展名“.png”不符"),
    ("book.xls", (SAMPLES / "sample.xlsx").read_bytes(), "与扩展名“.xls”不符"),
    ("page.pdf", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "网页"),
    ("page.pdf", b"\xef\xbb\xbf  <svg onload=alert(1)>", "网页"),
    ("notes.pdf", b"just some text", "无法识别"),
    ("archive.docx", b"PK\x03\x04 not really a zip", "无法识别"),
    ("empty.pdf", b"", "文件为空"),
    ("setup.exe", EXECUTABLES["mz"], "不允许的文件扩展名“.exe”"),
    ("page.html", b"<html></html>", "不允许的文件扩展名“.html”"),
    ("README", (SAMPLES / "sample.pdf").read_bytes(), "缺少扩展名"),
])
def test_content_must_be_of_an_accepted_type_and_agree_with_the_name(make, db, now, upload_dir, name, content,
                                                                       words):
    county = make.user("county")
    case = make.case(by=county, materials=False)
    with pytest.raises(Unprocessable) as refused:
        upload(db, make, county, case.id, name, content, upload_dir, now)
    assert words in refused.value.zh
    assert files_in(upload_dir) == []
    assert footprint(db) == (0, 0)


def test_a_macro_enabled_document_is_refused_whatever_its_name(make, db, now, upload_dir):
    import zipfile

    county = make.user("county")
    case = make.case(by=county, materials=False)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        archive.writestr("word/vbaProject.bin", b"\x00" * 10)
    with pytest.raises(Unprocessable):
        upload(db, make, county, case.id, "宏.docx", out.getvalue(), upload_dir, now)
    assert files_in(upload_dir) == []


class CountingStream:
    """A PDF-looking body of `total` bytes handed over in pieces, counting what the reader took."""

    HEADER = b"%PDF-1.4\n"

    def __init__(self, total: int):
        self.total, self.sent = total, 0

    def read(self, size: int = -1) -> bytes:
        start = self.sent
        size = self.total - start if size < 0 else min(size, self.total - start)
        self.sent += size
        head = self.HEADER[start:start + size]
        return head + b"0" * (size - len(head))


def test_a_streamed_body_is_refused_as_it_passes_20_mb_and_leaves_no_file(make, db, now, upload_dir):
    county = make.user("county")
    case = make.case(by=county, materials=False)
    stream = CountingStream(21 * MB)
    with transaction(db) as s, pytest.raises(Unprocessable) as refused:
        store_upload(session=s, actor=make.actor(county), case_id=case.id, filename="big.pdf", stream=stream,
                     now=now, upload_dir=upload_dir)
    assert "20 MB" in refused.value.zh and refused.value.details[0]["field"] == "file"
    assert MAX_SIZE < stream.sent <= MAX_SIZE + attachments.CHUNK  # it stopped reading right away
    assert files_in(upload_dir) == []
    assert footprint(db) == (0, 0)


def test_exactly_20_mb_is_accepted(make, db, now, upload_dir):
    county = make.user("county")
    case = make.case(by=county, materials=False)
    with transaction(db) as s:
        row = store_upload(session=s, actor=make.actor(county), case_id=case.id, filename="big.pdf",
                           stream=CountingStream(MAX_SIZE), now=now, upload_dir=upload_dir)
    assert row.size == MAX_SIZE and len(files_in(upload_dir)) == 1


@pytest.mark.parametrize(("raw", "clean"), [
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("C:\\Users\\张三\\桌面\\申报书.pdf", "申报书.pdf"),
    ("报告\u202efdp.exe", "报告fdp.exe"),  # the bidi override that hides the real extension
    ("a\x00b\r\n\tc.pdf", "abc.pdf"),
    ("  盂县  申报   材料 .pdf ", "盂县 申报 材料 .pdf"),
    ("...pdf", "pdf"),
])
def test_file_names_are_cleaned_for_display(raw, clean):
    assert clean_filename(raw) == clean


def test_long_names_keep_their_extension():
    name = clean_filename("专" * 300 + ".docx")
    assert len(name) == 255 and name.endswith(".docx")


def test_who_may_upload(make, db, now, upload_dir):
    county = make.user("county", county="盂县")
    case = make.case(by=county, materials=False)
    pdf = (SAMPLES / "sample.pdf").read_bytes()
    office = make.user("office")
    assert upload(db, make, office, case.id, "office.pdf", pdf, upload_dir, now).id
    with pytest.raises(Forbidden):
        upload(db, make, make.user("leader"), case.id, "x.pdf", pdf, upload_dir, now)
    for outsider in (make.user("county", county="平定县"), make.user("member", unit="市发改委"),
                     make.user("auditor"), make.user("admin")):
        with pytest.raises(NotFound):
            upload(db, make, outsider, case.id, "x.pdf", pdf, upload_dir, now)
    invited = make.user("member", unit="市科技局")
    with transaction(db) as s:
        s.add(CaseParty(case_id=case.id, unit_id=invited.unit_id, purpose="consultation", created_at=now))
    assert upload(db, make, invited, case.id, "member.pdf", pdf, upload_dir, now).id
    with pytest.raises(NotFound):
        upload(db, make, county, 999999, "x.pdf", pdf, upload_dir, now)
    assert footprint(db) == (2, 2)


def test_a_closed_case_takes_no_more_files(make, db, now, upload_dir):
    county = make.user("county")
    case = make.case(by=county, materials=False)
    with transaction(db) as s:
        s.get(type(case), case.id).closed_at = now
    with pytest.raises(Conflict):
        upload(db, make, county, case.id, "x.pdf", (SAMPLES / "sample.pdf").read_bytes(), upload_dir, now)


def test_an_attachment_is_seen_exactly_by_who_sees_its_case(make, db, now, upload_dir):
    county = make.user("county", county="盂县")
    case = make.case(by=county, materials=False)
    row = upload(db, make, county, case.id, "a.pdf", (SAMPLES / "sample.pdf").read_bytes(), upload_dir, now)
    viewers = (county, make.user("office"), make.user("leader"))
    outsiders = (make.user("county", county="平定县"), make.user("member"), make.user("auditor"))
    with transaction(db) as s:
        for viewer in viewers:
            found, path = get_attachment(session=s, actor=make.actor(viewer), attachment_id=row.id)
            assert found.id == row.id and path.read_bytes() == (SAMPLES / "sample.pdf").read_bytes()
        answers = []
        for outsider in outsiders:
            with pytest.raises(NotFound) as hidden:
                get_attachment(session=s, actor=make.actor(outsider), attachment_id=row.id)
            answers.append((hidden.value.zh, hidden.value.en, hidden.value.code))
        with pytest.raises(NotFound) as missing:
            get_attachment(session=s, actor=make.actor(county), attachment_id=row.id + 1000)
    assert set(answers) == {(missing.value.zh, missing.value.en, missing.value.code)}


def test_a_town_document_is_seen_by_who_sees_the_town(make, db, now, upload_dir):
    town = make.town(county="盂县")
    with transaction(db) as s:
        row = store_bytes(session=s, actor=Actor.system(), data=b"%PDF-1.4 notice", filename="通知.pdf",
                          content_type="application/pdf", kind="designation_notice", now=now, town_id=town.id)
        event = s.exec(select(AuditEvent).where(AuditEvent.kind == "attachment_added")).one()
    assert (event.case_id, event.county_id, event.actor_id, event.role) == (None, town.county_id, None, "system")
    viewers = (make.user("county", county="盂县"), make.user("member"), make.user("office"))
    outsiders = (make.user("county", county="郊区"), make.user("admin"))
    with transaction(db) as s:
        for viewer in viewers:
            assert get_attachment(session=s, actor=make.actor(viewer), attachment_id=row.id)[0].id == row.id
        for outsider in outsiders:
            with pytest.raises(NotFound):
                get_attachment(session=s, actor=make.actor(outsider), attachment_id=row.id)
        assert [a.id for a in attachments.list_town_attachments(
            session=s, actor=make.actor(viewers[2]), town_id=town.id)] == [row.id]


# --- the pages -----------------------------------------------------------------------------------------------


def page_upload(client, case_id: int, name: str, content: bytes, token: str | None):
    data = {"file": (io.BytesIO(content), name)}
    if token:
        data["csrf_token"] = token
    return client.post(f"/cases/{case_id}/attachments", data=data, content_type="multipart/form-data")


def content_disposition_ok(response, name: str) -> bool:
    value = response.headers["Content-Disposition"]
    return value.startswith("attachment;") and f"filename*=UTF-8''{quote(name)}" in value


@pytest.mark.parametrize(("name", "content_type"), SAMPLE_TYPES)
def test_upload_through_the_page_then_download_the_same_bytes(make, app, client, db, name, content_type):
    county = make.user("county")
    case = make.case(by=county, materials=False)
    login(client, county.username)
    content = (SAMPLES / name).read_bytes()
    response = page_upload(client, case.id, f"佐证材料 {name}", content, csrf_token(client, "/inbox"))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/cases/{case.id}#attachments")

    upload_dir = Path(app.config["UPLOAD_DIR"])
    sha = hashlib.sha256(content).hexdigest()
    assert files_in(upload_dir) == [upload_dir / sha[:2] / sha]
    with transaction(db) as s:
        row = s.exec(select(Attachment)).one()
    download = client.get(f"/attachments/{row.id}", buffered=True)
    assert download.status_code == 200 and download.data == content
    assert download.mimetype == content_type
    assert content_disposition_ok(download, f"佐证材料 {name}")
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_the_case_page_partial_lists_files_and_offers_the_form(make, app, client):
    county = make.user("county")
    case = make.case(by=county, materials=False)
    other = make.case(county="平定县", materials=False)

    @app.route("/_test/attachments/<int:case_id>")
    def partial(case_id):
        from webapp.auth.current import actor
        from webapp.database import db as request_db
        from workflow.core.access import get_case

        return render_template_string('{% include "files/_attachments.html" %}',
                                      case=get_case(request_db(), actor(), case_id))

    login(client, county.username)
    page_upload(client, case.id, "盂县申报书.pdf", (SAMPLES / "sample.pdf").read_bytes(), csrf_token(client, "/inbox"))
    html = client.get(f"/_test/attachments/{case.id}").get_data(as_text=True)
    assert "盂县申报书.pdf" in html and 'href="/attachments/1"' in html
    assert 'enctype="multipart/form-data"' in html and 'name="csrf_token"' in html and ".pdf," in html
    assert client.get(f"/_test/attachments/{other.id}").status_code == 404

    leader, client = make.user("leader"), app.test_client()
    login(client, leader.username)
    html = client.get(f"/_test/attachments/{case.id}").get_data(as_text=True)
    assert "盂县申报书.pdf" in html and "multipart/form-data" not in html  # the leader reads, never uploads


def test_upload_without_the_csrf_token_is_refused(make, app, client, db):
    county = make.user("county")
    case = make.case(by=county, materials=False)
    login(client, county.username)
    response = page_upload(client, case.id, "a.pdf", (SAMPLES / "sample.pdf").read_bytes(), None)
    assert response.status_code == 400
    assert files_in(app.config["UPLOAD_DIR"]) == []
    assert footprint(db) == (0, 0)
    bad = page_upload(client, case.id, "a.pdf", (SAMPLES / "sample.pdf").read_bytes(), "forged")
    assert bad.status_code == 400 and footprint(db) == (0, 0)


def test_a_refused_type_comes_back_to_the_case_page_with_the_reason_in_chinese(make, app, client, db):
    county = make.user("county")
    case = make.case(by=county, materials=False)
    login(client, county.username)
    response = page_upload(client, case.id, "申报书.pdf", EXECUTABLES["mz"], csrf_token(client, "/inbox"))
    assert response.status_code == 302
    with client.session_transaction() as session:
        flashes = session["_flashes"]
    assert flashes[0][0] == "error" and "可执行程序" in flashes[0][1]
    assert files_in(app.config["UPLOAD_DIR"]) == [] and footprint(db) == (0, 0)


@pytest.mark.parametrize("size", [21 * MB, 20 * MB + 512 * 1024])
def test_a_body_over_20_mb_is_refused_by_its_length_before_anything_is_stored(make, app, client, db, monkeypatch,
                                                                              size):
    county = make.user("county")
    case = make.case(by=county, materials=False)
    login(client, county.username)
    token = csrf_token(client, "/inbox")

    def never(**_kwargs):
        raise AssertionError("the service must not be reached")

    monkeypatch.setattr("webapp.files.views.store_upload", never)
    monkeypatch.setattr("webapp.api.files.store_upload", never)
    content = b"%PDF-1.4\n" + b"0" * (size - 9)
    # Encoded here, in memory: the test client would spool a large body to a temporary file it never closes.
    boundary, body = encode_multipart({"csrf_token": token, "file": FileStorage(io.BytesIO(content), "big.pdf")})
    multipart = f"multipart/form-data; boundary={boundary}"
    response = client.post(f"/cases/{case.id}/attachments", data=body, content_type=multipart)
    assert response.status_code == 413
    if size < 21 * MB:
        # Under the application-wide cap, so the view's own length check refused it (its message, not Werkzeug's).
        assert "文件超过 20 MB" in response.get_data(as_text=True)
    api = client.post(f"/api/v1/cases/{case.id}/attachments", headers=api_headers(client, county.username),
                      data=body, content_type=multipart)
    assert api.status_code == 413 and api.json["error"] == "too_large"
    if size < 21 * MB:
        assert api.json["message"]["zh"] == "文件超过 20 MB，不能上传。"
    assert files_in(app.config["UPLOAD_DIR"]) == []
    assert footprint(db) == (0, 0)


def test_a_county_cannot_download_another_countys_attachment_by_page_or_api(make, app, client, db):
    owner = make.user("county", county="盂县")
    case = make.case(by=owner, materials=False)
    login(client, owner.username)
    page_upload(client, case.id, "盂县.pdf", (SAMPLES / "sample.pdf").read_bytes(), csrf_token(client, "/inbox"))
    with transaction(db) as s:
        row = s.exec(select(Attachment)).one()

    stranger, client = make.user("county", county="平定县"), app.test_client()
    login(client, stranger.username)
    hidden = client.get(f"/attachments/{row.id}", buffered=True)
    missing = client.get(f"/attachments/{row.id + 1}", buffered=True)
    assert hidden.status_code == missing.status_code == 404
    # The pages differ only by their own address (the language switch returns to it) and the CSRF token's second.
    assert without_csrf_token(hidden.get_data(as_text=True)).replace(f"/attachments/{row.id}", "URL") == \
        without_csrf_token(missing.get_data(as_text=True)).replace(f"/attachments/{row.id + 1}", "URL")
    assert "附件不存在" in hidden.get_data(as_text=True) and b"%PDF" not in hidden.get_data()
    headers = api_headers(client, stranger.username)
    hidden = client.get(f"/api/v1/attachments/{row.id}", headers=headers, buffered=True)
    missing = client.get(f"/api/v1/attachments/{row.id + 1}", headers=headers)
    assert hidden.status_code == missing.status_code == 404 and hidden.json == missing.json
    listing = client.get(f"/api/v1/cases/{case.id}/attachments", headers=headers)
    no_case = client.get("/api/v1/cases/999999/attachments", headers=headers)
    assert listing.status_code == no_case.status_code == 404 and listing.json == no_case.json
    upload = client.post(f"/api/v1/cases/{case.id}/attachments", headers=headers,
                         data={"file": (io.BytesIO((SAMPLES / "sample.pdf").read_bytes()), "x.pdf")})
    assert upload.status_code == 404 and footprint(db) == (1, 1)


def test_a_member_unit_not_invited_gets_404(make, app, client, db, now):
    county = make.user("county")
    case = make.case(by=county, materials=False)
    login(client, county.username)
    page_upload(client, case.id, "a.pdf", (SAMPLES / "sample.pdf").read_bytes(), csrf_token(client, "/inbox"))
    with transaction(db) as s:
        row = s.exec(select(Attachment)).one()
    invited, outsider = make.user("member", unit="市科技局"), make.user("member", unit="市发改委")
    with transaction(db) as s:
        s.add(CaseParty(case_id=case.id, unit_id=invited.unit_id, purpose="consultation", created_at=now))

    client = app.test_client()
    login(client, outsider.username)
    assert client.get(f"/attachments/{row.id}", buffered=True).status_code == 404
    assert client.get(f"/api/v1/attachments/{row.id}", headers=api_headers(client, outsider.username)).status_code \
        == 404
    client = app.test_client()
    login(client, invited.username)
    assert client.get(f"/attachments/{row.id}", buffered=True).data == (SAMPLES / "sample.pdf").read_bytes()


# --- the API -------------------------------------------------------------------------------------------------


def test_api_upload_list_and_download(make, app, client, db):
    county = make.user("county")
    case = make.case(by=county, materials=False)
    headers = api_headers(client, county.username)
    content = (SAMPLES / "sample.xlsx").read_bytes()
    created = client.post(f"/api/v1/cases/{case.id}/attachments", headers=headers,
                          data={"file": (io.BytesIO(content), "产值统计.xlsx")}, content_type="multipart/form-data")
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.json
    assert body["filename"] == "产值统计.xlsx" and body["size"] == len(content) and body["case_id"] == case.id
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["download_url"] == f"/api/v1/attachments/{body['id']}"

    listed = client.get(f"/api/v1/cases/{case.id}/attachments", headers=headers)
    assert listed.status_code == 200 and [a["id"] for a in listed.json["items"]] == [body["id"]]
    download = client.get(body["download_url"], headers=headers, buffered=True)
    assert download.status_code == 200 and download.data == content
    assert content_disposition_ok(download, "产值统计.xlsx")
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_api_refusals_say_why(make, app, client, db):
    county = make.user("county")
    case = make.case(by=county, materials=False)
    headers = api_headers(client, county.username)
    missing = client.post(f"/api/v1/cases/{case.id}/attachments", headers=headers, data={},
                          content_type="multipart/form-data")
    assert missing.status_code == 422 and missing.json["details"][0]["field"] == "file"
    exe = client.post(f"/api/v1/cases/{case.id}/attachments", headers=headers,
                      data={"file": (io.BytesIO(EXECUTABLES["elf"]), "scan.pdf")}, content_type="multipart/form-data")
    assert exe.status_code == 422 and exe.json["error"] == "invalid_file"
    assert "可执行程序" in exe.json["message"]["zh"]
    leader = api_headers(client, make.user("leader").username)
    forbidden = client.post(f"/api/v1/cases/{case.id}/attachments", headers=leader,
                            data={"file": (io.BytesIO((SAMPLES / "sample.pdf").read_bytes()), "a.pdf")})
    assert forbidden.status_code == 403
    assert files_in(app.config["UPLOAD_DIR"]) == [] and footprint(db) == (0, 0)


def test_the_openapi_document_describes_the_multipart_upload(client):
    document = client.get("/api/v1/openapi.json").json
    upload = document["paths"]["/api/v1/cases/{case_id}/attachments"]["post"]
    schema = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert schema["properties"]["file"] == {**schema["properties"]["file"], "type": "string", "format": "binary"}
    assert "413" in upload["responses"] and "201" in upload["responses"]
    assert "get" in document["paths"]["/api/v1/cases/{case_id}/attachments"]
    assert "get" in document["paths"]["/api/v1/attachments/{attachment_id}"]
