#!/usr/bin/env python3
"""A small client of `sori serve` (docs/protocol.md): streams an audio file as a call and
prints the partials and finals.

    python3 tools/sori_client.py call.wav [--url ws://127.0.0.1:8765/v1/asr] [--token-file F]
        [--model NAME] [--rate 8000] [--encoding pcm16|mulaw|alaw] [--realtime] [--json]

The file is read with soundfile (any format it reads), its channels kept (two channels: a
stereo call, each labelled), converted to the encoding at --rate (default: the file's rate;
μ-law/A-law default to 8 kHz) and sent in 20 ms frames — at real-time pace with --realtime,
else as fast as the server takes them. Needs `websockets` and `soundfile` (pip); the server
never needs Python.
"""
import argparse
import asyncio
import json
import sys
import time

import numpy as np


def encode(x, encoding):
    """float samples [-1, 1] (frames x channels) to the protocol's bytes, interleaved."""
    s = np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)
    if encoding == "pcm16":
        return s.astype("<i2").tobytes()
    v = s.astype(np.int32).ravel()
    if encoding == "mulaw":  # G.711 μ-law (ITU-T, as sori's codec)
        sign = np.where(v < 0, 0x80, 0)
        mag = np.minimum(np.abs(v), 32635) + 0x84
        exp = np.floor(np.log2(mag)).astype(np.int32) - 7
        exp = np.clip(exp, 0, 7)
        mant = (mag >> (exp + 3)) & 0x0F
        return (~(sign | (exp << 4) | mant) & 0xFF).astype(np.uint8).tobytes()
    # A-law
    sign = np.where(v >= 0, 0x80, 0)
    mag = np.minimum(np.where(v < 0, -v - 1, v), 32767) >> 3
    exp = np.where(mag >= 32, np.floor(np.log2(np.maximum(mag, 1))).astype(np.int32) - 4, 0)
    exp = np.clip(exp, 0, 7)
    mant = np.where(exp == 0, mag >> 1, mag >> exp) & 0x0F
    return ((sign | (exp << 4) | mant) ^ 0x55).astype(np.uint8).tobytes()


def resample(x, rate_in, rate_out):
    """Linear interpolation (a demo client; the server resamples properly when rates differ)."""
    if rate_in == rate_out:
        return x
    n = int(round(len(x) * rate_out / rate_in))
    t = np.arange(n) * (rate_in / rate_out)
    return np.stack([np.interp(t, np.arange(len(x)), x[:, c]) for c in range(x.shape[1])], axis=1)


async def run(args):
    import soundfile as sf
    import websockets

    x, rate = sf.read(args.file, dtype="float32", always_2d=True)
    if x.shape[1] > 2:
        x = x.mean(axis=1, keepdims=True)
    out_rate = args.rate or (8000 if args.encoding != "pcm16" else rate)
    x = resample(x, rate, out_rate)
    data = encode(x, args.encoding)
    frame = (out_rate // 50) * x.shape[1] * (2 if args.encoding == "pcm16" else 1)
    token = open(args.token_file).read().strip() if args.token_file else None
    headers = {"Authorization": f"Bearer {token}"} if token else None
    start = {"type": "start", "sample_rate": out_rate, "encoding": args.encoding, "channels": x.shape[1]}
    if args.model:
        start["model"] = args.model
    if args.language:
        start["language"] = args.language
    async with websockets.connect(args.url, additional_headers=headers, max_size=1 << 22) as ws:
        await ws.send(json.dumps(start))

        async def send():
            t0 = time.monotonic()
            for i, pos in enumerate(range(0, len(data), frame)):
                if args.realtime:
                    await asyncio.sleep(max(0.0, t0 + i * 0.02 - time.monotonic()))
                await ws.send(data[pos:pos + frame])
            await ws.send(json.dumps({"type": "stop"}))

        sender = asyncio.create_task(send())
        async for msg in ws:
            ev = json.loads(msg)
            if args.json:
                print(msg, flush=True)
            elif ev["type"] == "partial":
                print(f"\r[{ev['channel']}] … {ev['text']}", end="", file=sys.stderr, flush=True)
            elif ev["type"] == "final":
                print(f"\r[{ev['channel']}] {ev['start']:7.2f}-{ev['end']:7.2f}  {ev['text']}", flush=True)
            elif ev["type"] == "error":
                print(f"error {ev['code']}: {ev['message']}", file=sys.stderr)
            elif ev["type"] == "closed":
                print(f"closed: {ev['reason']}, {ev['audio_s']} s, {ev['finals']} finals", file=sys.stderr)
        await sender


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file")
    ap.add_argument("--url", default="ws://127.0.0.1:8765/v1/asr")
    ap.add_argument("--token-file")
    ap.add_argument("--model")
    ap.add_argument("--language", help="Whisper models: ko, en, ... or auto")
    ap.add_argument("--rate", type=int, default=0)
    ap.add_argument("--encoding", default="pcm16", choices=["pcm16", "mulaw", "alaw"])
    ap.add_argument("--realtime", action="store_true")
    ap.add_argument("--json", action="store_true", help="print every event as it comes")
    asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    main()
