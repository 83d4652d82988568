"""The command line as users call it: real processes, real pipes, a real database file."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.processes import run


def test_chat_through_a_pipe(tmp_path: Path) -> None:
    out = run(["chat"], tmp_path, "halo\nberapa iuran minimal?\n")
    assert out.returncode == 0, out.stderr
    assert "Halo" in out.stdout and "Rp16.800" in out.stdout
    assert "[1] Manfaat" in out.stdout  # buttons as numbered options
    assert (tmp_path / ".cli.db.secret").stat().st_mode & 0o777 == 0o600


def test_chat_numbers_press_buttons_and_the_conversation_continues(tmp_path: Path) -> None:
    first = run(["chat", "--user", "ani"], tmp_path, "daftar\n1\nAni Suryani\n")
    assert "NIK" in first.stdout, first.stderr
    second = run(["chat", "--user", "ani"], tmp_path, "3673015508900001\n")
    assert "tanggal lahir" in second.stdout.lower()


def test_chat_in_english(tmp_path: Path) -> None:
    out = run(["chat", "--lang", "en", "--user", "en1"], tmp_path, "hello\n")
    assert "BPJS" in out.stdout and "Halo!" not in out.stdout


def test_db_upgrade(tmp_path: Path) -> None:
    out = run(["db", "upgrade"], tmp_path)
    assert out.returncode == 0 and "latest" in out.stdout
    assert (tmp_path / "cli.db").exists()


def test_staff_add_and_bad_input(tmp_path: Path) -> None:
    ok = run(
        ["staff", "add", "--name", "Rina", "--role", "coordinator", "--telegram-id", "42", "--area", "3673"], tmp_path
    )
    assert ok.returncode == 0 and "coordinator" in ok.stdout, ok.stderr
    dup = run(["staff", "add", "--name", "Rina 2", "--role", "coordinator", "--telegram-id", "42"], tmp_path)
    assert dup.returncode == 1 and "already" in dup.stderr
    same_name = run(["staff", "add", "--name", " Rina ", "--role", "staff", "--telegram-id", "43"], tmp_path)
    assert same_name.returncode == 1 and "already called 'Rina'" in same_name.stderr  # the dashboard login
    bad_area = run(["staff", "add", "--name", "X", "--role", "staff", "--area", "9999"], tmp_path)
    assert bad_area.returncode == 2 and "unknown area" in bad_area.stderr
    bad_role = run(["staff", "add", "--name", "X", "--role", "boss"], tmp_path)
    assert bad_role.returncode == 2
    pw = run(["staff", "add", "--name", "Admin", "--role", "admin", "--password"], tmp_path, "a-long-password\n")
    assert pw.returncode == 0, pw.stderr


FORM = "daftar\n1\nSiti Aminah\n3673015508900001\n15-08-1990\n081234567890\n1\ntaktakan\n2\n2 juta\n1\n2\n1\n"


def test_leads_export_csv_and_xlsx_mask_the_nik(tmp_path: Path) -> None:
    chat = run(["chat", "--user", "siti"], tmp_path, FORM)
    assert "sudah kami terima" in chat.stdout, chat.stdout[-2000:]

    out = run(["leads", "export"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("\ufeff")  # Excel reads UTF-8 with a BOM
    rows = list(csv.reader(io.StringIO(out.stdout.lstrip("\ufeff")), delimiter=";"))  # what Indonesian Excel splits
    assert rows[0][0] == "ID" and len(rows) == 2
    assert "3673**********01" in rows[1] and "3673015508900001" not in out.stdout
    assert "Taktakan" in rows[1] and "Kota Serang" in rows[1]

    none = run(["leads", "export", "--area", "3604"], tmp_path)
    assert len(list(csv.reader(io.StringIO(none.stdout.lstrip("\ufeff")), delimiter=";"))) == 1
    filtered = run(["leads", "export", "--area", "367306", "--status", "new", "-o", "x.csv"], tmp_path)
    assert filtered.returncode == 0 and "exported 1" in filtered.stderr
    assert (tmp_path / "x.csv").read_bytes().startswith(b"\xef\xbb\xbf")

    xlsx = run(["leads", "export", "--format", "xlsx", "-o", "leads.xlsx"], tmp_path)
    assert xlsx.returncode == 0, xlsx.stderr
    from openpyxl import load_workbook

    sheet = load_workbook(tmp_path / "leads.xlsx").active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[1][4] == "3673**********01"

    assert run(["leads", "export", "--format", "xlsx"], tmp_path).returncode == 2
    assert run(["leads", "export", "--area", "abc"], tmp_path).returncode == 2


@pytest.mark.parametrize("args", [["nlu", "predict", "berapa iuran minimal"]])
def test_nlu_predict(tmp_path: Path, args: list[str]) -> None:
    out = run(args, tmp_path)
    assert out.returncode == 0 and "contribution" in out.stdout


def test_nlu_unknown_lists_masked_messages_grouped(tmp_path: Path) -> None:
    assert run(["nlu", "unknown"], tmp_path).stdout.strip() == "no unanswered messages"
    questions = "cuaca besok hujan ga?\ncuaca besok hujan ga?\nnik sy 3673015508900001 pinjol bisa?\n"
    run(["chat", "--user", "u1"], tmp_path, questions)
    out = run(["nlu", "unknown"], tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[1].split()[0] == "2" and "cuaca" in lines[1]
    assert "3673015508900001" not in out.stdout and "3673**********01" in out.stdout
