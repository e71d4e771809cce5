"""Mutation testing of the rule core with mutmut 3: `make mutate` (slow; not part of `make test`).

For every module in tests/mutation/scope.toml and every database it names, a copy of the project is made under
build/mutate/<module>-<database>/ with a [tool.mutmut] section that mutates that module only and runs its own test
files only. mutmut then runs each mutant against the tests that call the mutated function. The table printed at
the end counts, per module and database, mutants run / killed / survived / timed out / judged equivalent, and the
score: killed and timed out over all mutants not judged equivalent (a mutant no test reaches counts as survived).
Survivors are listed with file, line and change; one judged equivalent goes into tests/mutation/equivalent.toml
with its reason, under the key printed here.

    .venv/bin/python tests/mutation/run.py [MODULE ...] [--database sqlite|postgres] [--again] [--min-score 90]

--again keeps the previous copies and runs the survivors again against the tests as they are now (after a test was
added); without it every run starts from a fresh copy of the working tree. --again --timeouts runs the timed-out
mutants again as well: the time limit is wall-clock, and a run that shared the machine can stop a survivor for it.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
WORK = ROOT / "build" / "mutate"
# A database of its own (made when missing), so that a mutation run and the test suite's PostgreSQL pass can run
# side by side: each drops and recreates the schema of the database it uses.
POSTGRES_URL = os.environ.get("ZYZ_MUTATION_DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/zyz_mutation"
POSTGRES_CHILDREN = 2  # mutants at once on PostgreSQL, each with a database of the pool (tests/conftest.py)
SKIP = {".git", ".venv", "build", "instance", "mutants", "test-artifacts", ".pytest_cache", ".ruff_cache",
        ".mypy_cache", "__pycache__", ".hypothesis"}
# Imported once by mutmut's fork server, so that each mutant's process starts with them loaded (pytest's plugins
# among them: their "already imported" warning is silenced below); the project's own modules are left out, so that
# each mutant imports them afresh and nothing they compute at import time escapes a mutant.
PRELOAD = ["sqlalchemy", "sqlalchemy.orm", "sqlalchemy.dialects.postgresql", "sqlalchemy.dialects.sqlite",
           "sqlmodel", "pydantic", "flask", "flask_login", "flask_wtf", "flask_babel", "werkzeug", "jinja2",
           "transitions", "yaml", "chinese_calendar", "docx", "openpyxl", "apscheduler.schedulers.background",
           "psycopg", "argon2", "alembic", "alembic.command", "aiosmtpd", "pytest", "time_machine",
           "platformdirs.pytest_plugin", "anyio.pytest_plugin", "_hypothesis_pytestplugin", "hypothesis",
           "schemathesis", "schemathesis.pytest.plugin", "pytest_httpserver", "pytest_httpserver.pytest_plugin"]
KILLED = {"killed", "timeout", "segfault", "caught by type check"}
STATUS_ORDER = ("survived", "no tests", "suspicious", "skipped", "not checked")


@dataclass
class Mutant:
    name: str
    status: str
    path: str = ""
    function: str = ""
    line: int = 0
    change: str = ""

    @property
    def key(self) -> str:
        return f"{self.function}: {self.change}"


@dataclass
class Outcome:
    module: str
    database: str
    mutants: list[Mutant] = field(default_factory=list)
    equivalent: list[Mutant] = field(default_factory=list)

    def count(self, *statuses: str) -> int:
        return sum(1 for m in self.mutants if m.status in statuses)

    @property
    def killed(self) -> int:
        return self.count("killed", "segfault", "caught by type check")

    @property
    def timeouts(self) -> int:
        return self.count("timeout")

    @property
    def survivors(self) -> list[Mutant]:
        return [m for m in self.mutants if m.status not in KILLED]

    @property
    def score(self) -> float:
        counted = len(self.mutants)
        return 100.0 * (self.killed + self.timeouts) / counted if counted else 100.0


def load_scope() -> dict[str, dict]:
    modules = tomllib.loads((HERE / "scope.toml").read_text("utf-8"))["modules"]
    for name, module in modules.items():
        missing = [key for key in ("path", "tests", "databases") if not module.get(key)]
        if missing:
            raise SystemExit(f"scope.toml: [modules.{name}] needs {', '.join(missing)}")
    return modules


def load_equivalent(database: str | None = None) -> dict[tuple[str, str], str]:
    """(module path, key) → the reason the mutant cannot change behaviour; with a database, only the entries that
    hold there (an entry naming a `database` is equivalent on that one only, e.g. an SQL spelling SQLite forgives)."""
    found = {}
    for entry in _equivalent_entries():
        if not entry.get("reason", "").strip():
            raise SystemExit(f"equivalent.toml: {entry.get('mutant')!r} has no reason")
        if database is None or entry.get("database", database) == database:
            found[(entry["module"], normalise(entry["mutant"]))] = entry["reason"]
    return found


def equivalent_databases() -> dict[tuple[str, str], str]:
    """(module path, key) → the one database an entry is limited to, for the entries that name one."""
    return {(e["module"], normalise(e["mutant"])): e["database"] for e in _equivalent_entries() if "database" in e}


def _equivalent_entries() -> list[dict]:
    return tomllib.loads((HERE / "equivalent.toml").read_text("utf-8")).get("equivalent", [])


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def prepare(workdir: Path, module: dict) -> None:
    """A copy of the working tree with a [tool.mutmut] section for this module."""
    if workdir.exists():
        shutil.rmtree(workdir)

    def ignore(_directory: str, names: list[str]) -> set[str]:
        return {n for n in names if n in SKIP or n.endswith(".egg-info")}

    shutil.copytree(ROOT, workdir, ignore=ignore)
    # mutmut fills mutants/ later; it must exist before Python starts with it on PYTHONPATH, or the import system
    # remembers it as missing and the tests import the unmutated tree
    (workdir / "mutants").mkdir()
    _write_config(workdir, module)


def _write_config(workdir: Path, module: dict) -> None:
    """The project's pyproject.toml with a [tool.mutmut] section for this module (in the copy and in mutants/)."""
    (workdir / "mutmut_preload.txt").write_text("\n".join(PRELOAD) + "\n")
    config = {
        "source_paths": ["workflow", "notifications", "webapp"],
        "only_mutate": [module["path"]],
        "also_copy": ["definitions", "migrations", "alembic.ini", "babel.cfg", "bench"],
        "pytest_add_cli_args_test_selection": module["tests"],
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning"],
        "process_isolation": "forkserver",
        "forkserver_warmup": "import",
        "preload_modules_file": "mutmut_preload.txt",
        "use_git_change_detection": False,
        # a mutant is stopped (and counted timed out, as killed) after (its tests' time + 1 s) × this in wall-clock
        # seconds, or twice that in CPU seconds. mutmut's default of 15 let one endless mutant of a slow test file
        # hold a child for ten minutes; 3 was too short: a survivor runs every one of its tests, each with the
        # caches emptied, two at once, and on PostgreSQL some ran past 3× and were counted as timed out
        "timeout_multiplier": 10.0,
    }
    lines = ["", "[tool.mutmut]"]
    lines += [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in config.items()]
    text = (ROOT / "pyproject.toml").read_text("utf-8") + "\n".join(lines) + "\n"
    for place in (workdir, workdir / "mutants"):
        if place.exists():
            (place / "pyproject.toml").write_text(text, "utf-8")


def mutmut(workdir: Path, *args: str, env: dict[str, str], capture: bool = True) -> str:
    command = [str(Path(sys.executable).parent / "mutmut"), *args]
    done = subprocess.run(command, cwd=workdir, env=env, text=True, check=False,
                          stdout=subprocess.PIPE if capture else None, stderr=subprocess.STDOUT if capture else None)
    if done.returncode != 0:
        raise SystemExit(f"mutmut {' '.join(args)} failed in {workdir} (exit {done.returncode})\n{done.stdout or ''}")
    return done.stdout or ""


def environment(workdir: Path, database: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ZYZ_TEST_DATABASE_URL", "CI")}
    # Processes the tests start (the `zyz` command, a scheduler) import the mutated copy too.
    env["PYTHONPATH"] = str(workdir / "mutants")
    env["ZYZ_TEST_FRESH_CACHES"] = "1"  # see tests/conftest.py: _fresh_caches
    if database == "postgres":
        env["ZYZ_TEST_DATABASE_URL"] = POSTGRES_URL
        env["ZYZ_TEST_DATABASE_POOL"] = str(POSTGRES_CHILDREN)  # a database per mutant running at once
        env["ZYZ_TEST_KEEP_SCHEMA"] = "1"  # migrated once, not once per mutant
    return env


def results(workdir: Path, env: dict[str, str]) -> list[Mutant]:
    crashed = _crashed(workdir)
    found = []
    for line in mutmut(workdir, "results", "--all", "true", env=env).splitlines():
        match = re.match(r"\s+(\S+): (.+)$", line)
        if match:
            name = match.group(1)
            found.append(Mutant(name=name, status="killed" if name in crashed else match.group(2).strip()))
    return found


def _crashed(workdir: Path) -> set[str]:
    """Mutants whose tests could not even start: pytest itself raised (the mutant broke something loaded at import,
    e.g. the shipped definitions are refused), and mutmut's runner exited with -1, which it lists as a timeout.
    Caught all the same: they count as killed, and the timeout column keeps the mutants that ran out of time."""
    names = set()
    for meta in (workdir / "mutants").rglob("*.meta"):
        codes = json.loads(meta.read_text("utf-8")).get("exit_code_by_key", {})
        names.update(name for name, code in codes.items() if code == 255)
    return names


# `mutmut show` for many mutants in one process (a process per mutant costs a second each)
_SHOW = """
import json, sys
from mutmut.mutation.diff_apply import get_diff_for_mutant
print(json.dumps({name: get_diff_for_mutant(name) for name in json.load(sys.stdin)}))
"""


def describe(workdir: Path, mutants: list[Mutant], env: dict[str, str]) -> None:
    """Fill in file, function, line and change of each mutant from its diff."""
    if not mutants:
        return
    done = subprocess.run([sys.executable, "-c", _SHOW], cwd=workdir, env=env, text=True, check=True,
                          input=json.dumps([m.name for m in mutants]), stdout=subprocess.PIPE)
    diffs = json.loads(done.stdout)
    for mutant in mutants:
        diff = diffs[mutant.name].splitlines()
        qualified = mutant.name.rsplit("__mutmut_", 1)[0]
        module_name, _, mangled = qualified.rpartition(".")
        if mangled.startswith("xǁ"):
            _, cls, name = mangled.split("ǁ")
            mutant.function = f"{cls}.{name}"
        else:
            mutant.function = mangled[2:]
        mutant.path = module_name.replace(".", "/") + ".py"
        removed = [line[1:] for line in diff if line.startswith("-") and not line.startswith("---")]
        added = [line[1:] for line in diff if line.startswith("+") and not line.startswith("+++")]
        mutant.change = normalise(" ⏎ ".join(removed)) + " → " + normalise(" ⏎ ".join(added))
        mutant.line = _line_of(ROOT / mutant.path, mutant.function, removed, _offset_in_function(diff))


def _offset_in_function(diff: list[str]) -> int:
    """Where the first removed line sits in the function's text (0: its first line), from the hunk header."""
    position = None
    for line in diff:
        header = re.match(r"@@ -(\d+)", line)
        if header:
            position = int(header.group(1)) - 1
        elif position is not None:
            if line.startswith("-"):
                return position
            if not line.startswith("+"):
                position += 1
    return 0


def _line_of(path: Path, function: str, removed: list[str], offset: int) -> int:
    """The line in the file of the first removed line: the matching line nearest to where the hunk puts it."""
    tree = ast.parse(path.read_text("utf-8"))
    nodes: list[ast.stmt] = list(tree.body)
    target: ast.stmt | None = None
    for part in function.split("."):
        target = next((n for n in nodes if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                       and n.name == part), None)
        if target is None:
            return 0
        nodes = list(target.body)
    assert target is not None
    lines = path.read_text("utf-8").splitlines()
    wanted = normalise(removed[0]) if removed else ""
    start, end = target.lineno, target.end_lineno or target.lineno
    matches = [n for n in range(start, end + 1) if wanted and normalise(lines[n - 1]) == wanted]
    guess = start + offset
    return min(matches, key=lambda n: abs(n - guess)) if matches else guess


def ensure_postgres_database(url: str) -> None:
    """Create the mutation runs' PostgreSQL database when it does not exist yet."""
    import sqlalchemy as sa

    target = sa.engine.make_url(url)
    engine = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                  {"name": target.database}).first()
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    finally:
        engine.dispose()


def run_one(name: str, module: dict, database: str, *, again: bool, children: int, report_only: bool,
            timeouts: bool = False) -> Outcome:
    workdir = WORK / f"{name}-{database}"
    env = environment(workdir, database)
    patterns = [module["path"][:-3].replace("/", ".") + "." + p for p in module.get("only", ["*"])]
    if report_only:
        if not (workdir / "mutants").exists():
            raise SystemExit(f"no results for {name} on {database}: run it first")
    elif again and (workdir / "mutants").exists():
        before = {m.name: m for m in results(workdir, env)}
        # the tests and the module's test files as they are now; the mutated sources stay as they were
        _write_config(workdir, module)
        shutil.rmtree(workdir / "tests")
        shutil.copytree(ROOT / "tests", workdir / "tests", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(ROOT / "tests", workdir / "mutants" / "tests", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
        again_names = [n for n, m in before.items()
                       if (m.status not in KILLED or (timeouts and m.status == "timeout")) and _selected(n, patterns)]
        if again_names:
            what = "survivors and timed-out mutants" if timeouts else "survivors"
            print(f"== {name} on {database}: {len(again_names)} {what} again", flush=True)
            mutmut(workdir, "run", "--max-children", str(children), *again_names, env=env, capture=False)
        # a change of the module's test files makes mutmut forget every result: run what it forgot as well
        forgotten = [m.name for m in results(workdir, env) if m.status == "not checked" and _selected(m.name, patterns)]
        if forgotten:
            print(f"== {name} on {database}: {len(forgotten)} mutants whose results the new tests reset", flush=True)
            mutmut(workdir, "run", "--max-children", str(children), *forgotten, env=env, capture=False)
    else:
        prepare(workdir, module)
        print(f"== {name} on {database}: {module['path']} against {' '.join(module['tests'])}", flush=True)
        mutmut(workdir, "run", "--max-children", str(children), *patterns, env=env, capture=False)
    outcome = Outcome(module=name, database=database)
    equivalent = load_equivalent(database)
    prefix = module["path"][:-3].replace("/", ".") + "."
    elsewhere = [prefix + p for other, names in module.get("only_on", {}).items() if other != database for p in names]
    found = [m for m in results(workdir, env) if _selected(m.name, patterns) and not _selected(m.name, elsewhere)]
    describe(workdir, [m for m in found if m.status not in KILLED], env)
    for mutant in found:
        if mutant.status not in KILLED and (module["path"], normalise(mutant.key)) in equivalent:
            outcome.equivalent.append(mutant)
        else:
            outcome.mutants.append(mutant)
    return outcome


def _selected(mutant_name: str, patterns: list[str]) -> bool:
    import fnmatch

    return any(fnmatch.fnmatch(mutant_name, p) for p in patterns)


def report(outcomes: list[Outcome]) -> None:
    scope = load_scope()
    matched = {(scope[o.module]["path"], normalise(m.key)) for o in outcomes for m in o.equivalent}
    expected = {key for o in outcomes for key in load_equivalent(o.database) if key[0] == scope[o.module]["path"]}
    stale = sorted(expected - matched)
    print()
    width = max([13] + [len(o.module) + 2 for o in outcomes])  # evaluation_ranking is 18 letters
    header = (f"{'module':<{width}}{'database':<10}{'run':>6}{'killed':>8}{'survived':>10}{'timeout':>9}{'equiv.':>8}"
              f"{'score':>9}")
    print(header)
    print("-" * len(header))
    for o in outcomes:
        print(f"{o.module:<{width}}{o.database:<10}{len(o.mutants) + len(o.equivalent):>6}{o.killed:>8}"
              f"{len(o.survivors):>10}{o.timeouts:>9}{len(o.equivalent):>8}{o.score:>8.1f}%")
    for o in outcomes:
        if not o.survivors:
            continue
        print(f"\nSurvivors of {o.module} on {o.database}:")
        for m in sorted(o.survivors, key=lambda m: (m.path, m.line, m.name)):
            note = "" if m.status == "survived" else f" [{m.status}]"
            print(f"  {m.path}:{m.line} {m.key}{note}  ({m.name})")
    if stale:
        print("\nIn equivalent.toml but not among this run's survivors (killed on this database, or made by no "
              "mutant any more: then remove them):")
        for path, key in stale:
            print(f"  {path}: {key}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", help="modules of scope.toml (default: all)")
    parser.add_argument("--database", choices=["sqlite", "postgres"], help="only this database")
    parser.add_argument("--again", action="store_true", help="run the last survivors again against today's tests")
    parser.add_argument("--timeouts", action="store_true",
                        help="with --again, the timed-out mutants too (a run beside other work can stop survivors)")
    parser.add_argument("--report", action="store_true", help="print the last run's results, running nothing")
    parser.add_argument("--min-score", type=float, default=90.0, help="exit 1 when a module scores less")
    parser.add_argument("--children", type=int, default=os.cpu_count() or 2, help="mutants run at once (SQLite)")
    args = parser.parse_args(argv)
    scope = load_scope()
    unknown = set(args.modules) - set(scope)
    if unknown:
        parser.error(f"not in scope.toml: {', '.join(sorted(unknown))}")
    outcomes = []
    for name, module in scope.items():
        if args.modules and name not in args.modules:
            continue
        for database in module["databases"]:
            if args.database and database != args.database:
                continue
            children = min(POSTGRES_CHILDREN, args.children) if database == "postgres" else args.children
            if database == "postgres" and not args.report:
                ensure_postgres_database(POSTGRES_URL)
            outcomes.append(run_one(name, module, database, again=args.again, children=children,
                                    report_only=args.report, timeouts=args.timeouts))
    report(outcomes)
    low = [o for o in outcomes if o.score < args.min_score]
    if low:
        print(f"\nBelow {args.min_score:.0f} %: " + ", ".join(f"{o.module} ({o.database})" for o in low))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
