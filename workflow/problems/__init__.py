"""The problem ledger (问题台账, the plan's 六(三)): problems found in field work or raised by enterprises, logged by
member units, counties and the office, assigned to a responsible unit with a deadline, answered, verified and closed
or escalated (definitions/problem.yaml). Its categories are data (`categories`); its guards and actions (`rules`);
the ledger itself, logging and answering (`ledger`); an existing Excel ledger read in (`excel`); the demo's problems
(`demo`)."""


def register() -> None:
    """Register this process's guards, actions and field labels with the core."""
    from workflow.core.labels import register_fields
    from workflow.core.yamlcheck import Label
    from workflow.problems import rules  # (registers its guards and actions on import)
    from workflow.problems.categories import categories

    register_fields({
        "category": Label("问题类别", "Category"),
        "description": Label("问题描述", "Description"),
        "origin": Label("问题来源", "Origin"),
        "raised_by": Label("反映人", "Raised by"),
        "enterprise_name": Label("企业名称", "Enterprise"),
        "raiser_unit": Label("登记单位", "Logged by"),
        "responsible_unit_id": Label("责任单位", "Responsible unit"),
        "responsible_unit": Label("责任单位", "Responsible unit"),
        "assigned_at": Label("交办时间", "Assigned at"),
        "resolution": Label("办理情况", "What was done"),
        "plan": Label("解决计划", "Plan"),
        "plan_date": Label("计划解决日期", "Planned date"),
        "unsolvable_reason": Label("本级无法解决的原因", "Why it cannot be solved at this level"),
        "outcome": Label("答复结果", "Answer"),
        "answered_at": Label("答复时间", "Answered at"),
        "original_due_date": Label("原定期限", "Original deadline"),
        "returns": Label("退回次数", "Times sent back"),
        "order_due_date": Label("整改期限", "The order's deadline"),
        "order_problem": Label("整改问题", "Problem to rectify"),
        "order_id": Label("督办通知", "Rectification order"),
        "order_number": Label("督办通知编号", "Order number"),
        "meeting_note": Label("提请会议研究的说明", "Note for the meeting"),
        "referred_on": Label("提请日期", "Referred on"),
        "decision_text": Label("会议决定", "Decision"),
        "decided_on": Label("决定日期", "Decided on"),
        "closed_on": Label("办结日期", "Closed on"),
        "problem_id": Label("问题台账中的问题", "Problem in the ledger"),
    }, {
        "category": {c.key: c.label for c in categories()},
        "origin": {k: Label(zh, en) for k, (zh, en) in rules.ORIGINS.items()},
        "outcome": {"resolved": Label("已解决", "Resolved"), "in_progress": Label("正在解决", "In progress"),
                    "unsolvable": Label("本级无法解决", "Cannot be solved at this level")},
    })
