#!/usr/bin/env python3
"""Batch transcription on a Ray cluster: a manifest of audio files, sharded over actors that each
hold one loaded sori model, one JSON result per file, merged into JSON lines at the end.

    pip install ./python "ray[default]"           # every node: sori and Ray
    python3 examples/ray_batch.py --manifest files.txt --out results/ [--workers 4 --threads 2]
        [--model M.gguf] [--itn] [--redact] [--address auto]

The manifest: one path per line (a TSV's first column), on a filesystem every node sees. Results:
OUT/parts/<sha1 of the path>.json (written to a temporary name and renamed: a file is either
whole or absent), then OUT/results.jsonl in the manifest's order: {"path", "text", "words":
[{"word", "start", "end", "confidence"}], "duration", "seconds"} or {"path", "error"}.

Failures: an actor that dies (a killed process, a lost node) is restarted by Ray and its
unfinished calls retried (max_restarts / max_task_retries); a file whose result exists is
skipped, so a rerun of the same command finishes what a crashed run left, and a file
transcribed twice still appears once. A file sori refuses (unreadable, not audio) gets an
"error" line instead of stopping the batch. Progress goes to stderr.
"""
import argparse
import hashlib
import json
import os
import sys
import time


def part_path(out_dir, path):
    return os.path.join(out_dir, "parts", hashlib.sha1(path.encode()).hexdigest() + ".json")


def read_manifest(path):
    items, seen = [], set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")[0].strip()
            if p and not p.startswith("#") and p not in seen:
                seen.add(p)
                items.append(p)
    return items


def make_worker_class(ray):
    @ray.remote(max_restarts=-1, max_task_retries=-1)
    class Transcriber:
        """One loaded model per actor; transcribe() writes the file's result atomically."""

        def __init__(self, model_path, threads, itn, redact):
            import sori

            self.model = sori.Model.load(model_path, threads=threads)
            self.itn, self.redact = itn, redact

        def pid(self):
            return os.getpid()

        def transcribe_many(self, jobs):
            """several (path, out_file) in one call: fewer round trips through Ray"""
            return [self.transcribe(p, o) for p, o in jobs]

        def transcribe(self, path, out_file):
            if os.path.exists(out_file):
                return path, "skipped"
            import sori

            t0 = time.perf_counter()
            try:
                r = self.model.transcribe(path, itn=self.itn, redact=self.redact)
                rec = {"path": path, "text": r.text, "duration": r.duration,
                       "words": [{"word": w.text, "start": round(w.start, 3), "end": round(w.end, 3),
                                  "confidence": round(w.confidence, 3)} for w in r.words],
                       "seconds": round(time.perf_counter() - t0, 3)}
            except sori.SoriError as e:
                rec = {"path": path, "error": str(e)}
            tmp = f"{out_file}.{os.getpid()}.tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(rec, f, ensure_ascii=False)
            os.replace(tmp, out_file)
            return path, "done"

    return Transcriber


def run(manifest, out_dir, *, workers=2, threads=1, model=None, itn=False, redact=False, address=None,
        on_progress=None, max_in_flight=2, per_call=4):
    """Transcribe every file of the manifest; returns (paths, the actors). on_progress(done, total,
    actors) is called after each finished call (the test kills an actor from it). per_call files
    go to an actor in one call (fewer round trips); max_in_flight calls are queued per actor."""
    import ray

    import sori

    if model is None:
        model = sori.default_model_path()
    if not ray.is_initialized():
        ray.init(address=address, ignore_reinit_error=True, logging_level="ERROR")
    os.makedirs(os.path.join(out_dir, "parts"), exist_ok=True)
    paths = read_manifest(manifest)
    todo = [p for p in paths if not os.path.exists(part_path(out_dir, p))]
    Transcriber = make_worker_class(ray)
    actors = [Transcriber.options(num_cpus=threads).remote(model, threads, itn, redact) for _ in range(workers)]
    pending, queue, done = {}, list(todo), len(paths) - len(todo)
    t0 = time.perf_counter()

    def submit(i):
        batch, queue[:per_call] = queue[:per_call], []
        pending[actors[i].transcribe_many.remote([(p, part_path(out_dir, p)) for p in batch])] = i

    for i in range(workers):
        for _ in range(max_in_flight):
            if queue:
                submit(i)
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            i = pending.pop(ref)
            done += len(ray.get(ref))  # retried by Ray if the actor died; raises only when it cannot be
            if queue:
                submit(i)
            print(f"\r{done}/{len(paths)} files, {time.perf_counter() - t0:.1f} s", end="", file=sys.stderr)
            if on_progress:
                on_progress(done, len(paths), actors)
    print(file=sys.stderr)
    with open(os.path.join(out_dir, "results.jsonl.tmp"), "w", encoding="utf-8") as out:
        for p in paths:
            with open(part_path(out_dir, p), encoding="utf-8") as f:
                out.write(f.read().strip() + "\n")
    os.replace(os.path.join(out_dir, "results.jsonl.tmp"), os.path.join(out_dir, "results.jsonl"))
    return paths, actors


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--workers", type=int, default=2, help="actors, each with its own loaded model")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads per actor (its num_cpus)")
    ap.add_argument("--per-call", type=int, default=4, help="files sent to an actor in one call")
    ap.add_argument("--model", help="a model file (default: sori's default model)")
    ap.add_argument("--itn", action="store_true")
    ap.add_argument("--redact", action="store_true")
    ap.add_argument("--address", help="a Ray cluster's address ('auto': the one this node joined); "
                                      "default: a local cluster")
    a = ap.parse_args()
    t0 = time.perf_counter()
    paths, _ = run(a.manifest, a.out, workers=a.workers, threads=a.threads, model=a.model, itn=a.itn,
                   redact=a.redact, address=a.address, per_call=a.per_call)
    print(f"{len(paths)} files in {time.perf_counter() - t0:.1f} s: {os.path.join(a.out, 'results.jsonl')}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
