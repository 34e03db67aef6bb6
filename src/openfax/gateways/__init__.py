"""Documents arriving by other doors than the API: the SMTP e-mail-to-fax gateway
(:mod:`openfax.gateways.email`). A gateway turns what arrives into the service's own
submission, as the account it maps the sender to; the rules stay in the service."""
