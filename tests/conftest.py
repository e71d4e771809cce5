"""Fixtures: a migrated database per test (SQLite file, or PostgreSQL when ZYZ_TEST_DATABASE_URL says so),
and factories for units, users, towns and cases."""

from __future__ import annotations

import copy
import hashlib
import io
import itertools
import os
import re
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel, select

from workflow import processes
from workflow.accounts.auth import create_user
from workflow.core import audit, calendar
from workflow.core.actors import Actor
from workflow.core.calendar import DEFAULT_CALENDAR
from workflow.core.catalog import CATALOG
from workflow.core.db import make_engine, make_session_factory, migrate, transaction
from workflow.core.deadlines import close_deadlines, insert_deadlines, plan_deadlines
from workflow.core.engine import create_case
from workflow.core.models import AuditEvent, Case, Unit, UnitKind, User
from workflow.towns.services import create_town

processes.load()

TEST_DATABASE_URL = os.environ.get("ZYZ_TEST_DATABASE_URL", "")
ON_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")


def _database_from_pool(url: str, size: int) -> str:
    """One of `size` PostgreSQL databases (<name>_0 …), held by this process until it ends, so that several test
    processes can run at once (tests/mutation/run.py runs mutants side by side this way); made when missing."""
    import atexit
    import fcntl

    target = sa.engine.make_url(url)
    for slot in range(size):
        lock = open(f"/tmp/zyz-test-db-{target.database}-{slot}.lock", "w")  # noqa: SIM115 (held until exit)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        _HELD.append(lock)
        atexit.register(lock.close)
        name = f"{target.database}_{slot}"
        admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return target.set(database=name).render_as_string(hide_password=False)
    raise RuntimeError(f"all {size} test databases of the pool are in use")


_HELD: list = []
if ON_POSTGRES and os.environ.get("ZYZ_TEST_DATABASE_POOL"):
    TEST_DATABASE_URL = _database_from_pool(TEST_DATABASE_URL, int(os.environ["ZYZ_TEST_DATABASE_POOL"]))
    os.environ["ZYZ_TEST_DATABASE_URL"] = TEST_DATABASE_URL  # the processes the tests start use it too
# With ZYZ_TEST_KEEP_SCHEMA=1 a schema already migrated to the head revision is kept (each test truncates it anyway):
# mutation runs start a test session per mutant, and migrating costs more than most of their tests.
KEEP_SCHEMA = os.environ.get("ZYZ_TEST_KEEP_SCHEMA") == "1"
ON_CI = os.environ.get("CI", "").lower() == "true"
PASSWORD = "Zyz-test-2026"


def pytest_collection_modifyitems(config, items):
    """Tests for one database are deselected (not skipped) on the other's pass; CI runs both passes."""
    other = "sqlite" if ON_POSTGRES else "postgres"
    keep, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker(other) else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


FRESH_CACHES = os.environ.get("ZYZ_TEST_FRESH_CACHES") == "1"


@pytest.fixture(autouse=True)
def _fresh_caches():
    """With ZYZ_TEST_FRESH_CACHES=1 (set by tests/mutation/run.py), every test starts with the process's caches
    of loaded tables and built queries empty, so that each test that uses one runs the code that builds it (else
    a mutant of a loader meets only the first test of the run). Normal runs keep the caches, as production does."""
    if FRESH_CACHES:
        from workflow.core import access
        from workflow.designation import eligibility
        from workflow.notify import rules as notices

        eligibility.table_for.cache_clear()
        eligibility._placeholders.cache_clear()
        access._case_by_id.cache_clear()
        notices._RECIPIENT_QUERIES.clear()
        notices.use_rules(None)
        calendar.invalidate_calendar()
    yield


@pytest.fixture(autouse=True)
def _no_account_approval():
    """Account changes take effect at once, as under ZYZ_ENV=test, unless a test asks for an approver (the
    workflow's own default is the auditor)."""
    from workflow.core.settings import configure, settings

    before = settings.account_approver
    configure(account_approver="none")
    yield
    configure(account_approver=before)


@pytest.fixture(autouse=True)
def _no_data_key():
    """Each test starts without a data key (personal data stored as it is) unless it sets one or builds an app
    with ZYZ_DATA_KEY; the key of one test never reaches the next."""
    from workflow.core import datakeys

    datakeys.configure(None)
    yield
    datakeys.configure(None)


@pytest.fixture(autouse=True)
def _built_in_password_list():
    """Each test checks passwords against the built-in list alone unless it configures a deployment's list (or
    builds an app with ZYZ_PASSWORD_LISTS); the list of one test never reaches the next."""
    from workflow.accounts import common_passwords

    common_passwords.configure(None)
    yield
    common_passwords.configure(None)


@pytest.fixture(autouse=True)
def _shipped_profile():
    """Every test ends on the shipped city profile, whichever profile it chose (workflow.core.profile)."""
    yield
    from workflow.core import profile

    profile.use_profile(None)


@pytest.fixture(scope="session")
def _template(tmp_path_factory):
    """Migrate once per run: a template SQLite file to copy, or the PostgreSQL schema to truncate."""
    if ON_POSTGRES:
        engine = make_engine(TEST_DATABASE_URL)
        if not (KEEP_SCHEMA and _at_head(engine)):
            with engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
            migrate(engine)
        engine.dispose()
        return TEST_DATABASE_URL
    path = tmp_path_factory.mktemp("template") / "zyz.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


def _at_head(engine) -> bool:
    """Whether the database's schema is at the migrations' head revision."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from workflow.core.db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return False
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == head


def _tables() -> list[str]:
    return [t.name for t in SQLModel.metadata.sorted_tables]


@pytest.fixture
def database_url(_template, tmp_path) -> str:
    """A fresh, migrated database for this test."""
    if ON_POSTGRES:
        engine = make_engine(TEST_DATABASE_URL)
        with engine.begin() as conn:  # the trail refuses TRUNCATE: its trigger is set aside for this transaction
            conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_truncate")
            conn.exec_driver_sql(f"TRUNCATE {', '.join(_tables())} RESTART IDENTITY CASCADE")
            conn.exec_driver_sql("ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_truncate")
            conn.exec_driver_sql(f"INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '{audit.GENESIS}')")
        engine.dispose()
        # The holiday table's version starts again from nothing in the emptied tables, as after restoring a backup:
        # a calendar this process loaded under the same number in an earlier test would be taken for current.
        calendar.invalidate_calendar()
        return TEST_DATABASE_URL
    path = tmp_path / "zyz.db"
    shutil.copyfile(_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(autouse=True)
def _upload_dir(tmp_path):
    """Documents generated outside the app (transitions fired in tests) go to this test's folder."""
    from workflow.core.settings import configure, settings

    before = settings.upload_dir
    configure(upload_dir=str(tmp_path / "files"))
    yield
    configure(upload_dir=before)


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine):
    """The session factory; use `with transaction(db) as s:` for one unit of work."""
    return make_session_factory(engine)


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # a Friday, 10:00 in Yangquan


@pytest.fixture
def catalog():
    return CATALOG


COUNTIES = ["城区", "矿区", "郊区", "平定县", "盂县", "高新区"]


class Factory:
    """make_unit / make_user / make_town / make_case, each committed in its own transaction."""

    def __init__(self, db, now):
        self.db = db
        self.now = now
        self._n = itertools.count(1)
        self._actors: dict[int, Actor] = {}

    def unit(self, name: str, kind: str) -> Unit:
        with transaction(self.db) as s:
            found = s.exec(select(Unit).where(Unit.name == name)).first()
            if found:
                return found
            unit = Unit(name=name, kind=kind, created_at=self.now)
            s.add(unit)
            s.flush()
            return unit

    def user(self, role: str = "county", *, county: str = "盂县", unit: str | None = None,
             username: str | None = None, password: str = PASSWORD, must_change_password: bool = False,
             **fields) -> User:
        kind = {"county": UnitKind.county, "member": UnitKind.member, "leader": UnitKind.leading_group}.get(
            role, UnitKind.office)
        unit_name = unit or {"county": county, "member": "市科技局", "leader": "阳泉市专业镇高质量发展领导小组"}.get(
            role, "市工信局")
        unit_row = self.unit(unit_name, kind)
        with transaction(self.db) as s:
            user = create_user(s, username=username or f"{role}{next(self._n)}",
                               display_name=fields.pop("display_name", f"{role}用户"),
                               role=role, unit_id=unit_row.id, password=password, now=self.now,
                               must_change_password=must_change_password, **fields)
        self._actors[user.id] = Actor.of(user, unit_row)
        return user

    def actor(self, user: User) -> Actor:
        """The actor of a user made here (no database access, so it may be called inside a transaction)."""
        return self._actors[user.id]

    def town(self, name: str | None = None, county: str = "盂县", **fields):
        county_unit = self.unit(county, UnitKind.county)
        with transaction(self.db) as s:
            return create_town(session=s, actor=Actor.system(), name=name or f"测试镇{next(self._n)}",
                               county_id=county_unit.id, now=self.now, **fields)

    def case(self, definition: str = "designation", *, state: str | None = None, county: str = "盂县",
             town=None, data: dict | None = None, by: User | None = None, materials: bool = True) -> Case:
        """A case created the normal way, then put straight into `state` with that state's deadlines.

        Data the definition does not accept at creation (opinions, expert scores...) is written with the state.
        A designation that the county may still submit carries its required 证明材料 unless `materials` is false.
        """
        town = town or self.town(county=county)
        definition_obj = CATALOG.current(definition)
        creator = sorted(definition_obj.create_roles - {"system"})[0]
        actor = self.actor(by) if by else self.actor(self.user(creator, county=county))
        with transaction(self.db) as s:
            data = dict(data or {})
            accepted = {k: v for k, v in data.items() if k in definition_obj.create.accepts}
            case = create_case(session=s, definition_key=definition, actor=actor, now=self.now, town_id=town.id,
                               data=accepted)
            extra = {k: v for k, v in data.items() if k not in accepted}
            if extra and not state:
                raise ValueError(f"fields {sorted(extra)} can only be set together with a state")
            if state and state != case.state:
                close_deadlines(s, case_id=case.id, state=case.state, now=self.now)
                case_data = {**case.data, **extra}
                rows = plan_deadlines(s, case_id=case.id, state=definition_obj.states[state], data=case_data,
                                      now=self.now, calendar=DEFAULT_CALENDAR)
                insert_deadlines(s, case.id, rows)
                s.connection().execute(sa.update(Case.__table__).where(Case.__table__.c.id == case.id)
                                       .values(state=state, data=case_data))
                case.state, case.data = state, case_data
            if materials and definition == "designation" and case.state in ("draft", "returned"):
                attach_materials(s, case.id, self.now)  # as a county does before it submits
            return case


@pytest.fixture
def make(db, now) -> Factory:
    return Factory(db, now)


def footprint(db) -> tuple[int, list[tuple[int, int, str]]]:
    """How many audit events, and each case's (id, version, state): unchanged means nothing was written.

    A refusal (403) is itself recorded as a permission_refused event, or counted into a permission_refused_summary
    (tests/core/test_audit_refusals.py); those are left out here, since these tests ask whether the refused action
    wrote anything."""
    with transaction(db) as s:
        events = s.exec(select(sa.func.count()).select_from(AuditEvent)
                        .where(AuditEvent.kind.not_in(("permission_refused", "permission_refused_summary")))).one()
        cases = s.exec(select(Case.id, Case.version, Case.state).order_by(Case.id)).all()
    return int(events), [tuple(c) for c in cases]


def reload(db, case_id: int) -> Case:
    with transaction(db) as s:
        return s.get(Case, case_id)


ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def isolated_catalog():
    """CATALOG for a test that adds definition versions: what it adds is taken out again afterwards."""
    CATALOG.keys()  # the files are loaded before the snapshot, not during the test
    saved = {name: dict(getattr(CATALOG, name)) for name in ("_versions", "_current", "_machines")}
    yield CATALOG
    for name, value in saved.items():
        getattr(CATALOG, name).clear()
        getattr(CATALOG, name).update(value)


# --- the web application -------------------------------------------------------------------------------------

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"


def app_config(database_url: str, tmp_path, **config) -> dict:
    """The configuration of a test's application on the test's database, with `config` on top."""
    return {"DATABASE_URL": database_url, "ZYZ_ENV": "test", "TESTING": True, "SECRET_KEY": TEST_SECRET_KEY,
            "UPLOAD_DIR": str(tmp_path / "files"), **config}


@pytest.fixture
def app(database_url, tmp_path):
    from webapp import create_app

    app = create_app(app_config(database_url, tmp_path))
    yield app
    engine = app.extensions["zyz"]["engine"]
    # A request the browser left in flight (an image still loading when the test ended) holds a connection until
    # it ends; dispose() closes only the connections in the pool, so wait for those first (briefly).
    deadline = time.monotonic() + 5
    while engine.pool.checkedout() and time.monotonic() < deadline:
        time.sleep(0.02)
    engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def apps(database_url, tmp_path):
    """Apps built with other settings (`apps(PASSWORD_POLICY="asvs")`), on the test's database; disposed of at the
    end."""
    from webapp import create_app

    made = []

    def build(**config):
        made.append(create_app(app_config(database_url, tmp_path, **config)))
        return made[-1]

    yield build
    for built in made:
        built.extensions["zyz"]["engine"].dispose()


@pytest.fixture
def run_zyz(database_url, tmp_path):
    """Run `zyz ARGS` in-process against the test database (each call builds the app as the command would);
    `env` adds environment variables for that call."""
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from webapp.cli import main

    apps = []

    def create_app():
        from webapp import create_app as factory

        app = factory()
        apps.append(app)
        return app

    def run(*args: str, env: dict[str, str] | None = None):
        base = {"ZYZ_DATABASE_URL": database_url, "ZYZ_INSTANCE_PATH": str(tmp_path / "instance"),
                "FLASK_RUN_FROM_CLI": None, "ZYZ_ENV": None}
        return CliRunner().invoke(main, list(args), env={**base, **(env or {})},
                                  obj=ScriptInfo(create_app=create_app))

    yield run
    for app in apps:
        app.extensions["zyz"]["engine"].dispose()


def fail_sealing(monkeypatch, *, at: int, purpose: str | None = None) -> None:
    """The data keyring's seal fails (the machine going down) at its `at`-th call (for `purpose`, when given)."""
    from workflow.core import datakeys

    calls = {"n": 0}
    seal = datakeys.KEYRING.seal

    def failing(text: str, sealed_for: str) -> str:
        if purpose is None or sealed_for == purpose:
            calls["n"] += 1
            if calls["n"] == at:
                raise OSError("the machine went down")
        return seal(text, sealed_for)

    monkeypatch.setattr(datakeys.KEYRING, "seal", failing)


def on_town_version_2(db, *towns, now) -> None:
    """The towns' registry records kept on town.yaml version 2 (designated before version 3): a definition version
    the database holds and this process never loaded from the files."""
    from workflow.core.models import DefinitionSource
    from workflow.core.queries import registry_case

    source = (Path(__file__).parent / "fixtures" / "recommendation" / "town_v2.yaml").read_text(encoding="utf-8")
    with transaction(db) as s:
        s.add(DefinitionSource(key="town", version=2, sha256=hashlib.sha256(source.encode()).hexdigest(),
                               source=source, loaded_at=now))
        for town in towns:
            s.connection().execute(sa.update(Case.__table__).where(Case.__table__.c.id == registry_case(s, town.id).id)
                                   .values(definition_version=2))


def without_csrf_token(page: str) -> str:
    """The page with its CSRF tokens blanked: a token carries the second it was signed in, so two pages made a
    second apart differ there and nowhere else."""
    return CSRF_RE.sub('name="csrf_token" value=""', page)


def csrf_token(client, url: str = "/login") -> str:
    """The CSRF token of the form on `url` (the session keeps one token)."""
    page = client.get(url)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url} ({page.status_code})"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):
    """Log in through the login form; returns the response."""
    token = csrf_token(client, "/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def api_headers(client, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Bearer headers for `username`, from POST /api/v1/auth/token."""
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.json['token']}"}


# --- the browser -----------------------------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture
def live_server(app):
    """The app served on a free loopback port in a thread, for the browser."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)


COMPLETE_APPLICATION = {
    "industry_category": "manufacturing", "leading_industry": "装备制造", "main_products": "矿山机械、液压支架",
    "output_yi": 12.5, "county_share_pct": 18.5, "jobs": 3200, "local_workers": 2100,
    "average_income": 52000, "leading_enterprises": [{"name": "阳泉华鑫机械有限公司", "honours": ["zjtx"]}],
    "supporting_enterprises": 26, "business_environment": "设立企业服务专班，审批事项全程代办。",
}


def attach_materials(session, case_id: int, now, kinds=None) -> None:
    """A row for a small PDF of each kind of 证明材料 definitions/materials.yaml requires (or of `kinds`) on the
    case: rows only, without the file nor audit events, so that tests counting a case's events or the stored files
    count what they do themselves."""
    from workflow.core.models import Attachment
    from workflow.designation.materials import checklist

    sha256 = hashlib.sha256(MATERIAL_PDF).hexdigest()
    for kind in kinds if kinds is not None else [m.kind for m in checklist() if m.required]:
        session.add(Attachment(case_id=case_id, kind=kind, sha256=sha256, filename=f"{kind}.pdf",
                               content_type="application/pdf", size=len(MATERIAL_PDF), uploaded_at=now))
    session.flush()


def upload_materials(client, headers: dict[str, str], case_id: int) -> None:
    """Upload each required kind of 证明材料 through the API, as a county's client does."""
    from workflow.designation.materials import checklist

    for material in checklist():
        if material.required:
            response = client.post(f"/api/v1/cases/{case_id}/attachments", headers=headers,
                                   data={"file": (io.BytesIO(MATERIAL_PDF), f"{material.kind}.pdf"),
                                         "kind": material.kind})
            assert response.status_code == 201, response.get_data(as_text=True)


MATERIAL_PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.fixture
def complete_application() -> dict:
    """A manufacturing town's designation application that meets every criterion: `submit` accepts it."""
    return copy.deepcopy(COMPLETE_APPLICATION)
