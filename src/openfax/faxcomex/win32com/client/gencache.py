"""pywin32's ``win32com.client.gencache``: ``EnsureDispatch`` (which on Windows also loads
the type library's constants; here they are always there)."""

from openfax.faxcomex import Dispatch

EnsureDispatch = Dispatch

__all__ = ["EnsureDispatch"]
