#!/usr/bin/env python3
"""An SMTP receiver for the sender's tests, on loopback (python3-aiosmtpd).

    smtp_receiver.py CERT KEY DIR

Three servers on 127.0.0.1, free ports printed on stdout as
"PORT n" (STARTTLS required, then AUTH required), "SMTPS_PORT n" (implicit
TLS, AUTH required) and "PLAIN_PORT n" (no TLS offered, no AUTH).  The one
login is leo / s3cret (PLAIN or LOGIN).  The recipient's local part says
how to answer at RCPT: tempfail@ 451, busy@ 450, reject@ 550, hang@ never
answers, slam@ drops the connection, huge@ gets a 550 of 2000 lines;
datafail@ is accepted at RCPT and gets 452 at the end of DATA.  Every
accepted message is written to DIR/RCPT.eml exactly as received (less the
dot-stuffing), and DIR/RCPT.json says mail_from, rcpt_tos, login and
whether the session was encrypted.
"""
import asyncio
import json
import os
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

cert, key, outdir = sys.argv[1:4]
USER, PASSWORD = b"leo", b"s3cret"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == USER
          and auth_data.password == PASSWORD)
    # handled=False: aiosmtpd answers a failure with 535 itself
    return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)


class Handler:
    def __init__(self, encrypted):
        self.encrypted = encrypted

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0]
        if local == "tempfail":
            return "451 4.3.0 try again later"
        if local == "busy":
            return "450 4.2.1 mailbox busy"
        if local == "reject":
            return "550 5.1.1 no such user here"
        if local == "huge":
            return "\r\n".join(["550-" + "x" * 70] * 2000 + ["550 5.7.1 and no"])
        if local == "hang":
            await asyncio.sleep(60)
        if local == "slam":
            server.transport.abort()
            return "421 4.4.2 gone"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        rcpt = envelope.rcpt_tos[0]
        if rcpt.split("@", 1)[0] == "datafail":
            return "452 4.3.1 out of storage, later"
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "login": session.auth_data.decode() if session.authenticated else None,
            "encrypted": self.encrypted or server._tls_protocol is not None,
        }
        base = os.path.join(outdir, rcpt)
        for ext, data in ((".json", json.dumps(meta).encode()), (".eml", envelope.original_content)):
            with open(base + ext + ".tmp", "wb") as f:
                f.write(data)
            os.rename(base + ext + ".tmp", base + ext)
        return "250 2.0.0 queued as " + rcpt


async def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    loop = asyncio.get_running_loop()
    common = dict(hostname="leo-test", authenticator=authenticator, auth_required=True)

    starttls = await loop.create_server(
        lambda: SMTP(Handler(False), tls_context=ctx, require_starttls=True, **common),
        "127.0.0.1", 0)
    # implicit TLS: the transport is encrypted before SMTP starts, which
    # aiosmtpd's own TLS check for AUTH does not see
    smtps = await loop.create_server(
        lambda: SMTP(Handler(True), auth_require_tls=False, **common),
        "127.0.0.1", 0, ssl=ctx)
    plain = await loop.create_server(
        lambda: SMTP(Handler(False), hostname="leo-test"), "127.0.0.1", 0)
    for name, srv in (("PORT", starttls), ("SMTPS_PORT", smtps), ("PLAIN_PORT", plain)):
        print(name, srv.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()


warnings.simplefilter("ignore")
asyncio.run(main())
