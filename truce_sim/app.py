"""The what-if explorer: one world of a scenario stepped by Mesa's model controller, the levers of
the scenario grouped by actor, and a what-if panel that reruns an ensemble when a lever moves.

Start it with ``python run.py explore scenarios/libya_2020_january.yaml`` (which runs ``solara
run`` on this file). The page is laid out here rather than by SolaraViz, whose generic sidebar
would show an empty parameters card and a lone tab; Mesa's ``ModelController`` still steps,
plays and resets the world. The what-if reruns 500 worlds with the scenario's seed, so that the
difference from the scenario as loaded is the levers', not chance's; it reruns when a slider is
released (or moved by a key), not at each pixel of a drag.
"""

from __future__ import annotations

import functools
import io
import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

# solara warns that a session cookie on plain http to 127.0.0.1 cannot be samesite=none; the
# explorer is served only to this machine, where that cookie is not needed
warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")
# solara checks the rules of hooks in every component it imports, Mesa's SolaraViz among them,
# whose early return it flags; that page is not used here, and the explorer's own are checked
warnings.filterwarnings("ignore", message=r".*mesa[/\\]visualization[/\\]solara_viz\.py")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import reacton.ipyvuetify as rv  # noqa: E402
import solara  # noqa: E402
from mesa.visualization.solara_viz import ModelController  # noqa: E402
from mesa.visualization.utils import update_counter  # noqa: E402

from truce_sim.core.model import DEFAULT_SCENARIO, TruceModel  # noqa: E402
from truce_sim.core.rules import CHOICES  # noqa: E402
from truce_sim.core.scenario import load_scenario  # noqa: E402
from truce_sim.levers import (  # noqa: E402
    lever_command,
    lever_groups,
    lever_scenario,
    lever_scenario_file,
    levers_of,
    scenario_values,
)
from truce_sim.outputs.figures import PALETTE, actor_colours  # noqa: E402
from truce_sim.runs.ensemble import run_ensemble  # noqa: E402

WHAT_IF_WORLDS = 500
SCENARIO_PATH = os.environ.get("TRUCE_SIM_SCENARIO", str(DEFAULT_SCENARIO))
SCENARIO_ARG = os.environ.get("TRUCE_SIM_SCENARIO_ARG", SCENARIO_PATH)  # as the user typed it
BASE = load_scenario(SCENARIO_PATH)
LEVERS = levers_of(BASE)
AS_LOADED = scenario_values(LEVERS)
levers = solara.reactive(dict(AS_LOADED))
# bumped by Reset, which moves the sliders back to the scenario's values; otherwise the page is
# the one source of a slider's position, so a value committed late never pulls a moving slider back
levers_generation = solara.reactive(0)


class ExplorerModel(TruceModel):
    """One world of the loaded scenario with the levers' current values; Reset (which builds it
    with ``restore_levers``) also puts the levers back where the scenario has them."""

    def __init__(self, restore_levers: bool = False):
        if restore_levers:
            levers.value = dict(AS_LOADED)
            levers_generation.value += 1
        super().__init__(lever_scenario(BASE, levers.value, LEVERS), replicates=1)

    def step(self) -> None:
        # Play steps the world in a thread that Python waits for at exit: once the server has
        # stopped (the main thread is done), the world stops too, so one Ctrl-C ends the explorer
        if not threading.main_thread().is_alive() or self.steps >= BASE.horizon_days:
            self.running = False
            return
        super().step()


class NoWorld:
    """A session's world before its page makes it, and after its session closes: a Play loop
    still running then stops at its next step instead of failing."""

    running = False

    def step(self) -> None:
        pass


# each browser session's world: solara.reactive keeps one value per session, but its default
# would be one world shared by every session, so each session makes its own (Page)
model: solara.Reactive[ExplorerModel | NoWorld] = solara.reactive(NoWorld())
play_interval = solara.reactive(150)
render_interval = solara.reactive(1)
use_threads = solara.reactive(False)
reset_parameters = solara.reactive({"restore_levers": True})


def set_lever(key: str, value: float) -> None:
    if levers.value.get(key) == value:
        return
    levers.value = {**levers.value, key: value}
    model.value = ExplorerModel()  # the stepping world restarts with the new levers


@dataclass(frozen=True)
class WhatIfCurve:
    """Kaplan-Meier survival of a what-if's worlds, as step arrays, and its survival at 90 days."""

    days: np.ndarray
    survival: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    day: int  # the day survival is read at: 90, or the horizon when it is shorter
    survival_at_day: float
    horizon: int
    changes: tuple[str, ...]  # the what-if's changes, as run would name them


@functools.lru_cache(maxsize=128)  # shared by every browser tab: going back to a value is instant
def what_if_curve(values: tuple[tuple[str, float], ...]) -> WhatIfCurve:
    from truce_sim.runs.survival import kaplan_meier  # lifelines: loaded with the first what-if

    scenario = lever_scenario(BASE, dict(values), LEVERS)
    ensemble = run_ensemble(scenario, replicates=WHAT_IF_WORLDS, seed=BASE.seed)
    kmf = kaplan_meier(ensemble.replicates)
    band = kmf.confidence_interval_survival_function_
    day = min(90, ensemble.steps)
    return WhatIfCurve(
        kmf.survival_function_.index.to_numpy(),
        kmf.survival_function_.iloc[:, 0].to_numpy(),
        band.iloc[:, 0].to_numpy(),
        band.iloc[:, 1].to_numpy(),
        day,
        float(kmf.survival_function_at_times(day).iloc[0]),
        ensemble.steps,
        tuple(scenario.what_if_changes),
    )


def what_if_figure(baseline: WhatIfCurve, current: WhatIfCurve) -> bytes:
    fig, ax = plt.subplots(figsize=(4.4, 3.0), dpi=90)
    for curve, label, colour in ((baseline, "scenario as loaded", "0.45"), (current, "with these levers", PALETTE[0])):
        ax.step(curve.days, curve.survival, where="post", color=colour, label=label)
        ax.fill_between(curve.days, curve.lo, curve.hi, step="post", color=colour, alpha=0.2, lw=0)
    ax.axhline(0.5, color="0.5", lw=0.8, ls=":")
    ax.set(
        ylim=(0, 1.02),
        xlim=(0, current.horizon),
        xlabel="days since the truce began",
        ylabel="share of worlds whose truce holds",
        title=f"{WHAT_IF_WORLDS} worlds, seed {BASE.seed}",
    )
    ax.title.set_fontsize(9)
    ax.xaxis.label.set_fontsize(8)
    ax.yaxis.label.set_fontsize(8)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=8)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


@solara.component
def LeverSlider(lever):
    """One lever: its label and value on its own line, a tooltip saying what it is, and a slider
    that commits on release (or on each key press), not while it is dragged."""
    shown, set_shown = solara.use_state(levers.value[lever.key])
    generation = levers_generation.value
    solara.use_effect(lambda: set_shown(levers.value[lever.key]), [generation])  # only a Reset moves it
    value_text = f"{int(shown)}" if lever.integer else f"{shown:.2f}"
    with solara.Column(gap="0px", classes=["lever"]):
        with solara.Tooltip(lever.help):
            solara.Text(f"{lever.label}: {value_text}", classes=["lever-label"])
        slider = rv.Slider(
            v_model=shown,
            on_v_model=lambda v: set_shown(int(v) if lever.integer else float(v)),
            min=lever.lo,
            max=lever.hi,
            step=lever.step,
            thumb_label=True,
            hide_details=True,
            dense=True,
            attributes={"aria-label": f"{lever.group} {lever.label}"},
        )
        rv.use_event(
            slider, "change", lambda *args: set_lever(lever.key, int(args[2]) if lever.integer else float(args[2]))
        )


@solara.component
def Levers():
    with solara.Column(classes=["lever-groups"]), solara.ColumnsResponsive(default=12, small=6, medium=4, large=3):
        for group, members in lever_groups(LEVERS).items():
            with solara.Card(group, margin=0, classes=["lever-group"]):
                for lever in members:
                    LeverSlider(lever)


@solara.component
def WhatIf():
    baseline = what_if_curve(tuple(AS_LOADED.items()))
    current = what_if_curve(tuple(levers.value.items()))
    png = solara.use_memo(lambda: what_if_figure(baseline, current), [baseline, current])
    with solara.Card("What-if survival"):
        solara.Image(png, width="100%")
        solara.Markdown(
            f"Survival at {current.day} days: **{100 * current.survival_at_day:.1f}%** with these levers, "
            f"{100 * baseline.survival_at_day:.1f}% as loaded.",
            style={"font-size": "1.05em"},
        )
        changes = "; ".join(current.changes) or "none (the scenario as loaded)"
        solara.Text(f"Changes: {changes}", classes=["what-if-changes"], style={"font-size": "0.8em"})


@solara.component
def ThisWhatIf():
    """The levers' what-if as a ``run`` command and as a scenario file."""
    command = lever_command(SCENARIO_ARG, LEVERS, levers.value, WHAT_IF_WORLDS)
    with solara.Card("This what-if"):
        CopyText(text=command, label="Copy as command")
        solara.FileDownload(
            lambda: lever_scenario_file(BASE, LEVERS, levers.value).encode(),
            filename=f"{BASE.name}_what_if.yaml",
            label="Save as scenario",
            mime_type="application/x-yaml",
        )


@solara.component_vue(str(Path(__file__).with_name("copy_text.vue")))
def CopyText(text: str, label: str):
    pass


@solara.component
def World(m):
    update_counter.get()  # the model controller bumps it after each step: redraw the world
    names = [f.name for f in m.factions]
    keys = [f"{kind}.{name}" for name in names for kind in ("power", "control", "violations")]
    series = {key: [v[0] for v in m.history[key]] for key in keys}
    days = range(min(len(v) for v in series.values()))  # while playing, a step may be half recorded
    colours = actor_colours(names, [b.name for b in m.backers])
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(5.6, 4.2), dpi=90, sharex=True)
    for f in names:
        top.plot(days, series[f"power.{f}"][: len(days)], color=colours[f], lw=2, label=f"{f} power")
        top.plot(days, series[f"control.{f}"][: len(days)], color=colours[f], ls="--", label=f"{f} control")
        bottom.bar(days, series[f"violations.{f}"][: len(days)], color=colours[f], alpha=0.7, label=f)
    top.set(ylabel="share (0-1)", ylim=(0, 1), title=f"day {m.steps}")
    bottom.set(ylabel="violations per day", xlabel="days since the truce began", ylim=(0, None))
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
    solara.use_effect(lambda: model.set(ExplorerModel()) if isinstance(model.value, NoWorld) else None, [])
    if isinstance(model.value, NoWorld):
        solara.Text("Making this session's world ...")
        return
    solara.Style(".lever-label { font-size: 0.9em; } .lever { margin-bottom: 4px; }")
    with solara.AppBar():
        solara.AppBarTitle(f"truce-sim explorer: {BASE.name}")
    with solara.Sidebar(), solara.Column():
        WhatIf()  # beside every lever, so a move shows its effect without scrolling
        with solara.Card("One world"):
            ModelController(
                model,
                model_parameters=reset_parameters,
                play_interval=play_interval,
                render_interval=render_interval,
                use_threads=use_threads,
            )
            solara.Text(
                "Step or play one world day by day. Reset restarts it and puts every lever back "
                "where the scenario has it.",
                style={"font-size": "0.85em"},
            )
        ThisWhatIf()
    with solara.Column():
        Levers()
        World(model.value)
