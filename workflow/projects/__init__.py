"""The project libraries (the plan's 五(四), 五(八), 六(四)): key projects (definitions/key_project.yaml) through
their stages, with the county's quarterly update due after every quarter and the stalled flag (`rules`, read from
definitions/project_rules.yaml by `settings`); investment projects (definitions/investment_project.yaml), the
county's 招商引资清单; the lists and their exports (`ledger`), 三个一批 counted by quarter and county from the stage
dates (`batches`), the bulk import of an existing list from .xlsx (`excel`), the case page's panel (`panels`)."""

KEY = "key_project"
INVESTMENT = "investment_project"
LIBRARIES = (KEY, INVESTMENT)


def register() -> None:
    """Register this process's guards, actions, case-page panels and field labels with the core."""
    from workflow.core.labels import register_fields
    from workflow.core.yamlcheck import Label
    from workflow.projects import panels, rules  # noqa: F401  (registers on import)

    register_fields({
        "project_name": Label("项目名称", "Project name"),
        "enterprise": Label("建设（投资）主体", "Enterprise"),
        "investment_planned": Label("计划总投资（万元）", "Planned investment (10,000 yuan)"),
        "investment_completed": Label("累计完成投资（万元）", "Investment completed (10,000 yuan)"),
        "support": Label("已获支持", "Support received"),
        "report_due_date": Label("季度更新期限", "Quarterly update due"),
        "signed_date": Label("签约日期", "Date signed"),
        "started_date": Label("开工日期", "Date construction started"),
        "producing_date": Label("投产日期", "Date production started"),
        "effective_date": Label("达效日期", "Date full output reached"),
        "landed_date": Label("落地日期", "Date landed"),
        "terminated_date": Label("终止日期", "Date terminated"),
        "termination_reason": Label("终止原因", "Reason for terminating"),
        "last_activity_date": Label("最近进展日期", "Last progress"),
        "last_update_date": Label("最近季度更新日期", "Last quarterly update"),
        "imported": Label("批量导入", "Imported"),
    })
