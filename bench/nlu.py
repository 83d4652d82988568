"""Speed of intent recognition: prediction latency, and start-up to the first answer.

Targets (issue 3): median prediction < 1 ms; `bpu-bot chat` answers its first message < 1.5 s
after the process starts (with the model cache in place; a cold cache trains once, reported too).

    .venv/bin/python bench/nlu.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from handlers.nlu import load_matcher  # noqa: E402
from handlers.nlu.evaluate import read_labelled  # noqa: E402
from handlers.nlu.resources import load_training  # noqa: E402

DEV = ROOT.parent / "shared" / "nlu" / "dev.csv"
BPU_BOT = Path(sys.executable).with_name("bpu-bot")


def messages() -> list[str]:
    texts = [t for t, _ in load_training()]
    if DEV.exists():
        texts += [t for t, _ in read_labelled(DEV)]
    # Variants the caches have not seen, so typo correction runs as it does on new messages.
    return texts + [t[::-1] for t in texts] + [t.upper() + " kak" for t in texts]


def prediction_latency() -> None:
    matcher = load_matcher()
    matcher.predict("halo")
    samples = []
    for text in messages():
        start = time.perf_counter_ns()
        matcher.predict(text)
        samples.append((time.perf_counter_ns() - start) / 1e6)
    samples.sort()
    p99 = samples[int(len(samples) * 0.99)]
    median = statistics.median(samples)
    print(f"prediction over {len(samples)} messages: median {median:.3f} ms, p99 {p99:.3f} ms")


def first_answer(argv: list[str], stdin: str, env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    pipe = subprocess.PIPE
    proc = subprocess.Popen(argv, stdin=pipe, stdout=pipe, stderr=subprocess.DEVNULL, env=env, cwd=cwd, text=True)
    assert proc.stdin and proc.stdout
    proc.stdin.write(stdin)
    proc.stdin.close()
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - start
    proc.stdout.read()
    proc.wait(timeout=60)
    if not line:
        raise RuntimeError(f"{' '.join(argv)} printed nothing")
    return elapsed


def startup() -> None:
    with tempfile.TemporaryDirectory() as work:
        env = {**os.environ, "XDG_CACHE_HOME": str(Path(work) / "cache")}
        env["BPU_DATABASE_URL"] = f"sqlite:///{Path(work) / 'bench.db'}"
        if BPU_BOT.exists():
            argv = [str(BPU_BOT), "chat", "--user", f"bench{os.getpid()}"]
            label = "`bpu-bot chat`, first answer to 'halo'"
            stdin = "halo\n"
        else:
            code = "from handlers.nlu import load_matcher; print(load_matcher().predict('halo').intent)"
            argv = [sys.executable, "-c", code]
            label = "fresh process: load_matcher() + first predict (bpu-bot chat not installed)"
            stdin = ""
            env["PYTHONPATH"] = str(ROOT)
        cold = first_answer(argv, stdin, env, work)
        warm = sorted(first_answer(argv, stdin, env, work) for _ in range(3))[1]
    print(f"{label}: {warm:.2f} s with the model cache (median of 3), {cold:.2f} s on a cold cache (trains)")


if __name__ == "__main__":
    prediction_latency()
    startup()
