"""Audio chunks -> one WAV on the recording's timeline (gaps silent), streamed in bounded memory."""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from shared.sources.meeting_bot.audio import BYTES_PER_SECOND, Chunk, plan, wav_header, write_wav

REPO = Path(__file__).resolve().parents[3]


class Buffer:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data


def pcm(samples: int, value: int) -> bytes:
    return value.to_bytes(2, "little", signed=True) * samples


def assemble(chunks: dict[str, tuple[int, bytes]]) -> bytes:
    listing = [Chunk(key=k, start_us=t, size=len(d)) for k, (t, d) in chunks.items()]
    sink = Buffer()
    write_wav(plan(listing), lambda key: chunks[key][1], sink, prefetch=3)
    return bytes(sink.data)


def read_wav(data: bytes) -> tuple[wave._wave_params, bytes]:
    with wave.open(io.BytesIO(data), "rb") as wav:
        return wav.getparams(), wav.readframes(wav.getnframes())


def test_pcm_is_the_chunks_in_relative_order_with_silence_in_the_gaps() -> None:
    a, b, c = pcm(1600, 100), pcm(1600, 200), pcm(800, -300)
    chunks = {  # arrival order is not relative order
        "k3": (500_000, c),  # 0.5 s, after a 0.2 s gap
        "k1": (100_000, a),  # 0.1 s, after 0.1 s of silence from the recording start
        "k2": (200_000, b),
    }
    params, frames = read_wav(assemble(chunks))
    assert (params.nchannels, params.sampwidth, params.framerate, params.comptype) == (1, 2, 16000, "NONE")
    expected = pcm(1600, 0) + a + b + pcm(3200, 0) + c
    assert frames == expected
    assert params.nframes == len(expected) // 2


def test_overlap_keeps_the_earlier_chunk_and_the_timeline() -> None:
    a, b = pcm(1600, 1), pcm(1600, 2)  # b starts 50 ms before a ends
    _, frames = read_wav(assemble({"a": (0, a), "b": (50_000, b)}))
    assert frames == a + b[1600:]
    assert len(frames) == round(0.15 * BYTES_PER_SECOND)


def test_duplicates_and_shuffles_give_identical_bytes() -> None:
    rng = random.Random(7)
    chunks = {f"k{i:03d}": (i * 100_000 + (200_000 if i > 20 else 0), pcm(1600, i)) for i in range(40)}
    first = assemble(chunks)
    keys = list(chunks) * 2
    rng.shuffle(keys)
    assert assemble({k: chunks[k] for k in keys}) == first


def test_header_sizes_are_riff_correct() -> None:
    header = wav_header(32000)
    assert header[:4] == b"RIFF"
    assert int.from_bytes(header[4:8], "little") == 36 + 32000
    assert header[8:16] == b"WAVEfmt "
    assert int.from_bytes(header[40:44], "little") == 32000


def test_an_empty_stream_is_a_valid_empty_wav() -> None:
    params, frames = read_wav(assemble({}))
    assert params.nframes == 0
    assert frames == b""


PROBE = """
import hashlib, json, sys
from shared.sources.meeting_bot.audio import Chunk, plan, write_wav
from tests.support.peak_rss import peak_rss_mib  # VmHWM: ru_maxrss would carry over the parent's
seconds = int(sys.argv[1])
chunk_bytes = 3200  # 100 ms at 16 kHz mono S16LE
class Hash:
    def __init__(self): self.h = hashlib.sha256(); self.n = 0
    def write(self, data): self.h.update(data); self.n += len(data)
def listing():
    for i in range(seconds * 10):
        if i % 600 == 599:  # a missing chunk every minute: silence
            continue
        yield Chunk(key=f"c/{i * 100_000:013d}.pcm", start_us=i * 100_000, size=chunk_bytes)
def read(key):
    i = int(key[2:15]) // 100_000
    return (i % 251).to_bytes(2, "little") * (chunk_bytes // 2)
# The part buffer of the S3 writer: one 8 MiB part, as MultipartWriter holds.
class Parts(Hash):
    def __init__(self): super().__init__(); self.buf = bytearray()
    def write(self, data):
        self.buf += data
        while len(self.buf) >= 8 * 1024 * 1024:
            super().write(bytes(self.buf[: 8 * 1024 * 1024])); del self.buf[: 8 * 1024 * 1024]
sink = Parts()
before = peak_rss_mib() * 1024
result = write_wav(plan(listing()), read, sink, prefetch=16)
peak = peak_rss_mib() * 1024
print(json.dumps({"bytes": result.bytes, "peak_kb": peak, "before_kb": before}))
"""


def _assemble_in_subprocess(seconds: int) -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(seconds)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_two_hour_stream_assembles_in_memory_that_does_not_grow_with_length() -> None:
    """2 h = 72,000 chunks, 230 MB of PCM; peak RSS must stay within that of a 10-minute stream
    plus the piece list (a few MB), far below the data size."""
    short = _assemble_in_subprocess(10 * 60)
    long = _assemble_in_subprocess(2 * 60 * 60)
    assert long["bytes"] == 44 + 2 * 3600 * 32000 - 3200  # the very last chunk is one of the missing
    growth_mb = (long["peak_kb"] - short["peak_kb"]) / 1024
    print(f"peak RSS 10 min: {short['peak_kb'] / 1024:.1f} MB, 2 h: {long['peak_kb'] / 1024:.1f} MB")
    assert growth_mb < 40, f"peak RSS grew by {growth_mb:.1f} MB for 12x the audio"
    assert long["peak_kb"] / 1024 < 200  # 230 MB of audio never sits in memory
