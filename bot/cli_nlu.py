"""`bpu-bot nlu predict TEXT` and `bpu-bot nlu test FILE.csv [--json] [--cv N]`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    nlu = subparsers.add_parser("nlu", help="intent recognition: try a message, measure on a labelled file")
    nlu_sub = nlu.add_subparsers(dest="nlu_command", required=True)

    predict = nlu_sub.add_parser("predict", help="the intent of one message and its confidence")
    predict.add_argument("text", nargs="+", help="the message (several words need no quotes)")
    predict.add_argument("--json", action="store_true", help="print one JSON object")
    predict.set_defaults(func=cmd_predict)

    test = nlu_sub.add_parser("test", help="accuracy, per-intent precision/recall/F1 and confusions")
    test.add_argument("file", type=Path, help="CSV with columns text,intent")
    test.add_argument("--json", action="store_true", help="print one JSON object")
    test.add_argument(
        "--cv",
        type=int,
        metavar="K",
        help="K-fold cross-validation instead: train on content/intents plus the other folds of FILE",
    )
    test.set_defaults(func=cmd_test)

    from bot import cli_unknown

    cli_unknown.register(nlu_sub)


def cmd_predict(args: argparse.Namespace) -> int:
    from handlers.nlu import load_matcher
    from handlers.nlu.classifier import LOW_CONFIDENCE, suggestions

    prediction = load_matcher().predict(" ".join(args.text))
    if args.json:
        print(
            json.dumps(
                {
                    "intent": prediction.intent,
                    "confidence": prediction.confidence,
                    "confident": prediction.confidence >= LOW_CONFIDENCE,
                    "ranking": [[i, p] for i, p in prediction.ranking[:5]],
                },
                ensure_ascii=False,
            )
        )
        return 0
    print(f"{prediction.intent} {prediction.confidence:.3f}")
    if prediction.confidence < LOW_CONFIDENCE:
        print(f"(below {LOW_CONFIDENCE}: the bot would offer {', '.join(suggestions(prediction))})")
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    from handlers.nlu import evaluate
    from handlers.nlu.resources import load_training

    try:
        rows = evaluate.read_labelled(args.file)
    except (OSError, ValueError) as exc:
        print(f"nlu test: {exc}", file=sys.stderr)
        return 2
    if not rows:
        print(f"nlu test: {args.file} has no rows", file=sys.stderr)
        return 2
    if args.cv:
        report = evaluate.cross_validate(rows, load_training(), folds=args.cv)
        title = f"{args.cv}-fold cross-validation over {args.file} (+ content/intents in every fold)"
    else:
        from handlers.nlu import load_matcher

        report = evaluate.evaluate(load_matcher(), rows)
        title = f"model trained on content/intents, tested on {args.file}"
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        print(evaluate.format_report(report, title))
    return 0
