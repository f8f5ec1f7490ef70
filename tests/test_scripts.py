"""The repository's shell scripts parse (bash -n), so a typo shows up before a weekly job runs them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

SCRIPTS = sorted((Path(__file__).resolve().parents[1] / "scripts").glob("*.sh"))


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_script_parses(script: Path) -> None:
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_colab_check_installs_what_the_labs_install_in_colab() -> None:
    text = (Path(__file__).resolve().parents[1] / "scripts" / "colab_check.sh").read_text(encoding="utf-8")
    assert '"$repo[lab,search,minilm]"' in text  # the extras that the labs' Colab cells ask for
    assert "requirements.txt" not in text.split("set -euo pipefail", 1)[1]  # the newest releases, not the pins

