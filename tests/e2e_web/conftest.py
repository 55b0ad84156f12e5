"""Browser journeys: Debian's ``chromium`` driven by Playwright against ``evidence serve``.

Chromium is found at ``EVIDENCE_CHROMIUM`` or ``/usr/bin/chromium`` (``make system-deps``
installs it). Without it (or without the ``playwright`` package) the tests are skipped with
the reason, except under ``CI=true``, where that is a failure. Playwright launches the
existing browser; it never downloads one.
"""

from __future__ import annotations

import io
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.live import LiveServer

IN_CI = os.environ.get("CI", "").lower() == "true"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# what this machine's headless Chromium needs (Playwright adds --headless and its own fresh
# --user-data-dir for the persistent context we ask for)
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]



def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing browser is a failure, not a skip)")
    pytest.skip(reason)


@pytest.fixture(scope="package")
def chromium_path() -> str:
    path = os.environ.get("EVIDENCE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        _unavailable("browser tests need Debian's chromium (make system-deps installs it)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("browser tests need the playwright package (pip install -e '.[test]')")
    return path


@pytest.fixture(scope="package")
def playwright_driver(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory, chromium_path: str) -> Iterator[LiveServer]:
    """One service (embedded chain, fast anchoring) for every journey (started only once the
    browser is known to be there)."""
    live = LiveServer(var_dir=tmp_path_factory.mktemp("web") / "var",
                      env={"EVIDENCE_ANCHOR_INTERVAL": "0.3",
                           "EVIDENCE_LEDGER__KEYSTORE_SCRYPT_N": "1024"})
    live.start(timeout=120)
    yield live
    live.stop()
    errors = [line for line in live.log_tail(10**7).splitlines() if " ERROR " in line]
    assert not errors, "the service logged errors:\n" + "\n".join(errors[:5])


@pytest.fixture
def browser(playwright_driver: Any, chromium_path: str,
            tmp_path: Path) -> Callable[[], Any]:
    """A factory of fresh browsers (each its own profile directory); closed after the test.

    Any uncaught script error, or a console error (a Content-Security-Policy refusal, a
    missing asset, an API error) other than the network cuts the journeys make on purpose,
    fails the test."""
    opened: list[Any] = []
    problems: list[str] = []

    def watch(page: Any) -> None:
        page.on("pageerror", lambda exc: problems.append(f"{page.url}: {exc}"))
        page.on("console", lambda msg: problems.append(f"{page.url}: {msg.text}")
                if msg.type == "error" and "net::ERR_INTERNET_DISCONNECTED" not in msg.text
                else None)

    def launch() -> Any:
        profile = tmp_path / f"profile-{len(opened)}"
        context = playwright_driver.chromium.launch_persistent_context(
            str(profile), executable_path=chromium_path, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 860}, locale="zh-CN", accept_downloads=True)
        context.set_default_timeout(20_000)
        context.on("page", watch)
        for page in context.pages:
            watch(page)
        opened.append(context)
        return context

    yield launch
    for context in opened:
        context.close()
    assert not problems, "the pages reported errors:\n" + "\n".join(problems[:10])


def login(page: Any, server: LiveServer, username: str) -> None:
    """Sign in through the login page, as a user would."""
    page.goto(server.url + "/ui/login")
    page.fill("#username", username)
    page.fill("#password", server.credentials()[username])
    page.press("#password", "Enter")
    page.wait_for_url(server.url + "/ui/")
    page.wait_for_selector("#me dd")


def wait_for(page: Any, selector: str, **kwargs: Any) -> None:
    """Wait for ``selector``; fail at once with the page's error message if one shows."""
    page.wait_for_selector(f"{selector}, #error:not([hidden])", **kwargs)
    error = page.locator("#error:not([hidden])")
    if error.count():
        raise AssertionError(f"the page reported: {error.text_content()}")


def shot(page: Any, name: str, *, full_page: bool = True) -> None:
    """Screenshot the page; with ``UPDATE_SCREENSHOTS=1`` keep it for the README
    (docs/screenshots/NAME.png, reduced to 256 colours so it stays small)."""
    png = page.screenshot(full_page=full_page)
    assert png.startswith(b"\x89PNG")
    if os.environ.get("UPDATE_SCREENSHOTS") != "1":
        return
    from PIL import Image

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256)
    image.save(SCREENSHOTS / f"{name}.png", optimize=True)


def auth(server: LiveServer, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token(username)}"}


def api_upload(server: LiveServer, headers: dict[str, str], case_id: str, name: str,
               data: bytes, kind: str = "electronic_data",
               filetype: str = "application/octet-stream") -> str:
    """Upload through the tus API directly (for journeys that start from stored evidence)."""
    import base64

    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in {
        "case_id": case_id, "filename": name, "kind": kind, "filetype": filetype}.items())
    tus = {**headers, "Tus-Resumable": "1.0.0"}
    created = requests.post(server.url + "/uploads", timeout=10, headers={
        **tus, "Upload-Length": str(len(data)), "Upload-Metadata": meta})
    created.raise_for_status()
    requests.patch(server.url + created.headers["Location"], data=data, timeout=30, headers={
        **tus, "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream"}).raise_for_status()
    return created.headers["Evidence-Item-Id"]


def wait_anchored(server: LiveServer, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        head = requests.get(server.url + "/log/head", timeout=5).json()
        if head["anchored"] and head["anchored"]["tree_size"] == head["log_size"]:
            return
        time.sleep(0.2)
    raise AssertionError(f"log not anchored within {timeout} s")


def new_case(server: LiveServer, headers: dict[str, str], number: str, title: str) -> str:
    r = requests.post(server.url + "/cases", json={"case_number": number, "title": title},
                      headers=headers, timeout=10)
    r.raise_for_status()
    return str(r.json()["id"])
