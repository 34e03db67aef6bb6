"""``openfax virtual-modems``: two virtual Class 1 modems on a private line, until interrupted.

A modem for everybody to test with: efax, HylaFAX or an OpenFax modem line on one port can
fax a program on the other without hardware or a phone line (see
:class:`~openfax.virtual_modem.ModemPair`).
"""

from __future__ import annotations

import asyncio
import json
import signal

import click

from openfax.errors import ModemError


def run_virtual_modems(
    path_a: str, path_b: str, *, speed: float, numbers: tuple[str, str], as_json: bool
) -> None:
    """Print the modems, serve the pair until SIGINT or SIGTERM, then remove the symlinks."""
    from openfax.virtual_modem import ModemPair

    async def serve() -> None:
        try:
            pair = ModemPair(path_a, path_b, speed=speed, numbers=numbers)
        except ModemError as exc:
            raise click.ClickException(str(exc)) from exc
        task = asyncio.create_task(pair.run())
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, task.cancel)
        modems = [
            {"name": name, "path": str(path), "number": number}
            for name, path, number in zip("AB", pair.paths, numbers, strict=True)
        ]
        if as_json:
            click.echo(json.dumps({"modems": modems, "speed": speed}))
        else:
            for modem in modems:
                click.echo(f"modem {modem['name']}: {modem['path']} (number {modem['number']})")
        click.echo("Press Ctrl-C to stop.", err=True)
        try:
            await task
        except asyncio.CancelledError:
            pass
        finally:
            pair.close()

    asyncio.run(serve())
