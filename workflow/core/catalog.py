"""Every definition version this process knows, each with its one `transitions` Machine."""

from __future__ import annotations

import threading
import weakref
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select
from transitions import Machine

from workflow.core.db import table_of
from workflow.core.definitions import (
    DEFINITIONS_DIR,
    Definition,
    DefinitionError,
    load_directory,
    parse_definition,
)
from workflow.core.errors import InvalidInput
from workflow.core.models import DefinitionSource
from workflow.core.registry import ACTIONS


def build_machine(definition: Definition) -> Machine:
    """One Machine per definition version, shared by every case on it (models are bound per call)."""
    transitions = []
    for spec in definition.transitions:
        after = [_run_action(ACTIONS[name]) for name in spec.actions]
        transitions.append({"trigger": spec.trigger, "source": list(spec.sources), "dest": spec.dest,
                            "after": after})
    return Machine(model=None, states=list(definition.states), transitions=transitions,
                   initial=definition.initial, auto_transitions=False, send_event=True)


def _run_action(fn):
    def callback(event):
        return fn(event.kwargs["ctx"])

    callback.__name__ = getattr(fn, "__name__", "action")
    return callback


class Catalog:
    """Current definitions from the directory, older versions from the database on demand."""

    def __init__(self, directory: Path = DEFINITIONS_DIR):
        self.directory = directory
        self._lock = threading.Lock()
        self._versions: dict[tuple[str, int], Definition] = {}
        self._current: dict[str, Definition] = {}
        self._machines: dict[tuple[str, int], Machine] = {}
        # Per engine (held weakly: an id() would be reused by a later engine on another database).
        self._stored: weakref.WeakKeyDictionary[sa.Engine, set[tuple[str, int]]] = weakref.WeakKeyDictionary()
        self._loaded = False

    def _ensure_loaded(self) -> None:
        if not self._loaded:
            with self._lock:
                if not self._loaded:
                    for definition in load_directory(self.directory).values():
                        self._add(definition, current=True)
                    self._loaded = True

    def _add(self, definition: Definition, *, current: bool) -> None:
        key = (definition.key, definition.version)
        known = self._versions.get(key)
        if known is not None and known.sha256 != definition.sha256:
            raise DefinitionError([f"{definition.path}: version: {definition.key} version {definition.version} "
                                   "is already loaded with other content; raise the version"])
        self._versions[key] = known or definition
        if key not in self._machines:  # built once: adding a known version again builds nothing
            self._machines[key] = build_machine(definition)
        if current:
            self._current[definition.key] = self._versions[key]

    def add(self, definition: Definition, *, current: bool = True) -> None:
        """Make a parsed definition known (a newer file loaded at run time)."""
        self._ensure_loaded()
        with self._lock:
            self._add(definition, current=current)

    def keys(self) -> list[str]:
        self._ensure_loaded()
        return list(self._current)

    def current(self, key: str) -> Definition:
        """The newest loaded version of `key`; new cases start on it."""
        self._ensure_loaded()
        try:
            return self._current[key]
        except KeyError:
            raise InvalidInput(f"未知的流程：{key}", f"Unknown definition: {key}", code="unknown_definition") from None

    def get(self, key: str, version: int, session: Session | None = None) -> Definition:
        """The definition a running case is on, read back from the database if this process never loaded it."""
        self._ensure_loaded()
        found = self._versions.get((key, version))
        if found is None and session is not None:
            row = session.exec(
                select(DefinitionSource).where(DefinitionSource.key == key, DefinitionSource.version == version)
            ).first()
            if row is not None:
                with self._lock:
                    self._add(parse_definition(row.source, f"{key}.yaml@{version}"), current=False)
                found = self._versions[(key, version)]
        if found is None:
            raise InvalidInput(f"未知的流程版本：{key} v{version}", f"Unknown definition version: {key} v{version}",
                               code="unknown_definition")
        return found

    def machine(self, definition: Definition) -> Machine:
        return self._machines[(definition.key, definition.version)]

    def ensure_stored(self, session: Session, definition: Definition, now: datetime) -> None:
        """Keep the source of `definition` in the database so that its cases outlive the file."""
        stored = self._stored.setdefault(session.get_bind(), set())  # type: ignore[arg-type]  # a Session's bind is the Engine here (one per application)
        memo = (definition.key, definition.version)
        if memo in stored:
            return
        row = session.exec(
            select(DefinitionSource).where(DefinitionSource.key == definition.key,
                                           DefinitionSource.version == definition.version)
        ).first()
        if row is None:
            session.connection().execute(sa.insert(table_of(DefinitionSource)).values(
                key=definition.key, version=definition.version, sha256=definition.sha256,
                source=definition.source, loaded_at=now))
            return  # remembered only once it is seen committed: this transaction may still roll back
        if row.sha256 != definition.sha256:
            raise DefinitionError([f"{definition.path}: version: {definition.key} version {definition.version} "
                                   "differs from the one stored in the database; raise the version"])
        stored.add(memo)

    def sync(self, session: Session, now: datetime) -> None:
        """Store every current definition's source (run by `zyz init`)."""
        for key in self.keys():
            self.ensure_stored(session, self._current[key], now)


CATALOG = Catalog()
