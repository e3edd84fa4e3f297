"""The what-if explorer: Mesa's SolaraViz over one world, with an ensemble what-if panel.

Start it with ``python run.py explore scenarios/libya_2020_january.yaml`` (which runs
``solara run`` on this file). The levers of the loaded scenario are sliders; one world steps
day by day (power, control, violations, the truce and each actor's choice); and on every change
of a lever the what-if panel reruns 500 worlds and draws their survival curve against the
scenario's baseline, with the same seed so that the difference is the levers', not chance's.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import solara  # noqa: E402
from mesa.visualization import SolaraViz  # noqa: E402
from mesa.visualization.utils import update_counter  # noqa: E402

from truce_sim.core.model import DEFAULT_SCENARIO, TruceModel  # noqa: E402
from truce_sim.core.rules import CHOICES  # noqa: E402
from truce_sim.core.scenario import load_scenario  # noqa: E402
from truce_sim.levers import lever_scenario, levers_of  # noqa: E402
from truce_sim.outputs.figures import PALETTE, actor_colours, survival_axes  # noqa: E402
from truce_sim.runs.ensemble import run_ensemble  # noqa: E402
from truce_sim.runs.survival import kaplan_meier, survival_at  # noqa: E402

WHAT_IF_WORLDS = 500
BASE = load_scenario(os.environ.get("TRUCE_SIM_SCENARIO", str(DEFAULT_SCENARIO)))
LEVERS = levers_of(BASE)
levers = solara.reactive({lever.key: lever.value for lever in LEVERS})


class ExplorerModel(TruceModel):
    """One world of the loaded scenario with the levers' current values."""

    def __init__(self, values: dict | None = None):
        super().__init__(lever_scenario(BASE, {**levers.value, **(values or {})}), replicates=1)


model = solara.reactive(ExplorerModel())


def set_lever(key: str, value: float) -> None:
    levers.value = {**levers.value, key: value}
    model.value = ExplorerModel()  # the stepping world restarts with the new levers


@solara.component
def Levers(_model):
    with solara.Card("Levers"), solara.Column(style={"max-height": "330px", "overflow-y": "auto"}):
        for lever in LEVERS:
            slider = solara.SliderInt if lever.integer else solara.SliderFloat
            slider(
                lever.label,
                value=levers.value[lever.key],
                min=lever.lo,
                max=lever.hi,
                step=lever.step,
                thumb_label="always",
                on_value=lambda v, key=lever.key: set_lever(key, v),
            )


def _ensemble(values: dict):
    return run_ensemble(lever_scenario(BASE, values), replicates=WHAT_IF_WORLDS, seed=BASE.seed)


@solara.component
def WhatIf(_model):
    baseline = solara.use_memo(lambda: _ensemble({lever.key: lever.value for lever in LEVERS}), [])
    current = solara.use_memo(lambda: _ensemble(levers.value), [levers.value])
    fig, ax = plt.subplots(figsize=(6, 3.4))
    survival_axes(
        ax,
        [(baseline.replicates, "scenario as loaded", "0.45"), (current.replicates, "with these levers", PALETTE[0])],
        f"What if: {WHAT_IF_WORLDS} worlds, seed {BASE.seed}",
    )
    ax.legend(frameon=False, fontsize=8)
    with solara.Card("What-if survival"):
        solara.FigureMatplotlib(fig, format="png")
        day = min(90, current.steps)
        now = survival_at(kaplan_meier(current.replicates), day)["p"]
        then = survival_at(kaplan_meier(baseline.replicates), day)["p"]
        solara.Markdown(
            f"Survival at {day} days: **{100 * now:.1f}%** with these levers, {100 * then:.1f}% as loaded.",
            style={"font-size": "1.05em"},
        )
    plt.close(fig)


@solara.component
def World(m):
    update_counter.get()  # SolaraViz bumps it after each step: redraw the stepping world
    h = m.history
    days = range(len(h["in_truce"]))
    colours = actor_colours([f.name for f in m.factions], [b.name for b in m.backers])
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6, 4.6), sharex=True)
    for f in m.factions:
        top.plot(days, [p[0] for p in h[f"power.{f.name}"]], color=colours[f.name], lw=2, label=f"{f.name} power")
        top.plot(
            days, [c[0] for c in h[f"control.{f.name}"]], color=colours[f.name], ls="--", label=f"{f.name} control"
        )
        bottom.bar(days, [v[0] for v in h[f"violations.{f.name}"]], color=colours[f.name], alpha=0.7, label=f.name)
    top.set(ylabel="share (0-1)", ylim=(0, 1), title=f"One world, day {m.steps}")
    bottom.set(ylabel="violations per day", xlabel="days since the truce began")
    top.legend(frameon=False, fontsize=7, ncol=2)
    bottom.legend(frameon=False, fontsize=7)
    with solara.Card("One world, day by day"):
        solara.FigureMatplotlib(fig, format="png")
        state = "holds" if m.in_truce[0] else f"broken on day {m.survival_days[0]}" if m.survival_days[0] else "broken"
        choices = ", ".join(f"{f.name}: {CHOICES[int(f.choice[0])]}" for f in m.factions)
        support = ", ".join(f"{b.name} support {b.support[0]:.4f}, pressure {b.pressure[0]:.2f}" for b in m.backers)
        solara.Markdown(f"**Day {m.steps}: truce {state}.** Choices today: {choices}.  \n{support}")
    plt.close(fig)


@solara.component
def Page():
    SolaraViz(model, components=[(Levers, 0), (WhatIf, 0), (World, 0)], name=f"truce-sim explorer: {BASE.name}")
