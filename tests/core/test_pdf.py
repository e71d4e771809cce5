"""The PDF of every issued notice: made by LibreOffice after the notice is issued, offered beside the .docx, and
never a failure where LibreOffice is missing."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import col, select

from conftest import login
from workflow.core import pdf
from workflow.core.actors import Actor
from workflow.core.attachments import DOCX, store_bytes, stored_path, upload_root
from workflow.core.db import transaction
from workflow.core.models import Attachment, AuditEvent, Incident
from workflow.core.settings import settings
from workflow.towns.documents import designation_notice

NOTE = "PDF 版本暂不可用：服务器未安装 LibreOffice"


def notice_docx(town: str, county: str = "盂县", number: str = "阳专镇〔2027〕2号") -> bytes:
    return designation_notice(number=number, town=town, county=county, industry="耐火材料（制造业）",
                              designated=date(2027, 3, 1), review=date(2030, 3, 1))


def issue(db, case, *, kind: str = "designation_notice", content: bytes, filename: str, now) -> Attachment:
    """Keep `content` on the case and its town as an issued document of `kind`, as issuing a notice does."""
    with transaction(db) as s:
        return store_bytes(session=s, actor=Actor.system(), data=content, filename=filename, content_type=DOCX,
                           kind=kind, now=now, case_id=case.id, town_id=case.town_id)


def pdf_text(content: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True,
                          timeout=60).stdout.decode("utf-8")


def pdf_pages(content: bytes) -> int:
    info = subprocess.run(["pdfinfo", "-"], input=content, capture_output=True, check=True, timeout=60).stdout
    return int(re.search(rb"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))


def copies(db) -> list[Attachment]:
    with transaction(db) as s:
        return list(s.exec(select(Attachment).where(col(Attachment.derived_from_id).is_not(None))
                           .order_by(col(Attachment.id))))


def fake_pdf(docx: bytes) -> bytes:
    """A stand-in for LibreOffice where the test is about what is stored and shown, not the conversion."""
    return b"%PDF-1.4\n% made from " + str(len(docx)).encode() + b" bytes\n%%EOF\n"


@pytest.fixture
def no_libreoffice(monkeypatch):
    monkeypatch.setattr(settings, "soffice", "/nonexistent/soffice")
    monkeypatch.setattr(pdf, "_told_missing", False)


@pytest.fixture
def designated(make, now):
    """Two towns of 盂县, each with its designation case, and a county user of 盂县."""
    county = make.user("county", county="盂县")
    cases = [make.case("designation", state="publicity", town=make.town(name, county="盂县"), by=county)
             for name in ("梁家寨乡", "西烟镇")]
    return county, cases


# --- conversion ----------------------------------------------------------------------------------------------


def test_a_notice_becomes_a_pdf_that_reads_as_the_notice_even_two_at_once():
    """Two conversions at the same moment (two schedulers, or the job and `zyz documents pdf`) both succeed:
    each runs LibreOffice with its own profile."""
    assert pdf.available()
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(pdf.convert, [notice_docx("梁家寨乡"), notice_docx("娘子关镇", county="平定县")])
    for content, title in ((first, "关于认定盂县梁家寨乡为市级专业镇的通知"),
                           (second, "关于认定平定县娘子关镇为市级专业镇的通知")):
        assert content.startswith(b"%PDF-")
        assert pdf_pages(content) >= 1
        text = re.sub(r"\s+", "", pdf_text(content))
        assert title in text and "阳专镇〔2027〕2号" in text and "耐火材料（制造业）" in text
        assert text.index(title) < text.index("特此通知。") < text.rindex("2027年3月1日")  # the whole notice, in order


def test_a_conversion_that_fails_or_hangs_says_so_clearly(monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "soffice", "/bin/false")
    with pytest.raises(pdf.PdfError) as failed:
        pdf.convert(notice_docx("西烟镇"))
    assert failed.value.zh.startswith("LibreOffice 未能生成 PDF（退出码 1）")
    assert failed.value.en.startswith("LibreOffice made no PDF (exit status 1)")

    hangs = tmp_path / "soffice"
    hangs.write_text("#!/bin/sh\nsleep 30\n")
    hangs.chmod(0o755)
    monkeypatch.setattr(settings, "soffice", str(hangs))
    started = time.monotonic()
    with pytest.raises(pdf.PdfError) as late:
        pdf.convert(notice_docx("西烟镇"), timeout=0.5)
    assert time.monotonic() - started < 10  # stopped at its timeout, not left running to the end
    assert (late.value.zh, late.value.en) == ("LibreOffice 转换 PDF 超时（0.5 秒）。",
                                              "LibreOffice did not finish the PDF within 0.5 s.")

    monkeypatch.setattr(settings, "soffice", "/nonexistent/soffice")
    with pytest.raises(pdf.PdfError) as missing:
        pdf.convert(notice_docx("西烟镇"))
    assert (missing.value.code, missing.value.zh) == ("pdf_unavailable", NOTE)


def test_a_libreoffice_that_crashes_is_run_once_more_and_a_second_crash_is_reported(monkeypatch, tmp_path):
    """LibreOffice now and then aborts while it makes a new profile: one crash costs one more run, not the PDF."""
    runs = tmp_path / "runs"
    once = tmp_path / "soffice-once"
    once.write_text(f'#!/bin/sh\necho run >> {runs}\n'
                    f'if [ ! -e {tmp_path}/crashed ]; then touch {tmp_path}/crashed; kill -ABRT $$; fi\n'
                    f'exec /usr/bin/soffice "$@"\n')
    once.chmod(0o755)
    monkeypatch.setattr(settings, "soffice", str(once))
    made = pdf.convert(notice_docx("西烟镇"))
    assert made.startswith(b"%PDF-") and "西烟镇" in re.sub(r"\s+", "", pdf_text(made))
    assert runs.read_text().count("run") == 2

    runs.unlink()
    always = tmp_path / "soffice-always"
    # as soffice does: the script reports soffice.bin's end by a signal as 128 + the signal (SIGABRT: 134)
    always.write_text(f"#!/bin/sh\necho run >> {runs}\necho 'soffice.bin: aborted'\nsh -c 'kill -ABRT $$'\nexit $?\n")
    always.chmod(0o755)
    monkeypatch.setattr(settings, "soffice", str(always))
    with pytest.raises(pdf.PdfError) as failed:
        pdf.convert(notice_docx("西烟镇"))
    assert runs.read_text().count("run") == 2  # once more, not on and on
    assert failed.value.en.startswith("LibreOffice made no PDF (exit status 134): soffice.bin: aborted")


def test_the_program_is_the_setting_else_soffice_or_libreoffice_on_the_path(monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "soffice", "")
    assert pdf.program() == "/usr/bin/soffice"
    (tmp_path / "libreoffice").write_text("#!/bin/sh\n")
    (tmp_path / "libreoffice").chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert pdf.program() == str(tmp_path / "libreoffice")
    monkeypatch.setattr(settings, "soffice", "/usr/bin/soffice")
    assert pdf.program() == "/usr/bin/soffice" and pdf.available()
    monkeypatch.setattr(settings, "soffice", "/nonexistent/soffice")
    assert pdf.program() is None and not pdf.available()


# --- the scheduler's job -------------------------------------------------------------------------------------


def run_scheduler_once(db, job, at):
    """The real scheduler with the PDF job, started and stopped after the job's first run (which is at once)."""
    from workflow.core.scheduler import build_scheduler

    scheduler = build_scheduler(db, clock=lambda: at, background=True, sweep_seconds=3600,
                                extra_jobs=(("notice-pdf", job, {"trigger": "interval", "seconds": 3600,
                                                                 "next_run_time": datetime.now(UTC)}),))
    scheduler.start()
    try:  # the first run submitted, the next an hour away; shutting down waits for the run to end
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (
                scheduler.get_job("notice-pdf").next_run_time < datetime.now(UTC) + timedelta(minutes=30)):
            time.sleep(0.02)
    finally:
        scheduler.shutdown(wait=True)


def test_the_scheduler_makes_one_pdf_per_issued_notice_and_never_a_second(db, make, now, designated):
    _, (first, second) = designated
    notice = issue(db, first, content=notice_docx("梁家寨乡"), filename="认定通知-阳专镇〔2027〕2号.docx", now=now)
    criticism = issue(db, second, kind="criticism_notice", content=notice_docx("西烟镇", number="阳专镇通〔2027〕1号"),
                      filename="阳专镇通〔2027〕1号.docx", now=now)
    issue(db, second, kind="criticism_draft", content=notice_docx("西烟镇", number="（待编号）"),
          filename="通报批评（草稿）.docx", now=now)
    issue(db, first, kind="evidence", content=notice_docx("梁家寨乡", number="附件"), filename="材料.docx", now=now)
    later = now + timedelta(minutes=1)

    run_scheduler_once(db, pdf.job(db, lambda: later), later)

    made = copies(db)
    assert [(c.derived_from_id, c.kind, c.filename, c.content_type, c.case_id, c.town_id, c.uploaded_at,
             c.uploaded_by_id) for c in made] == [
        (notice.id, "designation_notice_pdf", "认定通知-阳专镇〔2027〕2号.pdf", "application/pdf", first.id,
         first.town_id, later, None),
        (criticism.id, "criticism_notice_pdf", "阳专镇通〔2027〕1号.pdf", "application/pdf", second.id,
         second.town_id, later, None)]
    for copy, town in zip(made, ("梁家寨乡", "西烟镇"), strict=True):
        content = stored_path(upload_root(), copy.sha256).read_bytes()
        assert content.startswith(b"%PDF-") and len(content) == copy.size
        assert town in re.sub(r"\s+", "", pdf_text(content))
    with transaction(db) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.kind == "attachment_added",
                                                 AuditEvent.occurred_at == later).order_by(col(AuditEvent.seq))).all()
        assert [(e.case_id, json.loads(e.data)["derived_from_id"], json.loads(e.data)["kind"]) for e in events] == [
            (first.id, notice.id, "designation_notice_pdf"), (second.id, criticism.id, "criticism_notice_pdf")]
        assert s.exec(select(Incident)).all() == []

    again = pdf.make_pending(db, clock=lambda: later)
    assert (again.made, again.failed, again.is_unavailable) == (0, [], False)
    assert len(copies(db)) == 2


def test_a_notice_converted_twice_at_once_is_stored_once(db, make, now, designated):
    """Two passes that both found the notice without a PDF: the one that stores second sees the first's PDF."""
    _, (case, _) = designated
    notice = issue(db, case, content=notice_docx("梁家寨乡"), filename="认定通知.docx", now=now)

    def slow_converter(docx: bytes) -> bytes:
        assert pdf.make_pending(db, clock=lambda: now, converter=fake_pdf).made == 1  # the other pass, meanwhile
        return fake_pdf(docx)

    assert pdf.make_pending(db, clock=lambda: now, converter=slow_converter).made == 0
    assert [c.derived_from_id for c in copies(db)] == [notice.id]


def test_a_notice_that_fails_does_not_hold_up_the_others_and_the_job_reports_it(db, make, now, designated):
    _, (first, second) = designated
    broken = issue(db, first, content=notice_docx("梁家寨乡"), filename="甲.docx", now=now)
    fine = issue(db, second, content=notice_docx("西烟镇"), filename="乙.docx", now=now)
    broken_sha = broken.sha256

    def converter(docx: bytes) -> bytes:
        if stored_path(upload_root(), broken_sha).read_bytes() == docx:
            raise pdf.PdfError("LibreOffice 未能生成 PDF（退出码 1）", "LibreOffice made no PDF (exit status 1)")
        return fake_pdf(docx)

    result = pdf.make_pending(db, clock=lambda: now, converter=converter)
    assert (result.made, result.failed) == (1, [(broken.id, "LibreOffice made no PDF (exit status 1)")])
    assert [c.derived_from_id for c in copies(db)] == [fine.id]

    # The scheduler's job raises, so that its guard tries again and, after the last try, opens an incident.
    with pytest.raises(pdf.PdfError) as failed:
        pdf.job(db, lambda: now, converter=converter)()
    assert failed.value.zh == f"1 份公文未能生成 PDF（附件 {broken.id}：LibreOffice made no PDF (exit status 1)）。"


# --- without LibreOffice -------------------------------------------------------------------------------------


def test_without_libreoffice_the_job_does_nothing_says_so_once_and_never_fails(db, make, now, designated,
                                                                                no_libreoffice, caplog):
    _, (case, _) = designated
    issue(db, case, content=notice_docx("梁家寨乡"), filename="认定通知.docx", now=now)
    caplog.set_level(logging.INFO, logger="workflow.core.pdf")

    run_scheduler_once(db, pdf.job(db, lambda: now), now)
    second = pdf.job(db, lambda: now)()

    assert second.is_unavailable and second.made == 0
    assert copies(db) == []
    assert [r.getMessage() for r in caplog.records if r.name == "workflow.core.pdf"] == [
        "LibreOffice not found (ZYZ_SOFFICE, soffice, libreoffice): notices get no PDF copy"]
    with transaction(db) as s:
        assert s.exec(select(Incident)).all() == []


def test_the_pages_show_the_docx_alone_with_a_note_when_libreoffice_is_missing(make, now, designated, database_url,
                                                                               tmp_path, db, no_libreoffice):
    from webapp import create_app

    county, (case, _) = designated
    app = create_app({"DATABASE_URL": database_url, "ZYZ_ENV": "test", "TESTING": True,
                      "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
                      "UPLOAD_DIR": str(tmp_path / "files"), "SOFFICE": "/nonexistent/soffice"})
    try:
        notice = issue(db, case, content=notice_docx("梁家寨乡"), filename="认定通知-阳专镇〔2027〕2号.docx", now=now)
        client = app.test_client()
        login(client, county.username)
        for url in (f"/cases/{case.id}", f"/towns/{case.town_id}"):
            page = client.get(url).get_data(as_text=True)
            assert re.search(rf'href="/attachments/{notice.id}"[^>]*>认定通知-阳专镇〔2027〕2号\.docx</a>\s*'
                             rf'<span class="muted pdf-note">{NOTE}</span>', page), url
    finally:
        app.extensions["zyz"]["engine"].dispose()


# --- the pages and the command -------------------------------------------------------------------------------


def test_the_pages_offer_the_pdf_beside_its_notice(app, make, now, designated, db):
    county, (case, _) = designated
    notice = issue(db, case, content=notice_docx("梁家寨乡"), filename="认定通知-阳专镇〔2027〕2号.docx", now=now)
    other = issue(db, case, kind="evidence", content=notice_docx("梁家寨乡", number="附件"), filename="材料.docx",
                  now=now)
    client = app.test_client()
    login(client, county.username)
    waiting = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "PDF 版本正在生成（约一分钟内）" in waiting and NOTE not in waiting

    assert pdf.make_pending(app.extensions["zyz"]["sessions"], clock=lambda: now, converter=fake_pdf).made == 1
    [copy] = copies(db)
    for url in (f"/cases/{case.id}", f"/towns/{case.town_id}"):
        page = client.get(url).get_data(as_text=True)
        assert re.search(rf'认定通知-阳专镇〔2027〕2号\.docx</a> · <a href="/attachments/{copy.id}" download '
                         rf'title="认定通知-阳专镇〔2027〕2号\.pdf">PDF</a>', page), url
        assert page.count(f'/attachments/{copy.id}"') == 1  # beside its notice, not on a line of its own
        assert re.search(r'材料\.docx</a>\s*(</td>|·)', page), url  # other files get no PDF and no note
        assert "PDF 版本正在生成" not in page and NOTE not in page

    response = client.get(f"/attachments/{copy.id}", buffered=True)
    assert (response.status_code, response.mimetype) == (200, "application/pdf")
    assert response.data == fake_pdf(stored_path(upload_root(), notice.sha256).read_bytes())
    stranger = make.user("county", county="矿区")
    other_client = app.test_client()
    login(other_client, stranger.username)
    assert other_client.get(f"/attachments/{copy.id}").status_code == 404

    from conftest import api_headers

    listed = client.get(f"/api/v1/cases/{case.id}/attachments", headers=api_headers(client, county.username)).json
    assert [(i["id"], i["derived_from_id"]) for i in listed["items"]] == [(notice.id, None), (other.id, None),
                                                                          (copy.id, notice.id)]


def test_the_command_makes_the_missing_pdfs_once_and_notes_a_missing_libreoffice(run_zyz, db, make, now, designated):
    _, (case, _) = designated
    files = upload_root()  # the command's application keeps its files where this test's notice is
    with_files = {"ZYZ_UPLOAD_DIR": str(files)}
    notice = issue(db, case, content=notice_docx("梁家寨乡"), filename="认定通知.docx", now=now)

    missing = run_zyz("documents", "pdf", env={**with_files, "ZYZ_SOFFICE": "/nonexistent/soffice"})
    assert (missing.exit_code, missing.output) == (0, f"{NOTE} / No PDF version yet: LibreOffice is not installed "
                                                      "on the server\n")
    assert copies(db) == []

    made = run_zyz("documents", "pdf", env=with_files)
    assert (made.exit_code, made.output) == (0, "1 PDF made, 0 failed\n")
    [copy] = copies(db)
    assert copy.derived_from_id == notice.id
    assert stored_path(files, copy.sha256).read_bytes().startswith(b"%PDF-")
    again = run_zyz("documents", "pdf", env=with_files)
    assert (again.exit_code, again.output) == (0, "0 PDF made, 0 failed\n")


def test_the_scheduler_process_runs_the_pdf_job_every_minute_by_default(app):
    from webapp.cli import scheduled_jobs

    jobs = {job_id: trigger for job_id, _, trigger in scheduled_jobs(app)}
    assert jobs["notice-pdf"]["trigger"] == "interval" and jobs["notice-pdf"]["seconds"] == 60
