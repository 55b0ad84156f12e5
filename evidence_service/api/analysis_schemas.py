"""Request and response bodies of the analysis endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from evidence_service.domain.models import (
    AnalysisJob,
    AnalysisOptions,
    DerivedArtefact,
    JobStatus,
)

_Geometry = list[str]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")

    zones: _Geometry = Field(default_factory=list, max_length=16,
                             description="NAME=x1,y1,x2,y2,x3,y3[,…] (normalised 0..1)")
    lines: _Geometry = Field(default_factory=list, max_length=16,
                             description="NAME=x1,y1,x2,y2 (normalised 0..1)")
    marks: _Geometry = Field(default_factory=list, max_length=256,
                             description="officer marks: SECONDS[=LABEL]")


class AnalysisIn(_In):
    task: Literal["analyze", "redact"] = "analyze"
    mode: Literal["fast", "full"] = "fast"

    def options(self) -> AnalysisOptions:
        return AnalysisOptions(task=self.task, mode=self.mode, zones=tuple(self.zones),
                               lines=tuple(self.lines), marks=tuple(self.marks))


class CaseAnalysisIn(_In):
    mode: Literal["fast", "full"] = "fast"
    rerun: bool = True

    def options(self) -> AnalysisOptions:
        return AnalysisOptions(mode=self.mode, zones=tuple(self.zones),
                               lines=tuple(self.lines), marks=tuple(self.marks))


class JobOut(BaseModel):
    id: str
    item_id: str
    status: JobStatus
    stage: str | None
    progress: float
    reason: str | None
    attempts: int
    options: AnalysisOptions
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    #: The worker that claimed the job last.
    worker: str | None = None

    @classmethod
    def of(cls, job: AnalysisJob) -> JobOut:
        return cls.model_validate(job.model_dump(exclude={"department_id", "requested_by",
                                                          "heartbeat_at"}))


class ArtefactOut(BaseModel):
    id: str
    item_id: str
    job_id: str
    kind: str
    name: str
    media_type: str
    size: int
    sha256: str
    sm3: str
    derived_from_sha256: str
    log_index: int
    created_at: datetime

    @classmethod
    def of(cls, artefact: DerivedArtefact) -> ArtefactOut:
        return cls.model_validate(artefact.model_dump(exclude={"department_id",
                                                               "storage_key"}))


class AnalysisOut(BaseModel):
    jobs: list[JobOut]
    artefacts: list[ArtefactOut]
