"""What last worked toward each destination (T.38 or G.711, speed, ECM), the starting choice
of the next call there.

A successful call records how it went. A call that failed once connected steps down one
notch for the next try: T.38 to G.711, else G.711 above 9600 bit/s to 9600, else ECM off. A
call whose policy forbade T.38 (``off``) tells nothing of the far end's T.38: it keeps what
was remembered of it (``t38`` None when nothing was), so turning a rule or trunk from ``off``
to ``request`` later still offers T.38 first.
The provider never touches the store: the service gives it a :class:`DestinationMemory`
kept in the settings table; :class:`InMemoryDestinations` serves tests and a provider
without a service.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from openfax.engine import Modem, SessionOptions
from openfax.providers.common import canonical_number

FALLBACK_BIT_RATE = 9600
"""G.711 steps down to V.29 (9600 bit/s) after a failure above it: V.17 suffers most from
the jitter and loss of audio over IP."""


@dataclass(frozen=True)
class Preference:
    """How to start the next call to a destination."""

    t38: bool | None
    """True: T.38 worked last time; False: G.711 did (or T.38 failed); None: T.38 was never
    tried (the policy forbade it), the policy decides."""
    bit_rate: int = 14400
    ecm: bool = True

    def options(self, options: SessionOptions) -> SessionOptions:
        """``options`` with the modems and ECM this preference allows."""
        modems = options.modems
        if self.bit_rate <= 4800:
            modems &= Modem.V27TER
        elif self.bit_rate <= 9600:
            modems &= Modem.V27TER | Modem.V29
        return replace(options, modems=modems or options.modems, ecm=options.ecm and self.ecm)

    def after_success(self, t38: bool, bit_rate: int, ecm: bool) -> Preference:
        return Preference(t38, bit_rate, ecm)

    def after_failure(self, t38: bool, bit_rate: int) -> Preference:
        """One notch down from a call that connected and then failed."""
        if t38:
            return replace(self, t38=False)
        if bit_rate > FALLBACK_BIT_RATE:
            return replace(self, t38=False, bit_rate=FALLBACK_BIT_RATE)
        return replace(self, t38=False, ecm=False)

    def to_json(self) -> dict[str, object]:
        return {"t38": self.t38, "bit_rate": self.bit_rate, "ecm": self.ecm}

    @classmethod
    def from_json(cls, value: object) -> Preference | None:
        """The preference stored as JSON, or None when it is not one (ignored)."""
        if not isinstance(value, dict):
            return None
        t38, bit_rate, ecm = value.get("t38"), value.get("bit_rate"), value.get("ecm")
        if isinstance(t38, bool | None) and isinstance(bit_rate, int) and isinstance(ecm, bool):
            return cls(t38, bit_rate, ecm)
        return None


destination_key = canonical_number
"""The number without separators: one memory for ``+1 555-0100`` and ``+15550100``."""


class DestinationMemory(Protocol):
    """Where the provider keeps its preferences, by destination number."""

    async def recall(self, number: str) -> Preference | None: ...

    async def remember(self, number: str, preference: Preference) -> None: ...


class InMemoryDestinations:
    """A :class:`DestinationMemory` in a dict, lost at exit."""

    def __init__(self) -> None:
        self.preferences: dict[str, Preference] = {}

    async def recall(self, number: str) -> Preference | None:
        return self.preferences.get(destination_key(number))

    async def remember(self, number: str, preference: Preference) -> None:
        self.preferences[destination_key(number)] = preference
