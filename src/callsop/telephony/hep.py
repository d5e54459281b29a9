"""HEPv3 (Homer Encapsulation Protocol): how SIP servers mirror each SIP
message to a capture server over UDP.

A packet is "HEP3", its total length (2 bytes), then chunks: vendor id (2),
type (2), length of the whole chunk (2, with its 6-byte head), value.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

MAGIC = b"HEP3"
PROTOCOL_SIP = 1

# Chunk types of the generic vendor (0) that a SIP capture carries.
IP_FAMILY, IP_PROTOCOL = 0x01, 0x02
IPV4_SOURCE, IPV4_DESTINATION, IPV6_SOURCE, IPV6_DESTINATION = 0x03, 0x04, 0x05, 0x06
SOURCE_PORT, DESTINATION_PORT = 0x07, 0x08
SECONDS, MICROSECONDS = 0x09, 0x0A
PROTOCOL_TYPE, CAPTURE_ID = 0x0B, 0x0C
AUTH_KEY, PAYLOAD, CORRELATION_ID = 0x0E, 0x0F, 0x11

_HEAD = struct.Struct("!4sH")
_CHUNK = struct.Struct("!HHH")


class HepError(ValueError):
    """A datagram that is not a whole HEPv3 packet."""


@dataclass(frozen=True, slots=True)
class HepPacket:
    source: str  # "ip:port"
    destination: str
    captured_at: float  # epoch seconds
    protocol_type: int  # 1 = SIP
    capture_id: int | None
    correlation_id: str | None
    auth_key: bytes | None  # the sender's password chunk, when it sends one
    payload: bytes


def decode(datagram: bytes) -> HepPacket:
    """One HEPv3 packet, or HepError saying what is wrong with it."""
    if len(datagram) < _HEAD.size:
        raise HepError(f"{len(datagram)} bytes: too short for a HEP header")
    magic, total = _HEAD.unpack_from(datagram)
    if magic != MAGIC:
        raise HepError(f"not HEPv3 (starts {magic!r})")
    if total > len(datagram) or total < _HEAD.size:
        raise HepError(f"says {total} bytes, has {len(datagram)}: truncated")
    chunks: dict[int, bytes] = {}
    at = _HEAD.size
    while at < total:
        if at + _CHUNK.size > total:
            raise HepError(f"chunk head cut off at byte {at}")
        vendor, kind, length = _CHUNK.unpack_from(datagram, at)
        if length < _CHUNK.size or at + length > total:
            raise HepError(f"chunk {kind:#x} at byte {at} has a bad length {length}")
        if vendor == 0:
            chunks[kind] = datagram[at + _CHUNK.size : at + length]
        at += length
    return _packet(chunks)


_SIZES = {SOURCE_PORT: 2, DESTINATION_PORT: 2, SECONDS: 4, MICROSECONDS: 4, CAPTURE_ID: 4}


def _uint(chunks: dict[int, bytes], kind: int) -> int | None:
    value = chunks.get(kind)
    if not value:
        return None
    if kind in _SIZES and len(value) != _SIZES[kind]:
        raise HepError(f"chunk {kind:#x} has {len(value)} bytes, not {_SIZES[kind]}")
    return int.from_bytes(value, "big")


def _address(chunks: dict[int, bytes], v4: int, v6: int, port: int) -> str:
    raw = chunks.get(v4) or chunks.get(v6)
    if raw is None or len(raw) not in (4, 16):
        raise HepError("no source or destination address")
    host = str(ipaddress.ip_address(raw))
    return (
        f"[{host}]:{_uint(chunks, port) or 0}"
        if len(raw) == 16
        else f"{host}:{_uint(chunks, port) or 0}"
    )


def _packet(chunks: dict[int, bytes]) -> HepPacket:
    if PAYLOAD not in chunks:
        raise HepError("no payload chunk")
    seconds = _uint(chunks, SECONDS)
    if seconds is None:
        raise HepError("no timestamp chunk")
    correlation = chunks.get(CORRELATION_ID)
    return HepPacket(
        source=_address(chunks, IPV4_SOURCE, IPV6_SOURCE, SOURCE_PORT),
        destination=_address(chunks, IPV4_DESTINATION, IPV6_DESTINATION, DESTINATION_PORT),
        captured_at=seconds + (_uint(chunks, MICROSECONDS) or 0) / 1e6,
        protocol_type=_uint(chunks, PROTOCOL_TYPE) or 0,
        capture_id=_uint(chunks, CAPTURE_ID),
        correlation_id=correlation.decode("utf-8", "replace") if correlation else None,
        auth_key=chunks.get(AUTH_KEY),
        payload=chunks[PAYLOAD],
    )


def encode(
    payload: bytes,
    *,
    source: tuple[str, int],
    destination: tuple[str, int],
    captured_at: float,
    capture_id: int = 1,
    protocol_type: int = PROTOCOL_SIP,
    auth_key: bytes | None = None,
) -> bytes:
    """A HEPv3 packet, as Kamailio's siptrace sends one: for replaying
    recorded traffic in tests and benchmarks."""
    src, dst = ipaddress.ip_address(source[0]), ipaddress.ip_address(destination[0])
    six = src.version == 6
    seconds = int(captured_at)
    parts = [
        (IP_FAMILY, bytes([10 if six else 2])),
        (IP_PROTOCOL, bytes([17])),
        (IPV6_SOURCE if six else IPV4_SOURCE, src.packed),
        (IPV6_DESTINATION if six else IPV4_DESTINATION, dst.packed),
        (SOURCE_PORT, source[1].to_bytes(2, "big")),
        (DESTINATION_PORT, destination[1].to_bytes(2, "big")),
        (SECONDS, seconds.to_bytes(4, "big")),
        (MICROSECONDS, round((captured_at - seconds) * 1e6).to_bytes(4, "big")),
        (PROTOCOL_TYPE, bytes([protocol_type])),
        (CAPTURE_ID, capture_id.to_bytes(4, "big")),
        (PAYLOAD, payload),
    ]
    if auth_key is not None:
        parts.insert(-1, (AUTH_KEY, auth_key))
    body = b"".join(_CHUNK.pack(0, kind, _CHUNK.size + len(v)) + v for kind, v in parts)
    return _HEAD.pack(MAGIC, _HEAD.size + len(body)) + body
