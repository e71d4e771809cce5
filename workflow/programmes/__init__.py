"""The annual action plan and the ten programmes of the plan's section 五 (任务台账): the programmes as data
(definitions/programmes.yaml, loaded and checked by `catalog`), the year's plan (definitions/action_plan.yaml) and
its tasks (definitions/plan_task.yaml): their guards and actions (`rules`), when reports are due (`periods`), and
the services: tasks opened from the plan or a meeting's decisions, the task list and the programme board (`tasks`)."""


def register() -> None:
    """Register this process's guards, actions and field labels with the core."""
    from workflow.core.labels import register_fields
    from workflow.core.yamlcheck import Label
    from workflow.programmes import rules  # noqa: F401  (registers on import)

    register_fields({
        "plan_year": Label("计划年度", "Plan year"),
        "tasks": Label("计划任务", "The plan's tasks"),
        "task": Label("任务", "Task"),
        "task_no": Label("任务序号", "Task number"),
        "task_cases": Label("已下达任务", "Tasks opened"),
        "plan_id": Label("年度行动计划", "Annual action plan"),
        "programme": Label("所属工程", "Programme"),
        "task_title": Label("任务名称", "Task"),
        "responsible_unit_id": Label("责任单位", "Responsible unit"),
        "lead_unit_id": Label("牵头单位", "Lead unit"),
        "target_text": Label("目标任务", "Target"),
        "target_figure": Label("目标数值", "Target figure"),
        "indicator": Label("关联指标", "Dashboard indicator"),
        "milestones": Label("节点目标", "Milestones"),
        "report_cycle": Label("报送周期", "Report cycle"),
        "report_due_date": Label("进度报送期限", "Progress report due"),
        "report_period": Label("报送期间", "Period reported on"),
        "report_figure": Label("完成数值", "Figure reached"),
        "report_attachments": Label("证明材料", "Evidence"),
        "supervision_due_date": Label("督办期限", "Supervision deadline"),
        "supervisions": Label("督办通知", "Supervision notices"),
        "meeting_id": Label("会议", "Meeting"),
        "meeting_title": Label("会议名称", "Meeting"),
        "meeting_date": Label("会议日期", "Meeting date"),
        "decision_no": Label("决定事项序号", "Decision number"),
        "rectification_id": Label("限期整改通知", "Rectification order"),
        "task_id": Label("行动计划任务", "Action plan task"),  # named by a rectification order it escalated into
    })
