"""Write llmedu/lab/eval_text.txt: plain English prose of the book, the text the decoder labs score.

Usage: .venv/bin/python scripts/make_eval_text.py

The decoder labs measure perplexity on text the project may ship: its own prose (CC BY 4.0).
This script takes the paragraphs of the English chapters (in the order of _toc.yml) that are
plain prose: no code, math, directives, tables, glued numbers or headings; links keep their
words; line breaks inside a paragraph become spaces. The file is a frozen snapshot: the labs'
numbers depend on it, so it is regenerated only on purpose (and the labs re-executed after).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "llmedu" / "lab" / "eval_text.txt"
CHAPTERS = ("parameters-and-memory", "pruning", "quantization", "distillation", "structural-optimization",
            "hyperparameter-search", "comparison")
#: A paragraph with any of these is not plain prose.
NOT_PROSE = re.compile(r"[`$|{}<>*]|^\s*[-#:>0-9]|^\s*\[\^|\]\(http")
LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")


def paragraphs(markdown: str) -> list[str]:
    """The plain-prose paragraphs of a MyST page, each on one line."""
    body = re.sub(r"^---\n.*?\n---\n", "", markdown, flags=re.S)
    body = re.sub(r"^(```|~~~).*?^\1\s*$", "", body, flags=re.S | re.M)
    found = []
    for block in re.split(r"\n\s*\n", body):
        if not block.strip() or any(NOT_PROSE.search(line) for line in block.splitlines()):
            continue
        text = " ".join(LINK.sub(r"\1", block).split())
        if len(text) > 80 and text[-1] in ".:?!":
            found.append(text)
    return found


def main() -> None:
    text = []
    for name in CHAPTERS:
        text += paragraphs((ROOT / "book" / "en" / f"{name}.md").read_text(encoding="utf-8"))
    OUT.write_text("\n\n".join(text) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(text)} paragraphs, {sum(len(p.split()) for p in text)} words")


if __name__ == "__main__":
    main()
