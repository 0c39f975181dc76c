#!/usr/bin/env python3
"""End-to-end: login codes delivered through a real SMTP server (Debian's python3-aiosmtpd on a
free port), read out of the delivered message; an unreachable SMTP server is a 502 and a log line."""
import email, re, sys, time, unittest

from aiosmtpd.controller import Controller

from harness import Vargd, call, free_port


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 Message accepted"


class Mail(unittest.TestCase):
    def test_code_arrives_by_smtp_and_logs_in(self):
        inbox, port = Inbox(), free_port()
        smtp = Controller(inbox, hostname="127.0.0.1", port=port)
        smtp.start()
        v = Vargd(["--mail", "smtp://127.0.0.1:%d" % port, "--mail-from", "varg <login@varg.test>", "--smtp-tls", "opportunistic"])
        try:
            s, _, r = call("POST", v.url + "/api/auth/cli/send-otp", body={"email": "smtp@example.com"})
            self.assertEqual((s, r), (200, {"success": True}))
            for _ in range(50):
                if inbox.messages:
                    break
                time.sleep(0.1)
            rcpts, raw = inbox.messages[0]
            self.assertEqual(rcpts, ["smtp@example.com"])
            msg = email.message_from_bytes(raw)
            self.assertEqual(msg["To"], "smtp@example.com")
            self.assertIn("login@varg.test", msg["From"])
            body = msg.get_payload(decode=True).decode()
            code = re.search(r"\b(\d{6})\b", body).group(1)
            self.assertIn("expires", body)
            s, _, r = call("POST", v.url + "/api/auth/cli/verify-otp", body={"email": "smtp@example.com", "code": code})
            self.assertEqual(s, 200, r)
            self.assertRegex(r["api_key"], r"^varg_[0-9A-Za-z]{38}$")
            self.assertNotIn(code, v.log_text(), "the code must never be logged")
        finally:
            v.cleanup()
            smtp.stop()

    def test_a_server_without_starttls_gets_no_code_by_default(self):
        inbox, port = Inbox(), free_port()
        smtp = Controller(inbox, hostname="127.0.0.1", port=port)  # offers no STARTTLS: a downgrade
        smtp.start()
        v = Vargd(["--mail", "smtp://127.0.0.1:%d" % port])
        try:
            s, _, r = call("POST", v.url + "/api/auth/cli/send-otp", body={"email": "tls@example.com"})
            self.assertEqual(s, 502, r)
            time.sleep(0.5)
            self.assertEqual(inbox.messages, [], "no code may travel in clear text")
        finally:
            v.cleanup()
            smtp.stop()

    def test_unreachable_smtp_server_is_502_with_a_log_line(self):
        v = Vargd(["--mail", "smtp://127.0.0.1:%d" % free_port(), "--smtp-timeout-ms", "2000"])
        try:
            s, _, r = call("POST", v.url + "/api/auth/cli/send-otp", body={"email": "down@example.com"})
            self.assertEqual(s, 502, r)
            self.assertIsInstance(r["error"], str)
            time.sleep(1.2)  # the log is flushed every second
            self.assertIn("smtp delivery failed", v.log_text())
        finally:
            v.cleanup()


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
