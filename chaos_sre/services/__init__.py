"""Per AWS service: the describe, settings and wait helpers that faults and probes share.

Read-only but for one write: every call here describes or waits, except
:func:`chaos_sre.services.application_autoscaling.register`, which sets a scalable target to
exactly the given min, max and suspended state - called only by faults and their inverses,
inside the run ledger, where every mutation lives (:mod:`chaos_sre.faults`). Every call goes through
:mod:`chaos_sre.aws` (one client factory, paginators, AWS errors translated once).
"""
