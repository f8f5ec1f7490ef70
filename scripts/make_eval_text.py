"""Write the English prose of the book that the decoder labs read: the scored text and the calibration text.

Usage: .venv/bin/python scripts/make_eval_text.py eval|calibration

The decoder labs use text the project may ship: its own prose (CC BY 4.0). Both files are frozen
snapshots: the labs' numbers depend on them, so each is regenerated only on purpose (and the labs
re-executed after).

* ``eval`` writes ``llmedu/lab/eval_text.txt``, the text whose perplexity the labs measure: the
  paragraphs of seven English chapters (in the order of ``_toc.yml``) that are plain prose, with no
  code, math, directives, tables, glued numbers or headings; links keep their words.
* ``calibration`` writes ``llmedu/lab/calibration_text.txt``, the text that GPTQ and Wanda
  calibrate on: the paragraphs and list items of every English chapter, with inline code and math
  kept as text, minus any paragraph that shares a sentence with the scored text (so a method never
  calibrates on what it is scored on). Paragraphs with glued numbers, display math or tables are
  left out.

Line breaks inside a paragraph become spaces.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "llmedu" / "lab"
EVAL_OUT, CALIBRATION_OUT = LAB / "eval_text.txt", LAB / "calibration_text.txt"
CHAPTERS = ("parameters-and-memory", "pruning", "quantization", "distillation", "structural-optimization",
            "hyperparameter-search", "comparison")
#: A paragraph with any of these is not plain prose.
NOT_PROSE = re.compile(r"[`$|{}<>*]|^\s*[-#:>0-9]|^\s*\[\^|\]\(http")
#: A paragraph with any of these is left out of the calibration text.
NOT_CALIBRATION = re.compile(r"\{glue|\$\$|\{ref\}|\{numref\}|^\s*[|#:>]", re.M)
LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
SENTENCE_END = re.compile(r"(?<=[.:?!])\s+")


def blocks(markdown: str) -> list[str]:
    """The blocks of a MyST page between blank lines, without front matter and fenced code or directives."""
    body = re.sub(r"^---\n.*?\n---\n", "", markdown, flags=re.S)
    body = re.sub(r"^(```|~~~).*?^\1\s*$", "", body, flags=re.S | re.M)
    return [block for block in re.split(r"\n\s*\n", body) if block.strip()]


def is_paragraph(text: str) -> bool:
    return len(text) > 80 and text[-1] in ".:?!"


def paragraphs(markdown: str) -> list[str]:
    """The plain-prose paragraphs of a MyST page, each on one line."""
    found = []
    for block in blocks(markdown):
        if any(NOT_PROSE.search(line) for line in block.splitlines()):
            continue
        text = " ".join(LINK.sub(r"\1", block).split())
        if is_paragraph(text):
            found.append(text)
    return found


def sentences(text: str) -> set[str]:
    return {sentence for sentence in SENTENCE_END.split(text) if len(sentence) > 20}


def calibration_paragraphs(markdown: str, scored: set[str]) -> list[str]:
    """Paragraphs and list items of a MyST page as text (inline code and math kept), none sharing a
    sentence with ``scored``."""
    found = []
    for block in blocks(markdown):
        if NOT_CALIBRATION.search(block):
            continue
        text = " ".join(re.sub(r"^\s*(- |\d+\. )", "", line) for line in block.splitlines())
        text = re.sub(r"\[\^[^\]]*\]:?", "", LINK.sub(r"\1", text)).replace("**", "").replace("`", "")
        text = " ".join(text.split())
        if is_paragraph(text) and not sentences(text) & scored:
            found.append(text)
    return found


def write(path: Path, text: list[str]) -> None:
    path.write_text("\n\n".join(text) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}: {len(text)} paragraphs, {sum(len(p.split()) for p in text)} words")


def main(which: str) -> None:
    chapters = ROOT / "book" / "en"
    if which == "eval":
        write(EVAL_OUT, [p for name in CHAPTERS for p in paragraphs((chapters / f"{name}.md").read_text(encoding="utf-8"))])
    elif which == "calibration":
        scored = sentences(EVAL_OUT.read_text(encoding="utf-8").replace("\n", " "))
        write(CALIBRATION_OUT, [p for page in sorted(chapters.glob("*.md"))
                                for p in calibration_paragraphs(page.read_text(encoding="utf-8"), scored)])
    else:
        raise SystemExit(f"which text? 'eval' or 'calibration', got {which!r}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
