"""mtls-doctor verify"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mtls_doctor.cli.options import at_option, crl_option, emit, text_width, use_color
from mtls_doctor.errors import InputError, UsageError

if TYPE_CHECKING:
    from mtls_doctor.verify import ClientChain, Verifier

BatchItem = tuple[dict[str, object], "ClientChain | InputError"]


def _batch_items(folder: str | None, headers_file: str | None,
                 password: bytes | None) -> Iterator[BatchItem]:
    """(label, chain or the InputError that reading it raised) for every chain of a batch."""
    from mtls_doctor.truststore import read_input
    from mtls_doctor.verify import ClientChain, read_chain

    if folder is not None:
        for path in sorted(p for p in Path(folder).rglob("*")
                           if p.is_file() and not p.name.startswith(".")):
            try:
                yield {"file": str(path)}, read_chain(path, password)
            except InputError as exc:
                yield {"file": str(path)}, exc
        return
    assert headers_file is not None
    from mtls_doctor.headers import decode_clientcert

    name, data = read_input(headers_file, 256 * 1024 * 1024, "Headers file")
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield {"line": number}, ClientChain(tuple(decode_clientcert(line)), name)
        except InputError as exc:
            yield {"line": number}, exc


@click.command("verify")
@click.argument("chain", required=False, metavar="[CHAIN]")
@click.option("--trust-store", "trust_store", required=True, metavar="BUNDLE",
              help="The trust store's CA bundle (PEM).")
@crl_option
@at_option
@click.option("--ignore-client-certificate-expiry", "ignore_expiry", is_flag=True,
              help="Mirror the listener option IgnoreClientCertificateExpiry.")
@click.option("--header", metavar="VALUE", help="An X-Amzn-Mtls-Clientcert header value "
              "instead of CHAIN.")
@click.option("--headers-file", metavar="FILE", help="Batch: one X-Amzn-Mtls-Clientcert value "
              "per line.")
@click.option("--password", metavar="TEXT", help="Password of a PKCS#12 CHAIN.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format (batch json: JSON Lines).")
@click.option("-o", "--output", metavar="FILE", help="Write the result to FILE.")
def command(chain: str | None, trust_store: str, crls: tuple[str, ...], at: datetime | None,
            ignore_expiry: bool, header: str | None, headers_file: str | None,
            password: str | None, fmt: str, output: str | None) -> int:
    """Predict what the load balancer in verify mode logs for a client's chain.

    CHAIN is the chain the client presents, leaf first (PEM, DER, PKCS#7 .p7b, PKCS#12 with
    --password, or '-' for standard input), or a folder of chain files (batch). The result is
    the exact tls_verify_status of the connection log (Success or Failed:<Code>), the reason,
    the fix, and the path built. Behaviour AWS does not document is modelled on s2n-tls and
    AWS-LC and marked 'inferred'.

    \b
    Exit codes: 0 Success (batch: every chain), 1 Failed, 2 usage error, 3 unreadable input.
    \b
    Examples:
      mtls-doctor verify client-chain.pem --trust-store bundle.pem --crl ca.crl
      mtls-doctor verify --header "$HEADER" --trust-store bundle.pem --format json
      mtls-doctor verify chains/ --trust-store bundle.pem --format json > verdicts.jsonl
    """
    from mtls_doctor.report import RenderOptions
    from mtls_doctor.report.verdict import render_text, to_dict
    from mtls_doctor.truststore import load_trust_store
    from mtls_doctor.verify import ClientChain, Verifier, read_chain

    sources = [s for s in (chain, header, headers_file) if s is not None]
    if len(sources) != 1:
        raise UsageError("give exactly one of CHAIN, --header or --headers-file")
    if [chain, trust_store, *crls, headers_file].count("-") > 1:
        raise UsageError("standard input ('-') can be read only once")
    secret = password.encode() if password is not None else None
    verifier = Verifier(load_trust_store(trust_store, crls))
    options = RenderOptions(color=use_color(output), width=text_width(output))

    if headers_file is not None or (chain is not None and Path(chain).is_dir()):
        folder = chain if headers_file is None else None
        return _batch(verifier, _batch_items(folder, headers_file, secret), fmt, output,
                      at, ignore_expiry)
    if header is not None:
        from mtls_doctor.headers import decode_clientcert

        client = ClientChain(tuple(decode_clientcert(header)), "--header")
    else:
        assert chain is not None
        client = read_chain(chain, secret)
    verdict = verifier.verify(client, at=at, ignore_expiry=ignore_expiry)
    text = (json.dumps(to_dict(verdict), indent=2, ensure_ascii=False) + "\n" if fmt == "json"
            else render_text(verdict, options))
    emit(text, output)
    return 0 if verdict.ok else 1


def _batch(verifier: Verifier, items: Iterator[BatchItem], fmt: str, output: str | None,
           at: datetime | None, ignore_expiry: bool) -> int:
    """One verdict per chain (JSON Lines with --format json); the count per status on stderr."""
    from mtls_doctor.report.text import safe
    from mtls_doctor.report.verdict import to_dict

    counts: Counter[str] = Counter()
    lines = []
    for label, item in items:
        if isinstance(item, InputError):
            status, record = "Unreadable", {**label, "error": item.message}
        else:
            verdict = verifier.verify(item, at=at, ignore_expiry=ignore_expiry)
            status, record = verdict.tls_verify_status, {**label, **to_dict(verdict)}
        counts[status] += 1
        if fmt == "json":
            lines.append(json.dumps(record, ensure_ascii=False))
        else:
            where = next(iter(label.values()))
            detail = record.get("reason", record.get("error"))
            lines.append(f"{safe(str(where))}: {status}: {safe(str(detail))}")
    emit("".join(line + "\n" for line in lines), output)
    total = sum(counts.values())
    summary = ", ".join(f"{status} {count}" for status, count in counts.most_common())
    print(f"{total} chain(s): {summary or 'none found'}", file=sys.stderr)
    return 0 if total and counts["Success"] == total else 1
