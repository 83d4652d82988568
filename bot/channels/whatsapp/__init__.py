"""WhatsApp (Cloud API): the signed webhook, live replies inside the 24-hour window, bulk sends
with approved templates outside it, and the messages it is written in.

channel.py    the live channel: verification handshake, signed notifications in, replies out
payloads.py   the webhook's and the Graph API's JSON, parsed into typed values
graph.py      the Graph API client: sends, retries, what "may have arrived" means
format.py     the engine's replies as WhatsApp messages (buttons, lists, the 1,024-character body)
window.py     the 24-hour window (the approved templates, WHATSAPP_TEMPLATE_*, are in bot/settings.py)
bulk.py       broadcasts and reminders: free-form in the window, a template outside it
"""

from __future__ import annotations

from bot.channels.base import (
    BulkSender,
    Capabilities,
    Channel,
    ChannelDeps,
    ChannelSpec,
    Pacing,
    PreviewMessage,
    StaffIdentity,
)
from bot.channels.whatsapp import format as whatsapp_format
from bot.channels.whatsapp.format import MAX_BUTTONS, TEXT_LIMIT
from bot.settings import Settings
from handlers.messages import Reply
from handlers.validators import parse_phone

NAME = "whatsapp"


def enabled(settings: Settings) -> bool:
    return settings.whatsapp_enabled


def make(deps: ChannelDeps) -> Channel:
    from bot.channels.whatsapp.channel import make_whatsapp_channel

    return make_whatsapp_channel(deps)


def make_sender(deps: ChannelDeps) -> BulkSender:
    from bot.channels.whatsapp.bulk import WhatsAppSender
    from bot.channels.whatsapp.channel import make_whatsapp_channel

    # A channel object of its own (own Graph client). Retries belong to the worker, behind the
    # pacer; the client must not retry on its own.
    return WhatsAppSender(make_whatsapp_channel(deps, retry_delays=()))


def staff_chat(stored: str) -> str | None:
    """A staff member's number ("+6281...") as the WhatsApp user id that reaches them (its digits)."""
    return "".join(ch for ch in stored if ch.isdigit()) or None


def preview(reply: Reply) -> list[PreviewMessage]:
    """The messages of a reply as sent: text, reply buttons, or a list behind its menu button."""
    out = []
    for message in whatsapp_format.render(reply).messages:
        if message["type"] == "text":
            out.append(PreviewMessage(text=message["text"]["body"]))
            continue
        interactive = message["interactive"]
        action = interactive["action"]
        text = interactive["body"]["text"]
        if interactive["type"] == "button":
            out.append(PreviewMessage(text=text, rows=(tuple(b["reply"]["title"] for b in action["buttons"]),)))
        else:
            rows = tuple(r["title"] for s in action["sections"] for r in s["rows"])
            out.append(PreviewMessage(text=text, list_button=action["button"], list_rows=rows))
    return out


def pacing(settings: Settings) -> Pacing:
    return Pacing(settings.whatsapp_rate_per_second, settings.whatsapp_seconds_per_chat)


def phone_of_user(user_id: str) -> str | None:
    """A wa_id is the worker's number in digits: "6281234567890" -> "+6281234567890"."""
    return f"+{user_id}" if user_id.isdigit() else None


STAFF_IDENTITY = StaffIdentity(
    parse=parse_phone,  # "0812 3456 7890" -> "+6281234567890" (its Invalid is a ValueError)
    stored=lambda user_id: "+" + user_id.lstrip("+"),  # a wa_id is the number's digits
    chat=staff_chat,
    form_field="whatsapp",
    label="whatsapp_number",
    invalid="bad_whatsapp",
    option="--whatsapp",
    option_help="phone number, e.g. 0812...",
    option_invalid="is not a valid phone number",
    attrs={"type": "tel", "placeholder": "0812..."},
    example="0812 3456 7890",
)

SPEC = ChannelSpec(
    name=NAME,
    label="WhatsApp",
    enabled=enabled,
    make=make,
    make_sender=make_sender,
    capabilities=Capabilities(text_limit=TEXT_LIMIT, max_buttons=MAX_BUTTONS, has_templates=True),
    off_hint=(
        "off (set WHATSAPP_ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID,"
        " WHATSAPP_APP_SECRET and WHATSAPP_VERIFY_TOKEN to turn it on)"
    ),
    staff_identity=STAFF_IDENTITY,
    phone_of_user=phone_of_user,
    preview=preview,
    pacing=pacing,
)
