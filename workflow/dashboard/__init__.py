"""The plan's targets (definitions/targets.yaml) and the dashboard's figures: read from the registry, the accepted
statistics and the supervision cases by SQL aggregates. It imports only the core: no process is imported."""


def register() -> None:
    """Offer the plan's targets to other processes as the city's indicators (workflow.core.indicators)."""
    from workflow.core.indicators import register_indicators
    from workflow.dashboard.figures import city_readings, indicator_catalogue

    register_indicators("targets", indicator_catalogue, city_readings)
