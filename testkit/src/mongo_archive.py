#!/usr/bin/env python3
"""An independent mongodump archive writer and strict reader for cairn's tests.

It knows the format from mongo-tools' common/archive/spec.md, not from
cairn's Rust code, so the two can check each other:

    archive  = magic, header, *collection-metadata, terminator,
               *(namespace-segment | namespace-eof)
    magic    = 6d e2 99 81
    segment  = {db, collection, EOF: false, CRC: int64 0}, 1*document, terminator
    eof      = {db, collection, EOF: true, CRC: CRC-64-ECMA of the namespace's
               documents}, terminator
    terminator = ff ff ff ff

Usage (the venv's python, with pymongo's bson):

  mongo_archive.py write --data DATA.json --out ARCHIVE [--segment-docs N]
        [--interleave] [--server-version V] [--all-types DB.COLL]
      Writes an archive of DATA.json's collections (in file order, then the
      --all-types collection: documents built from raw bytes that hold every
      BSON element type). Segments hold at most N documents (default 1000);
      --interleave writes the collections' segments round-robin, each EOF
      right after that collection's last segment. Views get metadata and an
      EOF with no segment, as mongodump writes them.
      Prints nothing on success.

  mongo_archive.py read ARCHIVE [--json OUT.json]
      Checks the whole archive (magic, header, prelude, every segment and
      document, each EOF's CRC, that every collection (not view) has exactly
      one EOF and that nothing trails) and prints
      {"header": {...}, "collections": [{"db", "collection", "type",
      "metadata", "size", "documents", "bytes", "sha256", "crc64",
      "segments", "eof"}]} in prelude order. ARCHIVE "-" reads stdin.

  mongo_archive.py bson-file ARCHIVE DB COLL OUT.bson
      Checks the archive the same way and writes that collection's documents,
      concatenated, as mongodump's COLL.bson would hold them.

  mongo_archive.py selftest
      Runs this file's own checks; prints "N passed, 0 failed".

On any violation, read and bson-file exit with status 2 and print one line
on stderr that names the problem ("truncated archive: ...", "bad magic
number", "CRC mismatch for namespace db.coll ...", "namespace db.coll has
no EOF", ...).

DATA.json (shared with mongod.py):
  {"DB": {"COLL": {"type": "collection" | "view" | "timeseries",
                   "options": {...}, "indexes": [{"v": 2, "key": {"_id": 1},
                   "name": "_id_"}, ...], "uuid": "32 hex digits",
                   "documents": [extended JSON documents, ...]}}}
  Every field but the collection's name is optional: type defaults to
  "collection", options to {}, indexes to the _id_ index (none for views),
  uuid to one derived from the namespace (views have none), documents to [].
  Values are read with bson.json_util (canonical or relaxed extended JSON,
  order kept) and documents encoded with bson.encode (which puts a top-level
  _id first, as mongod does); {"$undefined": true}, {"$symbol": ...} and
  {"$dbPointer": ...} are encoded as their own deprecated BSON types.

The module also serves mongod.py: load_data(), to_extjson(),
validate_document(), all_types_documents().
"""

import argparse
import base64
import datetime
import hashlib
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import uuid as uuidlib

import bson
from bson import json_util
from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions, DatetimeConversion
from bson.dbref import DBRef
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.objectid import ObjectId

MAGIC = b"\x6d\xe2\x99\x81"
TERMINATOR = b"\xff\xff\xff\xff"
# The server's 16 MiB plus the slack it allows internally.
MAX_DOC = 16 * 1024 * 1024 + 16 * 1024
MAX_DEPTH = 200
FORMAT_VERSION = "0.1"
TOOL_VERSION = "100.9.4"
DEFAULT_SERVER_VERSION = "7.0.14"

CODEC = CodecOptions(tz_aware=True,
                     datetime_conversion=DatetimeConversion.DATETIME_AUTO,
                     uuid_representation=UuidRepresentation.UNSPECIFIED)
JSON_OPTIONS = json_util.JSONOptions(
    tz_aware=True, datetime_conversion=DatetimeConversion.DATETIME_AUTO,
    uuid_representation=UuidRepresentation.UNSPECIFIED)


# ---------------------------------------------------------------- CRC-64

_POLY = 0xC96C5795D7870F42  # ECMA-182, reflected
_MASK = 0xFFFFFFFFFFFFFFFF


def _table8():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        table.append(c)
    return table


_T8 = _table8()
_T64 = []


def _tables64():
    """Four tables that feed eight bytes at once: the state XOR the next
    eight bytes, split into 16-bit parts, each part pushed through the
    zero bytes that follow it."""
    if not _T64:
        t8 = _T8

        def step16(s):  # feed two zero bytes
            s = t8[s & 0xFF] ^ (s >> 8)
            return t8[s & 0xFF] ^ (s >> 8)

        t3 = [step16(x) for x in range(65536)]
        t2 = [step16(v) for v in t3]
        t1 = [step16(v) for v in t2]
        t0 = [step16(v) for v in t1]
        _T64.extend((t0, t1, t2, t3))
    return _T64


class Crc64:
    """CRC-64/XZ: Go's hash/crc64 with the ECMA table."""

    def __init__(self):
        self._crc = _MASK

    def update(self, data):
        crc = self._crc
        data = memoryview(data).cast("B")
        n = len(data)
        whole = n - (n % 8)
        if whole >= 256 and sys.byteorder == "little":
            t0, t1, t2, t3 = _tables64()
            for q in data[:whole].cast("Q"):
                x = crc ^ q
                crc = t0[x & 0xFFFF] ^ t1[(x >> 16) & 0xFFFF] ^ t2[(x >> 32) & 0xFFFF] ^ t3[x >> 48]
            rest = data[whole:]
        else:
            rest = data
        t8 = _T8
        for b in rest:
            crc = t8[(crc ^ b) & 0xFF] ^ (crc >> 8)
        self._crc = crc

    def value(self):
        return self._crc ^ _MASK


def crc64(data):
    c = Crc64()
    c.update(data)
    return c.value()


def to_signed64(v):
    return v - (1 << 64) if v & (1 << 63) else v


# ---------------------------------------------------------------- BSON

class BsonError(ValueError):
    pass


def _int32(data, p):
    return int.from_bytes(data[p:p + 4], "little", signed=True)


def _utf8(data, start, end, what):
    try:
        return bytes(data[start:end]).decode("utf-8")
    except UnicodeDecodeError as e:
        raise BsonError(f"{what} at offset {start} is not UTF-8: {e.reason}")


def _cstring(data, p, lim, what):
    z = data.find(b"\x00", p, lim)
    if z < 0:
        raise BsonError(f"{what} at offset {p} has no terminating zero")
    return _utf8(data, p, z, what), z + 1


def _string(data, p, lim, what):
    if p + 4 > lim:
        raise BsonError(f"{what} at offset {p}: length runs past the end")
    n = _int32(data, p)
    if n < 1 or p + 4 + n > lim:
        raise BsonError(f"{what} at offset {p}: bad length {n}")
    if data[p + 3 + n] != 0:
        raise BsonError(f"{what} at offset {p}: no terminating zero")
    return _utf8(data, p + 4, p + 3 + n, what), p + 4 + n


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_MAX_RELAXED_MS = 253402300799999  # 9999-12-31T23:59:59.999Z


def _double_text(f):
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "Infinity" if f > 0 else "-Infinity"
    return repr(f)


def _fixed(data, p, n, lim, what):
    if p + n > lim:
        raise BsonError(f"{what} at offset {p} runs past the end of its document")
    return p + n


def _value(data, t, p, lim, mode, depth):
    """Reads the value of one element of type t at p (it must end by lim).

    mode None only checks; "canonical" and "relaxed" also return the value
    as extended JSON v2 (Python objects ready for json.dumps).
    """
    if t == 0x01:
        q = _fixed(data, p, 8, lim, "double")
        if not mode:
            return None, q
        f = struct.unpack_from("<d", data, p)[0]
        if mode == "relaxed" and math.isfinite(f):
            return f, q
        return {"$numberDouble": _double_text(f)}, q
    if t in (0x02, 0x0D, 0x0E):
        s, q = _string(data, p, lim, "string")
        if not mode or t == 0x02:
            return s, q
        return ({"$code": s} if t == 0x0D else {"$symbol": s}), q
    if t in (0x03, 0x04):
        pairs, q = _doc(data, p, lim, mode, depth + 1)
        if not mode:
            return None, q
        if t == 0x03:
            return dict(pairs), q
        return [v for _, v in pairs], q
    if t == 0x05:
        if p + 5 > lim:
            raise BsonError(f"binary at offset {p} runs past the end of its document")
        n = _int32(data, p)
        sub = data[p + 4]
        if n < 0 or p + 5 + n > lim:
            raise BsonError(f"binary at offset {p}: bad length {n}")
        if sub == 0x02 and (n < 4 or _int32(data, p + 5) != n - 4):
            raise BsonError(f"binary subtype 2 at offset {p}: bad inner length")
        q = p + 5 + n
        if not mode:
            return None, q
        b64 = base64.b64encode(bytes(data[p + 5:q])).decode("ascii")
        return {"$binary": {"base64": b64, "subType": "%02x" % sub}}, q
    if t == 0x06:
        return ({"$undefined": True} if mode else None), p
    if t == 0x07:
        q = _fixed(data, p, 12, lim, "ObjectId")
        return ({"$oid": bytes(data[p:q]).hex()} if mode else None), q
    if t == 0x08:
        q = _fixed(data, p, 1, lim, "bool")
        if data[p] not in (0, 1):
            raise BsonError(f"bool at offset {p} is {data[p]}, not 0 or 1")
        return bool(data[p]), q
    if t == 0x09:
        q = _fixed(data, p, 8, lim, "datetime")
        if not mode:
            return None, q
        ms = struct.unpack_from("<q", data, p)[0]
        if mode == "relaxed" and 0 <= ms <= _MAX_RELAXED_MS:
            dt = _EPOCH + datetime.timedelta(milliseconds=ms)
            text = dt.strftime("%Y-%m-%dT%H:%M:%S")
            if ms % 1000:
                text += ".%03d" % (ms % 1000)
            return {"$date": text + "Z"}, q
        return {"$date": {"$numberLong": str(ms)}}, q
    if t == 0x0A:
        return None, p
    if t == 0x0B:
        pattern, q = _cstring(data, p, lim, "regex pattern")
        options, q = _cstring(data, q, lim, "regex options")
        if not mode:
            return None, q
        return {"$regularExpression": {"pattern": pattern, "options": options}}, q
    if t == 0x0C:
        ns, q = _string(data, p, lim, "DBPointer namespace")
        r = _fixed(data, q, 12, lim, "DBPointer id")
        if not mode:
            return None, r
        return {"$dbPointer": {"$ref": ns, "$id": {"$oid": bytes(data[q:r]).hex()}}}, r
    if t == 0x0F:
        if p + 4 > lim:
            raise BsonError(f"code with scope at offset {p} runs past the end")
        total = _int32(data, p)
        if total < 14 or p + total > lim:
            raise BsonError(f"code with scope at offset {p}: bad length {total}")
        end = p + total
        code, q = _string(data, p + 4, end, "code with scope's code")
        scope, q = _doc(data, q, end, mode, depth + 1)
        if q != end:
            raise BsonError(f"code with scope at offset {p}: length {total} does not match its parts")
        if not mode:
            return None, q
        return {"$code": code, "$scope": dict(scope)}, q
    if t == 0x10:
        q = _fixed(data, p, 4, lim, "int32")
        if not mode:
            return None, q
        n = _int32(data, p)
        return (n if mode == "relaxed" else {"$numberInt": str(n)}), q
    if t == 0x11:
        q = _fixed(data, p, 8, lim, "timestamp")
        if not mode:
            return None, q
        inc, secs = struct.unpack_from("<II", data, p)
        return {"$timestamp": {"t": secs, "i": inc}}, q
    if t == 0x12:
        q = _fixed(data, p, 8, lim, "int64")
        if not mode:
            return None, q
        n = struct.unpack_from("<q", data, p)[0]
        return (n if mode == "relaxed" else {"$numberLong": str(n)}), q
    if t == 0x13:
        q = _fixed(data, p, 16, lim, "decimal128")
        if not mode:
            return None, q
        return {"$numberDecimal": str(Decimal128.from_bid(bytes(data[p:q])))}, q
    if t == 0xFF:
        return ({"$minKey": 1} if mode else None), p
    if t == 0x7F:
        return ({"$maxKey": 1} if mode else None), p
    raise BsonError(f"unknown element type 0x{t:02x} at offset {p}")


def _doc(data, pos, lim, mode, depth=0, typed=False):
    """Checks the document at pos, which must end by lim; returns
    ([(key, value)] (or [(key, type, value)] when typed), end)."""
    if depth > MAX_DEPTH:
        raise BsonError(f"document at offset {pos} is nested deeper than {MAX_DEPTH}")
    if pos + 5 > lim:
        raise BsonError(f"document at offset {pos} runs past the end")
    size = _int32(data, pos)
    if size < 5 or pos + size > lim:
        raise BsonError(f"document at offset {pos}: bad length {size}")
    end = pos + size
    if data[end - 1] != 0:
        raise BsonError(f"document at offset {pos}: last byte is not zero")
    pairs = []
    p = pos + 4
    while True:
        t = data[p]
        if t == 0:
            if p != end - 1:
                raise BsonError(f"document at offset {pos}: ends at {p}, before its length {size}")
            break
        key, p = _cstring(data, p + 1, end - 1, "key")
        v, p = _value(data, t, p, end - 1, mode, depth)
        if typed:
            pairs.append((key, t, v))
        elif mode:
            pairs.append((key, v))
    return pairs, end


def validate_document(raw):
    """Raises BsonError unless raw is exactly one well-formed document."""
    raw = raw if isinstance(raw, bytes) else bytes(raw)
    _, end = _doc(raw, 0, len(raw), None)
    if end != len(raw):
        raise BsonError(f"{len(raw) - end} bytes after the document")


def to_extjson(raw, canonical=True):
    """The document's extended JSON v2 (canonical or relaxed) as Python
    objects, every BSON type kept (the deprecated ones in their $undefined,
    $symbol and $dbPointer forms)."""
    raw = raw if isinstance(raw, bytes) else bytes(raw)
    pairs, end = _doc(raw, 0, len(raw), "canonical" if canonical else "relaxed")
    if end != len(raw):
        raise BsonError(f"{len(raw) - end} bytes after the document")
    return dict(pairs)


def to_extjson_text(raw, canonical=True):
    return json.dumps(to_extjson(raw, canonical), ensure_ascii=False,
                      separators=(",", ":"), allow_nan=False)


def element_spans(raw):
    """[(key, type byte, element start, value start, element end)] of the
    top level of a checked document (offsets into raw)."""
    raw = raw if isinstance(raw, bytes) else bytes(raw)
    end = len(raw) - 1
    out = []
    p = 4
    while raw[p] != 0:
        start = p
        key, p = _cstring(raw, p + 1, end, "key")
        vstart = p
        _, p = _value(raw, raw[start], p, end, None, 0)
        out.append((key, raw[start], start, vstart, p))
    return out


def typed_elements(raw):
    """[(key, type byte, relaxed value)] of the top level of a document."""
    raw = raw if isinstance(raw, bytes) else bytes(raw)
    pairs, end = _doc(raw, 0, len(raw), "relaxed", typed=True)
    if end != len(raw):
        raise BsonError(f"{len(raw) - end} bytes after the document")
    return pairs


# -------------------------------------------------- extended JSON -> BSON

class _Undefined:
    def __repr__(self):
        return "Undefined"


UNDEFINED = _Undefined()


class Symbol:
    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return f"Symbol({self.value!r})"


class DBPointer:
    def __init__(self, ns, oid):
        self.ns, self.oid = ns, oid

    def __repr__(self):
        return f"DBPointer({self.ns!r}, {self.oid!r})"


_MARKERS = (_Undefined, Symbol, DBPointer)


def _pairs_hook(pairs):
    if len(pairs) == 1:
        k, v = pairs[0]
        if k == "$undefined" and v is True:
            return UNDEFINED
        if k == "$symbol" and isinstance(v, str):
            return Symbol(v)
        if k == "$dbPointer" and isinstance(v, DBRef) and isinstance(v.id, ObjectId) \
                and v.database is None:
            return DBPointer(v.collection, v.id)
    return json_util.object_pairs_hook(pairs, JSON_OPTIONS)


def parse_extjson(text):
    """Extended JSON (canonical, relaxed or legacy) to Python/bson values,
    field order kept; the deprecated types become marker objects."""
    return json.loads(text, object_pairs_hook=_pairs_hook)


def _has_marker(v):
    if isinstance(v, _MARKERS):
        return True
    if isinstance(v, dict):
        return any(_has_marker(x) for x in v.values())
    if isinstance(v, list):
        return any(_has_marker(x) for x in v)
    return False


def _cstr(s):
    b = s.encode("utf-8")
    if b"\x00" in b:
        raise ValueError(f"key {s!r} holds a NUL")
    return b + b"\x00"


def _bstr(s):
    b = s.encode("utf-8") if isinstance(s, str) else s
    return struct.pack("<i", len(b) + 1) + b + b"\x00"


def _element(key, v):
    if v is UNDEFINED:
        return b"\x06" + _cstr(key)
    if isinstance(v, Symbol):
        return b"\x0e" + _cstr(key) + _bstr(v.value)
    if isinstance(v, DBPointer):
        return b"\x0c" + _cstr(key) + _bstr(v.ns) + v.oid.binary
    if isinstance(v, dict) and _has_marker(v):
        return b"\x03" + _cstr(key) + _encode_pairs(list(v.items()))
    if isinstance(v, list) and _has_marker(v):
        return b"\x04" + _cstr(key) + _encode_pairs([(str(i), x) for i, x in enumerate(v)])
    return bson.encode({key: v}, codec_options=CODEC)[4:-1]


def _encode_pairs(pairs):
    body = b"".join(_element(k, v) for k, v in pairs)
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def encode_document(doc):
    """bson.encode, plus the deprecated types' markers; the top-level _id
    goes first either way."""
    if not _has_marker(doc):
        return bson.encode(doc, codec_options=CODEC)
    items = list(doc.items())
    items = [kv for kv in items if kv[0] == "_id"] + [kv for kv in items if kv[0] != "_id"]
    return _encode_pairs(items)


# ---------------------------------------------------------------- data

ID_INDEX = {"v": 2, "key": {"_id": 1}, "name": "_id_"}


def derived_uuid(db, coll):
    """A stable version-4-shaped UUID (32 hex digits) for a namespace."""
    digest = hashlib.md5(f"cairn-testkit:{db}.{coll}".encode("utf-8")).digest()
    return uuidlib.UUID(bytes=digest, version=4).hex


def _norm_uuid(u):
    return uuidlib.UUID(hex=str(u)).hex


class Collection:
    """One collection or view: its metadata and its raw documents."""

    def __init__(self, db, name, type="collection", options=None, indexes=None,
                 uuid=None, docs=()):
        if type not in ("collection", "view", "timeseries"):
            raise ValueError(f"{db}.{name}: unknown type {type!r}")
        self.db, self.name, self.type = db, name, type
        self.options = dict(options or {})
        if indexes is None:
            indexes = [] if type == "view" else [dict(ID_INDEX)]
        self.indexes = [dict(ix) for ix in indexes]
        if type == "view":
            self.uuid = _norm_uuid(uuid) if uuid else None
        else:
            self.uuid = _norm_uuid(uuid) if uuid else derived_uuid(db, name)
        self.docs = list(docs)

    @property
    def ns(self):
        return f"{self.db}.{self.name}"

    def metadata(self):
        """mongodump's COLL.metadata.json document, as a dict."""
        meta = {}
        if self.options:
            meta["options"] = self.options
        meta["indexes"] = self.indexes
        if self.uuid:
            meta["uuid"] = self.uuid
        meta["collectionName"] = self.name
        meta["type"] = self.type
        return meta

    def metadata_text(self):
        return to_extjson_text(encode_document(self.metadata()), canonical=True)


def load_data(source):
    """DATA.json (a path, or the parsed object) to a list of Collections."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, encoding="utf-8") as f:
            source = parse_extjson(f.read())
    out = []
    if not isinstance(source, dict):
        raise ValueError("DATA.json must be an object of databases")
    for db, colls in source.items():
        if not isinstance(colls, dict):
            raise ValueError(f"database {db!r} must be an object of collections")
        for name, spec in colls.items():
            if not isinstance(spec, dict):
                raise ValueError(f"{db}.{name} must be an object")
            unknown = set(spec) - {"type", "options", "indexes", "uuid", "documents"}
            if unknown:
                raise ValueError(f"{db}.{name}: unknown fields {sorted(unknown)}")
            docs = [encode_document(d) for d in spec.get("documents", [])]
            out.append(Collection(db, name, spec.get("type", "collection"),
                                  spec.get("options"), spec.get("indexes"),
                                  spec.get("uuid"), docs))
    return out


# ------------------------------------------------ every BSON element type

def _e(t, key, payload=b""):
    return bytes([t]) + _cstr(key) + payload


def _d(*elements):
    body = b"".join(elements)
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def _a(*values):
    """An array document from (type, payload) pairs."""
    return _d(*[_e(t, str(i), p) for i, (t, p) in enumerate(values)])


def _i32(n):
    return struct.pack("<i", n)


def _i64(n):
    return struct.pack("<q", n)


def _f64(x):
    return struct.pack("<d", x)


def _bin(sub, data):
    return struct.pack("<i", len(data)) + bytes([sub]) + data


def _dec(s):
    return Decimal128(s).bid


def all_types_documents():
    """Raw documents that, together, hold every BSON element type, with
    _ids int32 0, 1, 2, ..."""
    oid = bytes.fromhex("65a1b2c3d4e5f60718293a4b")
    docs = []
    docs.append(_d(
        _e(0x10, "_id", _i32(0)),
        _e(0x01, "double", _f64(1.5)),
        _e(0x01, "double_neg_zero", _f64(-0.0)),
        _e(0x01, "double_nan", _f64(float("nan"))),
        _e(0x01, "double_inf", _f64(float("inf"))),
        _e(0x01, "double_neg_inf", _f64(float("-inf"))),
        _e(0x01, "double_max", _f64(1.7976931348623157e308)),
        _e(0x01, "double_subnormal", _f64(5e-324)),
        _e(0x01, "double_int", _f64(42.0)),
        _e(0x02, "string", _bstr("hello, world")),
        _e(0x02, "string_empty", _bstr("")),
        _e(0x02, "utf8", _bstr("h\u00e9llo w\u00f6rld \u2013 \u65e5\u672c\u8a9e \U0001f980 \u0000nul")),
        _e(0x03, "document", _d(_e(0x10, "a", _i32(1)),
                                _e(0x03, "b", _d(_e(0x02, "c", _bstr("deep")))))),
        _e(0x04, "array", _a((0x10, _i32(1)), (0x02, _bstr("two")), (0x01, _f64(3.0)),
                             (0x03, _d(_e(0x10, "four", _i32(4)))),
                             (0x04, _a((0x10, _i32(5)))))),
        _e(0x03, "empty_document", _d()),
        _e(0x04, "empty_array", _d()),
    ))
    docs.append(_d(
        _e(0x10, "_id", _i32(1)),
        _e(0x05, "binary_generic", _bin(0x00, b"\x00\x01\x02\xfe\xff")),
        _e(0x05, "binary_empty", _bin(0x00, b"")),
        _e(0x05, "binary_uuid", _bin(0x04, bytes.fromhex("0123456789abcdef0123456789abcdef"))),
        _e(0x05, "binary_user", _bin(0x80, b"user-defined subtype")),
        _e(0x06, "undefined"),
        _e(0x07, "objectid", oid),
        _e(0x08, "true", b"\x01"),
        _e(0x08, "false", b"\x00"),
        _e(0x0A, "null"),
    ))
    docs.append(_d(
        _e(0x10, "_id", _i32(2)),
        _e(0x09, "date", _i64(1700000000123)),
        _e(0x09, "date_epoch", _i64(0)),
        _e(0x09, "date_before_1970", _i64(-2208988800000)),  # 1900-01-01
        _e(0x09, "date_year_1", _i64(-62135596800000)),
        _e(0x09, "date_after_9999", _i64(253402300800000 * 40)),
        _e(0x09, "date_min", _i64(-(1 << 63))),
        _e(0x09, "date_max", _i64((1 << 63) - 1)),
    ))
    docs.append(_d(
        _e(0x10, "_id", _i32(3)),
        _e(0x0B, "regex", b"^ab+c$\x00ims\x00"),
        _e(0x0B, "regex_empty", b"\x00\x00"),
        _e(0x0C, "dbpointer", _bstr("db.coll") + oid),
        _e(0x0D, "code", _bstr("function () { return 1; }")),
        _e(0x0E, "symbol", _bstr("a symbol")),
        _e(0x0F, "code_with_scope", (lambda code, scope: _i32(4 + len(code) + len(scope)) + code + scope)(
            _bstr("function () { return x + y; }"),
            _d(_e(0x10, "x", _i32(1)), _e(0x02, "y", _bstr("two"))))),
        _e(0x10, "int32", _i32(-12345)),
        _e(0x10, "int32_min", _i32(-(1 << 31))),
        _e(0x10, "int32_max", _i32((1 << 31) - 1)),
        _e(0x11, "timestamp", struct.pack("<II", 7, 1700000000)),
        _e(0x11, "timestamp_max", struct.pack("<II", 0xFFFFFFFF, 0xFFFFFFFF)),
        _e(0x12, "int64", _i64(1 << 40)),
        _e(0x12, "int64_min", _i64(-(1 << 63))),
        _e(0x12, "int64_max", _i64((1 << 63) - 1)),
        _e(0x13, "decimal", _dec("1.000")),
        _e(0x13, "decimal_neg_zero", _dec("-0")),
        _e(0x13, "decimal_big", _dec("1.234567890123456789012345678901234E+6144")),
        _e(0x13, "decimal_tiny", _dec("1E-6176")),
        _e(0x13, "decimal_nan", _dec("NaN")),
        _e(0x13, "decimal_neg_inf", _dec("-Infinity")),
        _e(0xFF, "minkey"),
        _e(0x7F, "maxkey"),
    ))
    leaf = _d(_e(0x08, "leaf", b"\x01"))
    part = _d(_e(0x04, "deeper", _a((0x03, leaf))))
    item_a = _d(_e(0x02, "sku", _bstr("a-1")), _e(0x10, "qty", _i32(1)),
                _e(0x04, "tags", _a((0x02, _bstr("x")), (0x02, _bstr("y")))))
    item_b = _d(_e(0x02, "sku", _bstr("b-2")), _e(0x10, "qty", _i32(2)),
                _e(0x04, "parts", _a((0x03, part))))
    docs.append(_d(_e(0x10, "_id", _i32(4)), _e(0x04, "items", _a((0x03, item_a), (0x03, item_b)))))
    nested = _d(_e(0x02, "bottom", _bstr("reached")))
    for level in range(40):
        nested = _d(_e(0x03, f"level{level}", nested))
    docs.append(_d(
        _e(0x10, "_id", _i32(5)),
        _e(0x02, "", _bstr("the key of this field is empty")),
        _e(0x03, "nested_empty_key", _d(_e(0x10, "", _i32(0)))),
        _e(0x02, "dotted.key", _bstr("a field name with a dot")),
        _e(0x02, "\u00fcnic\u00f8de \u2603", _bstr("a non-ASCII field name")),
        _e(0x03, "deep", nested),
    ))
    chunk = "cairn mongodb all-types large document - "
    big = (chunk * (1024 * 1024 // len(chunk) + 1))[:1024 * 1024]
    docs.append(_d(_e(0x10, "_id", _i32(6)), _e(0x02, "big", _bstr(big))))
    for d in docs:
        validate_document(d)
    return docs


def all_types_collection(db, name):
    return Collection(db, name, "collection", {}, None, None, all_types_documents())


# ---------------------------------------------------------------- writer

def _segments(coll, segment_docs):
    return [coll.docs[i:i + segment_docs] for i in range(0, len(coll.docs), segment_docs)]


def _ns_header(db, coll, eof, crc):
    return bson.encode({"db": db, "collection": coll, "EOF": eof, "CRC": Int64(crc)})


def build_archive(collections, segment_docs=1000, interleave=False,
                  server_version=DEFAULT_SERVER_VERSION, tool_version=TOOL_VERSION):
    if segment_docs < 1:
        raise ValueError("--segment-docs must be at least 1")
    out = [MAGIC, bson.encode({
        "concurrent_collections": 4 if interleave else 1,
        "version": FORMAT_VERSION,
        "server_version": server_version,
        "tool_version": tool_version,
    })]
    for c in collections:
        size = sum(len(d) for d in c.docs)
        out.append(bson.encode({
            "db": c.db, "collection": c.name, "metadata": c.metadata_text(),
            "size": size if size < (1 << 31) else Int64(size),
            "type": "" if c.type == "collection" else c.type,
        }))
    out.append(TERMINATOR)

    def segment(c, docs):
        return [_ns_header(c.db, c.name, False, 0)] + docs + [TERMINATOR]

    def eof(c):
        return [_ns_header(c.db, c.name, True, to_signed64(crc64(b"".join(c.docs)))), TERMINATOR]

    # Views too get their (empty) namespace's EOF: mongorestore creates a
    # view from an archive when that EOF arrives (mongo-tools opens every
    # intent's BSON file in archive mode, a view's included).
    with_data = list(collections)
    for c in collections:
        if c.type == "view" and c.docs:
            raise ValueError(f"view {c.ns} has documents")
    if interleave:
        pending = [(c, _segments(c, segment_docs)) for c in with_data]
        rnd = 0
        while pending:
            left = []
            for c, segs in pending:
                if rnd < len(segs):
                    out += segment(c, segs[rnd])
                if rnd + 1 >= len(segs):
                    out += eof(c)
                else:
                    left.append((c, segs))
            pending = left
            rnd += 1
    else:
        for c in with_data:
            for segs in _segments(c, segment_docs):
                out += segment(c, segs)
            out += eof(c)
    return b"".join(out)


# ---------------------------------------------------------------- reader

class ArchiveError(Exception):
    pass


def _expect_fields(pairs, spec, what):
    """pairs from typed_elements; spec [(key, allowed type bytes)], in order."""
    keys = [k for k, _, _ in pairs]
    want = [k for k, _ in spec]
    if keys != want:
        raise ArchiveError(f"bad {what}: fields {keys}, expected {want}")
    values = {}
    for (k, t, v), (_, types) in zip(pairs, spec):
        if t not in types:
            raise ArchiveError(f"bad {what}: field {k!r} has BSON type 0x{t:02x}")
        values[k] = v
    return values


_STR, _I32, _I64, _BOOL = (0x02,), (0x10,), (0x12,), (0x08,)


class _Reader:
    def __init__(self, data):
        self.data = data if isinstance(data, bytes) else bytes(data)
        self.pos = 0

    def at_end(self):
        return self.pos >= len(self.data)

    def need(self, n, what):
        if self.pos + n > len(self.data):
            raise ArchiveError(f"truncated archive: {what} at offset {self.pos} needs {n} bytes, "
                               f"{len(self.data) - self.pos} left")

    def peek_terminator(self, what):
        self.need(4, what)
        return self.data[self.pos:self.pos + 4] == TERMINATOR

    def document(self, what):
        """The next document's bytes, checked."""
        self.need(4, what)
        if self.data[self.pos:self.pos + 4] == TERMINATOR:
            raise ArchiveError(f"unexpected terminator at offset {self.pos}, expected {what}")
        size = _int32(self.data, self.pos)
        if size < 5 or size > MAX_DOC:
            raise ArchiveError(f"bad document length {size} at offset {self.pos} ({what})")
        self.need(size, what)
        raw = self.data[self.pos:self.pos + size]
        try:
            validate_document(raw)
        except BsonError as e:
            raise ArchiveError(f"bad BSON in {what} at offset {self.pos}: {e}")
        self.pos += size
        return raw

    def terminator(self, what):
        self.need(4, f"terminator after {what}")
        if self.data[self.pos:self.pos + 4] != TERMINATOR:
            raise ArchiveError(f"expected terminator after {what} at offset {self.pos}")
        self.pos += 4


def read_archive(data, keep=None):
    """Checks an archive; returns the summary dict (see the module doc).
    With keep=(db, coll), the result's "kept" holds that namespace's
    concatenated documents."""
    r = _Reader(data)
    r.need(4, "magic number")
    if bytes(r.data[:4]) != MAGIC:
        raise ArchiveError("bad magic number")
    r.pos = 4
    header = _expect_fields(typed_elements(r.document("header")), [
        ("concurrent_collections", _I32), ("version", _STR),
        ("server_version", _STR), ("tool_version", _STR)], "header")
    if header["version"] != FORMAT_VERSION:
        raise ArchiveError(f"bad header: version {header['version']!r}, expected {FORMAT_VERSION!r}")
    if header["concurrent_collections"] < 0:
        raise ArchiveError("bad header: negative concurrent_collections")

    colls = []
    by_ns = {}
    while not r.peek_terminator("collection metadata or the prelude's terminator"):
        at = r.pos
        m = _expect_fields(typed_elements(r.document("collection metadata")), [
            ("db", _STR), ("collection", _STR), ("metadata", _STR),
            ("size", _I32 + _I64), ("type", _STR)], f"collection metadata at offset {at}")
        ns = f"{m['db']}.{m['collection']}"
        if not m["db"] or not m["collection"]:
            raise ArchiveError(f"bad collection metadata at offset {at}: empty name")
        if ns in by_ns:
            raise ArchiveError(f"namespace {ns} appears twice in the prelude")
        if m["type"] not in ("", "view", "timeseries"):
            raise ArchiveError(f"bad collection metadata for {ns}: type {m['type']!r}")
        if m["size"] < 0:
            raise ArchiveError(f"bad collection metadata for {ns}: negative size")
        try:
            meta = json.loads(m["metadata"])
            json_util.loads(m["metadata"], json_options=JSON_OPTIONS)
        except Exception as e:  # json_util raises several types
            raise ArchiveError(f"bad metadata JSON for {ns}: {type(e).__name__}: {e}")
        if not isinstance(meta, dict):
            raise ArchiveError(f"bad metadata JSON for {ns}: not an object")
        if meta.get("collectionName") != m["collection"]:
            raise ArchiveError(f"bad metadata JSON for {ns}: collectionName "
                               f"{meta.get('collectionName')!r}")
        mtype = meta.get("type", "collection")
        if mtype != (m["type"] or "collection"):
            raise ArchiveError(f"bad metadata for {ns}: prelude type {m['type']!r}, "
                               f"metadata type {mtype!r}")
        if not isinstance(meta.get("indexes", []), list):
            raise ArchiveError(f"bad metadata JSON for {ns}: indexes is not an array")
        entry = {"db": m["db"], "collection": m["collection"], "type": m["type"],
                 "metadata": meta, "size": m["size"], "documents": 0, "bytes": 0,
                 "_sha": hashlib.sha256(), "_crc": Crc64(), "segments": 0, "eof": False}
        colls.append(entry)
        by_ns[ns] = entry
    r.pos += 4

    kept = []
    keep_ns = f"{keep[0]}.{keep[1]}" if keep else None
    while not r.at_end():
        at = r.pos
        h = _expect_fields(typed_elements(r.document("namespace header")), [
            ("db", _STR), ("collection", _STR), ("EOF", _BOOL), ("CRC", _I64)],
            f"namespace header at offset {at}")
        ns = f"{h['db']}.{h['collection']}"
        e = by_ns.get(ns)
        if e is None:
            raise ArchiveError(f"namespace {ns} at offset {at} is not in the prelude")
        if e["eof"]:
            raise ArchiveError(f"namespace {ns} has a block at offset {at} after its EOF")
        if not h["EOF"]:
            if h["CRC"] != 0:
                raise ArchiveError(f"namespace {ns}: segment header at offset {at} has CRC {h['CRC']}, not 0")
            if e["type"] == "view":
                raise ArchiveError(f"view {ns} has data at offset {at}")
            n = 0
            while not r.peek_terminator(f"a document of {ns} or the segment's terminator"):
                doc_at = r.pos
                raw = r.document(f"document of {ns}")
                try:
                    bson.decode(raw, codec_options=CODEC)
                except Exception as ex:  # bson raises several types
                    raise ArchiveError(f"document of {ns} at offset {doc_at} does not decode: {ex}")
                e["_sha"].update(raw)
                e["_crc"].update(raw)
                e["documents"] += 1
                e["bytes"] += len(raw)
                if ns == keep_ns:
                    kept.append(bytes(raw))
                n += 1
            r.pos += 4
            if n == 0:
                raise ArchiveError(f"namespace {ns}: empty segment at offset {at}")
            e["segments"] += 1
        else:
            r.terminator(f"EOF header of {ns}")
            got = e["_crc"].value()
            want = h["CRC"] & _MASK
            if got != want:
                raise ArchiveError(f"CRC mismatch for namespace {ns}: EOF says {want:016x}, "
                                   f"documents give {got:016x}")
            e["eof"] = True
    for e in colls:
        ns = f"{e['db']}.{e['collection']}"
        if not e["eof"] and (e["documents"] or e["type"] != "view"):
            raise ArchiveError(f"namespace {ns} has no EOF")
    if keep_ns and keep_ns not in by_ns:
        raise ArchiveError(f"namespace {keep_ns} is not in the archive")
    for e in colls:
        e["sha256"] = e.pop("_sha").hexdigest()
        e["crc64"] = "%016x" % e.pop("_crc").value()
    result = {"header": header, "collections": colls}
    if keep:
        result["kept"] = b"".join(kept)
    return result


# ---------------------------------------------------------------- CLI

def _read_input(path):
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as f:
        return f.read()


def _write_atomic(path, data):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def cmd_write(args):
    colls = load_data(args.data) if args.data else []
    if args.all_types:
        db, _, name = args.all_types.partition(".")
        if not db or not name:
            raise ValueError("--all-types takes DB.COLL")
        if any(c.db == db and c.name == name for c in colls):
            raise ValueError(f"--all-types {args.all_types}: DATA.json has that namespace too")
        colls.append(all_types_collection(db, name))
    data = build_archive(colls, args.segment_docs, args.interleave, args.server_version)
    _write_atomic(args.out, data)


def cmd_read(args):
    result = read_archive(_read_input(args.archive))
    text = json.dumps(result, indent=1, ensure_ascii=False) + "\n"
    if args.json:
        _write_atomic(args.json, text.encode("utf-8"))
    else:
        sys.stdout.write(text)


def cmd_bson_file(args):
    result = read_archive(_read_input(args.archive), keep=(args.db, args.coll))
    _write_atomic(args.out, result["kept"])


def main(argv=None):
    p = argparse.ArgumentParser(description="mongodump archives for cairn's tests")
    sub = p.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("--data")
    w.add_argument("--out", required=True)
    w.add_argument("--segment-docs", type=int, default=1000)
    w.add_argument("--interleave", action="store_true")
    w.add_argument("--server-version", default=DEFAULT_SERVER_VERSION)
    w.add_argument("--all-types", metavar="DB.COLL")
    r = sub.add_parser("read")
    r.add_argument("archive")
    r.add_argument("--json")
    b = sub.add_parser("bson-file")
    b.add_argument("archive")
    b.add_argument("db")
    b.add_argument("coll")
    b.add_argument("out")
    sub.add_parser("selftest")
    args = p.parse_args(argv)
    try:
        if args.cmd == "write":
            cmd_write(args)
        elif args.cmd == "read":
            cmd_read(args)
        elif args.cmd == "bson-file":
            cmd_bson_file(args)
        else:
            return selftest()
    except ArchiveError as e:
        print(str(e).replace("\n", " "), file=sys.stderr)
        return 2
    except Exception as e:  # bad input of any other kind: still one line, status 2
        print(f"{args.cmd}: {type(e).__name__}: {e}".replace("\n", " "), file=sys.stderr)
        return 2
    return 0


# ---------------------------------------------------------------- selftest

def _sample_data():
    return parse_extjson(json.dumps({
        "shop": {
            "orders": {
                "options": {"validator": {"$jsonSchema": {"bsonType": "object"}},
                            "validationLevel": "moderate"},
                "indexes": [{"v": 2, "key": {"_id": 1}, "name": "_id_"},
                            {"v": 2, "key": {"customer": 1, "at": -1}, "name": "customer_1_at_-1"}],
                "uuid": "0123456789abcdef0123456789abcdef",
                "documents": [{"_id": i, "customer": f"c{i % 3}", "total": {"$numberDecimal": f"{i}.50"},
                               "at": {"$date": {"$numberLong": str(1700000000000 + i)}}}
                              for i in range(7)],
            },
            "empty": {},
            "by_customer": {"type": "view",
                            "options": {"viewOn": "orders", "pipeline": [{"$match": {"total": {"$gt": 1}}}]}},
            "capped": {"options": {"capped": True, "size": 4096, "max": 10},
                       "documents": [{"n": {"$numberLong": "1"}, "_id": {"$oid": "65a1b2c3d4e5f60718293a4b"}}]},
        },
        "other": {
            "things": {"documents": [{"_id": "a", "u": {"$undefined": True}, "s": {"$symbol": "sym"},
                                      "p": {"$dbPointer": {"$ref": "x.y", "$id": {"$oid": "65a1b2c3d4e5f60718293a4b"}}},
                                      "nested": [{"u": {"$undefined": True}}]},
                                     {"_id": "b", "x": 1.0, "y": 2, "z": {"$numberLong": "3"}}]},
        },
    }))


def selftest():
    passed = failed = 0

    def check(name, cond, detail=""):
        nonlocal passed, failed
        if cond:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {name} {detail}", file=sys.stderr)

    check("crc check value", crc64(b"123456789") == 0x995DC9BBDF1939FA)
    blob = os.urandom(4099)
    c = Crc64()
    for i in range(0, len(blob), 333):
        c.update(blob[i:i + 333])
    slow = _MASK
    for byte in blob:
        slow = _T8[(slow ^ byte) & 0xFF] ^ (slow >> 8)
    check("crc pieces and 8-byte tables", c.value() == crc64(blob) == slow ^ _MASK)

    colls = load_data(_sample_data())
    colls.append(all_types_collection("types", "all"))
    things = [c for c in colls if c.name == "things"][0]
    t0 = things.docs[0]
    check("deprecated types encoded", b"\x06u\x00" in t0 and b"\x0es\x00" in t0 and b"\x0cp\x00" in t0)
    check("bson.encode puts _id first", [c for c in colls if c.name == "capped"][0].docs[0][4:9] == b"\x07_id\x00")

    # extended JSON round trips: canonical text -> parse -> encode gives the same bytes
    for coll in colls:
        for d in coll.docs:
            again = encode_document(parse_extjson(to_extjson_text(d)))
            check(f"canonical round trip {coll.ns}", again == d, to_extjson_text(d)[:200])
            json.loads(to_extjson_text(d, canonical=False))
    for d in all_types_documents():
        check("bson.decode all types", isinstance(bson.decode(d, codec_options=CODEC), dict))

    for interleave in (False, True):
        for seg in (1, 2, 1000):
            arc = build_archive(colls, seg, interleave)
            res = read_archive(arc)
            got = {f"{e['db']}.{e['collection']}": e for e in res["collections"]}
            for coll in colls:
                e = got[coll.ns]
                joined = b"".join(coll.docs)
                check("count", e["documents"] == len(coll.docs))
                check("sha", e["sha256"] == hashlib.sha256(joined).hexdigest())
                check("crc", e["crc64"] == "%016x" % crc64(joined))
                check("size", e["size"] == len(joined))
                want_segs = 0 if coll.type == "view" else -(-len(coll.docs) // seg)
                check("segments", e["segments"] == want_segs, f"{coll.ns} {e['segments']} {want_segs}")
                check("eof", e["eof"])
                check("metadata", e["metadata"] == json.loads(coll.metadata_text()))
                kept = read_archive(arc, keep=(coll.db, coll.name))["kept"]
                check("bson-file bytes", kept == joined)
            check("prelude order", [f"{e['db']}.{e['collection']}" for e in res["collections"]]
                  == [c.ns for c in colls])
            check("view type", got["shop.by_customer"]["type"] == "view"
                  and got["shop.by_customer"]["metadata"]["type"] == "view"
                  and "uuid" not in got["shop.by_customer"]["metadata"])
            check("options in metadata", got["shop.capped"]["metadata"]["options"]
                  == {"capped": True, "size": {"$numberInt": "4096"}, "max": {"$numberInt": "10"}})
            check("no options key when empty", "options" not in got["shop.empty"]["metadata"])

    # interleaving really interleaves
    arc = build_archive(colls[:1] + colls[4:5], 2, True)
    read_archive(arc)
    order = [(h["collection"], h["EOF"]) for h, _ in _blocks(arc)]
    check("interleaved order", order == [("orders", False), ("things", False), ("things", True),
                                          ("orders", False), ("orders", False), ("orders", False),
                                          ("orders", True)], str(order))

    # a small archive: every truncation fails, every flipped document byte is caught
    small = load_data(parse_extjson(json.dumps({
        "d": {"a": {"documents": [{"_id": 1, "x": "y"}, {"_id": 2, "v": 2.5}]},
              "e": {},
              "v": {"type": "view", "options": {"viewOn": "a", "pipeline": []}},
              "b": {"documents": [{"_id": {"$oid": "65a1b2c3d4e5f60718293a4b"}, "t": True}]}}})))
    for interleave in (False, True):
        arc = build_archive(small, 1, interleave)
        read_archive(arc)
        bad = [k for k in range(len(arc)) if not _fails(arc[:k])]
        check("every truncation fails", not bad, f"offsets {bad[:10]}")
        check("trailing garbage fails", _fails(arc + b"\x00") and _fails(arc + arc[-9:]))
        # flip every byte of every document
        spans = [span for _, doc_spans in _blocks(arc) for span in doc_spans]
        missed = []
        for start, end in spans:
            for k in range(start, end):
                for mask in (0x01, 0x80, 0xFF):
                    mod = bytearray(arc)
                    mod[k] ^= mask
                    if not _fails(bytes(mod)):
                        missed.append((k, mask))
        check("every flipped document byte is caught", not missed, str(missed[:10]))
        check("CRC mismatch is named", "CRC mismatch for namespace d.a" in _error(
            _flip_value(arc, b"y")))
        check("bad magic", _error(b"\x00" + arc[1:]) == "bad magic number")
        check("truncated wording", _error(arc[:-3]).startswith("truncated archive"))
    # missing EOF for a namespace with data
    arc = build_archive(small, 1000, False)
    no_eof = _drop_eof(arc, "a")
    check("missing EOF named", _error(no_eof) == "namespace d.a has no EOF", _error(no_eof))

    # CLI: exit statuses and files
    with tempfile.TemporaryDirectory() as tmp:
        data_path = os.path.join(tmp, "data.json")
        with open(data_path, "w") as f:
            json.dump({"d": {"a": {"documents": [{"_id": 1}, {"_id": 2}]}}}, f)
        out = os.path.join(tmp, "x.archive")
        me = [sys.executable, os.path.abspath(__file__)]
        run = subprocess.run(me + ["write", "--data", data_path, "--out", out, "--all-types", "t.all",
                                   "--interleave", "--segment-docs", "2"], capture_output=True)
        check("cli write", run.returncode == 0 and run.stdout == b"" and os.path.exists(out), run.stderr)
        run = subprocess.run(me + ["read", out], capture_output=True)
        summary = json.loads(run.stdout)
        check("cli read", run.returncode == 0 and [c["documents"] for c in summary["collections"]] == [2, 7])
        bf = os.path.join(tmp, "all.bson")
        run = subprocess.run(me + ["bson-file", out, "t", "all", bf], capture_output=True)
        with open(bf, "rb") as f:
            check("cli bson-file", run.returncode == 0 and f.read() == b"".join(all_types_documents()))
        with open(out, "rb") as f:
            whole = f.read()
        with open(out, "wb") as f:
            f.write(whole[:-5])
        run = subprocess.run(me + ["read", out], capture_output=True)
        err = run.stderr.decode().strip()
        check("cli truncated exit 2", run.returncode == 2 and err.startswith("truncated archive")
              and "\n" not in err, err)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def _error(data):
    try:
        read_archive(data)
    except ArchiveError as e:
        return str(e)
    return None


def _blocks(arc):
    """Walks a well-formed archive: per namespace header (segment or EOF),
    its fields and the (start, end) offsets of its documents."""
    r = _Reader(arc)
    r.pos = 4
    r.document("header")
    while not r.peek_terminator("x"):
        r.document("meta")
    r.pos += 4
    while not r.at_end():
        h = dict((k, v) for k, _, v in typed_elements(r.document("h")))
        spans = []
        while not r.peek_terminator("x"):
            start = r.pos
            r.document("d")
            spans.append((start, r.pos))
        r.pos += 4
        yield h, spans


def _fails(data):
    return _error(data) is not None


def _flip_value(arc, needle):
    k = arc.rindex(needle)
    mod = bytearray(arc)
    mod[k] ^= 0x01
    return bytes(mod)


def _drop_eof(arc, coll):
    hdr = _ns_header("d", coll, True, to_signed64(0))
    # find the EOF header of coll by its fields, whatever its CRC
    prefix = hdr[:hdr.index(b"CRC")]
    k = arc.index(prefix)
    size = _int32(arc, k)
    return arc[:k] + arc[k + size + 4:]


if __name__ == "__main__":
    sys.exit(main())
