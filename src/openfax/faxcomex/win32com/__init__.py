"""pywin32's ``win32com`` for a FAXCOMEX script: ``from openfax.faxcomex import win32com`` in
place of ``import win32com.client``, and ``win32com.client.Dispatch(...)`` runs as written."""

from openfax.faxcomex.win32com import client

__all__ = ["client"]
