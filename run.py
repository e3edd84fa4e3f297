#!/usr/bin/env python
"""truce-sim's command line: `python run.py SCENARIO` or `python run.py {run,check,list} ...`."""
import sys

from sim.cli import main

if __name__ == "__main__":
    sys.exit(main())
