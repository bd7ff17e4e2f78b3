#!/usr/bin/env python3
"""A stateful fake MongoDB server for cairn's tests, on mockupdb.

mockupdb (MongoDB's wire-protocol test server) reads and writes the
messages (OP_MSG, and OP_QUERY for the legacy handshake); this file keeps
databases, collections, indexes, documents and cursors, and answers the
commands a backup and a restore make, in the shapes a real mongod 7.0 uses.
One loop on the main thread answers every connection, in arrival order.

Usage: mongod.py --port-file F [--port P] [--record REQ.jsonl]
         [--data DATA.json] [--state STATE.json] [--batch N]
         [--replica-set NAME] [--fail-getmore K] [--version 7.0.14]
         [--all-types DB.COLL] [--system-dbs]

  --port-file F   the port (on 127.0.0.1; free unless --port) is written to F
                  (via F.tmp and a rename) once the server answers
  --record        appends one JSON line per command received: {"cmd", "db",
                  "doc"}, doc in relaxed extended JSON with document
                  sequences under their identifier; flushed line by line
  --data          initial databases, DATA.json format (see mongo_archive.py);
                  documents kept exactly as mongo_archive.load_data encodes them
  --state         rewritten (tmp + rename) at start and after every write
                  command: the whole state in DATA.json format, canonical
                  extended JSON (every BSON type, deprecated ones included)
  --batch N       the server's largest batch (default 3): a find, aggregate or
                  getMore returns min(batchSize, N) documents, at most 16 MiB
  --replica-set   hello reports the primary of a replica set of that name;
                  snapshot reads need it (a standalone refuses them with
                  NotAReplicaSet, as a real 5.0+ standalone does)
  --fail-getmore K  the K-th getMore (1-based, over the server's life) fails
                  with CursorNotFound (43), and its cursor is gone
  --version       buildInfo's version; maxWireVersion follows it (7.0 -> 21)
  --all-types     adds DB.COLL holding mongo_archive.py's every-BSON-type docs
  --system-dbs    adds admin, config and local as a fresh server has them

Commands: hello/isMaster, ping, buildInfo, getParameter, endSessions,
connectionStatus, whatsmyuri, serverStatus, listDatabases, listCollections,
listIndexes, find, getMore, killCursors, aggregate ($match, $sort, $skip,
$limit, $count, constant $group with {$sum: 1}), count, create,
createIndexes, insert, delete, drop, dropDatabase; anything else answers
CommandNotFound (59). Every reply carries operationTime and $clusterTime;
the cluster time moves one increment per write that changed something.
Filters: equality (numbers of any type equal, arrays match an element,
dotted paths, null matches missing), $eq $ne $gt $gte $lt $lte $in $nin
$exists $regex $not $size $and $or $nor. Projection, hint and collation are
ignored. readConcern snapshot is taken by find, aggregate, getMore and
killCursors only (others answer InvalidOptions, 72); a snapshot
find sees the documents inserted at or before its atClusterTime.

Documents are kept as the raw bytes that were loaded or inserted and sent
back as they are; an insert puts _id first (and adds an ObjectId _id if
missing), as mongod does.
"""

import argparse
import datetime
import decimal
import errno
import functools
import json
import os
import random
import re
import socket
import sys
import time
import traceback
import uuid as uuidlib
import weakref
from collections.abc import Mapping

import bson
from bson.binary import Binary, UuidRepresentation
from bson.code import Code
from bson.codec_options import CodecOptions, DatetimeConversion
from bson.datetime_ms import DatetimeMS
from bson.dbref import DBRef
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.objectid import ObjectId
from bson.raw_bson import RawBSONDocument
from bson.regex import Regex
from bson.timestamp import Timestamp

import mockupdb

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mongo_archive as ma  # noqa: E402

RAW_CODEC = CodecOptions(document_class=RawBSONDocument, tz_aware=True,
                         datetime_conversion=DatetimeConversion.DATETIME_AUTO,
                         uuid_representation=UuidRepresentation.UNSPECIFIED)
CHECK_CODEC = CodecOptions(tz_aware=True, datetime_conversion=DatetimeConversion.DATETIME_AUTO,
                           uuid_representation=UuidRepresentation.UNSPECIFIED)
MAX_BSON = 16 * 1024 * 1024
MAX_MESSAGE = 48000000
MAX_BATCH_BYTES = 16 * 1024 * 1024
UTC = datetime.timezone.utc
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)

# Fields a driver adds to any command; create keeps everything else as options.
DRIVER_FIELDS = {"lsid", "$db", "$clusterTime", "writeConcern", "txnNumber", "autocommit",
                 "startTransaction", "$readPreference", "readConcern", "comment", "maxTimeMS",
                 "apiVersion", "apiStrict", "apiDeprecationErrors"}
WRITE_COMMANDS = {"create", "createIndexes", "insert", "drop", "dropDatabase", "delete",
                  "dropIndexes"}
# Commands that take readConcern level snapshot outside a transaction (a
# driver's snapshot session sends it on its getMores and killCursors too).
# maxWireVersion by server release.
WIRE_VERSIONS = {"4.0": 7, "4.2": 8, "4.4": 9, "5.0": 13, "5.1": 14, "5.2": 15, "5.3": 16,
                 "6.0": 17, "6.1": 18, "6.2": 19, "6.3": 20, "7.0": 21, "7.1": 22, "7.2": 23,
                 "7.3": 24, "8.0": 25, "8.1": 26, "8.2": 27}
SNAPSHOT_COMMANDS = {"find", "aggregate", "distinct", "getMore", "killCursors"}


# ---------------------------------------------------------- mockupdb set-up

def _configure_mockupdb():
    # Keep every document mockupdb reads as raw bytes (RawBSONDocument), so
    # inserted documents are stored exactly as sent, whatever their types.
    mockupdb.CODEC_OPTIONS = RAW_CODEC
    # mockupdb formats every request and reply for its log even when not
    # verbose; make that cheap (a batch can be 16 MiB).
    mockupdb.docs_repr = lambda *docs: "<%d documents>" % len(docs)

    # Read a whole message into one buffer instead of concatenating chunks.
    def receive(sock, length):
        buf = bytearray(length)
        view = memoryview(buf)
        got = 0
        while got < length:
            n = sock.recv_into(view[got:], length - got)
            if n == 0:
                raise socket.error(errno.ECONNRESET, "closed")
            got += n
        return bytes(buf)

    mockupdb.mock_server_receive = receive

    # mockupdb asks for the peer's port to log each request; a client that
    # already hung up must not kill the connection's thread.
    peer_port = mockupdb.Request.client_port.fget

    def client_port(self):
        try:
            return peer_port(self)
        except OSError:
            return 0

    mockupdb.Request.client_port = property(client_port)


# ---------------------------------------------------------- values

class CommandError(Exception):
    def __init__(self, code, name, msg, **extra):
        super().__init__(msg)
        self.code, self.code_name, self.msg, self.extra = code, name, msg, extra


MISSING = object()


def plain(v):
    """Raw or ordered documents to dicts, recursively (for matching)."""
    if isinstance(v, (RawBSONDocument, Mapping)) and not isinstance(v, DBRef):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


def _rank(v):
    if isinstance(v, MinKey):
        return 1
    if v is None or v is MISSING:
        return 2
    if isinstance(v, bool):
        return 9
    if isinstance(v, (int, float, Decimal128, decimal.Decimal)):
        return 3
    if isinstance(v, Code):
        return 14
    if isinstance(v, str):
        return 4
    if isinstance(v, (dict, DBRef)):
        return 5
    if isinstance(v, list):
        return 6
    if isinstance(v, (bytes, Binary)):
        return 7
    if isinstance(v, ObjectId):
        return 8
    if isinstance(v, (datetime.datetime, DatetimeMS)):
        return 10
    if isinstance(v, Timestamp):
        return 11
    if isinstance(v, (Regex, re.Pattern)):
        return 12
    if isinstance(v, MaxKey):
        return 15
    return 13


def _num(v):
    if isinstance(v, Decimal128):
        return v.to_decimal()
    return v


def _ms(v):
    if isinstance(v, DatetimeMS):
        return int(v)
    if v.tzinfo is None:
        v = v.replace(tzinfo=UTC)
    return (v - EPOCH) // datetime.timedelta(milliseconds=1)


def _sign(x):
    return (x > 0) - (x < 0)


def bson_cmp(a, b):
    """MongoDB's comparison order, for the value types a test uses."""
    ra, rb = _rank(a), _rank(b)
    if ra != rb:
        return _sign(ra - rb)
    if ra == 3:
        x, y = _num(a), _num(b)
        xn, yn = x != x, y != y  # NaN sorts first
        if xn or yn:
            return _sign(yn - xn) if not (xn and yn) else 0
        return (x > y) - (x < y)
    if ra in (4, 14):
        return (str(a) > str(b)) - (str(a) < str(b))
    if ra == 5:
        if isinstance(a, DBRef):
            a = a.as_doc().to_dict()
        if isinstance(b, DBRef):
            b = b.as_doc().to_dict()
        for (ka, va), (kb, vb) in zip(a.items(), b.items()):
            c = _sign(_rank(va) - _rank(vb)) or (ka > kb) - (ka < kb) or bson_cmp(va, vb)
            if c:
                return c
        return _sign(len(a) - len(b))
    if ra == 6:
        for x, y in zip(a, b):
            c = bson_cmp(x, y)
            if c:
                return c
        return _sign(len(a) - len(b))
    if ra == 7:
        sa = a.subtype if isinstance(a, Binary) else 0
        sb = b.subtype if isinstance(b, Binary) else 0
        ka, kb = (len(a), sa, bytes(a)), (len(b), sb, bytes(b))
        return (ka > kb) - (ka < kb)
    if ra == 8:
        return (a.binary > b.binary) - (a.binary < b.binary)
    if ra == 9:
        return int(a) - int(b)
    if ra == 10:
        x, y = _ms(a), _ms(b)
        return (x > y) - (x < y)
    if ra == 11:
        x, y = (a.time, a.inc), (b.time, b.inc)
        return (x > y) - (x < y)
    if ra == 12:
        x, y = (a.pattern, str(a.flags)), (b.pattern, str(b.flags))
        return (x > y) - (x < y)
    return 0


def _resolve(value, parts):
    if not parts:
        if isinstance(value, list):
            return [value] + value
        return [value]
    if isinstance(value, dict):
        if parts[0] in value:
            return _resolve(value[parts[0]], parts[1:])
        return [MISSING]
    if isinstance(value, list):
        out = []
        if parts[0].isdigit() and int(parts[0]) < len(value):
            out += _resolve(value[int(parts[0])], parts[1:])
        for el in value:
            if isinstance(el, dict):
                out += [x for x in _resolve(el, parts) if x is not MISSING]
        return out or [MISSING]
    return [MISSING]


def _regex(v):
    if isinstance(v, re.Pattern):
        return v
    if isinstance(v, Regex):
        return v.try_compile()
    return re.compile(v)


def _eq(c, v):
    if isinstance(v, (Regex, re.Pattern)):
        return isinstance(c, str) and _regex(v).search(c) is not None or \
            (isinstance(c, (Regex, re.Pattern)) and bson_cmp(c, v) == 0)
    if c is MISSING:
        return v is None
    return bson_cmp(c, v) == 0


def _is_operator_doc(cond):
    return isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond)


def _field_match(cands, cond):
    if not _is_operator_doc(cond):
        return any(_eq(c, cond) for c in cands)
    for op, v in cond.items():
        if op == "$eq":
            ok = any(_eq(c, v) for c in cands)
        elif op == "$ne":
            ok = not any(_eq(c, v) for c in cands)
        elif op in ("$gt", "$gte", "$lt", "$lte"):
            want = {"$gt": (1,), "$gte": (0, 1), "$lt": (-1,), "$lte": (-1, 0)}[op]
            ok = any(c is not MISSING and _rank(c) == _rank(v) and bson_cmp(c, v) in want
                     for c in cands)
        elif op == "$in":
            ok = any(_eq(c, x) for c in cands for x in v)
        elif op == "$nin":
            ok = not any(_eq(c, x) for c in cands for x in v)
        elif op == "$exists":
            ok = any(c is not MISSING for c in cands) == bool(v)
        elif op == "$regex":
            pat = _regex(v) if "$options" not in cond else re.compile(
                v if isinstance(v, str) else v.pattern, _re_flags(cond["$options"]))
            ok = any(isinstance(c, str) and pat.search(c) for c in cands)
        elif op == "$options":
            ok = True
        elif op == "$not":
            ok = not _field_match(cands, v)
        elif op == "$size":
            ok = any(isinstance(c, list) and len(c) == v for c in cands)
        else:
            raise CommandError(2, "BadValue", f"unknown operator: {op}")
        if not ok:
            return False
    return True


def _re_flags(options):
    flags = 0
    for ch in options:
        flags |= {"i": re.I, "m": re.M, "s": re.S, "x": re.X}.get(ch, 0)
    return flags


def matches(doc, filt):
    for k, cond in filt.items():
        if k == "$and":
            ok = all(matches(doc, f) for f in cond)
        elif k == "$or":
            ok = any(matches(doc, f) for f in cond)
        elif k == "$nor":
            ok = not any(matches(doc, f) for f in cond)
        elif k == "$comment":
            ok = True
        elif k.startswith("$"):
            raise CommandError(2, "BadValue", f"unknown top level operator: {k}")
        else:
            ok = _field_match(_resolve(doc, k.split(".")), cond)
        if not ok:
            return False
    return True


def first_span(raw):
    """(key, type, element start, value start, element end) of a checked
    document's first element, or None if it has none."""
    t = raw[4]
    if t == 0:
        return None
    z = raw.index(b"\x00", 5)
    _, end = ma._value(raw, t, z + 1, len(raw) - 1, None, 0)
    return raw[5:z].decode("utf-8"), t, 4, z + 1, end


def id_only(raw):
    """The document {_id: <raw's first element>}."""
    _, _, start, _, end = first_span(raw)
    body = raw[start:end]
    return (len(body) + 5).to_bytes(4, "little") + body + b"\x00"


def id_key(raw):
    """A hashable key of a raw document's _id (which is first), equating
    numbers of different types as the _id index does; None without _id."""
    span = first_span(raw)
    if span is None or span[0] != "_id":
        return None
    _, t, _, vstart, end = span
    val = raw[vstart:end]
    if t in (0x01, 0x10, 0x12, 0x13):
        n = bson.decode(id_only(raw), codec_options=CHECK_CODEC)["_id"]
        return ("n", _num(n))
    if t in (0x02, 0x0E):
        return ("s", val)
    return (t, val)


# ---------------------------------------------------------- state

class Doc:
    __slots__ = ("raw", "doc", "ts", "_json", "_plain")

    def __init__(self, raw, ts):
        self.raw = raw
        self.doc = RawBSONDocument(raw, codec_options=RAW_CODEC)
        self.ts = ts
        self._json = None
        self._plain = None

    def json(self):
        if self._json is None:
            self._json = ma.to_extjson_text(self.raw, canonical=True)
        return self._json

    def plain(self):
        if self._plain is None:
            self._plain = plain(self.doc)
        return self._plain


class Coll:
    def __init__(self, name, type="collection", options=None, indexes=None, uuid=None):
        self.name, self.type = name, type
        self.options = dict(options or {})
        if indexes is None:
            indexes = [] if type == "view" else [dict(ma.ID_INDEX)]
        self.indexes = list(indexes)
        if type == "view":
            self.uuid = uuid
        else:
            self.uuid = uuid or uuidlib.uuid4().hex
        self.docs = []
        self.ids = set()

    def uuid_binary(self):
        return Binary(bytes.fromhex(self.uuid), 4)

    def add(self, raw, ts, key=None):
        self.docs.append(Doc(raw, ts))
        key = key or id_key(raw)
        if key is not None:
            self.ids.add(key)


def fix_for_insert(raw):
    """What mongod stores for an inserted document: _id first, an ObjectId
    _id added when there is none."""
    if raw[4] != 0 and raw[5:9] == b"_id\x00":
        return raw
    spans = ma.element_spans(raw)
    ids = [s for s in spans if s[0] == "_id"]
    if not ids:
        body = b"\x07_id\x00" + ObjectId().binary + raw[4:-1]
    else:
        _, _, start, _, end = ids[0]
        body = raw[start:end] + raw[4:start] + raw[end:-1]
    return (len(body) + 5).to_bytes(4, "little") + body + b"\x00"


class Server:
    def __init__(self, args):
        self.args = args
        self.dbs = {}
        now = int(time.time())
        self.start_time = Timestamp(now, 1)
        self.cluster = (now, 1)
        self.cursors = {}
        self.getmores = 0
        self.conn_ids = weakref.WeakKeyDictionary()
        self.next_conn = 1
        self.port = None
        self.record = open(args.record, "a", encoding="utf-8") if args.record else None
        self.election_id = ObjectId("7fffffff0000000000000001")
        self.wire_version = WIRE_VERSIONS.get(".".join(args.version.split(".")[:2]), 21)
        if args.data:
            for c in ma.load_data(args.data):
                self._load(c)
        if args.all_types:
            db, _, name = args.all_types.partition(".")
            self._load(ma.all_types_collection(db, name))
        if args.system_dbs:
            self._system_dbs()

    def _load(self, c):
        colls = self.dbs.setdefault(c.db, {})
        if c.name in colls:
            raise ValueError(f"{c.ns} is loaded twice")
        coll = Coll(c.name, c.type, c.options, c.indexes, c.uuid)
        for raw in c.docs:  # kept as loaded (bson.encode put _id first)
            key = id_key(raw)
            if key is not None and key in coll.ids:
                raise ValueError(f"{c.ns}: duplicate _id in the data")
            coll.add(raw, self.cluster, key)
        colls[c.name] = coll

    def _system_dbs(self):
        major_minor = ".".join(self.args.version.split(".")[:2])
        admin = self.dbs.setdefault("admin", {})
        admin.setdefault("system.version", Coll("system.version")).add(
            bson.encode({"_id": "featureCompatibilityVersion", "version": major_minor}), self.cluster)
        config = self.dbs.setdefault("config", {})
        config.setdefault("system.sessions", Coll("system.sessions", indexes=[
            dict(ma.ID_INDEX),
            {"v": 2, "key": {"lastUse": 1}, "name": "lsidTTLIndex", "expireAfterSeconds": 1800}]))
        local = self.dbs.setdefault("local", {})
        startup = local.setdefault("startup_log", Coll("startup_log", options={"capped": True, "size": 10485760}))
        startup.add(bson.encode({"_id": f"fake-{os.getpid()}", "hostname": "fake",
                                 "startTime": datetime.datetime.now(UTC), "pid": Int64(os.getpid())}),
                    self.cluster)
        if self.args.replica_set:
            local.setdefault("oplog.rs", Coll("oplog.rs", options={"capped": True, "size": 1073741824},
                                              indexes=[]))

    # ---------------------------------------------------------- time

    def now_ts(self):
        return Timestamp(*self.cluster)

    def advance(self):
        secs, inc = self.cluster
        self.cluster = (secs, inc + 1)

    # ---------------------------------------------------------- files

    def write_state(self):
        path = self.args.state
        if not path:
            return
        parts = ["{"]
        first_db = True
        for db, colls in self.dbs.items():
            if not colls:
                continue
            parts.append(("" if first_db else ",") + "\n " + json.dumps(db) + ": {")
            first_db = False
            for i, (name, c) in enumerate(colls.items()):
                parts.append(("," if i else "") + "\n  " + json.dumps(name) + ": {")
                parts.append('"type": ' + json.dumps(c.type))
                parts.append(', "options": ' + ma.to_extjson_text(ma.encode_document(c.options)))
                parts.append(', "indexes": [' + ", ".join(
                    ma.to_extjson_text(ma.encode_document(ix)) for ix in c.indexes) + "]")
                if c.uuid:
                    parts.append(', "uuid": ' + json.dumps(c.uuid))
                if c.docs:
                    parts.append(', "documents": [\n   ' +
                                 ",\n   ".join(d.json() for d in c.docs) + "\n  ]}")
                else:
                    parts.append(', "documents": []}')
            parts.append("\n }")
        parts.append("\n}\n")
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("".join(parts))
        os.replace(tmp, path)

    def record_command(self, name, db, doc):
        if not self.record:
            return
        try:
            raw = bytes(doc.raw) if isinstance(doc, RawBSONDocument) else bson.encode(doc, codec_options=RAW_CODEC)
            ext = ma.to_extjson(raw, canonical=False)
        except Exception as e:  # never let the log stop the server
            ext = {"unrecordable": str(e)}
        self.record.write(json.dumps({"cmd": name, "db": db, "doc": ext}, ensure_ascii=False) + "\n")
        self.record.flush()

    # ---------------------------------------------------------- dispatch

    def handle(self, req):
        if isinstance(req, mockupdb.OpMsg):
            doc = req.doc
            db = doc.get("$db", "admin")
            more_to_come = bool(req.flags & mockupdb.OP_MSG_FLAGS["moreToCome"])
        elif isinstance(req, mockupdb.Command):
            doc = req.doc
            if "$query" in doc:
                doc = doc["$query"]
            db = req.namespace
            more_to_come = False
        else:
            # Legacy opcodes (OP_QUERY on a collection, OP_GET_MORE, ...):
            # no driver of this age sends them.
            if isinstance(req, mockupdb.OpQuery):
                req.fail("legacy OP_QUERY is not supported by this fake server")
            return
        name = next(iter(doc), "")
        self.record_command(name, db, doc)
        try:
            body = self.dispatch(name, db, plain_top(doc), req)
            reply = dict(body)
            reply["ok"] = 1.0
        except CommandError as e:
            reply = {"ok": 0.0, "errmsg": e.msg, "code": e.code, "codeName": e.code_name}
            reply.update(e.extra)
        except Exception as e:  # a bug here must not hang the client
            traceback.print_exc()
            reply = {"ok": 0.0, "errmsg": f"fake server internal error: {type(e).__name__}: {e}",
                     "code": 1, "codeName": "InternalError"}
        if name in WRITE_COMMANDS:
            self.write_state()
        ts = self.now_ts()
        reply["$clusterTime"] = {"clusterTime": ts,
                                 "signature": {"hash": Binary(b"\x00" * 20, 0), "keyId": Int64(0)}}
        reply["operationTime"] = ts
        if more_to_come:
            return
        try:
            req.replies(reply)
        except OSError:
            pass  # the client went away

    def dispatch(self, name, db, cmd, req):
        lname = name.lower()
        if lname in ("hello", "ismaster"):
            return self.hello(name, req)
        rc = cmd.get("readConcern")
        if isinstance(rc, dict) and rc.get("level") == "snapshot":
            if name not in SNAPSHOT_COMMANDS:
                raise CommandError(72, "InvalidOptions",
                                   f"Command {name} does not support {{ readConcern: {{ level: \"snapshot\" }} }}"
                                   " :: caused by :: read concern not supported")
            if not self.args.replica_set:
                raise CommandError(123, "NotAReplicaSet",
                                   "node needs to be a replica set member to use readConcern: snapshot")
        handler = getattr(self, "cmd_" + name, None)
        if handler is None and lname == "buildinfo":
            handler = self.cmd_buildInfo
        if handler is None:
            raise CommandError(59, "CommandNotFound", f"no such command: '{name}'")
        return handler(db, cmd, req)

    # ---------------------------------------------------------- handshake

    def hello(self, name, req):
        conn = self.conn_ids.get(req._client)
        if conn is None:
            conn = self.conn_ids[req._client] = self.next_conn
            self.next_conn += 1
        r = {}
        me = f"127.0.0.1:{self.port}"
        if self.args.replica_set:
            r.update({"hosts": [me], "setName": self.args.replica_set, "setVersion": 1})
        if name == "hello":
            r["isWritablePrimary"] = True
        else:
            r["ismaster"] = True
        r["helloOk"] = True
        if self.args.replica_set:
            now = datetime.datetime.now(UTC).replace(microsecond=0)
            op = {"ts": self.now_ts(), "t": Int64(1)}
            r.update({"secondary": False, "primary": me, "me": me, "electionId": self.election_id,
                      "lastWrite": {"opTime": op, "lastWriteDate": now,
                                    "majorityOpTime": op, "majorityWriteDate": now}})
        r.update({"maxBsonObjectSize": MAX_BSON, "maxMessageSizeBytes": MAX_MESSAGE,
                  "maxWriteBatchSize": 100000,
                  "localTime": datetime.datetime.now(UTC),
                  "logicalSessionTimeoutMinutes": 30, "connectionId": conn,
                  "minWireVersion": 0, "maxWireVersion": self.wire_version, "readOnly": False})
        return r

    def cmd_ping(self, db, cmd, req):
        return {}

    def cmd_buildInfo(self, db, cmd, req):
        parts = [int(x) for x in re.findall(r"\d+", self.args.version)[:3]]
        parts += [0] * (4 - len(parts))
        return {"version": self.args.version, "gitVersion": "0" * 40, "modules": [],
                "allocator": "tcmalloc", "javascriptEngine": "mozjs", "sysInfo": "deprecated",
                "versionArray": parts, "bits": 64, "debug": False, "maxBsonObjectSize": MAX_BSON,
                "storageEngines": ["devnull", "wiredTiger"]}

    def cmd_getParameter(self, db, cmd, req):
        major_minor = ".".join(self.args.version.split(".")[:2])
        known = {"featureCompatibilityVersion": {"version": major_minor}}
        want_all = cmd.get("getParameter") == "*"
        out = {k: v for k, v in known.items() if want_all or k in cmd}
        if not out:
            raise CommandError(72, "InvalidOptions", "no option found to get")
        return out

    def cmd_endSessions(self, db, cmd, req):
        return {}

    def cmd_connectionStatus(self, db, cmd, req):
        return {"authInfo": {"authenticatedUsers": [], "authenticatedUserRoles": []}}

    def cmd_whatsmyuri(self, db, cmd, req):
        return {"you": f"127.0.0.1:{req.client_port}"}

    def cmd_serverStatus(self, db, cmd, req):
        return {"host": "fake", "version": self.args.version, "process": "mongod",
                "pid": Int64(os.getpid()), "uptime": 1.0, "localTime": datetime.datetime.now(UTC)}

    # ---------------------------------------------------------- catalog

    def _coll(self, db, name):
        return self.dbs.get(db, {}).get(name)

    def _ns_name(self, cmd, name):
        v = cmd.get(name)
        if not isinstance(v, str) or not v:
            raise CommandError(73, "InvalidNamespace", f"collection name has invalid type {type(v).__name__}")
        return v

    def _db_size(self, colls):
        return sum(4096 * (1 + len(c.indexes)) + sum(len(d.raw) for d in c.docs) for c in colls.values())

    def cmd_listDatabases(self, db, cmd, req):
        filt = cmd.get("filter") or {}
        name_only = bool(cmd.get("nameOnly"))
        out = []
        total = 0
        for name, colls in sorted(self.dbs.items()):
            if not colls:
                continue
            size = self._db_size(colls)
            entry = {"name": name} if name_only else {"name": name, "sizeOnDisk": Int64(size), "empty": False}
            if filt and not matches({"name": name, "sizeOnDisk": size, "empty": False}, filt):
                continue
            out.append(entry)
            total += size
        if name_only:
            return {"databases": out}
        return {"databases": out, "totalSize": Int64(total), "totalSizeMb": Int64(total >> 20)}

    def _coll_entry(self, c):
        e = {"name": c.name, "type": c.type, "options": c.options}
        if c.type == "view":
            e["info"] = {"readOnly": True}
        else:
            e["info"] = {"readOnly": False, "uuid": c.uuid_binary()}
            ids = [ix for ix in c.indexes if ix.get("name") == "_id_"]
            if ids and c.type == "collection":
                e["idIndex"] = ids[0]
        return e

    def cmd_listCollections(self, db, cmd, req):
        filt = cmd.get("filter") or {}
        name_only = bool(cmd.get("nameOnly"))
        batch = []
        for c in self.dbs.get(db, {}).values():
            e = self._coll_entry(c)
            if filt and not matches(plain(e), filt):
                continue
            batch.append({"name": c.name, "type": c.type} if name_only else e)
        return {"cursor": {"id": Int64(0), "ns": f"{db}.$cmd.listCollections", "firstBatch": batch}}

    def cmd_listIndexes(self, db, cmd, req):
        name = self._ns_name(cmd, "listIndexes")
        c = self._coll(db, name)
        if c is None:
            raise CommandError(26, "NamespaceNotFound", f"ns does not exist: {db}.{name}")
        if c.type == "view":
            raise CommandError(166, "CommandNotSupportedOnView", f"Namespace {db}.{name} is a view, not a collection")
        return {"cursor": {"id": Int64(0), "ns": f"{db}.{name}", "firstBatch": c.indexes}}

    # ---------------------------------------------------------- reads

    def _batch_limit(self, requested):
        n = self.args.batch
        if requested is not None:
            n = min(n, int(requested))
        return n

    def _take(self, cur, limit):
        out = []
        size = 0
        docs = cur["docs"]
        while cur["pos"] < len(docs) and len(out) < limit and cur["remaining"] != 0:
            d = docs[cur["pos"]]
            if out and size + len(d.raw) > MAX_BATCH_BYTES:
                break
            out.append(d.doc)
            size += len(d.raw)
            cur["pos"] += 1
            if cur["remaining"] > 0:
                cur["remaining"] -= 1
        done = cur["pos"] >= len(docs) or cur["remaining"] == 0
        return out, done

    def _snapshot_time(self, cmd):
        rc = cmd.get("readConcern")
        if not (isinstance(rc, dict) and rc.get("level") == "snapshot"):
            return None
        at = rc.get("atClusterTime")
        if at is None:
            return self.now_ts()
        if not isinstance(at, Timestamp):
            raise CommandError(2, "BadValue", "atClusterTime must be a Timestamp")
        if (at.time, at.inc) > self.cluster:
            raise CommandError(72, "InvalidOptions",
                               "readConcern atClusterTime value must not be greater than the current clusterTime")
        if at < self.start_time:
            raise CommandError(239, "SnapshotTooOld",
                               "Read timestamp is older than the oldest available timestamp")
        return at

    def _open_cursor(self, db, name, docs, cmd, first_limit, single, remaining, at):
        cur = {"ns": f"{db}.{name}", "coll": name, "docs": docs, "pos": 0, "remaining": remaining}
        batch, done = self._take(cur, first_limit)
        cid = 0
        if not done and not single:
            cid = random.getrandbits(62) + 1
            self.cursors[cid] = cur
        body = {"firstBatch": batch, "id": Int64(cid), "ns": cur["ns"]}
        if at is not None:
            body["atClusterTime"] = at
        return {"cursor": body}

    def _visible(self, c, at):
        if c is None or c.type == "view":
            return []
        if at is None:
            return list(c.docs)
        limit = (at.time, at.inc)
        return [d for d in c.docs if d.ts <= limit]

    def _sorted(self, docs, sort):
        if not sort:
            return docs
        keys = list(sort.items())
        if len(keys) == 1 and keys[0][0] == "$natural":
            return docs[::-1] if keys[0][1] == -1 else docs
        if len(keys) == 1 and keys[0][0] == "_id" and keys[0][1] in (1, -1):
            vals = [d.doc["_id"] for d in docs]
            if all(type(v) is int for v in vals) or all(type(v) is str for v in vals):
                order = sorted(range(len(docs)), key=vals.__getitem__, reverse=keys[0][1] == -1)
                return [docs[i] for i in order]

        def cmp(a, b):
            for field, direction in keys:
                if isinstance(direction, dict):
                    raise CommandError(2, "BadValue", "fake server: $meta sort is not supported")
                va = _resolve(a.plain(), field.split("."))[0]
                vb = _resolve(b.plain(), field.split("."))[0]
                c = bson_cmp(va, vb)
                if c:
                    return c if direction >= 0 else -c
            return 0
        return sorted(docs, key=functools.cmp_to_key(cmp))

    def _query(self, c, filt, sort, skip, at):
        docs = self._visible(c, at)
        if filt:
            docs = [d for d in docs if matches(d.plain(), filt)]
        docs = self._sorted(docs, sort)
        if skip:
            docs = docs[int(skip):]
        return docs

    def cmd_find(self, db, cmd, req):
        name = self._ns_name(cmd, "find")
        at = self._snapshot_time(cmd)
        c = self._coll(db, name)
        limit = int(cmd.get("limit") or 0)
        single = bool(cmd.get("singleBatch")) or limit < 0
        limit = abs(limit)
        docs = self._query(c, cmd.get("filter") or {}, cmd.get("sort"), cmd.get("skip"), at)
        return self._open_cursor(db, name, docs, cmd, self._batch_limit(cmd.get("batchSize")),
                                 single, limit if limit else -1, at)

    def cmd_aggregate(self, db, cmd, req):
        name = cmd.get("aggregate")
        if not isinstance(name, str):
            raise CommandError(2, "BadValue", "fake server: only collection aggregates are supported")
        at = self._snapshot_time(cmd)
        c = self._coll(db, name)
        docs = self._visible(c, at)
        for stage in cmd.get("pipeline") or []:
            (op, arg), = stage.items()
            if op == "$match":
                docs = [d for d in docs if matches(d.plain(), arg)]
            elif op == "$sort":
                docs = self._sorted(docs, arg)
            elif op == "$skip":
                docs = docs[int(arg):]
            elif op == "$limit":
                docs = docs[:int(arg)]
            elif op == "$count":
                docs = [Doc(bson.encode({arg: len(docs)}), self.cluster)] if docs else []
            elif op == "$group" and arg.get("_id") in (1, None) and len(arg) == 2:
                (out_name, acc), = [(k, v) for k, v in arg.items() if k != "_id"]
                if acc != {"$sum": 1}:
                    raise CommandError(2, "BadValue", "fake server: only {$sum: 1} is supported in $group")
                docs = [Doc(bson.encode({"_id": arg.get("_id"), out_name: len(docs)}), self.cluster)] \
                    if docs else []
            else:
                raise CommandError(2, "BadValue", f"fake server: unsupported pipeline stage {op}")
        cursor_opts = cmd.get("cursor") or {}
        return self._open_cursor(db, name, docs, cmd, self._batch_limit(cursor_opts.get("batchSize")),
                                 False, -1, at)

    def cmd_count(self, db, cmd, req):
        name = self._ns_name(cmd, "count")
        docs = self._query(self._coll(db, name), cmd.get("query") or {}, None, cmd.get("skip"), None)
        limit = abs(int(cmd.get("limit") or 0))
        n = min(len(docs), limit) if limit else len(docs)
        return {"n": n}

    def cmd_getMore(self, db, cmd, req):
        self.getmores += 1
        cid = int(cmd.get("getMore"))
        if self.args.fail_getmore and self.getmores == self.args.fail_getmore:
            self.cursors.pop(cid, None)
            raise CommandError(43, "CursorNotFound", f"cursor id {cid} not found")
        cur = self.cursors.get(cid)
        if cur is None:
            raise CommandError(43, "CursorNotFound", f"cursor id {cid} not found")
        coll = cmd.get("collection")
        if cur["ns"] != f"{db}.{coll}":
            raise CommandError(13, "Unauthorized",
                               f"Requested getMore on namespace '{db}.{coll}', but cursor belongs to a "
                               f"different namespace {cur['ns']}")
        requested = cmd.get("batchSize")
        batch, done = self._take(cur, self._batch_limit(requested if requested else None))
        if done:
            del self.cursors[cid]
        return {"cursor": {"nextBatch": batch, "id": Int64(0 if done else cid), "ns": cur["ns"]}}

    def cmd_killCursors(self, db, cmd, req):
        killed, missing = [], []
        for cid in cmd.get("cursors") or []:
            (killed if self.cursors.pop(int(cid), None) is not None else missing).append(Int64(cid))
        return {"cursorsKilled": killed, "cursorsNotFound": missing, "cursorsAlive": [],
                "cursorsUnknown": []}

    # ---------------------------------------------------------- writes

    def _create(self, db, name, options=None):
        c = Coll(name, options=options)
        self.dbs.setdefault(db, {})[name] = c
        return c

    def cmd_create(self, db, cmd, req):
        name = self._ns_name(cmd, "create")
        if self._coll(db, name) is not None:
            raise CommandError(48, "NamespaceExists", f"Collection {db}.{name} already exists.")
        options = {k: v for k, v in req_doc_items(req) if k != "create" and k not in DRIVER_FIELDS
                   and not k.startswith("$")}
        if "viewOn" in options:
            ctype = "view"
        elif "timeseries" in options:
            ctype = "timeseries"
        else:
            ctype = "collection"
        self.dbs.setdefault(db, {})[name] = Coll(name, ctype, options)
        self.advance()
        return {}

    def cmd_createIndexes(self, db, cmd, req):
        name = self._ns_name(cmd, "createIndexes")
        c = self._coll(db, name)
        auto = c is None
        if c is not None and c.type == "view":
            raise CommandError(166, "CommandNotSupportedOnView", f"Namespace {db}.{name} is a view, not a collection")
        specs = dict(req_doc_items(req)).get("indexes")
        if not isinstance(specs, list) or not specs:
            raise CommandError(2, "BadValue", "Must specify at least one index to create")
        new = []
        for spec in specs:
            spec = dict(spec.items())
            p = plain(spec)
            if not isinstance(p.get("key"), dict) or not p["key"]:
                raise CommandError(9, "FailedToParse", "The 'key' field must be a non-empty document")
            if not isinstance(p.get("name"), str):
                raise CommandError(9, "FailedToParse",
                                   "The 'name' field is a required property of an index specification")
            norm = {"v": spec.get("v", 2), "key": spec["key"], "name": spec["name"]}
            norm.update((k, v) for k, v in spec.items() if k not in ("v", "key", "name", "ns"))
            new.append(norm)
        if auto:
            c = self._create(db, name)
        before = len(c.indexes)
        for norm in new:
            pn = plain(norm)
            same_name = [ix for ix in c.indexes if ix.get("name") == pn["name"]]
            same_key = [ix for ix in c.indexes if list(plain(ix)["key"].items()) == list(pn["key"].items())
                        and bson_cmp(plain(ix)["key"], pn["key"]) == 0]
            if same_name:
                if bson_cmp(plain(same_name[0])["key"], pn["key"]) != 0:
                    raise CommandError(86, "IndexKeySpecsConflict",
                                       f"An existing index has the same name as the requested index. "
                                       f"When index names are not specified, they are auto generated and can "
                                       f"cause conflicts. Please refer to our documentation. Requested index: "
                                       f"{pn['name']}")
                continue
            if same_key:
                raise CommandError(85, "IndexOptionsConflict",
                                   f"Index already exists with a different name: {same_key[0].get('name')}")
            c.indexes.append(norm)
        self.advance()
        r = {"numIndexesBefore": before, "numIndexesAfter": len(c.indexes),
             "createdCollectionAutomatically": auto}
        if len(c.indexes) == before:
            r["note"] = "all indexes already exist"
        return r

    def cmd_insert(self, db, cmd, req):
        name = self._ns_name(cmd, "insert")
        c = self._coll(db, name)
        if c is not None and c.type != "collection" and c.type != "timeseries":
            raise CommandError(166, "CommandNotSupportedOnView", f"Namespace {db}.{name} is a view, not a collection")
        docs = dict(req_doc_items(req)).get("documents")
        if not isinstance(docs, list):
            raise CommandError(2, "BadValue", "insert needs documents")
        ordered = cmd.get("ordered", True)
        if c is None:
            c = self._create(db, name)
        self.advance()
        ts = self.cluster
        n = 0
        errors = []
        for i, d in enumerate(docs):
            raw = bytes(d.raw) if isinstance(d, RawBSONDocument) else bson.encode(d)
            try:
                bson.decode(raw, codec_options=CHECK_CODEC)
            except Exception as e:  # bson raises several types
                errors.append({"index": i, "code": 22, "errmsg": f"invalid BSON: {e}"})
                if ordered:
                    break
                continue
            if len(raw) > MAX_BSON:
                errors.append({"index": i, "code": 2, "errmsg": f"object to insert too large. size in "
                               f"bytes: {len(raw)}, max size: {MAX_BSON}"})
                if ordered:
                    break
                continue
            raw = fix_for_insert(raw)
            key = id_key(raw)
            if key in c.ids:
                id_val = RawBSONDocument(id_only(raw), codec_options=RAW_CODEC)["_id"]
                id_text = json.dumps(ma.to_extjson(id_only(raw), canonical=False)["_id"])
                errors.append({"index": i, "code": 11000,
                               "errmsg": f"E11000 duplicate key error collection: {db}.{name} "
                                         f"index: _id_ dup key: {{ _id: {id_text} }}",
                               "keyPattern": {"_id": 1}, "keyValue": {"_id": id_val}})
                if ordered:
                    break
                continue
            c.add(raw, ts, key)
            n += 1
        r = {"n": n}
        if errors:
            r["writeErrors"] = errors
        return r

    def cmd_delete(self, db, cmd, req):
        name = self._ns_name(cmd, "delete")
        c = self._coll(db, name)
        n = 0
        deletes = dict(req_doc_items(req)).get("deletes") or []
        for spec in deletes:
            spec = plain(spec)
            if c is None:
                break
            q, limit = spec.get("q") or {}, int(spec.get("limit", 0))
            keep = []
            for d in c.docs:
                if (limit == 0 or n < limit) and matches(d.plain(), q):
                    n += 1
                    c.ids.discard(id_key(d.raw))
                else:
                    keep.append(d)
            c.docs = keep
        if n:
            self.advance()
        return {"n": n}

    def cmd_drop(self, db, cmd, req):
        name = self._ns_name(cmd, "drop")
        c = self._coll(db, name)
        if c is None:
            raise CommandError(26, "NamespaceNotFound", "ns not found")
        del self.dbs[db][name]
        self.advance()
        return {"nIndexesWas": len(c.indexes), "ns": f"{db}.{name}"}

    def cmd_dropDatabase(self, db, cmd, req):
        if self.dbs.pop(db, None):
            self.advance()
        return {"dropped": db}


def req_doc_items(req):
    """The command's top-level fields as sent (raw sub-documents kept)."""
    doc = req.doc
    if "$query" in doc and isinstance(req, mockupdb.Command):
        doc = doc["$query"]
    return list(doc.items())


def plain_top(doc):
    """The command as dicts, but for the documents an insert carries."""
    return {k: (v if k == "documents" else plain(v)) for k, v in doc.items()}


# ---------------------------------------------------------- main

def main(argv=None):
    p = argparse.ArgumentParser(description="a fake mongod for cairn's tests")
    p.add_argument("--port-file", required=True)
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--record")
    p.add_argument("--data")
    p.add_argument("--state")
    p.add_argument("--batch", type=int, default=3)
    p.add_argument("--replica-set")
    p.add_argument("--fail-getmore", type=int, default=0)
    p.add_argument("--version", default="7.0.14")
    p.add_argument("--all-types", metavar="DB.COLL")
    p.add_argument("--system-dbs", action="store_true")
    args = p.parse_args(argv)
    if args.batch < 1:
        p.error("--batch must be at least 1")

    _configure_mockupdb()
    server = Server(args)
    mock = mockupdb.MockupDB(port=args.port, request_timeout=10 ** 8)
    server.port = mock.run()
    server.write_state()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{server.port}\n")
    os.replace(tmp, args.port_file)
    print(f"mongod.py: listening on 127.0.0.1:{server.port}", file=sys.stderr, flush=True)
    while True:
        req = mock.receives()
        if req is None:
            break
        server.handle(req)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
