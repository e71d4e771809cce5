"""常用组合 in the API: the office lists its saved sets of member units, saves one (a name that exists gets the new
units), and deletes one, through the same services as the pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field

from webapp.api.blueprint import bp
from webapp.api.openapi import api_route
from webapp.api.schemas import MAX_IDS, Error, Id, Strict
from webapp.auth.current import actor
from webapp.database import db, unit_of_work, utcnow
from workflow.core import unit_presets
from workflow.core.models import Role

OFFICE = frozenset({Role.office.value})


class PresetUnitOut(BaseModel):
    id: int
    name: str
    active: bool = Field(description="an active member unit: applying the set ticks it")


class UnitPresetOut(BaseModel):
    id: int
    name: str
    unit_ids: list[int] = Field(description="as saved, in order of id")
    units: list[PresetUnitOut]
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class UnitPresetSaved(UnitPresetOut):
    replaced: bool = Field(description="a set of that name existed; its units were replaced")


class UnitPresetList(BaseModel):
    items: list[UnitPresetOut] = Field(description="by name")


class UnitPresetRequest(Strict):
    name: str = Field(max_length=200, description=f"1 to {unit_presets.NAME_MAX} characters once trimmed; "
                                                  "an existing name replaces that set's units")
    unit_ids: list[Id] = Field(max_length=MAX_IDS, description="active member units' ids, at least one")


def _out(preset: unit_presets.PresetView) -> dict[str, Any]:
    return UnitPresetOut(id=preset.id, name=preset.name, unit_ids=preset.unit_ids,
                         units=[PresetUnitOut(id=u.id, name=u.name, active=u.active) for u in preset.units],
                         created_by=preset.created_by, created_at=preset.created_at,
                         updated_at=preset.updated_at).model_dump(mode="json")


@api_route(bp, "/unit-presets", "GET", roles=OFFICE, summary="The saved sets of member units (常用组合) for 受理",
           responses={200: (UnitPresetList, "every saved set, by name")})
def list_unit_presets() -> ResponseReturnValue:
    return jsonify({"items": [_out(p) for p in unit_presets.list_presets(db(), actor())]})


@api_route(bp, "/unit-presets", "POST", roles=OFFICE, body=UnitPresetRequest,
           summary="Save a set of member units under a name; a set of that name gets these units instead",
           responses={201: (UnitPresetSaved, "a new set"), 200: (UnitPresetSaved, "the set of that name, replaced"),
                      400: (Error, "no name, a name over 40 characters, no unit, or a unit that is not an active "
                                   "member unit")})
def save_unit_preset_api(body: UnitPresetRequest) -> ResponseReturnValue:
    with unit_of_work() as s:
        saved = unit_presets.save_preset(s, actor(), name=body.name, unit_ids=body.unit_ids, now=utcnow())
    return jsonify({**_out(saved.preset), "replaced": saved.replaced}), 200 if saved.replaced else 201


@api_route(bp, "/unit-presets/<int:preset_id>", "DELETE", roles=OFFICE, summary="Delete a saved set of member units",
           responses={200: (UnitPresetOut, "deleted; the set as it was"), 404: (Error, "no such set")})
def delete_unit_preset_api(preset_id: int) -> ResponseReturnValue:
    with unit_of_work() as s:
        gone = unit_presets.delete_preset(s, actor(), preset_id, utcnow())
    return jsonify(_out(gone))
