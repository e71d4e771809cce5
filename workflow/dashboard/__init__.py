"""The plan's targets (definitions/targets.yaml) and the dashboard's figures: read from the registry, the accepted
statistics and the supervision cases by SQL aggregates. It imports only the core: no process is imported."""
