"""Batch registration (``POST /cases/{id}/batches``) on both backend pairs.

A docking station's offload: many files in one tar archive, registered all or nothing, each
stored under its content address and entered in the evidence log like a tus upload.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import uuid

import pytest

from evidence_service.domain.merkle_log import leaf_hash
from tests.support.api import Api, encode_metadata

TAR = {"Content-Type": "application/x-tar"}
DEFAULTS = encode_metadata({"kind": "audio_visual", "filetype": "image/jpeg",
                            "recorder_id": "DSJ-0042", "badge_number": "310115"})


def _tar(files: dict[str, bytes], *, pax: dict[str, dict[str, str]] | None = None) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.pax_headers = (pax or {}).get(name, {})
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _post(api: Api, case_id: str, body: bytes, *, user: str = "officer",
          headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return api.client.post(f"/cases/{case_id}/batches", content=body, headers={
        **api.auth(user), **TAR, "Batch-Metadata": DEFAULTS, **(headers or {})})


def by_id(out: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {i["id"]: i for i in out["items"]}


def _objects(api: Api) -> int:
    store = api.client.app.state.services.store  # type: ignore[attr-defined]
    return len(store.list_keys("sha256/"))


def test_a_batch_registers_every_file_with_its_hashes_and_log_entry(api: Api) -> None:
    case_id = api.create_case("officer")
    files = {f"DCIM/100MEDIA/IMG_{n:04d}.JPG": f"photo {n}".encode() * 50 for n in range(25)}
    files["DCIM/notes.txt"] = b""
    body = _tar(files, pax={"DCIM/notes.txt": {"EVIDENCE.kind": "documentary",
                                               "EVIDENCE.filetype": "text/plain"}})
    r = _post(api, case_id, body)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["count"] == 26 and out["replayed"] is False and out["case_id"] == case_id
    by_name = {i["original_filename"]: i for i in out["items"]}
    assert list(by_name) == [p.rsplit("/", 1)[-1] for p in files]  # archive order
    for path, data in files.items():
        got = by_name[path.rsplit("/", 1)[-1]]
        assert got["sha256"] == hashlib.sha256(data).hexdigest()
        assert got["size"] == len(data) and got["status"] == "stored"
    assert by_name["notes.txt"]["flags"] == ["empty_file"]
    indexes = sorted(i["log_index"] for i in out["items"])
    assert indexes == list(range(indexes[0], indexes[0] + 26))

    item = api.client.get(f"/items/{by_name['IMG_0003.JPG']['id']}",
                          headers=api.auth("officer")).json()
    assert item["kind"] == "audio_visual" and item["media_type"] == "image/jpeg"
    assert item["capture"]["recorder_id"] == "DSJ-0042"
    note = api.client.get(f"/items/{by_name['notes.txt']['id']}",
                          headers=api.auth("officer")).json()
    assert note["kind"] == "documentary" and note["media_type"] == "text/plain"
    content = api.client.get(f"/items/{item['id']}/content", headers=api.auth("officer"))
    assert content.content == files["DCIM/100MEDIA/IMG_0003.JPG"]

    services = api.client.app.state.services  # type: ignore[attr-defined]
    with services.uow(read_only=True) as repo:  # the log entry is the item's registration
        leaf = repo.get_log_leaf(by_name["IMG_0003.JPG"]["log_index"])
        assert leaf.kind == "evidence.registered" and leaf.item_id == item["id"]
        assert leaf.leaf_hash == leaf_hash(leaf.entry).hex()
        registrations = [repo.get_log_leaf(i) for i in indexes]
        assert {leaf.item_id for leaf in registrations} == set(by_id(out))
    listed = api.client.get(f"/cases/{case_id}/items", headers=api.auth("officer")).json()
    assert len(listed) == 26


def test_a_member_too_large_to_group_is_spooled_and_stored_whole(api: Api) -> None:
    """Members over 4 MiB are spooled (past the page cache) and stored alone, not grouped."""
    case_id = api.create_case("officer")
    clip = bytes(range(256)) * (4 * 4096 + 3)  # 4 MiB + 768 bytes: not a whole block either
    files = {"DCIM/CLIP_0001.MP4": clip, "DCIM/IMG_0001.JPG": b"a small photo"}
    r = _post(api, case_id, _tar(files))
    assert r.status_code == 201, r.text
    by_name = {i["original_filename"]: i for i in r.json()["items"]}
    got = by_name["CLIP_0001.MP4"]
    assert got["sha256"] == hashlib.sha256(clip).hexdigest() and got["size"] == len(clip)
    content = api.client.get(f"/items/{got['id']}/content", headers=api.auth("officer"))
    assert content.content == clip
    spool = api.client.app.state.services.settings.resolved_spool_dir  # type: ignore[attr-defined]
    assert not list(spool.glob("batch-*.part"))  # the member's spool file is gone


def test_resending_a_batch_with_its_id_registers_nothing_twice(api: Api) -> None:
    case_id = api.create_case("officer")
    body = _tar({"a.jpg": b"A" * 100, "b.jpg": b"B" * 100})
    batch = {"Batch-Id": str(uuid.uuid4())}
    first = _post(api, case_id, body, headers=batch)
    again = _post(api, case_id, body, headers=batch)
    assert first.status_code == 201 and again.status_code == 200, again.text
    assert again.json()["replayed"] is True
    assert [i["id"] for i in again.json()["items"]] == [i["id"] for i in first.json()["items"]]
    listed = api.client.get(f"/cases/{case_id}/items", headers=api.auth("officer")).json()
    assert len(listed) == 2
    other = api.create_case("pen_officer", "PEN-1")
    taken = _post(api, other, body, user="pen_officer", headers=batch)
    assert taken.status_code == 409, taken.text
    assert first.json()["items"][0]["id"] not in taken.text


def test_same_bytes_in_a_batch_are_stored_once_and_flagged(api: Api) -> None:
    case_id = api.create_case("officer")
    api.upload("officer", case_id, b"same bytes")
    before = _objects(api)
    r = _post(api, case_id, _tar({"x.jpg": b"same bytes", "y.jpg": b"new", "z.jpg": b"new"}))
    assert r.status_code == 201, r.text
    flags = [i["flags"] for i in r.json()["items"]]
    assert flags == [["duplicate_content"], [], ["duplicate_content"]]
    assert _objects(api) == before + 1


def test_a_declared_hash_that_does_not_match_registers_nothing(api: Api) -> None:
    case_id = api.create_case("officer")
    body = _tar({"ok.jpg": b"fine", "bad.jpg": b"tampered"},
                pax={"bad.jpg": {"EVIDENCE.sha256": hashlib.sha256(b"original").hexdigest()}})
    r = _post(api, case_id, body)
    assert r.status_code == 422, r.text
    assert "bad.jpg" in r.json()["error"]["message"]
    assert api.client.get(f"/cases/{case_id}/items", headers=api.auth("officer")).json() == []


def _symlink_tar() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo("link.jpg")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    return out.getvalue()


def _huge_pax_tar() -> bytes:
    """A member whose pax header claims 1 GiB (only its 512-byte header block is sent)."""
    header = bytearray(tarfile.TarInfo("././@PaxHeader").tobuf(format=tarfile.USTAR_FORMAT))
    header[156:157] = tarfile.XHDTYPE
    header[124:136] = b"%011o\0" % (1 << 30)
    header[148:156] = b" " * 8
    header[148:155] = b"%06o\0" % sum(header)
    return bytes(header) + b"x" * 4096


@pytest.mark.parametrize(("body", "status", "words"), [
    pytest.param(b"not a tar archive at all" * 40, 400, "tar", id="not-tar"),
    pytest.param(gzip.compress(_tar({"a.jpg": b"a"})), 400, "uncompressed", id="gzip"),
    pytest.param(_tar({"a.jpg": b"a" * 5000})[:1500], 400, "tar", id="truncated"),
    pytest.param(_symlink_tar(), 400, "regular file", id="symlink"),
    pytest.param(_tar({"../../etc/passwd": b"x"}), 400, "escaping", id="traversal"),
    pytest.param(_tar({"/abs/a.jpg": b"x"}), 400, "absolute", id="absolute"),
    pytest.param(_tar({"bad\x07name.jpg": b"x"}), 400, "control", id="control-char"),
    pytest.param(_tar({}), 400, "no files", id="empty"),
    pytest.param(_huge_pax_tar(), 400, "extended", id="huge-pax-header"),
    pytest.param(_tar({"a.jpg": b"x"}, pax={"a.jpg": {"EVIDENCE.kind": "hologram"}}), 400,
                 "evidence kind", id="unknown-kind"),
    # a bad member after good ones with the same metadata (whose checks are not repeated)
    pytest.param(_tar({"a.jpg": b"a", "b.jpg": b"b", "c\x07.jpg": b"c"}), 400, "control",
                 id="later-control-char"),
    pytest.param(_tar({"a.jpg": b"a", "b.jpg": b"b"},
                      pax={"b.jpg": {"EVIDENCE.sha256": "not-a-digest"}}), 400, "sha256",
                 id="later-malformed-sha256"),
])
def test_bad_archives_get_a_clear_4xx_and_store_nothing(api: Api, body: bytes, status: int,
                                                        words: str) -> None:
    case_id = api.create_case("officer")
    before = _objects(api)
    r = _post(api, case_id, body)
    assert r.status_code == status, r.text
    assert words in r.json()["error"]["message"]
    assert _objects(api) == before
    assert api.client.get(f"/cases/{case_id}/items", headers=api.auth("officer")).json() == []


def test_wrong_content_type_case_and_department_are_refused(api: Api) -> None:
    case_id = api.create_case("officer")
    body = _tar({"a.jpg": b"a"})
    r = api.client.post(f"/cases/{case_id}/batches", content=body,
                        headers={**api.auth("officer"), "Content-Type": "application/zip"})
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
    assert _post(api, str(uuid.uuid4()), body).status_code == 404
    assert _post(api, "../etc", body).status_code == 404
    assert _post(api, case_id, body, user="pen_officer").status_code == 404
    assert _post(api, case_id, body, user="reviewer").status_code == 403
    r = _post(api, case_id, body, headers={"Batch-Id": "not-a-uuid"})
    assert r.status_code == 400 and "Batch-Id" in r.json()["error"]["message"]
    r = _post(api, case_id, body, headers={"Batch-Metadata": encode_metadata({"sha256": "ab"})})
    assert r.status_code == 400 and "per file" in r.json()["error"]["message"]


def test_too_many_files_is_413(api: Api) -> None:
    services = api.client.app.state.services  # type: ignore[attr-defined]
    services.batches.max_files = 3  # registered here, or
    services.settings.batch_max_files = 3  # by workers, which start with these settings
    case_id = api.create_case("officer")
    r = _post(api, case_id, _tar({f"{n}.jpg": bytes([n]) for n in range(4)}))
    assert r.status_code == 413, r.text
    assert api.client.get(f"/cases/{case_id}/items", headers=api.auth("officer")).json() == []


def test_members_sharing_defaults_keep_their_own_names_hashes_and_overrides(api: Api) -> None:
    case_id = api.create_case("officer")
    files = {f"IMG_{n}.JPG": f"frame {n}".encode() * (n + 1) for n in range(6)}
    pax = {name: {"EVIDENCE.sha256": hashlib.sha256(data).hexdigest()}
           for name, data in files.items()}
    pax["IMG_3.JPG"]["EVIDENCE.recorder_id"] = "DSJ-0099"
    pax["IMG_4.JPG"]["EVIDENCE.captured_at"] = "2026-03-01T08:30:00Z"
    r = _post(api, case_id, _tar(files, pax=pax))
    assert r.status_code == 201, r.text
    for got in r.json()["items"]:
        name = got["original_filename"]
        assert got["sha256"] == hashlib.sha256(files[name]).hexdigest()
        item = api.client.get(f"/items/{got['id']}", headers=api.auth("officer")).json()
        assert item["original_filename"] == name and item["size"] == len(files[name])
        assert item["capture"]["recorder_id"] == ("DSJ-0099" if name == "IMG_3.JPG"
                                                  else "DSJ-0042")
        assert (item["capture"]["captured_at"] is not None) == (name == "IMG_4.JPG")
        assert item["kind"] == "audio_visual" and item["media_type"] == "image/jpeg"
