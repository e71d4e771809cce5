"""The data model: units, users, sessions, towns, cases, the audit trail, deadlines, attachments.

Times are timezone-aware UTC datetimes in columns ending in `_at`; dates without a time are local
(Asia/Shanghai) calendar dates and end in `_date`.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from workflow.core.datakeys import Sealed, SealedFields

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


class Role(StrEnum):
    county = "county"
    office = "office"
    member = "member"
    leader = "leader"
    auditor = "auditor"
    admin = "admin"
    system = "system"


HUMAN_ROLES = (Role.county, Role.office, Role.member, Role.leader, Role.auditor, Role.admin)
ROLE_LABELS = {
    Role.county: ("县（区）", "County"),
    Role.office: ("领导小组办公室", "Leading group office"),
    Role.member: ("成员单位", "Member unit"),
    Role.leader: ("领导小组", "Leading group"),
    Role.auditor: ("安全审计员", "Security auditor"),
    Role.admin: ("系统管理员", "System administrator"),
    Role.system: ("系统", "System"),
}


class UnitKind(StrEnum):
    county = "county"
    office = "office"
    member = "member"
    leading_group = "leading_group"


# The role a user of each kind of unit holds; admin and auditor accounts belong to the office's bureau.
UNIT_KIND_ROLES = {
    UnitKind.county: {Role.county},
    UnitKind.office: {Role.office, Role.admin, Role.auditor},
    UnitKind.member: {Role.member},
    UnitKind.leading_group: {Role.leader},
}


class Unit(SQLModel, table=True):
    __tablename__ = "unit"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    kind: str = Field(max_length=20, index=True)
    is_active: bool = True
    created_at: datetime


class User(SQLModel, table=True):
    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=100)
    role: str = Field(max_length=20, index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    # personal data: encrypted at rest under ZYZ_DATA_KEY (workflow.core.datakeys)
    email: str | None = Field(default=None, max_length=200, sa_type=Sealed(400, "app_user.email"))
    mobile: str | None = Field(default=None, max_length=20, sa_type=Sealed(120, "app_user.mobile"))
    password_hash: str = Field(max_length=255)
    # the subject (DN) of the account's client certificate (UKey), when ZYZ_CLIENT_CERT asks for one at login
    cert_subject: str | None = Field(default=None, max_length=500)
    is_active: bool = True
    must_change_password: bool = False
    failed_logins: int = 0
    locked_until: datetime | None = None
    password_changed_at: datetime
    last_login_at: datetime | None = None
    created_at: datetime


class AccountRequest(SQLModel, table=True):
    """A change to a business account that takes effect only when a second person approves it (三员分立): a new
    account (`create`) or a password reset (`reset`), asked for by the administrator (workflow.accounts.approvals).
    At most one pending request per account."""

    __tablename__ = "account_request"
    __table_args__ = (sa.Index("ix_account_request_status", "status", "id"),
                      sa.Index("uq_account_request_pending", "user_id", unique=True,
                               sqlite_where=sa.text("status = 'pending'"),
                               postgresql_where=sa.text("status = 'pending'")))

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=10)  # create | reset
    user_id: int = Field(foreign_key="app_user.id", index=True)
    requested_by: int = Field(foreign_key="app_user.id")
    requested_at: datetime
    status: str = Field(default="pending", max_length=10)  # pending | approved | rejected
    decided_by: int | None = Field(default=None, foreign_key="app_user.id")
    decided_at: datetime | None = None
    comment: str | None = Field(default=None, max_length=500)


class SeatPosition(StrEnum):
    """The positions of the leading group's roster (组成人员 and 工作机构 in the plan's annex)."""

    leader = "leader"  # 组长
    deputy_leader = "deputy_leader"  # 副组长
    member = "member"  # 成员
    office_director = "office_director"  # 办公室主任
    office_deputy = "office_deputy"  # 办公室副主任
    liaison = "liaison"  # 联络员


class Seat(SQLModel, table=True):
    """A seat of the roster, by position, not by person: whoever holds it acts in it, and a successor takes it
    over without a new document (the annex: 由现履职人员自行替补). A seat is never deleted, only made inactive.

    `role` and `acting_unit_id` are what its holder acts as, set from the position and the unit's kind when the
    seat is made (workflow.accounts.seats.acting_for): the heads act for the leading group, the office's director
    and deputies for the office whatever unit they come from, a member or liaison for their own unit."""

    __tablename__ = "seat"
    __table_args__ = (sa.Index("ix_seat_role_unit", "role", "acting_unit_id", "holder_id"),)

    id: int | None = Field(default=None, primary_key=True)
    position: str = Field(max_length=20)
    title: str = Field(max_length=100)  # the post, as the annex prints it: 市委副书记、市长
    unit_id: int | None = Field(default=None, foreign_key="unit.id")  # the unit the seat comes from
    role: str = Field(max_length=20)
    acting_unit_id: int = Field(foreign_key="unit.id")
    holder_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    held_since: datetime | None = None
    sort: int = 0
    is_active: bool = True
    created_at: datetime


class LoginSession(SQLModel, table=True):
    """A server-side session (browser) or bearer token (API); the cookie or token carries only its key."""

    __tablename__ = "login_session"

    id: int | None = Field(default=None, primary_key=True)
    key_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    kind: str = Field(max_length=10)  # web | api
    ip: str | None = Field(default=None, max_length=64)
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None
    ended_reason: str | None = Field(default=None, max_length=40)
    # the seat of the leading group's roster this session acts in (workflow.accounts.seats); None: the account's
    # own role and unit
    acting_seat_id: int | None = Field(default=None, foreign_key="seat.id")


class SecondFactor(SQLModel, table=True):
    """A user's second factor, one row per user (workflow.accounts.second_factor): the TOTP secret (or, for the SMS
    method, the code last sent) from the start of enrolment, confirmed once a first code matched; and the date by
    which the per-role policy wants it."""

    __tablename__ = "second_factor"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", unique=True)
    method: str = Field(default="totp", max_length=10)  # totp: an authenticator app; sms: codes sent to the mobile
    # base32 (RFC 4648), as the authenticator app takes it; it must be readable to check a code, so it is sealed
    # under ZYZ_DATA_KEY like the contact details (workflow.core.datakeys), not hashed
    totp_secret: str | None = Field(default=None, max_length=64,
                                    sa_type=Sealed(200, "second_factor.totp_secret"))
    confirmed_at: datetime | None = None  # None: enrolment started but not finished, the secret not yet in use
    last_step: int | None = None  # the last 30-second time step whose code was accepted: each code works once
    enrol_by_at: datetime | None = None  # a user the policy requires must enrol before it to go on working
    sms_code_hash: str | None = Field(default=None, max_length=255)  # the last code sent by SMS (argon2id), unused
    sms_code_expires_at: datetime | None = None
    sms_sent_at: datetime | None = None  # one SMS a minute at most
    updated_at: datetime


class RecoveryCode(SQLModel, table=True):
    """A one-use recovery code of a user's second factor, stored as its argon2id hash; shown once when made."""

    __tablename__ = "recovery_code"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    code_hash: str = Field(max_length=255)
    created_at: datetime
    used_at: datetime | None = None


class Town(SQLModel, table=True):
    __tablename__ = "town"
    __table_args__ = (sa.UniqueConstraint("county_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    county_id: int = Field(foreign_key="unit.id", index=True)
    industry_category: str | None = Field(default=None, max_length=40)
    leading_industry: str | None = Field(default=None, max_length=200)
    created_at: datetime
    # The output of the latest accepted annual statistics (亿元) and its year; None until the first is accepted,
    # when the registry reads the output declared in the application. The tier follows from it (registry.yaml).
    output_yi: float | None = None
    output_year: int | None = None


class TownStatistics(SQLModel, table=True):
    """A town's accepted figures for one year (definitions/statistics.yaml): what the registry's years, the tiers
    and the dashboard read, one row per town and year, written when the office accepts the year's report."""

    __tablename__ = "town_statistics"
    # (year, county_id, output_yi): the dashboard's output by year and county is read from this index alone
    __table_args__ = (sa.UniqueConstraint("town_id", "year", name="uq_town_statistics_year"),
                      sa.Index("ix_town_statistics_year_county", "year", "county_id", "output_yi"))

    id: int | None = Field(default=None, primary_key=True)
    town_id: int = Field(foreign_key="town.id", index=True)
    county_id: int = Field(foreign_key="unit.id", index=True)
    year: int = Field(index=True)
    output_yi: float | None = None  # the figure the tier and the totals read, copied out of `figures`
    figures: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    spec_version: int  # the version of definitions/statistics.yaml the report was filled on
    report_case_id: int = Field(foreign_key="case_file.id")
    accepted_at: datetime


class TownStatisticsItem(SQLModel, table=True):
    """The items of a statistics row's lists (brands, standards), one row per item and choice it carries, kept in
    step with the row by the listeners below: the dashboard counts a ledger (national brands, industry standards
    over a plan period) from an index of this table instead of reading every row's JSON."""

    __tablename__ = "town_statistics_item"
    # a count of one kind of item over years: SEARCH by (field, choice_key, choice_value, year), the rest covered
    __table_args__ = (sa.Index("ix_town_statistics_item_choice", "field", "choice_key", "choice_value", "year",
                               "county_id", "town_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    statistics_id: int = Field(foreign_key="town_statistics.id", index=True)
    town_id: int
    county_id: int
    year: int
    field: str = Field(max_length=40)  # the list's key in the figures
    name: str = Field(max_length=200)
    choice_key: str = Field(max_length=40)  # e.g. level, kind, role ('' for an item without choices)
    choice_value: str = Field(max_length=100)


def statistics_item_rows(statistics_id: int, town_id: int, county_id: int, year: int,
                         figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The town_statistics_item rows of one statistics row's figures."""
    rows = []
    for field, value in figures.items():
        if not isinstance(value, list):
            continue
        for item in value:
            if not isinstance(item, dict):
                continue
            name = str(item.get("name") or "")[:200]
            pairs = [(str(k)[:40], str(v)[:100]) for k, v in item.items() if k != "name"] or [("", "")]
            rows += [{"statistics_id": statistics_id, "town_id": town_id, "county_id": county_id, "year": year,
                      "field": field[:40], "name": name, "choice_key": k, "choice_value": v} for k, v in pairs]
    return rows


class Case(SQLModel, table=True):
    __tablename__ = "case_file"
    # the dashboard counts cases of a kind by county and state from this index alone (towns by level, orders); a
    # kind's list (the problem ledger) is filtered and counted by state, county and town from the second
    __table_args__ = (sa.Index("ix_case_file_kind_county_state", "definition_key", "county_id", "state"),
                      sa.Index("ix_case_file_kind_id", "definition_key", "id", "state", "county_id", "town_id"),
                      # the cases of a kind that reached a state in a year, of a county or all (the dashboard's
                      # designations this year), and those of a final state (the renewed re-reviews)
                      sa.Index("ix_case_file_kind_state_county_closed", "definition_key", "state", "county_id",
                               "closed_at"))

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=40, unique=True)
    definition_key: str = Field(max_length=40, index=True)
    definition_version: int
    state: str = Field(max_length=40, index=True)
    version: int = 1
    county_id: int = Field(foreign_key="unit.id", index=True)
    town_id: int | None = Field(default=None, foreign_key="town.id", index=True)
    parent_id: int | None = Field(default=None, foreign_key="case_file.id", index=True)
    title: str = Field(max_length=200)
    # JSON; the values of the keys definitions/visibility.yaml names `personal` encrypted at rest (datakeys)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=SealedFields("case_file.data"))
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None


class CaseTally(SQLModel, table=True):
    """How many cases of a kind each county has in each state: kept by the database itself (triggers on case_file,
    migration 0026) for every insert, change of kind, county or state, and delete, whatever writes them, in the
    writer's transaction. The dashboard reads its counts from these few hundred rows instead of counting the cases
    (workflow.dashboard.figures); a row whose count fell to 0 stays. Two transitions of one county's cases lock two
    of its rows each, in either order: on PostgreSQL they cannot deadlock, since every writer of cases has taken the
    audit trail's head first (workflow.core.audit.lock_head). `zyz tally recount` counts it again
    (workflow.core.tally)."""

    __tablename__ = "case_tally"

    definition_key: str = Field(max_length=40, primary_key=True)
    county_id: int = Field(primary_key=True)
    state: str = Field(max_length=40, primary_key=True)
    n: int


class CaseParty(SQLModel, table=True):
    """A unit brought into a case, e.g. a member unit asked for its opinion; it may then see the case."""

    __tablename__ = "case_party"
    __table_args__ = (sa.UniqueConstraint("case_id", "unit_id", "purpose"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_file.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    purpose: str = Field(max_length=40)
    created_at: datetime
    responded_at: datetime | None = None  # when the unit did what it was brought in for


class ProblemEntry(SQLModel, table=True):
    """What the problem ledger filters on besides a case's own columns (definitions/problem.yaml): the category and
    the unit responsible now, one row per problem, kept by the process's actions. The case's data holds the same;
    this row lets a ledger of 100,000 problems be filtered and counted by index."""

    __tablename__ = "problem_entry"
    __table_args__ = (sa.Index("ix_problem_entry_category", "category", "case_id"),
                      sa.Index("ix_problem_entry_unit", "responsible_unit_id", "case_id"))

    case_id: int = Field(foreign_key="case_file.id", primary_key=True)
    category: str = Field(max_length=20)
    responsible_unit_id: int | None = Field(default=None, foreign_key="unit.id")


class DefinitionSource(SQLModel, table=True):
    """Each definition version ever loaded, so cases keep the version they started on."""

    __tablename__ = "definition_source"
    __table_args__ = (sa.UniqueConstraint("key", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=40)
    version: int
    sha256: str = Field(max_length=64)
    source: str = Field(sa_type=sa.Text)
    loaded_at: datetime


class AuditEvent(SQLModel, table=True):
    """One entry of the hash-chained audit trail; the database refuses any change to it (triggers: 0001, 0009)."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(sa_type=sa.BigInteger, unique=True)
    occurred_at: datetime  # this and the filter columns below are indexed together with seq (end of file)
    kind: str = Field(max_length=40)
    actor_id: int | None = None
    actor_name: str | None = Field(default=None, max_length=100)
    role: str | None = Field(default=None, max_length=20)
    unit_id: int | None = None
    unit_name: str | None = Field(default=None, max_length=100)
    county_id: int | None = None
    ip: str | None = Field(default=None, max_length=64)
    case_id: int | None = None
    trigger: str | None = Field(default=None, max_length=60)
    from_state: str | None = Field(default=None, max_length=40)
    to_state: str | None = Field(default=None, max_length=40)
    comment: str | None = Field(default=None, sa_type=sa.Text)
    data: str = Field(default="{}", sa_type=sa.Text)  # canonical JSON, hashed as stored
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The head of the chain: one row, locked by every writer of an event."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = Field(default=0, sa_type=sa.BigInteger)
    hash: str = Field(max_length=64)
    # The hash the next event is written with (workflow.core.audit.HASHES); changed only by a recorded
    # hash_algorithm_changed event, which `verify` follows along the chain.
    algorithm: str = Field(default="sha256", max_length=16, sa_column_kwargs={"server_default": "sha256"})


class DeadlineStatus(StrEnum):
    open = "open"
    claimed = "claimed"
    fired = "fired"
    closed = "closed"
    failed = "failed"  # processing still raised after its retries: an incident is open (workflow.core.incidents)
    skipped = "skipped"  # a reminder caught up too late to mean anything: recorded, not sent


class Deadline(SQLModel, table=True):
    __tablename__ = "deadline"
    __table_args__ = (sa.Index("ix_deadline_due", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_file.id", index=True)
    state: str = Field(max_length=40)
    name: str = Field(max_length=40)
    kind: str = Field(max_length=10)  # expiry | reminder
    trigger: str | None = Field(default=None, max_length=60)
    offset_days: int | None = None
    due_date: str | None = Field(default=None, max_length=10)  # the local date the deadline falls on
    due_at: datetime
    is_estimated: bool = False  # counted with weekends only: the year's holidays are not known
    # A due date counted in working days keeps what it was counted from, so that it is counted again when a year's
    # holidays are entered or changed (workflow.core.calendar_admin); both None: a date given by a person, or a
    # count of calendar days, which no holiday moves. A reminder row carries its deadline's.
    counted_from: str | None = Field(default=None, max_length=10)  # the local date the count started after
    working_days: int | None = None
    status: str = Field(default=DeadlineStatus.open, max_length=10)
    claimed_at: datetime | None = None
    claimed_by: str | None = Field(default=None, max_length=64)
    fired_at: datetime | None = None
    closed_at: datetime | None = None
    created_at: datetime
    attempts: int = 0  # failed tries so far; the next one waits until next_try_at (workflow.core.incidents)
    first_failed_at: datetime | None = None
    next_try_at: datetime | None = None


class IncidentStatus(StrEnum):
    open = "open"
    resolved = "resolved"


class Incident(SQLModel, table=True):
    """An automatic step (a deadline's expiry or reminder, a scheduled job) that failed after its retries.

    It stays open, on the office's board and on the case page, until somebody retries it successfully or
    resolves it by hand with a comment (workflow.core.incidents)."""

    __tablename__ = "incident"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="case_file.id", index=True)
    deadline_id: int | None = Field(default=None, foreign_key="deadline.id", index=True)
    job: str | None = Field(default=None, max_length=60)  # a scheduled job's id, for a failure outside a case
    trigger: str | None = Field(default=None, max_length=60)
    error_zh: str = Field(max_length=1000)
    error_en: str = Field(max_length=1000)
    tries: int = 1
    first_failed_at: datetime
    last_failed_at: datetime
    status: str = Field(default=IncidentStatus.open, max_length=10, index=True)
    resolved_at: datetime | None = None
    resolved_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    resolution: str | None = Field(default=None, max_length=20)  # retried | by_hand | recovered
    comment: str | None = Field(default=None, max_length=1000)


class Attachment(SQLModel, table=True):
    __tablename__ = "attachment"
    # the dashboard counts the year's criticism notices by kind and time
    __table_args__ = (sa.Index("ix_attachment_kind_uploaded", "kind", "uploaded_at"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="case_file.id", index=True)
    town_id: int | None = Field(default=None, foreign_key="town.id", index=True)
    kind: str = Field(default="evidence", max_length=40)
    sha256: str = Field(max_length=64)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size: int
    uploaded_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    uploaded_at: datetime
    # A file made from another attachment (the PDF of an issued .docx notice) names its source.
    derived_from_id: int | None = Field(default=None, foreign_key="attachment.id", index=True)


class DocumentTemplate(SQLModel, table=True):
    """A version of an official document's template that the office uploaded (workflow.core.templates).

    The file is stored like an attachment, by sha256. Of a template's versions at most one is active; with none
    active, the template shipped in definitions/templates/ is used. Versions are never deleted."""

    __tablename__ = "document_template"
    __table_args__ = (sa.UniqueConstraint("name", "version", name="uq_document_template_version"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=40, index=True)
    version: int
    sha256: str = Field(max_length=64)
    filename: str = Field(max_length=255)
    size: int
    active: bool = False
    note: str = Field(default="", max_length=500)
    uploaded_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    uploaded_at: datetime


class UnitPreset(SQLModel, table=True):
    """A saved choice of member units (常用组合) the office applies at 受理 (workflow.core.unit_presets).

    `unit_ids` lists member units' ids; a unit later made inactive stays listed, and is left out where the preset
    is applied (only active member units can be chosen)."""

    __tablename__ = "unit_preset"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=40, unique=True)
    unit_ids: list[int] = Field(default_factory=list, sa_type=JSONType)
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime
    updated_at: datetime


class NoticeReceipt(SQLModel, table=True):
    """A notice addressed to a unit (a county) that the unit must acknowledge (签收) in the system."""

    __tablename__ = "notice_receipt"
    __table_args__ = (sa.UniqueConstraint("attachment_id", "unit_id", name="uq_notice_receipt_unit"),)

    id: int | None = Field(default=None, primary_key=True)
    attachment_id: int = Field(foreign_key="attachment.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="case_file.id", index=True)
    issued_at: datetime
    remind_date: date | None = None  # the working day after which an unacknowledged notice is reminded
    reminded_at: datetime | None = None
    acknowledged_at: datetime | None = Field(default=None, index=True)
    acknowledged_by_id: int | None = Field(default=None, foreign_key="app_user.id")


class Counter(SQLModel, table=True):
    """Numbers that count up within a year and are never reused (case numbers, 阳专镇〔2026〕N号)."""

    __tablename__ = "counter"

    key: str = Field(max_length=40, primary_key=True)
    year: int = Field(primary_key=True)
    value: int = 0


class Notification(SQLModel, table=True):
    """An in-app message to one user; its text is rendered from `kind` and `params` in the reader's language."""

    __tablename__ = "notification"
    __table_args__ = (sa.Index("ix_notification_user_unread", "user_id", "read_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id")
    case_id: int | None = Field(default=None, foreign_key="case_file.id", index=True)
    kind: str = Field(max_length=40)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    source_key: str = Field(max_length=120, unique=True)  # what caused it, once per recipient
    created_at: datetime
    read_at: datetime | None = None


class CalendarDay(SQLModel, table=True):
    """A day of an entered year that differs from the weekend rule: a holiday on a weekday, or a make-up working day."""

    __tablename__ = "calendar_day"

    day: date = Field(primary_key=True)
    is_workday: bool
    note: str | None = Field(default=None, max_length=100)


class CalendarYear(SQLModel, table=True):
    """A year whose holidays the system knows from its own table (it overrides the chinese-calendar package)."""

    __tablename__ = "calendar_year"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    entered_at: datetime
    entered_by: str | None = Field(default=None, max_length=100)


class NotificationPreference(SQLModel, table=True):
    """How a user wants to be told; a user without a row gets the defaults (every channel on, quiet 22:00-07:00)."""

    __tablename__ = "notification_preference"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True, sa_column_kwargs={"autoincrement": False})
    deadline_email: bool = True  # reminders and expiries: email and SMS may not both be off
    deadline_sms: bool = True
    event_email: bool = True  # everything else the rules announce (a state entered, a step taken)
    event_sms: bool = True
    quiet_start: str = Field(default="22:00", max_length=5)  # local HH:MM; SMS wait until quiet_end
    quiet_end: str = Field(default="07:00", max_length=5)  # equal to quiet_start: no quiet hours
    language: str = Field(default="zh", max_length=5)  # zh | en: the language of e-mail and SMS
    updated_at: datetime
    updated_by_id: int | None = Field(default=None, foreign_key="app_user.id")


class OutboxStatus(StrEnum):
    queued = "queued"  # waiting for next_attempt_at
    claimed = "claimed"  # taken by a dispatcher, not handed to the server yet: safe to hand over again
    sending = "sending"  # being handed over: after a crash it may or may not have been accepted
    sent = "sent"
    failed = "failed"  # tries used up, refused for good, or in doubt after a crash; the office may retry


class OutboxMessage(SQLModel, table=True):
    """One e-mail or SMS to one user, written in the transaction of its cause and sent by the dispatcher."""

    __tablename__ = "outbox_message"
    __table_args__ = (sa.Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True)  # source event, recipient, channel
    source: str = Field(max_length=120)  # the cause: deadline:<id> or case:<id>:v<version>
    rule: str = Field(max_length=60)  # the rule in definitions/notifications.yaml
    template: str = Field(max_length=60)
    category: str = Field(max_length=10)  # deadline | event
    channel: str = Field(max_length=10)  # email | sms
    user_id: int = Field(foreign_key="app_user.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="case_file.id", index=True)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    status: str = Field(default=OutboxStatus.queued, max_length=10)
    attempts: int = 0
    next_attempt_at: datetime
    retries: int = 0  # times the office put it back in the queue
    # where it went, when handed over: an e-mail address or mobile number, encrypted at rest like the user's
    address: str | None = Field(default=None, max_length=200, sa_type=Sealed(400, "outbox_message.address"))
    message_id: str | None = Field(default=None, max_length=200)  # the e-mail's Message-ID
    provider_ref: str | None = Field(default=None, max_length=120)  # the gateway's id (BizId, SerialNo)
    last_error: str | None = Field(default=None, sa_type=sa.Text)  # the provider's or server's answer
    error_kind: str | None = Field(default=None, max_length=10)  # transient | permanent | in_doubt
    claimed_by: str | None = Field(default=None, max_length=80)
    claimed_at: datetime | None = None
    created_at: datetime
    sent_at: datetime | None = None
    failed_at: datetime | None = None


# The auditor's searches page through the trail newest first by keyset on seq: each filter gets an index that
# ends in seq, so `WHERE <filter> = ? AND seq < ? ORDER BY seq DESC LIMIT n` reads n entries and stops.
_audit_columns = AuditEvent.__table__.c  # type: ignore[attr-defined]  # SQLModel adds __table__ undeclared
for _name in ("kind", "actor_id", "unit_id", "role", "county_id", "case_id", "occurred_at"):
    sa.Index(f"ix_audit_event_{_name}_seq", _audit_columns[_name], _audit_columns.seq)


class LoginThrottle(SQLModel, table=True):
    """Counters shared by every worker: login attempts per client address and minute, failures per unknown
    username, and permission refusals per login session and minute (workflow.accounts.throttle)."""

    __tablename__ = "login_throttle"

    # ip:<address> | unknown-user:<keyed hash of the name> | refused:session:<id> | refused:ip:<address>
    key: str = Field(max_length=120, primary_key=True)
    window_start: datetime | None = None  # the fixed window `count` belongs to (per-address counters)
    count: int = 0
    locked_until: datetime | None = None  # an unknown username "locks" like a real one
    updated_at: datetime = Field(index=True)  # rows untouched for a day are dropped


class DemoClock(SQLModel, table=True):
    """The demo clock (ZYZ_ENV demo or test): how far the system's time stands from the real time. One row, or
    none for the real clock; production never reads it (workflow.core.democlock)."""

    __tablename__ = "demo_clock"

    id: int = Field(default=1, primary_key=True)
    offset_us: int = Field(sa_type=sa.BigInteger)  # microseconds added to the real time
    updated_at: datetime  # the real time of the last change


class CaseSearch(SQLModel, table=True):
    """The text a case is found by (workflow.core.search): its number, title, town, county, the names and texts
    its process contributes, and the comments of its steps, one per line; rewritten in the transaction of every
    change. SQLite indexes it with an FTS5 trigram table (`case_search_fts`), PostgreSQL with a pg_trgm GIN index
    (`ix_case_search_body_trgm`); both are made by migration 0014, outside these models."""

    __tablename__ = "case_search"

    case_id: int = Field(foreign_key="case_file.id", primary_key=True, sa_column_kwargs={"autoincrement": False})
    body: str = Field(sa_type=sa.Text)


_items = TownStatisticsItem.__table__  # type: ignore[attr-defined]  # SQLModel adds __table__ undeclared


@sa.event.listens_for(TownStatistics, "after_insert")
@sa.event.listens_for(TownStatistics, "after_update")
def _keep_items(_mapper: Any, connection: sa.Connection, row: TownStatistics) -> None:
    """Write a statistics row's items again whenever the row is written (in the same transaction)."""
    connection.execute(_items.delete().where(_items.c.statistics_id == row.id))
    rows = statistics_item_rows(row.id, row.town_id, row.county_id, row.year, row.figures or {})  # type: ignore[arg-type]  # a flushed row has its id
    if rows:
        connection.execute(_items.insert(), rows)


@sa.event.listens_for(TownStatistics, "before_delete")
def _drop_items(_mapper: Any, connection: sa.Connection, row: TownStatistics) -> None:
    connection.execute(_items.delete().where(_items.c.statistics_id == row.id))
