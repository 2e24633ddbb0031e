"""The TLS context with which the SMTP and LMTP doors offer STARTTLS (RFC 3207)."""

from __future__ import annotations

import ssl

from helpdesk.errors import ConfigError
from helpdesk.settings import Settings


def server_tls_context(settings: Settings) -> ssl.SSLContext | None:
    """Return the STARTTLS context of settings.tls_cert and tls_key, or None when unset.

    Raises:
        ConfigError: the certificate or its key cannot be loaded.
    """
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    # Server side: client certificates are neither asked for nor checked.
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        # An encrypted key gets an empty password and fails here, rather
        # than OpenSSL prompting on a terminal that a service does not have.
        context.load_cert_chain(settings.tls_cert, settings.tls_key, password=b"")
    except ssl.SSLError as exc:
        raise ConfigError(
            f"HELPDESK_TLS_CERT: {settings.tls_cert} and HELPDESK_TLS_KEY {settings.tls_key}"
            f" are not a PEM certificate chain and its unencrypted key ({exc.reason or exc})"
        ) from exc
    except OSError as exc:
        raise ConfigError(
            f"HELPDESK_TLS_CERT: cannot read {settings.tls_cert} or HELPDESK_TLS_KEY "
            f"{settings.tls_key}: {exc.strerror or exc}"
        ) from exc
    return context
