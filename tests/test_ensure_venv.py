"""scripts/ensure-venv rebuilds a .venv that another Python version made (an OS upgrade),
instead of failing with "requires a different Python" until someone deletes it by hand."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "ensure-venv"


def project_with_old_venv(tmp_path: Path, made_by: str) -> Path:
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy(SCRIPT, project / "scripts" / "ensure-venv")
    (project / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0"\n')
    venv = project / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text(f"home = /usr/bin\nversion = {made_by}\n")
    (venv / "bin" / "python").symlink_to(sys.executable)
    (venv / "made-by-the-old-python").write_text("")
    return project


def run_ensure_venv(project: Path) -> subprocess.CompletedProcess[str]:
    # No package index: the test checks the rebuild, not the install that follows it.
    environ = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": ""}
    path = f"{Path(sys.executable).parent}:{environ.get('PATH', '')}"
    return subprocess.run(
        [str(project / "scripts" / "ensure-venv")],
        env={**environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_venv_made_by_another_python_version_is_rebuilt(tmp_path: Path) -> None:
    project = project_with_old_venv(tmp_path, "3.0.1")
    result = run_ensure_venv(project)
    assert "Rebuilding .venv: it was made by Python 3.0" in result.stderr
    assert not (project / ".venv" / "made-by-the-old-python").exists()
    config = (project / ".venv" / "pyvenv.cfg").read_text()
    python3 = subprocess.run(
        ["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert f"version = {python3}" in config or f"version_info = {python3}" in config


def test_a_venv_of_the_same_python_version_is_kept(tmp_path: Path) -> None:
    python3 = subprocess.run(
        ["python3", "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    project = project_with_old_venv(tmp_path, python3)
    result = run_ensure_venv(project)
    assert "Rebuilding" not in result.stderr
    assert (project / ".venv" / "made-by-the-old-python").exists()


def test_a_fresh_clone_without_a_venv_gets_one(tmp_path: Path) -> None:
    """The README's first command on a fresh clone: no .venv, so no pyvenv.cfg to read."""
    project = project_with_old_venv(tmp_path, "3.0.1")
    shutil.rmtree(project / ".venv")
    result = run_ensure_venv(project)
    assert (project / ".venv" / "bin" / "python").exists(), result.stderr
    assert "Installing the project into .venv" in result.stderr
    assert "Rebuilding" not in result.stderr
