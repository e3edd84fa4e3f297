"""``python -m truce_sim``: the command line."""

from truce_sim.cli import entry

if __name__ == "__main__":
    entry()
