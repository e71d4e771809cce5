"""The columns of the core's lists as Excel exports (workflow.core.exports): the case list and the inbox, the
supervision board, the notices' acknowledgements. Each column is what the page shows, as a value a spreadsheet can
sort and sum: a deadline a date, the working days left a number (negative once overdue, shown red as overdue)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from workflow.core.catalog import CATALOG
from workflow.core.exports import DAYS_LEFT, Column, Filter, ListSpec, as_date, county_filter
from workflow.core.models import Town
from workflow.core.queries import CaseRow, DeadlineBadge
from workflow.core.receipts import ReceiptView
from workflow.core.yamlcheck import Label

YES = Label("是", "yes")
NONE = Label("", "")


def process_of(key: str) -> Label:
    return CATALOG.current(key).label


def state_of(key: str, version: int, state: str) -> Label:
    spec = CATALOG.get(key, version).states.get(state)
    return spec.label if spec else Label(state, state)


def _due(badge: DeadlineBadge | None) -> Any:
    return as_date(badge.due_date) if badge else None


def _left(badge: DeadlineBadge | None) -> Any:
    return badge.working_days_left if badge else None


def _estimated(badge: DeadlineBadge | None) -> Label:
    return YES if badge and badge.is_estimated else NONE


CASE_COLUMNS: tuple[Column[CaseRow], ...] = (
    Column("编号", "Number", lambda r: r.case.number, 20),
    Column("标题", "Title", lambda r: r.case.title, 40),
    Column("流程", "Process", lambda r: process_of(r.case.definition_key), 14),
    Column("状态", "State", lambda r: state_of(r.case.definition_key, r.case.definition_version, r.case.state), 16),
    Column("县（区）", "County", lambda r: r.county, 12),
    Column("专业镇", "Town", lambda r: r.town, 16),
    Column("期限", "Deadline", lambda r: _due(r.badge), 12),
    Column("剩余工作日", "Working days left", lambda r: _left(r.badge), 12, DAYS_LEFT),
    Column("期限为估算", "Deadline estimated", lambda r: _estimated(r.badge), 10),
    Column("最近变更", "Last change", lambda r: r.case.updated_at, 17),
)

CASES: ListSpec[CaseRow] = ListSpec("cases", Label("案件列表", "Cases"), "cases", CASE_COLUMNS)
INBOX: ListSpec[CaseRow] = ListSpec("inbox", Label("我的待办", "My inbox"), "inbox", CASE_COLUMNS)

BOARD: ListSpec[CaseRow] = ListSpec("supervision_board", Label("督办台账", "Supervision board"), "supervision-board", (
    Column("编号", "Number", lambda r: r.case.number, 20),
    Column("专业镇", "Town", lambda r: r.town, 16),
    Column("县（区）", "County", lambda r: r.county, 12),
    Column("问题", "Problem", lambda r: r.case.data.get("problem") or "", 50),
    Column("状态", "State", lambda r: state_of(r.case.definition_key, r.case.definition_version, r.case.state), 16),
    Column("整改期限", "Deadline", lambda r: as_date(r.case.data.get("due_date")), 12),
    Column("剩余工作日", "Working days left", lambda r: _left(r.badge), 12, DAYS_LEFT),
    Column("期限为估算", "Deadline estimated", lambda r: _estimated(r.badge), 10),
    Column("原定期限", "Original deadline", lambda r: as_date(r.case.data.get("original_due_date")), 12),
))


def _receipt_status(r: ReceiptView) -> Label:
    if r.signed:
        return Label("逾期签收", "acknowledged late") if r.late else Label("已签收", "acknowledged")
    return Label("逾期未签收", "overdue") if r.overdue else Label("未签收", "not acknowledged")


RECEIPT_COLUMNS: tuple[Column[ReceiptView], ...] = (
    Column("通知", "Notice", lambda r: r.notice, 36),
    Column("案件编号", "Case number", lambda r: r.case_number or "", 20),
    Column("案件标题", "Case title", lambda r: r.case_title or "", 36),
    Column("县（区）", "County", lambda r: r.unit_name, 12),
    Column("印发时间", "Issued", lambda r: r.issued_at, 17),
    Column("签收期限", "Acknowledge by", lambda r: r.remind_date, 12),
    Column("签收情况", "Acknowledgement", _receipt_status, 12),
    Column("签收时间", "Acknowledged at", lambda r: r.acknowledged_at, 17),
    Column("签收人", "Acknowledged by", lambda r: r.acknowledged_by or "", 12),
    Column("已催办", "Reminded", lambda r: r.reminded_at, 17),
)

RECEIPTS: ListSpec[ReceiptView] = ListSpec("receipts", Label("签收情况", "Notice acknowledgements"), "receipts",
                                           RECEIPT_COLUMNS)
RECEIPTS_MINE: ListSpec[ReceiptView] = ListSpec("my_receipts", Label("待签收", "Notices to acknowledge"),
                                                "my-receipts", RECEIPT_COLUMNS)


# --- the filters as the sheet names them -----------------------------------------------------------------------

STATE = Label("状态", "State")


def case_filters(session: Session, *, definition: str | None = None, state: str | None = None,
                 county_id: int | None = None, town_id: int | None = None) -> list[Filter]:
    """The case list's filters (and the board's: `definition` names whose states `state` is one of)."""
    found = []
    if definition:
        found.append(Filter("definition", definition, Label("流程", "Process"), process_of(definition)))
    if state:
        spec = CATALOG.current(definition).states.get(state) if definition else None
        found.append(Filter("state", state, STATE, spec.label if spec else state))
    if county_id:
        found.append(county_filter(session, county_id))
    if town_id:
        town = session.get(Town, town_id)
        found.append(Filter("town_id", town_id, Label("专业镇", "Town"), town.name if town else str(town_id)))
    return found


def board_filters(session: Session, *, county_id: int | None = None, state: str | None = None) -> list[Filter]:
    found = case_filters(session, definition="rectification", state=state, county_id=county_id)
    return [f for f in found if f.name != "definition"]  # the board shows rectification orders only


RECEIPT_STATUSES = {"unsigned": Label("未签收", "not acknowledged"), "signed": Label("已签收", "acknowledged"),
                    "overdue": Label("逾期未签收", "overdue, not acknowledged")}


def receipt_filters(session: Session, *, status: str = "all", county_id: int | None = None) -> list[Filter]:
    found = []
    if county_id:
        found.append(county_filter(session, county_id))
    if status in RECEIPT_STATUSES:
        found.append(Filter("status", status, Label("签收情况", "Acknowledgement"), RECEIPT_STATUSES[status]))
    return found
