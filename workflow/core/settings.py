"""Settings the workflow layer reads; the application sets them from its configuration at start."""

from __future__ import annotations

from dataclasses import dataclass

MAX_DUE_DAYS = 366  # a deadline a person sets lies at most this many days ahead (ZYZ_MAX_DUE_DAYS)
FILE_GRACE_HOURS = 24  # an unreferenced stored file is swept once this old (ZYZ_FILE_GRACE_HOURS)
RECEIPT_DAYS = 3  # working days a county has to acknowledge a notice before it is reminded (ZYZ_RECEIPT_DAYS)
TASK_REPORT_DAY = 5  # a task's monthly report is due by this working day of the next month (ZYZ_TASK_REPORT_DAY)
# who approves a new business account or a password reset (ZYZ_ACCOUNT_APPROVER; workflow.accounts.approvals)
ACCOUNT_APPROVERS = ("auditor", "office", "none")


@dataclass
class Settings:
    designation_cycle_years: int = 3
    instance_path: str = "instance"
    upload_dir: str = ""  # empty: <instance_path>/files
    max_due_days: int = MAX_DUE_DAYS
    soffice: str = ""  # LibreOffice's program (a path or a name on PATH); empty: soffice, else libreoffice
    file_grace_hours: int = FILE_GRACE_HOURS
    receipt_days: int = RECEIPT_DAYS
    task_report_day: int = TASK_REPORT_DAY
    # keys the pseudonym of a name typed at a failed login that names no account (the app's secret key)
    pseudonym_key: str = ""
    # auditor | office: a business account or a password reset waits for that role's approval; none: takes effect
    account_approver: str = "auditor"


settings = Settings()


def configure(**values: object) -> None:
    """Set workflow settings (from the app's config or a test)."""
    for key, value in values.items():
        if not hasattr(settings, key):
            raise AttributeError(f"unknown workflow setting {key}")
        setattr(settings, key, value)
