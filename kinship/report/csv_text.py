"""The text of the CSV files, compiled: Python's ``repr`` of float64 values, and whole rows.

A CSV cell of a float column is ``repr(x)``: the shortest decimal text that reads back to the
same float64 (Steele & White / Gay's "mode 0"; of the shortest, the one nearest to ``x``, a tie
to the even digit), in fixed notation when the decimal exponent ``decpt`` (``x = 0.d1d2... ×
10**decpt``) is in ``-4 < decpt <= 16`` with ``.0`` after a whole number (``'0.0001'``,
``'123.0'``), else as ``d1.d2...e±XX`` with at least two exponent digits (``'1e-05'``,
``'1e+16'``); ``-0.0``, ``inf`` and ``-inf`` as Python writes them. At 10^7 pairs of a national
run (about 7 × 10^7 values) ``repr`` one value at a time, and the csv module joining 2.8 × 10^8
cells, were most of the time of writing the outputs.

* :func:`float_reprs` writes those texts from a numba kernel: the shortest digits by the Ryū
  algorithm (Adams 2018, which yields exactly that shortest, nearest, tie-to-even digit string),
  laid out by Python's rules (``format_float_short`` of CPython's ``Python/pystrtod.c``, its
  ``'r'`` mode). The tests compare it with ``repr`` on every branch of the algorithm
  (subnormals, powers of two and ten and their neighbours, whole numbers, the notation's edges,
  ties) and on random bit patterns.
* :func:`csv_rows` writes whole lines: per row the cells of its columns joined with ``,`` and
  ended with ``\\n``; a float column's cells are those of :func:`float_reprs`, any other
  column's are taken by index from a table of ready cells (:func:`encode_cells`; the caller
  has made them spreadsheet-safe and quoted them).

Both need numba (:data:`HAVE_NUMBA`); without it :func:`float_reprs` maps ``repr`` itself and
:mod:`kinship.report.tables` writes with the csv module.

References
----------
Adams, U. (2018). Ryū: fast float-to-string conversion. PLDI 2018, 270-282,
https://doi.org/10.1145/3192366.3192369 (the reference implementation ``ryu/d2s.c``, whose
steps :func:`_shortest` follows).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyarrow as pa

try:  # numba is optional: without it float_reprs maps repr (the same texts)
    import numba

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only without numba
    numba = None
    HAVE_NUMBA = False

__all__ = ["float_reprs", "csv_rows", "encode_cells", "HAVE_NUMBA"]

_POW5_INV_BITCOUNT = 125
_POW5_BITCOUNT = 125
#: Bytes of the longest text: "-" + 17 digits + "." + "e-308" (24), or fixed "-0.000" + 17 digits (23).
_MAX_TEXT = 24


@lru_cache(maxsize=None)
def _tables() -> tuple[np.ndarray, np.ndarray]:
    """Ryū's two tables, (low, high) 64-bit halves of 125-bit numbers, built exactly with
    Python integers: ``inv[q] = 2**(bitlength(5**q) - 1 + 125) // 5**q + 1`` for ``q < 342`` and
    ``pow5[i] = 5**i`` scaled to exactly 125 bits for ``i < 326`` (``ryu/d2s_full_table.h``)."""
    mask = (1 << 64) - 1
    inv = np.empty((342, 2), dtype=np.uint64)
    for q in range(342):
        p = 5**q
        v = (1 << (p.bit_length() - 1 + _POW5_INV_BITCOUNT)) // p + 1
        inv[q] = (v & mask, v >> 64)
    pow5 = np.empty((326, 2), dtype=np.uint64)
    for i in range(326):
        p = 5**i
        shift = p.bit_length() - _POW5_BITCOUNT
        v = p >> shift if shift >= 0 else p << -shift
        pow5[i] = (v & mask, v >> 64)
    return inv, pow5


# The kernel, written with explicit uint64 arithmetic throughout (numba would turn a mix of
# uint64 and int64 into float64). Each step is the step of the same name in ryu/d2s.c.

_U0, _U1, _U2, _U4, _U5, _U10, _U32, _U64 = (np.uint64(v) for v in (0, 1, 2, 4, 5, 10, 32, 64))
_M32 = np.uint64(0xFFFFFFFF)


def _umul128(a, b):  # pragma: no cover - compiled by numba
    """(low, high) 64-bit halves of the 128-bit product ``a * b``."""
    a_lo = a & _M32
    a_hi = a >> _U32
    b_lo = b & _M32
    b_hi = b >> _U32
    b00 = a_lo * b_lo
    b01 = a_lo * b_hi
    b10 = a_hi * b_lo
    b11 = a_hi * b_hi
    mid1 = b10 + (b00 >> _U32)
    mid2 = b01 + (mid1 & _M32)
    high = b11 + (mid1 >> _U32) + (mid2 >> _U32)
    low = ((mid2 & _M32) << _U32) | (b00 & _M32)
    return low, high


def _mul_shift64(m, mul_lo, mul_hi, j):  # pragma: no cover - compiled by numba
    """``(m * mul) >> j`` for a 128-bit ``mul`` and ``64 < j < 128``."""
    low1, high1 = _umul128(m, mul_hi)
    _, high0 = _umul128(m, mul_lo)
    total = high0 + low1
    if total < high0:
        high1 += _U1
    dist = np.uint64(j - 64)
    return (high1 << (_U64 - dist)) | (total >> dist)


def _pow5_factor(value):  # pragma: no cover - compiled by numba
    count = 0
    while value > _U0 and value % _U5 == _U0:
        value //= _U5
        count += 1
    return count


def _pow5bits(e):  # pragma: no cover - compiled by numba
    """ceil(log2(5**e)) for 0 < e <= 3528 (1 for e = 0)."""
    return ((e * 1217359) >> 19) + 1


def _log10_pow2(e):  # pragma: no cover - compiled by numba
    """floor(log10(2**e)) for 0 <= e <= 1650."""
    return (e * 78913) >> 18


def _log10_pow5(e):  # pragma: no cover - compiled by numba
    """floor(log10(5**e)) for 0 <= e <= 2620."""
    return (e * 732923) >> 20


def _shortest(ieee_mantissa, ieee_exponent, inv, pow5):  # pragma: no cover - compiled by numba
    """The shortest digits of a finite, non-zero float64 (its 52 mantissa bits and 11 exponent
    bits): ``(digits, exponent)`` with the value ``digits * 10**exponent`` (ryu ``d2d``)."""
    if ieee_exponent == 0:
        e2 = 1 - 1023 - 52 - 2
        m2 = ieee_mantissa
    else:
        e2 = np.int64(ieee_exponent) - 1023 - 52 - 2
        m2 = (_U1 << np.uint64(52)) | ieee_mantissa
    accept_bounds = (m2 & _U1) == _U0
    mv = _U4 * m2
    mm_shift = _U1 if (ieee_mantissa != _U0 or ieee_exponent <= 1) else _U0
    vm_trailing_zeros = False
    vr_trailing_zeros = False
    if e2 >= 0:
        q = _log10_pow2(e2) - (1 if e2 > 3 else 0)
        e10 = q
        k = _POW5_INV_BITCOUNT + _pow5bits(q) - 1
        i = -e2 + q + k
        vr = _mul_shift64(_U4 * m2, inv[q, 0], inv[q, 1], i)
        vp = _mul_shift64(_U4 * m2 + _U2, inv[q, 0], inv[q, 1], i)
        vm = _mul_shift64(_U4 * m2 - _U1 - mm_shift, inv[q, 0], inv[q, 1], i)
        if q <= 21:
            if mv % _U5 == _U0:
                vr_trailing_zeros = _pow5_factor(mv) >= q
            elif accept_bounds:
                vm_trailing_zeros = _pow5_factor(mv - _U1 - mm_shift) >= q
            elif _pow5_factor(mv + _U2) >= q:
                vp -= _U1
    else:
        q = _log10_pow5(-e2) - (1 if -e2 > 1 else 0)
        e10 = q + e2
        i = -e2 - q
        k = _pow5bits(i) - _POW5_BITCOUNT
        j = q - k
        vr = _mul_shift64(_U4 * m2, pow5[i, 0], pow5[i, 1], j)
        vp = _mul_shift64(_U4 * m2 + _U2, pow5[i, 0], pow5[i, 1], j)
        vm = _mul_shift64(_U4 * m2 - _U1 - mm_shift, pow5[i, 0], pow5[i, 1], j)
        if q <= 1:
            vr_trailing_zeros = True
            if accept_bounds:
                vm_trailing_zeros = mm_shift == _U1
            else:
                vp -= _U1
        elif q < 63:
            vr_trailing_zeros = (mv & ((_U1 << np.uint64(q)) - _U1)) == _U0
    removed = 0
    last_removed = 0
    if vm_trailing_zeros or vr_trailing_zeros:
        while vp // _U10 > vm // _U10:
            vm_trailing_zeros = vm_trailing_zeros and vm % _U10 == _U0
            vr_trailing_zeros = vr_trailing_zeros and last_removed == 0
            last_removed = np.int64(vr % _U10)
            vr //= _U10
            vp //= _U10
            vm //= _U10
            removed += 1
        if vm_trailing_zeros:
            while vm % _U10 == _U0:
                vr_trailing_zeros = vr_trailing_zeros and last_removed == 0
                last_removed = np.int64(vr % _U10)
                vr //= _U10
                vp //= _U10
                vm //= _U10
                removed += 1
        if vr_trailing_zeros and last_removed == 5 and vr % _U2 == _U0:
            last_removed = 4  # the exact value is ...50...0: round to even
        up = (vr == vm and (not accept_bounds or not vm_trailing_zeros)) or last_removed >= 5
    else:
        round_up = False
        if vp // np.uint64(100) > vm // np.uint64(100):
            round_up = vr % np.uint64(100) >= np.uint64(50)
            vr //= np.uint64(100)
            vp //= np.uint64(100)
            vm //= np.uint64(100)
            removed += 2
        while vp // _U10 > vm // _U10:
            round_up = vr % _U10 >= _U5
            vr //= _U10
            vp //= _U10
            vm //= _U10
            removed += 1
        up = vr == vm or round_up
    return vr + (_U1 if up else _U0), e10 + removed


def _write_repr(bits, inv, pow5, out, pos):  # pragma: no cover - compiled by numba
    """Write ``repr(x)`` of a float64 ``x`` that is not NaN, given as its 64 ``bits``, as ASCII
    into ``out`` from ``pos``; returns the end."""
    negative = (bits >> np.uint64(63)) != _U0
    ieee_exponent = np.int64((bits >> np.uint64(52)) & np.uint64(0x7FF))
    ieee_mantissa = bits & np.uint64((1 << 52) - 1)
    if negative:
        out[pos] = 45  # "-"
        pos += 1
    if ieee_exponent == 0x7FF:  # inf (NaN is never written)
        out[pos] = 105
        out[pos + 1] = 110
        out[pos + 2] = 102
        return pos + 3
    if ieee_exponent == 0 and ieee_mantissa == _U0:
        digits, exponent = _U0, 0
    else:
        digits, exponent = _shortest(ieee_mantissa, ieee_exponent, inv, pow5)
    n = 1  # the number of digits
    v = digits // _U10
    while v > _U0:
        n += 1
        v //= _U10
    decpt = exponent + n  # x = 0.d1...dn * 10**decpt
    if decpt <= -4 or decpt > 16:  # d1.d2...dne+XX
        v = digits
        for k in range(n - 1, -1, -1):
            out[pos + (k + 1 if k > 0 else 0)] = 48 + np.int64(v % _U10)
            v //= _U10
        if n > 1:
            out[pos + 1] = 46  # "."
            pos += n + 1
        else:
            pos += 1
        out[pos] = 101  # "e"
        e = decpt - 1
        out[pos + 1] = 45 if e < 0 else 43
        e = -e if e < 0 else e
        pos += 2
        if e >= 100:
            out[pos] = 48 + e // 100
            out[pos + 1] = 48 + (e // 10) % 10
            out[pos + 2] = 48 + e % 10
            return pos + 3
        out[pos] = 48 + e // 10
        out[pos + 1] = 48 + e % 10
        return pos + 2
    if decpt <= 0:  # 0.00ddd
        out[pos] = 48
        out[pos + 1] = 46
        pos += 2
        for _ in range(-decpt):
            out[pos] = 48
            pos += 1
        v = digits
        for k in range(n - 1, -1, -1):
            out[pos + k] = 48 + np.int64(v % _U10)
            v //= _U10
        return pos + n
    if decpt >= n:  # ddd00.0
        v = digits
        for k in range(n - 1, -1, -1):
            out[pos + k] = 48 + np.int64(v % _U10)
            v //= _U10
        pos += n
        for _ in range(decpt - n):
            out[pos] = 48
            pos += 1
        out[pos] = 46
        out[pos + 1] = 48
        return pos + 2
    v = digits  # dd.ddd
    for k in range(n - 1, -1, -1):
        out[pos + (k + 1 if k >= decpt else k)] = 48 + np.int64(v % _U10)
        v //= _U10
    out[pos + decpt] = 46
    return pos + n + 1


def _reprs_kernel(values, inv, pow5, out, offsets):  # pragma: no cover - compiled by numba
    """``repr`` of each value into ``out`` (ASCII), NaN as nothing; ``offsets[i]`` its start."""
    bits = values.view(np.uint64)
    pos = 0
    offsets[0] = 0
    for i in range(values.size):
        x = values[i]
        if x == x:
            pos = _write_repr(bits[i], inv, pow5, out, pos)
        offsets[i + 1] = pos


def _rows_kernel(floats, codes, is_float, slot, cells, cell_offsets, inv, pow5, out):  # pragma: no cover - numba
    """Lines of CSV into ``out``: per row, per column ``c`` the cell of ``floats[slot[c]]`` (repr,
    nothing for NaN) where ``is_float[c]``, else ``cells[cell_offsets[k]:cell_offsets[k + 1]]``
    for ``k = codes[slot[c], row]``; ``,`` between cells, ``\\n`` after each row. Returns the end."""
    n_rows = floats.shape[1] if floats.shape[0] else codes.shape[1]
    n_columns = is_float.size
    bits = floats.view(np.uint64)
    pos = 0
    for r in range(n_rows):
        for c in range(n_columns):
            if c:
                out[pos] = 44  # ","
                pos += 1
            if is_float[c]:
                x = floats[slot[c], r]
                if x == x:
                    pos = _write_repr(bits[slot[c], r], inv, pow5, out, pos)
            else:
                k = codes[slot[c], r]
                for b in range(cell_offsets[k], cell_offsets[k + 1]):
                    out[pos] = cells[b]
                    pos += 1
        out[pos] = 10  # newline
        pos += 1
    return pos


if HAVE_NUMBA:
    _umul128 = numba.njit(cache=True, inline="always")(_umul128)
    _mul_shift64 = numba.njit(cache=True, inline="always")(_mul_shift64)
    _pow5_factor = numba.njit(cache=True)(_pow5_factor)
    _pow5bits = numba.njit(cache=True, inline="always")(_pow5bits)
    _log10_pow2 = numba.njit(cache=True, inline="always")(_log10_pow2)
    _log10_pow5 = numba.njit(cache=True, inline="always")(_log10_pow5)
    _shortest = numba.njit(cache=True)(_shortest)
    _write_repr = numba.njit(cache=True)(_write_repr)
    _reprs_kernel = numba.njit(cache=True, nogil=True)(_reprs_kernel)
    _rows_kernel = numba.njit(cache=True, nogil=True)(_rows_kernel)


def float_reprs(values: np.ndarray) -> pa.StringArray:
    """``repr`` of each float64, the empty string for NaN, as an Arrow string array.

    Parameters
    ----------
    values : ndarray of float64, shape (n,)

    Returns
    -------
    pyarrow.StringArray, length n
        ``repr(float(x))`` of each value (``'-inf'``, ``'-0.0'``, ``'1e-05'``, ``'0.1'``, ...),
        ``''`` where ``x`` is NaN; no nulls.

    Examples
    --------
    >>> float_reprs(np.array([0.1, -np.inf, np.nan, 1e16, 1e-5, 2.0**-1074, 123.0])).to_pylist()
    ['0.1', '-inf', '', '1e+16', '1e-05', '5e-324', '123.0']
    """
    values = np.array(values, dtype=np.float64)  # a copy: one compiled signature (never read-only)
    if not HAVE_NUMBA:  # pragma: no cover - exercised only without numba
        return pa.array(["" if x != x else repr(x) for x in values.tolist()], type=pa.string())
    inv, pow5 = _tables()
    out = np.empty(values.size * _MAX_TEXT, dtype=np.uint8)
    offsets = np.empty(values.size + 1, dtype=np.int32 if out.size < 2**31 else np.int64)
    _reprs_kernel(values, inv, pow5, out, offsets)
    kind = pa.string() if offsets.dtype == np.int32 else pa.large_string()
    return pa.Array.from_buffers(kind, values.size, [None, pa.py_buffer(offsets), pa.py_buffer(out[:offsets[-1]])])


def encode_cells(cells: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """A table of cells as UTF-8 bytes and the offset of each (for :func:`csv_rows`).

    Returns
    -------
    data : ndarray of uint8
        The cells' UTF-8 bytes, one after the other.
    offsets : ndarray of int64, shape (len(cells) + 1,)
        Cell ``k`` is ``data[offsets[k]:offsets[k + 1]]``.

    Examples
    --------
    >>> data, offsets = encode_cells(["C-1", "", "岛"])
    >>> bytes(data), offsets.tolist()
    (b'C-1\\xe5\\xb2\\x9b', [0, 3, 3, 6])
    """
    encoded = [c.encode("utf-8") for c in cells]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets


def csv_rows(columns: list[np.ndarray], widths: list[int], first: list[int],
             cells: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The CSV lines of a slice of rows, as UTF-8 bytes (numba only: :data:`HAVE_NUMBA`).

    Parameters
    ----------
    columns : list of ndarray, each shape (n_rows,)
        In the order of the file. A float64 column is written as ``repr`` of each value (the
        empty cell for NaN; :func:`float_reprs`); an integer column holds, per row, the index of
        its cell among the column's cells, ``cells[first[c] + index]``.
    widths : list of int
        The most bytes a cell of each integer column takes (ignored for a float column: 24).
    first : list of int
        Where each integer column's cells start in ``cells`` (ignored for a float column).
    cells : (ndarray of uint8, ndarray of int64)
        The ready cells of the integer columns (:func:`encode_cells`), written as they are.

    Returns
    -------
    ndarray of uint8
        ``n_rows`` lines, the cells of a row joined with ``,``, each line ended with ``\\n``.

    Examples
    --------
    >>> csv_rows([np.array([1, 0], dtype=np.int8), np.array([0.5, np.nan]), np.array([0, 0], dtype=np.int8)],
    ...          [3, 0, 4], [0, 0, 2], encode_cells(["C-1", "C-2", "True"])).tobytes()
    b'C-2,0.5,True\\nC-1,,True\\n'
    """
    if not HAVE_NUMBA:  # pragma: no cover - the callers check
        raise RuntimeError("kinship.report.csv_text.csv_rows needs numba")
    n_rows = len(columns[0]) if columns else 0
    is_float = np.array([c.dtype == np.float64 for c in columns], dtype=np.bool_)
    slot = np.zeros(len(columns), dtype=np.int64)
    slot[is_float] = np.arange(int(is_float.sum()))
    slot[~is_float] = np.arange(int((~is_float).sum()))
    float_matrix = np.empty((int(is_float.sum()), n_rows), dtype=np.float64)
    code_matrix = np.empty((int((~is_float).sum()), n_rows), dtype=np.int32)
    for c, column in enumerate(columns):
        if is_float[c]:
            float_matrix[slot[c]] = column
        else:
            np.add(column, np.int32(first[c]), out=code_matrix[slot[c]])
    row_bytes = len(columns) + sum(_MAX_TEXT if f else w for f, w in zip(is_float, widths))
    out = np.empty(n_rows * row_bytes, dtype=np.uint8)
    inv, pow5 = _tables()
    end = _rows_kernel(float_matrix, code_matrix, is_float, slot, cells[0], cells[1], inv, pow5, out)
    return out[:end]
