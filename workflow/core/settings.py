"""Settings the workflow layer reads; the application sets them from its configuration at start."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Settings:
    designation_cycle_years: int = 3
    instance_path: str = "instance"
    upload_dir: str = ""  # empty: <instance_path>/files


settings = Settings()


def configure(**values: object) -> None:
    """Set workflow settings (from the app's config or a test)."""
    for key, value in values.items():
        if not hasattr(settings, key):
            raise AttributeError(f"unknown workflow setting {key}")
        setattr(settings, key, value)
