"""mtls-doctor aws: inspect, push and create, through real boto3 clients against fake_aws.py.

The fake serves S3 (moto) and the ELBv2 trust-store operations over HTTP, so the code under test
is the code that talks to AWS; its ``calls`` list is what AWS would have been asked.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from factory import bundle, make_ca, make_crl, pem
from fake_aws import FakeAws, fake_aws_endpoint  # noqa: F401
from test_cli import cli

pytest.importorskip("boto3")

NOW = datetime.datetime.now(datetime.UTC)
ROOT = make_ca("Live Root", key="p256")
OTHER = make_ca("Live Other", key="p256")
OLD = make_ca("Live Old", key="p256", not_before=NOW - datetime.timedelta(days=900),
              not_after=NOW - datetime.timedelta(days=2))
BUCKET = "trust-bucket"
SECRET = "do-not-print-this-secret-0123456789"
Capsys = pytest.CaptureFixture[str]


@pytest.fixture
def aws(fake_aws_endpoint: FakeAws, monkeypatch: pytest.MonkeyPatch) -> FakeAws:  # noqa: F811
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    s3 = fake_aws_endpoint.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    fake_aws_endpoint.polls_until_active = 2
    return fake_aws_endpoint


def make_store(aws: FakeAws, name: str, body: bytes, crls: tuple[bytes, ...] = ()) -> str:
    """A trust store made straight through the API, as someone did before the tool."""
    s3, elb = aws.client("s3"), aws.client("elbv2")
    s3.put_object(Bucket=BUCKET, Key=f"seed/{name}.pem", Body=body)
    arn: str = elb.create_trust_store(Name=name, CaCertificatesBundleS3Bucket=BUCKET,
                                      CaCertificatesBundleS3Key=f"seed/{name}.pem"
                                      )["TrustStores"][0]["TrustStoreArn"]
    for n, crl in enumerate(crls):
        s3.put_object(Bucket=BUCKET, Key=f"seed/{name}-{n}.crl", Body=crl)
        elb.add_trust_store_revocations(TrustStoreArn=arn, RevocationContents=[
            {"S3Bucket": BUCKET, "S3Key": f"seed/{name}-{n}.crl", "RevocationType": "CRL"}])
    aws.trust_stores[arn].polls_left = 0
    aws.trust_stores[arn].status = "ACTIVE"
    return arn


def run(capsys: Capsys, aws: FakeAws, *args: str) -> tuple[int, str, str]:
    code, out, err = cli(capsys, "aws", *args, "--endpoint-url", aws.url)
    assert SECRET not in out + err and "X-Amz-Signature" not in out + err
    return code, out, err


def actions(aws: FakeAws) -> list[str]:
    return [action for action, _ in aws.calls]


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- inspect


def test_inspect_json_is_check_json_plus_the_live_facts(aws: FakeAws, capsys: Capsys,
                                                        tmp_path: Path) -> None:
    crl = pem(make_crl(ROOT, [7, 8, 9]))
    good = make_store(aws, "partners", bundle(ROOT, OTHER), (crl,))
    bad = make_store(aws, "legacy", bundle(OLD))
    listener = aws.add_listener(good, mode="verify", port=443, ignore_expiry=True,
                                advertise="on")
    code, out, _ = run(capsys, aws, "inspect", "--format", "json", "--fail-on", "warning")
    document = json.loads(out)
    assert code == 1  # legacy's CA has expired: a warning, as `check` says
    assert document["region"] == "us-east-1"
    assert document["quotas"] == {"trust_stores": {"used": 2, "limit": 20}}
    by_name = {s["trust_store"]["name"]: s for s in document["trust_stores"]}
    live = by_name["partners"]["trust_store"]
    assert live["arn"] == good and live["status"] == "ACTIVE"
    assert live["number_of_ca_certificates"] == 2 and live["total_revoked_entries"] == 3
    assert [r["entries"] for r in live["revocations"]] == [3]
    assert live["listeners"] == [{
        "listener_arn": listener, "load_balancer_arn": aws.listeners[listener].load_balancer_arn,
        "port": 443, "mode": "verify", "ignore_client_certificate_expiry": True,
        "advertise_trust_store_ca_names": "on"}]
    assert by_name["legacy"]["trust_store"]["listeners"] == []
    assert by_name["legacy"]["trust_store"]["arn"] == bad
    # Exactly the check of the same files on disk: same findings, same certificates.
    local_bundle = write(tmp_path, "b.pem", bundle(ROOT, OTHER))
    local_crl = write(tmp_path, "c.crl", crl)
    _, local_out, _ = cli(capsys, "check", local_bundle, "--crl", local_crl, "--format", "json")
    local = json.loads(local_out)
    remote = by_name["partners"]
    assert remote["bundle"] == "partners/ca-bundle.pem"
    for key in ("accepted", "certificates", "summary"):
        assert remote[key] == local[key]
    assert [f["rule"] for f in remote["findings"]] == [f["rule"] for f in local["findings"]]
    assert {f["rule"] for f in by_name["legacy"]["findings"]} >= {"cert.expired"}


def test_inspect_text_names_listeners_and_quota(aws: FakeAws, capsys: Capsys) -> None:
    arn = make_store(aws, "partners", bundle(ROOT))
    aws.add_listener(arn, mode="verify", port=8443)
    code, out, _ = run(capsys, aws, "inspect", "--trust-store", "partners")
    assert code == 0
    assert "== partners (ACTIVE)" in out and "port 8443, mode verify" in out
    assert "us-east-1: 1 of 20 trust stores used" in out
    assert "ACCEPTED" in out  # the check's own text report follows


def test_inspect_selects_by_name_and_arn_and_pages(aws: FakeAws, capsys: Capsys) -> None:
    arns = [make_store(aws, f"store-{n}", bundle(ROOT)) for n in range(5)]  # page size 2
    code, out, _ = run(capsys, aws, "inspect", "--format", "json", "--quota", "trust-stores=50")
    document = json.loads(out)
    assert code == 0 and len(document["trust_stores"]) == 5
    assert document["quotas"]["trust_stores"] == {"used": 5, "limit": 50}
    code, out, _ = run(capsys, aws, "inspect", "--format", "json", "--trust-store", arns[3],
                       "--trust-store", "store-1")
    chosen = [s["trust_store"]["arn"] for s in json.loads(out)["trust_stores"]]
    assert chosen == [arns[3], arns[1]]
    assert json.loads(out)["quotas"]["trust_stores"]["used"] == 5


def test_inspect_unknown_store_is_one_clear_error(aws: FakeAws, capsys: Capsys) -> None:
    code, out, err = run(capsys, aws, "inspect", "--trust-store", "missing")
    assert code == 3 and out == ""
    assert "TrustStoreNotFound" in err and "fix:" in err and "Traceback" not in err
    code, _, err = run(capsys, aws, "inspect", "--trust-store", "bad_name!")
    assert code == 2 and "not a valid trust store name" in err


def test_inspect_save_keeps_files_and_never_replaces(aws: FakeAws, capsys: Capsys,
                                                     tmp_path: Path) -> None:
    crl = pem(make_crl(ROOT, [5]))
    make_store(aws, "partners", bundle(ROOT, OTHER), (crl,))
    code, _, _ = run(capsys, aws, "inspect", "--save", str(tmp_path / "live"))
    assert code == 0
    saved = tmp_path / "live" / "partners"
    assert (saved / "ca-bundle.pem").read_bytes() == bundle(ROOT, OTHER)
    assert [p.read_bytes() for p in saved.glob("revocation-*.crl")] == [crl]
    (saved / "ca-bundle.pem").write_bytes(b"mine")
    code, _, err = run(capsys, aws, "inspect", "--save", str(tmp_path / "live"))
    assert code == 2 and "already exists" in err
    assert (saved / "ca-bundle.pem").read_bytes() == b"mine"


def test_inspect_all_regions_is_a_list_per_region(aws: FakeAws, capsys: Capsys) -> None:
    make_store(aws, "partners", bundle(ROOT))
    code, out, _ = run(capsys, aws, "inspect", "--all-regions", "--format", "json")
    documents = json.loads(out)
    assert code == 0 and isinstance(documents, list) and len(documents) > 1
    assert "us-east-1" in [d["region"] for d in documents]
    assert all(set(d) == {"region", "quotas", "trust_stores"} for d in documents)
    code, _, err = run(capsys, aws, "inspect", "--all-regions", "--trust-store", "x")
    assert code == 2 and "--region" in err


# --------------------------------------------------------------------------- push


def test_push_shows_the_plan_and_changes_nothing_without_yes(aws: FakeAws, capsys: Capsys,
                                                              tmp_path: Path) -> None:
    arn = make_store(aws, "partners", bundle(ROOT, OLD))
    aws.add_listener(arn, mode="verify")
    new = write(tmp_path, "new.pem", bundle(ROOT, OTHER))
    before = list(aws.calls)
    code, out, _ = run(capsys, aws, "push", str(new), "--trust-store", "partners",
                       "--s3", f"s3://{BUCKET}/live/partners.pem")
    assert code == 0
    other_fp = hashlib.sha256(OTHER.der).hexdigest().upper()
    assert f"+ CN=Live Other  sha256 {other_fp}" in out
    assert "- CN=Live Old" in out and "= 1 certificate(s) unchanged" in out
    assert "in use by listener" in out and "Pass --yes" in out
    assert not any(a.startswith(("Modify", "Add", "Remove", "Create"))
                   for a in actions(aws)[len(before):])
    assert aws.trust_stores[arn].bundle == bundle(ROOT, OLD)
    assert "Contents" not in aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="live/")


def test_push_with_yes_uploads_pins_the_version_waits_and_confirms(
        aws: FakeAws, capsys: Capsys, tmp_path: Path) -> None:
    arn = make_store(aws, "partners", bundle(ROOT))
    new = write(tmp_path, "new.pem", bundle(ROOT, OTHER))
    code, out, err = run(capsys, aws, "push", str(new), "--trust-store", arn, "--s3",
                         f"s3://{BUCKET}/live/partners.pem", "--yes", "--poll-interval", "0")
    assert code == 0, err
    assert aws.trust_stores[arn].bundle == bundle(ROOT, OTHER)
    modify = [p for a, p in aws.calls if a == "ModifyTrustStore"]
    versions = aws.client("s3").list_object_versions(Bucket=BUCKET, Prefix="live/")["Versions"]
    assert modify[0]["CaCertificatesBundleS3ObjectVersion"] == versions[0]["VersionId"]
    assert "waiting for ACTIVE" in err and "is ACTIVE and serves the 2 certificate(s)" in err
    assert actions(aws)[-1] == "GetTrustStoreCaCertificatesBundle"  # the confirmation
    assert "Done: partners" in out
    assert new.read_bytes() == bundle(ROOT, OTHER)
    code, out, _ = run(capsys, aws, "push", str(new), "--trust-store", arn, "--s3",
                       f"s3://{BUCKET}/live/partners.pem", "--yes")
    assert code == 0 and "Nothing to do" in out


def test_push_refuses_check_errors_unless_forced_and_reports_aws_refusal(
        aws: FakeAws, capsys: Capsys, tmp_path: Path) -> None:
    arn = make_store(aws, "partners", bundle(ROOT))
    broken = write(tmp_path, "broken.pem", bundle(ROOT, OTHER) + ROOT.key_pem)
    target = f"s3://{BUCKET}/live/partners.pem"
    code, out, err = run(capsys, aws, "push", str(broken), "--trust-store", arn, "--s3", target,
                         "--yes")
    assert code == 1 and "Refusing" in err and "the API would reject it" in out
    assert "ModifyTrustStore" not in actions(aws)
    code, out, err = run(capsys, aws, "push", str(broken), "--trust-store", arn, "--s3", target,
                         "--yes", "--force")
    assert code == 3, out + err
    assert "InvalidCaCertificatesBundle" in err
    assert f"uploaded to {target}" in err and "is unchanged (checked" in err
    assert "`mtls-doctor check` finds bundle.not-a-certificate" in err
    assert aws.trust_stores[arn].bundle == bundle(ROOT)


def test_a_push_that_fails_halfway_leaves_the_trust_store_untouched(
        aws: FakeAws, capsys: Capsys, tmp_path: Path) -> None:
    arn = make_store(aws, "partners", bundle(ROOT))
    new = write(tmp_path, "new.pem", bundle(ROOT, OTHER))
    aws.fail_next("ModifyTrustStore", code="ValidationError", message="boom", status=400)
    code, out, err = run(capsys, aws, "push", str(new), "--trust-store", arn, "--s3",
                         f"s3://{BUCKET}/live/partners.pem", "--yes")
    assert code == 3 and "Traceback" not in err
    assert "AWS refused ModifyTrustStore: ValidationError: boom" in err
    assert f"uploaded to s3://{BUCKET}/live/partners.pem" in err
    assert "the live trust store partners is unchanged (checked" in err
    assert aws.trust_stores[arn].bundle == bundle(ROOT)
    assert new.read_bytes() == bundle(ROOT, OTHER)
    assert "Done" not in out


def test_push_times_out_clearly(aws: FakeAws, capsys: Capsys, tmp_path: Path) -> None:
    arn = make_store(aws, "partners", bundle(ROOT))
    aws.polls_until_active = 50
    new = write(tmp_path, "new.pem", bundle(ROOT, OTHER))
    code, _, err = run(capsys, aws, "push", str(new), "--trust-store", arn, "--s3",
                       f"s3://{BUCKET}/p.pem", "--yes", "--timeout", "0")
    assert code == 3 and "still CREATING after 0 s" in err and "--timeout" in err


def test_push_crls_replaces_old_revocations_only_after_the_new_are_in(
        aws: FakeAws, capsys: Capsys, tmp_path: Path) -> None:
    arn = make_store(aws, "partners", bundle(ROOT), (pem(make_crl(ROOT, [1])),))
    old_ids = set(aws.trust_stores[arn].revocations)
    crl = write(tmp_path, "root.crl", pem(make_crl(ROOT, [1, 2], crl_number=2)))
    same = write(tmp_path, "same.pem", bundle(ROOT))
    code, out, err = run(capsys, aws, "push", str(same), "--trust-store", arn, "--s3",
                         f"s3://{BUCKET}/live/partners.pem", "--crl", str(crl),
                         "--replace-crls", "--yes")
    assert code == 0, err
    assert "the bundle is unchanged" in out and "ModifyTrustStore" not in actions(aws)
    assert f"upload CRL {crl} to s3://{BUCKET}/live/root.crl" in out
    changes = [a for a in actions(aws) if a.endswith("TrustStoreRevocations")
               and not a.startswith("Describe")]
    assert changes[-2:] == ["AddTrustStoreRevocations", "RemoveTrustStoreRevocations"]
    revocations = aws.trust_stores[arn].revocations
    assert not old_ids & set(revocations) and [r.entries for r in revocations.values()] == [2]


def test_failed_crl_add_keeps_the_old_revocations(aws: FakeAws, capsys: Capsys,
                                                  tmp_path: Path) -> None:
    arn = make_store(aws, "partners", bundle(ROOT), (pem(make_crl(ROOT, [1])),))
    old = set(aws.trust_stores[arn].revocations)
    crl = write(tmp_path, "root.crl", pem(make_crl(ROOT, [1, 2])))
    aws.fail_next("AddTrustStoreRevocations", code="InvalidRevocationContent", message="bad",
                  status=400)
    code, _, err = run(capsys, aws, "push", str(write(tmp_path, "b.pem", bundle(ROOT))),
                       "--trust-store", arn, "--s3", f"s3://{BUCKET}/b.pem", "--crl", str(crl),
                       "--replace-crls", "--yes")
    assert code == 3 and "revocations are unchanged" in err and "--crl FILE" in err
    assert set(aws.trust_stores[arn].revocations) == old
    assert "RemoveTrustStoreRevocations" not in actions(aws)


def test_push_usage_errors(aws: FakeAws, capsys: Capsys, tmp_path: Path) -> None:
    path = str(write(tmp_path, "b.pem", bundle(ROOT)))
    code, _, err = run(capsys, aws, "push", path, "--trust-store", "x", "--s3", "bucket/key")
    assert code == 2 and "s3://BUCKET/KEY" in err
    code, _, err = run(capsys, aws, "push", path, "--trust-store", "x", "--s3", "s3://b/k",
                       "--replace-crls")
    assert code == 2 and "--crl" in err
    assert aws.calls == []


# --------------------------------------------------------------------------- create


def test_create_checks_the_name_before_any_call(aws: FakeAws, capsys: Capsys,
                                                tmp_path: Path) -> None:
    path = str(write(tmp_path, "b.pem", bundle(ROOT)))
    for name in ("bad_name", "-lead", "trail-", "a--b", "x" * 33, ""):
        code, _, err = cli(capsys, "aws", "create", "--endpoint-url", aws.url, "--s3",
                           f"s3://{BUCKET}/b.pem", "--", name, path)
        assert code == 2 and "not a valid trust store name" in err, name
    assert aws.calls == []
    assert "Contents" not in aws.client("s3").list_objects_v2(Bucket=BUCKET)


def test_create_with_crl_and_tags(aws: FakeAws, capsys: Capsys, tmp_path: Path) -> None:
    path = str(write(tmp_path, "b.pem", bundle(ROOT, OTHER)))
    crl = write(tmp_path, "root.crl", pem(make_crl(ROOT, [3])))
    code, out, err = run(capsys, aws, "create", "partners-2", path, "--s3",
                         f"s3://{BUCKET}/p2/bundle.pem", "--crl", str(crl), "--tag", "team=edge",
                         "--yes", "--poll-interval", "0")
    assert code == 0, err
    assert "Plan: create trust store partners-2" in out
    (store,) = aws.trust_stores.values()
    assert store.name == "partners-2" and store.bundle == bundle(ROOT, OTHER)
    assert store.tags == {"team": "edge"}
    assert [r.entries for r in store.revocations.values()] == [1]
    assert actions(aws).index("CreateTrustStore") < actions(aws).index(
        "AddTrustStoreRevocations")


def test_create_an_existing_name_is_refused_before_upload(aws: FakeAws, capsys: Capsys,
                                                          tmp_path: Path) -> None:
    make_store(aws, "partners", bundle(ROOT))
    path = str(write(tmp_path, "b.pem", bundle(ROOT)))
    code, _, err = run(capsys, aws, "create", "partners", path, "--s3", f"s3://{BUCKET}/n.pem",
                       "--yes")
    assert code == 3 and "already exists" in err and "aws push" in err
    assert "Contents" not in aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="n.pem")


def test_create_beyond_the_trust_store_quota_is_refused_before_upload(
        aws: FakeAws, capsys: Capsys, tmp_path: Path) -> None:
    for n in range(3):
        make_store(aws, f"s{n}", bundle(ROOT))
    path = str(write(tmp_path, "b.pem", bundle(ROOT)))
    aws.calls.clear()
    code, out, err = run(capsys, aws, "create", "s3", path, "--s3", f"s3://{BUCKET}/n.pem",
                         "--yes", "--quota", "trust-stores=3")
    assert code == 3 and "already has 3 trust stores, the quota is 3" in err
    assert "(it has 3 now)" in out and "CreateTrustStore" not in actions(aws)
    assert "Contents" not in aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="n.pem")
    code, _, err = run(capsys, aws, "create", "s3", path, "--s3", f"s3://{BUCKET}/n.pem",
                       "--yes", "--quota", "trust-stores=4", "--poll-interval", "0")
    assert code == 0, err


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(("code", "status", "hint"), [
    ("AccessDenied", 403, "minimal policy"),
    ("ExpiredToken", 400, "aws sso login"),
    ("Throttling", 400, "try again"),
])
def test_aws_errors_map_to_a_message_and_a_fix(aws: FakeAws, capsys: Capsys, code: str,
                                               status: int, hint: str) -> None:
    aws.fail_next("DescribeTrustStores", code=code, message="nope", status=status, times=5)
    exit_code, _, err = run(capsys, aws, "inspect")
    assert exit_code == 3 and code in err and hint in err and "Traceback" not in err


def test_no_credentials_and_no_boto3(aws: FakeAws, capsys: Capsys,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, _, err = run(capsys, aws, "inspect")
    assert code == 3 and "credentials" in err and "aws configure" in err
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    code, _, err = run(capsys, aws, "inspect")
    assert code == 3 and "AWS set-up failed" in err and "pass --region" in err
    monkeypatch.setitem(sys.modules, "boto3", None)
    code, _, err = run(capsys, aws, "inspect")
    assert code == 3 and "pip install 'mtls-doctor[aws]'" in err


def test_an_expired_download_link_says_so_without_the_link(aws: FakeAws, capsys: Capsys,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    make_store(aws, "partners", bundle(ROOT))
    original = aws._location

    def broken(kind: str, data: bytes) -> dict[str, Any]:
        location = original(kind, data)
        return {"Location": location["Location"].replace("/_fake/", "/_fake/expired-")}

    monkeypatch.setattr(aws, "_location", broken)
    code, _, err = run(capsys, aws, "inspect")
    assert code == 3 and "cannot download the CA bundle" in err and "HTTP 403" in err
    assert aws.url not in err


# --------------------------------------------------------------------------- README policies


def readme_policies() -> dict[str, set[str]]:
    """The IAM actions each command's policy in the README allows, by command."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme[readme.index("## Use with your AWS account"):readme.index("## Exit codes")]
    blocks = [json.loads(b.split("```", 1)[0]) for b in section.split("```json\n")[1:]]
    allowed = [{a for s in b["Statement"] for a in s["Action"]} for b in blocks]
    return dict(zip(("inspect", "push", "create"), allowed, strict=True))


def test_readme_policies_allow_every_call_each_command_makes(aws: FakeAws, capsys: Capsys,
                                                             tmp_path: Path) -> None:
    policies = readme_policies()

    def used(since: int) -> set[str]:
        return {f"elasticloadbalancing:{a}" for a in actions(aws)[since:]}

    arn = make_store(aws, "partners", bundle(ROOT), (pem(make_crl(ROOT, [1])),))
    aws.add_listener(arn)
    start = len(aws.calls)
    assert run(capsys, aws, "inspect")[0] == 0
    assert used(start) <= policies["inspect"]
    start = len(aws.calls)
    crl = write(tmp_path, "root.crl", pem(make_crl(ROOT, [1, 2])))
    assert run(capsys, aws, "push", str(write(tmp_path, "n.pem", bundle(ROOT, OTHER))),
               "--trust-store", "partners", "--s3", f"s3://{BUCKET}/n.pem", "--crl", str(crl),
               "--replace-crls", "--yes", "--poll-interval", "0")[0] == 0
    assert used(start) <= policies["push"]
    start = len(aws.calls)
    assert run(capsys, aws, "create", "other", str(write(tmp_path, "o.pem", bundle(OTHER))),
               "--s3", f"s3://{BUCKET}/o.pem", "--crl", str(crl), "--tag", "a=b", "--yes",
               "--poll-interval", "0")[0] == 0
    assert used(start) | {"elasticloadbalancing:AddTags"} <= policies["create"]
