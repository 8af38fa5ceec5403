"""The leaks the audit found, pinned one by one: spellings, reprs and messages without secrets."""

from __future__ import annotations

import string
import urllib.parse

import pytest
import yarl

from komet_async._redact import Redactor
from komet_async._session import RequestSpec
from komet_async.errors import ResponseFormatError
from komet_async.kounta import BasicAuth
from komet_async.pagination import NextUrlGuard

SECRETS = ["kmt-sEcReT+tok/5f3a=9c", "a b/c?d&e;f:g@h$i,j!k*l'm(n)o~p", "tok-é-ü"]


@pytest.mark.parametrize("secret", SECRETS)
def test_yarl_query_spelling_is_redacted(secret: str) -> None:
    """A secret as aiohttp (yarl) writes it in a query string is hidden, also quoted once more."""
    url = str(yarl.URL("http://h/p").with_query({"t": secret, "other": secret}))
    redactor = Redactor.of(secret)
    assert "t=***" in redactor.text(url)
    assert redactor.text(url).count("***") == 2
    nested = f"http://h/login?next={urllib.parse.quote(url, safe='')}"
    assert not redactor.contains_secret(redactor.text(nested))
    renormalised = str(yarl.URL("http://h/login").with_query({"next": url}))
    assert not redactor.contains_secret(redactor.text(renormalised))


def test_yarl_keeps_exactly_the_characters_the_redactor_expects() -> None:
    """Every printable character is spelt by yarl as the redactor predicts (catches yarl drift)."""
    for char in string.printable.strip() + " é":
        spelt = yarl.URL.build(query={"k": f"s{char}s"}).raw_query_string.partition("=")[2]
        assert Redactor.of(f"s{char}s").text(spelt) == "***", char


def test_json_escaped_secret_is_redacted() -> None:
    """A secret with quotes or backslashes is hidden in its JSON-escaped spelling too."""
    secret = 'tok"with\\slash'
    assert Redactor.of(secret).text('{"echo": "tok\\"with\\\\slash"}') == '{"echo": "***"}'


def test_request_spec_repr_hides_the_token_userinfo_and_query() -> None:
    """RequestSpec's repr shows neither the token parameter nor a URL's userinfo and query."""
    spec = RequestSpec(
        "GET",
        "http://user:pw@h:8443/v1/customers?page=tok-1",
        "customers.list",
        params={"authenticationToken": "tok-1", "name": "rose"},
    )
    text = repr(spec)
    assert "tok-1" not in text
    assert "pw" not in text
    assert "url='http://h:8443/v1/customers?***'" in text
    assert "params={'authenticationToken': '***', 'name': 'rose'}" in text
    assert "params=None" in repr(RequestSpec("GET", "http://h/x", "x"))


def test_next_page_refusal_names_the_host_not_the_userinfo() -> None:
    """A next-page URL on another host is refused by host and port, never quoting its userinfo."""
    guard = NextUrlGuard("https://api.kounta.com/v1")
    with pytest.raises(ResponseFormatError) as info:
        guard.check("http://Bearer%20tok-1:x@evil.example:81/p?q=tok-1", method="customers.list")
    assert "evil.example:81" in str(info.value)
    assert "tok-1" not in str(info.value)
    with pytest.raises(ResponseFormatError, match=r"\(no host\)"):
        guard.check("file:///etc/tok-1", method="customers.list")


def test_basic_auth_hides_the_bare_base64_credentials() -> None:
    """The base64 half of a Basic header is a secret on its own: it decodes to the client secret."""
    auth = BasicAuth("app", "cs-1")
    redactor = Redactor.of(*auth.secrets())
    assert redactor.text("credentials=YXBwOmNzLTE=") == "credentials=***"
    assert redactor.text("Authorization: Basic YXBwOmNzLTE=") == "Authorization: Basic ***"
