"""The statistics behind the numbers: bootstrap intervals, paired tests, pass@k."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from math import comb

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
BLOCK_CELLS = 2_000_000  # resampled values held at once


def bootstrap_ci(values: np.ndarray, *, level: float = 0.95, seed: int = 0) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean over samples; None for fewer than two samples."""
    if len(values) < 2:
        return None
    return _percentiles(_resampled_means(values, seed), level)


def paired_bootstrap_ci(
    a: np.ndarray, b: np.ndarray, statistic: Callable[[np.ndarray, np.ndarray], np.ndarray], *, level: float = 0.95, seed: int = 0
) -> tuple[float, float] | None:
    """Interval of `statistic` with the samples resampled together (sample i of `a` goes with sample i of `b`).

    `statistic` takes the resamples' means of `a` and of `b` (one per resample each) and returns one value per resample.
    """
    if len(a) != len(b):
        raise ValueError("paired samples must have the same length")
    if len(a) < 2:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        values = statistic(_resampled_means(a, seed), _resampled_means(b, seed))
    values = values[np.isfinite(values)]
    return _percentiles(values, level) if len(values) else None


def _resampled_means(values: np.ndarray, seed: int) -> np.ndarray:
    """The mean of each bootstrap resample of `values`: how often each resample drew each sample, times the values (a
    product in one thread, not BLAS's several: a report's forked workers share the cores; rather than gathering every
    drawn value, 20 times slower)."""
    values = np.asarray(values, dtype=float)
    sums = [np.einsum("rs,s->r", counts, values) for counts in _resample_counts(len(values), seed)]
    return np.concatenate(sums) / len(values)


def _resample_counts(samples: int, seed: int) -> Iterable[np.ndarray]:
    """How often each resample drew each sample, a block of resamples at a time: memory stays near 16 MB however
    many samples. The same for the same sample count and seed; where they fit in one block they are drawn once and
    kept (a report compares many runs of one task size)."""
    if samples * BOOTSTRAP_RESAMPLES <= BLOCK_CELLS:
        return (_one_block(samples, seed),)
    return _blocks(np.random.default_rng(seed), samples)


@lru_cache(maxsize=8)
def _one_block(samples: int, seed: int) -> np.ndarray:
    counts = _counts(np.random.default_rng(seed).integers(0, samples, size=(BOOTSTRAP_RESAMPLES, samples)))
    counts.setflags(write=False)
    return counts


def _blocks(rng: np.random.Generator, samples: int) -> Iterator[np.ndarray]:
    block = max(1, min(BOOTSTRAP_RESAMPLES, BLOCK_CELLS // samples))
    for start in range(0, BOOTSTRAP_RESAMPLES, block):
        yield _counts(rng.integers(0, samples, size=(min(block, BOOTSTRAP_RESAMPLES - start), samples)))


def _counts(indices: np.ndarray) -> np.ndarray:
    """Per resample (row), how many times it drew each sample: the same resamples as `indices`, as counts."""
    resamples, samples = indices.shape
    offsets = indices + samples * np.arange(resamples)[:, None]
    return np.bincount(offsets.ravel(), minlength=resamples * samples).reshape(resamples, samples).astype(float)


def mean_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """mean(b) − mean(a) per resample (given the resamples' means): how much the second run gains."""
    return b - a


def mean_ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """mean(b) / mean(a) per resample (given the resamples' means)."""
    return b / a


def _percentiles(values: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def mean_or_none(values: list[float | None]) -> float | None:
    """The mean; None when a value is missing, since a mean over the others would stand for something else."""
    present = [v for v in values if v is not None]
    if not values or len(present) != len(values):
        return None
    return float(np.mean(present))


def mcnemar_exact(only_first: int, only_second: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pairs: right in one run only, right in the other only."""
    discordant = only_first + only_second
    if discordant == 0:
        return 1.0
    tail = sum(comb(discordant, i) for i in range(min(only_first, only_second) + 1)) / 2**discordant
    return min(1.0, 2 * tail)


def pass_at_k(n: int, correct: int, k: int) -> float:
    """The unbiased pass@k estimator of Chen et al. (2021): 1 − C(n−c, k) / C(n, k)."""
    if not 0 < k <= n:
        raise ValueError(f"pass@{k} needs 1 <= k <= n (n = {n})")
    if n - correct < k:
        return 1.0
    return 1.0 - comb(n - correct, k) / comb(n, k)
