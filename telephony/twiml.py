"""The TwiML we answer a call with: put through to the office's phones, or the office's message and a
voicemail. Texts come from templates/voice/; the callback URLs are the ones telephony/routes.py serves."""

from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

from models.offices import Office
from models.settings import Settings
from telephony.texts import render_text

VOICE = "Polly.Amy"  # British English
LANGUAGE = "en-GB"

# Paths our TwiML names (relative to MDESK_PUBLIC_BASE_URL); routes.py serves them.
DIAL_ACTION = "/twilio/voice/dial"
RECORD_ACTION = "/twilio/voice/recorded"
RECORDING_CALLBACK = "/twilio/voice/recording"
TRANSCRIPTION_CALLBACK = "/twilio/voice/transcription"


def _say(response: VoiceResponse, text: str) -> None:
    response.say(text, voice=VOICE, language=LANGUAGE)


def put_through(office: Office, settings: Settings, caller: str | None) -> str:
    """The greeting, then every forwarding number rung at once; the caller's own number is shown to
    whoever answers (so they can call back), and Dial's action decides what happens if nobody does."""
    response = VoiceResponse()
    _say(response, render_text("voice", "greeting", office=office, service_name=settings.service_name))
    base = settings.effective_public_base_url
    dial = response.dial(
        action=f"{base}{DIAL_ACTION}?office={office.region}",
        method="POST",
        timeout=settings.twilio_ring_seconds,
        caller_id=caller or None,
    )
    for number in office.forward_to:
        dial.number(number)
    return str(response)


def voicemail(office: Office, settings: Settings, *, message: str) -> str:
    """The office's message (closed, or nobody free), then a recording with a transcript."""
    response = VoiceResponse()
    _say(response, message)
    base = settings.effective_public_base_url
    response.record(
        action=f"{base}{RECORD_ACTION}?office={office.region}",
        method="POST",
        max_length=settings.twilio_voicemail_seconds,
        play_beep=True,
        trim="trim-silence",
        recording_status_callback=f"{base}{RECORDING_CALLBACK}",
        recording_status_callback_method="POST",
        recording_status_callback_event="completed",
        transcribe=True,
        transcribe_callback=f"{base}{TRANSCRIPTION_CALLBACK}",
    )
    # Reached when the caller hung up without recording, or the recording ended on its own.
    _say(response, render_text("voice", "goodbye"))
    return str(response)


def closed_message(office: Office, settings: Settings, holiday: str | None) -> str:
    return render_text("voice", "closed", office=office, service_name=settings.service_name, holiday=holiday)


def no_answer_message(office: Office) -> str:
    return render_text("voice", "no_answer", office=office)


def goodbye() -> str:
    response = VoiceResponse()
    _say(response, render_text("voice", "goodbye"))
    response.hangup()
    return str(response)


def hang_up() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)


def empty() -> str:
    """For callbacks whose answer Twilio ignores (status, recording, transcription)."""
    return str(VoiceResponse())
