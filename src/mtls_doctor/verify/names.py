"""Name constraints (RFC 5280 §4.2.1.10) on DNS names, e-mail addresses, IP addresses and
directory names, as AWS-LC's NAME_CONSTRAINTS_check applies them (inferred)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from cryptography import x509
from cryptography.x509.oid import NameOID


def _dns_match(name: str, base: str) -> bool:
    name, base = name.lower().rstrip("."), base.lower().rstrip(".")
    if not base:
        return True
    if base.startswith("."):
        return name.endswith(base)
    return name == base or name.endswith("." + base)


def _email_match(address: str, base: str) -> bool:
    local, _, host = address.partition("@")  # AWS-LC splits at the first '@'
    if "@" in host:
        return False
    if "@" in base:
        return address.lower() == base.lower()
    if base.startswith("."):
        return host.lower().endswith(base.lower())
    return bool(local) and host.lower() == base.lower()


def _dn_match(subject: x509.Name, base: x509.Name) -> bool:
    mine, theirs = list(subject.rdns), list(base.rdns)
    return len(theirs) <= len(mine) and mine[:len(theirs)] == theirs


def _names(cert: x509.Certificate) -> Iterator[x509.GeneralName]:
    """The names a constraint applies to: SAN entries, the subject DN and its e-mail addresses."""
    try:
        alternative: list[x509.GeneralName] = list(
            cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        alternative = []
    yield from alternative
    if cert.subject.rdns:
        yield x509.DirectoryName(cert.subject)
    for attribute in cert.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS):
        yield x509.RFC822Name(str(attribute.value))


_SUPPORTED = (x509.DNSName, x509.RFC822Name, x509.IPAddress, x509.DirectoryName)
MAX_CHECKS = 1 << 20  # names x constraints, AWS-LC's bound against quadratic blow-up


class Unsupported(Exception):
    """A constraint of a kind AWS-LC cannot evaluate applies to one of the names."""


def _matches(name: x509.GeneralName, base: x509.GeneralName) -> bool | None:
    """Whether ``name`` is within ``base``; None when they are of different kinds."""
    if type(name) is type(base) and not isinstance(base, _SUPPORTED):
        raise Unsupported(type(base).__name__)
    if isinstance(name, x509.DNSName) and isinstance(base, x509.DNSName):
        return _dns_match(name.value, base.value)
    if isinstance(name, x509.RFC822Name) and isinstance(base, x509.RFC822Name):
        return _email_match(name.value, base.value)
    if isinstance(name, x509.IPAddress) and isinstance(base, x509.IPAddress):
        network = base.value
        address = name.value
        return (isinstance(network, ipaddress.IPv4Network | ipaddress.IPv6Network)
                and isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address)
                and address.version == network.version and address in network)
    if isinstance(name, x509.DirectoryName) and isinstance(base, x509.DirectoryName):
        return _dn_match(name.value, base.value)
    return None


def _wildcard_overlaps(name: x509.GeneralName, base: x509.GeneralName) -> bool:
    """A wildcard DNS name covers an excluded name below it (current AWS-LC)."""
    return (isinstance(name, x509.DNSName) and isinstance(base, x509.DNSName)
            and name.value.startswith("*.")
            and _dns_match(base.value.lstrip("."), name.value[2:]))


def violation(cert: x509.Certificate, constraints: x509.NameConstraints) -> str | None:
    """The first name of ``cert`` that ``constraints`` forbid, described, or None."""
    permitted = list(constraints.permitted_subtrees or [])
    excluded = list(constraints.excluded_subtrees or [])
    names = list(_names(cert))
    if len(names) * (len(permitted) + len(excluded)) > MAX_CHECKS:
        return (f"{len(names)} names against {len(permitted) + len(excluded)} constraints "
                "exceed the TLS library's limit")
    try:
        for name in names:
            if any(_matches(name, base) or _wildcard_overlaps(name, base) for base in excluded):
                return f"{_show(name)} is in an excluded subtree"
            same_kind = [base for base in permitted if _matches(name, base) is not None]
            if same_kind and not any(_matches(name, base) for base in same_kind):
                return f"{_show(name)} is outside the permitted subtrees"
    except Unsupported as kind:
        return f"a {kind} name constraint applies, which the TLS library does not support"
    return None


def _show(name: x509.GeneralName) -> str:
    value = name.value
    text = value.rfc4514_string() if isinstance(value, x509.Name) else str(value)
    return f"{type(name).__name__} {text}"
