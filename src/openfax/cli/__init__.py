"""The ``openfax`` command line."""
