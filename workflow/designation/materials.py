"""The supporting documents (证明材料) an application carries: the checklist of definitions/materials.yaml, and
which of its kinds a case has attached."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from workflow.core.db import table_of
from workflow.core.models import Attachment
from workflow.core.yamlcheck import Checker, FileErrors, Label, read_mapping
from workflow.designation import application, eligibility

MATERIALS_PATH = Path(__file__).resolve().parents[2] / "definitions" / "materials.yaml"
TOP_KEYS = {"key", "version", "label", "materials"}
MATERIAL_KEYS = {"kind", "label", "criterion", "required", "required_if"}
RESERVED = {"evidence", "opinion_sheet", "designation_notice", "criticism_notice", "criticism_draft",
            "rectification_notice", "publicity_announcement", "praise_notice",
            "recommendation_letter", "recommendation_dossier", "province_document"}  # kinds the system itself gives


class MaterialsError(FileErrors):
    """Problems in definitions/materials.yaml; `errors` holds `file: key: problem` lines."""


@dataclass(frozen=True)
class Material:
    kind: str
    label: Label
    criterion: str | None
    required: bool
    required_if: str | None

    def needed(self, data: dict[str, Any]) -> bool:
        """Whether an application with `data` must carry this kind."""
        if self.required:
            return True
        value = data.get(self.required_if) if self.required_if else None
        return not application.is_empty(value) and value != "none"


def parse_materials(text: str, filename: str) -> tuple[Material, ...]:
    check = Checker(filename)
    raw = read_mapping(text, filename, MaterialsError)
    check.unknown_keys(raw, TOP_KEYS)
    if raw.get("key") != "materials":
        check.error("key", "must be 'materials'")
    check.label(raw.get("label"), "label")
    criteria = {c.key for c in eligibility.default_table().criteria}
    found: list[Material] = []
    items = raw.get("materials")
    if not isinstance(items, list) or not items:
        check.error("materials", "must be a non-empty list")
        items = []
    seen: set[str] = set()
    for i, body in enumerate(items):
        key = f"materials[{i}]"
        if not isinstance(body, dict):
            check.error(key, "must be a mapping")
            continue
        check.unknown_keys(body, MATERIAL_KEYS, key)
        kind = body.get("kind")
        if not isinstance(kind, str) or not kind.isidentifier():
            check.error(f"{key}.kind", "must be an identifier")
            continue
        key = f"materials[{i}] ({kind})"
        if kind in seen:
            check.error(f"{key}.kind", f"kind {kind!r} listed twice")
        if kind in RESERVED:
            check.error(f"{key}.kind", f"{kind!r} is a kind the system gives its own documents")
        seen.add(kind)
        criterion = body.get("criterion")
        if criterion is not None and criterion not in criteria:
            check.error(f"{key}.criterion", f"unknown criterion {criterion!r} (definitions/eligibility.yaml)")
        required = body.get("required", False)
        if not isinstance(required, bool):
            check.error(f"{key}.required", "must be true or false")
        required_if = body.get("required_if")
        if required_if is not None and required_if not in application.FIELDS:
            check.error(f"{key}.required_if", f"unknown application field {required_if!r}")
        if required is True and required_if is not None:
            check.error(key, "give required or required_if, not both")
        found.append(Material(kind=kind, label=check.label(body.get("label"), f"{key}.label"),
                              criterion=criterion, required=required is True, required_if=required_if))
    if check.errors:
        raise MaterialsError(check.errors)
    return tuple(found)


def load_materials(path: Path = MATERIALS_PATH) -> tuple[Material, ...]:
    return parse_materials(path.read_text(encoding="utf-8"), path.name)


@cache
def checklist() -> tuple[Material, ...]:
    """definitions/materials.yaml, read once per process."""
    return load_materials()


@dataclass(frozen=True)
class Item:
    material: Material
    needed: bool
    files: tuple[str, ...]  # names of the attached files of this kind

    @property
    def done(self) -> bool:
        return bool(self.files)


def attached_kinds(session: Session, case_id: int | None) -> dict[str, list[str]]:
    """kind -> file names attached to the case."""
    if case_id is None:
        return {}
    table = table_of(Attachment)
    rows = session.connection().execute(sa.select(table.c.kind, table.c.filename).where(
        table.c.case_id == case_id).order_by(table.c.id))
    found: dict[str, list[str]] = {}
    for kind, filename in rows:
        found.setdefault(kind, []).append(filename)
    return found


def status(session: Session, case_id: int | None, data: dict[str, Any]) -> list[Item]:
    """The checklist for an application: each kind, whether it is needed, and the files attached of it."""
    kinds = attached_kinds(session, case_id)
    return [Item(m, m.needed(data), tuple(kinds.get(m.kind, []))) for m in checklist()]


def missing(session: Session, case_id: int | None, data: dict[str, Any]) -> list[Material]:
    return [i.material for i in status(session, case_id, data) if i.needed and not i.done]
