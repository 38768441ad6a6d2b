"""Running a command under a service's file-system rules, in a mount namespace of its own:
folders made read-only with bind mounts, as systemd's ProtectSystem=/ReadWritePaths= do.
Needs root (or a user namespace); without it the caller skips and says why."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

_REMOUNT_READ_ONLY = (
    'for folder in "$@"; do '
    '[ "$folder" = -- ] && break; '
    'mount --bind "$folder" "$folder" && mount -o remount,bind,ro "$folder" "$folder" || exit 97; '
    "done; "
    'while [ "$1" != -- ]; do shift; done; shift; exec "$@"'
)


@functools.cache
def namespace_unavailable() -> str | None:
    """Why a mount namespace cannot be made here (None: it can)."""
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return "unshare or mount is not installed"
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "true"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        return f"unshare --mount is not permitted here ({probe.stderr.strip()})"
    return None


def run_with_read_only(
    read_only: Sequence[Path],
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run `argv` with each folder in `read_only` mounted read-only (for it alone)."""
    command = [
        "unshare", "--mount", "--propagation", "private", "sh", "-c", _REMOUNT_READ_ONLY, "sh",
        *(str(folder) for folder in read_only), "--", *argv,
    ]  # fmt: skip
    return subprocess.run(
        command, env=dict(env), capture_output=True, text=True, timeout=timeout, check=False
    )


def as_root() -> bool:
    return os.geteuid() == 0


# The unit's file-system rules (deploy/ascs-faq-bot.service): every mount read-only
# (ProtectSystem=strict) but the folders given (StateDirectory=, ReadWritePaths=), and a /tmp
# of its own (PrivateTmp=yes). /proc, /sys and /dev stay as they are, as under systemd. The
# script checks that the root really is read-only before it runs the command (exit 98 if not).
_UNIT_RULES = r"""
set -e
while [ "$1" != -- ]; do mount --bind "$1" "$1"; writable="$writable $1"; shift; done; shift
mount -t tmpfs -o mode=1777 tmpfs /tmp
awk '{print $5}' /proc/self/mountinfo | sort -u | while read -r point; do
  case "$point" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*|/tmp) continue ;; esac
  case " $writable " in *" $point "*) continue ;; esac
  mount -o remount,bind,ro "$point" 2>/dev/null || true
done
if touch /.unit-rules-probe 2>/dev/null; then rm -f /.unit-rules-probe; exit 98; fi
exec "$@"
"""


def under_unit_rules(writable: Sequence[Path], argv: Sequence[str]) -> list[str]:
    """The command line that runs `argv` under the unit's file-system rules."""
    return [
        "unshare", "--mount", "--propagation", "private", "sh", "-c", _UNIT_RULES, "sh",
        *(str(folder) for folder in writable), "--", *argv,
    ]  # fmt: skip
