"""Backtest the nowcast on the historical cases and write docs/backtest/: backtest.csv (each case
conditioned on its record to day 7, 14 and 30), coverage.csv and calibration.png/.svg.

    python docs/backtest.py      # about a quarter of a minute on 2 cores
"""

from __future__ import annotations

from pathlib import Path

from truce_sim.outputs.figures import save
from truce_sim.validity.backtest import backtest_table, backtests, calibration_figure, coverage

OUT = Path(__file__).resolve().parent / "backtest"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    results = backtests()
    table = backtest_table(results)
    table.to_csv(OUT / "backtest.csv", index=False)
    coverage(results).to_csv(OUT / "coverage.csv", index=False)
    save(calibration_figure(results), OUT, "calibration")
    print(table.to_string(index=False))
    print(f"\n{int(table['inside'].sum())} of {len(table)} real outcomes inside their 90% interval")


if __name__ == "__main__":
    main()
