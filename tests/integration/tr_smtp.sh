#!/usr/bin/env bash
# The smtp transport against a real SMTP receiver on loopback: a throwaway
# CA and server certificate made here with openssl (and a second CA that
# must not be trusted), tests/servers/smtp_receiver.py (STARTTLS, SMTPS,
# plain, AUTH), and tests/test_transport_smtp.c ($1) sending through
# curlev.  Then what arrived is read back with Python's own mail parser, an
# independent decoder of the RFC 2047 subject and the base64 body.
bin=${1:?usage: tr_smtp.sh TEST_BINARY}
. "$(dirname "$0")/lib_tr.sh"

# the first python3 on PATH that has aiosmtpd (a private one may come first)
py=
for p in $(type -ap python3); do
	if "$p" -c 'import aiosmtpd' 2>/dev/null; then
		py=$p
		break
	fi
done
[ -n "$py" ] || { echo "python3-aiosmtpd is not installed"; exit 1; }

mkdir mail
"$py" "$here/servers/smtp_receiver.py" server.pem server.key mail > ports.txt 2> receiver.err &
pid=$!
tr_wait ports.txt PLAIN_PORT
port() { awk -v k="$1" '$1 == k {print $2}' ports.txt; }
[ -n "$(port PLAIN_PORT)" ] || { echo "receiver did not start"; cat receiver.err; exit 1; }
LEO_SMTP_PORT=$(port PORT) LEO_SMTPS_PORT=$(port SMTPS_PORT) LEO_PLAIN_PORT=$(port PLAIN_PORT) \
	LEO_SMTP_CA=$tmp/ca.pem LEO_OTHER_CA=$tmp/other.pem LEO_SMTP_DIR=$tmp/mail "$bin"

# The normal message as a mail reader sees it.  The expected values are
# test_transport_smtp.c's live message.
"$py" - mail <<'PY'
import email, email.policy, json, os, sys
d = sys.argv[1]
def load(rcpt):
    with open(os.path.join(d, rcpt + ".eml"), "rb") as f:
        raw = f.read()
    with open(os.path.join(d, rcpt + ".json")) as f:
        meta = json.load(f)
    return raw, email.message_from_bytes(raw, policy=email.policy.default), meta
raw, m, meta = load("ok@example.test")
subject = ("Cảnh báo giá: VNM vượt ngưỡng 80.000 ₫ — "
           "Công ty Cổ phần Sữa Việt Nam, phiên chiều thứ Hai")
body = "Xin chào,\r\nVNM vừa vượt 80.000 ₫.\r\n.\r\n..dòng bắt đầu bằng dấu chấm\r\n"
checks = [
    ("subject", m["Subject"], subject),
    ("from", m["From"], "alerts@leo.test"),
    ("to", m["To"], "ok@example.test"),
    ("message-id", m["Message-ID"], "<r1=3A42@leo-deliver>"),
    ("content-type", m.get_content_type(), "text/plain"),
    ("charset", m.get_content_charset(), "utf-8"),
    ("body", m.get_payload(decode=True).decode("utf-8"), body),
    ("envelope from", meta["mail_from"], "alerts@leo.test"),
    ("envelope to", meta["rcpt_tos"], ["ok@example.test"]),
    ("login", meta["login"], "leo"),
    ("encrypted", meta["encrypted"], True),
]
bad = [(k, got, want) for k, got, want in checks if got != want]
for line in raw.split(b"\r\n"):
    if len(line) > 78:
        bad.append(("line over 78", line, ""))
if b"\n" in raw.replace(b"\r\n", b""):
    bad.append(("bare LF", "", ""))
for rcpt, login, enc in (("smtps@example.test", "leo", True), ("plain@example.test", None, False)):
    _, m2, meta2 = load(rcpt)
    if meta2["login"] != login or meta2["encrypted"] != enc or m2["Subject"] != "plain ASCII subject":
        bad.append((rcpt, meta2, m2["Subject"]))
for k, got, want in bad:
    print("MISMATCH", k, repr(got), "want", repr(want))
if not bad:
    print("the received mail reads back as sent")
sys.exit(1 if bad else 0)
PY
