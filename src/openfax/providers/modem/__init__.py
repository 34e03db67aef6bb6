"""The ``modem`` device provider: Class 1 fax modems on serial, USB and pseudo-terminal
ports.

:mod:`.at` is the AT dialogue (sans-I/O), :mod:`.serial` the port (asyncio on the raw file
descriptor), :mod:`.quirks` what differs between modems, :mod:`.config` the
``[[modem.lines]]`` tables and :mod:`.provider` the lines as devices.
"""
