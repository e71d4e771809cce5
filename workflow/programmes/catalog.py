"""The ten programmes of the plan's section 五 (definitions/programmes.yaml): loaded and checked, every problem listed
as `file: key: problem` — each programme has a key used once, its clause, name and brief in both languages, at least
one lead unit, and no unit named twice (as lead and responsible, or twice in one list).

That the units named are member units of the annex is checked against the units themselves (`unknown_units`: by
the tests against the reference list, by the action plan against the database's units), since this package may not
import the seed data (which imports other processes)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from workflow.core.definitions import DEFINITIONS_DIR
from workflow.core.yamlcheck import Checker, FileErrors, Label, read_mapping

PROGRAMMES_PATH = DEFINITIONS_DIR / "programmes.yaml"
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


class ProgrammesError(FileErrors):
    """Problems in definitions/programmes.yaml; `errors` holds `file: key: problem` lines."""


@dataclass(frozen=True)
class Programme:
    key: str
    clause: str  # 五（一） …
    name: Label
    brief: Label
    lead: tuple[str, ...]  # 牵头单位
    responsible: tuple[str, ...]  # 分工负责单位 (member units)
    counties: bool  # 各县（区）政府分工负责

    @property
    def units(self) -> tuple[str, ...]:
        return self.lead + self.responsible


@dataclass(frozen=True)
class ProgrammeSpec:
    version: int
    label: Label
    document: str
    programmes: tuple[Programme, ...]

    def get(self, key: str) -> Programme | None:
        return next((p for p in self.programmes if p.key == key), None)


def _units(check: Checker, raw: Any, where: str, *, required: bool) -> tuple[str, ...]:
    if raw is None:
        raw = []
    if not isinstance(raw, list) or not all(isinstance(x, str) and x.strip() for x in raw):
        check.error(where, "must be a list of member units' names")
        return ()
    if required and not raw:
        check.error(where, "must name at least one unit")
    for name in {x for x in raw if raw.count(x) > 1}:
        check.error(where, f"names {name} twice")
    return tuple(raw)


def _programme(check: Checker, raw: Any, where: str, seen: set[str]) -> Programme | None:
    if not isinstance(raw, dict):
        check.error(where, "must be a mapping")
        return None
    check.unknown_keys(raw, {"key", "clause", "name", "brief", "lead", "responsible", "counties"}, where)
    key = raw.get("key")
    if not isinstance(key, str) or not _KEY.match(key) or key in seen:
        check.error(f"{where}.key", "must be a lower-case identifier, used once")
        return None
    seen.add(key)
    clause = raw.get("clause")
    if not isinstance(clause, str) or not clause.strip():
        check.error(f"{where}.clause", "must name the plan's clause, e.g. 五（一）")
    name = check.label(raw.get("name"), f"{where}.name")
    brief = check.label(raw.get("brief"), f"{where}.brief", "must give the plan's text in brief")
    lead = _units(check, raw.get("lead"), f"{where}.lead", required=True)
    responsible = _units(check, raw.get("responsible"), f"{where}.responsible", required=False)
    for both in sorted(set(lead) & set(responsible)):
        check.error(f"{where}.responsible", f"{both} is already a lead unit")
    counties = raw.get("counties", False)
    if not isinstance(counties, bool):
        check.error(f"{where}.counties", "must be true or false")
        counties = False
    return Programme(key, str(clause or ""), name, brief, lead, responsible, counties)


def parse_programmes(text: str, filename: str) -> ProgrammeSpec:
    """The programmes of a file; ProgrammesError with every problem found."""
    check = Checker(filename)
    raw = read_mapping(text, filename, ProgrammesError)
    check.unknown_keys(raw, {"key", "version", "label", "document", "programmes"})
    if raw.get("key") != "programmes":
        check.error("key", "must be 'programmes'")
    version = raw.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        check.error("version", "must be a whole number of at least 1")
        version = 0
    label = check.label(raw.get("label"), "label")
    document = raw.get("document")
    if not isinstance(document, str) or not document.strip():
        check.error("document", "must name the document the programmes come from")
    items = raw.get("programmes")
    if not isinstance(items, list) or not items:
        check.error("programmes", "must be a non-empty list")
        items = []
    seen: set[str] = set()
    found = [_programme(check, item, f"programmes[{i}]", seen) for i, item in enumerate(items)]
    if check.errors:
        raise ProgrammesError(check.errors)
    return ProgrammeSpec(version, label, str(document), tuple(p for p in found if p is not None))


@cache
def programme_spec() -> ProgrammeSpec:
    """The programmes as shipped (definitions/programmes.yaml), checked once per process."""
    return parse_programmes(PROGRAMMES_PATH.read_text(encoding="utf-8"), PROGRAMMES_PATH.name)


def unknown_units(spec: ProgrammeSpec, units: Iterable[str]) -> list[str]:
    """The units the file names that are not among `units` (the member units' names), each once, in file order."""
    known = set(units)
    missing: list[str] = []
    for programme in spec.programmes:
        missing.extend(n for n in programme.units if n not in known and n not in missing)
    return missing
