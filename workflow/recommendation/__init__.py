"""Recommending municipal towns to the province for provincial designation (推荐上报, the plan's annex): the
criteria as data (definitions/provincial_criteria.yaml, `criteria`) and the shortlist they give; the round
(definitions/provincial_recommendation.yaml): its guards, actions and services (`rules`), the dossier sent on
approval with its recommendation letters (`dossier`); the demo's round (`demo`)."""


def register() -> None:
    """Register this process's guards, actions, upload kinds and field labels with the core."""
    from workflow.core.attachments import register_upload_kinds
    from workflow.core.labels import register_fields
    from workflow.core.yamlcheck import Label
    from workflow.recommendation import rules
    from workflow.recommendation.criteria import criteria

    criteria()  # definitions/provincial_criteria.yaml is checked when the application starts
    register_upload_kinds(rules.KEY, {"province_document": Label("省级认定文件", "The province's document")})
    register_fields({
        "recommendation_year": Label("推荐年度", "Year"),
        "batch_no": Label("批次", "Batch"),
        "selected_towns": Label("推荐对象", "Towns recommended"),
        "submitted_by_id": Label("报送人", "Submitted by"),
        "submitted_at": Label("报送时间", "Submitted at"),
        "approved_at": Label("审定时间", "Approved at"),
        "records": Label("专业镇档案", "Town records"),
        "answers": Label("省级认定结果", "The province's answers"),
        "letters": Label("推荐函", "Recommendation letters"),
        "dossier_id": Label("推荐材料", "Dossier"),
        "answer_town_id": Label("专业镇", "Town"),
        "answer": Label("省级认定结果", "The province's answer"),
        "province_document_id": Label("省级认定文件", "The province's document"),
        "recommendation_id": Label("省级推荐批次", "Recommendation round"),
        "recommended_date": Label("推荐日期", "Recommended on"),
    }, {
        "answer": {k: Label(zh, en) for k, (zh, en) in rules.ANSWERS.items()},
    })
