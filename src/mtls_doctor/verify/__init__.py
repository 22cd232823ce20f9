"""The load balancer's verify mode: the one verifier every feature that judges a chain uses."""

from mtls_doctor.verify.chain import ClientChain, read_chain
from mtls_doctor.verify.engine import Verifier, verify_chain
from mtls_doctor.verify.model import Code, PathCertificate, Problem, Verdict

__all__ = ["ClientChain", "Code", "PathCertificate", "Problem", "Verdict", "Verifier",
           "read_chain", "verify_chain"]
