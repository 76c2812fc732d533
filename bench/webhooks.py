"""Twilio webhooks under load: the running app against a bare endpoint on the same server stack.

Starts the web app (`web.app.create_app` with telephony's webhooks, a new SQLite database, real uvicorn
in its own process, as the daemon serves it) with one extra route, `POST /twilio/bench-bare`, that answers a
fixed TwiML with no signature check and no database: the floor of the stack (uvicorn, Starlette,
FastAPI). Then, in one run, for each target in turn for --seconds (default 10) with --concurrency
keep-alive connections (default 16):

  - webhooks: signed requests in a realistic mix (per call: voice, <Dial> action, status; a third of
    calls leave a voicemail: recording, <Record> action, transcription; SMS in; SMS status callbacks
    queued -> sent -> delivered), every CallSid and MessageSid new;
  - bare: the same requests (same sizes) to /twilio/bench-bare.

Prints requests/s sustained, p50 / p99 latency and errors for each, the ratio webhooks / bare, and the
server's CPU time a request (from /proc: what the rate would be with a core of its own, a figure a busy
shared machine does not distort as it does the rates).
Targets (issue 10, 2 cores, SQLite): >= 300 requests/s, p99 < 100 ms, no errors. The load generator is
a small asyncio HTTP/1.1 client over pre-built, pre-signed requests so it takes little of the CPU the
server needs.

Usage: python bench/webhooks.py [--seconds 10] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from twilio.request_validator import RequestValidator  # noqa: E402

PUBLIC = "https://desk.example.org"
TOKEN = "bench-auth-token-0123456789abcdef"
ACCOUNT = "AC" + "b" * 32
LONDON, NATIONAL = "+442073593635", "+443330062835"


def serve(port: int, var_dir: str) -> None:
    """The server process: the app as the daemon builds it, plus the bare route."""
    import uvicorn
    from fastapi import Response

    from models import db
    from models.settings import Settings
    from web.app import create_app

    settings = Settings(
        _env_file=None,
        var_dir=Path(var_dir),
        public_base_url=PUBLIC,
        twilio_account_sid=ACCOUNT,
        twilio_auth_token=TOKEN,
    )
    engine = db.make_engine(settings.effective_database_url)
    db.upgrade(engine)
    app = create_app(engine, settings=settings)

    @app.post("/twilio/bench-bare")
    async def bare() -> Response:
        return Response('<?xml version="1.0" encoding="UTF-8"?><Response />', media_type="application/xml")

    if os.environ.get("BENCH_PROFILE"):  # where the server's time goes: python bench/webhooks.py, then pstats
        import cProfile

        cProfile.runctx(
            "uvicorn.run(app, host='127.0.0.1', port=port, log_level='warning', access_log=False)",
            globals(),
            {"uvicorn": uvicorn, "app": app, "port": port},
            os.environ["BENCH_PROFILE"],
        )
        return
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _form(params: dict[str, str]) -> bytes:
    return urlencode(params).encode()


def mixed_requests(n_calls: int, rng: random.Random) -> list[tuple[str, bytes]]:
    """(path, body) of a realistic day's webhooks, signed later."""
    out: list[tuple[str, bytes]] = []
    for i in range(n_calls):
        sid, rec = f"CA{i:032x}", f"RE{i:032x}"
        caller = f"+4477009{rng.randrange(10**5):05d}"
        to = rng.choice((LONDON, NATIONAL))
        office = "london" if to == LONDON else "national"
        base = {"AccountSid": ACCOUNT, "CallSid": sid, "From": caller, "To": to, "Direction": "inbound"}
        out.append(("/twilio/voice", _form(base | {"CallStatus": "ringing", "Caller": caller, "Called": to})))
        voicemail = rng.random() < 1 / 3
        dial = "no-answer" if voicemail else "completed"
        out.append(
            (f"/twilio/voice/dial?office={office}", _form(base | {"DialCallStatus": dial, "DialCallDuration": "60"}))
        )
        if voicemail:
            url = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/{rec}"
            rec_params = {"AccountSid": ACCOUNT, "CallSid": sid, "RecordingSid": rec, "RecordingUrl": url}
            rec_params["RecordingDuration"] = "30"
            out.append((f"/twilio/voice/recorded?office={office}", _form(rec_params)))
            out.append(("/twilio/voice/recording", _form(rec_params | {"RecordingStatus": "completed"})))
            text = "hi its about my son in wolverhampton please call me back on 07700 900123"
            out.append(
                (
                    "/twilio/voice/transcription",
                    _form(rec_params | {"TranscriptionText": text, "TranscriptionStatus": "completed"}),
                )
            )
        out.append(("/twilio/voice/status", _form(base | {"CallStatus": "completed", "CallDuration": "75"})))
        if rng.random() < 0.5:  # about one SMS for every two calls, and its status callbacks
            msg = f"SM{i:032x}"
            sms = {"AccountSid": ACCOUNT, "MessageSid": msg, "From": caller, "To": to, "Body": "Can we move Tuesday?"}
            out.append(("/twilio/sms", _form(sms | {"NumSegments": "1", "SmsStatus": "received"})))
            out_sid = f"SM{i + 10**9:032x}"
            for status in ("queued", "sent", "delivered"):
                params = {
                    "AccountSid": ACCOUNT,
                    "MessageSid": out_sid,
                    "MessageStatus": status,
                    "To": caller,
                    "From": to,
                }
                out.append(("/twilio/sms/status", _form(params)))
    return out


def build(requests: list[tuple[str, bytes]], port: int, *, bare: bool) -> list[bytes]:
    """Each request as the bytes on the wire; the webhooks signed as Twilio signs them."""
    validator = RequestValidator(TOKEN)
    wire = []
    for path, body in requests:
        from urllib.parse import parse_qsl

        signature = validator.compute_signature(PUBLIC + path, dict(parse_qsl(body.decode())))
        target = "/twilio/bench-bare" if bare else path
        head = (
            f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
            f"X-Twilio-Signature: {signature}\r\n\r\n"
        )
        wire.append(head.encode() + body)
    return wire


async def _one_connection(port: int, queue: list[bytes], deadline: float, latencies: list[float], errors: list[str]):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while queue and time.perf_counter() < deadline:
            request = queue.pop()
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors.append(str(status))
    finally:
        writer.close()


async def load(port: int, wire: list[bytes], seconds: float, concurrency: int) -> dict[str, float]:
    queue = list(reversed(wire))  # pop() takes them in order: a call's webhooks mostly in sequence
    latencies: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(_one_connection(port, queue, deadline, latencies, errors) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[int(0.99 * (len(ordered) - 1))],
        "errors": len(errors),
        "ran_out": not queue,
    }


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread) a process has used: /proc/PID/stat, Linux."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_up(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the app did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "VAR_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1])
        return
    port = _free_port()
    with tempfile.TemporaryDirectory() as var_dir:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MDESK_")}
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), var_dir], env=env)
        try:
            _wait_up(port)
            # Enough requests for the whole run at well over the target rate; every Sid new.
            mix = mixed_requests(int(args.seconds * 400) + 200, random.Random(10))
            results = {}
            for name, bare in (("bare", True), ("webhooks", False)):
                wire = build(mix, port, bare=bare)
                asyncio.run(load(port, wire[:200], 2.0, args.concurrency))  # warm-up (its Sids are not reused)
                cpu_before = cpu_seconds(server.pid)
                results[name] = asyncio.run(load(port, wire[200:], args.seconds, args.concurrency))
                # The server's CPU for each request: what the rate would be on a machine of its own.
                results[name]["cpu_ms"] = 1000 * (cpu_seconds(server.pid) - cpu_before) / results[name]["requests"]
        finally:
            server.terminate()
            server.wait(timeout=30)
    for name, r in results.items():
        note = " (ran out of requests: raise the pool)" if r["ran_out"] else ""
        print(
            f"{name:9} {r['rps']:7.0f} req/s  p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms  "
            f"errors {r['errors']}  ({r['requests']} requests; server CPU {r['cpu_ms']:.2f} ms a request){note}"
        )
    print(f"ratio webhooks/bare: {results['webhooks']['rps'] / results['bare']['rps']:.2f} of the bare stack's rate")
    print(
        f"server CPU a webhook: {results['webhooks']['cpu_ms']:.2f} ms, so at most "
        f"{1000 / results['webhooks']['cpu_ms']:.0f} webhooks/s on one free core (uvicorn is one process)"
    )


if __name__ == "__main__":
    main()
