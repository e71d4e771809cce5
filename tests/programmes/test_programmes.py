"""The ten programmes as data (definitions/programmes.yaml): section 五's ten, each with its lead and responsible
units, every unit a member unit of the annex; a broken file lists every problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow.programmes.catalog import ProgrammesError, parse_programmes, programme_spec, unknown_units
from workflow.seed import MEMBER_UNITS

FIXTURES = Path(__file__).parent.parent / "fixtures" / "programmes"


def test_the_ten_programmes_of_section_five():
    spec = programme_spec()
    assert [p.clause for p in spec.programmes] == [f"五（{n}）" for n in "一二三四五六七八九十"]
    names = [p.name.zh for p in spec.programmes]
    for word in ("市场主体倍增", "提质", "创新", "重大项目", "就业富民", "质量品牌", "市场边界拓展", "招商",
                 "要素保障", "环境服务"):
        assert any(word in n for n in names), word
    assert spec.get("investment").lead == ("市商务局", "市招商中心")
    assert spec.get("innovation").lead == ("市科技局", "市工信局")
    assert "市交通局" in spec.get("environment").responsible  # the plan's 市交通运输局, as the annex names it
    assert all(p.counties for p in spec.programmes)


def test_every_unit_is_a_member_unit_of_the_annex():
    assert unknown_units(programme_spec(), MEMBER_UNITS) == []
    assert unknown_units(programme_spec(), [u for u in MEMBER_UNITS if u != "市招商中心"]) == ["市招商中心"]


def test_a_broken_file_lists_every_problem():
    with pytest.raises(ProgrammesError) as caught:
        parse_programmes((FIXTURES / "broken.yaml").read_text(encoding="utf-8"), "broken.yaml")
    assert sorted(caught.value.errors) == sorted([
        "broken.yaml: programmes[0].responsible: names 市财政局 twice",
        "broken.yaml: programmes[0].responsible: 市工信局 is already a lead unit",
        "broken.yaml: programmes[1].key: must be a lower-case identifier, used once",
    ])
    spec = parse_programmes((FIXTURES / "broken.yaml").read_text(encoding="utf-8").replace(
        "市工信局, 市财政局, 市财政局, ", "").replace("  - key: market_entities\n    clause: 五（二）",
                                                 "  - key: upgrade\n    clause: 五（二）"
                                                 ).replace("lead: []", "lead: [市工信局]"), "fixed.yaml")
    assert unknown_units(spec, MEMBER_UNITS) == ["市不存在局"]
