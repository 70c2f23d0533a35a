"""examples/ray_batch.py on a local Ray cluster (2 CPUs): 12 files over 2 actors, one actor
killed mid-run (Ray restarts it and retries its calls): every file is in results.jsonl exactly
once, with the text one process gives; a rerun skips what is done. Skipped without ray."""
import importlib.util
import json
import os
import shutil

import pytest

import sori

ray = pytest.importorskip("ray")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "data", "ko-fastconformer-ctc.gguf")
SAMPLES = [os.path.join(ROOT, "data", "samples", f) for f in ("ko_16k_question.wav", "ko_16k_statement.wav",
                                                              "ko_8k_ulaw_call.wav")]

pytestmark = pytest.mark.skipif(not os.path.exists(MODEL), reason="the bundled model is not there")


def load_batch():
    spec = importlib.util.spec_from_file_location("ray_batch", os.path.join(ROOT, "examples", "ray_batch.py"))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def test_batch_survives_a_killed_actor(tmp_path):
    batch = load_batch()
    files = []
    for i in range(12):  # distinct inputs (the batch dedups paths)
        p = tmp_path / f"in{i:02d}.wav"
        shutil.copy(SAMPLES[i % len(SAMPLES)], p)
        files.append(str(p))
    (tmp_path / "bad.wav").write_bytes(b"not audio")
    files.append(str(tmp_path / "bad.wav"))
    manifest = tmp_path / "files.txt"
    manifest.write_text("\n".join(files) + "\n")
    out = tmp_path / "out"
    killed = []

    def on_progress(done, total, actors):
        if done >= 2 and not killed:  # a worker dies mid-run, with calls in flight
            ray.kill(actors[0], no_restart=False)
            killed.append(done)

    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR",
             runtime_env={"env_vars": {"PYTHONPATH": os.environ.get("PYTHONPATH", "")}})
    try:
        paths, _ = batch.run(str(manifest), str(out), workers=2, threads=1, model=MODEL, on_progress=on_progress,
                             per_call=2)
        assert killed, "the actor was not killed"
        lines = [json.loads(x) for x in open(out / "results.jsonl", encoding="utf-8")]
        assert [x["path"] for x in lines] == files  # each once, in the manifest's order
        m = sori.Model.load(MODEL, threads=1)
        for x in lines[:-1]:
            assert x["text"] == m.transcribe(x["path"]).text
            assert x["words"] and x["duration"] > 0
        assert "error" in lines[-1] and "bad.wav" in lines[-1]["error"]
        # a rerun skips every file (all results exist) and writes the same merged output
        before = (out / "results.jsonl").read_text(encoding="utf-8")
        seen = []
        batch.run(str(manifest), str(out), workers=1, threads=1, model=MODEL,
                  on_progress=lambda d, t, a: seen.append(d))
        assert seen == [] and (out / "results.jsonl").read_text(encoding="utf-8") == before
    finally:
        ray.shutdown()
