"""Per-day aggregates over worlds, computed as batches finish and merged exactly.

An ensemble of 100,000 worlds over a year would need gigabytes to keep every world's path just
to take means and quantiles per day. Instead each batch adds its day's observations to integer
accumulators: fixed-point sums for means, and histograms on fixed bins for quantiles. Integer
addition is exact and order-free, so the merged aggregates, and the timeseries written from
them, are identical whatever the batch size, the number of workers or the order batches finish.

Resolution: power and control shares are binned in steps of 1/1024 of the unit interval;
backer support on a log grid with steps of about 0.6% between 1e-6 and 1e4 units per day; violations per
day are counted exactly (up to 4,095). Quantiles are reported at bin midpoints, so they lie
within half a bin of the exact sample quantile.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

QUANTILES = (0.05, 0.5, 0.95)
SHARE_BINS = 1024
SUPPORT_EDGES = np.geomspace(1e-6, 1e4, 4097)  # bin 0 also holds everything below 1e-6
COUNT_BINS = 4096
FIXED_POINT = float(2**32)  # means are sums of values rounded to 2**-32
# Decision terms are summed truncated to 2**-20 (a resolution far below any term that matters):
# whole numbers, whose sums a float64 holds exactly while they stay below 2**53 (a term of 1,000
# in 8 million worlds), and an int64 beyond that.
TERM_FIXED_POINT = float(2**20)
EXACT_FLOAT = float(2**53)
STATES = ("truce", "war")  # decision terms are averaged separately over worlds in truce and at war


class DailyAggregates:
    """Integer accumulators for the per-day table of one ensemble."""

    def __init__(self, factions: list[str], backers: list[str], days: int, most: int | None = None):
        """Empty accumulators for at most ``most`` worlds (a batch's size), whose histograms
        count in the narrowest integers that hold that many: a day's histograms are mostly
        empty, and at a ten-year horizon they fill hundreds of megabytes per batch. Without
        ``most`` (the merged aggregates of a whole ensemble) they count in 64 bits."""
        self.factions, self.backers, self.days = list(factions), list(backers), days
        self.most = most
        self.worlds = 0
        self.count: dict[str, np.ndarray] = {}  # per day: how many worlds had the flag
        self.total: dict[str, np.ndarray] = {}  # per day: fixed-point or integer sums
        self.hist: dict[str, np.ndarray] = {}  # per day and bin: counts
        self._buffers: np.ndarray | None = None  # scratch for decision terms
        dtype = count_type(most)
        for name in self.factions:
            for var in ("power", "control"):
                self.hist[f"{var}_{name}"] = np.zeros((days, SHARE_BINS), dtype=dtype)
        self.hist["violations"] = np.zeros((days, COUNT_BINS), dtype=dtype)
        for name in self.backers:
            self.hist[f"support_{name}"] = np.zeros((days, len(SUPPORT_EDGES) - 1), dtype=dtype)

    def add(self, day: int, obs: dict[str, np.ndarray]) -> None:
        """Add one day's observations of a batch (arrays over its worlds)."""
        n = len(obs["in_truce"])
        if day == 0:
            self.worlds += n
            if self.most is not None and self.worlds > self.most:
                raise ValueError(f"{self.worlds} worlds in accumulators made for at most {self.most}")
        self._count(day, "in_truce", obs["in_truce"])
        self._count(day, "first_truce_holds", obs["first_truce_holds"])
        self._count(day, "nominal", obs["nominal"])
        total = 0
        for name in self.factions:
            for var in ("power", "control"):
                values = obs[f"{var}.{name}"]
                self._sum(day, f"{var}_{name}", values)
                bins = np.minimum((values * SHARE_BINS).astype(np.int64), SHARE_BINS - 1)
                _add_row(self.hist[f"{var}_{name}"][day], np.bincount(bins, minlength=SHARE_BINS))
            v = obs[f"violations.{name}"]
            self._sum(day, f"violations_{name}", v, exact=True)
            self._count(day, f"offensive_{name}", obs[f"choice.{name}"] == 2)
            total = total + v
        self._sum(day, "violations", total, exact=True)
        _add_row(self.hist["violations"][day], np.bincount(np.minimum(total, COUNT_BINS - 1), minlength=COUNT_BINS))
        for name in self.backers:
            values = obs[f"support.{name}"]
            self._sum(day, f"support_{name}", values)
            if values[0] == values.min() == values.max():  # usual: the same support in every world
                self.hist[f"support_{name}"][day, _support_bin(values[:1])[0]] += len(values)
            else:
                _add_row(
                    self.hist[f"support_{name}"][day],
                    np.bincount(_support_bin(values), minlength=len(SUPPORT_EDGES) - 1),
                )

    def add_decisions(self, day: int, terms: dict[str, np.ndarray], in_truce: np.ndarray) -> None:
        """Add one day's decision terms of a batch: per faction, a (terms, worlds) array, summed
        separately over the worlds that were in truce when they chose and those at war."""
        states = np.stack([in_truce, ~in_truce], axis=1).astype(np.float64)
        self._count(day, "deciding_in_truce", in_truce)
        self._count(day, "deciding", np.ones_like(in_truce))
        for name, values in terms.items():
            # each world's terms truncated to multiples of 2**-20: whole numbers, whose sums below
            # 2**53 a float64 holds exactly, in any order of addition, so a matrix product may add
            # them as it likes. Written into a buffer kept for the batch: fresh arrays of this size
            # every day cost more than the arithmetic.
            if self._buffers is None or self._buffers.shape != values.shape:
                self._buffers = np.empty(values.shape)
            scaled = self._buffers
            np.multiply(values, TERM_FIXED_POINT, out=scaled)
            np.trunc(scaled, out=scaled)
            if max(scaled.max(), -scaled.min()) * scaled.shape[1] < EXACT_FLOAT:
                by_state = (scaled @ states).astype(np.int64)
            else:  # terms too large for a float64's exact sums: add as integers
                fixed = scaled.astype(np.int64)
                in_truce_sum = fixed @ in_truce.astype(np.int64)
                by_state = np.stack([in_truce_sum, fixed.sum(axis=1) - in_truce_sum], axis=1)
            for state, sums in (("truce", by_state[:, 0]), ("war", by_state[:, 1])):
                key = f"terms_{state}_{name}"
                if key not in self.total:
                    self.total[key] = np.zeros((self.days, len(sums)), dtype=np.int64)
                self.total[key][day] += sums

    def decisions(self, columns: tuple[str, ...], start_date=None) -> pd.DataFrame:
        """The per-day table written as decisions.csv: for each faction and state (truce, war),
        how many worlds chose in it and the mean of each term over them."""
        frames = []
        deciding = self.count.get("deciding", np.zeros(self.days, dtype=np.int64))
        in_truce = self.count.get("deciding_in_truce", np.zeros(self.days, dtype=np.int64))
        for name in self.factions:
            for state in STATES:
                sums = self.total.get(f"terms_{state}_{name}")
                if sums is None:
                    continue
                worlds = in_truce if state == "truce" else deciding - in_truce
                frame = pd.DataFrame(sums / TERM_FIXED_POINT / np.maximum(worlds, 1)[:, None], columns=list(columns))
                frame.insert(0, "worlds", worlds)
                frame.insert(0, "state", state)
                frame.insert(0, "faction", name)
                frame.insert(0, "day", np.arange(self.days))
                if start_date is not None:
                    frame.insert(1, "date", pd.date_range(start_date, periods=self.days, freq="D").strftime("%Y-%m-%d"))
                frames.append(frame[frame["worlds"] > 0])
        if not frames:
            return pd.DataFrame(columns=["day", "faction", "state", "worlds", *columns])
        return pd.concat(frames, ignore_index=True).sort_values(["day", "faction", "state"], ignore_index=True)

    def _count(self, day, key, flags) -> None:
        self.count.setdefault(key, np.zeros(self.days, dtype=np.int64))[day] += int(np.count_nonzero(flags))

    def _sum(self, day, key, values, exact: bool = False) -> None:
        fixed = values.astype(np.int64) if exact else np.rint(values * FIXED_POINT).astype(np.int64)
        self.total.setdefault(key, np.zeros(self.days, dtype=np.int64))[day] += int(fixed.sum())

    def as_total(self) -> DailyAggregates:
        """These accumulators, taken over as the start of an ensemble's total (no copy: the first
        batch's counts are the total so far; narrow counts widen when the next batch merges in)."""
        self.most = None
        self.hist = {key: _dense(values) for key, values in self.hist.items()}
        self._buffers = None
        return self

    def merge(self, other: DailyAggregates) -> DailyAggregates:
        """Add another batch's accumulators into these (exact and order-free)."""
        self.worlds += other.worlds
        for store, theirs in ((self.count, other.count), (self.total, other.total), (self.hist, other.hist)):
            for key, values in theirs.items():
                mine = store.get(key)
                if mine is None:
                    store[key] = _dense(values).astype(np.int64)
                    continue
                if mine.dtype != np.int64:  # a batch's narrow counts widen before they can overflow
                    mine = store[key] = mine.astype(np.int64)
                # in place: a merge must not hold a second copy of the totals, which for a
                # ten-year horizon are hundreds of megabytes
                if isinstance(values, _Cells):
                    flat = mine.reshape(-1)
                    flat[values.cells] += values.counts  # cells are distinct, so none is lost
                else:
                    np.add(mine, values, out=mine)
        return self

    def __getstate__(self) -> dict:
        # A batch crosses from its worker as the nonzero cells of each histogram where that is
        # smaller: on most days a backer's support falls in one bin of 4,096, and the worker
        # and the collecting process would otherwise each hold the dense copies in flight.
        state = self.__dict__.copy()
        state["_buffers"] = None
        state["hist"] = {key: _compact(values) for key, values in self.hist.items()}
        return state

    def table(self, start_date=None) -> pd.DataFrame:
        """The per-day table written as timeseries.csv."""
        n = max(self.worlds, 1)
        out: dict[str, np.ndarray] = {"day": np.arange(self.days)}
        if start_date is not None:
            out["date"] = pd.date_range(start_date, periods=self.days, freq="D").strftime("%Y-%m-%d")
        out["share_in_truce"] = self.count["in_truce"] / n
        out["share_first_truce_holds"] = self.count["first_truce_holds"] / n
        out["share_nominal"] = self.count["nominal"] / n
        share_mid = (np.arange(SHARE_BINS) + 0.5) / SHARE_BINS
        for name in self.factions:
            for var in ("power", "control"):
                key = f"{var}_{name}"
                out[f"{key}_mean"] = self.total[key] / FIXED_POINT / n
                for q in QUANTILES:
                    out[f"{key}_q{int(q * 100):02d}"] = _quantile(_dense(self.hist[key]), q, share_mid)
        out["violations_mean"] = self.total["violations"] / n
        counts = np.arange(COUNT_BINS, dtype=float)
        for q in QUANTILES:
            out[f"violations_q{int(q * 100):02d}"] = _quantile(_dense(self.hist["violations"]), q, counts)
        for name in self.factions:
            out[f"violations_{name}_mean"] = self.total[f"violations_{name}"] / n
            out[f"offensive_share_{name}"] = self.count[f"offensive_{name}"] / n
        support_mid = np.sqrt(SUPPORT_EDGES[:-1] * SUPPORT_EDGES[1:])
        support_mid[0] = 0.0  # the lowest bin stands for "no support"
        for name in self.backers:
            key = f"support_{name}"
            out[f"{key}_mean"] = self.total[key] / FIXED_POINT / n
            hist = _dense(self.hist[key])
            out[f"{key}_q05"] = _quantile(hist, 0.05, support_mid)
            out[f"{key}_q95"] = _quantile(hist, 0.95, support_mid)
        return pd.DataFrame(out)


def count_type(most: int | None) -> np.dtype:
    """The narrowest integer type that holds counts up to ``most`` (64 bits without a bound)."""
    for dtype in (np.uint8, np.uint16, np.int32):
        if most is not None and most <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


class _Cells(NamedTuple):
    """A histogram as its nonzero cells: flat indices into ``shape`` and their counts."""

    cells: np.ndarray
    counts: np.ndarray
    shape: tuple[int, int]


def _compact(hist: np.ndarray | _Cells) -> np.ndarray | _Cells:
    if isinstance(hist, _Cells):
        return hist
    index = np.int32 if hist.size <= np.iinfo(np.int32).max else np.int64
    if np.count_nonzero(hist) * (np.dtype(index).itemsize + hist.itemsize) >= hist.nbytes:
        return hist
    cells = np.flatnonzero(hist).astype(index)
    return _Cells(cells, hist.reshape(-1)[cells], hist.shape)


def _dense(hist: np.ndarray | _Cells) -> np.ndarray:
    if not isinstance(hist, _Cells):
        return hist
    out = np.zeros(hist.shape, dtype=np.int64)
    out.reshape(-1)[hist.cells] = hist.counts
    return out


def _add_row(row: np.ndarray, counts: np.ndarray) -> None:
    # a narrow row cannot overflow: no bin counts more worlds than the accumulators were made for
    np.add(row, counts, out=row, casting="unsafe")


_LOG_LOWEST = np.log(SUPPORT_EDGES[0])
_LOG_STEP = (np.log(SUPPORT_EDGES[-1]) - _LOG_LOWEST) / (len(SUPPORT_EDGES) - 1)


def _support_bin(values: np.ndarray) -> np.ndarray:
    # the edges are geometric, so a bin is a floor on the log scale (several times faster than a
    # search over 4,097 edges, and it differs from one only for values on an edge to rounding)
    with np.errstate(divide="ignore", invalid="ignore"):
        index = np.floor((np.log(values) - _LOG_LOWEST) / _LOG_STEP)
    return np.clip(np.nan_to_num(index, nan=0.0, neginf=0.0), 0, len(SUPPORT_EDGES) - 2).astype(np.int64)


def _quantile(hist: np.ndarray, q: float, midpoints: np.ndarray) -> np.ndarray:
    """Per day (row), the midpoint of the bin holding the q-quantile of the counts."""
    cumulative = np.cumsum(hist, axis=1)
    target = q * cumulative[:, -1:]
    index = (cumulative < np.maximum(target, 1e-12)).sum(axis=1)
    return midpoints[np.minimum(index, len(midpoints) - 1)]
