"""Command line: ``python -m evidence_verify bundle|consistency|package …``.

Exit status: 0 verified; 1 verification failed (proof, file or chain contradicts the claim);
2 usage error or malformed/unsupported input (for a package: an unsafe ZIP or a manifest
that breaks the schema); 3 the chain could not be asked (unreachable node, HTTP or JSON-RPC
error); 4 pending (the entry, or some entry of a package, is not anchored yet).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from evidence_verify import _fields
from evidence_verify.bundle import verify_bundle, verify_consistency_response
from evidence_verify.errors import (
    BundleFormatError,
    ChainUnavailable,
    NotAnchored,
    VerificationError,
)
from evidence_verify.package import verify_package
from evidence_verify.report import Check, VerificationReport

__all__ = [
    "EXIT_FAILED",
    "EXIT_PENDING",
    "EXIT_UNAVAILABLE",
    "EXIT_USAGE",
    "EXIT_VERIFIED",
    "main",
]

EXIT_VERIFIED = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_PENDING = 4
_PROG = "python -m evidence_verify"
_EXIT_HELP = """exit status:
  0  verified
  1  verification failed: the proof, the file or the chain contradicts the bundle
  2  usage error, or malformed/unsupported input
  3  the chain could not be asked (unreachable node, HTTP or JSON-RPC error)
  4  pending: the entry is not anchored yet"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``); return the exit status.

    Catches every VerificationError and OSError, prints it, and maps it to an exit status.
    """
    args = _parser().parse_args(argv)
    _tolerant_stdout()
    if args.command == "package":
        return _main_package(args)
    try:
        report = _run(args)
    except VerificationError as exc:
        return _report_failure(args, exc)
    except OSError as exc:
        print(f"{_PROG}: cannot read {exc.filename or ''}: {exc.strerror or exc}",
              file=sys.stderr)
        return EXIT_USAGE
    _print(args, report, None)
    return EXIT_PENDING if report.verdict == "pending" else EXIT_VERIFIED


def _main_package(args: argparse.Namespace) -> int:
    try:
        report = verify_package(args.document, rpc_url=args.rpc, timeout=args.timeout)
    except VerificationError as exc:  # PackageFormatError: unsafe ZIP or bad manifest
        if args.json:
            print(json.dumps({"verdict": "failed", "error": {"type": type(exc).__name__,
                                                             "message": str(exc)}},
                             ensure_ascii=False, indent=2))
        print(f"{_PROG}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"{_PROG}: cannot read {exc.filename or ''}: {exc.strerror or exc}",
              file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(report.render_text(), end="")
    for check in report.failures:
        print(f"{_PROG}: {check.subject}: {check.name}: {check.detail}", file=sys.stderr)
    return report.exit_code


def _run(args: argparse.Namespace) -> VerificationReport:
    document = _read_json(args.document)
    if args.command == "consistency":
        return verify_consistency_response(document)
    return verify_bundle(document, file=args.file, rpc_url=args.rpc, timeout=args.timeout)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true",
                        help="print the report as JSON instead of text")
    parser = argparse.ArgumentParser(
        prog=_PROG, description="Verify evidence proof bundles and log consistency proofs "
        "(docs/proof-format.md, version 1) with the Python standard library only.",
        epilog=_EXIT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    bundle = commands.add_parser("bundle", parents=[common], help="verify a proof bundle",
                                 description="Verify a proof bundle (GET /evidence/{id}/proof).")
    bundle.add_argument("document", type=Path, metavar="BUNDLE.json")
    bundle.add_argument("--file", type=Path, help="the evidence file: check its SHA-256/SM3")
    bundle.add_argument("--rpc", type=_http_url, metavar="URL",
                        help="JSON-RPC endpoint of the chain: check the anchor on chain")
    bundle.add_argument("--timeout", type=_seconds, default=10.0, metavar="SECONDS",
                        help="timeout of each RPC request (default 10)")
    consistency = commands.add_parser(
        "consistency", parents=[common], help="verify a log consistency proof",
        description="Verify a consistency proof (GET /log/consistency?from=M&to=N).")
    consistency.add_argument("document", type=Path, metavar="PROOF.json")
    package = commands.add_parser(
        "package", parents=[common], help="verify a case package (ZIP)",
        description="Verify a case package (GET /cases/{id}/package, docs/package-format.md): "
        "every file, proof and custody event; each culprit is named.")
    package.add_argument("document", type=Path, metavar="CASE.zip")
    package.add_argument("--rpc", type=_http_url, metavar="URL",
                         help="JSON-RPC endpoint of the chain: check every anchor on chain")
    package.add_argument("--timeout", type=_seconds, default=10.0, metavar="SECONDS",
                         help="timeout of each RPC request (default 10)")
    return parser


def _http_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"expected an http:// or https:// URL, got {text!r}")
    return text


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"expected seconds in (0, 600], got {text!r}")
    return value


def _read_json(path: Path) -> Any:
    return _fields.loads_json(path.read_bytes(), f"{path}")


def _report_failure(args: argparse.Namespace, exc: VerificationError) -> int:
    report = exc.report or VerificationReport(
        verdict="failed", checks=(Check("Input format", "格式", False, str(exc)),))
    _print(args, report, exc)
    print(f"{_PROG}: {type(exc).__name__}: {exc}", file=sys.stderr)
    if isinstance(exc, BundleFormatError | NotAnchored):
        return EXIT_USAGE
    if isinstance(exc, ChainUnavailable):
        return EXIT_UNAVAILABLE
    return EXIT_FAILED


def _print(args: argparse.Namespace, report: VerificationReport,
           error: VerificationError | None) -> None:
    if not args.json:
        print(report.render_text(), end="")
        return
    document = report.to_dict()
    if error is not None:
        document["error"] = {"type": type(error).__name__, "message": str(error)}
    print(json.dumps(document, ensure_ascii=False, indent=2))


def _tolerant_stdout() -> None:
    """Never crash on a console that cannot show the Chinese labels."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
