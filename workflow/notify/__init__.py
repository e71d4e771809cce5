"""Who is told: the notification rules of definitions/notifications.yaml, written as in-app and outbox rows."""


def register() -> None:
    """Plug into the core: after each transition and new case, for each deadline reminder and expiry, and when
    a deadline had to be counted without its year's holidays."""
    from workflow.core import engine, sweep
    from workflow.notify import calendar, rules

    rules.install()
    sweep.NOTIFIER = rules
    if calendar.warn_missing_year not in engine.ESTIMATED_YEAR:
        engine.ESTIMATED_YEAR.append(calendar.warn_missing_year)
