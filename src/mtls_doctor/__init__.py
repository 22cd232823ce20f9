"""mtls-doctor: lint, fix and debug mTLS trust stores of AWS load balancers.

The public API is imported lazily, so ``mtls-doctor --version`` does not pay for ``cryptography``::

    from mtls_doctor import load_trust_store, check_trust_store, verify_chain
    store = load_trust_store("bundle.pem", crls=["ca.crl"])
    check_trust_store(store).accepted
    verify_chain("client-chain.pem", store).tls_verify_status
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mtls_doctor._version import __version__

if TYPE_CHECKING:
    from mtls_doctor.check import Report, check_trust_store
    from mtls_doctor.errors import InputError, MtlsDoctorError
    from mtls_doctor.fix import FixResult, fix_bundle
    from mtls_doctor.profiles import PROFILES, Profile
    from mtls_doctor.rules import RULES, Finding, Severity
    from mtls_doctor.truststore import TrustStore, load_trust_store
    from mtls_doctor.verify import Verdict, Verifier, verify_chain

_EXPORTS = {
    "load_trust_store": "mtls_doctor.truststore",
    "TrustStore": "mtls_doctor.truststore",
    "check_trust_store": "mtls_doctor.check",
    "Report": "mtls_doctor.check",
    "fix_bundle": "mtls_doctor.fix",
    "FixResult": "mtls_doctor.fix",
    "Finding": "mtls_doctor.rules",
    "Severity": "mtls_doctor.rules",
    "RULES": "mtls_doctor.rules",
    "Profile": "mtls_doctor.profiles",
    "PROFILES": "mtls_doctor.profiles",
    "MtlsDoctorError": "mtls_doctor.errors",
    "InputError": "mtls_doctor.errors",
    "verify_chain": "mtls_doctor.verify",
    "Verifier": "mtls_doctor.verify",
    "Verdict": "mtls_doctor.verify",
}

__all__ = [
    "PROFILES",
    "RULES",
    "Finding",
    "FixResult",
    "InputError",
    "MtlsDoctorError",
    "Profile",
    "Report",
    "Severity",
    "TrustStore",
    "Verdict",
    "Verifier",
    "__version__",
    "check_trust_store",
    "fix_bundle",
    "load_trust_store",
    "verify_chain",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'mtls_doctor' has no attribute {name!r}")
