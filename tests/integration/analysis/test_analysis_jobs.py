"""Stored video is analysed by persisted background jobs; outputs become derived artefacts.

Real ffmpeg and OpenCV through ``video_pipeline``; the app in-process on SQLite and the
filesystem store, without a chain (entries stay pending).
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from evidence_service.api import create_app
from evidence_service.config import AnalysisConfig, LedgerConfig, Settings
from evidence_service.domain.models import DepartmentKind, JobStatus, Role
from evidence_verify import parse_bundle, verify_bundle
from tests.support import video_media as vm
from tests.support.api import Api

pytestmark = [pytest.mark.ffmpeg, pytest.mark.slow]
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> vm.RecorderClip:
    return vm.write_recorder_clip(tmp_path_factory.mktemp("clips") / "shift.mp4", width=480,
                                  height=270, seconds=6.0, cut_times=(3.2,))


def _settings(var: Path, *, workers: int = 1) -> Settings:
    return Settings(var_dir=var, jwt_secret="analysis-secret-" + "x" * 20,
                    ledger=LedgerConfig(mode="off"),
                    analysis=AnalysisConfig(workers=workers, pipeline_workers=1,
                                            stale_seconds=2.0))


def _world(client: TestClient) -> Api:
    services = client.app.state.services  # type: ignore[attr-defined]
    api = Api(client=client)
    existing = {d.code: d for d in services.identity.list_departments()}
    for code in ("ENF", "PEN"):
        dept = existing.get(code) or services.identity.create_department(
            None, code=code, name=code, kind=DepartmentKind.ENFORCEMENT)
        api.departments[code] = dept.id
        username = f"{code.lower()}_officer"
        if services.identity.list_users(_system(dept.id), dept.id) == []:
            services.identity.create_user(None, department_id=dept.id, username=username,
                                          password=PASSWORD, roles=[Role.OFFICER])
        r = client.post("/auth/login", json={"username": username, "password": PASSWORD})
        api.tokens[username] = r.json()["access_token"]
    return api


def _system(department_id: str) -> Any:
    from evidence_service.domain.models import Principal
    return Principal(kind="user", id="test", department_id=department_id,
                     roles=frozenset({Role.SYSTEM_ADMIN, Role.DEPARTMENT_ADMIN}), name="test")


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with TestClient(create_app(_settings(tmp_path / "var"))) as client:
        yield _world(client)


def _upload_video(api: Api, case_id: str, path: Path, **meta: str) -> dict[str, Any]:
    return api.upload("enf_officer", case_id, path.read_bytes(), filename=path.name,
                      filetype="video/mp4", **meta)


def _wait_job(api: Api, item_id: str, *, count: int = 1, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = api.client.get(f"/items/{item_id}/analysis",
                              headers=api.auth("enf_officer")).json()
        finished = [j for j in body["jobs"] if j["status"] in ("done", "failed")]
        if len(finished) >= count:
            return dict(body)
        time.sleep(0.3)
    raise AssertionError(f"analysis of {item_id} did not finish within {timeout} s")


def test_stored_video_is_analysed_into_anchorable_artefacts(api: Api,
                                                            clip: vm.RecorderClip) -> None:
    case_id = api.create_case("enf_officer", number="ENF-V-1")
    item = _upload_video(api, case_id, clip.path)
    body = _wait_job(api, item["id"])
    job = body["jobs"][0]
    assert job["status"] == "done", job
    assert job["progress"] == 1.0
    kinds = {a["kind"] for a in body["artefacts"]}
    assert {"timeline", "chapters", "contact_sheet", "keyframe"} <= kinds
    for artefact in body["artefacts"]:
        assert artefact["derived_from_sha256"] == item["sha256"]
        content = api.client.get(f"/artefacts/{artefact['id']}/content",
                                 headers=api.auth("enf_officer"))
        assert hashlib.sha256(content.content).hexdigest() == artefact["sha256"]
    timeline = next(a for a in body["artefacts"] if a["kind"] == "timeline")
    document = api.client.get(f"/artefacts/{timeline['id']}/content",
                              headers=api.auth("enf_officer")).json()
    assert document["source"]["sha256"] == item["sha256"]
    bundle = api.client.get(f"/artefacts/{timeline['id']}/proof",
                            headers=api.auth("enf_officer")).json()
    assert verify_bundle(parse_bundle(bundle)).verdict == "pending"
    events = api.client.get(f"/items/{item['id']}/custody",
                            headers=api.auth("enf_officer")).json()
    kinds_in_log = [e["kind"] for e in events]
    assert "analysed" in kinds_in_log
    assert kinds_in_log.count("derived_added") == len(body["artefacts"])
    # the original is untouched
    recheck = api.client.post(f"/items/{item['id']}/verify", headers=api.auth("enf_officer"))
    assert recheck.json()["verdict"] in ("pending", "verified")


def test_rerun_with_zones_and_lines_and_bad_geometry(api: Api, clip: vm.RecorderClip) -> None:
    case_id = api.create_case("enf_officer", number="ENF-V-2")
    item = _upload_video(api, case_id, clip.path)
    _wait_job(api, item["id"])
    bad = api.client.post(f"/items/{item['id']}/analysis", json={"zones": ["door=0.1,0.1"]},
                          headers=api.auth("enf_officer"))
    assert bad.status_code == 400 and "at least 3 points" in bad.json()["error"]["message"]
    outside = api.client.post(f"/items/{item['id']}/analysis", json={"lines": ["l=0,0,2,2"]},
                              headers=api.auth("enf_officer"))
    assert outside.status_code == 400
    r = api.client.post(f"/items/{item['id']}/analysis",
                        json={"zones": ["gate=0.1,0.1,0.6,0.1,0.6,0.6"],
                              "lines": ["kerb=0.0,0.8,1.0,0.8"], "marks": ["2.5=whistle"]},
                        headers=api.auth("enf_officer"))
    assert r.status_code == 202, r.text
    body = _wait_job(api, item["id"], count=2)
    assert [j["status"] for j in body["jobs"]] == ["done", "done"]
    assert body["jobs"][1]["options"]["zones"] == ["gate=0.1,0.1,0.6,0.1,0.6,0.6"]
    case_opts = api.client.put(f"/cases/{case_id}/analysis-options",
                               json={"lines": ["kerb=0.0,0.8,1.0,0.8"], "rerun": True},
                               headers=api.auth("enf_officer"))
    assert case_opts.status_code == 200 and len(case_opts.json()) == 1


@pytest.mark.parametrize("make", ["random", "audio_only", "truncated"])
def test_bad_media_ends_the_job_with_a_reason(api: Api, clip: vm.RecorderClip, tmp_path: Path,
                                              make: str) -> None:
    path = tmp_path / f"{make}.mp4"
    if make == "random":
        path.write_bytes(os.urandom(50_000))
    elif make == "audio_only":
        vm.lavfi(path, "sine=frequency=440", seconds=2.0)
    else:
        path.write_bytes(clip.path.read_bytes()[: clip.path.stat().st_size // 3])
    case_id = api.create_case("enf_officer", number=f"ENF-BAD-{uuid.uuid4().hex[:6]}")
    item = _upload_video(api, case_id, path)
    job = _wait_job(api, item["id"])["jobs"][0]
    assert job["status"] == "failed"
    assert job["reason"].startswith("the file cannot be analysed"), job["reason"]
    stored = api.client.get(f"/items/{item['id']}", headers=api.auth("enf_officer")).json()
    assert stored["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert api.client.get("/healthz").status_code == 200


def test_only_video_is_queued_and_empty_files_are_not(api: Api) -> None:
    case_id = api.create_case("enf_officer", number="ENF-V-3")
    pdf = api.upload("enf_officer", case_id, b"%PDF-1.4 ...", filename="note.pdf",
                     filetype="application/pdf", kind="documentary")
    empty = api.upload("enf_officer", case_id, b"", filename="empty.mp4", filetype="video/mp4")
    for item in (pdf, empty):
        body = api.client.get(f"/items/{item['id']}/analysis",
                              headers=api.auth("enf_officer")).json()
        assert body == {"jobs": [], "artefacts": []}
    r = api.client.post(f"/items/{pdf['id']}/analysis", json={},
                        headers=api.auth("enf_officer"))
    assert r.status_code == 409 and "only video" in r.json()["error"]["message"]


def test_other_departments_see_no_analysis(api: Api, clip: vm.RecorderClip) -> None:
    case_id = api.create_case("enf_officer", number="ENF-V-4")
    item = _upload_video(api, case_id, clip.path)
    body = _wait_job(api, item["id"])
    artefact = body["artefacts"][0]["id"]
    for path in (f"/items/{item['id']}/analysis", f"/artefacts/{artefact}/content",
                 f"/artefacts/{artefact}/proof"):
        theirs = api.client.get(path, headers=api.auth("pen_officer"))
        assert theirs.status_code == 404, path
    assert api.client.post(f"/items/{item['id']}/analysis", json={},
                           headers=api.auth("pen_officer")).status_code == 404


def test_a_queued_job_survives_a_restart_and_a_dead_worker_is_replaced(
        tmp_path: Path, clip: vm.RecorderClip) -> None:
    var = tmp_path / "var"
    with TestClient(create_app(_settings(var, workers=0))) as client:  # no runner
        api = _world(client)
        case_id = api.create_case("enf_officer", number="ENF-V-5")
        item = _upload_video(api, case_id, clip.path)
        services = client.app.state.services  # type: ignore[attr-defined]
        # a second job that a worker claimed and then died on (stale heartbeat)
        job = services.analysis.request(_system(api.departments["ENF"]), item["id"],
                                        _options())
        with services.uow() as repo:
            stale = services.analysis._clock.now() - timedelta(minutes=5)
            repo.save_job(job.model_copy(update={"status": JobStatus.RUNNING, "attempts": 1,
                                                 "started_at": stale, "heartbeat_at": stale}))
        assert [j["status"] for j in client.get(
            f"/items/{item['id']}/analysis", headers=api.auth("enf_officer")).json()["jobs"]
                ] == ["queued", "running"]
    with TestClient(create_app(_settings(var, workers=1))) as client:
        api = _world(client)
        body = _wait_job(api, item["id"], count=2)
        assert [j["status"] for j in body["jobs"]] == ["done", "done"]
        assert body["jobs"][1]["attempts"] == 2


def _options() -> Any:
    from evidence_service.domain.models import AnalysisOptions
    return AnalysisOptions()


def test_disclosure_copy_is_a_hash_linked_artefact(api: Api, tmp_path: Path) -> None:
    face = tmp_path / "interview.mp4"
    vm.encode(vm.face_frames(width=480, height=270, fps=15, seconds=1.5), face, width=480,
              height=270, fps=15, options=vm.x264_options(gop=15))
    case_id = api.create_case("enf_officer", number="ENF-V-6")
    item = _upload_video(api, case_id, face)
    _wait_job(api, item["id"])
    r = api.client.post(f"/items/{item['id']}/analysis", json={"task": "redact"},
                        headers=api.auth("enf_officer"))
    assert r.status_code == 202
    body = _wait_job(api, item["id"], count=2)
    assert body["jobs"][1]["status"] == "done", body["jobs"][1]
    redacted = next(a for a in body["artefacts"] if a["kind"] == "redacted")
    report = next(a for a in body["artefacts"] if a["kind"] == "redaction_report")
    assert redacted["derived_from_sha256"] == item["sha256"] != redacted["sha256"]
    document = api.client.get(f"/artefacts/{report['id']}/content",
                              headers=api.auth("enf_officer")).json()
    assert item["sha256"] in str(document)
    original = api.client.get(f"/items/{item['id']}/content", headers=api.auth("enf_officer"))
    assert hashlib.sha256(original.content).hexdigest() == item["sha256"]
