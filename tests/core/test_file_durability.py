"""Stored files are durable before the rows that name them, and the files no row names are swept after a grace period
without ever taking one that an upload of the same content is re-using."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from sqlmodel import select

from workflow.core import audit, filesweep
from workflow.core.actors import Actor
from workflow.core.attachments import store_bytes, store_file, store_upload, stored_path, temp_dir
from workflow.core.db import make_engine, make_session_factory, transaction
from workflow.core.filesweep import sweep_files
from workflow.core.models import Attachment, AuditEvent, DocumentTemplate
from workflow.core.settings import settings

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "fixtures" / "files"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DAY = 24 * 3600


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "store"
    monkeypatch.setattr(settings, "upload_dir", str(folder))
    monkeypatch.setattr(settings, "file_grace_hours", 24)
    return folder


@pytest.fixture
def impatient(database_url):
    """Sessions for a sweep run while this thread holds an upload's transaction open: should the sweep wrongly
    remove the file and so want to record it, its wait for the audit chain fails in seconds instead of hanging."""
    engine = make_engine(database_url)
    setting = "PRAGMA busy_timeout = 3000" if engine.dialect.name == "sqlite" else "SET lock_timeout = '3s'"

    @sa.event.listens_for(engine, "connect")
    def _impatient(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute(setting)
        cursor.close()
        if engine.dialect.name != "sqlite":
            dbapi_connection.commit()  # else the rollback SQLAlchemy ends the first connection with takes it back

    yield make_session_factory(engine)
    engine.dispose()


def age(path: Path, seconds: float) -> None:
    """Make `path` look last written `seconds` ago."""
    moment = time.time() - seconds
    os.utime(path, (moment, moment))


def attach(db, make, case, data: bytes, now, *, name: str = "通知.docx") -> Attachment:
    with transaction(db) as s:
        return store_bytes(session=s, actor=Actor.system(), data=data, filename=name, content_type=DOCX,
                           kind="notice", now=now, case_id=case.id)


def sweeps(db) -> list[dict]:
    with transaction(db) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.kind == "files_swept").order_by(AuditEvent.seq)).all()
    return [json.loads(e.data) for e in events]


def rows_without_their_file(db, root: Path) -> list[str]:
    with transaction(db) as s:
        names = s.exec(select(Attachment.sha256)).all()
    return [sha for sha in names if not stored_path(root, sha).is_file()]


# --- a process killed between the file and the commit ---------------------------------------------------------

CHILD = """
import sys
from datetime import UTC, datetime

from workflow.core.actors import Actor
from workflow.core.attachments import store_bytes
from workflow.core.db import make_engine, make_session_factory, transaction

url, root, case_id, data = sys.argv[1], sys.argv[2], int(sys.argv[3]), bytes.fromhex(sys.argv[4])
sessions = make_session_factory(make_engine(url))
with transaction(sessions) as s:
    row = store_bytes(session=s, actor=Actor.system(), data=data, filename="认定通知.docx",
                      content_type="application/octet-stream", kind="notice", now=datetime.now(UTC),
                      case_id=case_id, upload_dir=root)
    s.flush()
    print(row.sha256, flush=True)
    sys.stdin.read()  # killed here: the file is written, the row not committed
"""


def test_a_process_killed_before_its_commit_leaves_a_file_no_row_names_swept_after_the_grace_period(
        db, make, now, root, database_url):
    case = make.case(materials=False)
    kept = attach(db, make, case, b"an issued notice", now)
    data = b"a notice whose transaction never commits " + os.urandom(8)
    child = subprocess.Popen([sys.executable, "-c", CHILD, database_url, str(root), str(case.id), data.hex()],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        line = child.stdout.readline().decode().strip()
        assert line, child.stderr.read().decode()
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        child.kill()
        child.stdin.close()
        child.stdout.close()
        child.stderr.close()

    orphan = stored_path(root, line)
    assert line == hashlib.sha256(data).hexdigest()
    assert orphan.read_bytes() == data  # the file was complete before the row could have been committed
    with transaction(db) as s:
        assert s.exec(select(Attachment.sha256)).all() == [kept.sha256]
        assert audit.verify(s).ok
    assert rows_without_their_file(db, root) == []

    assert sweep_files(db, now=now).removed == []  # younger than the grace period: kept
    assert orphan.exists()
    with time_machine.travel(time.time() + DAY - 60, tick=False):
        assert sweep_files(db, now=now).removed == []
    with time_machine.travel(time.time() + DAY + 60, tick=False):
        result = sweep_files(db, now=now)
    assert result.removed == [line]
    assert not orphan.exists() and stored_path(root, kept.sha256).is_file()
    assert rows_without_their_file(db, root) == []
    assert sweeps(db) == [{"count": 1, "sha256": [line], "temp_files": 0, "grace_hours": 24.0}]


def test_an_upload_whose_transaction_rolls_back_leaves_its_file_to_the_sweep(db, make, now, root):
    county = make.user("county")
    case = make.case(by=county, materials=False)
    content = (SAMPLES / "sample.pdf").read_bytes()
    sha = hashlib.sha256(content).hexdigest()
    with pytest.raises(RuntimeError), transaction(db) as s:
        store_upload(session=s, actor=make.actor(county), case_id=case.id, filename="材料.pdf",
                     stream=io.BytesIO(content), now=now, upload_dir=root)
        raise RuntimeError("a later step of the same action failed")
    assert stored_path(root, sha).is_file() and rows_without_their_file(db, root) == []
    age(stored_path(root, sha), DAY + 60)
    assert sweep_files(db, now=now).removed == [sha]
    assert not stored_path(root, sha).exists()


# --- what the sweep removes and keeps ------------------------------------------------------------------------


def test_the_sweep_removes_only_old_files_no_row_names_and_old_temporary_files(db, make, now, root):
    case = make.case(materials=False)
    young = store_file(b"young and unreferenced")
    old = store_file(b"old and unreferenced")
    named = attach(db, make, case, b"old and attached", now).sha256
    template = store_file(b"an old template version the office uploaded")
    with transaction(db) as s:
        s.add(DocumentTemplate(name="designation_notice", version=1, sha256=template, filename="认定通知.docx",
                               size=10, uploaded_at=now))
    for sha in (old, named, template):
        age(stored_path(root, sha), 2 * DAY)
    age(stored_path(root, young), DAY - 600)
    stale, fresh = temp_dir(root) / "upload-stale", temp_dir(root) / "upload-writing"
    stale.write_bytes(b"half an upload")
    fresh.write_bytes(b"an upload being received")
    age(stale, 2 * DAY)
    stranger = root / "ab" / "not-a-sha256"
    stranger.parent.mkdir(exist_ok=True)
    stranger.write_bytes(b"not ours")
    age(stranger, 2 * DAY)

    result = sweep_files(db, now=now)

    assert (result.removed, result.temp_removed) == ([old], ["upload-stale"])
    assert not stored_path(root, old).exists() and not stale.exists()
    assert all(stored_path(root, sha).is_file() for sha in (young, named, template))
    assert fresh.exists() and stranger.exists()
    assert sweeps(db) == [{"count": 1, "sha256": [old], "temp_files": 1, "grace_hours": 24.0}]
    assert sweep_files(db, now=now).removed == [] and len(sweeps(db)) == 1  # nothing removed: no event


def test_the_grace_period_is_a_setting(db, root, now, monkeypatch):
    sha = store_file(b"three hours old")
    age(stored_path(root, sha), 3 * 3600)
    assert sweep_files(db, now=now).removed == []
    monkeypatch.setattr(settings, "file_grace_hours", 2)
    assert sweep_files(db, now=now).removed == [sha]


def test_zyz_files_sweep_prints_what_it_removed(db, run_zyz, tmp_path, now, monkeypatch):
    root = tmp_path / "cli-files"
    monkeypatch.setattr(settings, "file_grace_hours", 24)  # the command's app sets it; restored afterwards
    sha = store_file(b"an orphan", upload_dir=root)
    age(stored_path(root, sha), 3 * 3600)
    kept = run_zyz("files", "sweep", env={"ZYZ_UPLOAD_DIR": str(root)})
    assert kept.exit_code == 0, kept.output
    assert "removed 0 unreferenced files" in kept.output and stored_path(root, sha).exists()
    done = run_zyz("files", "sweep", "--grace-hours", "2", env={"ZYZ_UPLOAD_DIR": str(root)})
    assert done.exit_code == 0, done.output
    assert "removed 1 unreferenced files and 0 temporary files older than 2 hours" in done.output
    assert sha in done.output and not stored_path(root, sha).exists()
    with transaction(db) as s:
        (event,) = s.exec(select(AuditEvent).where(AuditEvent.kind == "files_swept")).all()
    assert event.actor_name == "zyz files sweep" and json.loads(event.data)["sha256"] == [sha]
    refused = run_zyz("files", "sweep", "--grace-hours", "0", env={"ZYZ_UPLOAD_DIR": str(root)})
    assert refused.exit_code == 2


def test_the_scheduler_sweeps_files_daily(app, db, tmp_path):
    from webapp.cli import _scheduler, scheduled_jobs

    scheduler = _scheduler(app, background=True)
    (job,) = [j for j in scheduler.get_jobs() if j.id == "file-sweep"]
    assert str(job.trigger).startswith("cron") and "hour='3'" in str(job.trigger)
    root = Path(app.config["UPLOAD_DIR"])
    sha = store_file(b"left by a rolled-back transaction", upload_dir=root)
    age(stored_path(root, sha), 2 * DAY)
    dict((name, function) for name, function, _ in scheduled_jobs(app))["file-sweep"]()
    assert not stored_path(root, sha).exists()
    (event,) = sweeps(db)
    assert event["sha256"] == [sha]


def test_a_sweep_killed_with_a_file_taken_aside_puts_it_back_first(db, make, now, root):
    case = make.case(materials=False)
    sha = attach(db, make, case, b"a notice a killed sweep had taken aside", now).sha256
    os.rename(stored_path(root, sha), temp_dir(root) / f"sweep-{sha}")
    result = sweep_files(db, now=now)
    assert result.removed == [] and result.temp_removed == []
    assert stored_path(root, sha).is_file() and rows_without_their_file(db, root) == []


def test_a_second_sweep_while_one_runs_does_nothing(db, root, now):
    import fcntl

    sha = store_file(b"an orphan")
    age(stored_path(root, sha), 2 * DAY)
    with open(root / filesweep.LOCK_FILE, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert sweep_files(db, now=now).busy
    assert stored_path(root, sha).exists()
    assert sweep_files(db, now=now).removed == [sha]


# --- the race with an upload of the same content -------------------------------------------------------------


def test_a_file_an_open_transaction_is_re_using_is_not_swept(db, make, now, root, impatient):
    case = make.case(materials=False)
    data = b"the same notice again"
    sha = store_file(data)  # left behind by an earlier rollback
    age(stored_path(root, sha), 2 * DAY)
    session = db()
    try:
        store_bytes(session=session, actor=Actor.system(), data=data, filename="通知.docx", content_type=DOCX,
                    kind="notice", now=now, case_id=case.id)
        assert time.time() - stored_path(root, sha).stat().st_mtime < 60  # re-using it refreshed it
        assert sweep_files(impatient, now=now).removed == []
        session.commit()
    finally:
        session.close()
    assert stored_path(root, sha).read_bytes() == data and rows_without_their_file(db, root) == []


@pytest.mark.parametrize("commit", [False, True])
def test_an_upload_re_using_the_file_just_before_the_sweep_takes_it_aside_keeps_it(db, make, now, root, monkeypatch,
                                                                                    commit, impatient):
    case = make.case(materials=False)
    data = b"a notice uploaded while the sweep runs"
    sha = store_file(data)
    age(stored_path(root, sha), 2 * DAY)
    session, rename = db(), os.rename

    def upload_first(source, target):  # the sweep has chosen the file (old, no row) and is about to take it
        if Path(target).name.startswith(filesweep.ASIDE):
            store_bytes(session=session, actor=Actor.system(), data=data, filename="通知.docx", content_type=DOCX,
                        kind="notice", now=now, case_id=case.id)
            if commit:
                session.commit()
        return rename(source, target)

    monkeypatch.setattr(os, "rename", upload_first)
    try:
        assert sweep_files(impatient, now=now).removed == []
        session.commit()
    finally:
        session.close()
    assert stored_path(root, sha).read_bytes() == data and rows_without_their_file(db, root) == []


def test_an_upload_just_after_the_sweep_took_the_file_aside_and_committed_gets_it_back(db, make, now, root,
                                                                                       monkeypatch):
    case = make.case(materials=False)
    data = b"a notice committed while its file was aside"
    sha = store_file(data)
    age(stored_path(root, sha), 2 * DAY)
    rename = os.rename

    def upload_after(source, target):
        rename(source, target)
        if Path(target).name.startswith(filesweep.ASIDE):  # the upload finds no file: it writes its own and commits
            attach(db, make, case, data, now)

    monkeypatch.setattr(os, "rename", upload_after)
    assert sweep_files(db, now=now).removed == []  # a row names it when the sweep asks: put back
    assert stored_path(root, sha).read_bytes() == data and rows_without_their_file(db, root) == []


def test_an_upload_just_after_the_sweep_took_the_file_aside_and_not_yet_committed_keeps_its_own_copy(
        db, make, now, root, monkeypatch):
    case = make.case(materials=False)
    data = b"a notice stored again while the old copy goes"
    sha = store_file(data)
    age(stored_path(root, sha), 2 * DAY)
    rename, unlink = os.rename, os.unlink
    stored, removed, failed = threading.Event(), threading.Event(), []

    def upload() -> None:  # its own transaction, committed only once the sweep has removed the old copy
        try:
            with transaction(db) as s:
                store_bytes(session=s, actor=Actor.system(), data=data, filename="通知.docx", content_type=DOCX,
                            kind="notice", now=now, case_id=case.id)
                stored.set()
                assert removed.wait(30)
        except BaseException as exc:
            failed.append(exc)
            stored.set()

    uploader = threading.Thread(target=upload)

    def upload_after(source, target):
        rename(source, target)
        if Path(target).name.startswith(filesweep.ASIDE):
            uploader.start()
            assert stored.wait(30)

    def note_removal(path, *args, **kwargs):
        unlink(path, *args, **kwargs)
        if Path(path).name.startswith(filesweep.ASIDE):
            removed.set()

    monkeypatch.setattr(os, "rename", upload_after)
    monkeypatch.setattr(os, "unlink", note_removal)
    assert sweep_files(db, now=now).removed == [sha]  # the old copy, aside, old and named by no committed row
    uploader.join(30)
    assert not failed
    assert stored_path(root, sha).read_bytes() == data and rows_without_their_file(db, root) == []


# --- durable writing -----------------------------------------------------------------------------------------


@pytest.fixture
def disk_calls(monkeypatch) -> list[tuple[str, ...]]:
    """fsync (by the path its descriptor names) and replace calls, in order."""
    calls: list[tuple[str, ...]] = []
    fsync, replace = os.fsync, os.replace

    def recording_fsync(fd):
        calls.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return fsync(fd)

    def recording_replace(source, target):
        calls.append(("replace", str(source), str(target)))
        return replace(source, target)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    monkeypatch.setattr(os, "replace", recording_replace)
    return calls


def test_a_document_is_fsynced_renamed_and_its_directories_fsynced_before_the_commit(db, make, now, root,
                                                                                       disk_calls):
    case = make.case(materials=False)
    data = b"a generated notice"
    sha = hashlib.sha256(data).hexdigest()
    final = stored_path(root, sha)
    with transaction(db) as s:
        store_bytes(session=s, actor=Actor.system(), data=data, filename="通知.docx", content_type=DOCX,
                    kind="notice", now=now, case_id=case.id)
        before_commit = list(disk_calls)
    ((_, temp, target),) = [c for c in before_commit if c[0] == "replace"]
    assert target == str(final) and Path(temp).parent == temp_dir(root) and not Path(temp).exists()
    assert ("fsync", str(root.parent)) in before_commit  # the new upload root's entry
    assert ("fsync", str(root)) in before_commit  # the new sha[:2] directory's (and tmp's) entries
    replaced = before_commit.index(("replace", temp, target))
    assert ("fsync", temp) in before_commit[:replaced]  # the data before the name
    assert before_commit[replaced + 1:] == [("fsync", str(final.parent))]  # the name before the commit
    assert final.read_bytes() == data and final.stat().st_mode & 0o777 == 0o640


def test_an_upload_is_fsynced_before_it_is_renamed_into_place(db, make, now, root, disk_calls):
    county = make.user("county")
    case = make.case(by=county, materials=False)
    content = (SAMPLES / "sample.png").read_bytes()
    final = stored_path(root, hashlib.sha256(content).hexdigest())
    with transaction(db) as s:
        store_upload(session=s, actor=make.actor(county), case_id=case.id, filename="现场.png",
                     stream=io.BytesIO(content), now=now, upload_dir=root)
    ((_, temp, target),) = [c for c in disk_calls if c[0] == "replace"]
    replaced = disk_calls.index(("replace", temp, target))
    assert target == str(final) and ("fsync", temp) in disk_calls[:replaced]
    assert disk_calls[replaced + 1:] == [("fsync", str(final.parent))]


def test_content_already_stored_is_not_written_again_but_refreshed(db, make, now, root, disk_calls):
    case = make.case(materials=False)
    data = b"the same document twice"
    sha = store_file(data)
    age(stored_path(root, sha), 3 * DAY)
    disk_calls.clear()
    attach(db, make, case, data, now)
    assert disk_calls == []  # nothing written, nothing to flush
    assert time.time() - stored_path(root, sha).stat().st_mtime < 60


def test_a_stored_file_cut_short_is_written_again(root):
    data = b"a document whose copy a power cut once cut short"
    sha = hashlib.sha256(data).hexdigest()
    path = stored_path(root, sha)
    path.parent.mkdir(parents=True)
    path.write_bytes(data[:5])
    assert store_file(data) == sha and path.read_bytes() == data


def test_store_bytes_refuses_a_missing_case_before_writing_anything(db, root, now):
    with pytest.raises(ValueError, match="no case"), transaction(db) as s:
        store_bytes(session=s, actor=Actor.system(), data=b"x", filename="a.docx", content_type=DOCX, kind="notice",
                    now=now, case_id=999)
    assert not root.exists()


def test_the_sweep_keeps_the_directories(db, root, now):
    sha = store_file(b"alone in its directory")
    age(stored_path(root, sha), 2 * DAY)
    assert sweep_files(db, now=now).removed == [sha]
    assert stored_path(root, sha).parent.is_dir()  # an upload may be about to rename a file into it


def test_nothing_to_sweep_without_an_upload_root(db, tmp_path, now):
    result = sweep_files(db, now=now, upload_dir=tmp_path / "never-made", grace=timedelta(hours=1))
    assert (result.removed, result.temp_removed, result.busy) == ([], [], False)
    assert not (tmp_path / "never-made").exists()

