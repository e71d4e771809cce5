"""The mutation runs' own files stay true to the code: every module in scope exists with its tests, and every
mutant judged equivalent is judged on a line the module still has (a line changed since needs judging again)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
_spec = importlib.util.spec_from_file_location("mutation_run", HERE / "run.py")
assert _spec and _spec.loader
run = importlib.util.module_from_spec(_spec)
sys.modules["mutation_run"] = run  # its dataclasses look their module up
_spec.loader.exec_module(run)

EQUIVALENT = run.load_equivalent()  # (module path, key) → reason; an entry without a reason is refused here


def _lines(path: str) -> set[str]:
    return {run.normalise(line) for line in (ROOT / path).read_text("utf-8").splitlines()}


def test_every_module_in_scope_and_its_test_files_exist():
    scope = run.load_scope()
    assert scope
    for name, module in scope.items():
        assert (ROOT / module["path"]).is_file(), name
        assert all((ROOT / tests).is_file() for tests in module["tests"]), name
        assert set(module["databases"]) <= {"sqlite", "postgres"}, name


def test_every_equivalent_mutant_has_a_reason_and_names_a_module_in_scope():
    paths = {module["path"] for module in run.load_scope().values()}
    assert EQUIVALENT
    assert {path for path, _key in EQUIVALENT} <= paths


def test_an_equivalent_mutant_limited_to_one_database_names_one_its_module_runs_on():
    scope = {module["path"]: module for module in run.load_scope().values()}
    limited = run.equivalent_databases()
    for (path, key), database in limited.items():
        assert database in scope[path]["databases"], key
    for database in ("sqlite", "postgres"):  # the others' entries are left out, the unlimited ones kept
        kept = run.load_equivalent(database)
        assert set(EQUIVALENT) - set(kept) == {k for k, d in limited.items() if d != database}


@pytest.mark.parametrize("path", sorted({path for path, _key in EQUIVALENT}))
def test_every_equivalent_mutant_was_judged_on_a_line_the_module_still_has(path):
    """The key is `function: before → after`; when `before` is no longer in the module, the mutant it named is
    gone, and the entry would excuse nothing (or, worse, a new mutant spelt the same)."""
    lines = _lines(path)
    stale = []
    for key in (key for module, key in EQUIVALENT if module == path):
        before = key.partition(": ")[2].split(" → ")[0]
        if any(run.normalise(part) not in lines for part in before.split(" ⏎ ") if run.normalise(part)):
            stale.append(key)
    assert not stale, "judged on lines the module no longer has (remove or judge again):\n" + "\n".join(stale)
