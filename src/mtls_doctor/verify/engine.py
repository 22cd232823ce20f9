"""The verify-mode model: what the load balancer logs for a client chain (verify-model.md).

Checks run in the order of s2n-tls over AWS-LC's ``X509_verify_cert``; the first failure is the
verdict and every other fault found on the same path is kept. Only the status codes and the
quotas are documented by AWS: everything else here is inferred from those libraries.
"""

from __future__ import annotations

import itertools
import os
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding

from mtls_doctor.errors import InputError
from mtls_doctor.facts import CertificateFacts, Unparseable, certificate_facts, iso, sha256_hex
from mtls_doctor.profiles import PROFILES, UNDERSTOOD_CRITICAL_EXTENSIONS
from mtls_doctor.signatures import certificate_signed_by
from mtls_doctor.truststore import TrustStore
from mtls_doctor.verify.chain import ClientChain, read_chain
from mtls_doctor.verify.model import Code, PathCertificate, Problem, Verdict
from mtls_doctor.verify.names import violation
from mtls_doctor.verify.revocation import CrlIndex

PROFILE = PROFILES["alb"]
MAX_DEPTH = PROFILE.limit("chain-depth")
MAX_MESSAGE = PROFILE.limit("tls-message-size")
MAX_PATHS = 64  # candidate paths tried before giving up (cross-signed loops are cut anyway)
SUPPORTED_LEAF_KEYS = ("RSA", "RSA-PSS", "EC")
DOC, INF = "documented", "inferred"

ChainInput = ClientChain | bytes | str | os.PathLike[str] | Sequence[bytes | x509.Certificate]


class _Fail(Protocol):
    def __call__(self, code: Code, message: str, index: int | None, basis: str = ...) -> None:
        ...


@dataclass(frozen=True)
class _Node:
    """A certificate on a candidate path; ``position`` is 1-based in the chain sent or bundle."""

    facts: CertificateFacts
    sha256: str
    trusted: bool
    position: int

    @property
    def name(self) -> str:
        return self.facts.subject or "(empty subject)"


def _time_valid(node: _Node, at: datetime) -> bool:
    return node.facts.not_before <= at <= node.facts.not_after


def _akid_ok(child: CertificateFacts, issuer: CertificateFacts) -> bool:
    return (child.authority_key_id is None or issuer.subject_key_id is None
            or child.authority_key_id == issuer.subject_key_id)


class Verifier:
    """One trust store, indexed once; verifies many chains and remembers signature checks."""

    def __init__(self, store: TrustStore) -> None:
        self.store = store
        self.crls = CrlIndex(store)
        self._trusted: dict[bytes, list[_Node]] = {}
        self._trusted_by_hash: dict[str, _Node] = {}
        for cert, facts in store.parsed:
            node = _Node(facts, cert.sha256, True, cert.index)
            self._trusted.setdefault(facts.subject_der, []).append(node)
            self._trusted_by_hash.setdefault(cert.sha256, node)
        self._signatures: dict[tuple[str, str], bool] = {}
        self._facts: dict[str, CertificateFacts] = {}

    # -- the chain as sent ---------------------------------------------------------------
    def _parse(self, der: bytes) -> tuple[str, CertificateFacts | str]:
        """The certificate's SHA-256 and its facts (or why it cannot be parsed), remembered so
        that intermediates sent with every chain are parsed once."""
        digest = sha256_hex(der)
        known = self._facts.get(digest)
        if known is not None:
            return digest, known
        try:
            parsed = certificate_facts(der)
        except Unparseable as exc:
            return digest, str(exc)
        if parsed.is_ca:  # leaves are rarely seen twice; CAs come with every chain
            if len(self._facts) > 10_000:
                self._facts.clear()
            self._facts[digest] = parsed
        return digest, parsed

    def _as_sent(self, ders: Sequence[bytes]) -> tuple[list[_Node], list[Problem]]:
        problems = []
        size = 3 + sum(3 + len(d) for d in ders)
        if size > MAX_MESSAGE:
            problems.append(Problem(Code.MAX_SIZE_EXCEEDED, f"The chain makes a TLS Certificate "
                                    f"message of {size:,} bytes; the limit is {MAX_MESSAGE:,}.",
                                    None, INF))
        nodes = []
        for position, der in enumerate(ders[:MAX_DEPTH], start=1):
            digest, parsed = self._parse(der)
            if isinstance(parsed, str):
                problems.append(Problem(Code.INVALID, f"Certificate {position} as sent cannot be "
                                        f"parsed: {parsed}.", position, INF))
            else:
                nodes.append(_Node(parsed, digest, False, position))
        if len(ders) > MAX_DEPTH:
            problems.append(Problem(Code.MAX_CHAIN_DEPTH_EXCEEDED, f"The client sends "
                                    f"{len(ders)} certificates; the load balancer reads at most "
                                    f"{MAX_DEPTH}.", None, DOC))
        if nodes and nodes[0].position == 1 and nodes[0].facts.public_key is None:
            try:  # again, to tell an unknown key type from a broken key
                nodes[0].facts.certificate.public_key()
            except UnsupportedAlgorithm:
                pass  # an unknown key type is judged last, as ClientCertTypeUnsupported
            except ValueError as exc:
                problems.append(Problem(Code.INVALID, f"The leaf's public key cannot be decoded: "
                                        f"{exc}.", 1, INF))
        return nodes, problems

    # -- path building --------------------------------------------------------------------
    def _paths(self, leaf: _Node, pool: list[_Node], at: datetime
               ) -> Iterator[tuple[list[_Node], bool]]:
        """Candidate paths, most preferred first: the trust store is searched before what the
        client sent, and time-valid issuers before others. A leaf in the bundle is its own path."""
        if leaf.sha256 in self._trusted_by_hash:
            yield [self._trusted_by_hash[leaf.sha256]], True
            return
        yield from self._extend([leaf], pool, at)

    def _extend(self, path: list[_Node], pool: list[_Node], at: datetime
                ) -> Iterator[tuple[list[_Node], bool]]:
        last = path[-1].facts
        used = {n.sha256 for n in path}

        def issuers(nodes: list[_Node]) -> list[_Node]:
            found = [n for n in nodes if n.sha256 not in used and _akid_ok(last, n.facts)]
            return sorted(found, key=lambda n: not _time_valid(n, at))

        trusted = issuers(self._trusted.get(last.issuer_der, []))
        sent = issuers([n for n in pool if n.facts.subject_der == last.issuer_der])
        for node in trusted:
            yield [*path, node], True
        for node in sent:
            yield from self._extend([*path, node], pool, at)
        if not trusted and not sent:
            yield path, False

    # -- checks on one path ---------------------------------------------------------------
    def _signed(self, child: _Node, issuer: _Node) -> bool:
        key = (child.sha256, issuer.sha256)
        if key not in self._signatures:
            self._signatures[key] = certificate_signed_by(child.facts.certificate,
                                                          issuer.facts.public_key)
        return self._signatures[key]

    def _evaluate(self, path: list[_Node], anchored: bool, at: datetime, ignore_expiry: bool,
                  check_purpose: bool) -> list[Problem]:
        problems: list[Problem] = []

        def fail(code: Code, message: str, index: int | None, basis: str = INF) -> None:
            problems.append(Problem(code, message, None if index is None else index + 1, basis))

        top = path[-1]
        if not anchored:
            why = ("is self-signed and not in the trust store" if top.facts.self_issued else
                   f"was issued by {top.facts.issuer}, which is neither in the trust store nor "
                   "sent by the client")
            fail(Code.UNTRUSTED, f"{top.name} {why}.", len(path) - 1)
        self._extensions(path, fail)
        self._revocation(path, fail)
        for i in range(len(path) - 1, -1, -1):
            node = path[i]
            if i < len(path) - 1 and not self._signed(node, path[i + 1]):
                fail(Code.UNTRUSTED, f"The signature of {node.name} does not verify with the key "
                     f"of {path[i + 1].name}.", i)
            if node.facts.not_before > at:
                fail(Code.NOT_YET_VALID, f"{node.name} is not valid before "
                     f"{iso(node.facts.not_before)}.", i, DOC if i == 0 else INF)
            elif node.facts.not_after <= at and not ignore_expiry:  # X509_cmp_time: equal is past
                fail(Code.EXPIRED, f"{node.name} expired on {iso(node.facts.not_after)}.", i,
                     DOC if i == 0 else INF)
        self._name_constraints(path, fail)
        if check_purpose and len(path) > 1:
            self._intent(path, anchored, fail)
        key = path[0].facts.key
        if key.type not in SUPPORTED_LEAF_KEYS:
            fail(Code.TYPE_UNSUPPORTED, f"The client certificate's key is {key.type}; the load "
                 "balancer supports RSA and ECDSA keys.", 0)
        return problems

    @staticmethod
    def _extensions(path: list[_Node], fail: _Fail) -> None:
        below = 0  # non-self-issued CA certificates between the leaf and the current one
        for i, node in enumerate(path):
            facts = node.facts
            unknown = [o for o in facts.critical_extensions
                       if o not in UNDERSTOOD_CRITICAL_EXTENSIONS]
            if unknown:
                fail(Code.UNTRUSTED, f"{node.name} has a critical extension the TLS library "
                     f"does not handle ({', '.join(unknown)}).", i)
            if i == 0:
                continue
            v1_root = facts.version == 1 and facts.self_issued
            if not (facts.is_ca or (facts.is_ca is None and v1_root)):
                fail(Code.UNTRUSTED, f"{node.name} issues certificates in this chain but is not "
                     "a CA (basicConstraints CA:TRUE is missing).", i)
            elif facts.key_usage is not None and "keyCertSign" not in facts.key_usage:
                fail(Code.UNTRUSTED, f"{node.name} is a CA whose keyUsage lacks keyCertSign.", i)
            if i > 1 and facts.path_length is not None and below > facts.path_length:
                fail(Code.UNTRUSTED, f"{node.name} allows {facts.path_length} intermediate(s) "
                     f"below it (pathLen); this chain has {below}.", i)
            if not facts.self_issued:
                below += 1

    def _revocation(self, path: list[_Node], fail: _Fail) -> None:
        if not self.crls:
            return
        for i, node in enumerate(path):
            crls = self.crls.for_issuer(node.facts.issuer_der)
            if not crls:
                continue
            issuer_node = (path[i + 1] if i + 1 < len(path)
                           else node if node.facts.self_issued else None)
            files = ", ".join(f"#{c.index}" for c in crls)
            if issuer_node is None:
                fail(Code.CRL_PROCESSING_ERROR, f"CRL {files} names the issuer of {node.name}, "
                     "but that issuer is not in the verified path, so the CRL cannot be "
                     "checked.", i)
                continue
            scoped = [c for c in crls if c.in_scope(node.facts)]
            if not scoped:
                fail(Code.CRL_PROCESSING_ERROR, f"CRL {files} names the issuer of {node.name} "
                     "but its issuingDistributionPoint does not cover it (or it is indirect "
                     "or partitioned by reason).", i)
                continue
            issuer = issuer_node.facts
            if issuer.key_usage is not None and "cRLSign" not in issuer.key_usage:
                fail(Code.UNTRUSTED, f"{issuer.subject} signs CRLs but its keyUsage lacks "
                     "cRLSign.", i)
                continue
            signed = [c for c in scoped if self.crls.signed(c, issuer, issuer_node.sha256)]
            if not signed:
                fail(Code.CRL_PROCESSING_ERROR, f"The signature of CRL {files} does not verify "
                     f"with the key of {issuer.subject}.", i)
                continue
            crl = signed[0]
            if crl.unhandled_extensions:
                fail(Code.CRL_PROCESSING_ERROR, f"CRL #{crl.index} has critical extension(s) "
                     f"the TLS library does not handle ({', '.join(crl.unhandled_extensions)}).",
                     i)
            elif node.facts.serial_number in crl.facts.revoked:
                fail(Code.CRL_HIT, f"{node.name} (serial {node.facts.serial}) is revoked by CRL "
                     f"#{crl.index} ({crl.file}).", i, DOC)

    @staticmethod
    def _name_constraints(path: list[_Node], fail: _Fail) -> None:
        for j in range(len(path) - 1, 0, -1):
            constraints = path[j].facts.name_constraints
            if constraints is None:
                continue
            for i in range(j):
                if i > 0 and path[i].facts.self_issued:
                    continue
                broken = violation(path[i].facts.certificate, constraints)
                if broken:
                    fail(Code.UNTRUSTED, f"{path[i].name} breaks the name constraints of "
                         f"{path[j].name}: {broken}.", i)

    @staticmethod
    def _intent(path: list[_Node], anchored: bool, fail: _Fail) -> None:
        last = len(path) - 1 if anchored else len(path)
        for i in range(last):
            facts = path[i].facts
            eku = facts.extended_key_usage
            if eku is not None and "clientAuth" not in eku:
                fail(Code.PURPOSE_INVALID, f"{path[i].name} has extendedKeyUsage "
                     f"({', '.join(eku) or 'empty'}) without clientAuth.", i)
            if i == 0 and facts.key_usage is not None and not {
                    "digitalSignature", "keyAgreement"} & set(facts.key_usage):
                fail(Code.PURPOSE_INVALID, f"{path[i].name} has keyUsage "
                     f"({', '.join(facts.key_usage) or 'empty'}) without digitalSignature or "
                     "keyAgreement.", i)

    def _choose(self, leaf: _Node, pool: list[_Node], at: datetime
                ) -> tuple[list[_Node], bool]:
        """The path the library settles on: the first candidate that reaches the trust store with
        every signature verifying (an issuer whose key did not sign is not the issuer), else the
        first that reaches it at all, else the first. Paths that reach the trust store and then
        fail a later check (revocation, time, purpose) are not retried (inferred)."""
        first: tuple[list[_Node], bool] | None = None
        first_anchored: list[_Node] | None = None
        for path, anchored in itertools.islice(self._paths(leaf, pool, at), MAX_PATHS):
            first = first or (path, anchored)
            if not anchored:
                continue
            if all(self._signed(path[i], path[i + 1]) for i in range(len(path) - 1)):
                return path, True
            first_anchored = first_anchored or path
        if first_anchored is not None:
            return first_anchored, True
        assert first is not None
        return first

    # -- the verdict ------------------------------------------------------------------------
    def verify(self, chain: ChainInput, *, at: datetime | None = None,
               ignore_expiry: bool = False, check_purpose: bool = True) -> Verdict:
        """The verdict for a chain (leaf first). ``check_purpose=False`` skips the client
        intent check, for suites written for server certificates."""
        ders = _ders(chain)
        if not ders:
            raise InputError("the chain holds no certificate: in verify mode the handshake needs "
                             "one")
        when = (at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)  # s2n: seconds
        nodes, problems = self._as_sent(ders)
        if not nodes or nodes[0].position != 1:
            return Verdict(tuple(problems), (), None)
        path, anchored = self._choose(nodes[0], nodes[1:], when)
        found = self._evaluate(path, anchored, when, ignore_expiry, check_purpose)
        return Verdict(tuple(problems + found), tuple(_shown(n) for n in path),
                       path[-1].position if anchored else None, _notes(nodes))


def _shown(node: _Node) -> PathCertificate:
    return PathCertificate(node.facts, node.sha256, "trust store" if node.trusted else "client",
                           node.position)


def _notes(nodes: list[_Node]) -> tuple[str, ...]:
    """Algorithms the libraries accept but AWS does not document for client chains."""
    notes = []
    for node in nodes:
        facts = node.facts
        if PROFILE.signature_problem(facts.signature_algorithm, facts.signature_hash):
            notes.append(f"Certificate {node.position} as sent is signed with "
                         f"{facts.signature_algorithm}, which AWS does not document as "
                         "supported; the TLS library accepts it (inferred).")
        low, high = PROFILE.rsa_bits
        if facts.key.type.startswith("RSA") and facts.key.bits and not (
                low <= facts.key.bits <= high):
            notes.append(f"Certificate {node.position} as sent has a {facts.key.bits}-bit RSA "
                         "key, outside the documented 2048-8192.")
    return tuple(notes)


def _ders(chain: ChainInput) -> tuple[bytes, ...]:
    if isinstance(chain, ClientChain):
        return chain.ders
    if isinstance(chain, bytes | str | os.PathLike):
        return read_chain(chain).ders
    return tuple(c.public_bytes(Encoding.DER) if isinstance(c, x509.Certificate) else c
                 for c in chain)


_VERIFIERS: weakref.WeakKeyDictionary[TrustStore, Verifier] = weakref.WeakKeyDictionary()


def verify_chain(chain: ChainInput, trust_store: TrustStore, at: datetime | None = None,
                 ignore_expiry: bool = False) -> Verdict:
    """Predict the load balancer's ``tls_verify_status`` for ``chain`` against ``trust_store``.

    ``chain`` is a path, the bytes of a chain file (PEM, DER, PKCS#7, a header value), a
    :class:`ClientChain`, or a list of DER bytes / certificates, leaf first. The trust store's
    index is built once and reused for later calls with the same store.
    """
    verifier = _VERIFIERS.get(trust_store)
    if verifier is None:
        verifier = _VERIFIERS[trust_store] = Verifier(trust_store)
    return verifier.verify(chain, at=at, ignore_expiry=ignore_expiry)
