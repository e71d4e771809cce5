"""Guards and actions named in definitions/, registered on import."""

from workflow.rules import designation, supervision  # noqa: F401
