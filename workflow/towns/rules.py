"""The town registry's actions that other processes' definitions name (registered, never imported by them)."""

from __future__ import annotations

from workflow.core.engine import FireContext
from workflow.core.registry import action
from workflow.towns.services import designate


@action("designate_town")
def designate_town(ctx: FireContext) -> None:
    """Give the designation its number and move the town's registry record to municipal level."""
    designate(ctx)
