"""Live trust stores, listeners and S3 through boto3: the only module that imports it.

``pip install 'mtls-doctor[aws]'`` brings boto3. Credentials come from boto3's standard chain
(environment, profile, SSO, instance role); ``profile``, ``region`` and ``endpoint_url`` override
it (``AWS_ENDPOINT_URL`` is honoured by boto3 itself). Every list is read with a paginator.
Every failure becomes an :class:`AwsError` (exit code 3) that says what to do; no credential or
pre-signed URL ever appears in a message.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from mtls_doctor.errors import MtlsDoctorError, UsageError

if TYPE_CHECKING:
    import boto3

TRUST_STORE_NAME = re.compile(r"([a-zA-Z0-9]+-)*[a-zA-Z0-9]+")
"""The API's name pattern (1 to 32 characters); botocore does not check it client-side."""
TRUST_STORE_ARN = re.compile(r"arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:truststore/")
DOWNLOAD_LIMIT = 64 * 1024 * 1024  # above the 50 MB CRL quota

# What to do about the errors users meet, by wire code (the exception name without the suffix).
FIXES = {
    "InvalidCaCertificatesBundle": "run `mtls-doctor check` on the bundle to see what the API "
                                   "refuses",
    "CaCertificatesBundleNotFound": "check the bucket, key and version; the bucket must be in "
                                    "the load balancer's Region and readable by you "
                                    "(s3:GetObject, s3:GetObjectVersion)",
    "InvalidRevocationContent": "run `mtls-doctor check BUNDLE --crl FILE` to see what is wrong "
                                "with the CRL",
    "RevocationContentNotFound": "check the CRL's bucket, key and version, and that you can "
                                 "read it",
    "TrustStoreNotFound": "list the trust stores with `mtls-doctor aws inspect` (is the Region "
                          "right?)",
    "RevocationIdNotFound": "list the revocations with `mtls-doctor aws inspect`",
    "DuplicateTrustStoreName": "choose another name, or push to the existing trust store with "
                               "`mtls-doctor aws push`",
    "TooManyTrustStores": "delete an unused trust store, or ask for a higher quota (Service "
                          "Quotas, Elastic Load Balancing: trust stores per account)",
    "TooManyTrustStoreRevocationEntries": "remove old revocations (--replace-crls) or split the "
                                          "CRLs; the quota is 500,000 entries per trust store",
    "TrustStoreInUse": "detach it from its listeners first",
    "AccessDenied": "your identity lacks a permission this command needs; see 'Use with your "
                    "AWS account' in the README for the minimal policy",
    "ExpiredToken": "refresh your credentials (e.g. `aws sso login`)",
    "InvalidClientTokenId": "the access key is not valid in this account or Region",
    "SignatureDoesNotMatch": "the secret key does not match the access key",
    "Throttling": "AWS is throttling the calls; try again in a minute",
}
_ALIASES = {"AccessDeniedException": "AccessDenied", "UnauthorizedOperation": "AccessDenied",
            "ExpiredTokenException": "ExpiredToken", "UnrecognizedClientException":
            "InvalidClientTokenId", "ThrottlingException": "Throttling",
            "AssociationNotFound": "TrustStoreNotFound"}


class AwsError(MtlsDoctorError):
    """AWS refused a call, or could not be reached. ``code`` is AWS's error code, if any."""

    def __init__(self, message: str, fix: str | None = None, code: str | None = None) -> None:
        super().__init__(message, fix)
        self.code = code


@dataclass(frozen=True)
class S3Object:
    """``s3://bucket/key``."""

    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Object:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        if not uri.startswith("s3://") or not bucket or not key or key.endswith("/"):
            raise UsageError(f"{uri!r} is not an S3 object URI", "write s3://BUCKET/KEY")
        return cls(bucket, key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class TrustStoreInfo:
    """What DescribeTrustStores says of one trust store."""

    name: str
    arn: str
    status: str
    number_of_ca_certificates: int
    total_revoked_entries: int

    @classmethod
    def of(cls, item: dict[str, Any]) -> TrustStoreInfo:
        return cls(item["Name"], item["TrustStoreArn"], item.get("Status", "?"),
                   int(item.get("NumberOfCaCertificates", 0)),
                   int(item.get("TotalRevokedEntries", 0)))


@dataclass(frozen=True)
class Listener:
    """A listener that uses a trust store, with its mutual TLS settings."""

    listener_arn: str
    load_balancer_arn: str
    port: int | None
    mode: str
    ignore_client_certificate_expiry: bool | None
    advertise_trust_store_ca_names: str | None


def validate_name(name: str) -> None:
    """Refuse a trust store name the API would refuse, before any call is made."""
    if not 1 <= len(name) <= 32 or not TRUST_STORE_NAME.fullmatch(name):
        raise UsageError(f"{name!r} is not a valid trust store name", "use 1 to 32 letters, "
                         "digits and single hyphens, not at the start or end (e.g. "
                         "partners-prod)")


class Account:
    """One Region of one AWS account, seen through boto3."""

    def __init__(self, session: boto3.Session, profile: str | None = None,
                 endpoint_url: str | None = None) -> None:
        from botocore.config import Config

        self.session, self.profile, self.endpoint_url = session, profile, endpoint_url
        self._config = Config(retries={"mode": "standard", "max_attempts": 4},
                              connect_timeout=10, read_timeout=60)
        self._clients: dict[str, Any] = {}

    @property
    def region(self) -> str:
        if self.session.region_name is None:
            raise AwsError("no AWS Region is configured",
                           "pass --region, or set AWS_DEFAULT_REGION")
        return str(self.session.region_name)

    def in_region(self, region: str) -> Account:
        return connect(self.profile, region, self.endpoint_url)

    def client(self, service: str) -> Any:
        """The boto3 client of ``service`` (made once)."""
        if service not in self._clients:
            with aws_errors("AWS set-up"):
                self._clients[service] = self.session.client(
                    service, endpoint_url=self.endpoint_url, config=self._config)
        return self._clients[service]

    def _call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        with aws_errors(operation):
            result: dict[str, Any] = getattr(self.client(service), operation)(**params)
            return result

    def _pages(self, service: str, operation: str, key: str, **params: Any
               ) -> Iterator[dict[str, Any]]:
        with aws_errors(operation):
            paginator = self.client(service).get_paginator(operation)
            for page in paginator.paginate(**params):
                yield from page.get(key, [])

    # ------------------------------------------------------------------ reading

    def regions(self) -> list[str]:
        """The Regions enabled for this account."""
        return sorted(r["RegionName"] for r in self._call("ec2", "describe_regions")["Regions"])

    def trust_stores(self, selectors: Iterable[str] = ()) -> list[TrustStoreInfo]:
        """Every trust store of the Region, or those named (by name or ARN)."""
        chosen = list(dict.fromkeys(selectors))
        arns = [s for s in chosen if TRUST_STORE_ARN.match(s)]
        names = [s for s in chosen if s not in arns]
        for name in names:
            validate_name(name)
        if not chosen:
            return [TrustStoreInfo.of(t) for t in
                    self._pages("elbv2", "describe_trust_stores", "TrustStores")]
        found: list[TrustStoreInfo] = []
        for key, values in (("TrustStoreArns", arns), ("Names", names)):
            if values:
                found += [TrustStoreInfo.of(t) for t in self._pages(
                    "elbv2", "describe_trust_stores", "TrustStores", **{key: values})]
        order = {s: i for i, s in enumerate(chosen)}
        return sorted(found, key=lambda t: order.get(t.arn, order.get(t.name, 0)))

    def trust_store(self, selector: str) -> TrustStoreInfo:
        return self.trust_stores([selector])[0]

    def revocations(self, arn: str) -> list[tuple[int, int]]:
        """(revocation id, entries) of each CRL of the trust store."""
        return [(int(r["RevocationId"]), int(r.get("NumberOfRevokedEntries", 0)))
                for r in self._pages("elbv2", "describe_trust_store_revocations",
                                     "TrustStoreRevocations", TrustStoreArn=arn)]

    def listeners(self, arn: str) -> list[Listener]:
        """The listeners whose mutual TLS uses the trust store, via its associations."""
        found = []
        for association in self._pages("elbv2", "describe_trust_store_associations",
                                       "TrustStoreAssociations", TrustStoreArn=arn):
            for item in self._pages("elbv2", "describe_listeners", "Listeners",
                                    LoadBalancerArn=association["ResourceArn"]):
                mutual = item.get("MutualAuthentication") or {}
                if mutual.get("TrustStoreArn") == arn:
                    found.append(Listener(
                        item["ListenerArn"], item["LoadBalancerArn"], item.get("Port"),
                        mutual.get("Mode", "off"), mutual.get("IgnoreClientCertificateExpiry"),
                        mutual.get("AdvertiseTrustStoreCaNames")))
        return found

    def bundle(self, arn: str) -> bytes:
        """The live CA bundle, through its pre-signed URL."""
        location = self._call("elbv2", "get_trust_store_ca_certificates_bundle",
                              TrustStoreArn=arn)["Location"]
        return _download(location, f"the CA bundle of {arn}")

    def revocation(self, arn: str, revocation_id: int) -> bytes:
        """One live CRL, through its pre-signed URL."""
        location = self._call("elbv2", "get_trust_store_revocation_content", TrustStoreArn=arn,
                              RevocationId=revocation_id)["Location"]
        return _download(location, f"revocation {revocation_id} of {arn}")

    # ------------------------------------------------------------------ writing

    def upload(self, target: S3Object, data: bytes) -> str | None:
        """Put an object; its version id when the bucket is versioned."""
        result = self._call("s3", "put_object", Bucket=target.bucket, Key=target.key, Body=data)
        version = result.get("VersionId")
        return str(version) if version and version != "null" else None

    def create(self, name: str, bundle: S3Object, version: str | None,
               tags: dict[str, str] | None = None) -> TrustStoreInfo:
        params: dict[str, Any] = _bundle_params(bundle, version)
        if tags:
            params["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        created = self._call("elbv2", "create_trust_store", Name=name, **params)
        return TrustStoreInfo.of(created["TrustStores"][0])

    def modify(self, arn: str, bundle: S3Object, version: str | None) -> None:
        self._call("elbv2", "modify_trust_store", TrustStoreArn=arn,
                   **_bundle_params(bundle, version))

    def add_revocations(self, arn: str, crls: list[tuple[S3Object, str | None]]) -> list[int]:
        """Add CRLs (already in S3); the new revocation ids."""
        contents = [{"S3Bucket": o.bucket, "S3Key": o.key, "RevocationType": "CRL",
                     **({"S3ObjectVersion": v} if v else {})} for o, v in crls]
        added = self._call("elbv2", "add_trust_store_revocations", TrustStoreArn=arn,
                           RevocationContents=contents)
        return [int(r["RevocationId"]) for r in added.get("TrustStoreRevocations", [])]

    def remove_revocations(self, arn: str, ids: list[int]) -> None:
        self._call("elbv2", "remove_trust_store_revocations", TrustStoreArn=arn,
                   RevocationIds=ids)

    def wait_active(self, arn: str, *, timeout: float, interval: float,
                    progress: Callable[[float], None] | None = None) -> TrustStoreInfo:
        """Poll until the trust store is ACTIVE (there is no waiter for trust stores)."""
        start = time.monotonic()
        while True:
            info = self.trust_store(arn)
            elapsed = time.monotonic() - start
            if info.status == "ACTIVE":
                return info
            if elapsed >= timeout:
                raise AwsError(f"{info.name} is still {info.status} after {timeout:g} s",
                               "look again later with `mtls-doctor aws inspect --trust-store "
                               f"{info.name}`, or wait longer with --timeout")
            if progress is not None:
                progress(elapsed)
            time.sleep(interval)


def connect(profile: str | None = None, region: str | None = None,
            endpoint_url: str | None = None) -> Account:
    """An :class:`Account` for the profile and Region (boto3's defaults when None)."""
    try:
        import boto3
    except ImportError:
        raise AwsError("this needs boto3 (the aws extra), which is not installed",
                       "pip install 'mtls-doctor[aws]'") from None
    with aws_errors("AWS set-up"):
        session = boto3.Session(profile_name=profile, region_name=region)
    return Account(session, profile, endpoint_url)


def _bundle_params(bundle: S3Object, version: str | None) -> dict[str, Any]:
    params = {"CaCertificatesBundleS3Bucket": bundle.bucket,
              "CaCertificatesBundleS3Key": bundle.key}
    if version:
        params["CaCertificatesBundleS3ObjectVersion"] = version
    return params


def _download(url: str, what: str) -> bytes:
    """GET a pre-signed URL; the URL (it carries a signature) never appears in an error."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            data: bytes = response.read(DOWNLOAD_LIMIT + 1)
    except urllib.error.HTTPError as exc:
        raise AwsError(f"cannot download {what}: HTTP {exc.code}",
                       "the link AWS gave expired or was refused; run the command again") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AwsError(f"cannot download {what}: {reason}", "check the network") from None
    if len(data) > DOWNLOAD_LIMIT:
        raise AwsError(f"{what} is larger than {DOWNLOAD_LIMIT // 2**20} MB")
    return data


class Clients(Protocol):
    """What code that calls AWS needs: an :class:`Account`, or a test's stubbed session."""

    def client(self, service: str) -> Any: ...


@contextmanager
def aws_errors(operation: str, fix: str | None = None) -> Iterator[None]:
    """Turn botocore's errors raised inside the block into :class:`AwsError`; ``fix`` is the
    advice when none is known for the error's code."""
    from botocore import exceptions

    try:
        yield
    except exceptions.ClientError as error:
        details = error.response.get("Error", {})
        code = str(details.get("Code", "Unknown"))
        message = str(details.get("Message") or "").strip()
        raise AwsError(f"AWS refused {_title(operation)}: {code}"
                       + (f": {message}" if message else ""),
                       FIXES.get(_ALIASES.get(code, code), fix), code) from None
    except (exceptions.BotoCoreError, exceptions.ConnectionError) as error:
        fixes: list[tuple[type[Exception], str]] = [
            (exceptions.NoCredentialsError, "configure credentials: `aws configure`, "
             "`aws sso login`, AWS_PROFILE or --profile"),
            (exceptions.PartialCredentialsError, "the credentials are incomplete; set both "
             "the access key and the secret"),
            (exceptions.ProfileNotFound, "list your profiles with `aws configure list-profiles`"),
            (exceptions.NoRegionError, "pass --region, or set AWS_DEFAULT_REGION"),
            (exceptions.EndpointConnectionError, "check the network, the Region and "
             "--endpoint-url"),
            (exceptions.ParamValidationError, "check the values given on the command line"),
        ]
        known = next((f for kind, f in fixes if isinstance(error, kind)), fix)
        raise AwsError(f"{_title(operation)} failed: {error}", known) from None


def _title(operation: str) -> str:
    """``modify_trust_store`` -> ``ModifyTrustStore`` (the name users see in AWS's docs); a
    phrase such as ``AWS set-up`` is kept."""
    if " " in operation or not operation.islower():
        return operation
    return "".join(part.title() for part in operation.split("_"))
