"""The systemd units in deploy/ are the ones the README shows, and systemd accepts them."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
DEPLOY = PROJECT / "deploy"
UNITS = ("ascs-faq-bot.service", "ascs-faq-bot-backup.service", "ascs-faq-bot-backup.timer")


def unit_settings(name: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in (DEPLOY / name).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


def test_the_readme_shows_the_service_unit_as_it_is_in_deploy() -> None:
    readme = (PROJECT / "README.md").read_text()
    blocks = re.findall(r"```ini\n(.*?)```", readme, flags=re.DOTALL)
    assert (DEPLOY / "ascs-faq-bot.service").read_text() in blocks


def test_the_service_has_the_rules_a_deployment_relies_on() -> None:
    service = unit_settings("ascs-faq-bot.service")
    assert service["Type"] == ["notify"]
    assert service["PrivateTmp"] == ["yes"]  # ProtectSystem=strict makes /tmp read-only
    assert service["ProtectSystem"] == ["strict"]
    assert service["StateDirectory"] == ["ascs-faq-bot"]
    assert service["Restart"] == ["on-failure"]
    assert service["RestartPreventExitStatus"] == ["2"]
    assert "WatchdogSec" in service
    # The state folder comes from StateDirectory= (systemd creates it); ReadWritePaths= names
    # only the content folder, which the README's steps create.
    assert service["ReadWritePaths"] == ["/srv/ascs-faq-content"]
    assert "Environment" in service
    assert "BOT_STATE_DIR=/var/lib/ascs-faq-bot" in service["Environment"]


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed: the units were not verified")
    python = PROJECT / ".venv" / "bin" / "python"
    if not python.exists():
        pytest.skip("no .venv/bin/python for ExecStart to name")
    for name in UNITS:
        # verify checks that ExecStart's program exists: point it at this checkout.
        text = (DEPLOY / name).read_text().replace("/opt/ascs-faq-bot", str(PROJECT))
        (tmp_path / name).write_text(text)
    result = subprocess.run(
        [analyze, "verify", *UNITS],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
