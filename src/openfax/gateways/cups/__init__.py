"""Print to fax: a CUPS backend (``openfax`` URIs) that faxes what is printed to a fax queue,
as the printing user's own fax account, and ``openfax cups install`` that sets the queue up
(``docs/design/print-to-fax.md``)."""

SCHEME = "openfax"
"""The device URIs' scheme, and so the backend's file name in CUPS' backend folder."""
