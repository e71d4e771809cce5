"""PDF copies of issued notices, made by LibreOffice (headless) after the notice's transaction has committed.

Recipients print and file PDFs. A conversion takes a second or more, so issuing a notice stores the .docx
alone and stays fast; a scheduler job (every ZYZ_PDF_SECONDS, and `zyz documents pdf`) then finds the notices
without a PDF, converts each outside any transaction, and stores the PDF in a transaction of its own as an
attachment of the same case and town whose `derived_from_id` names the .docx. Without LibreOffice nothing
fails: the job does nothing (and says so once in the log), and the pages offer the .docx with a note.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess  # nosec B404 - LibreOffice runs without a shell, on a file name we chose
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import aliased, sessionmaker
from sqlmodel import Session, col, exists, select

from workflow.core.actors import Actor
from workflow.core.attachments import store_bytes, stored_path, upload_root
from workflow.core.db import transaction
from workflow.core.errors import WorkflowError
from workflow.core.models import Attachment
from workflow.core.settings import settings

log = logging.getLogger(__name__)

# The kinds of attachment that are issued notices and get a PDF; the PDF's kind is the notice's with PDF_SUFFIX.
PDF_KINDS: tuple[str, ...] = ("designation_notice", "criticism_notice", "rectification_notice", "praise_notice",
                              "publicity_announcement")
PDF_SUFFIX = "_pdf"
PDF_TYPE = "application/pdf"
TIMEOUT = 120  # seconds for one conversion: a first start of LibreOffice on a busy machine takes a few
BATCH = 20  # notices converted by one run of the scheduler's job; the next run goes on

UNAVAILABLE = ("PDF 版本暂不可用：服务器未安装 LibreOffice",
               "No PDF version yet: LibreOffice is not installed on the server")


class PdfError(WorkflowError):
    """A conversion that failed: LibreOffice's exit, its timeout, or no PDF out."""

    status = 500
    code = "pdf_failed"


def program() -> str | None:
    """LibreOffice's program (the `soffice` setting, else soffice or libreoffice on PATH), or None."""
    names = [settings.soffice] if settings.soffice else ["soffice", "libreoffice"]
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def available() -> bool:
    """Whether LibreOffice is there to make PDFs."""
    return program() is not None


def convert(docx: bytes, *, timeout: float = TIMEOUT) -> bytes:
    """The PDF of a .docx, by LibreOffice in a private folder with a private profile (conversions running at the
    same time do not share LibreOffice's user profile, which it locks). A LibreOffice that crashes (ended by a
    signal: now and then it aborts while making a new profile) is run once more, in a fresh folder."""
    binary = program()
    if binary is None:
        raise PdfError(UNAVAILABLE[0], UNAVAILABLE[1], code="pdf_unavailable")
    status, said, made = _run(binary, docx, timeout)
    if _crashed(status):
        log.warning("LibreOffice crashed (exit status %s), converting once more: %s", status, said)
        status, said, made = _run(binary, docx, timeout)
    if made is None:
        raise PdfError(f"LibreOffice 未能生成 PDF（退出码 {status}）：{said}",
                       f"LibreOffice made no PDF (exit status {status}): {said}")
    if not made.startswith(b"%PDF-"):
        raise PdfError("LibreOffice 生成的文件不是 PDF。", "What LibreOffice made is not a PDF.")
    return made


def _crashed(status: int) -> bool:
    """An exit by a signal: negative from Python, 128 + the signal from a shell wrapper (soffice is a script)."""
    return status < 0 or status > 128


def _run(binary: str, docx: bytes, timeout: float) -> tuple[int, str, bytes | None]:
    """One run of LibreOffice: its exit status, the end of what it said, and the PDF when it made one."""
    with tempfile.TemporaryDirectory(prefix="zyz-pdf-") as work:
        folder = Path(work)
        source = folder / "notice.docx"
        source.write_bytes(docx)
        command = [binary, f"-env:UserInstallation={(folder / 'profile').as_uri()}", "--headless", "--norestore",
                   "--nologo", "--nolockcheck", "--convert-to", "pdf", "--outdir", str(folder / "out"), str(source)]
        # Its own session, so that a timeout ends soffice.bin too, not only the script that started it.
        process = subprocess.Popen(  # noqa: S603  # nosec B603 - a fixed list: the configured program, our own paths
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "HOME": work}, cwd=work,
            start_new_session=True)
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise PdfError(f"LibreOffice 转换 PDF 超时（{timeout:g} 秒）。",
                           f"LibreOffice did not finish the PDF within {timeout:g} s.") from None
        result = folder / "out" / "notice.pdf"
        said = output.decode("utf-8", "replace").strip()[-300:]
        made = result.read_bytes() if process.returncode == 0 and result.is_file() else None
        return process.returncode, said, made


@dataclass
class PdfRun:
    """What one pass made: PDFs stored, notices that failed (id, error), and whether LibreOffice was missing."""

    made: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)
    is_unavailable: bool = False


_told_missing = False


def make_pending(sessions: sessionmaker[Session], *, clock: Callable[[], datetime], limit: int | None = BATCH,
                 converter: Callable[[bytes], bytes] = convert) -> PdfRun:
    """Make the PDF of every issued notice that has none (at most `limit`): one transaction per PDF."""
    global _told_missing
    run = PdfRun()
    if not available():
        if not _told_missing:
            log.warning("LibreOffice not found (ZYZ_SOFFICE, soffice, libreoffice): notices get no PDF copy")
            _told_missing = True
        run.is_unavailable = True
        return run
    _told_missing = False
    with transaction(sessions) as session:
        pending = pending_notices(session, limit=limit)
    for source_id, sha256 in pending:
        try:
            pdf = converter(stored_path(upload_root(), sha256).read_bytes())
            with transaction(sessions) as session:
                run.made += _store(session, source_id, pdf, now=clock())
        except Exception as exc:  # one notice's failure must not keep the others from their PDF
            log.exception("PDF of attachment %s failed", source_id)
            run.failed.append((source_id, exc.en if isinstance(exc, WorkflowError) else f"{type(exc).__name__}: {exc}"))
    return run


def job(sessions: sessionmaker[Session], clock: Callable[[], datetime], *,
        converter: Callable[[bytes], bytes] = convert) -> Callable[[], PdfRun]:
    """The scheduler's job: a pass that raises when a notice failed, so that the guard retries and reports it."""

    def run() -> PdfRun:
        result = make_pending(sessions, clock=clock, converter=converter)
        if result.made:
            log.info("PDF copies: %d made", result.made)
        if result.failed:
            first = result.failed[0]
            raise PdfError(f"{len(result.failed)} 份公文未能生成 PDF（附件 {first[0]}：{first[1]}）。",
                           f"{len(result.failed)} notices got no PDF (attachment {first[0]}: {first[1]}).")
        return result

    return run


def pending_notices(session: Session, *, limit: int | None = BATCH) -> list[tuple[int, str]]:
    """(id, sha256) of the issued notices without a PDF, oldest first."""
    copy = aliased(Attachment)
    query = (select(Attachment.id, Attachment.sha256)
             .where(col(Attachment.kind).in_(PDF_KINDS),
                    ~exists().where(col(copy.derived_from_id) == col(Attachment.id)))
             .order_by(col(Attachment.id)).limit(limit))
    return [(int(i), s) for i, s in session.exec(query).all() if i is not None]


def _store(session: Session, source_id: int, pdf: bytes, *, now: datetime) -> int:
    # The source row is locked (PostgreSQL; SQLite's BEGIN IMMEDIATE holds the whole database), so that two
    # schedulers that both converted the notice store one PDF.
    source = session.exec(select(Attachment).where(Attachment.id == source_id).with_for_update()).one()
    if session.exec(select(Attachment.id).where(Attachment.derived_from_id == source_id)).first() is not None:
        return 0
    stem = source.filename[:-5] if source.filename.lower().endswith(".docx") else source.filename
    store_bytes(session=session, actor=Actor.system(), data=pdf, filename=f"{stem}.pdf", content_type=PDF_TYPE,
                kind=f"{source.kind}{PDF_SUFFIX}", now=now, case_id=source.case_id, town_id=source.town_id,
                derived_from_id=source.id)
    return 1


@dataclass(frozen=True)
class PdfCopy:
    """The PDF of a listed notice: its attachment, or why there is none yet ("pending", "unavailable")."""

    row: Attachment | None
    status: str


def with_pdfs(session: Session, rows: Iterable[Attachment]) -> tuple[list[Attachment], dict[int, PdfCopy]]:
    """A list of attachments without the PDFs made from those listed, and each notice's PDF or its status."""
    rows = list(rows)
    ids = {r.id for r in rows}
    notices = [r for r in rows if r.kind in PDF_KINDS]
    copies: dict[int, Attachment] = {}
    if notices:
        found = session.exec(select(Attachment).where(col(Attachment.derived_from_id).in_([r.id for r in notices]))
                             .order_by(col(Attachment.id))).all()
        for copy in found:
            copies.setdefault(copy.derived_from_id, copy)  # type: ignore[arg-type]  # the query found it by this id
    missing = "pending" if available() else "unavailable"
    pdfs = {r.id: PdfCopy(copies[r.id], "ready") if r.id in copies else PdfCopy(None, missing)
            for r in notices if r.id is not None}
    return [r for r in rows if r.derived_from_id not in ids], pdfs
