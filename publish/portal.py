"""The one module that speaks HTTP: CKAN's Action API through ckanapi, with timeouts, bounded
retries with backoff and jitter, streaming multipart uploads, and request/byte counting.

The API token is sent in a header and never appears in any message this module produces.
"""

from __future__ import annotations

import ast
import email.utils
import ipaddress
import json
import os
import random
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import ckanapi
import requests
from ckanapi.common import reverse_apicontroller_action

from .errors import (
    ConfigurationError,
    NotCkanError,
    PortalError,
    PortalRefusedError,
    PublishError,
    TokenRejectedError,
    TransientPortalError,
)

USER_AGENT = "kalletal-lemgo-publish/0.1 (+ckanapi)"
RETRY_STATUSES = {429, 502, 503, 504}
UNPROCESSED_STATUSES = {429, 503}  # the server says it did not handle the request
SEARCH_PAGE = 1000
POOL_SIZE = 32  # connections kept per host: push --jobs N, each with DataStore chunks in flight

# Retry modes: ALWAYS for reads and idempotent writes; UNPROCESSED for creates, which are only
# repeated when the request surely had no effect (the caller reconciles other failures).
ALWAYS, UNPROCESSED, NEVER = "always", "unprocessed", "never"

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with full jitter; Retry-After is honoured up to ``max_delay``."""

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        if retry_after:
            wait = _parse_retry_after(retry_after)
            if wait is not None:
                return min(wait, self.max_delay)
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


def check_portal_url(url: str, allow_http: bool = False) -> str:
    """Normalise the portal URL; refuse plain http:// to anything but loopback unless allowed.

    A URL with credentials in it (``https://user:password@host``) is refused, and no message
    ever shows them: the API token belongs in CKAN_API_TOKEN.
    """
    if not url:
        raise ConfigurationError("no portal: pass --portal URL or set CKAN_URL")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ConfigurationError(f"portal URL must be http(s)://host[:port][/path], got {shown_url(url)!r}") from None
    if "@" in parts.netloc:
        raise ConfigurationError(
            f"the portal URL {shown_url(url)} carries a user name or password (user:password@host); remove "
            "them from --portal / CKAN_URL: the API token is read from CKAN_API_TOKEN"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"portal URL must be http(s)://host[:port][/path], got {shown_url(url)!r}")
    if parts.scheme == "http" and not allow_http and not _is_loopback(parts.hostname):
        raise ConfigurationError(
            f"refusing plain http:// to {parts.hostname}: the API token would travel unencrypted. "
            "Use https:// or pass --allow-http if you really mean it."
        )
    return url.rstrip("/")


def shown_url(url: str) -> str:
    """A URL as messages may show it: never with the user name or password of its userinfo."""
    text = "".join(ch if ch.isprintable() else "?" for ch in url)[:200]
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text.split("@")[-1] if "@" in text.split("/")[0] else text
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rsplit("@", 1)[1]
    return f"{scheme}://{authority}{slash}{path}"


def check_token(token: str | None) -> str | None:
    """The API token if its form can be sent, else ConfigurationError saying what is wrong with it.

    CKAN's tokens (JWTs) and legacy API keys are printable ASCII without spaces. A token copied
    with a trailing newline or a stray space would otherwise end in a traceback of the HTTP
    library that quotes the header value, token included. The message never shows the token.
    """
    if token is None or token == "":
        return None
    if not token.strip():
        problem = "holds only whitespace"
    elif token != token.strip():
        edge = "ends" if token[-1:].isspace() else "starts"
        newline = (token[-1:] if edge == "ends" else token[:1]) in "\r\n"
        problem = f"{edge} with a newline (copied with the line end?)" if newline else f"{edge} with whitespace"
    elif any(ch.isspace() for ch in token):
        problem = "contains whitespace"
    elif not token.isascii():
        problem = "contains a character that is not ASCII"
    elif not token.isprintable():
        problem = "contains a control character"
    else:
        return token
    raise ConfigurationError(
        f"CKAN_API_TOKEN {problem}; a CKAN API token is one line of letters, digits and -_.=+/ "
        "(the token is not shown). Set it again, e.g. export CKAN_API_TOKEN=\"$(tr -d '[:space:]' < token-file)\""
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class MultipartBody:
    """A multipart/form-data body streamed from disk (constant memory), rewindable for retries.

    One file (``file_field``, ``path``, ``progress``), or several with :meth:`of`: each is read
    from disk in chunks when its turn comes, and its own ``progress(sent, total)`` hears about it.
    """

    def __init__(self, fields: dict[str, Any], file_field: str, path: Path, progress: ProgressCallback | None):
        self._build(fields, [(file_field, path, progress)])

    @classmethod
    def of(cls, fields: dict[str, Any], files: list[tuple[str, Path, ProgressCallback | None]]) -> MultipartBody:
        """A body with several files, in the order given."""
        body = cls.__new__(cls)
        body._build(fields, files)
        return body

    def _build(self, fields: dict[str, Any], files: list[tuple[str, Path, ProgressCallback | None]]) -> None:
        self.boundary = uuid.uuid4().hex
        self.files = [(path, path.stat().st_size, progress) for _, path, progress in files]
        head = b"".join(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode()
            + form_value(v).encode("utf-8")
            + b"\r\n"
            for k, v in fields.items()
            if v is not None
        )
        # The fields go before the first file; each later file's part starts by ending the one before.
        self.heads = [
            (head if i == 0 else b"\r\n")
            + (
                f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{path.name}"\r\nContent-Type: text/csv\r\n\r\n'
            ).encode()
            for i, (name, path, _) in enumerate(files)
        ]
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.file_size = sum(size for _, size, _ in self.files)
        self.length = sum(len(h) for h in self.heads) + self.file_size + len(self.tail)
        self.sent_file_bytes = 0

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def chunks(self, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """The body in chunks; each call starts from the beginning (so a retry resends it all)."""
        self.sent_file_bytes = 0
        for head, (path, size, progress) in zip(self.heads, self.files, strict=True):
            yield head
            sent = 0
            with path.open("rb") as handle:
                while chunk := handle.read(chunk_size):
                    sent += len(chunk)
                    self.sent_file_bytes += len(chunk)
                    if progress:
                        progress(sent, size)
                    yield chunk
        yield self.tail

    def reader(self) -> _ChunkReader:
        """A fresh file-like view of the body, so requests sends it with Content-Length, unchunked."""
        return _ChunkReader(self.chunks(), self.length)


class _ChunkReader:
    """``read(n)`` over an iterator of byte chunks, with a known total length."""

    def __init__(self, chunks: Iterator[bytes], length: int) -> None:
        self._chunks = chunks
        self._chunk = b""
        self._offset = 0
        self.len = length

    def __len__(self) -> int:
        return self.len

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            rest = [self._chunk[self._offset :], *self._chunks]
            self._chunk, self._offset = b"", 0
            return b"".join(rest)
        while self._offset >= len(self._chunk):
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._chunk, self._offset = chunk, 0
        data = self._chunk[self._offset : self._offset + size]
        self._offset += len(data)
        return data


def form_value(value: Any) -> str:
    """VALUE as a form field carries it: booleans in lower case, lists and dicts as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class PortalSession(requests.Session):
    """A requests session that counts requests and uploaded bytes and retries per policy."""

    def __init__(self, policy: RetryPolicy, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__()
        self.policy = policy
        self.sleep = sleep
        self.requests_made = 0
        self.bytes_uploaded = 0
        self._count = threading.Lock()  # datasets (push --jobs) and DataStore chunks are sent from threads
        self.secrets: tuple[str, ...] = ()  # never shown in any message of this session
        # One connection pool shared by the threads (urllib3's pools are thread-safe); big enough
        # that concurrent requests reuse connections instead of opening and discarding extra ones.
        for prefix in ("http://", "https://"):
            self.mount(prefix, requests.adapters.HTTPAdapter(pool_maxsize=POOL_SIZE))

    def _add_bytes(self, sent: int) -> None:
        with self._count:
            self.bytes_uploaded += sent

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def request(self, method: str, url: str, *args: Any, retry: str = ALWAYS, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        body: MultipartBody | None = kwargs.pop("multipart", None)
        attempt = 0
        while True:
            attempt += 1
            if body is not None:
                kwargs["data"] = body.reader()
                kwargs.setdefault("headers", {})
                kwargs["headers"] = {
                    **kwargs["headers"],
                    "Content-Type": body.content_type,
                    "Content-Length": str(body.length),
                }
            with self._count:
                self.requests_made += 1
            try:
                response = super().request(method, url, *args, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if body is not None:
                    self._add_bytes(body.sent_file_bytes)
                if isinstance(exc, requests.exceptions.SSLError):  # no retry makes a certificate valid
                    raise PortalError(_describe_exception(exc, url, attempt)) from None
                surely_unsent = isinstance(exc, requests.ConnectTimeout)
                if attempt < self.policy.attempts and (retry == ALWAYS or (retry == UNPROCESSED and surely_unsent)):
                    self.sleep(self.policy.delay(attempt))
                    continue
                raise TransientPortalError(_describe_exception(exc, url, attempt)) from None
            except (requests.RequestException, ValueError, UnicodeError) as exc:
                # Anything else the HTTP library raises (a header it cannot send, a malformed URL)
                # may quote what it was given, the Authorization header included: redact it here,
                # where every request is built, and drop the chain so no traceback shows it either.
                raise PortalError(
                    self.redact(f"{shown_url(url)}: the request could not be sent ({type(exc).__name__}: {exc})")
                ) from None
            if body is not None:
                self._add_bytes(body.sent_file_bytes)
            status = response.status_code
            may_retry = retry == ALWAYS or (retry == UNPROCESSED and status in UNPROCESSED_STATUSES)
            if status in RETRY_STATUSES and attempt < self.policy.attempts and may_retry:
                self.sleep(self.policy.delay(attempt, response.headers.get("Retry-After")))
                continue
            return response


class Portal:
    """A CKAN portal seen through its Action API."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        ca_bundle: str | None = None,
        allow_http: bool = False,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = check_portal_url(url, allow_http)
        self._token = check_token(token)
        self.timeout = (connect_timeout, timeout)
        self.session = PortalSession(policy or RetryPolicy(), sleep=sleep)
        self.session.secrets = (self._token,) if self._token else ()
        self._token_accepted = False
        self._user: str | None = None
        # TLS verification is always on; a CA bundle only adds trust for private CAs.
        self.session.verify = True
        if ca_bundle:
            self.session.mount("https://", _TrustAlsoAdapter(_context_trusting(ca_bundle)))
        self.ckan = ckanapi.RemoteCKAN(self.url, apikey=self._token, user_agent=USER_AGENT, session=self.session)

    @property
    def has_token(self) -> bool:
        return self._token is not None

    @property
    def requests_made(self) -> int:
        return self.session.requests_made

    @property
    def bytes_uploaded(self) -> int:
        return self.session.bytes_uploaded

    def redact(self, text: str) -> str:
        """Remove the token from any text (defence in depth: we never put it there)."""
        return self.session.redact(text)

    def action(self, name: str, data: dict[str, Any] | None = None, *, retry: str = ALWAYS) -> Any:
        """Call an action; CKAN's own errors become :class:`PortalRefusedError` with its message."""
        try:
            return self.ckan.call_action(name, data or {}, requests_kwargs={"timeout": self.timeout, "retry": retry})
        except PortalError as exc:
            raise type(exc)(self.redact(str(exc))) from None
        except ckanapi.CKANAPIError as exc:
            raise self._refused(name, exc) from None

    def upload(
        self,
        name: str,
        fields: dict[str, Any],
        path: Path,
        *,
        retry: str = ALWAYS,
        progress: ProgressCallback | None = None,
    ) -> dict[str, Any]:
        """Call ``resource_create`` / ``resource_patch`` with the file streamed as ``upload``."""
        return self.upload_files(name, fields, [("upload", path, progress)], retry=retry)

    def upload_files(
        self,
        name: str,
        fields: dict[str, Any],
        files: list[tuple[str, Path, ProgressCallback | None]],
        *,
        retry: str = ALWAYS,
    ) -> Any:
        """Call an action with form ``fields`` and the files streamed in one multipart request,
        each as its form field (e.g. ``package_revise`` with ``update__resources__-1__upload``)."""
        body = MultipartBody.of(fields, files)
        headers = {"User-Agent": USER_AGENT}
        if self._token:
            headers["Authorization"] = self._token
        response = self.session.request(
            "POST",
            f"{self.url}/api/action/{name}",
            headers=headers,
            multipart=body,
            retry=retry,
            timeout=self.timeout,
            allow_redirects=False,
        )
        try:
            return reverse_apicontroller_action(response.url, response.status_code, response.text)
        except ckanapi.CKANAPIError as exc:
            raise self._refused(name, exc, response.status_code) from None

    def download(self, url: str) -> requests.Response:
        """GET a file as a stream (retried like reads); the token goes to this portal's origin only."""
        headers = {"User-Agent": USER_AGENT}
        if self._token and _origin(url) == _origin(self.url):  # never to a host a link points at
            headers["Authorization"] = self._token
        return self.session.get(url, stream=True, timeout=self.timeout, headers=headers)

    def organization(self, name: str) -> dict[str, Any]:
        """The organization, or a clear error if it is missing or hidden from this user.

        With a token, one ``organization_list_for_user`` both finds the organization and proves
        that the portal accepts the token (CKAN treats an unknown token as anonymous, which sees
        no memberships); the user's ``capacity`` in it comes along. Anonymous: ``organization_show``.
        """
        if self._token:
            mine = self.action("organization_list_for_user", {"permission": "read", "include_dataset_count": False})
            for org in mine:
                if name in (org.get("name"), org.get("id")):
                    self._token_accepted = True
                    return dict(org)
            if not mine:
                self.check_token_accepted()
        try:
            return self.action("organization_show", {"id": name, "include_datasets": False, "include_users": False})
        except PortalRefusedError as exc:
            if exc.kind in ("not-found", "not-authorized"):
                raise PortalRefusedError(
                    f"organization '{name}' not found on {self.url} (or not visible to user "
                    f"'{self.whoami()}'); create it on the portal or fix organization.name in "
                    "datasets/catalogue.yaml",
                    exc.kind,
                ) from None
            raise

    def check_token_accepted(self) -> None:
        """With a token set, make sure the portal knows it: ConfigurationError (exit 2) if not.

        CKAN answers requests with an unknown, expired or revoked token as if anonymous, so without
        this check a diff would silently show private datasets as missing. One request, once.
        """
        if not self._token or self._token_accepted:
            return
        try:
            user = self.action("user_show", {})
        except PortalRefusedError as exc:
            if exc.kind not in ("not-found", "not-authorized"):
                raise
            user = None
        if not user or not user.get("name"):
            raise TokenRejectedError(
                f"the portal {self.url} rejects CKAN_API_TOKEN (expired or revoked?): it does not know the "
                "token. Make a new one on the portal (your user page, API Tokens) and set CKAN_API_TOKEN again."
            )
        self._token_accepted = True
        self._user = str(user["name"])

    def license_ids(self) -> set[str]:
        return {lic["id"] for lic in self.action("license_list")}

    def packages_of(self, organization: str) -> list[dict[str, Any]]:
        """All packages of the organization, private ones included, with few requests (paged)."""
        packages: list[dict[str, Any]] = []
        while True:
            page = self.action(
                "package_search",
                {
                    "fq": f'organization:"{organization}"',
                    "include_private": True,
                    "rows": SEARCH_PAGE,
                    "start": len(packages),
                    "sort": "name asc",
                },
            )
            packages += page["results"]
            if not page["results"] or len(packages) >= page["count"]:
                return packages

    def find_package(self, name_or_id: str) -> dict[str, Any] | None:
        try:
            return self.action("package_show", {"id": name_or_id})
        except PortalRefusedError as exc:
            if exc.kind == "not-found":
                return None
            raise

    def whoami(self) -> str:
        """Name of the user behind the token (CKAN's user_show without id), for messages."""
        if not self._token:
            return "anonymous (CKAN_API_TOKEN is not set)"
        if self._user:
            return self._user
        try:
            return str(self.action("user_show", {}).get("name") or "unknown user")
        except PortalError:
            return "unknown user"

    def can_edit(self, organization_id: str) -> bool:
        orgs = self.action("organization_list_for_user", {"permission": "create_dataset"})
        return any(o.get("id") == organization_id or o.get("name") == organization_id for o in orgs)

    def _refused(self, action: str, exc: ckanapi.CKANAPIError, status: int | None = None) -> PublishError:
        if isinstance(exc, ckanapi.ValidationError):
            detail = exc.error_dict if isinstance(exc.error_dict, dict) else exc.args
            fields = {k: v for k, v in detail.items() if k != "__type"} if isinstance(detail, dict) else detail
            if isinstance(fields, dict) and set(fields) == {"match"}:
                # package_revise: the package is no longer what the caller read (its `match` failed).
                return PortalRefusedError(f"{action}: the dataset changed on the portal meanwhile", "conflict")
            return PortalRefusedError(self.redact(f"{action}: CKAN refused the data: {fields}"), "validation")
        if isinstance(exc, ckanapi.NotAuthorized):
            detail = exc.args[0] if exc.args else {}
            message = detail.get("message", "") if isinstance(detail, dict) else str(detail)
            return PortalRefusedError(
                self.redact(f"{action}: not authorized ({message or 'check CKAN_API_TOKEN and the user rights'})"),
                "not-authorized",
            )
        if isinstance(exc, ckanapi.NotFound):
            return PortalRefusedError(self.redact(f"{action}: not found ({exc})"), "not-found")
        answer = _unpack_answer(exc)
        if answer is not None:
            status = answer[0] if status is None else status
            if status is not None and (status in RETRY_STATUSES or status >= 500):
                kind = "a temporary error" if status in RETRY_STATUSES else "an error"
                error = TransientPortalError if status in RETRY_STATUSES else PortalError
                return error(
                    self.redact(f"{action}: the portal answered with {kind} (HTTP {status}, {answer[1]})"),
                    status=status,
                )
            if not answer[2]:
                return NotCkanError(
                    f"{self.url} does not answer like a CKAN portal (HTTP {status}, {answer[1]} for "
                    f"/api/3/action/{action}); check --portal / CKAN_URL: it must be the portal's base URL, "
                    "e.g. https://opendata.example.de"
                )
        text = _printable(self.redact(str(exc)))[:300]
        return PortalRefusedError(f"{action}: unexpected answer from the portal: {text}", "unexpected")


def connect(
    portal: Portal | str | None = None,
    token: str | None = None,
    *,
    ca_bundle: str | None = None,
    allow_http: bool = False,
    timeout: float = 60.0,
) -> Portal:
    """The one way every command and ``publish.load``/``publish.pull`` reach a portal.

    ``portal``: a Portal (returned as it is), a URL, or None for ``CKAN_URL``. The token comes from
    ``token`` or else ``CKAN_API_TOKEN`` (never from a command-line argument); the CA bundle from
    ``ca_bundle`` or else ``CKAN_CA_BUNDLE``.
    """
    if isinstance(portal, Portal):
        return portal
    url = portal or os.environ.get("CKAN_URL") or ""
    if not url:
        raise ConfigurationError("no portal: pass --portal URL (or portal=...) or set CKAN_URL")
    return Portal(
        url,
        token if token is not None else (os.environ.get("CKAN_API_TOKEN") or None),
        timeout=timeout,
        ca_bundle=ca_bundle or os.environ.get("CKAN_CA_BUNDLE") or None,
        allow_http=allow_http,
    )


class _TrustAlsoAdapter(requests.adapters.HTTPAdapter):
    """HTTPS with an SSL context that trusts the usual CAs and a private one as well.

    (``session.verify = FILE`` would trust FILE *instead* of the usual CAs, and
    ``REQUESTS_CA_BUNDLE`` in the environment silently overrides it.)
    """

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__(pool_maxsize=POOL_SIZE)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)


def _context_trusting(ca_bundle: str) -> ssl.SSLContext:
    """The default verifying context, plus the CA certificates (PEM) in ``ca_bundle``."""
    if not os.path.isfile(ca_bundle):
        raise ConfigurationError(f"CA bundle not found: {ca_bundle} (a PEM file of CA certificates)")
    context = ssl.create_default_context()
    try:
        context.load_verify_locations(cafile=ca_bundle)
    except (ssl.SSLError, OSError) as exc:
        raise ConfigurationError(f"CA bundle {ca_bundle} holds no usable PEM certificates ({exc})") from None
    return context


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80)


def _describe_exception(exc: Exception, url: str, attempts: int) -> str:
    """What went wrong, where (no query string), and what to check."""
    where = shown_url(url).split("?")[0]
    if isinstance(exc, requests.exceptions.SSLError):
        return (
            f"{where}: the TLS certificate could not be verified ({type(exc).__name__}); "
            "for a portal with a private CA pass its certificates with --ca-bundle (or CKAN_CA_BUNDLE)"
        )
    if isinstance(exc, requests.Timeout):
        return (
            f"{where}: timed out after {attempts} attempt(s) ({type(exc).__name__}); "
            "the portal is slow or unreachable: rerun later, or raise --timeout"
        )
    return (
        f"{where}: connection failed after {attempts} attempt(s) ({type(exc).__name__}); "
        "check the portal URL (--portal or CKAN_URL) and that the portal is up"
    )


def _unpack_answer(exc: ckanapi.CKANAPIError) -> tuple[int | None, str, bool] | None:
    """(HTTP status, what the body looks like, whether it is CKAN's JSON) of an answer ckanapi
    could not read, from the ``repr([url, status, body])`` it puts in its error; None if not that."""
    try:
        _, status, body = ast.literal_eval(str(exc))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    try:
        parsed = json.loads(text)
        is_ckan = isinstance(parsed, dict) and "success" in parsed
    except ValueError:
        parsed, is_ckan = None, False
    head = text.lstrip()[:200].lower()
    if is_ckan:
        # CKAN's own error envelope, e.g. {"success": false, "error": {"message": "Internal Server Error"}}.
        error = parsed.get("error") if isinstance(parsed, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        said = _printable(str(message))[:120] if message else ""
        looks = f'CKAN says "{said}"; the portal\'s log has the cause' if said else "CKAN's JSON without a message"
    else:
        looks = (
            "an HTML page"
            if head.startswith(("<!doctype html", "<html")) or "<html" in head
            else (
                "JSON that is not CKAN's"
                if text.lstrip()[:1] in "{[" and text.strip()
                else "an empty body"
                if not text.strip()
                else "a body that is not JSON"
            )
        )
    try:
        code = int(status)
    except (TypeError, ValueError):
        code = None
    return code, looks, is_ckan


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else " " for ch in text)


def _parse_retry_after(value: str) -> float | None:
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
