"""Three departments on one service with its own embedded anvil: ENF -> PEN -> CRT.

The app runs in-process (TestClient) in ``embedded`` ledger mode, so each department gets a
real keystore and a real on-chain account, and every transfer step is a real transaction.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from web3 import Web3

from evidence_service.api import create_app
from evidence_service.config import LedgerConfig, Settings
from evidence_service.domain.models import DepartmentKind, Role
from ledger_node import registry_contract
from tests.support.anvil import require_anvil
from tests.support.api import Api
from tests.support.live import free_port

PASSWORD = "correct horse battery"
USERS = {
    "enf_officer": ("ENF", Role.OFFICER), "enf_admin": ("ENF", Role.DEPARTMENT_ADMIN),
    "pen_officer": ("PEN", Role.OFFICER), "pen_admin": ("PEN", Role.DEPARTMENT_ADMIN),
    "crt_verifier": ("CRT", Role.VERIFIER), "crt_auditor": ("CRT", Role.AUDITOR),
}


@pytest.fixture(scope="module")
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Api]:
    require_anvil(request.config)
    var = tmp_path_factory.mktemp("transfers") / "var"
    settings = Settings(var_dir=var, jwt_secret="test-secret-" + uuid.uuid4().hex,
                        anchor_interval=0.3,
                        ledger=LedgerConfig(mode="embedded", port=free_port(),
                                            keystore_scrypt_n=2**10,
                                            department_keystore_password="dept pass"))
    with TestClient(create_app(settings)) as client:
        services = client.app.state.services  # type: ignore[attr-defined]
        departments = {}
        for code, name, kind in (("ENF", "执法支队", DepartmentKind.ENFORCEMENT),
                                 ("PEN", "处罚科", DepartmentKind.REVIEW),
                                 ("CRT", "人民法院", DepartmentKind.COURT)):
            dept = services.identity.create_department(None, code=code, name=name, kind=kind)
            services.transfers.provision_department(dept.id)
            departments[code] = dept.id
        api = Api(client=client, departments=departments)
        for username, (code, role) in USERS.items():
            services.identity.create_user(None, department_id=departments[code],
                                          username=username, password=PASSWORD, roles=[role])
            r = client.post("/auth/login", json={"username": username, "password": PASSWORD})
            api.tokens[username] = r.json()["access_token"]
        yield api


@pytest.fixture(scope="module")
def registry(world: Api) -> Any:
    runtime = world.client.app.state.services.ledger  # type: ignore[attr-defined]
    w3 = Web3(Web3.HTTPProvider(runtime.node.rpc_url))
    return registry_contract(w3, runtime.anchor.contract_address)


@pytest.fixture
def anchored_upload(world: Api) -> Callable[..., dict[str, Any]]:
    """Upload bytes into a case and wait until the registration is anchored."""
    def upload(user: str, case_id: str, data: bytes, **meta: str) -> dict[str, Any]:
        item = world.upload(user, case_id, data, **meta)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            r = world.client.get(f"/items/{item['id']}", headers=world.auth(user))
            if r.json()["status"] == "anchored":
                return dict(r.json())
            time.sleep(0.2)
        raise AssertionError("the item was not anchored within 30 s")
    return upload


def stored_path(world: Api, sha256: str) -> Path:
    """Where the filesystem store keeps the bytes with this SHA-256."""
    store = world.client.app.state.services.store  # type: ignore[attr-defined]
    path: Path = store.object_path(f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}")
    return path
