"""float_reprs against Python's repr itself, on every branch of the Ryū port and of the layout."""

from __future__ import annotations

import numpy as np
import pytest

from kinship.report import csv_text
from kinship.report.csv_text import float_reprs


def _reprs(values: np.ndarray) -> list[str]:
    return ["" if x != x else repr(x) for x in values.tolist()]


def _assert_same(values: np.ndarray) -> None:
    got = float_reprs(values).to_pylist()
    want = _reprs(values)
    bad = [(w, g) for w, g in zip(want, got) if w != g]
    assert not bad, f"{len(bad)} of {len(want)} differ, e.g. {bad[:5]}"


def _with_neighbours(x: np.ndarray) -> np.ndarray:
    x = x[np.isfinite(x)]
    both = np.concatenate([x, np.nextafter(x, np.inf), np.nextafter(x, -np.inf)])
    return np.concatenate([both, -both])


def test_special_values_and_the_notation_edges():
    values = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, 0.1, 0.2, 0.3, 1 / 3, 2 / 3, 100.0, 123.0,
                       1e16, 1e15, 9999999999999998.0, 9999999999999999.0, 1e17, 1e-4, 1e-5, 0.00012345,
                       0.0009999999999999998, 5e-324, 1e-323, 2.2250738585072014e-308, 2.225073858507201e-308,
                       1.7976931348623157e308, 123456789.125, 2.0**53, 2.0**53 + 2, 2.0**63, 2.0**64,
                       1e22, 1e23, 9007199254740993.0, 4.35, 0.30000000000000004, -1.5e-7, 1e100, 1e-100])
    _assert_same(values)
    assert float_reprs(np.array([np.nan, -np.inf])).to_pylist() == ["", "-inf"]
    assert float_reprs(np.array([], dtype=np.float64)).to_pylist() == []


def test_powers_of_two_and_ten_and_their_neighbours():
    """Every binary exponent (the exponent-0 subnormals, the lower bound closer at a power of
    two) and every decimal exponent (the trailing-zero branches of the digit removal)."""
    twos = np.ldexp(1.0, np.arange(-1074, 1024))
    tens = np.array([float(f"1e{k}") for k in range(-323, 309)])
    _assert_same(_with_neighbours(np.concatenate([twos, tens, 3.0 * twos[:-2], 5.0 * tens[:-1]])))


def test_whole_numbers_and_decimal_multiples():
    """Whole numbers up to and past 2**53 and short decimals times powers of ten (the q <= 21
    and trailing-zero cases, the ties broken to even)."""
    rng = np.random.default_rng(1)
    small = np.arange(0, 100_000, dtype=np.float64)
    big = rng.integers(0, 2**62, 100_000).astype(np.float64) * 2.0 ** rng.integers(-10, 12, 100_000)
    digits = rng.integers(1, 10**6, 100_000).astype(np.float64)
    scaled = digits * 10.0 ** rng.integers(-30, 30, 100_000)
    halves = (rng.integers(0, 10**9, 100_000) * 10 + 5).astype(np.float64) * 10.0 ** rng.integers(-25, 20, 100_000)
    _assert_same(np.concatenate([small, -small, big, scaled, halves]))


def test_random_bit_patterns_and_the_ranges_of_a_run():
    rng = np.random.default_rng(2)
    bits = rng.integers(0, 2**64, 500_000, dtype=np.uint64).view(np.float64)
    subnormal = (rng.integers(1, 2**52, 50_000, dtype=np.uint64)).view(np.float64)
    log10_lr = rng.standard_normal(200_000) * 8.0
    posterior = 10.0 ** -rng.uniform(0, 80, 200_000)
    unit = rng.random(200_000)
    _assert_same(np.concatenate([bits, subnormal, -subnormal, log10_lr, posterior, unit]))


def test_a_slice_and_other_dtypes_are_read_as_float64():
    x = np.arange(20, dtype=np.float64) / 7.0
    _assert_same(x[3:17:2])
    assert float_reprs(np.array([1, 2], dtype=np.int16)).to_pylist() == ["1.0", "2.0"]
    assert float_reprs(np.float32([0.1])).to_pylist() == [repr(float(np.float32(0.1)))]


def test_the_tables_are_ryus():
    """The first entries of ryu/d2s_full_table.h, as published."""
    inv, pow5 = csv_text._tables()
    assert inv[0].tolist() == [1, 2305843009213693952]
    assert inv[1].tolist() == [11068046444225730970, 1844674407370955161]
    assert pow5[0].tolist() == [0, 1152921504606846976]
    assert pow5[1].tolist() == [0, 1441151880758558720]


@pytest.mark.slow
def test_ten_million_random_bit_patterns():
    """``pytest -m slow tests/unit/test_csv_text.py`` (about a minute)."""
    rng = np.random.default_rng(3)
    for _ in range(10):
        _assert_same(rng.integers(0, 2**64, 1_000_000, dtype=np.uint64).view(np.float64))
