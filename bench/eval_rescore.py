#!/usr/bin/env python3
"""CER of sori's recognizers with and without N-best rescoring by a transformer LM, the weights
chosen on one split and the gain reported on others.

    python3 bench/eval_rescore.py --lm data/gemma-3-270m-q4_k_m.gguf [--asr whisper|conformer]
        [--model M.gguf] [--beam 5] [--nbest 5] [--weights 0.1,0.3,0.6] [--bonuses 0,0.5,1.5]
        [--count 100] [--work /tmp/eval_rescore]

--asr whisper (data/whisper-base-f16.gguf; real human speech on both splits):
  tune    the 10 CC BY clips of ../shared/data/speech_samples_ccby (one male speaker, read
          speech; the project may use them);
  report  the first --count clips of ../shared/data/speech_dev (evaluation only: nothing is
          tuned on it).
--asr conformer (data/ko-fastconformer-ctc.gguf with its bundled 4-gram, whose beam search gives
  the N-best):
  tune    --tune-count synthetic clips of the recipe's *dev* sentences (held-out espeak-ng voices,
          16 kHz; tools/ko/eval.py's synthetic_set under --recipe-work, made once: needs
          espeak-ng and tools/ko/text.py's split there);
  report  --count synthetic clips of the *test* sentences, and the first --count clips of
          speech_dev (real speech, which this model hardly recognizes: reported beside).
On the tune split: the search alone, then every (weight, bonus) of the grid; the pair of the
lowest CER is chosen (ties: the first in grid order). On the report splits: the search alone and
with the chosen pair. Every decoding is `sori transcribe --language ko --beam B` over all the
split's files in one process (model loads included), `--rescore LM --nbest N --rescore-weight W
--rescore-bonus B` for the rescored ones. CER: edits / reference characters summed over the clips, Hangul, digits
and Latin letters only (bench/eval_whisper.py's "nospace" normalization). Transcripts are cached
in WORK (a JSON file per decoding); results go to WORK/results_ASR.json and a table to stdout.
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eval_whisper import dev_clips, edit_distance, normalize  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools", "ko"))


def synthetic_clips(work, count, split):
    from eval import synthetic_set  # tools/ko/eval.py
    rows, _ = synthetic_set(work, "clean", count, split=split)
    return [{"id": os.path.basename(p), "path": p, "transcript": t} for p, t in rows]


def run(args, clips, extra, label):
    key = label.replace(" ", "_").replace("=", "")
    path = os.path.join(args.work, key + ".json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    cmd = [args.sori, "transcribe", "--model", args.model, "--format", "tsv", "--threads", str(args.threads),
           "--beam", str(args.beam)] + (["--language", "ko"] if args.asr == "whisper" else []) + extra
    cmd += [c["path"] for c in clips]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    got = {}
    for line in r.stdout.splitlines():
        p, tab, text = line.partition("\t")
        if tab:
            got[p] = text
    if r.returncode != 0 or len(got) != len(clips):
        sys.exit(f"{label}: sori exited {r.returncode}, {len(got)} of {len(clips)} transcripts: {r.stderr[-500:]}")
    res = {"label": label, "wall_s": wall, "load1": os.getloadavg()[0], "texts": {c["id"]: got[c["path"]] for c in clips}}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(res, f, ensure_ascii=False)
    print(f"  {label}: {len(clips)} clips in {wall:.1f} s", file=sys.stderr)
    return res


def cer(clips, res):
    e = n = 0
    for c in clips:
        ref, hyp = normalize(c["transcript"], False), normalize(res["texts"][c["id"]], False)
        e += edit_distance(ref, hyp)
        n += len(ref)
    return e / max(n, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lm", required=True)
    ap.add_argument("--asr", choices=["whisper", "conformer"], default="whisper")
    ap.add_argument("--model")
    ap.add_argument("--tune-count", type=int, default=100)
    ap.add_argument("--recipe-work", default="/tmp/korecipe")
    ap.add_argument("--sori", default=os.path.join(ROOT, "build/bin/sori"))
    ap.add_argument("--beam", type=int, default=5)
    ap.add_argument("--nbest", type=int, default=5)
    ap.add_argument("--weights", default="0.1,0.3,0.6")
    ap.add_argument("--bonuses", default="0,0.5,1.5")
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tune-data", default=os.path.join(ROOT, "../shared/data/speech_samples_ccby"))
    ap.add_argument("--data", default=os.path.join(ROOT, "../shared/data/speech_dev"))
    ap.add_argument("--work", default="/tmp/eval_rescore")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    if not args.model:
        args.model = os.path.join(ROOT, "data", "whisper-base-f16.gguf" if args.asr == "whisper"
                                  else "ko-fastconformer-ctc.gguf")
    real = dev_clips(args.data, args.count, None)
    if args.asr == "whisper":
        tune, reports = dev_clips(args.tune_data, 0, None), {"speech_dev": real}
    else:
        tune = synthetic_clips(args.recipe_work, args.tune_count, "dev")
        reports = {"synthetic test": synthetic_clips(args.recipe_work, args.count, "test"), "speech_dev": real}
    out = {"asr": args.asr, "model": args.model, "lm": args.lm, "beam": args.beam, "nbest": args.nbest,
           "tune_clips": len(tune), "tune": {}, "report": {}}

    def rescore_args(w, b):
        return ["--rescore", args.lm, "--nbest", str(args.nbest), "--rescore-weight", str(w), "--rescore-bonus", str(b)]

    tag = args.asr + " "
    base = cer(tune, run(args, tune, [], tag + "tune beam"))
    out["tune"]["beam"] = base
    print(f"tune ({len(tune)} clips): beam {args.beam} alone: CER {100 * base:.2f} %")
    best = (base, None, None)
    for w in [float(x) for x in args.weights.split(",")]:
        for b in [float(x) for x in args.bonuses.split(",")]:
            c = cer(tune, run(args, tune, rescore_args(w, b), tag + f"tune w={w} b={b}"))
            out["tune"][f"w={w} b={b}"] = c
            print(f"  weight {w}, bonus {b}: CER {100 * c:.2f} %")
            if c < best[0] - 1e-12:
                best = (c, w, b)
    _, w, b = best
    out["chosen"] = {"weight": w, "bonus": b}
    for name, report in reports.items():
        r0 = run(args, report, [], tag + f"{name}{len(report)} beam")
        c0 = cer(report, r0)
        out["report"][name] = {"clips": len(report), "beam": {"cer": c0, "wall_s": r0["wall_s"], "load1": r0["load1"]}}
        print(f"report ({len(report)} clips of {name}): beam {args.beam} alone: CER {100 * c0:.2f} % "
              f"({r0['wall_s']:.0f} s)")
        if w is None:
            print("  no pair of the grid beat the search alone on the tune split: nothing to report")
            continue
        r1 = run(args, report, rescore_args(w, b), tag + f"{name}{len(report)} w={w} b={b}")
        c1 = cer(report, r1)
        out["report"][name]["rescored"] = {"cer": c1, "wall_s": r1["wall_s"], "load1": r1["load1"]}
        print(f"  rescored (weight {w}, bonus {b}, {args.nbest}-best): CER {100 * c1:.2f} % ({r1['wall_s']:.0f} s)")
    with open(os.path.join(args.work, f"results_{args.asr}.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
