"""The demo's accepted statistics: three earlier years of figures for the demo's towns, reported by their counties
and accepted by the office through the statistics report's own steps, so that the dashboard shows realistic
figures (called by workflow.seed.build_demo)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from workflow.core.actors import Actor
from workflow.core.calendar import local_date
from workflow.core.db import saved_id
from workflow.core.engine import create_case, fire
from workflow.core.models import Role, Town, Unit, User

# a town's output in the first year (亿元), its brands and standards by the last year
DEMO_FIGURES: dict[str, tuple[float, list[dict[str, str]], list[dict[str, str]]]] = {
    "娘子关镇": (38.0, [{"name": "娘子关砂器", "level": "national"}],
                 [{"name": "砂器制品通用技术条件", "kind": "industry", "role": "lead"}]),
    "冠山镇": (62.5, [{"name": "冠山耐材", "level": "provincial"}],
               [{"name": "致密耐火浇注料", "kind": "industry", "role": "participate"},
                {"name": "耐火材料企业安全生产规范", "kind": "group", "role": "lead"}]),
    "巨城镇": (21.4, [{"name": "巨城陶瓷", "level": "national"}], []),
    "梁家寨乡": (3.2, [{"name": "梁家寨小米", "level": "municipal"}], []),
    "路家村镇": (1.6, [], []),
    # designated in mid-2024, evaluated for that year (workflow.evaluation.demo)
    "西烟镇": (46.0, [{"name": "西烟铸造", "level": "provincial"}],
               [{"name": "灰铸铁件通用技术条件", "kind": "group", "role": "lead"}]),
    "张庄镇": (31.5, [{"name": "张庄耐材", "level": "municipal"}], []),
    "冶西镇": (24.2, [{"name": "冶西黑釉陶", "level": "municipal"}], []),
    "秀水镇": (18.6, [{"name": "秀水香菇", "level": "municipal"}], []),
    "南娄镇": (11.3, [], []),
}
GROWTH = 0.08  # a year; below the anomaly check's share, so no report needs an explanation


def figures_of(town: str, step: int, last: bool) -> dict[str, Any]:
    base, brands, standards = DEMO_FIGURES[town]
    grow = (1 + GROWTH) ** step
    output = round(base * grow, 2)
    return {"output_yi": output, "tax_wan": round(output * 260, 2), "market_entities": int(40 * base * grow) + 30,
            "above_scale_firms": max(int(base / 3), 1), "employees": int(160 * base * grow) + 200,
            "high_tech_firms": max(int(base / 12), 0), "specialised_firms": max(int(base / 15), 0),
            "invention_patents": int(base / 2), "geographical_indications": 1 if brands else 0,
            "service_platforms": 1, "key_projects": 2, "project_investment_yi": round(base / 5, 2),
            "brands": brands if last else brands[:1] if step else [],
            "standards": standards if last else standards[:1]}


def add_demo_statistics(session: Session, now: datetime) -> int:
    """Accepted reports of the three years before last year (whose reports are still being filled in) for the demo
    towns of counties that have a county user; the number of reports accepted."""
    office = session.exec(select(User).where(User.role == Role.office).order_by(col(User.id))).first()
    if office is None:
        return 0
    units = {u.id: u for u in session.exec(select(Unit)).all()}
    office_actor = Actor.of(office, units.get(office.unit_id))
    counties: dict[int, Actor] = {}
    for user in session.exec(select(User).where(User.role == Role.county).order_by(col(User.id))).all():
        counties.setdefault(user.unit_id, Actor.of(user, units.get(user.unit_id)))
    towns = [t for t in session.exec(select(Town).order_by(col(Town.id))).all()
             if t.name in DEMO_FIGURES and t.county_id in counties]
    last_year = local_date(now).year - 2  # the latest accepted year: last year's reports are open (workflow.seed)
    accepted = 0
    for step, year in enumerate(range(last_year - 2, last_year + 1)):
        for town in towns:
            report = create_case(session=session, definition_key="statistics_report", actor=office_actor, now=now,
                                 town_id=saved_id(town), title=f"{year}年度统计 · {town.name}",
                                 data={"report_year": year})
            fire(session=session, case_id=saved_id(report), trigger="submit_figures",
                 actor=counties[town.county_id], now=now,
                 payload={"figures": figures_of(town.name, step, year == last_year)})
            fire(session=session, case_id=saved_id(report), trigger="accept_figures", actor=office_actor, now=now)
            accepted += 1
    return accepted
