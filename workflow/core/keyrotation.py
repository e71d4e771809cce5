"""Re-encrypting the personal data at rest under the current data key (`zyz keys rotate`): every column typed
`datakeys.Sealed`, and the personal values inside every column typed `datakeys.SealedFields` (a case's data), in
batches that each commit on their own, recorded in the audit trail.

Apart from workflow/core/datakeys.py, which the data model imports for its column type, so that the type does not
import the audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.datakeys import KEYRING, Sealed, SealedFields
from workflow.core.db import transaction


def sealed_columns() -> Iterator[tuple[sa.Column, str]]:
    """Every column of the model typed Sealed, with its purpose (the authenticated data of its values)."""
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, Sealed):
                yield column, column.type.purpose


def sealed_mappings() -> Iterator[tuple[sa.Column, SealedFields]]:
    """Every column of the model typed SealedFields (JSON mappings with personal values sealed inside), with its
    type."""
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, SealedFields):
                yield column, column.type


@dataclass
class Rotation:
    resealed: dict[str, int] = field(default_factory=dict)  # "table.column": values written under the current key

    @property
    def total(self) -> int:
        return sum(self.resealed.values())


def rotate(session_factory: Any, *, now: datetime, batch: int = 500) -> Rotation:
    """Re-encrypt every sealed value not under the current key (or stored plain), `batch` rows per transaction.

    Each batch commits on its own and the next one asks again for what is left, so a run stopped half way (or two
    runs at once) leaves nothing half done: run it again. The run is recorded in the audit trail.
    """
    result = Rotation()
    for column, purpose in sealed_columns():
        table, name = column.table, f"{column.table.name}.{column.name}"
        raw = sa.type_coerce(column, sa.String)
        key = table.primary_key.columns.values()[0]
        done = 0
        after = None
        while True:
            with transaction(session_factory) as s:
                rows = _batch(s, key, raw, after, batch)
                if not rows:
                    break
                for row_id, stored in rows:
                    if not KEYRING.is_current(stored):
                        value = KEYRING.open(stored, purpose)
                        s.connection().execute(table.update().where(key == row_id).values(
                            {column.name: sa.literal(KEYRING.seal(value, purpose), sa.String)}))
                        done += 1
                after = rows[-1][0]
        result.resealed[name] = done
    for column, type_ in sealed_mappings():
        result.resealed[f"{column.table.name}.{column.name}"] = _rotate_mapping(session_factory, column, type_, batch)
    with transaction(session_factory) as s:
        audit.record(s, kind="data_keys_rotated", now=now, actor=Actor.system(),
                     data={"key": KEYRING.current.kid if KEYRING.current else None,
                           "cipher": KEYRING.current.cipher if KEYRING.current else None,
                           "resealed": result.resealed})
    return result


def _rotate_mapping(session_factory: Any, column: sa.Column, type_: SealedFields, batch: int) -> int:
    """The personal values of each row's mapping not under the current key, sealed again; how many."""
    table, raw = column.table, sa.type_coerce(column, type_.impl)
    key = table.primary_key.columns.values()[0]
    done = 0
    after = None
    while True:
        with transaction(session_factory) as s:
            # a case's data is written by `fire` and the sweep, which take the audit head first: so does each batch,
            # so that neither writes over the other's change
            audit.lock_head(s)
            rows = _batch(s, key, raw, after, batch)
            if not rows:
                break
            for row_id, stored in rows:
                stale = type_.stale(stored) if isinstance(stored, dict) else 0
                if stale:
                    fresh = type_.seal_values(type_.open_values(stored))
                    s.connection().execute(table.update().where(key == row_id).values(
                        {column.name: sa.literal(fresh, type_.impl)}))
                    done += stale
            after = rows[-1][0]
    return done


def _batch(session: Session, key: sa.Column, raw: Any, after: int | None, size: int) -> list[tuple[int, Any]]:
    query = sa.select(key, raw).where(raw.is_not(None)).order_by(key).limit(size)
    if after is not None:
        query = query.where(key > after)
    return [(r[0], r[1]) for r in session.connection().execute(query)]
