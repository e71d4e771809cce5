"""The definitions loader: every real file loads; every broken fixture fails with its own message."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from workflow.core.definitions import (
    DEFINITIONS_DIR,
    PROCESS_FILES,
    DefinitionError,
    load_directory,
    load_file,
    parse_definition,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "definitions"

# fixture file -> the one error it must produce, after the file name (key: problem)
BROKEN = {
    "unknown_source_state.yaml": "transitions[1] (finish).source: unknown state 'reviewed'",
    "unknown_dest_state.yaml": "transitions[1] (finish).dest: unknown state 'archived'",
    "unreachable_state.yaml": "states.archived: unreachable from the initial state 'draft'",
    "dead_end_state.yaml": "states.paused: not final and has no transition out",
    "unknown_guard.yaml": "transitions[0] (submit).guards: unknown guard 'no_such_guard'",
    "unknown_action.yaml": "transitions[1] (finish).actions: unknown action 'no_such_action'",
    "unknown_role.yaml": "transitions[0] (submit).roles: unknown role 'mayor'",
    "system_role.yaml": "transitions[1] (finish).roles: unknown role 'system'",
    "unknown_state_actor.yaml": "states.submitted.actors: unknown role 'secretary'",
    "unknown_create_role.yaml": "create_roles: unknown role 'citizen'",
    "expiry_not_leaving.yaml":
        "states.submitted.deadlines[0].on_expiry: expiry trigger 'expire' does not leave state 'submitted'",
    "expiry_unknown_trigger.yaml":
        "states.submitted.deadlines[0].on_expiry: expiry trigger 'lapse' does not leave state 'submitted'",
    "expiry_not_system.yaml":
        "states.submitted.deadlines[0].on_expiry: expiry trigger 'expire' must be a system trigger",
    "duplicate_trigger.yaml":
        "transitions[3] (finish).trigger: trigger 'finish' defined twice from state 'submitted' "
        "(also transitions[1])",
    "missing_state_label.yaml": "states.done.label: missing label (needs zh and en)",
    "missing_transition_label.yaml": "transitions[1] (finish).label: missing label (needs zh and en)",
    "missing_definition_label.yaml": "label: missing",
    "missing_english_label.yaml": "states.submitted.label.en: missing label",
    "invalid_yaml.yaml": "(file): not valid YAML",
    "not_a_mapping.yaml": "(file): must be a mapping",
    "unknown_key.yaml": "inital: unknown key",
    "unknown_state_key.yaml": "states.draft.colour: unknown key",
    "unknown_transition_key.yaml": "transitions[0].guard: unknown key",
    "unknown_deadline_key.yaml": "states.submitted.deadlines[0].hours: unknown key",
    "deadline_field_not_a_date.yaml": "states.submitted.deadlines[0].field: must name a date field",
    "missing_version.yaml": "version: missing",
    "bad_version.yaml": "version: must be a positive integer",
    "unknown_initial.yaml": "initial: unknown state 'drafting'",
    "final_state_left.yaml": "transitions[3] (reopen).source: final state 'done' cannot be left",
    "system_with_roles.yaml":
        "transitions[2] (expire).roles: a system trigger is fired by the scheduler only; remove roles",
    "no_roles.yaml": "transitions[1] (finish).roles: missing (who may fire it?)",
    "bad_comment_mode.yaml":
        "transitions[1] (finish).comment: must be one of ['none', 'optional', 'required']",
    "bad_style.yaml": "transitions[1] (finish).style: must be one of ['danger', 'neutral', 'primary']",
    "system_with_style.yaml": "transitions[2] (expire).style: a system trigger has no button; remove style",
    "deadline_two_counts.yaml": "states.submitted.deadlines[0]: give working_days or calendar_days, not both",
    "deadline_no_count.yaml": "states.submitted.deadlines[0]: needs working_days, calendar_days or field",
}

SEVERAL = [
    "several_problems.yaml: version: missing",
    "several_problems.yaml: states.draft.colour: unknown key",
    "several_problems.yaml: transitions[0] (submit).guards: unknown guard 'no_such_guard'",
    "several_problems.yaml: transitions[1] (finish).dest: unknown state 'archived'",
    "several_problems.yaml: states.submitted.deadlines[0].on_expiry: "
    "expiry trigger 'expire' must be a system trigger",
]


def _errors(path: Path) -> list[str]:
    with pytest.raises(DefinitionError) as raised:
        load_file(path)
    return raised.value.errors


def _load_tiers(path):
    from workflow.towns import registry_view

    registry_view.tiers.cache_clear()
    return registry_view.tiers()


def _load_eligibility(path):
    from workflow.designation import eligibility

    return eligibility.load_table(path).criteria


def _load_notification_rules(path):
    from workflow.notify import rules as notices

    return notices.parse_rules(path.read_text(encoding="utf-8"), path.name)


# definitions/ files that are not process definitions, each with the loader the application uses
def _load_documents(path):
    from workflow.core.documents import load_catalog

    return load_catalog(path).documents


def _load_profile(path):
    from workflow.core.profile import load_profile

    return load_profile(path).roster


def _load_visibility(path):
    from workflow.core.visibility import load_visibility

    return load_visibility(path).processes


def _load_materials(path):
    from workflow.designation.materials import load_materials

    return load_materials(path)


def _load_expert_criteria(path):
    from workflow.designation.experts import parse_criteria

    return parse_criteria(path.read_text(encoding="utf-8"), path.name)


def _load_finding_types(path):
    from workflow.supervision.findings import parse_types

    return parse_types(path.read_text(encoding="utf-8"), path.name)


def _load_problem_categories(path):
    from workflow.problems.categories import parse_categories

    return parse_categories(path.read_text(encoding="utf-8"), path.name)


def _load_statistics(path):
    from workflow.statistics.fields import parse_statistics

    return parse_statistics(path.read_text(encoding="utf-8"), path.name)


def _load_targets(path):
    from workflow.dashboard.targets import parse_targets

    return parse_targets(path.read_text(encoding="utf-8"), path.name)


def _load_evaluation(path):
    from workflow.evaluation.indicators import parse_evaluation

    return parse_evaluation(path.read_text(encoding="utf-8"), path.name)


def _load_project_rules(path):
    from workflow.projects.settings import parse_rules

    return parse_rules(path.read_text(encoding="utf-8"), path.name)


def _load_provincial_criteria(path):
    from workflow.recommendation.criteria import parse_criteria

    return parse_criteria(path.read_text(encoding="utf-8"), path.name)


def _load_programmes(path):
    from workflow.programmes.catalog import parse_programmes

    return parse_programmes(path.read_text(encoding="utf-8"), path.name)


OTHER_LOADERS = {"materials.yaml": _load_materials, "registry.yaml": _load_tiers, "eligibility.yaml": _load_eligibility,
                 "notifications.yaml": _load_notification_rules, "documents.yaml": _load_documents,
                 "visibility.yaml": _load_visibility, "experts.yaml": _load_expert_criteria,
                 "findings.yaml": _load_finding_types, "statistics.yaml": _load_statistics,
                 "targets.yaml": _load_targets, "evaluation.yaml": _load_evaluation,
                 "project_rules.yaml": _load_project_rules,
                 "problem_categories.yaml": _load_problem_categories,
                 "provincial_criteria.yaml": _load_provincial_criteria,

                 "programmes.yaml": _load_programmes, "profile.yaml": _load_profile}


@pytest.mark.parametrize("path", sorted(DEFINITIONS_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_every_file_in_definitions_loads(path):
    if path.name in OTHER_LOADERS:
        assert OTHER_LOADERS[path.name](path)
        return
    assert path.stem in PROCESS_FILES, f"{path.name}: no loader reads this file"
    definition = load_file(path)
    assert definition.key == path.stem
    assert definition.version >= 1
    assert definition.initial in definition.states
    assert definition.label.zh and definition.label.en


@pytest.mark.parametrize("path", sorted((DEFINITIONS_DIR / "profiles").glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_profile_loads_and_its_thresholds_are_the_eligibility_tables(path):
    from workflow.core.profile import load_profile
    from workflow.designation import eligibility

    city = load_profile(path)
    table = eligibility.table_for(city)
    assert {t.name: t.value for t in table.thresholds if t.name in city.thresholds} == city.thresholds


def test_load_directory_gives_every_process():
    found = load_directory()
    assert set(found) == set(PROCESS_FILES)
    designation = found["designation"]
    assert designation.transition("submit", "draft").dest == "submitted"
    assert designation.transition("submit", "submitted") is None
    assert [d.working_days for d in designation.states["returned"].deadlines] == [10]
    assert designation.states["returned"].deadlines[0].reminders == (2, 0)
    assert found["rectification"].states["rectifying"].deadlines[0].reminders == (7, 3, 1, 0)


def test_the_fixture_base_is_valid():
    """Each broken fixture is this file with one change, so its error comes from that change alone."""
    definition = load_file(FIXTURES / "valid_sample.yaml")
    assert definition.key == "sample"
    assert set(definition.states) == {"draft", "submitted", "done"}


def test_every_broken_fixture_is_listed():
    on_disk = {p.name for p in FIXTURES.glob("*.yaml")} - {"valid_sample.yaml", "several_problems.yaml"}
    assert on_disk == set(BROKEN)


@pytest.mark.parametrize(("filename", "expected"), sorted(BROKEN.items()))
def test_broken_definition_is_refused(filename, expected):
    errors = _errors(FIXTURES / filename)
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{filename}: {expected}"), errors


def test_a_file_with_several_problems_reports_all_of_them():
    errors = _errors(FIXTURES / "several_problems.yaml")
    assert errors == SEVERAL


def test_definition_error_message_lists_every_line():
    with pytest.raises(DefinitionError) as raised:
        load_file(FIXTURES / "several_problems.yaml")
    assert str(raised.value).splitlines() == SEVERAL


def test_unreadable_file_is_reported(tmp_path):
    errors = _errors(tmp_path / "nowhere.yaml")
    assert errors == ["nowhere.yaml: (file): cannot read: No such file or directory"]


def test_load_directory_reports_the_errors_of_every_file(tmp_path):
    for name in PROCESS_FILES:
        shutil.copyfile(DEFINITIONS_DIR / f"{name}.yaml", tmp_path / f"{name}.yaml")
    (tmp_path / "town.yaml").write_text((FIXTURES / "unknown_guard.yaml").read_text(), encoding="utf-8")
    (tmp_path / "inspection.yaml").unlink()
    with pytest.raises(DefinitionError) as raised:
        load_directory(tmp_path)
    assert raised.value.errors == [
        "town.yaml: transitions[0] (submit).guards: unknown guard 'no_such_guard'",
        "inspection.yaml: (file): missing",
    ]


def test_load_directory_refuses_a_key_that_does_not_match_the_file(tmp_path):
    for name in PROCESS_FILES:
        shutil.copyfile(DEFINITIONS_DIR / f"{name}.yaml", tmp_path / f"{name}.yaml")
    text = (DEFINITIONS_DIR / "town.yaml").read_text(encoding="utf-8")
    (tmp_path / "town.yaml").write_text(text.replace("key: town", "key: towns"), encoding="utf-8")
    with pytest.raises(DefinitionError) as raised:
        load_directory(tmp_path)
    assert raised.value.errors == ["town.yaml: key: must be 'town' to match the file name"]


def test_parse_definition_keeps_source_and_digest():
    text = (FIXTURES / "valid_sample.yaml").read_text(encoding="utf-8")
    first = parse_definition(text, "a.yaml")
    again = parse_definition(text, "b.yaml")
    changed = parse_definition(text.replace("working_days: 5", "working_days: 6"), "c.yaml")
    assert first.source == text
    assert first.sha256 == again.sha256 != changed.sha256
    assert changed.states["submitted"].deadlines[0].working_days == 6


def test_roles_and_system_flag_are_parsed():
    definition = load_file(FIXTURES / "valid_sample.yaml")
    expire = definition.transition("expire", "submitted")
    assert expire.system and expire.roles == frozenset({"system"})
    finish = definition.transition("finish", "submitted")
    assert not finish.system and finish.roles == frozenset({"office"}) and finish.comment == "required"


# --- definitions/visibility.yaml: who sees what within a case ---------------------------------------------------

VISIBILITY_STATES = {"designation": {"draft", "consultation", "expert_review"}}
VISIBILITY_HEAD = "key: visibility\nversion: 1\nlabel: {zh: 可见范围, en: Visibility}\n"
VISIBILITY_BROKEN = {
    "unknown role": (
        "processes:\n  designation:\n    fields:\n      opinions:\n        label: {zh: 意见, en: Opinions}\n"
        "        keys: [opinions]\n        visible_to: [office, mayor]\n",
        ["v.yaml: processes.designation.fields.opinions.visible_to: unknown role 'mayor'"]),
    "unknown state": (
        "processes:\n  designation:\n    attachments:\n      opinion_sheet:\n        visible_to: [office]\n"
        "        in_states: {member: [expert_reveiw]}\n",
        ["v.yaml: processes.designation.attachments.opinion_sheet.in_states.member: unknown state 'expert_reveiw'"]),
    "unknown summary and a field in two groups": (
        "processes:\n  designation:\n    fields:\n      a:\n        label: {zh: 甲, en: A}\n        keys: [experts]\n"
        "        visible_to: [office]\n        others_see: expert_median\n      b:\n        label: {zh: 乙, en: B}\n"
        "        keys: [experts]\n        visible_to: [leader]\n",
        ["v.yaml: processes.designation.fields.a.others_see: unknown summary 'expert_median' "
         "(one of ['expert_average'])",
         "v.yaml: processes.designation.fields.b.keys: field 'experts' is already in group 'a'"]),
    "unknown process, group and key": (
        "processes:\n  designaton: {}\n  designation:\n    events: {record_opinion: opinons}\n"
        "    attachments:\n      opinion_sheet: {visble_to: [office]}\n",
        ["v.yaml: processes.designaton: unknown process 'designaton'",
         "v.yaml: processes.designation.events.record_opinion: unknown field group 'opinons'",
         "v.yaml: processes.designation.attachments.opinion_sheet.visble_to: unknown key",
         "v.yaml: processes.designation.attachments.opinion_sheet.visible_to: missing (who sees it?)"]),
    "personal data not a list": (
        "personal: {email: true}\nprocesses:\n  designation: {}\n",
        ["v.yaml: personal: must be a list of field names"]),
    "personal data with a number among the names": (
        "personal: [email, Mobile No, email, 3]\nprocesses:\n  designation: {}\n",
        ["v.yaml: personal: must be a name or a list of names"]),
    "personal data misspelt or listed twice": (
        "personal: [email, Mobile, mobile, email]\nprocesses:\n  designation: {}\n",
        ["v.yaml: personal: not a field name: 'Mobile' (lower-case letters, digits and _)",
         "v.yaml: personal: 'email' is listed twice"]),
    "a group without keys nor label": (
        "processes:\n  designation:\n    fields:\n      opinions: {visible_to: office}\n",
        ["v.yaml: processes.designation.fields.opinions.keys: missing (which fields of the case's data?)",
         "v.yaml: processes.designation.fields.opinions.label: missing label (needs zh and en)"]),
}


@pytest.mark.parametrize("name", sorted(VISIBILITY_BROKEN))
def test_a_broken_visibility_file_is_refused_with_every_problem(name):
    from workflow.core.visibility import VisibilityError, parse_visibility

    text, expected = VISIBILITY_BROKEN[name]
    with pytest.raises(VisibilityError) as raised:
        parse_visibility(VISIBILITY_HEAD + text, "v.yaml", VISIBILITY_STATES)
    assert raised.value.errors == expected


TWO_PROCESSES = {"designation": {"draft", "consultation", "expert_review"}, "inspection": {"open", "closed"}}
GROUP = "        label: {zh: 意见, en: Opinions}\n        keys: [opinions]\n        visible_to: [office]\n"
VISIBILITY_BROKEN_MORE = {
    "the head": (
        "key: visibilty\nversion: true\nlabel: {zh: 可见范围}\nprocesses: {}\n",
        ["v.yaml: key: must be 'visibility'", "v.yaml: version: must be a positive integer",
         "v.yaml: label.en: missing label", "v.yaml: processes: must be a non-empty mapping"]),
    "a version written as text, no label, processes as a list": (
        "key: visibility\nversion: '1'\nprocesses: [designation]\n",
        ["v.yaml: version: must be a positive integer", "v.yaml: label: missing label (needs zh and en)",
         "v.yaml: processes: must be a non-empty mapping"]),
    "a version of 0": (
        "key: visibility\nversion: 0\nlabel: {zh: 可见范围, en: Visibility}\nprocesses: {inspection: {}}\n",
        ["v.yaml: version: must be a positive integer"]),
    "a process that is not a mapping, and the next one checked too": (
        VISIBILITY_HEAD + "processes:\n  designation: [office]\n  inspection:\n    feilds: {}\n",
        ["v.yaml: processes.designation: must be a mapping", "v.yaml: processes.inspection.feilds: unknown key"]),
    "events, attachments and fields that are not mappings": (
        VISIBILITY_HEAD + "processes:\n  designation:\n    fields: [opinions]\n    events: [record_opinion]\n"
        "    attachments: [opinion_sheet]\n",
        ["v.yaml: processes.designation.fields: must be a mapping of field groups",
         "v.yaml: processes.designation.events: must be a mapping of trigger to field group",
         "v.yaml: processes.designation.attachments: must be a mapping of attachment kind to who sees it"]),
    "an attachment that is neither a list nor a mapping, and the next one checked too": (
        VISIBILITY_HEAD + "processes:\n  designation:\n    attachments:\n      opinion_sheet: 3\n"
        "      expert_sheet: {visible_to: [mayor]}\n",
        ["v.yaml: processes.designation.attachments.opinion_sheet: must be a list of roles or a mapping",
         "v.yaml: processes.designation.attachments.expert_sheet.visible_to: unknown role 'mayor'"]),
    "states by role that are no mapping, an unknown role, states that are no names": (
        VISIBILITY_HEAD + "processes:\n  designation:\n    attachments:\n"
        "      a: {visible_to: [office], in_states: [member]}\n"
        "      b: {visible_to: [office], in_states: {mayor: [draft], member: 3}}\n",
        ["v.yaml: processes.designation.attachments.a.in_states: must be a mapping of role to states",
         "v.yaml: processes.designation.attachments.b.in_states: unknown role 'mayor'",
         "v.yaml: processes.designation.attachments.b.in_states.member: must be a name or a list of names"]),
    "a group that is not a mapping, the next checked too; unknown keys, keys that are no names, own_to": (
        VISIBILITY_HEAD + "processes:\n  designation:\n    fields:\n      a: office\n      b:\n" + GROUP
        + "        seen_by: [leader]\n        own_to: [mayor]\n      c:\n        label: {zh: 丙, en: C}\n"
        "        keys: 3\n        visible_to: [office]\n",
        ["v.yaml: processes.designation.fields.a: must be a mapping",
         "v.yaml: processes.designation.fields.b.seen_by: unknown key",
         "v.yaml: processes.designation.fields.b.own_to: unknown role 'mayor'",
         "v.yaml: processes.designation.fields.c.keys: must be a name or a list of names",
         "v.yaml: processes.designation.fields.c.keys: missing (which fields of the case's data?)"]),
    "who sees it written as a number": (
        VISIBILITY_HEAD + "processes:\n  designation:\n    attachments:\n      opinion_sheet: {visible_to: 3}\n",
        ["v.yaml: processes.designation.attachments.opinion_sheet.visible_to: must be a name or a list of names"]),
    "not YAML": ("key: [visibility\n", None),
    "not a mapping": ("- key: visibility\n", ["v.yaml: (file): must be a mapping"]),
}


@pytest.mark.parametrize("name", sorted(VISIBILITY_BROKEN_MORE))
def test_every_part_of_the_visibility_file_is_checked_and_named(name):
    from workflow.core.visibility import VisibilityError, parse_visibility

    text, expected = VISIBILITY_BROKEN_MORE[name]
    with pytest.raises(VisibilityError) as raised:
        parse_visibility(text, "v.yaml", TWO_PROCESSES)
    if expected is None:
        assert len(raised.value.errors) == 1 and raised.value.errors[0].startswith("v.yaml: (file): not valid YAML: ")
    else:
        assert raised.value.errors == expected


def test_a_well_formed_visibility_file_keeps_every_part():
    from workflow.core.visibility import FieldGroup, Rule, parse_visibility
    from workflow.core.yamlcheck import Label

    text = VISIBILITY_HEAD.replace("version: 1", "version: 3") + (
        "personal: [email]\nprocesses:\n  designation:\n    fields:\n      opinions:\n"
        "        label: {zh: 意见, en: Opinions}\n        keys: [opinions, remarks]\n        visible_to: [office]\n"
        "        in_states: {member: [expert_review, consultation]}\n        own_to: member\n"
        "    events: {record_opinion: opinions}\n"
        "    attachments:\n      opinion_sheet: [office, leader]\n"
        "      expert_sheet: {visible_to: office, in_states: {member: draft}}\n  inspection: {}\n")
    parsed = parse_visibility(text, "v.yaml", TWO_PROCESSES)
    assert (parsed.version, parsed.personal) == (3, frozenset({"email"}))
    designation = parsed.of("designation")
    assert designation.groups == {"opinions": FieldGroup(
        name="opinions", label=Label("意见", "Opinions"), keys=("opinions", "remarks"),
        rule=Rule(visible_to=frozenset({"office"}),
                  in_states={"member": frozenset({"expert_review", "consultation"})}, own_to=frozenset({"member"})),
        others_see=None)}
    assert designation.events == {"record_opinion": "opinions"}
    assert designation.attachments == {
        "opinion_sheet": Rule(visible_to=frozenset({"office", "leader"})),
        "expert_sheet": Rule(visible_to=frozenset({"office"}), in_states={"member": frozenset({"draft"})})}
    assert parsed.of("inspection").groups == {} and parsed.of("nothing").groups == {}


def test_a_visibility_file_that_cannot_be_read_is_named(tmp_path):
    from workflow.core.visibility import VisibilityError, load_visibility

    with pytest.raises(VisibilityError) as raised:
        load_visibility(tmp_path / "visibility.yaml")
    assert raised.value.errors == ["visibility.yaml: (file): cannot read: No such file or directory"]
    broken = tmp_path / "mine.yaml"
    broken.write_text(VISIBILITY_HEAD + "processes:\n  designaton: {}\n", encoding="utf-8")
    with pytest.raises(VisibilityError) as raised:
        load_visibility(broken)
    assert raised.value.errors == ["mine.yaml: processes.designaton: unknown process 'designaton'"]


def test_the_visibility_file_names_only_states_of_the_current_designation_definition():
    from workflow.core.visibility import load_visibility

    rules = load_visibility().of("designation")
    assert rules.groups["experts"].others_see == "expert_average"
    assert rules.groups["opinions"].rule.sees_all("member", "expert_review")
    assert not rules.groups["opinions"].rule.sees_all("member", "consultation")
    assert not rules.attachments["opinion_sheet"].sees_all("county", "designated")
    assert load_visibility().personal == {"email", "mobile", "address"}


def test_a_step_says_how_its_button_looks():
    designation = load_file(DEFINITIONS_DIR / "designation.yaml")
    styles = {t.trigger: t.style for t in designation.transitions}
    assert styles["withdraw"] == styles["reject"] == styles["return_for_revision"] == "danger"
    assert styles["submit"] == styles["approve"] == "primary"
    assert styles["edit"] == "neutral"  # unless a step says otherwise
