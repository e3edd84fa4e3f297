"""A posterior of the behavioural constants: weighted samples read from a CSV, drawn per world.

A calibration writes ``posterior.csv``: one column per behavioural constant (the keys of
``defaults.yaml``) and a ``weight`` column, one row per weighted sample. A run with a posterior
draws K rows from it by weight (K = ``draws``, default 50), from a stream keyed on the run's
seed alone, and world i takes its constants from draw ``i % K``. A world's constants therefore
depend only on (seed, posterior, K, i): the same in any batch, process or number of workers.
Constants the file does not hold keep the scenario's values.

A file that cannot serve is a :class:`ScenarioError` of one line, ``file:line: column: what is
wrong`` (the line is the file's, 1-based, the header being line 1).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from truce_sim.core.schema import BEHAVIOUR_FIELDS, Field, ScenarioError, did_you_mean, one_line, short_repr
from truce_sim.core.streams import FACTS_DAY, WorldStreams

POSTERIOR_DRAWS = 50  # K: enough draws for a 5-95% band across them, few enough for 40 worlds each in 2,000
MAX_DRAWS = 100_000
WEIGHT = "weight"
# A posterior of 500 rows and 9 constants is about 50 KB; a file of this size holds 100 times more.
MAX_POSTERIOR_BYTES = 8 * 2**20
POSTERIOR_FILE = "a posterior of a few hundred weighted rows is a few tens of KB"
DRAW_SLOT = "posterior/draw"  # the stream of draw j is keyed on (seed, j), never on a world


@dataclass(frozen=True, eq=False)
class Posterior:
    """Weighted samples of some behavioural constants, and how many draws a run takes.

    ``values`` holds one row per sample and one column per constant of ``constants`` (whole-number
    constants rounded); ``weights`` sum to 1. Build one with :func:`load_posterior` or
    :func:`posterior_from_table`."""

    source: str
    sha256: str
    constants: tuple[str, ...]
    values: np.ndarray
    weights: np.ndarray
    draws: int = POSTERIOR_DRAWS

    @property
    def rows(self) -> int:
        return len(self.weights)

    def with_draws(self, draws: int | None) -> Posterior:
        """The same samples with ``draws`` draws per run (None keeps them)."""
        return self if draws is None else replace(self, draws=check_draws(draws))

    def drawn_rows(self, seed: int) -> np.ndarray:
        """The sample (row index) of each of the K draws of a run with ``seed``: drawn by weight,
        independently, draw j from the uniform of stream (seed, j). Draw j is the same for any
        K > j, and for any worlds."""
        u = WorldStreams(seed, np.arange(self.draws)).uniform(FACTS_DAY, DRAW_SLOT)
        cdf = np.cumsum(self.weights)
        cdf /= cdf[-1]  # the last is exactly 1, above every u in (0, 1)
        # a row of weight 0 spans an empty interval [cdf[i-1], cdf[i]), so it is never drawn
        return np.minimum(np.searchsorted(cdf, u, side="right"), self.rows - 1)

    def for_worlds(self, seed: int, replicate_ids: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Each world's draw (``replicate % K``) and its constants, {name: array over worlds}."""
        ids = np.asarray(replicate_ids, dtype=np.int64)
        draw = ids % self.draws
        picked = self.values[self.drawn_rows(seed)[draw]]
        return draw, {name: picked[:, k].copy() for k, name in enumerate(self.constants)}

    def record(self) -> dict[str, Any]:
        """What summary.json and manifest.json say of the posterior."""
        return {
            "file": self.source,
            "sha256": self.sha256,
            "rows": self.rows,
            "constants": list(self.constants),
            "draws": self.draws,
        }

    def __repr__(self) -> str:
        return f"Posterior({self.source!r}, rows={self.rows}, constants={list(self.constants)}, draws={self.draws})"


def check_draws(draws: Any) -> int:
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or not 1 <= draws <= MAX_DRAWS:
        raise ScenarioError(f"posterior draws must be a whole number in [1, {MAX_DRAWS}], got {short_repr(draws)}")
    return int(draws)


def load_posterior(path: str | Path, draws: int | None = None) -> Posterior:
    """Read and check ``posterior.csv``; a file that cannot serve is a one-line ScenarioError."""
    from truce_sim.core.scenario import read_input_bytes  # scenario.py imports this module

    source = one_line(str(path))
    data = read_input_bytes(path, source, MAX_POSTERIOR_BYTES, POSTERIOR_FILE)
    try:
        text = data.decode("utf-8-sig")  # a spreadsheet's byte-order mark is not part of the header
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{source}: not a CSV file (not UTF-8 text: {exc.reason} at byte {exc.start})") from None
    if "\x00" in text:
        raise ScenarioError(f"{source}: not a CSV file (it holds NUL bytes)")
    rows: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for fields in reader:
            if any(f.strip() for f in fields):  # blank lines are skipped
                rows.append((reader.line_num, fields))
    except csv.Error as exc:
        raise ScenarioError(f"{source}:{reader.line_num}: not a CSV file ({one_line(str(exc))})") from None
    if not rows:
        raise ScenarioError(f"{source}: the file is empty; a posterior has a header (constants and weight) and rows")
    (_, header), body = rows[0], rows[1:]
    posterior = _check(source, [h.strip() for h in header], body, hashlib.sha256(data).hexdigest())
    return posterior.with_draws(draws)


def posterior_from_table(table: Mapping[str, Iterable[Any]], draws: int | None = None, source: str = "<table>"):
    """A posterior from columns in memory, {column: values} (a pandas DataFrame serves), checked
    as a file is; its rows are numbered as a CSV file's lines would be (the first row is line 2)."""
    header = [str(c) for c in table]
    columns = [list(table[c]) for c in table]
    n = len(columns[0]) if columns else 0
    if any(len(c) != n for c in columns):
        raise ScenarioError(f"{source}: columns of different lengths")
    body = [(i + 2, [c[i] for c in columns]) for i in range(n)]
    text = ",".join(header) + "\n" + "".join(",".join(str(v) for v in fields) + "\n" for _, fields in body)
    return _check(source, header, body, hashlib.sha256(text.encode("utf-8")).hexdigest()).with_draws(draws)


def _check(source: str, header: list[str], body: Sequence[tuple[int, Sequence[Any]]], sha256: str) -> Posterior:
    known = [*BEHAVIOUR_FIELDS, WEIGHT]
    if len(header) == 1 and header[0] not in known:
        raise ScenarioError(
            f"{source}:1: not a CSV file (the first line has no commas); a posterior has a header of "
            f"constants and {WEIGHT}, separated by commas"
        )
    seen: set[str] = set()
    for i, name in enumerate(header):
        if not name:
            raise ScenarioError(f"{source}:1: column {i + 1}: empty column name")
        if name in seen:
            raise ScenarioError(f"{source}:1: {one_line(name)}: duplicate column")
        seen.add(name)
        if name not in known:
            raise ScenarioError(
                f"{source}:1: {short_repr(name)}: unknown column{did_you_mean(name, known)}; the columns are "
                f"behavioural constants (defaults.yaml) and {WEIGHT}"
            )
    if WEIGHT not in seen:
        raise ScenarioError(f"{source}:1: no {WEIGHT} column; a posterior has one (weights >= 0, normalised on read)")
    constants = tuple(h for h in header if h != WEIGHT)
    if not constants:
        raise ScenarioError(f"{source}:1: no behavioural constant columns, only {WEIGHT}")
    if not body:
        raise ScenarioError(f"{source}: no rows; a posterior has one row per weighted sample below its header")
    order = [header.index(c) for c in constants]
    w_at = header.index(WEIGHT)
    values = np.empty((len(body), len(constants)))
    weights = np.empty(len(body))
    for r, (line, fields) in enumerate(body):
        if len(fields) != len(header):
            raise ScenarioError(
                f"{source}:{line}: expected {len(header)} values, as the header has columns, got {len(fields)}"
            )
        weights[r] = _number(fields[w_at], source, line, WEIGHT, 0.0, math.inf)
        for k, (name, at) in enumerate(zip(constants, order, strict=True)):
            f = BEHAVIOUR_FIELDS[name]
            x = _number(fields[at], source, line, name, f.lo, f.hi)
            values[r, k] = round(x) if f.kind == "int" else x  # a whole-number constant (a window) rounds
    with np.errstate(over="ignore"):  # an overflow is reported below, in one line
        total = float(weights.sum())
    if total <= 0:
        raise ScenarioError(f"{source}: every {WEIGHT} is 0; at least one row needs a positive weight")
    if not math.isfinite(total):
        raise ScenarioError(f"{source}: the weights sum to more than a float holds; scale them down")
    return Posterior(source, sha256, constants, values, weights / total)


def _number(raw: Any, source: str, line: int, column: str, lo: float | None, hi: float | None) -> float:
    where = f"{source}:{line}: {column}"
    text = raw.strip() if isinstance(raw, str) else raw
    if text == "" or text is None:
        raise ScenarioError(f"{where}: empty value")
    if isinstance(text, bool):
        raise ScenarioError(f"{where}: must be a number, got {text}")
    try:
        x = float(text)
    except (TypeError, ValueError, OverflowError):
        raise ScenarioError(f"{where}: must be a number, got {short_repr(text)}") from None
    if not math.isfinite(x):
        raise ScenarioError(f"{where}: must be a finite number, got {short_repr(text)}")
    if column == WEIGHT and x < 0:
        raise ScenarioError(f"{where}: must be >= 0, got {x:g}")
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        raise ScenarioError(f"{where}: must be in {Field('number', lo, hi).range_text()}, got {x:g}")
    return x
