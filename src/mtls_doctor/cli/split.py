"""mtls-doctor split"""

from __future__ import annotations

from pathlib import Path

import click

from mtls_doctor.cli.options import write_atomic
from mtls_doctor.errors import UsageError


@click.command("split")
@click.argument("bundle", metavar="BUNDLE")
@click.option("--out", "out", default=".", show_default=True, metavar="DIR",
              help="Folder to write cert.1.pem, cert.2.pem, ... into (created if missing).")
@click.option("--force", is_flag=True, help="Replace cert.N.pem files that already exist.")
def command(bundle: str, out: str, force: bool) -> int:
    """Write one file per certificate: cert.1.pem, cert.2.pem, ... in bundle order.

    Each file holds the certificate block exactly as it stands in BUNDLE, so
    `cat cert.*.pem` in numeric order gives back the blocks. Other blocks (keys, CRLs) are not
    written; they are listed on standard error. DER and PKCS#7 input is written as PEM.
    """
    from mtls_doctor.truststore import load_trust_store

    store = load_trust_store(bundle)
    blocks = store.scan.certificate_blocks
    for other in (b for b in store.scan.blocks if b.label != "CERTIFICATE"):
        click.echo(f"skipped: {other.label} block at line {other.line}", err=True)
    if not blocks:
        click.echo(f"mtls-doctor: {store.bundle} holds no certificate block; nothing written.",
                   err=True)
        return 1
    folder = Path(out)
    targets = [folder / f"cert.{i}.pem" for i in range(1, len(blocks) + 1)]
    existing = [str(t) for t in targets if t.exists()]
    if existing and not force:
        raise UsageError(f"{', '.join(existing[:3])}{' ...' if len(existing) > 3 else ''} "
                         "already exist(s)", "pass --force to replace them, or choose --out DIR")
    for target, block in zip(targets, blocks, strict=True):
        write_atomic(str(target), block.raw)
        where = f"line {block.line}" if block.line else "converted from binary input"
        click.echo(f"{target}  ({where})")
    return 0
