"""The one reader of JSON that arrives over HTTP (the simulator, both webhooks).

`json.loads` alone lets hostile input through to code that cannot take it: nesting a
thousand deep raises RecursionError (a 500, and a traceback) and, just below that, passes
the parser only to overflow the stack later (when the update is stored or handed to the
Telegram library); `1e999` becomes infinity, which `int()` refuses with OverflowError.
Whatever this reader returns is a plain object, shallow enough to walk, with finite numbers.
"""

from __future__ import annotations

import json
import math
from typing import Any

# Telegram updates and WhatsApp notifications nest about ten deep; this leaves room to spare.
MAX_DEPTH = 64


class BadJSON(ValueError):
    """Input that is not a JSON object we can safely handle; the message says why."""


def read_object(raw: bytes | str) -> dict[str, Any]:
    try:
        # UTF-8 only (json.loads would also guess UTF-16 and -32, which nothing downstream reads).
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        value = json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except BadJSON:
        raise
    except RecursionError:
        raise BadJSON(f"nested deeper than {MAX_DEPTH}") from None
    except ValueError as exc:  # includes bad UTF-8 and integers of more than 4,300 digits
        raise BadJSON(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BadJSON("not a JSON object")
    if _too_deep(value):
        raise BadJSON(f"nested deeper than {MAX_DEPTH}")
    return value


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise BadJSON(f"number out of range: {text[:20]}")
    return number


def _no_constant(name: str) -> Any:
    raise BadJSON(f"not a number: {name}")


def _too_deep(value: object) -> bool:
    # Iterative: a recursive walk is what this guards against.
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values() if isinstance(child, dict | list))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item if isinstance(child, dict | list))
    return False
