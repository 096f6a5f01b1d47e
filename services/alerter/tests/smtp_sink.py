"""An aiosmtpd handler for the alerter's e-mail test (tests/email.rs).

    python -m aiosmtpd -n -l 127.0.0.1:PORT -c smtp_sink.Sink FOLDER REFUSED

accepts every message and writes each one to FOLDER as N.json (the
envelope, the headers the test reads, decoded, and the text body) beside
N.eml (the bytes received), and answers RCPT TO:<REFUSED> with a permanent
550, as a relay does for a mailbox that does not exist.
"""

import email
import email.policy
import json
import os
import pathlib


class Sink:
    def __init__(self, folder, refused):
        self.folder = pathlib.Path(folder)
        self.refused = refused.lower()
        self.count = 0

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 2:
            parser.error("smtp_sink.Sink takes FOLDER REFUSED_ADDRESS")
        return cls(*args)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() == self.refused:
            return "550 5.1.1 <%s>: no such mailbox" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.count += 1
        stem = self.folder / str(self.count)
        (stem.with_suffix(".eml")).write_bytes(envelope.content)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": {
                name: str(message[name])
                for name in ("From", "To", "Subject", "Message-ID", "X-Adpulse-Delivery-Id",
                             "Auto-Submitted")
                if message[name] is not None
            },
            "content_type": message.get_content_type(),
            "charset": message.get_content_charset(),
            "body": message.get_content(),
        }
        # Written whole, then renamed: the test never reads half a file.
        tmp = stem.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        os.replace(tmp, stem.with_suffix(".json"))
        return "250 2.0.0 accepted"
