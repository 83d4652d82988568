"""Templates per language, rendered from facts.yaml; one template is one message.

A line holding only `---` marks a paragraph break (a blank line in the message): one idea per
paragraph, for small screens. An answer goes out as one message, not one per paragraph: each
message is another notification on a cheap phone and another send against a platform's pace;
the channels cut a text only where the platform's limit requires it (bot/channels/*_format.py).
Templates are plain text (no HTML escaping); what a worker typed is only ever passed in as
a variable, never compiled as a template, so `{{ 7*7 }}` typed by a worker stays as typed.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from content import formatting
from content.facts import load_facts

TEMPLATES = Path(__file__).parent / "templates"
LANGUAGES = ("id", "en")
_PARAGRAPH = re.compile(r"^\s*---\s*$", re.M)


class Renderer:
    def __init__(self) -> None:
        self._envs = {lang: self._make_env(lang) for lang in LANGUAGES}

    @staticmethod
    def _make_env(lang: str) -> Environment:
        env = Environment(
            loader=FileSystemLoader(TEMPLATES / lang),
            undefined=StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            # The templates ship with the code and change only with a release (a restart): no
            # stat of the file before every answer.
            auto_reload=False,
        )
        env.filters["rp"] = lambda v: formatting.rupiah(v, lang)
        env.filters["juta"] = lambda v: formatting.juta(v, lang)
        env.filters["tanggal"] = lambda v: formatting.long_date(v, lang)
        env.filters["angka"] = lambda v: formatting.number(v, lang)
        env.globals["facts"] = load_facts()
        return env

    def render(self, template: str, lang: str, **context: Any) -> str:
        """Render `template`.j2 in `lang` (falling back to Indonesian) into one message's text."""
        env = self._envs.get(lang, self._envs["id"])
        # The handlers pass the branch's today; only a preview without one falls back to this machine's.
        context.setdefault("today", date.today())  # noqa: DTZ011
        text = env.get_template(f"{template}.j2").render(**context)
        paragraphs = [_tidy(part) for part in _PARAGRAPH.split(text)]
        return "\n\n".join(p for p in paragraphs if p)

    def label(self, key: str, lang: str) -> str:
        labels = _labels(lang if lang in LANGUAGES else "id")
        return labels.get(key) or _labels("id")[key]

    def template_names(self, lang: str = "id") -> list[str]:
        return sorted(p.stem for p in (TEMPLATES / lang).glob("*.j2") if not p.stem.startswith("_"))


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


@cache
def _labels(lang: str) -> dict[str, str]:
    with (TEMPLATES / lang / "labels.yaml").open(encoding="utf-8") as fh:
        data: dict[str, str] = yaml.safe_load(fh)
    return data


@cache
def template_variables(template: str) -> tuple[str, ...]:
    """The variables a template asks for (in either language), besides what the renderer gives
    every template (facts, today), in the order they first appear: what a staff member must fill in."""
    from jinja2 import meta

    env = Environment()
    env.filters = _AnyFilter(env.filters)  # introspection only: the content's own filters need not be known
    found: dict[str, int] = {}
    for lang in LANGUAGES:
        path = TEMPLATES / lang / f"{template}.j2"
        if not path.exists():
            continue
        source = path.read_text(encoding="utf-8")
        for name in meta.find_undeclared_variables(env.parse(source)) - {"facts", "today"}:
            found.setdefault(name, source.find(name))
    return tuple(sorted(found, key=lambda name: (found[name], name)))


class _AnyFilter(dict):  # type: ignore[type-arg]
    def get(self, key: Any, default: Any = None) -> Any:
        return super().get(key, str)
