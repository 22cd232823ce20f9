"""The rule catalogue. Importing this package registers every rule in :data:`RULES`."""

from mtls_doctor.rules import bundle, certificate, crl  # noqa: F401  (registration)
from mtls_doctor.rules.registry import (
    RULES,
    Basis,
    CheckContext,
    Finding,
    Rule,
    Severity,
    run,
)

__all__ = ["RULES", "Basis", "CheckContext", "Finding", "Rule", "Severity", "run"]
