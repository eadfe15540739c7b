"""Game days: a plan of experiments run in order under a stop rule, with one combined report."""

from chaos_sre.gameday.plan import Plan, Step, load_plan, parse_plan
from chaos_sre.gameday.runner import Outcome, describe, preflight, run_plan

__all__ = ["Outcome", "Plan", "Step", "describe", "load_plan", "parse_plan", "preflight", "run_plan"]
