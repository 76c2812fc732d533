"""A real IMAP server on loopback for the tests: Dovecot when installed, pymap otherwise.

`dovecot` (session) starts the server once; `imap_account` (per test) gives a fresh user and a
connected IMAPClient to APPEND and inspect with; `maildir` is an empty Maildir under tmp_path.

Dovecot runs from a temp dir (`dovecot -F -c DIR/dovecot.conf`, its log in DIR/server.log; the
tail is attached to every failed test that used it). Its auth and mail processes run as other
users, so DIR is made 0755 and the mail root belongs to `nobody`. Each user has a passwd-file of
its own (see `_write_user`), and stop() signals Dovecot's whole process group, because its master
alone would leave the imap processes (and their clients) running. Run as root here; the non-root
branch (everything as the current user) and the 2.4 config are written but not exercised.

Without /usr/sbin/dovecot the fixture runs pymap's in-memory backend instead and says so in the
report header. pymap has one user (each `user()` call hands it out again, emptied), keeps no custom
keywords (PERMANENTFLAGS has no `\\*`) and forgets everything on restart: `server.keeps_keywords`
and `server.persistent` tell tests which of those they may rely on. MDESK_TEST_IMAP_SERVER=pymap
forces the fallback (to test it on a machine that has Dovecot).
"""

from __future__ import annotations

import contextlib
import grp
import itertools
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from imapclient import IMAPClient

DOVECOT = Path("/usr/sbin/dovecot")
HOST = "127.0.0.1"
START_TIMEOUT = 15.0
FORCED = os.environ.get("MDESK_TEST_IMAP_SERVER", "").strip().lower()  # "", "dovecot" or "pymap"

_running: ImapTestServer | None = None  # for the failure-report hook below


class ImapTestServer:
    """What tests may use, whichever server runs."""

    kind = "?"
    version = "?"
    keeps_keywords = True  # custom keywords such as $MdeskProcessed survive a STORE
    persistent = True  # mail survives restart()

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.host = HOST
        self.port = _free_port()
        self.log_path = workdir / "server.log"
        self._proc: subprocess.Popen[bytes] | None = None

    # -- to override ------------------------------------------------------------------------------

    def command(self) -> list[str]:
        raise NotImplementedError

    def user(self, name: str) -> tuple[str, str]:
        raise NotImplementedError

    # -- life -------------------------------------------------------------------------------------

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            # A session of its own: stop() signals the whole process group (see there).
            self._proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
                start_new_session=True,
            )
        try:
            self._await_greeting()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        # Dovecot 2.3's master exits on SIGTERM but leaves running imap processes behind (their
        # clients would never notice the "restart"). Signalling the group ends them too: each
        # says "* BYE Server shutting down" and closes, as on a real server going down.
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait(timeout=5)
        _signal_group(proc, signal.SIGKILL)  # stragglers (log, stats) must not hold the port

    def restart(self) -> None:
        """Stop and start on the same port (and, where `persistent`, with the same mail)."""
        self.stop()
        self.start()

    def _await_greeting(self) -> None:
        """Wait for "* OK": a bound port is not yet a server that answers."""
        deadline = time.monotonic() + START_TIMEOUT
        last = "no answer"
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited at start-up\n{self.log_tail()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1.0) as sock:
                    greeting = sock.makefile("rb").readline()
                if greeting.startswith(b"* OK"):
                    return
                last = greeting.decode("ascii", "replace").strip()
            except OSError as exc:
                last = str(exc)
            time.sleep(0.02)
        raise RuntimeError(f"{self.kind} gave no greeting on {self.port} ({last})\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class DovecotServer(ImapTestServer):
    kind = "dovecot"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.version = _dovecot_version()
        self.users_dir = workdir / "users"
        self.passwords: dict[str, str] = {}
        self._prepare()

    def _prepare(self) -> None:
        # Dovecot's auth and mail processes run as other users: they must traverse DIR.
        os.chmod(self.dir, 0o755)
        for parent in self.dir.parents:
            if not os.stat(parent).st_mode & 0o001:
                raise RuntimeError(f"{parent} is not traversable by other users; Dovecot cannot run below it")
        uid, gid = _mail_ids()
        for sub in ("run", "state", "mail", "users"):
            (self.dir / sub).mkdir(mode=0o755)
        if os.geteuid() == 0:
            os.chown(self.dir / "mail", uid, gid)
        (self.dir / "dovecot.conf").write_text(self._config())

    def command(self) -> list[str]:
        return [str(DOVECOT), "-F", "-c", str(self.dir / "dovecot.conf")]

    def user(self, name: str) -> tuple[str, str]:
        if not re.fullmatch(r"[A-Za-z0-9_.@-]+", name):
            raise ValueError(f"not a usable user name: {name!r}")
        password = self.passwords.setdefault(name, secrets.token_hex(8))
        self._write_user(name, password)
        return name, password

    def _write_user(self, name: str, password: str) -> None:
        # One passwd-file per user (the passdb path ends in %u): Dovecot looks at a passwd-file at
        # most once a second, so a user appended to a shared file just after another test logged
        # in would be refused for up to a second. A new file is read on the user's first login.
        # Written then renamed, so the auth process never reads half a file.
        path = self.users_dir / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(f"{name}:{{PLAIN}}{password}\n")
        tmp.chmod(0o644)
        tmp.replace(path)

    def _config(self) -> str:
        d = self.dir
        user, group = _mail_names()
        login_user = "dovenull" if os.geteuid() == 0 and _user_exists("dovenull") else user
        common = f"""\
protocols = imap
listen = {HOST}
instance_name = mdesk-test-{self.port}
base_dir = {d}/run
state_dir = {d}/state
log_path = /dev/stderr
ssl = no
auth_mechanisms = plain login
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {login_user}
mail_uid = {user}
mail_gid = {group}
first_valid_uid = 1
first_valid_gid = 1
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""
        if _version_tuple(self.version) >= (2, 4):
            # 2.4 renamed most settings; written from its documentation, not run here (Debian 12
            # ships 2.3): fix it against the log on the first machine that has 2.4.
            return f"""\
dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
{common}auth_allow_cleartext = yes
mail_driver = maildir
mail_path = {d}/mail/%{{user}}
mail_home = {d}/mail/%{{user}}
passdb passwd-file {{
  passwd_file_path = {self.users_dir}/%{{user}}
}}
userdb static {{
  fields {{
    uid = {user}
    gid = {group}
    home = {d}/mail/%{{user}}
  }}
}}
"""
        return f"""\
{common}disable_plaintext_auth = no
mail_location = maildir:{d}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.users_dir}/%u
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={d}/mail/%u
}}
"""


class PymapServer(ImapTestServer):
    kind = "pymap"
    keeps_keywords = False
    persistent = False

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.version = _pymap_version()
        self._password = secrets.token_hex(8)

    def command(self) -> list[str]:
        exe = Path(sys.executable).with_name("pymap")
        return [
            str(exe) if exe.exists() else "pymap",
            "--host", HOST, "--port", str(self.port),
            "dict", "--demo-user", "mdesk", "--demo-password", self._password,
        ]  # fmt: skip

    def user(self, name: str) -> tuple[str, str]:
        # The in-memory backend has just the one user: give it out empty instead of a new one.
        _empty_mailbox(self.host, self.port, "mdesk", self._password)
        return "mdesk", self._password


def _empty_mailbox(host: str, port: int, user: str, password: str) -> None:
    client = IMAPClient(host, port, ssl=False, timeout=10)
    try:
        client.login(user, password)
        for _flags, _delim, name in client.list_folders():
            if name.upper() != "INBOX":
                client.delete_folder(name)
        client.select_folder("INBOX")
        uids = client.search("ALL")
        if uids:
            client.delete_messages(uids)
            client.expunge()
    finally:
        with contextlib.suppress(Exception):
            client.logout()


# -- helpers ----------------------------------------------------------------------------------


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)  # the group id is the leader's pid (start_new_session)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _mail_ids() -> tuple[int, int]:
    if os.geteuid() != 0:
        return os.geteuid(), os.getegid()
    nobody = pwd.getpwnam("nobody")
    return nobody.pw_uid, nobody.pw_gid


def _mail_names() -> tuple[str, str]:
    """nobody and its own group (nogroup on Debian, nobody elsewhere); ourselves when not root."""
    uid, gid = _mail_ids()
    return pwd.getpwuid(uid).pw_name, grp.getgrgid(gid).gr_name


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _dovecot_version() -> str:
    out = subprocess.run([str(DOVECOT), "--version"], capture_output=True, text=True, timeout=10, check=True)
    return out.stdout.split()[0] if out.stdout.strip() else "?"


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:2])


def _pymap_version() -> str:
    try:
        from pymap.__about__ import __version__
    except ImportError:
        return "not installed"
    return __version__


def _server_kinds() -> list[type[ImapTestServer]]:
    if FORCED == "pymap":
        return [PymapServer]
    if FORCED == "dovecot":
        return [DovecotServer]
    return [DovecotServer, PymapServer] if DOVECOT.exists() else [PymapServer]


def _start_any() -> tuple[ImapTestServer | None, list[str]]:
    """The first server kind that starts (retrying once on a port race); the reasons for the rest."""
    reasons = []
    for kind in _server_kinds():
        for _attempt in range(2):
            workdir = Path(tempfile.mkdtemp(prefix=f"mdesk-{kind.kind}-"))
            try:
                server = kind(workdir)
                server.start()
                return server, reasons
            except Exception as exc:
                reasons.append(f"{kind.kind}: {exc}")
                shutil.rmtree(workdir, ignore_errors=True)
    return None, reasons


# -- fixtures ---------------------------------------------------------------------------------


def pytest_report_header(config: pytest.Config) -> str:
    kind = _server_kinds()[0]
    if kind is DovecotServer:
        return f"imap server: dovecot ({DOVECOT})"
    return "imap server: pymap fallback (in-memory, one user, no custom keywords)"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.failed and _running is not None and "dovecot" in getattr(item, "fixturenames", ()):
        report.sections.append((f"{_running.kind} log (tail)", _running.log_tail()))
    return report


@pytest.fixture(scope="session")
def dovecot() -> Iterator[ImapTestServer]:
    """The session's IMAP server (Dovecot, or pymap where Dovecot is not installed)."""
    global _running
    server, reasons = _start_any()
    if server is None:
        pytest.skip("no IMAP server could start: " + "; ".join(reasons))
    for reason in reasons:  # Dovecot was there but failed: the report should show why
        print(f"imap fixture: fell back to {server.kind} because {reason}", file=sys.stderr)
    _running = server
    try:
        yield server
    finally:
        _running = None
        server.cleanup()


class ImapAccount:
    """A fresh user on the test server, with a connected client to arrange and inspect mail."""

    def __init__(self, server: ImapTestServer, user: str, password: str) -> None:
        self.server = server
        self.host, self.port = server.host, server.port
        self.user, self.password = user, password
        self.client = self._login()

    def _login(self) -> IMAPClient:
        client = IMAPClient(self.host, self.port, ssl=False, timeout=10)
        client.login(self.user, self.password)
        return client

    def reconnect(self) -> None:
        """A new connection (after server.restart(), which kills the old one)."""
        self.close()
        self.client = self._login()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.logout()

    def append(self, raw: bytes, folder: str = "INBOX", flags: Sequence[str | bytes] = ()) -> int:
        """APPEND, returning the new message's UID (from the server's APPENDUID)."""
        response = self.client.append(folder, raw, flags=tuple(flags))
        match = re.search(rb"APPENDUID \d+ (\d+)", response)
        if match is None:
            raise AssertionError(f"no APPENDUID in {response!r}")
        return int(match.group(1))

    def uids(self, folder: str = "INBOX", criteria: str | list[str] = "ALL") -> list[int]:
        self.client.select_folder(folder, readonly=True)
        return sorted(self.client.search(criteria))

    def flags(self, uid: int, folder: str = "INBOX") -> set[bytes]:
        self.client.select_folder(folder, readonly=True)
        return set(self.client.get_flags([uid]).get(uid, ()))

    def uidvalidity(self, folder: str = "INBOX") -> int:
        return int(self.client.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])

    def folders(self) -> set[str]:
        return {name for _flags, _delim, name in self.client.list_folders()}


_account_numbers = itertools.count(1)


@pytest.fixture
def imap_account(dovecot: ImapTestServer, request: pytest.FixtureRequest) -> Iterator[ImapAccount]:
    """A user of its own for this test (unique name), logged in."""
    label = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)[:40]
    user, password = dovecot.user(f"t{next(_account_numbers)}-{label}")
    account = ImapAccount(dovecot, user, password)
    try:
        yield account
    finally:
        account.close()


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    """An empty Maildir (cur/, new/, tmp/) under tmp_path."""
    root = tmp_path / "maildir"
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    return root
