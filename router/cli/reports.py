"""`dispute-router archive ...` and `reports ...` (docs/api.md §9, docs/reports.md §2 and §8)."""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from tqdm import tqdm

from router.services import Services
from router.testing.seed import seed


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from e


def cmd_verify(svc: Services, args: argparse.Namespace) -> int:
    """Check a case file: exit 0 when every member, the signature and the hash chain hold, else 1."""
    c = svc.check_case_file(Path(args.file).read_bytes(), args.public_key)
    print(f"{args.file}: dispute {c.dispute_id} {c.reference or ''}; {c.events} events; signature {c.signature}")
    for p in c.problems:
        print(f"  problem: {p}")
    print("OK" if c.ok else "FAILED")
    return 0 if c.ok else 1


def cmd_export(svc: Services, args: argparse.Namespace) -> int:
    """The case files of the disputes closed from --from to --to, one zip each, and an index.csv;
    files already there are kept (run it again to finish an interrupted export)."""
    out = Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)
    found = svc.closed_between(args.from_, args.to)
    written = 0
    with (out / "index.csv").open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(["reference", "dispute_id", "file"])
        for dispute_id, reference in tqdm(found, desc="case files", unit="件", file=sys.stderr,
                                          disable=args.quiet):
            name = f"case-file-{dispute_id}.zip"
            if args.force or not (out / name).exists():
                bundle, _ = svc.case_file(dispute_id)
                tmp = out / f".{name}.part"
                tmp.write_bytes(bundle)
                tmp.replace(out / name)
                written += 1
            w.writerow([reference, dispute_id, name])
    print(f"{len(found)} case files in {out} ({written} written, {len(found) - written} already there)")
    return 0


def cmd_public_key(svc: Services, args: argparse.Namespace) -> int:
    print(svc.case_file_key())
    return 0


def cmd_rebuild(svc: Services, args: argparse.Namespace) -> int:
    """Fold every dispute's events into the report figures again (docs/reports.md §2)."""
    with tqdm(desc="disputes", unit="件", file=sys.stderr, disable=args.quiet) as bar:
        n = svc.rebuild_figures(progress=bar.update)
    print(f"report figures rebuilt from the event log of {n} disputes")
    return 0


def cmd_demo_data(svc: Services, args: argparse.Namespace) -> int:
    """The demo's history: disputes of the past months played to today, so the reports show something."""
    added = seed(svc, args.disputes, args.days)
    print(f"demo data: {added} disputes added ({args.disputes} over the last {args.days} days in all)")
    return 0


def register(sub: Any, services: Callable[[], Services], offline: Callable[[], Services]) -> None:
    """`offline`: services that need no migrated database (checking a file needs only the key)."""
    def run(fn: Callable[[Services, argparse.Namespace], int],
            make: Callable[[], Services] = services) -> Callable[[argparse.Namespace], int]:
        return lambda args: fn(make(), args)

    archive = sub.add_parser("archive", help="一案一卷: case files").add_subparsers(dest="archive_command",
                                                                                   required=True)
    v = archive.add_parser("verify", help="check a case file (zip): members, signature, hash chain")
    v.add_argument("file")
    v.add_argument("--public-key", help="the service's public key (hex); default: this service's own")
    v.set_defaults(func=run(cmd_verify, offline))
    e = archive.add_parser("export", help="write the case files of the disputes closed in a period")
    e.add_argument("--from", dest="from_", type=_day, required=True)
    e.add_argument("--to", type=_day, required=True)
    e.add_argument("dir")
    e.add_argument("--force", action="store_true", help="write again the files already there")
    e.add_argument("--quiet", action="store_true", help="no progress bar")
    e.set_defaults(func=run(cmd_export))
    archive.add_parser("public-key", help="print the key case files are signed with (hex Ed25519)").set_defaults(
        func=run(cmd_public_key, offline))
    demo = sub.add_parser("demo-data", help="seed past disputes (routed, handled, closed) for the demo's reports")
    demo.add_argument("--disputes", type=int, default=1500)
    demo.add_argument("--days", type=int, default=365)
    demo.set_defaults(func=run(cmd_demo_data))
    reports = sub.add_parser("reports", help="report figures").add_subparsers(dest="reports_command", required=True)
    r = reports.add_parser("rebuild", help="fold the whole event log into the report figures again")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=run(cmd_rebuild))
