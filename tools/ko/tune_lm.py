#!/usr/bin/env python3
"""Choose the LM weight and per-token bonus of sori's CTC beam search on dev sentences.

    python3 tools/ko/tune_lm.py --model M.gguf --lm LM.gguf --work DIR [--sori build/bin/sori]

Decodes synthetic speech of *dev* sentences (tools/ko/synth.py audio: held-out
voices, clean 16 kHz and 8 kHz mu-law telephone; --count clips per channel,
default 800, made once under DIR/eval/dev-{clean,phone} and extended when more
are asked for) through the C engine for every pair of a grid, and prints the
CER of each and the pair with the lowest mean CER over both sets (200 clips
per channel left the grid's best pairs within a few characters of each other).
The test sentences that eval.py reports on are never used here. --write
stores the chosen pair in the LM's GGUF file (sori.ngram.asr_weight/asr_bonus),
where `sori transcribe` takes it from.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cer import edit_distance  # noqa: E402
from eval import norm, synthetic_set, transcribe  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def set_weights(path, weight, bonus):
    """Rewrites an n-gram GGUF with these recommended weights (everything else kept)."""
    import gguf
    import numpy as np
    sys.path.insert(0, os.path.join(HERE, ".."))
    from sori_gguf import write_model
    r = gguf.GGUFReader(path)
    meta = {f.name: f.contents() for f in r.fields.values()
            if not f.name.startswith("GGUF.") and f.name != "general.architecture"}
    meta["sori.ngram.asr_weight"] = float(weight)
    meta["sori.ngram.asr_bonus"] = float(bonus)
    tensors = {t.name: np.array(t.data) for t in r.tensors}
    arch = r.fields["general.architecture"].contents()
    del r
    write_model(path + ".tmp", arch, meta, tensors)
    os.replace(path + ".tmp", path)


def cer(rows, hyps):
    e = n = 0
    for path, ref in rows:
        r, h = norm(ref, False), norm(hyps.get(path, ""), False)
        e += edit_distance(r, h)
        n += len(r)
    return e / max(n, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--lm", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--sori", default=os.path.join(HERE, "..", "..", "build", "bin", "sori"))
    ap.add_argument("--count", type=int, default=800)
    ap.add_argument("--weights", default="0.5,0.6,0.7,0.8")
    ap.add_argument("--bonuses", default="3,4,5")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--beam", type=int, default=0, help="beam width (0: the engine's default, 8)")
    ap.add_argument("--write", action="store_true", help="store the best pair in the LM file (GGUF)")
    a = ap.parse_args()
    sets = {ch: synthetic_set(a.work, ch, a.count, split="dev")[0] for ch in ("clean", "phone")}
    files = {ch: [p for p, _ in rows] for ch, rows in sets.items()}
    base = {ch: cer(rows, transcribe(a.sori, a.model, files[ch], a.threads, extra=["--lm", "none"])[0])
            for ch, rows in sets.items()}
    print(f"greedy: clean {base['clean']:.4f} phone {base['phone']:.4f}", flush=True)
    best = None
    for w in [float(v) for v in a.weights.split(",")]:
        for b in [float(v) for v in a.bonuses.split(",")]:
            extra = ["--lm", a.lm, "--lm-weight", str(w), "--lm-bonus", str(b)]
            if a.beam:
                extra += ["--beam", str(a.beam)]
            c = {ch: cer(rows, transcribe(a.sori, a.model, files[ch], a.threads, extra=extra)[0])
                 for ch, rows in sets.items()}
            mean = (c["clean"] + c["phone"]) / 2
            print(f"weight {w:.2f} bonus {b:.1f}: clean {c['clean']:.4f} phone {c['phone']:.4f} mean {mean:.4f}",
                  flush=True)
            if best is None or mean < best[0]:
                best = (mean, w, b)
    print(f"best: --weight {best[1]} --bonus {best[2]} (mean dev CER {best[0]:.4f})")
    if a.write:
        set_weights(a.lm, best[1], best[2])
        print(f"{a.lm}: sori.ngram.asr_weight {best[1]}, asr_bonus {best[2]}")


if __name__ == "__main__":
    main()
