"""What the case page's panel tells everyone who reads a project (workflow.core.panels): stalled, its quarterly
update overdue, and the dates of the stages passed."""

from __future__ import annotations

from datetime import datetime

from workflow.core.calendar import local_date
from workflow.core.models import Case
from workflow.core.panels import Line, Section, panel
from workflow.core.yamlcheck import Label
from workflow.projects import INVESTMENT, KEY
from workflow.projects.rules import STAGE_DATES, is_overdue, is_stalled
from workflow.projects.settings import project_rules

ROLES = ("county", "office", "leader")
STAGE_LABELS = {"signed_date": Label("签约", "Signed"), "started_date": Label("开工", "Construction started"),
                "producing_date": Label("投产", "Production started"),
                "effective_date": Label("达效", "Full output reached"), "landed_date": Label("落地", "Landed"),
                "terminated_date": Label("终止", "Terminated")}


def project_sections(case: Case, now: datetime) -> list[Section]:
    sections = []
    if is_stalled(case, local_date(now)):
        n = project_rules().stalled_quarters
        sections.append(Section("stalled", Label("停滞项目", "Stalled project"), text=Label(
            f"连续 {n} 个季度以上无阶段变化、无新增完成投资（最近进展 {case.data.get('last_activity_date', '')}）。",
            f"No stage change and no new completed investment for more than {n} quarters "
            f"(last progress {case.data.get('last_activity_date', '')}).")))
    if is_overdue(case, local_date(now)):
        due = case.data["report_due_date"]
        sections.append(Section("update_overdue", Label("季度更新逾期", "Quarterly update overdue"), text=Label(
            f"{due} 到期的季度更新未按时报送。", f"The quarterly update due {due} was not made in time.")))
    lines = tuple(Line(STAGE_LABELS[key], Label(case.data[key], case.data[key]))
                  for key in dict.fromkeys(STAGE_DATES.values()) if case.data.get(key))
    if lines:
        sections.append(Section("stages", Label("各阶段日期", "Dates of the stages"), lines=lines))
    return sections


for _key, _states in ((KEY, ("reserve", "signed", "started", "producing", "effective")),
                      (INVESTMENT, ("negotiating", "signed", "landed", "terminated"))):
    panel(_key, states=_states, roles=ROLES)(lambda session, case, actor, now: project_sections(case, now))
