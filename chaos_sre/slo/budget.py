"""Budget spent by a run, and whose traffic it assumes (docs/slo.md, "Budget spent").

An SLO's error budget is a number of requests: (1 - target) of all the requests
the window sees. What a run spends of it depends on how many requests met the
fault, which the sampler alone cannot know:

* **assumed** (the default, when the window's traffic is unknown): the run's
  traffic equals the window's average, so the spend is the sampled error ratio x
  (run duration / window) / (1 - target) - DESIGN.md section 3's formula;
* **weighted** (when the window's average rate is given, and optionally the
  users' rate during the run): the users' bad requests (the sampled error ratio x
  their rate x the duration) plus the sampler's own bad requests, over the
  window's budget in requests (window rate x window x (1 - target)).

The verdict and the stop condition use the weighted figure when it is known,
else the assumed one; the journal reports both, and the sampler's share apart.
"""

from dataclasses import dataclass

from chaos_sre.slo import math as slo_math


@dataclass(frozen=True)
class TrafficModel:
    """The SLO window, the sampler's rate and what is known of the service's own traffic."""

    window_seconds: float
    target: float
    sampler_rate: float
    window_rate: float | None = None
    """The service's average requests per second over the SLO window (None: unknown)."""
    run_rate: float | None = None
    """The users' requests per second during the run (None: the window's average)."""
    time_scale: float = 1.0
    """Wall seconds per AWS second: the run's timestamps are wall seconds, the window and the
    traffic rates are AWS's (chaos_sre.timescale)."""

    @property
    def known(self) -> bool:
        """Whether the window's traffic is known, so the spend can be weighted by it."""
        return self.window_rate is not None

    def assumed(self, bad: int, total: int, fault_at: float, last_at: float) -> float:
        """The spend if the run's traffic equals the window's average (the default model)."""
        return slo_math.spent_since_fault(bad, total, fault_at, last_at, self.sampler_rate,
                                          self.window_seconds * self.time_scale, self.target)

    def _budget_requests(self) -> float:
        assert self.window_rate is not None
        return self.window_rate * self.window_seconds * (1.0 - self.target)

    def sampler_share(self, bad: int) -> float | None:
        """The part of the weighted spend that is the sampler's own bad requests."""
        if self.window_rate is None or self.window_rate <= 0:
            return None
        return bad / self._budget_requests()

    def weighted(self, bad: int, total: int, fault_at: float, last_at: float) -> float | None:
        """Users' and sampler's bad requests over the window's budget (None when unknown)."""
        share = self.sampler_share(bad)
        if share is None or total <= 0:
            return share
        users = self.window_rate if self.run_rate is None else self.run_rate
        assert users is not None
        users_bad = bad / total * users * slo_math.run_duration(
            fault_at, last_at, self.sampler_rate) / self.time_scale
        return users_bad / self._budget_requests() + share

    def spent(self, bad: int, total: int, fault_at: float, last_at: float) -> float:
        """THE figure the verdict and the stop condition judge: weighted when known."""
        weighted = self.weighted(bad, total, fault_at, last_at)
        return self.assumed(bad, total, fault_at, last_at) if weighted is None else weighted

    def describe(self) -> str:
        """One line naming the model, for the journal and the log."""
        if self.window_rate is None:
            return "assumed: the run's traffic equals the SLO window's average"
        run = (f"{self.run_rate:g} req/s during the run" if self.run_rate is not None
               else "the same during the run")
        return (f"weighted: {self.window_rate:g} req/s over the SLO window, {run}, plus the "
                f"sampler's own {self.sampler_rate:g} req/s")
