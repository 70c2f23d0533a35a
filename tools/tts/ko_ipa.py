#!/usr/bin/env python3
"""Prototype: Korean standard pronunciation → Kokoro's IPA symbols → token ids.

    python3 tools/tts/ko_ipa.py "오늘 날씨가 정말 좋네요."                  # IPA and ids
    python3 tools/tts/ko_ipa.py --pron "오늘 랄씨가 정말 존네요."            # input already as said
    python3 tools/tts/ko_ipa.py --wav /tmp/a.wav --onnx K.onnx --voices V.npz "안녕하세요."

Text goes through sori's own front end first (`build/bin/sori text normalize`, then
`sori text g2p`: Hangul as said, 표준발음법), so this file only maps pronounced
Hangul to symbols of Kokoro's vocabulary (vocab.json: 114 symbols, no tense-voice
diacritic). The table and its reasons are in docs/tts-kokoro.md ("Korean through
Kokoro"); it is the prototype the C front end (text/) will implement and test.

Variants (--variant), for measuring which is understood best:
  base   lenis stops voiced between voiced sounds (ɡ d b ʥ), voiceless elsewhere;
         aspirated with ʰ; tense after a vowel as a geminate ʔ + plain stop (the
         symbol Kokoro's Japanese uses for っ), plain at the start of a word
  plain  as base, but tense stops are plain stops (no ʔ)
  novoice as base, but lenis stops stay voiceless everywhere
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")

# 19 initials, 21 medials, 28 finals (Unicode's Hangul syllable order)
CHO = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
JUNG = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
JONG = [""] + list("ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ")

VOWEL = {"ㅏ": "a", "ㅐ": "e", "ㅑ": "ja", "ㅒ": "je", "ㅓ": "ʌ", "ㅔ": "e", "ㅕ": "jʌ", "ㅖ": "je", "ㅗ": "o",
         "ㅘ": "wa", "ㅙ": "we", "ㅚ": "we", "ㅛ": "jo", "ㅜ": "u", "ㅝ": "wʌ", "ㅞ": "we", "ㅟ": "wi", "ㅠ": "ju",
         "ㅡ": "ɯ", "ㅢ": "ɰi", "ㅣ": "i"}
# lenis: (word-initial / after a voiceless sound, between voiced sounds)
LENIS = {"ㄱ": ("k", "ɡ"), "ㄷ": ("t", "d"), "ㅂ": ("p", "b"), "ㅈ": ("ʨ", "ʥ")}
ASPIRATED = {"ㅋ": "kʰ", "ㅌ": "tʰ", "ㅍ": "pʰ", "ㅊ": "ʨʰ"}
TENSE = {"ㄲ": "k", "ㄸ": "t", "ㅃ": "p", "ㅉ": "ʨ", "ㅆ": "s"}
# codas after the standard pronunciation's neutralization (7 sounds); the rest
# neutralized here too, in case the input was not through g2p
CODA = {"ㄱ": "k", "ㄲ": "k", "ㅋ": "k", "ㄳ": "k", "ㄺ": "k", "ㄴ": "n", "ㄵ": "n", "ㄶ": "n", "ㄷ": "t", "ㅅ": "t",
        "ㅆ": "t", "ㅈ": "t", "ㅊ": "t", "ㅌ": "t", "ㅎ": "t", "ㄹ": "l", "ㄼ": "l", "ㄽ": "l", "ㄾ": "l", "ㅀ": "l",
        "ㅁ": "m", "ㄻ": "m", "ㅂ": "p", "ㅍ": "p", "ㅄ": "p", "ㄿ": "p", "ㅇ": "ŋ"}
PUNCT = {".": ".", ",": ",", "?": "?", "!": "!", " ": " ", ";": ";", ":": ":", "…": "…", "—": "—"}


def palatal_next(vowel):
    return vowel in ("ㅣ", "ㅑ", "ㅕ", "ㅛ", "ㅠ", "ㅒ", "ㅖ", "ㅟ")


def syllable_ipa(cho, jung, jong, prev, variant):
    """prev: 'V' after a vowel or sonorant coda in the same word, 'C' after an obstruent coda, '' word start."""
    out = ""
    pal = palatal_next(jung)
    if cho in LENIS:
        voiced = prev == "V" and variant != "novoice"
        out += LENIS[cho][1 if voiced else 0]
    elif cho in ASPIRATED:
        out += ASPIRATED[cho]
    elif cho in TENSE:
        c = TENSE[cho]
        if cho == "ㅆ" and pal:
            c = "ɕ"
        if prev == "V" and variant not in ("plain",):
            out += "ʔ"
        out += c
    elif cho == "ㅅ":
        out += "ɕ" if pal else "s"
    elif cho == "ㅎ":
        out += "ç" if pal else "h"
    elif cho == "ㄴ":
        out += "ɲ" if pal else "n"
    elif cho == "ㄹ":
        out += "ɾ"
    elif cho == "ㅁ":
        out += "m"
    # ㅇ: no onset
    v = VOWEL[jung]
    if cho and cho != "ㅇ" and jung == "ㅢ":
        v = "i"  # 표준발음법 제5항: a consonant + ㅢ is said [ㅣ]
    if pal and out.endswith(("ɕ", "ʨ", "ʥ", "ç", "ɲ", "ʨʰ")) and v.startswith("j"):
        v = v[1:]  # the palatal consonant already carries the glide
    out += v
    if jong:
        out += CODA[jong]
    return out


def hangul_to_ipa(text, variant="base"):
    """Pronounced Hangul (sori text g2p's output) → IPA string of Kokoro's symbols.
    Characters that are neither Hangul syllables nor known punctuation are dropped."""
    res = []
    prev = ""
    prev_coda = ""
    for ch in text:
        code = ord(ch) - 0xAC00
        if 0 <= code < 11172:
            cho, jung, jong = CHO[code // 588], JUNG[code % 588 // 28], JONG[code % 28]
            s = syllable_ipa(cho, jung, jong, prev, variant)
            if cho == "ㄹ" and prev_coda == "ㄹ":
                s = "l" + s[1:]  # ㄹㄹ is a long lateral [ll]
            res.append(s)
            if jong:
                prev = "V" if CODA[jong] in ("n", "m", "ŋ", "l") else "C"
            else:
                prev = "V"
            prev_coda = jong
        elif ch in PUNCT:
            res.append(PUNCT[ch])
            prev, prev_coda = "", ""
        else:
            prev, prev_coda = "", ""
    return " ".join("".join(res).split())


def front_end(text, sori=None):
    """sori text normalize, then sori text g2p (the project's Korean text layer)."""
    sori = sori or os.path.join(ROOT, "build", "bin", "sori")
    norm = subprocess.run([sori, "text", "normalize", text], capture_output=True, text=True, check=True).stdout.strip()
    return subprocess.run([sori, "text", "g2p", norm], capture_output=True, text=True, check=True).stdout.strip()


def load_vocab(path=None):
    """symbol -> id, from Kokoro's vocab.json or from the converted model's sori.kokoro.vocab."""
    if path:
        return json.load(open(path, encoding="utf-8"))["vocab"]
    import gguf
    r = gguf.GGUFReader(os.path.join(ROOT, "data", "kokoro-82m.gguf"))
    f = r.fields["sori.kokoro.vocab"]
    syms = [bytes(f.parts[i]).decode() for i in f.data]
    return {s: i for i, s in enumerate(syms) if s}


def to_ids(ipa, vocab):
    bad = sorted({c for c in ipa if c not in vocab})
    if bad:
        raise ValueError(f"symbols not in Kokoro's vocabulary: {bad}")
    return [vocab[c] for c in ipa]


def synthesize(ids, onnx_path, voices_path, voice="jf_alpha", speed=1.0, threads=2):
    import numpy as np
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.log_severity_level = 3
    s = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    pack = np.load(voices_path)[voice]
    style = pack[min(len(ids), len(pack)) - 1].reshape(1, 256).astype(np.float32)
    audio = s.run(None, {"tokens": np.array([[0, *ids, 0]], np.int64), "style": style,
                         "speed": np.array([speed], np.float32)})[0]
    return audio.ravel()


def write_wav(path, audio, rate=24000):
    import wave
    import numpy as np
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("text")
    ap.add_argument("--pron", action="store_true", help="text is already pronounced Hangul (skip sori's front end)")
    ap.add_argument("--variant", default="base", choices=["base", "plain", "novoice"])
    ap.add_argument("--vocab", help="vocab.json (default: the vocabulary inside data/kokoro-82m.gguf)")
    ap.add_argument("--onnx")
    ap.add_argument("--voices")
    ap.add_argument("--voice", default="jf_alpha")
    ap.add_argument("--speed", type=float, default=1.0)
    ap.add_argument("--wav")
    a = ap.parse_args()
    pron = a.text if a.pron else front_end(a.text)
    ipa = hangul_to_ipa(pron, a.variant)
    vocab = load_vocab(a.vocab)
    ids = to_ids(ipa, vocab)
    print(f"{pron}\t{ipa}\t{' '.join(map(str, ids))}")
    if a.wav:
        if not (a.onnx and a.voices):
            sys.exit("ko_ipa: --wav needs --onnx and --voices")
        write_wav(a.wav, synthesize(ids, a.onnx, a.voices, a.voice, a.speed))


if __name__ == "__main__":
    main()
