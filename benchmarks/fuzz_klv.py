"""KLV fuzz run: bad telemetry through everything a reader does with it, never an exception or a hang.

`make fuzz` runs FUZZ_CASES (>= 200,000) cases; tests/test_klv_fuzz.py runs a few thousand of the same
cases in `make test`. Case number i of a class is made by `random.Random(f"{seed}:{class}:{i}")`, so
any reported input is rebuilt from its class, seed and number. Classes (extreme_tags twice as often):

- mutated_real: real packets (../shared when present, else simulator packets) with bytes flipped,
  inserted, deleted, truncated, stray keys, cut key bytes;
- generated: random items (tags to 300) with lying lengths around a valid checksum;
- long_values: one value of up to 64 KiB on a random tag (IMAPB, integer, text, nested, unknown);
- long_tags: BER-OID tags of 1 to 4,096 bytes;
- extreme_tags: every tag 1-143 with every length from 0 to its maximum, values all 0x00, all 0xFF,
  0x80 0x00..., 0x7F 0xFF... and 0x55/0xAA (37,920 items, each once in every 37,920 cases of the class,
  in a spread order so that a short run samples all tags);
- stream_corrupt_length: a KLV stream cut into PES payloads (one packet each, several, or random
  cuts), one packet's outer BER length replaced; every other packet must keep its own PES time;
- ts_corrupt_length: the same on the real MPEG-TS in ../shared (demuxed with PyAV), when present.

Each case: split (full-key and cut-key paths), decode the raw bytes as a local set, every record,
a TelemetrySeries and `at`, `time_utc`, and `probe`'s report of the series. Counted as failures: any
exception but a TelemetryError from `decode_local_set` on raw bytes, a broken invariant, a case over
HANG_S seconds.
"""
from __future__ import annotations

import argparse
import math
import random
import resource
import signal
import struct
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from qgis_siammask.core import definitions as d
from qgis_siammask.core.commands.probe import describe_telemetry
from qgis_siammask.core.errors import TelemetryError
from qgis_siammask.core.ingest.klv import KlvStats, cut_key_of, read_ber_length, split_st0601
from qgis_siammask.core.ingest.klv_telemetry import _StreamKlv, demux_klv
from qgis_siammask.core.ingest.misb0601 import (
    TAG_SPECS,
    TEXT,
    ber_length,
    decode_local_set,
    encode_st0601,
    local_set_packet,
    record_from_values,
)
from qgis_siammask.core.ingest.series import TelemetrySeries
from qgis_siammask.core.records import TelemetryRecord

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CHEYENNE = SHARED / "data/fmv/klv/klvdata_Cheyenne.bin"
REALFLIGHT = SHARED / "data/fmv/klv/qgisfmv_realflight.bin"
TS = SHARED / "data/fmv/ts/cheyenne_klv_synthetic_video.ts"
FUZZ_CASES = 200_000
HANG_S = 10.0
MAX_VALUE_BYTES = 65_536
MAX_TAG_BYTES = 4_096
MAX_VARIABLE_LENGTH = 127  # the longest length the extreme class gives text, nested and unknown tags
TS_PACKET_LENGTH = 241  # the outer length of every KLV packet in the shared TS
TS_CASE_SHARE = 0.01  # real-TS cases cost a file write and a demux each
PATTERNS = (b"\x00", b"\xff", b"\x80\x00", b"\x7f\xff", b"\x55\xaa")
START_US = 1_500_000_000_000_000
LATITUDE_ITEM = bytes([d.KLV_TAG_SENSOR_LATITUDE, 4]) + (0x20000000).to_bytes(4, "big")


class Hang(Exception):
    pass


@dataclass
class FuzzReport:
    cases: Counter = field(default_factory=Counter)  # class -> cases run
    failures: list = field(default_factory=list)  # (class, index, message)
    slowest: tuple = (0.0, "", -1, 0)  # (seconds, class, index, input bytes)
    elapsed_s: float = 0.0


# --- case makers: (rng, corpus, index) -> callable that runs the case -----------------------------
@dataclass
class Corpus:
    seeds: bytes  # real or simulated packets, concatenated
    stream_packets: list  # simulated packets with increasing time stamps
    ts_bytes: bytes | None  # the real MPEG-TS, when ../shared is present
    ts_key_offsets: list  # where each KLV key starts in it (length fields not cut by a TS header)
    ts_times: list | None  # the times of its packets, uncorrupted
    extreme_items: list  # every (tag bytes, value) of the extreme class, in order
    extreme_stride: int  # coprime with len(extreme_items): case i takes item i * stride mod len
    workdir: Path


def _simulated_packets(count: int) -> list[bytes]:
    return [encode_st0601(TelemetryRecord(
        timestamp_us=START_US + i * 33_333, sensor_latitude_deg=40 + i * 1e-4, sensor_longitude_deg=-105.0,
        sensor_altitude_m=1500.0, altitude_reference=d.ALTITUDE_MSL, platform_heading_deg=(i * 7) % 360,
        horizontal_fov_deg=10.0, vertical_fov_deg=6.0, corners_latlon_deg=((40, -105), (40, -104.9),
                                                                           (39.9, -104.9), (39.9, -105))))
        for i in range(count)]


def _max_length(tag: int) -> int:
    spec = TAG_SPECS.get(tag)
    if spec is None or spec.kind == TEXT or spec.kind not in (0, 1, 2, 4):
        return MAX_VARIABLE_LENGTH
    return (spec.size or d.KLV_MAX_INTEGER_BYTES) + 1  # one past the standard's length


def _extreme_items() -> list[tuple[bytes, bytes]]:
    items = []
    for tag in range(1, 144):
        tag_bytes = bytes([tag]) if tag < 128 else bytes([0x80 | tag >> 7, tag & 0x7F])
        for length in range(_max_length(tag) + 1):
            for pattern in PATTERNS:
                items.append((tag_bytes, (pattern + pattern[-1:] * length)[:length]))
    return items


def build_corpus(workdir: Path) -> Corpus:
    simulated = _simulated_packets(240)
    if CHEYENNE.is_file() and REALFLIGHT.is_file():
        seeds = CHEYENNE.read_bytes()[:259 * 3] + REALFLIGHT.read_bytes()[:540]
    else:
        seeds = b"".join(simulated[:4])
    ts_bytes = TS.read_bytes() if TS.is_file() else None
    offsets, times = [], None
    if ts_bytes is not None:
        at = ts_bytes.find(d.UAS_LOCAL_SET_KEY)
        while at >= 0:
            offsets.append(at)
            at = ts_bytes.find(d.UAS_LOCAL_SET_KEY, at + 1)
        times = [t for t, _ in demux_klv(TS)[0].packets]
    extreme = _extreme_items()
    stride = next(s for s in range(int(len(extreme) * 0.618), 2 * len(extreme)) if math.gcd(s, len(extreme)) == 1)
    return Corpus(seeds, simulated, ts_bytes, offsets, times, extreme, stride, workdir)


def _mutated_real(rng: random.Random, corpus: Corpus, index: int) -> bytes:
    buffer = bytearray(corpus.seeds)
    for _ in range(rng.randint(1, 6)):
        kind, at = rng.randrange(6), rng.randrange(len(buffer) + 1)
        if kind == 0 and at < len(buffer):
            buffer[at] ^= rng.randint(1, 255)
        elif kind == 1:
            buffer[at:at] = rng.randbytes(rng.randint(1, 24))
        elif kind == 2:
            del buffer[at:at + rng.randint(1, 40)]
        elif kind == 3:
            del buffer[at:]
        elif kind == 4:
            buffer[at:at] = d.UAS_LOCAL_SET_KEY + bytes([0x81])
        else:
            del buffer[:rng.randint(1, 8)]
    return bytes(buffer)


def _generated(rng: random.Random, corpus: Corpus, index: int) -> bytes:
    body = b""
    for _ in range(rng.randint(0, 12)):
        tag, value = rng.randint(0, 300), rng.randbytes(rng.randint(0, 12))
        tag_bytes = bytes([tag]) if tag < 128 else bytes([0x80 | (tag >> 7), tag & 0x7F])
        body += tag_bytes + ber_length(len(value)) + value
    packet = local_set_packet(body)
    bias = rng.randint(-3, 3)
    if bias:  # the outer length lies; the checksum still covers what was written
        length_end = len(d.UAS_LOCAL_SET_KEY) + len(ber_length(len(body) + 4))
        packet = d.UAS_LOCAL_SET_KEY + ber_length(max(0, len(body) + 4 + bias)) + packet[length_end:]
    return packet + rng.randbytes(rng.randint(0, 8)) + packet


def _long_values(rng: random.Random, corpus: Corpus, index: int) -> bytes:
    tag = rng.choice((2, 3, 8, 13, 48, 72, 74, 96, 103, 104, 105, 112, 113, 114, rng.randint(1, 127)))
    size = min(MAX_VALUE_BYTES, int(2 ** rng.uniform(0, 16.01)))
    value = rng.choice((b"\x00", b"\xff", b"\x01", b"\x7f")) * size if rng.random() < 0.5 else rng.randbytes(size)
    return local_set_packet(bytes([tag]) + ber_length(size) + value + LATITUDE_ITEM)


def _long_tags(rng: random.Random, corpus: Corpus, index: int) -> bytes:
    size = min(MAX_TAG_BYTES, int(2 ** rng.uniform(0, 12.01)))
    tag = bytes(0x80 | rng.randrange(128) for _ in range(size - 1)) + bytes([rng.randrange(128)])
    return local_set_packet(tag + b"\x02\x01\x02" + LATITUDE_ITEM)


def _extreme_tags(rng: random.Random, corpus: Corpus, index: int) -> bytes:
    items = corpus.extreme_items
    tag_bytes, value = items[index * corpus.extreme_stride % len(items)]
    time_item = bytes([d.KLV_TAG_TIME_STAMP, 8]) + struct.pack(">Q", START_US)
    return local_set_packet(time_item + tag_bytes + ber_length(len(value)) + value + LATITUDE_ITEM)


def _corrupt_length_field(rng: random.Random, true_length: int) -> bytes:
    """A BER length field that is not `true_length`: mostly long forms claiming more, else any value."""
    while True:
        if rng.random() < 0.2:
            claimed = rng.randrange(128)
            field = bytes([claimed])
        else:
            count = rng.randint(1, 8)
            top = 256 ** count - 1
            claimed = rng.randint(min(true_length + 1, top), top) if rng.random() < 0.7 else rng.randint(0, top)
            field = bytes([0x80 | count]) + claimed.to_bytes(count, "big")
        if claimed != true_length:
            return field


def _stream_pieces(rng: random.Random, stream: bytes, starts: list[int]) -> list[int]:
    """Where each PES payload starts: at every packet, every few packets, or at random cuts."""
    mode = rng.randrange(3)
    if mode == 0:
        return list(starts)
    if mode == 1:
        step = rng.randint(2, 5)
        return starts[::step]
    return [0] + sorted(rng.sample(range(1, len(stream)), min(len(stream) - 1, rng.randint(1, 3 * len(starts)))))


def _stream_corrupt_length(rng: random.Random, corpus: Corpus, index: int):
    first = rng.randrange(len(corpus.stream_packets) - 40)
    packets = list(corpus.stream_packets[first:first + rng.randint(3, 40)])
    bad = rng.randrange(len(packets))
    key_length = len(d.UAS_LOCAL_SET_KEY)
    field_length = 1 if packets[bad][key_length] < 0x80 else 1 + (packets[bad][key_length] & 0x7F)
    body_length = len(packets[bad]) - key_length - field_length
    packets[bad] = (d.UAS_LOCAL_SET_KEY + _corrupt_length_field(rng, body_length)
                    + packets[bad][key_length + field_length:])
    starts = [0]
    for packet in packets[:-1]:
        starts.append(starts[-1] + len(packet))
    stream = b"".join(packets)
    pieces = _stream_pieces(rng, stream, starts)
    expected = [max(i for i, piece in enumerate(pieces) if piece <= start) for j, start in enumerate(starts)
                if j != bad]

    def run() -> None:
        splitter = _StreamKlv(0)
        for number, (start, stop) in enumerate(zip(pieces, pieces[1:] + [len(stream)])):
            splitter.feed(stream[start:stop], float(number))
        splitter.finish()
        times = [int(time_s) for time_s, _ in splitter.packets]
        _expect(times == expected, f"times {times} != {expected} (corrupt packet {bad}, PES starts {pieces})")
        _check_packets(splitter.packets, splitter.stats)

    return stream, run


def _ts_corrupt_length(rng: random.Random, corpus: Corpus, index: int):
    usable = [k for k, at in enumerate(corpus.ts_key_offsets) if at // 188 == (at + 19) // 188]
    bad = rng.choice(usable)
    at = corpus.ts_key_offsets[bad] + len(d.UAS_LOCAL_SET_KEY)
    data = bytearray(corpus.ts_bytes)
    data[at:at + 4] = (_corrupt_length_field(rng, TS_PACKET_LENGTH) + rng.randbytes(4))[:4]
    path = corpus.workdir / "corrupt.ts"
    path.write_bytes(bytes(data))
    expected = corpus.ts_times[:bad] + corpus.ts_times[bad + 1:]

    def run() -> None:
        streams = demux_klv(path)
        times = [time_s for time_s, _ in streams[0].packets]
        _expect(times == expected, f"TS packet {bad} corrupt: {len(times)} times, not the other 95 on their own")
        _check_packets(streams[0].packets, streams[0].stats)

    return bytes(data[at - 16:at + 4]), run


CLASSES = {
    "mutated_real": _mutated_real,
    "generated": _generated,
    "long_values": _long_values,
    "long_tags": _long_tags,
    "extreme_tags": _extreme_tags,
    "stream_corrupt_length": _stream_corrupt_length,
    "ts_corrupt_length": _ts_corrupt_length,
}
STREAM_CLASSES = ("stream_corrupt_length", "ts_corrupt_length")


# --- checks ----------------------------------------------------------------------------------------
class InvariantError(AssertionError):
    pass


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise InvariantError(message)


def _check_packets(packets: list, stats: KlvStats) -> None:
    """Everything a reader does with split packets: records, a series, `at`, UTC times, probe's report."""
    _expect(stats.valid == len(packets) <= stats.packets, f"counts {stats}")
    _expect(stats.valid + stats.bad_checksum + stats.malformed == stats.packets, f"counts {stats}")
    if not packets:
        return
    records = [record_from_values(values) for _, values in packets]
    times = [time_s if time_s is not None else number for number, (time_s, _) in enumerate(packets)]
    series = TelemetrySeries(records, times, stats, d.SOURCE_KLV, "fuzz.klv")
    for time_s in (-1.0, 0.0, 0.5, times[-1] + 1.0):
        stamp = series.at(time_s).time_utc
        _expect(stamp is None or 1989 <= stamp.year <= 2100, f"time {stamp}")
    describe_telemetry(series)


def _check_bytes(kind: str, data: bytes) -> None:
    for key in {d.UAS_LOCAL_SET_KEY, cut_key_of(data)}:
        stats = KlvStats()
        packets, consumed = split_st0601(data, stats, key=key)
        _expect(consumed == len(data), f"consumed {consumed} of {len(data)} bytes")
        _check_packets(packets, stats)
        if kind in ("long_values", "extreme_tags") and key == d.UAS_LOCAL_SET_KEY:
            _expect(stats.valid == 1 and packets[0][1][d.KLV_TAG_SENSOR_LATITUDE] is not None,
                    f"a well-formed packet was not read: {stats}")
        if kind == "long_tags" and key == d.UAS_LOCAL_SET_KEY:
            items_start = read_ber_length(data, len(d.UAS_LOCAL_SET_KEY))[1]
            tag_bytes = next(i for i, byte in enumerate(data[items_start:]) if not byte & 0x80) + 1
            _expect(stats.malformed == (tag_bytes > d.KLV_MAX_TAG_BYTES), f"{tag_bytes}-byte tag: {stats}")
    try:
        decode_local_set(data)
    except TelemetryError:
        pass


def _on_alarm(signum, frame):
    raise Hang(f"over {HANG_S} s")


def run_fuzz(cases: int, seed: int = 0, workdir: Path | None = None, progress=None) -> FuzzReport:
    """Run `cases` cases spread over the classes (real-TS cases TS_CASE_SHARE of them, when ../shared
    has the TS) and return counts, failures and the slowest case."""
    report = FuzzReport()
    with tempfile.TemporaryDirectory() as scratch:
        corpus = build_corpus(Path(workdir or scratch))
        kinds = [k for k in CLASSES if k != "ts_corrupt_length"] + ["extreme_tags"]
        ts_every = int(1 / TS_CASE_SHARE) if corpus.ts_bytes is not None else 0
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        started = time.perf_counter()
        try:
            for index in range(cases):
                kind = "ts_corrupt_length" if ts_every and index % ts_every == ts_every - 1 \
                    else kinds[index % len(kinds)]
                _run_case(kind, report.cases[kind], seed, corpus, report)
                if progress is not None and (index + 1) % 20_000 == 0:
                    progress(index + 1, time.perf_counter() - started)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        report.elapsed_s = time.perf_counter() - started
    return report


def _run_case(kind: str, index: int, seed: int, corpus: Corpus, report: FuzzReport) -> None:
    rng = random.Random(f"{seed}:{kind}:{index}")
    made = CLASSES[kind](rng, corpus, index)
    data, run = made if kind in STREAM_CLASSES else (made, lambda: _check_bytes(kind, made))
    report.cases[kind] += 1
    started = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, HANG_S)
    try:
        run()
    except Exception as error:  # every failure is reported, the run goes on
        report.failures.append((kind, index, f"{type(error).__name__}: {error}"[:300]))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    elapsed = time.perf_counter() - started
    if elapsed > report.slowest[0]:
        report.slowest = (elapsed, kind, index, len(data))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=FUZZ_CASES)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"KLV fuzz: {args.cases:,} cases, seed {args.seed}"
          + ("" if TS.is_file() else f" (no real-TS class: {TS} is absent)"), flush=True)
    report = run_fuzz(args.cases, args.seed,
                      progress=lambda n, s: print(f"  {n:,} cases, {s:.0f} s", flush=True))
    failed = Counter(kind for kind, _, _ in report.failures)
    for kind, count in report.cases.items():
        print(f"  {kind:22s} {count:8,} cases, {failed[kind]} failures")
    print(f"  extreme_tags covered {min(report.cases['extreme_tags'], len(_extreme_items())):,} of its "
          f"{len(_extreme_items()):,} (tag, length, pattern) items")
    seconds, kind, index, size = report.slowest
    print(f"slowest input: {kind} #{index} (seed {args.seed}, {size:,} bytes): {seconds * 1000:.1f} ms")
    print(f"throughput: {sum(report.cases.values()) / report.elapsed_s:,.0f} cases/s "
          f"({report.elapsed_s:.1f} s); peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    for kind, index, message in report.failures[:20]:
        print(f"FAILURE {kind} #{index}: {message}")
    print(f"{'PASS' if not report.failures else 'FAIL'}: {len(report.failures)} uncaught exceptions, broken "
          f"invariants or hangs (over {HANG_S:.0f} s) in {sum(report.cases.values()):,} cases")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
