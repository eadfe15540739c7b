"""A third-party package for chaos-sre: a Lambda fault (throttle a function by its reserved
concurrency) and the lab service that plays Lambda's concurrency API for it.

Installed by its distribution's entry points (``chaos_sre_lambda_sample-0.1.dist-info``), not by
any edit to chaos-sre: docs/contributing.md walks through it.
"""
