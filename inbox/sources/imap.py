"""The referrals mailbox over IMAP (imapclient), waiting with IDLE where the server has it.

Reads with `BODY.PEEK[]` (`RFC822` would set `\\Seen`) and marks progress with a keyword flag, or by
moving processed mail to another folder. Every public method either works or raises one of
`TRANSIENT_ERRORS` (the watcher closes and reconnects on those); only a key from another source
is a ValueError.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import ssl
import threading
import time
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from imapclient import IMAPClient

from inbox.sources.base import MessageKey, SourceError, SourceMessage
from models.settings import Security

if TYPE_CHECKING:
    from models.settings import Settings

log = logging.getLogger("mdesk.inbox.imap")

FETCH_CHUNK = 50  # UIDs per FETCH: keeps one response to a few MB for ordinary mail
BATCH_BYTES = 64 * 1024 * 1024  # a pending() batch stops growing here (but always holds one message)
IDLE_SLICE = 1.0  # seconds per idle_check, so interrupt() is noticed within about this long
IDLE_MAX = 29 * 60  # RFC 2177: re-issue IDLE at least this often, or the server may log us off


class ImapSource:
    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        password: str,
        security: Security = "ssl",
        folder: str = "INBOX",
        processed_folder: str = "",
        processed_flag: str = "$MdeskProcessed",
        idle_seconds: float = 25 * 60,
        poll_seconds: float = 30.0,
        timeout: float = 30.0,
        use_idle: bool = True,
    ) -> None:
        if security not in ("ssl", "starttls", "none"):
            raise ValueError(f"security must be ssl, starttls or none, not {security!r}")
        self.host, self.port, self.user, self._password = host, port, user, password
        self.security: Security = security
        self.folder = folder
        self.processed_folder = processed_folder
        self.processed_flag = processed_flag
        self.idle_seconds = min(float(idle_seconds), IDLE_MAX)
        self.poll_seconds = poll_seconds
        self.timeout = timeout
        self.use_idle = use_idle  # False: poll even if the server offers IDLE (tests, broken servers)
        # The user is the service's own account, not a family's, but it stays out of `name` anyway.
        self.name = f"imap://{host}:{port}/{folder}"
        self.mailbox_id = f"imap://{quote(user, safe='')}@{host}:{port}/{quote(folder, safe='/')}"
        self._client: IMAPClient | None = None
        self._healthy = False  # False after any failed command: close() then skips LOGOUT
        self._uidvalidity = 0
        self._has_idle = self._has_move = self._has_uidplus = False
        self._processed_folder_ready = False
        self._interrupted = threading.Event()
        if security == "none" and not _is_loopback(host):
            log.warning("IMAP to %s is configured without TLS: the password crosses the network in clear", host)

    @classmethod
    def from_settings(cls, settings: Settings) -> ImapSource:
        return cls(
            host=settings.imap_host,
            port=settings.effective_imap_port,
            user=settings.imap_user,
            password=settings.imap_password,
            security=settings.imap_security,
            folder=settings.imap_folder,
            processed_folder=settings.imap_processed_folder,
            processed_flag=settings.imap_processed_flag,
            idle_seconds=settings.imap_idle_seconds,
            poll_seconds=settings.imap_poll_seconds,
        )

    @property
    def idle_supported(self) -> bool:
        """Whether wait() uses IDLE on the current connection (False: it polls)."""
        return self._has_idle and self.use_idle

    # -- connection -------------------------------------------------------------------------------

    def connect(self) -> None:
        self.close()
        client = self._open()
        self._client = client
        try:
            client.login(self.user, self._password)
            caps = set(client.capabilities())
            self._has_idle = b"IDLE" in caps
            self._has_move = b"MOVE" in caps
            self._has_uidplus = b"UIDPLUS" in caps
            self._processed_folder_ready = False
            self._select()
        except BaseException:
            self.close()
            raise
        self._healthy = True

    def _open(self) -> IMAPClient:
        context = ssl.create_default_context()
        if self.security == "ssl":
            return IMAPClient(self.host, self.port, ssl=True, ssl_context=context, timeout=self.timeout)
        client = IMAPClient(self.host, self.port, ssl=False, timeout=self.timeout)
        if self.security == "starttls":
            try:
                client.starttls(context)
            except BaseException:
                _shutdown(client)
                raise
        return client

    def _select(self) -> None:
        """SELECT the folder, remember its UIDVALIDITY, and check the server keeps our keyword."""
        info = self._require().select_folder(self.folder)
        self._uidvalidity = int(info[b"UIDVALIDITY"])
        if not self.processed_folder:
            permanent = info.get(b"PERMANENTFLAGS", ())
            # Without "\*" (or our keyword) in PERMANENTFLAGS the server need not keep the keyword
            # (RFC 3501 7.1): we would hand out the same message forever. Refuse and say what to do.
            if permanent and b"\\*" not in permanent and self.processed_flag.encode() not in permanent:
                raise SourceError(
                    f"{self.name} does not keep custom keywords; set a processed folder instead of a flag"
                )

    def close(self) -> None:
        client, self._client = self._client, None
        healthy, self._healthy = self._healthy, False
        if client is None:
            return
        if healthy:
            # A clean LOGOUT only on a working connection: on a broken one it could block for
            # the whole socket timeout.
            with contextlib.suppress(Exception):
                client.logout()
                return
        _shutdown(client)

    def _require(self) -> IMAPClient:
        if self._client is None:
            raise SourceError(f"{self.name} is not connected")
        return self._client

    def _failed(self) -> None:
        self._healthy = False

    # -- reading ----------------------------------------------------------------------------------

    def pending(self, limit: int = 200, exclude: Collection[MessageKey] = ()) -> list[SourceMessage]:
        try:
            # Re-SELECT each round: cheap, and it gives the folder's current UIDVALIDITY, so keys
            # never pair a new UID with an old validity if the folder was recreated meanwhile.
            self._select()
            uids = sorted(self._require().search(self._criteria()))
            if exclude:
                uids = [uid for uid in uids if self._key(uid) not in exclude]
            uids = uids[:limit]
            return self._fetch(self._within_budget(uids))
        except BaseException:
            self._failed()
            raise

    def _criteria(self) -> list[str]:
        if self.processed_folder:
            # Processed mail leaves the folder, so everything left is pending, except what carries
            # \Deleted: our COPY fallback flags a message \Deleted once it is safely copied.
            return ["UNDELETED"]
        return ["UNKEYWORD", self.processed_flag]

    def _within_budget(self, uids: list[int]) -> dict[int, int]:
        """The oldest UIDs whose sizes add up to at most BATCH_BYTES (at least one), with each size
        (RFC822.SIZE: known before the message is fetched)."""
        if not uids:
            return {}
        sizes = self._require().fetch(uids, ["RFC822.SIZE"])
        chosen: dict[int, int] = {}
        total = 0
        for uid in uids:
            size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
            if chosen and total + size > BATCH_BYTES:
                break
            chosen[uid] = size
            total += size
        return chosen

    def _fetch(self, sizes: dict[int, int]) -> list[SourceMessage]:
        client = self._require()
        uids = list(sizes)
        out: list[SourceMessage] = []
        for start in range(0, len(uids), FETCH_CHUNK):
            chunk = uids[start : start + FETCH_CHUNK]
            data = client.fetch(chunk, ["BODY.PEEK[]", "INTERNALDATE"])
            for uid in chunk:
                raw = data.get(uid, {}).get(b"BODY[]")
                if raw is None:  # expunged by someone else between SEARCH and FETCH
                    continue
                received = _aware(data[uid].get(b"INTERNALDATE"))
                out.append(SourceMessage(self._key(uid), bytes(raw), received, size=sizes[uid] or None))
        return out

    def _key(self, uid: int) -> MessageKey:
        return MessageKey(self.mailbox_id, self._uidvalidity, str(uid))

    # -- marking ----------------------------------------------------------------------------------

    def mark_processed(self, key: MessageKey) -> None:
        self.mark_processed_many([key])

    def mark_processed_many(self, keys: Sequence[MessageKey]) -> None:
        """Mark committed messages with one command: UID STORE +FLAGS.SILENT (or MOVE) of the set."""
        for key in keys:  # all checked before any is marked
            self._check_key(key)
        uids = sorted({int(key.uid) for key in keys})
        if not uids:
            return
        try:
            if self.processed_folder:
                self._move(uids)
            else:
                # Silent STORE: no FETCH echo. A UID that is gone is not an error (RFC 3501 6.4.8).
                self._require().add_flags(uids, [self.processed_flag], silent=True)
        except BaseException:
            self._failed()
            raise

    def _check_key(self, key: MessageKey) -> None:
        if key.mailbox != self.mailbox_id:
            raise ValueError(f"key belongs to {key.mailbox}, not {self.mailbox_id}")
        if key.uidvalidity != self._uidvalidity:
            # The UID may now name a different message. Leave it: the message comes back under
            # its new key and intake recognises it by Message-ID.
            raise SourceError(f"{self.name}: UIDVALIDITY changed since this message was read")

    def _move(self, uids: list[int]) -> None:
        client = self._require()
        self._ensure_processed_folder()
        if self._has_move:
            client.move(uids, self.processed_folder)
            return
        client.copy(uids, self.processed_folder)
        client.add_flags(uids, [b"\\Deleted"], silent=True)
        if self._has_uidplus:
            client.uid_expunge(uids)
        # Without UIDPLUS a plain EXPUNGE would also remove whatever a coordinator flagged
        # \Deleted; the copy is left flagged instead (pending() skips it) for their client to purge.

    def _ensure_processed_folder(self) -> None:
        if self._processed_folder_ready:
            return
        client = self._require()
        if not client.folder_exists(self.processed_folder):
            log.info("creating the processed folder on %s", self.name)
            client.create_folder(self.processed_folder)
        self._processed_folder_ready = True

    # -- waiting ----------------------------------------------------------------------------------

    def interrupt(self) -> None:
        self._interrupted.set()

    def wait(self, timeout: float) -> None:
        if self._consume_interrupt():
            return
        self._require()
        try:
            if self.idle_supported:
                self._idle_until(time.monotonic() + max(0.0, timeout))
            elif self._interrupted.wait(max(0.0, min(timeout, self.poll_seconds))):
                self._interrupted.clear()
        except BaseException:
            self._failed()
            raise

    def _consume_interrupt(self) -> bool:
        if self._interrupted.is_set():
            self._interrupted.clear()
            return True
        return False

    def _idle_until(self, deadline: float) -> None:
        """IDLE until new mail, the deadline, or interrupt(), re-issuing IDLE every idle_seconds."""
        while time.monotonic() < deadline:
            reissue_at = min(deadline, time.monotonic() + self.idle_seconds)
            if self._one_idle(reissue_at):
                return

    def _one_idle(self, until: float) -> bool:
        """One IDLE command; True when the caller should stop waiting (mail or interrupt)."""
        client = self._require()
        client.idle()
        # On an exception the connection is left in IDLE: it is unusable anyway, and the watcher
        # closes it. DONE is sent only on the normal path.
        done = self._idle_slices(client, until)
        _, responses = client.idle_done()
        return _has_news(responses, self.name) or done

    def _idle_slices(self, client: IMAPClient, until: float) -> bool:
        while time.monotonic() < until:
            if self._consume_interrupt():
                return True
            slice_ = min(IDLE_SLICE, max(0.0, until - time.monotonic()))
            started = time.monotonic()
            responses = client.idle_check(timeout=slice_)
            if _has_news(responses, self.name):
                return True
            # idle_check swallows EOF and returns [] at once, so an early empty answer may mean
            # the server hung up. Ending IDLE tells: DONE on a closed socket raises.
            if not responses and time.monotonic() - started < slice_ / 2:
                return False
        return False


def _aware(value: object) -> datetime | None:
    """INTERNALDATE in UTC (imapclient gives it in local time without a zone, which astimezone assumes)."""
    return value.astimezone(UTC) if isinstance(value, datetime) else None


def _has_news(responses: list[tuple], name: str) -> bool:
    """True for EXISTS/RECENT (new mail); raises on BYE (the server is going away)."""
    for response in responses:
        if len(response) >= 2 and response[0] == b"BYE":
            raise SourceError(f"{name} said BYE: {' '.join(_text(part) for part in response[1:])}")
        if len(response) >= 2 and response[1] in (b"EXISTS", b"RECENT"):
            return True
    return False


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _shutdown(client: IMAPClient) -> None:
    with contextlib.suppress(Exception):  # the socket may already be gone: nothing left to release
        client.shutdown()


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
