"""The LibreOffice side of the Office converter: run by the Python that has LibreOffice's UNO
bindings (Debian's python3-uno), never imported by OpenFax.

It starts one headless LibreOffice with a private profile listening on a pipe, connects to
it through UNO, and then converts one document a request: a JSON line on stdin
``{"source": PATH, "target": PATH, "max_pages": N}`` is answered by a JSON line on stdout,
``{"done": true}`` or ``{"error": WHY}``. Macros never run and links are never updated. The
first line it writes is ``{"ready": true, "pid": PID}`` (LibreOffice's) or ``{"error": WHY}``.
"""

import contextlib
import json
import os
import subprocess
import sys
import time
from typing import Any

import uno  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]

CONNECT_SECONDS = 60
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
EXPORT_FILTERS = (
    ("com.sun.star.text.WebDocument", "writer_web_pdf_Export"),
    ("com.sun.star.text.TextDocument", "writer_pdf_Export"),
    ("com.sun.star.sheet.SpreadsheetDocument", "calc_pdf_Export"),
    ("com.sun.star.presentation.PresentationDocument", "impress_pdf_Export"),
    ("com.sun.star.drawing.DrawingDocument", "draw_pdf_Export"),
)


def _props(**values: Any) -> tuple[Any, ...]:
    props = []
    for name, value in values.items():
        prop = PropertyValue()
        prop.Name, prop.Value = name, value
        props.append(prop)
    return tuple(props)


def _say(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _connect(soffice: str, profile: str, pipe: str) -> tuple[subprocess.Popen[bytes], Any]:
    """Start LibreOffice and return (its process, its desktop)."""
    process = subprocess.Popen(
        [
            soffice,
            f"-env:UserInstallation={uno.systemPathToFileUrl(profile)}",
            "--headless",
            "--invisible",
            "--nologo",
            "--norestore",
            "--nodefault",
            "--nolockcheck",
            f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local
    )
    url = f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext"
    deadline = time.monotonic() + CONNECT_SECONDS
    while True:
        try:
            context = resolver.resolve(url)
            break
        except Exception:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"LibreOffice ({soffice}) did not start") from None
            time.sleep(0.05)
    desktop = context.ServiceManager.createInstanceWithContext(
        "com.sun.star.frame.Desktop", context
    )
    return process, desktop


def _convert(desktop: Any, source: str, target: str, max_pages: int) -> dict[str, Any]:
    """Convert ``source`` to the PDF ``target`` (its first ``max_pages`` + 1 pages at most,
    so that a document over the limit is known without exporting all of it)."""
    load: dict[str, Any] = {"Hidden": True, "ReadOnly": True}
    load |= {"MacroExecutionMode": 0, "UpdateDocMode": 0}  # never run macros, update links
    if source.endswith(HTML_SUFFIXES):
        # Laid out on pages as Writer prints, not as Writer/Web's one long web page.
        load["FilterName"] = "HTML (StarWriter)"
    document = desktop.loadComponentFromURL(
        uno.systemPathToFileUrl(source), "_blank", 0, _props(**load)
    )
    if document is None:
        return {"error": "LibreOffice cannot read it"}
    try:
        export = next(
            (name for service, name in EXPORT_FILTERS if document.supportsService(service)), None
        )
        if export is None:
            return {"error": "LibreOffice read it as a kind of document it cannot print"}
        pages = f"1-{max_pages + 1}"
        filter_data = uno.Any("[]com.sun.star.beans.PropertyValue", _props(PageRange=pages))
        document.storeToURL(
            uno.systemPathToFileUrl(target),
            _props(FilterName=export, FilterData=filter_data),
        )
    finally:
        document.close(True)
    return {"done": True}


def main() -> None:
    soffice, profile, pipe = sys.argv[1:4]
    try:
        process, desktop = _connect(soffice, profile, pipe)
    except Exception as error:
        _say({"error": str(error)})
        return
    _say({"ready": True, "pid": process.pid})
    for line in sys.stdin:
        request = json.loads(line)
        try:
            answer = _convert(desktop, request["source"], request["target"], request["max_pages"])
        except Exception as error:
            message = getattr(error, "Message", "") or str(error) or type(error).__name__
            answer = {"error": f"LibreOffice failed: {message.splitlines()[0][:300]}"}
            if process.poll() is not None:
                _say({"error": "LibreOffice ended while converting it"})
                os._exit(1)  # the service starts a new one for the next document
        _say(answer)
    with contextlib.suppress(Exception):
        desktop.terminate()
    os._exit(0)


if __name__ == "__main__":
    main()
