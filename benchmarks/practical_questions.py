"""How many of sixty practical questions get a concrete fact (issue 23).

Runs `python -m bot ask --json` on the questions of benchmarks/practical_questions.yaml in a
checkout (this one, or --repo DIR, e.g. a worktree of an older commit) and counts the
replies that hold one of each question's facts. Questions marked `fact: none` are those
the facts sheet cannot answer; they are counted apart.

    .venv/bin/python benchmarks/practical_questions.py
    .venv/bin/python benchmarks/practical_questions.py --repo /work/wt-base-content -v
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import unicodedata
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
QUESTIONS = HERE / "practical_questions.yaml"


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def holds(text: str, alternative: str) -> bool:
    if alternative.startswith("#"):
        return alternative[1:] in "".join(c for c in text if c.isdigit())
    return fold(alternative) in fold(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=HERE.parent, help="checkout to ask")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per question")
    args = parser.parse_args()
    cases = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))["questions"]
    stdin = "".join(case["q"] + "\n" for case in cases)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--json"],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=args.repo,
        check=True,
        timeout=600,
    )
    replies = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(replies) == len(cases), (len(replies), len(cases))
    answerable = got = 0
    for case, reply in zip(cases, replies, strict=True):
        facts = case["fact"]
        if facts == "none":
            mark = "  (no published fact)"
        else:
            answerable += 1
            ok = any(holds(reply["text"], alt) for alt in facts)
            got += ok
            mark = "FACT" if ok else "  --"
        if args.verbose:
            print(f"{mark:22} {reply['status']:9} {reply['id'] or '-':24} {case['q']}")
    unknown = len(cases) - answerable
    print(
        f"{args.repo}: {got}/{answerable} answerable questions got a concrete fact "
        f"({len(cases)} questions; {unknown} have no published fact)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
