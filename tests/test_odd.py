"""docs/ODD.md matches the code: its state variables exist on the agents and the model, every
array the agents hold is described, and its constants are exactly those of truce_sim/core/defaults.yaml."""

import re

import numpy as np

from truce_sim.core.agents import Backer, Faction, Mediator
from truce_sim.core.model import TruceModel
from truce_sim.core.scenario import BEHAVIOUR_FIELDS

from .conftest import ROOT

ODD = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")


def table_names(heading: str) -> set[str]:
    """Backticked names in the first column of the table under a ### heading."""
    section = ODD.split(f"### {heading}\n", 1)[1].split("\n#", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M))


def test_state_variables_exist_and_are_all_described():
    model = TruceModel(scenario=None, replicates=2)
    owners = {"Faction": model.factions[0], "Backer": model.backers[0], "Mediator": model.mediator, "World": model}
    for heading, agent in owners.items():
        documented = table_names(heading)
        assert documented, heading
        for name in documented:
            assert hasattr(agent, name), f"ODD names {heading}.{name}, which the code lacks"
        if heading != "World":
            arrays = {k for k, v in vars(agent).items() if isinstance(v, (np.ndarray, dict, list, set))}
            missing = arrays - documented - {"backers", "history"}
            assert not missing, f"{heading} state not in docs/ODD.md: {sorted(missing)}"
    for name in ("in_truce", "truce_age", "survival_days", "cause", "breaker", "window"):
        assert isinstance(getattr(model, name), np.ndarray)
    assert {Faction, Backer, Mediator} == {type(a) for a in model.agents}


def test_constants_are_exactly_the_defaults_file():
    documented = table_names("Behavioural constants")
    assert documented == set(BEHAVIOUR_FIELDS), (
        sorted(documented - set(BEHAVIOUR_FIELDS)),
        sorted(set(BEHAVIOUR_FIELDS) - documented),
    )
    # and the submodel equations mention each constant
    submodels = ODD.split("## 7. Submodels", 1)[1].split("### Behavioural constants", 1)[0]
    for name in BEHAVIOUR_FIELDS:
        assert f"`{name}`" in submodels, f"the submodels of docs/ODD.md never use {name}"
