"""Turn refusals into pages or JSON: a clear message, the right status, never a stack trace."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from workflow.errors import WorkflowError

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


def json_error(status: int, code: str, zh: str, en: str, details=None):  # type: ignore[no-untyped-def]
    body = {"error": code, "message": {"zh": zh, "en": en}, "details": details}
    return jsonify(body), status


def unauthorized_json():  # type: ignore[no-untyped-def]
    return json_error(401, "unauthorized", "请先登录（需要 Bearer 令牌）。", "Log in first (Bearer token required).")


def init_app(app: Flask) -> None:
    @app.errorhandler(WorkflowError)
    def workflow_error(exc: WorkflowError):  # type: ignore[no-untyped-def]
        if wants_json():
            return json_error(exc.status, exc.code, exc.zh, exc.en, exc.details)
        return render_template("errors/error.html", status=exc.status, message=message_of(exc),
                               details=field_errors(exc)), exc.status

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):  # type: ignore[no-untyped-def]
        zh = "表单已过期或来源不明，请返回页面刷新后重试。"
        en = "The form expired or did not come from this site; reload and try again."
        if wants_json():
            return json_error(400, "csrf", zh, en)
        return render_template("errors/error.html", status=400, message=en if is_english() else zh), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        status = exc.code or 500
        zh, en = HTTP_MESSAGES.get(status, (exc.name, exc.name))
        if wants_json():
            return json_error(status, CODES.get(status, "error"), zh, en)
        if status == 401:
            from flask import redirect, url_for

            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return render_template("errors/error.html", status=status, message=en if is_english() else zh), status

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        zh, en = HTTP_MESSAGES[500]
        if wants_json():
            return json_error(500, "internal_error", zh, en)
        return render_template("errors/error.html", status=500, message=_("Internal error.")), 500
