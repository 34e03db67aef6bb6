"""Microsoft's FAXCOMEX samples as pywin32 scripts, and their OpenFax ports.

Each sample module holds ``WINDOWS``: one of Microsoft's published Visual Basic samples (its
URL in the module's docstring) written as a Python script for Windows would be, with
win32com.client's ``Dispatch`` and ``constants``, pythoncom and pywintypes' ``com_error``,
keeping the sample's structure and order of calls line for line: the form's ``Form_Load`` is
``Form_Load()``, each ``MsgBox`` one ``print``, each ``InputBox`` one ``input``, the error
handler ``except com_error``, ``FAXCOMEXLib.ENUM_NAME.fooBAR`` ``constants.fooBAR``,
``CreateObject("wscript.shell").run(file)`` ``os.startfile(file)``.

``port(WINDOWS)`` is the script for OpenFax: each import from a pywin32 module imports the
same names from ``openfax.faxcomex`` and no other line changes. ``run`` runs it as
``__main__`` the way a user would, answering its ``input()`` prompts, and gives back what it
printed. File names in the samples (``c:\\Docs\\Body.txt``) are valid relative names on Linux:
a test creates them in the folder the script runs in."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

PYWIN32_IMPORT = re.compile(r"^from (win32com\.client|pythoncom|pywintypes) import ", re.M)
PYWIN32_NAME = re.compile(r"\b(win32com|pythoncom|pywintypes)\b")
ERROR = "Error number: "
"""How every sample's error handler starts its message (VB: ``Hex(Err.Number)``)."""


def port(windows: str) -> str:
    """The OpenFax script of a pywin32 script: its imports from win32com.client, pythoncom
    and pywintypes import from openfax.faxcomex; a line naming pywin32 elsewhere fails."""
    ported = PYWIN32_IMPORT.sub("from openfax.faxcomex import ", windows)
    changed = [
        (before, after)
        for before, after in zip(windows.splitlines(), ported.splitlines(), strict=True)
        if before != after
    ]
    assert changed, "the script imports nothing from pywin32"
    for before, _ in changed:
        assert PYWIN32_IMPORT.match(before), before
    left = [line for line in ported.splitlines() if PYWIN32_NAME.search(line)]
    assert not left, f"lines name pywin32 outside the imports: {left}"
    return ported


class Console:
    """The user at the script's console: answers its ``input()`` prompts in order, and keeps
    what it ``print``s (one entry per call, as one ``MsgBox`` each)."""

    def __init__(self, answers: Iterable[object] = ()) -> None:
        self.answers = [str(answer) for answer in answers]
        self.prompts: list[str] = []
        self.shown: list[str] = []

    def input(self, prompt: str = "") -> str:
        self.prompts.append(prompt)
        assert self.answers, f"the sample asked {prompt!r} and no answer is left"
        return self.answers.pop(0)

    def print(self, *values: object, sep: str = " ", end: str = "\n") -> None:
        self.shown.append(sep.join(str(value) for value in values))

    @property
    def errors(self) -> list[str]:
        """The messages of the sample's error handler."""
        return [message for message in self.shown if message.startswith(ERROR)]


def run(windows: str, name: str, console: Console, main: bool = True) -> dict[str, Any]:
    """Run the OpenFax port of ``windows`` (as ``__main__`` unless ``main`` is false: then
    only its definitions), its input and output through ``console``; its globals."""
    script: dict[str, Any] = {
        "__name__": "__main__" if main else name,
        "input": console.input,
        "print": console.print,
    }
    exec(compile(port(windows), f"{name}.py", "exec"), script)
    return script
