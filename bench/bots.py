"""Meeting bots against local mode, loopback only: N simulated bots, each posting a transcript
line every 2 s and an audio chunk every 100 ms of its meeting (16 kHz mono S16LE, 3,200 bytes)
for ``--seconds`` of meeting time, to ``POST /webhooks/meeting-bot`` (signed, or with the URL
token, alternately).

Bots send as fast as the endpoint answers (one sender thread per bot), not paced in real time:
local mode runs every function in one process on this machine, so it cannot take 50 bots' real-
time rate (525 requests/s); the report prints the rate reached against that target.

Prints: requests accepted (202); archived exactly once (one chunk object per chunk sent, one
``events/`` body and one transcript entry per line sent, nothing more); ack latency p50/p99, next
to the RealtimeKit endpoint's p50 measured in the same run (baseline); and whether every bot's
assembled ``audio_mixed.wav`` equals its chunks in relative order.

Usage: python -m bench.bots [--bots 50] [--seconds 120] [--quiet 3] [--timeout 1800]
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import statistics
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from local.sample_bot_meeting import post, signed_headers
from local.signing import WebhookSigner
from local.stack import LocalSettings, LocalStack

SECRET = "whsec_" + base64.b64encode(b"bench-bots-signing-secret-32byte").decode()
TOKEN = "bench-bots-token"
CHUNK_SECONDS = 0.1
TRANSCRIPT_EVERY = 2.0
CHUNK_SAMPLES = 1600


def chunk_pcm(bot: int, index: int) -> bytes:
    """Distinct, deterministic samples per bot and chunk."""
    value = (bot * 131 + index * 7) % 30000 - 15000
    return value.to_bytes(2, "little", signed=True) * CHUNK_SAMPLES


def envelope(bot: int, event: str, inner: dict[str, Any], resource: str) -> dict[str, Any]:
    return {
        "event": event,
        "data": {
            "data": inner,
            "realtime_endpoint": {"id": "rte-bench", "metadata": {}},
            resource: {"id": f"{resource}-{bot}", "metadata": {}},
            "recording": {"id": f"bench-rec-{bot:03d}", "metadata": {}},
            "bot": {"id": f"bench-bot-{bot:03d}", "metadata": {}},
        },
    }


def bot_bodies(bot: int, seconds: float) -> list[bytes]:
    """The bot's bodies in the order it produces them."""
    bodies = []
    chunks = round(seconds / CHUNK_SECONDS)
    per_line = round(TRANSCRIPT_EVERY / CHUNK_SECONDS)
    participant = {
        "id": 1,
        "name": f"Speaker {bot}",
        "is_host": True,
        "platform": "desktop",
        "extra_data": {},
    }
    for index in range(chunks):
        relative = round(index * CHUNK_SECONDS, 3)
        stamp = {
            "relative": relative,
            "absolute": f"2026-06-05T10:{index // 600:02d}:{index % 600 / 10:04.1f}Z",
        }
        inner = {"buffer": base64.b64encode(chunk_pcm(bot, index)).decode(), "timestamp": stamp}
        bodies.append(json.dumps(envelope(bot, "audio_mixed_raw.data", inner, "audio_mixed")).encode())
        if index % per_line == per_line - 1:
            start = relative - TRANSCRIPT_EVERY + CHUNK_SECONDS
            words = [
                {
                    "text": f"line{index // per_line}",
                    "start_timestamp": {"relative": round(start, 3)},
                    "end_timestamp": {"relative": round(start + 1.5, 3)},
                }
            ]
            inner = {"words": words, "participant": participant}
            bodies.append(json.dumps(envelope(bot, "transcript.data", inner, "transcript")).encode())
    return bodies


RETRIED: list[int] = []


def _send(url: str, body: bytes, index: int) -> int:
    """One delivery; a connection the loaded local server refused or reset is retried, as a bot
    retries on network errors (keys are deterministic, so a retry cannot duplicate)."""
    for attempt in range(5):
        try:
            if index % 2:
                headers = signed_headers(SECRET, body, timestamp=int(time.time()))
                return post(url, body, headers, timeout=300)
            return post(f"{url}?token={TOKEN}", body, {"content-type": "application/json"}, timeout=300)
        except OSError:
            RETRIED.append(index)
            time.sleep(0.5 * (attempt + 1))
    return 0


def send_bot(url: str, bodies: list[bytes]) -> list[tuple[int, float]]:
    results = []
    for index, body in enumerate(bodies):
        started = time.perf_counter()
        status = _send(url, body, index)
        results.append((status, time.perf_counter() - started))
    return results


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def baseline_latencies(stack: LocalStack, signer: WebhookSigner, count: int = 50) -> list[float]:
    """The RealtimeKit endpoint's ack latency in the same run: the ratio's denominator."""
    body = json.dumps(
        {
            "event": "meeting.started",
            "meeting": {
                "id": "bench-baseline",
                "sessionId": "bench-baseline-s",
                "title": "baseline",
                "status": "LIVE",
                "startedAt": "2026-06-05T10:00:00.000Z",
            },
        }
    ).encode()
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        status = post(
            stack.webhook_url, body, {"content-type": "application/json", "rtk-signature": signer.sign(body)}
        )
        latencies.append(time.perf_counter() - started)
        assert status == 202, status
    return latencies


def expected_wav_pcm(bot: int, chunks: int) -> bytes:
    return b"".join(chunk_pcm(bot, index) for index in range(chunks))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bots", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=120.0, help="meeting time each bot sends")
    parser.add_argument("--quiet", type=int, default=3, help="BOT_AUDIO_QUIET_SECONDS for the run")
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args()

    signer = WebhookSigner.generate()
    settings = LocalSettings(
        public_key_pem=signer.public_pem(),
        bot_tokens=(TOKEN,),
        bot_signing_secrets=(SECRET,),
        extra_env={"BOT_AUDIO_QUIET_SECONDS": str(args.quiet)},
    )
    chunks = round(args.seconds / CHUNK_SECONDS)
    lines = chunks // round(TRANSCRIPT_EVERY / CHUNK_SECONDS)
    with LocalStack(settings) as stack:
        baseline = baseline_latencies(stack, signer)
        stack.wait_idle(timeout=args.timeout)
        all_bodies = [bot_bodies(bot, args.seconds) for bot in range(args.bots)]
        total = sum(len(b) for b in all_bodies)
        print(
            f"{args.bots} bots x {args.seconds:g} s of meeting: {total} requests "
            f"({chunks} audio chunks and {lines} transcript lines per bot)"
        )
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.bots) as pool:
            results = [
                r for rs in pool.map(lambda b: send_bot(stack.bot_webhook_url, b), all_bodies) for r in rs
            ]
        sending = time.perf_counter() - started
        accepted = sum(1 for status, _ in results if status == 202)
        drain_started = time.perf_counter()
        stack.wait_idle(timeout=args.timeout)
        drained = time.perf_counter() - drain_started

        exactly_once = True
        wavs_match = True
        problems: list[str] = []
        for bot in range(args.bots):
            prefix = f"meetings/bench-bot-{bot:03d}/sessions/bench-rec-{bot:03d}/"
            objects = dict(stack.list_archive(prefix))
            chunk_keys = [k for k in objects if "/media/audio/mixed/" in k]
            event_keys = [k for k in objects if "/events/" in k]
            transcript = (
                json.loads(stack.read_object(prefix + "transcript/transcript.json"))
                if (prefix + "transcript/transcript.json") in objects
                else []
            )
            if len(chunk_keys) != chunks or len(event_keys) != lines or len(transcript) != lines:
                exactly_once = False
                problems.append(
                    f"bot {bot}: {len(chunk_keys)} chunks, {len(event_keys)} bodies, "
                    f"{len(transcript)} transcript entries"
                )
            wav_key = prefix + "audio_mixed.wav"
            if wav_key not in objects:
                wavs_match = False
                problems.append(f"bot {bot}: no audio_mixed.wav")
                continue
            with wave.open(io.BytesIO(stack.read_object(wav_key)), "rb") as wav:
                frames = wav.readframes(wav.getnframes())
            if frames != expected_wav_pcm(bot, chunks):
                wavs_match = False
                problems.append(f"bot {bot}: audio_mixed.wav differs from its chunks")
        dead = {name: d["dlq"] for name, d in stack.queue_depths().items() if d["dlq"]}

    latencies = [latency for _, latency in results]
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    base_p50 = statistics.median(baseline)
    rate = len(results) / sending
    print(f"accepted:             {accepted}/{len(results)} (202)")
    print(
        f"archived exactly once: {'yes' if exactly_once else 'NO'} "
        f"({args.bots * chunks} chunk objects, {args.bots * lines} transcript bodies and entries expected)"
    )
    print(
        f"ack latency:          p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms "
        f"(RealtimeKit endpoint p50 in this run {base_p50 * 1000:.1f} ms: ratio {p50 / base_p50:.2f}x)"
    )
    print(
        f"send rate:            {rate:.0f} requests/s over {sending:.1f} s "
        f"(real time for {args.bots} bots would be {args.bots * 10.5:.0f}/s: {rate / (args.bots * 10.5):.2f}x)"
    )
    print(
        f"retried:              {len(RETRIED)} connection errors (refused/reset by the loaded local server)"
    )
    print(f"drained in:           {drained:.1f} s after the last request (quiet period {args.quiet} s)")
    print(
        f"WAVs match chunks:    {'yes' if wavs_match else 'NO'} ({args.bots} audio_mixed.wav parsed with wave)"
    )
    if dead:
        print(f"dead letters:         {dead}")
    for problem in problems[:10]:
        print(f"  {problem}")
    if accepted != len(results) or not exactly_once or not wavs_match or dead:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
