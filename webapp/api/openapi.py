"""Declare API operations once: the decorator registers the Flask route, validates the body, and
records what the OpenAPI document says about it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Literal

from flask import Blueprint, abort, g, request
from flask_login import current_user
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

from webapp.api.schemas import Error
from webapp.errors import json_error, unauthorized_json
from workflow.core.profile import profile

JSON_LIMIT = 1024 * 1024


Schema = dict[str, Any] | Callable[[], dict[str, Any]]  # a callable: read when the document is made (its enum
# comes from the definitions or the city's files, loaded after import)


def _resolved(schema: Schema) -> dict[str, Any]:
    return schema() if callable(schema) else schema


@dataclass
class Query:
    name: str
    schema: Schema
    description: str = ""


@dataclass
class Operation:
    rule: str
    method: str
    summary: str
    body: type[BaseModel] | None
    responses: dict[int, tuple[type[BaseModel] | None, str]]
    query: tuple[Query, ...] = ()
    auth: bool = True
    roles: frozenset[str] | None = None  # None: every logged-in role
    operation_id: str = ""
    path_params: list[tuple[str, str]] = field(default_factory=list)
    request_body: Schema | None = None  # a non-JSON body (multipart), as OpenAPI has it
    path_schemas: dict[str, Schema] = field(default_factory=dict)  # a string path parameter's values


OPERATIONS: list[Operation] = []
COMMON_ERRORS = {400: "malformed request", 401: "not logged in or token expired", 413: "body over 1 MB",
                 415: "body is not JSON", 422: "invalid input"}


def _read_json(model: type[BaseModel]) -> BaseModel | tuple[Any, int]:
    if not (request.mimetype or "").endswith("json"):
        return json_error(415, "unsupported_media_type", "请求体须为 JSON（Content-Type: application/json）。",
                          "The body must be JSON (Content-Type: application/json).")
    if (request.content_length or 0) > JSON_LIMIT:
        return json_error(413, "too_large", "请求体不能超过 1 MB。", "The body may not exceed 1 MB.")
    raw = request.stream.read(JSON_LIMIT + 1)
    if len(raw) > JSON_LIMIT:
        return json_error(413, "too_large", "请求体不能超过 1 MB。", "The body may not exceed 1 MB.")
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return json_error(400, "malformed_json", "请求体不是有效的 JSON。", "The body is not valid JSON.")
    if not isinstance(body, dict):
        return json_error(422, "invalid_input", "请求体须为 JSON 对象。", "The body must be a JSON object.")
    g.json_body = body  # a refusal's audit event names the trigger it asked for (webapp.errors.record_refusal)
    where = _unstorable_text(body)
    if where is not None:
        return json_error(422, "invalid_input", "请求内容含有无法保存的字符（NUL 或不成对的代理字符）。",
                          "The body holds characters that cannot be stored (NUL or unpaired surrogates).",
                          [{"field": where, "zh": "含有无法保存的字符", "en": "characters that cannot be stored"}])
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        details = [{"field": ".".join(str(p) for p in err["loc"]), "zh": f"字段有误：{err['msg']}",
                    "en": err["msg"]} for err in exc.errors(include_url=False, include_input=False)]
        return json_error(422, "invalid_input", "请求内容有误：" + "；".join(d["field"] for d in details),
                          "Invalid input: " + "; ".join(f"{d['field']}: {d['en']}" for d in details), details)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity: Python accepts them, JSON and PostgreSQL do not


_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def _unstorable_text(body: Any) -> str | None:
    """The path of the first key or string holding NUL or a lone surrogate (no database text column takes them)."""
    stack: list[tuple[str, Any]] = [("", body)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str) and _UNSTORABLE.search(value):
            return path
        if isinstance(value, dict):
            for key, item in value.items():
                if _UNSTORABLE.search(key):
                    return path
                stack.append((f"{path}.{key}" if path else key, item))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}", item) for i, item in enumerate(value))
    return None


def api_route(bp: Blueprint, rule: str, method: str, *, summary: str, body: type[BaseModel] | None = None,
              responses: dict[int, tuple[type[BaseModel] | None, str]], query: tuple[Query, ...] = (),
              auth: bool = True, request_body: Schema | None = None,
              roles: frozenset[str] | None = None, path: dict[str, Schema] | None = None) -> Callable:
    """Register an API operation on `bp` and in the OpenAPI document; a view given `request_body` (and no
    `body`) reads its own non-JSON body; a caller whose role is not in `roles` gets 403. `path` gives the schema
    of a string path parameter (its enum), so that a generated client cannot ask for what does not exist."""

    def register(fn: Callable) -> Callable:
        params = re.findall(r"<(?:(\w+):)?(\w+)>", rule)
        declared = {403: (Error, "this role may not use the operation"), **responses} if roles else responses
        OPERATIONS.append(Operation(rule=rule, method=method.lower(), summary=summary, body=body,
                                    responses=declared, query=query, auth=auth, roles=roles,
                                    operation_id=fn.__name__,
                                    path_params=[(name, conv or "string") for conv, name in params],
                                    request_body=request_body, path_schemas=dict(path or {})))

        @wraps(fn)
        def view(**kwargs: Any) -> Any:
            if auth and not current_user.is_authenticated:
                return unauthorized_json()
            if roles is not None and current_user.role not in roles:
                abort(403)  # through the app's 403 handling, like the pages
            if body is not None:
                parsed = _read_json(body)
                if not isinstance(parsed, BaseModel):
                    return parsed
                return fn(parsed, **kwargs)
            return fn(**kwargs)

        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=[method])
        return view

    return register


def document(prefix: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every registered operation."""
    models: set[type[BaseModel]] = {Error}
    for op in OPERATIONS:
        if op.body:
            models.add(op.body)
        models.update(m for m, _ in op.responses.values() if m)
    ordered = sorted(models, key=lambda m: m.__name__)
    keyed, schemas = models_json_schema([(m, "validation" if _is_request(m) else "serialization") for m in ordered],
                                        ref_template="#/components/schemas/{model}")
    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        path = prefix + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", op.rule)
        parameters = [{"name": name, "in": "path", "required": True,
                       "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1} if conv == "int"
                       else _resolved(op.path_schemas.get(name, {"type": "string", "maxLength": 200}))}
                      for name, conv in op.path_params]
        parameters += [{"name": q.name, "in": "query", "required": False, "schema": _resolved(q.schema),
                        "description": q.description} for q in op.query]
        responses: dict[str, Any] = {}
        for status, (model, description) in sorted({**{s: (Error, d) for s, d in COMMON_ERRORS.items()
                                                       if s != 401 or op.auth}, **op.responses}.items()):
            entry: dict[str, Any] = {"description": description}
            if model is not None:
                mode: Literal["validation", "serialization"] = "validation" if _is_request(model) else "serialization"
                entry["content"] = {"application/json": {"schema": keyed[(model, mode)]}}
            responses[str(status)] = entry
        operation: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary, "responses": responses}
        if parameters:
            operation["parameters"] = parameters
        if op.body is not None:
            operation["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": keyed[(op.body, "validation")]}}}
        elif op.request_body is not None:
            operation["requestBody"] = _resolved(op.request_body)
        if op.auth:
            operation["security"] = [{"bearer": []}]
        paths.setdefault(path, {})[op.method] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": f"zyz — {profile().system_name.zh} API", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas.get("$defs", {}),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


def _is_request(model: type[BaseModel]) -> bool:
    return bool(model.model_config.get("extra") == "forbid")
