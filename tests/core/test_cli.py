"""The `zyz` command: definitions check/show, init, users, audit verify, demo."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlmodel import select

from conftest import ON_POSTGRES, PASSWORD, login
from workflow.core import profile
from workflow.core.datakeys import parse_key
from workflow.core.db import make_engine, make_session_factory, transaction
from workflow.core.definitions import DEFINITIONS_DIR, PROCESS_FILES
from workflow.core.models import AuditEvent, Unit, User
from workflow.seed import COUNTIES, LEADING_GROUP, MEMBER_UNITS, OFFICE

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "definitions"


@pytest.fixture
def zyz(database_url, tmp_path):
    """Run `zyz ARGS` in-process with ZYZ_DATABASE_URL and ZYZ_INSTANCE_PATH set; apps it creates are disposed."""
    apps = []

    def create_app():  # the same factory the command uses, kept so that its engine can be closed afterwards
        from webapp import create_app as factory

        app = factory()
        apps.append(app)
        return app

    def run(*args: str, url: str | None = None, instance: Path | None = None, input: str | None = None,
            approver: str = "none"):
        env = {"ZYZ_DATABASE_URL": url or database_url, "ZYZ_INSTANCE_PATH": str(instance or tmp_path / "instance"),
               "FLASK_RUN_FROM_CLI": None, "ZYZ_ENV": None, "ZYZ_ACCOUNT_APPROVER": approver}
        return CliRunner().invoke(_main(), list(args), env=env, input=input, obj=ScriptInfo(create_app=create_app))

    yield run
    for app in apps:
        app.extensions["zyz"]["engine"].dispose()


def _main():
    from webapp.cli import main

    return main


def unit_kinds(url: str) -> Counter:
    engine = make_engine(url)
    try:
        with transaction(make_session_factory(engine)) as s:
            return Counter(s.exec(select(Unit.kind)).all())
    finally:
        engine.dispose()


# --- definitions -----------------------------------------------------------------------------------------------


def test_definitions_check_passes_every_file(zyz):
    result = zyz("definitions", "check")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines == [f"OK {DEFINITIONS_DIR / f'{name}.yaml'}" for name in PROCESS_FILES]
    assert {Path(line[3:]).stem for line in lines} >= {"designation", "town", "inspection", "rectification"}


def test_definitions_check_of_one_good_file(zyz):
    result = zyz("definitions", "check", str(DEFINITIONS_DIR / "rectification.yaml"))
    assert result.exit_code == 0 and result.output == f"OK {DEFINITIONS_DIR / 'rectification.yaml'}\n"


@pytest.mark.parametrize(("fixture", "error"), [
    ("unknown_guard.yaml", "transitions[0] (submit).guards: unknown guard 'no_such_guard'"),
    ("unreachable_state.yaml", "states.archived: unreachable from the initial state 'draft'"),
    ("invalid_yaml.yaml", "(file): not valid YAML"),
])
def test_definitions_check_prints_the_error_and_exits_1(zyz, fixture, error):
    result = zyz("definitions", "check", str(FIXTURES / fixture))
    assert result.exit_code == 1
    assert error in result.output
    assert fixture in result.output  # the message names the file
    assert "OK" not in result.output and "Traceback" not in result.output


def test_definitions_check_prints_every_error_of_a_file(zyz):
    result = zyz("definitions", "check", str(FIXTURES / "several_problems.yaml"))
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.strip()]
    assert len(errors) >= 2 and all("several_problems.yaml" in line for line in errors)


def test_definitions_check_of_a_folder_with_one_broken_file(zyz, tmp_path):
    folder = tmp_path / "defs"
    shutil.copytree(DEFINITIONS_DIR, folder)
    (folder / "town.yaml").write_text((FIXTURES / "unknown_role.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    result = zyz("definitions", "check", str(folder))
    assert result.exit_code == 1
    for name in ("designation", "inspection", "rectification"):
        assert f"OK {folder / f'{name}.yaml'}" in result.output
    assert "unknown role 'mayor'" in result.output and f"OK {folder / 'town.yaml'}" not in result.output


def test_definitions_show_prints_states_and_transitions(zyz):
    result = zyz("definitions", "show", "rectification")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("rectification v")
    assert "限期整改通知 / Rectification order" in out
    states = out.split("states:")[1].split("transitions:")[0]
    for state in ("issued", "rectifying", "extension_requested", "under_verification", "overdue", "criticised",
                  "completed"):
        assert re.search(rf"^  {state} ", states, re.M), state
    assert re.search(r"^  completed .*\[final\]$", states, re.M)
    assert "已下达 / Issued" in states
    assert "deadline rectify: field due_date" in states
    transitions = out.split("transitions:")[1]
    assert re.search(r"^  acknowledge +issued -> rectifying +\[county\]", transitions, re.M)
    assert re.search(r"^  submit_report +rectifying\|overdue -> under_verification +\[county\].*requires: report",
                     transitions, re.M)
    assert re.search(r"^  expire +\S*rectifying\S* -> overdue +\[system\]", transitions, re.M)


def test_definitions_show_of_an_unknown_key_fails(zyz):
    result = zyz("definitions", "show", "lottery")
    assert result.exit_code == 1
    assert "Unknown definition: lottery" in result.output


# --- init ------------------------------------------------------------------------------------------------------


def test_init_creates_the_schema_and_the_reference_units_and_is_idempotent(zyz, tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    first = zyz("init", url=url)
    assert first.exit_code == 0, first.output
    expected = len(COUNTIES) + 1 + 1 + len(MEMBER_UNITS)
    assert f"{expected} units added" in first.output
    engine = make_engine(url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
        assert {"unit", "app_user", "case_file", "audit_event", "deadline", "alembic_version"} <= tables
        with transaction(make_session_factory(engine)) as s:
            names = dict(s.exec(select(Unit.name, Unit.kind)).all())
    finally:
        engine.dispose()
    assert {n for n, k in names.items() if k == "county"} == set(COUNTIES) == {"城区", "矿区", "郊区", "平定县", "盂县",
                                                                                "高新区"}
    assert names[OFFICE] == "office" and names[LEADING_GROUP] == "leading_group"
    assert {n for n, k in names.items() if k == "member"} == set(MEMBER_UNITS)
    assert {"市发改委", "市科技局", "阳泉海关", "市税务局"} <= set(MEMBER_UNITS)

    second = zyz("init", url=url)
    assert second.exit_code == 0 and "0 units added" in second.output
    assert unit_kinds(url) == Counter({"county": 6, "office": 1, "leading_group": 1, "member": len(MEMBER_UNITS)})
    assert zyz("audit", "verify", url=url).exit_code == 0


def test_init_on_the_configured_database(zyz, database_url):
    """On the PostgreSQL pass this runs against PostgreSQL (the schema is already there: init migrates)."""
    assert zyz("init").exit_code == 0
    assert zyz("init").exit_code == 0
    kinds = unit_kinds(database_url)
    assert kinds["county"] == 6 and kinds["member"] == len(MEMBER_UNITS)
    assert kinds["office"] == 1 and kinds["leading_group"] == 1


# --- users -----------------------------------------------------------------------------------------------------


def _user(db, username: str) -> User | None:
    with transaction(db) as s:
        return s.exec(select(User).where(User.username == username)).first()


def test_users_create_lock_unlock(zyz, db, app):
    assert zyz("init").exit_code == 0
    created = zyz("users", "create", "--username", "yx_wang", "--name", "王丽", "--role", "county", "--unit", "盂县",
                  "--password", PASSWORD, "--email", "wang@example.gov.cn")
    assert created.exit_code == 0, created.output
    assert "created yx_wang (county, 盂县)" in created.output
    user = _user(db, "yx_wang")
    assert user.role == "county" and user.must_change_password and user.email == "wang@example.gov.cn"
    assert user.password_hash.startswith("$argon2id$")
    client = app.test_client()
    assert login(client, "yx_wang").status_code == 302

    locked = zyz("users", "lock", "yx_wang")
    assert locked.exit_code == 0 and "locked yx_wang" in locked.output
    assert not _user(db, "yx_wang").is_active
    assert client.get("/password").status_code == 302  # the live session ended with the lock
    assert login(app.test_client(), "yx_wang").status_code == 401

    unlocked = zyz("users", "unlock", "yx_wang")
    assert unlocked.exit_code == 0 and "unlocked yx_wang" in unlocked.output
    assert _user(db, "yx_wang").is_active
    assert login(app.test_client(), "yx_wang").status_code == 302

    for_a_while = zyz("users", "lock", "yx_wang", "--minutes", "10")
    assert for_a_while.exit_code == 0
    user = _user(db, "yx_wang")
    assert user.is_active and user.locked_until is not None
    assert login(app.test_client(), "yx_wang").status_code == 401

    with transaction(db) as s:
        kinds = s.exec(select(AuditEvent.kind).order_by(AuditEvent.seq)).all()
    assert {"user_created", "user_locked", "user_unlocked"} <= set(kinds)


def test_users_create_asks_for_the_password_twice(zyz, db):
    assert zyz("init").exit_code == 0
    result = zyz("users", "create", "--username", "kj_zhao", "--name", "赵磊", "--role", "member",
                 "--unit", "市科技局", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # the prompt does not echo
    assert _user(db, "kj_zhao").role == "member"


@pytest.mark.parametrize(("args", "message"), [
    (("--role", "county", "--unit", "盂县", "--password", "weak"), "at least 8 characters"),
    (("--role", "county", "--unit", "不存在县", "--password", PASSWORD), "No such unit: 不存在县"),
    (("--role", "county", "--unit", "市科技局", "--password", PASSWORD), "the role does not fit the unit"),
])
def test_users_create_refuses_with_the_reason(zyz, db, args, message):
    assert zyz("init").exit_code == 0
    result = zyz("users", "create", "--username", "someone", "--name", "某人", *args)
    assert result.exit_code == 1
    assert message in result.output
    assert _user(db, "someone") is None


def test_users_create_refuses_a_taken_username_and_lock_an_unknown_user(zyz, make):
    make.user("county", username="yx_wang")
    result = zyz("users", "create", "--username", "yx_wang", "--name", "王丽", "--role", "county", "--unit", "盂县",
                 "--password", PASSWORD)
    assert result.exit_code == 1 and "username taken" in result.output
    result = zyz("users", "lock", "nobody_here")
    assert result.exit_code == 1 and "No such user" in result.output
    assert zyz("users", "unlock", "nobody_here").exit_code == 1


def test_users_create_makes_no_business_account_while_accounts_need_approval(zyz, db):
    assert zyz("init").exit_code == 0
    for role, unit in (("county", "盂县"), ("office", OFFICE), ("member", "市科技局"), ("leader", LEADING_GROUP)):
        result = zyz("users", "create", "--username", f"new_{role}", "--name", "某人", "--role", role, "--unit", unit,
                     "--password", PASSWORD, "--email", "someone@example.gov.cn", approver="auditor")
        assert result.exit_code == 1, role
        assert "业务账户须经审批后开通：请管理员在“用户管理”页面新建账户，由审批人批准后生效。" in result.output
        assert _user(db, f"new_{role}") is None
    auditor = zyz("users", "create", "--username", "sj_audit", "--name", "审计员", "--role", "auditor", "--unit",
                  OFFICE, "--password", PASSWORD, approver="auditor")
    assert auditor.exit_code == 0, auditor.output
    assert _user(db, "sj_audit").role == "auditor"
    with transaction(db) as s:
        assert s.exec(select(AuditEvent.kind).where(AuditEvent.kind == "user_created")).all() == ["user_created"]


# --- audit verify ----------------------------------------------------------------------------------------------


def _tamper(database_url: str, sql: str) -> None:
    """Change the audit trail behind the application's back, past the append-only trigger."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            if ON_POSTGRES:
                conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
                conn.exec_driver_sql(sql)
                conn.exec_driver_sql("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
            else:
                conn.exec_driver_sql("DROP TRIGGER audit_event_no_update")
                conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


def test_audit_verify_passes_an_intact_chain(zyz, make):
    make.case("designation")
    make.case("rectification", data={"problem": "安全生产台账缺失"})
    result = zyz("audit", "verify")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: ") and "chain intact" in result.output


def test_audit_verify_fails_naming_the_edited_event(zyz, make, db, database_url):
    make.case("designation")
    with transaction(db) as s:
        target = s.exec(select(AuditEvent).order_by(AuditEvent.seq).offset(2)).first()
    with pytest.raises(sa.exc.DBAPIError), transaction(db) as s:  # the database itself refuses the edit
        s.connection().exec_driver_sql(f"UPDATE audit_event SET comment = 'x' WHERE id = {target.id}")
    assert zyz("audit", "verify").exit_code == 0

    _tamper(database_url, f"UPDATE audit_event SET comment = '改过了' WHERE id = {target.id}")
    result = zyz("audit", "verify")
    assert result.exit_code == 1
    assert f"event #{target.id} (seq {target.seq}) edited" in result.output
    assert result.output.startswith("BROKEN")


# --- demo ------------------------------------------------------------------------------------------------------


def test_demo_builds_a_database_and_prints_one_login_per_role(zyz, tmp_path):
    instance = tmp_path / "demo-instance"
    result = zyz("demo", "--no-serve", instance=instance)
    assert result.exit_code == 0, result.output
    database = instance / "demo.db"
    assert database.exists()
    assert f"demo database: {database}" in result.output
    logins = re.findall(r"^  (\w+) +(\S+) +(\S+)$", result.output, re.M)
    assert {role for role, _, _ in logins} == {"county", "office", "member", "leader", "admin", "auditor"}

    from webapp import create_app

    # the contact details are encrypted at rest, under a key of the demo's own kept beside its database
    key_file = instance / "demo-data.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(database) as raw:
        emails = [e for (e,) in raw.execute("SELECT email FROM app_user WHERE email IS NOT NULL")]
    assert emails and all(e.startswith(f"enc1:{parse_key(key_file.read_text()).kid}:") for e in emails)

    app = create_app({"DATABASE_URL": f"sqlite:///{database}", "ZYZ_ENV": "test", "TESTING": True,
                      "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
                      "DATA_KEY": key_file.read_text().strip()})
    try:
        with app.app_context(), transaction(app.extensions["zyz"]["sessions"]) as s:
            assert s.exec(select(User).where(User.username == "county_pd")).one().email == \
                    "county_pd@example.gov.cn"
        for role, username, password in logins:
            client = app.test_client()
            start = login(client, username, password)  # to the role's start page (三员分立: no inbox for some)
            assert start.status_code == 302, (role, username)
            assert client.get(start.headers["Location"]).status_code == 200, (role, start.headers["Location"])
        county = next(u for r, u, _ in logins if r == "county")
        client = app.test_client()
        login(client, county, next(p for _, u, p in logins if u == county))
        page = client.get("/inbox").get_data(as_text=True)
        assert "我的待办" in page and "草稿" in page
        # 平定县 acknowledged its designation notice; the criticism notice, the two orders' 整改通知书, the annual
        # evaluation's praise notice of 张庄镇 and the 整改通知书 of the order escalated from the problem ledger
        # still wait
        pd = app.test_client()
        login(pd, "county_pd", next(p for _, u, p in logins if u == "county_pd"))
        notices = pd.get("/receipts").get_data(as_text=True)
        assert notices.count('<span class="badge fine">已签收</span>') == 1, notices
        assert notices.count('<span class="badge soon">未签收</span>') == 5
        assert "阳专镇通〔" in notices and notices.count("整改通知书-阳专镇改〔") == 3
        # the office's two saved sets of member units (常用组合), offered on the 受理 form
        office = app.test_client()
        login(office, "office", next(p for _, u, p in logins if u == "office"))
        presets = office.get("/unit-presets").get_data(as_text=True)
        assert "工业类专业镇常用会审单位" in presets and "农业文旅类专业镇常用会审单位" in presets
        assert "市规划和自然资源局" in presets
        # last year's statistics: opened for the twelve towns, one submitted for the office to check
        overview = office.get("/statistics").get_data(as_text=True)
        assert "共 12 份" in overview and "待审核 1" in overview and "娘子关镇" in overview
        # the roster: 市农业农村局's 孙芳 holds the office's deputy director's seat and may act as the office
        ny = app.test_client()
        login(ny, "member_ny", next(p for _, u, p in logins if u == "member_ny"))
        roster = ny.get("/roster").get_data(as_text=True)
        assert "办公室副主任：" in roster and "市农业农村局 孙芳" in roster and "（空缺）" in roster
        assert 'id="acting-seat"' in ny.get("/inbox").get_data(as_text=True)
    finally:
        app.extensions["zyz"]["engine"].dispose()

    again = zyz("demo", "--no-serve", instance=instance)  # a fresh database each time
    assert again.exit_code == 0, again.output


# --- the installed console script ------------------------------------------------------------------------------


def test_the_zyz_console_script_runs(tmp_path):
    script = Path(sys.executable).with_name("zyz")
    assert script.exists()
    env = {**os.environ, "ZYZ_INSTANCE_PATH": str(tmp_path), "ZYZ_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    done = subprocess.run([str(script), "definitions", "check"], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("OK ") == len(PROCESS_FILES)
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert done.returncode == 0
    for command in ("init", "demo", "serve", "definitions", "audit", "users"):
        assert re.search(rf"^  {command}\b", done.stdout, re.M), command


# --- units and the city profile ------------------------------------------------------------------------------------


def test_units_add_rename_deactivate_activate_and_list(zyz, db):
    assert zyz("init").exit_code == 0
    added = zyz("units", "add", "市档案局", "--kind", "member")
    assert added.exit_code == 0 and added.output.startswith("added 市档案局 (member, id ")
    assert zyz("units", "rename", "市档案局", "市档案馆").output == "renamed 市档案局 to 市档案馆\n"
    assert zyz("units", "deactivate", "市档案馆").output == "deactivated 市档案馆\n"
    assert "市档案馆" not in zyz("units", "list", "--kind", "member").output
    inactive = zyz("units", "list", "--inactive").output.splitlines()
    assert len(inactive) == 1 and inactive[0].endswith("\tmember\tinactive\t市档案馆")
    assert zyz("units", "activate", "市档案馆").output == "activated 市档案馆\n"
    counties = zyz("units", "list", "--kind", "county").output.splitlines()
    assert [line.split("\t")[3] for line in counties] == list(COUNTIES)
    with transaction(db) as s:
        actions = [json.loads(e.data).get("action", "")
                   for e in s.exec(select(AuditEvent).where(AuditEvent.kind == "admin_change")).all()]
    assert [a for a in actions if a.startswith("unit_")] == ["unit_created", "unit_renamed", "unit_deactivated",
                                                             "unit_activated"]


def test_units_commands_refuse_with_the_reason(zyz):
    assert zyz("init").exit_code == 0
    twice = zyz("units", "add", "盂县", "--kind", "county")
    assert twice.exit_code == 1 and "已有名为“盂县”的单位。" in twice.output
    empty = zyz("units", "add", " ", "--kind", "member")
    assert empty.exit_code == 1 and "请填写单位名称。" in empty.output
    unknown = zyz("units", "deactivate", "市不存在局")
    assert unknown.exit_code == 1 and "单位不存在：市不存在局" in unknown.output
    office = zyz("units", "deactivate", OFFICE)
    assert office.exit_code == 1 and "领导小组办公室不能停用" in office.output


def test_init_with_a_profile_sets_up_another_city_for_every_later_command(zyz, database_url):
    example = DEFINITIONS_DIR / "profiles" / "example.yaml"
    first = zyz("init", "--profile", str(example))
    assert first.exit_code == 0, first.output
    assert "city 晋中市; 11 units added" in first.output  # three counties, the office, the group, six members
    # A later command (a new application, as the web server and the scheduler start) reads the stored profile,
    # whatever this process used before.
    profile.use_profile(None)
    later = zyz("units", "list", "--kind", "county")
    assert [line.split("\t")[3] for line in later.output.splitlines()] == ["榆次区", "太谷区", "平遥县"]
    again = zyz("init")
    assert again.exit_code == 0 and "city 晋中市; 0 units added" in again.output
    assert unit_kinds(database_url) == Counter({"member": 6, "county": 3, "office": 1, "leading_group": 1})


def test_init_refuses_a_broken_profile_naming_file_and_key(zyz, tmp_path):
    broken = tmp_path / "city.yaml"
    text = (DEFINITIONS_DIR / "profiles" / "example.yaml").read_text(encoding="utf-8")
    broken.write_text(text.replace("晋专镇改〔{year}〕{n}号", "晋专镇改〔{year}〕号")
                      .replace("{position: liaison,", "{position: secretary,"), encoding="utf-8")
    result = zyz("init", "--profile", str(broken))
    assert result.exit_code == 2
    assert "error: city.yaml: series.rectification_notice: must contain {n} (and usually {year})" in result.output
    assert "city.yaml: roster[13].position: must be one of leader, deputy_leader" in result.output


def test_init_refuses_a_profile_whose_threshold_the_eligibility_table_does_not_define(zyz, tmp_path):
    broken = tmp_path / "city.yaml"
    text = (DEFINITIONS_DIR / "profiles" / "example.yaml").read_text(encoding="utf-8")
    broken.write_text(text.replace("output_manufacturing: 8", "output_mining: 8"), encoding="utf-8")
    result = zyz("init", "--profile", str(broken))
    assert result.exit_code == 2
    assert "error: city.yaml: thresholds.output_mining: the eligibility table (eligibility.yaml) has no threshold " \
           "output_mining" in result.output


def test_a_stored_profile_whose_threshold_the_table_lacks_stops_every_command(zyz, database_url):
    from datetime import UTC, datetime

    from workflow.designation.eligibility import EligibilityError

    assert zyz("init").exit_code == 0
    text = (DEFINITIONS_DIR / "profiles" / "example.yaml").read_text(encoding="utf-8")
    engine = make_engine(database_url)
    with transaction(make_session_factory(engine)) as s:  # as if eligibility.yaml had lost a threshold since
        profile.store(s, profile.parse_profile(text.replace("output_manufacturing: 8", "output_mining: 8"),
                                               "city.yaml"), datetime.now(UTC))
    engine.dispose()
    result = zyz("units", "list")
    assert result.exit_code != 0 and isinstance(result.exception, EligibilityError)
    assert "profile.yaml (stored): thresholds.output_mining: the eligibility table (eligibility.yaml) has no " \
           "threshold output_mining" in str(result.exception)
