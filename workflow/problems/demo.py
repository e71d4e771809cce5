"""The demo's problem ledger: a dozen problems of 盂县, 平定县 and 郊区 found in field work or raised by enterprises,
in every state of the process: just logged, assigned, being solved with a plan, answered for the office to verify,
closed, overdue, referred to the leading group's meeting, and one escalated into a rectification order (called by
workflow.seed.build_demo)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from workflow.core.actors import Actor
from workflow.core.calendar import calendar_for, local_date
from workflow.core.engine import fire
from workflow.core.models import Deadline, Town, Unit
from workflow.problems.ledger import answer, assign, escalate, log_problem, verify

# (county, town or None, who logs it, category, description, origin, enterprise, raised by)
PROBLEMS: tuple[tuple[Any, ...], ...] = (
    ("盂县", "西烟镇", "member_kj", "land", "铸造产业园区用地指标不足，两家企业扩产项目无法落地", "field_work", None,
     "市科技局走访组"),
    ("平定县", "娘子关镇", "county_pd", "energy", "天然气管网未通到砂器产业集聚区，窑炉仍以燃煤为主，改造受阻",
     "enterprise", "平定县娘子关砂器工艺品有限公司", "企业负责人 赵文斌"),
    ("盂县", "南娄镇", "office", "finance", "小杂粮加工企业融资担保难，县担保公司代偿能力不足，贷款审批周期长",
     "enterprise", "盂县晋粮农业开发有限公司", "企业财务总监 王海燕"),
    ("平定县", "冠山镇", "county_pd", "talent", "耐火材料企业技工短缺，窑炉操作等岗位长期招不到熟练工", "field_work",
     None, "冠山镇经济发展办"),
    ("郊区", "荫营镇", "office", "approvals", "装备制造扩建项目环评审批慢，已超过承诺时限", "enterprise",
     "阳泉荫营重型装备制造有限公司", "企业项目经理 张立新"),
    ("盂县", "梁家寨乡", "member_ny", "market", "小杂粮、核桃产品销售渠道窄，缺少电商和商超对接", "field_work", None,
     "市农业农村局调研组"),
    ("平定县", "张庄镇", "office", "land", "耐火材料园区部分企业用地手续不全，影响技改项目审批", "field_work", None,
     "办公室督查组"),
    ("盂县", "路家村镇", "county_yx", "other", "香菇产业冷链物流设施不足，旺季产品积压损耗大", "field_work", None,
     "路家村镇政府"),
    ("郊区", None, "office", "energy", "工业企业电力增容报装周期长，部分项目投产推迟", "enterprise",
     "阳泉市郊区中小企业协会", "协会秘书长 李明"),
    ("平定县", "巨城镇", "county_pd", "finance", "日用陶瓷企业流动资金贷款难，应收账款周期长", "enterprise",
     "平定县巨城陶瓷有限公司", "企业负责人 郭建华"),
    ("盂县", "秀水镇", "member_ny", "talent", "食用菌种植缺少技术人员，菌种和病害防治靠外请专家", "field_work", None,
     "市农业农村局调研组"),
    ("平定县", "冶西镇", "office", "approvals", "黑釉陶瓷地理标志产品申报材料审核慢", "field_work", None,
     "办公室走访组"),
)


def _unit(session: Session, name: str) -> int:
    found = session.exec(select(Unit.id).where(Unit.name == name)).one()
    return int(found)  # type: ignore[arg-type]  # a stored row's id


def _town(session: Session, name: str) -> int:
    found = session.exec(select(Town.id).where(Town.name == name)).one()
    return int(found)  # type: ignore[arg-type]  # a stored row's id


def _working_day(session: Session, start: datetime, days: int) -> str:
    return calendar_for(session).add_working_days(local_date(start), days)[0].isoformat()


def _expire(session: Session, case_id: int) -> None:
    """The deadline passed: the sweep's expiry, at its moment."""
    row = session.exec(select(Deadline).where(Deadline.case_id == case_id, Deadline.kind == "expiry",
                                              Deadline.status == "open")).one()
    fire(session=session, case_id=case_id, trigger="expire", actor=Actor.system(), now=row.due_at)


def add_demo_problems(session: Session, act: dict[str, Actor], now: datetime) -> None:
    """The dozen problems of PROBLEMS, logged over the last six weeks and taken to their states."""
    office, leader = act["office"], act["leader"]
    logged_at = [now - timedelta(days=42 - 3 * i) for i in range(len(PROBLEMS))]
    ids = []
    for (county, town, who, category, text, origin, enterprise, raised_by), at in zip(PROBLEMS, logged_at,
                                                                                        strict=True):
        data = {"category": category, "description": text, "origin": origin, "raised_by": raised_by}
        if enterprise:
            data["enterprise_name"] = enterprise
        case = log_problem(session=session, actor=act[who], now=at, data=data,
                           town_id=_town(session, town) if town else None,
                           county_id=None if town else _unit(session, county))
        ids.append(int(case.id))  # type: ignore[arg-type]  # flushed: the row has its id

    def assigned(i: int, unit: str, days: int = 10) -> datetime:
        at = logged_at[i] + timedelta(days=1)
        assign(session=session, actor=office, now=at, case_id=ids[i], responsible_unit_id=_unit(session, unit),
               due_date=_working_day(session, at, days))
        return at + timedelta(days=2)

    # 0 西烟镇 用地: assigned to 市规划和自然资源局, its deadline still ahead
    assign(session=session, actor=office, now=now - timedelta(days=2), case_id=ids[0],
           responsible_unit_id=_unit(session, "市规划和自然资源局"), due_date=_working_day(session, now, 8))
    # 1 娘子关镇 天然气: 市能源局 is on it, with a plan and a date
    at = assigned(1, "市能源局")
    plan = Actor(user_id=None, name="市能源局", role="member", unit_id=_unit(session, "市能源局"), unit_name="市能源局")
    answer(session=session, actor=plan, now=at, case_id=ids[1], outcome="in_progress",
           text="已协调燃气公司将中压管线延伸至集聚区，正在办理道路开挖许可", plan_date=_working_day(session, now, 15))
    # 2 南娄镇 融资担保: cannot be solved at the county's level; referred to the leading group's meeting
    at = assigned(2, "盂县")
    answer(session=session, actor=act["county_yx"], now=at, case_id=ids[2], outcome="unsolvable",
           text="县担保公司资本金不足，需市级风险补偿资金支持")
    escalate(session=session, actor=office, now=at + timedelta(days=1), case_id=ids[2], to="meeting",
             meeting_note="建议由市金融办牵头，研究设立专业镇企业融资风险补偿资金，提请领导小组会议研究。")
    # 3 冠山镇 技工短缺: 平定县 did not answer in time: overdue
    assigned(3, "平定县", days=5)
    _expire(session, ids[3])
    # 4 荫营镇 环评: 市生态环境局 answered; the office has to verify
    at = assigned(4, "市生态环境局")
    unit = Actor(user_id=None, name="市生态环境局", role="member", unit_id=_unit(session, "市生态环境局"),
                 unit_name="市生态环境局")
    answer(session=session, actor=unit, now=at, case_id=ids[4], outcome="resolved",
           text="已开通环评审批绿色通道，项目环评批复已于本周下达")
    # 5 梁家寨乡 销售渠道: solved by 市商务局 and closed
    at = assigned(5, "市商务局")
    unit = Actor(user_id=None, name="市商务局", role="member", unit_id=_unit(session, "市商务局"), unit_name="市商务局")
    answer(session=session, actor=unit, now=at, case_id=ids[5], outcome="resolved",
           text="组织 6 家企业入驻本地电商平台，对接 2 家连锁商超")
    verify(session=session, actor=office, now=at + timedelta(days=1), case_id=ids[5], close=True,
           comment="经回访企业核实，已解决")
    # 6 张庄镇 用地手续: overdue, then escalated into a rectification order of the town
    assigned(6, "平定县", days=5)
    _expire(session, ids[6])
    escalate(session=session, actor=office, now=now - timedelta(days=3), case_id=ids[6], to="order",
             order_due_date=_working_day(session, now, 20),
             order_problem="耐火材料园区部分企业用地手续不全，限期完善用地手续并报送办理情况")
    # 7 路家村镇 冷链, 8 郊区 电力增容: just logged, for the office to assign
    # 9 巨城镇 流动资金: the meeting decided; 市金融办 is responsible again by a new deadline
    at = assigned(9, "市金融办")
    escalate(session=session, actor=office, now=at, case_id=ids[9], to="meeting",
             meeting_note="涉及多家银行授信政策，建议会议研究")
    fire(session=session, case_id=ids[9], trigger="meeting_assign", actor=leader, now=at + timedelta(days=1),
         payload={"responsible_unit_id": _unit(session, "市金融办"), "decision_text":
                  "由市金融办牵头组织银企对接会，推广应收账款质押融资",
                  "due_date": _working_day(session, now, 10)})
    # 10 秀水镇 技术人员: 市农业农村局 has it in its inbox
    assign(session=session, actor=office, now=now - timedelta(days=1), case_id=ids[10],
           responsible_unit_id=_unit(session, "市农业农村局"), due_date=_working_day(session, now, 10))
    # 11 冶西镇 地理标志: 市市场监管局 is on it
    at = assigned(11, "市市场监管局")
    unit = Actor(user_id=None, name="市市场监管局", role="member", unit_id=_unit(session, "市市场监管局"),
                 unit_name="市市场监管局")
    answer(session=session, actor=unit, now=at, case_id=ids[11], outcome="in_progress",
           text="已指导补充产品历史渊源材料，待省局专家审查", plan_date=_working_day(session, now, 12))
