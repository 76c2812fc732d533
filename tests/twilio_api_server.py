"""A local HTTP server that answers as Twilio's REST API (2010-04-01) does, for the parts we use:
sending a message, listing messages (To, From and the DateSent filters, which like Twilio's go by
whole GMT days, newest first, in Twilio's paging format), fetching a recording's media, deleting a
recording. Tests script its answers (201, 400 with Twilio's error codes, 429, 500) and read back
every request it received."""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

ERRORS = {
    21211: "The 'To' number {to} is not a valid phone number.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
}


@dataclass
class Seen:
    method: str
    path: str
    host: str
    form: dict[str, str]
    user: str


@dataclass
class FakeTwilio:
    base: str = ""
    requests: list[Seen] = field(default_factory=list)
    message_answers: list[tuple[int, int | None]] = field(default_factory=list)  # (status, Twilio code)
    recordings: dict[str, bytes] = field(default_factory=dict)
    recording_failures: list[int] = field(default_factory=list)  # statuses for the next media GETs
    deleted: list[str] = field(default_factory=list)
    sent: list[dict[str, str]] = field(default_factory=list)
    list_answers: list[int] = field(default_factory=list)  # statuses for the next message-list GETs
    # Every message the account holds, as Twilio's API shows it, oldest first.
    messages: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Called with each message taken, before the answer: True drops the answer (the sender died first).
    on_taken: Callable[[dict[str, str]], bool] | None = None
    send_at_once: bool = True  # False: messages taken stay queued (no date_sent), as in a burst's backlog

    def answer_messages(self, *answers: tuple[int, int | None]) -> None:
        self.message_answers.extend(answers)

    def answer_lists(self, *statuses: int) -> None:
        self.list_answers.extend(statuses)

    def add_message(
        self, *, to: str, from_: str, body: str, at: datetime, account: str = "AC" + "0" * 32, sent: bool = True
    ) -> str:
        """A message Twilio took at `at` (and sent then, or still holds queued), as if posted then; its sid."""
        sid = "SM" + secrets.token_hex(16)
        with self.lock:
            self.messages.append(_message(account, sid, {"To": to, "From": from_, "Body": body}, at, sent=sent))
        return sid

    def posts(self) -> list[Seen]:
        """The messages posted to it (sends), in order."""
        return [seen for seen in self.requests if seen.method == "POST" and seen.path.endswith("/Messages.json")]


def _handler(state: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _seen(self) -> Seen:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            auth = self.headers.get("Authorization", "")
            user = base64.b64decode(auth[6:]).decode().split(":")[0] if auth.startswith("Basic ") else ""
            seen = Seen(self.command, self.path, self.headers.get("Host", ""), dict(parse_qsl(body)), user)
            state.requests.append(seen)
            return seen

        def _json(self, status: int, body: dict | None) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            seen = self._seen()
            match = re.fullmatch(r"/2010-04-01/Accounts/(AC\w+)/Messages\.json", seen.path)
            if not match:
                return self._json(
                    404, {"code": 20404, "message": "The requested resource was not found", "status": 404}
                )
            status, code = state.message_answers.pop(0) if state.message_answers else (201, None)
            if status == 201:
                sid = "SM" + secrets.token_hex(16)
                taken = _message(match.group(1), sid, seen.form, datetime.now(UTC), sent=state.send_at_once)
                with state.lock:
                    state.sent.append(seen.form | {"sid": sid})
                    state.messages.append(taken)
                if state.on_taken is not None and state.on_taken(seen.form):
                    return None
                return self._json(201, _public(taken))
            message = ERRORS.get(code or 0, "Too Many Requests" if status == 429 else "Internal Server Error")
            error = {"code": code, "message": message.format(to=seen.form.get("To")), "status": status}
            error["more_info"] = f"https://www.twilio.com/docs/errors/{code}"
            return self._json(status, error)

        def do_GET(self) -> None:
            seen = self._seen()
            listing = re.fullmatch(r"/2010-04-01/Accounts/(AC\w+)/Messages\.json", urlsplit(seen.path).path)
            if listing:
                return self._list_messages(listing.group(1), seen.path)
            match = re.fullmatch(r"/2010-04-01/Accounts/AC\w+/Recordings/(RE\w+?)(\.mp3)?", seen.path)
            if not match or match.group(1) not in state.recordings:
                return self._json(
                    404, {"code": 20404, "message": "The requested resource was not found", "status": 404}
                )
            if state.recording_failures:
                return self._json(state.recording_failures.pop(0), {"code": 20500, "message": "error", "status": 500})
            data = state.recordings[match.group(1)]
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _list_messages(self, account: str, path: str) -> None:
            if state.list_answers:
                status = state.list_answers.pop(0)
                return self._json(status, {"code": 20500, "message": "Internal Server Error", "status": status})
            query = dict(parse_qsl(urlsplit(path).query, keep_blank_values=True))
            try:
                size = min(int(query.get("PageSize", "50")), 1000)
                page = int(query.get("Page", "0"))
                chosen = _filtered(state, account, query)
            except ValueError as exc:
                return self._json(400, {"code": 20001, "message": str(exc), "status": 400})
            start = 0
            token = query.get("PageToken", "")
            if token:  # the sid of the last message of the page before
                start = next((n + 1 for n, message in enumerate(chosen) if message["sid"] == token[2:]), len(chosen))
            rows = chosen[start : start + size]
            base = f"/2010-04-01/Accounts/{account}/Messages.json"
            kept = {key: value for key, value in query.items() if key not in ("Page", "PageToken", "PageSize")}
            more = start + size < len(chosen)
            after = {"PageSize": size, "Page": page + 1, "PageToken": "PA" + rows[-1]["sid"]} if more else {}
            return self._json(
                200,
                {
                    "end": start + len(rows) - 1 if rows else 0,
                    "first_page_uri": f"{base}?{urlencode(kept | {'PageSize': size, 'Page': 0})}",
                    "messages": rows,
                    "next_page_uri": f"{base}?{urlencode(kept | after)}" if more else None,
                    "page": page,
                    "page_size": size,
                    "previous_page_uri": None,
                    "start": start,
                    "uri": path,
                },
            )

        def do_DELETE(self) -> None:
            seen = self._seen()
            match = re.fullmatch(r"/2010-04-01/Accounts/AC\w+/Recordings/(RE\w+)\.json", seen.path)
            if not match or match.group(1) not in state.recordings:
                return self._json(
                    404, {"code": 20404, "message": "The requested resource was not found", "status": 404}
                )
            state.deleted.append(match.group(1))
            del state.recordings[match.group(1)]
            return self._json(204, None)

    return Handler


def _filtered(state: FakeTwilio, account: str, query: dict[str, str]) -> list[dict]:
    """The account's messages the query's filters keep, newest first (as Twilio lists them).

    DateSent, DateSent> and DateSent< compare whole GMT days (Twilio ignores a time given with the
    date); a message not yet sent (no date_sent) passes no DateSent filter."""

    def day(value: str) -> date:
        return date.fromisoformat(value[:10])

    days = {name: day(query[name]) for name in ("DateSent", "DateSent>", "DateSent<") if query.get(name)}
    with state.lock:
        messages = list(state.messages)
    chosen = []
    for message in messages:
        if message["account_sid"] != account:
            continue
        if query.get("To") and message["to"] != query["To"]:
            continue
        if query.get("From") and message["from"] != query["From"]:
            continue
        if days:
            if message["_sent_at"] is None:
                continue
            sent = message["_sent_at"].date()
            if "DateSent" in days and sent != days["DateSent"]:
                continue
            if "DateSent>" in days and sent < days["DateSent>"]:
                continue
            if "DateSent<" in days and sent > days["DateSent<"]:
                continue
        chosen.append(message)
    chosen.sort(key=lambda message: message["_created_at"], reverse=True)
    return [_public(message) for message in chosen]


def _public(message: dict) -> dict:
    """The message as the API shows it (without the times this server keeps for filtering)."""
    return {key: value for key, value in message.items() if not key.startswith("_")}


def _message(account: str, sid: str, form: dict[str, str], at: datetime, *, sent: bool = True) -> dict:
    stamp = format_datetime(at.astimezone(UTC), usegmt=False)  # "Thu, 03 Dec 2026 12:00:00 +0000"
    return {
        "_created_at": at,
        "_sent_at": at if sent else None,  # Twilio fills date_sent when it hands the message on
        "account_sid": account,
        "api_version": "2010-04-01",
        "body": form.get("Body", ""),
        "date_created": stamp,
        "date_sent": stamp if sent else None,
        "date_updated": stamp,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": form.get("From"),
        "messaging_service_sid": form.get("MessagingServiceSid"),
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "GBP",
        "sid": sid,
        "status": "queued",
        "subresource_uris": {"media": f"/2010-04-01/Accounts/{account}/Messages/{sid}/Media.json"},
        "to": form.get("To"),
        "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
    }


@contextmanager
def fake_twilio() -> Iterator[FakeTwilio]:
    state = FakeTwilio()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    # Everything our code sent went to this loopback server, nowhere else.
    assert all(seen.host.startswith("127.0.0.1:") for seen in state.requests)
