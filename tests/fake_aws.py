"""A local AWS double for the ``mtls-doctor aws`` tests: moto, plus ELBv2 trust stores.

moto has no ELBv2 trust stores and drops a listener's ``MutualAuthentication``, so this module
serves one HTTP endpoint (like localstack) where:

* ELBv2 Query requests (form-encoded POST, ``Version=2015-12-01``, credential scope
  ``elasticloadbalancing`` or unsigned) whose ``Action`` is in :data:`ELBV2_ACTIONS` are
  answered by :class:`FakeAws` itself, from its own state;
* ``GET /_fake/{bundle,revocation}/<token>`` serves the pre-signed-looking download URLs that
  ``GetTrustStoreCaCertificatesBundle`` / ``GetTrustStoreRevocationContent`` return;
* everything else (S3 above all) goes to moto's in-process request dispatcher, the one
  ``mock_aws`` uses, after the URL is rewritten to ``https://{service}.{region}.amazonaws.com``
  from the request's SigV4 credential scope (s3/us-east-1 when unsigned).

moto's own server app (``moto.moto_server``) needs Flask and flask-cors, which the test extras
do not install, hence the small WSGI adapter :meth:`FakeAws._moto`. moto's state is global: it
is reset when the fake starts and when it stops. Do not mix with an active ``mock_aws()``,
which would intercept the clients before they reach the server.

Modelling choices (assumptions, not documented AWS behaviour) are marked "Assumption:".
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, quote

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest
from botocore.compat import HTTPHeaders
from cryptography import x509
from moto.core.botocore_stubber import BotocoreStubber
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

ACCOUNT = "123456789012"
"""moto's default account; every ARN the fake makes uses it."""
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
NAMESPACE = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"
TRUST_STORE_NAME = re.compile(r"([a-zA-Z0-9]+-)*[a-zA-Z0-9]+")
PEM_BLOCK = re.compile(rb"-----BEGIN ([^\r\n-]+)-----\r?\n(.*?)-----END \1-----", re.S)
INTERNAL_AUTH = ("AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/s3/aws4_request, "
                 "SignedHeaders=host, Signature=0")
"""moto refuses anonymous reads of private objects; it checks no signatures by default."""
XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

Params = dict[str, Any]


class AwsError(Exception):
    """An AWS error response; ``code`` is the wire code (no ``Exception`` suffix)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


# --------------------------------------------------------------------------- state


@dataclass
class Revocation:
    id: int
    content: bytes
    entries: int
    type: str = "CRL"


@dataclass
class TrustStore:
    arn: str
    name: str
    bundle: bytes
    """Snapshot of the CA bundle taken at create/modify time; later S3 writes do not change it."""
    certificates: int
    source: tuple[str, str, str | None]
    """(bucket, key, version or None) the bundle was read from."""
    tags: dict[str, str] = field(default_factory=dict)
    status: str = "CREATING"
    polls_left: int = 0
    revocations: dict[int, Revocation] = field(default_factory=dict)

    def poll(self) -> None:
        """One DescribeTrustStores call included this store."""
        self.polls_left -= 1
        if self.polls_left <= 0:
            self.status = "ACTIVE"

    def describe(self) -> dict[str, Any]:
        return {
            "Name": self.name,
            "TrustStoreArn": self.arn,
            "Status": self.status,
            "NumberOfCaCertificates": self.certificates,
            "TotalRevokedEntries": sum(r.entries for r in self.revocations.values()),
        }

    def describe_revocation(self, rev: Revocation) -> dict[str, Any]:
        return {
            "TrustStoreArn": self.arn,
            "RevocationId": rev.id,
            "RevocationType": rev.type,
            "NumberOfRevokedEntries": rev.entries,
        }


@dataclass
class LoadBalancer:
    arn: str
    name: str
    created: datetime = field(default_factory=lambda: datetime.now(UTC))

    def describe(self, region: str) -> dict[str, Any]:
        return {
            "LoadBalancerArn": self.arn,
            "DNSName": f"{self.name}-{self.arn[-8:]}.{region}.elb.amazonaws.com",
            "CanonicalHostedZoneId": "Z35SXDOTRQ7X7K",
            "CreatedTime": self.created,
            "LoadBalancerName": self.name,
            "Scheme": "internet-facing",
            "VpcId": "vpc-0fake0000000000000",
            "State": {"Code": "active"},
            "Type": "application",
            "IpAddressType": "ipv4",
        }


@dataclass
class Listener:
    arn: str
    load_balancer_arn: str
    port: int
    protocol: str
    mode: str
    trust_store_arn: str | None
    ignore_expiry: bool
    advertise: str

    def describe(self) -> dict[str, Any]:
        mutual: dict[str, Any] = {"Mode": self.mode}
        if self.trust_store_arn is not None:  # Assumption: only then are the rest shown
            mutual |= {
                "TrustStoreArn": self.trust_store_arn,
                "IgnoreClientCertificateExpiry": self.ignore_expiry,
                "TrustStoreAssociationStatus": "active",
                "AdvertiseTrustStoreCaNames": self.advertise,
            }
        return {
            "ListenerArn": self.arn,
            "LoadBalancerArn": self.load_balancer_arn,
            "Port": self.port,
            "Protocol": self.protocol,
            "SslPolicy": SSL_POLICY if self.protocol == "HTTPS" else None,
            "MutualAuthentication": mutual,
        }


# --------------------------------------------------------------------------- validators


def validate_bundle(data: bytes) -> int:
    """Default CA bundle check: the number of certificates, or ValueError.

    Non-empty; every PEM block is a ``CERTIFICATE`` that ``cryptography`` parses; nothing but
    whitespace outside the blocks. Assumption: AWS's real checks are stricter or looser in
    ways not documented (key sizes, CA flags...); replace ``FakeAws.validate_bundle`` to model
    them.
    """
    count = pos = 0
    for m in PEM_BLOCK.finditer(data):
        if data[pos : m.start()].strip():
            raise ValueError(f"unexpected data before PEM block {count + 1}")
        if m[1] != b"CERTIFICATE":
            raise ValueError(f"PEM block {count + 1} is {m[1].decode(errors='replace')!r}")
        with warnings.catch_warnings():  # odd serials warn; pytest here makes warnings errors
            warnings.simplefilter("ignore")
            x509.load_pem_x509_certificate(m[0])
        count, pos = count + 1, m.end()
    if data[pos:].strip():
        raise ValueError("unexpected data after the last certificate")
    if not count:
        raise ValueError("the bundle holds no certificate")
    return count


def count_crl_entries(data: bytes) -> int:
    """Entries of a PEM or DER CRL, or ValueError. Assumption: AWS does not check that the
    CRL's issuer is in the trust store or that its signature verifies; neither does this."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if data.lstrip().startswith(b"-----BEGIN"):
            return len(x509.load_pem_x509_crl(data))
        return len(x509.load_der_x509_crl(data))


# --------------------------------------------------------------------------- wire format


def decode_params(form: dict[str, str]) -> Params:
    """Query-protocol form fields to nested dicts and lists (``X.member.N`` → list)."""
    tree: dict[str, Any] = {}
    for key, value in form.items():
        if key in ("Action", "Version"):
            continue
        *path, leaf = key.split(".")
        node = tree
        for part in path:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise AwsError("ValidationError", f"malformed parameter {key}")
        node[leaf] = value

    def lists(node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        if set(node) == {"member"} and isinstance(node["member"], dict):
            members = node["member"]
            return [lists(members[k]) for k in sorted(members, key=_int)]
        return {k: lists(v) for k, v in node.items()}

    return lists(tree)  # type: ignore[no-any-return]


def to_xml(name: str, value: Any) -> str:
    """Serialize a result value: dicts are structures, lists are ``<member>`` lists, None
    members are left out."""
    if isinstance(value, dict):
        inner = "".join(to_xml(k, v) for k, v in value.items() if v is not None)
    elif isinstance(value, list):
        inner = "".join(to_xml("member", v) for v in value)
    elif isinstance(value, bool):
        inner = "true" if value else "false"
    elif isinstance(value, datetime):
        inner = value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    else:
        text = XML_INVALID.sub("", str(value))
        inner = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<{name}>{inner}</{name}>"


def success_xml(action: str, result: dict[str, Any]) -> str:
    meta = {"RequestId": str(uuid.uuid4())}
    body = to_xml(f"{action}Result", result) + to_xml("ResponseMetadata", meta)
    return f'<{action}Response xmlns="{NAMESPACE}">{body}</{action}Response>'


def error_xml(err: AwsError) -> str:
    kind = "Sender" if err.status < 500 else "Receiver"
    error = to_xml("Error", {"Type": kind, "Code": err.code, "Message": err.message})
    request_id = to_xml("RequestId", str(uuid.uuid4()))
    return f'<ErrorResponse xmlns="{NAMESPACE}">{error}{request_id}</ErrorResponse>'


def _int(text: Any, name: str = "value") -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        raise AwsError("ValidationError", f"{name} must be an integer: {text!r}") from None


def _body(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    return b"".join(c.encode() if isinstance(c, str) else bytes(c) for c in body)


def _scope(environ: dict[str, Any]) -> tuple[str, str] | None:
    """(service, region) from the SigV4 Authorization header or X-Amz-Credential query."""
    m = re.search(r"Credential=([^,\s]+)", environ.get("HTTP_AUTHORIZATION", ""))
    credential = m[1] if m else parse_qs(environ.get("QUERY_STRING", "")).get(
        "X-Amz-Credential", [""])[0]
    parts = credential.split("/")
    return (parts[3], parts[2]) if len(parts) == 5 else None


class _Handler(WSGIRequestHandler):
    # HTTP/1.0: one request per connection, so no client keeps a socket open (no
    # ResourceWarning when a client is garbage collected) and shutdown has nothing to wait on.
    protocol_version = "HTTP/1.0"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


# --------------------------------------------------------------------------- the fake


class FakeAws:
    """State and WSGI app of one fake; use :func:`fake_aws` to run it."""

    def __init__(self, region: str = "us-east-1") -> None:
        self.region = region
        self.url = ""
        self.polls_until_active = 3
        """DescribeTrustStores calls that must include a new or modified store before it is
        ACTIVE: with 3, a poller sees CREATING, CREATING, ACTIVE. 0 makes it ACTIVE at once."""
        self.page_size = 2
        """Page size when a request gives no PageSize: small, so only paginated reads see all."""
        self.trust_store_limit = 20
        self.validate_bundle: Callable[[bytes], int] = validate_bundle
        self.trust_stores: dict[str, TrustStore] = {}
        self.load_balancers: dict[str, LoadBalancer] = {}
        self.listeners: dict[str, Listener] = {}
        self.calls: list[tuple[str, Params]] = []
        """(Action, decoded params) of every ELBv2 request the fake answered (failed or not)."""
        self._failures: dict[str, list[AwsError]] = {}
        self._downloads: dict[str, tuple[str, bytes]] = {}
        self._next_revocation_id = 1
        self._lock = threading.RLock()
        self._stubber = BotocoreStubber()
        self._clients: list[Any] = []
        self._session = boto3.session.Session()

    # ---------------------------------------------------------------- Python interface

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client for this endpoint with dummy credentials; closed when the fake
        stops. All come from one session, so their ``exceptions`` classes are the same ones
        (a client from another session has its own classes: match those by error code)."""
        client = self._session.client(
            service,
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            **kwargs,
        )
        self._clients.append(client)
        return client

    def fail_next(
        self,
        action: str,
        code: str = "InternalFailure",
        message: str = "injected failure",
        status: int = 500,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ELBv2 ``action`` with this error. Note that
        botocore retries 5xx and throttling codes, so one 500 is usually invisible to callers
        with the default retry configuration."""
        with self._lock:
            self._failures.setdefault(action, []).extend(
                AwsError(code, message, status) for _ in range(times))

    def add_load_balancer(self, name: str | None = None) -> str:
        """Add an application load balancer; return its ARN."""
        name = name or f"fake-alb-{len(self.load_balancers) + 1}"
        arn = (f"arn:aws:elasticloadbalancing:{self.region}:{ACCOUNT}:loadbalancer/app/"
               f"{name}/{secrets.token_hex(8)}")
        with self._lock:
            self.load_balancers[arn] = LoadBalancer(arn, name)
        return arn

    def add_listener(
        self,
        trust_store_arn: str | None = None,
        *,
        mode: str = "verify",
        port: int = 443,
        protocol: str = "HTTPS",
        ignore_expiry: bool = False,
        advertise: str = "off",
        load_balancer_arn: str | None = None,
    ) -> str:
        """Add a listener (on a new load balancer unless ``load_balancer_arn``); return its
        ARN."""
        if trust_store_arn is not None and trust_store_arn not in self.trust_stores:
            raise ValueError(f"no trust store {trust_store_arn}")
        if (mode == "verify") != (trust_store_arn is not None):
            raise ValueError("mode 'verify' needs a trust store, and only it takes one")
        lb_arn = load_balancer_arn or self.add_load_balancer()
        if lb_arn not in self.load_balancers:
            raise ValueError(f"no load balancer {lb_arn}")
        arn = lb_arn.replace(":loadbalancer/", ":listener/") + "/" + secrets.token_hex(8)
        with self._lock:
            self.listeners[arn] = Listener(arn, lb_arn, port, protocol, mode, trust_store_arn,
                                           ignore_expiry, advertise)
        return arn

    def remove_listener(self, listener_arn: str) -> None:
        with self._lock:
            del self.listeners[listener_arn]

    # ---------------------------------------------------------------- server plumbing

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """WSGI entry: download URLs, then ELBv2 actions of ELBV2_ACTIONS, then moto."""
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_fake/"):
            return self._download(path, start_response)
        length, stream = environ.get("CONTENT_LENGTH"), environ["wsgi.input"]
        body = stream.read(int(length)) if length else (
            stream.read() if environ.get("wsgi.input_terminated") else b"")
        scope = _scope(environ)
        if (environ["REQUEST_METHOD"] == "POST"
                and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded")
                and (scope is None or scope[0] == "elasticloadbalancing")):
            form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            if form.get("Version") == "2015-12-01" and form.get("Action") in ELBV2_ACTIONS:
                status, xml = self._elbv2(form)
                return _respond(start_response, status, [("Content-Type", "text/xml")],
                                xml.encode())
        return self._forward(environ, body, scope or ("s3", "us-east-1"), start_response)

    def _forward(self, environ: dict[str, Any], body: bytes, scope: tuple[str, str],
                 start_response: Callable[..., Any]) -> Any:
        """Answer with moto, as if the request had gone to the service's AWS host."""
        uri = environ.get("RAW_URI") or quote(environ.get("PATH_INFO", "")) + (
            "?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else "")
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items()
                   if k.startswith("HTTP_") and k not in ("HTTP_HOST", "HTTP_TRANSFER_ENCODING")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        method = environ["REQUEST_METHOD"]
        status, out_headers, out = self._moto(
            method, f"https://{scope[0]}.{scope[1]}.amazonaws.com{uri}", headers, body)
        hop = {"connection", "transfer-encoding", "keep-alive", "content-length", "status",
               "date", "server"}
        response_headers = [(k, str(v)) for k, v in out_headers.items() if k.lower() not in hop]
        if method != "HEAD":
            return _respond(start_response, status, response_headers, out)
        length = {k.lower(): v for k, v in out_headers.items()}.get("content-length", 0)
        return _respond(start_response, status, response_headers, b"", int(length))

    def _moto(self, method: str, url: str, headers: dict[str, str] | None = None,
              body: bytes = b"") -> tuple[int, Any, bytes]:
        """Run one request through moto's in-process dispatcher (as ``mock_aws`` does)."""
        http_headers = HTTPHeaders()
        for k, v in (headers or {}).items():
            http_headers[k] = v
        http_headers["Host"] = url.split("/")[2]
        http_headers["Content-Length"] = str(len(body))
        request = AWSPreparedRequest(method=method, url=url, headers=http_headers, body=body,
                                     stream_output=False)
        with self._lock:
            try:
                result = self._stubber.process_request(request)
            except NotImplementedError as e:  # 501: botocore does not retry it
                return 501, {"Content-Type": "text/plain"}, f"moto: {e}".encode()
            except Exception as e:
                return 500, {"Content-Type": "text/plain"}, f"moto: {e!r}".encode()
        if result is None:
            return 404, {"Content-Type": "text/plain"}, b"moto serves no such URL"
        status, out_headers, out = result
        return int(status), dict(out_headers or {}), _body(out)

    def _elbv2(self, form: dict[str, str]) -> tuple[int, str]:
        action = form["Action"]
        with self._lock:
            try:
                params = decode_params(form)
                self.calls.append((action, params))
                if self._failures.get(action):
                    raise self._failures[action].pop(0)
                return 200, success_xml(action, ELBV2_ACTIONS[action](self, params))
            except AwsError as e:
                return e.status, error_xml(e)
            except KeyError as e:
                return 400, error_xml(AwsError("ValidationError", f"missing parameter {e}"))
            except Exception as e:  # a bug in the fake: make it visible, do not hang
                return 500, error_xml(AwsError("InternalFailure", f"fake_aws: {e!r}", 500))

    def _download(self, path: str, start_response: Callable[..., Any]) -> Any:
        _, _, kind, token = [*path.split("/"), "", ""][:4]
        with self._lock:
            found = self._downloads.get(token)
        if found is None or found[0] != kind:
            body = b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
            return _respond(start_response, 403, [("Content-Type", "application/xml")], body)
        return _respond(start_response, 200, [("Content-Type", "application/octet-stream")],
                        found[1])

    # ---------------------------------------------------------------- helpers for handlers

    def _store(self, arn: str) -> TrustStore:
        if arn not in self.trust_stores:
            raise AwsError("TrustStoreNotFound", f"Trust store '{arn}' not found")
        return self.trust_stores[arn]

    def _revocation(self, store: TrustStore, rid: Any) -> Revocation:
        rev = store.revocations.get(_int(rid, "RevocationId"))
        if rev is None:
            raise AwsError("RevocationIdNotFound", f"Revocation ID '{rid}' not found")
        return rev

    def _s3_get(self, bucket: str, key: str, version: str | None, missing: str) -> bytes:
        query = f"?versionId={quote(version, safe='')}" if version else ""
        url = f"https://s3.{self.region}.amazonaws.com/{quote(bucket)}/{quote(key)}{query}"
        status, _, body = self._moto("GET", url, {"Authorization": INTERNAL_AUTH})
        if status != 200:
            where = f"s3://{bucket}/{key}" + (f" version {version}" if version else "")
            raise AwsError(missing, f"Unable to fetch {where} from S3")
        return body

    def _read_bundle(self, p: Params) -> tuple[bytes, int, tuple[str, str, str | None]]:
        source = (p["CaCertificatesBundleS3Bucket"], p["CaCertificatesBundleS3Key"],
                  p.get("CaCertificatesBundleS3ObjectVersion") or None)
        data = self._s3_get(*source, "CaCertificatesBundleNotFound")
        try:
            count = self.validate_bundle(data)
        except ValueError as e:
            raise AwsError("InvalidCaCertificatesBundle", f"Invalid CA bundle: {e}") from None
        return data, count, source

    def _page(self, items: list[Any], p: Params) -> tuple[list[Any], str | None]:
        size = _int(p.get("PageSize") or self.page_size, "PageSize")
        start = _int(p.get("Marker") or 0, "Marker")
        if not 1 <= size <= 400 or start < 0:
            raise AwsError("ValidationError", "PageSize must be 1..400 and Marker valid")
        end = start + size
        return items[start:end], (str(end) if end < len(items) else None)

    def _location(self, kind: str, data: bytes) -> dict[str, Any]:
        token = secrets.token_urlsafe(16)
        self._downloads[token] = (kind, data)
        query = (f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=600"
                 f"&X-Amz-Signature={secrets.token_hex(32)}")
        return {"Location": f"{self.url}/_fake/{kind}/{token}?{query}"}

    # ---------------------------------------------------------------- ELBv2 handlers

    def _create_trust_store(self, p: Params) -> dict[str, Any]:
        name = p["Name"]
        if not TRUST_STORE_NAME.fullmatch(name) or len(name) > 32:
            raise AwsError("ValidationError", f"Invalid trust store name '{name}'")
        if any(s.name == name for s in self.trust_stores.values()):
            raise AwsError("DuplicateTrustStoreName", f"A trust store named '{name}' exists")
        if len(self.trust_stores) >= self.trust_store_limit:
            raise AwsError("TooManyTrustStores", "You've reached the limit on trust stores")
        data, count, source = self._read_bundle(p)
        arn = (f"arn:aws:elasticloadbalancing:{self.region}:{ACCOUNT}:truststore/"
               f"{name}/{secrets.token_hex(8)}")
        tags = {t["Key"]: t.get("Value", "") for t in p.get("Tags") or []}
        store = TrustStore(arn, name, data, count, source, tags)
        self._restart(store)
        self.trust_stores[arn] = store
        return {"TrustStores": [store.describe()]}

    def _restart(self, store: TrustStore) -> None:
        store.polls_left = self.polls_until_active
        store.status = "CREATING" if store.polls_left > 0 else "ACTIVE"

    def _modify_trust_store(self, p: Params) -> dict[str, Any]:
        """Assumption: a modified store goes back to CREATING for ``polls_until_active``
        describes, as a new one does (AWS documents no status for modification)."""
        store = self._store(p["TrustStoreArn"])
        store.bundle, store.certificates, store.source = self._read_bundle(p)
        self._restart(store)
        return {"TrustStores": [store.describe()]}

    def _describe_trust_stores(self, p: Params) -> dict[str, Any]:
        """Assumption: giving both TrustStoreArns and Names is a ValidationError."""
        arns, names = p.get("TrustStoreArns") or [], p.get("Names") or []
        if arns and names:
            raise AwsError("ValidationError", "Specify either TrustStoreArns or Names")
        stores = [self._store(a) for a in arns] if arns else list(self.trust_stores.values())
        if names:
            by_name = {s.name: s for s in stores}
            missing = [n for n in names if n not in by_name]
            if missing:
                raise AwsError("TrustStoreNotFound", f"Trust stores not found: {missing}")
            stores = [by_name[n] for n in names]
        page, marker = self._page(stores, p)
        for store in page:
            store.poll()
        return {"TrustStores": [s.describe() for s in page], "NextMarker": marker}

    def _describe_trust_store_associations(self, p: Params) -> dict[str, Any]:
        arn = self._store(p["TrustStoreArn"]).arn
        lbs = dict.fromkeys(ls.load_balancer_arn for ls in self.listeners.values()
                            if ls.trust_store_arn == arn)
        page, marker = self._page(list(lbs), p)
        return {"TrustStoreAssociations": [{"ResourceArn": a} for a in page],
                "NextMarker": marker}

    def _describe_trust_store_revocations(self, p: Params) -> dict[str, Any]:
        store = self._store(p["TrustStoreArn"])
        ids = p.get("RevocationIds") or []
        revs = ([self._revocation(store, i) for i in ids] if ids
                else sorted(store.revocations.values(), key=lambda r: r.id))
        page, marker = self._page(revs, p)
        return {"TrustStoreRevocations": [store.describe_revocation(r) for r in page],
                "NextMarker": marker}

    def _add_trust_store_revocations(self, p: Params) -> dict[str, Any]:
        store = self._store(p["TrustStoreArn"])
        new = []
        for content in p.get("RevocationContents") or []:
            kind = content.get("RevocationType") or "CRL"
            if kind != "CRL":
                raise AwsError("ValidationError", f"Unsupported RevocationType '{kind}'")
            data = self._s3_get(content["S3Bucket"], content["S3Key"],
                                content.get("S3ObjectVersion") or None,
                                "RevocationContentNotFound")
            try:
                entries = count_crl_entries(data)
            except ValueError as e:
                raise AwsError("InvalidRevocationContent", f"Invalid CRL: {e}") from None
            new.append((data, entries))
        revs = []
        for data, entries in new:  # all or nothing
            rev = Revocation(self._next_revocation_id, data, entries)
            self._next_revocation_id += 1
            store.revocations[rev.id] = rev
            revs.append(store.describe_revocation(rev))
        return {"TrustStoreRevocations": revs}

    def _remove_trust_store_revocations(self, p: Params) -> dict[str, Any]:
        store = self._store(p["TrustStoreArn"])
        for rev in [self._revocation(store, i) for i in p.get("RevocationIds") or []]:
            del store.revocations[rev.id]
        return {}

    def _get_trust_store_ca_certificates_bundle(self, p: Params) -> dict[str, Any]:
        return self._location("bundle", self._store(p["TrustStoreArn"]).bundle)

    def _get_trust_store_revocation_content(self, p: Params) -> dict[str, Any]:
        store = self._store(p["TrustStoreArn"])
        return self._location("revocation", self._revocation(store, p["RevocationId"]).content)

    def _delete_trust_store(self, p: Params) -> dict[str, Any]:
        arn = self._store(p["TrustStoreArn"]).arn
        if any(ls.trust_store_arn == arn for ls in self.listeners.values()):
            raise AwsError("TrustStoreInUse", f"Trust store '{arn}' is in use by a listener")
        del self.trust_stores[arn]
        return {}

    def _describe_load_balancers(self, p: Params) -> dict[str, Any]:
        """Only the fake's own load balancers (see :meth:`add_load_balancer`), not moto's."""
        arns, names = p.get("LoadBalancerArns") or [], p.get("Names") or []
        lbs = list(self.load_balancers.values())
        if arns or names:
            lbs = [lb for lb in lbs if lb.arn in arns or lb.name in names]
            if len(lbs) != len(arns) + len(names):
                raise AwsError("LoadBalancerNotFound", "One or more load balancers not found")
        page, marker = self._page(lbs, p)
        return {"LoadBalancers": [lb.describe(self.region) for lb in page], "NextMarker": marker}

    def _describe_listeners(self, p: Params) -> dict[str, Any]:
        """Only the fake's own listeners (see :meth:`add_listener`), not moto's."""
        lb_arn, arns = p.get("LoadBalancerArn"), p.get("ListenerArns") or []
        if not lb_arn and not arns:
            raise AwsError("ValidationError", "Specify a load balancer or listener ARNs")
        if lb_arn and lb_arn not in self.load_balancers:
            raise AwsError("LoadBalancerNotFound", f"Load balancer '{lb_arn}' not found")
        missing = [a for a in arns if a not in self.listeners]
        if missing:
            raise AwsError("ListenerNotFound", f"Listeners not found: {missing}")
        found = [self.listeners[a] for a in arns] if arns else list(self.listeners.values())
        found = [ls for ls in found if not lb_arn or ls.load_balancer_arn == lb_arn]
        page, marker = self._page(found, p)
        return {"Listeners": [ls.describe() for ls in page], "NextMarker": marker}

    def _describe_account_limits(self, p: Params) -> dict[str, Any]:
        """Assumption: the trust store quota is named ``trust-stores``; the real name is not
        in the API model. The other limits are AWS's documented defaults."""
        limits = [
            {"Name": "application-load-balancers", "Max": "50"},
            {"Name": "listeners-per-application-load-balancer", "Max": "50"},
            {"Name": "target-groups", "Max": "3000"},
            {"Name": "trust-stores", "Max": str(self.trust_store_limit)},
        ]
        page, marker = self._page(limits, p)
        return {"Limits": page, "NextMarker": marker}


ELBV2_ACTIONS: dict[str, Callable[[FakeAws, Params], dict[str, Any]]] = {
    "CreateTrustStore": FakeAws._create_trust_store,
    "ModifyTrustStore": FakeAws._modify_trust_store,
    "DescribeTrustStores": FakeAws._describe_trust_stores,
    "DescribeTrustStoreAssociations": FakeAws._describe_trust_store_associations,
    "DescribeTrustStoreRevocations": FakeAws._describe_trust_store_revocations,
    "AddTrustStoreRevocations": FakeAws._add_trust_store_revocations,
    "RemoveTrustStoreRevocations": FakeAws._remove_trust_store_revocations,
    "GetTrustStoreCaCertificatesBundle": FakeAws._get_trust_store_ca_certificates_bundle,
    "GetTrustStoreRevocationContent": FakeAws._get_trust_store_revocation_content,
    "DeleteTrustStore": FakeAws._delete_trust_store,
    "DescribeLoadBalancers": FakeAws._describe_load_balancers,
    "DescribeListeners": FakeAws._describe_listeners,
    "DescribeAccountLimits": FakeAws._describe_account_limits,
}
"""ELBv2 actions the fake answers itself; any other ELBv2 action goes to moto."""


def _respond(start_response: Callable[..., Any], status: int, headers: list[tuple[str, str]],
             body: bytes, length: int | None = None) -> list[bytes]:
    """Send ``body`` with a Content-Length (``length`` for HEAD, where the body is empty)."""
    length = len(body) if length is None else length
    start_response(f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}",
                   [*headers, ("Content-Length", str(length))])
    return [body]


@contextmanager
def fake_aws(region: str = "us-east-1") -> Iterator[FakeAws]:
    """Run a fresh fake on 127.0.0.1 (a free port) in a daemon thread; stop it on exit."""
    aws = FakeAws(region)
    aws._moto("POST", "https://motoapi.amazonaws.com/moto-api/reset")
    server: BaseWSGIServer = make_server("127.0.0.1", 0, aws, threaded=True,
                                         request_handler=_Handler)
    aws.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="fake-aws",
                              daemon=True)
    thread.start()
    try:
        yield aws
    finally:
        for client in aws._clients:
            client.close()
        server.shutdown()
        thread.join()
        server.server_close()
        aws._moto("POST", "https://motoapi.amazonaws.com/moto-api/reset")


@pytest.fixture
def fake_aws_endpoint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeAws]:
    """A running :func:`fake_aws`, with dummy credentials in the environment and no AWS
    config, profile or endpoint variables left that could reach real AWS.

    Use it from a test module with ``from fake_aws import fake_aws_endpoint  # noqa: F401``.
    """
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-such-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-such-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    with fake_aws() as aws:
        yield aws
