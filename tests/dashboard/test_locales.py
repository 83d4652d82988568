"""The dashboard's words (bot/dashboard/locales/*.yaml): both languages say the same things,
every key the pages and the Python code ask for exists, counts take the right plural form, and a
broken locale file stops the import instead of showing staff a key."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel import Locale

from bot import exports
from bot.channels import registry
from bot.dashboard import i18n
from bot.dashboard.campaigns import REASONS, VARIABLES
from bot.dashboard.i18n import LANGUAGES, STRINGS, LocaleError, translate
from bot.dashboard.queries import SORTS, VIEWS
from bot.dashboard.web import ALL_ROLES, STATUSES
from handlers.lead_quality import FLAGS

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "bot" / "dashboard"
TEMPLATES = sorted((DASHBOARD / "templates").glob("*.html"))
PYTHON = [*sorted(DASHBOARD.glob("*.py")), ROOT / "bot" / "exports.py"]

# A key spelled whole: t("leads"), ctx.t('area', n=1), ctx.error(404, "not_found").
LITERAL = re.compile(r"""\bt\(\s*(["'])(\w+)\1\s*[,)]""")
ERROR = re.compile(r"""\berror\(\s*\d+\s*,\s*(["'])(\w+)\1\s*\)""")
# A key built from a prefix: t("status_" ~ s), ctx.t("var_" + name), ctx.t(f"leads_{key}").
PREFIXED = re.compile(r"""\bt\(\s*f?(["'])(\w+_)(?:\{[^}]*\})?\1\s*(?:[~+]|[,)])""")

# Every value a built key is made from, by prefix; a new prefix must be added here.
BUILT = {
    "status_": STATUSES,
    "bstatus_": ("scheduled", "sending", "done", "cancelled"),
    "role_": ALL_ROLES,
    "via_": ("visit", "call", "self"),
    "sort_": SORTS,
    "var_": VARIABLES,
    "reason_": REASONS,
    "leads_": ("picked_up", "passed_on", "pooled"),
    "view_": ("all", *VIEWS),
    "flag_": FLAGS,
}
# bot/exports.py's words: its column headers and the codes it writes in words
EXPORTED = {
    "col_": tuple(key for key, _ in exports.COLUMNS),
    "status_": STATUSES,
    "via_": ("visit", "call", "self"),
    "programmes_": ("2", "3"),
    "channel_": (*(spec.name for spec in registry.SPECS), "field"),  # field: typed in by a coordinator
}


def _placeholders(entry: i18n.Entry) -> set[str]:
    texts = entry.values() if isinstance(entry, dict) else [entry]
    return {name for text in texts for _, name, _, _ in string.Formatter().parse(text) if name}


def _used() -> tuple[set[str], set[str]]:
    literal: set[str] = set()
    prefixes: set[str] = set()
    for path in [*TEMPLATES, *PYTHON]:
        if path.name == "i18n.py":
            continue
        text = path.read_text(encoding="utf-8")
        literal |= {m.group(2) for m in LITERAL.finditer(text)} | {m.group(2) for m in ERROR.finditer(text)}
        prefixes |= {m.group(2) for m in PREFIXED.finditer(text)}
    return literal, prefixes


def test_both_languages_have_the_same_keys() -> None:
    assert set(STRINGS["id"]) == set(STRINGS["en"])
    assert len(STRINGS["id"]) > 200


@pytest.mark.parametrize("key", sorted(STRINGS["id"]))
def test_same_placeholders_and_plurality_in_both_languages(key: str) -> None:
    indonesian, english = STRINGS["id"][key], STRINGS["en"][key]
    assert _placeholders(indonesian) - {"count"} == _placeholders(english) - {"count"}, key
    assert isinstance(indonesian, dict) == isinstance(english, dict), f"{key}: plural in one language only"
    for lang, entry in (("id", indonesian), ("en", english)):
        if isinstance(entry, dict):
            # exactly the forms the language has (CLDR, through Babel): id other; en one, other
            assert set(entry) == set(Locale.parse(lang).plural_form.tags) | {"other"}, (lang, key)


def test_every_key_the_pages_and_code_use_exists() -> None:
    literal, prefixes = _used()
    assert {"leads", "status", "not_found", "results", "export_csv"} <= literal  # the scan finds them
    assert literal - set(STRINGS["id"]) == set()
    assert prefixes - set(BUILT) == set(), "a key built from a new prefix: list its values in BUILT"
    built = {prefix + value for prefix, values in [*BUILT.items(), *EXPORTED.items()] for value in values}
    assert built - set(STRINGS["id"]) == set()


def test_every_template_is_scanned() -> None:
    names = {p.name for p in TEMPLATES}
    assert {"leads.html", "lead.html", "overview.html", "campaigns_new.html", "staff.html", "base.html"} <= names


def test_plural_forms_follow_the_count() -> None:
    assert translate("en", "results", count=1) == "result"
    assert translate("en", "results", count=2) == "results"
    assert translate("en", "results", count=0) == "results"
    assert translate("id", "results", count=1) == "hasil"
    assert translate("id", "results", count=2) == "hasil"
    assert translate("en", "leads_moved", count=1, n="1") == "1 lead reassigned."
    assert translate("en", "leads_moved", count=1500, n="1,500") == "1,500 leads reassigned."
    assert translate("en", "waiting_help", count=1) == "Leads still new after more than 1 hour."
    assert translate("en", "waiting_help", count=48) == "Leads still new after more than 48 hours."
    assert translate("en", "results") == "results"  # no count: the general form


def test_fallbacks_are_kept() -> None:
    assert translate("fr", "login") == "Masuk"  # an unknown language: Indonesian
    assert translate("en", "no_such_key") == "no_such_key"  # an unknown key: the key itself
    assert translate("en", "bad_area", code="3604") == "Unknown area code: 3604"
    assert translate("id", "bad_area", code="3604") == "Kode wilayah tidak dikenal: 3604"


def test_the_locale_files_ship_with_the_package() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    bot_data = re.search(r"^bot = \[(.*)\]$", pyproject, re.M)
    assert bot_data is not None and '"dashboard/locales/*.yaml"' in bot_data.group(1)
    assert {p.name for p in (DASHBOARD / "locales").glob("*.yaml")} == {f"{lang}.yaml" for lang in LANGUAGES}
    assert '"channels/*/locales/*.yaml"' in bot_data.group(1)
    assert i18n.channel_locale_files(), "no channel brings its own words"
    assert all(path.exists() for path in i18n.channel_locale_files())


def test_a_channels_words_cannot_shadow_the_dashboards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A channel's locale file adds keys; one the dashboard (or another channel) has stops the load."""
    channel = tmp_path / "channels" / "sms" / "locales"
    channel.mkdir(parents=True)
    for lang in LANGUAGES:
        (channel / f"{lang}.yaml").write_text("channel_sms: SMS\nleads: Prospek\n", encoding="utf-8")
    monkeypatch.setattr(i18n, "CHANNELS", tmp_path / "channels")
    with pytest.raises(i18n.LocaleError, match=r"\['leads'\] already defined"):
        i18n._load_all()
    (channel / "id.yaml").write_text("channel_sms: SMS\n", encoding="utf-8")
    (channel / "en.yaml").unlink()
    with pytest.raises(i18n.LocaleError, match="missing: a channel's words come in every language"):
        i18n._load_all()


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("a: one\nb: two\na: three\n", "appears twice"),
        ("a: 3\n", "is not text"),
        ("a:\n  - x\n", "is not text"),
        ("a: ''\n", "is not text"),
        ("a: ~\n", "is not text"),
        ("a:\n  one: x\n", "'other' required"),
        ("a:\n  other: x\n  several: y\n", "'other' required"),
        ("a:\n  one: x\n  other: 2\n", "needs a text"),
        ("a:\n  other: x\n  other: y\n", "appears twice"),
        ("- a\n- b\n", "not a mapping"),
    ],
)
def test_a_broken_locale_file_fails_loudly(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "xx.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LocaleError, match=error):
        i18n.load(path)
