"""What each file of a batch is: the ``Batch-Metadata`` defaults and its own pax headers.

Shared by the batch route (which checks the header before receiving the archive) and the
batch worker processes (which describe each member as they read it).
"""

from __future__ import annotations

from evidence_service.api.tus import (
    member_name_and_hash,
    new_upload_from_metadata,
    parse_metadata,
)
from evidence_service.domain.errors import InvalidInput
from evidence_service.domain.models import NewUpload
from evidence_service.services.batch_ingest import BatchMember, Describe

_PER_FILE_ONLY = frozenset({"filename", "sha256", "case_id"})
_PER_MEMBER = frozenset({"filename", "sha256"})


def describer(case_id: str, header: str | None) -> Describe:
    """How each member of a batch for ``case_id`` is described, from the ``Batch-Metadata``
    header's defaults and the member's own pax headers; raises InvalidInput."""
    defaults = parse_metadata(header)
    refused = sorted(_PER_FILE_ONLY & defaults.keys())
    if refused:
        raise InvalidInput(f"Batch-Metadata must not set {', '.join(refused)}: they are "
                           "per file (pax headers EVIDENCE.<key>) or come from the path")
    # Most members share every value but their name and hash: the rest is validated once per
    # distinct set of values, and only the name and hash of each further member (with the
    # same validators as new_upload_from_metadata)
    shared: dict[frozenset[tuple[str, bytes]], NewUpload] = {}

    def describe(member: BatchMember) -> NewUpload:
        meta = {**defaults, **member.metadata, "case_id": case_id.encode()}
        meta.setdefault("filename", member.filename.encode("utf-8", errors="surrogateescape"))
        key = frozenset((k, v) for k, v in meta.items() if k not in _PER_MEMBER)
        try:
            template = shared.get(key)
            if template is None:
                new = shared[key] = new_upload_from_metadata(meta, length=member.size)
                return new
            filename, sha256 = member_name_and_hash(meta)
        except InvalidInput as exc:
            shown = member.path[:80].encode("utf-8", errors="backslashreplace").decode()
            raise type(exc)(f"member {shown!r}: {exc}") from exc
        return template.model_copy(update={"filename": filename, "length": member.size,
                                           "declared_sha256": sha256})

    return describe


__all__ = ["describer"]
