"""The designation application (市级专业镇认定申请): its form, eligibility table, guards and documents."""


def register() -> None:
    """Register this process's guards, actions and case-page panels with the core."""
    from workflow.core.attachments import register_upload_kinds
    from workflow.designation import materials, panels, rules  # noqa: F401  (registers on import)

    register_upload_kinds("designation", {m.kind: m.label for m in materials.checklist()})
