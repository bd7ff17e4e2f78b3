"""An independent mongodump archive writer and reader (pymongo's bson
module and this file only), following mongo-tools' common/archive/spec.md.

  independent_archive.py write OUT DIR   archive of interleaved collections;
                                         DIR/<db>.<coll>.bson gets each
                                         collection's raw documents
  independent_archive.py read ARCHIVE    prints JSON: per namespace the
                                         document count, bytes, sha256 and
                                         the CRC check; exit 2 on damage
"""
import hashlib, json, struct, sys
import bson
from bson.raw_bson import RawBSONDocument
from bson import Binary, Code, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp
from bson.json_util import dumps, CANONICAL_JSON_OPTIONS

MAGIC = struct.pack("<I", 0x8199E26D)
TERM = b"\xff\xff\xff\xff"
POLY = 0xC96C5795D7870F42
TABLE = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ POLY if c & 1 else c >> 1
    TABLE.append(c)


def crc64(data, crc=0):
    crc ^= 0xFFFFFFFFFFFFFFFF
    for b in data:
        crc = TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFFFFFFFFFF


def raw_doc(elements):
    body = b"".join(elements) + b"\x00"
    return struct.pack("<i", len(body) + 4) + body


def el(tag, key, payload):
    return bytes([tag]) + key.encode() + b"\x00" + payload


def bstr(s):
    b = s.encode()
    return struct.pack("<i", len(b) + 1) + b + b"\x00"


def all_types():
    """Documents holding every BSON type, the deprecated ones as raw bytes."""
    docs = [bson.encode({"_id": 0, "d": 1.5, "s": "zażółć", "o": {"a": [1, {"b": None}]},
                         "b0": Binary(b"\x00\x01"), "b4": Binary(b"\x11" * 16, 4),
                         "b80": Binary(b"x", 0x80), "oid": ObjectId("64b7f0c2a1b2c3d4e5f60718"),
                         "t": True, "re": Regex("^a.*z$", "im"), "code": Code("f()"),
                         "cws": Code("g(x)", {"x": 1}), "i32": 7, "ts": Timestamp(1700000000, 3),
                         "i64": Int64(1 << 40), "dec": Decimal128("1.10"), "min": MinKey(),
                         "max": MaxKey(), "": "empty key"})]
    docs.append(raw_doc([el(0x10, "_id", struct.pack("<i", 1)), el(0x06, "undef", b""),
                         el(0x0E, "sym", bstr("symbol")),
                         el(0x0C, "ptr", bstr("db.c") + bytes(range(12))),
                         el(0x09, "before1970", struct.pack("<q", -86400000)),
                         el(0x09, "after9999", struct.pack("<q", 253402300800000 * 4))]))
    docs.append(bson.encode({"_id": 2, "big": "x" * (1 << 20)}))
    return docs


def metadata(coll, options=None, kind="collection"):
    m = {"indexes": [] if kind == "view" else [{"v": 2, "key": {"_id": 1}, "name": "_id_"}],
         "uuid": "00112233445566778899aabbccddeeff", "collectionName": coll, "type": kind}
    if options:
        m["options"] = options
    return dumps(m, json_options=CANONICAL_JSON_OPTIONS)


def write(out, outdir):
    colls = [("app", "types", all_types(), {}, ""),
             ("app", "users", [bson.encode({"_id": i, "name": "u%d" % i, "pad": "p" * (i % 50)})
                               for i in range(250)], {"collation": {"locale": "fr"}}, ""),
             ("app", "empty", [], {"capped": True, "size": 4096}, ""),
             ("app", "active", [], {"viewOn": "users", "pipeline": [{"$match": {"x": 1}}]}, "view"),
             ("logs", "events", [bson.encode({"_id": ObjectId(), "n": i}) for i in range(40)], {}, "")]
    parts = [MAGIC, bson.encode({"concurrent_collections": 4, "version": "0.1",
                                 "server_version": "7.0.14", "tool_version": "independent"})]
    for db, c, docs, opts, kind in colls:
        parts.append(bson.encode({"db": db, "collection": c,
                                  "metadata": metadata(c, opts, kind or "collection"),
                                  "size": sum(map(len, docs)), "type": kind}))
    parts.append(TERM)
    queues = [[db, c, list(docs), 0] for db, c, docs, _, _ in colls]
    while queues:  # round-robin segments of up to 7 documents
        for q in list(queues):
            db, c, docs, crc = q
            if docs:
                seg, q[2] = docs[:7], docs[7:]
                parts.append(bson.encode({"db": db, "collection": c, "EOF": False, "CRC": Int64(0)}))
                for d in seg:
                    q[3] = crc64(d, q[3])
                parts.extend(seg)
                parts.append(TERM)
            else:
                signed = crc - (1 << 64) if crc >= 1 << 63 else crc
                parts.append(bson.encode({"db": db, "collection": c, "EOF": True, "CRC": Int64(signed)}))
                parts.append(TERM)
                queues.remove(q)
    open(out, "wb").write(b"".join(parts))
    for db, c, docs, _, _ in colls:
        open("%s/%s.%s.bson" % (outdir, db, c), "wb").write(b"".join(docs))


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(2)


def read(path):
    data = open(path, "rb").read()
    pos = 0

    def item():
        nonlocal pos
        if pos + 4 > len(data):
            fail("truncated archive at byte %d" % pos)
        if data[pos:pos + 4] == TERM:
            pos += 4
            return None
        n = struct.unpack_from("<i", data, pos)[0]
        if n < 5 or pos + n > len(data) or data[pos + n - 1] != 0:
            fail("truncated or damaged document at byte %d" % pos)
        d = data[pos:pos + n]
        pos += n
        return d

    if data[:4] != MAGIC:
        fail("bad magic number")
    pos = 4
    header = bson.decode(item())
    if header.get("version") != "0.1":
        fail("unknown version")
    prelude = []
    while True:
        d = item()
        if d is None:
            break
        prelude.append(bson.decode(d))
    state = {"%s.%s" % (m["db"], m["collection"]): [0, 0, hashlib.sha256(), 0, False] for m in prelude}
    while pos < len(data):
        h = bson.decode(item())
        ns = "%s.%s" % (h["db"], h["collection"])
        s = state.get(ns) or fail("namespace %s not in the prelude" % ns)
        if h["EOF"]:
            if item() is not None:
                fail("no terminator after the EOF of %s" % ns)
            if (h["CRC"] & 0xFFFFFFFFFFFFFFFF) != s[3]:
                fail("CRC mismatch for namespace %s" % ns)
            s[4] = True
            continue
        while True:
            d = item()
            if d is None:
                break
            bson.decode(d, codec_options=bson.CodecOptions(document_class=RawBSONDocument))
            s[0] += 1
            s[1] += len(d)
            s[2].update(d)
            s[3] = crc64(d, s[3])
    for ns, s in state.items():
        if not s[4]:
            fail("namespace %s has no EOF" % ns)
    print(json.dumps({"header": header, "collections": [
        {"ns": ns, "documents": s[0], "bytes": s[1], "sha256": s[2].hexdigest(),
         "metadata": json.loads(m["metadata"]), "type": m["type"]}
        for (ns, s), m in zip(state.items(), prelude)]}))


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3])
    else:
        read(sys.argv[2])
