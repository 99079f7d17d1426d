"""Two local stacks on one host keep their mail apart: each MailDev has its own directory
(MailDev's default, $TMPDIR/maildev, is shared, and each MailDev prunes it at start)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path

from devstack.maildev import MailDev
from devstack.procs import free_port
from tests.support.polling import eventually


def test_each_maildev_keeps_its_mail_in_a_directory_of_its_own(tmp_path: Path) -> None:
    first = MailDev(free_port(), free_port(), log_dir=tmp_path, name="maildev-a").start()
    second = MailDev(free_port(), free_port(), log_dir=tmp_path, name="maildev-b").start()
    try:
        assert first.mail_dir != second.mail_dir
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = "a@example.com", "b@example.com", "only for the first"
        mail.set_content("hello")
        with smtplib.SMTP("127.0.0.1", first.smtp_port, timeout=10) as smtp:
            smtp.send_message(mail)
        eventually(lambda: first.client.emails(), what="mail in the first MailDev")
        assert any(first.mail_dir.iterdir())
        assert not any(second.mail_dir.iterdir()) and second.client.emails() == []
    finally:
        first.stop()
        second.stop()
