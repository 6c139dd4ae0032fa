#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Writes the seed corpus of the fuzz targets (fuzz/corpus/<target>/seed-*):
# well-formed messages, entry files, names, addresses and values, each
# framed the way its target reads its input (see the comment at the top of
# each fuzz/fuzz_*.c). Deterministic; regress-* files are left alone.
# Needs protoc and python3-protobuf (scripts/install-deps.sh).
import hashlib
import importlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
PROTOS = ["chord/v1/common.proto", "chord/v1/node.proto",
          "chord/v1/supernode.proto", "grpc/health/v1/health.proto"]
VERSION = 1700000000000000  # microseconds, November 2023: in the past
SPLIT = ["Write", "Lookup", "Replicate", "SyncDigest"]  # also in 3 slices


def load_protos(tmp):
    """Generates the Python modules of proto/ into tmp and imports them."""
    subprocess.run(["protoc", "-I" + os.path.join(ROOT, "proto"),
                    "--python_out=" + tmp] + PROTOS, check=True)
    for d in ["chord", "chord/v1", "grpc", "grpc/health", "grpc/health/v1"]:
        open(os.path.join(tmp, d, "__init__.py"), "a").close()
    sys.path.insert(0, tmp)
    return (importlib.import_module("chord.v1.common_pb2"),
            importlib.import_module("chord.v1.node_pb2"),
            importlib.import_module("chord.v1.supernode_pb2"),
            importlib.import_module("grpc.health.v1.health_pb2"))


def sha1(b):
    return hashlib.sha1(b).digest()


def write(target, name, data):
    assert len(data) < 4096, (target, name)
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def clean(target):
    d = os.path.join(CORPUS, target)
    if os.path.isdir(d):
        for n in os.listdir(d):
            if n.startswith("seed-"):
                os.remove(os.path.join(d, n))


def node(c, addr, id_from=None):
    return c.NodeInfo(id=sha1((id_from or addr).encode()), addr=addr)


def files(c):
    return [
        c.File(name="hello.txt", content=b"hello, ring\n", version=VERSION,
               key=sha1(b"hello.txt")),
        c.File(name="caf\u00e9/\u6587\u4ef6", content=bytes(range(32)),
               version=VERSION + 1),
        c.File(name="gone", version=VERSION + 2, deleted=True,
               key=sha1(b"gone")),
    ]


def decode_corpus(c, n, s, h):
    """fuzz_decode: byte 0 = method index (bit 7: three slices)."""
    methods = []
    for mod, svc in [(n, "Node"), (s, "Supernode"), (h, "Health")]:
        for m in mod.DESCRIPTOR.services_by_name[svc].methods:
            methods.append(m.name)
    a, b = node(c, "127.0.0.1:5001"), node(c, "10.0.0.2:5002")
    v6 = node(c, "[::1]:5003")
    f = files(c)
    reqs = {
        "Read": [n.ReadRequest(name="hello.txt", hops=2, direct=True)],
        "Write": [n.WriteRequest(file=f[0], hops=1),
                  n.WriteRequest(file=f[1])],
        "Delete": [n.DeleteRequest(name="hello.txt")],
        "Lookup": [n.LookupRequest(name="hello.txt", path=[a, v6]),
                   n.LookupRequest(key=sha1(b"x"))],
        "UpdateDHT": [n.UpdateDHTRequest(members=[a, b, v6])],
        "FindSuccessor": [n.FindSuccessorRequest(id=sha1(b"k"), hops=3)],
        "GetPredecessor": [n.GetPredecessorRequest()],
        "Notify": [n.NotifyRequest(node=b, leaving=True)],
        "GetSuccessorList": [n.GetSuccessorListRequest()],
        "TransferKeys": [n.TransferKeysRequest(
            requester=a, **{"from": a.id}, to=b.id, after=sha1(b"y"),
            max_bytes=4096, release=True)],
        "Replicate": [n.ReplicateRequest(**{"from": a}, files=f,
                                         deleted=[sha1(b"old")])],
        "Fetch": [n.FetchRequest(keys=[sha1(b"1"), sha1(b"2")])],
        "SyncDigest": [n.SyncDigestRequest(
            **{"from": a}, lo=a.id, hi=b.id, bits=2, digests_only=True,
            buckets=[n.BucketDigest(index=3, digest=sha1(b"d3")),
                     n.BucketDigest(index=0, digest=sha1(b"d0"))])],
        "Ping": [n.PingRequest(payload=b"ping")],
        "Status": [n.StatusRequest(all_fingers=True, list_keys=True)],
        "Join": [s.JoinRequest(node=a)],
        "PostJoin": [s.PostJoinRequest(node=v6)],
        "GetNode": [s.GetNodeRequest()],
        "Leave": [s.LeaveRequest(node=b)],
        "Heartbeat": [s.HeartbeatRequest(node=node(c, "node-1.local:80"))],
        "ListNodes": [s.ListNodesRequest()],
        "Check": [h.HealthCheckRequest(service="chord.v1.Node")],
    }
    assert sorted(reqs) == sorted(methods), "a method without a seed"
    handlers_corpus(methods, reqs)
    for i, name in enumerate(methods):
        for k, r in enumerate(reqs[name]):
            body = r.SerializeToString()
            write("fuzz_decode", "%s-%d" % (name, k), bytes([i]) + body)
            if k == 0 and name in SPLIT:
                write("fuzz_decode", "%s-split" % name,
                      bytes([i | 0x80]) + body)


def handlers_corpus(methods, reqs):
    """fuzz_handlers: node setup (2 bytes), then calls [method][len][req],
    then answers [status][len][response] (status 0: OK)."""
    ok = b"\x00\x00\x00"  # OK, empty response
    ring = 0x03 | 0x04 | 0x40  # 3 peers, R = 2, the caller a member
    cases = [
        ("read", ring, 0x04, ["Read"]),
        ("write", ring, 0x05, ["Write"]),
        ("write-alone", 0x40, 0x00, ["Write", "Read", "Delete"]),
        ("delete", ring, 0x04, ["Delete"]),
        ("lookup", ring, 0x00, ["Lookup"]),
        ("update-dht", ring, 0x00, ["UpdateDHT"]),
        ("notify", ring, 0x00, ["Notify"]),
        ("transfer", ring, 0x04, ["TransferKeys"]),
        ("replicate", ring | 0x80, 0x0c, ["Replicate", "Write"]),
        ("fetch", ring, 0x04, ["Fetch"]),
        ("sync-digest", ring, 0x04, ["SyncDigest"]),
        ("status", ring, 0x04, ["Status", "Ping"]),
    ]
    for name, how, how2, calls in cases:
        data = bytes([how, how2])
        for m in calls:
            body = reqs[m][0].SerializeToString()
            data += bytes([methods.index(m)]) + struct.pack("<H", len(body))
            data += body
        write("fuzz_handlers", name, data + ok * 4)


def transfer_corpus(c, n):
    """fuzz_transfer: byte 0 = message (0 TransferKeysResponse, 1
    ReplicateRequest, 2 FetchResponse), bit 2 small limit, bit 3 page
    from the first file's key."""
    f = files(c)
    dup = c.File(name="hello.txt", content=b"newer", version=VERSION + 9)
    msgs = [
        ("transfer", 0, n.TransferKeysResponse(files=f, more=True,
                                               deleted=[sha1(b"old")])),
        ("replicate", 1, n.ReplicateRequest(files=f + [dup],
                                            deleted=[sha1(b"gone")])),
        ("fetch", 2, n.FetchResponse(files=f, looked=3)),
        ("fetch-small", 2 | 4, n.FetchResponse(files=f[:1], looked=1)),
        ("transfer-from-key", 0 | 8, n.TransferKeysResponse(files=f)),
    ]
    for name, sel, m in msgs:
        write("fuzz_transfer", name, bytes([sel]) + m.SerializeToString())


def entry_file(name, content, version, tomb=False):
    hdr = b"CHRD" + struct.pack("<IQQQI", 1, len(name), len(content),
                                version, 1 if tomb else 0)
    crc = zlib.crc32(hdr + name + content)
    return hdr + struct.pack("<I", crc) + name + content


def store_dir_corpus():
    """fuzz_store_dir: byte 0 = mode (0 as is, 1 CRC fixed, 2 built from
    fields, 3 wrong file name), bit 2 through a store."""
    live = entry_file(b"hello.txt", b"hello, ring\n", VERSION)
    tomb = entry_file(b"gone", b"", VERSION + 1, tomb=True)
    utf8 = entry_file("caf\u00e9".encode(), bytes(range(64)), 7)
    write("fuzz_store_dir", "live", b"\x00" + live)
    write("fuzz_store_dir", "tombstone", b"\x00" + tomb)
    write("fuzz_store_dir", "utf8-store", b"\x04" + utf8)
    write("fuzz_store_dir", "crc-fixed", b"\x01" + live[:36] + b"\0" * 4 +
          live[40:])
    write("fuzz_store_dir", "wrong-name", b"\x03" + live)
    write("fuzz_store_dir", "short", b"\x00" + live[:20])
    fields = struct.pack("<QBH", VERSION, 0, 5) + b"name5content"
    write("fuzz_store_dir", "built", b"\x02" + fields)
    write("fuzz_store_dir", "built-store", b"\x06" + fields)


def text_corpora():
    names = {
        "ascii": b"hello.txt", "path": b"dir/sub/file-1.bin",
        "utf8": "caf\u00e9 \u6587\u4ef6 \U0001f600".encode(),
        "max": b"n" * 1024, "over": b"n" * 1025, "empty": b"",
        "nul": b"a\0b", "overlong": b"\xc0\xaf", "surrogate": b"\xed\xa0\x80",
        "above-max": b"\xf4\x90\x80\x80", "cut": b"ok\xe6\x96",
    }
    for k, v in names.items():
        write("fuzz_name", k, v)
    addrs = {
        "v4": b"\x00127.0.0.1:5000", "v6": b"\x00[::1]:8080",
        "v6-mapped": b"\x00[::ffff:10.0.0.1]:443",
        "name": b"\x00node-1.example.com:50051", "port0": b"\x01localhost:0",
        "no-port": b"\x00localhost", "bad-label": b"\x00-a.b:1",
        "v6-bare": b"\x00::1:80", "big-port": b"\x0010.0.0.1:65536",
        "lead-zero": b"\x00host:0080",
    }
    for k, v in addrs.items():
        write("fuzz_addr", k, v)
    units = {
        "ms": b"500ms", "frac": b"1.5s", "min": b"2m", "hour": b"1h",
        "bare": b"30", "k": b"64k", "kib": b"64KiB", "g": b"1G",
        "bytes": b"1024B", "bad": b"1.s", "hex": b"0123456789abcdef" * 2 +
        b"01234567", "hex-upper": b"0123456789ABCDEF" * 2 + b"01234567",
        "long": b"1000000000000000",
        # The largest whole hours, minutes and seconds that fit in 64 bits.
        "max-h": b"5124095576030h", "max-m": b"307445734561825m",
        "max-s": b"18446744073709551s",
    }
    for k, v in units.items():
        write("fuzz_units", k, v)


def main():
    tmp = tempfile.mkdtemp(prefix="chord-corpus-")
    try:
        c, n, s, h = load_protos(tmp)
        for t in ["fuzz_decode", "fuzz_transfer", "fuzz_store_dir",
                  "fuzz_name", "fuzz_addr", "fuzz_units", "fuzz_handlers"]:
            clean(t)
        decode_corpus(c, n, s, h)
        transfer_corpus(c, n)
        store_dir_corpus()
        text_corpora()
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
