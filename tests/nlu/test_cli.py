from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from bot import cli_nlu
from handlers.nlu import classifier as clf


@pytest.fixture
def parser(classifier, monkeypatch) -> argparse.ArgumentParser:
    monkeypatch.setattr(clf, "load_default", lambda: classifier)
    parser = argparse.ArgumentParser(prog="bpu-bot")
    cli_nlu.register(parser.add_subparsers(dest="command", required=True))
    return parser


def run(parser: argparse.ArgumentParser, *argv: str) -> int:
    args = parser.parse_args(argv)
    return args.func(args)


def test_predict(parser, capsys) -> None:
    assert run(parser, "nlu", "predict", "iuran", "brp", "kak") == 0
    intent, confidence = capsys.readouterr().out.split()
    assert intent == "contribution"
    assert 0.5 <= float(confidence) <= 1.0


def test_predict_low_confidence_names_the_buttons(parser, capsys) -> None:
    assert run(parser, "nlu", "predict", "gmn") == 0
    assert "would offer" in capsys.readouterr().out


def test_test_json(parser, capsys, tmp_path: Path) -> None:
    csv_file = tmp_path / "t.csv"
    rows = "text,intent\nmau daftar,register\niuran brp,contribution\nhalo,opt_out\n"
    csv_file.write_text(rows, encoding="utf-8")
    assert run(parser, "nlu", "test", str(csv_file), "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["accuracy"] == pytest.approx(2 / 3)
    assert set(report) >= {"accuracy", "per_intent", "confusions"}
    assert report["confusions"] == [{"expected": "opt_out", "predicted": "greet", "count": 1}]
    answers = report["messages_per_answer"]  # each row answered by the real engine, as a first message
    assert answers["average"] == 1.0 and answers["distribution"] == {"1": 3}
    assert answers["whatsapp"]["distribution"] == {"1": 3}


def test_test_text_report(parser, capsys, tmp_path: Path) -> None:
    csv_file = tmp_path / "t.csv"
    csv_file.write_text("text,intent\nmau daftar,register\n", encoding="utf-8")
    assert run(parser, "nlu", "test", str(csv_file)) == 0
    out = capsys.readouterr().out
    assert "accuracy 1.000" in out
    assert "messages per answer 1.00 (1: 1); on WhatsApp 1.00 (1: 1)" in out
    assert "register" in out


def test_test_bad_file(parser, capsys, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    assert run(parser, "nlu", "test", str(bad)) == 2
    assert run(parser, "nlu", "test", str(tmp_path / "missing.csv")) == 2
