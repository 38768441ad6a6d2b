"""How long `./scripts/run` takes to reach the chat on a fresh clone: the first start (which
creates .venv and installs everything) and the later ones (which should skip pip).

    .venv/bin/python benchmarks/start_time.py [--repo PATH] [--runs N]

Clones `--repo` (default: this repository, its committed state) into a temporary folder,
runs `./scripts/run` without a token N+1 times, and times each until the chat's first menu
is printed. Counts the lines of each start's output that are warnings (pip, setuptools).
Needs the package index for the first start, like any fresh clone.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHAT_READY = "1) "  # the first numbered button of the welcome menu
TIMEOUT_SECONDS = 600


def start_once(clone: Path) -> tuple[float, list[str]]:
    """Seconds until the chat shows its menu, and every line the start printed."""
    environ = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    started = time.perf_counter()
    process = subprocess.Popen(
        ["./scripts/run"],
        cwd=clone,
        env=environ,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdin is not None
    lines: list[str] = []
    ready = None
    deadline = started + TIMEOUT_SECONDS
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if ready is None and line.lstrip().startswith(CHAT_READY):
            ready = time.perf_counter() - started
            process.stdin.close()  # end of input: the chat ends
        if time.perf_counter() > deadline:
            process.kill()
            break
    process.wait()
    if ready is None:
        sys.exit("the chat never showed its menu:\n" + "\n".join(lines[-20:]))
    return ready, lines


def warnings_in(lines: list[str]) -> list[str]:
    return [line for line in lines if "warning" in line.lower()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=REPO)
    parser.add_argument("--runs", type=int, default=5, help="later starts to time (default 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="start-time-") as folder:
        clone = Path(folder) / "clone"
        subprocess.run(["git", "clone", "--quiet", str(args.repo), str(clone)], check=True)
        first, first_lines = start_once(clone)
        later = [start_once(clone) for _ in range(args.runs)]
    later_times = [seconds for seconds, _ in later]
    later_warnings = max(len(warnings_in(lines)) for _, lines in later)
    first_warnings = len(warnings_in(first_lines))
    print(f"first start:  {first:6.2f} s to the chat, {first_warnings} warning lines")
    print(
        f"later starts: median {statistics.median(later_times):.2f} s "
        f"(min {min(later_times):.2f}, max {max(later_times):.2f}, {args.runs} runs), "
        f"at most {later_warnings} warning lines"
    )


if __name__ == "__main__":
    main()
