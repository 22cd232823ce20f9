"""s3:// inputs against moto: listing, skipping access logs, the cache reused on a re-run."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from logs_factory import aws_name, entry

moto = pytest.importorskip("moto", reason="moto is a test dependency: pip install -e '.[test]'")
boto3 = pytest.importorskip("boto3")

from mtls_doctor.errors import InputError  # noqa: E402
from mtls_doctor.logs.files import find_logs  # noqa: E402
from mtls_doctor.logs.reader import load_logs  # noqa: E402
from mtls_doctor.logs.summary import summarize  # noqa: E402


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "eu-west-1")):
        monkeypatch.setenv(name, value)
    with moto.mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket="mtls-logs", CreateBucketConfiguration={
            "LocationConstraint": "eu-west-1"})
        day = "prefix/AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/01/31/"
        for n in range(3):
            body = gzip.compress((entry(n, "Failed:ClientCertExpired", subject="CN=a b") + "\n"
                                  ).encode())
            client.put_object(Bucket="mtls-logs", Key=day + aws_name(n), Body=body)
        client.put_object(Bucket="mtls-logs", Key=day + "access_log.log.gz", Body=b"x")
        yield client


def test_s3_prefix_is_listed_downloaded_and_cached(bucket, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    calls: list[tuple[int, int]] = []
    found = find_logs(["s3://mtls-logs/prefix/"], cache=tmp_path,
                      progress=lambda done, total: calls.append((done, total)))
    assert (len(found.files), found.skipped) == (3, 1)
    assert calls[-1] == (3, 3)
    result = summarize(load_logs(found))
    assert result["by_status"] == {"Failed:ClientCertExpired": 3}
    first = found.files[0].stat().st_mtime_ns
    again = find_logs(["s3://mtls-logs/prefix/"], cache=tmp_path)
    assert again.files[0].stat().st_mtime_ns == first  # reused, not downloaded again


def test_bad_s3_addresses(bucket, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError):
        find_logs(["s3://"], cache=tmp_path)
    with pytest.raises(InputError, match="cannot read"):
        find_logs(["s3://no-such-bucket/x"], cache=tmp_path)
