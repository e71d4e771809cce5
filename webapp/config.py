"""Configuration from environment variables prefixed ZYZ_ (see README)."""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from workflow.accounts import common_passwords
from workflow.accounts.second_factor import DEFAULT_GRACE, PRODUCTION_REQUIRED, FactorPolicy, parse_roles
from workflow.core.reasons import parse_whole
from workflow.core.settings import ACCOUNT_APPROVERS, FILE_GRACE_HOURS, MAX_DUE_DAYS, RECEIPT_DAYS, TASK_REPORT_DAY

DEFAULT_SECRET = "dev-secret-change-me"  # noqa: S105 - the placeholder production refuses
DEFAULT_AUDIT_KEY = "dev-audit-anchor-key-change-me"  # the placeholder production refuses


# Where the demo clock can be set and is read (training and tests); anywhere else the real clock, unread.
CLOCK_ENVS = ("demo", "test")
# The ZYZ_ENV values that are not production; any other value, however spelt, is production (fail safe).
NON_PRODUCTION_ENVS = ("development", *CLOCK_ENVS)
# Keys the code or its documentation shows: a production key equal to one of them is public.
KNOWN_KEYS = frozenset({DEFAULT_SECRET, DEFAULT_AUDIT_KEY, "change-me", "changeme", "secret"})
MIN_KEY_LENGTH = 32
MIN_KEY_CHARACTERS = 12  # different characters: a random 32-character hex key has about 14, a URL-safe one 25
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


class ConfigError(RuntimeError):
    pass


def demo_database(instance_path: str) -> tuple[str, str]:
    """The database `zyz demo` builds, and its audit anchors' folder (apart from a real database's)."""
    return f"sqlite:///{Path(instance_path) / 'demo.db'}", str(Path(instance_path) / "demo-anchors")


def demo_data_key(instance_path: str, *, create: bool = False) -> str | None:
    """The key that encrypts the demo database's contact details (kept beside it), made when `create`."""
    path = Path(instance_path) / "demo-data.key"
    if create and not path.exists():
        from workflow.core.datakeys import new_key

        path.write_text(new_key("sm4") + "\n", encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip() if path.exists() else None


def from_environment(instance_path: str) -> dict:
    """Settings read from ZYZ_* variables, with defaults for development. With ZYZ_ENV=demo and no
    ZYZ_DATABASE_URL the database is the demo's, the one `zyz demo` builds and serves."""
    env = os.environ
    environment = environment_name(env.get("ZYZ_ENV"))
    demo = environment == "demo"
    database, anchors = (demo_database(instance_path) if demo
                         else (f"sqlite:///{Path(instance_path) / 'zyz.db'}", str(Path(instance_path) / "anchors")))
    return {
        "ZYZ_ENV": environment,
        "SECRET_KEY": env.get("ZYZ_SECRET_KEY", DEFAULT_SECRET),
        "DATABASE_URL": env.get("ZYZ_DATABASE_URL") or database,
        "UPLOAD_DIR": env.get("ZYZ_UPLOAD_DIR") or str(Path(instance_path) / "files"),
        # A stored file no row names (its transaction rolled back) is swept once this many hours old.
        "FILE_GRACE_HOURS": _whole_number(env, "ZYZ_FILE_GRACE_HOURS", FILE_GRACE_HOURS),
        # The audit trail's daily anchors (signed head hashes) live outside the database; keep them on other storage.
        "AUDIT_HMAC_KEY": env.get("ZYZ_AUDIT_HMAC_KEY", DEFAULT_AUDIT_KEY),
        "ANCHOR_DIR": env.get("ZYZ_ANCHOR_DIR") or anchors,
        # The audit chain's hash, applied by `zyz init` (a recorded switch-over): sha256, or sm3 for national
        # cryptography. Unset: the chain keeps the hash it has.
        "AUDIT_HASH": (env.get("ZYZ_AUDIT_HASH") or "").strip().lower() or None,
        # Personal data at rest (workflow.core.datakeys): the key new values are sealed with, and older keys that
        # still open what they sealed until `zyz keys rotate` has re-encrypted it.
        "DATA_KEY": env.get("ZYZ_DATA_KEY") or (demo_data_key(instance_path) if demo else None),
        "DATA_KEYS_PREVIOUS": env.get("ZYZ_DATA_KEYS_PREVIOUS", ""),
        "DESIGNATION_CYCLE_YEARS": int(env.get("ZYZ_DESIGNATION_CYCLE_YEARS", "3")),
        "PAGE_SIZE": int(env.get("ZYZ_PAGE_SIZE", "20")),
        "SWEEP_SECONDS": int(env.get("ZYZ_SWEEP_SECONDS", "60")),
        "SWEEP_BATCH": int(env.get("ZYZ_SWEEP_BATCH", "50")),  # due rows claimed and committed together
        "INSPECTION_DATE": env.get("ZYZ_INSPECTION_DATE", "03-01"),  # MM-DD: the yearly campaign opens then
        # MM-DD: last year's statistics reports open then (and each day after, for towns added since)
        "STATISTICS_DATE": env.get("ZYZ_STATISTICS_DATE", "01-10"),
        # MM-DD: last year's evaluation opens then for every designated town (once a year)
        "EVALUATION_DATE": env.get("ZYZ_EVALUATION_DATE", "04-01"),
        # calendar days before a designation's review date that its re-designation review opens (checked daily)
        "REDESIGNATION_LEAD_DAYS": _whole_number(env, "ZYZ_REDESIGNATION_LEAD_DAYS", 90),
        "MAX_DUE_DAYS": _whole_number(env, "ZYZ_MAX_DUE_DAYS", MAX_DUE_DAYS),  # how far ahead a deadline may be set
        # LibreOffice makes the PDF of each issued notice (workflow.core.pdf): its program, and how often the
        # scheduler looks for notices without a PDF.
        "SOFFICE": env.get("ZYZ_SOFFICE", ""),
        "PDF_SECONDS": _whole_number(env, "ZYZ_PDF_SECONDS", 60),
        # working days a county has to acknowledge (签收) a notice addressed to it before it is reminded
        "RECEIPT_DAYS": _whole_number(env, "ZYZ_RECEIPT_DAYS", RECEIPT_DAYS),
        # an action-plan task's monthly progress report is due by this working day of the next month
        "TASK_REPORT_DAY": _whole_number(env, "ZYZ_TASK_REPORT_DAY", TASK_REPORT_DAY),
        **_notification_settings(env),
        "SESSION_COOKIE_SECURE": env.get("ZYZ_HTTPS", "") == "1",
        "PASSWORD_POLICY": env.get("ZYZ_PASSWORD_POLICY", "mlps"),  # mlps | asvs (workflow.accounts.auth.PROFILES)
        # the deployment's own lists of common passwords, refused besides the built-in list: UTF-8 files, one password
        # a line, their paths separated by os.pathsep (":"); read once at the start (workflow.accounts.common_passwords)
        "PASSWORD_LISTS": env.get("ZYZ_PASSWORD_LISTS", ""),
        # who approves a new business account or a password reset: auditor | office | none (unset: auditor, and
        # none under ZYZ_ENV=test; see account_approver)
        "ACCOUNT_APPROVER": (env.get("ZYZ_ACCOUNT_APPROVER") or "").strip().lower() or None,
        # Reverse proxies in front (nginx: 1). Only then are X-Forwarded-For/-Proto believed: the client's
        # address for the audit trail and the login limit, HTTPS for HSTS.
        "PROXIES": int(env.get("ZYZ_PROXIES", "0")),
        # The proxy's own addresses or networks (comma-separated): when set, forwarded and client-certificate
        # headers are believed only from a direct peer among them (webapp.proxies); unset, from any peer.
        "PROXY_ADDRESSES": env.get("ZYZ_PROXY_ADDRESSES", ""),
        # "required": a login also needs the client certificate (UKey) registered for the account, as the reverse
        # proxy verified it (X-SSL-Client-Verify, X-SSL-Client-S-DN); only with ZYZ_PROXIES set, and believed only from
        # a peer of ZYZ_PROXY_ADDRESSES when that is set
        "CLIENT_CERT": (env.get("ZYZ_CLIENT_CERT") or "").strip().lower(),
        "LOGIN_RATE_LIMIT": int(env.get("ZYZ_LOGIN_RATE_LIMIT", "30")),  # login + token attempts per address a minute
        # Roles that log in with a second factor (comma-separated; unset: office, leader, admin and auditor in
        # production, none elsewhere), and the days a user has to enrol from the first login it applies to.
        "TWO_FACTOR_REQUIRED": env.get("ZYZ_2FA_REQUIRED"),
        "TWO_FACTOR_GRACE_DAYS": _whole_number(env, "ZYZ_2FA_GRACE_DAYS", DEFAULT_GRACE.days, low=0),
        "PREFERRED_URL_SCHEME": "https" if env.get("ZYZ_HTTPS", "") == "1" else "http",
    }


# E-mail, SMS and the dispatcher (README, "Notifications"): ZYZ_<NAME> read into the key <NAME>.
NOTIFICATION_VARIABLES = (
    "SMTP_HOST", "SMTP_PORT", "SMTP_USER", "SMTP_PASSWORD", "SMTP_SECURITY", "SMTP_FROM", "SMTP_TIMEOUT",
    "SMTP_CA_FILE", "SMS_PROVIDER", "SMS_SIGN_NAME", "SMS_TEMPLATE_IDS", "SMS_TIMEOUT",
    "SMS_ALIYUN_ACCESS_KEY_ID", "SMS_ALIYUN_ACCESS_KEY_SECRET", "SMS_ALIYUN_ENDPOINT", "SMS_ALIYUN_REGION",
    "SMS_TENCENT_SECRET_ID", "SMS_TENCENT_SECRET_KEY", "SMS_TENCENT_SDK_APP_ID", "SMS_TENCENT_REGION",
    "SMS_TENCENT_ENDPOINT", "SMS_HTTP_URL", "SMS_HTTP_BODY", "SMS_HTTP_HEADERS", "BASE_URL", "NOTIFY_BATCH",
    "NOTIFY_CONNECTIONS", "NOTIFY_MAX_ATTEMPTS", "NOTIFY_BACKOFF_SECONDS", "NOTIFY_BACKOFF_MAX_SECONDS",
    "NOTIFY_LEASE_SECONDS",
)


def _whole_number(env: Mapping[str, str], name: str, default: int, low: int = 1) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    number = parse_whole(raw, low=low, high=sys.maxsize)
    if number is None:
        raise ConfigError(f"{name} must be a whole number of at least {low} (found {raw!r})")
    return number


def factor_policy(config: Mapping[str, Any]) -> FactorPolicy:
    """The second factor's policy of these settings: the roles of TWO_FACTOR_REQUIRED (when unset, those of
    PRODUCTION_REQUIRED in production and none elsewhere, so that development, the demo and the tests log in with
    a password alone unless they ask for more)."""
    raw = config.get("TWO_FACTOR_REQUIRED")
    if raw is None:
        raw = ",".join(sorted(PRODUCTION_REQUIRED)) if environment_name(config.get("ZYZ_ENV")) == "production" else ""
    try:
        roles = parse_roles(str(raw))
    except ValueError as exc:
        raise ConfigError(f"ZYZ_2FA_REQUIRED: {exc}") from None
    days = config.get("TWO_FACTOR_GRACE_DAYS", DEFAULT_GRACE.days)
    return FactorPolicy(required_roles=roles, grace=timedelta(days=int(days)))


def configure_password_lists(config: Mapping[str, Any]) -> None:
    """Read the lists of ZYZ_PASSWORD_LISTS (a string of paths separated by os.pathsep, or a list of paths) into the
    common-password check; ConfigError names a file that does not exist, cannot be read or is not UTF-8 text."""
    try:
        common_passwords.configure(config.get("PASSWORD_LISTS"))
    except common_passwords.PasswordListError as exc:
        raise ConfigError(f"ZYZ_PASSWORD_LISTS: {exc}") from None


def _notification_settings(env: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {name: env[f"ZYZ_{name}"] for name in NOTIFICATION_VARIABLES if env.get(f"ZYZ_{name}")}
    found["NOTIFY_SECONDS"] = int(env.get("ZYZ_NOTIFY_SECONDS", "5"))  # how often the dispatcher runs
    return found


def proxy_networks(config: Mapping[str, Any]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """The networks of ZYZ_PROXY_ADDRESSES (an address alone is a network of one); none when unset. ConfigError
    names an entry that is neither an address nor a network."""
    raw = str(config.get("PROXY_ADDRESSES") or "")
    networks = []
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry))
        except ValueError:
            try:
                loose = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ConfigError(f"ZYZ_PROXY_ADDRESSES: {entry!r} is not an IP address or network "
                                  "(such as 10.0.0.5, 10.0.0.0/24 or fd00::5)") from None
            raise ConfigError(f"ZYZ_PROXY_ADDRESSES: {entry!r} has bits set after its prefix: write the network "
                              f"{loose} or the address {entry.split('/')[0]} alone") from None
    if raw.strip() and not networks:
        raise ConfigError(f"ZYZ_PROXY_ADDRESSES names no address ({raw!r}); leave it unset to believe any peer")
    return tuple(networks)


def account_approver(config: Mapping[str, Any]) -> str:
    """ZYZ_ACCOUNT_APPROVER as configured; unset, the security auditor (none in the test environment, where the
    tests of account management that do not concern the approval run as before)."""
    value = config.get("ACCOUNT_APPROVER")
    if value:
        return str(value).strip().lower()
    return "none" if environment_name(config.get("ZYZ_ENV")) == "test" else "auditor"


def environment_name(value: object) -> str:
    """ZYZ_ENV as the application uses it: development when unset; development, demo or test in any case and
    with spaces around; anything else (a typo, "prod", "staging", empty) is production."""
    if value is None:
        return "development"
    name = str(value).strip().lower()
    return name if name in NON_PRODUCTION_ENVS else "production"


def key_weakness(key: str) -> str | None:
    """Why `key` is no secret (a known value, too short, too few different characters, one piece repeated),
    or None."""
    if key.strip().lower() in KNOWN_KEYS or key in KNOWN_KEYS:
        return "it is a known default value"
    if len(key) < MIN_KEY_LENGTH:
        return f"it has fewer than {MIN_KEY_LENGTH} characters"
    if len(set(key)) < MIN_KEY_CHARACTERS:
        return f"it has fewer than {MIN_KEY_CHARACTERS} different characters"
    if any(len(key) % size == 0 and key == key[:size] * (len(key) // size) for size in range(1, len(key) // 2 + 1)):
        return "it repeats one piece"
    return None


GENERATE = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"


def check_production(config: dict) -> None:
    """Refuse to start in production with a guessable secret key or audit key, or debug mode (and anywhere with
    a password policy that does not exist). Production is any ZYZ_ENV but development, demo and test."""
    from workflow.accounts.auth import PROFILES
    from workflow.core.audit import HASHES
    from workflow.core.datakeys import DataKeyError, parse_key

    if config.get("PASSWORD_POLICY", "mlps") not in PROFILES:
        raise ConfigError(f"ZYZ_PASSWORD_POLICY must be one of {', '.join(sorted(PROFILES))}")
    if account_approver(config) not in ACCOUNT_APPROVERS:
        raise ConfigError(f"ZYZ_ACCOUNT_APPROVER must be one of {', '.join(ACCOUNT_APPROVERS)}, "
                          f"not {config['ACCOUNT_APPROVER']!r}")
    if config.get("CLIENT_CERT", "") not in ("", "required"):
        raise ConfigError(f"ZYZ_CLIENT_CERT must be 'required' or empty, not {config['CLIENT_CERT']!r}")
    if config.get("CLIENT_CERT") == "required" and int(config.get("PROXIES") or 0) < 1:
        raise ConfigError("ZYZ_CLIENT_CERT=required needs ZYZ_PROXIES: the certificate headers are believed only "
                          "from the reverse proxy that verified the certificate")
    if proxy_networks(config) and int(config.get("PROXIES") or 0) < 1:
        raise ConfigError("ZYZ_PROXY_ADDRESSES needs ZYZ_PROXIES (nginx in front: 1): the addresses say which peer "
                          "is the reverse proxy, ZYZ_PROXIES how many proxies a request passed through; without it "
                          "no forwarded header is believed at all")
    if config.get("AUDIT_HASH") not in (None, *HASHES):
        raise ConfigError(f"ZYZ_AUDIT_HASH must be one of {', '.join(HASHES)}, not {config['AUDIT_HASH']!r}")
    for name, text in (("ZYZ_DATA_KEY", config.get("DATA_KEY") or ""),
                       *(("ZYZ_DATA_KEYS_PREVIOUS", k) for k in (config.get("DATA_KEYS_PREVIOUS") or "").split(","))):
        if text.strip():
            try:
                parse_key(text)
            except DataKeyError as exc:
                raise ConfigError(f"{name}: {exc}; make one with `zyz keys new`") from None
    if environment_name(config.get("ZYZ_ENV")) != "production":
        return
    secret = config.get("SECRET_KEY") or ""
    weakness = key_weakness(secret)
    if weakness:
        raise ConfigError(f"ZYZ_SECRET_KEY must be a random value of at least {MIN_KEY_LENGTH} characters in "
                          f"production ({weakness}); make one with {GENERATE}")
    if config.get("DEBUG"):
        raise ConfigError("debug mode is not allowed in production")
    key = config.get("AUDIT_HMAC_KEY") or ""
    weakness = "it is the secret key" if key == secret else key_weakness(key)
    if weakness:
        raise ConfigError(f"ZYZ_AUDIT_HMAC_KEY must be a random value of at least {MIN_KEY_LENGTH} characters in "
                          f"production, not the secret key ({weakness}): it signs the audit trail's anchors; "
                          f"make one with {GENERATE}")
