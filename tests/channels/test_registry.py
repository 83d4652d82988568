"""The registry is the one list of channels: every package under bot/channels/ is in it once, and
what reads it (banner, /healthz, broadcasts, the dashboard, staff identities) names no channel of its own."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import bot.channels
from bot.channels import registry
from bot.runtime import Runtime
from bot.server import banner
from bot.settings import Settings
from handlers import broadcasts


def test_every_channel_package_is_registered_once() -> None:
    packages = {m.name for m in pkgutil.iter_modules(bot.channels.__path__) if m.ispkg}
    names = [spec.name for spec in registry.SPECS]
    assert len(names) == len(set(names))
    for package in packages:
        module = importlib.import_module(f"bot.channels.{package}")
        assert module.SPEC in registry.SPECS, f"bot/channels/{package}/ is not in registry.SPECS"
    assert {"telegram", "whatsapp", "web", "console"} <= set(names)


def test_bulk_channels_are_those_with_a_sender() -> None:
    assert registry.bulk_names() == tuple(s.name for s in registry.SPECS if s.make_sender is not None)
    assert {"telegram", "whatsapp"} <= set(registry.bulk_names())
    assert "web" not in registry.bulk_names() and "console" not in registry.bulk_names()


def test_broadcast_channels_are_checked_against_what_is_handed_down() -> None:
    names = registry.bulk_names()
    assert broadcasts.parse_channels(None, names) == list(names)
    assert broadcasts.parse_channels("telegram", names) == ["telegram"]
    try:
        broadcasts.parse_channels("web", names)
    except broadcasts.SegmentError as exc:
        assert "telegram" in str(exc)
    else:
        raise AssertionError("the simulator cannot receive broadcasts")


def test_the_banner_has_a_line_for_every_channel() -> None:
    settings = Settings(_env_file=None, BPU_DATABASE_URL="sqlite://")  # type: ignore[call-arg]
    text = banner(Runtime(settings, None, None, None))  # type: ignore[arg-type]
    for spec in registry.SPECS:
        assert f"  {spec.banner_name}:" in text
    assert "telegram:  off (set TELEGRAM_BOT_TOKEN to turn it on)" in text
    assert "simulator: http://127.0.0.1:8080/simulator" in text
    assert "terminal:  bpu-bot chat" in text


def test_no_channel_name_is_written_outside_its_package() -> None:
    """The modules that list channels read the registry instead (a channel's own rules, such as
    WhatsApp's 24-hour window in the worker, are not lists of channels)."""
    root = Path(bot.channels.__file__).resolve().parents[1]
    for path in ("runtime.py", "http.py", "delivery/service.py", "delivery/health.py", "delivery/worker.py",
                 "delivery/digest.py", "dashboard/admin.py", "cli.py"):  # fmt: skip
        source = (root / path).read_text(encoding="utf-8")
        assert '"telegram"' not in source and '"whatsapp"' not in source, path


def test_a_staff_identity_reads_back_the_way_it_is_stored() -> None:
    """What staff type becomes the stored form; the chat it reaches is a user id on the channel,
    and that user id, coming back in, finds the same stored form (the staff commands' lookup)."""
    from bot.dashboard.i18n import STRINGS

    kinds = registry.staff_identities()
    assert list(kinds)[:2] == ["telegram", "whatsapp"]  # reached on Telegram first: no 24-hour window
    assert len({k.form_field for k in kinds.values()}) == len({k.option for k in kinds.values()}) == len(kinds)
    for lang in ("id", "en"):  # the dashboard's words, a channel's own included (its locales folder)
        assert all(k.label in STRINGS[lang] and k.invalid in STRINGS[lang] for k in kinds.values()), lang
    for channel, kind in kinds.items():
        stored = kind.parse(kind.example)
        chat = kind.chat(stored)
        assert chat, channel
        assert kind.stored(chat) == stored, channel
        try:
            kind.parse("not an id")
        except ValueError:
            pass
        else:
            raise AssertionError(f"{channel} took 'not an id'")
    assert kinds["whatsapp"].parse("0812 3456 7890") == "+6281234567890"  # stored as before: E.164
    assert kinds["whatsapp"].chat("+6281234567890") == "6281234567890"  # a wa_id


def test_every_bulk_channel_previews_a_broadcast_with_its_text_and_buttons() -> None:
    """The campaign page shows each bulk channel's own rendering: a channel that can broadcast
    must say how its messages look, or staff would send what they never saw."""
    from handlers.messages import Button, Reply

    reply = Reply("*Sosialisasi* di Kel. Cipare", (Button("Hadir", "rsvp:yes"), Button("Tidak bisa", "rsvp:no")))
    for spec in registry.SPECS:
        if not spec.bulk:
            continue
        assert spec.preview is not None, f"{spec.name} broadcasts but has no preview"
        messages = spec.preview(reply)
        assert messages and "Sosialisasi" in messages[0].text, spec.name
        keys = [label for m in messages for row in m.rows for label in row] + [r for m in messages for r in m.list_rows]
        shown = keys or [label for label in ("Hadir", "Tidak bisa") if any(label in m.text for m in messages)]
        assert shown == ["Hadir", "Tidak bisa"], (spec.name, shown)  # as keys, or in the text (no buttons)
