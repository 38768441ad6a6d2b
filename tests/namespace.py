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
