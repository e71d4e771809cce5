"""Re-encrypting the personal data at rest under the current data key (`zyz keys rotate`): every column typed
`datakeys.Sealed`, in batches that each commit on their own, recorded in the audit trail.

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
from workflow.core.datakeys import KEYRING, Sealed
from workflow.core.db import transaction


def sealed_columns() -> Iterator[tuple[sa.Column, str]]:
    """Every column of the model typed Sealed, with its purpose (the authenticated data of its values)."""
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, Sealed):
                yield column, column.type.purpose


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
    with transaction(session_factory) as s:
        audit.record(s, kind="data_keys_rotated", now=now, actor=Actor.system(),
                     data={"key": KEYRING.current.kid if KEYRING.current else None,
                           "cipher": KEYRING.current.cipher if KEYRING.current else None,
                           "resealed": result.resealed})
    return result


def _batch(session: Session, key: sa.Column, raw: Any, after: int | None, size: int) -> list[tuple[int, str]]:
    query = sa.select(key, raw).where(raw.is_not(None)).order_by(key).limit(size)
    if after is not None:
        query = query.where(key > after)
    return [(r[0], r[1]) for r in session.connection().execute(query)]
