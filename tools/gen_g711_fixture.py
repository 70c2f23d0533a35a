#!/usr/bin/env python3
"""Reference tables for the G.711 test (tests/fixtures/g711_reference.txt).

The reference is Python's `audioop` module (CPython <= 3.12), whose G.711
code is Sun Microsystems' public-domain implementation of the CCITT/ITU-T
G.711 tables. Output, one line each:
  ulaw_decode CODE VALUE      for all 256 codes (16-bit linear)
  alaw_decode CODE VALUE
  ulaw_encode FIRST_INPUT CODE   run starts: every 16-bit input from FIRST_INPUT
  alaw_encode FIRST_INPUT CODE   up to the next run start encodes to CODE
The run starts are the encoder's decision boundaries.

    python3 tools/gen_g711_fixture.py > tests/fixtures/g711_reference.txt
"""
import struct
import sys
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)
import audioop  # noqa: E402  (removed in Python 3.13: run with 3.11 or 3.12)


def main():
    out = sys.stdout
    for law, dec in (("ulaw", audioop.ulaw2lin), ("alaw", audioop.alaw2lin)):
        values = struct.unpack("<256h", dec(bytes(range(256)), 2))
        for code, v in enumerate(values):
            out.write(f"{law}_decode {code} {v}\n")
    pcm = struct.pack("<65536h", *range(-32768, 32768))
    for law, enc in (("ulaw", audioop.lin2ulaw), ("alaw", audioop.lin2alaw)):
        codes = enc(pcm, 2)
        prev = None
        for i, c in enumerate(codes):
            if c != prev:
                out.write(f"{law}_encode {i - 32768} {c}\n")
                prev = c


if __name__ == "__main__":
    main()
