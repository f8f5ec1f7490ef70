"""The translated labs: rebuild them from the executed English labs, report which are behind, translate one.

    .venv/bin/python scripts/translate_labs.py                 # the report: missing and behind labs
    .venv/bin/python scripts/translate_labs.py --sync          # after re-executing English labs: copy
                                                               # their code and outputs into every translation
    .venv/bin/python scripts/translate_labs.py --export cs 03_pruning > 03.md   # the prose, to translate
    .venv/bin/python scripts/translate_labs.py --import cs 03_pruning 03.md     # take it back in

``--export en LAB`` gives the English text to translate from. The exported text is the lab's
markdown cells, each after a ``<!-- cell ID -->`` line (``<!-- cell ID behind -->`` where the
translation is missing or older than the English cell); translate the text and keep those lines.
``--import`` stamps a cell as translating the English cell as it is now where its text changed,
or where its line does not say ``behind`` (delete the word to confirm that an older translation
still holds); a cell left as it was and marked ``behind`` stays behind, and cells left out keep
what they had (see ``book/_ext/lab_translations.py``). The translated labs are
never executed: their code and outputs are the English lab's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import lab_translations  # noqa: E402  (the book's library of translated labs)


def report() -> None:
    for lang, labs in lab_translations.status().items():
        print(f"{lang}: {len(labs['missing'])} labs missing, {len(labs['behind'])} behind"
              + (f", {len(labs['orphaned'])} orphaned (no English lab of that name)" if labs["orphaned"] else ""))
        for kind in ("missing", "behind", "orphaned"):
            for name in labs[kind]:
                print(f"  {kind:8} notebooks/{lang}/{name}")


def sync(lab: Path, lang: str) -> None:
    """Rebuild one translation from its English lab, and say what changed or was left out."""
    changed, lost = lab_translations.sync(lab, lang)
    where = lab_translations.translation_path(lab, lang).relative_to(ROOT)
    if changed:
        print(f"{where}: rebuilt from the English lab")
    if lost:
        print(f"{where}: WARNING: translated cells {lost} left out, their English cells are gone "
              "(their text is in git's history)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--sync", action="store_true", help="rebuild every translated lab from the English one")
    action.add_argument("--export", nargs=2, metavar=("LANG", "LAB"), help="print a lab's prose (LANG may be en)")
    action.add_argument("--import", dest="import_", nargs=3, metavar=("LANG", "LAB", "FILE"),
                        help="take a translated text (export's layout) into the LANG lab")
    args = parser.parse_args(argv)
    try:
        if args.export:
            lang, name = args.export
            if lang != "en":
                lab_translations.translation_path(Path(name), lang)  # checks the language
            sys.stdout.write(lab_translations.export(lab_translations.english_lab(name), lang))
            return 0
        if args.import_:
            lang, name, file = args.import_
            lab = lab_translations.english_lab(name)
            behind = lab_translations.import_translation(lab, lang, Path(file).read_text(encoding="utf-8"))
            where = lab_translations.translation_path(lab, lang).relative_to(ROOT)
            print(f"{where}: {len(behind)} markdown cells still behind English" + (f": {behind}" if behind else ""))
            return 0
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.sync:
        for lab in lab_translations.english_labs():
            for lang in lab_translations.TRANSLATED:
                if lab_translations.translation_path(lab, lang).exists():
                    sync(lab, lang)
    report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
