"""Who acts: a plain value built from a user row (or the system), passed to every service."""

from __future__ import annotations

from dataclasses import dataclass

from workflow.core.models import Role, Unit, User


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    name: str
    role: str
    unit_id: int | None
    unit_name: str | None
    ip: str | None = None

    @property
    def is_system(self) -> bool:
        return self.role == Role.system

    @classmethod
    def system(cls) -> Actor:
        return cls(user_id=None, name="系统", role=Role.system.value, unit_id=None, unit_name=None)

    @classmethod
    def of(cls, user: User, unit: Unit | None, ip: str | None = None) -> Actor:
        return cls(user_id=user.id, name=user.display_name, role=user.role, unit_id=user.unit_id,
                   unit_name=unit.name if unit else None, ip=ip)
