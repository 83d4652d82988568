"""The dashboard's words, Indonesian first; English for staff who switch.

The words live in bot/dashboard/locales/<lang>.yaml, one flat mapping of key to text per
language, and a channel's own words (its name, what staff type to be reached on it) beside it in
bot/channels/<name>/locales/<lang>.yaml, so that adding a channel touches no shared file. They
are read once when this module is imported, strictly: a key defined twice, a duplicate key, a value that is
not text or a language without the Indonesian file's keys stops the import with the file and
the key named, rather than showing staff a key or a half-translated page.

A text that shows a count has plural forms: a mapping of CLDR plural categories to texts,
chosen by the `count` value passed to `translate` (Babel's plural rules for the language).
Indonesian has no plural, so its entry has `other:` only; English has `one:` and `other:`:

    results:            # id.yaml          results:        # en.yaml
      other: hasil                            one: result
                                              other: results

    translate("en", "results", count=1) == "result"; translate("en", "results", count=2) == "results"

`count` is a placeholder like any other; a text that shows the number formatted the
Indonesian way takes it as another value (`t("leads_moved", count=n, n=n|number)`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from babel import Locale

LANGUAGES = ("id", "en")
LOCALES = Path(__file__).parent / "locales"
CHANNELS = Path(__file__).parent.parent / "channels"  # bot/channels/<name>/locales/<lang>.yaml
PLURAL_FORMS = ("zero", "one", "two", "few", "many", "other")

Entry = str | dict[str, str]


class LocaleError(ValueError):
    """A locale file that cannot be trusted: said with the file and the key."""


class _StrictLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys silently; here that is an error."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise LocaleError(f"{node.start_mark.name}:{key_node.start_mark.line + 1}: key {key!r} appears twice")
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load(path: Path) -> dict[str, Entry]:
    """One locale file, checked: keys and texts are strings; plural entries map CLDR forms to texts."""
    with path.open(encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    if not isinstance(data, dict):
        raise LocaleError(f"{path}: not a mapping of keys to texts")
    for key, value in data.items():
        if not isinstance(key, str):
            raise LocaleError(f"{path}: key {key!r} is not text")
        if isinstance(value, dict):
            if "other" not in value or not set(value) <= set(PLURAL_FORMS):
                raise LocaleError(f"{path}: {key}: plural forms are {', '.join(PLURAL_FORMS)}, with 'other' required")
            if not all(isinstance(text, str) and text for text in value.values()):
                raise LocaleError(f"{path}: {key}: every plural form needs a text")
        elif not isinstance(value, str) or not value:
            raise LocaleError(f"{path}: {key}: {value!r} is not text")
    return data


def channel_locale_files() -> list[Path]:
    """Every channel's locale files, each language of each channel that has a locales folder."""
    folders = sorted(p / "locales" for p in CHANNELS.iterdir() if (p / "locales").is_dir())
    return [folder / f"{lang}.yaml" for folder in folders for lang in LANGUAGES]


def _load_all() -> dict[str, dict[str, Entry]]:
    tables = {lang: load(LOCALES / f"{lang}.yaml") for lang in LANGUAGES}
    for path in channel_locale_files():
        if not path.exists():
            raise LocaleError(f"{path}: missing: a channel's words come in every language")
        words, table = load(path), tables[path.stem]
        if twice := sorted(set(words) & set(table)):
            raise LocaleError(f"{path}: {twice} already defined")
        table.update(words)
    for lang in LANGUAGES[1:]:
        missing = set(tables["id"]) - set(tables[lang])
        extra = set(tables[lang]) - set(tables["id"])
        if missing or extra:
            raise LocaleError(f"{lang}.yaml: missing {sorted(missing)}, not in id.yaml {sorted(extra)}")
    return tables


STRINGS: dict[str, dict[str, Entry]] = _load_all()
_PLURAL = {lang: Locale.parse(lang).plural_form for lang in LANGUAGES}


def translate(lang: str, key: str, **values: object) -> str:
    """The text of `key` in `lang` (Indonesian for an unknown language or a missing key; the key
    itself when neither has it), its placeholders filled from `values`."""
    if lang not in STRINGS:
        lang = "id"
    entry = STRINGS[lang].get(key)
    if entry is None:
        lang, entry = "id", STRINGS["id"].get(key)
    if entry is None:
        return key
    text = _form(lang, entry, values.get("count")) if isinstance(entry, dict) else entry
    return text.format(**values) if values else text


def _form(lang: str, forms: dict[str, str], count: object) -> str:
    if not isinstance(count, int | float):
        return forms["other"]
    return forms.get(_PLURAL[lang](abs(count)), forms["other"])
