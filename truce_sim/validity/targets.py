"""The historical cases and what is known of them: one table for calibrate, the tests and reports.

A bracket is the range a simulated quantity must fall in for the case to count as reproduced,
written from the public record (each scenario file's header cites it) before the model is run.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    name: str
    worlds: int  # enough that the bracketed quantities are a few points wide
    steps: int
    known: str  # the outcome in the record, in words


@dataclass(frozen=True)
class Bracket:
    case: str
    quantity: str  # a key of calibrate.case_outcomes()[case]
    label: str
    lo: float
    hi: float

    def holds(self, value: float) -> bool:
        return self.lo <= value <= self.hi


CASES = (
    Case("libya_2020_january", 1500, 180, "LNA offensive day 14; GNA counter-offensive day 73"),
    Case("libya_2020_october", 800, 366, "held for years"),
    Case("syria_2016_september", 800, 60, "over on day 7"),
    Case("nagorno_karabakh_2020_november", 800, 366, "held about 1,043 days"),
)
HISTORICAL = tuple(case.name for case in CASES)
ARCHETYPES = ("stalemate_joint_pressure", "lopsided_unrestrained", "no_backer_pressure")

BRACKETS = (
    Bracket("libya_2020_january", "median", "Libya Jan 2020: median survival (days)", 7, 75),
    Bracket("libya_2020_january", "s180", "Libya Jan 2020: survival at 180 days", 0, 0.2),
    Bracket(
        "libya_2020_january",
        "first_offensive_lna",
        "Libya Jan 2020: LNA's first offensive (median day; known 14)",
        7,
        28,
    ),
    Bracket(
        "libya_2020_january",
        "first_offensive_gna",
        "Libya Jan 2020: GNA's first offensive (median day; known 73)",
        37,
        146,
    ),
    Bracket("libya_2020_january", "gna_late_minus_early", "Libya Jan 2020: GNA breaker share, late minus early", 0, 1),
    Bracket("libya_2020_october", "s365", "Libya Oct 2020: survival at 365 days", 0.7, 1),
    Bracket("syria_2016_september", "median", "Syria Sep 2016: median survival (days; known 7)", 0, 14),
    Bracket("nagorno_karabakh_2020_november", "s365", "Nagorno-Karabakh Nov 2020: survival at 365 days", 0.6, 1),
)


def bracket(case: str, quantity: str) -> Bracket:
    return next(b for b in BRACKETS if b.case == case and b.quantity == quantity)
