"""`model_metadata`: the raw facts about a model folder or GGUF file on this machine.

Reads config files, safetensors headers (never the tensors) and GGUF metadata (stdlib struct
parsing), and returns them as JSON for the server to turn into its ModelMetadata.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
from typing import Any, Dict, List, Optional, Tuple

from agent.errors import BAD_REQUEST, NOT_FOUND, AgentError
from agent.params import get_str

MAX_HEADER = 100 * 1024 * 1024
MAX_JSON = 16 * 1024 * 1024
MAX_DEPTH = 2
MAX_FILES = 10000
JSON_NAMES = ("config.json", "model_index.json")
INDEX_SUFFIX = ".index.json"
LONG_STRING = 512
SMALL_ARRAY = 4096

U32 = struct.Struct("<I")
U64 = struct.Struct("<Q")
# GGUF value types -> struct format (scalars); 8 string, 9 array.
GGUF_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
# ggml tensor types: name, elements per block, bytes per block.
GGML_TYPES = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),
    3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24),
    8: ("Q8_0", 32, 34),
    9: ("Q8_1", 32, 36),
    10: ("Q2_K", 256, 84),
    11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210),
    15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66),
    17: ("IQ2_XS", 256, 74),
    18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18),
    21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82),
    23: ("IQ4_XS", 256, 136),
    24: ("I8", 1, 1),
    25: ("I16", 1, 2),
    26: ("I32", 1, 4),
    27: ("I64", 1, 8),
    28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2),
    34: ("TQ1_0", 256, 54),
    35: ("TQ2_0", 256, 66),
    39: ("MXFP4", 32, 17),
}


def _read_json(path: str, problems: List[str]) -> Optional[Any]:
    try:
        if os.path.getsize(path) > MAX_JSON:
            problems.append(f"{path}: larger than {MAX_JSON} bytes, not read")
            return None
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as exc:
        problems.append(f"{path}: cannot be read as JSON ({exc})")
        return None


def safetensors_summary(path: str) -> Dict[str, Any]:
    """Parameters by dtype and data bytes from a safetensors file's header alone."""
    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            raise ValueError("shorter than a safetensors header")
        (size,) = struct.unpack("<Q", head)
        if size > MAX_HEADER:
            raise ValueError(f"header of {size} bytes is implausible")
        header = json.loads(handle.read(size))
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    parameters: Dict[str, int] = {}
    data_bytes = 0
    tensors = 0
    for name, info in header.items():
        if name == "__metadata__" or not isinstance(info, dict):
            continue
        tensors += 1
        count = 1
        for dim in info.get("shape") or []:
            count *= int(dim)
        dtype = str(info.get("dtype"))
        parameters[dtype] = parameters.get(dtype, 0) + count
        offsets = info.get("data_offsets") or [0, 0]
        data_bytes = max(data_bytes, int(offsets[1]))
    return {"parameters": parameters, "bytes": data_bytes, "tensors": tensors}


def _walk(root: str) -> List[Tuple[str, int]]:
    found: List[Tuple[str, int]] = []
    stack = [("", 0)]
    while stack and len(found) < MAX_FILES:
        rel, depth = stack.pop()
        try:
            entries = list(os.scandir(os.path.join(root, rel) if rel else root))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = f"{rel}/{entry.name}" if rel else entry.name
            try:
                if entry.is_dir():
                    if depth < MAX_DEPTH:
                        stack.append((path, depth + 1))
                elif entry.is_file():
                    found.append((path, entry.stat().st_size))
            except OSError:
                continue
    return sorted(found)


def directory_facts(root: str) -> Dict[str, Any]:
    """Files with sizes, config.json / model_index.json, index files and safetensors headers."""
    problems: List[str] = []
    files = _walk(root)
    facts: Dict[str, Any] = {
        "kind": "directory",
        "files": [{"path": p, "size": s} for p, s in files],
        "json": {},
        "indexes": {},
        "safetensors": {},
        "problems": problems,
    }
    for rel, _size in files:
        full = os.path.join(root, rel)
        name = os.path.basename(rel)
        if name in JSON_NAMES:
            value = _read_json(full, problems)
            if isinstance(value, dict):
                facts["json"][rel] = value
        elif name.endswith(INDEX_SUFFIX):
            value = _read_json(full, problems)
            if isinstance(value, dict):
                weight_map = value.get("weight_map") or {}
                total = (value.get("metadata") or {}).get("total_size")
                facts["indexes"][rel] = {
                    "total_size": total if isinstance(total, int) else None,
                    "files": sorted({str(v) for v in weight_map.values()}),
                }
        elif name.endswith(".safetensors"):
            try:
                facts["safetensors"][rel] = safetensors_summary(full)
            except (OSError, ValueError) as exc:
                problems.append(f"{rel}: not a readable safetensors file ({exc})")
    return facts


class _Cursor:
    """Reads GGUF values from a memory map, advancing an offset."""

    def __init__(self, data: mmap.mmap) -> None:
        self.data = data
        self.pos = 0

    def unpack(self, fmt: str) -> Any:
        value = struct.unpack_from(fmt, self.data, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return value

    def string(self) -> str:
        length = self.unpack("<Q")
        if length > len(self.data) - self.pos:
            raise ValueError("string runs past the end of the file")
        raw = self.data[self.pos : self.pos + length]
        self.pos += length
        return raw.decode("utf-8", "replace")

    def skip_string(self) -> None:
        self.pos += 8 + U64.unpack_from(self.data, self.pos)[0]

    def skip_strings(self, count: int) -> None:
        # A vocabulary holds 100k+ strings: a tight loop with local names keeps this ~10 ms.
        unpack, data, pos = U64.unpack_from, self.data, self.pos
        for _ in range(count):
            pos += 8 + unpack(data, pos)[0]
        self.pos = pos

    def value(self, kind: int) -> Any:
        if kind in GGUF_SCALARS:
            return self.unpack(GGUF_SCALARS[kind])
        if kind == 8:
            text = self.string()
            return text if len(text) <= LONG_STRING else {"string_length": len(text)}
        if kind == 9:
            item_kind = self.unpack("<I")
            count = self.unpack("<Q")
            if item_kind in GGUF_SCALARS and count <= SMALL_ARRAY:
                return [self.value(item_kind) for _ in range(count)]
            if item_kind in GGUF_SCALARS:
                self.pos += count * struct.calcsize(GGUF_SCALARS[item_kind])
            elif item_kind == 8:
                self.skip_strings(count)
            else:
                for _ in range(count):
                    self.value(item_kind)
            return {"array_length": count}
        raise ValueError(f"unknown GGUF value type {kind}")


def gguf_facts(path: str) -> Dict[str, Any]:
    """GGUF metadata (scalars, short strings, small arrays; lengths of the rest) and tensor
    parameter counts by ggml type, read with struct from a memory map."""
    size = os.path.getsize(path)
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        cur = _Cursor(data)
        if data[:4] != b"GGUF":
            raise ValueError("not a GGUF file (no GGUF magic)")
        cur.pos = 4
        version = cur.unpack("<I")
        tensor_count = cur.unpack("<Q")
        kv_count = cur.unpack("<Q")
        metadata: Dict[str, Any] = {}
        for _ in range(kv_count):
            key = cur.string()
            metadata[key] = cur.value(cur.unpack("<I"))
        parameters: Dict[str, int] = {}
        tensor_bytes = 0
        pos = cur.pos
        u32, u64 = U32.unpack_from, U64.unpack_from
        for _ in range(tensor_count):
            pos += 8 + u64(data, pos)[0]
            (dims,) = u32(data, pos)
            pos += 4
            count = 1
            for _d in range(dims):
                count *= u64(data, pos)[0]
                pos += 8
            (kind,) = u32(data, pos)
            pos += 12
            name, block, block_bytes = GGML_TYPES.get(kind, (f"type{kind}", 1, 0))
            parameters[name] = parameters.get(name, 0) + count
            tensor_bytes += count // block * block_bytes
    return {
        "kind": "gguf",
        "version": version,
        "metadata": metadata,
        "parameters": parameters,
        "tensor_bytes": tensor_bytes,
        "files": [{"path": os.path.basename(path), "size": size}],
        "problems": [],
    }


def model_metadata(params: Dict[str, Any]) -> Dict[str, Any]:
    """`model_metadata`: the raw facts about the model folder or GGUF file at `path`."""
    path = os.path.expanduser(get_str(params, "path"))
    if not os.path.exists(path):
        raise AgentError(NOT_FOUND, f"model path {path} not found on this worker")
    if os.path.isdir(path):
        facts = directory_facts(path)
    elif not os.path.isfile(path):
        raise AgentError(BAD_REQUEST, f"{path} is neither a folder nor a regular file")
    else:
        try:
            facts = gguf_facts(path)
        except (OSError, ValueError, struct.error) as exc:
            raise AgentError(BAD_REQUEST, f"{path}: not a readable GGUF file ({exc})") from exc
    facts["path"] = path
    return facts
