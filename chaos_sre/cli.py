"""The ``chaos-sre`` command line.

Every error chaos-sre anticipates is printed as one line, ``error: ...``, with
a non-zero exit status (2 for bad input and lab start/stop problems).
"""

import dataclasses
import sys
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from chaos_sre import __version__, extras
from chaos_sre import report as report_formats
from chaos_sre.errors import ChaosSreError, LabError, ValidationError
from chaos_sre.lab.client import LabClient
from chaos_sre.lab.core import lifecycle
from chaos_sre.lab.core.plugin import service_lines
from chaos_sre.lab.core.services import lab_services
from chaos_sre.lab.core.settings import (
    DEFAULT_TIME_SCALE,
    PROFILES,
    Profile,
    parse_api_fault_rate,
    profile_named,
)
from chaos_sre.lab.core.state import live_state
from chaos_sre.timescale import parse_time_scale
from chaos_sre.verdicts import Status

F = TypeVar("F", bound=Callable[..., Any])
FAIL_ON = {"never": frozenset(),
           "failed": frozenset({Status.FAILED}),
           "inconclusive": frozenset({Status.FAILED, Status.INCONCLUSIVE}),
           "not-passed": frozenset(set(Status) - {Status.PASSED})}
"""``chaos-sre report --fail-on``: the verdicts that make it exit 1."""
DEFAULT_API_PORT = 5566
DEFAULT_ENDPOINT_PORT = 5580
STATUS_NOT_RUNNING = 3


def _one_line_errors(func: F) -> F:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ChaosSreError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="chaos-sre")
def main() -> None:
    """chaos-sre: chaos experiments on AWS, judged by the service's SLO."""


@main.command()
@click.option("--last", "use_last", is_flag=True,
              help="Replay the newest ledger in $CHAOS_SRE_LEDGER_DIR (default runs/ledgers).")
@click.option("--ledger", "ledger_path", type=click.Path(path_type=Path),
              help="Replay this ledger file.")
@_one_line_errors
def rollback(use_last: bool, ledger_path: Path | None) -> None:
    """Undo what a run changed, from its ledger (after a crash, or by hand); safe to repeat."""
    from chaos_sre.safety import rollback as ledger_rollback

    if use_last == (ledger_path is not None):
        raise ValidationError("say which run to roll back: --last or --ledger PATH (one of them)")
    path = ledger_rollback.newest_ledger() if use_last else ledger_path
    assert path is not None
    click.echo(f"rolling back {path}")
    restored = ledger_rollback.rollback(path)
    for line in restored:
        click.echo(f"  restored: {line}")
    click.echo(f"{len(restored)} change(s) restored" if restored
               else "nothing to restore: no recorded change is pending (each was undone, or "
                    "refused by AWS)")


@main.command()
@click.option("--offline", is_flag=True,
              help="Do not resolve the faults' targets in AWS (no AWS call at all).")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@_one_line_errors
def validate(offline: bool, files: tuple[Path, ...]) -> None:
    """Check experiments and SLO files before a run: one line per problem, nothing changes.

    Chaos Toolkit's own validation, then every chaos-sre activity's arguments
    against its declared signature, the control's settings and SLO file, the
    guardrails, and (unless --offline) each fault as a dry run: its targets
    resolved with read-only calls in the account the environment points at.
    Exits 2 at the first file with a problem.
    """
    from chaos_sre.safety.validate import validate_file  # imports Chaos Toolkit: only here

    for path in files:
        kind = validate_file(path, offline=offline)
        click.echo(f"{path}: valid {kind}")


@main.command()
@click.argument("journals", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(sorted(report_formats.FORMATS)), default="html",
              show_default=True, help="html: one self-contained page with plots; md: a summary "
              "for a pull request or chat; junit: one test case per run for CI dashboards.")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Write the report here ('-' for standard output). Default: html beside the "
              "first journal (JOURNAL.html), md and junit to standard output.")
@click.option("--title", help="The report's title (default: the experiment's, or 'N chaos-sre runs').")
@click.option("--fail-on", "fail_on", type=click.Choice(list(FAIL_ON)), default="never",
              show_default=True, help="Exit 1 when a run's verdict is FAILED (failed), FAILED or "
              "INCONCLUSIVE (inconclusive), or anything but PASSED (not-passed: dry runs too); "
              "the report is written first.")
@_one_line_errors
def report(journals: tuple[Path, ...], fmt: str, output: Path | None, title: str | None,
           fail_on: str) -> None:
    """Turn run journals into a report; several journals make one report that compares them.

    The HTML report shows the verdict and its reasons, the SLI timeline
    (availability and p99 latency with the SLO, budget burn against the
    allowance, markers for fault, stop, rollback and recovery), the activities,
    the targets touched and the configuration with secrets redacted. It reads
    the SLI samples recorded beside each journal.

    Exit status: 0 when the report was written (whatever the verdicts, unless
    --fail-on says otherwise); 1 when --fail-on matched a run's verdict; 2 when
    a journal cannot be read or its chaos-sre verdict is torn (one line names it).
    """
    runs = [report_formats.load_run(path) for path in journals]
    text = report_formats.render(runs, fmt, title)
    destination = output if output is not None else report_formats.default_output(journals[0], fmt)
    if destination is None or str(destination) == "-":
        click.echo(text, nl=False)
    else:
        report_formats.write(destination, text)
        click.echo(f"{fmt} report of {len(journals)} run(s): {destination}")
    matched = [run for run in runs if run.verdict.status in FAIL_ON[fail_on]]
    if matched:
        click.echo(f"--fail-on {fail_on}: " + "; ".join(f"{run.title}: {run.label}"
                                                        for run in matched), err=True)
        sys.exit(1)


@main.command()
@click.argument("plan_path", metavar="PLAN", type=click.Path(path_type=Path))
@click.option("--check", is_flag=True, help="Only read and validate the plan and its experiments.")
@click.option("--output", type=click.Path(path_type=Path),
              help="Put the dated results folder here instead of the plan's output.")
@_one_line_errors
def gameday(plan_path: Path, check: bool, output: Path | None) -> None:
    """Run a game-day plan: its experiments in order, a cool-down between them, a stop rule.

    The plan (YAML) lists experiment files with optional environment and
    configuration overrides; the game day stops at the first failed verdict
    (stop.on_failure, default true) or once the summed budget spent reaches
    stop.max_budget_spent. Every experiment is validated before the first one
    runs. Writes the journals and one combined report (HTML, Markdown, JUnit)
    into a dated folder under the plan's output (default runs/gameday).
    Exits 0 only when every experiment ran and passed.
    """
    from chaos_sre import gameday as gameday_runner

    plan = gameday_runner.load_plan(plan_path)
    if output is not None:
        plan = dataclasses.replace(plan, output=output)
    if check:
        gameday_runner.preflight(plan)
        click.echo(f"{plan_path}: valid game-day plan, {len(plan.steps)} experiment(s): "
                   + ", ".join(step.name for step in plan.steps))
        return
    try:
        outcome = gameday_runner.run_plan(plan, click.echo)
    except KeyboardInterrupt:  # a second signal while the reports were being written
        click.echo("error: interrupted before the game day's reports were written", err=True)
        sys.exit(130)
    for line in gameday_runner.describe(outcome):
        click.echo(line)
    if not outcome.passed:
        sys.exit(1)


@main.command("history")
@click.option("--experiment", "name", help="Only experiments whose title contains this text; "
              "also lists their runs.")
@click.option("--runs", "run_count", type=click.IntRange(min=1), default=10, show_default=True,
              help="How many recent runs to list per experiment with --experiment.")
@click.option("--fail-on-regression", is_flag=True,
              help="Exit 1 when an experiment's last run regressed (for scheduled runs).")
@click.option("--db", "path", type=click.Path(path_type=Path),
              help="The history file (default $CHAOS_SRE_HISTORY, else runs/history.sqlite).")
@_one_line_errors
def history_command(name: str | None, run_count: int, fail_on_regression: bool,
                    path: Path | None) -> None:
    """Per-experiment trends from the local run history: verdicts, recovery time, regressions.

    Every run with the chaos-sre control adds a row. A regression is a last run
    that did not pass after a passing one, or whose recovery took more than 1.5 x the
    median of the runs before it (and at least 1 s more).
    """
    from chaos_sre import history as run_history

    path = path or run_history.history_path()
    trends = run_history.trends(path, name)
    if not trends:
        raise ValidationError(f"no run in {path} matches {name!r}" if name
                              else f"the run history {path} is empty")
    click.echo(f"run history: {path}")
    for line in run_history.trend_table(trends):
        click.echo(line)
    for trend in trends if name else []:
        click.echo("")
        for line in run_history.run_table(trend, run_count):
            click.echo(line)
    regressions = [f"{t.experiment}: {t.regression()}" for t in trends if t.regression()]
    for line in regressions:
        click.echo(f"REGRESSED: {line}")
    if regressions and fail_on_regression:
        sys.exit(1)


@main.group()
def iam() -> None:
    """IAM permissions: what a runner needs to run given experiments."""


@iam.command("policy")
@click.option("--region", default=None, help="Limit the mutating statements to this region "
              "(aws:RequestedRegion).")
@click.option("--format", "output", type=click.Choice(["json", "markdown"]), default="json",
              show_default=True, help="An IAM policy document, or a table per activity.")
@click.option("--target-tag", "target_tags", multiple=True, metavar="KEY=VALUE",
              help="Allow changes only to targets carrying this tag (aws:ResourceTag); "
              "repeatable. Use the guardrails' required_tags, e.g. env=staging.")
@click.option("--engine", type=click.Choice(["chaos", "fis"]), default="chaos", show_default=True,
              help="Who makes the faults' changes: the runner (chaos run), or AWS FIS with the "
              "experiment role (chaos-sre fis run: the runner needs FIS, not the changes).")
@click.argument("experiments", nargs=-1, required=True, type=click.Path(path_type=Path))
@_one_line_errors
def iam_policy(region: str | None, output: str, target_tags: tuple[str, ...], engine: str,
               experiments: tuple[Path, ...]) -> None:
    """Print the least-privilege IAM policy for running EXPERIMENTS, from what each fault,
    probe and the control declare. Activities of other extensions that declare nothing are
    named on stderr."""
    from chaos_sre.iam import parse_target_tags, render

    text, notes = render(experiments, region=region, output=output,
                         target_tags=parse_target_tags(target_tags), engine=engine)
    click.echo(text, nl=False)
    for note in notes:
        click.echo(f"note: {note}", err=True)


def _fis_template_options(func: F) -> F:
    """The options of the template both `fis export` and `fis run` write: its account, the roles
    FIS and its SSM documents act as, and the experiment report's bucket."""
    options = [
        click.option("--account-id", default=None,
                     help="The account the template's ARNs name (default: the caller's, from STS)."),
        click.option("--role-arn", default=None,
                     help="The role FIS acts as (default: chaos-sre-fis-NAME in the account)."),
        click.option("--automation-role-arn", default=None,
                     help="The role generated SSM Automation documents act as (default: "
                     "chaos-sre-ssm-NAME in the account)."),
        click.option("--report-bucket", default=None,
                     help="An S3 bucket for FIS's experiment report (with the SLI dashboard's "
                     "snapshots)."),
        click.option("--orchestrator-role-arn", default=None,
                     help="Run the experiment multi-account from the account of this role (assumed "
                     "from your credentials): FIS acts in the experiment's own account."),
        click.option("--target-role-arn", default=None,
                     help="Multi-account: the role FIS assumes in the experiment's account "
                     "(default: chaos-sre-fis-target-NAME there)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@main.group()
def fis() -> None:
    """AWS Fault Injection Service as the engine: experiments as FIS experiment templates."""


@fis.command("export")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Write the template here instead of stdout.")
@click.option("--region", default=None, help="The Region (default: the experiment's aws_region).")
@click.option("--documents-dir", type=click.Path(path_type=Path), default=None,
              help="Write the SSM Automation documents the template starts, and their role's "
              "IAM policy, into this directory.")
@click.option("--alarms-file", type=click.Path(path_type=Path), default=None,
              help="Write the stop condition's CloudWatch alarms and the SLI dashboard "
              "(PutMetricAlarm, PutCompositeAlarm and PutDashboard inputs) here; reads the load "
              "balancer's CloudWatch dimension.")
@click.option("--role-policy", "role_policy_file", type=click.Path(path_type=Path), default=None,
              help="Write the least-privilege IAM policy (and trust policy) of the role FIS acts "
              "as here.")
@_fis_template_options
@click.argument("experiment", type=click.Path(path_type=Path))
@_one_line_errors
def fis_export(output: Path | None, account_id: str | None, role_arn: str | None,
               region: str | None, automation_role_arn: str | None, documents_dir: Path | None,
               alarms_file: Path | None, role_policy_file: Path | None, report_bucket: str | None,
               orchestrator_role_arn: str | None, target_role_arn: str | None,
               experiment: Path) -> None:
    """Print EXPERIMENT as a FIS CreateExperimentTemplate input (JSON), for
    `aws fis create-experiment-template --cli-input-json file://FILE`. A fault FIS has no
    action for runs as a generated SSM Automation document (--documents-dir). A fault or
    argument FIS cannot express is refused in one line; where FIS differs from chaos run is
    noted on stderr."""
    import json

    from chaos_sre.fis.export import export
    from chaos_sre.fis.files import write_files

    exported = export(experiment, account_id=account_id, role_arn=role_arn, region=region,
                      automation_role_arn=automation_role_arn, report_bucket=report_bucket,
                      orchestrator_role_arn=orchestrator_role_arn, target_role_arn=target_role_arn)
    text = json.dumps(exported.template, indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)
        click.echo(f"wrote {output}", err=True)
    for line in write_files(exported, documents_dir, alarms_file, role_policy_file):
        click.echo(line, err=True)


@fis.command("run")
@click.option("--preview", is_flag=True,
              help="Start the experiment with actionsMode skip-all: print the resolved targets, "
              "change nothing, judge nothing.")
@click.option("--journal-path", type=click.Path(path_type=Path), default=Path("journal.json"),
              show_default=True, help="Where chaos run writes the journal.")
@click.option("--log-file", type=click.Path(path_type=Path), default=None,
              help="chaos run's log file (its default: chaostoolkit.log).")
@click.option("--var-file", type=click.Path(path_type=Path), default=None,
              help="Configuration overrides, as chaos run --var-file takes them (JSON or YAML).")
@_fis_template_options
@click.argument("experiment", type=click.Path(path_type=Path))
@_one_line_errors
def fis_run(preview: bool, journal_path: Path, log_file: Path | None, var_file: Path | None,
            account_id: str | None, role_arn: str | None, automation_role_arn: str | None,
            report_bucket: str | None, orchestrator_role_arn: str | None, target_role_arn: str | None,
            experiment: Path) -> None:
    """Run EXPERIMENT with AWS FIS as its engine, judged by the same SLO verdict as chaos run.

    Checks the account's FIS safety lever and that FIS lists every action, creates or updates
    the template, its SSM documents and stop-condition alarms, starts the FIS experiment and
    judges it with the experiment's chaos-sre control: the sampler runs from the start, the
    fault's clock starts at FIS's first action, a budget stop calls StopExperiment. Exits as
    chaos run does (0 only for PASSED)."""
    from chaos_sre.fis import run as fis_runs
    from chaos_sre.gameday.runner import chaos_command

    options = {key: value for key, value in (("account_id", account_id), ("role_arn", role_arn),
               ("automation_role_arn", automation_role_arn), ("report_bucket", report_bucket),
               ("orchestrator_role_arn", orchestrator_role_arn), ("target_role_arn", target_role_arn))
               if value}
    if preview:
        if var_file is not None:
            raise ValidationError("--preview takes no --var-file: it runs the experiment's own configuration")
        for name, arns in fis_runs.preview(experiment, options, lambda line: click.echo(line, err=True)).items():
            click.echo(f"{name}: {len(arns)} resolved")
            for arn in arns:
                click.echo(f"  {arn}")
        return
    chaos = [chaos_command(), *(["--log-file", str(log_file)] if log_file else []), "run",
             "--journal-path", str(journal_path), *(["--var-file", str(var_file)] if var_file else [])]
    status = fis_runs.run(experiment, options, chaos, lambda line: click.echo(line, err=True))
    if status:
        sys.exit(status)


@main.group()
@_one_line_errors
def lab() -> None:
    """A local, offline stand-in for a staging AWS account (moto + a simulated web tier).

    Needs the ``lab`` extra: pip install 'chaos-sre[lab]'.
    """
    extras.require("lab")


def _lab_options(func: F) -> F:
    options = [
        click.option("--profile", default="resilient", show_default=True,
                     help=f"Lab profile: {', '.join(sorted(PROFILES))}."),
        click.option("--rds-proxy", is_flag=True,
                     help="Put RDS Proxy between the application and the Aurora cluster."),
        click.option("--api-fault-rate", default="0", show_default=True,
                     help="Share of AWS API calls answered with a throttling or 5xx error "
                          "(0.2: one in five)."),
        click.option("--time-scale", default=str(DEFAULT_TIME_SCALE), show_default=True,
                     help="Lab seconds per AWS second (0.1 plays an AWS minute in 6 s)."),
        click.option("--host", default="127.0.0.1", show_default=True, hidden=True),
        click.option("--api-port", type=int, default=DEFAULT_API_PORT, show_default=True,
                     help="Port of the AWS API (moto); 0 picks a free one."),
        click.option("--endpoint-port", type=int, default=DEFAULT_ENDPOINT_PORT,
                     show_default=True,
                     help="Port of the load balancer endpoint; 0 picks a free one."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _profile(name: str, rds_proxy: bool, api_fault_rate: str) -> Profile:
    chosen = profile_named(name).with_api_fault_rate(parse_api_fault_rate(api_fault_rate))
    return chosen.with_option("rds-proxy") if rds_proxy else chosen


@lab.command("up")
@_lab_options
@click.option("--detach", is_flag=True, help="Run in the background and return once ready.")
@_one_line_errors
def lab_up(profile: str, rds_proxy: bool, api_fault_rate: str, time_scale: str, host: str,
           api_port: int, endpoint_port: int, detach: bool) -> None:
    """Start the lab and print the `export` lines that point clients at it.

    Use it as: eval "$(chaos-sre lab up --detach)"
    """
    chosen = _profile(profile, rds_proxy, api_fault_rate)
    scale = parse_time_scale(time_scale)
    if detach:
        state = lifecycle.start_detached(profile=chosen, time_scale=scale, host=host,
                                       api_port=api_port, endpoint_port=endpoint_port)
        lifecycle.print_exports(state)
        click.echo(f"lab running in the background (pid {state.pid}, profile {chosen.name}, "
                   f"time scale {scale:g}); stop it with: chaos-sre lab down", err=True)
        return

    lifecycle.run_foreground(profile=chosen, time_scale=scale, host=host, api_port=api_port,
                           endpoint_port=endpoint_port, on_ready=lifecycle.print_ready)


@lab.command("down")
@_one_line_errors
def lab_down() -> None:
    """Stop the running lab; no process or port is left behind."""
    state = lifecycle.stop_lab()
    click.echo(f"lab stopped (pid {state.pid})", err=True)


@lab.command("status")
@_one_line_errors
def lab_status() -> None:
    """Show whether a lab runs, where, and the state of its web tier (exit 3 if none)."""
    state = live_state()
    if state is None:
        click.echo("no lab is running")
        sys.exit(STATUS_NOT_RUNNING)
    click.echo(f"lab running: pid {state.pid}, profile {state.profile}, "
               f"time scale {state.time_scale:g}, up {time.time() - state.started_at:.0f} s")
    click.echo(f"  AWS API:   {state.aws_url}")
    click.echo(f"  endpoint:  {state.target_url}")
    try:
        detail = LabClient(state.target_url, timeout=5).status()
    except LabError as exc:
        click.echo(f"  (status endpoint not answering: {exc})")
        return
    for line in service_lines(lab_services(), detail):
        click.echo(f"  {line}")
    faults = detail.get("api_faults") or {}
    if faults.get("rate"):
        click.echo(f"  API faults: rate {faults['rate']:g}, {sum(faults['injected'].values())} of "
                   f"{faults['calls']} calls failed")
    throttled = detail.get("throttled_calls") or {}
    if throttled:
        click.echo("  throttled by the account's rate limits: "
                   + ", ".join(f"{n} {action}" for action, n in sorted(throttled.items())))


@lab.command("exec", context_settings={"ignore_unknown_options": True})
@_lab_options
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@_one_line_errors
def lab_exec(profile: str, rds_proxy: bool, api_fault_rate: str, time_scale: str, host: str,
             api_port: int, endpoint_port: int, command: tuple[str, ...]) -> None:
    """Start a lab, run COMMAND with its environment, stop the lab, exit with COMMAND's status.

    Example: chaos-sre lab exec -- chaos run experiments/az-outage.json
    """
    chosen = _profile(profile, rds_proxy, api_fault_rate)
    scale = parse_time_scale(time_scale)
    status = lifecycle.exec_in_lab(command, profile=chosen, time_scale=scale, host=host,
                                 api_port=api_port, endpoint_port=endpoint_port)
    sys.exit(status)


if __name__ == "__main__":
    main()
