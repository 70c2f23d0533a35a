"""Helpers shared by the benchmark scripts: a quiet machine (wait for one, measure how much of the
CPUs other processes took during a timed region, flag a result taken while they took too much),
reporting a median with its spread, and running NeMo models in the peers the benchmarks compare
with."""
import contextlib
import os
import statistics
import sys
import time

import numpy as np

QUIET = 0.10  # before timing, wait until other processes use under this share of all CPUs
BUSY = 0.20   # a result during which they took more is flagged and the script exits with BUSY_EXIT
BUSY_EXIT = 3


# ------------------------------------------------------------------ a quiet machine

def cpu_jiffies():
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4], sum(v)


def wait_quiet(limit, max_wait):
    """Waits until the other processes' CPU use is under `limit` (share of all CPUs; this script
    runs nothing then) over two 2 s samples in a row, at most max_wait s; returns the last share."""
    t_end = time.time() + max_wait
    quiet = 0
    while True:
        b0, t0 = cpu_jiffies()
        time.sleep(2)
        b1, t1 = cpu_jiffies()
        share = (b1 - b0) / max(t1 - t0, 1)
        quiet = quiet + 1 if share < limit else 0
        if quiet == 2 or time.time() > t_end:
            return share
        if not quiet:
            print(f"  machine busy ({share:.0%} of the CPUs): waiting", file=sys.stderr, flush=True)
            time.sleep(10)


def own_cpu_seconds():
    """CPU time of this process (all its threads) and of its children that have been waited for."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class OthersCPU:
    """`with OthersCPU() as o: ...` measures the share of all CPUs that other processes took during
    the block (o.share after it): the busy jiffies of all CPUs in /proc/stat minus this process's
    and its waited-for children's CPU time, over wall time x CPUs. A child still running at the end
    of the block counts as another process."""

    def __enter__(self):
        self.share = None
        self._busy, _ = cpu_jiffies()
        self._own = own_cpu_seconds()
        self._t = time.perf_counter()
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self._t
        busy, _ = cpu_jiffies()
        own = own_cpu_seconds() - self._own
        others = (busy - self._busy) / os.sysconf("SC_CLK_TCK") - own
        self.share = max(0.0, others / max(wall * (os.cpu_count() or 1), 1e-9))
        return False


def add_quiet_args(ap):
    """The quiet-machine options every benchmark script takes."""
    ap.add_argument("--quiet-limit", type=float, default=QUIET,
                    help="before each side's timed runs wait until other processes use under this share of "
                         f"all CPUs (two 2 s samples in a row; default {QUIET})")
    ap.add_argument("--max-wait", type=float, default=300, help="seconds to wait for a quiet machine (default 300)")
    ap.add_argument("--no-wait", action="store_true",
                    help="do not wait for a quiet machine (others' share is still measured and flagged)")


class Guard:
    """The quiet-machine check of a benchmark script. `with guard.region("sori batch 1"): ...`
    around each side's timed runs first waits for a quiet machine (unless --no-wait), then measures
    the share of the CPUs other processes take during the runs; guard.report() at the end prints
    the shares and a BUSY line for every region where they took over BUSY, and returns the exit
    status (BUSY_EXIT when any did, else 0)."""

    def __init__(self, args):
        self.limit, self.max_wait, self.wait = args.quiet_limit, args.max_wait, not args.no_wait
        self.load = os.getloadavg()  # at the start of the script, before its own work
        self.regions = []  # (which, share)

    def load_line(self):
        return (f"load average at the start: {self.load[0]:.2f} (1 min), {self.load[1]:.2f} (5 min); "
                f"{os.cpu_count()} CPUs")

    @contextlib.contextmanager
    def region(self, which):
        if self.wait:
            share = wait_quiet(self.limit, self.max_wait)
            if share >= self.limit:
                print(f"  machine still busy after {self.max_wait:.0f} s ({share:.0%} of the CPUs): timing "
                      f"{which} anyway", file=sys.stderr, flush=True)
        with OthersCPU() as o:
            yield o
        self.regions.append((which, o.share))
        print(f"  {which}: other processes took {o.share:.0%} of the CPUs", file=sys.stderr, flush=True)

    def report(self):
        if self.regions:
            worst = max(self.regions, key=lambda r: r[1])
            print(f"other processes during the timed runs: at most {worst[1]:.0%} of the CPUs ({worst[0]}); "
                  f"results are flagged above {BUSY:.0%}")
        busy = [(w, s) for w, s in self.regions if s > BUSY]
        for which, share in busy:
            print(f"BUSY: other processes took {100 * share:.0f} % of the CPUs during {which}: "
                  "this result is not valid", flush=True)
            print(f"BUSY: other processes took {100 * share:.0f} % of the CPUs during {which}: "
                  "this result is not valid", file=sys.stderr, flush=True)
        return BUSY_EXIT if busy else 0


# ------------------------------------------------------------------ medians and spread

def spread(xs, scale=1e3, unit="ms", fmt=".1f"):
    """'median 125.1 ms (min 120.3, max 131.0, n=5)' of the times xs (seconds times `scale`)."""
    v = [x * scale for x in xs]
    return (f"median {statistics.median(v):{fmt}} {unit} (min {min(v):{fmt}}, max {max(v):{fmt}}, "
            f"n={len(v)})")


def driver_runs(stdout, tag="runs"):
    """Every run's time from a C driver's output: its last line, 'TAG T1 T2 ...' (the runs in the
    order they ran, in the unit of the median on its first line)."""
    last = stdout.rstrip("\n").splitlines()[-1].split()
    if not last or last[0] != tag:
        raise RuntimeError(f"the driver printed no '{tag}' line (an old build?): {stdout[-300:]!r}")
    return [float(x) for x in last[1:]]


# ------------------------------------------------------------------ NeMo models in the peers

def test_audio(n, folder):
    """n samples at 16 kHz of a modulated tone with a little noise (the models have random weights:
    any audio times them), also written to folder/x.f32; returns (samples, path)."""
    rng = np.random.default_rng(1)
    t = np.arange(n) / 16000
    x = (0.1 * np.sin(2 * np.pi * 220 * t) * np.sin(2 * np.pi * 1.5 * t)
         + 0.02 * rng.standard_normal(n)).astype(np.float32)
    path = os.path.join(folder, "x.f32")
    x.tofile(path)
    return x, path


def add_onnx_metadata(path, meta):
    """Replaces an ONNX file's metadata with `meta` (what sherpa-onnx's NeMo loaders read)."""
    import onnx
    model = onnx.load(path)
    while len(model.metadata_props):
        model.metadata_props.pop()
    for k, v in meta.items():
        e = model.metadata_props.add()
        e.key, e.value = k, str(v)
    onnx.save(model, path)


def write_tokens(path, vocab):
    """sherpa-onnx's tokens.txt: `token id` per line (a space label as ▁), the blank last."""
    with open(path, "w", encoding="utf-8") as f:
        for i, t in enumerate(vocab):
            f.write(f"{'▁' if t == ' ' else t} {i}\n")
        f.write(f"<blk> {len(vocab)}\n")
