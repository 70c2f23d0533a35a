#!/usr/bin/env python3
"""CTC beam search with an n-gram LM: sori against flashlight-text's lexicon-free decoder with
KenLM (the decoder behind torchaudio's ctc_decoder), on the same log-probabilities and the same LM.

    pip install -r bench/requirements.txt
    python3 bench/bench_ctc_lm.py --build build --manifest WORK/eval/synthetic-clean/manifest.tsv \
        [--model data/ko-fastconformer-ctc.gguf] [--lm data/ko-tokens-4gram.gguf] [--count 200] [--runs 5]

bench_ctc_lm (C) computes every file's CTC log-probabilities with the model, writes them, and times
sori's beam search over all of them (median of --runs, one thread); this script decodes the same
arrays with flashlight (the LM converted to ARPA for KenLM: the same n-grams and numbers), times
it the same way, and reports both times, their ratio and both CERs against the manifest's text.
Both use beam 8, 16 tokens per frame, the same LM weight; flashlight's lexicon-free decoder has no
per-token bonus, so sori is also run with bonus 0 (the same objective) besides its tuned bonus.
A word-boundary LM (ngram.py --boundary, the bundled one) has a second back-off weight that ARPA
cannot hold: KenLM then gets the n-grams with the continuation weights only, and sori's bonus-0
run decodes that same ARPA file (the same objective again); sori's tuned run uses the GGUF.
Only the search is timed on both sides (the log-probabilities are computed before; sori's driver
writes its texts and flashlight's token lists become text outside the timed part). Before each
side's runs the script waits for a quiet machine; a side during which other processes took over
20 % of the CPUs is flagged BUSY and the script exits with status 3. Medians with min/max of
--runs runs; the CER between sori (bonus 0) and flashlight compares their outputs.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path.insert(0, os.path.join(ROOT, "tools", "ko"))
sys.path.insert(0, HERE)
from cer import edit_distance  # noqa: E402
from ngram import gguf_to_arpa  # noqa: E402
from peers import Guard, add_quiet_args, driver_runs, spread  # noqa: E402


def cer(refs, hyps):
    e = n = 0
    for path, ref in refs.items():
        r = ref.replace(" ", "")
        e += edit_distance(r, hyps.get(path, "").replace(" ", ""))
        n += len(r)
    return e / max(n, 1)


def sori_run(guard, which, build, model, lm, out, beam, weight, bonus, runs, files, hotwords=""):
    """Every run's seconds and the texts of sori's search."""
    env = dict(os.environ, SORI_BENCH_HOTWORDS=hotwords)
    with guard.region(which):
        r = subprocess.run([os.path.join(build, "bin", "bench_ctc_lm"), model, lm, out, str(beam), str(weight),
                            str(bonus), str(runs)] + files, capture_output=True, text=True, check=True, env=env)
    secs = driver_runs(r.stdout)
    hyps = {}
    with open(os.path.join(out, "sori.tsv"), encoding="utf-8") as f:
        for line in f:
            p, _, t = line.rstrip("\n").partition("\t")
            hyps[p] = t
    return secs, hyps


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--model", default=os.path.join(ROOT, "data", "ko-fastconformer-ctc.gguf"))
    ap.add_argument("--lm", default=os.path.join(ROOT, "data", "ko-tokens-4gram.gguf"))
    ap.add_argument("--manifest", required=True, help="NAME<TAB>TEXT lines, files beside it (tools/ko/synth.py audio)")
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--beam", type=int, default=8)
    ap.add_argument("--weight", type=float, default=None, help="default: the LM file's")
    ap.add_argument("--bonus", type=float, default=None, help="default: the LM file's")
    ap.add_argument("--hotwords", default=None,
                    help="also time sori's search carrying this hotword list (score 1.5; no peer has CTC hotwords)")
    add_quiet_args(ap)
    a = ap.parse_args()
    guard = Guard(a)
    import gguf
    from flashlight.lib.text.decoder import (CriterionType, KenLM, LexiconFreeDecoder,
                                             LexiconFreeDecoderOptions)
    from flashlight.lib.text.dictionary import Dictionary

    r = gguf.GGUFReader(a.lm)
    classes = any(t.name == "ngram.1.bow_ws" for t in r.tensors)
    weight = a.weight if a.weight is not None else float(r.fields["sori.ngram.asr_weight"].contents())
    bonus = a.bonus if a.bonus is not None else float(r.fields["sori.ngram.asr_bonus"].contents())
    mr = gguf.GGUFReader(a.model)
    tokens = mr.fields["sori.conformer.vocab"].contents()
    del r, mr
    base = os.path.dirname(os.path.abspath(a.manifest))
    refs = {}
    with open(a.manifest, encoding="utf-8") as f:
        for line in f:
            c = line.rstrip("\n").split("\t")
            refs[os.path.join(base, c[0])] = c[1]
            if len(refs) >= a.count:
                break
    files = list(refs)
    with tempfile.TemporaryDirectory() as tmp:
        arpa = os.path.join(tmp, "lm.arpa")
        gguf_to_arpa(a.lm, arpa, drop_word_classes=True)
        sori_s, sori_h = sori_run(guard, f"sori (bonus {bonus})", a.build, a.model, a.lm, tmp, a.beam, weight,
                                  bonus, a.runs, files)
        sori0_s, sori0_h = sori_run(guard, "sori (bonus 0)", a.build, a.model, arpa if classes else a.lm, tmp,
                                    a.beam, weight, 0.0, a.runs, files)
        if a.hotwords:
            hw_s, hw_h = sori_run(guard, "sori + hotwords", a.build, a.model, a.lm, tmp, a.beam, weight, bonus,
                                  a.runs, files, os.path.abspath(a.hotwords))
        arrays = []
        with open(os.path.join(tmp, "list.tsv")) as f:
            for i, line in enumerate(f):
                p, T, V = line.rstrip("\n").split("\t")
                x = np.fromfile(os.path.join(tmp, f"{i:05d}.f32"), np.float32).reshape(int(T), int(V))
                arrays.append((p, np.ascontiguousarray(x)))
        d = Dictionary()
        for t in tokens:
            d.add_entry(t)
        d.add_entry("<blank>")
        blank = len(tokens)
        lm = KenLM(arpa, d)
        # KenLM scores in log10; flashlight adds lm_weight * (its log10 score): scale to natural log
        opts = LexiconFreeDecoderOptions(beam_size=a.beam, beam_size_token=16, beam_threshold=1e9,
                                         lm_weight=weight * np.log(10.0), sil_score=0.0, log_add=True,
                                         criterion_type=CriterionType.CTC)
        dec = LexiconFreeDecoder(opts, lm, blank, blank, [])
        fl_times, fl_h = [], {}
        with guard.region("flashlight+KenLM"):
            for run in range(a.runs):
                t0 = time.perf_counter()
                out = [dec.decode(x.ctypes.data, x.shape[0], x.shape[1]) for _, x in arrays]
                fl_times.append(time.perf_counter() - t0)
                if run == 0:  # the text, outside the timed part
                    for (p, _), res in zip(arrays, out):
                        toks = res[0].tokens
                        fl_h[p] = "".join(tokens[t] for t in toks if 0 <= t < blank).replace("\u2581", " ").strip()
    med = statistics.median
    frames = sum(x.shape[0] for _, x in arrays)
    print(guard.load_line())
    print(f"{len(files)} utterances, {frames} frames; beam {a.beam}, LM weight {weight}, one thread, "
          f"{a.runs} runs each; the search alone")
    if classes:
        print("  (word-boundary LM: the bonus-0 runs of sori and flashlight use its ARPA form without the "
              "word-start back-off weights)")
    print(f"  sori (bonus {bonus}):  {spread(sori_s)}  CER {100 * cer(refs, sori_h):5.2f} %")
    print(f"  sori (bonus 0):    {spread(sori0_s)}  CER {100 * cer(refs, sori0_h):5.2f} %")
    print(f"  flashlight+KenLM:  {spread(fl_times)}  CER {100 * cer(refs, fl_h):5.2f} %")
    same = sum(1 for p in files if sori0_h.get(p) == fl_h.get(p))
    print(f"  ratio flashlight / sori (bonus 0): {med(fl_times) / med(sori0_s):.2f}; their texts: {same} of "
          f"{len(files)} identical, CER between them {100 * cer(fl_h, sori0_h):.2f} %")
    if a.hotwords:
        n_hw = sum(1 for line in open(a.hotwords, encoding="utf-8") if line.strip() and not line.startswith("#"))
        print(f"  sori + {n_hw} hotwords (bonus {bonus}): {spread(hw_s)}  CER {100 * cer(refs, hw_h):5.2f} %"
              f"  (x{med(hw_s) / med(sori_s):.2f} the time without)")
    sys.exit(guard.report())


if __name__ == "__main__":
    main()
