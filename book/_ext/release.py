"""The release the labs run in Colab: one version, in ``pyproject.toml``, and every place that names it.

A lab opened in Colab installs ``llmedu`` from the repository at the tag ``v<version>``, where
``<version>`` is ``pyproject.toml``'s (the one place it is configured). The labs' launch buttons
(this module, as a Sphinx extension) and the README's Colab links open the notebook at the same
tag, so a student always runs a notebook and a package from one release, however far ``main``
has moved on since.

The notebooks and the README must name the tag literally (Colab reads them as they are), so
:func:`stale` tells which of them name another one and :func:`pin` rewrites them; the tests,
``scripts/pin_release.py`` and the release workflow call these. Leaves out making the release
itself (the git tag and the GitHub release: see the README).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

import lab_translations  # the translated labs, which name the release too

ROOT = Path(__file__).resolve().parents[2]


def tag(root: Path = ROOT) -> str:
    """The release tag, ``v`` and ``pyproject.toml``'s version."""
    version = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    return f"v{version}"


def repository(root: Path = ROOT) -> str:
    """The repository's URL, from ``_config.yml`` (``https://github.com/<owner>/<name>``)."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"].rstrip("/")


def _patterns(root: Path) -> list[re.Pattern[str]]:
    """Where a file names the release: the install line's ``@<ref>`` and a Colab link's ``blob/<ref>/``."""
    url = repository(root)
    github = url.split("github.com/", 1)[1]
    return [re.compile(rf"(git\+{re.escape(url)}@)([^\"\s\\]+)"),
            re.compile(rf"(colab\.research\.google\.com/github/{re.escape(github)}/blob/)([^/\s]+)(?=/notebooks/)")]


def files(root: Path = ROOT) -> list[Path]:
    """The files that name the release: every lab (English and translated) and the README."""
    translated = [p for lang in lab_translations.TRANSLATED for p in (root / "notebooks" / lang).glob("*.ipynb")]
    labs = [*(root / "notebooks").glob("*.ipynb"), *translated]
    return sorted(labs) + [root / "README.md"]


def pinned(text: str, root: Path = ROOT) -> str:
    """``text`` with every reference to the repository's notebooks or package at :func:`tag`."""
    release = tag(root)
    for pattern in _patterns(root):
        text = pattern.sub(lambda m: m.group(1) + release, text)
    return text


def refs(text: str, root: Path = ROOT) -> set[str]:
    """The refs (tags, branches, commits) that ``text`` installs or opens the repository at."""
    return {m.group(2) for pattern in _patterns(root) for m in pattern.finditer(text)}


def stale(root: Path = ROOT) -> list[Path]:
    """The files that name another ref than :func:`tag` (or, for a lab, install from nowhere)."""
    return [path for path in files(root) if refs(path.read_text(encoding="utf-8"), root) != {tag(root)}]


def pin(root: Path = ROOT) -> list[Path]:
    """Rewrite every stale file to name :func:`tag`; return those rewritten."""
    changed = []
    for path in files(root):
        text = path.read_text(encoding="utf-8")
        new = pinned(text, root)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    return changed


def _point_launch_buttons_at_the_release(app: Any, config: Any) -> None:
    config.html_theme_options = {**config.html_theme_options, "repository_branch": tag(Path(app.confdir))}


def setup(app: Any) -> dict[str, Any]:
    app.connect("config-inited", _point_launch_buttons_at_the_release)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
