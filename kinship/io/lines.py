"""Delimited text split into physical lines that can be trusted one by one.

A lab export (GeneMapper, tidy CSV) is a table of one record per line. Read as one CSV stream,
a single damaged line can corrupt what follows it: an opening quote that is never closed
swallows the rest of the file into one cell, and a file cut short ends with a line that looks
complete (``19<TAB>22`` cut one byte short reads ``19<TAB>2``). So each physical line is parsed
on its own, and a line that cannot be trusted is marked with the reason, for ingestion to
quarantine it while every other line of the file still lands:

* a quote that does not close on the same line, or text after a closing quote (no export writes
  a field across lines);
* a NUL byte (binary damage, or a UTF-16 file read as UTF-8);
* a field longer than :data:`MAX_FIELD_CHARS` characters (no call, id or name is that long), or
  a line longer than :data:`MAX_LINE_CHARS`;
* the last line of a file that does not end with a line end: the file may have been cut there,
  and the cut line cannot be told from a complete one. Re-sending the whole file lands it.

A header line that cannot be trusted refuses the file (no line of it could be matched to its
columns), and so does a header naming one column twice (which copy holds the calls?).
"""

from __future__ import annotations

import csv
from typing import NamedTuple

from kinship.errors import ExportFormatError

__all__ = ["MAX_FIELD_CHARS", "MAX_LINE_CHARS", "Line", "split_delimited", "duplicate_columns"]

#: Longest field accepted, in characters. The longest legitimate cells are a wide GeneMapper
#: cell of eight calls ("10, 11, 12, ...", ~40 characters) and 64-character ids.
MAX_FIELD_CHARS = 1024
#: Longest line accepted, in characters (a wide GeneMapper line of 30 loci with heights is ~3,000).
MAX_LINE_CHARS = 65536


class Line(NamedTuple):
    """One physical line of a delimited export (a named tuple: a national export has millions).

    Attributes
    ----------
    number : int
        1-based line number in the file (the header is line 1).
    fields : list of str
        The line's fields, unquoted: empty when the line could not be parsed; as read for a last
        line cut short (its sample and locus name what to re-send; its calls must not be used).
    problem : str
        Why the line cannot be trusted (``""`` when it can).
    """

    number: int
    fields: list[str]
    problem: str = ""


_CUT_SHORT = ("the file ends inside this line (no line end after it): it may have been cut short; "
              "re-send the whole file")


def _parse(text: str, sep: str) -> tuple[list[str], str]:
    """Fields of one line, or the reason it is not one well-formed delimited line."""
    if text and len(text) <= MAX_FIELD_CHARS and '"' not in text and "\r" not in text and "\x00" not in text:
        # No quote, carriage return or NUL, and too short for a field over the limit: csv.reader
        # would split it exactly so (the common line; a csv.reader per line is slow).
        return text.split(sep), ""
    if "\x00" in text:
        return [], "the line contains a NUL byte (binary damage, or a UTF-16 file)"
    if len(text) > MAX_LINE_CHARS:
        return [], f"the line has {len(text):,} characters; no export line is longer than {MAX_LINE_CHARS:,}"
    try:
        fields = next(csv.reader([text], delimiter=sep, quotechar='"', strict=True), [])
    except csv.Error:
        return [], "a quote on this line is not closed, or text follows a closing quote"
    if text.count('"') % 2:
        return [], "a quote on this line is not closed, or text follows a closing quote"
    long = [i + 1 for i, f in enumerate(fields) if len(f) > MAX_FIELD_CHARS]
    if long:
        return [], (f"field {long[0]} has {len(fields[long[0] - 1]):,} characters; no call or id is longer "
                    f"than {MAX_FIELD_CHARS:,}")
    return fields, ""


def split_delimited(text: str, *, sep: str, file: str) -> tuple[list[str], list[Line]]:
    """Split decoded export text into its header and its lines, each parsed on its own.

    Parameters
    ----------
    text : str
        The file's text, line ends already normalised to ``"\\n"``
        (:func:`kinship.io.tidy.decode_text`).
    sep : str
        The field delimiter (``","`` or ``"\\t"``).
    file : str
        File name, for messages.

    Returns
    -------
    header : list of str
        The header's fields, stripped.
    lines : list of Line
        Every line after the header that is not blank, in file order; a line that cannot be
        trusted has its ``problem`` set (see the module docstring).

    Raises
    ------
    ExportFormatError
        If the header line cannot be parsed on its own.

    Examples
    --------
    >>> header, lines = split_delimited('a,b\\n1,"x\\n2,y\\n3,z', sep=",", file="f.csv")
    >>> header, [(l.number, l.fields, bool(l.problem)) for l in lines]
    (['a', 'b'], [(2, [], True), (3, ['2', 'y'], False), (4, ['3', 'z'], True)])
    """
    physical = text.split("\n")
    ends_cleanly = physical[-1] == ""
    if ends_cleanly:
        physical.pop()
    if not physical:
        return [], []
    header, problem = _parse(physical[0], sep)
    if problem:
        raise ExportFormatError(
            f"export {file} line 1 (the header): {problem}; expected one line of column names; fix: "
            "re-export the table"
        )
    lines = []
    plain = '"' not in text and "\r" not in text and "\x00" not in text  # one scan, not one per line
    if plain and len(physical) > 1 and max(map(len, physical)) <= MAX_FIELD_CHARS:
        # Every line takes _parse's first case (or is empty): split them all at once. A line is
        # blank exactly when it is whitespace once its delimiters are removed.
        lines = [Line(number, raw.split(sep), "") for number, raw in enumerate(physical[1:], start=2)
                 if raw.replace(sep, "").strip()]
        if lines and not ends_cleanly and lines[-1].number == len(physical):
            lines[-1] = lines[-1]._replace(problem=_CUT_SHORT)
        return [h.strip() for h in header], lines
    for number, raw in enumerate(physical[1:], start=2):
        if plain and 0 < len(raw) <= MAX_FIELD_CHARS:
            fields, problem = raw.split(sep), ""  # as _parse's own first case, without the call
        else:
            fields, problem = _parse(raw, sep)
        if not problem and not "".join(fields).strip():
            continue  # a blank line is not a record
        if not problem and number == len(physical) and not ends_cleanly:
            problem = _CUT_SHORT
        lines.append(Line(number, fields, problem))
    return [h.strip() for h in header], lines


def duplicate_columns(columns: list[str], keys: list[str], *, file: str, meaningful) -> None:
    """Refuse a header in which two columns that carry data mean the same thing.

    Parameters
    ----------
    columns : list of str
        Column names as written.
    keys : list of str
        The normalised name of each column (what the reader matches on).
    file : str
        File name, for messages.
    meaningful : callable
        ``meaningful(key) -> bool``: whether the reader reads that column (repeated ignored
        columns, such as GeneMapper's ``Height``, are harmless).

    Raises
    ------
    ExportFormatError
        Naming the first repeated column: with two copies the reader cannot know which one holds
        the calls, and the last one would silently win.

    Examples
    --------
    >>> duplicate_columns(["a", "b", "A"], ["a", "b", "a"], file="f", meaningful=lambda k: True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    kinship.errors.ExportFormatError: export f line 1: columns 1 ('a') and 3 ('A') are the same column; ...
    """
    seen: dict[str, int] = {}
    for i, key in enumerate(keys):
        if not meaningful(key):
            continue
        if key in seen:
            j = seen[key]
            raise ExportFormatError(
                f"export {file} line 1: columns {j + 1} ({columns[j]!r}) and {i + 1} ({columns[i]!r}) are the same "
                "column; expected each column once (which copy holds the calls?); fix: remove or rename one "
                "of them and re-export"
            )
        seen[key] = i
