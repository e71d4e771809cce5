"""What a person reads for a field's name and for a coded value: never the internal key.

The core knows the fields of the transitions (definitions/*.yaml `requires` and `accepts`); a process registers
the labels of its own fields (e.g. the designation application's form) with `register_fields`. A key without a
label falls back to the key itself, and tests/core/test_labels.py checks that every field the definitions name
has one.
"""

from __future__ import annotations

from typing import Any

from workflow.core.reference import INDUSTRY_CATEGORIES
from workflow.core.yamlcheck import Label

FIELDS: dict[str, Label] = {
    "member_units": Label("征求意见的成员单位", "Member units asked for opinions"),
    "consulted_units": Label("征求意见的成员单位", "Member units asked for opinions"),
    "opinion_due_date": Label("意见截止日期", "Opinion deadline"),
    "opinion": Label("意见", "Opinion"),
    "experts": Label("评审专家", "Expert panel"),
    "expert_recommendation": Label("专家组意见", "Panel recommendation"),
    "due_date": Label("期限", "Deadline"),
    "requested_due_date": Label("申请延期至", "Requested new deadline"),
    "report": Label("整改报告", "Rectification report"),
    "finding_no": Label("问题编号", "Finding number"),
    "finding": Label("检查发现的问题", "Finding"),
    "decision": Label("处理决定", "Decision"),
    "problem": Label("需整改的问题", "Problem to rectify"),
    "severity": Label("严重程度", "Severity"),
    "planned_date": Label("计划日期", "Planned date"),
    "campaign": Label("检查批次", "Campaign"),
    "note": Label("备注", "Note"),
    "comment": Label("意见或理由", "Comment"),
    "county_id": Label("所属县（区）", "County"),
    "designation_number": Label("认定文号", "Designation number"),
    "designated_date": Label("认定日期", "Designation date"),
    "review_date": Label("复核日期", "Review date"),
    "designation_case_id": Label("认定案件", "Designation case"),
    "revocation_reason": Label("撤销理由", "Reason for revocation"),
    "industry_category": Label("产业类别", "Industry category"),
    "output_yi": Label("上年度主导产业产值（亿元）", "Last year's output of the leading industry (100 million yuan)"),
    "source": Label("来源", "Source"),
    "inspection_id": Label("检查案件", "Inspection"),
    "problem_id": Label("问题台账记录", "Problem ledger entry"),
    "task_id": Label("行动计划任务", "Action plan task"),
    "kind": Label("类型", "Kind"),
    "filename": Label("文件名", "File name"),
    "changes": Label("变更", "Changes"),
    "opinions": Label("会审意见", "Opinions"),
    "findings": Label("检查发现的问题", "Findings"),
}

VALUES: dict[str, dict[str, Label]] = {
    "industry_category": {key: Label(zh, en) for key, (zh, en) in INDUSTRY_CATEGORIES.items()},
    "opinion": {"agree": Label("同意", "Agree"), "disagree": Label("不同意", "Disagree")},
    "answer": {"agree": Label("同意", "Agree"), "disagree": Label("不同意", "Disagree")},
    "decision": {"no_action": Label("无需处理", "No action needed"),
                 "rectify": Label("责令整改", "Order rectification")},
    "severity": {"low": Label("一般", "Minor"), "medium": Label("较重", "Significant"),
                 "high": Label("严重", "Serious")},
}


def register_fields(fields: dict[str, Label], values: dict[str, dict[str, Label]] | None = None) -> None:
    """A process adds the labels of its own fields and of their coded values."""
    FIELDS.update(fields)
    for key, choices in (values or {}).items():
        VALUES.setdefault(key, {}).update(choices)


def field_label(key: str, locale: str | None = "zh") -> str:
    """The name a person reads for field `key` (the key itself when nobody gave it a label)."""
    found = FIELDS.get(key)
    return found.get(locale) if found else key


def has_label(key: str) -> bool:
    return key in FIELDS


def value_label(key: str, value: Any, locale: str | None = "zh") -> str:
    """A field's value as a person reads it: coded values by their label, lists joined, None as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return ("是" if value else "否") if not (locale or "zh").startswith("en") else ("yes" if value else "no")
    if isinstance(value, list):
        return "、".join(value_label(key, v, locale) for v in value)
    choices = VALUES.get(key, {})
    if isinstance(value, str) and value in choices:
        return choices[value].get(locale)
    return str(value)
