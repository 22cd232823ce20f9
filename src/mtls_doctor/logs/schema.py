"""The connection-log entry (alb-facts.md §6): 15 space-delimited fields, the subject quoted.

Older lines have 12 fields; newer ones may carry more (a trailing ``-`` before a field is
released). Fields past the 15th are kept as spares and never read.
"""

from __future__ import annotations

import re

FIELDS = ("time", "client_ip", "client_port", "listener_port", "tls_protocol", "tls_cipher",
          "tls_handshake_latency", "leaf_client_cert_subject", "leaf_client_cert_validity",
          "leaf_client_cert_serial_number", "tls_verify_status", "conn_trace_id",
          "tls_keyexchange", "elb", "ip_address")
SPARES = ("extra_1", "extra_2", "extra_3")
REQUIRED = 12  # the 2023-era lines end after conn_trace_id

# A line is an entry when these hold, checked in SQL (RE2, full match) and in Python alike.
TIME_PATTERN = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"
PORT_PATTERN = r"\d{1,5}"
STATUS_PATTERN = r"Success|-|Failed:[A-Za-z]+"
TIME, PORT, STATUS = (re.compile(f"^(?:{p})$") for p in (TIME_PATTERN, PORT_PATTERN,
                                                         STATUS_PATTERN))

# Connection-log files: conn_log_... (current) and conn_log.... (older documentation).
FILE_NAME = re.compile(r"^conn_log[._].*\.log(\.gz)?$")
