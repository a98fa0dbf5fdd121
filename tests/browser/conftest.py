"""The real app (JSON API and web pages) served on 127.0.0.1, driven by Debian's headless Chromium
through Playwright (never a downloaded browser). Under CI a missing browser fails the run; on a
laptop without it these tests are skipped with the reason."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # the test extras are not installed
    sync_playwright = None

from router.server import application
from tests.builders import ROOT

CHROMIUM = os.environ.get("ROUTER_TEST_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "tests" / "browser" / "vendor" / "axe-core-4.14.1" / "axe.min.js"
SHOTS = ROOT / "var" / "screenshots"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORDS = {"clerk": "clerk-pass-1", "supervisor": "super-pass-1", "grid": "grid-pass-1"}


def _no_browser(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests need Debian's chromium under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        _no_browser(f"{CHROMIUM} not found (apt-get install chromium chromium-driver fonts-noto-cjk)")
    if sync_playwright is None:
        _no_browser("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
                              args=ARGS)
        yield b
        b.close()


@pytest.fixture
def site(svc, live_server) -> Iterator[str]:
    """The composed app on the shared test server; users `clerk-web` and `supervisor-web` with passwords."""
    base, dispatcher = live_server
    dispatcher.app = application(svc)
    for role, password in PASSWORDS.items():
        svc.add_user(f"{role}-web", role, password)
    yield base
    dispatcher.app = None


@pytest.fixture
def page(browser) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    p = context.new_page()
    p.set_default_timeout(10_000)
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.js_errors = errors
    yield p
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def sign_in(page: Any, base: str, role: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(f"{role}-web")
    page.get_by_label("密码").fill(PASSWORDS[role])
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()


def screenshot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def accessible(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]
