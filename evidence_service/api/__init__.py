"""HTTP layer: routers, request/response schemas and the composition root (``create_app``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evidence_service.api.app import create_app


def __getattr__(name: str) -> Any:
    # imported on first use: a batch worker process (api/batch_workers.py) loads only the
    # modules it needs, not the whole application (web3, the routes, the pages)
    if name == "create_app":
        from evidence_service.api.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["create_app"]
