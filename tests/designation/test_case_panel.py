"""The "what to do now" panel of a case page, as the service builds it for each role and state."""

from __future__ import annotations

import io

import pytest

from workflow.core.attachments import store_upload
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.errors import NotFound
from workflow.core.panels import case_panel, is_direct

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def panel_for(db, make, user, case, now):
    with transaction(db) as s:
        return case_panel(session=s, actor=make.actor(user), case_id=case.id, now=now)


def section(panel, key):
    return next(s for s in panel.sections if s.key == key)


def lines(sec, lang="zh"):
    return {line.label.get(lang): line.value.get(lang) for line in sec.lines}


@pytest.fixture
def people(make):
    return {"county": make.user("county", county="盂县"), "office": make.user("office"),
            "leader": make.user("leader"), "member": make.user("member", unit="市科技局"),
            "other_county": make.user("county", county="平定县")}


def test_county_after_a_return_reads_the_reasons_what_to_fix_and_the_deadline(db, make, people, now,
                                                                             complete_application):
    data = {**complete_application, "supporting_enterprises": 3}
    case = make.case(state="submitted", data=data, by=people["county"])
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="return_for_revision", actor=make.actor(people["office"]), now=now,
             comment="产值证明缺少盖章页，请补充。", expected_version=case.version)
    panel = panel_for(db, make, people["county"], case, now)

    assert [s.trigger for s in panel.steps] == ["edit", "withdraw", "resubmit"]
    assert panel.main.trigger == "resubmit"
    assert {s.trigger: s.style for s in panel.steps}["withdraw"] == "danger"
    assert section(panel, "return_reason").text.zh == "产值证明缺少盖章页，请补充。"
    to_fix = section(panel, "to_fix")
    assert any("配套企业" in line.label.zh or "配套" in line.value.zh for line in to_fix.lines)
    (due,) = panel.due
    assert due.label.zh == "补正期限" and due.working_days_left == 10


def test_leader_at_the_decision_sees_tally_expert_average_eligibility_and_the_draft(db, make, people, now,
                                                                                  complete_application):
    data = {**complete_application, "consulted_units": [1, 2],
            "opinions": {"1": {"answer": "agree"}, "2": {"answer": "agree"}},
            "experts": [{"name": "王", "score": 88}, {"name": "李", "score": 91}],
            "expert_recommendation": "建议认定"}
    case = make.case(state="decision", data=data, by=people["county"])
    panel = panel_for(db, make, people["leader"], case, now)

    assert [(s.trigger, s.style) for s in panel.steps] == [("approve", "primary"), ("reject", "danger"),
                                                          ("send_back", "danger")]
    assert [s.key for s in panel.sections] == ["joint_review", "experts", "eligibility"]
    assert lines(section(panel, "joint_review"))["同意"] == "2/2 同意"
    assert lines(section(panel, "experts"))["专家平均分"] == "89.5（2 位专家）"
    assert lines(section(panel, "eligibility"))["必备条件"] == "均已满足"
    assert lines(section(panel, "eligibility"), "en")["Required criteria"] == "all met"
    assert panel.has_preview  # the designation notice that approval leads to


def test_a_disagreeing_unit_shows_in_the_tally(db, make, people, now, complete_application):
    data = {**complete_application, "consulted_units": [1, 2, 3],
            "opinions": {"1": {"answer": "agree"}, "2": {"answer": "disagree"},
                         "3": {"answer": "no_objection_deemed"}},
            "experts": [{"name": "王", "score": 70}], "expert_recommendation": "可以认定"}
    case = make.case(state="decision", data=data, by=people["county"])
    tally = section(panel_for(db, make, people["leader"], case, now), "joint_review")
    assert [(line.value.zh, line.tone) for line in tally.lines] == [("1/3 同意", ""), ("1/3", "bad"), ("1/3", "warn")]


def test_office_at_the_completeness_check_sees_the_materials_by_kind(db, make, people, now, app,
                                                                    complete_application, tmp_path):
    case = make.case(state="submitted", data=complete_application, by=people["county"])
    with transaction(db) as s:
        store_upload(session=s, actor=make.actor(people["county"]), case_id=case.id, filename="产值证明.pdf",
                     stream=io.BytesIO(PDF), now=now, upload_dir=tmp_path)
    panel = panel_for(db, make, people["office"], case, now)

    assert panel.main.trigger == "accept"
    assert {s.trigger: s.style for s in panel.steps}["return_for_revision"] == "danger"
    materials = lines(section(panel, "materials"))
    assert materials == {"证明材料": "产值证明.pdf", "申报书": "必备条件均已满足"}


def test_office_sees_that_nothing_was_attached(db, make, people, now, complete_application):
    case = make.case(state="submitted", data=complete_application, by=people["county"])
    materials = section(panel_for(db, make, people["office"], case, now), "materials")
    assert (materials.lines[0].value.zh, materials.lines[0].tone) == ("未上传任何附件", "warn")


def test_who_has_nothing_to_do_is_told_who_acts_next_and_sees_no_deadline(db, make, people, now,
                                                                         complete_application):
    case = make.case(state="submitted", data=complete_application, by=people["county"])
    leader = panel_for(db, make, people["leader"], case, now)
    assert (leader.steps, leader.due, leader.sections, leader.waiting_on) == ((), (), (), ("office",))
    assert not leader.has_preview
    county = panel_for(db, make, people["county"], case, now)
    assert [s.trigger for s in county.steps] == ["withdraw"] and county.main is None  # only a destructive step


def test_the_panel_of_a_case_one_may_not_see_is_not_found(db, make, people, now, complete_application):
    case = make.case(state="submitted", data=complete_application, by=people["county"])
    with pytest.raises(NotFound), transaction(db) as s:
        case_panel(session=s, actor=make.actor(people["other_county"]), case_id=case.id, now=now)


def test_only_steps_with_nothing_to_enter_or_confirm_are_done_in_one_click(catalog):
    designation = catalog.current("designation")
    direct = {t.trigger for t in designation.transitions if not t.system and is_direct(t)}
    assert direct == {"conclude", "propose"}
    rectification = catalog.current("rectification")
    assert {t.trigger for t in rectification.transitions if not t.system and is_direct(t)} == {"acknowledge"}


def test_county_sees_the_rectification_deadline_with_working_days_left(db, make, people, now):
    order = make.case("rectification", state="rectifying", by=people["office"],
                      data={"problem": "园区道路破损", "due_date": "2026-12-11"})
    panel = panel_for(db, make, people["county"], order, now)
    assert panel.main.trigger == "submit_report"
    (due,) = panel.due
    assert (due.label.zh, due.due_date, due.working_days_left) == ("整改期限", "2026-12-11", 10)
