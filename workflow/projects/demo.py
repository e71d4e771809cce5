"""The demo's project libraries: key projects of 盂县, 平定县 and 郊区 in their towns at every stage (the dates of
their stages spread over the last year, so that 三个一批 has figures in several quarters), one left without progress
for three quarters (stalled, its update overdue), and each county's investment projects from 洽谈 to 落地 and one
terminated with its reason (called by workflow.seed.build_demo)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from workflow.core.actors import Actor
from workflow.core.calendar import local_date
from workflow.core.db import saved_id
from workflow.core.engine import fire
from workflow.core.models import Town, Unit
from workflow.projects import INVESTMENT, KEY
from workflow.projects.ledger import create_project

KEY_STAGES = (("sign", "signed_date"), ("start", "started_date"), ("produce", "producing_date"),
              ("reach_output", "effective_date"))
INVESTMENT_STAGES = (("sign", "signed_date"), ("land", "landed_date"))

# (county, town, project, enterprise, planned 万元, completed 万元, days ago of each stage reached, support)
KEY_PROJECTS = (
    ("盂县", "西烟镇", "年产 10 万吨高端铸件智能化改造项目", "山西盂县西烟铸造有限公司", 68000, 41000, (300, 240, 75),
     "省级技术改造专项资金 800 万元"),
    ("盂县", "西烟镇", "铸造产业园集中供气管网工程", "盂县城投集团", 12000, 3500, (120, 40), "县级配套资金"),
    ("盂县", "路家村镇", "香菇菌棒工厂化生产基地", "盂县菌业开发有限公司", 8600, 8600, (360, 330, 200, 20),
     "乡村振兴衔接资金 300 万元"),
    ("盂县", "梁家寨乡", "小杂粮精深加工及冷链仓储项目", "盂县五谷农业科技有限公司", 5200, 0, (), ""),
    ("平定县", "娘子关镇", "砂器非遗文化产业园", "平定县砂器文化发展有限公司", 15000, 6200, (200, 150),
     "文旅专项债 5000 万元"),
    ("平定县", "张庄镇", "高端耐火材料生产线扩建项目", "山西平定耐材集团", 46000, 30000, (280, 210, 60), "省重点工程"),
    ("平定县", "冠山镇", "耐火原料绿色矿山改造", "平定冠山矿业有限公司", 9800, 1200, (90,), ""),
    ("平定县", "冶西镇", "黑釉陶瓷智能窑炉技改项目", "冶西陶瓷有限公司", 3600, 0, (), ""),
    ("郊区", "荫营镇", "矿山装备再制造基地", "阳泉荫营装备制造有限公司", 22000, 15800, (330, 260, 100, 10),
     "市级产业引导基金 2000 万元"),
    ("郊区", "荫营镇", "煤机配件数字化车间", "阳泉华越机械有限公司", 6800, 900, (35,), ""),
)
STALLED = ("平定县", "巨城镇", "日用陶瓷电商物流中心", "巨城陶瓷商贸有限公司", 4500, 600)

# (county, town or None, project, investor, planned 万元, days ago of each stage reached, terminated: (days, reason))
INVESTMENT_PROJECTS = (
    ("盂县", None, "光伏组件及储能电池生产项目", "某新能源科技集团", 120000, (), None),
    ("盂县", "西烟镇", "精密铸件配套加工项目", "江苏某精密机械有限公司", 18000, (150, 45), None),
    ("平定县", "娘子关镇", "娘子关景区康养度假综合体", "某文旅投资集团", 60000, (70,), None),
    ("平定县", None, "镁合金新材料项目", "某轻合金有限公司", 35000, (260,), (110, "投资方调整产业布局，项目终止")),
    ("郊区", "荫营镇", "智能矿山装备研发中心", "某智能装备股份公司", 9000, (), None),
)


def demo_projects(session: Session, act: dict[str, Actor], now: datetime) -> None:
    """Create the projects through the process's own steps (the counties' own; 郊区's by the office)."""
    by = {"盂县": act["county_yx"], "平定县": act["county_pd"], "郊区": act["office"]}
    towns = {t.name: t for t in session.exec(select(Town)).all()}
    counties = {u.name: u.id for u in session.exec(select(Unit)).all()}
    today = local_date(now)

    def day(days_ago: int) -> str:
        return (today - timedelta(days=days_ago)).isoformat()

    for county, town, name, enterprise, planned, completed, stages, support in KEY_PROJECTS:
        case = create_project(session=session, key=KEY, actor=by[county], now=now, town_id=towns[town].id,
                              county_id=counties[county],
                              data={"project_name": name, "enterprise": enterprise, "investment_planned": planned,
                                    **({"support": support} if support else {})})
        if completed:  # this quarter's update, then the stages reached (a project at full output is not updated)
            fire(session=session, case_id=saved_id(case), trigger="update_project", actor=by[county], now=now,
                 payload={"investment_completed": completed})
        for (trigger, field), ago in zip(KEY_STAGES, stages, strict=False):
            fire(session=session, case_id=saved_id(case), trigger=trigger, actor=by[county], now=now,
                 payload={field: day(ago)})
    # a project registered nine months ago and not updated since: stalled, its quarterly update overdue
    county, place, name, enterprise, planned, completed = STALLED
    long_ago = now - timedelta(days=280)
    create_project(session=session, key=KEY, actor=by[county], now=long_ago, town_id=towns[place].id,
                   county_id=counties[county], data={"project_name": name, "enterprise": enterprise,
                                                     "investment_planned": planned,
                                                     "investment_completed": completed})
    for county, settled, name, investor, planned, stages, terminated in INVESTMENT_PROJECTS:
        case = create_project(session=session, key=INVESTMENT, actor=by[county], now=now,
                              town_id=towns[settled].id if settled else None, county_id=counties[county],
                              data={"project_name": name, "enterprise": investor, "investment_planned": planned})
        for (trigger, field), ago in zip(INVESTMENT_STAGES, stages, strict=False):
            fire(session=session, case_id=saved_id(case), trigger=trigger, actor=by[county], now=now,
                 payload={field: day(ago)})
        if terminated:
            fire(session=session, case_id=saved_id(case), trigger="terminate", actor=by[county], now=now,
                 payload={"terminated_date": day(terminated[0]), "termination_reason": terminated[1]})
