"""Lambda's account concurrency in moto: moto refuses a reservation that leaves fewer than 100
unreserved concurrent executions only when ``MOTO_LAMBDA_CONCURRENCY_QUOTA`` names the account's
quota, so the lab sets it to AWS's default, 1,000 ("Lambda quotas")."""

import os

from chaos_sre.lab.awslambda.invocations import ACCOUNT_CONCURRENCY

os.environ.setdefault("MOTO_LAMBDA_CONCURRENCY_QUOTA", str(ACCOUNT_CONCURRENCY))
