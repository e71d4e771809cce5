"""SMS adapters against a local HTTP server: the exact request, the signature checked against the providers'
documented algorithms (their own published examples, and values computed here step by step from the
documentation); a 5xx and a timeout lead to retries; quiet hours hold an SMS until 07:00."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import quote_plus, urlsplit

import pytest
import time_machine
from sqlmodel import select
from test_notifications_email import orders

from notifications.dispatcher import dispatch
from notifications.errors import DeliveryError
from notifications.settings import NotifySettings, SmsSettings, SmtpSettings
from notifications.sms import (
    AliyunSms,
    HttpSms,
    TencentSms,
    aliyun_signature,
    aliyun_string_to_sign,
    reference,
    tc3_authorization,
)
from workflow.core.calendar import LOCAL_TZ
from workflow.core.db import transaction
from workflow.core.models import AuditEvent, Deadline, OutboxMessage
from workflow.core.sweep import sweep

FIXED = datetime(2026, 11, 27, 2, 0, 5, tzinfo=UTC)
VALUES = {"number": "ZG-2026-0001", "deadline": "整改期限", "due_date": "2027-01-08"}
KEY = "deadline:7:u3:sms"
TEMPLATE_IDS = {"deadline_reminder": "SMS_276550001", "order_issued": "SMS_276550002",
                "deadline_expired": "SMS_276550003", "case_event": "SMS_276550004"}


def settings(**values) -> SmsSettings:
    base = {"sign_name": "阳泉市专业镇", "template_ids": TEMPLATE_IDS, "timeout": 2,
            "aliyun_access_key_id": "LTAI5tTestKeyId", "aliyun_access_key_secret": "TestSecret0123456789",
            "tencent_secret_id": "AKIDtestSecretId0123", "tencent_secret_key": "testSecretKey0123456789",
            "tencent_sdk_app_id": "1400000001"}
    return SmsSettings(**{**base, **values})


# --- Alibaba Cloud ---------------------------------------------------------------------------------------------

# The worked example of Alibaba Cloud's SMS documentation ("HTTP协议及签名", SendSms with AccessKeyId testId and
# secret testSecret, GET), with its published string to sign and signature.
ALIYUN_DOC_PARAMS = {
    "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123", "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用", "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466", "SignatureVersion": "1.0",
    "TemplateCode": "SMS_71390007", "TemplateParam": '{"customer":"test"}', "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25"}
ALIYUN_DOC_STRING_TO_SIGN = (
    "GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123%26PhoneNumbers%3D15300000001"
    "%26RegionId%3Dcn-hangzhou%26SignName%3D%25E9%2598%25BF%25E9%2587%258C%25E4%25BA%2591%25E7%259F%25AD%25E4"
    "%25BF%25A1%25E6%25B5%258B%25E8%25AF%2595%25E4%25B8%2593%25E7%2594%25A8%26SignatureMethod%3DHMAC-SHA1"
    "%26SignatureNonce%3D45e25e9b-0a6f-4070-8c85-2956eda1b466%26SignatureVersion%3D1.0%26TemplateCode"
    "%3DSMS_71390007%26TemplateParam%3D%257B%2522customer%2522%253A%2522test%2522%257D%26Timestamp"
    "%3D2017-07-12T02%253A42%253A19Z%26Version%3D2017-05-25")


def test_aliyun_signature_reproduces_the_documented_example():
    assert aliyun_string_to_sign(ALIYUN_DOC_PARAMS, "GET") == ALIYUN_DOC_STRING_TO_SIGN
    assert aliyun_signature(ALIYUN_DOC_PARAMS, "testSecret", "GET") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def documented_aliyun_signature(params: dict, secret: str, method: str) -> str:
    """The documented steps, written out again: URL-encode (form encoding, then '+' -> %20, '*' -> %2A,
    %7E -> '~'), sort by name, join with & and =, sign METHOD&%2F&encode(query) with HMAC-SHA1 under
    secret + '&', Base64."""
    def encode(value: str) -> str:
        return quote_plus(value, encoding="utf-8").replace("+", "%20").replace("*", "%2A").replace("%7E", "~")

    query = "&".join(f"{encode(k)}={encode(v)}" for k, v in sorted(params.items()) if k != "Signature")
    to_sign = f"{method}&{encode('/')}&{encode(query)}"
    return base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


def test_aliyun_sendsms_request_is_exact_and_signed(httpserver):
    httpserver.expect_oneshot_request("/", method="POST").respond_with_json(
        {"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "F655A8D5-B967-440B"})
    gateway = AliyunSms(settings(aliyun_endpoint=httpserver.url_for("/")), clock=lambda: FIXED,
                        nonce=lambda: "c6a3b0d2-8f1e-4d59-9a7e-3f2b1c0d4e5f")
    assert gateway.send(mobile="13800138000", text="(not sent)", template="deadline_reminder", values=VALUES,
                        key=KEY) == "900619746936498440^0"
    (request, _), = httpserver.log
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded; charset=utf-8"
    form = request.form.to_dict()
    signature = form.pop("Signature")
    assert form == {
        "AccessKeyId": "LTAI5tTestKeyId", "Action": "SendSms", "Format": "JSON", "OutId": reference(KEY),
        "PhoneNumbers": "13800138000", "RegionId": "cn-hangzhou", "SignName": "阳泉市专业镇",
        "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "c6a3b0d2-8f1e-4d59-9a7e-3f2b1c0d4e5f",
        "SignatureVersion": "1.0", "TemplateCode": "SMS_276550001",
        "TemplateParam": '{"number":"ZG-2026-0001","deadline":"整改期限","due_date":"2027-01-08"}',
        "Timestamp": "2026-11-27T02:00:05Z", "Version": "2017-05-25"}
    assert signature == documented_aliyun_signature(form, "TestSecret0123456789", "POST")
    assert json.loads(form["TemplateParam"]) == VALUES


@pytest.mark.parametrize("status, answer, transient", [
    (200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"}, False),
    (200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "业务限流"}, True),
    (400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"}, False),
    (500, {"Code": "InternalError", "Message": "The request processing has failed"}, True),
    (503, {}, True)])
def test_aliyun_errors(httpserver, status, answer, transient):
    httpserver.expect_oneshot_request("/").respond_with_json(answer, status=status)
    gateway = AliyunSms(settings(aliyun_endpoint=httpserver.url_for("/")))
    with pytest.raises(DeliveryError) as failed:
        gateway.send(mobile="13800138000", text="", template="deadline_reminder", values=VALUES, key=KEY)
    assert failed.value.transient is transient
    assert str(failed.value).startswith(f"aliyun HTTP {status}")


# --- Tencent Cloud ---------------------------------------------------------------------------------------------


def test_tc3_signature_reproduces_the_documented_example():
    # Tencent Cloud API 3.0 "Signature v3" worked example (CVM DescribeInstances, timestamp 1551113065).
    payload = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    assert hashlib.sha256(payload).hexdigest() == "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    authorization = tc3_authorization(
        secret_id="AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", secret_key="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        service="cvm", timestamp=1551113065, payload=payload,
        headers={"Content-Type": "application/json; charset=utf-8", "Host": "cvm.tencentcloudapi.com"})
    assert authorization == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168")


def documented_tc3(*, secret_id, secret_key, timestamp, host, action, body: bytes) -> str:
    """The documented steps written out: canonical request, string to sign, derived key, signature."""
    canonical_request = ("POST\n/\n\n" f"content-type:application/json; charset=utf-8\nhost:{host}\n"
                         f"x-tc-action:{action.lower()}\n\ncontent-type;host;x-tc-action\n"
                         + hashlib.sha256(body).hexdigest())
    day = datetime.fromtimestamp(timestamp, UTC).date().isoformat()
    string_to_sign = (f"TC3-HMAC-SHA256\n{timestamp}\n{day}/sms/tc3_request\n"
                      + hashlib.sha256(canonical_request.encode()).hexdigest())
    key = hmac.new(("TC3" + secret_key).encode(), day.encode(), hashlib.sha256).digest()
    key = hmac.new(key, b"sms", hashlib.sha256).digest()
    key = hmac.new(key, b"tc3_request", hashlib.sha256).digest()
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return (f"TC3-HMAC-SHA256 Credential={secret_id}/{day}/sms/tc3_request, "
            f"SignedHeaders=content-type;host;x-tc-action, Signature={signature}")


def test_tencent_sendsms_request_is_exact_and_signed(httpserver):
    httpserver.expect_oneshot_request("/", method="POST").respond_with_json({"Response": {
        "SendStatusSet": [{"SerialNo": "5000:1045710669157053657849499619", "PhoneNumber": "+8613800138000",
                           "Fee": 1, "SessionContext": reference(KEY), "Code": "Ok", "Message": "send success",
                           "IsoCode": "CN"}], "RequestId": "a0aabda6-cf91-4f3e-a81f-9198114a2279"}})
    gateway = TencentSms(settings(tencent_endpoint=httpserver.url_for("/"),
                                  template_ids={"deadline_reminder": "1234567"}), clock=lambda: FIXED)
    assert gateway.send(mobile="13800138000", text="", template="deadline_reminder", values=VALUES,
                        key=KEY) == "5000:1045710669157053657849499619"
    (request, _), = httpserver.log
    host = urlsplit(httpserver.url_for("/")).netloc
    timestamp = int(FIXED.timestamp())
    headers = {k: request.headers[k] for k in ("Content-Type", "Host", "X-TC-Action", "X-TC-Version", "X-TC-Region",
                                               "X-TC-Timestamp")}
    assert headers == {"Content-Type": "application/json; charset=utf-8", "Host": host, "X-TC-Action": "SendSms",
                       "X-TC-Version": "2021-01-11", "X-TC-Region": "ap-guangzhou", "X-TC-Timestamp": str(timestamp)}
    body = request.get_data()
    assert json.loads(body) == {"PhoneNumberSet": ["+8613800138000"], "SmsSdkAppId": "1400000001",
                                "SignName": "阳泉市专业镇", "TemplateId": "1234567",
                                "TemplateParamSet": ["ZG-2026-0001", "整改期限", "2027-01-08"],
                                "SessionContext": reference(KEY)}
    assert request.headers["Authorization"] == documented_tc3(
        secret_id="AKIDtestSecretId0123", secret_key="testSecretKey0123456789", timestamp=timestamp, host=host,
        action="SendSms", body=body)


@pytest.mark.parametrize("status, answer, transient", [
    (200, {"Response": {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "签名错误"}}}, False),
    (200, {"Response": {"SendStatusSet": [{"Code": "InvalidParameterValue.IncorrectPhoneNumber",
                                           "Message": "手机号格式错误"}]}}, False),
    (200, {"Response": {"SendStatusSet": [{"Code": "LimitExceeded.PhoneNumberThirtySecondLimit",
                                           "Message": "30秒内发送短信超过上限"}]}}, True),
    (200, {"Response": {"Error": {"Code": "InternalError.Timeout", "Message": "超时"}}}, True),
    (502, {}, True)])
def test_tencent_errors(httpserver, status, answer, transient):
    httpserver.expect_oneshot_request("/").respond_with_json(answer, status=status)
    gateway = TencentSms(settings(tencent_endpoint=httpserver.url_for("/")))
    with pytest.raises(DeliveryError) as failed:
        gateway.send(mobile="13800138000", text="", template="deadline_reminder", values=VALUES, key=KEY)
    assert failed.value.transient is transient


# --- the generic gateway ---------------------------------------------------------------------------------------


def test_http_gateway_fills_its_json_body_template(httpserver):
    httpserver.expect_oneshot_request("/sms/send", method="POST").respond_with_json({"id": "msg-77"})
    gateway = HttpSms(settings(http_url=httpserver.url_for("/sms/send"), http_headers={"X-Api-Key": "k-123"},
                               http_body='{"to": ["{mobile}"], "content": "【{sign}】{text}", "ref": "{key}", '
                                         '"template": "{template}", "vars": "{params}", "channel": 1}'))
    assert gateway.send(mobile="13800138000", text="ZG-2026-0001整改期限今天到期（2027-01-08）", key=KEY,
                        template="deadline_reminder", values=VALUES) == "msg-77"
    (request, _), = httpserver.log
    assert request.headers["X-Api-Key"] == "k-123"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.get_json() == {"to": ["13800138000"],
                                  "content": "【阳泉市专业镇】ZG-2026-0001整改期限今天到期（2027-01-08）",
                                  "ref": reference(KEY), "template": "deadline_reminder", "vars": VALUES, "channel": 1}


# --- retries through the dispatcher ----------------------------------------------------------------------------


@pytest.fixture
def silent_server():
    """A port that accepts connections and never answers: the client's read times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    listener.close()


def notify_settings(sms: SmsSettings) -> NotifySettings:
    return NotifySettings(smtp=SmtpSettings(host=""), sms=sms)  # e-mail to the log: only the SMS count here


def sms_rows(db):
    with transaction(db) as s:
        return s.exec(select(OutboxMessage).where(OutboxMessage.channel == "sms").order_by(OutboxMessage.id)).all()


OK_ANSWERS = {
    "aliyun": {"Code": "OK", "Message": "OK", "BizId": "1^0"},
    "tencent": {"Response": {"SendStatusSet": [{"Code": "Ok", "SerialNo": "2:1"}], "RequestId": "r"}},
    "http": {"id": "g-1"},
}


def provider_settings(provider: str, url: str, timeout: float = 2) -> SmsSettings:
    endpoint = {"aliyun": "aliyun_endpoint", "tencent": "tencent_endpoint", "http": "http_url"}[provider]
    return settings(provider=provider, timeout=timeout, **{endpoint: url})


@pytest.mark.parametrize("provider", ["aliyun", "tencent", "http"])
def test_a_5xx_is_retried_later_and_then_sent(make, db, now, httpserver, provider):
    orders(make)  # a new order: its announcement goes out by SMS
    httpserver.expect_ordered_request("/").respond_with_data("upstream busy", status=503)
    httpserver.expect_ordered_request("/").respond_with_json(OK_ANSWERS[provider])
    config = notify_settings(provider_settings(provider, httpserver.url_for("/")))
    first = dispatch(db, now=now, settings=config)
    (row,) = sms_rows(db)
    assert (first.retrying, row.status, row.attempts, row.error_kind) == (1, "queued", 1, "transient")
    assert "503" in row.last_error and row.next_attempt_at == now + timedelta(seconds=30)
    second = dispatch(db, now=now + timedelta(seconds=30), settings=config)
    (row,) = sms_rows(db)
    assert (second.sent, row.status, row.attempts, row.address) == (1, "sent", 2, "13700000000")
    assert row.provider_ref in ("1^0", "2:1", "g-1")
    assert len(httpserver.log) == 2


@pytest.mark.parametrize("provider", ["aliyun", "tencent", "http"])
def test_a_timeout_is_retried_with_backoff_and_fails_after_the_last_try(make, db, now, silent_server, provider):
    orders(make)
    config = NotifySettings(smtp=SmtpSettings(host=""), sms=provider_settings(provider, silent_server, timeout=0.2),
                            max_attempts=3)
    moments = [now, now + timedelta(seconds=30), now + timedelta(seconds=90)]
    for attempt, at in enumerate(moments, start=1):
        dispatch(db, now=at, settings=config)
        (row,) = sms_rows(db)
        assert row.attempts == attempt and "timed out" in row.last_error
    assert (row.status, row.error_kind) == ("failed", "transient")  # three tries: failed, shown to the office
    with transaction(db) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.kind == "notification_failed")).one()
    assert json.loads(event.data)["attempts"] == 3 and "timed out" in json.loads(event.data)["error"]


def test_a_refusal_for_good_is_not_retried(make, db, now, httpserver):
    orders(make)
    httpserver.expect_oneshot_request("/").respond_with_json({"Code": "isv.MOBILE_NUMBER_ILLEGAL",
                                                              "Message": "非法手机号"})
    result = dispatch(db, now=now, settings=notify_settings(provider_settings("aliyun", httpserver.url_for("/"))))
    (row,) = sms_rows(db)
    assert (result.failed, row.status, row.error_kind, row.attempts) == (1, "failed", "permanent", 1)
    assert row.last_error == "aliyun HTTP 200 isv.MOBILE_NUMBER_ILLEGAL: 非法手机号"


def test_a_missing_template_id_fails_with_a_clear_error(make, db, now, httpserver):
    orders(make)
    config = notify_settings(settings(provider="aliyun", aliyun_endpoint=httpserver.url_for("/"), template_ids={}))
    dispatch(db, now=now, settings=config)
    (row,) = sms_rows(db)
    assert row.status == "failed" and "ZYZ_SMS_TEMPLATE_IDS" in row.last_error
    assert httpserver.log == []


# --- quiet hours, with the clock moved and the scheduler's own job ---------------------------------------------


def test_quiet_hours_hold_an_sms_until_seven(app, make, db, httpserver):
    from webapp.cli import _scheduler

    _, (county,), (order,) = orders(make)
    with transaction(db) as s:
        open_rows = s.exec(select(Deadline).where(Deadline.case_id == order.id, Deadline.status == "open")
                           .order_by(Deadline.due_at)).all()
    *reminders, expiry = open_rows
    httpserver.expect_request("/sms").respond_with_json({"id": "ok"})
    app.config.update(SMS_PROVIDER="http", SMS_HTTP_URL=httpserver.url_for("/sms"), SMTP_HOST="")
    scheduler = _scheduler(app, background=True)
    send = scheduler.get_job("notification-dispatch").func
    day_after = date.fromisoformat(order.data["due_date"]) + timedelta(days=1)

    def at(hour, minute=0, second=0):
        return datetime.combine(day_after, time(hour, minute, second), tzinfo=LOCAL_TZ)

    for reminder in reminders:  # 09:00 on working days: reminders go at once
        with time_machine.travel(reminder.due_at, tick=False):
            sweep(db, now=datetime.now(UTC))
            send()
    assert len(httpserver.log) == 5  # the order's announcement and four reminders
    with time_machine.travel(expiry.due_at, tick=False):  # midnight: the order is overdue
        sweep(db, now=datetime.now(UTC))
    for moment in (at(0, 0, 30), at(3), at(6, 59, 59)):
        with time_machine.travel(moment, tick=False):
            send()
        assert len(httpserver.log) == 5, moment
    (held,) = [r for r in sms_rows(db) if r.user_id == county.id and r.status != "sent"]
    assert (held.rule, held.status, held.next_attempt_at) == ("rectify_overdue", "queued", at(7).astimezone(UTC))
    with time_machine.travel(at(7), tick=False):
        send()
    assert len(httpserver.log) == 6
    request = httpserver.log[-1][0].get_json()
    due = order.data["due_date"]
    assert request == {"mobile": county.mobile,
                       "text": f"{order.number}整改期限已于{due}届满，案件已转为“逾期未整改”，请登录系统处理。"}
    with transaction(db) as s:
        row = s.get(OutboxMessage, held.id)
    assert (row.status, row.sent_at) == ("sent", at(7).astimezone(UTC))
