"""The model: the scenario schema and loader, random streams, rules, agents and TruceModel.

It imports nothing else of the package: everything else is built on it.
"""
