"""The web console: OpenFax in a browser, served by ``openfaxd`` on the API's listener at
``/console/`` (``docs/design/console.md``)."""
