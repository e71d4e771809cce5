"""Flask-Login glue: the cookie (pages) or Bearer token (API) names a server-side session row."""

from __future__ import annotations

from flask import Request, abort, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import UserMixin, current_user

from webapp.database import db, unit_of_work, utcnow
from webapp.errors import HTTP_MESSAGES, is_english, json_error, unauthorized_json, wants_json
from webapp.extensions import login_manager
from webapp.proxies import PEER, is_proxy
from workflow.accounts import seats
from workflow.accounts.auth import Policy, resolve_session
from workflow.accounts.second_factor import FactorPolicy
from workflow.accounts.throttle import count_login_attempt
from workflow.core.actors import Actor
from workflow.core.models import Seat, Unit, User


class SessionUser(UserMixin):
    """The logged-in user of this request, with the session it came through and the seat of the roster it acts
    in (None: the account's own role; workflow.accounts.seats). `role` and `unit` are what the user acts as."""

    def __init__(self, user: User, unit: Unit | None, key: str, session_id: int, seat: Seat | None = None):
        self.row = user
        self.unit = unit
        self.key = key
        self.session_id = session_id
        self.seat = seat

    def get_id(self) -> str:
        return self.key

    @property
    def is_active(self) -> bool:
        return self.row.is_active

    @property
    def role(self) -> str:
        return self.seat.role if self.seat is not None else self.row.role

    @property
    def display_name(self) -> str:
        return self.row.display_name

    def actor(self) -> Actor:
        return seats.acting_actor(self.row, self.unit, self.seat, client_ip())


login_manager.login_view = "auth.login"
login_manager.login_message = None  # the login page says enough


@login_manager.unauthorized_handler
def unauthorized() -> ResponseReturnValue:
    if request.blueprint == "api":
        return unauthorized_json()
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def client_ip() -> str | None:
    return request.remote_addr


def policy() -> Policy:
    """The login, session and password rules in force (ZYZ_PASSWORD_POLICY)."""
    return current_app.extensions["zyz"]["policy"]


def client_certificate() -> tuple[str, str] | None:
    """(X-SSL-Client-Verify, X-SSL-Client-S-DN) as the proxy set them, when ZYZ_CLIENT_CERT asks for a certificate at
    login (a start without ZYZ_PROXIES refuses that setting: only a proxy's headers are believed); None otherwise.
    With ZYZ_PROXY_ADDRESSES, a request whose direct peer is not the proxy presented no certificate ("", "")."""
    if current_app.config.get("CLIENT_CERT") != "required":
        return None
    proxies = current_app.extensions["zyz"]["proxies"]
    if proxies and not is_proxy(request.environ.get(PEER, ""), proxies):
        return "", ""
    return request.headers.get("X-SSL-Client-Verify", ""), request.headers.get("X-SSL-Client-S-DN", "")


def factors() -> FactorPolicy:
    """Who logs in with a second factor, and the grace period to enrol (ZYZ_2FA_REQUIRED, ZYZ_2FA_GRACE_DAYS)."""
    return current_app.extensions["zyz"]["factors"]


def _load(key: str, kind: str) -> SessionUser | None:
    found = resolve_session(db(), key=key, now=utcnow(), policy=policy())
    if found is None or found[1].kind != kind:
        return None
    user, row, unit = found
    held = seats.held_seat(db(), user, row.acting_seat_id)
    if held is not None:  # acting in a seat the user still holds: its role and unit
        return SessionUser(user, held[1], key, row.id, held[0])  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved
    return SessionUser(user, unit, key, row.id)  # type: ignore[arg-type]  # SQLModel types an id as optional; this row is saved


@login_manager.user_loader
def load_from_cookie(key: str) -> SessionUser | None:
    if request.blueprint == "api":  # the API takes Bearer tokens only, so a cookie cannot forge a request
        return None
    return _load(key, "web")


@login_manager.request_loader
def load_from_token(req: Request) -> SessionUser | None:
    if req.blueprint != "api":
        return None
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or len(header) > 200:
        return None
    return _load(header[7:].strip(), "api")


def load_user_for_request() -> None:
    """Resolve the session once per request and commit what that wrote (last seen, idle end)."""
    with unit_of_work():
        g.user_loaded = current_user.is_authenticated


def actor() -> Actor:
    """The acting user of this request; 401 when nobody is logged in."""
    if not current_user.is_authenticated:
        abort(401)
    return current_user.actor()


def login_allowed() -> bool:
    """Count this login (or token) attempt against the client's address; False: over the limit (429)."""
    with unit_of_work() as s:
        return count_login_attempt(s, ip=client_ip(), now=utcnow(), limit=current_app.config["LOGIN_RATE_LIMIT"])


def too_many_attempts() -> ResponseReturnValue:
    """429, for the page or the API, with the minute to wait."""
    zh, en = HTTP_MESSAGES[429]
    if wants_json():
        response, status = json_error(429, "too_many_requests", zh, en)
        return response, status, {"Retry-After": "60"}
    page = render_template("errors/error.html", status=429, message=en if is_english() else zh)
    return page, 429, {"Retry-After": "60"}
