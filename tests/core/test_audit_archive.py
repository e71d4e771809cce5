"""Retention: `zyz audit archive --before DATE` copies older events with their hashes to a file and a signed
manifest, refuses a date less than 183 days back, and deletes nothing; no code path edits or deletes events."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import itertools
import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine

from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.calendar import local_date
from workflow.core.db import transaction
from workflow.core.errors import InvalidInput
from workflow.core.models import AuditEvent

TABLE = AuditEvent.__table__
KEY = "archive-test-key-0123456789abcdef0123456789"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def zyz(run_zyz, tmp_path):
    """Run `zyz ARGS` in-process against the test database, with the anchor folder and key of this test."""
    return lambda *args: run_zyz(*args, env={"ZYZ_ANCHOR_DIR": str(tmp_path / "anchors"), "ZYZ_AUDIT_HMAC_KEY": KEY})


@pytest.fixture
def years(db, now):
    """Events over a year and a half: every 20 days, oldest first."""
    with transaction(db) as s:
        for days in range(540, -1, -20):
            audit.record(s, kind="login_ok", now=now - timedelta(days=days), actor=Actor.system(),
                         comment=f"{days} 天前", data={"via": "web"})
    return trail(db)


def trail(db) -> list[dict]:
    with transaction(db) as s:
        return [dict(r) for r in s.connection().execute(sa.select(TABLE).order_by(TABLE.c.seq)).mappings()]


def test_a_date_less_than_183_days_back_is_refused_and_nothing_is_written(zyz, db, years, now, tmp_path):
    too_recent = local_date(now) - timedelta(days=182)
    with time_machine.travel(now, tick=False):
        result = zyz("audit", "archive", "--before", str(too_recent), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "183" in result.output and str(too_recent) in result.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    assert trail(db) == years


def test_the_service_refuses_recent_dates_whatever_the_caller(db, years, now, tmp_path):
    for days in (0, 1, 182, -30):
        with pytest.raises(InvalidInput) as refused, transaction(db) as s:
            audit.archive(s, before=local_date(now) - timedelta(days=days), today=local_date(now),
                          directory=tmp_path / "out", now=now)
        assert refused.value.code == "too_recent"
    assert not (tmp_path / "out").exists()


def test_archive_copies_the_older_events_with_their_hashes_and_deletes_nothing(zyz, db, years, now, tmp_path):
    before = local_date(now) - timedelta(days=183)
    with time_machine.travel(now, tick=False):
        result = zyz("audit", "archive", "--before", str(before), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "nothing was deleted" in result.output
    older = [e for e in years if local_date(e["occurred_at"]) < before]
    assert 0 < len(older) < len(years)
    lines = (tmp_path / "out" / f"audit-before-{before}.jsonl").read_text(encoding="utf-8").splitlines()
    archived = [json.loads(line) for line in lines]
    assert [(a["seq"], a["hash"], a["prev_hash"]) for a in archived] == [
        (e["seq"], e["hash"], e["prev_hash"]) for e in older]
    assert archived[0]["comment"] == "540 天前"
    # each archived event carries what its hash covers: it can be checked without the database
    for item in archived:
        assert audit.event_hash({**item, "occurred_at": _parse(item["occurred_at"])}) == item["hash"]
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(archived))
    manifest = json.loads((tmp_path / "out" / f"audit-before-{before}.manifest.json").read_text(encoding="utf-8"))
    data_file = tmp_path / "out" / manifest["file"]
    assert (manifest["count"], manifest["first_seq"], manifest["last_seq"], manifest["last_hash"]) == (
        len(older), older[0]["seq"], older[-1]["seq"], older[-1]["hash"])
    assert manifest["sha256"] == hashlib.sha256(data_file.read_bytes()).hexdigest()
    signed = {k: v for k, v in manifest.items() if k != "hmac"}
    assert manifest["hmac"] == hmac.new(KEY.encode(), audit.canonical_json(signed).encode(), "sha256").hexdigest()
    # nothing deleted, nothing changed; the archiving itself is recorded
    after = trail(db)
    assert after[:len(years)] == years and [e["kind"] for e in after[len(years):]] == ["archive"]
    assert json.loads(after[-1]["data"])["count"] == len(older)
    with transaction(db) as s:
        assert audit.verify(s).ok


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_archive_as_csv_with_a_bom(db, years, now, tmp_path):
    before = local_date(now) - timedelta(days=200)
    with transaction(db) as s:
        result = audit.archive(s, before=before, today=local_date(now), directory=tmp_path, now=now, fmt="csv")
    raw = result.path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == list(audit.ARCHIVE_FIELDS)
    assert [int(r[1]) for r in rows[1:]] == [e["seq"] for e in years if local_date(e["occurred_at"]) < before]
    assert "hmac" not in json.loads(result.manifest_path.read_text())  # no key given: unsigned


def test_an_archive_is_never_overwritten(zyz, db, years, now, tmp_path):
    before = str(local_date(now) - timedelta(days=300))
    with time_machine.travel(now, tick=False):
        assert zyz("audit", "archive", "--before", before, "--out", str(tmp_path)).exit_code == 0
        again = zyz("audit", "archive", "--before", before, "--out", str(tmp_path))
    assert again.exit_code == 1 and "exists already" in again.output


def test_a_date_that_is_not_a_date_is_refused(zyz):
    result = zyz("audit", "archive", "--before", "last year")
    assert result.exit_code == 2 and "not a date" in result.output


DELETES_OR_EDITS = re.compile(
    r"DELETE\s+FROM\s+audit_event|UPDATE\s+audit_event|delete\(\s*AuditEvent|update\(\s*AuditEvent"
    r"|_event_table\.(delete|update)\(|AuditEvent\.__table__\.(delete|update)\(", re.IGNORECASE)


def test_no_code_path_deletes_or_edits_audit_events():
    """Retention by construction: besides the database's own trigger, nothing in the application writes an
    UPDATE or DELETE of audit_event (the migration that creates the trigger only names it)."""
    offenders = []
    for folder in ("workflow", "webapp", "notifications"):
        for path in (ROOT / folder).rglob("*.py"):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if DELETES_OR_EDITS.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
