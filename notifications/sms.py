"""The SMS channel: Alibaba Cloud (dysmsapi SendSms), Tencent Cloud (SMS SendSms 2021-01-11), a generic
HTTP gateway, and the console for development and the demo.

Both clouds send a template registered with them (ZYZ_SMS_TEMPLATE_IDS maps our template names to their
ids) filled with the parameters the rules' template declares; the generic gateway and the console send
the text of our own template.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

from notifications.errors import DeliveryError
from notifications.settings import SmsSettings

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


class SmsGateway(Protocol):
    name: str

    def send(self, *, mobile: str, text: str, template: str, values: Mapping[str, str], key: str) -> str:
        """Send one SMS; return the gateway's id for it or raise DeliveryError."""


def _utcnow() -> datetime:
    # The real time, never the demo clock: a gateway refuses a request signed minutes away from its own clock.
    return datetime.now(UTC)


def reference(key: str) -> str:
    """A short, stable id of the message for the gateway's records (OutId, SessionContext)."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def mask(mobile: str) -> str:
    return f"{mobile[:3]}****{mobile[-4:]}" if len(mobile) >= 11 else "****"


def _post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> tuple[int, bytes]:
    """POST and return (status, body); a network failure or timeout is a transient DeliveryError."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310
    try:
        # the URL is a setting, and NotifySettings.check() accepts http and https URLs only
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310 - http(s) only
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"SMS gateway unreachable or no answer: {type(reason).__name__}: {reason}"[:500],
                            transient=True) from None


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def _template_id(settings: SmsSettings, template: str) -> str:
    found = settings.template_ids.get(template)
    if not found:
        raise DeliveryError(f"no provider template id for {template!r} in ZYZ_SMS_TEMPLATE_IDS", transient=False)
    return found


# --- Alibaba Cloud ---------------------------------------------------------------------------------------------


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as Alibaba Cloud's RPC signature wants it: only A-Z a-z 0-9 - _ . ~ stay."""
    return quote(value, safe="~")


def aliyun_string_to_sign(params: Mapping[str, str], method: str = "POST") -> str:
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}"
                         for k, v in sorted(params.items()) if k != "Signature")
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"


def aliyun_signature(params: Mapping[str, str], secret: str, method: str = "POST") -> str:
    """Base64(HMAC-SHA1(secret + "&", StringToSign)) over the sorted, percent-encoded parameters."""
    digest = hmac.new(f"{secret}&".encode(), aliyun_string_to_sign(params, method).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# Codes worth another try later: throttling, the provider's own faults, an empty account being topped up.
_ALIYUN_TRANSIENT = ("isp.", "Throttling", "ServiceUnavailable", "InternalError", "isv.BUSINESS_LIMIT_CONTROL",
                     "isv.AMOUNT_NOT_ENOUGH", "isv.OUT_OF_SERVICE")


class AliyunSms:
    name = "aliyun"

    def __init__(self, settings: SmsSettings, *, clock: Clock = _utcnow, nonce: Callable[[], str] | None = None):
        self.settings = settings
        self.clock = clock
        self.nonce = nonce or (lambda: uuid.uuid4().hex)

    def request(self, *, mobile: str, template: str, values: Mapping[str, str], key: str) -> dict[str, str]:
        """The signed parameters of one SendSms call."""
        s = self.settings
        params = {
            "AccessKeyId": s.aliyun_access_key_id, "Action": "SendSms", "Format": "JSON", "OutId": reference(key),
            "PhoneNumbers": mobile, "RegionId": s.aliyun_region, "SignName": s.sign_name,
            "SignatureMethod": "HMAC-SHA1", "SignatureNonce": self.nonce(), "SignatureVersion": "1.0",
            "TemplateCode": _template_id(s, template),
            "TemplateParam": json.dumps(dict(values), ensure_ascii=False, separators=(",", ":")),
            "Timestamp": self.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "Version": "2017-05-25",
        }
        params["Signature"] = aliyun_signature(params, s.aliyun_access_key_secret, "POST")
        return params

    def send(self, *, mobile: str, text: str, template: str, values: Mapping[str, str], key: str) -> str:
        params = self.request(mobile=mobile, template=template, values=values, key=key)
        body = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in params.items()).encode()
        status, raw = _post(self.settings.aliyun_endpoint, body,
                            {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                             "Accept": "application/json"}, self.settings.timeout)
        answer = _json(raw)
        code = str(answer.get("Code") or "")
        if status == 200 and code == "OK":
            return str(answer.get("BizId") or "")
        message = f"aliyun HTTP {status} {code or '-'}: {answer.get('Message') or raw[:200].decode(errors='replace')}"
        transient = status >= 500 or status == 429 or code.startswith(_ALIYUN_TRANSIENT)
        raise DeliveryError(message[:500], transient=transient)


# --- Tencent Cloud ---------------------------------------------------------------------------------------------


def tc3_signature(*, secret_key: str, date: str, service: str, string_to_sign: str) -> str:
    """HexEncode(HMAC_SHA256(SecretSigning, StringToSign)), the key derived from TC3+SecretKey, date, service."""
    def sign(key: bytes, message: str) -> bytes:
        return hmac.new(key, message.encode(), hashlib.sha256).digest()

    secret_signing = sign(sign(sign(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    return hmac.new(secret_signing, string_to_sign.encode(), hashlib.sha256).hexdigest()


def tc3_authorization(*, secret_id: str, secret_key: str, service: str, timestamp: int, payload: bytes,
                      headers: Mapping[str, str], method: str = "POST") -> str:
    """The Authorization header of TC3-HMAC-SHA256 over `headers` (content-type and host at least)."""
    signed = sorted((k.lower(), v.strip().lower()) for k, v in headers.items())
    canonical_headers = "".join(f"{k}:{v}\n" for k, v in signed)
    signed_headers = ";".join(k for k, _ in signed)
    canonical_request = "\n".join([method, "/", "", canonical_headers, signed_headers,
                                   hashlib.sha256(payload).hexdigest()])
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope,
                                hashlib.sha256(canonical_request.encode()).hexdigest()])
    signature = tc3_signature(secret_key=secret_key, date=date, service=service, string_to_sign=string_to_sign)
    return (f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders={signed_headers}, "
            f"Signature={signature}")


_TENCENT_TRANSIENT = ("InternalError", "RequestLimitExceeded", "LimitExceeded.DeliveryFrequencyLimit",
                      "FailedOperation.InsufficientBalanceInSmsPackage", "ResourceUnavailable")


class TencentSms:
    name = "tencent"
    action, version, service = "SendSms", "2021-01-11", "sms"
    content_type = "application/json; charset=utf-8"

    def __init__(self, settings: SmsSettings, *, clock: Clock = _utcnow):
        self.settings = settings
        self.clock = clock

    def request(self, *, mobile: str, template: str, values: Mapping[str, str], key: str) -> tuple[dict[str, str],
                                                                                                     bytes]:
        """The headers and body of one SendSms call."""
        s = self.settings
        payload = {"PhoneNumberSet": [f"+86{mobile}"], "SmsSdkAppId": s.tencent_sdk_app_id, "SignName": s.sign_name,
                   "TemplateId": _template_id(s, template), "TemplateParamSet": list(values.values()),
                   "SessionContext": reference(key)}
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = int(self.clock().timestamp())
        host = urlsplit(s.tencent_endpoint).netloc
        headers = {"Content-Type": self.content_type, "Host": host, "X-TC-Action": self.action}
        authorization = tc3_authorization(secret_id=s.tencent_secret_id, secret_key=s.tencent_secret_key,
                                          service=self.service, timestamp=timestamp, payload=body, headers=headers)
        return {**headers, "X-TC-Version": self.version, "X-TC-Timestamp": str(timestamp),
                "X-TC-Region": s.tencent_region, "Authorization": authorization}, body

    def send(self, *, mobile: str, text: str, template: str, values: Mapping[str, str], key: str) -> str:
        headers, body = self.request(mobile=mobile, template=template, values=values, key=key)
        status, raw = _post(self.settings.tencent_endpoint, body, headers, self.settings.timeout)
        answer = _json(raw).get("Response") or {}
        error = answer.get("Error") if isinstance(answer, dict) else None
        results = answer.get("SendStatusSet") if isinstance(answer, dict) else None
        if status == 200 and not error and results and results[0].get("Code") == "Ok":
            return str(results[0].get("SerialNo") or "")
        if error:
            code, message = str(error.get("Code") or ""), str(error.get("Message") or "")
        elif results:
            code, message = str(results[0].get("Code") or ""), str(results[0].get("Message") or "")
        else:
            code, message = "", raw[:200].decode(errors="replace")
        transient = status >= 500 or status == 429 or code.startswith(_TENCENT_TRANSIENT) or "Limit" in code
        raise DeliveryError(f"tencent HTTP {status} {code or '-'}: {message}"[:500], transient=transient)


# --- a generic HTTP gateway and the console --------------------------------------------------------------------


class HttpSms:
    """POST a JSON body made from ZYZ_SMS_HTTP_BODY: the strings {mobile}, {text}, {template}, {key}, {sign}
    inside it are replaced, and a string that is exactly "{params}" becomes the template's parameters."""

    name = "http"

    def __init__(self, settings: SmsSettings):
        self.settings = settings
        self.body = json.loads(settings.http_body)

    def payload(self, *, mobile: str, text: str, template: str, values: Mapping[str, str], key: str) -> Any:
        fills = {"{mobile}": mobile, "{text}": text, "{template}": template, "{key}": reference(key),
                 "{sign}": self.settings.sign_name}

        def fill(node: Any) -> Any:
            if isinstance(node, dict):
                return {k: fill(v) for k, v in node.items()}
            if isinstance(node, list):
                return [fill(v) for v in node]
            if node == "{params}":
                return dict(values)
            if isinstance(node, str):
                for placeholder, value in fills.items():
                    node = node.replace(placeholder, value)
            return node

        return fill(self.body)

    def send(self, *, mobile: str, text: str, template: str, values: Mapping[str, str], key: str) -> str:
        body = json.dumps(self.payload(mobile=mobile, text=text, template=template, values=values, key=key),
                          ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", **self.settings.http_headers}
        status, raw = _post(self.settings.http_url, body, headers, self.settings.timeout)
        if 200 <= status < 300:
            answer = _json(raw)
            return str(answer.get("id") or answer.get("message_id") or answer.get("msgid") or f"http {status}")[:120]
        raise DeliveryError(f"gateway HTTP {status}: {raw[:300].decode(errors='replace')}",
                            transient=status >= 500 or status in (408, 429))


class ConsoleSms:
    """Writes the SMS to the log instead of sending it (development and the demo)."""

    name = "console"

    def __init__(self, settings: SmsSettings):
        self.settings = settings
        self.sent: list[tuple[str, str]] = []

    def send(self, *, mobile: str, text: str, template: str, values: Mapping[str, str], key: str) -> str:
        self.sent.append((mobile, text))
        log.info("SMS to %s: 【%s】%s", mask(mobile), self.settings.sign_name, text)
        return "console"


def build_gateway(settings: SmsSettings) -> SmsGateway:
    """The gateway ZYZ_SMS_PROVIDER names."""
    gateways: dict[str, Callable[[SmsSettings], SmsGateway]] = {
        "aliyun": AliyunSms, "tencent": TencentSms, "http": HttpSms, "console": ConsoleSms}
    return gateways[settings.provider](settings)
