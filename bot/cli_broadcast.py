"""`bpu-bot broadcast create|list|status|cancel|resend-uncertain` (DESIGN.md: command line contract).

    bpu-bot broadcast create --template broadcast_sosialisasi --var place="Kel. Cipare" --var date=2026-12-01 \
        --segment area=3673,occupation=transport,status=new --channel telegram --at "2026-12-01 09:00" --rsvp
    bpu-bot broadcast status 12 --follow

`create` shows the recipient count and a rendered preview and asks to confirm (`--yes` for scripts).
The broadcast goes out from `bpu-bot run` (its scheduler fans it out at `--at`, in BPU_TIMEZONE).
`resend-uncertain` queues again the messages that may have arrived (bot/delivery/outbox.py), after
saying how many and that some workers may get them twice; `retry-interrupted`, its old name, still
works and says it is deprecated.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any
from zoneinfo import ZoneInfo

from bot.channels import registry
from bot.local_time import parse_local, show_local


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("broadcast", help="announcements to a segment of workers")
    sub = p.add_subparsers(dest="broadcast_command", required=True)

    c = sub.add_parser("create", help="compose, preview, confirm")
    what = c.add_mutually_exclusive_group(required=True)
    what.add_argument("--template", help="a content template, e.g. broadcast_sosialisasi")
    what.add_argument("--text", help="the message as is")
    c.add_argument("--var", action="append", default=[], metavar="KEY=VALUE", help="a template variable")
    c.add_argument("--segment", default="", help="area=3673,occupation=transport,status=new,language=id")
    c.add_argument(
        "--channel", action="append", default=None, help=f"{' or '.join(registry.bulk_names())} (default: all)"
    )
    c.add_argument("--at", help='"YYYY-MM-DD HH:MM" in BPU_TIMEZONE (default: now)')
    c.add_argument("--rsvp", action="store_true", help="add hadir / tidak bisa buttons")
    c.add_argument(
        "--code", help="the campaign code its link carries and its leads are counted by (default kampanye-<id>)"
    )
    c.add_argument("--quiet", choices=("defer", "skip"), default="defer",
                   help="recipients in their quiet hours: wait for the morning (default) or skip")  # fmt: skip
    c.add_argument("--yes", action="store_true", help="do not ask to confirm")
    c.set_defaults(func=cmd_create)

    sub.add_parser("list", help="recent broadcasts").set_defaults(func=cmd_list)
    s = sub.add_parser("status", help="progress of one broadcast")
    s.add_argument("id", type=int)
    s.add_argument("--follow", action="store_true", help="a live progress bar until it is done")
    s.set_defaults(func=cmd_status)
    k = sub.add_parser("cancel", help="stop a broadcast (what is not sent yet is not sent)")
    k.add_argument("id", type=int)
    k.set_defaults(func=cmd_cancel)
    r = sub.add_parser("resend-uncertain", help="send again the messages that may have arrived (some may get it twice)")
    r.add_argument("id", type=int)
    r.add_argument("--yes", action="store_true", help="do not ask to confirm")
    r.set_defaults(func=cmd_resend_uncertain)
    old = sub.add_parser("retry-interrupted", help="deprecated: use resend-uncertain")
    old.add_argument("id", type=int)
    old.add_argument("--yes", action="store_true")
    old.set_defaults(func=cmd_retry_interrupted)


def _env():  # type: ignore[no-untyped-def]
    from bot.settings import Settings
    from storage.db import Database
    from storage.migrate import upgrade

    settings = Settings()
    upgrade(settings.database_url)
    return settings, settings, Database(settings.database_url)  # one settings object for the command


def _vars(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SystemExit(f"--var expects KEY=VALUE, got {item!r}")
        out[key.strip()] = value
    return out


def cmd_create(args: argparse.Namespace) -> int:
    from content.render import Renderer
    from handlers import broadcasts, links
    from storage.clock import utcnow

    settings, ds, db = _env()
    try:
        segment = broadcasts.parse_segment(args.segment)
        channels = broadcasts.parse_channels(args.channel, registry.bulk_names())
    except broadcasts.SegmentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.code is not None and not links.valid_code(args.code):
        print("error: --code is letters, digits, - and _ (at most 64)", file=sys.stderr)
        return 2
    zone = ZoneInfo(settings.timezone)
    at = None
    if args.at:
        try:
            at = parse_local(args.at, zone)
        except ValueError:
            print('error: --at must look like "2026-12-01 09:00"', file=sys.stderr)
            return 2
    variables = _vars(args.var)
    renderer = Renderer()
    if args.template and args.template not in renderer.template_names():
        print(f"error: no template {args.template!r}", file=sys.stderr)
        return 2

    async def go() -> int:
        now = utcnow()
        try:
            async with db.session() as session:
                try:
                    p = await broadcasts.preview(
                        session, renderer, segment=segment, channels=channels, template=args.template,
                        text=args.text, variables=variables, rsvp=args.rsvp, now=now,
                        daily_limit=ds.whatsapp_daily_limit,
                    )  # fmt: skip
                except Exception as exc:  # a template variable missing, most often
                    print(f"error: cannot render: {exc}", file=sys.stderr)
                    return 2
            for line in p.lines():
                print(line)
            print("--- preview (id) ---")
            print(p.texts["id"])
            if p.buttons:
                print("[" + "]  [".join(p.buttons) + "]")
            print("---")
            when = show_local(at, zone) if at else "now"
            if not args.yes:
                if not sys.stdin.isatty():
                    print("not confirmed (use --yes in scripts)", file=sys.stderr)
                    return 1
                # A command of its own: nothing else waits on this loop while a person answers.
                answer = input(f"Send to {p.reachable} recipients, {when}? [y/N] ")  # noqa: ASYNC250
                if answer.strip().lower() not in ("y", "ya", "yes"):
                    print("cancelled")
                    return 1
            async with db.session() as session:
                b = await broadcasts.create(
                    session, created_by="cli", segment=segment, channels=channels, template=args.template,
                    text=args.text, variables=variables, rsvp=args.rsvp, at=at, quiet_policy=args.quiet, now=now,
                    telegram_username=settings.telegram_bot_username, whatsapp_number=settings.whatsapp_display_number,
                    campaign_code=args.code,
                )  # fmt: skip
                bid, code, carried = b.id, b.campaign_code, dict(b.links or {})
            print(
                f"broadcast {bid} scheduled for {when}; `bpu-bot run` sends it. "
                f"Follow: bpu-bot broadcast status {bid} --follow"
            )
            print(f"campaign code {code}; " + ("; ".join(f"{ch} link {url}" for ch, url in carried.items()) or
                  "no link added (TELEGRAM_BOT_USERNAME / WHATSAPP_DISPLAY_NUMBER not set)"))  # fmt: skip
            return 0
        finally:
            await db.dispose()

    return asyncio.run(go())


def cmd_list(_: argparse.Namespace) -> int:
    from handlers import broadcasts

    settings, _, db = _env()
    zone = ZoneInfo(settings.timezone)

    async def go() -> None:
        try:
            async with db.session() as session:
                for b in await broadcasts.list_broadcasts(session):
                    what = b.template or (b.text or "")[:40].replace("\n", " ")
                    print(f"{b.id:>5}  {b.status:<10} {show_local(b.scheduled_at, zone)}  {b.recipients:>7}  {what}")
        finally:
            await db.dispose()

    asyncio.run(go())
    return 0


def _bar(done: int, total: int, width: int = 30) -> str:
    frac = done / total if total else 1.0
    full = int(frac * width)
    return "[" + "#" * full + "-" * (width - full) + f"] {done}/{total} ({100 * frac:.0f}%)"


def cmd_status(args: argparse.Namespace) -> int:
    from handlers import broadcasts

    settings, _, db = _env()
    zone = ZoneInfo(settings.timezone)

    async def once() -> broadcasts.Status:
        async with db.session() as session:
            return await broadcasts.status(session, args.id)

    async def go() -> int:
        try:
            try:
                st = await once()
            except LookupError:
                print(f"no broadcast {args.id}", file=sys.stderr)
                return 1
            if args.follow:
                tty = sys.stdout.isatty()
                while True:
                    line = (f"{st.broadcast.status:<10} {_bar(st.finished, st.total)}"
                            f"  sent {st.counts.get('sent', 0)}  uncertain {st.uncertain}"
                            f"  failed {st.counts.get('failed', 0)}")  # fmt: skip
                    print(("\r" + line) if tty else line, end="" if tty else "\n", flush=True)
                    if st.broadcast.status in ("done", "cancelled") or (st.total and not st.waiting):
                        break
                    await asyncio.sleep(1.0)
                    st = await once()
                if tty:
                    print()
            b = st.broadcast
            print(f"broadcast {b.id}: {b.status}, {st.total} recipients, scheduled {show_local(b.scheduled_at, zone)}")
            for line in _count_lines(st):
                print(line)
            if b.rsvp:
                print(f"  rsvp: hadir {st.rsvp.get('yes', 0)}, tidak bisa {st.rsvp.get('no', 0)}")
            return 0
        finally:
            await db.dispose()

    return asyncio.run(go())


def _count_lines(st: Any) -> list[str]:
    """sent, uncertain and failed apart (uncertain explained), then the rest and the reasons."""
    main = ("sent", "uncertain", "failed", "skipped")
    lines = [f"  {state:<28} {st.counts.get(state, 0)}" for state in main]
    if st.uncertain:
        lines[1] += (f"   may have arrived; not resent automatically"
                     f" (bpu-bot broadcast resend-uncertain {st.broadcast.id})")  # fmt: skip
    lines += [f"  {key:<28} {n}" for key, n in sorted(st.counts.items()) if key not in main]
    return lines


def cmd_cancel(args: argparse.Namespace) -> int:
    from handlers import broadcasts
    from storage.clock import utcnow

    _, _, db = _env()

    async def go() -> int:
        try:
            async with db.session() as session:
                n = await broadcasts.cancel(session, args.id, utcnow())
            print(f"broadcast {args.id} cancelled; {n} messages will not be sent")
            return 0
        except LookupError:
            print(f"no broadcast {args.id}", file=sys.stderr)
            return 1
        finally:
            await db.dispose()

    return asyncio.run(go())


def cmd_resend_uncertain(args: argparse.Namespace) -> int:
    from handlers import broadcasts
    from storage.clock import utcnow

    _, _, db = _env()

    async def count() -> int:
        async with db.session() as session:
            if await session.get(broadcasts.Broadcast, args.id) is None:
                raise LookupError(args.id)
            return await broadcasts.count_uncertain(session, args.id)

    async def resend() -> int:
        async with db.session() as session:
            return await broadcasts.resend_uncertain(session, args.id, utcnow())

    async def go() -> int:
        try:
            try:
                n = await count()
            except LookupError:
                print(f"no broadcast {args.id}", file=sys.stderr)
                return 1
            if not n:
                print(f"broadcast {args.id}: no uncertain messages")
                return 0
            print(f"broadcast {args.id}: {n} uncertain messages (the platform did not confirm them).")
            print("Some of them may already have arrived: those workers may get this message twice.")
            if not args.yes and not _confirm(f"Send these {n} again? [y/N] "):
                print("not sent again (use --yes to skip this question)", file=sys.stderr)
                return 1
            print(f"{await resend()} uncertain messages queued again; `bpu-bot run` sends them")
            return 0
        finally:
            await db.dispose()

    return asyncio.run(go())


def cmd_retry_interrupted(args: argparse.Namespace) -> int:
    print("`bpu-bot broadcast retry-interrupted` is deprecated: use `bpu-bot broadcast resend-uncertain`"
          " (interrupted messages are now counted as uncertain).", file=sys.stderr)  # fmt: skip
    return cmd_resend_uncertain(args)


def _confirm(question: str) -> bool:
    """A yes typed at a terminal; no terminal, or the end of input, is a no."""
    if not sys.stdin.isatty():
        return False
    try:
        answer = input(question)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "ya", "yes")
