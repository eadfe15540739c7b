"""The open-loop sampler against the lab: rate, sample records, and no thinning under outage."""

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import RunningLab, wait_until

from chaos_sre.eventloop import new_event_loop
from chaos_sre.slo.sampler import Sampler, parse_paths, weighted_cycle
from chaos_sre.slo.samples import Sample, read_samples


def run_sampler(url: str, out: Path, *, rate: float, timeout: float = 1.0,
                paths: str = "/:1", processes: int = 0) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "chaos_sre.slo.sampler", "--url", url,
                             "--rate", str(rate), "--timeout", str(timeout), "--paths", paths,
                             "--out", str(out), "--max-seconds", "120",
                             "--processes", str(processes)])


def children_of(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0


def test_weighted_cycle_and_paths() -> None:
    assert parse_paths("/:3,/checkout:1") == [("/", 3), ("/checkout", 1)]
    assert parse_paths("api") == [("/api", 1)]
    cycle = weighted_cycle([("/", 3), ("/checkout", 1)])
    assert Counter(cycle) == {"/": 3, "/checkout": 1}
    assert cycle[0] == "/"


@pytest.mark.serial
def test_sampler_keeps_its_rate_and_records_every_field(shared_lab: RunningLab,
                                                        tmp_path: Path) -> None:
    out = tmp_path / "samples.jsonl"
    process = run_sampler(shared_lab.target_url, out, rate=200, paths="/:3,/checkout:1")
    time.sleep(3)
    stop(process)
    samples = read_samples(out)
    scheduled = sorted(s.scheduled for s in samples)
    achieved = (len(scheduled) - 1) / (scheduled[-1] - scheduled[0])
    assert achieved == pytest.approx(200, rel=0.02)
    gaps = {round(b - a, 6) for a, b in itertools.pairwise(scheduled)}
    assert gaps == {0.005}
    assert {s.outcome for s in samples} == {"2xx"}
    assert all(s.status == 200 and s.latency is not None and s.sent >= s.scheduled - 0.001
               for s in samples)
    assert Counter(s.path for s in samples)["/checkout"] == pytest.approx(len(samples) / 4, abs=2)


def test_refused_connections_are_connection_errors(tmp_path: Path) -> None:
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "samples.jsonl"
    process = run_sampler(f"http://127.0.0.1:{port}", out, rate=50)
    assert wait_until(lambda: out.exists() and len(read_samples(out)) >= 20, timeout=20)
    stop(process)
    samples = read_samples(out)
    assert len(samples) >= 20
    assert {s.outcome for s in samples} == {"connection-error"}
    assert all(s.latency is None and s.status is None for s in samples)
    assert not Sample(0, 0, None, "connection-error").good()


@pytest.mark.serial
def test_a_blackholed_endpoint_does_not_thin_the_sample(start_lab, tmp_path: Path) -> None:
    lab = start_lab()
    autoscaling, ec2 = lab.client("autoscaling"), lab.client("ec2")
    # keep the targets registered so the load balancer fails open onto them
    autoscaling.suspend_processes(AutoScalingGroupName="web",
                                  ScalingProcesses=["HealthCheck", "ReplaceUnhealthy"])
    subnets = ec2.describe_subnets(Filters=[{"Name": "tag:app", "Values": ["web"]}])["Subnets"]
    ids = {s["SubnetId"] for s in subnets}
    deny = ec2.create_network_acl(VpcId=subnets[0]["VpcId"])["NetworkAcl"]["NetworkAclId"]
    associations = [
        (a["NetworkAclAssociationId"], a["NetworkAclId"])
        for acl in ec2.describe_network_acls(
            Filters=[{"Name": "association.subnet-id", "Values": sorted(ids)}])["NetworkAcls"]
        for a in acl["Associations"] if a["SubnetId"] in ids
    ]
    rate = 100.0
    out = tmp_path / "samples.jsonl"
    process = run_sampler(lab.target_url, out, rate=rate, timeout=1.0)
    time.sleep(1.0)
    cut_at = time.time()
    new = [ec2.replace_network_acl_association(AssociationId=a, NetworkAclId=deny)["NewAssociationId"]
           for a, _ in associations]
    time.sleep(10.0)
    restored_at = time.time()
    for association, (_, original) in zip(new, associations):
        ec2.replace_network_acl_association(AssociationId=association, NetworkAclId=original)
    time.sleep(1.5)
    stop(process)
    samples = read_samples(out)
    inside = [s for s in samples if cut_at + 0.1 <= s.sent < restored_at]
    expected = (restored_at - cut_at - 0.1) * rate
    assert len(inside) == pytest.approx(expected, rel=0.02)
    outcomes = Counter(s.outcome for s in inside)
    assert outcomes["timeout"] >= 0.95 * len(inside)


def test_the_sampler_asks_to_run_ahead_of_the_runner_where_allowed() -> None:
    """A sampler starved by a busy runner leaves gaps the verdict calls INCONCLUSIVE; it asks for
    a higher scheduling priority, which only a privileged user gets (CAP_SYS_NICE): either the
    priority rose by PRIORITY_BOOST or it is unchanged and raise_priority says so."""
    probe = ("import os; from chaos_sre.slo import sampler; before = os.getpriority(os.PRIO_PROCESS, 0);"
             " raised = sampler.raise_priority(); after = os.getpriority(os.PRIO_PROCESS, 0);"
             " print(raised, before - after, sampler.PRIORITY_BOOST)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True, timeout=60)
    raised, change, boost = result.stdout.split()
    assert (raised, int(change)) in (("True", int(boost)), ("False", 0)), result.stdout


def test_processes_share_one_schedule_and_write_one_sample_file(shared_lab: RunningLab,
                                                                 tmp_path: Path) -> None:
    """Three processes take every third request each, from one start: the file holds every
    request of the schedule exactly once, as one process would have written it - up to the
    last request every process reached (each stops on its own at the signal, so one may have
    sent a few more of its share than another: on a loaded machine a process that lost the CPU
    for a moment is catching up when the signal comes)."""
    out = tmp_path / "samples.jsonl"
    process = run_sampler(shared_lab.target_url, out, rate=300, processes=3)
    assert wait_until(lambda: len(children_of(process.pid)) == 2, timeout=10)
    time.sleep(2)
    stop(process)
    samples = read_samples(out)
    origin = min(s.scheduled for s in samples)
    slots = sorted(round((s.scheduled - origin) * 300) for s in samples)
    assert len(slots) >= 500
    assert len(set(slots)) == len(slots), "no request of the schedule twice"
    reached = min(max(slot for slot in slots if slot % 3 == share) for share in range(3))
    assert [slot for slot in slots if slot <= reached] == list(range(reached + 1)), \
        "every request of the schedule once"
    assert len(slots) - (reached + 1) <= 3 * 2, "the processes kept together: a few requests apart"
    assert {s.outcome for s in samples} == {"2xx"}
    assert not children_of(process.pid)


def test_forked_processes_stop_when_the_sampler_is_killed(shared_lab: RunningLab,
                                                          tmp_path: Path) -> None:
    process = run_sampler(shared_lab.target_url, tmp_path / "samples.jsonl", rate=100, processes=2)
    assert wait_until(lambda: children_of(process.pid), timeout=10)
    children = children_of(process.pid)
    process.kill()
    process.wait(timeout=10)
    assert wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in children),
                      timeout=10), "a forked sampler outlived its parent"


@pytest.mark.parametrize(("arguments", "message"), [
    (["--url", "localhost:8080"], "must be http:// or https://"),
    (["--url", "http://127.0.0.1:1", "--rate", "0"], "rate must be in"),
    (["--url", "http://127.0.0.1:1", "--rate", "30000", "--processes", "1"], "pass --processes 6"),
    (["--url", "http://127.0.0.1:1", "--paths", "/:x"], "PATH:WEIGHT"),
])
def test_bad_arguments_are_one_line_errors(tmp_path: Path, arguments: list[str],
                                           message: str) -> None:
    result = subprocess.run([sys.executable, "-m", "chaos_sre.slo.sampler", "--out",
                             str(tmp_path / "s.jsonl"), *arguments],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_every_tick_sends_and_none_sends_early(tmp_path: Path) -> None:
    """Event loops wait in whole milliseconds; a tick that woke before its request was due
    used to send nothing and set its timer again (a third of all ticks at 50 req/s). Now an
    early tick sleeps the rest (under a millisecond) and sends: every tick sends a request, no
    request leaves before its scheduled time, and the schedule is whole."""
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readuntil(b"\r\n\r\n")).startswith(b"GET "):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    out = tmp_path / "samples.jsonl"
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    ticks: Counter[bool] = Counter()

    async def sample() -> None:
        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        sampler = Sampler(f"http://127.0.0.1:{port}", rate=200, timeout=1.0, paths=[("/", 1)],
                          out_fd=descriptor)
        tick = sampler._tick

        def counted() -> None:
            before = sampler._next
            tick()
            ticks[sampler._next != before] += 1

        sampler._tick = counted  # type: ignore[method-assign]
        await sampler.run(1.0)
        server.close()

    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        runner.run(sample())
    os.close(descriptor)
    samples = read_samples(out)
    assert len(samples) == 200 and {s.outcome for s in samples} == {"2xx"}
    assert ticks[True] > 0 and ticks[False] == 0, ticks
    assert all(s.sent >= s.scheduled for s in samples)
