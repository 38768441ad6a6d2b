"""Matching as the knowledge base grows, side by side with another checkout (issue 25).

    .venv/bin/python benchmarks/scale.py [--base PATH] [--runs N] [--data PATH]

For this checkout and, with --base, another one (for example a `git worktree` of the commit
before), in one run with the two interleaved so that the machine's noise falls on both:

- question time: p50 / p99 of `Matcher.match` per question (CPU time), at 1,500 and 15,000
  variants (CLINC150's first 10 training questions per intent, copied 1 and 10 times with
  renamed entries), asked the 3,000 validation questions, in a fresh process per size;
- lint: wall time of `python -m bot lint --faq DIR` on those two knowledge bases written as
  YAML files: with nothing kept yet (a fresh state folder), then after an edit to one file
  (what staff wait for after changing a file), then again without a change;
- accept: wall time of planning and checking one learned variant on a copy of faq/
  (`plan_variant` + `validate`, the work of `learn --accept` before its atomic rename), on
  the checkout's ASCS faq/ and on the 1,500 CLINC150 variants (benchmarks/learning.py's);
- start-up: wall time of `python -m bot ask QUESTION` on the ASCS faq/ until it exits (with
  a warm cache where the checkout has one).

Each figure is the median of --runs runs (default 5). Every process gets its own state
folder in a temporary directory, so no cache is shared between checkouts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "clinc150" / "clinc150_train_val.json"
SIZES = (1, 10)  # copies of the 1,500-variant knowledge base


def write_faq(data: dict[str, list[list[str]]], copies: int, folder: Path) -> None:
    """CLINC150 as faq/*.yaml: 15 intents a file, English questions, a short answer."""
    intents: dict[str, list[str]] = {}
    for text, intent in data["train"]:
        variants = intents.setdefault(intent, [])
        if len(variants) < 10:
            variants.append(text)
    names = sorted(intents)
    folder.mkdir(parents=True, exist_ok=True)
    for copy in range(copies):
        for start in range(0, len(names), 15):
            entries = [
                {
                    "id": (name.replace("_", "-") + (f"-{copy + 1}" if copy else ""))[:32],
                    "questions": {"en": intents[name]},
                    "answer": {"en": f"About {name}.", "sq": f"Për {name}."},
                }
                for name in names[start : start + 15]
            ]
            document = {"category": {"en": f"T{copy}-{start}", "sq": f"T{copy}-{start}"}}
            document["entries"] = entries  # type: ignore[assignment]
            (folder / f"topic{copy:02d}{start:03d}.yaml").write_text(
                "# yaml-language-server: $schema=../bot/core/schema/faq.schema.json\n"
                + yaml.safe_dump(document, allow_unicode=True, sort_keys=False),
                encoding="utf-8",
            )


def config_for(tree: Path, state: Path) -> Path:
    """The checkout's config.yaml with its faq/ and a private state folder, absolute."""
    text = (tree / "config.yaml").read_text(encoding="utf-8")
    text = text.replace("  faq: faq\n", f"  faq: {tree / 'faq'}\n")
    text = text.replace(
        "  question_log: data/questions.sqlite3\n", f"  question_log: {state}/questions.sqlite3\n"
    )
    state.mkdir(parents=True, exist_ok=True)
    path = state / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def wall(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


QUESTION_TIMER = """
import json, sys, time, statistics
sys.path.insert(0, {tree!r}); sys.path.insert(0, {tree!r} + "/benchmarks")
import clinc150
from pathlib import Path
from bot.config import load_settings
from bot.core.matcher import Matcher
data = clinc150.load_data(Path({data!r}))
settings = load_settings(Path({tree!r}) / "config.yaml", environ={{}})
matcher = Matcher(clinc150.knowledge_base(data.intents, {copies}), settings.matching)
for question in data.warm_up:
    matcher.match(question)
times = []
for question, _intent in data.in_scope:
    started = time.process_time()
    matcher.match(question)
    times.append(time.process_time() - started)
times.sort()
print(json.dumps([statistics.median(times) * 1000, times[int(0.99 * len(times))] * 1000]))
"""

ACCEPT_TIMER = """
import shutil, sys, tempfile, time
sys.path.insert(0, {tree!r})
from pathlib import Path
from bot.config import load_settings
from bot.staff.faq_writer import plan_variant, validate
settings = load_settings(Path({tree!r}) / "config.yaml", environ={{}})
folder = Path(tempfile.mkdtemp()) / "faq"
shutil.copytree(Path({source!r}), folder)
started = time.perf_counter()
validate(settings, folder, plan_variant(folder, {entry!r}, {lang!r}, {variant!r}))
print(time.perf_counter() - started)
"""
# One learned variant each: on the ASCS faq/ of the checkout, and on CLINC150's 1,500.
ACCEPTS = {
    "accept s (ASCS faq/)": (None, "office-address", "sq", "ku e keni zyren tani"),
    "accept s @1500": (1, "accept-reservations", "en", "do you take table bookings here"),
}


def python_of(tree: Path) -> str:
    own = tree / ".venv" / "bin" / "python"
    return str(own) if own.exists() else sys.executable


def measure(trees: dict[str, Path], data_path: Path, runs: int) -> dict[str, dict[str, float]]:
    data = json.loads(data_path.read_text(encoding="utf-8"))
    results: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
    with tempfile.TemporaryDirectory(prefix="scale-") as scratch:
        root = Path(scratch)
        folders = {}
        for copies in SIZES:
            folders[copies] = root / f"faq{copies * 1500}"
            write_faq(data, copies, folders[copies])
        for run in range(runs):
            for name, tree in trees.items():
                python = python_of(tree)
                record = results[name]
                for copies in SIZES:
                    size = copies * 1500
                    script = QUESTION_TIMER.format(
                        tree=str(tree), data=str(data_path), copies=copies
                    )
                    out = subprocess.run(
                        [python, "-c", script], cwd=tree, capture_output=True, text=True, check=True
                    ).stdout
                    p50, p99 = json.loads(out)
                    record.setdefault(f"p50 ms @{size}", []).append(p50)
                    record.setdefault(f"p99 ms @{size}", []).append(p99)
                    state = root / f"state-{name}-{copies}-{run}"
                    config = config_for(tree, state)
                    lint = [python, "-m", "bot", "--config", str(config), "lint"]
                    lint += ["--faq", str(folders[copies])]
                    # First with nothing kept (a fresh state folder), then after an edit
                    # to one file (what staff wait for), then again without a change.
                    record.setdefault(f"lint s @{size} nothing cached", []).append(wall(lint, tree))
                    edited = folders[copies] / "topic00000.yaml"
                    edited.write_text(
                        edited.read_text(encoding="utf-8") + f"# edit {name} {run}\n",
                        encoding="utf-8",
                    )
                    record.setdefault(f"lint s @{size} after an edit", []).append(wall(lint, tree))
                    record.setdefault(f"lint s @{size} again", []).append(wall(lint, tree))
                state = root / f"state-{name}-ask-{run}"
                config = config_for(tree, state)
                ask = [python, "-m", "bot", "--config", str(config), "ask", "ku ndodhet zyra"]
                wall(ask, tree)  # fills the cache where there is one
                record.setdefault("ask start-up s", []).append(wall(ask, tree))
                for label, (copies, entry, lang, variant) in ACCEPTS.items():
                    source = tree / "faq" if copies is None else folders[copies]
                    script = ACCEPT_TIMER.format(
                        tree=str(tree), source=str(source), entry=entry, lang=lang, variant=variant
                    )
                    accept = subprocess.run(
                        [python, "-c", script], cwd=tree, capture_output=True, text=True, check=True
                    ).stdout
                    record.setdefault(label, []).append(float(accept))
    return {
        name: {key: statistics.median(values) for key, values in record.items()}
        for name, record in results.items()
    }


def table(medians: dict[str, dict[str, float]]) -> str:
    names = list(medians)
    keys = list(next(iter(medians.values())))
    lines = ["| | " + " | ".join(names) + (" | ratio |" if len(names) == 2 else " |")]
    lines.append("|---" * (len(names) + 1 + (len(names) == 2)) + "|")
    for key in keys:
        cells = [f"{medians[name][key]:.3f}" for name in names]
        if len(names) == 2:
            base, this = medians[names[0]][key], medians[names[1]][key]
            cells.append(f"{this / base:.2f}" if base else "-")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, help="another checkout to compare with")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    if not args.data.is_file():
        sys.exit(f"CLINC150 data not found at {args.data}; give its path with --data")
    trees = {"this checkout": REPO}
    if args.base:
        trees = {f"base ({args.base.name})": args.base.resolve(), **trees}
    print(table(measure(trees, args.data, args.runs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
