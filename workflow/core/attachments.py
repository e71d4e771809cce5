"""Attachments: uploads checked by content, stored once by sha256 outside the web root, seen by who sees the case.

A file's type is read from its bytes (a small table of signatures, plus a look inside ZIP containers); the
name's extension must be one we accept and must agree with what the bytes are. Files live at
`<upload_dir>/<sha[:2]>/<sha>`, so identical content is stored once and no name from outside reaches a path.

A file is durable before the row that names it is: written to a temporary name, fsynced, renamed into place and its
directory fsynced, all inside the caller's transaction and before its commit. Content already stored is not written
again, but its mtime is refreshed first, which keeps it from the sweep of unreferenced files (workflow.core.filesweep)
until the row that will name it is committed.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from sqlmodel import Session, select

from workflow.core import audit
from workflow.core.access import case_read, get_case, get_town
from workflow.core.actors import Actor
from workflow.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from workflow.core.models import Attachment, Case, Role, Town, User
from workflow.core.settings import settings
from workflow.core.yamlcheck import Label

MAX_SIZE = 20 * 1024 * 1024
CHUNK = 64 * 1024
MAX_FILENAME = 255
UPLOAD_ROLES = {Role.county, Role.office, Role.member}

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True)
class Accepted:
    kind: str  # what the content must be
    content_type: str


# Extension → the content it must have and the type it is served with.
ACCEPTED: dict[str, Accepted] = {
    "pdf": Accepted("pdf", "application/pdf"),
    "ofd": Accepted("ofd", "application/ofd"),
    "png": Accepted("png", "image/png"),
    "jpg": Accepted("jpeg", "image/jpeg"),
    "jpeg": Accepted("jpeg", "image/jpeg"),
    "gif": Accepted("gif", "image/gif"),
    "bmp": Accepted("bmp", "image/bmp"),
    "tif": Accepted("tiff", "image/tiff"),
    "tiff": Accepted("tiff", "image/tiff"),
    "docx": Accepted("docx", DOCX),
    "xlsx": Accepted("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "pptx": Accepted("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    # Legacy Office and WPS share the OLE2 compound-file container.
    "doc": Accepted("ole2", "application/msword"),
    "xls": Accepted("ole2", "application/vnd.ms-excel"),
    "ppt": Accepted("ole2", "application/vnd.ms-powerpoint"),
    "wps": Accepted("ole2", "application/wps-office.wps"),
    "et": Accepted("ole2", "application/wps-office.et"),
    "dps": Accepted("ole2", "application/wps-office.dps"),
}
KIND_NAMES = {"pdf": "PDF", "ofd": "OFD", "png": "PNG", "jpeg": "JPEG", "gif": "GIF", "bmp": "BMP", "tiff": "TIFF",
              "docx": "Word (.docx)", "xlsx": "Excel (.xlsx)", "pptx": "PowerPoint (.pptx)",
              "ole2": "Office/WPS (.doc .xls .ppt .wps .et .dps)"}

SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole2"),
    (b"PK\x03\x04", "zip"),
)
# Content named only to say why it is refused; anything not in SIGNATURES is refused anyway.
EXECUTABLE_SIGNATURES = (b"MZ", b"\x7fELF", b"#!", b"\xca\xfe\xba\xbe", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf",
                         b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe", b"\x00asm")
MARKUP = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<(?:!doctype|html|head|body|script|svg|\?xml)", re.IGNORECASE)

ALLOWED_TEXT = ("只能上传 PDF、OFD、图片（PNG、JPEG、GIF、BMP、TIFF）、Word/Excel/PowerPoint 或 WPS 文档",
                "only PDF, OFD, images (PNG, JPEG, GIF, BMP, TIFF), Word/Excel/PowerPoint or WPS documents "
                "may be uploaded")


def _refuse(zh: str, en: str) -> Unprocessable:
    return Unprocessable(zh, en, code="invalid_file", details=[{"field": "file", "zh": zh, "en": en}])


def not_found_attachment() -> NotFound:
    return NotFound("附件不存在。", "No such attachment.", code="not_found")


def upload_root() -> Path:
    """Where files are kept: the configured upload directory, else <instance>/files."""
    return Path(settings.upload_dir or Path(settings.instance_path) / "files")


def stored_path(root: Path | str, sha256: str) -> Path:
    """The file of a sha256 under `root`."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError("not a sha256 hex digest")
    return Path(root) / sha256[:2] / sha256


def clean_filename(name: str | None) -> str:
    """A display name: no directories, no control or formatting characters, at most 255 characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    # Cf covers the bidi overrides that make "exe.pdf" look like "fdp.exe".
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))
    name = " ".join(name.split()).strip(" .")
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: MAX_FILENAME - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            name = name[:MAX_FILENAME]
    return name


def extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def detect(path: Path, head: bytes, size: int) -> str | None:
    """What the bytes are (a key of KIND_NAMES), or None when they are nothing we accept."""
    for signature, kind in SIGNATURES:
        if head.startswith(signature):
            return _zip_kind(path) if kind == "zip" else kind
    # "BM" alone is too weak a signature: the header must also state the file's real size.
    if head[:2] == b"BM" and len(head) >= 14 and int.from_bytes(head[2:6], "little") == size:
        return "bmp"
    return None


def _zip_kind(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    if "[Content_Types].xml" in names:
        if any(n.lower().endswith("vbaproject.bin") for n in names):
            return None  # macro-enabled documents are refused whatever they are called
        for prefix, kind in (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx")):
            if any(n.startswith(prefix) for n in names):
                return kind
        return None
    if "OFD.xml" in names:
        return "ofd"
    return None


# The kinds a person may give an upload, per process (beside "evidence", a plain supporting document): a process
# registers its own (the designation its 证明材料, definitions/materials.yaml). kind -> label.
UPLOAD_KINDS: dict[str, dict[str, Label]] = {}


def register_upload_kinds(definition_key: str, kinds: dict[str, Label]) -> None:
    UPLOAD_KINDS[definition_key] = dict(kinds)


def upload_kinds(definition_key: str) -> dict[str, Label]:
    """The kinds an upload to a case of `definition_key` may have, besides "evidence"."""
    return UPLOAD_KINDS.get(definition_key, {})


def may_upload(actor: Actor, case: Case) -> bool:
    """Whether `actor`, who sees `case`, may attach files to it now."""
    return actor.role in UPLOAD_ROLES and case.closed_at is None


def store_upload(*, session: Session, actor: Actor, case_id: int, filename: str | None, stream: IO[bytes],
                 now: datetime, upload_dir: Path | str, kind: str = "evidence") -> Attachment:
    """Check and store an uploaded file on a case; refuse (and keep nothing) what is too big or not allowed."""
    case = get_case(session, actor, case_id)
    if actor.role not in UPLOAD_ROLES:
        raise Forbidden("您的角色无权上传附件。", "Your role may not upload attachments.", code="role_not_allowed")
    if case.closed_at is not None:
        raise Conflict("案件已办结，不能再上传附件。", "The case is closed; no more attachments.", code="case_closed")
    if kind != "evidence" and kind not in upload_kinds(case.definition_key):
        raise Unprocessable("未知的材料类型。", f"Unknown kind of document: {kind!r}.", code="invalid_kind",
                            details=[{"field": "kind", "zh": "未知的材料类型", "en": "unknown kind of document"}])
    name = clean_filename(filename)
    ext = extension(name)
    if not name:
        raise _refuse("请选择要上传的文件。", "Choose a file to upload.")
    if ext not in ACCEPTED:
        if not ext:
            raise _refuse(f"文件名缺少扩展名：{ALLOWED_TEXT[0]}。",
                          f"The file name has no extension: {ALLOWED_TEXT[1]}.")
        raise _refuse(f"不允许的文件扩展名“.{ext}”：{ALLOWED_TEXT[0]}。",
                      f"Extension '.{ext}' is not allowed: {ALLOWED_TEXT[1]}.")
    root = Path(upload_dir)
    temp, sha256, size, head = _receive(stream, root)
    try:
        if size == 0:
            raise _refuse("文件为空。", "The file is empty.")
        found = detect(temp, head, size)
        if found is None:
            if head.startswith(EXECUTABLE_SIGNATURES):
                raise _refuse(f"文件内容是可执行程序或脚本，不能上传：{ALLOWED_TEXT[0]}。",
                              f"The file is an executable or a script: {ALLOWED_TEXT[1]}.")
            if MARKUP.match(head):
                raise _refuse(f"文件内容是网页或标记文本，不能上传：{ALLOWED_TEXT[0]}。",
                              f"The file is HTML or markup: {ALLOWED_TEXT[1]}.")
            raise _refuse(f"无法识别的文件内容：{ALLOWED_TEXT[0]}。",
                          f"The file's content is not of an accepted type: {ALLOWED_TEXT[1]}.")
        if found != ACCEPTED[ext].kind:
            raise _refuse(f"文件内容是 {KIND_NAMES[found]}，与扩展名“.{ext}”不符。",
                          f"The content is {KIND_NAMES[found]}, which does not match the extension '.{ext}'.")
        _place(temp, root, sha256, size)
    finally:
        temp.unlink(missing_ok=True)
    return _add(session, actor=actor, now=now, case=case, town_id=None, kind=kind, sha256=sha256, filename=name,
                content_type=ACCEPTED[ext].content_type, size=size)


def _receive(stream: IO[bytes], root: Path) -> tuple[Path, str, int, bytes]:
    """Copy the stream into a temporary file under `root` while hashing; stop as soon as it passes MAX_SIZE."""
    work = _work_dir(root)
    digest = hashlib.sha256()
    size, head = 0, b""
    fd, name = tempfile.mkstemp(dir=work, prefix="upload-")
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > MAX_SIZE:
                    raise _refuse("文件超过 20 MB，不能上传。", "The file is larger than 20 MB.")
                if len(head) < 512:
                    head = (head + chunk)[:512]
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp, digest.hexdigest(), size, head


def _place(temp: Path, root: Path, sha256: str, size: int) -> Path:
    """Make a checked file durable at its content address; content already there is kept (its mtime refreshed)."""
    final = stored_path(root, sha256)
    if _reuse(final, size):
        return final
    os.chmod(temp, 0o640)
    fsync_path(temp)  # data and inode (the mode just set) on disk before the name can point at them
    _make_dirs(final.parent)
    os.replace(temp, final)
    fsync_path(final.parent)  # the new name itself survives a power cut only once its directory is on disk
    return final


def _reuse(final: Path, size: int) -> bool:
    """Whether `final` holds the content already, after refreshing its mtime so that the sweep leaves it alone.

    The mtime is touched before the size is read: a sweep that takes the file away in between is seen here as a
    missing file, which is then written again. A file of the wrong size (cut short before writes were fsynced)
    is written again too."""
    try:
        os.utime(final)
        return os.stat(final).st_size == size
    except FileNotFoundError:
        return False


def _make_dirs(path: Path) -> None:
    """Create `path` and its missing parents, each new directory's entry fsynced in its parent."""
    missing = []
    while not path.is_dir():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        directory.mkdir(exist_ok=True)
        fsync_path(directory.parent)


def fsync_path(path: Path) -> None:
    """Flush a file's data, or a directory's entries, to the disk (any descriptor of the file will do)."""
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def store_file(data: bytes, *, upload_dir: Path | str | None = None) -> str:
    """Store `data` durably by its sha256 (no row, no checks) and return the sha256; the caller's row names it.

    A row must name the file within the sweep's grace period (workflow.core.filesweep), as it does when it is
    inserted in the transaction that stored the file."""
    root = Path(upload_dir) if upload_dir is not None else upload_root()
    sha256 = hashlib.sha256(data).hexdigest()
    if _reuse(stored_path(root, sha256), len(data)):
        return sha256
    work = _work_dir(root)
    fd, name = tempfile.mkstemp(dir=work, prefix="document-")
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        _place(temp, root, sha256, len(data))
    finally:
        temp.unlink(missing_ok=True)
    return sha256


def temp_dir(root: Path | str) -> Path:
    """Where files are written before they are renamed to their content address (on the same file system)."""
    return Path(root) / "tmp"


def _work_dir(root: Path) -> Path:
    work = temp_dir(root)
    _make_dirs(work)  # a new upload root is made durable here, before a file is renamed into it
    return work


def store_bytes(*, session: Session, actor: Actor, data: bytes, filename: str, content_type: str, kind: str,
                now: datetime, case_id: int | None = None, town_id: int | None = None,
                upload_dir: Path | str | None = None, derived_from_id: int | None = None) -> Attachment:
    """Store a document the system made (no upload checks) on a case, a town, or both; `derived_from_id` names
    the attachment it was made from (the PDF of a notice)."""
    if case_id is None and town_id is None:
        raise ValueError("an attachment belongs to a case or a town")
    case = session.get(Case, case_id) if case_id is not None else None
    if case_id is not None and case is None:
        raise ValueError(f"no case {case_id}")
    sha256 = store_file(data, upload_dir=upload_dir)
    return _add(session, actor=actor, now=now, case=case, town_id=town_id, kind=kind, sha256=sha256,
                filename=clean_filename(filename), content_type=content_type, size=len(data),
                derived_from_id=derived_from_id)


def _add(session: Session, *, actor: Actor, now: datetime, case: Case | None, town_id: int | None, kind: str,
         sha256: str, filename: str, content_type: str, size: int, derived_from_id: int | None = None) -> Attachment:
    row = Attachment(case_id=case.id if case else None, town_id=town_id, kind=kind, sha256=sha256,
                     filename=filename, content_type=content_type, size=size, uploaded_by_id=actor.user_id,
                     uploaded_at=now, derived_from_id=derived_from_id)
    session.add(row)
    session.flush()
    county_id = case.county_id if case else None
    if county_id is None and town_id is not None:
        town = session.get(Town, town_id)
        county_id = town.county_id if town else None
    audit.record(session, kind="attachment_added", now=now, actor=actor, case_id=row.case_id, county_id=county_id,
                 data={"attachment_id": row.id, "filename": filename, "sha256": sha256, "size": size,
                       "kind": kind, **({"town_id": town_id} if town_id is not None else {}),
                       **({"derived_from_id": derived_from_id} if derived_from_id is not None else {})})
    return row


def _visible(session: Session, actor: Actor, row: Attachment) -> bool:
    # A case attachment follows its case; a town's document (e.g. the designation notice) follows its town.
    from workflow.core.visibility import may_see_kind

    try:
        if row.case_id is not None:
            return may_see_kind(actor, get_case(session, actor, row.case_id), row.kind)
    except NotFound:
        pass
    try:
        if row.town_id is not None:
            get_town(session, actor, row.town_id)
            return True
    except NotFound:
        pass
    return False


def get_attachment(*, session: Session, actor: Actor, attachment_id: int,
                   upload_dir: Path | str | None = None) -> tuple[Attachment, Path]:
    """The attachment and its file, if `actor` may see it; otherwise NotFound, exactly as for a missing id."""
    row = session.get(Attachment, attachment_id)
    if row is None or not _visible(session, actor, row):
        raise not_found_attachment()
    path = stored_path(Path(upload_dir) if upload_dir is not None else upload_root(), row.sha256)
    if not path.is_file():
        raise NotFound("附件文件缺失，请联系管理员。", "The attachment's file is missing; contact the administrator.",
                       code="file_missing")
    return row, path


def list_attachments(*, session: Session, actor: Actor, case_id: int, case: Case | None = None) -> list[Attachment]:
    """A case's attachments `actor` may see (by kind: definitions/visibility.yaml), oldest first (NotFound when the
    case is not visible). `case`: the case as get_case gave it to `actor`, when the caller has read it (the page)."""
    from workflow.core.visibility import may_see_kind

    case = case_read(session, actor, case_id, case)
    rows = session.exec(select(Attachment).where(Attachment.case_id == case_id)
                        .order_by(Attachment.uploaded_at, Attachment.id))  # type: ignore[arg-type]  # SQLModel types a column as its Python value, not a SQL expression
    return [r for r in rows if may_see_kind(actor, case, r.kind)]


def list_town_attachments(*, session: Session, actor: Actor, town_id: int) -> list[Attachment]:
    """A town's documents, oldest first (NotFound when the town is not visible)."""
    get_town(session, actor, town_id)
    return list(session.exec(select(Attachment).where(Attachment.town_id == town_id)
                             .order_by(Attachment.uploaded_at, Attachment.id)))  # type: ignore[arg-type]  # SQLModel types a column as its Python value, not a SQL expression


def uploader_names(session: Session, rows: list[Attachment]) -> dict[int, str]:
    """Display names of the users who uploaded `rows` (system documents have none)."""
    ids = {r.uploaded_by_id for r in rows if r.uploaded_by_id is not None}
    if not ids:
        return {}
    return dict(session.exec(select(User.id, User.display_name).where(User.id.in_(ids))).all())  # type: ignore[union-attr,arg-type]  # SQLModel types a column as its Python value, not a SQL expression
