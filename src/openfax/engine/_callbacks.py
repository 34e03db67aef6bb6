"""What every object owning a spandsp C object needs: kept callbacks, kept errors, logging.

A cffi callback is freed when its Python object is; spandsp keeps only the raw pointer. So
each owner stores its callbacks in a :class:`Callbacks` that lives exactly as long as the C
object (the pyzmq pattern). No Python exception may cross into C: callback work runs under
``guard`` and the owner raises ``take_error()`` once the C call has returned (the pygit2
pattern). spandsp's log lines go to Python logging under ``openfax.engine.spandsp``, tagged
with the owner's name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from openfax.engine import _spandsp
from openfax.engine._spandsp import ffi, lib

_SPAN_TO_PYTHON_LEVEL = {1: logging.ERROR, 2: logging.INFO, 3: logging.WARNING, 4: logging.INFO}
"""spandsp's ERROR, WARNING, PROTOCOL_ERROR and PROTOCOL_WARNING as Python levels; FLOW and
finer are DEBUG. spandsp's WARNING is routine chatter of a normal call ("ECM carrier not
found"), so it is INFO; a protocol error is what an administrator should see."""

_spandsp_logger = logging.getLogger("openfax.engine.spandsp")
"""spandsp's own messages: a logger named for the library, not for this module, so that its
chatter is turned up or down apart from ours."""


@dataclass
class Callbacks:
    """The cffi callback objects of one C object: they live exactly as long as it does."""

    handles: list[Any] = field(default_factory=list)
    error: BaseException | None = None

    def keep(self, cdecl: str, func: Callable[..., Any], error_value: int | None) -> Any:
        """Make a C callback of type ``cdecl`` calling ``func`` and keep it alive.

        ``error_value`` is what C receives if ``func`` raises (``None`` for void callbacks).
        """
        kwargs = {} if error_value is None else {"error": error_value}
        callback = ffi.callback(cdecl, func, **kwargs)
        self.handles.append(callback)
        return callback

    def guard(self, func: Callable[[], None]) -> None:
        """Run callback work; keep its exception (the first one) instead of letting it reach C."""
        try:
            func()
        except BaseException as exc:
            if self.error is None:
                self.error = exc

    def take_error(self) -> BaseException | None:
        """The exception kept since the last call, to raise once the C call has returned."""
        error, self.error = self.error, None
        return error

    def route_log(self, logging_state: Any, name: str) -> None:
        """Send one of spandsp's logging states to Python logging, FLOW detail when DEBUG."""
        if _spandsp_logger.isEnabledFor(logging.DEBUG):
            level = _spandsp.SPAN_LOG_FLOW
        else:
            level = _spandsp.SPAN_LOG_PROTOCOL_ERROR
        lib.span_log_set_level(logging_state, level | _spandsp.SPAN_LOG_SHOW_PROTOCOL)

        def on_log(span_level: int, text: Any) -> None:
            message = ffi.string(text).decode("latin-1").rstrip()
            python_level = _SPAN_TO_PYTHON_LEVEL.get(span_level & 0xFF, logging.DEBUG)
            _spandsp_logger.log(python_level, "[%s] %s", name, message)

        lib.span_log_set_message_handler(
            logging_state, self.keep("message_handler_func_t", on_log, None)
        )
