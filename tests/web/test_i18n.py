"""Translations: the Chinese catalog is complete, consistent and compiled; every definition label is bilingual."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from workflow.core.catalog import CATALOG
from workflow.core.definitions import DEFINITIONS_DIR

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = ROOT / "webapp" / "translations" / "zh_Hans_CN" / "LC_MESSAGES"
CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture(scope="module")
def catalog():
    with open(MESSAGES / "messages.po", "rb") as f:
        return read_po(f, locale="zh_Hans_CN")


def _messages(catalog) -> dict:
    """msgid → translation (the header entry left out)."""
    return {m.id: m.string for m in catalog if m.id}


def test_every_msgid_has_a_chinese_translation(catalog):
    entries = [m for m in catalog if m.id]
    assert len(entries) > 50
    empty = [m.id for m in entries if not (m.string if isinstance(m.string, str) else all(m.string))]
    assert empty == [], f"untranslated: {empty}"
    fuzzy = [m.id for m in entries if m.fuzzy]
    assert fuzzy == [], f"fuzzy (a guess nobody checked): {fuzzy}"
    latin_only = [m.id for m in entries if not CJK.search(str(m.string)) and CJK.search(str(m.id)) is None
                  and len(m.id) > 3 and m.id not in {"English"}]
    assert latin_only == [], f"'translations' without any Chinese: {latin_only}"


def test_translations_keep_the_placeholders(catalog):
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert problems == []
    for msgid, msgstr in _messages(catalog).items():
        wanted = sorted(re.findall(r"%\((\w+)\)s", msgid))
        assert sorted(re.findall(r"%\((\w+)\)s", msgstr)) == wanted, msgid


def test_the_compiled_catalog_is_up_to_date(catalog, tmp_path):
    compiled = tmp_path / "messages.mo"
    with open(compiled, "wb") as f:
        write_mo(f, catalog, use_fuzzy=True)  # as `make translations` compiles it
    with open(compiled, "rb") as f:
        expected = _messages(read_mo(f))
    with open(MESSAGES / "messages.mo", "rb") as f:
        shipped = _messages(read_mo(f))
    assert shipped == expected, ("messages.mo is stale: run `make translations`; differs in "
                                 f"{sorted(set(shipped.items()) ^ set(expected.items()))[:5]}")


def test_every_string_the_code_marks_for_translation_is_translated(catalog):
    """A string marked with _() in a view or template but missing from messages.po shows in English on the
    Chinese pages."""
    with open(ROOT / "babel.cfg") as f:
        method_map, options_map = parse_mapping_cfg(f)
    known = _messages(catalog)
    missing = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid and not known.get(msgid):
            missing.setdefault(msgid, f"{filename}:{lineno}")
    assert missing == {}, f"{len(missing)} strings without a Chinese translation, e.g. {list(missing.items())[:10]}"


def test_the_pages_really_use_the_catalog(client):
    page = client.get("/login").get_data(as_text=True)
    with open(MESSAGES / "messages.mo", "rb") as f:
        translated = _messages(read_mo(f))
    assert translated["Log in"] in page
    assert "Log in" not in page


# --- definition labels -----------------------------------------------------------------------------------------


def _labels(node, path=""):
    """Every `label` (and `*_label`) value in a parsed YAML document, with where it is."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            if key == "label" or str(key).endswith("_label"):
                yield here, value
            yield from _labels(value, here)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _labels(value, f"{path}[{i}]")


@pytest.mark.parametrize("path", sorted(DEFINITIONS_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_every_label_in_the_definition_files_has_zh_and_en(path):
    labels = list(_labels(yaml.safe_load(path.read_text(encoding="utf-8"))))
    assert labels, f"{path.name} has no labels"
    for where, label in labels:
        assert isinstance(label, dict), f"{path.name}: {where} is not a {{zh, en}} mapping"
        zh, en = label.get("zh"), label.get("en")
        assert isinstance(zh, str) and zh.strip(), f"{path.name}: {where}.zh missing"
        assert isinstance(en, str) and en.strip(), f"{path.name}: {where}.en missing"
        assert CJK.search(zh), f"{path.name}: {where}.zh is not Chinese: {zh!r}"
        assert not CJK.search(en), f"{path.name}: {where}.en is not English: {en!r}"


def test_every_loaded_definition_is_bilingual():
    keys = CATALOG.keys()
    assert {"designation", "town", "inspection", "rectification"} <= set(keys)
    for key in keys:
        definition = CATALOG.current(key)
        labels = [("label", definition.label)]
        labels += [(f"states.{s.name}", s.label) for s in definition.states.values()]
        labels += [(f"transitions.{t.trigger}", t.label) for t in definition.transitions]
        labels += [(f"states.{s.name}.deadlines.{d.name}", d.label) for s in definition.states.values()
                   for d in s.deadlines if getattr(d, "label", None) is not None]
        for where, label in labels:
            assert label.zh.strip() and label.en.strip(), f"{key}: {where}"
            assert label.get("zh") == label.zh and label.get("en") == label.en
            assert CJK.search(label.zh) and not CJK.search(label.en), f"{key}: {where}"
