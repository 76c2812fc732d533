"""Twilio's webhooks, mounted on the web app: thin adapters over telephony's service functions.

    POST /twilio/voice               a call comes in: TwiML (put through, or the message and a voicemail)
    POST /twilio/voice/status        the call's status callback (set on the number in Twilio's console)
    POST /twilio/voice/dial          <Dial>'s action: nobody answered -> the message and a voicemail
    POST /twilio/voice/recorded      <Record>'s action: goodbye
    POST /twilio/voice/recording     the recording's status callback: stored by the daemon
    POST /twilio/voice/transcription the transcript
    POST /twilio/sms                 an SMS comes in
    POST /twilio/sms/status          an SMS we sent moved on (queued, sent, delivered, ...)

Each is outside sign-in and checked instead by its X-Twilio-Signature (telephony/webhook_auth.py): a
missing or wrong one is 403, logged with the path and never the body. A handler runs in the thread pool
so the event loop keeps answering; its database work goes to the batch writer (telephony/batch_writer.py),
which commits the webhooks waiting together, and the answer leaves only after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, HTTPException, Request, Response
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from twilio.twiml.messaging_response import MessagingResponse

from models.offices import Office, all_offices, office_by_number, office_by_region
from models.phones import is_withheld, to_e164
from models.settings import Settings
from models.types import utcnow
from models.workdays import WorkingDayCalendar
from telephony import sms_in, sms_status, twiml
from telephony.batch_writer import BatchWriter
from telephony.call_log import CallFacts, record_call
from telephony.webhook_auth import Form, WebhookAuth, webhook_token

log = logging.getLogger("mdesk.telephony")
XML = "application/xml"
MAX_BODY = 64 * 1024


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _office_called(form: Form) -> Office:
    office = office_by_number(to_e164(form.get("To") or form.get("Called")))
    if office is None:
        # A number of ours not in data/offices.json: answered as the national office, and said so.
        log.warning("call to a number not in data/offices.json; answered as the first office")
        return all_offices()[-1]
    return office


class TwilioWebhooks:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        calendar: WorkingDayCalendar | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.clock = clock  # tests stand the office's clock at a chosen hour
        self.settings = settings
        self.calendar = calendar or WorkingDayCalendar()
        self.auth = WebhookAuth(webhook_token(settings), settings.effective_public_base_url)
        self.writer = BatchWriter(engine)  # one transaction for the webhooks waiting together

    # -- calls -------------------------------------------------------------------------------------

    def voice(self, form: Form) -> str:
        office = _office_called(form)
        now = self.clock()
        is_open = bool(office.forward_to) and office.is_open(now, self.calendar)
        caller = form.get("From") or ""
        facts = CallFacts(
            from_raw=caller,
            to=form.get("To") or office.phone,
            direction=form.get("Direction"),
            status=form.get("CallStatus"),
            after_hours=not is_open,
        )
        self._record(form, facts)
        if is_open:
            return twiml.put_through(office, self.settings, None if is_withheld(caller) else to_e164(caller) or caller)
        holiday = self.calendar.holiday_name(self.calendar.local_date(now))
        return twiml.voicemail(office, self.settings, message=twiml.closed_message(office, self.settings, holiday))

    def dial_action(self, form: Form, office_region: str | None) -> str:
        office = office_by_region(office_region) or _office_called(form)
        dial_status = form.get("DialCallStatus") or "no-answer"
        self._record(form, CallFacts(from_raw=form.get("From"), to=form.get("To"), dial_status=dial_status))
        if dial_status in ("completed", "answered"):
            return twiml.hang_up()
        return twiml.voicemail(office, self.settings, message=twiml.no_answer_message(office))

    def recorded(self, form: Form) -> str:
        self._record(form, self._recording_facts(form))
        return twiml.goodbye()

    def recording_status(self, form: Form) -> str:
        if (form.get("RecordingStatus") or "completed") == "completed":
            self._record(form, self._recording_facts(form))
        else:
            log.warning("recording of a call %s at Twilio", form.get("RecordingStatus"))
        return twiml.empty()

    def transcription(self, form: Form) -> str:
        facts = self._recording_facts(form)
        facts.transcript_status = form.get("TranscriptionStatus") or "completed"
        facts.transcript = form.get("TranscriptionText")
        self._record(form, facts)
        return twiml.empty()

    def call_status(self, form: Form) -> str:
        facts = CallFacts(
            from_raw=form.get("From"),
            to=form.get("To"),
            direction=form.get("Direction"),
            status=form.get("CallStatus"),
            duration=_int(form.get("CallDuration")),
        )
        self._record(form, facts)
        return twiml.empty()

    @staticmethod
    def _recording_facts(form: Form) -> CallFacts:
        return CallFacts(
            recording_sid=form.get("RecordingSid") or None,
            recording_url=form.get("RecordingUrl") or None,
            recording_seconds=_int(form.get("RecordingDuration")),
        )

    def _record(self, form: Form, facts: CallFacts) -> None:
        sid = form.get("CallSid")
        if not sid:
            raise HTTPException(400, "CallSid is missing")
        now = self.clock()
        self.writer.run(lambda session: record_call(session, str(sid), facts, calendar=self.calendar, now=now))

    # -- SMS ---------------------------------------------------------------------------------------

    def sms(self, form: Form) -> str:
        sid = form.get("MessageSid") or form.get("SmsSid")
        if not sid:
            raise HTTPException(400, "MessageSid is missing")
        self.writer.run(lambda session: sms_in.receive(session, str(sid), form, settings=self.settings))
        return str(MessagingResponse())

    def sms_status(self, form: Form) -> str:
        sid = form.get("MessageSid") or form.get("SmsSid")
        status = form.get("MessageStatus") or form.get("SmsStatus")
        if not sid or not status:
            raise HTTPException(400, "MessageSid or MessageStatus is missing")
        code, sender, to = _int(form.get("ErrorCode")), form.get("From") or "", form.get("To") or ""
        self.writer.run(
            lambda session: sms_status.update(
                session, str(sid), str(status), error_code=code, from_number=sender, to_number=to
            )
        )
        return str(MessagingResponse())

    # -- the router --------------------------------------------------------------------------------

    async def _checked_form(self, request: Request) -> Form:
        body = await request.body()
        if len(body) > MAX_BODY:  # Twilio's parameters are a few KB; anything larger is not Twilio
            log.warning("twilio webhook %s refused: body of %d bytes", request.url.path, len(body))
            raise HTTPException(413, "request body too large")
        form = self.auth.form(body)
        why = self.auth.verify(request.url.path, request.url.query, form, request.headers.get("X-Twilio-Signature"))
        if why is not None:
            # Path only: the body is a caller's number and words, and a forger's is no better.
            log.warning("twilio webhook %s refused: %s signature", request.url.path, why)
            raise HTTPException(403, f"{why} X-Twilio-Signature")
        return form

    def router(self) -> APIRouter:
        router = APIRouter(prefix="/twilio")

        def endpoint(handler: Callable[..., str], *, with_office: bool = False) -> Callable[[Request], object]:
            async def serve(request: Request) -> Response:
                form = await self._checked_form(request)
                args: tuple[object, ...] = (form, request.query_params.get("office")) if with_office else (form,)
                body = await run_in_threadpool(handler, *args)
                return Response(body, media_type=XML)

            return serve

        router.add_api_route("/voice", endpoint(self.voice), methods=["POST"])
        router.add_api_route("/voice/status", endpoint(self.call_status), methods=["POST"])
        router.add_api_route("/voice/dial", endpoint(self.dial_action, with_office=True), methods=["POST"])
        router.add_api_route("/voice/recorded", endpoint(self.recorded), methods=["POST"])
        router.add_api_route("/voice/recording", endpoint(self.recording_status), methods=["POST"])
        router.add_api_route("/voice/transcription", endpoint(self.transcription), methods=["POST"])
        router.add_api_route("/sms", endpoint(self.sms), methods=["POST"])
        router.add_api_route("/sms/status", endpoint(self.sms_status), methods=["POST"])
        return router
