import pytest

from content import regions


def test_banten_has_its_kabupaten_kota_and_155_kecamatan() -> None:
    codes = {r.code: r.name for r in regions.kabkota_list()}
    assert codes["3604"] == "Kab. Serang" and codes["3602"] == "Kab. Lebak" and codes["3673"] == "Kota Serang"
    assert sum(len(regions.kecamatan_of(code)) for code in codes) == 155
    assert [r.code for r in regions.outreach_kabkota()] == ["3673", "3604", "3601", "3602", "3672"]


@pytest.mark.parametrize(
    ("typed", "code"),
    [("kec. taktakan", "367306"), ("Taktakan", "367306"), ("taktakn", "367306"), ("KASEMEN", "367302")],
)
def test_kecamatan_typed_forgivingly(typed: str, code: str) -> None:
    found = regions.match_kecamatan(typed, "3673")
    assert found is not None and found.code == code


def test_ambiguous_or_unknown_names_are_not_guessed() -> None:
    assert regions.match_kabkota("serang") is None  # Kota or Kab.
    assert regions.match_kabkota("kota serang").code == "3673"  # type: ignore[union-attr]
    assert regions.match_kabkota("Kabupaten Serang").code == "3604"  # type: ignore[union-attr]
    assert regions.match_kecamatan("jakarta", "3673") is None


def test_time_zones_by_province() -> None:
    assert regions.timezone_for("367306") == "Asia/Jakarta"
    assert regions.timezone_for("5171") == "Asia/Makassar"
    assert regions.timezone_for("9471") == "Asia/Jayapura"
