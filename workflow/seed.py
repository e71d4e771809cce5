"""Reference units from the city profile (definitions/profile.yaml: the plan's annex), and Yangquan's demo data."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from workflow.accounts import seats
from workflow.accounts.auth import actor_for, create_user
from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.engine import create_case, fire
from workflow.core.models import Seat, Unit, UnitKind, User
from workflow.core.profile import Profile, profile
from workflow.core.unit_presets import save_preset
from workflow.dashboard.demo import add_demo_statistics
from workflow.programmes.demo import programmes_demo
from workflow.projects.demo import demo_projects
from workflow.towns.services import create_town

# The counties, the office, the leading group and the member units are the city profile's
# (definitions/profile.yaml, workflow.core.profile): COUNTIES, OFFICE, LEADING_GROUP, MEMBER_UNITS and
# MEMBER_UNIT_GROUPS below are read from the profile in use each time they are asked for.
_FROM_PROFILE: dict[str, Callable[[Profile], object]] = {
    "COUNTIES": lambda p: p.counties,
    "OFFICE": lambda p: p.office,
    "LEADING_GROUP": lambda p: p.leading_group,
    "MEMBER_UNITS": lambda p: p.member_units,
    # (label, names) per group, in the annex's order; every member unit is in exactly one group.
    "MEMBER_UNIT_GROUPS": lambda p: tuple(({"zh": g.label.zh, "en": g.label.en}, g.units) for g in p.member_groups),
}


def __getattr__(name: str) -> object:
    if name in _FROM_PROFILE:
        return _FROM_PROFILE[name](profile())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


OTHER_GROUP = {"zh": "其他成员单位", "en": "Other member units"}


@dataclass(frozen=True)
class UnitGroup:
    key: str
    label: dict[str, str]
    units: list[Unit]


def group_member_units(units: Sequence[Unit]) -> list[UnitGroup]:
    """`units` in the groups and order of the annex; units the annex does not name follow, by name, in a last group.

    Empty groups are left out."""
    by_name = {u.name: u for u in units}
    member_groups = profile().member_groups
    groups = [UnitGroup(f"g{i}", {"zh": g.label.zh, "en": g.label.en}, [by_name[n] for n in g.units if n in by_name])
              for i, g in enumerate(member_groups, start=1)]
    named = {n for g in member_groups for n in g.units}
    groups.append(UnitGroup("other", OTHER_GROUP, sorted((u for u in units if u.name not in named),
                                                          key=lambda u: u.name)))
    return [g for g in groups if g.units]


def ensure_reference_units(session: Session, now: datetime) -> int:
    """Create the counties, the office, the leading group and the member units of the city profile in use that are
    missing (a unit the administrator renamed or deactivated is the administrator's: only a name no unit has is
    added)."""
    city = profile()
    wanted = [(name, UnitKind.county) for name in city.counties]
    wanted += [(city.office, UnitKind.office), (city.leading_group, UnitKind.leading_group)]
    wanted += [(name, UnitKind.member) for name in city.member_units]
    existing = set(session.exec(select(Unit.name)).all())
    added = 0
    for name, kind in wanted:
        if name not in existing:
            session.add(Unit(name=name, kind=kind.value, created_at=now))
            added += 1
    if added:
        session.flush()
        audit.record(session, kind="admin_change", now=now, data={"reference_units_added": added})
    seats.ensure_roster(session, [(r.position, r.title, r.unit) for r in city.roster], now)  # a new database's
    return added


def unit_id(session: Session, name: str) -> int:
    found = session.exec(select(Unit.id).where(Unit.name == name)).one()
    assert found is not None  # a stored row's primary key
    return int(found)


DEMO_PASSWORD = "Yq-Demo-2026!"  # noqa: S105 - printed on start of the demo, never used outside it
DEMO_USERS = (
    ("county", "county_yx", "盂县 办事员 王丽", "盂县"),
    ("county", "county_pd", "平定县 办事员 李强", "平定县"),
    ("office", "office", "办公室 张敏", "市工信局（领导小组办公室）"),
    ("member", "member_kj", "市科技局 赵磊", "市科技局"),
    ("member", "member_ny", "市农业农村局 孙芳", "市农业农村局"),
    ("leader", "leader", "领导小组 副组长", "阳泉市专业镇高质量发展领导小组"),
    ("admin", "admin", "系统管理员", "市工信局（领导小组办公室）"),
    ("auditor", "auditor", "安全审计员", "市工信局（领导小组办公室）"),
)


# The office's saved sets of member units (常用组合) in the demo: whom it usually consults on an industrial town and
# on an agricultural or tourist one.
DEMO_UNIT_PRESETS = (
    ("工业类专业镇常用会审单位", ("市发改委", "市工信局", "市科技局", "市商务局", "市市场监管局", "市统计局")),
    ("农业文旅类专业镇常用会审单位", ("市农业农村局", "市文旅局", "市发改委", "市市场监管局", "市规划和自然资源局")),
)


def attach_materials(session: Session, actor: Actor, case_id: int, now: datetime) -> None:
    """The county attaches one small PDF of each required kind of 证明材料 (definitions/materials.yaml) before it
    submits, as the guard materials_complete asks."""
    from workflow.core.attachments import store_bytes
    from workflow.designation.materials import checklist

    for material in checklist():
        if material.required:
            store_bytes(session=session, actor=actor, data=_pdf(material.label.zh), filename=f"{material.label.zh}.pdf",
                        content_type="application/pdf", kind=material.kind, now=now, case_id=case_id)


def _pdf(title: str) -> bytes:
    """A one-page placeholder PDF naming the document (its text in ASCII: the demo has no font to embed)."""
    text = "Demo supporting document " + title.encode("unicode_escape").decode("ascii")[:60]
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = b"%PDF-1.4\n", []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


def _stuck_application(session: Session, act: dict[str, Actor], application: dict, long_ago: datetime,
                       now: datetime) -> None:
    """An application returned for revision whose lapse failed three times while the database was being
    maintained: an open incident for the office to retry or resolve (异常事件)."""
    from sqlmodel import select

    from workflow.core import incidents, sweep
    from workflow.core.models import Deadline

    town = create_town(session=session, actor=Actor.system(), name="仙人乡", county_id=unit_id(session, "盂县"),
                       now=long_ago, industry_category="agriculture", leading_industry="香菇")
    case = create_case(session=session, definition_key="designation", actor=act["county_yx"], now=long_ago,
                       town_id=town.id, data={**application, "leading_industry": "香菇", "output_yi": 2.4})
    case_id = case.id
    assert case_id is not None  # create_case flushed the row
    attach_materials(session, act["county_yx"], case_id, long_ago)
    fire(session=session, case_id=case_id, trigger="submit", actor=act["county_yx"], now=long_ago)
    fire(session=session, case_id=case_id, trigger="return_for_revision", actor=act["office"], now=long_ago,
         comment="缺少县级人民政府推荐意见")
    expiry = session.exec(select(Deadline).where(Deadline.case_id == case_id, Deadline.kind == "expiry",
                                                 Deadline.status == "open")).one()
    first = expiry.due_at
    last = first + incidents.BACKOFF[0] + incidents.BACKOFF[1]
    expiry.status, expiry.attempts, expiry.first_failed_at, expiry.fired_at = "failed", incidents.MAX_TRIES, first, last
    session.add(expiry)
    session.flush()
    error = ("系统内部错误：OperationalError: 数据库连接中断（服务器维护）",
             "Internal error: OperationalError: database connection lost (server maintenance)")
    incidents.open_incident(session, now=last, error=error, tries=incidents.MAX_TRIES, first_failed_at=first,
                            notifier=sweep.NOTIFIER, case_id=case_id, county_id=case.county_id,
                            deadline_id=expiry.id, trigger="expire", title=f"{case.number} {case.title}")


def _notices_to_acknowledge(session: Session, act: dict[str, Actor], *, designation_id: int, order_id: int,
                            designated: datetime) -> None:
    """平定县 acknowledged its designation notice the next day; the older order ran past its deadline and was
    criticised, and the criticism notice is still waiting for 平定县's acknowledgement (签收), overdue by now."""
    from workflow.core import receipts
    from workflow.core.models import Deadline, NoticeReceipt

    signed = session.exec(select(NoticeReceipt).where(NoticeReceipt.case_id == designation_id)).one()
    receipts.acknowledge(session, act["county_pd"], signed.id, designated + timedelta(days=1, hours=2))  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    expiry = session.exec(select(Deadline).where(Deadline.case_id == order_id, Deadline.kind == "expiry",
                                                 Deadline.status == "open")).one()
    fire(session=session, case_id=order_id, trigger="expire", actor=Actor.system(), now=expiry.due_at)
    fire(session=session, case_id=order_id, trigger="criticise", actor=act["office"],
         now=expiry.due_at + timedelta(days=1), comment="逾期未建成检验检测公共服务平台，且未申请延期。")
    fire(session=session, case_id=order_id, trigger="approve_criticism", actor=act["leader"],
         now=expiry.due_at + timedelta(days=2))


def _demo_roster(session: Session, users: dict[str, User], since: datetime) -> None:
    """Two seats of the roster held in the demo: the leading group's login holds the deputy head's seat, and
    市农业农村局's 孙芳 the office's deputy director's seat from her bureau, so she may act as the office (the
    switch under her name); the other seats are vacant until the administrator names their holders."""
    def seat_of(position: str, unit: str | None) -> int:
        where = Unit.name == unit if unit else col(Seat.unit_id).is_(None)
        found = session.exec(select(Seat.id).join(Unit, col(Unit.id) == Seat.unit_id, isouter=True)
                             .where(Seat.position == position, where).order_by(col(Seat.id))).first()
        assert found is not None  # the profile's roster has it
        return int(found)

    for position, unit, username in (("deputy_leader", None, "leader"), ("office_deputy", "市农业农村局", "member_ny")):
        seats.assign(session, actor=Actor.system(), seat_id=seat_of(position, unit), user_id=users[username].id,  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
                     now=since)


def build_demo(session: Session, now: datetime) -> list[tuple[str, str, str]]:
    """The demo data set: reference units, one login per role, and cases in different states."""
    ensure_reference_units(session, now)
    users: dict[str, User] = {}
    for role, username, name, unit in DEMO_USERS:
        users[username] = create_user(session, username=username, display_name=name, role=role,
                                      unit_id=unit_id(session, unit), password=DEMO_PASSWORD, now=now,
                                      must_change_password=False, email=f"{username}@example.gov.cn")
    act = {k: actor_for(session, u) for k, u in users.items()}
    system = Actor.system()
    earlier = now - timedelta(days=20)
    _demo_roster(session, users, now - timedelta(days=90))

    towns = {}
    for name, county, category, industry in (
        ("娘子关镇", "平定县", "light_industry", "砂器、刻花瓷"),
        ("冠山镇", "平定县", "manufacturing", "耐火材料"),
        ("梁家寨乡", "盂县", "agriculture", "小杂粮、核桃"),
        ("路家村镇", "盂县", "agriculture", "香菇种植"),
        ("荫营镇", "郊区", "manufacturing", "装备制造"),
        ("巨城镇", "平定县", "light_industry", "日用陶瓷"),
        *PAST_DESIGNATED,
    ):
        towns[name] = create_town(session=session, actor=system, name=name, county_id=unit_id(session, county),
                                  now=earlier, industry_category=category, leading_industry=industry)
    add_demo_statistics(session, now)  # three years of accepted statistics for the dashboard and the evaluation
    _past_designations_and_evaluation(session, act, towns, now)

    application = {"industry_category": "agriculture", "leading_industry": "小杂粮", "main_products": "小米、荞麦",
                   "output_yi": 3.2, "county_share_pct": 12.5, "jobs": 1800, "local_workers": 1500,
                   "average_income": 38000, "supporting_enterprises": 24,
                   "leading_enterprises": [{"name": "盂县晋粮农业开发有限公司", "honours": ["dragon_head"]}],
                   "business_environment": "县政府设立专业镇服务专班，项目审批全程代办。"}
    # a draft, a submitted application, one in joint review, one designated
    create_case(session=session, definition_key="designation", actor=act["county_yx"], now=now,
                town_id=towns["路家村镇"].id, data={**application, "leading_industry": "香菇", "output_yi": 1.6})
    submitted = create_case(session=session, definition_key="designation", actor=act["county_yx"], now=earlier,
                            town_id=towns["梁家寨乡"].id, data=application)
    attach_materials(session, act["county_yx"], submitted.id, earlier)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    fire(session=session, case_id=submitted.id, trigger="submit", actor=act["county_yx"], now=earlier)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved

    reviewed = create_case(session=session, definition_key="designation", actor=act["county_pd"], now=earlier,
                           town_id=towns["冠山镇"].id,
                           data={**application, "industry_category": "manufacturing", "leading_industry": "耐火材料",
                                 "output_yi": 18.5, "supporting_enterprises": 40})
    attach_materials(session, act["county_pd"], reviewed.id, earlier)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    fire(session=session, case_id=reviewed.id, trigger="submit", actor=act["county_pd"], now=earlier)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    fire(session=session, case_id=reviewed.id, trigger="accept", actor=act["office"], now=now,  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
         payload={"member_units": [unit_id(session, "市科技局"), unit_id(session, "市农业农村局")]})

    done = create_case(session=session, definition_key="designation", actor=act["county_pd"], now=earlier,
                       town_id=towns["娘子关镇"].id,
                       data={**application, "industry_category": "light_industry", "leading_industry": "砂器",
                             "output_yi": 2.6})
    steps = [("submit", "county_pd", {}), ("accept", "office", {"member_units": [unit_id(session, "市科技局")]}),
             ("record_opinion", "member_kj", {"opinion": "agree"}), ("conclude", "office", {}),
             ("record_experts", "office", {"experts": [{"name": "刘教授", "score": 88},
                                                       {"name": "陈高工", "score": 91}],
                                           "expert_recommendation": "建议认定"}),
             ("propose", "office", {}), ("approve", "leader", {})]
    attach_materials(session, act["county_pd"], done.id, earlier)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    for trigger, who, payload in steps:
        fire(session=session, case_id=done.id, trigger=trigger, actor=act[who], now=earlier, payload=payload)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    fire(session=session, case_id=done.id, trigger="publicity_end", actor=system, now=earlier)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    fire(session=session, case_id=done.id, trigger="issue_notice", actor=act["office"], now=earlier)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved

    # one whose public notice has just ended: the office reads the draft of its designation notice and issues it
    pending = create_case(session=session, definition_key="designation", actor=act["county_pd"], now=earlier,
                          town_id=towns["巨城镇"].id,
                          data={**application, "industry_category": "light_industry", "leading_industry": "日用陶瓷",
                                "output_yi": 4.1})
    attach_materials(session, act["county_pd"], pending.id, earlier)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    for trigger, who, payload in steps:
        fire(session=session, case_id=pending.id, trigger=trigger, actor=act[who], now=earlier, payload=payload)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    fire(session=session, case_id=pending.id, trigger="publicity_end", actor=system, now=now - timedelta(days=1))  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved

    # supervision: an inspection of the designated town with two findings, one of them now an order in progress,
    # and an older order that ran past its deadline
    from workflow.supervision.inspections import plan_inspection

    long_ago = now - timedelta(days=75)
    inspected = towns["娘子关镇"].id
    assert inspected is not None  # create_town flushed the row
    inspection = plan_inspection(session=session, actor=act["office"], town_id=inspected, now=long_ago,
                                 campaign=f"{long_ago.year}年度专业镇专项检查")
    findings = [("公共服务平台（检验检测）尚未建成运行", "high"), ("专业镇统计台账更新不及时", "low")]
    fire(session=session, case_id=inspection.id, trigger="start", actor=act["office"], now=long_ago)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    for text, severity in findings:
        fire(session=session, case_id=inspection.id, trigger="record_finding", actor=act["office"],  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
             now=long_ago, payload={"finding": {"text": text, "severity": severity, "attachments": []}})
    fire(session=session, case_id=inspection.id, trigger="decide_finding", actor=act["office"], now=long_ago,  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
         payload={"finding_no": 1, "decision": "rectify"})
    fire(session=session, case_id=inspection.id, trigger="decide_finding", actor=act["office"], now=long_ago,  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
         payload={"finding_no": 2, "decision": "no_action"})
    fire(session=session, case_id=inspection.id, trigger="close", actor=act["office"], now=long_ago)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    order_id = inspection.data["findings"][0]["order_id"]
    fire(session=session, case_id=order_id, trigger="acknowledge", actor=act["county_pd"], now=long_ago)
    _notices_to_acknowledge(session, act, designation_id=done.id, order_id=order_id, designated=earlier)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved

    recent = create_case(session=session, definition_key="rectification", actor=act["office"], now=now,
                         town_id=towns["娘子关镇"].id,
                         data={"problem": "龙头企业研发投入统计口径不一致", "severity": "medium"})
    fire(session=session, case_id=recent.id, trigger="acknowledge", actor=act["county_pd"], now=now)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    _stuck_application(session, act, application, long_ago, now)
    for name, units in DEMO_UNIT_PRESETS:  # 常用组合 the office picks at 受理
        save_preset(session, act["office"], name=name, unit_ids=[unit_id(session, u) for u in units], now=earlier)
    _statistics_reports(session, act, towns, now)
    _redesignation_review(session, towns, now)
    _evaluation(session, act, now)
    demo_projects(session, act, now)  # the project libraries (workflow/projects/demo.py)
    from workflow.problems.demo import add_demo_problems  # the problem ledger (问题台账)
    add_demo_problems(session, act, now)
    programmes_demo(session, act, towns, now)
    from workflow.recommendation.demo import recommendation_demo  # the provincial recommendation (推荐上报)
    recommendation_demo(session, act, now)
    _account_requests(session, act, now)
    return [(role, username, DEMO_PASSWORD) for role, username, _, _ in DEMO_USERS]


def _account_requests(session: Session, act: dict[str, Actor], now: datetime) -> None:
    """The administrator's request awaiting the security auditor (三员分立): a new clerk of 郊区, whom the auditor
    approves on /account-requests, the one-time password going to the clerk's own e-mail and mobile (with
    ZYZ_ACCOUNT_APPROVER=none, as in the tests, no request is made)."""
    from workflow.accounts import approvals, services

    if approvals.approver() == "none":
        return
    services.create_account(session, actor=act["admin"], username="county_jq2", display_name="郊区专业镇专干",
                            role="county", unit_id=unit_id(session, "郊区"), now=now - timedelta(hours=3),
                            email="county_jq2@example.gov.cn", mobile="13900001234")


# Towns designated in mid-2024 (before the demo's other cases), evaluated for 2024 in the spring of 2025 and ranked.
PAST_DESIGNATED = (
    ("西烟镇", "盂县", "manufacturing", "铸造"),
    ("南娄镇", "盂县", "agriculture", "小杂粮加工"),
    ("秀水镇", "盂县", "agriculture", "食用菌"),
    ("张庄镇", "平定县", "manufacturing", "耐火材料"),
    ("冶西镇", "平定县", "light_industry", "黑釉陶瓷"),
)


def _past_designations_and_evaluation(session: Session, act: dict[str, Actor], towns: dict, now: datetime) -> None:
    """The towns designated two years ago (on their records, as the designation's notice does), and the published
    evaluation of that year (workflow/evaluation/demo.py)."""
    from workflow.core.calendar import local_date
    from workflow.core.queries import registry_case
    from workflow.evaluation.demo import past_evaluation

    year = local_date(now).year - 2
    for n, (name, _county, category, _industry) in enumerate(PAST_DESIGNATED, start=1):
        record = registry_case(session, towns[name].id)
        assert record is not None and record.id is not None
        fire(session=session, case_id=record.id, trigger="designate", actor=Actor.system(),
             now=datetime(year, 6, 20, 2, 0, tzinfo=now.tzinfo),
             payload={"designation_number": f"阳专镇〔{year}〕{n}号", "designated_date": f"{year}-06-20",
                      "review_date": f"{year + 3}-06-20", "industry_category": category})
    counties = {a.unit_id: a for a in (act["county_yx"], act["county_pd"]) if a.unit_id is not None}
    past_evaluation(session, act, counties, year)


def _redesignation_review(session: Session, towns: dict, now: datetime) -> None:
    """A re-designation review (滚动认定复核) open for the designated 娘子关镇, as the scheduler opens one when the
    review date comes near: the county confirms it on the case page."""
    from workflow.designation.redesignation import open_review

    open_review(session=session, town_id=towns["娘子关镇"].id, now=now)


def _evaluation(session: Session, act: dict[str, Actor], now: datetime) -> None:
    """Last year's evaluation (年度评价), opened by the office for every designated town with the values of its
    accepted statistics filled in: the counties' self-assessments come next."""
    from workflow.core.calendar import local_date
    from workflow.evaluation.campaign import open_evaluation

    open_evaluation(session=session, actor=act["office"], now=now, year=local_date(now).year - 1)


def _statistics_reports(session: Session, act: dict[str, Actor], towns: dict, now: datetime) -> None:
    """Last year's statistics reports, opened for every town: one submitted for the office to check, one saved
    halfway by its county, the rest still to fill in."""
    from workflow.core.calendar import local_date
    from workflow.statistics.campaign import open_reports

    year = local_date(now).year - 1
    reports = {c.town_id: c for c in open_reports(session=session, actor=act["office"], now=now, year=year)}
    from workflow.dashboard.demo import figures_of

    # 娘子关镇: a year on from its last accepted figures, the output up by half (explained)
    figures = figures_of("娘子关镇", 3, True)
    figures["output_yi"] = round(figures["output_yi"] * 1.5, 2)
    sent = reports[towns["娘子关镇"].id]
    fire(session=session, case_id=sent.id, trigger="submit_figures", actor=act["county_pd"], now=now,  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
         payload={"figures": figures, "explanations": {"output_yi": "砂器文创产品线投产，产值较上年明显增长"}})
    half = reports[towns["冠山镇"].id]
    started = figures_of("冠山镇", 3, True)
    fire(session=session, case_id=half.id, trigger="save_figures", actor=act["county_pd"], now=now,  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
         payload={"figures": {k: started[k] for k in ("output_yi", "tax_wan", "market_entities")}})
