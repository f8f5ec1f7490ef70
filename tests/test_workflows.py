"""The repository's GitHub workflows, read as data: they run the README's commands and scripts.

GitHub runs them, not this machine, so these tests check what can be read off the files: the
triggers, that every script a step runs exists, that the site is built with the README's build
command and published with ``.nojekyll``, that a release is checked against the labs' pinned tag
before it is published, and that the labs' check against the newest libraries runs on a schedule.
Leaves out running them (the actions themselves need GitHub).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def load(name: str) -> dict:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text(encoding="utf-8"))
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads the key `on` as true
    return workflow


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def runs(workflow: dict) -> str:
    return "\n".join(step.get("run", "") for step in steps(workflow))


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_every_script_a_workflow_runs_exists(path: Path) -> None:
    named = re.findall(r"scripts/[\w.-]+", runs(load(path.name)))
    assert named, f"{path.name} runs none of the repository's scripts"
    for script in named:
        assert (ROOT / script).is_file(), f"{path.name} runs {script}, which does not exist"


def test_the_site_is_built_with_the_readme_command_and_published_on_release() -> None:
    workflow = load("publish.yml")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    build_command = re.search(r"^(bash scripts/build\.sh)\s", readme, re.M).group(1)
    assert build_command in runs(workflow).splitlines()
    assert workflow["on"]["push"]["branches"] == ["main"] and workflow["on"]["release"]["types"] == ["published"]
    assert "touch _build/html/.nojekyll" in runs(workflow)
    uploads = [s for s in steps(workflow) if s.get("uses", "").startswith("actions/upload-pages-artifact")]
    assert [s["with"]["path"] for s in uploads] == ["_build/html"]
    deploy = workflow["jobs"]["deploy"]
    assert any(s.get("uses", "").startswith("actions/deploy-pages") for s in deploy["steps"])
    assert "push" in deploy["if"] and "!=" in deploy["if"], "a push to main builds the site but does not publish it"


def test_a_release_is_checked_against_the_labs_tag_and_gets_the_archive() -> None:
    workflow = load("publish.yml")
    names = [s.get("name", "") for s in steps(workflow)]
    check = next(s for s in steps(workflow) if "pin_release.py --check" in s.get("run", ""))
    archive = next(s for s in steps(workflow) if "gh release upload" in s.get("run", ""))
    assert check["if"] == archive["if"] == "github.event_name == 'release'"
    assert names.index(check["name"]) < names.index(archive["name"])
    assert "--tag" in check["run"] and "release.tag_name" in check["run"]
    assert "_build/html" in archive["run"] and "notebooks" in archive["run"]


def test_the_labs_and_the_widgets_are_checked_with_the_newest_libraries_every_week() -> None:
    workflow = load("colab-check.yml")
    colab = workflow["jobs"]["colab-check"]["steps"]
    assert any(str(s.get("with", {}).get("python-version")) == "3.12" for s in colab)  # Colab's Python
    assert workflow["on"]["schedule"] and "workflow_dispatch" in workflow["on"]
    assert "bash scripts/colab_check.sh" in runs(workflow).splitlines()
    assert "bash scripts/widgets_check.sh" in runs(workflow).splitlines()
