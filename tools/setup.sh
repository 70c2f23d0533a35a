#!/usr/bin/env bash
# Installs what sori needs to build (Debian packages) and builds it in build/.
# Idempotent: packages already present are not reinstalled, and the build is
# incremental. CUDA: the module is built when nvcc is found (SORI_CUDA=AUTO);
# set SORI_CUDA=OFF or ON in the environment to force it.
#   bash tools/setup.sh            # install + build
#   BUILD_DIR=out bash tools/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake ninja-build pkg-config
          libopenblas-dev libsndfile1-dev libopus-dev libopusfile-dev
          portaudio19-dev libsoxr-dev libkissfft-dev)
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
