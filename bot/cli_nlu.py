"""`bpu-bot nlu predict TEXT` and `bpu-bot nlu test FILE.csv [--json] [--cv N]`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from handlers.nlu import IntentMatcher


def register(subparsers: Any) -> None:
    nlu = subparsers.add_parser("nlu", help="intent recognition: try a message, measure on a labelled file")
    nlu_sub = nlu.add_subparsers(dest="nlu_command", required=True)

    predict = nlu_sub.add_parser("predict", help="the intent of one message and its confidence")
    predict.add_argument("text", nargs="+", help="the message (several words need no quotes)")
    predict.add_argument("--json", action="store_true", help="print one JSON object")
    predict.set_defaults(func=cmd_predict)

    test = nlu_sub.add_parser(
        "test", help="accuracy, per-intent precision/recall/F1, confusions, and messages per answer"
    )
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
    from handlers.nlu import load_matcher

    matcher = load_matcher()
    if args.cv:
        report = evaluate.cross_validate(rows, load_training(), folds=args.cv)
        title = f"{args.cv}-fold cross-validation over {args.file} (+ content/intents in every fold)"
    else:
        report = evaluate.evaluate(matcher, rows)
        title = f"model trained on content/intents, tested on {args.file}"
    # What a worker receives, whatever the folds: the shipped bot's answers (a few seconds).
    report = replace(report, messages_per_answer=messages_per_answer([text for text, _ in rows], matcher))
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        print(evaluate.format_report(report, title))
    return 0


def messages_per_answer(texts: Sequence[str], matcher: IntentMatcher) -> dict[str, Any]:
    """How many messages each text is answered with, each sent as a new worker's first message
    through the real engine on a throwaway SQLite database: the average and the distribution,
    as the engine returns them and as WhatsApp sends them (a text with buttons over 1,024
    characters takes a second message there). Call outside a running event loop (migrations)."""
    from bot import runtime
    from bot.channels.whatsapp import format as whatsapp_format
    from bot.settings import Settings
    from handlers.messages import IncomingMessage

    replies: Counter[int] = Counter()
    whatsapp: Counter[int] = Counter()
    with tempfile.TemporaryDirectory(prefix="bpu-nlu-") as tmp:
        settings = Settings(_env_file=None, BPU_DATABASE_URL=f"sqlite:///{tmp}/answers.db")  # type: ignore[call-arg]
        rt = runtime.build(settings, matcher=matcher)

        async def answer_all() -> None:
            try:
                for i, text in enumerate(texts):
                    answer = await rt.engine.handle(IncomingMessage("console", f"nlu-test-{i}", text=text))
                    replies[len(answer)] += 1
                    whatsapp[sum(len(whatsapp_format.render(r).messages) for r in answer)] += 1
            finally:
                await rt.close()

        asyncio.run(answer_all())
    return {**_average(replies), "whatsapp": _average(whatsapp)}


def _average(counts: Counter[int]) -> dict[str, Any]:
    total = sum(counts.values())
    return {
        "average": sum(n * c for n, c in counts.items()) / total if total else 0.0,
        "distribution": dict(sorted(counts.items())),
    }
