"""Per-world random streams that depend only on (seed, replicate).

Every random number in the model is a pure function of (seed, replicate, day, slot), where a
slot names who draws and what for (``"lna/choice"``). This is a counter-based generator: a
SplitMix64 hash of the counter, evaluated for all worlds at once with numpy. World r therefore
draws the same numbers whether it runs alone, in a batch of 10,000, in another process, or after
other worlds: the model never consumes a shared sequential stream.
"""

from __future__ import annotations

import zlib

import numpy as np
from scipy.special import ndtri

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_MASK64 = (1 << 64) - 1
_TO_UNIT = 2.0**-53
FACTS_DAY = -1  # the "day" on which uncertain facts are drawn, before day 0


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a bijective avalanche of 64-bit words (wraps modulo 2**64)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def slot(name: str) -> int:
    """A stable 32-bit id for a named draw (crc32, the same in every process and Python)."""
    return zlib.crc32(name.encode("utf-8"))


class WorldStreams:
    """The random streams of a batch of worlds, identified by their replicate numbers."""

    def __init__(self, seed: int, replicates: np.ndarray):
        self.seed = int(seed)
        self.replicates = np.asarray(replicates, dtype=np.int64)
        seed_key = _mix(np.array([self.seed & _MASK64], dtype=np.uint64) + _GOLDEN)
        with np.errstate(over="ignore"):
            self._keys = _mix(seed_key ^ (self.replicates.astype(np.uint64) * _GOLDEN + _GOLDEN))
        self._day: int | None = None
        self._day_keys = self._keys

    def bits(self, day: int, name: str) -> np.ndarray:
        if day != self._day:  # every draw of a day shares the day's key: mix it once
            # +2 keeps FACTS_DAY distinct and non-zero; arrays (not scalars) wrap without warnings
            day_word = np.array([(int(day) + 2) & _MASK64], dtype=np.uint64)
            self._day, self._day_keys = day, _mix(self._keys + day_word * _GOLDEN)
        return _mix(self._day_keys ^ np.uint64(slot(name)))

    def branch(self, parents: np.ndarray, name: str | None) -> WorldStreams:
        """The streams of worlds that continue worlds ``parents`` (world i continues world
        parents[i]; a parent may have several), each with a stream of its own from now on: keyed on
        its parent's key, its position i and ``name`` (which names the branching, e.g. the day),
        so that copies of one world do not share their futures and the result depends only on
        the seed, the parents and the name. With no name, each world keeps its parent's stream."""
        parents = np.asarray(parents, dtype=np.int64)
        out = WorldStreams.__new__(WorldStreams)
        out.seed, out.replicates = self.seed, np.arange(parents.size, dtype=np.int64)
        position = np.arange(parents.size, dtype=np.uint64)
        out._keys = self._keys[parents]
        if name is not None:
            with np.errstate(over="ignore"):
                out._keys = _mix(out._keys ^ _mix(position * _GOLDEN + np.uint64(slot(name))))
        out._day, out._day_keys = None, out._keys
        return out

    def uniform(self, day: int, name: str) -> np.ndarray:
        """Uniform numbers in the open interval (0, 1), one per world."""
        return ((self.bits(day, name) >> np.uint64(11)).astype(np.float64) + 0.5) * _TO_UNIT

    def normal(self, day: int, name: str) -> np.ndarray:
        return ndtri(self.uniform(day, name))

    def poisson(self, lam: np.ndarray, day: int, name: str) -> np.ndarray:
        return poisson_from_uniform(lam, self.uniform(day, name))


def poisson_from_uniform(lam: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Poisson counts by inversion of the CDF, vectorised over worlds (any shape).

    Inversion keeps one uniform per draw (so a world's stream never depends on how many draws
    another world needed). Rates in this model are small; above 30 the normal approximation is
    used, which is accurate to well under one count there.
    """
    shape = np.shape(lam)
    lam = np.asarray(lam, dtype=np.float64).ravel()  # any shape: worlds, or factions x worlds
    u = np.asarray(u, dtype=np.float64).ravel()
    small = lam <= 30.0
    lam_s = np.where(small, lam, 0.0)
    p = np.exp(-lam_s)
    cdf = p.copy()
    k = np.zeros(lam.shape, dtype=np.int64)
    above = u > cdf
    j = 0
    # Walk up the CDF in place over all worlds while most still walk (rates of a few a day take
    # several steps), then only for the few still above it.
    while j < 200:
        walking = np.count_nonzero(above)
        if walking == 0:
            break
        if walking * 4 < lam.size:
            idx = np.flatnonzero(above)
            lam_a, u_a, p_a, cdf_a = lam_s[idx], u[idx], p[idx], cdf[idx]
            while idx.size and j < 200:
                j += 1
                p_a = p_a * lam_a / j
                cdf_a = cdf_a + p_a
                k[idx] = j
                keep = u_a > cdf_a
                idx, lam_a, u_a, p_a, cdf_a = idx[keep], lam_a[keep], u_a[keep], p_a[keep], cdf_a[keep]
            break
        j += 1
        p *= lam_s
        p /= j
        cdf += p
        k += above
        above &= u > cdf
    if not small.all():
        big = np.maximum(np.rint(lam + np.sqrt(lam) * ndtri(u)), 0).astype(np.int64)
        k = np.where(small, k, big)
    return k.reshape(shape)
