"""No fact outside facts.yaml (issue 12): every template in both languages is rendered, and every
Rp amount, day count, programme name and place to pay or claim in it must be one facts.yaml can
produce (a value there, or a sum, product or percentage of values there and of the figures the
calculator works out from them). A template that types "minimarket", "2x24 jam" as a worker's
deadline, or an amount by hand, fails here.
"""

from __future__ import annotations

import itertools
import re
from datetime import date
from functools import cache
from types import SimpleNamespace
from typing import Any

import pytest
from jinja2 import ChainableUndefined, Environment, FileSystemLoader, Undefined

from content import formatting
from content.facts import FACTS_PATH, load_facts
from content.render import LANGUAGES, TEMPLATES
from handlers import calculator
from handlers.topics import Place

# Places and channels a template could name; any of them rendered must be in facts.yaml.
PLACES = ("minimarket", "indomaret", "alfamart", "alfamidi", "kantor pos", "post office", "pos indonesia",
          "pegadaian", "tokopedia", "bukalapak", "lazada", "dana", "ovo", "gopay", "shopeepay", "linkaja",
          "qris",
          "bni", "bri", "brimo", "brilink", "bca", "btn", "bsi", "mandiri", "bjb", "grab", "gojek", "jmo",
          "lapak asik", "plkk", "puskesmas", "kelurahan", "jamsostek mobile")  # fmt: skip
STAFF = ("staff_", "digest")
UNCERTAIN = ("belum bisa kami pastikan", "cannot yet confirm")
_RP = re.compile(r"Rp\s?(\d[\d.,]*)(\s(?:juta|million))?")
_DAYS = re.compile(r"(\d+)\s*(?:x24 jam|x24 hours|hari|days?)\b")
_PROGRAMME = re.compile(r"\bJ[A-Z]{1,3}\b")

MONTHS = [date(2026, 2, 1), date(2026, 6, 1), date(2026, 12, 1), date(2027, 1, 1), date(2027, 4, 1)]


def _numbers(value: Any) -> set[int]:
    if isinstance(value, bool):
        return set()
    if isinstance(value, int):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_numbers(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_numbers(v) for v in value)) if value else set()
    return set()


def _contexts() -> dict[str, list[dict[str, Any]]]:
    """Realistic contexts for templates that show computed figures: the calculator's own output."""
    minimum = calculator.minimum_income()
    my = {lang: (lambda d, lang=lang: formatting.month_year(d, lang)) for lang in LANGUAGES}
    out: dict[str, list[dict[str, Any]]] = {}
    for month in MONTHS:
        for income, count in ((minimum, 2), (minimum, 3), (2_000_000, 3), (30_000_000, 2)):
            split = calculator.by_sector(income, count, month)
            for transport in (None, True, False):
                q = calculator.quote(income, count, month, transport)
                common = {"quote": q, "transport": transport, "split": split if transport is None else None,
                          "month": month.strftime("%B %Y"), "this_month": True,
                          "occupation": None}  # fmt: skip
                out.setdefault("contribution_quote", []).append(common)
                out.setdefault("contribution_minimum", []).append({**common, "occupation_known": transport is not None})
                for months in calculator.prepay_options():
                    p = calculator.prepay(income, count, month, months, transport)
                    out.setdefault("contribution_prepay", []).append(
                        {"totals": {"all": p}, "months": months, "first": "x", "last": "y", "income": income,
                         "income_known": True, "programmes": count, "normal": q.normal})  # fmt: skip
        t, o = (calculator.quote(minimum, 2, month, sector) for sector in (True, False))
        for name in ("greet", "benefits_overview"):
            cheapest = {"transport": t, "others": o, "same": t.total == o.total}
            out.setdefault(name, []).append({"cheapest": cheapest,
                                             "first_time": True, "name": None})  # fmt: skip
        for day in (1, 5, 15, 20, 31):
            due = month.replace(day=min(day, 28))
            for today in (due, date.fromordinal(due.toordinal() - 3)):
                amount = calculator.quote(minimum, 2, due, False).total
                rem = {"amount": amount, "due": due, "deadline": calculator.due_date(due), "today": today,
                       "days": (due - today).days, "month": "m"}  # fmt: skip
                out.setdefault("reminder_due", []).append(rem)
                out.setdefault("reminder_before", []).append(rem)
            out.setdefault("reminder_set", []).append({"day": day, "days_before": 3, "due": due, "opted_out": False})
        out.setdefault("payment_due", []).append({"month": "m", "deadline": calculator.due_date(month)})
    for income in (minimum, 2_000_000, 3_000_000):
        worked = {"death": calculator.death_by_accident(income), "income_known": True,
                  "disability": calculator.total_disability(income)}  # fmt: skip
        out.setdefault("benefit_jkk", []).append(worked)
    out["benefit_jkk"].append({})
    out["eligibility"] = [{}, {"age": 40}, {"age": 66}]
    out["lapse"] = [{"unpaid": n, "accident": a} for n in (None, 1, 4) for a in (True, False)]
    payment = load_facts()["payment"]
    out["payment_place"] = [{"place": Place(("Alfamart",), "yes"), "payment": payment},
                            {"place": Place(("Indomaret",), "not_confirmed"), "payment": payment},
                            {"place": Place((), "no"), "payment": payment}]  # fmt: skip
    out["scholarship"] = [{"levels": load_facts()["benefits"]["scholarship"]["levels"]}]
    two, three = calculator.contribution(minimum, 2), calculator.contribution(minimum, 3)
    out["contribution_amount"] = [
        {"amount": a, "programmes": p, "relieved": r, "two": two, "three": three}
        for a, p, r in ((16_800, 2, False), (8_400, 2, True), (36_800, 3, False))
    ]
    out["contribution_amount"] += [
        {**out["contribution_amount"][0], "quote": calculator.quote(minimum, 2, m, False), "month": "m",
         "ended": date(2026, 12, 31)}
        for m in MONTHS
    ]  # fmt: skip
    preview = SimpleNamespace(total=5, by_channel={"whatsapp": 5}, reachable=5, opted_out=0, unreachable=0,
                              whatsapp_daily_limit=250, whatsapp_outside_window=5, whatsapp_used_24h=0,
                              whatsapp_days=2, buttons=[])  # fmt: skip
    out["staff_broadcast_preview"] = [{"p": preview, "left": 250, "share": 2, "text": "", "area": None}]
    out["contribution_below_minimum"] = [{"income": 500_000, "minimum": minimum}]
    for month in MONTHS:
        q2, q3 = (calculator.quote(2_000_000, n, month, True) for n in (2, 3))
        out.setdefault("form_programmes", []).append({"two": q2, "three": q3, "in_person": False,
                                                      "my": my["id"]})  # fmt: skip
    return out


@cache
def _produced_by_facts(extra: frozenset[int]) -> frozenset[int]:
    base = sorted(_numbers(load_facts()) | extra)
    values = set(base)
    for a, b in itertools.product(base, repeat=2):
        values |= {a + b, a * b, a * b // 100}
    for a, b, c in itertools.combinations(base, 3):
        values.add(a + b + c)
    return frozenset(values)


def _day_counts(node: Any = None) -> set[int]:
    """The facts that are counts of days or hours (hours as "Nx24"): no other number is a day count."""
    found: set[int] = set()
    for key, value in (load_facts() if node is None else node).items():
        if isinstance(value, dict):
            found |= _day_counts(value)
        elif isinstance(value, int) and key.endswith("_days"):
            found.add(value)
        elif isinstance(value, int) and key.endswith("_hours"):
            found.add(value // 24)
    return found


def _amounts(text: str) -> list[int]:
    out = []
    for digits, unit in _RP.findall(text):
        if unit:
            out.append(round(float(digits.replace(".", "").replace(",", ".") if "," in digits else digits) * 1_000_000))
        else:
            out.append(int(re.sub(r"[.,]", "", digits)))
    return out


def _env(lang: str) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES / lang), undefined=ChainableUndefined,
                      autoescape=False,
                      trim_blocks=True, lstrip_blocks=True)  # fmt: skip

    def safe(fn):  # type: ignore[no-untyped-def]
        return lambda v: "" if isinstance(v, Undefined) else fn(v, lang)

    env.filters.update(rp=safe(formatting.rupiah), juta=safe(formatting.juta),
                       tanggal=safe(formatting.long_date),
                       angka=safe(formatting.number))  # fmt: skip
    env.globals["facts"] = load_facts()
    return env


def _context_numbers(context: dict[str, Any]) -> set[int]:
    found: set[int] = set()
    for value in context.values():
        if isinstance(value, int) and not isinstance(value, bool):
            found.add(value)
        for attr in (
            "total",
            "jkk",
            "jkm",
            "jht",
            "income",
            "changed_total",
            "lump_sum",
            "periodic",
            "funeral",
        ):
            inner = getattr(value, attr, None)
            if isinstance(inner, int):
                found.add(inner)
        for sub in ("normal", "relief"):
            part = getattr(value, sub, None)
            found |= {getattr(part, a) for a in ("total", "jkk", "jkm", "jht", "income") if hasattr(part, a)}
        if isinstance(value, dict):
            found |= _context_numbers(value)
        if isinstance(value, tuple):
            found |= _context_numbers(dict(enumerate(value)))  # type: ignore[arg-type]
    return found


def _rendered(lang: str) -> list[tuple[str, str, set[int]]]:
    env = _env(lang)
    contexts = _contexts()
    out = []
    for path in sorted((TEMPLATES / lang).glob("*.j2")):
        name = path.stem
        if name.startswith("_"):
            continue
        for context in contexts.get(name, [{}]):
            context = {"today": date(2026, 12, 20), "my": lambda d: formatting.month_year(d, lang), **context}
            out.append((name, env.get_template(path.name).render(**context), _context_numbers(context)))
    return out


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_rp_amount_and_day_count_comes_from_facts(lang: str) -> None:
    wrong = []
    for name, text, numbers in _rendered(lang):
        if name.startswith(STAFF):
            continue  # staff reports count their own periods ("the last 7 days"), not the programme's
        produced = _produced_by_facts(frozenset(numbers))
        wrong += [(name, f"Rp{a}") for a in _amounts(text) if a not in produced]
        days = _day_counts() | numbers
        wrong += [(name, f"{d} days") for d in map(int, _DAYS.findall(text)) if d not in days]
    assert not wrong, wrong


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_place_and_programme_named_is_in_facts(lang: str) -> None:
    facts_text = FACTS_PATH.read_text(encoding="utf-8").lower()
    payment = load_facts()["payment"]
    programmes = set(load_facts()["programmes"]["names"]) | {load_facts()["member_app"]}
    wrong = []
    for name, text, _ in _rendered(lang):
        lower = text.lower()
        for place in PLACES:
            if re.search(rf"(?<![\w.]){re.escape(place)}(?![\w.])", lower) and place not in facts_text:
                wrong.append((name, place))
        for unsure in payment["not_confirmed"]:
            if unsure.lower() in lower and not any(u in lower for u in UNCERTAIN):
                wrong.append((name, f"{unsure} said without doubt"))
        wrong += [(name, p) for p in _PROGRAMME.findall(text) if p not in programmes]
    assert not wrong, wrong


def test_every_section_names_its_source_and_dates() -> None:
    facts = load_facts()
    sections = [k for k, v in facts.items() if isinstance(v, dict) and k not in ("consent", "regulations")]
    for key in sections:
        section = facts[key]
        assert section.get("source"), key
        assert isinstance(section.get("in_force", {}).get("from"), date), key
        for fact in section.get("unverified", ()):
            node: Any = section
            for part in fact.split("."):
                assert part in node, (key, fact)
                node = node[part]
        for fact in section.get("sources", {}):
            assert fact.split(".")[0] in section, (key, fact)


def test_settled_facts() -> None:
    """bpu-facts.md §11, the points issue 12 was about."""
    facts = load_facts()
    assert facts["programmes"]["not_for_bpu"] == ["JP", "JKP"]
    assert facts["claims"]["jkk_deadline_years"] == 5
    assert facts["contribution"]["due_day"] == 15
    assert facts["contribution"]["lapse_after_unpaid_months"] == 3
    death = calculator.death_by_accident(1_000_000)
    assert death.total == 70_000_000 and calculator.total_disability(2_000_000) == 112_000_000
    assert "Indomaret" not in facts["payment"]["retail"] and "Permenaker 1/2025" in facts["claims"]["source"]
    assert "max_age_at_registration" in facts["eligibility"]["unverified"]
