"""Which translated pages are missing or behind their English original; and stamp a page as current.

    .venv/bin/python scripts/translation_status.py                      # the report
    .venv/bin/python scripts/translation_status.py --stamp book/cs/pruning.md
    .venv/bin/python scripts/translation_status.py --sync-code book/cs/pruning.md

A page is behind when the ``translation_of`` hash in its front matter is not the hash of the
English page now (see ``book/_ext/translations.py``). Stamp a page after bringing it in step
with the English one: the stamp writes the English page's current hash into its front matter.
Where only the English code changed, ``--sync-code`` copies the English code cells into the
translated page (keeping its language cell and its cells' translated options, such as alt text);
the prose is still for a person to bring in step.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import translations  # noqa: E402  (the book's extension, importable as a library)


def stamp(page: Path) -> str:
    """Write the current hash of ``page``'s English original into its front matter; return it."""
    page = page.resolve()
    lang, name = page.parent.name, page.name
    if page.parent.parent != translations.BOOK or lang not in translations.TRANSLATED:
        raise SystemExit(f"error: {page} is not a translated page (book/cs, book/bn or book/hi)")
    if not (translations.BOOK / "en" / name).exists():
        raise SystemExit(f"error: book/en/{name} does not exist, so book/{lang}/{name} translates nothing")
    digest = translations.source_hash(name, translations.BOOK)
    text = page.read_text(encoding="utf-8")
    match = translations.FRONT_MATTER.match(text)
    if match is None:
        text = f"---\ntranslation_of: {digest}\n---\n\n" + text
    elif re.search(r"^translation_of:.*$", match.group(1), re.M):
        text = re.sub(r"^translation_of:.*$", f"translation_of: {digest}", text, count=1, flags=re.M)
    else:
        text = text.replace("---\n", f"---\ntranslation_of: {digest}\n", 1)
    page.write_text(text, encoding="utf-8")
    return digest


def _options_and_code(body: str) -> tuple[str, str]:
    lines = body.split("\n")
    n = 0
    while n < len(lines) and lines[n].startswith(":"):
        n += 1
    return "".join(line + "\n" for line in lines[:n]), "\n".join(lines[n:])


def sync_code(page: Path) -> int:
    """Copy the English code cells (after the language cell) into ``page``; return how many changed."""
    page = page.resolve()
    english = (translations.BOOK / "en" / page.name).read_text(encoding="utf-8")
    theirs = [_options_and_code(m.group(2))[1] for m in translations.CODE_CELL.finditer(english)]
    text = page.read_text(encoding="utf-8")
    mine = list(translations.CODE_CELL.finditer(text))
    if len(mine) != len(theirs):
        raise SystemExit(f"error: {page} has {len(mine)} code cells, its English original {len(theirs)}: "
                         "bring the cells in step by hand")
    out, last, changed = [], 0, 0
    for i, match in enumerate(mine):
        options, code = _options_and_code(match.group(2))
        new = code if i == 0 else theirs[i]
        changed += new != code
        out.append(text[last:match.start()] + match.group(1) + options + new + match.group(3))
        last = match.end()
    page.write_text("".join(out) + text[last:], encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stamp", nargs="+", type=Path, metavar="PAGE", help="translated pages to mark as current")
    parser.add_argument("--sync-code", nargs="+", type=Path, metavar="PAGE",
                        help="copy the English code cells into these translated pages")
    args = parser.parse_args(argv)
    if args.sync_code:
        for page in args.sync_code:
            print(f"{page}: {sync_code(page)} code cells copied from English")
        return 0
    if args.stamp:
        for page in args.stamp:
            print(f"{page}: translation_of {stamp(page)}")
        return 0
    for lang, pages in translations.status().items():
        print(f"{lang}: {len(pages['missing'])} missing, {len(pages['behind'])} behind")
        for kind in ("missing", "behind"):
            for name in pages[kind]:
                print(f"  {kind:8} {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
