"""How a provider that cannot be reached is worded: plainly, a dropped line as a dropped line."""

from __future__ import annotations

import httpx
import pytest

from app.domain.errors import TransientProviderError
from app.providers.base import translate_http_errors


@pytest.mark.parametrize(
    ("exc", "words", "ambiguous"),
    [
        (httpx.ReadError("connection reset"), "The connection to Twilio dropped before it answered.", True),
        (httpx.RemoteProtocolError("peer closed"), "The connection to Twilio dropped before it answered.", True),
        (httpx.ReadTimeout("slow"), "Twilio did not answer in time.", True),
        (httpx.WriteError("broken pipe"), "Twilio could not be reached: the request did not go through.", False),
    ],
)
def test_transport_errors_are_worded_as_what_happened(exc: httpx.HTTPError, words: str, ambiguous: bool) -> None:
    with pytest.raises(TransientProviderError) as caught, translate_http_errors("Twilio"):
        raise exc
    assert caught.value.message == words
    assert caught.value.ambiguous is ambiguous
    assert type(exc).__name__ not in caught.value.message
