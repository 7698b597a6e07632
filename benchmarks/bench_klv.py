"""KLV decoding speed: MISB ST 0601 packets framed, checksummed and decoded per second.

Uses the real Cheyenne packets (../shared/data/fmv/klv) repeated; target >= 50,000 packets/s.
"""
from __future__ import annotations

import time
from pathlib import Path

from qgis_siammask.core.ingest.klv import KlvStats, split_st0601
from qgis_siammask.core.ingest.misb0601 import record_from_values

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fmv" / "klv" / "klvdata_Cheyenne.bin"
TARGET_PACKETS_PER_S = 50_000
REPEATS = 50


def main() -> None:
    if not SAMPLE.is_file():
        print(f"skipped: {SAMPLE} is absent")
        return
    data = SAMPLE.read_bytes() * REPEATS
    best_wall = best_cpu = 0.0
    for _ in range(3):
        stats = KlvStats()
        started, started_cpu = time.perf_counter(), time.process_time()
        packets, _ = split_st0601(data, stats)
        best_wall = max(best_wall, stats.valid / (time.perf_counter() - started))
        best_cpu = max(best_cpu, stats.valid / max(time.process_time() - started_cpu, 1e-9))
    assert stats.valid == 407 * REPEATS, stats
    print(f"frame + checksum + decode: {stats.valid} packets ({len(data) / 1e6:.1f} MB), best of 3: "
          f"{best_wall:,.0f} packets/s wall clock, {best_cpu:,.0f} packets/s of CPU time "
          f"(the two differ when other processes share the cores)")
    started = time.perf_counter()
    for _, values in packets[:20_000]:
        record_from_values(values)
    print(f"values -> TelemetryRecord: {20_000 / (time.perf_counter() - started):,.0f} records/s")
    verdict = "PASS" if best_wall >= TARGET_PACKETS_PER_S else "FAIL"
    print(f"{verdict}: target {TARGET_PACKETS_PER_S:,} packets/s")
    stream_with_corrupt_length(SAMPLE.read_bytes()[:CHEYENNE_PACKET_BYTES])


CHEYENNE_PACKET_BYTES = 259
STREAM_PACKETS = (8192, 16384, 32768)


def stream_with_corrupt_length(packet: bytes) -> None:
    """Seconds to split a KLV stream fed in PES payloads whose 4th packet claims a 4 GB length: linear in
    the stream's length (twice the packets, twice the time), every other packet kept."""
    from qgis_siammask.core.ingest.klv_telemetry import _StreamKlv

    for count in STREAM_PACKETS:
        stream = bytearray(packet * count)
        stream[3 * len(packet) + 16:3 * len(packet) + 20] = b"\x84\xff\xff\xff"
        for shift, layout in ((0, "one packet per PES"), (len(packet) // 2, "PES cut mid-packet")):
            splitter = _StreamKlv(0)
            started = time.perf_counter()
            for index in range(count):
                splitter.feed(bytes(stream[index * len(packet) + shift:(index + 1) * len(packet) + shift]), index)
            splitter.finish()
            elapsed = time.perf_counter() - started
            print(f"stream with a corrupt length, {count} packets, {layout}: {elapsed:.2f} s, "
                  f"{len(splitter.packets)} packets kept")
