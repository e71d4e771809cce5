"""Designation numbers 阳专镇〔YYYY〕N号: assigned inside the transaction, counting up, never reused."""

import threading

from conftest import reload
from workflow.core.db import transaction
from workflow.core.engine import fire
from workflow.core.queries import registry_case

APPLICATION = {"industry_category": "agriculture", "leading_industry": "小杂粮", "output_yi": 2.5}


def _in_publicity(make, county_name):
    """A designation whose public notice is over: the office issues its notice, and the number is taken then."""
    county = make.user("county", county=county_name)
    return make.case("designation", state="notice_pending", by=county, county=county_name,
                     data={**APPLICATION, "experts": [{"name": "甲", "score": 80}], "expert_recommendation": "同意"})


def _issue(office, s, case_id, now):
    return fire(session=s, case_id=case_id, trigger="issue_notice", actor=office, now=now)


def test_two_designations_in_the_same_second_get_different_numbers(make, db, now):
    first, second = _in_publicity(make, "盂县"), _in_publicity(make, "平定县")
    office = make.actor(make.user("office"))
    barrier = threading.Barrier(2)
    errors = []

    def designate(case_id):
        try:
            with transaction(db) as s:
                barrier.wait(timeout=10)
                fire(session=s, case_id=case_id, trigger="issue_notice", actor=office, now=now)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=designate, args=(c.id,)) for c in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    numbers = {reload(db, first.id).data["designation_number"], reload(db, second.id).data["designation_number"]}
    assert numbers == {"阳专镇〔2026〕1号", "阳专镇〔2026〕2号"}
    with transaction(db) as s:
        record = registry_case(s, first.town_id)
    assert record.state == "municipal" and record.data["designation_number"] in numbers


def test_numbers_are_not_reused_after_a_rollback_and_restart_each_year(make, db, now):
    from datetime import timedelta

    first, second, third = (_in_publicity(make, name) for name in ("盂县", "平定县", "郊区"))
    office = make.actor(make.user("office"))
    with transaction(db) as s:
        _issue(office, s, first.id, now)
    try:
        with transaction(db) as s:
            _issue(office, s, second.id, now)
            raise RuntimeError("the transaction fails after the number was taken")
    except RuntimeError:
        pass
    assert reload(db, second.id).state == "notice_pending"
    with transaction(db) as s:
        _issue(office, s, second.id, now)
        _issue(office, s, third.id, now + timedelta(days=40))
    assert reload(db, first.id).data["designation_number"] == "阳专镇〔2026〕1号"
    assert reload(db, second.id).data["designation_number"] == "阳专镇〔2026〕2号"
    assert reload(db, third.id).data["designation_number"] == "阳专镇〔2027〕1号"
