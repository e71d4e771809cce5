"""A task of the action plan as the office enters it (by the page, the workbook import or a meeting's decisions),
checked by workflow.programmes.rules.task_entry_reasons: each refusal with its exact reason, each limit at its
edge (the limit accepted, one more refused), and the task as it is kept when accepted. Then the helpers the task's
guards and actions share: what an id is, which units are active and of what kind, which attachments a report may
name, and how the report's period moves on."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
import time_machine
from sqlmodel import select

from conftest import reload
from workflow.core.access import MAX_ID
from workflow.core.calendar import DEFAULT_CALENDAR, LOCAL_TZ, local_date
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.errors import Unprocessable
from workflow.core.models import Attachment, Case, Deadline, Unit, UnitKind, User
from workflow.programmes import rules
from workflow.programmes.rules import task_entry_reasons
from workflow.programmes.tasks import open_plan

YEAR = 2026

NOT_A_MAPPING = {"zh": "任务内容格式不正确", "en": "the task must be a mapping", "field": "task"}
PROGRAMME = {"zh": "请选择所属工程", "en": "choose the programme", "field": "programme"}
TITLE = {"zh": "请填写任务名称（不超过200字）", "en": "give the task's title", "field": "title"}
UNITS = {"zh": "请选择责任单位（成员单位或县区，各一次）", "en": "choose the responsible units, each once",
         "field": "units"}
LEAD = {"zh": "牵头单位必须是成员单位", "en": "the lead unit must be a member unit", "field": "lead_unit_id"}
UNIT_KIND = {"zh": "责任单位必须是成员单位或县（区）", "en": "responsible units must be member units or counties",
             "field": "units"}
TOWN = {"zh": "专业镇须属于所选的县（区）", "en": "the town must be in one of the counties chosen", "field": "town_id"}
TARGET = {"zh": "请填写目标任务", "en": "give the target", "field": "target_text"}
FIGURE = {"zh": "目标数值必须是数字", "en": "the target figure must be a number", "field": "target_figure"}
INDICATOR = {"zh": "关联指标不是工作看板的发展目标指标", "en": "the indicator is not one of the dashboard's targets",
             "field": "indicator"}
CYCLE = {"zh": "报送周期只能是按月或按季度", "en": "reports are monthly or quarterly", "field": "report_cycle"}
MILESTONES = {"zh": "节点目标最多12个", "en": "at most 12 milestones", "field": "milestones"}


def milestone(i: int) -> dict[str, str]:
    return {"zh": f"第{i}个节点目标须有内容和本年度内的完成日期",
            "en": f"milestone {i} needs a title and a due date in the plan's year", "field": "milestones"}


@pytest.fixture
def units(make, db) -> dict[str, int]:
    """Units of every kind, an inactive member unit, and a town of 盂县."""
    found = {"kj": make.unit("市科技局", UnitKind.member).id, "sw": make.unit("市商务局", UnitKind.member).id,
             "yx": make.unit("盂县", UnitKind.county).id, "pd": make.unit("平定县", UnitKind.county).id,
             "office": make.unit("市工信局", UnitKind.office).id,
             "group": make.unit("阳泉市专业镇高质量发展领导小组", UnitKind.leading_group).id,
             "gone": make.unit("市已撤销局", UnitKind.member).id}
    with transaction(db) as s:
        s.connection().execute(sa.update(Unit.__table__).where(Unit.__table__.c.id == found["gone"])
                               .values(is_active=False))
    found["town"] = make.town("娘子关镇", county="盂县").id
    found["pd_town"] = make.town("冠山镇", county="平定县").id
    return found


def entry(db, task, year: int | None = YEAR, **kw):
    with transaction(db) as s:
        return task_entry_reasons(s.connection(), task, year, **kw)


def reasons(db, task, year: int | None = YEAR, **kw) -> list[dict]:
    return entry(db, task, year, **kw)[1]


def good(known, **changes) -> dict:
    task = {"programme": "innovation", "title": "新建省级企业技术中心", "lead_unit_id": known["kj"],
            "units": [known["kj"], known["yx"]], "target_text": "全年新建省级企业技术中心3家"}
    return {**task, **changes}


# --- the accepted task, as it is kept ----------------------------------------------------------------------------

def test_an_accepted_task_is_kept_cleaned(db, units):
    task = good(units, title="  新建省级企业技术中心  ", target_text=" 全年3家 ", target_figure=" 3 ",
                indicator=" total_output ", report_cycle="quarterly", town_id=units["town"],
                milestones=[{"title": " 完成认定 ", "due_date": f"{YEAR}-12-20"},
                            {"title": "完成申报", "due_date": f"{YEAR}-03-31"}])
    assert entry(db, task) == ({
        "programme": "innovation", "title": "新建省级企业技术中心", "lead_unit_id": units["kj"],
        "units": [units["kj"], units["yx"]], "town_id": units["town"], "target_text": "全年3家",
        "target_figure": "3", "indicator": "total_output", "report_cycle": "quarterly",
        "milestones": [{"title": "完成申报", "due_date": f"{YEAR}-03-31"},
                       {"title": "完成认定", "due_date": f"{YEAR}-12-20"}]}, [])


def test_what_is_left_out_takes_its_default(db, units):
    assert entry(db, good(units)) == ({
        "programme": "innovation", "title": "新建省级企业技术中心", "lead_unit_id": units["kj"],
        "units": [units["kj"], units["yx"]], "town_id": None, "target_text": "全年新建省级企业技术中心3家",
        "target_figure": None, "indicator": None, "report_cycle": "monthly", "milestones": []}, [])
    blank = good(units, town_id="", target_figure="", indicator="   ", report_cycle="", milestones=None)
    assert entry(db, blank) == entry(db, good(units))
    nothing = good(units, town_id=None, target_figure=None, indicator=None, report_cycle=None, milestones=[])
    assert entry(db, nothing) == entry(db, good(units))


# --- the task itself ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("task", [None, [], "任务", 3, ("programme", "innovation")])
def test_a_task_that_is_not_a_mapping(db, units, task):
    assert entry(db, task) == ({}, [NOT_A_MAPPING])


def test_an_empty_task_gives_every_reason_in_order(db, units):
    assert entry(db, {}) == ({
        "programme": None, "title": "", "lead_unit_id": None, "units": [], "town_id": None, "target_text": "",
        "target_figure": None, "indicator": None, "report_cycle": "monthly", "milestones": []},
        [PROGRAMME, TITLE, UNITS, LEAD, TARGET])


def test_every_field_wrong_gives_every_reason_in_the_forms_order(db, units):
    task = {"programme": "nope", "title": "", "lead_unit_id": units["yx"], "units": [units["office"]],
            "town_id": units["town"], "target_text": "", "target_figure": "三", "indicator": "nope",
            "report_cycle": "weekly", "milestones": [{"title": "完成申报"}, {"due_date": f"{YEAR}-03-31"}]}
    assert reasons(db, task) == [PROGRAMME, TITLE, LEAD, UNIT_KIND, TOWN, TARGET, FIGURE, INDICATOR, CYCLE,
                                 milestone(1), milestone(2)]
    assert reasons(db, {**task, "milestones": _milestones(13)}) == [PROGRAMME, TITLE, LEAD, UNIT_KIND, TOWN, TARGET,
                                                                    FIGURE, INDICATOR, CYCLE, MILESTONES]


# --- the programme -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["market_entities", "innovation", "environment"])
def test_each_programme_of_the_plan(db, units, key):
    clean, found = entry(db, good(units, programme=key))
    assert (clean["programme"], found) == (key, [])


@pytest.mark.parametrize("key", [None, "", "nope", "INNOVATION", " innovation", 1])
def test_a_programme_not_of_the_plan(db, units, key):
    clean, found = entry(db, good(units, programme=key))
    assert (clean["programme"], found) == (None, [PROGRAMME])


# --- the title and the target -----------------------------------------------------------------------------------

def test_the_title_holds_200_characters(db, units):
    assert entry(db, good(units, title="题" * 200))[0]["title"] == "题" * 200
    assert reasons(db, good(units, title="题" * 200)) == []
    assert reasons(db, good(units, title=" " + "题" * 200 + " ")) == []  # counted once trimmed
    assert reasons(db, good(units, title="题" * 201)) == [TITLE]


@pytest.mark.parametrize("title", [None, "", "   ", 5, ["任务"]])
def test_a_task_needs_a_title(db, units, title):
    clean, found = entry(db, good(units, title=title))
    assert (clean["title"], found) == ("", [TITLE])


def test_the_target_holds_2000_characters(db, units):
    assert entry(db, good(units, target_text="目" * 2000))[0]["target_text"] == "目" * 2000
    assert reasons(db, good(units, target_text="目" * 2000)) == []
    assert reasons(db, good(units, target_text="目" * 2001)) == [TARGET]


@pytest.mark.parametrize("target", [None, "", "  ", 3])
def test_a_task_needs_a_target(db, units, target):
    clean, found = entry(db, good(units, target_text=target))
    assert (clean["target_text"], found) == ("", [TARGET])


# --- the units ---------------------------------------------------------------------------------------------------

def test_member_units_and_counties_carry_tasks(db, units):
    for chosen in ([units["kj"]], [units["yx"]], [units["sw"], units["pd"], units["kj"], units["yx"]]):
        clean, found = entry(db, good(units, units=chosen))
        assert (clean["units"], found) == (chosen, [])


@pytest.mark.parametrize("chosen", [None, [], (1, 2), {"a": 1}, "1", 1, [True], [False], [0], [-1], ["1"], [1.0],
                                    [None], [MAX_ID + 1]])
def test_responsible_units_that_are_not_a_list_of_ids(db, units, chosen):
    clean, found = entry(db, good(units, units=chosen))
    assert (clean["units"], found) == ([], [UNITS])


def test_a_responsible_unit_named_twice(db, units):
    clean, found = entry(db, good(units, units=[units["kj"], units["yx"], units["kj"]]))
    assert (clean["units"], found) == ([], [UNITS])


def test_one_id_that_is_not_one_refuses_the_list(db, units):
    clean, found = entry(db, good(units, units=[units["kj"], "x"]))
    assert (clean["units"], found) == ([], [UNITS])


@pytest.mark.parametrize("unit", ["office", "group", "gone"])
def test_responsible_units_of_the_wrong_kind(db, units, unit):
    chosen = [units["yx"], units[unit]]
    clean, found = entry(db, good(units, units=chosen))
    assert (clean["units"], found) == (chosen, [UNIT_KIND])


def test_a_responsible_unit_that_does_not_exist(db, units):
    assert reasons(db, good(units, units=[units["kj"], 9999])) == [UNIT_KIND]
    assert reasons(db, good(units, units=[MAX_ID])) == [UNIT_KIND]  # the largest id is an id, of no unit


def test_the_lead_unit_is_an_active_member_unit(db, units):
    clean, found = entry(db, good(units, lead_unit_id=units["sw"], units=[units["yx"]]))
    assert (clean["lead_unit_id"], found) == (units["sw"], [])


@pytest.mark.parametrize("lead", ["yx", "office", "group", "gone"])
def test_a_lead_unit_of_the_wrong_kind(db, units, lead):
    clean, found = entry(db, good(units, lead_unit_id=units[lead]))
    assert (clean["lead_unit_id"], found) == (units[lead], [LEAD])
    assert reasons(db, good(units, lead_unit_id=units[lead]), lead_required=False) == [LEAD]


@pytest.mark.parametrize("lead", [None, "", 0, -1, 9999, MAX_ID + 1, True, 1.0])
def test_a_lead_unit_that_is_not_one(db, units, lead):
    assert reasons(db, good(units, lead_unit_id=lead)) == [LEAD]


def test_a_lead_unit_given_as_text_is_refused(db, units):
    assert reasons(db, good(units, lead_unit_id=str(units["kj"]))) == [LEAD]


def test_a_meetings_decision_may_have_no_lead_unit(db, units):
    task = good(units)
    del task["lead_unit_id"]
    assert entry(db, task, lead_required=False) == ({**entry(db, good(units))[0], "lead_unit_id": None}, [])
    assert reasons(db, task) == [LEAD]  # a task of the plan needs one
    assert reasons(db, task, lead_required=True) == [LEAD]
    assert reasons(db, good(units, lead_unit_id=""), lead_required=False) == [LEAD]  # given, and not a unit


def test_refused_units_are_not_checked_for_their_kind(db, units):
    """The list refused as a whole is not looked at unit by unit: one reason, not two."""
    assert reasons(db, good(units, units=[units["office"], units["office"]])) == [UNITS]


# --- the town ----------------------------------------------------------------------------------------------------

def test_the_town_is_in_a_county_chosen(db, units):
    clean, found = entry(db, good(units, units=[units["yx"], units["pd"]], town_id=units["pd_town"]))
    assert (clean["town_id"], found) == (units["pd_town"], [])


@pytest.mark.parametrize("town", ["pd_town", "missing", "text", "true", "zero", "list"])
def test_a_town_that_is_not_in_a_county_chosen(db, units, town):
    value = {"pd_town": units["pd_town"], "missing": 9999, "text": str(units["town"]), "true": True, "zero": 0,
             "list": [units["town"]]}[town]
    clean, found = entry(db, good(units, town_id=value))
    assert (clean["town_id"], found) == (value, [TOWN])


def test_a_town_without_its_county_among_the_units(db, units):
    assert reasons(db, good(units, units=[units["kj"]], town_id=units["town"])) == [TOWN]
    # the units refused, no county is chosen
    assert reasons(db, good(units, units=[units["yx"], units["yx"]], town_id=units["town"])) == [UNITS, TOWN]


# --- the figure, the indicator, the cycle ------------------------------------------------------------------------

@pytest.mark.parametrize(("given", "kept"), [("3", "3"), (3, "3"), ("2.50", "2.50"), (2.5, "2.5"), ("-1", "-1"),
                                             (" 12 ", "12"), ("1e3", "1E+3"), (0, "0")])
def test_a_target_figure_is_kept_as_a_number_written_out(db, units, given, kept):
    assert entry(db, good(units, target_figure=given)) == ({**entry(db, good(units))[0], "target_figure": kept}, [])


@pytest.mark.parametrize("given", ["三", "3家", "1,000", "abc", [3], "NaN", "Infinity", "-inf", "sNaN"])
def test_a_target_figure_that_is_not_a_number(db, units, given):
    clean, found = entry(db, good(units, target_figure=given))
    assert (clean["target_figure"], found) == (given, [FIGURE])


@pytest.mark.parametrize("key", ["provincial_towns", "municipal_towns", "total_output"])
def test_an_indicator_of_the_dashboard(db, units, key):
    clean, found = entry(db, good(units, indicator=key))
    assert (clean["indicator"], found) == (key, [])


@pytest.mark.parametrize("key", ["nope", "TOTAL_OUTPUT", "total output"])
def test_an_indicator_that_is_not_one(db, units, key):
    clean, found = entry(db, good(units, indicator=key))
    assert (clean["indicator"], found) == (key, [INDICATOR])


@pytest.mark.parametrize("cycle", ["monthly", "quarterly"])
def test_the_report_cycles(db, units, cycle):
    clean, found = entry(db, good(units, report_cycle=cycle))
    assert (clean["report_cycle"], found) == (cycle, [])


@pytest.mark.parametrize("cycle", ["weekly", "Monthly", "QUARTERLY", 1])
def test_a_report_cycle_that_is_not_one(db, units, cycle):
    clean, found = entry(db, good(units, report_cycle=cycle))
    assert (clean["report_cycle"], found) == (cycle, [CYCLE])


# --- the milestones ----------------------------------------------------------------------------------------------

def _milestones(n: int) -> list[dict[str, str]]:
    return [{"title": f"节点{i}", "due_date": f"{YEAR}-{i:02d}-15"} for i in range(1, n + 1)]


def test_twelve_milestones_and_not_thirteen(db, units):
    clean, found = entry(db, good(units, milestones=_milestones(12)))
    assert (clean["milestones"], found) == (_milestones(12), [])
    thirteen = [*_milestones(12), {"title": "节点13", "due_date": f"{YEAR}-12-31"}]
    clean, found = entry(db, good(units, milestones=thirteen))
    assert (clean["milestones"], found) == ([], [MILESTONES])


@pytest.mark.parametrize("given", [{"title": "完成申报", "due_date": f"{YEAR}-03-31"}, "完成申报", 3])
def test_milestones_that_are_not_a_list(db, units, given):
    clean, found = entry(db, good(units, milestones=given))
    assert (clean["milestones"], found) == ([], [MILESTONES])


@pytest.mark.parametrize("bad", [
    "完成申报", None, ["完成申报", f"{YEAR}-03-31"],
    {"due_date": f"{YEAR}-03-31"}, {"title": "  ", "due_date": f"{YEAR}-03-31"},
    {"title": 3, "due_date": f"{YEAR}-03-31"},
    {"title": "完成申报"}, {"title": "完成申报", "due_date": f"{YEAR}-02-30"},
    {"title": "完成申报", "due_date": f"{YEAR}0331"}, {"title": "完成申报", "due_date": f"{YEAR}/03/31"},
    {"title": "完成申报", "due_date": f"{YEAR + 1}-01-01"}, {"title": "完成申报", "due_date": f"{YEAR - 1}-12-31"}])
def test_a_milestone_needs_a_title_and_a_date_in_the_plans_year(db, units, bad):
    first = {"title": "完成调研", "due_date": f"{YEAR}-01-01"}
    last = {"title": "完成认定", "due_date": f"{YEAR}-12-31"}
    clean, found = entry(db, good(units, milestones=[last, bad, first]))
    assert (clean["milestones"], found) == ([first, last], [milestone(2)])


def test_each_refused_milestone_is_named_by_its_place(db, units):
    given = [{"title": "完成申报"}, {"title": "完成认定", "due_date": f"{YEAR}-06-30"}, {"title": ""}]
    clean, found = entry(db, good(units, milestones=given))
    assert (clean["milestones"], found) == ([{"title": "完成认定", "due_date": f"{YEAR}-06-30"}],
                                            [milestone(1), milestone(3)])


def test_without_a_year_a_milestone_may_fall_in_any_year(db, units):
    given = [{"title": "完成认定", "due_date": f"{YEAR + 1}-06-30"},
             {"title": "完成申报", "due_date": f"{YEAR - 1}-06-30"}]
    clean, found = entry(db, good(units, milestones=given), year=None)
    assert (clean["milestones"], found) == (given[::-1], [])
    assert reasons(db, good(units, milestones=[{"title": "完成申报"}]), year=None) == [milestone(1)]


# --- the helpers the task's guards and actions share ----------------------------------------------------------------

@pytest.mark.parametrize(("value", "is_id"), [(1, True), (42, True), (MAX_ID, True), (0, False), (-1, False),
                                              (MAX_ID + 1, False), (True, False), (False, False), ("1", False),
                                              (1.0, False), (None, False), ([1], False)])
def test_what_an_id_is(value, is_id):
    assert rules._is_id(value) is is_id


def test_unit_kinds_are_those_of_the_active_units_asked_for(db, units):
    with transaction(db) as s:
        conn = s.connection()
        assert rules.unit_kinds(conn, [units["kj"], units["yx"], units["office"], units["gone"], 9999]) == {
            units["kj"]: ("member", "市科技局"), units["yx"]: ("county", "盂县"),
            units["office"]: ("office", "市工信局")}
        assert rules.unit_kinds(conn, [units["group"]]) == {
            units["group"]: ("leading_group", "阳泉市专业镇高质量发展领导小组")}
        assert rules.unit_kinds(conn, []) == {}


# --- a report: the evidence it names, the next period, the deadline moved -----------------------------------------

def _local(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, tzinfo=LOCAL_TZ).astimezone(UTC)


def _fire(db, actor, case_id, trigger, day, **kw):
    with time_machine.travel(_local(day), tick=False), transaction(db) as s:
        return fire(session=s, case_id=case_id, trigger=trigger, actor=actor, now=datetime.now(UTC), **kw)


def _attachment(db, case_id: int) -> int:
    with transaction(db) as s:
        return s.connection().execute(sa.insert(Attachment.__table__).values(
            case_id=case_id, kind="evidence", sha256="0" * 64, filename="证明.pdf", content_type="application/pdf",
            size=1, uploaded_at=datetime(2026, 10, 1, tzinfo=UTC)).returning(Attachment.__table__.c.id)).scalar_one()


@pytest.fixture
def task_case(make, db):
    """A member unit's monthly task of the 2026 plan, approved on 15 September 2026: its report on September is due
    by 13 October (the 5th working day of October after the National Day holiday)."""
    office, leader, kj = make.user("office"), make.user("leader"), make.user("member", unit="市科技局")
    with transaction(db) as s:
        unit = s.get(User, kj.id).unit_id
    with time_machine.travel(_local(date(2026, 9, 14)), tick=False), transaction(db) as s:
        plan = open_plan(s, actor=make.actor(office), now=datetime.now(UTC), year=2026)
    task = {"programme": "innovation", "title": "组织校企合作对接会", "lead_unit_id": unit, "units": [unit],
            "target_text": "全年4场", "report_cycle": "monthly"}
    _fire(db, make.actor(office), plan.id, "save_task", date(2026, 9, 14), payload={"task": task})
    _fire(db, make.actor(office), plan.id, "submit_plan", date(2026, 9, 14))
    _fire(db, make.actor(leader), plan.id, "approve_plan", date(2026, 9, 15))
    with transaction(db) as s:
        [case] = s.exec(select(Case).where(Case.definition_key == "plan_task")).all()
    return {"case": case, "plan": plan, "reporter": make.actor(kj)}


def _deadlines(db, case_id):
    with transaction(db) as s:
        rows = s.exec(select(Deadline).where(Deadline.case_id == case_id).order_by(Deadline.id)).all()
        return [(d.state, d.kind, d.offset_days, d.due_date, local_date(d.due_at).isoformat(), d.status) for d in rows]


def test_attachment_ids_are_the_cases_own(db, task_case):
    case, plan = task_case["case"], task_case["plan"]
    mine, other = _attachment(db, case.id), _attachment(db, plan.id)
    with transaction(db) as s:
        ctx = SimpleNamespace(session=s, case=SimpleNamespace(id=case.id))
        assert rules._attachment_ids(ctx, [other, mine, "x", True, 0, 9999, mine]) == [mine, mine]
        assert rules._attachment_ids(ctx, [mine]) == [mine]
        assert rules._attachment_ids(ctx, [other, "x"]) == []
        assert rules._attachment_ids(ctx, []) == []
        for given in (None, mine, str(mine), (mine,), {mine: 1}):
            assert rules._attachment_ids(ctx, given) == []


EVIDENCE = {"zh": "证明材料须先上传到本任务", "en": "upload the evidence to this task first",
            "field": "report_attachments"}


def test_a_report_names_only_its_own_tasks_evidence(db, task_case):
    case, plan, reporter = task_case["case"], task_case["plan"], task_case["reporter"]
    mine, other = _attachment(db, case.id), _attachment(db, plan.id)
    for given in ([mine, other], [mine, "x"], [other], str(mine), mine):
        with pytest.raises(Unprocessable) as refused:
            _fire(db, reporter, case.id, "submit_report", date(2026, 10, 9),
                  payload={"report": "已对接2场", "report_attachments": given})
        assert refused.value.details == [EVIDENCE]
    _fire(db, reporter, case.id, "submit_report", date(2026, 10, 9),
          payload={"report": "已对接2场", "report_attachments": [mine], "report_figure": "2"})
    [report] = reload(db, case.id).data["reports"]
    assert (report["period"], report["attachments"], report["figure"], report["late"]) == ("2026-09", [mine], "2",
                                                                                        False)


@pytest.mark.parametrize("given", ["两场", "NaN", "Infinity"])
def test_a_report_figure_must_be_a_number(db, task_case, given):
    case, reporter = task_case["case"], task_case["reporter"]
    with pytest.raises(Unprocessable) as refused:
        _fire(db, reporter, case.id, "submit_report", date(2026, 10, 9),
              payload={"report": "已对接2场", "report_figure": given})
    assert refused.value.details == [
        {"zh": "完成数值必须是数字", "en": "the figure must be a number", "field": "report_figure"}]


def test_a_report_in_progress_moves_the_period_and_its_deadline_on(db, task_case):
    case, reporter = task_case["case"], task_case["reporter"]
    assert (case.data["report_period"], case.data["report_due_date"]) == ("2026-09", "2026-10-13")
    first = [("in_progress", "expiry", None, "2026-10-13", "2026-10-14", "open"),
             ("in_progress", "reminder", 3, "2026-10-13", "2026-10-09", "open"),
             ("in_progress", "reminder", 1, "2026-10-13", "2026-10-12", "open"),
             ("in_progress", "reminder", 0, "2026-10-13", "2026-10-13", "open")]
    assert _deadlines(db, case.id) == first
    _fire(db, reporter, case.id, "submit_report", date(2026, 10, 9), payload={"report": "已对接2场"})
    after = reload(db, case.id)
    assert (after.state, after.data["report_period"], after.data["report_due_date"]) == (
        "in_progress", "2026-10", "2026-11-06")
    assert after.data["reports"][0]["attachments"] == []
    assert _deadlines(db, case.id) == [(*row[:5], "closed") for row in first] + [
        ("in_progress", "expiry", None, "2026-11-06", "2026-11-07", "open"),
        ("in_progress", "reminder", 3, "2026-11-06", "2026-11-03", "open"),
        ("in_progress", "reminder", 1, "2026-11-06", "2026-11-05", "open"),
        ("in_progress", "reminder", 0, "2026-11-06", "2026-11-06", "open")]
    with transaction(db) as s:  # closed as the report came in
        closed = s.exec(select(Deadline.closed_at).where(Deadline.case_id == case.id,
                                                         Deadline.status == "closed")).all()
    assert closed == [_local(date(2026, 10, 9))] * 4


@pytest.mark.parametrize(("data", "today", "moved"), [
    ({"report_period": "2026-09", "report_cycle": "monthly"}, date(2026, 10, 9), ("2026-10", "2026-11-06")),
    # reports missed: the first period whose report is not yet past due
    ({"report_period": "2026-01", "report_cycle": "monthly"}, date(2026, 7, 1), ("2026-06", "2026-07-07")),
    ({"report_period": "2026-Q2", "report_cycle": "quarterly"}, date(2026, 7, 1), ("2026-Q3", "2026-10-13")),
    # no period reported on yet: the one after today's
    ({"report_cycle": "monthly"}, date(2026, 9, 14), ("2026-10", "2026-11-06")),
    ({"report_cycle": "quarterly"}, date(2026, 5, 20), ("2026-Q3", "2026-10-13")),
])
def test_the_report_period_moves_on(data, today, moved):
    ctx = SimpleNamespace(data=dict(data), today=today, calendar=DEFAULT_CALENDAR)
    rules._advance(ctx)
    assert (ctx.data["report_period"], ctx.data["report_due_date"]) == moved
    assert ctx.data["report_cycle"] == data["report_cycle"]
