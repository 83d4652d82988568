"""Telegram formatting, shared by both backends: the engine's markup to HTML, long texts split.

The engine writes `*bold*` and `_italic_` (WhatsApp's own marks). Telegram gets HTML
(parse_mode=HTML): everything is escaped first, then the marks become tags, so text a
worker typed (`<b>`, `&`) is shown as typed. Telegram refuses a text over 4,096
characters (counted in UTF-16 code units, after entities are parsed), so a longer bubble
is cut into several messages, at a paragraph, line or word boundary when there is one.
"""

from __future__ import annotations

import html
import re

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64  # bytes, Bot API limit for InlineKeyboardButton.callback_data

# A mark opens after a non-word character and closes before one, and never spans lines:
# "snake_case_name", "2*3*4" and a lone "*" stay as typed.
_BOLD = re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]*?[^\s*])\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=[^\s_])([^_\n]*?[^\s_])_(?![\w_])")


def to_html(text: str) -> str:
    """`*bold*` -> <b>bold</b>, `_italic_` -> <i>italic</i>, everything else HTML-escaped."""
    escaped = html.escape(text, quote=False)
    escaped = _BOLD.sub(r"<b>\1</b>", escaped)
    return _ITALIC.sub(r"<i>\1</i>", escaped)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut `text` into parts of at most `limit` UTF-16 units, preferring paragraph, line, word breaks."""
    parts: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        head = _prefix(rest, limit)
        cut = _best_cut(head)
        part, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if part:
            parts.append(part)
    if rest.strip() or not parts:
        parts.append(rest)
    return parts


def _prefix(text: str, limit: int) -> str:
    """The longest prefix of `text` that fits in `limit` UTF-16 units (never halving a surrogate pair)."""
    units = 0
    for i, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return text[:i]
    return text


def _best_cut(head: str) -> int:
    floor = len(head) // 2  # never cut so early that parts become tiny
    for sep in ("\n\n", "\n", " "):
        at = head.rfind(sep)
        if at > floor:
            return at + len(sep)
    return len(head)


def render(text: str) -> list[str]:
    """One engine bubble -> the HTML texts of the Telegram messages that show it."""
    return [to_html(part) for part in split_text(text)]
