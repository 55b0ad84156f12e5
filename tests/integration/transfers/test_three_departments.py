"""Enforcement bureau -> penalty department -> court, on a real chain, and what must fail."""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import time
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from web3.exceptions import Web3Exception

from evidence_service.domain.custody import id_hash
from ledger_node import load_account
from tests.integration.transfers.conftest import stored_path
from tests.support.api import Api
from tests.support.live import EVIDENCE

pytestmark = [pytest.mark.ledger, pytest.mark.slow]
Upload = Callable[..., dict[str, Any]]


def _case(world: Api, user: str = "enf_officer", **extra: Any) -> str:
    return world.create_case(user, number=f"ENF-{uuid.uuid4().hex[:8]}", **extra)


def _send(world: Api, case_id: str, to: str, user: str = "enf_officer",
          items: list[str] | None = None) -> Any:
    body: dict[str, Any] = {"to_department": to}
    if items is not None:
        body["items"] = items
    return world.client.post(f"/cases/{case_id}/transfers", json=body, headers=world.auth(user))


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_evidence_moves_from_enforcement_to_penalty_to_court(
        world: Api, anchored_upload: Upload, registry: Any) -> None:
    case_id = _case(world, party="某餐饮公司")
    clip = anchored_upload("enf_officer", case_id, os.urandom(300_000))
    photo = anchored_upload("enf_officer", case_id, os.urandom(40_000), filename="现场.jpg",
                            kind="documentary")

    sent = _ok(_send(world, case_id, "PEN"), 201)
    assert sent["status"] == "open" and sorted(sent["item_ids"]) == sorted(
        [clip["id"], photo["id"]])
    assert sent["opened"]["tx_hash"].startswith("0x")
    inbox = _ok(world.client.get("/transfers", headers=world.auth("pen_officer")))
    assert [t["id"] for t in inbox] == [sent["id"]]
    outbox = _ok(world.client.get("/transfers?direction=outgoing",
                                  headers=world.auth("enf_officer")))
    assert sent["id"] in [t["id"] for t in outbox]

    accepted = _ok(world.client.post(f"/transfers/{sent['id']}/accept",
                                     headers=world.auth("pen_officer")))
    assert accepted["status"] == "accepted" and accepted["decided"]["tx_hash"].startswith("0x")
    assert all(check["ok"] for check in accepted["checks"])
    on_chain = registry.functions.transferOf(id_hash(sent["id"])).call()
    assert on_chain[1].hex() == sent["manifest_root"] and on_chain[4] == 2  # Accepted

    # mutual recognition: the penalty department holds the same bytes and hashes
    received = accepted["received_case_id"]
    items = _ok(world.client.get(f"/cases/{received}/items", headers=world.auth("pen_officer")))
    assert sorted(i["sha256"] for i in items) == sorted([clip["sha256"], photo["sha256"]])
    assert {i["origin_item_id"] for i in items} == {clip["id"], photo["id"]}
    pen_clip = next(i for i in items if i["sha256"] == clip["sha256"])
    content = world.client.get(f"/items/{pen_clip['id']}/content",
                               headers=world.auth("pen_officer"))
    assert hashlib.sha256(content.content).hexdigest() == clip["sha256"]

    # the full history travels with the item, the sender's events included
    timeline = _ok(world.client.get(f"/items/{pen_clip['id']}/custody",
                                    headers=world.auth("pen_officer")))
    kinds = [e["kind"] for e in timeline]
    assert kinds[0] == "uploaded"
    for kind in ("viewed", "transfer_sent", "transfer_accepted", "downloaded"):
        assert kind in kinds
    departments = {e["department_id"] for e in timeline}
    assert departments == {world.departments["ENF"], world.departments["PEN"]}
    assert timeline[0]["anchored"] and timeline[0]["inclusion_proof"] is not None

    # and on to the court
    to_court = _ok(_send(world, received, "CRT", user="pen_officer"), 201)
    court = _ok(world.client.post(f"/transfers/{to_court['id']}/accept",
                                  headers=world.auth("crt_verifier")))
    court_items = _ok(world.client.get(f"/cases/{court['received_case_id']}/items",
                                       headers=world.auth("crt_verifier")))
    assert sorted(i["sha256"] for i in court_items) == sorted([clip["sha256"], photo["sha256"]])
    court_case = _ok(world.client.get(f"/cases/{court['received_case_id']}/custody",
                                      headers=world.auth("crt_verifier")))
    assert {e["department_id"] for e in court_case} == set(world.departments.values())


def test_only_the_receiving_department_decides(world: Api, anchored_upload: Upload) -> None:
    case_id = _case(world)
    anchored_upload("enf_officer", case_id, os.urandom(10_000))
    sent = _ok(_send(world, case_id, "PEN"), 201)
    by_sender = world.client.post(f"/transfers/{sent['id']}/accept",
                                  headers=world.auth("enf_officer"))
    assert by_sender.status_code == 403
    assert by_sender.json()["error"]["message"] == \
        "only the receiving department may accept or reject"
    stranger = world.client.post(f"/transfers/{sent['id']}/accept",
                                 headers=world.auth("crt_verifier"))
    unknown = world.client.post(f"/transfers/{uuid.uuid4()}/accept",
                                headers=world.auth("crt_verifier"))
    assert stranger.status_code == unknown.status_code == 404
    assert stranger.json() == unknown.json()
    assert world.client.get(f"/transfers/{sent['id']}",
                            headers=world.auth("crt_verifier")).status_code == 404


def test_double_accept_and_a_replayed_transaction_change_nothing(
        world: Api, anchored_upload: Upload, registry: Any) -> None:
    case_id = _case(world)
    anchored_upload("enf_officer", case_id, os.urandom(10_000))
    sent = _ok(_send(world, case_id, "PEN"), 201)
    accepted = _ok(world.client.post(f"/transfers/{sent['id']}/accept",
                                     headers=world.auth("pen_officer")))
    again = world.client.post(f"/transfers/{sent['id']}/accept",
                              headers=world.auth("pen_officer"))
    assert again.status_code == 409 and "already accepted" in again.json()["error"]["message"]
    reject = world.client.post(f"/transfers/{sent['id']}/reject", json={"reason": "late"},
                               headers=world.auth("pen_officer"))
    assert reject.status_code == 409

    w3 = registry.w3
    raw = w3.eth.get_raw_transaction(accepted["decided"]["tx_hash"])
    with pytest.raises((Web3Exception, ValueError)):
        w3.eth.send_raw_transaction(raw)
    assert registry.functions.transferOf(id_hash(sent["id"])).call()[4] == 2
    received = world.client.get("/transfers", headers=world.auth("pen_officer")).json()
    assert [t["received_case_id"] for t in received if t["id"] == sent["id"]] == [
        accepted["received_case_id"]]


def test_altered_bytes_block_acceptance_and_raise_alerts(
        world: Api, anchored_upload: Upload) -> None:
    case_id = _case(world)
    good = anchored_upload("enf_officer", case_id, os.urandom(20_000))
    bad = anchored_upload("enf_officer", case_id, os.urandom(20_000))
    sent = _ok(_send(world, case_id, "PEN"), 201)
    path = stored_path(world, bad["sha256"])
    path.chmod(0o600)
    data = bytearray(path.read_bytes())
    data[1234] ^= 0x01
    path.write_bytes(bytes(data))

    r = world.client.post(f"/transfers/{sent['id']}/accept", headers=world.auth("pen_officer"))
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "integrity_failure" and bad["id"] in error["message"]
    assert [d["item_id"] for d in error["details"]] == [bad["id"]]
    assert "stored bytes no longer match" in " ".join(error["details"][0]["reasons"])
    assert good["id"] not in error["message"]
    transfer = _ok(world.client.get(f"/transfers/{sent['id']}",
                                    headers=world.auth("pen_officer")))
    assert transfer["status"] == "open" and transfer["received_case_id"] is None
    for user in ("pen_officer", "enf_officer"):
        alerts = _ok(world.client.get("/alerts", headers=world.auth(user)))
        assert bad["id"] in [a["item_id"] for a in alerts]
    status = world.client.get(f"/items/{bad['id']}", headers=world.auth("enf_officer"))
    assert status.json()["status"] == "mismatch"
    again = _send(world, case_id, "PEN", items=[bad["id"]])
    assert again.status_code == 409 and again.json()["error"]["code"] == "transfer_blocked"


def test_restricted_item_needs_an_admins_approval(world: Api, anchored_upload: Upload) -> None:
    case_id = _case(world)
    item = anchored_upload("enf_officer", case_id, os.urandom(5_000),
                           classification="restricted")
    blocked = _send(world, case_id, "PEN")
    assert blocked.status_code == 409
    error = blocked.json()["error"]
    assert error["code"] == "transfer_blocked"
    assert error["details"] == [{"item_id": item["id"], "rule": "restricted-needs-approval",
                                 "reason": "restricted evidence needs a department admin's "
                                           "approval for transfer"}]
    by_officer = world.client.post(f"/items/{item['id']}/approvals",
                                   json={"purpose": "transfer"},
                                   headers=world.auth("enf_officer"))
    assert by_officer.status_code == 403
    approval = _ok(world.client.post(f"/items/{item['id']}/approvals",
                                     json={"purpose": "transfer", "note": "移送处罚"},
                                     headers=world.auth("enf_admin")), 201)
    timeline = _ok(world.client.get(f"/items/{item['id']}/custody",
                                    headers=world.auth("enf_admin")))
    assert approval["log_index"] in [e["log_index"] for e in timeline
                                     if e["kind"] == "approval_granted"]
    _ok(_send(world, case_id, "PEN"), 201)


def test_negative_list_blocks_with_a_clear_reason(world: Api, anchored_upload: Upload) -> None:
    case_id = _case(world)
    item = anchored_upload("enf_officer", case_id, os.urandom(5_000),
                           labels="personal_privacy")
    r = _send(world, case_id, "PEN")
    assert r.status_code == 409
    detail = r.json()["error"]["details"][0]
    assert detail["item_id"] == item["id"] and detail["rule"] == "negative-list:personal-privacy"
    assert "个人隐私" in detail["reason"]


def test_rejection_carries_a_reason_on_and_off_chain(
        world: Api, anchored_upload: Upload, registry: Any) -> None:
    case_id = _case(world)
    anchored_upload("enf_officer", case_id, os.urandom(5_000))
    sent = _ok(_send(world, case_id, "PEN"), 201)
    empty = world.client.post(f"/transfers/{sent['id']}/reject", json={"reason": "  "},
                              headers=world.auth("pen_officer"))
    assert empty.status_code == 400
    reason = "证据与本案无关 (not related to this case)"
    rejected = _ok(world.client.post(f"/transfers/{sent['id']}/reject", json={"reason": reason},
                                     headers=world.auth("pen_officer")))
    assert rejected["status"] == "rejected" and rejected["reason"] == reason
    on_chain = registry.functions.transferOf(id_hash(sent["id"])).call()
    assert on_chain[4] == 3 and on_chain[7] == hashlib.sha256(reason.encode()).digest()
    seen_by_sender = _ok(world.client.get(f"/transfers/{sent['id']}",
                                          headers=world.auth("enf_officer")))
    assert seen_by_sender["decided"]["tx_hash"] == rejected["decided"]["tx_hash"]
    accept = world.client.post(f"/transfers/{sent['id']}/accept",
                               headers=world.auth("pen_officer"))
    assert accept.status_code == 409


def test_other_departments_ids_leak_nothing(world: Api, anchored_upload: Upload) -> None:
    case_id = _case(world)
    item = anchored_upload("enf_officer", case_id, os.urandom(5_000))
    for path in (f"/items/{item['id']}", f"/items/{item['id']}/custody",
                 f"/items/{item['id']}/content", f"/cases/{case_id}/custody"):
        theirs = world.client.get(path, headers=world.auth("pen_officer"))
        fake = path.replace(item["id"], str(uuid.uuid4())).replace(case_id, str(uuid.uuid4()))
        unknown = world.client.get(fake, headers=world.auth("pen_officer"))
        assert theirs.status_code == unknown.status_code == 404, path
        assert theirs.json() == unknown.json()
    foreign = world.client.post(f"/cases/{case_id}/transfers", json={"to_department": "CRT"},
                                headers=world.auth("pen_officer"))
    assert foreign.status_code == 404


@pytest.mark.parametrize("token", ["", "not-a-jwt", "eyJhbGciOiJIUzI1NiJ9.e30.forged"])
def test_bad_tokens_are_refused(world: Api, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for method, path in (("GET", "/transfers"), ("POST", f"/transfers/{uuid.uuid4()}/accept"),
                         ("GET", "/alerts")):
        r = world.client.request(method, path, headers=headers)
        assert r.status_code == 401, (path, r.text)
        assert r.json()["error"]["code"] == "unauthenticated"


def test_court_exports_a_package_that_verifies_offline_and_on_chain(
        world: Api, anchored_upload: Upload, tmp_path: Path) -> None:
    case_id = _case(world)
    anchored_upload("enf_officer", case_id, os.urandom(30_000), filename="执法记录.mp4")
    anchored_upload("enf_officer", case_id, os.urandom(3_000), filename="笔录.pdf",
                    kind="documentary")
    to_pen = _ok(_send(world, case_id, "PEN"), 201)
    pen_case = _ok(world.client.post(f"/transfers/{to_pen['id']}/accept",
                                     headers=world.auth("pen_officer")))["received_case_id"]
    to_court = _ok(_send(world, pen_case, "CRT", user="pen_officer"), 201)
    court_case = _ok(world.client.post(f"/transfers/{to_court['id']}/accept",
                                       headers=world.auth("crt_verifier")))["received_case_id"]
    _wait_all_anchored(world)

    r = world.client.get(f"/cases/{court_case}/package", headers=world.auth("crt_verifier"))
    assert r.status_code == 200, r.text
    assert hashlib.sha256(r.content).hexdigest() == r.headers["X-Package-SHA256"]
    package = tmp_path / "case.zip"
    package.write_bytes(r.content)
    rpc = world.client.app.state.services.ledger.node.rpc_url  # type: ignore[attr-defined]
    offline = subprocess.run([EVIDENCE, "verify-package", str(package)], capture_output=True,
                             text=True, timeout=120)
    assert offline.returncode == 0, offline.stdout + offline.stderr
    online = subprocess.run([EVIDENCE, "verify-package", str(package), "--rpc", rpc],
                            capture_output=True, text=True, timeout=120)
    assert online.returncode == 0, online.stdout + online.stderr

    # a tampered package names the culprit
    with zipfile.ZipFile(package) as original:
        names = original.namelist()
        victim = next(n for n in names if n.startswith("files/") and n.endswith(".pdf"))
        tampered = tmp_path / "tampered.zip"
        with zipfile.ZipFile(tampered, "w") as copy:
            for name in names:
                data = original.read(name)
                if name == victim:
                    data = bytes([data[0] ^ 1]) + data[1:]
                copy.writestr(name, data)
    bad = subprocess.run([EVIDENCE, "verify-package", str(tampered), "--rpc", rpc],
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "COLUMNS": "300"})
    assert bad.returncode == 1
    assert victim.split("/")[1] in bad.stdout

    timeline = _ok(world.client.get(f"/cases/{court_case}/custody",
                                    headers=world.auth("crt_verifier")))
    assert "exported" in [e["kind"] for e in timeline]


def _wait_all_anchored(world: Api) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        head = world.client.get("/log/head").json()
        if head["anchored"] and head["anchored"]["tree_size"] == head["log_size"]:
            return
        time.sleep(0.2)
    raise AssertionError("the log was not fully anchored within 30 s")


def test_an_expired_token_cannot_decide_a_transfer(world: Api, anchored_upload: Upload) -> None:
    case_id = _case(world)
    anchored_upload("enf_officer", case_id, os.urandom(5_000))
    sent = _ok(_send(world, case_id, "PEN"), 201)
    services = world.client.app.state.services  # type: ignore[attr-defined]
    claims = jwt.decode(world.tokens["pen_officer"], options={"verify_signature": False})
    past = int(time.time()) - 3600
    expired = jwt.encode({**claims, "iat": past - 60, "exp": past},
                         services.settings.resolved_jwt_secret(), algorithm="HS256")
    r = world.client.post(f"/transfers/{sent['id']}/accept",
                          headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and r.json()["error"]["message"] == "token expired"
    assert _ok(world.client.get(f"/transfers/{sent['id']}",
                                headers=world.auth("enf_officer")))["status"] == "open"


def test_department_keys_never_leave_their_keystores(
        world: Api, anchored_upload: Upload, caplog: pytest.LogCaptureFixture) -> None:
    services = world.client.app.state.services  # type: ignore[attr-defined]
    settings = services.settings
    keys = [load_account(path, password="dept pass").key.hex()
            for path in settings.department_keystore_dir.glob("*.json")]
    assert len(keys) == 3
    case_id = _case(world)
    anchored_upload("enf_officer", case_id, os.urandom(5_000))
    with caplog.at_level(logging.DEBUG):
        sent = _send(world, case_id, "PEN")
        accepted = world.client.post(f"/transfers/{sent.json()['id']}/accept",
                                     headers=world.auth("pen_officer"))
        departments = world.client.get("/departments", headers=world.auth("enf_admin"))
    seen = caplog.text + sent.text + accepted.text + departments.text
    for key in keys:
        assert key.removeprefix("0x") not in seen
    for path in settings.department_keystore_dir.glob("*.json"):
        assert path.stat().st_mode & 0o777 == 0o600
        assert "crypto" in path.read_text()
