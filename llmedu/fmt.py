"""Plain-text tables for the chapters and the labs: aligned columns, whole numbers with separators.

Covers one thing, :func:`table`: the first column left-aligned, the others right-aligned, two
spaces between columns, and ``int`` cells written with thousands separators. Leaves out
locale-aware formatting of numbers for the other languages (to come with the translations).
"""

from __future__ import annotations

from collections.abc import Sequence


def table(rows: Sequence[Sequence[object]], header: Sequence[object] | None = None) -> str:
    """``rows`` (after an optional ``header``) as aligned text columns.

    >>> print(table([["bert-base", 109482240], ["tiny", 431234]], ["model", "parameters"]))
    model       parameters
    bert-base  109,482,240
    tiny           431,234
    """
    lines = ([list(header)] if header is not None else []) + [list(row) for row in rows]
    if not lines:
        raise ValueError("table needs at least one row")
    cells = [[f"{c:,}" if isinstance(c, int) and not isinstance(c, bool) else str(c) for c in line] for line in lines]
    widths = [max(len(line[i]) for line in cells) for i in range(len(cells[0]))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths)))
                     for line in cells)
