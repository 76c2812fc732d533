"""Property tests: whatever bytes arrive, parse_message returns a ParsedMessage, and in bounded time.

Seeds are real messages (a few corpus files when ../shared is present, and messages written here), mutated
the way mail gets damaged: bytes flipped, inserted or deleted, cut short, headers repeated, line endings
changed. The hypothesis `deadline` is a per-example bound (a hang fails the test), not a timing claim.
"""

from __future__ import annotations

from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbox.html_text import html_to_text
from inbox.message import ParsedMessage
from inbox.parse import parse_message
from inbox.reply_split import split_reply
from tests.conftest import CORPUS

BOUNDED = settings(
    deadline=2000,  # ms per example
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

INLINE_SEEDS = [
    b"From: =?utf-8?Q?Ren=C3=A9e?= <renee@example.com>\r\nTo: referrals@example.org\r\n"
    b"Subject: =?utf-8?B?TWVkaWF0aW9uIGZvciBab8Or?=\r\nDate: Mon, 16 Jun 2025 09:40:12 +0100\r\n"
    b"Message-ID: <a@b>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n\r\n"
    b"On Mon, 2 Jun 2025, Sam <sam@example.org> wrote:\r\n> old\r\n\r\n-- \r\nRen\xc3\xa9e\r\n",
    b'From: a@example.com\nSubject: Fwd: x\nContent-Type: multipart/mixed; boundary="b"\n\n'
    b"--b\nContent-Type: multipart/alternative; boundary=c\n\n--c\nContent-Type: text/plain\n\nhi\n"
    b"---------- Forwarded message ---------\nFrom: Kelly <k@example.net>\nSubject: help\n\nbody\n"
    b"--c\nContent-Type: text/html; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n"
    b"<table><tr><td>Name</td><td>F=E9lix</td></tr></table><blockquote type=3Dcite>q</blockquote>\n--c--\n"
    b"--b\nContent-Type: message/rfc822\n\nFrom: x@y.z\nSubject: inner\n\ninner body\n"
    b"--b\nContent-Type: application/pdf; name*=UTF-8''a%C3%A9.pdf\nContent-Transfer-Encoding: base64\n\n"
    b"JVBERi0xLjQK\n--b--\n",
    b"From MAILER-DAEMON Fri Nov 15 14:16:10 2013\nReturn-Path: <>\nFrom: Mail Delivery System <MAILER-DAEMON>\n"
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=r\n\n--r\n"
    b"Content-Type: text/plain; charset=unicode-1-1-utf-7\n\n+ANw-bermittlung\n--r\n"
    b"Content-Type: message/delivery-status\n\nReporting-MTA: dns; x\n\nStatus: 5.1.1\nAction: failed\n--r--\n",
    b"---- Original email message ----\r\nX-Spam: yes\r\nbroken continuation\r\nSubject : x\r\n"
    b'From: "a" <>\r\nContent-Type: text/html; charset=x-unknown\r\n\r\n<p>caf\xe9</p>\r\n',
]
CORPUS_SEEDS = [
    "mail/zammad/mail054.box",
    "mail/zammad/mail068.box",
    "mail/zammad/mail018.box",
    "mail/talon/gmail.eml",
    "mail/flanker/enclosed.eml",
    "mail/enmime/multipart-wo-boundary.raw",
    "mail/sisimai-cr/lhost-exim-01.eml",
    "mail/ruby-mail/attachment_message_rfc822.eml",
]


def _seeds() -> list[bytes]:
    found = [(CORPUS / name).read_bytes() for name in CORPUS_SEEDS if (CORPUS / name).is_file()]
    return INLINE_SEEDS + [raw[:60_000] for raw in found]  # keep examples small enough to mutate quickly


SEEDS = _seeds()


def check(parsed: ParsedMessage) -> None:
    assert isinstance(parsed, ParsedMessage)
    assert all(isinstance(getattr(parsed, n), str) for n in ("subject", "text", "new_text", "quoted_text"))
    assert parsed.date is None or (isinstance(parsed.date, datetime) and parsed.date.tzinfo is not None)
    assert all(isinstance(p, str) for p in parsed.problems)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            data += draw(st.binary(max_size=20))
            continue
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "header", "newlines"]))
        if action == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "insert":
            data[at:at] = draw(
                st.one_of(
                    st.binary(min_size=1, max_size=30),
                    st.sampled_from([b"\r", b"\n\n", b"=?", b"?=", b"--b\n", b"<", b"\x00", b"\xff\xfe", b"> "]),
                )
            )
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 200))]
        elif action == "truncate":
            del data[at:]
        elif action == "header":
            end = data.find(b"\n", at)
            start = data.rfind(b"\n", 0, at) + 1
            line = bytes(data[start : end + 1 if end != -1 else len(data)])
            data[start:start] = line * draw(st.integers(1, 5))
        else:
            data[:] = data.replace(b"\n", draw(st.sampled_from([b"\r", b"\r\n", b"\n\r"])))
    return bytes(data)


@BOUNDED
@given(mutated())
def test_mutated_real_messages_never_raise(raw: bytes) -> None:
    check(parse_message(raw))


@BOUNDED
@given(st.binary(max_size=4000))
def test_random_bytes_never_raise(raw: bytes) -> None:
    check(parse_message(raw))


header_names = st.sampled_from(
    [
        "From",
        "To",
        "Cc",
        "Subject",
        "Date",
        "Message-ID",
        "References",
        "In-Reply-To",
        "Return-Path",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
        "Reply-To",
        "X-Junk",
    ]
)


@BOUNDED
@given(st.lists(st.tuples(header_names, st.text(max_size=80)), max_size=12), st.text(max_size=400))
def test_random_headers_and_bodies_never_raise(headers: list[tuple[str, str]], body: str) -> None:
    head = "".join(f"{name}: {value}\n" for name, value in headers)
    for encoding in ("utf-8", "cp1252"):
        check(parse_message((head + "\n" + body).encode(encoding, errors="replace")))


@BOUNDED
@given(st.text(max_size=2000), st.text(max_size=40))
def test_reply_split_never_loses_all_text(text: str, subject: str) -> None:
    split = split_reply(text, subject)
    if text.strip():
        assert split.new_text  # never throws away the only content


html_pieces = st.sampled_from(
    [
        "<div>",
        "</div>",
        "<p>",
        "</p>",
        "<br>",
        "<table>",
        "<tr>",
        "<td>",
        "</td>",
        "</tr>",
        "<blockquote type=cite>",
        "</blockquote>",
        "<!--",
        "-->",
        "<![if !supportLists]>",
        "<![endif]>",
        "<style>",
        "</style>",
        "<pre>",
        "&nbsp;",
        "&amp;",
        "&#8217;",
        "<li>",
        "<b>",
        "text",
        " ",
        "\n",
        "<",
        ">",
        "\ue000",
        "|",
    ]
)


@BOUNDED
@given(st.lists(html_pieces, max_size=300))
def test_html_to_text_never_raises(pieces: list[str]) -> None:
    assert isinstance(html_to_text("".join(pieces)), str)
