"""Reference data that several processes share."""

from __future__ import annotations

INDUSTRY_CATEGORIES = {
    "manufacturing": ("制造业", "Manufacturing"),
    "agriculture": ("特优农业", "Specialty agriculture"),
    "light_industry": ("特色轻工（工艺美术）", "Specialty light industry (arts and crafts)"),
}
