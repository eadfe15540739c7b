"""Safety: the run ledger of inverse operations and its replay."""
