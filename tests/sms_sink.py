"""A local Twilio-like SMS endpoint for reminder tests and the benchmark, and the outbox channel that
posts to it (written against models.outbox_channel.Channel alone, until telephony's SMS channel lands).

The sink answers `POST /2010-04-01/Accounts/<sid>/Messages.json` (form fields To, From, Body) with 201
and a Message SID, as Twilio does, and records each message with the outbox row's idempotency key (sent
in the `X-Mdesk-Key` header), so a test counts sends per key. `GET /sent?key=K` answers the SID already
given for that key (404 if none): what `SinkSms.find_sent` asks after a crash.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from models.outbox import OutboxMessage
from models.outbox_channel import Channel, Rendered
from models.outbox_claims import TransientSendError, TransportUnavailable

ACCOUNT = "AC" + "0" * 32


class SmsSink:
    def __init__(self) -> None:
        self.sends: list[tuple[str, str, float]] = []  # (key, to, time received)
        self.by_key: dict[str, str] = {}
        self._changed = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                key = self.headers.get("X-Mdesk-Key", "")
                with sink._changed:
                    sid = f"SM{len(sink.sends) + 1:032x}"
                    sink.sends.append((key, form.get("To", [""])[0], time.time()))
                    sink.by_key.setdefault(key, sid)
                    sink._changed.notify_all()
                self._answer(201, {"sid": sid, "status": "queued", "to": form.get("To", [""])[0]})

            def do_GET(self) -> None:
                key = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).get("key", [""])[0]
                with sink._changed:
                    sid = sink.by_key.get(key)
                self._answer(200 if sid else 404, {"sid": sid})

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def counts(self) -> Counter[str]:
        with self._changed:
            return Counter(key for key, _, _ in self.sends)

    def wait_for(self, total: int, timeout: float) -> bool:
        """Until `total` messages have come in (True), or the timeout (False)."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.sends) >= total, timeout)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SinkSms(Channel):
    name = "sms"
    transport = "sink"
    parallel = 8  # an HTTP API: eight requests in flight, as an SMS channel over Twilio's would

    def __init__(self, url: str) -> None:
        self.url = url

    def render(self, row: OutboxMessage) -> Rendered:
        return Rendered(to=row.to, body=f"{row.template} {row.context.get('offset', '')}")

    def send(self, row: OutboxMessage) -> str:
        form = urllib.parse.urlencode({"To": row.to, "From": "+442073593635", "Body": self.render(row).body})
        request = urllib.request.Request(
            f"{self.url}/2010-04-01/Accounts/{ACCOUNT}/Messages.json",
            data=form.encode(),
            headers={"X-Mdesk-Key": row.idempotency_key},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return json.load(answer)["sid"]
        except urllib.error.HTTPError as exc:
            raise TransientSendError(f"sink answered {exc.code}", code=exc.code) from exc
        except OSError as exc:
            raise TransportUnavailable(f"sink unreachable: {exc}") from exc

    def find_sent(self, row: OutboxMessage) -> str | None:
        query = urllib.parse.urlencode({"key": row.idempotency_key})
        try:
            with urllib.request.urlopen(f"{self.url}/sent?{query}", timeout=5) as answer:
                return json.load(answer)["sid"]
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise TransientSendError(f"sink answered {exc.code}") from exc
