"""Per AWS service: the describe, settings and wait helpers that faults and probes share.

Read-only by design: every call here describes or waits; the mutations live in
:mod:`chaos_sre.faults`, inside the run ledger. Every call goes through
:mod:`chaos_sre.aws` (one client factory, paginators, AWS errors translated once).
"""
