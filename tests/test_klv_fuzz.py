"""Property test: mutated and generated KLV never crashes, hangs, or raises anything but our errors."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qgis_siammask.core import definitions as d
from qgis_siammask.core.errors import SiamMaskError
from qgis_siammask.core.ingest.klv import KlvStats, cut_key_of, split_st0601
from qgis_siammask.core.ingest.misb0601 import decode_local_set, record_from_values
from qgis_siammask.core.ingest.telemetry import TelemetrySeries

EXAMPLES = 10_000


@pytest.fixture(scope="module")
def seed_packets(shared_dir) -> bytes:
    """Three real packets of each kind: Cheyenne (offset corners), realflight (full corners, IMAPB)."""
    cheyenne = (shared_dir / "data/fmv/klv/klvdata_Cheyenne.bin").read_bytes()
    realflight = (shared_dir / "data/fmv/klv/qgisfmv_realflight.bin").read_bytes()
    return cheyenne[:259 * 3] + realflight[:540]


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(1, 255)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=24)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 40)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6), st.just(0)),
    st.tuples(st.just("key"), st.integers(0, 10**6), st.just(0)),  # a stray key in the middle
    st.tuples(st.just("cut"), st.integers(1, 8), st.just(0)),  # the first key bytes cut off
)


def _mutate(data: bytes, mutations) -> bytes:
    buffer = bytearray(data)
    for kind, where, what in mutations:
        at = where % (len(buffer) + 1)
        if kind == "flip" and at < len(buffer):
            buffer[at] ^= what
        elif kind == "insert":
            buffer[at:at] = what
        elif kind == "delete":
            del buffer[at:at + what]
        elif kind == "truncate":
            del buffer[at:]
        elif kind == "cut":
            del buffer[:where]
        elif kind == "key":
            buffer[at:at] = d.UAS_LOCAL_SET_KEY + bytes([0x81])
    return bytes(buffer)


def _check(data: bytes) -> None:
    stats = KlvStats()
    packets, consumed = split_st0601(data, stats, key=cut_key_of(data))  # also the cut-key path
    assert consumed == len(data)
    assert stats.valid == len(packets) <= stats.packets
    assert stats.valid + stats.bad_checksum + stats.malformed == stats.packets
    for _, values in packets:
        record_from_values(values)
    try:
        decode_local_set(data)
    except SiamMaskError:
        pass
    if packets:
        series = TelemetrySeries([record_from_values(v) for _, v in packets], range(len(packets)), stats,
                                 d.SOURCE_KLV, "fuzz.bin")
        series.at(0.5)


@settings(max_examples=EXAMPLES // 2, deadline=500, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mutations=st.lists(mutation, min_size=1, max_size=6))
def test_mutated_real_packets(seed_packets, mutations):
    _check(_mutate(seed_packets, mutations))


@settings(max_examples=EXAMPLES // 2, deadline=500, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(st.tuples(st.integers(0, 300), st.binary(max_size=12)), max_size=12),
       length_bias=st.integers(-3, 3), tail=st.binary(max_size=8))
def test_generated_packets(items, length_bias, tail):
    """Random tags (multi-byte BER-OID ones too) with random values, lengths sometimes lying."""
    from qgis_siammask.core.ingest.misb0601 import ber_length, checksum

    body = b""
    for tag, value in items:
        tag_bytes = bytes([tag]) if tag < 128 else bytes([0x80 | (tag >> 7), tag & 0x7F])
        body += tag_bytes + ber_length(len(value)) + value
    body += b"\x01\x02"
    head = d.UAS_LOCAL_SET_KEY + ber_length(max(0, len(body) + 2 + length_bias))
    packet = head + body + checksum(head + body).to_bytes(2, "big")
    _check(packet + tail + packet)
