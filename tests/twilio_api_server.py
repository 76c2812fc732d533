"""A local HTTP server that answers as Twilio's REST API (2010-04-01) does, for the parts we use:
sending a message, fetching a recording's media, deleting a recording. Tests script its answers
(201, 400 with Twilio's error codes, 429, 500) and read back every request it received."""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

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

    def answer_messages(self, *answers: tuple[int, int | None]) -> None:
        self.message_answers.extend(answers)


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
                state.sent.append(seen.form | {"sid": sid})
                return self._json(201, _message(match.group(1), sid, seen.form))
            message = ERRORS.get(code or 0, "Too Many Requests" if status == 429 else "Internal Server Error")
            error = {"code": code, "message": message.format(to=seen.form.get("To")), "status": status}
            error["more_info"] = f"https://www.twilio.com/docs/errors/{code}"
            return self._json(status, error)

        def do_GET(self) -> None:
            seen = self._seen()
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


def _message(account: str, sid: str, form: dict[str, str]) -> dict:
    return {
        "account_sid": account,
        "api_version": "2010-04-01",
        "body": form.get("Body", ""),
        "date_created": "Thu, 03 Dec 2026 12:00:00 +0000",
        "date_sent": None,
        "date_updated": "Thu, 03 Dec 2026 12:00:00 +0000",
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
