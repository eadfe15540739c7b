"""The one exception tree of chaos-sre.

Every error a user can cause or meet derives from :class:`ChaosSreError` and
carries a one-line message that the CLI prints as ``error: <message>`` before
exiting non-zero. Third-party errors (botocore, requests, OS errors) are
translated at the boundary where they occur with ``raise ... from exc``, so the
original stays available in ``__cause__`` for debugging.

    ChaosSreError
    ├── ValidationError      bad input: a flag, a file, a configuration value
    │   └── ArgumentError    an activity's argument its declared model refuses
    ├── MissingExtra         an optional part (the lab, report plots) is not installed
    ├── LabError             the local lab cannot start, stop or be reached
    │   ├── LabAlreadyRunning
    │   └── LabNotRunning
    ├── AWSError             an AWS API call failed (carries the AWS error code)
    └── RollbackError        some recorded changes could not be undone (they stay pending)
"""


class ChaosSreError(Exception):
    """Base of every chaos-sre error; ``str(err)`` is a one-line message."""

    exit_code: int = 1


class ValidationError(ChaosSreError):
    """Input that chaos-sre refuses before doing anything."""

    exit_code = 2


class ArgumentError(ValidationError):
    """An activity argument that its argument model (type hints and defaults) refuses."""


class MissingExtra(ChaosSreError):
    """An optional part of chaos-sre is used but its packaging extra is not installed."""

    exit_code = 2


class LabError(ChaosSreError):
    """The local lab could not be started, stopped or reached."""

    exit_code = 2


class LabAlreadyRunning(LabError):
    """A lab is already running for this state directory."""


class LabNotRunning(LabError):
    """No lab is running for this state directory."""


class AWSError(ChaosSreError):
    """An AWS API call failed; ``code`` is the AWS error code (e.g. ``Throttling``), ``status``
    the HTTP status of AWS's answer (None when no answer came: a timeout, a lost connection)."""

    def __init__(self, message: str, *, code: str | None = None, operation: str | None = None,
                 status: int | None = None):
        super().__init__(message)
        self.code = code
        self.operation = operation
        self.status = status

    @property
    def refused(self) -> bool:
        """Whether AWS answered that it did not make the call (a 4xx: denied, invalid, throttled).

        A 5xx or no answer at all leaves it open whether the change was made.
        """
        return self.status is not None and 400 <= self.status < 500


class RollbackError(ChaosSreError):
    """Replaying a run ledger left changes unrestored; they stay pending for another replay."""
