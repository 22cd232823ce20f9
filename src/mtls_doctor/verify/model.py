"""What a verdict is made of: the load balancer's status codes, problems, and the path built."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from mtls_doctor.facts import CertificateFacts, iso


class Code(Enum):
    """The ``Failed:<code>`` values the load balancer logs, in the order its checks run."""

    MAX_CHAIN_DEPTH_EXCEEDED = "ClientCertMaxChainDepthExceeded"
    MAX_SIZE_EXCEEDED = "ClientCertMaxSizeExceeded"
    INVALID = "ClientCertInvalid"
    UNTRUSTED = "ClientCertUntrusted"
    CRL_HIT = "ClientCertCrlHit"
    CRL_PROCESSING_ERROR = "ClientCertCrlProcessingError"
    NOT_YET_VALID = "ClientCertNotYetValid"
    EXPIRED = "ClientCertExpired"
    PURPOSE_INVALID = "ClientCertPurposeInvalid"
    TYPE_UNSUPPORTED = "ClientCertTypeUnsupported"


# What to do about each code, said once for every place that reports it.
FIXES = {
    Code.MAX_CHAIN_DEPTH_EXCEEDED: "Send at most 4 certificates: the leaf and the intermediates "
    "up to one the trust store holds; leave the root out.",
    Code.MAX_SIZE_EXCEEDED: "Send fewer or smaller certificates: the whole Certificate message "
    "must fit in 64 KiB.",
    Code.INVALID: "Re-export the client certificate and chain from their source; one of them is "
    "malformed.",
    Code.UNTRUSTED: "Add the CA that issued the client's chain to the trust store bundle, or "
    "have the client send the missing intermediate; a CA certificate must have "
    "basicConstraints CA:TRUE and keyCertSign.",
    Code.CRL_HIT: "The certificate is revoked: issue the client a new certificate, or remove "
    "the entry from the CA's CRL and upload it again.",
    Code.CRL_PROCESSING_ERROR: "Upload a CRL that the issuing CA signed with the key in this "
    "chain, with no unsupported critical extensions, or remove the broken CRL.",
    Code.NOT_YET_VALID: "Wait until the certificate's notBefore, or check the issuing "
    "system's clock.",
    Code.EXPIRED: "Renew the expired certificate (or set IgnoreClientCertificateExpiry on the "
    "listener if that is really wanted).",
    Code.PURPOSE_INVALID: "Reissue the certificate with clientAuth in extendedKeyUsage and "
    "digitalSignature in keyUsage (intermediates: clientAuth, if they have extendedKeyUsage).",
    Code.TYPE_UNSUPPORTED: "Reissue the client certificate with an RSA or ECDSA key.",
}


@dataclass(frozen=True)
class Problem:
    """One fault found. ``certificate`` is the 1-based position in the path (1 = the leaf), or
    in the chain as sent for faults found before a path exists; None for the chain as a whole."""

    code: Code
    message: str
    certificate: int | None = None
    basis: str = "inferred"


@dataclass(frozen=True)
class PathCertificate:
    """One certificate of the path: where it came from, and the facts shown for it."""

    facts: CertificateFacts
    sha256: str
    source: str  # "client" or "trust store"
    position: int  # 1-based: in the chain as sent, or in the bundle

    @property
    def subject(self) -> str:
        return self.facts.subject

    @property
    def issuer(self) -> str:
        return self.facts.issuer

    @property
    def serial(self) -> str:
        return self.facts.serial

    @property
    def not_before(self) -> str:
        return iso(self.facts.not_before) or ""

    @property
    def not_after(self) -> str:
        return iso(self.facts.not_after) or ""


@dataclass(frozen=True)
class Verdict:
    """What the load balancer would log, why, and what to do about it."""

    problems: tuple[Problem, ...]
    chain: tuple[PathCertificate, ...]
    anchor: int | None
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def code(self) -> Code | None:
        return self.problems[0].code if self.problems else None

    @property
    def tls_verify_status(self) -> str:
        return "Success" if not self.problems else f"Failed:{self.problems[0].code.value}"

    @property
    def reason(self) -> str:
        if not self.problems:
            where = (f"trust store certificate #{self.anchor}" if self.anchor is not None
                     else "the trust store")
            return f"The chain verifies to {where}."
        return self.problems[0].message

    @property
    def fix(self) -> str:
        return "Nothing to fix." if not self.problems else FIXES[self.problems[0].code]

    @property
    def basis(self) -> str:
        return "documented" if not self.problems else self.problems[0].basis
