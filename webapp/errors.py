"""Turn refusals into pages or JSON: a clear message, the right status, never a stack trace."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from webapp.database import db, unit_of_work, utcnow
from workflow.accounts.throttle import count_refusal, refusal_key
from workflow.core import audit
from workflow.core.access import MAX_ID
from workflow.core.db import writing, wrote_while_reading
from workflow.core.errors import WorkflowError
from workflow.core.models import Case

# Bilingual messages for HTTP errors raised outside the services.
HTTP_MESSAGES = {
    400: ("请求格式不正确。", "Bad request."),
    401: ("请先登录。", "Please log in."),
    403: ("您无权访问。", "You may not do this."),
    404: ("页面或对象不存在。", "Not found."),
    405: ("不支持该请求方法。", "Method not allowed."),
    409: ("操作冲突，请刷新后重试。", "Conflict; reload and try again."),
    413: ("提交的内容过大。", "The request is too large."),
    415: ("请求体须为 JSON。", "The body must be JSON."),
    422: ("提交的内容有误。", "The input is not valid."),
    429: ("请求过于频繁，请稍后再试。", "Too many requests; try again later."),
    500: ("系统内部错误，请稍后再试或联系管理员。", "Internal error; try again later or contact the administrator."),
}
CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid_input",
         429: "too_many_requests", 500: "internal_error"}


def is_english() -> bool:
    return str(get_locale() or "zh_CN").startswith("en")


def message_of(exc: WorkflowError) -> str:
    return exc.en if is_english() else exc.zh


def field_errors(exc: WorkflowError) -> dict[str, list[str]]:
    """Field name → messages, from a refusal's details (reasons without a field go under '')."""
    found: dict[str, list[str]] = {}
    details = exc.details if isinstance(exc.details, list) else []
    for item in details:
        if isinstance(item, dict):
            found.setdefault(item.get("field") or "", []).append(item["en" if is_english() else "zh"])
    if not found:
        found[""] = [message_of(exc)]
    return found


def wants_json() -> bool:
    return request.path.startswith("/api/")


def json_error(status: int, code: str, zh: str, en: str, details: Any = None) -> tuple[Response, int]:
    body = {"error": code, "message": {"zh": zh, "en": en}, "details": details}
    return jsonify(body), status


def unauthorized_json() -> tuple[Response, int]:
    return json_error(401, "unauthorized", "请先登录（需要 Bearer 令牌）。", "Log in first (Bearer token required).")


def record_refusal(code: str) -> None:
    """Audit a 403 (who tried what on which object) in its own committed transaction, once per request. Beyond
    REFUSALS_ONE_BY_ONE a minute from one session they are only counted, into one summary event for the minute
    (workflow.accounts.throttle.count_refusal).

    The refused action's writes are rolled back first. A 404 is never recorded here: another county's case
    answers exactly as a missing one, and writing an event for it alone would tell the two apart by timing.
    """
    if g.get("refusal_recorded"):
        return
    g.refusal_recorded = True
    args = request.view_args or {}
    case_id = args.get("case_id") if isinstance(args.get("case_id"), int) and 0 < args["case_id"] <= MAX_ID else None
    trigger = args.get("trigger")
    if trigger is None and isinstance(g.get("json_body"), dict):  # the API's body, as its route read it
        trigger = g.json_body.get("trigger")
    data = {"method": request.method, "path": request.path[:300], "endpoint": request.endpoint, "code": code,
            "object": {k: str(v)[:100] for k, v in args.items()} or None}
    try:
        db().rollback()
        with writing(), unit_of_work() as s:  # a refused GET's read-only transaction is over; this one writes
            now = utcnow()
            actor = current_user.actor() if current_user.is_authenticated else None
            ip = None if actor else request.remote_addr
            key = refusal_key(session_id=current_user.session_id if actor else None, ip=request.remote_addr)
            audit.lock_head(s)  # the trail's head first, as every writer takes it (then the session's counter)
            if not count_refusal(s, key=key, now=now, actor=actor, ip=ip):
                return  # counted into the session's summary for this minute
            case = s.get(Case, case_id) if case_id else None
            audit.record(s, kind="permission_refused", now=now, actor=actor, ip=ip, case_id=case_id,
                         county_id=case.county_id if case else None,
                         trigger=str(trigger)[:60] if trigger else None, data=data)
    except Exception:  # the refusal stands even when it cannot be written down; the log says why
        current_app.logger.exception("could not record the permission refusal on %s %s", request.method, request.path)


def init_app(app: Flask) -> None:
    @app.errorhandler(WorkflowError)
    def workflow_error(exc: WorkflowError) -> ResponseReturnValue:
        if exc.status == 403:
            record_refusal(exc.code)
        if wants_json():
            return json_error(exc.status, exc.code, exc.zh, exc.en, exc.details)
        return render_template("errors/error.html", status=exc.status, message=message_of(exc),
                               details=field_errors(exc)), exc.status

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> ResponseReturnValue:
        zh = "表单已过期或来源不明，请返回页面刷新后重试。"
        en = "The form expired or did not come from this site; reload and try again."
        if wants_json():
            return json_error(400, "csrf", zh, en)
        return render_template("errors/error.html", status=400, message=en if is_english() else zh), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        status = exc.code or 500
        if status == 403:
            record_refusal("forbidden")
        zh, en = HTTP_MESSAGES.get(status, (exc.name, exc.name))
        # The exception's own headers (a 405's Allow, a 401's WWW-Authenticate) stay; its content type does not.
        headers = [(name, value) for name, value in exc.get_headers() if name.lower() != "content-type"]
        if wants_json():
            response, status = json_error(status, CODES.get(status, "error"), zh, en)
            return response, status, headers
        if status == 401:
            from flask import redirect, url_for

            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        page = render_template("errors/error.html", status=status, message=en if is_english() else zh)
        return page, status, headers

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> ResponseReturnValue:
        if wrote_while_reading(exc):
            raise exc  # a read-only request that wrote: App.full_dispatch_request runs it again as a writer
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        zh, en = HTTP_MESSAGES[500]
        if wants_json():
            return json_error(500, "internal_error", zh, en)
        return render_template("errors/error.html", status=500, message=_("Internal error.")), 500
