"""One journey per user, in headless Chromium against the real service (embedded chain).

* an officer uploads two files through the upload page: one survives a dropped request,
  the other a page reload in the middle of the upload, and continues from the server's offset;
* a reviewer sees items anchored on the integrity dashboard, then ``mismatch`` and an alert
  after a stored byte is flipped and the item is re-verified;
* a department sends a case with one click and the receiver verifies and accepts it;
* a court verifies a file in the public portal; the SHA-256 and SM3 the browser computed are
  checked here, and the file's bytes never leave the browser.
"""

from __future__ import annotations

import hashlib
import os
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from evidence_service.adapters.storage import FilesystemObjectStore
from evidence_service.domain.hashing import hash_stream
from evidence_service.domain.rules import content_key
from tests.e2e_web.conftest import (
    api_upload,
    auth,
    login,
    new_case,
    shot,
    wait_anchored,
    wait_for,
)
from tests.support.live import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.ledger, pytest.mark.slow]
CHUNK = 256 * 1024


def _pump_until(page: Any, condition: Callable[[], bool], timeout: float = 15) -> None:
    """Let the browser run (and route handlers fire) until ``condition`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        page.wait_for_timeout(50)


def test_officer_uploads_two_files_one_resumed_after_reload(
        server: LiveServer, browser: Callable[[], Any], tmp_path: Path) -> None:
    first, second = tmp_path / "现场照片.jpg", tmp_path / "shift-0920.mp4"
    first.write_bytes(os.urandom(4 * CHUNK + 1234))
    second.write_bytes(os.urandom(8 * CHUNK + 77))
    page = browser().new_page()
    choosers: list[Any] = []
    page.on("filechooser", lambda chooser: choosers.append(chooser))  # intercept dialogs
    login(page, server, "enf-officer")
    shot(page, "home")

    page.click("#new-case summary")
    page.fill("#case_number", "ENF-WEB-001")
    page.fill("#case_title", "占道经营")
    page.fill("#party", "某餐饮店")
    page.press("#party", "Enter")
    page.wait_for_url("**/ui/cases/*")
    case_id = page.url.rsplit("/", 1)[1]

    page.goto(f"{server.url}/ui/upload?case={case_id}&chunk={CHUNK}")
    page.wait_for_selector(f"#case option[value='{case_id}']", state="attached")
    page.select_option("#kind", "audio_visual")
    page.fill("#recorder_id", "DSJ-0042")
    page.fill("#badge_number", "310115")
    page.fill("#captured_at", "2026-11-20T09:30:00")
    page.fill("#location", "31.2304,121.4737")
    page.fill("#tag_party", "某餐饮店")
    page.fill("#tag_cause_of_action", "占道经营")

    # file 1: the second PATCH is dropped by the network; tus-js-client retries and resumes
    patches: list[str] = []
    dropped: list[str] = []

    def drop_once(route: Any) -> None:
        if route.request.method == "PATCH":
            patches.append(route.request.headers["upload-offset"])
            if len(patches) == 2 and not dropped:
                dropped.append(route.request.headers["upload-offset"])
                route.abort("internetdisconnected")
                return
        route.continue_()

    page.route("**/uploads/*", drop_once)
    page.focus("#drop")  # the drop zone works from the keyboard too
    page.keyboard.press("Enter")
    _pump_until(page, lambda: bool(choosers))
    choosers[0].set_files(str(first))
    page.wait_for_selector(f"li.upload[data-file='{first.name}'][data-state='done']")
    assert dropped == [str(CHUNK)], patches
    assert patches.count(str(CHUNK)) == 2, patches  # the dropped chunk was sent again
    page.unroute("**/uploads/*")

    # file 2: after 3 chunks the network goes (every later request fails and tus-js-client
    # keeps retrying); the officer reloads the page and chooses the file again: it continues
    # from the server's offset, not from zero
    sent: list[str] = []

    def cut_after_three(route: Any) -> None:
        if route.request.method == "PATCH":
            sent.append(route.request.headers["upload-offset"])
            if len(sent) > 3:
                route.abort("internetdisconnected")
                return
        route.continue_()

    page.route("**/uploads/*", cut_after_three)
    page.set_input_files("#files", str(second))
    _pump_until(page, lambda: len(sent) > 4)  # the cut request and at least one retry
    assert sent[:4] == [str(n * CHUNK) for n in range(4)], sent
    shot(page, "upload")
    page.reload()
    page.unroute_all(behavior="wait")
    page.wait_for_selector(f"#case option[value='{case_id}']", state="attached")

    resumed: list[str] = []
    page.on("request", lambda r: resumed.append(r.headers.get("upload-offset", ""))
            if r.method == "PATCH" else None)
    page.set_input_files("#files", str(second))
    page.wait_for_selector(f"li.upload[data-file='{second.name}'][data-state='done']")
    assert page.get_attribute(f"li.upload[data-file='{second.name}']", "data-resumed") == "true"
    assert resumed[0] == str(3 * CHUNK), resumed
    shot(page, "upload-resumed")

    items = requests.get(f"{server.url}/cases/{case_id}/items", timeout=10,
                         headers=auth(server, "enf-officer")).json()
    by_name = {i["original_filename"]: i for i in items}
    assert sorted(by_name) == sorted([first.name, second.name])  # no duplicate from the resume
    for path in (first, second):
        item = by_name[path.name]
        assert item["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert item["size"] == path.stat().st_size
        assert item["capture"]["recorder_id"] == "DSJ-0042"
        assert item["capture"]["badge_number"] == "310115"
        assert item["capture"]["captured_at"].startswith("2026-11-20T")
        assert item["tags"]["cause_of_action"] == "占道经营"

    page.goto(f"{server.url}/ui/cases/{case_id}")
    page.wait_for_selector("#items tbody tr >> nth=1")
    page.wait_for_selector("#custody li")
    shot(page, "case")


def test_reviewer_sees_anchored_then_mismatch(server: LiveServer, browser: Callable[[], Any]
                                             ) -> None:
    officer = auth(server, "enf-officer")
    case_id = new_case(server, officer, "ENF-WEB-002", "扬尘污染")
    intact = api_upload(server, officer, case_id, "intact.pdf", os.urandom(50_000))
    flipped_data = os.urandom(60_000)
    flipped = api_upload(server, officer, case_id, "flipped.pdf", flipped_data)
    wait_anchored(server)

    page = browser().new_page()
    login(page, server, "enf-reviewer")
    page.goto(server.url + "/ui/dashboard")
    for item_id in (intact, flipped):
        page.wait_for_selector(f"tr[data-item-id='{item_id}'] .badge[data-status='anchored']")
    assert int(page.text_content("#counts dd[data-status='anchored']") or 0) >= 2
    assert page.text_content("#head dd:nth-of-type(3)") not in ("", "—")  # the block
    shot(page, "dashboard")

    # one byte of the stored object changes (root on the storage host, say)
    stored = FilesystemObjectStore(server.var_dir / "objects").object_path(
        content_key(hashlib.sha256(flipped_data).hexdigest()))
    stored.chmod(0o644)
    raw = bytearray(stored.read_bytes())
    raw[1000] ^= 0x01
    stored.write_bytes(bytes(raw))

    page.click(f"tr[data-item-id='{flipped}'] button.reverify")
    page.wait_for_selector(f"tr[data-item-id='{flipped}'] .badge[data-status='mismatch']")
    page.wait_for_selector(f"#alerts li[data-item-id='{flipped}']")
    page.click(f"#cases li[data-case-id='{case_id}'] button.reverify-case")  # the whole case
    page.wait_for_selector(f"tr[data-item-id='{intact}'] .badge[data-status='verified']")
    assert page.locator(f"tr[data-item-id='{flipped}'] .badge").get_attribute(
        "data-status") == "mismatch"
    shot(page, "dashboard-mismatch")

    page.goto(f"{server.url}/ui/items/{flipped}")
    page.wait_for_selector("#item-facts .badge[data-status='mismatch']")
    page.click("#reverify")
    page.wait_for_selector("#reverify-result[data-verdict='mismatch']")
    shot(page, "item")


def test_department_sends_case_and_receiver_accepts(server: LiveServer,
                                                   browser: Callable[[], Any]) -> None:
    officer = auth(server, "enf-officer")
    case_id = new_case(server, officer, "ENF-WEB-003", "违法建设")
    items = [api_upload(server, officer, case_id, f"photo-{n}.jpg", os.urandom(20_000 + n))
             for n in range(2)]
    wait_anchored(server)

    sender = browser().new_page()
    login(sender, server, "enf-officer")
    sender.goto(f"{server.url}/ui/cases/{case_id}")
    sender.wait_for_selector("#send-to option[value='PEN']", state="attached")
    sender.select_option("#send-to", "PEN")
    sender.click("#send-form button[type='submit']")
    sender.wait_for_selector("#send-result[data-transfer-id]")
    transfer_id = sender.get_attribute("#send-result", "data-transfer-id")
    assert "0x" in (sender.text_content("#send-result") or "")
    sender.wait_for_selector("#custody li[data-kind='transfer_sent']")
    shot(sender, "case-sent")

    receiver = browser().new_page()
    login(receiver, server, "pen-admin")
    receiver.goto(server.url + "/ui/transfers")
    card = f"article[data-transfer-id='{transfer_id}']"
    receiver.wait_for_selector(f"{card}[data-status='open']")
    receiver.click(f"{card} button.verify")
    receiver.wait_for_selector(f"{card}[data-verified='true']")
    assert receiver.locator(f"{card} ul.checks li[data-ok='true']").count() == len(items)
    shot(receiver, "transfers-verify")
    receiver.click(f"{card} button.accept")
    receiver.wait_for_selector(f"{card}[data-status='accepted']")

    transfer = requests.get(f"{server.url}/transfers/{transfer_id}", timeout=10,
                            headers=auth(server, "pen-admin")).json()
    assert transfer["status"] == "accepted"
    text = receiver.text_content(card) or ""
    assert transfer["opened"]["tx_hash"] in text and transfer["decided"]["tx_hash"] in text
    shot(receiver, "transfers")

    # a second case is refused, with a reason (whose hash goes on-chain)
    other = new_case(server, officer, "ENF-WEB-006", "无关材料")
    api_upload(server, officer, other, "misc.pdf", os.urandom(10_000))
    wait_anchored(server)
    sent = requests.post(f"{server.url}/cases/{other}/transfers", headers=officer, timeout=30,
                         json={"to_department": "PEN"})
    assert sent.status_code == 201, sent.text
    refused = f"article[data-transfer-id='{sent.json()['id']}']"
    receiver.reload()
    receiver.wait_for_selector(f"{refused}[data-status='open']")
    receiver.click(f"{refused} button.reject")  # no reason yet: the form refuses
    assert receiver.get_attribute(refused, "data-status") == "open"
    receiver.fill(f"{refused} input", "与本案无关")
    receiver.click(f"{refused} button.reject")
    wait_for(receiver, f"{refused}[data-status='rejected']")
    assert "与本案无关" in (receiver.text_content(refused) or "")


def test_court_verifies_a_file_hashed_in_the_browser(server: LiveServer,
                                                     browser: Callable[[], Any],
                                                     tmp_path: Path) -> None:
    officer = auth(server, "enf-officer")
    case_id = new_case(server, officer, "ENF-WEB-004", "噪声扰民")
    evidence = tmp_path / "recorder-clip.mp4"
    evidence.write_bytes(os.urandom(3 * 1024 * 1024 + 11))  # several 8 MiB-or-less chunks
    api_upload(server, officer, case_id, evidence.name, evidence.read_bytes())
    api_upload(server, officer, case_id, "notes.txt", "现场检查笔录".encode())
    wait_anchored(server)
    sha256, sm3, _ = hash_stream([evidence.read_bytes()])

    page = browser().new_page()
    requests_seen: list[tuple[str, str, int]] = []
    page.on("request", lambda r: requests_seen.append((r.method, r.url, len(r.post_data_buffer
                                                                              or b""))))
    page.goto(server.url + "/ui/verify")
    page.set_input_files("#file", str(evidence))
    page.wait_for_selector("#result[data-verdict]")
    assert page.get_attribute("#result", "data-verdict") == "verified"
    assert page.text_content("#sha256") == sha256.value
    assert page.text_content("#sm3") == sm3.value
    expected = requests.get(f"{server.url}/verify/{sha256.value}", timeout=5).json()
    facts = page.text_content("#facts") or ""
    assert expected["anchor"]["tx_hash"] in facts
    assert str(expected["anchor"]["block_number"]) in facts
    assert page.locator("#proof li").count() == len(expected["inclusion_proof"])
    # only the digest left the browser: no request carried a body
    assert all(size == 0 for _, _, size in requests_seen), requests_seen
    assert any(url.endswith(f"/verify/{sha256.value}") for _, url, _ in requests_seen)
    shot(page, "verify")
    page.emulate_media(media="print")
    assert page.locator("header.top").is_hidden()
    page.emulate_media(media="screen")

    unknown = tmp_path / "not-registered.txt"
    unknown.write_bytes(b"never uploaded")
    page.set_input_files("#file", str(unknown))
    page.wait_for_selector("#result[data-verdict='unknown']")

    # a case package: checked by the reference verifier behind POST /verify/package
    package = tmp_path / "case.zip"
    r = requests.get(f"{server.url}/cases/{case_id}/package", headers=officer, timeout=60)
    r.raise_for_status()
    package.write_bytes(r.content)
    page.set_input_files("#package", str(package))
    wait_for(page, "#package-result[data-verdict]")
    verdict = page.get_attribute("#package-result", "data-verdict")
    assert verdict in ("verified", "pending"), page.text_content("#package-result")
    assert page.locator("#package-checks tr[data-outcome='fail']").count() == 0
    assert page.locator("#package-checks tr[data-outcome='pass']").count() >= 3
    page.locator("#package-result").scroll_into_view_if_needed()
    shot(page, "verify-package", full_page=False)
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith(evidence.name):
                data = bytes([data[0] ^ 0xFF]) + data[1:]
            dst.writestr(info, data)
    page.set_input_files("#package", str(tampered))
    page.wait_for_selector("#package-result[data-verdict='failed']")
    assert page.locator("#package-checks tr[data-outcome='fail']").count() >= 1

    # the English toggle, by keyboard
    page.focus("#lang-toggle")
    page.keyboard.press("Enter")
    page.wait_for_selector("html[lang='en']")
    assert page.text_content("h1") == "Public evidence verification"


@pytest.mark.ffmpeg
def test_video_item_page_chapters_markers_and_key_frames(server: LiveServer,
                                                         browser: Callable[[], Any],
                                                         tmp_path: Path) -> None:
    from tests.support import video_media as vm

    clip = vm.write_recorder_clip(tmp_path / "bodycam.mp4", width=480, height=270,
                                  seconds=6.0, cut_times=(3.2,))
    officer = auth(server, "enf-officer")
    case_id = new_case(server, officer, "ENF-WEB-005", "夜间施工")
    options = requests.put(f"{server.url}/cases/{case_id}/analysis-options", timeout=10,
                           headers=officer, json={"marks": ["4.5=whistle"], "rerun": False})
    assert options.status_code == 200, options.text
    item_id = api_upload(server, officer, case_id, clip.path.name, clip.path.read_bytes(),
                         kind="audio_visual", filetype="video/mp4")
    deadline = time.monotonic() + 90
    while True:
        jobs = requests.get(f"{server.url}/items/{item_id}/analysis", timeout=10,
                            headers=officer).json()["jobs"]
        if jobs and jobs[-1]["status"] in ("done", "failed"):
            break
        assert time.monotonic() < deadline, jobs
        time.sleep(0.5)
    assert jobs[-1]["status"] == "done", jobs

    page = browser().new_page()
    login(page, server, "enf-officer")
    page.goto(f"{server.url}/ui/items/{item_id}")
    page.wait_for_selector("#markers li.marker-chapter >> nth=1")
    page.wait_for_selector("#keyframes img")
    page.wait_for_selector("#contact-sheet:not([hidden])")
    mark = page.locator("#markers li.marker-mark button")
    assert mark.count() == 1
    assert float(mark.get_attribute("data-start") or 0) == pytest.approx(4.5, abs=0.05)
    mark.click()  # a playback grant, then range requests for the original; seeks to the mark
    page.wait_for_function(
        "() => { const v = document.getElementById('player'); "
        "return !v.hidden && Math.abs(v.currentTime - 4.5) < 0.05; }")
    assert page.evaluate("document.querySelector('#player track').track.kind") == "chapters"
    assert page.evaluate("document.getElementById('player').currentSrc").endswith(
        f"/items/{item_id}/media")
    events = requests.get(f"{server.url}/items/{item_id}/custody", timeout=10,
                          headers=officer).json()
    originals = [e["kind"] for e in events if e["subject"] is None]  # not an artefact's
    assert "downloaded" not in originals and "viewed" in originals, originals  # streamed
    second_shot = page.locator("#markers li.marker-chapter button").nth(1)
    second_shot.click()
    page.wait_for_function(
        "() => Math.abs(document.getElementById('player').currentTime - 3.2) < 0.1")
    page.wait_for_selector("#summary:not([hidden])")
    page.locator("#video").scroll_into_view_if_needed()
    shot(page, "item-video", full_page=False)
