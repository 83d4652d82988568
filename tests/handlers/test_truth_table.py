"""The truth table: questions as workers ask them, on fixed dates, and what the answer must and
must not say (issue 12). Every figure is checked against bpu-facts.md §11:

- JKK + JKM at the minimum income Rp1.000.000: Rp16.800, with PP 50/2025 Rp8.400; with JHT
  Rp36.800, relieved Rp28.400 (JHT is not reduced).
- PP 50/2025 windows by contribution month: transport Jan 2026 - Mar 2027, others Apr - Dec 2026.
- JKK death: 48 x income + Rp12 juta + Rp10 juta (Rp70 juta at Rp1 juta); total disability 56 x.
- Payment due by the 15th; inactive after 3 unpaid months in a row; JKK claim window 5 years.

One engine on SQLite for the module (a few seconds in all); each question is a new worker.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import pytest_asyncio

from handlers.messages import Kind
from tests.conftest import TEST_SECRET, Clock
from tests.factories import Chat

FEB, JUN, DEC, JAN, APR = "2026-02-15", "2026-06-01", "2026-12-20", "2027-01-15", "2027-04-01"

# (date, language, what the worker types (several messages: one conversation), must contain, must not contain)
CASES: list[tuple[str, str, str | tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = [
    # -- JP and JKP are not for BPU (wrong item 1)
    (
        DEC,
        "id",
        "bisa ikut jaminan pensiun ga?",
        ("Tidak bisa", "JP", "JHT", "56 tahun"),
        ("Bisa!", "kamu bisa ikut"),
    ),
    (DEC, "id", "jkp bisa buat pekerja mandiri?", ("Tidak bisa", "JKP"), ("Bisa!",)),
    (DEC, "id", "sy ojol mau ikut program pensiun bisa?", ("Tidak bisa", "JKK", "JKM", "JHT"), ("Bisa!",)),
    (DEC, "en", "can I join the pension programme?", ("No.", "JHT"), ("Yes, you can",)),
    # -- lapse (wrong item 3)
    (
        DEC,
        "id",
        "udah 4 bulan ga bayar, kalo kecelakaan ditanggung?",
        ("tidak aktif", "tidak ditanggung", "3 bulan"),
        ("tanpa batas biaya",),
    ),
    (DEC, "id", "nunggak 2 bulan masih aktif ga", ("masih aktif", "3 bulan"), ("tidak ditanggung",)),
    (
        DEC,
        "en",
        "I haven't paid for 5 months, am I still covered if I have an accident?",
        ("inactive", "not covered"),
        ("no cost limit",),
    ),
    (DEC, "id", "telat bayar kena denda ga?", ("tidak ada denda", "3 bulan"), ()),
    (
        DEC,
        "id",
        "kalau berhenti bayar gimana cara aktif lagi?",
        ("NIK", "175", "belum bisa kami pastikan"),
        (),
    ),
    (DEC, "en", "what happens if I stop paying?", ("inactive", "no fine"), ()),
    # -- the payment deadline is the 15th
    (DEC, "id", "bayar iuran paling lambat tanggal berapa?", ("tanggal 15", "15 Desember 2026"), ()),
    (JAN, "id", "jatuh tempo iuran kapan", ("15 Januari 2027",), ()),
    (DEC, "en", "when is the contribution due each month?", ("day 15", "15 December 2026"), ()),
    (DEC, "id", "batas bayar iuran bulan depan", ("15 Januari 2027",), ()),
    # -- claims: 5 years, the 2x24 hours are an employer's duty (wrong item 2)
    (
        DEC,
        "id",
        "kecelakaan 2 bulan lalu masih bisa klaim?",
        ("masih bisa diajukan", "5 tahun", "pemberi kerja"),
        ("paling lambat 2x24",),
    ),
    (DEC, "id", "gimana cara klaim?", ("5 tahun", "Laporkan", "online"), ("paling lambat 2x24",)),
    (DEC, "en", "my accident was 3 months ago, can I still claim?", ("5 years",), ("within 2x24",)),
    (DEC, "id", "batas waktu klaim jkk berapa lama", ("5 tahun",), ("paling lambat 2x24",)),
    (DEC, "en", "how do I claim for a work accident?", ("5 years", "online or in person"), ("within 2x24",)),
    # -- JKK death and disability (wrong item 4)
    (
        DEC,
        "id",
        "kalo meninggal gara2 kecelakaan kerja dpt brp?",
        ("Rp70 juta", "Rp48 juta", "Rp12 juta", "Rp10 juta", "beasiswa", "Rp42 juta"),
        (),
    ),
    (
        DEC,
        "id",
        "penghasilan 2 juta, kalau meninggal karena kecelakaan kerja ahli waris dapat berapa?",
        ("Rp118 juta", "Rp96 juta", "penghasilanmu Rp2.000.000"),
        (),
    ),
    (DEC, "id", "cacat total dapat berapa gaji 2 juta", ("Rp112 juta",), ()),
    (DEC, "en", "what does my family get if I die in a work accident?", ("Rp70 million", "plus"), ()),
    (
        DEC,
        "id",
        ("penghasilan 3 juta iurannya berapa", "kalau meninggal kecelakaan kerja dapat berapa?"),
        ("Rp166 juta", "penghasilanmu Rp3.000.000"),
        (),
    ),
    (DEC, "id", "kalau kecelakaan kerja dapat apa?", ("tanpa batas", "Rp70 juta"), ()),
    # -- JKM (wrong item 10, English)
    (
        DEC,
        "en",
        "what is the death benefit?",
        ("Rp42 million", "periodic benefit", "24 x Rp500.000"),
        ("monthly support",),
    ),
    (
        DEC,
        "id",
        "kalau meninggal dapat santunan berapa?",
        ("Rp42 juta", "Rp12 juta", "dibayar sekaligus"),
        (),
    ),
    # -- scholarship
    (
        DEC,
        "id",
        "beasiswa anak berapa?",
        ("Rp1.500.000", "Rp12.000.000", "Rp174 juta", "23 tahun", "3 tahun"),
        (),
    ),
    (
        DEC,
        "en",
        "how much is the scholarship for my kids?",
        ("Rp3.000.000", "Rp174 million", "no minimum"),
        (),
    ),
    # -- JHT withdrawal
    (DEC, "id", "kapan jht bisa dicairkan", ("56 tahun", "10 tahun", "30%"), ()),
    (DEC, "en", "when can I withdraw JHT?", ("56", "10 years"), ()),
    # -- an accident at home on a day off is not JKK
    (
        DEC,
        "id",
        "jatoh di rumah pas hari libur ditanggung ga?",
        ("bukan kecelakaan kerja", "JKM"),
        ("tanpa batas",),
    ),
    (DEC, "en", "I fell at home on my day off, is it covered?", ("not a work accident",), ("no cost limit",)),
    # -- can I pay at X? (wrong item 10)
    (DEC, "id", "bisa bayar di indomaret?", ("belum bisa kami pastikan", "175"), ("Bisa.",)),
    (DEC, "id", "bayar lewat alfamart bisa?", ("Bisa.", "Alfamart"), ("belum bisa kami pastikan sebagai",)),
    (DEC, "id", "bisa bayar di kantor pos?", ("belum bisa kami pastikan", "Kantor Pos"), ()),
    (DEC, "en", "can i pay with gopay?", ("Yes.", "GoPay"), ()),
    (DEC, "id", "bisa bayar iuran lewat sini?", ("Tidak bisa", "tidak pernah menerima uang"), ()),
    (
        DEC,
        "id",
        "bayar iurannya lewat mana?",
        ("NIK", "Alfamart", "BRImo", "tanggal 15", "Kantor Pos belum bisa"),
        ("minimarket",),
    ),
    (DEC, "en", "can I pay at the post office?", ("cannot yet confirm", "175"), ("Yes.",)),
    # -- eligibility with an age (wrong item 11)
    (
        DEC,
        "id",
        "umur 66 bisa ikut?",
        ("belum bisa kami pastikan", "65", "175"),
        ("Bisa!", "bisa ikut, kalau"),
    ),
    (DEC, "id", "sy 40 th bisa daftar ga?", ("40 tahun masih di bawah batas 65",), ()),
    (DEC, "en", "I am 70 years old, can I join?", ("cannot yet confirm", "65"), ("Yes, you can",)),
    (DEC, "id", "sy ojol bisa ikut ga?", ("NIK", "di bawah 65"), ("Bisa!",)),
    # -- contributions for the month paid for (wrong items 5, 7, 8)
    (FEB, "id", "berapa iuran minimal?", ("Rp16.800", "Rp8.400", "April 2026"), ()),
    (FEB, "id", "sy petani, iuran minimal berapa", ("Rp16.800", "April 2026", "Rp8.400"), ("Ojek, ojol",)),
    (JUN, "id", "iuran minimal berapa", ("Rp8.400", "31 Desember 2026", "31 Maret 2027"), ()),
    (
        DEC,
        "id",
        "berapa iuran tahun depan 2027",
        ("Januari 2027", "Rp8.400", "Rp16.800", "31 Maret 2027"),
        (),
    ),
    (DEC, "id", "iuran bulan april 2027 buat nelayan", ("April 2027", "Rp16.800"), ("Rp8.400",)),
    (DEC, "id", "sy ojol, iuran januari 2027 berapa?", ("Januari 2027", "Rp8.400", "April 2027"), ()),
    (
        JAN,
        "id",
        "penghasilan 1 juta iurannya berapa",
        ("Rp8.400", "Rp16.800", "Ojek"),
        ("Saat ini tidak ada potongan",),
    ),
    (JAN, "id", "sy pedagang penghasilan 2 juta iuran berapa", ("Rp26.800",), ("Rp13.400",)),
    (APR, "id", "iuran minimal berapa", ("Rp16.800",), ("Rp8.400",)),
    (DEC, "id", "iuran bulan depan berapa?", ("Januari 2027", "Rp16.800", "Rp8.400"), ()),
    (DEC, "en", "how much is the contribution in january 2027?", ("January 2027", "Rp16.800", "Rp8.400"), ()),
    (
        DEC,
        "id",
        "16800 itu udh termasuk jht blm?",
        ("Belum termasuk JHT", "Rp36.800"),
        ("paling sedikit *Rp1.000.000*",),
    ),
    (
        DEC,
        "id",
        "iuran 3 program penghasilan 1 juta",
        ("Rp36.800", "JKK + JKM + JHT", "Rp28.400"),
        ("Rp36.800 per bulan untuk JKK + JKM",),
    ),
    (
        DEC,
        "id",
        "iuran minimal kalau pakai jht berapa",
        ("Rp36.800", "3 program (JKK + JKM + JHT)", "Rp28.400", "JHT tidak dipotong"),
        ("Rp36.800 per bulan* untuk JKK + JKM",),
    ),
    (
        DEC,
        "en",
        ("income 2 juta contribution 3 programmes", "next month?"),
        ("January 2027", "Rp66.800", "Rp53.400"),
        (),
    ),
    (
        DEC,
        "id",
        ("iuran april 2027 berapa", "sy ojol", "penghasilan 2 juta iurannya berapa"),
        ("Desember 2026", "Rp13.400"),
        ("April 2027: Rp26.800/bulan",),
    ),
    (DEC, "id", ("iuran april 2027 berapa", "kalau 3 program?"), ("April 2027", "Rp36.800"), ()),
    (
        JAN,
        "id",
        "kok iuran sy jadi 16800 lagi? sy pedagang",
        ("Rp16.800", "31 Desember 2026", "Januari 2027"),
        ("paling sedikit *Rp1.000.000*",),
    ),
    (DEC, "en", "is 36800 with jht included?", ("includes JHT", "Rp16.800"), ()),
    # -- prepaying 3, 6 or 12 months: only the months inside the window are discounted
    (
        DEC,
        "id",
        "sy petani, kalau bayar 12 bulan sekaligus berapa?",
        ("Rp193.200", "1 bulan dengan potongan"),
        (),
    ),
    (DEC, "id", "sy ojol bayar 6 bulan sekaligus berapa", ("Rp67.200", "4 bulan dengan potongan"), ()),
    (JUN, "id", "bayar iuran 3 bulan sekaligus berapa", ("Rp25.200",), ()),
    (DEC, "en", "how much if I pay 12 months at once?", ("Rp168.000", "Rp193.200"), ()),
    # -- words with two meanings: retired is not the pension programme, "lewat" is also "via"
    (DEC, "id", "sy udah pensiun pns msh bisa jd peserta bpu?", ("NIK",), ("Jaminan Pensiun (JP)* dan",)),
    (DEC, "id", "kalo meninggal biasa bukan kecelakaan ditanggung ga", ("Rp42 juta",), ("Rp70 juta",)),
    (DEC, "id", "klaim lwt jmo bisa?", ("JMO",), ("Masih bisa",)),
    (DEC, "id", "cara klaim jht gmn", ("56 tahun", "aplikasi JMO"), ()),
    (DEC, "id", "bayar pake bri bisa?", ("Bisa.", "BRImo", "BRILink"), ()),
    # -- regional and slang phrasings
    (DEC, "id", "sabaraha iuran bulan payun", ("Januari 2027", "Rp8.400", "Rp16.800"), ()),
    (DEC, "id", "iuran taun ngarep piro", ("Januari 2027",), ()),
    (
        DEC,
        "id",
        "kalo kecelakaan kerja trus meninggal, anak istri dapet brp? gaji sy 2,5jt",
        ("Rp142 juta", "Rp120 juta", "Rp140 juta"),
        (),
    ),
    (DEC, "id", "jht bs dicairin kpn", ("56 tahun", "berhenti bekerja"), ()),
    (DEC, "en", "I'm 66, can I still register?", ("cannot yet confirm", "under 65"), ()),
    (DEC, "id", "sudah ikut 10 tahun, jht bisa diambil kapan?", ("10 tahun", "30%"), ("di bawah batas",)),
    (DEC, "id", "brp lama batas ngajuin klaim kecelakaan", ("5 tahun",), ("Masih bisa.",)),
    (DEC, "id", "penyandang cacat bisa ikut bpu?", ("NIK",), ("56 x",)),
    # -- the greeting and the overview say this month's price (wrong item 9)
    (FEB, "en", "hello", ("Rp8.400", "Rp16.800"), ()),
    (DEC, "id", "manfaatnya apa aja?", ("JKK", "Rp8.400", "JP dan JKP"), ()),
]

# The same questions on every date: the windows open and close by contribution month.
_DATES = (FEB, JUN, DEC, JAN, APR)
_SWEEP: dict[str, tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]] = {
    # date by date, in the order of _DATES: (must contain, must not contain)
    "sy pedagang, iuran minimal berapa": (
        (("Rp16.800", "April 2026", "Rp8.400"), ("Ojek, ojol",)),
        (("Rp8.400", "31 Desember 2026", "Januari 2027"), ()),
        (("Rp8.400", "31 Desember 2026", "Januari 2027"), ()),
        (("Rp16.800",), ("Rp8.400",)),
        (("Rp16.800",), ("Rp8.400",)),
    ),
    "sy ojol, iuran minimal berapa": (
        (("Rp8.400", "31 Maret 2027"), ()),
        (("Rp8.400", "31 Maret 2027"), ()),
        (("Rp8.400", "31 Maret 2027", "April 2027"), ()),
        (("Rp8.400", "31 Maret 2027", "April 2027"), ()),
        (("Rp16.800",), ("Rp8.400",)),
    ),
    "sy petani bayar 12 bulan sekaligus berapa": (
        (("Rp126.000", "9 bulan dengan potongan"), ()),
        (("Rp142.800", "7 bulan dengan potongan"), ()),
        (("Rp193.200", "1 bulan dengan potongan"), ()),
        (("Rp201.600", "tanpa potongan"), ()),
        (("Rp201.600", "tanpa potongan"), ()),
    ),
    "sy ojol bayar 12 bulan sekaligus berapa": (
        (("Rp100.800", "12 bulan dengan potongan"), ()),
        (("Rp117.600", "10 bulan dengan potongan"), ()),
        (("Rp168.000", "4 bulan dengan potongan"), ()),
        (("Rp176.400", "3 bulan dengan potongan"), ()),
        (("Rp201.600", "tanpa potongan"), ()),
    ),
    "bayar iuran paling lambat tanggal berapa?": (
        (("15 Februari 2026",), ()),
        (("15 Juni 2026",), ()),
        (("15 Desember 2026",), ()),
        (("15 Januari 2027",), ()),
        (("15 April 2027",), ()),
    ),
    "halo": (
        (("Rp8.400", "Rp16.800"), ()),
        (("Rp8.400", "31 Desember 2026", "31 Maret 2027"), ("Rp16.800",)),
        (("Rp8.400",), ("mulai *Rp16.800*",)),
        (("Rp8.400", "Rp16.800"), ()),
        (("Rp16.800",), ("Rp8.400",)),
    ),
}
CASES += [
    (day, "id", text, must, must_not)
    for text, by_date in _SWEEP.items()
    for day, (must, must_not) in zip(_DATES, by_date, strict=True)
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_engine(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path, matcher):  # type: ignore[no-untyped-def]
    from handlers.engine import Engine
    from storage.crypto import FieldCipher
    from storage.db import Database

    path = tmp_path_factory.mktemp("truth") / "bpu.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    clock = Clock(datetime(2026, 12, 20, 3, tzinfo=UTC))
    engine = Engine(db, FieldCipher(TEST_SECRET), matcher, clock=clock)
    yield engine, clock
    await db.dispose()


def _case_id(case: tuple[object, ...]) -> str:
    day, lang, text = case[0], case[1], case[2]
    said = text if isinstance(text, str) else " / ".join(text)  # type: ignore[arg-type]
    return f"{day}-{lang}-{said[:40]}"


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("index", range(len(CASES)), ids=[_case_id(c) for c in CASES])
async def test_truth_table(module_engine, index: int) -> None:  # type: ignore[no-untyped-def]
    engine, clock = module_engine
    day, lang, text, must, must_not = CASES[index]
    clock.now = datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC).replace(hour=3)
    chat = Chat(engine, user=f"tt-{index}", language_hint=lang)
    for message in (text,) if isinstance(text, str) else text:
        await chat.say(message)
    answer = chat.text
    plain = answer.replace("*", "")
    missing = [m for m in must if m not in answer and m not in plain]
    wrong = [w for w in must_not if w in answer or w in plain]
    assert not missing and not wrong, f"{text!r} on {day}: missing {missing}, wrong {wrong}\n{answer}"


def test_the_table_is_large_and_bilingual() -> None:
    assert len(CASES) >= 60 and sum(1 for c in CASES if c[0] != DEC) >= 30
    assert sum(1 for c in CASES if c[1] == "en") >= 15
    assert {c[0] for c in CASES} >= {FEB, JUN, DEC, JAN, APR}


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("day", "occupation", "shown", "hidden"), [
    (DEC, "Pedagang", "Rp10.900", None),  # 1,5 juta: Rp21.800, relieved Rp10.900 to 31 Dec 2026
    (JAN, "Pedagang", "Rp21.800", "Rp10.900"),
    (JAN, "Ojek", "Rp10.900", None),
])  # fmt: skip
async def test_the_form_prices_programmes_like_its_summary(module_engine, day: str, occupation: str,
                                                           shown: str,
                                                           hidden: str | None) -> None:  # fmt: skip
    engine, clock = module_engine
    clock.now = datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC).replace(hour=3)
    chat = Chat(engine, user=f"form-{day}-{occupation}")
    await chat.say("mau daftar")
    await chat.press("Setuju")
    for answer in ("Siti Aminah", "3673015508900001", "15-08-1990"):
        await chat.say(answer)
    await chat.send(kind=Kind.CONTACT, contact_phone="+6281234567890")
    await chat.press("Kota Serang")
    await chat.say("kec. taktakan")
    await chat.press(occupation)
    await chat.say("1,5 jt")
    assert "program" in chat.text and shown in chat.text, chat.text
    assert hidden is None or hidden not in chat.text, chat.text


def test_a_reminder_prices_the_month_it_reminds_about() -> None:
    """Sent on 29 December 2026 for a farmer's January: Rp16.800 (no relief in January), due the 15th."""
    from bot.delivery import reminders
    from content.render import Renderer
    from storage.models import Lead

    farmer = Lead(declared_income=1_000_000, programmes=2, is_transport=False)
    text, _, variables = reminders.render(Renderer(), "id", {"stage": "before", "due": "2027-01-01"}, farmer,
                                          date(2026, 12, 29))  # fmt: skip
    assert "Rp16.800" in text and "Rp8.400" not in text and "Januari 2027" in text
    assert "15 Januari 2027" in text and "jatuh tempo" not in text and "minimarket" not in text
    assert variables == ("Rp16.800", "15 Januari 2027")
    rider = Lead(declared_income=1_000_000, programmes=2, is_transport=True)
    text, _, _ = reminders.render(Renderer(), "en", {"stage": "due", "due": "2027-01-20"}, rider, date(2027, 1, 20))
    assert "Rp8.400" in text and "has passed (15 January 2027)" in text


@pytest.mark.parametrize(("said", "month"), [
    ("bulan depan", date(2027, 1, 1)), ("januari 2027", date(2027, 1, 1)), ("tahun depan", date(2027, 1, 1)),
    ("april 2027", date(2027, 4, 1)), ("april", date(2027, 4, 1)), ("bulan ini", date(2026, 12, 1)),
    ("2027", date(2027, 1, 1)), ("maret 2026", None), ("may i pay", None), ("iuran 2 juta", None),
])  # fmt: skip
def test_the_month_a_question_names(said: str, month: date | None) -> None:
    from handlers.due_dates import named_month

    assert named_month(said, date(2026, 12, 20)) == month


def test_prepaying_discounts_only_the_months_inside_the_window() -> None:
    from handlers import calculator

    farmer = calculator.prepay(1_000_000, 2, date(2026, 12, 1), 12, False)
    assert (farmer.total, farmer.discounted) == (8_400 + 11 * 16_800, 1)
    rider = calculator.prepay(1_000_000, 3, date(2026, 12, 1), 6, True)
    assert (rider.total, rider.discounted) == (4 * 28_400 + 2 * 36_800, 4)
    assert calculator.death_by_accident(2_000_000).total == 96_000_000 + 12_000_000 + 10_000_000
