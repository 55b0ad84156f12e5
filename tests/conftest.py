"""Shared fixtures: real PostgreSQL, a real S3 endpoint (moto_server), and the app on both.

External services are found through ``TEST_POSTGRES_URL`` and ``TEST_S3_URL`` (an S3 server
is started locally with moto when ``TEST_S3_URL`` is unset). Without them a test is skipped
with its reason, except under ``CI=true``, where a missing service fails the run.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, text

from tests.support.moto import S3Endpoint, parse_test_url, start_moto_server, stop
from tests.support.postgres import scratch_database

IN_CI = os.environ.get("CI", "").lower() == "true"
pytest_plugins = ["tests.support.anvil_fixtures"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--skip-external", action="store_true",
                     help="skip tests that need PostgreSQL or an S3 endpoint")


def _unavailable(config: pytest.Config, reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing service is a failure, not a skip)")
    pytest.skip(reason)


def pytest_runtest_setup(item: pytest.Item) -> None:
    skip_external = item.config.getoption("--skip-external")
    if item.get_closest_marker("db") and (
            skip_external or not os.environ.get("TEST_POSTGRES_URL")):
        _unavailable(item.config, "PostgreSQL test needs TEST_POSTGRES_URL")
    if item.get_closest_marker("minio") and skip_external:
        _unavailable(item.config, "S3 test skipped by --skip-external")


@pytest.fixture(autouse=True)
def no_unexpected_errors(caplog: pytest.LogCaptureFixture,
                         request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that logs at ERROR unless it is marked ``expect_error_logs``."""
    yield
    if request.node.get_closest_marker("expect_error_logs"):
        return
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    if errors:
        pytest.fail("unexpected ERROR log: " + "; ".join(r.getMessage() for r in errors[:3]))


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[S3Endpoint]:
    """A real S3 endpoint: ``TEST_S3_URL`` or a throwaway moto_server."""
    if url := os.environ.get("TEST_S3_URL"):
        yield parse_test_url(url)
        return
    base_url, process = start_moto_server()
    try:
        yield S3Endpoint(endpoint=urlsplit(base_url).netloc, access_key="testing",
                         secret_key="testing", secure=False)
    finally:
        stop(process)


@pytest.fixture
def own_pg_database(pg_database: str) -> Iterator[str]:
    """A PostgreSQL database for one test alone (for tests whose servers create demo
    accounts or otherwise need an empty database), dropped afterwards."""
    with scratch_database(pg_database, prefix="evidence_own") as url:
        yield url


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    base = os.environ.get("TEST_POSTGRES_URL")
    if not base:
        _unavailable(None, "PostgreSQL test needs TEST_POSTGRES_URL")  # type: ignore[arg-type]
    assert base is not None
    base = base.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"evidence_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        _unavailable(None, f"PostgreSQL at TEST_POSTGRES_URL unusable: {exc}")  # type: ignore[arg-type]
    url = base.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
