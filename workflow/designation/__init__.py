"""The designation application (市级专业镇认定申请): its form, eligibility table, guards and documents; and the
rolling re-designation review (滚动认定复核), which applies the same criteria again to a designated town."""


def register() -> None:
    """Register this process's guards, actions and case-page panels with the core."""
    from workflow.core.attachments import register_upload_kinds
    from workflow.core.labels import register_fields
    from workflow.designation import (  # noqa: F401  (registers on import)
        application,
        materials,
        panels,
        redesignation,
        review_panels,
        rules,
        search,
    )

    specs = [*application.FIELDS.items(), *((name, item) for spec in application.FIELDS.values()
                                             for name, item in spec.item.items() if item.choices)]
    register_fields({name: spec.label for name, spec in application.FIELDS.items()},
                    {name: spec.choices for name, spec in specs if spec.choices})
    register_fields(redesignation.FIELDS)
    register_upload_kinds("designation", {m.kind: m.label for m in materials.checklist()})
