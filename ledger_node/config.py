"""Configuration: ``NodeConfig`` (explicit options for one anvil process) and ``LedgerSettings``.

Library code takes a ``NodeConfig`` or plain arguments; only the CLI (and the service's
composition root) read ``LedgerSettings`` from ``LEDGER_*`` environment variables.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_logger = logging.getLogger(__name__)

#: The well-known Hardhat/anvil development mnemonic. Its keys are public: dev chains only.
DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_CHAIN_ID = 31337
STATE_FILE_NAME = "anvil-state.json"


class NodeConfig(BaseModel):
    """Options for one local anvil node.

    ``port=0`` lets the node pick a free port (read back from its output); ``block_time=None``
    mines one block per transaction; ``state_path`` (when set) is loaded at start, dumped every
    ``state_interval`` seconds and on a graceful stop, so a restart keeps every anchor.
    """

    model_config = ConfigDict(frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8545, ge=0, le=65535)
    chain_id: int = Field(default=DEV_CHAIN_ID, gt=0)
    block_time: float | None = Field(default=None, gt=0)
    mnemonic: SecretStr = SecretStr(DEV_MNEMONIC)
    accounts: int = Field(default=10, ge=1)
    state_path: Path | None = None
    state_interval: int = Field(default=2, ge=1)
    binary: Path | None = None
    startup_timeout: float = Field(default=30.0, gt=0)
    stop_timeout: float = Field(default=15.0, gt=0)

    @classmethod
    def dev(cls, *, state_dir: Path | None = None, port: int = 8545) -> NodeConfig:
        """The embedded development node: chain 31337, automine, dev mnemonic.

        With ``state_dir`` the chain is kept in ``state_dir/anvil-state.json``.
        """
        state_path = state_dir / STATE_FILE_NAME if state_dir is not None else None
        return cls(port=port, state_path=state_path)

    @classmethod
    def throwaway(cls, *, state_dir: Path | None = None) -> NodeConfig:
        """A test node on a free port (``port=0``), otherwise like ``dev``."""
        return cls.dev(state_dir=state_dir, port=0)


class LedgerSettings(BaseSettings):
    """``LEDGER_*`` settings for the CLI and the service.

    When ``rpc_url`` is set, that node is used and no local anvil is started.
    """

    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore")

    rpc_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8545, ge=0, le=65535)
    chain_id: int = Field(default=DEV_CHAIN_ID, gt=0)
    block_time: float | None = Field(default=None, gt=0)
    state_dir: Path = Path("var/ledger")
    state_interval: int = Field(default=2, ge=1)
    mnemonic: SecretStr = SecretStr(DEV_MNEMONIC)
    anvil_binary: Path | None = None
    deployer_index: int = Field(default=0, ge=0)
    anchor_index: int = Field(default=1, ge=0)

    @model_validator(mode="after")
    def _enforce_dev_mnemonic_on_dev_chain(self) -> Self:
        if self.chain_id != DEV_CHAIN_ID and self.mnemonic.get_secret_value() == DEV_MNEMONIC:
            raise ValueError(
                f"LEDGER_MNEMONIC is the public development mnemonic but LEDGER_CHAIN_ID is "
                f"{self.chain_id}: set a real mnemonic (or keystores) outside chain {DEV_CHAIN_ID}"
            )
        return self

    @property
    def effective_rpc_url(self) -> str:
        """``rpc_url`` if set, else the local node's URL."""
        return self.rpc_url or f"http://{self.host}:{self.port}"

    @property
    def deployment_file(self) -> Path:
        """Where the registry deployment record is kept."""
        return self.state_dir / "deployment.json"

    @property
    def keystore_dir(self) -> Path:
        """Where encrypted department and anchoring keystores are kept."""
        return self.state_dir / "keystores"

    def node_config(self) -> NodeConfig:
        """The ``NodeConfig`` for the local anvil these settings describe."""
        return NodeConfig(
            host=self.host,
            port=self.port,
            chain_id=self.chain_id,
            block_time=self.block_time,
            mnemonic=self.mnemonic,
            state_path=self.state_dir / STATE_FILE_NAME,
            state_interval=self.state_interval,
            binary=self.anvil_binary,
        )


@lru_cache(maxsize=1)
def get_settings() -> LedgerSettings:
    """The process-wide ``LedgerSettings`` (read once from the environment)."""
    return LedgerSettings()
