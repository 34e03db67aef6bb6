"""The ``openfax`` script's entry point.

A plain ``openfax send`` (without ``--wait``) and ``openfax jobs`` run on the standard library
and the client alone (``openfax.cli.quick``): a one-job send should start as fast as
HylaFAX's ``sendfax``, and importing Click costs a good part of that. Every other command
line, and any that the quick path does not recognise as one of those, goes to the Click
application (``openfax.cli.commands``), which also gives every usage error and ``--help``.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Entry point of the ``openfax`` script."""
    from openfax.cli.quick import run_quick

    status = run_quick(sys.argv[1:])
    if status is not None:
        raise SystemExit(status)
    from openfax.cli.commands import cli

    cli(prog_name="openfax")
