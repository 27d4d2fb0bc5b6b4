"""Pure parts of the portal client: URL policy, backoff, the streamed multipart body."""

from __future__ import annotations

import email.utils
import time
from pathlib import Path

import ckanapi
import pytest

from publish.errors import ConfigurationError
from publish.portal import (
    MultipartBody,
    NotCkanError,
    Portal,
    PortalError,
    RetryPolicy,
    TransientPortalError,
    check_portal_url,
    check_token,
    shown_url,
)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:5000", "http://localhost:5000/", "http://[::1]:5000", "https://opendata.example.de"]
)
def test_allowed_portal_urls(url: str) -> None:
    assert check_portal_url(url) == url.rstrip("/")


def test_plain_http_to_another_host_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="--allow-http"):
        check_portal_url("http://opendata.example.de")
    assert check_portal_url("http://opendata.example.de", allow_http=True) == "http://opendata.example.de"


@pytest.mark.parametrize("url", ["", "ftp://x", "opendata.example.de", "http://"])
def test_malformed_portal_urls(url: str) -> None:
    with pytest.raises(ConfigurationError):
        check_portal_url(url)


def test_backoff_grows_is_bounded_and_jittered() -> None:
    policy = RetryPolicy(attempts=5, base_delay=0.5, max_delay=4.0)
    for attempt in range(1, 8):
        delays = [policy.delay(attempt) for _ in range(200)]
        assert all(0 <= d <= min(4.0, 0.5 * 2 ** (attempt - 1)) for d in delays)
        assert len(set(delays)) > 100  # jitter: not one fixed value


def test_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(max_delay=30.0)
    assert policy.delay(1, "7") == 7.0
    assert policy.delay(1, "3600") == 30.0
    in_five = email.utils.formatdate(time.time() + 5, usegmt=True)
    assert 3.0 <= policy.delay(1, in_five) <= 5.0
    assert policy.delay(1, "soon") <= 0.5  # unparsable: normal backoff


def test_multipart_body_streams_the_file_and_can_be_sent_twice(tmp_path: Path) -> None:
    path = tmp_path / "daten.csv"
    path.write_bytes(b"id,name\n" + b"1,\xc3\xa4\n" * 50_000)
    seen: list[tuple[int, int]] = []
    body = MultipartBody({"id": "r1", "size": 5, "private": False}, "upload", path, lambda s, t: seen.append((s, t)))
    first = body.reader().read()
    second = b"".join(iter(lambda r=body.reader(): r.read(8192), b""))  # noqa: B008
    assert first == second
    assert len(first) == body.length
    assert path.read_bytes() in first
    assert b'name="private"\r\n\r\nfalse\r\n' in first
    assert b'filename="daten.csv"' in first
    assert first.endswith(f"--{body.boundary}--\r\n".encode())
    assert seen[-1] == (path.stat().st_size, path.stat().st_size)


def test_multipart_body_with_several_files_streams_each_under_its_field(tmp_path: Path) -> None:
    one, two = tmp_path / "eins.csv", tmp_path / "zwei.csv"
    one.write_bytes(b"a\n" + b"1\n" * 300_000)
    two.write_bytes(b"b\n2\n")
    seen: dict[str, list[tuple[int, int]]] = {"one": [], "two": []}
    files = [
        ("update__resources__-2__upload", one, lambda s, t: seen["one"].append((s, t))),
        ("update__resources__-1__upload", two, lambda s, t: seen["two"].append((s, t))),
    ]
    body = MultipartBody.of({"match__id": "p1", "update__resources__extend": [{"name": "x"}]}, files)
    sent = body.reader().read()
    assert sent == body.reader().read() and len(sent) == body.length
    assert body.file_size == one.stat().st_size + two.stat().st_size
    # Parsed as a form parser would: each part under its name, the file's bytes exact.
    parts = sent.split(f"--{body.boundary}".encode())
    assert parts[0] == b"" and parts[-1] == b"--\r\n"
    named = {p.split(b'name="')[1].split(b'"')[0]: p.split(b"\r\n\r\n", 1)[1][:-2] for p in parts[1:-1]}
    assert named[b"match__id"] == b"p1"
    assert named[b"update__resources__extend"] == b'[{"name": "x"}]'
    assert named[b"update__resources__-2__upload"] == one.read_bytes()
    assert named[b"update__resources__-1__upload"] == two.read_bytes()
    assert seen["one"][-1] == (one.stat().st_size,) * 2 and seen["two"][-1] == (4, 4)


def test_ckan_refusals_are_told_apart() -> None:
    portal = Portal("http://127.0.0.1:9", "secret-token")
    conflict = portal._refused("package_revise", ckanapi.ValidationError({"match": ["metadata_modified"]}))
    assert conflict.kind == "conflict" and "changed on the portal" in str(conflict)
    invalid = portal._refused("package_create", ckanapi.ValidationError({"name": ["That URL is already in use."]}))
    assert invalid.kind == "validation" and "That URL is already in use." in str(invalid)
    denied = portal._refused("package_create", ckanapi.NotAuthorized({"message": "secret-token may not"}))
    assert denied.kind == "not-authorized" and "secret-token" not in str(denied)


def test_a_ca_bundle_must_be_a_pem_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not found"):
        Portal("https://opendata.example.de", None, ca_bundle=str(tmp_path / "missing.pem"))
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(ConfigurationError, match="no usable PEM"):
        Portal("https://opendata.example.de", None, ca_bundle=str(junk))


@pytest.mark.parametrize(
    ("token", "said"),
    [
        ("abc.def-ghi\n", "ends with a newline"),
        ("abc.def-ghi\r\n", "ends with a newline"),
        (" abc.def-ghi", "starts with whitespace"),
        ("   ", "only whitespace"),
        ("abc def", "contains whitespace"),
        ("abc.défghi", "not ASCII"),
        ("abc\x1b]0;x\x07", "control character"),
    ],
)
def test_a_token_of_the_wrong_form_is_refused_without_showing_it(token: str, said: str) -> None:
    with pytest.raises(ConfigurationError, match=said) as info:
        Portal("http://127.0.0.1:9", token)
    assert info.value.exit_code == 2
    assert token.strip() not in str(info.value) or not token.strip()
    assert check_token("eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJ4In0.c2lnbmF0dXJl") is not None
    assert check_token(None) is None and check_token("") is None


@pytest.mark.parametrize(
    "url",
    ["https://steward:geheim@opendata.example.de", "https://geheim@opendata.example.de/x", "http://a:b@[::1]:5000"],
)
def test_credentials_in_the_portal_url_are_refused_and_never_shown(url: str) -> None:
    with pytest.raises(ConfigurationError, match="user name or password") as info:
        check_portal_url(url)
    assert "geheim" not in str(info.value) and "steward" not in str(info.value) and ":b@" not in str(info.value)


def test_shown_url_hides_userinfo_and_control_characters() -> None:
    assert shown_url("https://u:p@host:8443/x?y=1") == "https://***@host:8443/x?y=1"
    assert shown_url("https://host/a\x1b]0;b") == "https://host/a?]0;b"
    assert len(shown_url("https://host/" + "x" * 10_000)) <= 200


def test_whatever_the_http_library_raises_carries_no_token() -> None:
    """Defence in depth: a header the library cannot send must not quote the token."""
    portal = Portal("http://127.0.0.1:9", "tok-en.1")
    portal._token = "tok\nen"  # bypass the form check, as a bug elsewhere might
    portal.session.secrets = ("tok\nen",)
    portal.ckan.apikey = "tok\nen"
    with pytest.raises(PortalError) as info:
        portal.action("status_show")
    assert "tok\nen" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.parametrize(
    ("status", "body", "expected", "said"),
    [
        (200, "<!DOCTYPE html><html><body>Willkommen</body></html>", NotCkanError, "does not answer like a CKAN"),
        (404, "<html>Not Found</html>", NotCkanError, "HTTP 404, an HTML page"),
        (200, '{"hello": "world"}', NotCkanError, "JSON that is not CKAN's"),
        (502, "<html>" + "x" * 100_000 + "</html>", TransientPortalError, "HTTP 502, an HTML page"),
        (500, "Internal Server Error", PortalError, "HTTP 500"),
        (
            500,
            '{"error": {"__type": "Internal Server Error", "message": "Internal Server Error"}, "success": false}',
            PortalError,
            'the portal answered with an error (HTTP 500, CKAN says "Internal Server Error"; the portal\'s log',
        ),
    ],
)
def test_an_answer_that_is_not_ckans_is_one_sentence(status: int, body: str, expected: type, said: str) -> None:
    portal = Portal("http://127.0.0.1:9")
    error = portal._refused("status_show", ckanapi.CKANAPIError(repr(["http://x/api", status, body])))
    assert type(error) is expected
    assert said in str(error) and len(str(error)) < 400 and "<html" not in str(error)
    if status >= 500:
        assert isinstance(error, PortalError) and error.status == status
