"""The recovery drill on the production shape: PostgreSQL and an S3 store under object lock
(moto_server here, MinIO where ``TEST_S3_URL`` points). The database is dropped after the log
was anchored; ``evidence recover-log`` rebuilds it from the segments in the bucket."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from minio import Minio
from sqlalchemy import create_engine, text

from ledger_node import DeploymentRecord, NodeConfig
from tests.integration.recovery.drill import FAST, fill_log, recover, snapshot
from tests.support.anvil import running_node
from tests.support.live import LiveServer, free_port
from tests.support.moto import S3Endpoint

pytestmark = [pytest.mark.ledger, pytest.mark.slow, pytest.mark.db, pytest.mark.minio]


def _drop_everything(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def test_log_is_rebuilt_from_a_locked_bucket_into_postgres(
        tmp_path: Path, own_pg_database: str, s3_endpoint: S3Endpoint) -> None:
    bucket = f"drill-{uuid.uuid4().hex[:12]}"
    env = {**FAST, "EVIDENCE_DATABASE_URL": own_pg_database, "EVIDENCE_STORAGE_BACKEND": "s3",
           "EVIDENCE_S3__ENDPOINT": s3_endpoint.endpoint,
           "EVIDENCE_S3__ACCESS_KEY": s3_endpoint.access_key,
           "EVIDENCE_S3__SECRET_KEY": s3_endpoint.secret_key,
           "EVIDENCE_S3__SECURE": str(s3_endpoint.secure).lower(),
           "EVIDENCE_S3__BUCKET": bucket, "EVIDENCE_S3__RETENTION_DAYS": "1"}
    server = LiveServer(var_dir=tmp_path / "var", env=env)
    server.start()
    try:
        fill_log(server, uploads=2)
    finally:
        server.stop()
    original = snapshot(own_pg_database)
    client = Minio(s3_endpoint.endpoint, access_key=s3_endpoint.access_key,
                   secret_key=s3_endpoint.secret_key, secure=s3_endpoint.secure)
    segments = [o.object_name for o in client.list_objects(bucket, prefix="log-segments/")]
    assert len(segments) >= 2
    _drop_everything(own_pg_database)  # the database is lost

    # the chain as an external network: a node of our own on the service's chain state, read
    # without any key (the service's embedded ledger is switched off for the recovery)
    record = DeploymentRecord.load(server.var_dir / "ledger" / "deployment.json")
    with running_node(NodeConfig.dev(state_dir=server.var_dir / "ledger",
                                     port=free_port())) as node:
        done = recover({**env, "EVIDENCE_VAR_DIR": str(server.var_dir),
                        "EVIDENCE_LEDGER__MODE": "off"},
                       "--rpc", node.rpc_url, "--contract", record.address,
                       "--from-block", str(record.block_number))

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"segments: {len(segments)} in the s3 store" in done.stdout
    assert "RECOVERED" in done.stdout
    rebuilt = snapshot(own_pg_database)
    assert rebuilt.leaves == original.leaves
    assert rebuilt.anchors == original.anchors
