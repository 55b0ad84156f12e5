"""HTTP layer: routers, request/response schemas and the composition root (``create_app``)."""

from evidence_service.api.app import create_app

__all__ = ["create_app"]
