#!/bin/sh
# The installed library, as a user gets it: `cmake --install` into a fresh prefix, then the
# example (examples/transcribe.c) built against that prefix only, once with pkg-config and once
# with find_package(sori), and run on a bundled sample; its text must be the sori command's
# (same model, greedy: --lm none). Checks the SONAME link and the installed data.
# $1: the build directory, $2: the source directory. Skips (77) without a C compiler or the
# bundled model.
set -u
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install_test: $*" >&2; exit 1; }
command -v cc >/dev/null || { echo "no C compiler: skipped"; exit 77; }
[ -f "$src/data/ko-fastconformer-ctc.gguf" ] || { echo "no bundled model: skipped"; exit 77; }
cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; fail "cmake --install failed"; }
p=$tmp/prefix
lib=$(find "$p" -name 'libsori.so.*' | head -n 1)
[ -n "$lib" ] || fail "libsori.so.* not installed"
objdump -p "$lib" | grep -q 'SONAME *libsori.so.0$' || fail "libsori's SONAME is not libsori.so.0"
[ -f "$p/include/sori/asr.h" ] || fail "headers not installed"
[ -x "$p/bin/sori" ] || fail "the sori command not installed"
pcdir=$(dirname "$(find "$p" -name sori.pc | head -n 1)")
[ -f "$pcdir/sori.pc" ] || fail "sori.pc not installed"
datadir=$(PKG_CONFIG_PATH=$pcdir pkg-config --variable=datadir sori)
model=$datadir/ko-fastconformer-ctc.gguf
[ -f "$model" ] || fail "the bundled model is not in the installed data directory ($datadir)"
# 1. pkg-config, the headers and the library of the prefix only
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror "$src/examples/transcribe.c" -o "$tmp/t_pc" \
  $(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs sori) -Wl,-rpath,"$(dirname "$lib")" ||
  fail "the example does not build with pkg-config"
# 2. find_package(sori)
cmake -S "$src/examples" -B "$tmp/ex" -DCMAKE_PREFIX_PATH="$p" -DCMAKE_BUILD_RPATH="$(dirname "$lib")" \
  >"$tmp/cmake.log" 2>&1 && cmake --build "$tmp/ex" >>"$tmp/cmake.log" 2>&1 ||
  { cat "$tmp/cmake.log"; fail "the example does not build with find_package(sori)"; }
wav=$src/data/samples/ko_16k_question.wav
want=$("$p/bin/sori" transcribe --model "$model" --lm none "$wav") || fail "the installed sori command failed"
for t in "$tmp/t_pc" "$tmp/ex/transcribe"; do
  got=$("$t" "$model" "$wav" | head -n 1) || fail "$t failed"
  [ -n "$got" ] && [ "$got" = "$want" ] || fail "$t: '$got', the command: '$want'"
done
# the installed program resolves libsori from the prefix, not the build tree
ldd "$tmp/t_pc" | grep -q "$p" || fail "the example does not load the installed libsori"
echo "install_test: installed into a fresh prefix; the example built with pkg-config and find_package says '$want'"
