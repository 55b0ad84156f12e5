"""Service settings (pydantic-settings, prefix ``EVIDENCE_``, nested values with ``__``).

Only ``create_app`` and the CLIs read settings; library code takes explicit arguments.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from evidence_service.domain.policy import DEFAULT_NEGATIVE_LIST, NegativeEntry

_PLACEHOLDERS = {"", "changeme", "change-me", "secret", "minioadmin", "password"}


class S3Settings(BaseModel):
    """S3 / MinIO object store (``EVIDENCE_S3__ENDPOINT`` etc.)."""

    endpoint: str = "127.0.0.1:9000"
    access_key: SecretStr = SecretStr("")
    secret_key: SecretStr = SecretStr("")
    bucket: str = "evidence"
    region: str = "us-east-1"
    secure: bool = False
    #: Default object-lock retention in days (0 disables object lock on new buckets).
    retention_days: int = Field(default=0, ge=0)
    retention_mode: Literal["GOVERNANCE", "COMPLIANCE"] = "COMPLIANCE"
    part_size: int = Field(default=64 * 1024 * 1024, ge=5 * 1024 * 1024)
    #: How long a dead (connect) or hung (read) endpoint may hold one call, in seconds.
    connect_timeout_seconds: float = Field(default=3.0, gt=0)
    read_timeout_seconds: float = Field(default=20.0, gt=0)


class LedgerConfig(BaseModel):
    """The chain (``EVIDENCE_LEDGER__MODE`` etc.).

    ``embedded`` starts a supervised local anvil (state in ``var/ledger``) and deploys the
    registry on first start; ``external`` uses ``rpc_url`` + ``contract_address`` and signs
    with the anchoring key from an encrypted ``keystore``; ``off`` runs without a chain (items
    stay ``stored`` and verification answers ``pending``).
    """

    mode: Literal["embedded", "external", "off"] = "embedded"
    port: int = Field(default=8545, ge=0, le=65535)
    block_time: float | None = Field(default=None, gt=0)
    rpc_url: str | None = None
    contract_address: str | None = None
    #: A deployment record (``ledger-node deploy``) to read the contract address from when
    #: ``contract_address`` is unset (the compose stack's init job writes one).
    deployment_file: Path | None = None
    chain_id: int | None = None
    keystore: Path | None = None
    keystore_password: SecretStr | None = None
    #: The governing admin that registers department accounts (external mode; embedded mode
    #: uses the dev chain's deployer).
    admin_keystore: Path | None = None
    admin_keystore_password: SecretStr | None = None
    #: Password of every department keystore (``var/keystores/departments``). In dev mode one
    #: is generated once and kept in ``var/``.
    department_keystore_password: SecretStr | None = None
    #: scrypt cost of new department keystores (2**18 as eth-account; tests use less).
    keystore_scrypt_n: int = Field(default=2**18, ge=2**10)


class AnalysisConfig(BaseModel):
    """Background video analysis (``EVIDENCE_ANALYSIS__ENABLED`` etc.)."""

    #: Queue stored video for analysis and run the in-process job runner.
    enabled: bool = True
    #: Job runner threads in this process (each analysis also uses ``pipeline_workers``).
    workers: int = Field(default=1, ge=0, le=16)
    pipeline_workers: int = Field(default=2, ge=1, le=16)
    #: Seconds without a heartbeat after which a running job is taken up again.
    stale_seconds: float = Field(default=30.0, gt=0)


class JobsConfig(BaseModel):
    """Where analysis jobs run (``EVIDENCE_JOBS__BACKEND`` etc.).

    ``inprocess``: threads of each API process (``analysis.workers``). ``celery``: separate
    ``evidence worker`` processes fed through a Redis broker; the API runs no job threads and
    only sends "there is work" nudges. Job state always lives in the database.
    """

    backend: Literal["inprocess", "celery"] = "inprocess"
    broker_url: str = "redis://127.0.0.1:6379/0"
    #: The Celery queue the nudges go to.
    queue: str = "evidence-analysis"
    #: Seconds between the API's checks for claimable jobs (new or abandoned).
    dispatch_interval: float = Field(default=1.0, gt=0)


class IntegrityConfig(BaseModel):
    """The integrity scanner (``EVIDENCE_INTEGRITY__INTERVAL_SECONDS`` etc.)."""

    #: Re-hash stored objects in the background of this process.
    enabled: bool = True
    #: Seconds from the end of one pass to the start of the next.
    interval_seconds: float = Field(default=6 * 3600.0, gt=0)
    #: Read throttle so that ingest does not suffer (0: unthrottled).
    bytes_per_second: int = Field(default=32 * 1024 * 1024, ge=0)


class Settings(BaseSettings):
    """Everything configurable about one service process."""

    model_config = SettingsConfigDict(
        env_prefix="EVIDENCE_", env_nested_delimiter="__", extra="ignore"
    )

    #: ``dev`` accepts generated secrets; ``production`` refuses to start without real ones.
    mode: Literal["dev", "production"] = "dev"
    var_dir: Path = Path("var")
    database_url: str | None = None
    storage_backend: Literal["filesystem", "s3"] = "filesystem"
    objects_dir: Path | None = None
    spool_dir: Path | None = None
    s3: S3Settings = S3Settings()
    jwt_secret: SecretStr | None = None
    jwt_ttl_seconds: int = Field(default=8 * 3600, ge=60)
    #: Earlier signing secrets (JSON list): tokens they signed are accepted until they expire;
    #: new tokens are signed with ``jwt_secret`` only (``EVIDENCE_JWT_PREVIOUS_SECRETS``).
    jwt_previous_secrets: list[SecretStr] = []
    #: Origins allowed to call the API from a browser (JSON list); none by default.
    cors_origins: list[str] = []
    max_upload_bytes: int = Field(default=64 * 1024**3, ge=1)
    upload_expiry_hours: int = Field(default=72, ge=1)
    #: Most files one batch registration (``POST /cases/{id}/batches``) may hold.
    batch_max_files: int = Field(default=10_000, ge=1, le=100_000)
    #: Worker processes that register batches, per API process, started on the first batch
    #: (``api/batch_workers.py``); 0 registers them in the API process itself. None: 2, or 1
    #: on a single-core machine.
    batch_processes: int | None = Field(default=None, ge=0, le=64)
    ledger: LedgerConfig = LedgerConfig()
    #: Seconds between anchoring attempts (``EVIDENCE_ANCHOR_INTERVAL``).
    anchor_interval: float = Field(default=2.0, gt=0)
    #: Material that must not leave a department (JSON list; None: the default list of
    #: unclosed complaint clues and personal-privacy material). See ``domain/policy.py``.
    negative_list: list[NegativeEntry] | None = None
    analysis: AnalysisConfig = AnalysisConfig()
    jobs: JobsConfig = JobsConfig()
    integrity: IntegrityConfig = IntegrityConfig()
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _enforce_non_default_secrets(self) -> Settings:
        if self.mode != "production":
            return self
        if self.jwt_secret is None or self.jwt_secret.get_secret_value() in _PLACEHOLDERS:
            raise ValueError("EVIDENCE_JWT_SECRET must be set to a real secret in production")
        if self.database_url is None:
            raise ValueError("EVIDENCE_DATABASE_URL must be set in production")
        if self.ledger.mode == "embedded":
            raise ValueError("production needs EVIDENCE_LEDGER__MODE=external (a real network)")
        password = self.ledger.department_keystore_password
        if self.ledger.mode == "external" and (
                password is None or password.get_secret_value() in _PLACEHOLDERS):
            raise ValueError("EVIDENCE_LEDGER__DEPARTMENT_KEYSTORE_PASSWORD must be set "
                             "in production")
        if self.storage_backend == "s3":
            for name in ("access_key", "secret_key"):
                if getattr(self.s3, name).get_secret_value() in _PLACEHOLDERS:
                    raise ValueError(f"EVIDENCE_S3__{name.upper()} must be set in production")
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.var_dir / 'evidence.db').resolve()}"

    @property
    def resolved_objects_dir(self) -> Path:
        return self.objects_dir or self.var_dir / "objects"

    @property
    def resolved_spool_dir(self) -> Path:
        return self.spool_dir or self.var_dir / "uploads"

    @property
    def ledger_dir(self) -> Path:
        return self.var_dir / "ledger"

    @property
    def analysis_dir(self) -> Path:
        return self.var_dir / "analysis"

    @property
    def department_keystore_dir(self) -> Path:
        return self.var_dir / "keystores" / "departments"

    @property
    def resolved_negative_list(self) -> tuple[NegativeEntry, ...]:
        return DEFAULT_NEGATIVE_LIST if self.negative_list is None else tuple(self.negative_list)

    def resolved_jwt_secret(self) -> str:
        """The JWT signing secret; in dev mode one is generated once and kept in ``var/``."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        return self._generated_secret("jwt-secret")

    def resolved_department_password(self) -> str:
        """The department keystores' password; generated once in dev mode."""
        password = self.ledger.department_keystore_password
        if password is not None:
            return password.get_secret_value()
        return self._generated_secret("department-keystore-password")

    def _generated_secret(self, name: str) -> str:
        path = self.var_dir / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
