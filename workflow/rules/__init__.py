"""Guards and actions named in definitions/, registered on import."""

from workflow.designation import rules as designation  # noqa: F401
from workflow.supervision import rules as supervision  # noqa: F401
