"""The categories of the problem ledger (definitions/problem_categories.yaml), checked when they load."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from workflow.core.yamlcheck import Checker, FileErrors, Label, read_mapping

CATEGORIES_PATH = Path(__file__).resolve().parents[2] / "definitions" / "problem_categories.yaml"


class CategoriesError(FileErrors):
    """Problems in definitions/problem_categories.yaml; `errors` holds `file: key: problem` lines."""


@dataclass(frozen=True)
class Category:
    key: str
    label: Label


def parse_categories(text: str, filename: str) -> tuple[Category, ...]:
    """The categories in file order; CategoriesError lists every problem of the file."""
    check = Checker(filename)
    raw = read_mapping(text, filename, CategoriesError)
    check.unknown_keys(raw, {"key", "version", "label", "categories"})
    if raw.get("key") != "problem_categories":
        check.error("key", "must be 'problem_categories'")
    if not isinstance(raw.get("version"), int) or isinstance(raw.get("version"), bool):
        check.error("version", "must be a whole number")
    check.label(raw.get("label"), "label")
    items = raw.get("categories")
    if not isinstance(items, list) or not items:
        check.error("categories", "must be a non-empty list")
        items = []
    found: list[Category] = []
    for i, item in enumerate(items):
        where = f"categories[{i}]"
        if not isinstance(item, dict):
            check.error(where, "must be a mapping")
            continue
        check.unknown_keys(item, {"key", "label"}, where)
        key = item.get("key")
        if not isinstance(key, str) or not key.isidentifier() or key in {c.key for c in found}:
            check.error(f"{where}.key", "must be an identifier, used once")
            continue
        found.append(Category(key, check.label(item.get("label"), f"{where}.label")))
    if check.errors:
        raise CategoriesError(check.errors)
    return tuple(found)


@cache
def categories() -> tuple[Category, ...]:
    """The categories of definitions/problem_categories.yaml."""
    return parse_categories(CATEGORIES_PATH.read_text(encoding="utf-8"), CATEGORIES_PATH.name)


def by_key(key: object) -> Category | None:
    """The category named `key`, or None."""
    return next((c for c in categories() if c.key == key), None)


def by_label(text: str) -> Category | None:
    """The category whose Chinese or English label (or key) is `text`, for an imported ledger."""
    text = text.strip()
    return next((c for c in categories() if text in (c.key, c.label.zh, c.label.en)), None)
