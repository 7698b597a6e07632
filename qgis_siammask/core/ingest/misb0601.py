"""MISB ST 0601 UAS Datalink Local Set: decode a packet's value into tag values, encode a record.

Values are the standard's scaled integers: an unsigned n-bit integer x over [low, high] maps to
low + x * (high - low) / (2**n - 1); a signed one over [-m, +m] to x * 2m / (2**n - 2), its most
negative pattern (0x80..00) meaning "error / out of range", decoded here as None. ST 1201 IMAPB
values (tags 96, 103-105, 112-114) use the float-to-integer mapping of that standard. Strings are
decoded text, nested sets (48 security, 74 VMTI, ...) and unknown tags stay raw bytes.

The decoder is table-driven for speed (`make bench` asks for >= 50,000 packets/s): each layout of
tags and lengths becomes one `struct` unpack and one dict display (see `decode_local_set`).
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from .. import definitions as d
from ..errors import TelemetryError
from ..records import TelemetryRecord, plausible_timestamp_us

# Value kinds in the tag table.
SCALED = 0  # fixed-size integer mapped linearly to a float; signed ones have an error pattern
INTEGER = 1  # plain unsigned integer of any length 1-8 (time stamps, speeds, version)
SIGNED_INTEGER = 2  # plain signed integer (outside air temperature)
TEXT = 3
IMAPB = 4  # ST 1201 float-to-integer mapping over [low, high], any length
RAW = 5  # nested local sets and binary blobs, kept as bytes

_ALTITUDE = (-900.0, 19000.0)
_EXTENDED_HEIGHT = (-900.0, 40000.0)


@dataclass(frozen=True)
class TagSpec:
    """How one tag's value is coded: `size` bytes for SCALED, range [low, high] for SCALED/IMAPB."""

    tag: int
    kind: int
    size: int = 0
    signed: bool = False
    low: float = 0.0
    high: float = 0.0


def _u(tag: int, size: int, low: float, high: float) -> TagSpec:
    return TagSpec(tag, SCALED, size, False, low, high)


def _s(tag: int, size: int, half_range: float) -> TagSpec:
    return TagSpec(tag, SCALED, size, True, -half_range, half_range)


_SPECS = [
    TagSpec(1, INTEGER), TagSpec(2, INTEGER), TagSpec(3, TEXT), TagSpec(4, TEXT),
    _u(5, 2, 0, 360), _s(6, 2, 20), _s(7, 2, 50), TagSpec(8, INTEGER), TagSpec(9, INTEGER),
    TagSpec(10, TEXT), TagSpec(11, TEXT), TagSpec(12, TEXT), _s(13, 4, 90), _s(14, 4, 180),
    _u(15, 2, *_ALTITUDE), _u(16, 2, 0, 180), _u(17, 2, 0, 180), _u(18, 4, 0, 360), _s(19, 4, 180),
    _u(20, 4, 0, 360), _u(21, 4, 0, 5_000_000), _u(22, 2, 0, 10_000), _s(23, 4, 90), _s(24, 4, 180),
    _u(25, 2, *_ALTITUDE),
    *(_s(tag, 2, 0.075) for tag in d.KLV_TAGS_OFFSET_CORNERS),
    TagSpec(34, INTEGER), _u(35, 2, 0, 360), _u(36, 1, 0, 100), _u(37, 2, 0, 5000),
    _u(38, 2, *_ALTITUDE), TagSpec(39, SIGNED_INTEGER), _s(40, 4, 90), _s(41, 4, 180),
    _u(42, 2, *_ALTITUDE), TagSpec(43, INTEGER), TagSpec(44, INTEGER), _u(45, 2, 0, 4095),
    _u(46, 2, 0, 4095), TagSpec(47, INTEGER), TagSpec(48, RAW), _u(49, 2, 0, 5000), _s(50, 2, 20),
    _s(51, 2, 180), _s(52, 2, 20), _u(53, 2, 0, 5000), _u(54, 2, *_ALTITUDE), _u(55, 1, 0, 100),
    TagSpec(56, INTEGER), _u(57, 4, 0, 5_000_000), _u(58, 2, 0, 10_000), TagSpec(59, TEXT),
    TagSpec(60, INTEGER), TagSpec(61, INTEGER), TagSpec(62, INTEGER), TagSpec(63, INTEGER),
    _u(64, 2, 0, 360), TagSpec(65, INTEGER), _s(67, 4, 90), _s(68, 4, 180), _u(69, 2, *_ALTITUDE),
    TagSpec(70, TEXT), _u(71, 2, 0, 360), TagSpec(72, INTEGER), TagSpec(73, RAW), TagSpec(74, RAW),
    _u(75, 2, *_ALTITUDE), _u(76, 2, *_ALTITUDE), TagSpec(77, INTEGER), _u(78, 2, *_ALTITUDE),
    _s(79, 2, 327), _s(80, 2, 327), TagSpec(81, RAW),
    *(_s(tag, 4, 90 if i % 2 == 0 else 180) for i, tag in enumerate(d.KLV_TAGS_FULL_CORNERS)),
    _s(90, 4, 90), _s(91, 4, 90), _s(92, 4, 90), _s(93, 4, 180), TagSpec(94, RAW), TagSpec(95, RAW),
    TagSpec(96, IMAPB, low=0, high=1_500_000), TagSpec(112, IMAPB, low=0, high=360),
    *(TagSpec(tag, IMAPB, low=_EXTENDED_HEIGHT[0], high=_EXTENDED_HEIGHT[1]) for tag in (103, 104, 105, 113, 114)),
]
TAG_SPECS: dict[int, TagSpec] = {spec.tag: spec for spec in _SPECS}

_STRUCT_FORMATS = {(1, False): "B", (2, False): ">H", (4, False): ">I", (1, True): "b", (2, True): ">h",
                   (4, True): ">i"}


# --- ST 1201 IMAPB -------------------------------------------------------------------------------
def _imapb_parameters(low: float, high: float, length: int) -> tuple[float, float, float]:
    """(forward scale sF, reverse scale sR, zero offset) for a value range coded in `length` bytes."""
    b_pow = math.ceil(math.log2(high - low))
    d_pow = 8 * length - 1
    forward = 2.0 ** (d_pow - b_pow)
    z_offset = forward * low - math.floor(forward * low) if low < 0 else 0.0
    return forward, 2.0 ** (b_pow - d_pow), z_offset


def imapb_decode(data: bytes, low: float, high: float) -> float | None:
    """ST 1201 reverse mapping; special values (top bit set), values past `high` and values longer than
    KLV_MAX_IMAPB_BYTES (beyond a float's precision; their scale would overflow) are None."""
    if not data or data[0] & 0x80 or len(data) > d.KLV_MAX_IMAPB_BYTES:
        return None
    _, reverse, z_offset = _imapb_parameters(low, high, len(data))
    value = reverse * (int.from_bytes(data, "big") - z_offset) + low
    return value if value <= high else None


def imapb_encode(value: float, low: float, high: float, length: int) -> bytes:
    """ST 1201 forward mapping of `value` (clipped to [low, high]) into `length` bytes."""
    forward, _, z_offset = _imapb_parameters(low, high, length)
    clipped = min(max(value, low), high)
    integer = min(int(math.floor(forward * (clipped - low) + z_offset)), 2 ** (8 * length - 1) - 1)
    return integer.to_bytes(length, "big")


# --- decoding -------------------------------------------------------------------------------------
def decode_local_set(value: bytes | memoryview, start: int = 0, end: int | None = None) -> dict:
    """Tag -> decoded value for the local set items in value[start:end].

    Unknown tags map to their raw bytes; a scaled value of the wrong length or the error pattern, an
    integer longer than 8 bytes, a time stamp outside 1990-2100 (definitions.PLAUSIBLE_TIMESTAMP_*)
    map to None. Raises TelemetryError (no path: the caller adds it) when an item runs past the end or
    a tag is longer than KLV_MAX_TAG_BYTES.

    Speed: a stream repeats the same layout (tags and lengths) packet after packet, so each layout is
    compiled once into a decoder (one `struct` unpack and one dict display, generated like
    `collections.namedtuple` does, from integers of the tag table only) and reused after a C-level
    check that every tag and length byte is where the layout says.
    """
    items = value[start:end] if type(value) is bytes else bytes(value[start:end])
    if not items:
        return {}
    plans = _PLANS.get(len(items))
    if plans:
        for plan in plans:
            if plan.header_bytes(items) == plan.header_values:
                return plan.decode(items)
    plan = _compile_layout(items)
    if plan.item_count > MAX_CACHED_LAYOUT_ITEMS:
        return plan.decode(items)  # no real packet has that many items: caching it would only hold memory
    if sum(len(p) for p in _PLANS.values()) >= MAX_CACHED_LAYOUTS:
        _PLANS.clear()
    _PLANS.setdefault(len(items), []).append(plan)
    return plan.decode(items)


MAX_CACHED_LAYOUTS = 256
MAX_CACHED_LAYOUT_ITEMS = 256


@dataclass(frozen=True)
class _LayoutPlan:
    header_bytes: object  # operator.itemgetter over the positions of every tag and length byte
    header_values: tuple
    decode: object  # items bytes -> {tag: value}
    item_count: int


_PLANS: dict[int, list[_LayoutPlan]] = {}
_PLAIN_INTEGER_FORMATS = {1: "B", 2: "H", 4: "I", 8: "Q"}


def _item_layout(items: bytes) -> list[tuple[int, int, int, int]]:
    """(tag, header start, value start, value length) of every item; TelemetryError past the end."""
    layout = []
    pos, end = 0, len(items)
    while pos < end:
        if pos + 1 >= end:
            raise TelemetryError(f"tag {items[pos]} has no length")
        tag, length = items[pos], items[pos + 1]
        header = pos
        if tag < 0x80 and length < 0x80:
            pos += 2
        else:
            tag, length, pos = _long_item_header(items, pos, end)
        if pos + length > end:
            raise TelemetryError(f"tag {tag} value ({length} bytes) runs past the end of the packet")
        layout.append((tag, header, pos, length))
        pos += length
    return layout


def _field(tag: int, length: int, index: int) -> tuple[str, str]:
    """(struct format of the value, Python expression decoding it from r[index])."""
    spec = TAG_SPECS.get(tag)
    kind = spec.kind if spec else RAW
    raw = f"r[{index}]"
    if kind == SCALED:
        if length != spec.size:
            return f"{length}x", "None"
        bits = 8 * spec.size
        code = _STRUCT_FORMATS[(spec.size, spec.signed)][-1]
        if spec.signed:
            scale = (spec.high - spec.low) / (2**bits - 2)
            return code, f"(None if {raw} == {-(2 ** (bits - 1))} else {raw} * {scale!r})"
        scale = (spec.high - spec.low) / (2**bits - 1)
        return code, f"{raw} * {scale!r} + {float(spec.low)!r}"
    if kind in (INTEGER, SIGNED_INTEGER):
        if not 0 < length <= d.KLV_MAX_INTEGER_BYTES:
            return f"{length}x", "None"
        if length in _PLAIN_INTEGER_FORMATS:
            code = _PLAIN_INTEGER_FORMATS[length]
            code, expression = (code.lower() if kind == SIGNED_INTEGER else code), raw
        else:
            code, expression = f"{length}s", f"_int({raw}, 'big', signed={kind == SIGNED_INTEGER})"
        if tag == d.KLV_TAG_TIME_STAMP:
            expression = f"_stamp({expression})"
        return code, expression
    if kind == TEXT:
        return f"{length}s", f"{raw}.decode('utf-8', 'replace')"
    if kind == IMAPB:
        if length > d.KLV_MAX_IMAPB_BYTES:
            return f"{length}x", "None"
        return f"{length}s", f"_imapb({raw}, {spec.low!r}, {spec.high!r})"
    return f"{length}s", raw


def _compile_layout(items: bytes) -> _LayoutPlan:
    import operator

    layout = _item_layout(items)
    formats, entries, positions = [">"], [], []
    index = 0
    for tag, header, value_start, length in layout:
        positions.extend(range(header, value_start))
        formats.append(f"{value_start - header}x")
        code, expression = _field(tag, length, index)
        formats.append(code)
        if not code.endswith("x"):
            index += 1
        entries.append(f"{tag}: {expression}")
    namespace = {"_unpack": struct.Struct("".join(formats)).unpack, "_int": int.from_bytes,
                 "_imapb": imapb_decode, "_stamp": plausible_timestamp_us}
    source = "def decode(items):\n    r = _unpack(items)\n    return {" + ", ".join(entries) + "}\n"
    exec(compile(source, "<st0601 layout>", "exec"), namespace)  # noqa: S102 - integers only, see docstring
    getter = operator.itemgetter(*positions)
    return _LayoutPlan(getter, getter(items), namespace["decode"], len(layout))


def _long_item_header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, length, value position) for an item with a multi-byte tag (BER-OID) or long-form length."""
    tag = data[pos]
    pos += 1
    if tag & 0x80:
        tag &= 0x7F
        first = pos
        while True:
            if pos >= end:
                raise TelemetryError("local set tag runs past the end of the packet")
            if pos - first >= d.KLV_MAX_TAG_BYTES - 1:
                raise TelemetryError(f"local set tag longer than {d.KLV_MAX_TAG_BYTES} bytes")
            byte = data[pos]
            pos += 1
            tag = (tag << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
    if pos >= end:
        raise TelemetryError(f"tag {tag} has no length")
    length = data[pos]
    pos += 1
    if length & 0x80:
        count = length & 0x7F
        if pos + count > end:
            raise TelemetryError(f"tag {tag} length runs past the end of the packet")
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    return tag, length, pos


def named_values(values: dict) -> dict:
    """Tag numbers replaced by the standard's names (for display and `TelemetryRecord.extra`)."""
    return {d.ST0601_TAG_NAMES.get(tag, f"tag_{tag}"): value for tag, value in values.items()}


def _first_valid(values: dict, *tags: int):
    for tag in tags:
        value = values.get(tag)
        if value is not None:
            return value
    return None


def _corners(values: dict) -> tuple[tuple[float, float], ...] | None:
    """Full corners (82-89) when all are valid, else frame centre + offset corners (26-33)."""
    full = [values.get(tag) for tag in d.KLV_TAGS_FULL_CORNERS]
    if all(v is not None for v in full):
        return tuple((full[i], full[i + 1]) for i in range(0, 8, 2))
    offsets = [values.get(tag) for tag in d.KLV_TAGS_OFFSET_CORNERS]
    centre_lat = values.get(d.KLV_TAG_FRAME_CENTER_LATITUDE)
    centre_lon = values.get(d.KLV_TAG_FRAME_CENTER_LONGITUDE)
    if centre_lat is None or centre_lon is None or any(v is None for v in offsets):
        return None
    return tuple((centre_lat + offsets[i], centre_lon + offsets[i + 1]) for i in range(0, 8, 2))


def record_from_values(values: dict) -> TelemetryRecord:
    """One packet's values as a TelemetryRecord; fields it does not report stay None.

    Other tags go to `extra` by name, valid values only, so that report-on-change merging
    (`TelemetryRecord.merged_over`) keeps the last valid value of every tag there too.

    Altitudes: MSL (tags 15, 25) when the sensor's MSL altitude is present, otherwise HAE (104/75,
    78), so that sensor and frame-centre heights share one reference; the other reference goes to
    `extra` under the standard's names.
    """
    msl = values.get(d.KLV_TAG_SENSOR_TRUE_ALTITUDE)
    hae = _first_valid(values, d.KLV_TAG_SENSOR_ELLIPSOID_HEIGHT_EXTENDED, d.KLV_TAG_SENSOR_ELLIPSOID_HEIGHT)
    if msl is not None:
        altitude, reference, centre_height = msl, d.ALTITUDE_MSL, values.get(d.KLV_TAG_FRAME_CENTER_ELEVATION)
    elif hae is not None:
        altitude, reference, centre_height = hae, d.ALTITUDE_HAE, values.get(d.KLV_TAG_FRAME_CENTER_HAE)
    else:
        altitude = reference = centre_height = None
    return TelemetryRecord(
        source=d.SOURCE_KLV,
        timestamp_us=values.get(d.KLV_TAG_TIME_STAMP),
        sensor_latitude_deg=values.get(d.KLV_TAG_SENSOR_LATITUDE),
        sensor_longitude_deg=values.get(d.KLV_TAG_SENSOR_LONGITUDE),
        sensor_altitude_m=altitude,
        altitude_reference=reference,
        platform_heading_deg=values.get(d.KLV_TAG_PLATFORM_HEADING),
        platform_pitch_deg=_first_valid(values, d.KLV_TAG_PLATFORM_PITCH_FULL, d.KLV_TAG_PLATFORM_PITCH),
        platform_roll_deg=_first_valid(values, d.KLV_TAG_PLATFORM_ROLL_FULL, d.KLV_TAG_PLATFORM_ROLL),
        sensor_relative_azimuth_deg=values.get(d.KLV_TAG_SENSOR_RELATIVE_AZIMUTH),
        sensor_relative_elevation_deg=values.get(d.KLV_TAG_SENSOR_RELATIVE_ELEVATION),
        sensor_relative_roll_deg=values.get(d.KLV_TAG_SENSOR_RELATIVE_ROLL),
        horizontal_fov_deg=values.get(d.KLV_TAG_HORIZONTAL_FOV),
        vertical_fov_deg=values.get(d.KLV_TAG_VERTICAL_FOV),
        slant_range_m=values.get(d.KLV_TAG_SLANT_RANGE),
        target_width_m=_first_valid(values, d.KLV_TAG_TARGET_WIDTH_EXTENDED, d.KLV_TAG_TARGET_WIDTH),
        frame_center_latitude_deg=values.get(d.KLV_TAG_FRAME_CENTER_LATITUDE),
        frame_center_longitude_deg=values.get(d.KLV_TAG_FRAME_CENTER_LONGITUDE),
        frame_center_elevation_m=centre_height,
        corners_latlon_deg=_corners(values),
        extra=named_values({t: v for t, v in values.items() if t not in _RECORD_TAGS and v is not None}),
    )


_RECORD_TAGS = frozenset({
    d.KLV_TAG_CHECKSUM, d.KLV_TAG_TIME_STAMP, d.KLV_TAG_SENSOR_LATITUDE, d.KLV_TAG_SENSOR_LONGITUDE,
    d.KLV_TAG_PLATFORM_HEADING, d.KLV_TAG_SENSOR_RELATIVE_AZIMUTH, d.KLV_TAG_SENSOR_RELATIVE_ELEVATION,
    d.KLV_TAG_SENSOR_RELATIVE_ROLL, d.KLV_TAG_HORIZONTAL_FOV, d.KLV_TAG_VERTICAL_FOV, d.KLV_TAG_SLANT_RANGE,
    d.KLV_TAG_FRAME_CENTER_LATITUDE, d.KLV_TAG_FRAME_CENTER_LONGITUDE,
})


# --- encoding -------------------------------------------------------------------------------------
def _scaled_bytes(spec: TagSpec, value: float | None) -> bytes | None:
    """The scaled integer for `value`, the error pattern for a signed tag out of range, None to skip."""
    if value is None or not math.isfinite(value):
        return None
    bits = 8 * spec.size
    fmt = _STRUCT_FORMATS[(spec.size, spec.signed)]
    if spec.signed:
        if not spec.low <= value <= spec.high:
            return struct.pack(fmt, -(2 ** (bits - 1)))
        return struct.pack(fmt, int(round(value * (2**bits - 2) / (spec.high - spec.low))))
    if not spec.low <= value <= spec.high:
        return None
    return struct.pack(fmt, int(round((value - spec.low) * (2**bits - 1) / (spec.high - spec.low))))


def _item(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + ber_length(len(value)) + value


def ber_length(length: int) -> bytes:
    """BER length field: short form below 128, long form (0x80 | byte count, then big-endian) above."""
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def checksum(packet_through_checksum_length: bytes) -> int:
    """ST 0601 checksum: 16-bit sum of big-endian words from the key through the checksum's length."""
    data = packet_through_checksum_length
    return ((sum(data[0::2]) << 8) + sum(data[1::2])) & 0xFFFF


def encode_st0601(record: TelemetryRecord) -> bytes:
    """A complete UAS Datalink Local Set packet (key, BER length, items, checksum) for `record`.

    Writes tag 2 (time stamp; required, so a missing one raises TelemetryError), 65 (version),
    the most precise tag for each field (full pitch/roll 90/91 beside short 6/7 when in their range,
    full corners 82-89, HAE through 75 + 104 extended), and tag 1 last. None fields are left out.
    """
    if record.timestamp_us is None:
        raise TelemetryError("a MISB ST 0601 packet needs a time stamp (tag 2)")
    items = [
        _item(d.KLV_TAG_TIME_STAMP, struct.pack(">Q", record.timestamp_us)),
        _item(d.KLV_TAG_VERSION, bytes([d.ST0601_VERSION_WRITTEN])),
    ]
    hae = record.altitude_reference == d.ALTITUDE_HAE
    fields = [
        (d.KLV_TAG_PLATFORM_HEADING, _wrap_360(record.platform_heading_deg)),
        (d.KLV_TAG_PLATFORM_PITCH, record.platform_pitch_deg),
        (d.KLV_TAG_PLATFORM_ROLL, record.platform_roll_deg),
        (d.KLV_TAG_SENSOR_LATITUDE, record.sensor_latitude_deg),
        (d.KLV_TAG_SENSOR_LONGITUDE, record.sensor_longitude_deg),
        (d.KLV_TAG_SENSOR_ELLIPSOID_HEIGHT if hae else d.KLV_TAG_SENSOR_TRUE_ALTITUDE, record.sensor_altitude_m),
        (d.KLV_TAG_HORIZONTAL_FOV, record.horizontal_fov_deg),
        (d.KLV_TAG_VERTICAL_FOV, record.vertical_fov_deg),
        (d.KLV_TAG_SENSOR_RELATIVE_AZIMUTH, _wrap_360(record.sensor_relative_azimuth_deg)),
        (d.KLV_TAG_SENSOR_RELATIVE_ELEVATION, record.sensor_relative_elevation_deg),
        (d.KLV_TAG_SENSOR_RELATIVE_ROLL, _wrap_360(record.sensor_relative_roll_deg)),
        (d.KLV_TAG_SLANT_RANGE, record.slant_range_m),
        (d.KLV_TAG_TARGET_WIDTH, record.target_width_m),
        (d.KLV_TAG_FRAME_CENTER_LATITUDE, record.frame_center_latitude_deg),
        (d.KLV_TAG_FRAME_CENTER_LONGITUDE, record.frame_center_longitude_deg),
        (d.KLV_TAG_FRAME_CENTER_HAE if hae else d.KLV_TAG_FRAME_CENTER_ELEVATION, record.frame_center_elevation_m),
        (d.KLV_TAG_PLATFORM_PITCH_FULL, record.platform_pitch_deg),
        (d.KLV_TAG_PLATFORM_ROLL_FULL, record.platform_roll_deg),
    ]
    if record.corners_latlon_deg is not None:
        flat = [value for corner in record.corners_latlon_deg for value in corner]
        fields.extend(zip(d.KLV_TAGS_FULL_CORNERS, flat))
    short_attitude = (d.KLV_TAG_PLATFORM_PITCH, d.KLV_TAG_PLATFORM_ROLL)
    for tag, value in sorted(fields, key=lambda item: item[0]):
        spec = TAG_SPECS[tag]
        if tag in short_attitude and value is not None and not spec.low <= value <= spec.high:
            continue  # the full-range tag (90/91) carries it
        coded = _scaled_bytes(spec, value)
        if coded is not None:
            items.append(_item(tag, coded))
    if hae and record.sensor_altitude_m is not None:
        spec = TAG_SPECS[d.KLV_TAG_SENSOR_ELLIPSOID_HEIGHT_EXTENDED]
        items.append(_item(spec.tag, imapb_encode(record.sensor_altitude_m, spec.low, spec.high, 4)))
    return local_set_packet(b"".join(items))


def local_set_packet(items: bytes) -> bytes:
    """Key, BER length, the coded `items` (tag, length, value ...), then the checksum item (tag 1)."""
    body = items + bytes([d.KLV_TAG_CHECKSUM, 2])
    head = d.UAS_LOCAL_SET_KEY + ber_length(len(body) + 2)
    return head + body + checksum(head + body).to_bytes(2, "big")


def _wrap_360(angle_deg: float | None) -> float | None:
    return None if angle_deg is None else angle_deg % 360.0
