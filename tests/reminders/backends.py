"""A mail backend for tests: refuses any address containing "broken", delivers the rest to mail.outbox."""

import smtplib

from django.core.mail.backends.locmem import EmailBackend as LocmemBackend


class PartlyBrokenSMTPBackend(LocmemBackend):
    def send_messages(self, messages):
        for message in messages:
            bad = [a for a in message.to if "broken" in a]
            if bad:
                raise smtplib.SMTPRecipientsRefused({bad[0]: (550, b"mailbox unavailable")})
        return super().send_messages(messages)


class SMTPDownBackend(LocmemBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPConnectError(421, "service not available")
