"""Login codes by SMS: handed to the notification SMS gateway (ZYZ_SMS_PROVIDER) once the transaction that stored
the code's hash has committed."""

from __future__ import annotations

from flask import current_app, flash
from flask_babel import gettext as _

from notifications.errors import DeliveryError
from notifications.settings import NotifySettings
from notifications.sms import build_gateway, mask
from workflow.accounts.second_factor import SMS_CODE_LIFETIME, SmsCode


def send_sms_code(sms: SmsCode | None) -> bool:
    """Hand a login code to the SMS gateway (ZYZ_SMS_PROVIDER; a registered template `login_code` with the
    parameter `code` for the clouds); False when it could not be sent. Nothing to send is a success."""
    if sms is None:
        return True
    zyz = current_app.extensions["zyz"]
    if zyz.get("sms_gateway") is None:
        zyz["sms_gateway"] = build_gateway(NotifySettings.from_mapping(current_app.config).sms)
    minutes = int(SMS_CODE_LIFETIME.total_seconds()) // 60
    text = f"您的登录验证码为{sms.code}，{minutes}分钟内有效。如非本人操作，请忽略本短信并尽快修改密码。"
    try:
        zyz["sms_gateway"].send(mobile=sms.mobile, text=text, template="login_code", values={"code": sms.code},
                                key=f"login-code:{sms.user_id}:{sms.expires_at.isoformat()}")
    except DeliveryError as exc:
        current_app.logger.warning("the login code for user %s could not be sent by SMS: %s", sms.user_id, exc)
        return False
    return True


def flash_sent(sms: SmsCode | None, sent: bool) -> None:
    if not sent:
        flash(_("The SMS could not be sent. Send it again in a minute, or use a recovery code."), "error")
    elif sms is not None:
        flash(_("A code was sent by SMS to %(mobile)s; it works for %(minutes)s minutes.", mobile=mask(sms.mobile),
                minutes=int(SMS_CODE_LIFETIME.total_seconds()) // 60), "info")
