#!/usr/bin/env python
"""truce-sim's command line: `python run.py SCENARIO` or `python run.py COMMAND ...` (see --help)."""

from truce_sim.cli import entry

if __name__ == "__main__":
    entry()
