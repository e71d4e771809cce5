"""Two-step verification in Chromium: the QR code is drawn by the page itself (the Content-Security-Policy lets the
data: image through, and no request goes anywhere but the application), the app's code turns it on, and the next
login asks for a code after the password; new recovery codes are made only once the confirmation is accepted."""

import re
from datetime import UTC, datetime

import pyotp
import pytest
from sqlmodel import select

from conftest import PASSWORD
from workflow.core.db import transaction
from workflow.core.models import AuditEvent

pytestmark = pytest.mark.browser


def test_an_office_user_sets_up_two_step_verification_and_logs_in_with_a_recovery_code(make, live_server, page):
    make.user("office", username="gx_office")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server}/login")
    page.fill("#username", "gx_office")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server}/inbox")

    page.get_by_role("link", name="两步验证").click()
    page.get_by_role("button", name="设置两步验证").click()
    qr = page.locator("img.qr")
    qr.wait_for()
    assert qr.evaluate("image => image.complete && image.naturalWidth") > 0  # drawn, not blocked by the CSP
    secret = page.locator("code.secret").inner_text()
    page.fill("#code", pyotp.TOTP(secret).at(datetime.now(UTC)))
    page.get_by_role("button", name="启用两步验证").click()
    assert page.locator("h1").inner_text() == "两步验证已启用"
    codes = page.locator("ul.recovery-codes code").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", c) for c in codes)

    page.get_by_role("button", name="退出").click()
    page.fill("#username", "gx_office")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(rf"{re.escape(live_server)}/login/code"))
    assert page.locator("h1").inner_text() == "两步验证"
    page.fill("#code", codes[0])
    page.get_by_role("button", name="验证").click()
    page.wait_for_url(f"{live_server}/inbox")
    assert "您已使用恢复码登录，还剩 9 个。" in page.locator(".flash").all_inner_texts()[0]
    assert requested and all(url.startswith(live_server) for url in requested)  # nothing left the network


def test_new_recovery_codes_are_made_only_once_the_dialog_is_accepted(make, db, live_server, page):
    make.user("office", username="gx_office")
    page.goto(f"{live_server}/login")
    page.fill("#username", "gx_office")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server}/inbox")
    page.goto(f"{live_server}/account/two-step")
    page.get_by_role("button", name="设置两步验证").click()
    secret = page.locator("code.secret").inner_text()
    page.fill("#code", pyotp.TOTP(secret).at(datetime.now(UTC)))
    page.get_by_role("button", name="启用两步验证").click()
    first = page.locator("ul.recovery-codes code").all_inner_texts()

    page.goto(f"{live_server}/account/two-step")
    assert "剩余恢复码：10 个。" in page.locator("section").inner_text()
    page.fill("#regenerate-password", PASSWORD)
    asked: list[str] = []

    def answer(dialog, accept: bool) -> None:
        asked.append(dialog.message)
        if accept:
            dialog.accept()
        else:
            dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, False))
    page.get_by_role("button", name="重新生成恢复码").click()
    assert asked == ["确定重新生成十个恢复码？原有恢复码（包括抄写或打印在纸上的）将立即全部失效。"]
    assert page.input_value("#regenerate-password") == PASSWORD  # dismissed: still the same page

    page.once("dialog", lambda dialog: answer(dialog, True))
    page.get_by_role("button", name="重新生成恢复码").click()
    page.wait_for_url(f"{live_server}/account/two-step/recovery-codes")
    assert page.locator("h1").inner_text() == "新的恢复码"
    codes = page.locator("ul.recovery-codes code").all_inner_texts()
    assert len(codes) == 10 and not set(codes) & set(first)
    with transaction(db) as s:  # one replacement: the dismissed dialog sent nothing
        assert len(s.exec(select(AuditEvent).where(AuditEvent.kind == "recovery_codes_regenerated")).all()) == 1
