"""`dispute-router` command line (docs/api.md §9): every command goes through Services."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from marshmallow import ValidationError as SchemaError
from tqdm import tqdm

from router import server
from router.adapters.contracts import write_all
from router.cli import reports
from router.domain.errors import ConfigError, DomainError, ValidationError
from router.domain.model import DELIVERY_MODES, StaffRole, Tier
from router.logs import configure
from router.messaging.worker import DeliveryWorker, Relay, Scheduler, Sweeper
from router.schemas.intake import DisputeIn, intake_command
from router.schemas.messages import flatten
from router.services import Services, build_services, explain
from router.settings import load_settings
from router.store.migrate import NotMigrated
from router.testing.demo import DemoAgencies

log = logging.getLogger("router.cli")


def _services(check_schema: bool = True) -> Services:
    return build_services(load_settings(), check_schema=check_schema)


def _copy_progress(desc: str, quiet: bool) -> Any:
    bar = tqdm(desc=desc, file=sys.stderr, disable=quiet)

    def step(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    return bar, step


def _checked(c: Any, what: str) -> int:
    print(f"{what} {c.path}: {c.events} events checked; hash chains {'intact' if c.broken is None else 'BROKEN'}")
    if c.broken is not None:
        print(f"  first broken link: {c.broken}")
    print("keys: ROUTER_PII_KEY and ROUTER_SECRET_KEY (or their files in ROUTER_VAR_DIR) are not in the "
          "database; keep them, apart from the copy")
    return 0 if c.broken is None else 1


def cmd_backup(args: argparse.Namespace) -> int:
    bar, step = _copy_progress("backup", args.quiet)
    with bar:
        c = _services().backup(Path(args.file), step)
    return _checked(c, "backup")


def cmd_restore(args: argparse.Namespace) -> int:
    bar, step = _copy_progress("restore", args.quiet)
    with bar:
        c = _services(check_schema=False).restore(Path(args.file), force=args.force, progress=step)
    return _checked(c, "restored from")


def cmd_audit_verify(args: argparse.Namespace) -> int:
    bar, step = _copy_progress("chains", args.quiet)
    with bar:
        r = _services().verify_chain(full=args.full, rekey=args.rekey, progress=step)
    print(f"{r['mode']}: {r['streams_checked']} chains, {r['events_checked']} events checked; "
          f"{'OK' if r['ok'] else 'BROKEN'}")
    for b in r["broken"]:
        print(f"  broken link: {b['stream']} #{b['stream_seq']}: {b['problem']}")
    if r["broken_count"] > len(r["broken"]):
        print(f"  … and {r['broken_count'] - len(r['broken'])} more")
    return 0 if r["ok"] else 1


def cmd_audit_anchor(args: argparse.Namespace) -> int:
    anchor, refused = _services().make_anchor(send=not args.no_send)
    if args.json:
        print(json.dumps(anchor, ensure_ascii=False, indent=2))
    print(f"anchor {anchor['seq']} made {anchor['made_at']}: {len(anchor['heads'])} chains moved, "
          f"{anchor['streams']} anchored in all")
    print(f"digest {anchor['digest']}")
    print("keep this digest outside the database (print it, file it, send it to a witness): "
          "`dispute-router audit check-anchor DIGEST` proves the history up to it unchanged")
    if refused:
        print(f"the witness (ROUTER_ANCHOR_URL) did not take it: {refused}; the scheduler offers it again",
              file=sys.stderr)
        return 1
    return 0


def cmd_audit_anchors(args: argparse.Namespace) -> int:
    for a in _services().recent_anchors(args.limit):
        sent = f"sent {a['sent_at']:%Y-%m-%d %H:%M}Z" if a["sent_at"] else (
            f"NOT SENT: {a['send_error']}" if a["send_error"] else "not sent")
        print(f"{a['seq']:>5}  {a['made_at']}  {a['digest']}  {a['heads']:>6} moved  {sent}")
    return 0


def cmd_audit_check_anchor(args: argparse.Namespace) -> int:
    r = _services().check_anchor(args.digest)
    if r["problem"]:
        print(f"BROKEN: {r['problem']}")
        return 1
    print(f"anchor {r['anchor']} ({r['made_at']:%Y-%m-%d %H:%M}Z): {r['streams_checked']} chains, "
          f"{r['events_checked']} events checked; {'OK' if r['ok'] else 'BROKEN'}")
    for b in r["broken"]:
        print(f"  broken link: {b['stream']} #{b['stream_seq']}: {b['problem']}")
    return 0 if r["ok"] else 1


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return n


def cmd_keys_status(args: argparse.Namespace) -> int:
    s = _services().pii_key_status()
    print(f"personal data: {s['current']} ciphertexts under ROUTER_PII_KEY, {s['old']} under an older key"
          + ("" if s["old"] else " (ROUTER_PII_OLD_KEYS can be emptied)"))
    return 0


def cmd_keys_rotate_pii(args: argparse.Namespace) -> int:
    bar, step = _copy_progress("re-encrypting", args.quiet)
    with bar:
        r = _services().rotate_pii_keys(batch=args.batch, progress=step)
    print(f"{r['rotated']} re-encrypted under ROUTER_PII_KEY, {r['skipped']} changed meanwhile or done already; "
          f"{r['left']} still under an older key")
    if r["unreadable"]:
        print(f"{r['unreadable']} could be read with no configured key (a key missing from ROUTER_PII_OLD_KEYS, or "
              f"a damaged value): {', '.join(r['unreadable_at'])}", file=sys.stderr)
        return 1
    if r["left"]:
        print("run it again: what changed while it ran is left for the next run")
        return 1
    print("nothing is left under an older key: remove it from ROUTER_PII_OLD_KEYS on every process")
    return 0


def cmd_pii_originals(args: argparse.Namespace) -> int:
    found = _services().reveal_originals(args.dispute, operator=args.operator, to=args.to, basis=args.basis)
    if not found:
        print("nothing was masked in this dispute's free text")
    for r in found:
        print(f"{r['place']} ({', '.join(r['kinds'])}, {r['sealed_at']:%Y-%m-%d %H:%M}Z):")
        print(f"  {r['original']}")
    if found:
        print(f"recorded on the dispute's audit trail: revealed to {args.to} ({args.basis}) by {args.operator}")
    return 0


def cmd_init_db(args: argparse.Namespace) -> int:
    svc = _services(check_schema=False)
    svc.migrate()
    counts = svc.sync_agencies()
    print(f"database migrated; agencies: {counts['added']} added, {counts['updated']} updated, "
          f"{counts['unchanged']} unchanged")
    if svc.figures_missing():  # disputes from before the reports: fold their events into the figures
        print(f"report figures rebuilt for {svc.rebuild_figures()} disputes")
    return 0


def _password(args: argparse.Namespace) -> str | None:
    """A password from standard input (one line), never from the command line where `ps` shows it."""
    if not getattr(args, "password_stdin", False):
        return None
    return sys.stdin.readline().rstrip("\r\n")


def cmd_user_add(args: argparse.Namespace) -> int:
    token = _services().add_user(args.name, args.role, _password(args), division=args.division)
    area = f", scoped to division {args.division}" if args.division else ""
    print(f"user {args.name} ({args.role}{area}) created; bearer token:")
    print(token)
    return 0


def cmd_user_passwd(args: argparse.Namespace) -> int:
    _services().set_password(args.name, _password(args) or "")
    print(f"password of {args.name} changed; their web sessions signed in before now have ended")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    server.serve(_services(), args.host, args.port, threads=args.threads, workers=args.workers,
                 with_workers=args.with_workers, processes=args.processes,
                 announce=lambda line: print(line, flush=True))
    return 0


def _run_until_signal(parts: list[Any]) -> int:
    threads = [threading.Thread(target=p.run, name=type(p).__name__, daemon=True) for p in parts]
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    for t in threads:
        t.start()
    stop.wait()
    for p in parts:
        p.stop.set()
    for t in threads:
        t.join(10)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    svc = _services()
    print(f"delivery worker: {args.threads} consumer(s) on {svc.settings.broker_url.split('@')[-1]}", flush=True)
    return _run_until_signal([DeliveryWorker(svc, prefetch=args.prefetch) for _ in range(args.threads)])


def cmd_relay(args: argparse.Namespace) -> int:
    svc = _services()
    print(f"relay and sweeper on {svc.settings.broker_url.split('@')[-1]}", flush=True)
    return _run_until_signal([Relay(svc), Sweeper(svc)])


def cmd_scheduler(args: argparse.Namespace) -> int:
    svc = _services()
    print("scheduler: due timers -> workflow triggers", flush=True)
    return _run_until_signal([Scheduler(svc)])


def cmd_agency_add(args: argparse.Namespace) -> int:
    key_id, secret = _services().add_agency(args.code, args.name, args.body_type, args.tier, args.division,
                                            args.endpoint, args.priority, args.delivery, args.signing)
    print(f"agency {args.code} added; key id and signing secret (shown once, keep the secret safe):")
    print(f"{key_id} {secret}")
    return 0


def cmd_agency_rotate_key(args: argparse.Namespace) -> int:
    key_id, secret = _services().rotate_agency_key(args.code)
    print(f"new key for {args.code}; the previous key stays valid until the next rotation:")
    print(f"{key_id} {secret}")
    return 0


def cmd_routing_explain(args: argparse.Namespace) -> int:
    raw = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    try:
        data = DisputeIn().load(json.loads(raw))
    except json.JSONDecodeError as e:
        print(f"error: not valid JSON: {e}", file=sys.stderr)
        return 2
    except SchemaError as e:
        for k, v in flatten(e.messages, zh=False).items():
            print(f"error: {k}: {'; '.join(v)}", file=sys.stderr)
        return 2
    decision = explain(load_settings(), intake_command(data), date.today())
    if args.format == "json":
        print(json.dumps(decision.as_dict(), ensure_ascii=False, indent=2))
    else:
        d = decision.as_dict()
        lead = d["lead"]
        print(f"tier: {d['tier']}")
        print(f"lead: {lead['body_type']} -> {lead['agency'] or '(none: needs supervisor)'}")
        for a in d["assisting"]:
            print(f"assist: {a['body_type']} -> {a['agency']}")
        print(f"ruleset: {d['ruleset_version']}")
        for r in d["reasons"]:
            print(f"  [{r['rule']}] {r['text']}")
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    text = server.openapi_document(_services(check_schema=False))
    if args.write:
        Path(args.write).write_text(text, encoding="utf-8")
        print(f"wrote {args.write}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_contracts(args: argparse.Namespace) -> int:
    for name in write_all(Path(args.write)):
        print(f"wrote {Path(args.write) / name}")
    return 0


def cmd_stub_agency(args: argparse.Namespace) -> int:
    """The demo's agencies: accept and verify every delivery, print one line each; with --acknowledge,
    answer each new referral with a signed 签收 callback, as a real agency's system would."""
    svc = _services()
    router_url = args.router or svc.settings.public_url
    demo = DemoAgencies(svc, router_url, acknowledge=args.acknowledge, say=lambda line: print(line, flush=True))
    base = demo.start(args.port)
    print(f"stub agency on {base}/agencies/<code>/handoffs for {len(demo.stub.secrets)} agencies"
          f"{f'; acknowledging each handoff at {router_url}' if args.acknowledge else ''}; Ctrl-C stops it",
          flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    demo.report(stop)
    demo.stop()
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dispute-router", description="一站式矛盾纠纷调解中心 dispute router")
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("init-db", help="migrate the database and load the configured agencies").set_defaults(
        func=cmd_init_db)

    user = sub.add_parser("user", help="staff users").add_subparsers(dest="user_command", required=True)
    add = user.add_parser("add", help="create a user; prints the token alone on the last line")
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, choices=[str(r) for r in StaffRole])
    add.add_argument("--password-stdin", action="store_true", help="read a web sign-in password from stdin")
    add.add_argument("--division", help="limit the user to this division's subtree (default: the whole centre)")
    add.set_defaults(func=cmd_user_add)
    pw = user.add_parser("passwd", help="set a user's web sign-in password, read from stdin")
    pw.add_argument("--name", required=True)
    pw.add_argument("--password-stdin", action="store_true", required=True)
    pw.set_defaults(func=cmd_user_passwd)

    serve = sub.add_parser("serve", help="run the service (embedded default: everything in one process)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--threads", type=int, default=8, help="request threads (per process)")
    serve.add_argument("--processes", type=int, default=1,
                       help="web processes on one port (gunicorn, Linux/macOS); background work stays in this one")
    serve.add_argument("--workers", type=int, default=2, help="in-process delivery consumers")
    serve.add_argument("--with-workers", action="store_true", help="run delivery in-process with RabbitMQ too")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="delivery consumers (RabbitMQ); run as many as you like")
    worker.add_argument("--threads", type=int, default=4)
    worker.add_argument("--prefetch", type=int, default=8)
    worker.set_defaults(func=cmd_worker)
    sub.add_parser("relay", help="outbox relay and delivery sweeper; several may run on PostgreSQL").set_defaults(
        func=cmd_relay)

    sub.add_parser("scheduler", help="fire due timers (acknowledgement deadlines...); several may run on "
                                     "PostgreSQL").set_defaults(func=cmd_scheduler)

    agency = sub.add_parser("agency", help="partner agencies and their signing keys").add_subparsers(
        dest="agency_command", required=True)
    aa = agency.add_parser("add", help="register an agency; prints `KEY_ID SECRET` alone on the last line")
    aa.add_argument("--code", required=True)
    aa.add_argument("--name", required=True)
    aa.add_argument("--body-type", required=True)
    aa.add_argument("--tier", required=True, choices=[str(t) for t in Tier])
    aa.add_argument("--division", required=True, help="12-digit division code of its jurisdiction")
    aa.add_argument("--endpoint", help="where handoffs are POSTed (http or https URL); none: a pull agency")
    aa.add_argument("--delivery", choices=list(DELIVERY_MODES),
                    help="push (to --endpoint), pull (it fetches its handoffs) or paper (a clerk hands over a 委托函)")
    aa.add_argument("--priority", type=int, default=0,
                    help="beside an agency of the same type, tier and area: higher wins; equal ones share the load")
    aa.add_argument("--signing", choices=["hmac-sha256", "hmac-sm3"], default="hmac-sha256",
                    help="how its calls are signed both ways: Standard Webhooks' HMAC-SHA256 (v1), "
                         "or HMAC-SM3 (v1sm3, 国密)")
    aa.set_defaults(func=cmd_agency_add)
    ar = agency.add_parser("rotate-key", help="issue a new key; the previous one stays valid, older ones retire")
    ar.add_argument("--code", required=True)
    ar.set_defaults(func=cmd_agency_rotate_key)

    routing = sub.add_parser("routing", help="routing tools").add_subparsers(dest="routing_command", required=True)
    ex = routing.add_parser("explain", help="a dispute JSON in (file or - for stdin), the decision with reasons out")
    ex.add_argument("file", nargs="?", default="-")
    ex.add_argument("--format", choices=["text", "json"], default="text")
    ex.set_defaults(func=cmd_routing_explain)
    oa = sub.add_parser("openapi", help="print the OpenAPI document (or --write contracts/openapi.json)")
    oa.add_argument("--write", metavar="PATH")
    oa.set_defaults(func=cmd_openapi)
    ct = sub.add_parser("contracts", help="write each body type's handoff JSON Schema with an example")
    ct.add_argument("--write", metavar="DIR", default="contracts")
    ct.set_defaults(func=cmd_contracts)
    audit = sub.add_parser("audit", help="the event log's hash chains").add_subparsers(dest="audit_command",
                                                                                      required=True)
    av = audit.add_parser("verify", help="check the chains that moved since their checkpoint (--full: all of them)")
    av.add_argument("--full", action="store_true", help="every chain from its first event, through its checkpoint")
    av.add_argument("--rekey", action="store_true",
                    help="with --full: re-sign checkpoints made with an older ROUTER_SECRET_KEY, after checking "
                         "those chains from the start")
    av.add_argument("--quiet", action="store_true", help="no progress bar")
    av.set_defaults(func=cmd_audit_verify)
    an = audit.add_parser("anchor", help="make an anchor now: the digest of the verified chain heads, to keep "
                                         "outside; sent to ROUTER_ANCHOR_URL when set (the scheduler makes one daily)")
    an.add_argument("--json", action="store_true", help="also print the anchor as its witness gets it")
    an.add_argument("--no-send", action="store_true", help="do not send it to the witness")
    an.set_defaults(func=cmd_audit_anchor)
    al = audit.add_parser("anchors", help="the latest anchors, their digests and whether the witness took them")
    al.add_argument("--limit", type=int, default=10)
    al.set_defaults(func=cmd_audit_anchors)
    ac = audit.add_parser("check-anchor", help="does the store still hold the history an anchor's digest commits "
                                               "to? exit 0 when it does")
    ac.add_argument("digest", help="the 64-character digest, as printed or as the witness kept it")
    ac.set_defaults(func=cmd_audit_check_anchor)
    keys = sub.add_parser("keys", help="the personal-data key (ROUTER_PII_KEY)").add_subparsers(
        dest="keys_command", required=True)
    kr = keys.add_parser("rotate-pii", help="re-encrypt every ID number, phone, agency secret and masked original "
                                            "under the current ROUTER_PII_KEY, in batches, while the service runs")
    kr.add_argument("--batch", type=_positive, default=500, help="rows per transaction")
    kr.add_argument("--quiet", action="store_true", help="no progress bar")
    kr.set_defaults(func=cmd_keys_rotate_pii)
    keys.add_parser("status", help="how many ciphertexts are still under an older key").set_defaults(
        func=cmd_keys_status)
    pii = sub.add_parser("pii", help="personal data").add_subparsers(dest="pii_command", required=True)
    po = pii.add_parser("originals", help="原文调阅: a dispute's free text as typed, before its ID and mobile numbers "
                                          "were masked; recorded as revealed on its audit trail")
    po.add_argument("dispute", help="the dispute's reference (文号) or id")
    po.add_argument("--operator", required=True, help="who reads it (you)")
    po.add_argument("--to", required=True, help="for whom: the court, the police station, the party")
    po.add_argument("--basis", required=True, help="the legal basis or the request's number (调取证据通知书 …)")
    po.set_defaults(func=cmd_pii_originals)
    bk = sub.add_parser("backup", help="copy the embedded (SQLite) database while it serves; checks the copy's chains")
    bk.add_argument("file", help="the copy to write (replaced only once complete)")
    bk.add_argument("--quiet", action="store_true", help="no progress bar")
    bk.set_defaults(func=cmd_backup)
    rs = sub.add_parser("restore", help="put a backup in the database's place (stop the service first)")
    rs.add_argument("file", help="a file written by `backup`")
    rs.add_argument("--force", action="store_true", help="overwrite a database that holds data")
    rs.add_argument("--quiet", action="store_true", help="no progress bar")
    rs.set_defaults(func=cmd_restore)
    st = sub.add_parser("stub-agency", help="demo agencies on loopback: verify and accept every delivery")
    st.add_argument("--port", type=int, default=8900)
    st.add_argument("--acknowledge", action="store_true", help="answer each handoff with a signed 签收 callback")
    st.add_argument("--router", help="the router's base URL for callbacks (default: ROUTER_PUBLIC_URL)")
    st.set_defaults(func=cmd_stub_agency)
    reports.register(sub, _services, lambda: _services(check_schema=False))
    return p


def main(argv: Sequence[str] | None = None) -> int:
    configure()
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as e:
        print(f"configuration error: {e}", file=sys.stderr)
        return 2
    except ValidationError as e:
        for k, v in (e.fields or {"": [(e.message_zh, e.message_en)]}).items():
            print(f"error: {k}: {'; '.join(m[1] for m in v)}", file=sys.stderr)
        return 2
    except DomainError as e:
        print(f"error: {e.message_en}", file=sys.stderr)
        return 2
    except NotMigrated as e:  # a clear line, not a traceback
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
