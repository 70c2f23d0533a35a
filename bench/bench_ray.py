#!/usr/bin/env python3
"""Batch transcription throughput: examples/ray_batch.py on a local Ray cluster with 1 and 2
workers (one CPU thread each) against the plain command on the same cores (`sori transcribe
--threads 1` over the same files: one process, and two processes with half the files each), in
one run. Reports audio hours per hour and Ray's overhead on the same cores.

    PYTHONPATH=build/python python3 bench/bench_ray.py [--copies 4] [--model M.gguf] [--runs 3]

Files: the bundled real clips (data/samples/real) copied --copies times under distinct names.
The model: the bundled Conformer by default (greedy, no LM, on both sides). Each side's time is
the median of --runs; Ray's includes its calls' scheduling and the result files, not the cluster's
start (started once before timing) nor the actors' model loads (the command's load is included:
one process per run, as a user runs it).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "examples"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--model", default=os.path.join(ROOT, "data", "ko-fastconformer-ctc.gguf"))
    ap.add_argument("--sori", default=os.path.join(ROOT, "build", "bin", "sori"))
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    import ray

    import ray_batch
    import sori

    src = sorted(os.path.join(ROOT, "data", "samples", "real", f) for f in os.listdir(
        os.path.join(ROOT, "data", "samples", "real")) if f.endswith((".wav", ".flac")))
    tmp = tempfile.mkdtemp()
    files = []
    for c in range(a.copies):
        for s in src:
            d = os.path.join(tmp, f"c{c}_{os.path.basename(s)}")
            shutil.copy(s, d)
            files.append(d)
    m = sori.Model.load(a.model, threads=1)
    audio_s = sum(m.transcribe(f).duration for f in files)
    manifest = os.path.join(tmp, "files.txt")
    open(manifest, "w").write("\n".join(files) + "\n")
    print(f"{len(files)} files, {audio_s:.1f} s of audio; load {os.getloadavg()}", flush=True)

    def cli(procs=1):
        """procs processes of `sori transcribe --threads 1`, each over its share of the files"""
        t0 = time.perf_counter()
        ps = [subprocess.Popen([a.sori, "transcribe", "--model", a.model, "--lm", "none", "--threads", "1",
                                *files[k::procs]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
              for k in range(procs)]
        if any(p.wait() for p in ps):
            sys.exit("sori transcribe failed")
        return time.perf_counter() - t0

    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR",
             runtime_env={"env_vars": {"PYTHONPATH": os.environ.get("PYTHONPATH", "")}})

    def with_ray(workers):
        out = tempfile.mkdtemp(dir=tmp)
        # actors start (and load their model) before the clock: a first file each, not counted
        warm = os.path.join(tmp, f"warm{workers}.txt")
        open(warm, "w").write("\n".join(files[:workers]) + "\n")
        ray_batch.run(warm, out, workers=workers, threads=1, model=a.model)
        shutil.rmtree(out)
        out = tempfile.mkdtemp(dir=tmp)
        t0 = time.perf_counter()
        ray_batch.run(manifest, out, workers=workers, threads=1, model=a.model)
        return time.perf_counter() - t0

    res = {}
    for name, fn in (("cli, 1 process", cli), ("cli, 2 processes", lambda: cli(2)),
                     ("ray, 1 worker", lambda: with_ray(1)), ("ray, 2 workers", lambda: with_ray(2))):
        ts = [fn() for _ in range(a.runs)]
        t = statistics.median(ts)
        res[name] = {"seconds": t, "audio_hours_per_hour": audio_s / t, "runs": ts}
        print(f"{name:16s} {t:6.2f} s (runs {', '.join(f'{x:.2f}' for x in ts)}): "
              f"{audio_s / t:6.1f} audio hours per hour", flush=True)
    ray.shutdown()
    c1, c2, r1, r2 = (res[k]["audio_hours_per_hour"] for k in ("cli, 1 process", "cli, 2 processes", "ray, 1 worker",
                                                                "ray, 2 workers"))
    print(f"ray vs the command on the same cores: 1 worker {100 * (r1 / c1 - 1):+.1f} %, "
          f"2 workers {100 * (r2 / c2 - 1):+.1f} % (2 workers against 1 command process per core: "
          f"{100 * (r2 / 2 / c1 - 1):+.1f} %)")
    print(json.dumps(res))
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
