"""OpenFax: a fax server for Linux, with a FAXCOMEX-shaped object model."""

__version__ = "0.1.0"
