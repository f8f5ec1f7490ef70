"""Name the release (``v`` + ``pyproject.toml``'s version) in the labs' install cells and the README.

    .venv/bin/python scripts/pin_release.py           # rewrite the files that name another ref
    .venv/bin/python scripts/pin_release.py --check   # list them and exit 1 (the release workflow)
    .venv/bin/python scripts/pin_release.py --tag     # print the tag

A lab opened in Colab installs ``llmedu`` from the repository at this tag, and its launch button
opens the notebook at the same tag (see ``book/_ext/release.py``). After changing the version in
``pyproject.toml``, run this, commit, and tag the commit with the printed tag.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import release  # noqa: E402  (the book's extension, importable as a library)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--check", action="store_true", help="only list the files that name another ref")
    action.add_argument("--tag", action="store_true", help="only print the release tag")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    tag = release.tag(args.root)
    if args.tag:
        print(tag)
        return 0
    if args.check:
        stale = release.stale(args.root)
        for path in stale:
            found = ", ".join(sorted(release.refs(path.read_text(encoding="utf-8"), args.root))) or "no ref"
            print(f"{path.relative_to(args.root)}: names {found}, not {tag}")
        if stale:
            print(f"run: python scripts/pin_release.py  (to name {tag} everywhere)")
        return 1 if stale else 0
    for path in release.pin(args.root):
        print(f"pinned {path.relative_to(args.root)} to {tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
