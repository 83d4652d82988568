"""How a `Reply` looks on WhatsApp: text bubbles, reply buttons, a list, or a numbered menu.

Limits (Cloud API reference, "Interactive reply buttons messages" and "Interactive list messages"):
text body 4,096 characters; interactive body 1,024; at most 3 reply buttons with titles of 20
characters; a list of at most 10 rows with titles of 24 and descriptions of 72, opened by a
button labelled with at most 20; button ids 256 characters, row ids 200. `*bold*` and `_italic_`
are WhatsApp's own markup and pass through; titles take no markup.

Past ten options (29 kecamatan in Kabupaten Serang) the options become a numbered text menu;
`Rendered.menu` lists their payloads so the channel can turn a typed "7" into the 7th payload.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from handlers.messages import Button, Reply

TEXT_LIMIT = 4096
BODY_LIMIT = 1024
MAX_BUTTONS = 3
BUTTON_TITLE = 20
BUTTON_ID = 256
MAX_ROWS = 10
ROW_TITLE = 24
ROW_DESCRIPTION = 72
ROW_ID = 200
LIST_BUTTON = "Pilih / Choose"
ELLIPSIS = "…"

Message = dict[str, Any]  # a Cloud API message object without messaging_product and recipient


@dataclass(frozen=True, slots=True)
class Rendered:
    messages: list[Message]
    menu: tuple[Button, ...] | None = None  # numbered text menu: option n is menu[n - 1]


def render(reply: Reply) -> Rendered:
    buttons = reply.buttons
    if not buttons:
        return Rendered([_text(chunk) for chunk in split_text(reply.text)])
    if len(buttons) <= MAX_BUTTONS:
        titles = [cut_title(b.label, BUTTON_TITLE) for b in buttons]
        if _unique(titles) and all(len(b.payload) <= BUTTON_ID for b in buttons):
            return Rendered(_with_body(reply.text, _buttons(buttons, titles)))
    if len(buttons) <= MAX_ROWS:
        titles = [cut_title(b.label, ROW_TITLE) for b in buttons]
        if _unique(titles) and _unique([b.payload for b in buttons]) and all(len(b.payload) <= ROW_ID for b in buttons):
            return Rendered(_with_body(reply.text, _list(buttons, titles)))
    return Rendered([_text(chunk) for chunk in split_text(numbered_menu(reply.text, buttons))], tuple(buttons))


def numbered_menu(text: str, buttons: tuple[Button, ...]) -> str:
    lines = [f"*{i}.* {_plain_label(b.label)}" for i, b in enumerate(buttons, 1)]
    hint = f"_Ketik angkanya (1-{len(buttons)}) / Type the number_"
    return "\n".join([text.rstrip(), "", *lines, "", hint]) if text.strip() else "\n".join([*lines, "", hint])


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Bubbles of at most `limit` characters, cut between paragraphs, else lines, else words."""
    text = text.strip() or "…"
    chunks: list[str] = []
    while len(text) > limit:
        cut = _cut_point(text, limit)
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    chunks.append(text)
    return [c for c in chunks if c]


def cut_title(label: str, limit: int) -> str:
    """A title of at most `limit` characters that still says what the option is.

    A parenthetical aside goes first ("Pedagang (keliling / warung / pasar)" -> "Pedagang"), then
    whole words from the end, with an ellipsis to show something was left out.
    """
    label = _plain_label(label)
    if len(label) <= limit:
        return label
    without_aside = " ".join(re.sub(r"\([^)]*\)", " ", label).split())
    if without_aside and len(without_aside) <= limit:
        return without_aside
    words = without_aside.split() or label.split()
    kept = ""
    for word in words:
        candidate = f"{kept} {word}".strip()
        if len(candidate) + len(ELLIPSIS) > limit:
            break
        kept = candidate
    kept = kept.rstrip(" /,-:;(&+")
    if not kept:
        return label[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS
    return kept + ELLIPSIS


def _text(body: str) -> Message:
    return {"type": "text", "text": {"body": body, "preview_url": False}}


def _buttons(buttons: tuple[Button, ...], titles: list[str]) -> dict[str, Any]:
    return {
        "type": "button",
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": b.payload, "title": title}}
                for b, title in zip(buttons, titles, strict=True)
            ]
        },
    }


def _list(buttons: tuple[Button, ...], titles: list[str]) -> dict[str, Any]:
    rows = []
    for b, title in zip(buttons, titles, strict=True):
        row: dict[str, str] = {"id": b.payload, "title": title}
        full = _plain_label(b.label)
        if full != title:
            row["description"] = cut_title(full, ROW_DESCRIPTION)
        rows.append(row)
    return {"type": "list", "action": {"button": LIST_BUTTON, "sections": [{"rows": rows}]}}


def _with_body(text: str, interactive: dict[str, Any]) -> list[Message]:
    """Long text goes first as plain bubbles; the last part (<= 1,024) carries the options."""
    head, tail = _tail(text.strip() or "👇", BODY_LIMIT)
    messages = [_text(chunk) for chunk in split_text(head)] if head else []
    messages.append({"type": "interactive", "interactive": {**interactive, "body": {"text": tail}}})
    return messages


def _tail(text: str, limit: int) -> tuple[str, str]:
    """The longest end of `text` within `limit` that starts a paragraph (else a line, else a
    word), and the head before it. A head ending in ":" introduces what follows, so it is
    never cut from it ("Yang ditanggung:" stays with its list)."""
    if len(text) <= limit:
        return "", text
    offset = len(text) - limit
    window = text[offset:]
    for sep in ("\n\n", "\n", " "):
        at = window.find(sep)
        while at != -1:
            head, tail = text[: offset + at].rstrip(), text[offset + at :].strip()
            if not tail:
                break
            if not head.endswith(":"):
                return head, tail
            at = window.find(sep, at + len(sep))
    return text[:offset].rstrip(), window


def _cut_point(text: str, limit: int) -> int:
    for sep in ("\n\n", "\n", " "):
        at = text.rfind(sep, 0, limit + 1)
        if at > limit // 3:
            return at
    return limit


def _plain_label(label: str) -> str:
    return " ".join(label.replace("*", "").replace("_", " ").replace("~", "").split())


def _unique(values: list[str]) -> bool:
    return len(set(values)) == len(values)
