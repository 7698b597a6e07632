"""Bad telemetry is counted or dropped, never raised: long values and tags, implausible time stamps, and a
corrupt outer length inside an MPEG-TS KLV stream (every later packet keeps its own time)."""
from __future__ import annotations

import numpy as np
import pytest

from qgis_siammask.core import definitions as d
from qgis_siammask.core.cli import main
from qgis_siammask.core.ingest.klv import KlvStats, split_st0601
from qgis_siammask.core.ingest.klv_telemetry import demux_klv
from qgis_siammask.core.ingest.misb0601 import ber_length, local_set_packet, record_from_values
from qgis_siammask.core.ingest.telemetry import open_telemetry

TS = "data/fmv/ts/cheyenne_klv_synthetic_video.ts"
CHEYENNE = "data/fmv/klv/klvdata_Cheyenne.bin"
LATITUDE_ITEM = bytes([d.KLV_TAG_SENSOR_LATITUDE, 4]) + (0x20000000).to_bytes(4, "big")


def _item(tag_bytes: bytes, value: bytes) -> bytes:
    return tag_bytes + ber_length(len(value)) + value


def _split_one(packet: bytes) -> tuple[dict | None, KlvStats]:
    stats = KlvStats()
    packets, consumed = split_st0601(packet, stats)
    assert consumed == len(packet)
    return (packets[0][1] if packets else None), stats


BAD_PACKETS = {  # name -> (the tag whose value is bad, a packet with a valid checksum)
    "imapb_129_bytes": (96, local_set_packet(_item(b"\x60", b"\x01" * 129) + LATITUDE_ITEM)),
    "imapb_64_kib": (104, local_set_packet(_item(b"\x68", b"\x00" * 65536) + LATITUDE_ITEM)),
    "time_stamp_all_ff": (2, local_set_packet(_item(b"\x02", b"\xff" * 8) + LATITUDE_ITEM)),
    "time_stamp_zero": (2, local_set_packet(_item(b"\x02", b"\x00" * 8) + LATITUDE_ITEM)),
    "integer_3000_bytes": (8, local_set_packet(_item(b"\x08", b"\x11" * 3000) + LATITUDE_ITEM)),
}


@pytest.mark.parametrize("name", sorted(BAD_PACKETS))
def test_bad_values_become_none_and_the_packet_is_kept(name):
    bad_tag, packet = BAD_PACKETS[name]
    values, stats = _split_one(packet)
    assert stats.valid == 1 and stats.dropped_values == 1
    assert values[bad_tag] is None
    record = record_from_values(values)
    assert record.sensor_latitude_deg == pytest.approx(0x20000000 * 180 / (2**32 - 2))
    assert record.time_utc is None and record.target_width_m is None and not record.extra


@pytest.mark.parametrize("tag_bytes", [2000, 4096])
def test_very_long_tags_make_the_packet_malformed(tag_bytes):
    tag = b"\x81" * (tag_bytes - 1) + b"\x05"
    values, stats = _split_one(local_set_packet(_item(tag, b"\x01") + LATITUDE_ITEM))
    assert values is None and stats.malformed == 1 and stats.packets == 1


def test_four_byte_tags_are_still_read():
    values, stats = _split_one(local_set_packet(_item(b"\x80\x80\x80\x05", b"\x00\x10") + LATITUDE_ITEM))
    assert stats.valid == 1 and values[d.KLV_TAG_PLATFORM_HEADING] == pytest.approx(16 * 360 / 65535)


def test_an_implausible_time_stamp_first_does_not_shift_a_raw_files_timeline(shared_dir, tmp_path):
    cheyenne = shared_dir / CHEYENNE
    path = tmp_path / "bad_first.klv"
    path.write_bytes(BAD_PACKETS["time_stamp_all_ff"][1] + cheyenne.read_bytes())
    series, reference = open_telemetry(path), open_telemetry(cheyenne)
    assert len(series) == len(reference) + 1
    np.testing.assert_allclose(series.times_s[1:], reference.times_s)
    assert series.records[0].time_utc is None and series.at(10.0).time_utc == reference.at(10.0).time_utc


@pytest.fixture(scope="module")
def corrupt_ts(shared_dir, tmp_path_factory):
    """The shared TS with the outer BER length of its 11th KLV packet replaced by 4 bytes claiming 4 GB."""
    data = bytearray((shared_dir / TS).read_bytes())
    key_at = -1
    for _ in range(11):
        key_at = data.index(d.UAS_LOCAL_SET_KEY, key_at + 1)
    data[key_at + 16:key_at + 20] = b"\x84\xff\xff\xff"
    path = tmp_path_factory.mktemp("ts") / "corrupt_length.ts"
    path.write_bytes(bytes(data))
    return path


def test_corrupt_outer_length_in_a_ts_keeps_every_later_packet_on_its_own_time(shared_dir, corrupt_ts):
    good, = demux_klv(shared_dir / TS)
    broken, = demux_klv(corrupt_ts)
    good_times = [time_s for time_s, _ in good.packets]
    broken_times = [time_s for time_s, _ in broken.packets]
    assert broken_times == good_times[:10] + good_times[11:]
    assert broken.stats.valid == 95 and broken.stats.truncated == 1
    assert [v for _, v in broken.packets] == [v for _, v in good.packets[:10] + good.packets[11:]]
    series, reference = open_telemetry(corrupt_ts), open_telemetry(shared_dir / TS)
    assert series.at(5.0) == reference.at(5.0)


def test_probe_reads_every_bad_class_and_counts_what_it_dropped(shared_dir, tmp_path, corrupt_ts, capsys):
    cheyenne = (shared_dir / CHEYENNE).read_bytes()
    long_tag = local_set_packet(_item(b"\x81" * 2047 + b"\x05", b"\x01"))
    path = tmp_path / "every_bad_class.klv"
    path.write_bytes(cheyenne[:259 * 3] + b"".join(packet for _, packet in BAD_PACKETS.values()) + long_tag + cheyenne[259 * 3:])
    assert main(["probe", str(path)]) == 0
    out = capsys.readouterr().out
    assert "packets: 413, valid: 412, bad checksum: 0, malformed: 1" in out
    assert f"dropped values: {len(BAD_PACKETS)}" in out
    assert main(["probe", str(corrupt_ts)]) == 0
    out = capsys.readouterr().out
    assert "records: 95 over 0." in out and "truncated: 1" in out and "packets: 95, valid: 95" in out
