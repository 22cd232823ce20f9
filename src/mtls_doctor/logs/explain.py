"""``logs summarize --trust-store``: failures the trust store explains.

The log gives the leaf's subject, serial and validity, not its issuer, so each explanation says
what the trust store shows about that failure: the CRL that lists the serial, the leaf's own
dates, or the bundle's findings that make every client under a CA fail.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mtls_doctor.check import Report
from mtls_doctor.logs.reader import LoadedLogs

TRUST_CODES = ("ClientCertUntrusted", "ClientCertExpired", "ClientCertNotYetValid",
               "ClientCertCrlHit", "ClientCertCrlProcessingError")
_CA_RULES = ("cert.not-ca", "cert.no-cert-sign", "cert.critical-extension", "cert.expired",
             "cert.not-yet-valid", "cert.unparseable")
_CRL_RULES = ("crl.bad-signature", "crl.critical-extension", "crl.issuer-unknown",
              "crl.unparseable")


def _utc(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None else None


# The connections columns explain reads.
COLUMNS = ("subject", "serial", "failure_code", "time", "not_before", "not_after")


def explain(logs: LoadedLogs, report: Report, top: int = 20) -> list[dict[str, Any]]:
    """One explanation per failing (subject, serial, code) group, most failures first."""
    codes = ", ".join(f"'{c}'" for c in TRUST_CODES)
    rows = logs.database.execute(
        "SELECT subject, serial, failure_code, count(*), min(time), max(time), "
        "any_value(not_before), any_value(not_after) FROM connections "
        f"WHERE failure_code IN ({codes}) GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1 LIMIT ?",
        [top]).fetchall()
    return [{"subject": subject, "serial": serial, "status": f"Failed:{code}", "count": count,
             "explanation": _why(report, code, serial, _utc(first), _utc(last),
                                 _utc(not_before), _utc(not_after))}
            for subject, serial, code, count, first, last, not_before, not_after in rows]


def _findings(report: Report, rules: tuple[str, ...]) -> str:
    found = [f for f in report.findings if f.rule in rules]
    if not found:
        return "the trust store shows nothing that explains it"
    return "; ".join(f"{f.rule}" + (f" on #{f.certificate}" if f.certificate else "")
                     + (f" on CRL #{f.crl}" if f.crl else "") for f in found[:5])


def _why(report: Report, code: str, serial: str | None, first: datetime | None,
         last: datetime | None, not_before: datetime | None, not_after: datetime | None) -> str:
    if code == "ClientCertCrlHit":
        number = int(serial, 16) if serial else None
        listing = [c for c in report.store.crls
                   if c.facts is not None and number is not None and number in c.facts.revoked]
        if listing:
            return ", ".join(f"serial {serial} is revoked by CRL #{c.index} ({c.file}, issuer "
                             f"{c.facts.issuer})" for c in listing if c.facts)
        return f"no CRL given here lists serial {serial}; the uploaded CRLs may differ"
    if code in ("ClientCertExpired", "ClientCertNotYetValid"):
        if code == "ClientCertExpired" and not_after and first and not_after < first:
            return f"the client certificate itself expired on {not_after:%Y-%m-%d}"
        if code == "ClientCertNotYetValid" and not_before and last and not_before > last:
            return f"the client certificate is valid only from {not_before:%Y-%m-%d}"
        return ("the client certificate was within its dates, so a CA of its chain was not: "
                + _findings(report, ("cert.expired", "cert.not-yet-valid")))
    if code == "ClientCertCrlProcessingError":
        return _findings(report, _CRL_RULES)
    return _findings(report, _CA_RULES)
