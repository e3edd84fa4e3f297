"""The two kinds of failure a command can end in, each with its exit status.

A ``UserError`` is a mistake in what the user gave (a file, a field, an option, an out dir): it
is told in one line and exits 2. A ``MachineError`` is a failure of the machine (a full disk, a
worker killed by the system): told in one line, exit 1.
"""


class UserError(Exception):
    """A user's mistake, told in one line; exit status 2."""

    exit_status = 2


class MachineError(Exception):
    """A failure of the machine, not of the input, told in one line; exit status 1."""

    exit_status = 1
