"""The city profile (definitions/profile.yaml): Yangquan's as the plan's annex has it, checked when it loads with
every problem named by file and key, and read by the seed and the documents."""

from __future__ import annotations

import pytest

from workflow import seed
from workflow.core import profile
from workflow.core.definitions import DEFINITIONS_DIR
from workflow.core.documents import catalog

EXAMPLE = DEFINITIONS_DIR / "profiles" / "example.yaml"


def test_yangquans_profile_has_the_annexs_units_and_seats():
    city = profile.load_profile()
    assert (city.city, city.plan) == ("阳泉市", "《阳泉市促进专业镇高质量发展实施方案》（阳政办发〔2023〕24号）")
    assert city.counties == ("城区", "矿区", "郊区", "平定县", "盂县", "高新区") and len(city.member_units) == 35
    assert city.roster[0] == profile.RosterSeat(position="leader", title="市委副书记、市长", unit=None)
    assert city.roster[-1] == profile.RosterSeat(position="office_deputy", unit="市文旅局", title="市文旅局分管负责人")
    members = [s for s in city.roster if s.position == "member"]
    assert len(members) == 35 + 6  # one seat per member unit and per county head
    assert {s.unit for s in members} == set(city.member_units) | set(city.counties)
    with pytest.raises(AttributeError):
        city.roster[0].title = "市长"  # type: ignore[misc]  # frozen


def test_the_seed_and_the_documents_read_the_profile_in_use():
    assert seed.OFFICE == "市工信局（领导小组办公室）"
    assert catalog().get("praise_notice").number(2026, 2) == "阳专镇表〔2026〕2号"
    city = profile.use_profile(EXAMPLE)
    assert seed.COUNTIES == ("榆次区", "太谷区", "平遥县") and seed.LEADING_GROUP == "晋中市专业镇建设领导小组"
    assert seed.MEMBER_UNIT_GROUPS[0][0] == {"zh": "市政府部门", "en": "Municipal government departments"}
    assert catalog().get("praise_notice").number(2026, 2) == "晋专镇表〔2026〕2号"
    assert catalog().common["issuing_body"] == "晋中市专业镇建设领导小组" and profile.profile() is city
    profile.use_profile(None)
    assert seed.COUNTIES[0] == "城区"


BROKEN = [
    (lambda t: t.replace("  name: 晋中市\n", ""), "example.yaml: city.name: must be a non-empty text"),
    (lambda t: t.replace("  number: 市政办发〔2023〕31号\n", "  number: 市政办发〔2023〕31号\n  year: 2023\n"),
     "example.yaml: plan.year: unknown key"),
    (lambda t: t.replace("晋专镇〔{year}〕{n}号", "晋专镇〔{year}〕{m}号"),
     "example.yaml: series.designation_notice: must contain {n} (and usually {year})"),
    (lambda t: t.replace("counties: [榆次区, 太谷区, 平遥县]", "counties: [榆次区, 太谷区, 榆次区]"),
     "example.yaml: units.counties: names 榆次区 twice"),
    (lambda t: t.replace("晋中市文旅局, 晋中市统计局]\n\nroster", "晋中市文旅局]\n\nroster"),
     "example.yaml: units.member_groups: member unit 晋中市统计局 is in no group"),
    (lambda t: t.replace("unit: 平遥县, title", "unit: 祁县, title"),
     "example.yaml: roster[10].unit: 祁县 is not a unit of the profile"),
    (lambda t: t.replace("position: liaison", "position: secretary"),
     "example.yaml: roster[13].position: must be one of leader, deputy_leader, member, office_director, "
     "office_deputy, liaison"),
    (lambda t: t.replace("  - {position: leader, title: 市政府市长}\n", ""),
     "example.yaml: roster: must have exactly one leader seat"),
    (lambda t: t.replace("output_manufacturing: 8", "output_manufacturing: 0"),
     "example.yaml: thresholds.output_manufacturing: must be a positive number, not 0"),
    (lambda t: t.replace("output_manufacturing: 8", "output_manufacturing: 八"),
     "example.yaml: thresholds.output_manufacturing: must be a positive number, not '八'"),
    (lambda t: t.replace("output_manufacturing: 8", "output_manufacturing: .nan"),
     "example.yaml: thresholds.output_manufacturing: must be a positive number, not nan"),
    (lambda t: t.replace("output_manufacturing: 8", "output_manufacturing: true"),
     "example.yaml: thresholds.output_manufacturing: must be a positive number, not True"),
    (lambda t: t.replace("output_manufacturing: 8", "2nd: 8"),
     "example.yaml: thresholds.2nd: a threshold's name must be an identifier"),
    (lambda t: t.replace("thresholds:\n  output_manufacturing: 8", "thresholds: [8]"),
     "example.yaml: thresholds: must be a mapping of eligibility threshold names to numbers"),
]


@pytest.mark.parametrize(("edit", "problem"), BROKEN)
def test_a_broken_profile_names_the_file_and_the_key(edit, problem):
    text = EXAMPLE.read_text(encoding="utf-8")
    with pytest.raises(profile.ProfileError) as broken:
        profile.parse_profile(edit(text), str(EXAMPLE))
    assert problem in broken.value.errors


def test_a_profile_may_set_eligibility_thresholds():
    from decimal import Decimal

    assert profile.load_profile().thresholds == {}
    city = profile.load_profile(EXAMPLE)
    assert city.thresholds == {"output_manufacturing": Decimal(8)}
    text = EXAMPLE.read_text(encoding="utf-8").replace("output_manufacturing: 8", "output_relaxed: 0.4\n  x: 12")
    assert profile.parse_profile(text, "city.yaml").thresholds == {"output_relaxed": Decimal("0.4"), "x": 12}
    empty = text.split("\nthresholds:")[0] + "\nthresholds:\n"  # present but empty: none
    assert profile.parse_profile(empty, "city.yaml").thresholds == {}


def test_a_missing_profile_file_says_so(tmp_path):
    with pytest.raises(profile.ProfileError) as missing:
        profile.load_profile(tmp_path / "city.yaml")
    assert missing.value.errors[0].startswith("city.yaml: (file): cannot be read")


def test_the_messages_sign_with_the_system_name_of_the_profile():
    from notifications import compose

    params = {"number": "ZG-2026-0001", "title": "关于限期整改的通知", "due_date": "2026-12-31"}
    mail = compose.email("order_issued", "zh", params, recipient="王丽", base_url="https://zyz.example", case_id=1)
    assert "——阳泉市专业镇案件管理系统（系统自动发送，请勿回复）" in mail.text
    profile.use_profile(EXAMPLE)
    mail = compose.email("order_issued", "zh", params, recipient="王丽", base_url="https://zyz.example", case_id=1)
    english = compose.email("order_issued", "en", params, recipient="Wang", base_url="https://zyz.example", case_id=1)
    assert "——晋中市专业镇案件管理系统" in mail.text and "阳泉" not in mail.text + mail.html
    assert "Jinzhong Professional Towns case system" in english.text
