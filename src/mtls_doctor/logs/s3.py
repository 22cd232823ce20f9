"""``s3://bucket/prefix`` inputs: list the connection-log objects, download them into a local
cache (re-runs reuse it), and hand local paths to the reader. The only logs module that imports
boto3, and only when an S3 path is given."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtls_doctor.errors import InputError
from mtls_doctor.logs.schema import FILE_NAME


@dataclass(frozen=True)
class S3Listing:
    """The connection-log objects under a prefix (key, size, ETag); how many others there were."""

    bucket: str
    objects: tuple[tuple[str, int, str], ...]
    skipped: int


def split_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` → (bucket, prefix)."""
    rest = url.removeprefix("s3://")
    bucket, _, prefix = rest.partition("/")
    if not url.startswith("s3://") or not bucket:
        raise InputError(f"{url} is not an s3://bucket/prefix address")
    return bucket, prefix


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mtls-doctor" / "s3"


def list_logs(client: Any, url: str) -> S3Listing:
    """Every ``conn_log_*.log.gz`` object under the prefix; others (access logs) are counted."""
    bucket, prefix = split_url(url)
    found: list[tuple[str, int, str]] = []
    skipped = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key = item["Key"]
            if FILE_NAME.match(key.rsplit("/", 1)[-1]):
                found.append((key, int(item["Size"]), str(item.get("ETag", "")).strip('"')))
            else:
                skipped += 1
    return S3Listing(bucket, tuple(found), skipped)


def download(client: Any, listing: S3Listing, cache: Path,
             progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Local copies of the listed objects; a cached copy of the same size and ETag is reused.
    Files are written under a temporary name and renamed, so an interrupted run leaves none."""
    paths = []
    for done, (key, size, etag) in enumerate(listing.objects, start=1):
        target = cache / listing.bucket / key
        marker = target.with_name(target.name + ".etag")
        fresh = (target.is_file() and target.stat().st_size == size and marker.is_file()
                 and marker.read_text() == etag)
        if not fresh:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            client.download_file(listing.bucket, key, str(partial))
            partial.replace(target)
            marker.write_text(etag)
        paths.append(target)
        if progress is not None:
            progress(done, len(listing.objects))
    return paths


def fetch(url: str, cache: Path | None = None,
          progress: Callable[[int, int], None] | None = None) -> tuple[list[Path], int]:
    """Download the connection logs under ``url``; (local paths, objects skipped)."""
    from mtls_doctor.aws import AwsError, aws_errors, connect

    try:
        with aws_errors("reading S3"):
            client = connect().client("s3")
            listing = list_logs(client, url)
            return download(client, listing, cache or default_cache(), progress), listing.skipped
    except AwsError as exc:
        raise InputError(f"cannot read {url}: {exc.message}", exc.fix) from None
