"""A real one-host Slurm cluster in a temporary folder, for the tests of the Slurm launch (scripts/slurm/).

Debian's `slurm-wlm` and `munge`, started by hand as root: `munged` on a socket of its own with a fresh key,
`slurmctld` and `slurmd` on free ports with a minimal `slurm.conf` (one node, this host, 2 CPUs; no cgroups:
`proctrack/linuxproc`, `task/none`). Nothing outside the folder is read or written, so a system Slurm or
munge, if any, is left alone. Stopped by PID at the end. `.ci/run` installs the packages when it is root.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "srun", "squeue", "sinfo", "scontrol", "scancel", "sacct")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find(name: str) -> str | None:
    return shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/sbin/{name}") if os.access(p, os.X_OK)),
                                      None)


def why_unavailable() -> str | None:
    """One line saying why no cluster can start here, or None."""
    missing = [n for n in DAEMONS + CLIENTS if not find(n)]
    if missing:
        return f"no Slurm here ({', '.join(missing)} missing): `apt-get install slurm-wlm munge` as root, as .ci/run does"
    if os.geteuid() != 0:
        return "the one-host Slurm cluster starts only as root (slurmd runs jobs as their users)"
    return None


SLURM_CONF = """\
ClusterName=limatest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={dir}/munge.socket
StateSaveLocation={dir}/state
SlurmdSpoolDir={dir}/spool
SlurmctldPidFile={dir}/slurmctld.pid
SlurmdPidFile={dir}/slurmd.pid
SlurmctldLogFile={dir}/slurmctld.log
SlurmdLogFile={dir}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
JobRequeue=1
KillWait=30
MinJobAge=600
SchedulerParameters=sched_interval=2
NodeName={host} NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


class SlurmCluster:
    """`env` holds SLURM_CONF for the clients; `run(...)` runs a client command."""

    def __init__(self, folder: Path):
        self.dir = folder
        self.host = socket.gethostname()
        self.conf = folder / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self.procs: list[subprocess.Popen] = []
        self.pids: dict[str, int] = {}

    def start(self, timeout: float = 60) -> "SlurmCluster":
        d = self.dir
        for sub in ("state", "spool"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        key = d / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        self.conf.write_text(SLURM_CONF.format(host=self.host, dir=d, ctld_port=free_port(), slurmd_port=free_port()))
        self._daemon("munged", "--foreground", "--force", f"--socket={d}/munge.socket", f"--key-file={key}",
                     f"--pid-file={d}/munged.pid", f"--log-file={d}/munged.log", f"--seed-file={d}/munged.seed")
        self._wait(lambda: (d / "munge.socket").exists(), 15, "munged's socket")
        self._daemon("slurmctld", "-D", "-c", "-i", "-f", str(self.conf))
        self._daemon("slurmd", "-D", "-f", str(self.conf), "-N", self.host)
        self._wait(self._node_idle, timeout, "the node to be idle in sinfo")
        return self

    def _daemon(self, name: str, *args: str) -> None:
        log = open(self.dir / f"{name}.out", "ab")
        proc = subprocess.Popen([find(name), *args], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        log.close()
        self.procs.append(proc)
        self.pids[name] = proc.pid

    def _node_idle(self) -> bool:
        r = self.run("sinfo", "-h", "-N", "-o", "%T", check=False)
        return r.returncode == 0 and r.stdout.strip() == "idle"

    def _wait(self, cond, timeout: float, what: str) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if cond():
                return
            dead = [p.args[0] for p in self.procs if p.poll() is not None]
            if dead:
                raise RuntimeError(f"{dead} exited while waiting for {what}: see {self.dir}/*.log, *.out\n"
                                   + self.logs())
            time.sleep(0.3)
        raise RuntimeError(f"timed out after {timeout} s waiting for {what}\n" + self.logs())

    def logs(self) -> str:
        return "\n".join(f"--- {f.name}\n{f.read_text(errors='replace')[-2000:]}"
                         for f in sorted(self.dir.glob("*.log")) + sorted(self.dir.glob("*.out")))

    def run(self, *cmd: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        r = subprocess.run([find(cmd[0]), *cmd[1:]], env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()}")
        return r

    def job_state(self, job_id: str) -> str:
        r = self.run("scontrol", "show", "job", job_id, "-o", check=False)
        for field in r.stdout.split():
            if field.startswith("JobState="):
                return field.split("=", 1)[1]
        return "UNKNOWN"

    def wait_job(self, job_id: str, states: tuple[str, ...], timeout: float) -> str:
        end = time.monotonic() + timeout
        while (state := self.job_state(job_id)) not in states:
            if time.monotonic() > end:
                raise RuntimeError(f"timed out after {timeout} s waiting for job {job_id} to reach {states} "
                                   f"(it is {state})\n" + self.logs())
            time.sleep(0.3)
        return state

    def stop(self) -> None:
        """Cancel what is left, then stop the daemons (slurmd, slurmctld, munged) by PID."""
        with_jobs = self.run("squeue", "-h", "-o", "%i", check=False).stdout.split()
        if with_jobs:
            self.run("scancel", *with_jobs, check=False)
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait()


@pytest.fixture(scope="session")
def slurm(tmp_path_factory):
    """A started one-host Slurm cluster (session-wide), or a skip with one line."""
    reason = why_unavailable()
    if reason:
        pytest.skip(reason)
    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
