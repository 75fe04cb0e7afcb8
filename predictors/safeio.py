"""Bounded, checked reading of untrusted predictor files, before numpy, scikit-learn or XGBoost see them.

Every read goes through :func:`assess.files.read_bytes`: only regular files (a symlink to ``/dev/zero`` or a FIFO
is refused), at most a capped number of bytes. JSON is parsed with a nesting limit; ``.npz``
archives are unpacked by hand — each member's declared size is capped, its ``.npy`` header must
describe a plain numeric array whose byte count matches the data, and nothing is ever unpickled.
"""
from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from assess.errors import InputError
from assess.files import read_bytes

#: Largest file of a saved predictor read at all (metadata, XGBoost JSON, tokenizer files).
MAX_FILE_BYTES = 256 * 2 ** 20
#: Largest total of the decompressed arrays of one ``.npz`` archive.
MAX_ARRAY_BYTES = 512 * 2 ** 20
#: Deepest JSON nesting accepted (XGBoost models and configs need fewer than 10 levels).
MAX_JSON_DEPTH = 64
#: What :mod:`zipfile` raises on damaged archives (unsupported versions and encryption included).
ZIP_ERRORS = (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError, RuntimeError, struct.error,
              zlib.error)
#: dtype kinds an array may have: booleans, signed/unsigned integers, floats, fixed-width bytes.
ARRAY_KINDS = frozenset("biufS")


def json_depth(text: str) -> int:
    """Deepest bracket nesting of a JSON text (brackets inside strings ignored), without recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_json(data: bytes, source: str | Path, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse UTF-8 JSON bytes; too deep, invalid or non-standard (NaN, Infinity) JSON is an InputError."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"not UTF-8 JSON ({err.reason} at byte {err.start})", source=source) from None
    if json_depth(text) > max_depth:
        raise InputError(f"JSON nested deeper than {max_depth} levels", source=source)

    def refuse_constant(name: str) -> None:
        raise ValueError(f"non-standard JSON number {name}")

    try:
        return json.loads(text, parse_constant=refuse_constant)
    except (ValueError, RecursionError) as err:
        raise InputError(f"not valid JSON ({err})", source=source) from None


def read_json(path: str | Path, limit: int = MAX_FILE_BYTES) -> Any:
    """:func:`parse_json` of the capped content of ``path``."""
    return parse_json(read_bytes(path, limit), path)


def load_npz(path: str | Path, limit: int = MAX_ARRAY_BYTES) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` archive, checked member by member; pickled (object) arrays are refused."""
    path = Path(path)
    raw = read_bytes(path, MAX_FILE_BYTES)
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except ZIP_ERRORS:
        if raw.startswith(b"\x80"):  # a bare pickle stream
            raise InputError("refusing to load pickled objects (the file is a pickle, not an .npz)",
                             source=path) from None
        raise InputError("not a readable .npz array file (bad zip archive)", source=path) from None
    members = archive.infolist()
    if sum(m.file_size for m in members) > limit:
        raise InputError(f"arrays would decompress to more than {limit // 2 ** 20} MiB", source=path)
    arrays: dict[str, np.ndarray] = {}
    for member in members:
        name = member.filename[:-4] if member.filename.endswith(".npy") else member.filename
        if name in arrays or member.is_dir():
            raise InputError(f"unexpected archive member {member.filename!r}", source=path)
        try:
            with archive.open(member) as handle:
                arrays[name] = _read_npy(handle, member.file_size, f"{path}:{member.filename}")
        except ZIP_ERRORS as err:
            if isinstance(err, InputError):
                raise
            raise InputError(f"not a readable .npz array file ({type(err).__name__}: {err})", source=path) from None
    return arrays


def _read_npy(handle: Any, size: int, where: str) -> np.ndarray:
    """One ``.npy`` stream of ``size`` bytes: header checked first, then exactly the data it announces."""
    fmt = np.lib.format
    version = fmt.read_magic(handle)
    reader = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}.get(version)
    if reader is None:
        raise InputError(f"unsupported .npy version {version}", source=where)
    shape, fortran, dtype = reader(handle, max_header_size=10_000)
    if dtype.hasobject or dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise InputError(f"refusing to load pickled objects or non-numeric arrays (dtype {dtype})", source=where)
    count = 1
    for extent in shape:
        count *= int(extent)
    expected = count * dtype.itemsize
    header = handle.tell() if hasattr(handle, "tell") else None
    if header is not None and expected != size - header:
        raise InputError(f"array header announces shape {shape} ({expected} bytes) but the data holds "
                         f"{size - header} bytes", source=where)
    data = handle.read(expected + 1)
    if len(data) != expected:
        raise InputError(f"array data truncated ({len(data)} of {expected} bytes)", source=where)
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C").copy()
