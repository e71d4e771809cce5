"""A database the size of ten years of a large city, for load benchmarks: 1,000 towns over 15 counties, 100,000
cases of every process in plausible states (with their open deadlines, case parties, search texts, the problem
ledger's rows, the accepted statistics), 1,000,000 audit events forming a valid hash chain, 500 users in every role
with one known password, and in-app notifications.

    .venv/bin/python bench/dataset.py --database PATH_OR_URL [--scale 1.0] [--seed 20261201]

--database is a SQLite file (replaced) or a PostgreSQL URL (its public schema is dropped). The schema is made by
the project's migrations. --scale multiplies the sizes (1.0: the sizes above; towns and users keep at least one per
county and role). The same seed gives the same rows. Every user's password is PASSWORD below; usernames are
<role>_<n> (county_1, office_1, member_1, leader_1, admin_1, auditor_1, ...).

From Python: `build(url, scale, seed)` returns the row counts, the seconds taken and the logins.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import empty_schema
from workflow import processes
from workflow.accounts.auth import hash_password
from workflow.core import audit
from workflow.core.calendar import local_date
from workflow.core.catalog import CATALOG
from workflow.core.db import make_engine, make_session_factory, migrate, table_of, transaction
from workflow.core.deadlines import expiry_moment, reminder_moment
from workflow.core.definitions import Definition, TransitionSpec
from workflow.core.models import (
    AuditEvent,
    AuditHead,
    Case,
    CaseParty,
    CaseSearch,
    Counter,
    Deadline,
    Notification,
    ProblemEntry,
    Town,
    TownStatistics,
    TownStatisticsItem,
    Unit,
    User,
    statistics_item_rows,
)
from workflow.core.search import CHARS_TABLE, body_of, spaced
from workflow.seed import ensure_reference_units

processes.load()

PASSWORD = "Bench-2026!"  # the one password of every user of a benchmark database
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # the dataset ends here: open deadlines fall after it
START = datetime(2017, 1, 3, 1, 0, tzinfo=UTC)
DEFAULT_SEED = 20261201
SIZES = {"towns": 1000, "cases": 100_000, "audit_events": 1_000_000, "users": 500}
COUNTIES = 15
EXTRA_COUNTIES = ("东山区", "西河县", "南岭县", "北原县", "桃河区", "狮山县", "翠峰县", "石门县", "龙泉县", "柏井区",
                  "青石县", "白羊县", "红岩区", "松溪县", "太行新区")
# Users per role at scale 1.0 (500 in all); county users are spread over the counties, member users over the units.
USERS = {"county": 300, "office": 40, "member": 140, "leader": 10, "admin": 5, "auditor": 5}
# The share of the cases of each process; the town registry has one record per town, and problems take the rest.
SHARES = {"designation": 0.03, "redesignation": 0.015, "inspection": 0.04, "rectification": 0.12,
          "statistics_report": 0.09, "evaluation_town": 0.06, "key_project": 0.10, "investment_project": 0.08,
          "plan_task": 0.12}
ACTION_PLAN_YEARS = range(2017, 2027)
RANKING_YEARS = range(2017, 2026)
RECOMMENDATION_YEARS = range(2018, 2027)
BATCH = 20_000

TOWN_HEADS = list("娘子关西烟梁家寨路村东仙人孙庄牵牛上社北下冶岔口巨城柏井张荫营南娄秀水石门桃河翠峰龙泉白羊青红岩"
                  "松溪")
INDUSTRIES = {
    "manufacturing": ["铸造", "耐火材料", "装备制造", "新材料", "煤层气装备", "光伏组件", "镁合金", "电子信息"],
    "light_industry": ["砂器", "日用陶瓷", "刻花瓷", "黑釉陶瓷", "纺织", "家具", "食品加工"],
    "agriculture": ["小杂粮", "香菇", "核桃", "中药材", "食用菌", "蔬菜", "肉牛养殖", "文化旅游"],
}
FIRM_HEADS = ["阳泉", "晋东", "太行", "狮脑山", "娘子关", "冠山", "桃河", "翠枫", "南庄", "平潭", "荫营", "华鑫",
              "宏达", "鑫源", "瑞丰", "金泰", "恒通", "永盛", "兆丰", "三元"]
FIRM_TAILS = ["有限公司", "集团有限公司", "股份有限公司", "科技有限公司", "实业有限公司"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国文红玲斌志鹏宇浩凯"
COMMENTS = ["请补充{x}产值统计证明材料", "龙头企业名单不全，请补充{x}", "{x}上下游配套企业户数与附件不一致",
            "营商环境材料过于简略，请补充{x}", "同意，建议加强{x}品牌建设", "整改报告未附{x}照片",
            "{x}台账缺失，限期补齐", "理由不充分：{x}", "已核实{x}整改完成", "专家意见：{x}产业带动明显"]
PROBLEMS = {"land": "园区用地指标不足，企业扩产项目无法落地", "energy": "天然气管网未通到产业集聚区，改造受阻",
            "finance": "企业融资担保难，贷款审批周期长", "talent": "技工短缺，熟练工长期招不到",
            "approvals": "扩建项目环评审批慢，已超过承诺时限", "market": "产品销售渠道窄，缺少电商和商超对接",
            "other": "冷链物流设施不足，旺季产品积压损耗大"}
FINDINGS = [("公共服务平台（检验检测）尚未建成运行", "high"), ("专业镇统计台账更新不及时", "low"),
            ("龙头企业研发投入统计口径不一致", "medium"), ("安全生产制度未落实到企业", "high"),
            ("产业园区环境整治不到位", "medium"), ("品牌培育计划未按期推进", "low")]
PROGRAMMES = ["market_entities", "quality_upgrade", "innovation", "key_projects", "employment", "quality_brands",
              "market_expansion", "investment", "factors", "environment"]
TASKS = {"market_entities": "专业镇新增市场主体", "quality_upgrade": "推动传统产业提质升级",
         "innovation": "建设专业镇创新服务平台", "key_projects": "推进专业镇重点项目建设",
         "employment": "专业镇带动就业", "quality_brands": "申报地理标志商标", "market_expansion": "组织企业参加展会",
         "investment": "专业镇招商引资", "factors": "保障专业镇要素供给", "environment": "优化专业镇营商环境"}
FILLER_KINDS = [("login_ok", 45), ("logout", 25), ("search", 10), ("notification_sent", 10), ("reminder_sent", 4),
                ("list_exported", 3), ("login_failed", 3)]


# an audit event before its place in the chain: when, kind, the acting user (None: the system), county, case,
# trigger, from and to state, comment, data
Event = tuple[datetime, str, dict[str, Any] | None, int | None, int | None, str | None, str | None, str | None,
              str | None, dict[str, Any]]


def _day(moment: datetime) -> str:
    return local_date(moment).isoformat()


@dataclass(eq=False)
class Spec:
    """One case to write: its process and town, when it was made and last changed, the state it is in."""

    key: str
    created_at: datetime
    town: int | None  # index into the towns
    county_id: int
    state: str = ""
    updated_at: datetime | None = None
    year: int = 0  # a report's, evaluation's or plan's year
    parent: Spec | None = None
    children: list[Spec] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    id: int = 0
    number: str = ""
    title: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    version: int = 1


class Builder:
    def __init__(self, scale: float, seed: int):
        self.scale, self.rng = scale, random.Random(seed)
        self.calendar: Any = None
        self.units: dict[int, tuple[str, str]] = {}  # id: (name, kind)
        self.counties: list[int] = []
        self.members: list[int] = []
        self.office_id = self.leader_unit_id = 0
        self.users: list[dict[str, Any]] = []
        self.by_role: dict[str, list[dict[str, Any]]] = {}
        self.county_users: dict[int, list[dict[str, Any]]] = {}
        self.towns: list[dict[str, Any]] = []
        self.specs: list[Spec] = []
        self.paths: dict[tuple[str, str], list[TransitionSpec]] = {}

    def n(self, full: float, least: int = 0) -> int:
        return max(least, round(full * self.scale))

    def moment(self, lo: datetime, hi: datetime) -> datetime:
        span = int((hi - lo).total_seconds())
        return lo + timedelta(seconds=self.rng.randrange(max(span, 1)))

    # --- people and places ---------------------------------------------------------------------------------

    def make_users(self, password_hash: str, first_id: int) -> None:
        rng, uid = self.rng, first_id
        for role, full in USERS.items():
            least = len(self.counties) if role == "county" else 1
            self.by_role[role] = []
            for i in range(1, self.n(full, least) + 1):
                if role == "county":
                    unit = self.counties[(i - 1) % len(self.counties)]
                elif role == "member":
                    unit = self.members[(i - 1) % len(self.members)]
                elif role == "leader":
                    unit = self.leader_unit_id
                else:
                    unit = self.office_id
                person = rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.randint(1, 2)))
                created = self.moment(START, NOW - timedelta(days=60))
                user = {"id": uid, "username": f"{role}_{i}", "display_name": f"{self.units[unit][0]} {person}",
                        "role": role, "unit_id": unit, "email": f"{role}_{i}@example.gov.cn",
                        "mobile": f"139{rng.randrange(10**8):08d}", "password_hash": password_hash,
                        "is_active": True, "must_change_password": False, "failed_logins": 0,
                        "password_changed_at": NOW - timedelta(days=rng.randint(0, 20)), "created_at": created}
                self.users.append(user)
                self.by_role[role].append(user)
                if role == "county":
                    self.county_users.setdefault(unit, []).append(user)
                uid += 1

    def make_towns(self, first_id: int) -> None:
        rng, seen = self.rng, set()
        count = self.n(SIZES["towns"], len(self.counties))
        while len(self.towns) < count:
            county = self.counties[len(self.towns) % len(self.counties)]
            name = "".join(rng.sample(TOWN_HEADS, 2)) + rng.choice(["镇", "镇", "乡"])
            if (county, name) in seen:
                continue
            seen.add((county, name))
            category = rng.choice(list(INDUSTRIES))
            self.towns.append({"id": first_id + len(self.towns), "name": name, "county_id": county,
                               "industry_category": category, "leading_industry": rng.choice(INDUSTRIES[category]),
                               "created_at": self.moment(START, START + timedelta(days=900)),
                               "output_yi": None, "output_year": None})

    def actor(self, role: str, county_id: int | None) -> dict[str, Any] | None:
        """A user to act in `role` (a county's own for a county), None for the system."""
        if role == "county" and county_id in self.county_users:
            return self.rng.choice(self.county_users[county_id])
        pool = self.by_role.get(role)
        return self.rng.choice(pool) if pool else None

    # --- which cases ----------------------------------------------------------------------------------------

    def plan_cases(self) -> None:
        rng, towns = self.rng, self.towns
        total = self.n(SIZES["cases"], len(towns) + 100)
        counts = {key: round(total * share) for key, share in SHARES.items()}
        t = len(towns)
        for i, town in enumerate(towns):  # the registry: one record per town
            self.specs.append(Spec("town", town["created_at"], i, town["county_id"]))
        for year in ACTION_PLAN_YEARS:
            self.specs.append(Spec("action_plan", datetime(year, 1, 10, 2, tzinfo=UTC), None, self.office_id,
                                   year=year))
        for year in RANKING_YEARS:
            self.specs.append(Spec("evaluation_ranking", datetime(year + 1, 3, 1, 2, tzinfo=UTC), None,
                                   self.office_id, year=year))
        for year in RECOMMENDATION_YEARS:
            for batch in (1, 2):
                self.specs.append(Spec("provincial_recommendation", datetime(year, 5 * batch, 5, 2, tzinfo=UTC),
                                       None, self.office_id, year=year, extra={"batch": batch}))
        # the yearly reports and evaluations: every town for the latest years, going back until the share is used
        for key, month in (("statistics_report", 1), ("evaluation_town", 3)):
            made, year = 0, 2025
            while made < counts[key] and year >= 2017:
                for i in rng.sample(range(t), t):
                    if made == counts[key]:
                        break
                    created = datetime(year + 1, month, 5, 2, tzinfo=UTC) + timedelta(hours=rng.randrange(72))
                    self.specs.append(Spec(key, created, i, towns[i]["county_id"], year=year))
                    made += 1
                year -= 1
        inspections = []
        for key in ("designation", "redesignation", "inspection", "key_project", "investment_project", "plan_task"):
            for _ in range(counts[key]):
                i = rng.randrange(t)
                spec = Spec(key, self.moment(START, NOW - timedelta(days=1)), i, towns[i]["county_id"])
                self.specs.append(spec)
                if key == "inspection":
                    inspections.append(spec)
        orders = counts["rectification"]
        for inspection in inspections:  # about a third of the orders come from an inspection's findings
            if orders > counts["rectification"] * 2 // 3 and rng.random() < 0.9:
                order = Spec("rectification", inspection.created_at + timedelta(days=rng.randint(3, 20)),
                             inspection.town, inspection.county_id, parent=inspection)
                inspection.children.append(order)
                self.specs.append(order)
                orders -= 1
        for _ in range(orders):
            i = rng.randrange(t)
            self.specs.append(Spec("rectification", self.moment(START, NOW - timedelta(days=1)), i,
                                   towns[i]["county_id"]))
        for _ in range(total - len(self.specs)):
            i = rng.randrange(t)
            self.specs.append(Spec("problem", self.moment(START, NOW - timedelta(days=1)), i, towns[i]["county_id"]))
        for spec in self.specs:
            spec.created_at = min(spec.created_at, NOW - timedelta(hours=2))
        self.specs.sort(key=lambda s: s.created_at)

    # --- states ---------------------------------------------------------------------------------------------

    def path(self, definition: Definition, state: str) -> list[TransitionSpec]:
        """The shortest run of steps from the initial state to `state`."""
        key = (definition.key, state)
        if key not in self.paths:
            found: dict[str, list[TransitionSpec]] = {definition.initial: []}
            queue = deque([definition.initial])
            while queue:
                here = queue.popleft()
                for spec in definition.transitions:
                    if here in spec.sources and spec.dest and spec.dest not in found:
                        found[spec.dest] = [*found[here], spec]
                        queue.append(spec.dest)
            self.paths[key] = found.get(state, [])
        return self.paths[key]

    def choose_state(self, spec: Spec, definition: Definition) -> None:
        rng = self.rng
        finals = [s for s in definition.states.values() if s.final]
        opens = [s for s in definition.states.values()
                 if not s.final and (s.name == definition.initial or self.path(definition, s.name))]
        age = (NOW - spec.created_at).days
        p_open = 0.6 if age < 120 else 0.2 if age < 365 else 0.02
        if spec.key == "town":
            weights = {"candidate": 40, "municipal": 45, "provincial": 7, "recommended_provincial": 2,
                       "revocation_proposed": 1, "revocation_decision": 1, "revoked": 4}
            spec.state = rng.choices(list(weights), list(weights.values()))[0]
        elif spec.key in ("key_project", "investment_project") and age > 365:
            spec.state = rng.choices([s.name for s in finals], [4] + [1] * (len(finals) - 1))[0]
        elif spec.key in ("action_plan", "evaluation_ranking", "provincial_recommendation"):
            latest = spec.year == {"action_plan": 2026, "evaluation_ranking": 2025}.get(spec.key, 2026)
            spec.state = (rng.choice(opens).name if latest and spec.extra.get("batch", 2) == 2
                          else finals[0].name)
        elif rng.random() < p_open or not finals:
            spec.state = rng.choice(opens).name
        else:  # the first final state is the usual outcome (designated, closed, completed, ...)
            spec.state = rng.choices([s.name for s in finals], [6] + [1] * (len(finals) - 1))[0]
        state = definition.states[spec.state]
        if state.final:
            spec.updated_at = min(spec.created_at + timedelta(days=rng.randint(5, 150), hours=rng.randrange(24)),
                                  NOW - timedelta(hours=1))
        elif state.deadlines:  # still within its deadline: it was entered within the last few weeks
            days = min(d.working_days or 20 for d in state.deadlines)
            spec.updated_at = max(spec.created_at, NOW - timedelta(days=rng.randint(0, days - 1),
                                                                   hours=rng.randrange(20)))
        else:
            spec.updated_at = max(spec.created_at, self.moment(max(spec.created_at, NOW - timedelta(days=200)), NOW))

    # --- what each case holds ------------------------------------------------------------------------------

    def firm(self, industry: str) -> str:
        return self.rng.choice(FIRM_HEADS) + industry + self.rng.choice(FIRM_TAILS)

    def fill(self, spec: Spec) -> None:
        """Title and data as the process writes them (workflow.seed's demo shows the same shapes)."""
        rng, key = self.rng, spec.key
        town = self.towns[spec.town] if spec.town is not None else None
        tname = town["name"] if town else ""
        industry = town["leading_industry"] if town else ""
        year = spec.created_at.year
        data: dict[str, Any]
        if key == "town":
            spec.title, data = f"{tname}档案", {}
            if spec.state != "candidate":
                designated = self.moment(START + timedelta(days=200), NOW - timedelta(days=30))
                data = {"designation_number": f"阳专镇〔{designated.year}〕{rng.randint(1, 60)}号",
                        "designated_date": _day(designated),
                        "review_date": _day(designated + timedelta(days=3 * 365)),
                        "industry_category": town["industry_category"] if town else None}
            if spec.state == "revocation_proposed" or spec.state == "revocation_decision":
                data["revocation_reason"] = f"{year - 1}年度专业镇评价总分低于 40 分"
        elif key == "designation":
            output = round(rng.uniform(1.0, 80.0), 1)
            spec.title = f"市级专业镇认定申请 · {tname}"
            data = {"industry_category": town["industry_category"] if town else None, "leading_industry": industry,
                    "main_products": f"{industry}及配套产品", "output_yi": output,
                    "county_share_pct": round(rng.uniform(3, 30), 1), "jobs": rng.randint(300, 9000),
                    "local_workers": rng.randint(200, 7000), "average_income": rng.randint(25000, 60000),
                    "supporting_enterprises": rng.randint(5, 80),
                    "leading_enterprises": [{"name": self.firm(industry), "honours": ["dragon_head"]}
                                            for _ in range(rng.randint(1, 3))],
                    "business_environment": "县政府设立专业镇服务专班，项目审批全程代办。"}
            if spec.state == "consultation":
                data["opinion_due_date"] = (NOW.date() + timedelta(days=rng.randint(3, 10))).isoformat()
        elif key == "redesignation":
            review = _day(spec.created_at + timedelta(days=60))
            spec.title = f"滚动认定复核 · {tname}（复核日期 {review}）"
            data = {"review_date": review, "designation_number": f"阳专镇〔{year - 3}〕{rng.randint(1, 60)}号"}
        elif key == "inspection":
            spec.title = f"专项检查 · {tname}"
            data = {"campaign": f"{year}年度专业镇专项检查", "findings": []}
            if spec.state in ("in_progress", "closed"):
                for no, order in enumerate([*spec.children, *([None] * rng.randint(0, 2))], start=1):
                    text, severity = order.extra["finding"] if order else rng.choice(FINDINGS)
                    finding: dict[str, Any] = {"no": no, "text": text, "severity": severity, "attachments": []}
                    if spec.state == "closed":
                        finding["decision"] = "rectify" if order else "no_action"
                        if order:
                            finding["order_id"] = order.id
                    data["findings"].append(finding)
        elif key == "rectification":
            text, severity = spec.extra["finding"]
            due = spec.created_at + timedelta(days=30)
            if not self.catalog(key).states[spec.state].final and self.catalog(key).states[spec.state].deadlines:
                due = NOW + timedelta(days=rng.randint(5, 40))
            data = {"problem": text, "severity": severity, "due_date": _day(due),
                    "notice_number": f"阳专镇改〔{year}〕{rng.randint(1, 200)}号"}
            if spec.parent is not None:
                spec.title = f"整改：{text}"
                no = spec.parent.children.index(spec) + 1
                data = {"source": "inspection", "inspection_id": spec.parent.id, "finding_no": no, **data}
            else:
                spec.title = f"限期整改通知 · {tname}"
        elif key == "statistics_report":
            spec.title = f"{spec.year}年度统计 · {tname}"
            data = {"report_year": spec.year, "spec_version": 1}
            if spec.state != "filling":
                data["figures"] = self.figures(spec)
        elif key == "evaluation_town":
            spec.title = f"{spec.year}年度评价 · {tname}"
            data = {"evaluation_year": spec.year, "spec_version": 1, "statistics_values": {}, "last_values": {},
                    "statistics_year": None}
        elif key == "evaluation_ranking":
            spec.title = f"{spec.year}年度专业镇评价排名"
            data = {"evaluation_year": spec.year, "spec_version": 1}
        elif key == "action_plan":
            spec.title = f"{spec.year}年度专业镇工作行动计划"
            data = {"plan_year": spec.year, "tasks": []}
        elif key == "provincial_recommendation":
            batch = spec.extra["batch"]
            spec.title = f"{spec.year}年第{batch}批省级专业镇推荐上报"
            data = {"recommendation_year": spec.year, "batch_no": batch, "selected_towns": []}
        elif key in ("key_project", "investment_project"):
            name = f"{industry}{rng.choice(['智能化改造', '扩产', '精深加工', '产业园配套', '绿色升级'])}项目"
            spec.title = name
            planned = rng.randint(500, 150000)
            data = {"project_name": name, "enterprise": self.firm(industry), "investment_planned": planned,
                    "last_activity_date": _day(spec.updated_at or spec.created_at)}
            if key == "key_project":
                data["report_due_date"] = (NOW.date() + timedelta(days=rng.randint(5, 80))).isoformat()
                if spec.state != "reserve":
                    data["investment_completed"] = planned if spec.state == "effective" else planned // 3
                    data["signed_date"] = _day(spec.created_at + timedelta(days=30))
            elif spec.state != "negotiating":
                data["signed_date"] = _day(spec.created_at + timedelta(days=30))
                if spec.state == "landed":
                    data["landed_date"] = _day(spec.updated_at or spec.created_at)
                if spec.state == "terminated":
                    data["terminated_date"] = _day(spec.updated_at or spec.created_at)
                    data["termination_reason"] = "投资方调整产业布局，项目终止"
        elif key == "problem":
            category = rng.choice(list(PROBLEMS))
            spec.title = f"{tname}：{industry}{PROBLEMS[category]}"
            responsible = rng.choice(self.members)
            data = {"category": category, "description": f"{industry}{PROBLEMS[category]}",
                    "origin": rng.choice(["field_work", "enterprise"]), "raised_by": f"{tname}经济发展办",
                    "raiser_unit": self.units[spec.county_id][0]}
            spec.extra["category"] = category
            if spec.state != "logged":
                due = NOW + timedelta(days=rng.randint(3, 14)) if spec.state in ("assigned", "in_progress") else \
                    spec.created_at + timedelta(days=14)
                data.update({"responsible_unit_id": responsible, "responsible_unit": self.units[responsible][0],
                             "due_date": _day(due)})
                spec.extra["responsible"] = responsible
        else:  # plan_task
            programme = rng.choice(PROGRAMMES)
            responsible = spec.county_id if rng.random() < 0.6 else rng.choice(self.members)
            lead = rng.choice(self.members)
            spec.title = f"{TASKS[programme]} · {self.units[responsible][0]}"
            data = {"programme": programme, "task_title": TASKS[programme], "responsible_unit_id": responsible,
                    "lead_unit_id": lead, "target_text": f"全年完成{TASKS[programme]}目标", "target_figure": None,
                    "milestones": [], "report_cycle": rng.choice(["monthly", "quarterly"]),
                    "report_period": f"{year}-{spec.created_at.month:02d}",
                    "report_due_date": (NOW.date() + timedelta(days=rng.randint(3, 30))).isoformat(),
                    "source": "plan", "plan_year": year}
            if spec.state in ("supervised", "supervision_overdue", "criticism_pending", "criticised"):
                data["supervision_due_date"] = (NOW.date() + timedelta(days=rng.randint(3, 20))).isoformat()
            spec.extra["parties"] = [(lead, "lead"), (responsible, "responsible")]
            if responsible not in self.members:
                spec.county_id = responsible
        spec.data = data

    def figures(self, spec: Spec) -> dict[str, Any]:
        rng = self.rng
        output = round(rng.uniform(1.5, 120.0) * (1 + 0.06 * (spec.year - 2017)), 1)
        figures: dict[str, Any] = {
            "output_yi": output, "tax_wan": round(output * rng.uniform(150, 350), 1),
            "market_entities": rng.randint(200, 4000), "above_scale_firms": rng.randint(1, 40),
            "employees": rng.randint(500, 15000), "high_tech_firms": rng.randint(0, 10),
            "specialised_firms": rng.randint(0, 6), "invention_patents": rng.randint(0, 60), "brands": [],
            "standards": [], "geographical_indications": rng.randint(0, 3), "service_platforms": rng.randint(0, 4),
            "key_projects": rng.randint(0, 6), "project_investment_yi": round(rng.uniform(0, 20), 1)}
        if rng.random() < 0.2:
            town = self.towns[spec.town or 0]
            figures["brands"] = [{"name": f"{town['name'][:2]}{town['leading_industry']}",
                                  "level": rng.choice(["national", "provincial"])}]
        return figures

    def catalog(self, key: str) -> Definition:
        return CATALOG.current(key)


# --- writing ----------------------------------------------------------------------------------------------------

def _fresh(url: str) -> str:
    """The URL of `url` (a file path is a SQLite database), emptied: the file removed, or the schema dropped."""
    if "://" not in url:
        url = f"sqlite:///{Path(url).resolve()}"
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
    else:
        engine = make_engine(url)
        empty_schema(engine)
        engine.dispose()
    return url


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), BATCH):
        yield rows[i:i + BATCH]


def build(url: str, scale: float = 1.0, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """Make a fresh database at `url` (a SQLite path or a PostgreSQL URL) holding the dataset; the row counts, the
    seconds taken and the logins."""
    started = time.perf_counter()
    url = _fresh(url)
    engine = make_engine(url)
    migrate(engine)
    sessions = make_session_factory(engine)
    pg = engine.dialect.name == "postgresql"
    b = Builder(scale, seed)
    from workflow.core.calendar import calendar_for

    with transaction(sessions) as s:  # the city's units, the definitions and their first audit events
        CATALOG.sync(s, START - timedelta(days=2))
        ensure_reference_units(s, START - timedelta(days=2))
        b.calendar = calendar_for(s)
        names = {name: kind for name, kind in s.execute(sa.text("SELECT name, kind FROM unit"))}
        counties = [name for name, kind in names.items() if kind == "county"]
        for name in [n for n in EXTRA_COUNTIES if n not in names][:max(0, COUNTIES - len(counties))]:
            s.add(Unit(name=name, kind="county", created_at=START - timedelta(days=1)))
        s.flush()
        audit.record(s, kind="admin_change", now=START - timedelta(days=1),
                     data={"reference_units_added": COUNTIES - len(counties)})
        for unit_id, name, kind in s.execute(sa.text("SELECT id, name, kind FROM unit ORDER BY id")):
            b.units[unit_id] = (name, kind)
        max_user = s.execute(sa.text("SELECT max(id) FROM app_user")).scalar() or 0
    b.counties = [i for i, (_, kind) in b.units.items() if kind == "county"]
    b.members = [i for i, (_, kind) in b.units.items() if kind == "member"]
    b.office_id = next(i for i, (_, kind) in b.units.items() if kind == "office")
    b.leader_unit_id = next(i for i, (_, kind) in b.units.items() if kind == "leading_group")

    password_hash = hash_password(PASSWORD)  # once: every user has the same
    b.make_users(password_hash, max_user + 1)
    b.make_towns(1)
    b.plan_cases()
    rng = b.rng
    for spec in b.specs:
        if spec.key == "rectification":
            spec.extra["finding"] = rng.choice(FINDINGS)
        b.choose_state(spec, b.catalog(spec.key))
    for spec in b.specs:  # an inspection's orders come from its findings: it was closed when they were issued
        if spec.key == "inspection" and spec.children:
            spec.state = "closed"
            spec.updated_at = min(c.created_at for c in spec.children)
    counters: dict[tuple[str, int], int] = {}
    for n, spec in enumerate(b.specs, start=1):
        definition = b.catalog(spec.key)
        year = local_date(spec.created_at).year
        counters[(spec.key, year)] = counters.get((spec.key, year), 0) + 1
        spec.id, spec.number = n, f"{definition.number_prefix}-{year}-{counters[(spec.key, year)]:04d}"
    for spec in b.specs:
        b.fill(spec)
    built = time.perf_counter()

    # the rows
    cases: list[dict[str, Any]] = []
    bodies: list[dict[str, Any]] = []
    deadlines: list[dict[str, Any]] = []
    parties: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    stats: list[dict[str, Any]] = []
    events: list[Event] = []
    notify_from: list[tuple[Spec, int, datetime, TransitionSpec]] = []
    latest_output: dict[int, tuple[int, float]] = {}
    for spec in b.specs:
        definition = b.catalog(spec.key)
        state = definition.states[spec.state]
        steps = b.path(definition, spec.state)
        town = b.towns[spec.town] if spec.town is not None else None
        spec.version = 1 + len(steps)
        assert spec.updated_at is not None
        cases.append({"id": spec.id, "number": spec.number, "definition_key": spec.key,
                      "definition_version": definition.version, "state": spec.state, "version": spec.version,
                      "county_id": spec.county_id, "town_id": town["id"] if town else None,
                      "parent_id": spec.parent.id if spec.parent else None, "title": spec.title[:200],
                      "data": spec.data, "created_by_id": None, "created_at": spec.created_at,
                      "updated_at": spec.updated_at, "closed_at": spec.updated_at if state.final else None})
        creator_role = sorted(definition.create_roles - {"system"})[0] if definition.create_roles - {"system"} \
            else "system"
        if spec.parent is not None or spec.key in ("town", "redesignation"):
            creator_role = "system"
        who = b.actor(creator_role, spec.county_id) if creator_role != "system" else None
        cases[-1]["created_by_id"] = who["id"] if who else None
        events.append((spec.created_at, "case_created", who, spec.county_id, spec.id, None, None, definition.initial,
                       None,
                       {"data": {}, "definition": f"{spec.key}@{definition.version}", "number": spec.number}))
        comments: list[tuple[str | None, str | None]] = []
        span = (spec.updated_at - spec.created_at) / max(1, len(steps))
        for k, step in enumerate(steps, start=1):
            at = spec.updated_at if k == len(steps) else spec.created_at + span * k
            at = max(at, spec.created_at + timedelta(seconds=k))
            role = "system" if step.system or not step.roles else sorted(step.roles)[0]
            actor = b.actor(role, spec.county_id) if role != "system" else None
            comment = None
            if step.comment == "required" or (step.comment == "optional" and rng.random() < 0.3):
                word = rng.choice([town["leading_industry"] if town else "专业镇", town["name"] if town else "台账"])
                comment = rng.choice(COMMENTS).format(x=word)
                comments.append((step.trigger, comment))
            source = steps[k - 2].dest if k > 1 else definition.initial
            events.append((at, "transition", actor, spec.county_id, spec.id, step.trigger, source, step.dest,
                           comment, {"changes": {}}))
            if NOW - at < timedelta(days=120):
                notify_from.append((spec, k + 1, at, step))
        bodies.append({"case_id": spec.id, "body": body_of(
            number=spec.number, title=spec.title, town=town["name"] if town else None,
            county=b.units[spec.county_id][0], definition_key=spec.key, data=spec.data, comments=comments)})
        if not state.final:
            deadlines += _deadlines(b, spec, state)
        if spec.key == "problem":
            problems.append({"case_id": spec.id, "category": spec.extra["category"],
                             "responsible_unit_id": spec.extra.get("responsible")})
            if "responsible" in spec.extra:
                parties.append({"case_id": spec.id, "unit_id": spec.extra["responsible"],
                                "purpose": "problem_responsible", "created_at": spec.created_at,
                                "responded_at": spec.updated_at if spec.state in ("answered", "closed") else None})
        elif spec.key == "plan_task":
            for unit_id, purpose in spec.extra["parties"]:
                if unit_id in b.members:
                    parties.append({"case_id": spec.id, "unit_id": unit_id, "purpose": purpose,
                                    "created_at": spec.created_at, "responded_at": None})
        elif spec.key == "designation" and spec.state not in ("draft", "submitted", "returned", "withdrawn"):
            for unit_id in rng.sample(b.members, 3):
                parties.append({"case_id": spec.id, "unit_id": unit_id, "purpose": "consultation",
                                "created_at": spec.created_at, "responded_at":
                                    None if spec.state == "consultation" else spec.updated_at})
        elif spec.key == "evaluation_town" and spec.state in ("unit_scoring", "office_review", "scored", "ranked"):
            for unit_id in rng.sample(b.members, 2):
                parties.append({"case_id": spec.id, "unit_id": unit_id, "purpose": "evaluation",
                                "created_at": spec.created_at, "responded_at":
                                    None if spec.state == "unit_scoring" else spec.updated_at})
        elif spec.key == "statistics_report" and spec.state == "accepted" and town is not None:
            figures = spec.data["figures"]
            stats.append({"id": len(stats) + 1, "town_id": town["id"], "county_id": spec.county_id,
                          "year": spec.year, "output_yi": figures["output_yi"], "figures": figures,
                          "spec_version": 1, "report_case_id": spec.id, "accepted_at": spec.updated_at})
            if spec.year >= latest_output.get(town["id"], (0, 0.0))[0]:
                latest_output[town["id"]] = (spec.year, figures["output_yi"])
    for town_id, (year, output) in latest_output.items():
        b.towns[town_id - 1]["output_yi"], b.towns[town_id - 1]["output_year"] = output, year
    items = [row for s in stats for row in statistics_item_rows(s["id"], s["town_id"], s["county_id"], s["year"],
                                                                s["figures"])]
    for user in b.users:
        events.append((user["created_at"], "user_created", None, None, None, None, None, None, None,
                       {"username": user["username"], "role": user["role"]}))
    for town in b.towns:
        events.append((town["created_at"], "town_created", None, town["county_id"], None, None, None, None, None,
                       {"town": town["name"]}))

    # what the users did besides: logins, searches, exports, the messages sent to them
    with transaction(sessions) as s:
        head_seq, head_hash = audit.lock_head(s)
    wanted = SIZES["audit_events"] * scale - head_seq - len(events)
    kinds, weights = zip(*FILLER_KINDS, strict=True)
    span_s = int((NOW - START).total_seconds())
    for _ in range(max(0, round(wanted))):
        kind = rng.choices(kinds, weights)[0]
        user = rng.choice(b.users)
        at = START + timedelta(seconds=rng.randrange(span_s))
        county = user["unit_id"] if user["role"] == "county" else None
        data: dict[str, Any] = {}
        if kind == "search":
            data = {"q": rng.choice(b.towns)["name"]}
        elif kind in ("notification_sent", "reminder_sent"):
            data = {"channel": rng.choice(["email", "sms"]), "to": user["username"]}
        elif kind == "list_exported":
            data = {"list": "cases", "rows": rng.randint(10, 2000)}
        elif kind == "login_failed":
            data = {"username": user["username"], "reason": "bad_password"}
        events.append((at, kind, user if kind != "login_failed" else None, county, None, None, None, None, None,
                       data))
    events.sort(key=lambda e: e[0])

    # in-app notifications of the last months' steps, to the county's users or the office's
    notifications, seen = [], set()
    for spec, version, at, step in rng.sample(notify_from, min(len(notify_from), b.n(SIZES["users"] * 40))):
        county_users = b.county_users.get(spec.county_id)
        to_county = county_users and step.dest and "county" in b.catalog(spec.key).states[step.dest].actors
        user = rng.choice(county_users if to_county else b.by_role["office"])  # type: ignore[arg-type]  # not None when to_county
        source = f"case:{spec.id}:v{version}:u{user['id']}"
        if source in seen:
            continue
        seen.add(source)
        definition = b.catalog(spec.key)
        notifications.append({
            "user_id": user["id"], "case_id": spec.id, "kind": "event", "source_key": source, "created_at": at,
            "read_at": at + timedelta(hours=rng.randint(1, 72)) if rng.random() < 0.7 else None,
            "params": {"number": spec.number, "title": spec.title, "process": definition.label.zh,
                       "process_en": definition.label.en, "state": definition.state_label(step.dest or "", "zh"),
                       "state_en": definition.state_label(step.dest or "", "en"), "step": step.label.zh,
                       "step_en": step.label.en, "from_state": definition.state_label(step.sources[0], "zh"),
                       "from_state_en": definition.state_label(step.sources[0], "en"), "template": "case_event"}})

    counts: dict[str, int] = {}
    with engine.begin() as conn:
        def put(model: Any, rows: list[dict[str, Any]]) -> None:
            table = table_of(model)
            for chunk in _chunks(rows):
                conn.execute(table.insert(), chunk)
            counts[table.name] = counts.get(table.name, 0) + len(rows)

        put(User, b.users)
        put(Town, b.towns)
        put(Case, cases)
        put(CaseSearch, bodies)
        if not pg:  # what workflow.core.search.index_case writes besides on SQLite (the trigram table has triggers)
            for chunk in _chunks(bodies):
                conn.exec_driver_sql(f"INSERT INTO {CHARS_TABLE}(rowid, body) VALUES (?, ?)",
                                     [(r["case_id"], spaced(r["body"])) for r in chunk])
        put(Deadline, deadlines)
        put(CaseParty, parties)
        put(ProblemEntry, problems)
        put(TownStatistics, stats)
        put(TownStatisticsItem, items)
        put(Notification, notifications)
        put(Counter, [{"key": f"case:{key}", "year": year, "value": value} for (key, year), value in counters.items()])
        seq, prev = head_seq, head_hash
        table = table_of(AuditEvent)
        for start in range(0, len(events), BATCH):
            rows = []
            for at, kind, actor, county, case_id, trigger, from_state, to_state, comment, data in \
                    events[start:start + BATCH]:
                seq += 1
                unit = b.units.get(actor["unit_id"]) if actor else None
                system = actor is None and kind != "login_failed"  # a failed login has no actor at all
                row = {"seq": seq, "occurred_at": at, "kind": kind,
                       "actor_id": actor["id"] if actor else None,
                       "actor_name": actor["display_name"] if actor else "系统" if system else None,
                       "role": actor["role"] if actor else "system" if system else None,
                       "unit_id": actor["unit_id"] if actor else None, "unit_name": unit[0] if unit else None,
                       "county_id": county, "ip": _ip(rng) if actor or not system else None,
                       "case_id": case_id, "trigger": trigger,
                       "from_state": from_state, "to_state": to_state, "comment": comment,
                       "data": audit.canonical_json(data), "prev_hash": prev}
                row["hash"] = prev = audit.event_hash(row)
                rows.append(row)
            conn.execute(table.insert(), rows)
        counts["audit_event"] = seq
        conn.execute(table_of(AuditHead).update().where(table_of(AuditHead).c.id == 1), {"seq": seq, "hash": prev})
        if pg:
            for name in ("app_user", "town", "case_file", "deadline", "case_party", "town_statistics",
                         "town_statistics_item", "notification", "audit_event", "unit"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                     f"(SELECT coalesce(max(id), 1) FROM {name}))")
    with engine.connect() as conn:
        if pg:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
        for name in ("unit", "app_user", "town", "case_file", "case_search", "deadline", "case_party",
                     "problem_entry", "town_statistics", "notification", "audit_event"):
            counts[name] = conn.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar_one()
        counts["county"] = conn.exec_driver_sql("SELECT count(*) FROM unit WHERE kind = 'county'").scalar_one()
        by_kind: dict[str, int] = dict(conn.exec_driver_sql(
            "SELECT definition_key, count(*) FROM case_file GROUP BY definition_key ORDER BY 1").all())
        by_role: dict[str, int] = dict(conn.exec_driver_sql(
            "SELECT role, count(*) FROM app_user GROUP BY role ORDER BY 1").all())
    engine.dispose()
    return {"url": url, "scale": scale, "seed": seed, "counts": counts, "cases_by_process": by_kind,
            "users_by_role": by_role, "password": PASSWORD,
            "logins": {role: [u["username"] for u in users[:3]] for role, users in b.by_role.items()},
            "seconds": round(time.perf_counter() - started, 1), "seconds_generating": round(built - started, 1)}


def _ip(rng: random.Random) -> str:
    return f"10.{rng.randrange(1, 250)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _deadlines(b: Builder, spec: Spec, state: Any) -> list[dict[str, Any]]:
    """The open deadline rows of the state a case is in, as workflow.core.deadlines.plan_deadlines writes them;
    reminders whose time has passed were sent."""
    rows = []
    assert spec.updated_at is not None
    for d in state.deadlines:
        counted_from: str | None = None
        working_days: int | None = None
        if d.field and spec.data.get(d.field):
            due = date.fromisoformat(str(spec.data[d.field]))
        elif d.working_days:
            start, working_days = local_date(spec.updated_at), d.working_days
            due, _ = b.calendar.add_working_days(start, d.working_days)
            counted_from = start.isoformat()
        else:
            due = local_date(spec.updated_at) + timedelta(days=d.calendar_days or 30)
            if d.field:
                spec.data[d.field] = due.isoformat()
        base = {"case_id": spec.id, "state": spec.state, "name": d.name, "due_date": due.isoformat(),
                "is_estimated": not b.calendar.knows(due.year), "created_at": spec.updated_at,
                "counted_from": counted_from, "working_days": working_days, "attempts": 0, "claimed_at": None,
                "claimed_by": None, "closed_at": None, "first_failed_at": None, "next_try_at": None}
        rows.append({**base, "kind": "expiry", "trigger": d.on_expiry, "offset_days": None,
                     "due_at": expiry_moment(due), "status": "open", "fired_at": None})
        for offset in d.reminders:
            at = reminder_moment(due, offset, b.calendar)
            if at <= spec.updated_at:
                continue
            rows.append({**base, "kind": "reminder", "trigger": None, "offset_days": offset, "due_at": at,
                         "status": "open" if at > NOW else "fired", "fired_at": None if at > NOW else at})
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True, help="a SQLite file path (replaced) or a PostgreSQL URL "
                                                          "(its public schema is dropped)")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    result = build(args.database, args.scale, args.seed)
    print(f"database: {result['url']}  scale {result['scale']}  seed {result['seed']}")
    for name, count in result["counts"].items():
        print(f"  {name:22} {count:>10,}")
    print("  cases by process: " + ", ".join(f"{k} {v:,}" for k, v in result["cases_by_process"].items()))
    print("  users by role: " + ", ".join(f"{k} {v:,}" for k, v in result["users_by_role"].items()))
    print(f"  password of every user: {result['password']}; e.g. "
          + ", ".join(names[0] for names in result["logins"].values()))
    print(f"built in {result['seconds']} s ({result['seconds_generating']} s choosing the cases)")


if __name__ == "__main__":
    main()
