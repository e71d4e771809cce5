"""A person reads a field's name and a coded value by their label, never by the key the program uses."""

from __future__ import annotations

from workflow import processes
from workflow.core.definitions import load_directory
from workflow.core.labels import field_label, has_label, value_label


def test_every_field_a_definition_names_has_a_label_in_both_languages():
    processes.load()
    named = set()
    for definition in load_directory().values():
        named |= set(definition.create.accepts) | set(definition.create.requires)
        for spec in definition.transitions:
            named |= set(spec.requires) | set(spec.accepts)
    assert named, "the definitions name fields"
    assert sorted(f for f in named if not has_label(f)) == []
    for name in named:
        assert field_label(name, "zh") != name and field_label(name, "en") != name


def test_coded_values_read_as_their_labels():
    processes.load()
    assert field_label("member_units", "zh") == "征求意见的成员单位"
    assert field_label("industry_category", "zh") == "产业类别"
    assert value_label("industry_category", "manufacturing", "zh") == "制造业"
    assert value_label("industry_category", "manufacturing", "en") == "Manufacturing"
    assert value_label("relaxation_basis", "none", "zh") != "none"
    assert value_label("opinion", ["agree", "disagree"], "zh") == "同意、不同意"
    assert value_label("output_yi", 12.5, "zh") == "12.5"
    assert value_label("anything", None, "zh") == ""
