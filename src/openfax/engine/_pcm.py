"""What the engine's audio ends share: 16-bit line audio out of a spandsp ``*_tx``.

An :class:`AudioSession` and a :class:`T31Modem` each ask their C object for the next
samples in ``tx_into`` (the copy-free path of a back-to-back link); ``tx`` returns them as
bytes, and whatever spandsp did not fill is silence, so the line always gets what it asked.
"""

from __future__ import annotations

from typing import Any

from openfax.engine._spandsp import ffi


class PcmSource:
    """A line end that sends audio: ``tx`` over the ``tx_into`` its subclass gives."""

    _tx_buffer: Any = ffi.new("int16_t[]", 0)
    """Reused by ``tx``; each end gets its own the first time a call asks for samples."""

    def tx_into(self, buffer: Any, n_samples: int) -> int:
        """Like ``tx`` into a caller's int16 buffer (a cffi array or writable buffer); returns
        the number of samples written, always ``n_samples``."""
        raise NotImplementedError

    def tx(self, n_samples: int) -> bytes:
        """The next ``n_samples`` of audio to put on the line (silence once there is none)."""
        if len(self._tx_buffer) < n_samples:
            self._tx_buffer = ffi.new("int16_t[]", n_samples)
        written = self.tx_into(self._tx_buffer, n_samples)
        return bytes(ffi.buffer(self._tx_buffer, written * 2))


def int16_target(buffer: Any) -> Any:
    """``buffer`` as the ``int16_t[]`` a spandsp ``*_tx`` writes into, without a copy."""
    return buffer if isinstance(buffer, ffi.CData) else ffi.from_buffer("int16_t[]", buffer)


def pad_with_silence(target: Any, produced: int, n_samples: int) -> None:
    """Zero the samples of ``target`` after the ``produced`` ones, up to ``n_samples``."""
    if produced < n_samples:
        missing = 2 * (n_samples - produced)
        ffi.memmove(target + produced, bytes(missing), missing)
