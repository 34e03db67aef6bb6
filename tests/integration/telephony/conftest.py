"""Fixtures of the telephony tests: fax TIFFs for the engine sessions carried over UDPTL/RTP."""

from tests.engine.conftest import make_tiff

__all__ = ["make_tiff"]
