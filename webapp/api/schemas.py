"""Request and response bodies of the API (pydantic), from which the OpenAPI document is generated."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, RootModel


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# What the OpenAPI document declares of a request's fields, so that a generated client cannot send what the server
# refuses. Ids are checked here (an id beyond the database's INTEGER is a 422, never a database error); a text's
# length, a date and a value of a list are declared here and checked by the service, whose reasons say in Chinese
# what to fix.
ID_MAX = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=ID_MAX)]
Version = Annotated[int, Field(ge=1, le=ID_MAX, description="the case's version read last (409 when it moved on)")]
Day = Annotated[str, Field(json_schema_extra={"format": "date", "maxLength": 10})]
Text100 = Annotated[str, Field(json_schema_extra={"maxLength": 100})]
Text2000 = Annotated[str, Field(json_schema_extra={"maxLength": 2000})]
MAX_IDS = 1000  # ids in one request (units chosen, towns chosen)


def one_of(values: Callable[[], Iterable[str]]) -> Callable[[dict[str, Any]], None]:
    """A field's enum, read from the definitions when the document is made."""

    def declare(schema: dict[str, Any]) -> None:
        schema["enum"] = list(values())
        schema.pop("maxLength", None)

    return declare


class Message(BaseModel):
    zh: str
    en: str


class Error(BaseModel):
    error: str = Field(description="machine-readable code, e.g. stale_version, guards_failed")
    message: Message
    details: Any = None


class TokenRequest(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=128)
    seat_id: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                description="a seat of the roster the user holds, to act in (default: the account's "
                                            "own role)")
    otp: str | None = Field(default=None, min_length=1, max_length=32,
                            description="the second factor of an account that has one: the authenticator app's "
                                        "6-digit code (each used once) or one of the recovery codes")


class Token(BaseModel):
    token: str
    expires_at: datetime


class UnitOut(BaseModel):
    id: int
    name: str
    kind: str


class IdentityOut(BaseModel):
    seat_id: int | None
    role: str
    unit_id: int
    position: str | None
    title: str | None


class Me(BaseModel):
    id: int
    username: str
    display_name: str
    role: str  # the role the token acts in
    unit: UnitOut | None  # the unit it acts for
    seat_id: int | None = None  # the seat of the roster it acts in, if any
    identities: list[IdentityOut] = []  # every way the user may act (ask a token with seat_id for another)


class StateOut(BaseModel):
    name: str
    label: Message
    final: bool


class TransitionOut(BaseModel):
    trigger: str
    label: Message
    sources: list[str]
    dest: str | None
    roles: list[str]
    requires: list[str]
    accepts: list[str]
    comment: str
    confirm: bool
    system: bool


class DefinitionOut(BaseModel):
    key: str
    version: int
    label: Message
    initial: str
    create_roles: list[str]
    create_accepts: list[str]
    states: list[StateOut]
    transitions: list[TransitionOut]


class DefinitionList(RootModel[list[DefinitionOut]]):
    """The current version of every process definition."""


class CaseCreate(Strict):
    definition: str = Field(min_length=1, max_length=40)
    town_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    county_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    title: str | None = Field(default=None, max_length=200)
    data: dict[str, Any] = Field(default_factory=dict)


class DeadlineOut(BaseModel):
    name: str
    due_date: str | None
    due_at: datetime
    trigger: str | None
    is_estimated: bool


class CaseSummary(BaseModel):
    id: int
    number: str
    definition: str
    definition_version: int
    state: str
    state_label: Message
    version: int
    county_id: int
    town_id: int | None
    title: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class AvailableTransition(BaseModel):
    trigger: str
    label: Message
    requires: list[str]
    accepts: list[str]
    comment: str
    confirm: bool


class CaseOut(CaseSummary):
    data: dict[str, Any]
    transitions: list[AvailableTransition]
    deadlines: list[DeadlineOut]


class CaseList(BaseModel):
    items: list[CaseSummary]
    total: int
    page: int
    per_page: int


class Segment(BaseModel):
    """A piece of text; `match` when it is what was searched for (to be marked)."""

    text: str
    match: bool


class SearchHit(BaseModel):
    case: CaseSummary
    county: str
    town: str | None
    number: list[Segment]
    title: list[Segment]
    snippet: list[Segment]  # a line of the case's text with a match (a name, a comment); empty when none


class SearchResults(BaseModel):
    q: str
    items: list[SearchHit]
    total: int  # counted up to 1,000
    capped: bool  # more than `total` found: narrow the query
    page: int
    per_page: int


class TransitionRequest(Strict):
    trigger: str = Field(min_length=1, max_length=60)
    comment: str | None = Field(default=None, max_length=2000)
    data: dict[str, Any] | None = None
    expected_version: int = Field(ge=1, le=2**31 - 1)


class EventOut(BaseModel):
    id: int
    seq: int
    occurred_at: datetime
    kind: str
    actor_name: str | None
    role: str | None
    unit_name: str | None
    trigger: str | None
    from_state: str | None
    to_state: str | None
    comment: str | None
    data: Any


class EventList(BaseModel):
    items: list[EventOut]
