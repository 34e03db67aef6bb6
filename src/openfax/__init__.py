"""OpenFax: a fax server for Linux, with a FAXCOMEX-shaped object model."""

__version__ = "0.1.0"
"""The package's version, written only here: pyproject.toml reads it for the package's
metadata (setuptools' dynamic version), so the two cannot disagree."""
