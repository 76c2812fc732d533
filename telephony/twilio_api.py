"""Twilio's REST API, through the official SDK, at the address MDESK_TWILIO_API_URL names.

twilio 9.x has no base-URL setting, so the client is given an HTTP client that rewrites Twilio's own
address (https://api.twilio.com) to the configured one for every request it makes; tests point it at
a local server that answers as Twilio does and assert that nothing left loopback.
"""

from __future__ import annotations

from typing import Any

import requests
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from models.settings import Settings

TWILIO_API = "https://api.twilio.com"
TIMEOUT = 15.0


def at_configured_api(url: str, api_url: str) -> str:
    """Twilio's address in `url` replaced by the configured one (other addresses are refused)."""
    if url.startswith(TWILIO_API + "/") or url == TWILIO_API:
        return api_url.rstrip("/") + url[len(TWILIO_API) :]
    if url.startswith(api_url.rstrip("/") + "/"):
        return url
    raise ValueError("not an address of Twilio's API")


class ConfiguredApiHttpClient(TwilioHttpClient):
    def __init__(self, api_url: str, timeout: float = TIMEOUT) -> None:
        super().__init__(timeout=timeout)
        self.api_url = api_url

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        return super().request(method, at_configured_api(url, self.api_url), *args, **kwargs)


def twilio_client(settings: Settings) -> Client:
    return Client(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        http_client=ConfiguredApiHttpClient(settings.twilio_api_url),
    )


def download(url: str, settings: Settings, timeout: float = TIMEOUT) -> requests.Response:
    """A media file of ours at Twilio (a recording), fetched with the account's credentials."""
    return requests.get(
        at_configured_api(url, settings.twilio_api_url),
        auth=(settings.twilio_account_sid, settings.twilio_auth_token),
        timeout=timeout,
        allow_redirects=False,
    )
