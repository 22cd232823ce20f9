"""The load balancer's requirements as data: quotas, key and signature allow-lists, per profile.

A quota change is a one-line edit here. ``D_Q`` etc. are the citation URLs shown to users (the
source tags of alb-facts.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

D_MA = "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/mutual-authentication.html"
D_CFG = (
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/"
    "configuring-mtls-with-elb.html"
)
D_Q = "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html"
D_CL = (
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/"
    "load-balancer-connection-logs.html"
)
A_CT = "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTrustStore.html"
A_ATR = (
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/"
    "API_AddTrustStoreRevocations.html"
)
S2N = "https://github.com/aws/s2n-tls/blob/main/tls/s2n_x509_validator.c"
AWSLC_PURP = "https://github.com/aws/aws-lc/blob/main/crypto/x509/v3_purp.c"
AWSLC_CRL = "https://github.com/aws/aws-lc/blob/main/crypto/x509/x_crl.c"
RFC5280_SERIAL = "https://www.rfc-editor.org/rfc/rfc5280#section-4.1.2.2"


@dataclass(frozen=True)
class Quota:
    """One service quota: its default, whether AWS raises it on request, and its quota code."""

    name: str
    value: int
    unit: str
    adjustable: bool
    code: str | None
    description: str


def _quotas(*quotas: Quota) -> Mapping[str, Quota]:
    return MappingProxyType({q.name: q for q in quotas})


# Documented in D_Q for the Application Load Balancer; trust stores are shared ELBv2 resources.
TRUST_STORE_QUOTAS = _quotas(
    Quota("ca-certificates", 25, "certificates", True, "L-43FE5A42",
          "CA certificates per trust store"),
    Quota("ca-subject-size", 10_000, "bytes", True, "L-F31E307C",
          "CA certificates subject size per trust store (sum of DER subject names)"),
    Quota("ca-certificate-size", 16 * 1024, "bytes", False, None, "CA certificate size"),
    Quota("revocation-lists", 30, "files", True, "L-332EE142",
          "Revocation lists per trust store"),
    Quota("revocation-entries", 500_000, "entries", True, "L-37E1617B",
          "Revocation entries per trust store"),
    Quota("revocation-list-size", 50 * 1000 * 1000, "bytes", False, None,
          "Revocation list file size"),
    Quota("chain-depth", 4, "certificates", False, None, "Maximum certificate chain depth"),
    Quota("tls-message-size", 64 * 1024, "bytes", False, None, "TLS message size"),
    Quota("trust-stores", 20, "trust stores", True, None,
          "Trust stores per account, in each Region (`aws inspect` reports the use)"),
)

# OID -> OpenSSL long name, for every signature algorithm a bundle is likely to carry.
SIGNATURE_NAMES: Mapping[str, str] = MappingProxyType({
    "1.2.840.113549.1.1.2": "md2WithRSAEncryption",
    "1.2.840.113549.1.1.4": "md5WithRSAEncryption",
    "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
    "1.2.840.113549.1.1.14": "sha224WithRSAEncryption",
    "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
    "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
    "1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
    "1.2.840.113549.1.1.10": "rsassaPss",
    "1.2.840.10045.4.1": "ecdsa-with-SHA1",
    "1.2.840.10045.4.3.1": "ecdsa-with-SHA224",
    "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
    "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
    "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
    "1.2.840.10040.4.3": "dsaWithSHA1",
    "2.16.840.1.101.3.4.3.1": "dsa_with_SHA224",
    "2.16.840.1.101.3.4.3.2": "dsa_with_SHA256",
    "1.3.101.112": "ED25519",
    "1.3.101.113": "ED448",
})

# AWS-LC's X509_supported_extension(): critical extensions it understands (inferred, AWSLC_PURP).
UNDERSTOOD_CRITICAL_EXTENSIONS = frozenset({
    "2.16.840.1.113730.1.1",  # nsCertType
    "2.5.29.15",  # keyUsage
    "2.5.29.17",  # subjectAltName
    "2.5.29.19",  # basicConstraints
    "2.5.29.32",  # certificatePolicies
    "2.5.29.31",  # cRLDistributionPoints
    "2.5.29.37",  # extKeyUsage
    "2.5.29.36",  # policyConstraints
    "2.5.29.30",  # nameConstraints
    "2.5.29.33",  # policyMappings
    "2.5.29.54",  # inhibitAnyPolicy
})

# Critical CRL extensions AWS-LC handles (inferred, AWSLC_CRL): issuingDistributionPoint, AKI.
UNDERSTOOD_CRITICAL_CRL_EXTENSIONS = frozenset({"2.5.29.28", "2.5.29.35"})


@dataclass(frozen=True)
class Profile:
    """What one load balancer type accepts. ``quotas`` may be raised with :meth:`with_quotas`."""

    name: str
    title: str
    quotas: Mapping[str, Quota]
    rsa_bits: tuple[int, int] = (2048, 8192)
    ec_curves: frozenset[str] = frozenset({"secp256r1", "secp384r1", "secp521r1"})
    signature_algorithms: frozenset[str] = frozenset({
        "sha256WithRSAEncryption", "sha384WithRSAEncryption", "sha512WithRSAEncryption",
        "ecdsa-with-SHA256", "ecdsa-with-SHA384", "ecdsa-with-SHA512", "rsassaPss",
    })
    pss_hashes: frozenset[str] = frozenset({"sha256", "sha384", "sha512"})
    notes: tuple[str, ...] = field(default=())

    def limit(self, name: str) -> int:
        return self.quotas[name].value

    def signature_problem(self, algorithm: str, hash_name: str | None) -> str | None:
        """Why a signature algorithm (OpenSSL name) and its hash are not accepted, or None."""
        if algorithm not in self.signature_algorithms:
            return (f"Signed with {algorithm}; supported: "
                    + ", ".join(sorted(self.signature_algorithms)) + ".")
        if algorithm == "rsassaPss" and hash_name not in self.pss_hashes:
            return f"Signed with RSASSA-PSS over {hash_name}; SHA-256/384/512 are supported."
        return None

    def with_quotas(self, overrides: Mapping[str, int]) -> Profile:
        """A copy with raised (or lowered) adjustable quotas; ValueError names what is wrong."""
        quotas = dict(self.quotas)
        for name, value in overrides.items():
            if name not in quotas:
                known = ", ".join(sorted(quotas))
                raise ValueError(f"unknown quota {name!r}; known quotas: {known}")
            if not quotas[name].adjustable:
                raise ValueError(f"quota {name!r} is fixed by AWS and cannot be raised")
            if value < 1:
                raise ValueError(f"quota {name!r} must be a positive whole number")
            quotas[name] = replace(quotas[name], value=value)
        return replace(self, quotas=MappingProxyType(quotas))


PROFILES: Mapping[str, Profile] = MappingProxyType({
    "alb": Profile("alb", "Application Load Balancer", TRUST_STORE_QUOTAS),
    "nlb": Profile(
        "nlb", "Network Load Balancer", TRUST_STORE_QUOTAS,
        notes=("NLB uses the same ELBv2 trust stores; their quotas are documented on the ALB "
               "quota page and assumed to apply (inferred).",),
    ),
})
