"""What the YAML files of definitions/ share when they load: bilingual labels, and a checker that
collects every problem as `file: key: problem` instead of stopping at the first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml


@dataclass(frozen=True)
class Label:
    """A text in Chinese and English."""

    zh: str
    en: str

    def get(self, locale: str | None) -> str:
        return self.en if (locale or "zh").startswith("en") else self.zh


class FileErrors(Exception):
    """A definitions file that does not load: every problem in `errors`, one line each (`file: key: problem`).
    Each file's loader raises its own subclass."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


class Checker:
    def __init__(self, filename: str):
        self.filename = filename
        self.errors: list[str] = []

    def error(self, key: str, problem: str) -> None:
        self.errors.append(f"{self.filename}: {key}: {problem}")

    def unknown_keys(self, raw: dict, allowed: set[str], key: str = "") -> None:
        for k in raw:
            if k not in allowed:
                self.error(f"{key}.{k}" if key else str(k), "unknown key")

    def label(self, raw: Any, key: str, problem: str = "missing label") -> Label:
        """A {zh, en} pair, both non-empty."""
        if not isinstance(raw, dict):
            self.error(key, f"{problem} (needs zh and en)")
            return Label("", "")
        for lang in ("zh", "en"):
            if not isinstance(raw.get(lang), str) or not raw[lang].strip():
                self.error(f"{key}.{lang}", problem)
        return Label(str(raw.get("zh") or ""), str(raw.get("en") or ""))

    def names(self, raw: Any, key: str) -> tuple[str, ...]:
        if raw is None:
            return ()
        if isinstance(raw, str):
            return (raw,)
        if isinstance(raw, list) and all(isinstance(x, str) for x in raw):
            return tuple(raw)
        self.error(key, "must be a name or a list of names")
        return ()


def read_mapping(text: str, filename: str, error: type[Exception]) -> dict[str, Any]:
    """The YAML text as a mapping; `error([lines])` when it is not valid YAML or not a mapping."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error([f"{filename}: (file): not valid YAML: {exc}"]) from None
    if not isinstance(raw, dict):
        raise error([f"{filename}: (file): must be a mapping"])
    return raw
