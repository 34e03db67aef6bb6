"""The e-mail-to-fax gateway: an SMTP server inside ``openfaxd`` (aiosmtpd) that faxes a
message sent to ``NUMBER@any-domain`` as the sender's account (``docs/design/email-gateway.md``)."""

from openfax.gateways.email.server import EmailGateway, serving_email_gateway

__all__ = ["EmailGateway", "serving_email_gateway"]
