"""The SMTP edge: compose a multipart/alternative message and send it with smtplib.

``security``: "ssl" (implicit TLS, usually port 465), "starttls" (port 587) or "none". TLS always
verifies the server's certificate and host name with ``ssl.create_default_context()`` (plus
``[smtp] cafile``): smtplib's own default context verifies nothing. Every socket operation has
``[smtp] timeout``. Failures are values: ``Delivered`` (remote id = Message-ID) or ``RetryAt``
with a reason a user can act on; a digest is never dropped, so even errors a retry cannot fix
(a refused login) are retried, slowly, until the config is fixed.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path

from monitor.delivery import policy
from monitor.model import Delivered, DeliveryResult, RetryAt
from monitor.secrets import secret
from monitor.settings import SmtpSettings

LIST_ID = "World-model monitor digest <digest.monitor.invalid>"


def compose(*, subject: str, sender: str, to: Sequence[str], text: str, html: str, now: datetime) -> EmailMessage:
    """plain text first, HTML second (clients show the last part they can render); Date and
    Message-ID set, since neither EmailMessage nor smtplib adds them. Marked as machine mail
    (RFC 3834 ``Auto-Submitted``, so out-of-office replies stay away; a ``List-Id`` that filters
    can sort on)."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = format_datetime(now)
    domain = parseaddr(sender)[1].rpartition("@")[2]
    message["Message-ID"] = make_msgid("digest", domain=domain or None)
    message["Auto-Submitted"] = "auto-generated"
    message["List-Id"] = LIST_ID
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def tls_context(cafile: Path | None) -> ssl.SSLContext:
    """System CAs (and ``cafile`` too), certificate and host name verified."""
    context = ssl.create_default_context()
    if cafile is not None:
        context.load_verify_locations(cafile=str(cafile))
    return context


def send(
    message: EmailMessage,
    settings: SmtpSettings,
    cafile: Path | None,
    attempts: int,
    now: datetime,
    environ: Mapping[str, str] | None = None,
) -> DeliveryResult:
    """Send ``message`` through ``[smtp]``; never raises for the server's or network's failures."""
    host, port, timeout = settings.host, settings.port, settings.timeout
    username = secret(settings.username_env, environ)
    password = secret(settings.password_env, environ)
    if settings.username_env and not (username and password):
        names = f"{settings.username_env} and {settings.password_env}"
        return _stuck(f"[smtp] needs the login in the environment variables {names}; set both", now)
    if cafile is not None and settings.security != "none" and not cafile.is_file():
        return _stuck(f"[smtp] cafile {cafile} does not exist", now)
    try:
        context = tls_context(cafile) if settings.security != "none" else None
        if settings.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            if settings.security == "starttls":
                client.starttls(context=context)
            if username and password:
                client.login(username, password)
            client.send_message(message)
    except ssl.SSLCertVerificationError as e:
        return _stuck(
            f"the certificate of {host}:{port} did not verify ({e.verify_message}); "
            "set [smtp] cafile to the CA that signed it, or fix the server's certificate",
            now,
        )
    except smtplib.SMTPAuthenticationError as e:
        return _stuck(f"{host} refused the login ({e.smtp_code}); check the SMTP user name and password", now)
    except smtplib.SMTPNotSupportedError as e:
        return _stuck(f"{host}:{port}: {e}; check [smtp] security and port", now)
    except smtplib.SMTPRecipientsRefused as e:
        refused = ", ".join(f"{who} ({code})" for who, (code, _) in e.recipients.items())
        return _stuck(f"{host} refused the recipients {refused}; check [digest] to", now)
    except smtplib.SMTPSenderRefused as e:
        return _stuck(f"{host} refused the sender {e.sender} ({e.smtp_code}); check [digest] from", now)
    except smtplib.SMTPResponseException as e:
        reason = f"{host} answered {e.smtp_code}: {_text(e.smtp_error)}"
        return _stuck(reason, now) if e.smtp_code >= 500 else _later(reason, attempts, now)
    except (smtplib.SMTPException, OSError) as e:  # timeouts, refused connections, TLS handshakes
        return _later(f"cannot send through {host}:{port}: {type(e).__name__}: {e}", attempts, now)
    return Delivered(remote_id=message["Message-ID"])


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _later(reason: str, attempts: int, now: datetime) -> RetryAt:
    """A transient failure: back off exponentially with jitter."""
    return RetryAt(policy.backoff(attempts, now), reason)


def _stuck(reason: str, now: datetime) -> RetryAt:
    """A failure only a config or server change fixes: retry at the slowest pace."""
    return RetryAt(now + policy.MAX_DELAY, reason)
