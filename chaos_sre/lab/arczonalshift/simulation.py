"""ARC zonal shifts in the lab: which load balancer is shifted away from which AZ, until when.

How AWS behaves, and so the lab ("Zonal shift in ARC", "Supported resources", "Zonal shift for
your Application Load Balancer", ARC API Reference; https://docs.aws.amazon.com/r53recovery/latest/dg/arc-zonal-shift.html):

* a load balancer is a managed resource once its ``zonal_shift.config.enabled`` attribute is
  ``true`` (off by default); a shift of any other resource is ResourceNotFoundException;
* a shift moves traffic away from one AZ, named by its AZ ID (``use1-az1``), of a resource in
  that AZ, for ``expiresIn`` (``1m`` to ``72h``), with a comment of at most 128 characters;
  a resource has at most one active shift (ConflictException, ``ZonalShiftAlreadyExists`` for the
  same AZ, ``SimultaneousZonalShiftsConflict`` for another);
* an active shift ends when it expires (EXPIRED) or is cancelled (CANCELED); an ended shift cannot
  be updated or cancelled again (ConflictException, ``ZonalShiftStatusNotActive``);
* zonal autoshift is enabled per managed resource, and only once it has a practice run
  configuration ("Zonal autoshift in ARC": practice runs are required); FIS's
  ``aws:arc:start-zonal-autoshift`` shifts only autoshift-enabled resources (shift type
  ``FIS_EXPERIMENT``, "Testing zonal autoshift with AWS FIS");
* while it is active the AZ's load balancer node leaves DNS (clients that resolved it keep using
  it for the record's TTL) and the other nodes stop routing to targets in the AZ
  ("Using cross-zone load balancing with zonal shift"); a load balancer that fails open, with
  no healthy target, is not shifted: the shift has no effect then.

The web tier reads :meth:`ZonalShifts.shifted_away` every tick (:mod:`chaos_sre.lab.elbv2.simulation`).
Times are the lab's: an ``expiresIn`` of AWS time lasts its scaled length on the wall clock.
"""

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, cast

from chaos_sre.lab.core.patches import hooks
from chaos_sre.lab.core.simulation import SimulationContext

TICK_ORDER = 19
"""After Auto Scaling, right before Elastic Load Balancing's tick, which reads the shifts."""
ACTIVE, EXPIRED, CANCELED = "ACTIVE", "EXPIRED", "CANCELED"


@dataclass
class ZonalShift:
    """One zonal shift, as ARC reports it."""

    zonal_shift_id: str
    resource_identifier: str
    away_from: str
    """The AZ ID (``use1-az1``)."""
    availability_zone: str
    """The AZ's name in the lab's account (``us-east-1a``)."""
    start_time: float
    expiry_time: float
    comment: str
    status: str = ACTIVE
    shift_type: str = "ZONAL_SHIFT"
    """``ZONAL_SHIFT``, or ``FIS_EXPERIMENT`` for a zonal autoshift an FIS experiment started."""

    def output(self) -> dict[str, Any]:
        """The ZonalShift structure of StartZonalShift, UpdateZonalShift and CancelZonalShift."""
        return {"zonalShiftId": self.zonal_shift_id, "resourceIdentifier": self.resource_identifier,
                "awayFrom": self.away_from, "expiryTime": self.expiry_time,
                "startTime": self.start_time, "status": self.status, "comment": self.comment}


@dataclass
class ZonalShifts:
    """Every zonal shift of the lab's account, and their expiry."""

    context: SimulationContext
    shifts: dict[str, ZonalShift] = field(default_factory=dict)
    autoshift: dict[str, str] = field(default_factory=dict)
    """Managed resource -> its zonal autoshift status (``ENABLED``; absent: ``DISABLED``)."""
    practice_runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Managed resource -> its practice run configuration (zonal autoshift needs one)."""

    def start(self, resource: str, away_from: str, zone: str, aws_seconds: float,
              comment: str, shift_type: str = "ZONAL_SHIFT") -> ZonalShift:
        """A new active shift of ``resource`` away from AZ ID ``away_from`` (``zone``)."""
        now = time.time()
        shift = ZonalShift(str(uuid.uuid4()), resource, away_from, zone, now,
                           now + self.context.scaled(aws_seconds), comment, shift_type=shift_type)
        self.shifts[shift.zonal_shift_id] = shift
        self.context.timeline.event("zonal-shift-started", resource, zonal_shift_id=shift.zonal_shift_id,
                                    availability_zone=zone)
        return shift

    def extend(self, shift: ZonalShift, aws_seconds: float) -> None:
        """``shift`` now expires ``aws_seconds`` of AWS time from now."""
        shift.expiry_time = time.time() + self.context.scaled(aws_seconds)

    def end(self, shift: ZonalShift, status: str) -> None:
        """``shift`` ends (CANCELED or EXPIRED): traffic may go back to its AZ."""
        shift.status = status
        self.context.timeline.event(f"zonal-shift-{status.lower()}", shift.resource_identifier,
                                    zonal_shift_id=shift.zonal_shift_id,
                                    availability_zone=shift.availability_zone)

    def active(self, resource: str | None = None) -> list[ZonalShift]:
        """The active shifts (of ``resource``), oldest first."""
        return sorted((s for s in self.shifts.values() if s.status == ACTIVE
                       and (resource is None or s.resource_identifier == resource)),
                      key=lambda s: s.start_time)

    def shifted_away(self, resource: str) -> frozenset[str]:
        """The AZ names ``resource``'s traffic is shifted away from now."""
        return frozenset(s.availability_zone for s in self.active(resource))

    def tick(self, now: float) -> None:
        """Expire the shifts whose time is up."""
        wall = time.time()
        for shift in self.active():
            if wall >= shift.expiry_time:
                self.end(shift, EXPIRED)

    def status(self) -> dict[str, Any]:
        return {"zonal_shifts": [{"resource": s.resource_identifier, "availability_zone": s.availability_zone,
                                  "expires_in_seconds": round(s.expiry_time - time.time(), 1)}
                                 for s in self.active()]}


def lab_shifts() -> ZonalShifts:
    """This lab's zonal shifts (for its API handlers and IAM view, under the lab lock)."""
    return cast(ZonalShifts, cast(Any, hooks()).service("arczonalshift"))


def create(context: SimulationContext) -> ZonalShifts:
    """ARC zonal shift's simulation (:mod:`chaos_sre.lab.core.simulation`)."""
    return ZonalShifts(context)
