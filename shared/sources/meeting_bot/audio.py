"""Audio chunks (16 kHz mono S16LE, keyed by ``relative`` time) laid out on the recording's
timeline and written as one WAV file, streamed: memory holds one upload part and a bounded
window of chunks, whatever the stream's length.

Timeline rule: sample ``n`` of the WAV is ``relative = n / 16000``. A chunk starts at the sample
nearest its ``relative`` time; a gap before it is filled with silence (zero samples); where a
chunk overlaps audio already placed, the overlapping head of the later chunk is dropped (the
earlier chunk wins), so the timeline never drifts. Equal start times are ordered by key."""

from __future__ import annotations

import hashlib
import struct
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal, Protocol

SAMPLE_RATE = 16_000
SAMPLE_WIDTH = 2
CHANNELS = 1
BYTES_PER_SECOND = SAMPLE_RATE * SAMPLE_WIDTH * CHANNELS
HEADER_BYTES = 44
MAX_DATA_BYTES = 0xFFFFFFFF - 36  # RIFF sizes are 32-bit: about 37 hours at 16 kHz
SILENCE_BLOCK = bytes(1 << 16)


@dataclass(frozen=True, slots=True)
class Chunk:
    key: str
    start_us: int  # relative time, microseconds
    size: int  # bytes


@dataclass(frozen=True, slots=True)
class Piece:
    kind: Literal["silence", "chunk"]
    length: int  # bytes written
    key: str = ""
    skip: int = 0  # bytes dropped from the chunk's start (overlap)


@dataclass(frozen=True)
class Layout:
    pieces: tuple[Piece, ...]
    data_bytes: int

    @property
    def chunk_count(self) -> int:
        return sum(1 for p in self.pieces if p.kind == "chunk")

    @property
    def duration_seconds(self) -> float:
        return self.data_bytes / BYTES_PER_SECOND


def sample_offset(start_us: int) -> int:
    """Byte offset of the sample nearest ``start_us``."""
    return (start_us * SAMPLE_RATE + 500_000) // 1_000_000 * SAMPLE_WIDTH


def plan(chunks: Iterable[Chunk]) -> Layout:
    pieces: list[Piece] = []
    cursor = 0
    for chunk in sorted(chunks, key=lambda c: (c.start_us, c.key)):
        usable = chunk.size - chunk.size % SAMPLE_WIDTH  # a torn last sample is dropped
        start = sample_offset(chunk.start_us)
        if start > cursor:
            pieces.append(Piece("silence", start - cursor))
            cursor = start
        skip = cursor - start
        if skip >= usable:
            continue
        pieces.append(Piece("chunk", usable - skip, key=chunk.key, skip=skip))
        cursor += usable - skip
    if cursor > MAX_DATA_BYTES:
        raise ValueError(f"{cursor} bytes of audio do not fit one WAV file")
    return Layout(tuple(pieces), cursor)


def wav_header(data_bytes: int) -> bytes:
    """The 44-byte RIFF/WAVE header of a PCM file with ``data_bytes`` of samples."""
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + data_bytes,
        b"WAVE",
        b"fmt ",
        16,
        1,  # PCM
        CHANNELS,
        SAMPLE_RATE,
        BYTES_PER_SECOND,
        SAMPLE_WIDTH * CHANNELS,
        SAMPLE_WIDTH * 8,
        b"data",
        data_bytes,
    )


class Sink(Protocol):
    def write(self, data: bytes) -> None: ...


@dataclass(frozen=True)
class Assembled:
    bytes: int
    sha256: str
    chunks: int
    duration_seconds: float


class _Hashing:
    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self.digest = hashlib.sha256()
        self.count = 0

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        self.count += len(data)
        self._sink.write(data)


def _silence(length: int) -> Iterator[bytes]:
    while length > 0:
        block = SILENCE_BLOCK if length >= len(SILENCE_BLOCK) else bytes(length)
        yield block
        length -= len(block)


def write_wav(
    layout: Layout,
    read_chunk: Callable[[str], bytes],
    sink: Sink,
    *,
    prefetch: int = 16,
) -> Assembled:
    """Header, then every piece in order. Chunks are read ``prefetch`` at a time in parallel
    (S3 GETs are latency-bound); at most ``prefetch`` chunks are held at once."""
    out = _Hashing(sink)
    out.write(wav_header(layout.data_bytes))
    with ThreadPoolExecutor(max_workers=max(1, prefetch)) as pool:
        pending: deque[tuple[Piece, Future[bytes] | None]] = deque()
        pieces = iter(layout.pieces)

        def refill() -> None:
            while len(pending) < prefetch:
                piece = next(pieces, None)
                if piece is None:
                    return
                future = pool.submit(read_chunk, piece.key) if piece.kind == "chunk" else None
                pending.append((piece, future))

        refill()
        while pending:
            piece, future = pending.popleft()
            if future is None:
                for block in _silence(piece.length):
                    out.write(block)
            else:
                data = future.result()
                part = data[piece.skip : piece.skip + piece.length]
                if len(part) != piece.length:
                    raise ValueError(f"chunk {piece.key} changed size while assembling")
                out.write(part)
            refill()
    if out.count != HEADER_BYTES + layout.data_bytes:
        raise AssertionError("WAV size does not match its header")
    return Assembled(
        bytes=out.count,
        sha256=out.digest.hexdigest(),
        chunks=layout.chunk_count,
        duration_seconds=layout.duration_seconds,
    )
