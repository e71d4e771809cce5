from workflow.db import transaction
from workflow.engine import fire


def test_designation_draft_to_submitted(make, db, now):
    county = make.user("county")
    case = make.case("designation", by=county)
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="edit", actor=make.actor(county), now=now,
             payload={"industry_category": "manufacturing", "leading_industry": "装备", "output_yi": 12})
        fired = fire(session=s, case_id=case.id, trigger="submit", actor=make.actor(county), now=now)
    assert fired.state == "submitted"
    assert fired.version == 3
