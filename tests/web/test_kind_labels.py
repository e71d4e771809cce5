"""No internal name of a kind reaches a person: every attachment kind the system stores and every audit event kind
it records has a label (webapp/files/views.py KIND_LABELS, webapp/auditor/views.py KIND_LABELS)."""

from __future__ import annotations

import ast
from pathlib import Path

from webapp.auditor.views import KIND_LABELS as EVENT_LABELS
from webapp.files.views import KIND_LABELS as ATTACHMENT_LABELS
from workflow import processes
from workflow.core.attachments import UPLOAD_KINDS
from workflow.designation.materials import RESERVED

ROOT = Path(__file__).resolve().parents[2]


def _constant_kinds(functions: set[str]) -> set[str]:
    """The constant `kind=` of every call to one of `functions` in workflow/, notifications/ and webapp/."""
    found: set[str] = set()
    for package in ("workflow", "notifications", "webapp"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name not in functions:
                    continue
                for keyword in node.keywords:
                    if keyword.arg == "kind" and isinstance(keyword.value, ast.Constant):
                        found.add(keyword.value.value)
    return found


def test_every_attachment_kind_stored_anywhere_has_a_label():
    processes.load()
    stored = _constant_kinds({"store_bytes", "store_upload"}) | RESERVED
    assert {"criticism_draft", "opinion_sheet", "evidence"} <= stored
    uploadable = {kind for kinds in UPLOAD_KINDS.values() for kind in kinds}
    assert sorted(stored - set(ATTACHMENT_LABELS) - uploadable) == []


def test_every_audit_event_kind_recorded_anywhere_has_a_label():
    recorded = _constant_kinds({"record"})
    assert {"transition", "attachment_added", "login_ok"} <= recorded
    assert sorted(recorded - set(EVENT_LABELS)) == []
