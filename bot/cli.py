"""The `bpu-bot` command line (DESIGN.md: command line contract)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from storage.models import LEAD_STATUSES
from storage.models import ROLES as MODEL_ROLES

ROLES = MODEL_ROLES
STATUSES = LEAD_STATUSES


def _settings():  # type: ignore[no-untyped-def]
    from bot.settings import Settings

    return Settings()


def cmd_run(args: argparse.Namespace) -> int:
    from bot import logs
    from bot.server import serve

    settings = _settings()
    # The key is generated here when there is none yet, so that it is known to the log filter.
    level = getattr(logging, args.log_level.upper())
    logs.configure(settings, level=level, extra_secrets=[settings.resolved_secret_key()])
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(settings))
    print("bpu-bot stopped.", flush=True)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from bot import logs
    from bot import runtime as rt
    from bot.channels.console.chat import ConsoleChat

    settings = _settings()
    logs.configure(settings, level=logging.WARNING, extra_secrets=[settings.resolved_secret_key()])
    runtime = rt.build(settings)

    async def go() -> None:
        try:
            known = await _known(runtime, args.user)
            if args.lang:
                await _set_language(runtime, args.user, args.lang)
            # In a terminal a new worker is greeted first, as the simulator does on open; through
            # pipes the other program says what it wants first (one answer for each line it sends).
            interactive = sys.stdin.isatty() and sys.stdout.isatty()
            greeting = "/start" if interactive and not known else None
            opening = f"/start {args.start}" if args.start else greeting
            chat = ConsoleChat(runtime.engine, args.user, lang=args.lang)
            await chat.run(sys.stdin, sys.stdout, opening=opening)
        finally:
            await runtime.db.dispose()

    try:
        asyncio.run(go())
    except KeyboardInterrupt:
        print()
    return 0


async def _known(runtime, user: str) -> bool:  # type: ignore[no-untyped-def]
    from storage import repositories as repo

    async with runtime.db.session() as session:
        return await repo.get_contact(session, "console", user) is not None


def _start_code(value: str) -> str:
    from handlers import links

    if not links.valid_code(value):
        raise argparse.ArgumentTypeError("a campaign or referral code: letters, digits, - and _ (at most 64)")
    return value


async def _set_language(runtime, user: str, lang: str) -> None:  # type: ignore[no-untyped-def]
    from storage import repositories as repo

    async with runtime.db.session() as session:
        contact, _ = await repo.get_or_create_contact(session, "console", user, language=lang)
        contact.language = lang


def cmd_db_upgrade(_: argparse.Namespace) -> int:
    from storage.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    print("database is at the latest schema")
    return 0


def cmd_leads_export(args: argparse.Namespace) -> int:
    from bot import exports
    from storage import repositories as repo
    from storage.db import Database
    from storage.migrate import upgrade

    if args.format == "xlsx" and not args.output:
        print("error: XLSX needs an output file: -o leads.xlsx", file=sys.stderr)
        return 2
    if args.area and not (args.area.isdigit() and len(args.area) in (4, 6)):
        print("error: --area takes a kabupaten/kota (4 digits) or kecamatan (6 digits) code", file=sys.stderr)
        return 2
    settings = _settings()
    upgrade(settings.database_url)
    zone = ZoneInfo(settings.timezone)

    async def go() -> int:
        db = Database(settings.database_url)
        try:
            leads = exports.stream_leads(db, area=args.area, status=args.status)
            options: dict[str, Any] = {"db": db, "zone": zone, "lang": args.lang}
            if args.format == "xlsx":
                count = await exports.write_xlsx(leads, args.output, **options)
            elif args.output:
                # A command of its own: nothing else waits on this loop while the file is written.
                with open(args.output, "w", encoding="utf-8-sig", newline="") as fh:  # noqa: ASYNC230
                    count = await exports.write_csv(leads, fh, separator=args.separator, **options)
            else:
                sys.stdout.reconfigure(encoding="utf-8", newline="")  # type: ignore[union-attr]
                sys.stdout.write("\ufeff")
                count = await exports.write_csv(leads, sys.stdout, separator=args.separator, **options)
            async with db.session() as session:
                await repo.audit(
                    session,
                    f"cli:{getpass.getuser()}",
                    "leads_export",
                    format=args.format,
                    area=args.area,
                    status=args.status,
                    lang=args.lang,
                    rows=count,
                    output=args.output or "stdout",
                )
            return count
        finally:
            await db.dispose()

    count = asyncio.run(go())
    print(f"exported {count} lead(s){' to ' + args.output if args.output else ''}", file=sys.stderr)
    return 0


def cmd_staff_add(args: argparse.Namespace) -> int:
    from bot.channels import registry
    from content import regions
    from storage import assignment
    from storage import repositories as repo
    from storage.db import Database
    from storage.migrate import upgrade

    for code in args.area or []:
        if regions.get(code) is None:
            print(f"error: unknown area code {code!r} (Banten kabupaten/kota: 4 digits, kecamatan: 6)", file=sys.stderr)
            return 2
    identities: dict[str, str | None] = {}
    for channel, kind in registry.staff_identities().items():
        typed = getattr(args, f"identity_{channel}", None)
        try:
            identities[channel] = kind.parse(typed) if typed else None
        except ValueError:
            print(f"error: {typed!r} {kind.option_invalid}", file=sys.stderr)
            return 2
    password_hash = None
    if args.password:
        password = _read_password()
        if len(password) < 10:
            print("error: the password needs at least 10 characters", file=sys.stderr)
            return 2
        from argon2 import PasswordHasher

        password_hash = PasswordHasher().hash(password)
    settings = _settings()
    upgrade(settings.database_url)

    async def go() -> int:
        from sqlalchemy.exc import IntegrityError

        db = Database(settings.database_url)
        name = " ".join(args.name.split())
        try:
            async with db.session() as session:
                same = await repo.staff_named(session, name)
                if same is not None:
                    # The dashboard logs in by name, in any case: a second one would lock both out.
                    print(f"error: a staff member is already called {same.name!r}; give a distinct name",
                          file=sys.stderr)  # fmt: skip
                    return -1
                staff = await repo.add_staff(
                    session,
                    name=name,
                    role=args.role,
                    identities=identities,
                    areas=args.area or [],
                    password_hash=password_hash,
                )
                picked_up = 0
                if args.role == "coordinator":
                    picked_up = (await assignment.pick_up(session, args.area or [])).picked_up
                await repo.audit(session, f"cli:{getpass.getuser()}", "staff_added", staff_id=staff.id, role=args.role,
                                 **({"leads": {"picked_up": picked_up}} if picked_up else {}))  # fmt: skip
                done["picked_up"] = picked_up
                return staff.id
        except IntegrityError:
            print("error: that Telegram id or WhatsApp number already belongs to a staff member", file=sys.stderr)
            return -1
        finally:
            await db.dispose()

    done: dict[str, int] = {}
    staff_id = asyncio.run(go())
    if staff_id < 0:
        return 1
    print(f"added {args.role} {' '.join(args.name.split())!r} (id {staff_id})")
    if done.get("picked_up"):
        print(f"{done['picked_up']} unassigned lead(s) of these areas are now assigned to them")
    return 0


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            raise SystemExit("error: the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\n")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bpu-bot", description="BPJS Ketenagakerjaan BPU outreach bot")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="HTTP server, channels, scheduler")
    run.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    run.set_defaults(func=cmd_run)

    chat = sub.add_parser("chat", help="talk to the bot in this terminal")
    chat.add_argument("--user", default=os.environ.get("USER") or "console", help="worker id (kept in the database)")
    chat.add_argument("--lang", choices=("id", "en"))
    chat.add_argument(
        "--start", metavar="CODE", type=_start_code, help="begin with `/start CODE` (campaign or referral)"
    )
    chat.set_defaults(func=cmd_chat)

    db = sub.add_parser("db", help="database")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations up to the latest").set_defaults(func=cmd_db_upgrade)
    from bot import cli_db

    cli_db.register(db_sub, sub)

    leads = sub.add_parser("leads", help="leads")
    leads_sub = leads.add_subparsers(dest="leads_command", required=True)
    export = leads_sub.add_parser("export", help="export leads (NIK masked)")
    export.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    export.add_argument("--area", help="kabupaten/kota (4 digits) or kecamatan (6 digits) code")
    export.add_argument("--status", choices=STATUSES)
    export.add_argument("-o", "--output", help="file to write (CSV goes to stdout without it)")
    export.add_argument("--lang", choices=("id", "en"), default="id", help="headers and words (default Indonesian)")
    export.add_argument(
        "--separator",
        choices=(";", ","),
        default=";",
        help="CSV field separator: ';' (default) is what Excel in an Indonesian locale splits on",
    )
    export.set_defaults(func=cmd_leads_export)

    staff = sub.add_parser("staff", help="staff accounts")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    add = staff_sub.add_parser("add", help="add a staff member")
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, choices=ROLES)
    from bot.channels import registry

    for channel, kind in registry.staff_identities().items():  # --telegram-id, --whatsapp
        metavar = kind.option.lstrip("-").replace("-", "_").upper()  # as argparse names it: TELEGRAM_ID
        add.add_argument(kind.option, dest=f"identity_{channel}", metavar=metavar, help=kind.option_help)
    add.add_argument("--area", nargs="*", help="area codes the coordinator works")
    add.add_argument("--password", action="store_true", help="set a dashboard password (asked, or read from stdin)")
    add.set_defaults(func=cmd_staff_add)

    from bot import cli_broadcast, cli_nlu

    cli_nlu.register(sub)
    cli_broadcast.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    _quiet_logging()  # `run` and `chat` set their own
    sys.exit(args.func(args))


def _quiet_logging() -> None:
    """Warnings only, through the redacting filter, for every command (`broadcast`, `leads`...)."""
    from bot import logs

    try:
        settings = _settings()
    except Exception:  # a bad setting is reported by the command that needs it, not by logging
        settings = None
    logs.configure(settings, level=logging.WARNING)
