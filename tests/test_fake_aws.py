"""The AWS test double in fake_aws.py, driven through real boto3 clients over HTTP."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from typing import Any

import pytest

from factory import bundle, der, make_ca, make_crl, pem
from fake_aws import FakeAws, fake_aws, fake_aws_endpoint  # noqa: F401

boto3 = pytest.importorskip("boto3")
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

ROOT = make_ca("Fake AWS Root", key="p256")
OTHER = make_ca("Fake AWS Other", key="p256")
BUCKET = "trust-bucket"


@pytest.fixture
def aws(fake_aws_endpoint: FakeAws) -> FakeAws:  # noqa: F811
    fake_aws_endpoint.client("s3").create_bucket(Bucket=BUCKET)
    return fake_aws_endpoint


def put(aws: FakeAws, key: str, body: bytes) -> str | None:
    """Upload to BUCKET through the endpoint (moto's S3); the version id if versioned."""
    return aws.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body).get("VersionId")


def create(aws: FakeAws, name: str, body: bytes = ROOT.pem, **kwargs: Any) -> str:
    put(aws, f"{name}.pem", body)
    out = aws.client("elbv2").create_trust_store(
        Name=name, CaCertificatesBundleS3Bucket=BUCKET, CaCertificatesBundleS3Key=f"{name}.pem",
        **kwargs)
    return out["TrustStores"][0]["TrustStoreArn"]  # type: ignore[no-any-return]


def code_of(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return excinfo.value.response["Error"]["Code"]  # type: ignore[no-any-return]


def test_fixture_environment_and_moto_passthrough(aws: FakeAws) -> None:
    assert aws.url.startswith("http://127.0.0.1:") and aws.region == "us-east-1"
    assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
    assert not os.path.exists(os.environ["AWS_CONFIG_FILE"])
    assert "AWS_PROFILE" not in os.environ
    # A client built the way the code under test builds one: only the endpoint is given.
    s3 = boto3.client("s3", endpoint_url=aws.url)
    try:
        s3.put_object(Bucket=BUCKET, Key="a b/ü+<&>.txt", Body=b"data")
        assert s3.get_object(Bucket=BUCKET, Key="a b/ü+<&>.txt")["Body"].read() == b"data"
        assert s3.head_object(Bucket=BUCKET, Key="a b/ü+<&>.txt")["ContentLength"] == 4
    finally:
        s3.close()
    sts = aws.client("sts")
    assert sts.get_caller_identity()["Account"] == "123456789012"
    # An ELBv2 action the fake does not answer goes to moto.
    assert aws.client("elbv2").describe_target_groups()["TargetGroups"] == []
    assert aws.calls == []


def test_state_is_fresh_for_each_fake() -> None:
    with fake_aws() as first:
        first.client("s3").create_bucket(Bucket="only-in-first")
    with fake_aws() as second:
        assert second.client("s3").list_buckets()["Buckets"] == []
        assert second.trust_stores == {}


def test_create_from_object_version_polls_to_active(aws: FakeAws) -> None:
    s3, elb = aws.client("s3"), aws.client("elbv2")
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    v1 = put(aws, "ca.pem", ROOT.pem)
    put(aws, "ca.pem", bundle(ROOT, OTHER))
    created = elb.create_trust_store(
        Name="my-store", CaCertificatesBundleS3Bucket=BUCKET, CaCertificatesBundleS3Key="ca.pem",
        CaCertificatesBundleS3ObjectVersion=v1, Tags=[{"Key": "team", "Value": "a&b"}],
    )["TrustStores"][0]
    arn = created["TrustStoreArn"]
    prefix = "arn:aws:elasticloadbalancing:us-east-1:123456789012:truststore/my-store/"
    assert arn.startswith(prefix)
    assert len(arn.rsplit("/", 1)[1]) == 16
    assert created == {"Name": "my-store", "TrustStoreArn": arn, "Status": "CREATING",
                       "NumberOfCaCertificates": 1, "TotalRevokedEntries": 0}
    assert aws.calls[-1] == ("CreateTrustStore", {
        "Name": "my-store", "CaCertificatesBundleS3Bucket": BUCKET,
        "CaCertificatesBundleS3Key": "ca.pem", "CaCertificatesBundleS3ObjectVersion": v1,
        "Tags": [{"Key": "team", "Value": "a&b"}]})
    store = aws.trust_stores[arn]
    assert (store.bundle, store.tags, store.source) == (ROOT.pem, {"team": "a&b"},
                                                      (BUCKET, "ca.pem", v1))
    statuses = [elb.describe_trust_stores(TrustStoreArns=[arn])["TrustStores"][0]["Status"]
                for _ in range(4)]
    assert statuses == ["CREATING", "CREATING", "ACTIVE", "ACTIVE"]
    put(aws, "ca.pem", b"overwritten")  # the trust store keeps its snapshot
    assert aws.trust_stores[arn].bundle == ROOT.pem
    by_name = elb.describe_trust_stores(Names=["my-store"])["TrustStores"]
    assert [s["TrustStoreArn"] for s in by_name] == [arn]


def test_polls_until_active_is_settable(aws: FakeAws) -> None:
    aws.polls_until_active = 0
    arn = create(aws, "at-once")
    assert aws.trust_stores[arn].status == "ACTIVE"


def test_modify_replaces_snapshot_and_goes_back_to_creating(aws: FakeAws) -> None:
    elb = aws.client("elbv2")
    aws.polls_until_active = 1
    arn = create(aws, "mod")
    elb.describe_trust_stores(TrustStoreArns=[arn])
    assert aws.trust_stores[arn].status == "ACTIVE"
    put(aws, "two.pem", bundle(ROOT, OTHER))
    out = elb.modify_trust_store(TrustStoreArn=arn, CaCertificatesBundleS3Bucket=BUCKET,
                                 CaCertificatesBundleS3Key="two.pem")["TrustStores"][0]
    assert (out["Status"], out["NumberOfCaCertificates"]) == ("CREATING", 2)
    assert aws.trust_stores[arn].bundle == bundle(ROOT, OTHER)
    assert elb.describe_trust_stores(TrustStoreArns=[arn])["TrustStores"][0]["Status"] == "ACTIVE"


def test_describe_trust_stores_pages(aws: FakeAws) -> None:
    elb = aws.client("elbv2")
    arns = [create(aws, f"store-{n}") for n in range(5)]
    first = elb.describe_trust_stores()
    assert len(first["TrustStores"]) == aws.page_size == 2 and first["NextMarker"]
    pages = list(elb.get_paginator("describe_trust_stores").paginate())
    assert [len(p["TrustStores"]) for p in pages] == [2, 2, 1]
    assert [s["TrustStoreArn"] for p in pages for s in p["TrustStores"]] == arns
    sized = elb.get_paginator("describe_trust_stores").paginate(PaginationConfig={"PageSize": 4})
    assert [len(p["TrustStores"]) for p in sized] == [4, 1]
    # Only the stores on a returned page count as polled: the first two were on three.
    assert [aws.trust_stores[a].status for a in arns] == ["ACTIVE"] * 2 + ["CREATING"] * 3


def test_associations_and_listeners(aws: FakeAws) -> None:
    elb = aws.client("elbv2")
    arn, spare = create(aws, "used"), create(aws, "spare")
    listener = aws.add_listener(arn, ignore_expiry=True, advertise="on")
    lb = aws.listeners[listener].load_balancer_arn
    aws.add_listener(arn, port=8443, load_balancer_arn=lb)  # same load balancer: one association
    lb2 = aws.listeners[aws.add_listener(arn)].load_balancer_arn
    lb3 = aws.listeners[aws.add_listener(arn)].load_balancer_arn
    aws.add_listener(mode="passthrough", load_balancer_arn=lb)
    pages = list(elb.get_paginator("describe_trust_store_associations").paginate(
        TrustStoreArn=arn))
    assert [[a["ResourceArn"] for a in p["TrustStoreAssociations"]] for p in pages] == [
        [lb, lb2], [lb3]]
    assert elb.describe_trust_store_associations(TrustStoreArn=spare)[
        "TrustStoreAssociations"] == []

    listeners = [ls for p in elb.get_paginator("describe_listeners").paginate(LoadBalancerArn=lb)
                 for ls in p["Listeners"]]
    assert [(ls["Port"], ls["MutualAuthentication"]["Mode"]) for ls in listeners] == [
        (443, "verify"), (8443, "verify"), (443, "passthrough")]
    assert listeners[0] == {
        "ListenerArn": listener, "LoadBalancerArn": lb, "Port": 443, "Protocol": "HTTPS",
        "SslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "MutualAuthentication": {"Mode": "verify", "TrustStoreArn": arn,
                                 "IgnoreClientCertificateExpiry": True,
                                 "TrustStoreAssociationStatus": "active",
                                 "AdvertiseTrustStoreCaNames": "on"}}
    assert listeners[2]["MutualAuthentication"] == {"Mode": "passthrough"}
    by_arn = elb.describe_listeners(ListenerArns=[listener])["Listeners"]
    assert [ls["ListenerArn"] for ls in by_arn] == [listener]
    assert listener.startswith(lb.replace(":loadbalancer/", ":listener/"))

    lbs = [x for p in elb.get_paginator("describe_load_balancers").paginate()
           for x in p["LoadBalancers"]]
    assert [x["LoadBalancerArn"] for x in lbs] == [lb, lb2, lb3]
    assert lbs[0]["Type"] == "application" and lbs[0]["State"] == {"Code": "active"}
    one = elb.describe_load_balancers(Names=[lbs[1]["LoadBalancerName"]])["LoadBalancers"]
    assert [x["LoadBalancerArn"] for x in one] == [lb2]

    with pytest.raises(elb.exceptions.TrustStoreInUseException):
        elb.delete_trust_store(TrustStoreArn=arn)
    elb.delete_trust_store(TrustStoreArn=spare)
    for ls in [a for a, x in aws.listeners.items() if x.trust_store_arn == arn]:
        aws.remove_listener(ls)
    elb.delete_trust_store(TrustStoreArn=arn)
    assert aws.trust_stores == {}
    with pytest.raises(elb.exceptions.ListenerNotFoundException):
        elb.describe_listeners(ListenerArns=[listener])
    with pytest.raises(elb.exceptions.LoadBalancerNotFoundException):
        elb.describe_listeners(LoadBalancerArn=lb + "0")


def test_revocations_and_download_urls(aws: FakeAws) -> None:
    elb = aws.client("elbv2")
    arn = create(aws, "revoking")
    crl_pem, crl_der = pem(make_crl(ROOT, [1, 2, 3])), der(make_crl(ROOT, [7]))
    put(aws, "a.crl", crl_pem)
    put(aws, "b.crl", crl_der)
    added = elb.add_trust_store_revocations(TrustStoreArn=arn, RevocationContents=[
        {"S3Bucket": BUCKET, "S3Key": "a.crl"},
        {"S3Bucket": BUCKET, "S3Key": "b.crl", "RevocationType": "CRL"},
    ])["TrustStoreRevocations"]
    assert [(r["RevocationId"], r["NumberOfRevokedEntries"], r["RevocationType"]) for r in added
            ] == [(1, 3, "CRL"), (2, 1, "CRL")]
    assert all(r["TrustStoreArn"] == arn for r in added)
    put(aws, "c.crl", pem(make_crl(OTHER)))
    elb.add_trust_store_revocations(TrustStoreArn=arn, RevocationContents=[
        {"S3Bucket": BUCKET, "S3Key": "c.crl"}])
    pages = list(elb.get_paginator("describe_trust_store_revocations").paginate(
        TrustStoreArn=arn))
    assert [[r["RevocationId"] for r in p["TrustStoreRevocations"]] for p in pages] == [
        [1, 2], [3]]
    assert elb.describe_trust_stores()["TrustStores"][0]["TotalRevokedEntries"] == 4
    one = elb.describe_trust_store_revocations(TrustStoreArn=arn, RevocationIds=[2])
    assert [r["NumberOfRevokedEntries"] for r in one["TrustStoreRevocations"]] == [1]

    location = elb.get_trust_store_revocation_content(TrustStoreArn=arn, RevocationId=2)[
        "Location"]
    assert location.startswith(aws.url + "/_fake/revocation/") and "X-Amz-Signature=" in location
    with urllib.request.urlopen(location) as response:
        assert response.read() == crl_der
    bundle_url = elb.get_trust_store_ca_certificates_bundle(TrustStoreArn=arn)["Location"]
    with urllib.request.urlopen(bundle_url) as response:
        assert response.read() == ROOT.pem
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(aws.url + "/_fake/bundle/no-such-token?X-Amz-Expires=600")
    assert denied.value.code == 403
    denied.value.close()

    elb.remove_trust_store_revocations(TrustStoreArn=arn, RevocationIds=[1, 3])
    assert list(aws.trust_stores[arn].revocations) == [2]
    with pytest.raises(elb.exceptions.RevocationIdNotFoundException):
        elb.describe_trust_store_revocations(TrustStoreArn=arn, RevocationIds=[1])
    with pytest.raises(elb.exceptions.RevocationIdNotFoundException):
        elb.remove_trust_store_revocations(TrustStoreArn=arn, RevocationIds=[2, 3])
    assert list(aws.trust_stores[arn].revocations) == [2]  # nothing removed
    with pytest.raises(elb.exceptions.RevocationIdNotFoundException):
        elb.get_trust_store_revocation_content(TrustStoreArn=arn, RevocationId=1)


BAD_BUNDLES = {
    "empty": b"",
    "whitespace": b" \n\n",
    "private key": ROOT.key_pem,
    "key after cert": ROOT.pem + ROOT.key_pem,
    "text between": ROOT.pem + b"hello\n" + OTHER.pem,
    "text after": ROOT.pem + b"trailing",
    "DER": ROOT.der,
    "bad base64": b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
}


@pytest.mark.parametrize("body", BAD_BUNDLES.values(), ids=BAD_BUNDLES.keys())
def test_invalid_bundles(aws: FakeAws, body: bytes) -> None:
    elb = aws.client("elbv2")
    with pytest.raises(elb.exceptions.InvalidCaCertificatesBundleException) as excinfo:
        create(aws, "bad", body)
    assert code_of(excinfo) == "InvalidCaCertificatesBundle"
    assert aws.trust_stores == {}


def test_valid_bundle_may_have_blank_lines_and_crlf(aws: FakeAws) -> None:
    body = b"\n" + ROOT.pem.replace(b"\n", b"\r\n") + b"\n\n" + OTHER.pem + b"\n"
    arn = create(aws, "spacey", body)
    assert aws.trust_stores[arn].certificates == 2


def test_error_codes_map_to_botocore_exceptions(aws: FakeAws) -> None:
    elb = aws.client("elbv2")
    arn = create(aws, "exists")
    missing = arn.replace("/exists/", "/nothing/")
    raises = elb.exceptions

    def check(exc: type[ClientError], code: str, call: Any, **kwargs: Any) -> None:
        with pytest.raises(exc) as excinfo:
            call(**kwargs)
        assert code_of(excinfo) == code
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    check(raises.TrustStoreNotFoundException, "TrustStoreNotFound",
          elb.describe_trust_stores, TrustStoreArns=[missing])
    check(raises.TrustStoreNotFoundException, "TrustStoreNotFound",
          elb.describe_trust_stores, Names=["nothing"])
    check(raises.TrustStoreNotFoundException, "TrustStoreNotFound",
          elb.delete_trust_store, TrustStoreArn=missing)
    check(raises.DuplicateTrustStoreNameException, "DuplicateTrustStoreName",
          create, aws=aws, name="exists")
    source = {"CaCertificatesBundleS3Bucket": BUCKET, "CaCertificatesBundleS3Key": "exists.pem"}
    check(raises.CaCertificatesBundleNotFoundException, "CaCertificatesBundleNotFound",
          elb.create_trust_store, Name="other", CaCertificatesBundleS3Bucket=BUCKET,
          CaCertificatesBundleS3Key="no/such<&>key.pem")
    check(raises.CaCertificatesBundleNotFoundException, "CaCertificatesBundleNotFound",
          elb.create_trust_store, Name="other", **source,
          CaCertificatesBundleS3ObjectVersion="no-such-version")
    check(raises.CaCertificatesBundleNotFoundException, "CaCertificatesBundleNotFound",
          elb.modify_trust_store, TrustStoreArn=arn, CaCertificatesBundleS3Bucket="no-bucket",
          CaCertificatesBundleS3Key="x")
    check(raises.RevocationIdNotFoundException, "RevocationIdNotFound",
          elb.describe_trust_store_revocations, TrustStoreArn=arn, RevocationIds=[42])
    check(raises.RevocationContentNotFoundException, "RevocationContentNotFound",
          elb.add_trust_store_revocations, TrustStoreArn=arn,
          RevocationContents=[{"S3Bucket": BUCKET, "S3Key": "no.crl"}])
    put(aws, "bad.crl", ROOT.pem)
    check(raises.InvalidRevocationContentException, "InvalidRevocationContent",
          elb.add_trust_store_revocations, TrustStoreArn=arn,
          RevocationContents=[{"S3Bucket": BUCKET, "S3Key": "bad.crl"}])
    aws.add_listener(arn)
    check(raises.TrustStoreInUseException, "TrustStoreInUse",
          elb.delete_trust_store, TrustStoreArn=arn)
    with pytest.raises(ClientError) as excinfo:
        elb.create_trust_store(Name="bad_name", **source)
    assert code_of(excinfo) == "ValidationError"
    # The message is XML-escaped on the wire and comes back intact.
    with pytest.raises(ClientError) as excinfo:
        elb.create_trust_store(Name="other", CaCertificatesBundleS3Bucket=BUCKET,
                               CaCertificatesBundleS3Key="a<&>b")
    assert "s3://trust-bucket/a<&>b" in excinfo.value.response["Error"]["Message"]
    aws.trust_store_limit = 1
    check(raises.TooManyTrustStoresException, "TooManyTrustStores", create, aws=aws, name="more")


def test_fail_next(aws: FakeAws) -> None:
    elb = aws.client("elbv2")
    aws.fail_next("DescribeTrustStores", code="AccessDenied", message="no <way>", status=403)
    with pytest.raises(ClientError) as excinfo:
        elb.describe_trust_stores()
    assert code_of(excinfo) == "AccessDenied"
    assert excinfo.value.response["Error"]["Message"] == "no <way>"
    assert elb.describe_trust_stores()["TrustStores"] == []  # only the next call fails

    arn = create(aws, "flaky")
    put(aws, "new.pem", OTHER.pem)
    modify = {"TrustStoreArn": arn, "CaCertificatesBundleS3Bucket": BUCKET,
              "CaCertificatesBundleS3Key": "new.pem"}
    no_retry = aws.client("elbv2", config=Config(retries={"mode": "standard",
                                                          "total_max_attempts": 1}))
    aws.fail_next("ModifyTrustStore", message="boom")
    with pytest.raises(ClientError) as excinfo:
        no_retry.modify_trust_store(**modify)
    assert code_of(excinfo) == "InternalFailure"
    assert aws.trust_stores[arn].bundle == ROOT.pem

    aws.fail_next("ModifyTrustStore", message="boom")  # botocore retries a 500 by default
    calls = len(aws.calls)
    elb.modify_trust_store(**modify)
    assert [c[0] for c in aws.calls[calls:]] == ["ModifyTrustStore"] * 2
    assert aws.trust_stores[arn].bundle == OTHER.pem


def test_account_limits(aws: FakeAws) -> None:
    pages = aws.client("elbv2").get_paginator("describe_account_limits").paginate()
    limits = [limit for page in pages for limit in page["Limits"]]
    assert {"Name": "trust-stores", "Max": "20"} in limits
    assert len(limits) > 2
