"""What the browser tests share: logging in through the login page as a person does, and the screenshots at
1366 px and at a phone's 390 px kept under test-artifacts/ (part of the test's artifacts, pass or fail)."""

from __future__ import annotations

from conftest import ARTIFACTS, PASSWORD

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"
# the elements sticking out of the window, named for the failure message of a page wider than the window
WIDEST = ("Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > "
          "window.innerWidth + 1).slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id + ':' + "
          "Math.round(e.getBoundingClientRect().right))")


def log_in(page, base: str, username: str, *, landing: str = "/inbox") -> None:
    """Log in on the login page of `page`'s browser context; the user lands on `landing` (their inbox)."""
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}{landing}")


def open_as(browser, base: str, username: str, width: int = 1366, *, landing: str = "/inbox"):
    """A browser context of its own (Chinese, `width` px wide) with `username` logged in: (context, page)."""
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in(page, base, username, landing=landing)
    return context, page


def shots(page, name: str, *, fits: bool = False) -> None:
    """Screenshots of the whole page at 1366 and 390 px; with `fits`, the page must not be wider than the window
    at either width."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        if fits:
            assert page.evaluate(NO_SIDEWAYS_SCROLL), (name, width, page.evaluate(WIDEST))
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


def keep_files_being_written(monkeypatch) -> None:
    """For a test that runs the real scheduler while it moves the clock days ahead: the file sweep's grace period
    made longer than any such move. Files are stamped by the real clock and the sweep reads time.time(), which the
    test moves, so a file being written as the sweep runs would look days old and be removed under its writer."""
    from workflow.core.settings import settings

    monkeypatch.setattr(settings, "file_grace_hours", 24 * 3650)
