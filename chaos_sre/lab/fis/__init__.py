"""AWS FIS in the lab: moto stores experiment templates and experiments; the lab runs the
experiments - target resolution, actions with their durations on the lab's own models, experiment
and action states (:mod:`chaos_sre.lab.fis.simulation`)."""

from chaos_sre.lab.core.plugin import LabService
from chaos_sre.lab.fis.status import status_lines

SERVICE = LabService(name="fis", package=__name__, order=5, botocore_services=("fis",),
                     status_lines=status_lines)
