"""The wire protocol: an HTTP/JSON and WebSocket API over the fax service (see
``docs/design/api.md``), with authentication, served from inside ``openfaxd``."""

from openfax.api.app import create_app
from openfax.api.server import ApiAddresses, serving

__all__ = ["ApiAddresses", "create_app", "serving"]
