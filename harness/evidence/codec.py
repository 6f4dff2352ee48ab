"""Evidence records to JSON and back, so that what a real lab run observed can be kept
as a test fixture and the checks judged again over it, without root and without a lab.

The encoding follows each dataclass's type hints: bytes as base64, enums by value,
tuples and lists as arrays, a `SessionDescription` as its exact text and an
`RtpPacket` as its bytes (both round-trip byte for byte), paths as text. What is
derived from the capture is not stored but derived again on loading (a call's media
path, from its packets), so a fixture holds only what was on the wire and what the
agents did. Files are gzip-compressed JSON (``*.json.gz``) with the record's type
name, so `load_file` needs no schema beside the file.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import gzip
import json
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

from harness.evidence.call import CallOutcome, media_path
from harness.evidence.fork import ForkOutcome
from harness.evidence.policy import CacOutcome, CallQuality
from harness.evidence.robust import RelayProbe
from harness.evidence.teams import DrOutcome
from harness.media.rtp import RtpPacket
from harness.sdp import SessionDescription

__all__ = ["RECORDS", "EvidenceFileError", "decode", "dump_file", "encode", "load_file"]

T = TypeVar("T")

#: The top-level records a fixture file may hold, by the name it is stored under.
RECORDS: dict[str, type] = {cls.__name__: cls for cls in (
    CallOutcome, ForkOutcome, DrOutcome, CacOutcome, CallQuality, RelayProbe)}
#: A list of these is a record too (measure_over_wan's result: one per mode).
_LISTS = ("CallQuality",)

#: Fields derived from the rest of the record, recomputed on loading instead of stored.
_DERIVED: dict[type, dict[str, typing.Callable[[Any], Any]]] = {
    CallOutcome: {"path": lambda call: media_path(call, call.packets)},
}


class EvidenceFileError(ValueError):
    """An evidence file that does not decode into the record it names."""


def encode(value: Any) -> Any:
    """`value` (a record, or anything a record holds) as plain JSON data."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, SessionDescription):
        return bytes(value).decode("utf-8", "surrogateescape")
    if isinstance(value, RtpPacket):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        derived = _DERIVED.get(type(value), {})
        return {f.name: (None if getattr(value, f.name) is None else True)
                if f.name in derived else encode(getattr(value, f.name))
                for f in dataclasses.fields(value) if f.init}
    if isinstance(value, Mapping):
        if all(isinstance(k, str) for k in value):
            return {k: encode(v) for k, v in value.items()}
        return [[encode(k), encode(v)] for k, v in value.items()]
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return [encode(v) for v in items]
    raise TypeError(f"cannot encode a {type(value).__name__} as evidence")


def decode(hint: Any, data: Any) -> Any:
    """Plain JSON `data` back into the type `hint` names."""
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return data
    if origin in (typing.Union, types.UnionType):
        if data is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return decode(option, data)
            except (TypeError, ValueError, KeyError) as exc:
                errors.append(str(exc))
        raise ValueError(f"{data!r:.60} fits none of {hint}: {'; '.join(errors)}")
    if origin is typing.Literal:
        if data not in args:
            raise ValueError(f"{data!r} is not one of {args}")
        return data
    if origin in (list, tuple, set, frozenset) or hint in (list, tuple):
        if not isinstance(data, list):
            raise TypeError(f"expected an array for {hint}, got {type(data).__name__}")
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return tuple(decode(args[0], v) for v in data)
        if origin is tuple and args:
            return tuple(decode(a, v) for a, v in zip(args, data, strict=True))
        items = [decode(args[0] if args else Any, v) for v in data]
        return (origin or hint)(items)
    if origin in (dict, Mapping) or origin is typing.Counter:
        key, val = args or (Any, Any)
        pairs = data.items() if isinstance(data, dict) else data
        return {decode(key, k): decode(val, v) for k, v in pairs}
    if hint is bytes:
        return base64.b64decode(data, validate=True)
    if hint is float:
        if not isinstance(data, int | float) or isinstance(data, bool):
            raise TypeError(f"expected a number, got {data!r:.40}")
        return float(data)
    if hint in (int, str, bool):
        if not isinstance(data, hint) or (hint is int and isinstance(data, bool)):
            raise TypeError(f"expected {hint.__name__}, got {data!r:.40}")
        return data
    if hint is type(None):
        if data is not None:
            raise TypeError(f"expected null, got {data!r:.40}")
        return None
    if hint is Path:
        return Path(data)
    if hint is SessionDescription:
        return SessionDescription.parse(data.encode("utf-8", "surrogateescape"))
    if hint is RtpPacket:
        return RtpPacket.parse(base64.b64decode(data, validate=True))
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(data)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _decode_record(hint, data)
    raise TypeError(f"cannot decode evidence of type {hint}")


def _decode_record(cls: type[T], data: Any) -> T:
    if not isinstance(data, dict):
        raise TypeError(f"expected an object for {cls.__name__}, got {type(data).__name__}")
    hints = get_type_hints(cls)
    derived = _DERIVED.get(cls, {})
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise KeyError(f"{cls.__name__} has no field(s) {', '.join(unknown)}")
    values = {name: decode(hints[name], value) for name, value in data.items()
              if name not in derived}
    record = cls(**values)
    for name, derive in derived.items():
        if data.get(name):
            object.__setattr__(record, name, derive(record))
    return record


def dump_file(record: Any, path: Path) -> Path:
    """Write `record` (one of `RECORDS`) to `path` as gzip-compressed JSON."""
    of = type(record[0]).__name__ if isinstance(record, list) and record else ""
    name = f"list[{of}]" if isinstance(record, list) else type(record).__name__
    if name not in RECORDS and of not in _LISTS:
        raise TypeError(f"a {name} is not an evidence record ({', '.join(RECORDS)})")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"record": name, "data": encode(record)}, separators=(",", ":"))
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=9) as out:
        out.write(text)
    return path


def load_file(path: Path) -> Any:
    """The record a `dump_file` file holds; `EvidenceFileError` naming the file if it
    does not decode."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as inp:
            doc = json.load(inp)
        name = doc["record"]
        if name.startswith("list[") and name[5:-1] in _LISTS:
            return [decode(RECORDS[name[5:-1]], item) for item in doc["data"]]
        return decode(RECORDS[name], doc["data"])
    except (OSError, EOFError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise EvidenceFileError(f"{path}: not an evidence file of this harness: {exc}") from exc
