"""Right-aligned text tables, the way R prints a matrix or data frame."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["format_table"]


def format_table(rows: Sequence[Sequence[str]]) -> list[str]:
    """Right-align every column of ``rows`` (first row: the header) two spaces apart.

    Examples
    --------
    >>> format_table([("", "Df"), ("1", "10")])
    ['   Df', '1  10']
    """
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    return ["  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
