"""Settings of the e-mail and SMS channels and of the dispatcher, read from the app's configuration."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

SECURITY = ("starttls", "ssl", "none")
PROVIDERS = ("aliyun", "tencent", "http", "console")


class SettingsError(ValueError):
    """A notification setting that cannot work (the scheduler refuses to start with it)."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str = ""  # empty: e-mail is written to the log instead (development, demo)
    port: int = 0  # 0: 587 for starttls, 465 for ssl, 25 for none
    user: str = ""
    password: str = field(default="", repr=False)
    security: str = "starttls"
    sender: str = "阳泉市专业镇 <noreply@localhost>"
    timeout: float = 10.0
    ca_file: str = ""  # a private CA for the server's certificate

    @property
    def effective_port(self) -> int:
        return self.port or {"starttls": 587, "ssl": 465, "none": 25}[self.security]


@dataclass(frozen=True)
class SmsSettings:
    provider: str = "console"
    sign_name: str = "阳泉市专业镇"
    template_ids: Mapping[str, str] = field(default_factory=dict)  # our template -> the provider's template
    timeout: float = 10.0
    aliyun_access_key_id: str = ""
    aliyun_access_key_secret: str = field(default="", repr=False)
    aliyun_endpoint: str = "https://dysmsapi.aliyuncs.com/"
    aliyun_region: str = "cn-hangzhou"
    tencent_secret_id: str = ""
    tencent_secret_key: str = field(default="", repr=False)
    tencent_sdk_app_id: str = ""
    tencent_region: str = "ap-guangzhou"
    tencent_endpoint: str = "https://sms.tencentcloudapi.com/"
    http_url: str = ""
    http_body: str = '{"mobile": "{mobile}", "text": "{text}"}'  # JSON; placeholders inside strings
    http_headers: Mapping[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class NotifySettings:
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    sms: SmsSettings = field(default_factory=SmsSettings)
    base_url: str = "http://127.0.0.1:5000"  # links to cases in e-mails
    batch: int = 100  # rows claimed at a time by one connection
    connections: int = 4  # SMTP connections (and threads) sending at once, each with its own batches
    max_attempts: int = 8
    backoff_seconds: float = 30.0  # first retry after this, then doubling
    backoff_max_seconds: float = 3600.0
    lease_seconds: float = 900.0  # a claim older than this belongs to a dispatcher presumed dead

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> NotifySettings:
        """From the flat keys webapp/config.py reads from ZYZ_* variables (SMTP_HOST, SMS_PROVIDER...)."""
        get = config.get
        smtp = SmtpSettings(
            host=get("SMTP_HOST") or "", port=int(get("SMTP_PORT") or 0), user=get("SMTP_USER") or "",
            password=get("SMTP_PASSWORD") or "", security=(get("SMTP_SECURITY") or "starttls").lower(),
            sender=get("SMTP_FROM") or SmtpSettings.sender, timeout=float(get("SMTP_TIMEOUT") or 10),
            ca_file=get("SMTP_CA_FILE") or "")
        sms = SmsSettings(
            provider=(get("SMS_PROVIDER") or "console").lower(), sign_name=get("SMS_SIGN_NAME") or "阳泉市专业镇",
            template_ids=_json_object(get("SMS_TEMPLATE_IDS"), "ZYZ_SMS_TEMPLATE_IDS"),
            timeout=float(get("SMS_TIMEOUT") or 10),
            aliyun_access_key_id=get("SMS_ALIYUN_ACCESS_KEY_ID") or "",
            aliyun_access_key_secret=get("SMS_ALIYUN_ACCESS_KEY_SECRET") or "",
            aliyun_endpoint=get("SMS_ALIYUN_ENDPOINT") or SmsSettings.aliyun_endpoint,
            aliyun_region=get("SMS_ALIYUN_REGION") or SmsSettings.aliyun_region,
            tencent_secret_id=get("SMS_TENCENT_SECRET_ID") or "",
            tencent_secret_key=get("SMS_TENCENT_SECRET_KEY") or "",
            tencent_sdk_app_id=get("SMS_TENCENT_SDK_APP_ID") or "",
            tencent_region=get("SMS_TENCENT_REGION") or SmsSettings.tencent_region,
            tencent_endpoint=get("SMS_TENCENT_ENDPOINT") or SmsSettings.tencent_endpoint,
            http_url=get("SMS_HTTP_URL") or "", http_body=get("SMS_HTTP_BODY") or SmsSettings.http_body,
            http_headers=_json_object(get("SMS_HTTP_HEADERS"), "ZYZ_SMS_HTTP_HEADERS"))
        settings = cls(smtp=smtp, sms=sms, base_url=(get("BASE_URL") or cls.base_url).rstrip("/"),
                       batch=int(get("NOTIFY_BATCH") or cls.batch),
                       connections=int(get("NOTIFY_CONNECTIONS") or cls.connections),
                       max_attempts=int(get("NOTIFY_MAX_ATTEMPTS") or cls.max_attempts),
                       backoff_seconds=float(get("NOTIFY_BACKOFF_SECONDS") or cls.backoff_seconds),
                       backoff_max_seconds=float(get("NOTIFY_BACKOFF_MAX_SECONDS") or cls.backoff_max_seconds),
                       lease_seconds=float(get("NOTIFY_LEASE_SECONDS") or cls.lease_seconds))
        settings.check()
        return settings

    def check(self) -> None:
        """Raise SettingsError naming the first setting that cannot work."""
        if self.smtp.security not in SECURITY:
            raise SettingsError(f"ZYZ_SMTP_SECURITY must be one of {', '.join(SECURITY)}")
        sms = self.sms
        if sms.provider not in PROVIDERS:
            raise SettingsError(f"ZYZ_SMS_PROVIDER must be one of {', '.join(PROVIDERS)}")
        needed = {"aliyun": ("aliyun_access_key_id", "aliyun_access_key_secret"),
                  "tencent": ("tencent_secret_id", "tencent_secret_key", "tencent_sdk_app_id"),
                  "http": ("http_url",)}.get(sms.provider, ())
        for name in needed:
            if not getattr(sms, name):
                raise SettingsError(f"ZYZ_SMS_{name.upper()} is required with ZYZ_SMS_PROVIDER={sms.provider}")
        for name in ("aliyun_endpoint", "tencent_endpoint", "http_url"):
            url = getattr(sms, name)
            if url and urlsplit(url).scheme not in ("http", "https"):
                raise SettingsError(f"ZYZ_SMS_{name.upper()} must be an http(s) URL")
        if sms.provider == "http":
            try:
                json.loads(sms.http_body)
            except ValueError as exc:
                raise SettingsError(f"ZYZ_SMS_HTTP_BODY is not JSON: {exc}") from None
        if self.max_attempts < 1 or self.backoff_seconds <= 0 or self.batch < 1 or self.connections < 1:
            raise SettingsError("ZYZ_NOTIFY_MAX_ATTEMPTS, _BATCH, _CONNECTIONS and _BACKOFF_SECONDS must be positive")


def _json_object(raw: Any, name: str) -> dict[str, str]:
    if not raw:
        return {}
    if isinstance(raw, Mapping):
        return {str(k): str(v) for k, v in raw.items()}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise SettingsError(f"{name} must be a JSON object")
    return {str(k): str(v) for k, v in value.items()}
