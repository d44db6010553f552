"""Spreadsheet-safe text cells for every CSV file the project writes (OWASP CSV injection rule).

A spreadsheet program (Excel, LibreOffice, WPS) reads a cell that starts with ``=``, ``+``,
``-`` or ``@`` as a formula, and a leading tab or carriage return can hide one; a sample id or a
lab written as ``=HYPERLINK("http://...")`` would then run as a live formula on a case
manager's machine. Following OWASP's rule, such a *text* cell is written with a single quote
``'`` in front, which spreadsheets show as plain text. Numeric columns are never touched: a
``log10_lr`` of ``-inf`` or ``-2.5`` is a number, not a formula, and stays byte for byte. Only
CSV is affected; Parquet keeps the values as they are.

References
----------
OWASP, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["FORMULA_PREFIXES", "spreadsheet_safe", "spreadsheet_safe_column"]

#: First characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """A text cell that no spreadsheet reads as a formula.

    Parameters
    ----------
    text : str
        A value of a text column (an id, a lab, a kit, a genotype written as text).

    Returns
    -------
    str
        ``text`` unchanged unless it starts with one of :data:`FORMULA_PREFIXES`; then ``"'"``
        followed by ``text``. Never apply it to a numeric column.

    Examples
    --------
    >>> spreadsheet_safe('=HYPERLINK("x")'), spreadsheet_safe("+1"), spreadsheet_safe("C-0001")
    ('\\'=HYPERLINK("x")', "'+1", 'C-0001')
    >>> spreadsheet_safe("")
    ''
    """
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def spreadsheet_safe_column(values: Iterable[str]) -> list[str]:
    """:func:`spreadsheet_safe` applied to each cell of a text column.

    Examples
    --------
    >>> spreadsheet_safe_column(["@SUM(A1)", "F-001"])
    ["'@SUM(A1)", 'F-001']
    """
    return [spreadsheet_safe(v) for v in values]
