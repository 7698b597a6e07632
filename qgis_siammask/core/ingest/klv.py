"""KLV framing: split a byte stream into MISB ST 0601 packets by their BER lengths, verify checksums,
find KLV data streams in a container.

Packets are split by length, never by searching for the key inside a well-formed stream (a value may
contain the key's bytes). Only after something corrupt (bytes that are not a key where a packet should
start, a bad checksum, a length past the end) does the splitter search for the next UAS Local Set key,
counting what it skipped. Nothing here raises on bad bytes: it counts them in `KlvStats`.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .. import definitions as d
from ..errors import InputFileError, TelemetryError
from .misb0601 import checksum, decode_local_set

KEY_LENGTH = len(d.UAS_LOCAL_SET_KEY)
MIN_KEY_FRAGMENT = 8  # a raw file may start with a cut key; at least this many key bytes must remain
SNIFF_BYTES = 4096


@dataclass
class KlvStats:
    """What a KLV source held: counts of packets and of everything skipped."""

    packets: int = 0  # UAS Local Set packets framed (valid or not)
    valid: int = 0  # checksum right and every item inside the packet
    bad_checksum: int = 0  # checksum missing or wrong
    malformed: int = 0  # checksum right but an item's length runs past the packet
    truncated: int = 0  # a packet whose length runs past the end of the data
    skipped_bytes: int = 0  # bytes between packets that were not a packet start
    other_keys: int = 0  # well-formed KLV packets with another key (ST 0903 VMTI, ...)
    cut_key_bytes: int = 0  # leading key bytes missing from every packet of a raw file
    dropped_values: int = 0  # items of valid packets decoded as None (error pattern, bad length, out of range)
    tags_seen: Counter = field(default_factory=Counter)  # tag -> number of valid packets holding it


def read_ber_length(data: bytes, pos: int) -> tuple[int, int] | None:
    """(length, position after the length field) or None when the field runs past the data."""
    if pos >= len(data):
        return None
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0 or count > 8 or pos + 1 + count > len(data):
        return None
    return int.from_bytes(data[pos + 1:pos + 1 + count], "big"), pos + 1 + count


def _is_packet_valid(data: bytes, start: int, end: int, restored_key: bytes = b"") -> bool:
    """The checksum item (tag 1, length 2) is last and matches the sum from the key to its length."""
    return (
        end - start >= 5
        and data[end - 4] == d.KLV_TAG_CHECKSUM
        and data[end - 3] == 2
        and (checksum(restored_key + data[start:end - 2]) if restored_key else _checksum_at(data, start, end - 2))
        == (data[end - 2] << 8 | data[end - 1])
    )


def _checksum_at(data: bytes, start: int, stop: int) -> int:
    """`checksum(data[start:stop])` without copying the packet first (the decoder's hot path)."""
    return ((sum(data[start:stop:2]) << 8) + sum(data[start + 1:stop:2])) & 0xFFFF


def split_st0601(
    data: bytes, stats: KlvStats, final: bool = True, key: bytes = d.UAS_LOCAL_SET_KEY
) -> tuple[list[tuple[int, dict]], int]:
    """Decode every valid UAS Local Set packet in `data`.

    Returns ([(offset, tag values), ...], consumed): with `final=False` (a stream fed in pieces)
    an incomplete packet at the end is left unconsumed for the next piece instead of being counted
    as truncated. `key` is the key as it appears in `data`: the full UAS Local Set key, or for a raw
    file whose every key lost its first bytes (see `cut_key_of`), the bytes that remain; the
    checksum is then computed over the restored key.
    """
    packets = []
    restored = d.UAS_LOCAL_SET_KEY[:KEY_LENGTH - len(key)]
    key_length = len(key)
    size = len(data)
    pos = 0
    while pos < size:
        own_key = data.startswith(key, pos)
        other_key = not own_key and not restored and data.startswith(d.SMPTE_UL_PREFIX, pos)
        if not own_key and not other_key:
            if not final and size - pos < key_length and key.startswith(data[pos:]):
                return packets, pos
            pos = _resync(data, pos, stats, key, final=final)
            continue
        framed = read_ber_length(data, pos + key_length) if size - pos >= key_length else None
        end = framed[1] + framed[0] if framed else size + 1
        if end > size:
            if not final:
                return packets, pos
            stats.truncated += 1
            pos = _resync(data, pos + 1, stats, key, counted=False)
            continue
        if other_key:
            stats.other_keys += 1
            pos = end
            continue
        stats.packets += 1
        if not _is_packet_valid(data, pos, end, restored):
            stats.bad_checksum += 1
            pos = _resync(data, pos + 1, stats, key, counted=False, final=final)
            continue
        try:
            values = decode_local_set(data, framed[1], end)
        except TelemetryError:
            stats.malformed += 1
            pos = _resync(data, pos + 1, stats, key, counted=False, final=final)
            continue
        stats.valid += 1
        stats.tags_seen.update(values.keys())
        if None in values.values():
            stats.dropped_values += sum(value is None for value in values.values())
        packets.append((pos, values))
        pos = end
    return packets, pos


def _resync(data: bytes, pos: int, stats: KlvStats, key: bytes, counted: bool = True, final: bool = True) -> int:
    """Position of the next `key` at or after `pos` (or the end), counting skipped bytes.

    `counted=False` when re-synchronising inside a packet already counted as bad: its bytes are not
    garbage between packets. With `final=False` a tail that may be the start of a key cut by the end
    of this piece of the stream is not skipped.
    """
    found = data.find(key, pos)
    if found < 0:
        found = len(data)
        if not final:
            for kept in range(min(len(key) - 1, len(data) - pos), 0, -1):
                if key.startswith(data[len(data) - kept:]):
                    found -= kept
                    break
    if counted:
        stats.skipped_bytes += found - pos
    return found


def cut_key_of(data: bytes) -> bytes:
    """The key as written in a raw file: the full UAS Local Set key, or what remains of it when
    the file starts with a key whose first bytes were cut off (published samples where every
    packet lost its first 5 key bytes). Only the file's start is compared, with the key's own
    remaining bytes, and at least MIN_KEY_FRAGMENT of them must be there."""
    key = d.UAS_LOCAL_SET_KEY
    if not data.startswith(d.SMPTE_UL_PREFIX):
        for missing in range(1, KEY_LENGTH - MIN_KEY_FRAGMENT + 1):
            if data.startswith(key[missing:]):
                return key[missing:]
    return key


def read_klv_file(path: str | Path) -> tuple[list[tuple[int, dict]], KlvStats]:
    """Every valid packet of a raw KLV file (.bin/.klv) as (byte offset, tag values), plus its stats.

    Raises TelemetryError when the file holds no valid UAS Local Set packet.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputFileError("cannot read the KLV file", details=str(error), path=path) from error
    key = cut_key_of(data)
    stats = KlvStats(cut_key_bytes=KEY_LENGTH - len(key))
    packets, _ = split_st0601(data, stats, key=key)
    if stats.packets == 0:
        raise TelemetryError("no MISB ST 0601 (UAS Local Set) packet found", path=path)
    if stats.valid == 0:
        raise TelemetryError(
            f"none of its {stats.packets} MISB ST 0601 packets is valid "
            f"({stats.bad_checksum} with a bad checksum, {stats.malformed} malformed)", path=path)
    return packets, stats


def is_klv_stream(stream, first_payload: bytes | None = None) -> bool:
    """A PyAV data stream carrying KLV: FFmpeg's `klv` codec (stream type 0x15, or 0x06 with a KLVA
    registration descriptor), or any data stream whose first payload starts with a SMPTE key."""
    if stream.type != "data":
        return False
    if getattr(stream, "name", None) == d.KLV_CODEC_NAME:
        return True
    return bool(first_payload) and first_payload[:SNIFF_BYTES].find(d.UAS_LOCAL_SET_KEY) >= 0
