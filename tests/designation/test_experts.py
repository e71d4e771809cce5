"""The expert panel recorded as a table: name, affiliation and a score per criterion of definitions/experts.yaml,
the total their sum; a panel recorded before the criteria (name and score) stays valid and counts the same."""

from __future__ import annotations

import re

import pytest

from conftest import COMPLETE_APPLICATION, login
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.errors import Unprocessable
from workflow.designation import experts
from workflow.designation.rules import expert_average

SCORES = {"agglomeration": 26, "leading_enterprises": 18, "supporting_chain": 13, "brands_standards": 13,
          "innovation_environment": 18}  # 88


def test_the_criteria_add_up_to_a_hundred_and_a_bad_file_is_refused():
    assert sum(c.max for c in experts.criteria()) == 100
    assert next(c.label.zh for c in experts.criteria()) == "产业集聚度"
    with pytest.raises(experts.CriteriaError) as bad:
        experts.parse_criteria("key: expert_criteria\nlabel: {zh: 评分, en: Scores}\ncriteria:\n"
                               "  - {key: a, label: {zh: 甲, en: A}, max: 60}\n", "experts.yaml")
    assert "experts.yaml: criteria: the maxima must add up to 100" in bad.value.errors


def test_an_expert_total_is_the_sum_and_old_panels_still_count():
    liu = experts.expert("刘教授", "太原理工大学", SCORES)
    assert liu["score"] == 88 and experts.problems([liu]) == []
    old = {"name": "王研究员", "score": 91}  # recorded before the criteria
    assert experts.problems([old]) == []
    assert expert_average({"experts": [liu, old]}) == 89.5
    assert expert_average({"experts": [{"name": "赵", "scores": SCORES}]}) == 88  # no stored total: the sum


def test_a_score_beyond_its_criterion_or_a_wrong_total_is_refused():
    over = experts.expert("刘教授", "", {**SCORES, "supporting_chain": 16})
    [problem] = experts.problems([over])
    assert problem["zh"] == "专家“刘教授”的“上下游配套协作”得分必须在 0 到 15 之间"
    forged = {**experts.expert("陈高工", "", SCORES), "score": 99}
    assert experts.problems([forged])[0]["zh"] == "专家“陈高工”的总分应为各项得分之和（88）"
    missing = {"name": "孙", "scores": {"agglomeration": 20}}
    assert len(experts.problems([missing])) == 4  # every criterion not scored is named


@pytest.fixture
def in_review(make):
    office = make.user("office", username="office_staff")
    case = make.case(state="expert_review", data=dict(COMPLETE_APPLICATION))
    return case, office


def test_the_engine_keeps_the_panel_with_its_totals(db, make, now, in_review):
    case, office = in_review
    panel = [experts.expert("刘教授", "太原理工大学", SCORES)]
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="record_experts", actor=make.actor(office), now=now,
             payload={"experts": panel, "expert_recommendation": "建议认定"})
    with transaction(db) as s, pytest.raises(Unprocessable) as refused:
        fire(session=s, case_id=case.id, trigger="record_experts", actor=make.actor(office), now=now,
             payload={"experts": [{**panel[0], "score": 100}], "expert_recommendation": "建议认定"})
    assert "总分应为各项得分之和" in refused.value.zh


def test_the_form_is_a_table_and_the_case_page_shows_each_criterion(app, db, in_review):
    case, _office = in_review
    client = app.test_client()
    login(client, "office_staff")
    url = f"/cases/{case.id}/do/record_experts"
    form = client.get(url).get_data(as_text=True)
    headers = re.findall(r"<th>([^<]+) <span class=\"muted\">\(≤(\d+)\)</span></th>", form)
    assert headers == [("产业集聚度", "30"), ("龙头企业带动", "20"), ("上下游配套协作", "15"), ("品牌与标准建设", "15"),
                       ("创新能力与发展环境", "20")]
    assert form.count('name="expert_name"') == 5
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    keys = [c.key for c in experts.criteria()]

    def post(rows):
        data = {"csrf_token": token, "expected_version": str(case.version), "expert_recommendation": "建议认定",
                "expert_name": [r[0] for r in rows], "expert_affiliation": [r[1] for r in rows]}
        for i, key in enumerate(keys):
            data[f"expert_score_{key}"] = [str(r[2][i]) for r in rows]
        return client.post(url, data=data)

    bad = post([("刘教授", "太原理工大学", (26, 18, "十三", 13, 18))])
    assert bad.status_code == 422 and "请为每位专家的每一评分项填写数字" in bad.get_data(as_text=True)
    over = post([("刘教授", "太原理工大学", (31, 18, 13, 13, 18))])
    page = over.get_data(as_text=True)
    assert over.status_code == 422 and "“产业集聚度”得分必须在 0 到 30 之间" in page
    assert 'value="太原理工大学"' in page and '<td class="expert-total" data-total>93</td>' in page  # kept, summed
    done = post([("刘教授", "太原理工大学", (26, 18, 13, 13, 18)), ("", "", ("", "", "", "", "")),
                 ("陈高工", "市装备制造研究院", (28, 18, 14, 13, 18.5))])
    assert done.status_code == 302
    with transaction(db) as s:
        from workflow.core.models import Case

        stored = s.get(Case, case.id).data["experts"]
    assert [(e["name"], e["affiliation"], e["score"]) for e in stored] == [
        ("刘教授", "太原理工大学", 88), ("陈高工", "市装备制造研究院", 91.5)]
    shown = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "市装备制造研究院" in shown and "<th>产业集聚度</th>" in shown and "89.8" in shown
