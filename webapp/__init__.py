"""The zyz web application: pages in Chinese (English on request) and the JSON API under /api/v1."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response, abort, request, session
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from webapp.config import (
    account_approver,
    check_production,
    configure_password_lists,
    environment_name,
    factor_policy,
    from_environment,
    proxy_networks,
)
from webapp.database import App, Clock, close_db
from webapp.extensions import babel, csrf, login_manager
from webapp.proxies import TrustedProxyFix
from workflow import processes
from workflow.accounts.auth import PROFILES
from workflow.core import datakeys
from workflow.core import profile as city_profile
from workflow.core.access import MAX_ID
from workflow.core.db import make_engine, make_session_factory
from workflow.core.settings import configure as configure_workflow
from workflow.designation import eligibility

LOCALES = ("zh_CN", "en")
JSON_LIMIT = 1024 * 1024  # API bodies
UPLOAD_LIMIT = 20 * 1024 * 1024  # one attachment


def _at_most(limit: int) -> str:
    """A regular expression of the decimal numbers from 0 to `limit` (leading zeros allowed, as `<int:...>` does)."""
    digits = str(limit)
    size = len(digits)
    shorter = [rf"\d{{1,{size - 1}}}"] if size > 1 else []
    # as long as the limit: its first i digits, then a smaller digit, then any digits
    same_length = [rf"{digits[:i]}[0-{int(d) - 1}]\d{{{size - i - 1}}}" for i, d in enumerate(digits) if d != "0"]
    return "0*(?:" + "|".join([*shorter, *same_length, digits]) + ")"


class IdConverter(IntegerConverter):
    """`<int:...>` of every route (ids, a calendar year): a number beyond an INTEGER column matches no route, so it
    is a 404 like a missing id, whatever the method, and never reaches the database (SQLite and PostgreSQL both
    refuse it there). The pattern itself stops at MAX_ID: a converter that refused the number only after matching
    would make werkzeug answer 405 where another rule has the same path for another method."""

    regex = _at_most(MAX_ID)


def select_locale() -> str:
    chosen = session.get("lang")
    if chosen in LOCALES:
        return chosen
    return "zh_CN"


def create_app(config: dict | None = None) -> Flask:
    """Build the application; the scheduler is never started here (see `zyz scheduler`)."""
    processes.load()
    app = App(__name__, instance_path=os.environ.get("ZYZ_INSTANCE_PATH") or None)
    app.url_map.converters["int"] = IdConverter  # before any route is added
    app.config.from_mapping(from_environment(app.instance_path))
    app.config.update(
        MAX_CONTENT_LENGTH=UPLOAD_LIMIT + 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="zyz_session",
        REMEMBER_COOKIE_HTTPONLY=True,  # "remember me" is not offered; should it ever be, its cookie is as strict
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the server-side session
        BABEL_DEFAULT_LOCALE="zh_CN",
        BABEL_DEFAULT_TIMEZONE="Asia/Shanghai",
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
    )
    app.config.update(config or {})
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]
    app.config["ZYZ_ENV"] = environment_name(app.config.get("ZYZ_ENV"))  # " Production ", "prod": production
    check_production(app.config)
    datakeys.configure(app.config.get("DATA_KEY"), app.config.get("DATA_KEYS_PREVIOUS"))
    configure_password_lists(app.config)  # every password checked in this process, the command line's too
    factors = factor_policy(app.config)
    proxies = proxy_networks(app.config)
    if app.config["PROXIES"] > 0:
        hops = app.config["PROXIES"]
        # Flask's documented way to wrap the WSGI app; with ZYZ_PROXY_ADDRESSES, for the proxy's requests only
        app.wsgi_app = (TrustedProxyFix(app.wsgi_app, proxies, hops) if proxies  # type: ignore[method-assign]
                        else ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    engine = make_engine(app.config["DATABASE_URL"])
    try:
        city_profile.select_stored(engine)  # the city this database was set up for (zyz init --profile)
        eligibility.default_table()  # with that city's thresholds: one the table does not define stops the start
    except Exception:
        engine.dispose()  # a start that stops leaves no connection open behind it
        raise
    app.extensions["zyz"] = {"engine": engine, "sessions": make_session_factory(engine),
                             "policy": PROFILES[app.config["PASSWORD_POLICY"]], "clock": Clock(engine, app.config),
                             "factors": factors, "proxies": proxies}
    configure_workflow(pseudonym_key=str(app.config["SECRET_KEY"]),
                       designation_cycle_years=app.config["DESIGNATION_CYCLE_YEARS"],
                       instance_path=app.instance_path, upload_dir=app.config["UPLOAD_DIR"],
                       max_due_days=app.config["MAX_DUE_DAYS"], soffice=app.config["SOFFICE"],
                       file_grace_hours=app.config["FILE_GRACE_HOURS"],
                       receipt_days=app.config["RECEIPT_DAYS"], task_report_day=app.config["TASK_REPORT_DAY"])
    configure_workflow(account_approver=account_approver(app.config))

    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    login_manager.init_app(app)
    app.teardown_appcontext(close_db)

    @app.before_request
    def refuse_nul() -> None:
        # PostgreSQL text cannot hold NUL (nor be compared with it): refuse it here rather than fail with a 500.
        # Large multipart bodies (uploads) are left alone so that their size is checked before they are parsed.
        sources = [request.args]
        if request.mimetype == "application/x-www-form-urlencoded" or (
                request.mimetype == "multipart/form-data" and (request.content_length or 0) <= JSON_LIMIT):
            sources.append(request.form)
        for source in sources:
            if any("\x00" in value for _, values in source.lists() for value in values):
                abort(400)

    from webapp import (
        admin,
        auth,
        cases,
        chase,  # noqa: F401  # 催办 pages, on the cases' and the supervision's blueprints
        dashboard,
        designation,
        errors,
        evaluation,
        files,
        incidents,
        notify,
        organisation,
        problems,
        programmes,
        projects,
        receipts,
        recommendation,
        statistics,
        supervision,
        templates_admin,
        templating,
        towns,
        unit_presets,  # noqa: F401  # 常用组合 pages, on the cases' blueprint
    )
    from webapp.api import blueprint as api
    from webapp.auth import roles

    templating.init_app(app)
    roles.init_app(app)
    errors.init_app(app)
    app.register_blueprint(admin.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(designation.bp)
    app.register_blueprint(files.bp)
    app.register_blueprint(notify.bp)
    app.register_blueprint(towns.bp)
    app.register_blueprint(supervision.bp)
    app.register_blueprint(statistics.bp)
    app.register_blueprint(evaluation.bp)
    app.register_blueprint(projects.bp)
    app.register_blueprint(problems.bp)
    app.register_blueprint(programmes.bp)
    app.register_blueprint(recommendation.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(incidents.bp)
    app.register_blueprint(receipts.bp)
    app.register_blueprint(organisation.bp)
    app.register_blueprint(templates_admin.bp)
    app.register_blueprint(api.bp)
    from webapp import auditor

    app.register_blueprint(auditor.bp)
    from webapp import approvals

    app.register_blueprint(approvals.bp)
    csrf.exempt(api.bp)

    @app.route("/favicon.ico")
    def favicon() -> Response:
        """The tab's icon, for the browsers that ask /favicon.ico whatever the page's <link rel="icon"> says."""
        icon = Path(app.static_folder or "static", "favicon.ico").read_bytes()  # 162 bytes
        return Response(icon, mimetype="image/vnd.microsoft.icon", headers={"Cache-Control": "public, max-age=86400"})

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        )
        if request.is_secure:  # over HTTPS itself, or per X-Forwarded-Proto from a counted proxy (ZYZ_PROXIES)
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.blueprint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app
