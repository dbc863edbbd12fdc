"""Real mail servers for the email connector's tests, on loopback ports of their own.

``dovecot_server`` runs Debian's Dovecot in the foreground (``dovecot -F -c <conf>``) with
a configuration, mail store, state and sockets in a temporary folder: no system Dovecot is
used or touched, and it is stopped after the module. Each test gets a throwaway mailbox
user (``mailbox``). ``smtp_server`` is aiosmtpd on another port, capturing what it is sent
and requiring the channel's SMTP login.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.conftest import mail_servers_required

PASSWORD = "mailbox-password-1"
SMTP_USER, SMTP_PASSWORD = "support-smtp", "smtp-password-2"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


USERS_PER_SERVER = 100


@dataclass
class Dovecot:
    """The running server; its users are all written before it starts (Dovecot re-reads a
    passwd-file only when its mtime's second changes), one handed to each test."""

    port: int
    root: Path
    users: list[str]

    def add_user(self) -> str:
        return self.users.pop()


def _config(root: Path, port: int, users: Path) -> str:
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        uid, gid = nobody.pw_uid, nobody.pw_gid
        internal = "default_internal_user = dovecot\ndefault_login_user = dovenull\n"
    else:
        uid, gid = os.getuid(), os.getgid()
        me = pwd.getpwuid(uid).pw_name
        internal = f"default_internal_user = {me}\ndefault_login_user = {me}\n"
    return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
first_valid_uid = 1
{internal}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {users}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


@pytest.fixture(scope="module")
def dovecot_server() -> Iterator[Dovecot]:
    binary = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")
    if binary is None:
        if mail_servers_required():
            pytest.fail("Dovecot is required here (CI / ENGAGE_REQUIRE_SERVICES=1): apt-get install dovecot-imapd")
        pytest.skip("needs Dovecot (apt-get install dovecot-imapd)")
    root = Path(tempfile.mkdtemp(prefix="engage-dovecot-"))
    root.chmod(0o755)
    for sub in ("run", "state", "mail"):
        (root / sub).mkdir()
    users = root / "users"
    names = [f"support-{uuid.uuid4().hex[:10]}" for _ in range(USERS_PER_SERVER)]
    users.write_text("".join(f"{name}:{{PLAIN}}{PASSWORD}\n" for name in names))
    users.chmod(0o644)
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(root / "mail", nobody.pw_uid, nobody.pw_gid)
    port = free_port()
    conf = root / "dovecot.conf"
    conf.write_text(_config(root, port, users))
    process = subprocess.Popen([binary, "-F", "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                pytest.fail(f"Dovecot did not start on 127.0.0.1:{port}:\n{output}\n{log}")
            time.sleep(0.1)
        yield Dovecot(port=port, root=root, users=names)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Mailbox:
    host: str
    port: int
    username: str
    password: str

    def deliver(self, message: EmailMessage | bytes) -> None:
        """Put a message in the INBOX, as the customer's mail would arrive (IMAP APPEND)."""
        from imapclient import IMAPClient

        raw = message if isinstance(message, bytes) else message.as_bytes()
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        try:
            client.login(self.username, self.password)
            client.append("INBOX", raw)
        finally:
            client.logout()


@pytest.fixture
def mailbox(dovecot_server: Dovecot) -> Mailbox:
    return Mailbox(host="127.0.0.1", port=dovecot_server.port, username=dovecot_server.add_user(), password=PASSWORD)


@dataclass
class Captured:
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[dict[str, Any]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)


class _Handler:
    def __init__(self, captured: Captured) -> None:
        self.captured = captured

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.captured.messages.append(message)
        self.captured.envelopes.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos)})
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[Captured]:
    """aiosmtpd on a loopback port, capturing messages; it requires SMTP_USER's login."""
    port = free_port()
    captured = Captured(port=port)

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == SMTP_USER
            and auth_data.password.decode() == SMTP_PASSWORD
        )
        if ok:
            captured.logins.append(SMTP_USER)
        return AuthResult(success=ok, handled=False)

    controller = Controller(
        _Handler(captured),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticate,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield captured
    finally:
        controller.stop()
