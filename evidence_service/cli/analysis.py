"""``evidence analysis`` (progress and artefacts) and ``evidence analyze`` (re-run, redact)."""

from __future__ import annotations

import time

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
from rich.table import Table

from evidence_service.cli.items import ServerOpt, TokenOpt
from evidence_service.cli.session import ApiSession, CliError

console = Console()


def analysis(item_id: str = typer.Argument(..., help="Evidence item id"),
             watch: bool = typer.Option(False, "--watch", "-w",
                                        help="Follow the latest job until it ends"),
             server: str | None = ServerOpt, token: str | None = TokenOpt) -> None:
    """Show an item's analysis jobs (with a progress bar) and its derived artefacts."""
    session = ApiSession.open(server, token)
    body = session.get(f"/items/{item_id}/analysis")
    if watch and body["jobs"]:
        body = _follow(session, item_id, body["jobs"][-1]["id"])
    jobs = Table("job", "task", "status", "stage", "progress", "reason")
    for job in body["jobs"]:
        jobs.add_row(job["id"][:8], job["options"]["task"], job["status"], job["stage"] or "-",
                     f"{job['progress']:.0%}", job["reason"] or "")
    console.print(jobs)
    artefacts = Table("artefact", "kind", "name", "size", "sha256", "log")
    for a in body["artefacts"]:
        artefacts.add_row(a["id"], a["kind"], a["name"], str(a["size"]), a["sha256"][:16] + "…",
                          str(a["log_index"]))
    console.print(artefacts)
    failed = [j for j in body["jobs"] if j["status"] == "failed"]
    if watch and failed and failed[-1] is body["jobs"][-1]:
        raise CliError(f"analysis failed: {failed[-1]['reason']}")


def _follow(session: ApiSession, item_id: str, job_id: str) -> dict[str, object]:
    with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                  console=console) as progress:
        task = progress.add_task("queued", total=1.0)
        while True:
            body = session.get(f"/items/{item_id}/analysis")
            job = next(j for j in body["jobs"] if j["id"] == job_id)
            progress.update(task, completed=job["progress"],
                            description=f"{job['status']}: {job['stage'] or 'waiting'}")
            if job["status"] in ("done", "failed"):
                return dict(body)
            time.sleep(0.5)


def analyze(item_id: str = typer.Argument(..., help="Evidence item id"),
            zone: list[str] = typer.Option(None, "--zone", help="NAME=x1,y1,x2,y2,x3,y3,…"),
            line: list[str] = typer.Option(None, "--line", help="NAME=x1,y1,x2,y2"),
            mark: list[str] = typer.Option(None, "--mark", help="SECONDS[=LABEL]"),
            full: bool = typer.Option(False, "--full", help="Decode every frame"),
            redact: bool = typer.Option(False, "--redact",
                                        help="Make a face-blurred disclosure copy instead"),
            server: str | None = ServerOpt, token: str | None = TokenOpt) -> None:
    """Queue a new analysis of a stored video (or a redacted copy) and follow it."""
    session = ApiSession.open(server, token)
    job = session.post(f"/items/{item_id}/analysis", {
        "task": "redact" if redact else "analyze", "mode": "full" if full else "fast",
        "zones": zone or [], "lines": line or [], "marks": mark or []})
    console.print(f"queued job {job['id']}")
    analysis(item_id, watch=True, server=server, token=token)
