"""The README's field reference names every field of the schema, and the quick start is there."""

import re

from truce_sim.core.scenario import BACKER_FIELDS, BEHAVIOUR_FIELDS, FACTION_FIELDS, MEDIATOR_FIELDS, TOP_FIELDS

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_field_is_in_the_readme_reference():
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", README, flags=re.M))
    for fields in (TOP_FIELDS, FACTION_FIELDS, BACKER_FIELDS, MEDIATOR_FIELDS, BEHAVIOUR_FIELDS):
        missing = set(fields) - documented
        assert not missing, f"fields missing from the README reference: {sorted(missing)}"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = 'python3 -m venv .venv && . .venv/bin/activate && pip install -e ".[dev]" && pytest'
    assert command in README and command in ci
