# SPDX-License-Identifier: MIT
"""Chunked files (issue 14): a file larger than one chunk is stored as
chunks (ordinary entries named "@chunk/" + SHA-256 hex + "/" + the file's
name) plus a manifest written last under the file's name. Real processes
on 127.0.0.1, driven by chordctl and by the stock Python gRPC client:

 1. round trips of 0 bytes, 1 byte, one chunk, one chunk + 1, several
    chunks and a big file (from a file and from a pipe) through an 8-node
    replicated ring, identical by SHA-256; the big file is a manifest whose
    chunks spread over the ring; a progress line on a terminal only;
 2. memory: the RSS of chordctl and of every node (dir store) during the
    big write and read, sampled from /proc every 50 ms, stays bounded;
 3. a stock gRPC client: Read of a chunked file says how (FAILED_PRECONDITION,
    "chunked"); with accept_manifest it follows the manifest; tombstones and
    exact deletes (include_deleted, DeleteRequest.version);
 4. an overwrite while a reader reads: the reader gets one whole version;
 5. collection of unreferenced chunks after --chunk-grace (overwrite,
    delete, a SIGKILLed writer, a delete racing a writer), and never of a
    referenced chunk (overwrites racing the collector); a reader stopped
    past the grace period ends with a whole version or no file;
 6. a node SIGKILLed during a big read: the read completes from replicas;
 7. bad input: chunks whose bytes do not match their name, malformed chunk
    names, malformed manifests, one over --max-object-size, one too old,
    one pointing at missing chunks, one with a wrong SHA-256 or short
    chunks, a chunk corrupted on disk, chordctl flags out of range.

CHORD_TEST_BIG_MB sets the big file's size (default 256 MiB, 32 MiB when
CHORD_TEST_SLOW > 1, i.e. under sanitizers)."""
import hashlib
import json
import math
import os
import random
import signal
import subprocess
import threading
import time
import unittest
import zlib

import grpc

import chordtest as T
from chordtest import C, N

KIB = 1024
MIB = 1024 * KIB
SC = grpc.StatusCode
SLOW = T.SLOW
R = 3
CH = 64 * KIB  # the chunk size most tests give chordctl (--chunk-size 64K)
SMALL = ["--chunk-size", "64K"]
BIG = int(os.environ.get("CHORD_TEST_BIG_MB",
                         "256" if SLOW <= 1 else "32")) * MIB
DEFAULT_CHUNK = MIB
DEFAULT_WINDOW = 8
# The bounds of the memory test: a node's RSS peak over its idle RSS, and
# chordctl's peak RSS: up to 8 chunk-sized buffers per chunk in flight (the
# slot, gRPC's send or receive buffers, protobuf's copy, TLS records) and
# 48 MiB for the program, gRPC and libc; 112 MiB at the default window,
# far below the big file (256 MiB). Measured: 34 MiB writing, 56 MiB
# reading in plaintext, 72.5 MiB reading with TLS.
NODE_RSS_BOUND = 64 * MIB
CTL_RSS_BOUND = 8 * DEFAULT_WINDOW * DEFAULT_CHUNK + 48 * MIB
GRACE = 2.0 * SLOW  # seconds: the GC test's --chunk-grace
OP = 10  # seconds (times SLOW) for one RPC
# Heartbeats fast enough that a SIGKILLed node leaves the supernode's list
# quickly (only where a node is killed: under a big transfer a busy node
# may miss a 1.5 s heartbeat timeout).
SN_ARGS = ["--heartbeat", "300ms", "--heartbeat-timeout", "1500ms"]

rpc_code = T.rpc_code
wfile = T.wfile


# ---- helpers ----------------------------------------------------------------


def sha256(data):
    return hashlib.sha256(data).digest()


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(4 * MIB)
            if not b:
                break
            h.update(b)
    return h.digest()


def random_file(path, size, seed):
    """Writes size random bytes (seeded) to path; returns their SHA-256."""
    rng = random.Random(seed)
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            b = rng.randbytes(min(left, 4 * MIB))
            f.write(b)
            h.update(b)
            left -= len(b)
    return h.digest()


def pieces(data, cs):
    return [data[i:i + cs] for i in range(0, len(data), cs)]


def chunk_name(h, name):
    return "@chunk/%s/%s" % (h.hex(), name)


def chunk_names(m, name):
    return [chunk_name(h, name) for h in m.chunks]


def now_us():
    return int(time.time() * 1e6)


def manifest_of(data, cs, started_us=None):
    return C.Manifest(size=len(data), chunk_size=cs, sha256=sha256(data),
                      chunks=[sha256(p) for p in pieces(data, cs)],
                      started_us=now_us() if started_us is None else started_us)


def mwrite(name, content):
    """A WriteRequest of a manifest (content: a Manifest or raw bytes)."""
    if not isinstance(content, bytes):
        content = content.SerializeToString()
    return N.WriteRequest(file=C.File(name=name, content=content, manifest=True))


def rss(pid):
    """VmRSS of pid in bytes, or None (gone, or a zombie)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def mib(x):
    return "%.1f" % (x / MIB)


class RssSampler(threading.Thread):
    """Samples the RSS of every watched pid every `period` seconds: the
    peak per label, and the samples taken."""

    def __init__(self, period=0.05):
        super().__init__(daemon=True)
        self.period = period
        self.lock = threading.Lock()
        self.pids = {}
        self.peak = {}
        self.count = {}
        self.halt = threading.Event()

    def watch(self, label, pid):
        with self.lock:
            self.pids[label] = pid

    def unwatch(self, label):
        with self.lock:
            self.pids.pop(label, None)

    def run(self):
        while not self.halt.is_set():
            with self.lock:
                pids = dict(self.pids)
            for label, pid in pids.items():
                v = rss(pid)
                if v is not None:
                    with self.lock:
                        self.peak[label] = max(self.peak.get(label, 0), v)
                        self.count[label] = self.count.get(label, 0) + 1
            time.sleep(self.period)

    def stop(self):
        self.halt.set()
        self.join(5)


def ctl_cmd(args, cluster=None, node=None):
    cmd = [os.path.join(T.BIN, "chordctl")]
    if node is not None:
        cmd += ["--node", node]
    elif cluster is not None:
        cmd += ["--supernode", cluster.sn_addr]
    return cmd + list(args)


def popen(cmd, **kw):
    """A process the harness kills at exit whatever happens."""
    p = subprocess.Popen(cmd, **kw)
    T._procs.append(p)
    return p


def on_tty(cmd, timeout):
    """Runs cmd with its standard error on a pseudo-terminal: (exit code,
    what it wrote there)."""
    master, slave = os.openpty()
    p = popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
              stderr=slave)
    os.close(slave)
    out = []

    def drain():
        while True:
            try:
                b = os.read(master, 4096)
            except OSError:  # EIO once the child has closed it
                break
            if not b:
                break
            out.append(b)
    t = threading.Thread(target=drain, daemon=True)
    t.start()
    try:
        rc = p.wait(timeout=timeout * SLOW)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        t.join(5)
        os.close(master)
    return rc, b"".join(out)


def dir_bytes(d):
    """Bytes of every file in d (a read -o's temporary file grows there)."""
    total = 0
    for x in os.listdir(d):
        try:
            total += os.path.getsize(os.path.join(d, x))
        except OSError:
            pass
    return total


class ChunkTest(T.ClusterTest):
    # ---- helpers ----------------------------------------------------------

    def start(self, n, seed, flags=(), dir_store=False, sn_args=()):
        """A supernode and n nodes (fixed ids from seed) started at once,
        each with flags (and its own data dir with dir_store); waits until
        the ring is correct."""
        self.c = T.Cluster(sn_args=sn_args)
        self.data_dir = {}
        nodes = []
        for i in T.fixed_ids(seed, n):
            extra = list(flags)
            if dir_store:
                d = os.path.join(T.tmpdir(), "data")
                self.data_dir[i] = d
                extra += ["--store", "dir", "--data-dir", d]
            nodes.append(self.c.add_node(i, extra=extra, wait=False))
        self.c.wait_joined(nodes, timeout=60)
        T.wait_ring_correct(self.c, 30)
        return nodes

    def ctl(self, args, node=None, input=None, timeout=60, quiet=True):
        """chordctl through node (an address) or the supernode."""
        args = (["--quiet"] if quiet else []) + list(args)
        return T.chordctl(args, cluster=None if node else self.c, node=node,
                          input=input, timeout=timeout)

    def ctl_ok(self, r, what):
        self.assertEqual(r.returncode, 0, "%s: exit %d, stderr %r"
                         % (what, r.returncode, r.stderr[-2000:]))
        self.assertEqual(r.stderr, b"", what)
        return r

    def ctl_err(self, r, code, what):
        """chordctl failed with exit code and one error line: returns it."""
        self.assertEqual(r.returncode, code, "%s: exit %d, stderr %r"
                         % (what, r.returncode, r.stderr[-2000:]))
        lines = r.stderr.decode(errors="replace").splitlines()
        self.assertEqual(len(lines), 1, "%s: stderr %r" % (what, r.stderr))
        self.assertTrue(lines[0].startswith("chordctl: "), lines[0])
        return lines[0]

    def write_cli(self, name, data, node=None, flags=SMALL, stdin=False):
        """Writes data as name with chordctl --json (from a file, or from
        standard input): the JSON answer."""
        args = list(flags) + ["--json", "write", "--", name]
        inp = None
        if stdin:
            inp = data
        else:
            path = os.path.join(T.tmpdir(), "in")
            with open(path, "wb") as f:
                f.write(data)
            args.append(path)
        r = self.ctl_ok(self.ctl(args, node=node, input=inp),
                        "chordctl write %r (%d bytes)" % (name, len(data)))
        j = json.loads(r.stdout)
        self.assertEqual(j["size"], len(data), "size in %s" % j)
        return j

    def read_cli(self, name, node=None, flags=(), timeout=60):
        """name's content through chordctl read -o FILE."""
        d = T.tmpdir()
        out = os.path.join(d, "out")
        self.ctl_ok(self.ctl(list(flags) + ["read", "-o", out, "--", name],
                             node=node, timeout=timeout),
                    "chordctl read -o of %r" % name)
        self.assertEqual(os.listdir(d), ["out"], "read -o left other files")
        with open(out, "rb") as f:
            return f.read()

    def read_rpc(self, node, name, **kw):
        return node.stub.Read(N.ReadRequest(name=name, **kw),
                              timeout=OP * SLOW)

    def manifest(self, node, name):
        """(Manifest, File) of the chunked file name, through node."""
        r = self.read_rpc(node, name, accept_manifest=True)
        self.assertTrue(r.file.manifest, "%r is not answered as a manifest "
                        "(%d bytes of content)" % (name, len(r.file.content)))
        m = C.Manifest()
        m.ParseFromString(r.file.content)
        return m, r.file

    def follow(self, node, name, keep=True):
        """What a stock gRPC client does: Read with accept_manifest, then
        each chunk by its name, checking each chunk's and the whole file's
        SHA-256. Returns (content or None, sha256 digest, manifest)."""
        m, _ = self.manifest(node, name)
        want = math.ceil(m.size / m.chunk_size) if m.chunk_size else -1
        self.assertEqual(len(m.chunks), want, "chunks in the manifest of %r"
                         % name)
        h = hashlib.sha256()
        parts = [] if keep else None
        for i, ch in enumerate(m.chunks):
            c = self.read_rpc(node, chunk_name(ch, name)).file.content
            size = min(m.chunk_size, m.size - i * m.chunk_size)
            self.assertEqual(len(c), size, "chunk %d of %r" % (i, name))
            self.assertEqual(sha256(c), ch, "chunk %d of %r: bytes do not "
                             "match its hash" % (i, name))
            h.update(c)
            if keep:
                parts.append(c)
        self.assertEqual(h.digest(), m.sha256, "SHA-256 of the chunks of %r "
                         "against the manifest's" % name)
        return (b"".join(parts) if keep else None), h.digest(), m

    def code_of(self, node, name, **kw):
        return rpc_code(lambda: self.read_rpc(node, name, **kw))

    def chunk_status(self, nodes=None):
        """(sum of StatusResponse.chunks, sum of chunks_collected, chunks
        per node) over the live nodes."""
        st = [n.status(timeout=5) for n in (nodes or self.c.live())]
        return (sum(s.chunks for s in st), sum(s.chunks_collected for s in st),
                [s.chunks for s in st])

    def live_keys(self):
        """Every key any live node holds live (not a tombstone)."""
        out = set()
        for h in T.holdings(self.c).values():
            out |= {k for k, (_, dead) in h.items() if not dead}
        return out

    # ---- 1 and 2. round trips through 8 nodes; memory during the big one ----

    def test_1_round_trips_and_memory_through_8_nodes(self):
        nodes = self.start(8, 1401, T.replication_flags(R), dir_store=True)
        rng = random.Random(1401)
        # -- small sizes, with 64 KiB chunks -----------------------------------
        sizes = [0, 1, CH - 1, CH, CH + 1, 5 * CH + 12345]
        for k, size in enumerate(sizes):
            data = rng.randbytes(size)
            chunked = size > CH
            want_chunks = math.ceil(size / CH) if chunked else 0
            for how in ("file", "stdin"):
                name = "rt-%d-%s" % (size, how)
                wnode = rng.choice(nodes)
                j = self.write_cli(name, data, node=wnode.addr,
                                   stdin=how == "stdin")
                self.assertEqual(j.get("chunks"), want_chunks,
                                 "chunks in the JSON of the write of %d bytes "
                                 "(%s): %s" % (size, how, j))
                for key in ("seconds", "mb_per_s"):
                    self.assertIn(key, j, "write --json of %d bytes" % size)
                rnode = rng.choice([n for n in nodes if n is not wnode])
                got = self.read_cli(name, node=rnode.addr)
                self.assertEqual(sha256(got), sha256(data),
                                 "%r read -o through %s: %d bytes, want %d"
                                 % (name, rnode.addr, len(got), len(data)))
                r = self.ctl_ok(self.ctl(["read", "--", name]), "read %r" % name)
                self.assertEqual(sha256(r.stdout), sha256(data),
                                 "%r read to stdout: %d bytes, want %d"
                                 % (name, len(r.stdout), len(data)))
                r = self.ctl_ok(self.ctl(["--json", "read", "-o",
                                          os.path.join(T.tmpdir(), "o"), "--",
                                          name]), "read --json %r" % name)
                j = json.loads(r.stdout)
                self.assertEqual((j["size"], j.get("chunks")),
                                 (size, want_chunks), "read --json: %s" % j)
                if chunked:
                    with self.assertRaises(grpc.RpcError) as e:
                        self.read_rpc(rnode, name)
                    self.assertEqual(e.exception.code(), SC.FAILED_PRECONDITION,
                                     "plain Read of the chunked %r" % name)
                    got, _, m = self.follow(rnode, name)
                    self.assertEqual(got, data, "%r followed by hand" % name)
                    self.assertEqual((m.size, m.chunk_size, len(m.chunks)),
                                     (size, CH, want_chunks))
                    self.ctl_err(self.ctl(["--json", "read", "--", name]), 2,
                                 "read --json of a chunked file without -o")
                else:
                    r = self.read_rpc(rnode, name)
                    self.assertFalse(r.file.manifest, name)
                    self.assertEqual(r.file.content, data,
                                     "plain Read of the %d-byte %r" % (size, name))
        # Without --quiet, on a pipe: no progress line either.
        data = rng.randbytes(3 * CH + 7)
        r = self.ctl_ok(self.ctl(SMALL + ["write", "noquiet"], input=data,
                                 quiet=False), "write without --quiet")
        r = self.ctl_ok(self.ctl(["read", "noquiet"], quiet=False),
                        "read without --quiet")
        self.assertEqual(r.stdout, data)
        # A name of 1024 bytes (the longest): its chunks' names are longer.
        longest = "\u00e9" * 512
        data = rng.randbytes(2 * CH + 1)
        self.write_cli(longest, data)
        self.assertEqual(self.read_cli(longest), data, "the 1024-byte name")

        # -- the big file, default chunk size, RSS sampled -------------------
        work = T.tmpdir()
        src = os.path.join(work, "big")
        want = random_file(src, BIG, 1402)
        n_chunks = math.ceil(BIG / DEFAULT_CHUNK)
        sampler = RssSampler(0.05)
        for n in nodes:
            sampler.watch(n.addr, n.pid)
        # chordctl's own RSS before a transfer: one waiting on an empty pipe.
        probe = popen(ctl_cmd(["--quiet", "write", "idle-probe"], self.c),
                      stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        ctl_idle = rss(probe.pid) or 0
        probe.communicate(b"", timeout=30 * SLOW)
        idle = {n.addr: rss(n.pid) for n in nodes}
        sampler.start()
        self.addCleanup(sampler.halt.set)

        def timed(label, cmd, **kw):
            t0 = time.monotonic()
            p = popen(cmd, **kw)
            sampler.watch(label, p.pid)
            return p, t0

        errf = open(os.path.join(work, "stderr"), "w+b")
        self.addCleanup(errf.close)

        def finish(p, t0, what, timeout=300):
            try:
                out, _ = p.communicate(timeout=timeout * SLOW)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                self.fail("%s did not finish within %ds" % (what, timeout * SLOW))
            secs = time.monotonic() - t0
            errf.seek(0)
            err = errf.read()
            errf.seek(0)
            errf.truncate()
            self.assertEqual(p.returncode, 0, "%s: exit %d, stderr %r"
                             % (what, p.returncode, err[-2000:]))
            return out, secs

        p, t0 = timed("ctl-write", ctl_cmd(["--quiet", "--json", "write", "big",
                                            src], self.c),
                      stdout=subprocess.PIPE, stderr=errf)
        out, w_s = finish(p, t0, "chordctl write of the big file")
        with sampler.lock:
            after_write = dict(sampler.peak)
        j = json.loads(out)
        self.assertEqual((j["size"], j.get("chunks")), (BIG, n_chunks), j)
        dst = os.path.join(T.tmpdir(), "big.out")
        p, t0 = timed("ctl-read", ctl_cmd(["--quiet", "--json", "read", "-o", dst,
                                           "big"], self.c),
                      stdout=subprocess.PIPE, stderr=errf)
        out, r_s = finish(p, t0, "chordctl read -o of the big file")
        sampler.stop()
        j = json.loads(out)
        self.assertEqual((j["size"], j.get("chunks")), (BIG, n_chunks), j)
        got = file_sha256(dst)
        os.unlink(dst)
        node_over = {a: sampler.peak.get(a, 0) - idle[a] for a in idle}
        over_w = {a: after_write.get(a, 0) - idle[a] for a in idle}
        worst = max(node_over, key=node_over.get)
        print("\nchunks: big file %s MiB, %d chunks: write %.2fs (%.1f MB/s), "
              "read %.2fs (%.1f MB/s)" % (mib(BIG), n_chunks, w_s, BIG / w_s / 1e6,
                                          r_s, BIG / r_s / 1e6), flush=True)
        print("chunks: memory nodes idle %s..%s MiB, peak over idle max %s MiB "
              "(%s), all [%s] (during the write [%s]); chordctl idle %s MiB, "
              "peak write %s MiB read %s MiB; "
              "samples %d; bounds node +%s MiB, chordctl %s MiB%s"
              % (mib(min(idle.values())), mib(max(idle.values())),
                 mib(node_over[worst]), worst,
                 " ".join(mib(node_over[n.addr]) for n in nodes),
                 " ".join(mib(over_w[n.addr]) for n in nodes), mib(ctl_idle),
                 mib(sampler.peak.get("ctl-write", 0)),
                 mib(sampler.peak.get("ctl-read", 0)),
                 min(sampler.count.values()), mib(NODE_RSS_BOUND),
                 mib(CTL_RSS_BOUND),
                 "" if SLOW <= 1 else " (not checked: sanitizer build)"),
              flush=True)
        self.assertEqual(got, want, "the big file read back -o differs")
        if SLOW <= 1:
            over = ["node %s rose %s MiB over its idle %s MiB (%s during the "
                    "write)" % (a, mib(v), mib(idle[a]), mib(over_w[a]))
                    for a, v in sorted(node_over.items()) if v >= NODE_RSS_BOUND]
            for label in ("ctl-write", "ctl-read"):
                self.assertGreater(sampler.count.get(label, 0), 0, label)
                if sampler.peak[label] >= CTL_RSS_BOUND:
                    over.append("chordctl %s peaked at %s MiB (idle %s MiB, window "
                                "%d x %s MiB chunks)" % (
                                    label[4:], mib(sampler.peak[label]),
                                    mib(ctl_idle), DEFAULT_WINDOW,
                                    mib(DEFAULT_CHUNK)))
        else:
            over = []
        # (checked at the end, after the other checks on the big file)

        # -- the big file is a manifest whose chunks spread over the ring ----
        with self.assertRaises(grpc.RpcError) as e:
            self.read_rpc(nodes[0], "big")
        self.assertEqual(e.exception.code(), SC.FAILED_PRECONDITION)
        self.assertIn("chunked", e.exception.details())
        m, _ = self.manifest(nodes[0], "big")
        self.assertEqual((m.size, m.chunk_size, len(m.chunks), m.sha256),
                         (BIG, DEFAULT_CHUNK, n_chunks, want))
        total, _, per_node = self.chunk_status()
        print("chunks: big file's chunks per node %s" % per_node, flush=True)
        self.assertGreaterEqual(sum(1 for x in per_node if x > 0), 4,
                                "nodes owning chunks: %s" % per_node)
        self.assertGreaterEqual(total, len(set(m.chunks)))

        # -- the big file again, from a pipe, read back to a pipe ------------
        cat = popen(["cat", src], stdout=subprocess.PIPE)
        p, t0 = timed("ctl-write-stdin", ctl_cmd(
            ["--quiet", "--json", "write", "big-stdin"], self.c),
            stdin=cat.stdout, stdout=subprocess.PIPE, stderr=errf)
        cat.stdout.close()
        out, ws_s = finish(p, t0, "chordctl write of the big file from a pipe")
        cat.wait(10)
        j = json.loads(out)
        self.assertEqual((j["size"], j.get("chunks")), (BIG, n_chunks), j)
        p = popen(ctl_cmd(["--quiet", "read", "big-stdin"], self.c),
                  stdout=subprocess.PIPE, stderr=errf)
        t0 = time.monotonic()
        h, nbytes = hashlib.sha256(), 0
        while True:
            b = p.stdout.read(MIB)
            if not b:
                break
            h.update(b)
            nbytes += len(b)
        _, rs_s = finish(p, t0, "chordctl read of the big file to a pipe")
        print("chunks: big file from a pipe: write %.2fs, read to a pipe %.2fs"
              % (ws_s, rs_s), flush=True)
        self.assertEqual((nbytes, h.digest()), (BIG, want),
                         "the big file read to a pipe differs")
        # A stock client reads it too (hashing as it goes).
        _, digest, _ = self.follow(nodes[3], "big-stdin", keep=False)
        self.assertEqual(digest, want)
        # On a terminal a progress line shows (size, percent, rate, time
        # left), rewritten in place and cleared at the end; not with --quiet.
        d = T.tmpdir()
        rc, tty = on_tty(ctl_cmd(["read", "-o", os.path.join(d, "o"), "big"],
                                 self.c), 120)
        self.assertEqual(rc, 0, tty[-500:])
        text = tty.decode(errors="replace")
        for part in ("%", "MB/s", "left", "\r"):
            self.assertIn(part, text, "the progress line of a %s MiB read on a "
                          "terminal: %r" % (mib(BIG), text[-300:]))
        rc, tty = on_tty(ctl_cmd(["--quiet", "read", "-o", os.path.join(d, "o"),
                                  "big"], self.c), 120)
        self.assertEqual((rc, tty), (0, b""), "read --quiet on a terminal")
        self.assertEqual(file_sha256(os.path.join(d, "o")), want)
        print("chunks: progress on a terminal: %d updates, last %r"
              % (text.count("\r") - 1,
                 [x for x in text.split("\r") if "%" in x][-1:]), flush=True)
        self.assertEqual(over, [], "RSS over the bounds (nodes: +%s MiB over "
                         "idle; chordctl: %s MiB) during the %s MiB transfer"
                         % (mib(NODE_RSS_BOUND), mib(CTL_RSS_BOUND), mib(BIG)))

    # ---- 3. a stock gRPC client -------------------------------------------------

    def test_3_stock_grpc_client_reads_chunked_files(self):
        nodes = self.start(4, 1403, T.replication_flags(R))
        rng = random.Random(1403)
        files = {"stock-%d" % k: rng.randbytes(s) for k, s in
                 enumerate([CH + 1, 3 * CH, 7 * CH + 999, 40 * CH + 3])}
        for name, data in files.items():
            self.write_cli(name, data)
        for name, data in files.items():
            for n in nodes:
                try:
                    self.read_rpc(n, name)
                    self.fail("a plain Read of the chunked %r through %s "
                              "answered OK" % (name, n.addr))
                except grpc.RpcError as e:
                    self.assertEqual(e.code(), SC.FAILED_PRECONDITION,
                                     "%r through %s: %s" % (name, n.addr,
                                                             e.details()))
                    self.assertIn("chunked", e.details() or "")
                    details = e.details()
                got, digest, m = self.follow(n, name)
                self.assertEqual(got, data, "%r followed through %s"
                                 % (name, n.addr))
                self.assertEqual(digest, sha256(data))
                self.assertEqual(m.size, len(data))
        # A plain file with accept_manifest is still a plain file.
        nodes[0].stub.Write(wfile("stock-plain", b"plain"), timeout=OP * SLOW)
        r = self.read_rpc(nodes[1], "stock-plain", accept_manifest=True)
        self.assertEqual((r.file.manifest, r.file.content), (False, b"plain"))

        # Tombstones (include_deleted) and exact deletes (version).
        name = sorted(files)[0]
        _, f = self.manifest(nodes[2], name)
        code = rpc_code(lambda: nodes[1].stub.Delete(N.DeleteRequest(
            name=name, version=f.version + 1000), timeout=OP * SLOW))
        self.assertEqual(code, SC.FAILED_PRECONDITION, "Delete of a version "
                         "that is not stored")
        self.follow(nodes[3], name)  # still there
        d = nodes[1].stub.Delete(N.DeleteRequest(name=name, version=f.version),
                                 timeout=OP * SLOW)
        self.assertGreater(d.version, f.version)
        for n in nodes:
            self.assertEqual(self.code_of(n, name), SC.NOT_FOUND, n.addr)
            self.assertEqual(self.code_of(n, name, accept_manifest=True),
                             SC.NOT_FOUND, n.addr)
            r = self.read_rpc(n, name, include_deleted=True)
            self.assertTrue(r.file.deleted, "include_deleted through %s: %s"
                            % (n.addr, r.file))
            self.assertEqual(r.file.version, d.version)
            self.assertEqual(r.file.content, b"")
        self.ctl_err(self.ctl(["read", name]), 1, "chordctl read of a deleted "
                     "chunked file")
        print("\nchunks: stock client followed %d chunked files through %d "
              "nodes; plain Read says %r" % (len(files), len(nodes), details),
              flush=True)
        # DeleteRequest.version: NOT_FOUND when nothing live is stored, as
        # for any Delete (node.proto).
        code = rpc_code(lambda: nodes[0].stub.Delete(N.DeleteRequest(
            name=name, version=f.version), timeout=OP * SLOW))
        self.assertEqual(code, SC.NOT_FOUND, "an exact Delete of the version "
                         "already deleted")

    # ---- 4. overwrite while a reader reads --------------------------------------

    def test_4_overwrite_while_reading_gives_one_whole_version(self):
        nodes = self.start(4, 1404, T.replication_flags(R))
        size = (8 if SLOW <= 1 else 3) * MIB
        work = T.tmpdir()
        vers = {}
        for v in "AB":
            path = os.path.join(work, v)
            vers[v] = (path, random_file(path, size, ord(v)))
        self.assertNotEqual(vers["A"][1], vers["B"][1])
        self.ctl_ok(self.ctl(SMALL + ["write", "ow", vers["A"][0]]), "write A")
        cur = "A"
        seen = []
        for rnd in range(6):
            nxt = "B" if cur == "A" else "A"
            d = T.tmpdir()
            out = os.path.join(d, "out")
            entry = nodes[rnd % len(nodes)].addr
            reader = popen(ctl_cmd(["--quiet", "--window", "1", "read", "-o", out,
                                    "ow"], node=entry),
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if rnd % 2 == 0:
                # Wait until the reader is under way, then overwrite.
                T.wait_for(lambda: dir_bytes(d) > 0 or reader.poll() is not None,
                           30, "the reader to start writing", step=0.002)
            mid = reader.poll() is None
            self.ctl_ok(self.ctl(SMALL + ["write", "ow", vers[nxt][0]]),
                        "overwrite with %s" % nxt)
            try:
                _, err = reader.communicate(timeout=120 * SLOW)
            except subprocess.TimeoutExpired:
                reader.kill()
                reader.wait()
                self.fail("the reader of round %d did not finish" % rnd)
            self.assertEqual(reader.returncode, 0, "reader in round %d: %r"
                             % (rnd, err))
            got = file_sha256(out)
            which = [v for v in "AB" if vers[v][1] == got]
            self.assertEqual(len(which), 1, "round %d: the reader got neither "
                             "version whole (%d bytes)" % (rnd, os.path.getsize(out)))
            seen.append("%s%s" % (which[0], "" if mid else "(late)"))
            # A fresh read sees the new version.
            got = self.read_cli("ow", node=nodes[(rnd + 1) % len(nodes)].addr)
            self.assertEqual(sha256(got), vers[nxt][1],
                             "round %d: a read after the overwrite" % rnd)
            cur = nxt
        print("\nchunks: overwrite-while-reading rounds %s (versions the reader "
              "got; the reader started before each overwrite)" % " ".join(seen),
              flush=True)

    # ---- 5. collection of unreferenced chunks -----------------------------------

    def test_5_unreferenced_chunks_collected_referenced_kept(self):
        flags = T.replication_flags(R) + ["--chunk-grace",
                                          "%dms" % int(GRACE * 1000)]
        nodes = self.start(5, 1405, flags)
        rng = random.Random(1405)
        live = {}  # name -> data of every file that should exist

        def expected_keys():
            """Keys of the live files and of the chunks their manifests list."""
            keys = set()
            for name, data in live.items():
                keys.add(T.sha1_int(name))
                if len(data) > CH:
                    for p in pieces(data, CH):
                        keys.add(T.sha1_int(chunk_name(sha256(p), name)))
            return keys

        def referenced():
            return sum(len({sha256(p) for p in pieces(d, CH)})
                       for d in live.values() if len(d) > CH)

        def clean():
            """None once the ring holds exactly the live files and their
            chunks (no orphan, none missing, from Status list_keys); else
            what differs."""
            held, want = self.live_keys(), expected_keys()
            if held == want:
                return None
            total, _, per = self.chunk_status()
            return ("%d orphan key(s), %d missing; StatusResponse.chunks %d (%s), "
                    "chunks referenced %d" % (len(held - want), len(want - held),
                                              total, per, referenced()))

        def wait_clean(what, timeout=30):
            last = [None]

            def ok():
                last[0] = clean()
                return last[0] is None
            try:
                T.wait_for(ok, timeout + GRACE, what, step=0.2)
            except AssertionError:
                self.fail("%s: after %.0fs: %s" % (what, (timeout + GRACE) * SLOW,
                                                  last[0]))

        def wait_gone(names, what, timeout=30):
            t0 = time.monotonic()
            left = set(names)

            def gone():
                for nm in list(left):
                    if self.code_of(rng.choice(nodes), nm) == SC.NOT_FOUND:
                        left.discard(nm)
                return not left
            try:
                T.wait_for(gone, timeout + GRACE, what, step=0.1)
            except AssertionError:
                self.fail("%s: %d of %d chunk(s) still readable after %.0fs"
                          % (what, len(left), len(names), (timeout + GRACE) * SLOW))
            return time.monotonic() - t0

        def check_chunks(name, data):
            for i, p in enumerate(pieces(data, CH)):
                r = self.read_rpc(rng.choice(nodes), chunk_name(sha256(p), name))
                self.assertEqual(r.file.content, p, "chunk %d of %r" % (i, name))

        # (a) an overwrite: the old version's own chunks go after the grace
        # period, the shared and the new ones stay.
        a = rng.randbytes(20 * CH + 5)
        b = a[:10 * CH] + rng.randbytes(12 * CH + 77)
        self.write_cli("gc-a", a)
        m_a, _ = self.manifest(nodes[0], "gc-a")
        self.write_cli("gc-a", b)
        t_over = time.monotonic()
        live["gc-a"] = b
        shared = {sha256(p) for p in pieces(b, CH)}
        old_only = [chunk_name(h, "gc-a") for h in m_a.chunks if h not in shared]
        self.assertEqual(len(old_only), 11)
        # None go before the grace period.
        early = [nm for nm in old_only
                 if self.code_of(nodes[1], nm) != SC.OK]
        self.assertEqual(early, [], "old chunks gone %.2fs after the overwrite "
                         "(grace %.1fs)" % (time.monotonic() - t_over, GRACE))
        took = wait_gone(old_only, "the old version's own chunks")
        took_over = time.monotonic() - t_over
        self.assertGreaterEqual(took_over, GRACE - 0.25,
                                "old chunks collected %.2fs after the overwrite, "
                                "before the %.1fs grace" % (took_over, GRACE))
        check_chunks("gc-a", b)
        self.assertEqual(self.read_cli("gc-a"), b)
        wait_clean("after the overwrite of gc-a")

        # (b) a delete: every chunk of the file goes.
        c = rng.randbytes(9 * CH + 1)
        self.write_cli("gc-b", c)
        m_c, _ = self.manifest(nodes[2], "gc-b")
        live["gc-b"] = c
        wait_clean("after writing gc-b")
        self.ctl_ok(self.ctl(["delete", "gc-b"]), "delete gc-b")
        del live["gc-b"]
        wait_gone(chunk_names(m_c, "gc-b"), "the deleted file's chunks")
        wait_clean("after the delete of gc-b")

        # (c) a writer SIGKILLed half-way: no file, its chunks collected.
        total0, coll0, _ = self.chunk_status()
        w = popen(ctl_cmd(["--quiet"] + SMALL + ["write", "gc-killed"], self.c),
                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                  stderr=subprocess.DEVNULL)
        feed = rng.randbytes(40 * CH)

        def feeder():
            # 40 chunks, then the pipe stays open: the writer waits for more.
            try:
                w.stdin.write(feed)
                w.stdin.flush()
            except (OSError, ValueError):
                pass
        threading.Thread(target=feeder, daemon=True).start()
        # The chunks it may send are known: those of the bytes fed.
        fed = [chunk_name(sha256(p), "gc-killed") for p in pieces(feed, CH)]

        def sent():
            return [nm for nm in fed if self.code_of(nodes[0], nm) == SC.OK]
        try:
            T.wait_for(lambda: len(sent()) >= 16, 30,
                       "16 of the killed writer's chunks stored", step=0.1)
        finally:
            w.kill()
            w.wait()
            try:
                w.stdin.close()
            except OSError:
                pass
        total1 = self.chunk_status()[0]
        t_kill = time.monotonic()
        for n in nodes:
            self.assertEqual(self.code_of(n, "gc-killed", accept_manifest=True),
                             SC.NOT_FOUND, "the killed writer's file via %s"
                             % n.addr)
        orphans = sent()
        self.assertGreaterEqual(len(orphans), 16, "chunks of the killed writer "
                                "readable")
        wait_gone(orphans, "the killed writer's chunks")
        T.wait_for(lambda: self.chunk_status()[0] == total0, 30 + GRACE,
                   "StatusResponse.chunks summed back to %d (from %d)"
                   % (total0, total1), step=0.2)
        total2, coll2, _ = self.chunk_status()
        print("\nchunks: killed writer left %d chunks (StatusResponse.chunks "
              "+%d), collected in %.1fs (grace %.1fs); chunks_collected %d -> %d"
              % (len(orphans), total1 - total0, time.monotonic() - t_kill, GRACE,
                 coll0, coll2), flush=True)
        self.assertGreaterEqual(coll2 - coll0, len(orphans),
                                "chunks_collected grew less than the orphans")
        self.assertEqual(self.code_of(nodes[0], "gc-killed", accept_manifest=True),
                         SC.NOT_FOUND)
        wait_clean("after the killed writer")

        # (e) a delete racing an overwrite: whichever wins, no orphan.
        old = rng.randbytes(30 * CH)
        self.write_cli("gc-race", old)
        new_path = os.path.join(T.tmpdir(), "new")
        new = rng.randbytes(60 * CH + 3)
        with open(new_path, "wb") as f:
            f.write(new)
        w = popen(ctl_cmd(["--quiet", "--window", "1"] + SMALL +
                          ["write", "gc-race", new_path], self.c),
                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.05 * SLOW)
        dr = self.ctl(["delete", "gc-race"])
        _, err = w.communicate(timeout=60 * SLOW)
        self.assertEqual(w.returncode, 0, "the racing writer: %r" % err)
        self.assertIn(dr.returncode, (0, 1), "the racing delete: %r" % dr.stderr)
        code = self.code_of(nodes[0], "gc-race", accept_manifest=True)
        if code == SC.OK:
            self.assertEqual(self.read_cli("gc-race"), new)
            live["gc-race"] = new
            outcome = "the write's manifest outlived the delete"
        else:
            self.assertEqual(code, SC.NOT_FOUND)
            outcome = "the delete won"
        wait_clean("after a delete racing a write (%s)" % outcome)
        if "gc-race" in live:
            check_chunks("gc-race", new)

        # (f) a reader that outlives the grace period: SIGSTOPped mid-read
        # while the file is overwritten and the old chunks are collected,
        # then continued. It must end with one whole version, or fail
        # (exit 5) leaving no file: never a mix, never a partial file.
        fa = rng.randbytes(128 * CH)
        fb = rng.randbytes(128 * CH)
        self.write_cli("gc-slow", fa)
        m_fa, _ = self.manifest(nodes[0], "gc-slow")
        d = T.tmpdir()
        out = os.path.join(d, "out")
        reader = popen(ctl_cmd(["--quiet", "--window", "1", "read", "-o", out,
                                "gc-slow"], self.c),
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        T.wait_for(lambda: dir_bytes(d) > 0 or reader.poll() is not None, 30,
                   "the slow reader to start", step=0.001)
        reader.send_signal(signal.SIGSTOP)
        stopped_at = dir_bytes(d)
        stopped = reader.poll() is None
        try:
            self.write_cli("gc-slow", fb)
            live["gc-slow"] = fb
            wait_gone(chunk_names(m_fa, "gc-slow"), "the stopped reader's chunks")
        finally:
            reader.send_signal(signal.SIGCONT)
        _, err = reader.communicate(timeout=60 * SLOW)
        left = os.listdir(d)
        if reader.returncode == 0:
            self.assertEqual(left, ["out"])
            got = file_sha256(out)
            self.assertIn(got, (sha256(fa), sha256(fb)), "the reader that "
                          "outlived the grace period got neither version whole")
            slow_outcome = "exit 0, version %s" % ("A" if got == sha256(fa) else "B")
        else:
            self.assertEqual(reader.returncode, 5, "the reader that outlived "
                             "the grace period: %r" % err)
            self.assertEqual(left, [], "the failed reader left %s" % left)
            slow_outcome = "exit 5: %s" % err.decode(errors="replace").strip()
        print("chunks: a reader stopped at %s MiB%s past the grace period: %s"
              % (mib(stopped_at), "" if stopped else " (already done)",
                 slow_outcome), flush=True)

        # (d) overwrites racing the collector: versions X and Y share half
        # their chunks; each is written back after the other's own chunks
        # may have been collected. Every read is whole; referenced chunks
        # stay.
        base = rng.randbytes(8 * CH)
        xv = base + rng.randbytes(8 * CH + 1)
        yv = base + rng.randbytes(8 * CH + 2)
        t_end = time.monotonic() + 5 * GRACE
        rounds = 0
        while time.monotonic() < t_end or rounds < 4:
            data = xv if rounds % 2 == 0 else yv
            self.write_cli("gc-d", data)
            live["gc-d"] = data
            self.assertEqual(self.read_cli("gc-d"), data, "round %d" % rounds)
            check_chunks("gc-d", data)
            time.sleep(rng.uniform(0.3, 1.6) * GRACE)
            self.assertEqual(self.read_cli("gc-d"), data,
                             "round %d after a pause" % rounds)
            rounds += 1
        time.sleep(3.5 * GRACE)
        for name, data in live.items():
            self.assertEqual(self.read_cli(name), data,
                             "%r %.0fs (3.5 grace periods) after the last write"
                             % (name, 3.5 * GRACE))
            if len(data) > CH:
                check_chunks(name, data)
        wait_clean("at the end")
        total, coll, per = self.chunk_status()
        print("chunks: gc overwrite collected in %.1fs (grace %.1fs); %d racing "
              "overwrite rounds; delete racing a write: %s; chunks per node %s, "
              "collected %d; chunks referenced %d" % (
                  took, GRACE, rounds, outcome, per, coll, referenced()),
              flush=True)
        # StatusResponse.chunks counts the chunks each node holds (owner or
        # replica: R copies of each), primary_chunks those it owns: over
        # the ring, each referenced chunk once.
        owned = sum(n.status().primary_chunks for n in self.c.live())
        self.assertEqual(owned, referenced(), "StatusResponse.primary_chunks "
                         "summed over the ring (%d) is not the %d chunks "
                         "referenced" % (owned, referenced()))
        self.assertEqual(total, R * referenced(), "StatusResponse.chunks "
                         "summed over the ring (%s) is not R = %d copies of "
                         "the %d chunks referenced" % (per, R, referenced()))

    # ---- 6. a node SIGKILLed during a big read -------------------------------

    def test_6_node_killed_during_a_big_read(self):
        nodes = self.start(8, 1406, T.replication_flags(R), sn_args=SN_ARGS)
        size = min(BIG, (64 if SLOW <= 1 else 16) * MIB)
        work = T.tmpdir()
        src = os.path.join(work, "big")
        want = random_file(src, size, 1406)
        self.ctl_ok(self.ctl(SMALL + ["write", "kill-read", src], timeout=300),
                    "write")
        m, _ = self.manifest(nodes[0], "kill-read")
        self.assertEqual(len(m.chunks), math.ceil(size / CH))
        # The same read undisturbed, for comparison.
        t0 = time.monotonic()
        self.ctl_ok(self.ctl(["--window", "2", "read", "-o",
                              os.path.join(T.tmpdir(), "o"), "kill-read"],
                             timeout=120), "an undisturbed read")
        results = ["undisturbed (--supernode) %.2fs" % (time.monotonic() - t0)]
        for how in ("--node", "--supernode"):
            entry = self.c.live()[0]
            victims = [n for n in self.c.live() if n is not entry]
            victim = max(victims, key=lambda n: n.status().chunks)
            d = T.tmpdir()
            out = os.path.join(d, "out")
            args = ["--quiet", "--window", "2", "read", "-o", out, "kill-read"]
            cmd = ctl_cmd(args, node=entry.addr) if how == "--node" else \
                ctl_cmd(args, self.c)
            t0 = time.monotonic()
            p = popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            T.wait_for(lambda: dir_bytes(d) >= size // 8 or p.poll() is not None,
                       60, "the reader to get an eighth of the file", step=0.002)
            at = dir_bytes(d)
            self.assertIsNone(p.poll(), "the read (%s) finished before a node "
                              "could be killed mid-way" % how)
            victim.stop(signal.SIGKILL)
            try:
                _, err = p.communicate(timeout=120 * SLOW)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                self.fail("the read (%s) hangs after %s was killed"
                          % (how, victim.addr))
            secs = time.monotonic() - t0
            self.assertEqual(p.returncode, 0, "the read (%s) failed after %s "
                             "(owner of %d chunks) was SIGKILLed at %s MiB: %r"
                             % (how, victim.addr, len(m.chunks), mib(at), err))
            self.assertEqual(file_sha256(out), want, "the read (%s) after a "
                             "kill differs" % how)
            results.append("%s: killed %s at %s of %s MiB, read took %.2fs"
                           % (how, victim.addr, mib(at), mib(size), secs))
            T.wait_for(lambda: victim.id not in [i for i, _ in self.c.list_nodes()],
                       15, "the supernode to drop the killed node")
            T.wait_ring_correct(self.c, 30)
        print("\nchunks: node killed mid-read (window 2, %d chunks): %s"
              % (len(m.chunks), "; ".join(results)), flush=True)

    # ---- 7. bad input -------------------------------------------------------------

    def test_7_bad_input_refused_and_nothing_stored(self):
        # One copy of each entry and dir stores: a chunk corrupted on disk
        # has no good replica to hide behind.
        nodes = self.start(3, 1407, ["--replicas", "1", "--max-object-size", "1M"],
                           dir_store=True)
        rng = random.Random(1407)
        good = {"good-%d" % k: rng.randbytes(rng.randint(0, 2048)) for k in range(8)}
        for name, data in good.items():
            rng.choice(nodes).stub.Write(wfile(name, data), timeout=OP * SLOW)
        victim_data = b"the plain version"
        nodes[0].stub.Write(wfile("victim", victim_data), timeout=OP * SLOW)
        base = T.holdings(self.c)
        bad = SC.INVALID_ARGUMENT

        def unchanged(what):
            for n in nodes:
                self.assertTrue(n.alive(), "%s died after %s" % (n.addr, what))
            self.assertEqual(T.holdings(self.c), base,
                             "%s changed what the nodes hold" % what)
            self.assertEqual(self.read_rpc(nodes[1], "victim",
                                           accept_manifest=True).file.content,
                             victim_data, what)

        def write_code(node, req):
            return rpc_code(lambda: node.stub.Write(req, timeout=OP * SLOW))

        # A chunk whose bytes do not match its name, through every node
        # (so forwarded too).
        h_right = sha256(b"right")
        for n in nodes:
            self.assertEqual(write_code(n, wfile(chunk_name(h_right, "f"),
                                                 b"wrong")), bad,
                             "a chunk with the wrong bytes via %s" % n.addr)
            self.assertEqual(write_code(n, wfile(chunk_name(h_right, "f"), b"")),
                             bad, "an empty chunk named by another hash")
        unchanged("chunks with the wrong bytes")

        # Malformed chunk names.
        hx = h_right.hex()
        malformed = ["@chunk/", "@chunk/" + hx, "@chunk/" + hx + "/",
                     "@chunk/" + hx[:63] + "/f", "@chunk/" + hx + "0/f",
                     "@chunk/" + hx.upper() + "/f", "@chunk/" + hx[:63] + "g/f",
                     "@chunk//f", "@chunk/xyz/f", "@chunk/" + hx + "/" + "x" * 1025]
        for nm in malformed:
            for n in nodes:
                self.assertEqual(write_code(n, wfile(nm, b"right")), bad,
                                 "name %r via %s" % (nm[:90], n.addr))
        unchanged("malformed chunk names")

        # Malformed manifests: refused, nothing stored, the previous version
        # (a plain file) kept.
        data = rng.randbytes(3 * CH + 10)
        okm = manifest_of(data, CH)

        def variant(**kw):
            m = C.Manifest()
            m.CopyFrom(okm)
            for k, v in kw.items():
                if k == "chunks":
                    del m.chunks[:]
                    m.chunks.extend(v)
                else:
                    setattr(m, k, v)
            return m

        cases = [
            ("undecodable", b"\xff\xff\xff\xff"),
            ("truncated", okm.SerializeToString()[:-5]),
            ("empty content", b""),
            ("one chunk too few", variant(chunks=okm.chunks[:-1])),
            ("one chunk too many", variant(chunks=list(okm.chunks) + [okm.chunks[0]])),
            ("a 31-byte chunk hash", variant(chunks=list(okm.chunks[:-1]) +
                                             [okm.chunks[-1][:31]])),
            ("a 33-byte chunk hash", variant(chunks=[okm.chunks[0] + b"\x00"] +
                                             list(okm.chunks[1:]))),
            ("a 31-byte sha256", variant(sha256=okm.sha256[:31])),
            ("no sha256", variant(sha256=b"")),
            ("chunk_size 0", variant(chunk_size=0)),
            ("size not matching the chunks", variant(size=okm.size + CH)),
        ]
        for what, m in cases:
            for n in nodes:
                for nm in ("victim", "bad-manifest"):
                    self.assertEqual(write_code(n, mwrite(nm, m)), bad,
                                     "manifest with %s as %r via %s"
                                     % (what, nm, n.addr))
        for n in nodes:
            self.assertEqual(self.code_of(n, "bad-manifest", accept_manifest=True),
                             SC.NOT_FOUND)
        unchanged("malformed manifests")

        # Over --max-object-size (1M): RESOURCE_EXHAUSTED; chordctl exit 4.
        over = rng.randbytes(MIB + CH)
        for n in nodes:
            self.assertEqual(write_code(n, mwrite("victim", manifest_of(over, CH))),
                             SC.RESOURCE_EXHAUSTED, "a manifest over "
                             "--max-object-size via %s" % n.addr)
        m = manifest_of(b"", CH)
        m.size = 1 << 41
        m.chunk_size = 1 << 26
        del m.chunks[:]
        m.chunks.extend([bytes(32)] * (1 << 15))
        self.assertEqual(write_code(nodes[0], mwrite("bad-manifest", m)),
                         SC.RESOURCE_EXHAUSTED, "a 2 TiB manifest")
        unchanged("manifests over --max-object-size")
        # chordctl's own --max-size refuses before anything is sent.
        path = os.path.join(T.tmpdir(), "over")
        with open(path, "wb") as f:
            f.write(over)
        self.ctl_err(self.ctl(SMALL + ["--max-size", "1M", "write", "big-ctl", path]),
                     4, "chordctl write over its own --max-size")
        unchanged("chordctl --max-size (a file)")
        # From a pipe the size shows only once the limit is passed: chunks
        # may have gone, but no file.
        self.ctl_err(self.ctl(SMALL + ["--max-size", "1M", "write", "big-ctl"],
                              input=over), 4,
                     "chordctl write from stdin over its own --max-size")
        for n in nodes:
            self.assertEqual(self.code_of(n, "big-ctl", accept_manifest=True),
                             SC.NOT_FOUND)
        over_line = self.ctl_err(self.ctl(SMALL + ["write", "big-node", path]), 4,
                            "chordctl write over the nodes' --max-object-size")
        for n in nodes:
            self.assertEqual(self.code_of(n, "big-node", accept_manifest=True),
                             SC.NOT_FOUND)

        # A write begun longer ago than the chunk grace (1h): too old.
        for n in nodes:
            self.assertEqual(write_code(n, mwrite("victim", manifest_of(
                data, CH, started_us=now_us() - 2 * 3600 * 10**6))),
                SC.FAILED_PRECONDITION, "a manifest begun 2h ago via %s" % n.addr)
        self.assertEqual(self.read_rpc(nodes[1], "victim",
                                       accept_manifest=True).file.content,
                         victim_data)

        # A manifest over missing chunks is stored (nodes do not look), but
        # reading it fails (exit 5), names the chunk and leaves no file.
        parts = pieces(data, CH)
        for i, p in enumerate(parts):
            if i != 2:
                nodes[i % 3].stub.Write(wfile(chunk_name(sha256(p), "holes"), p),
                                        timeout=OP * SLOW)
        nodes[1].stub.Write(mwrite("holes", okm), timeout=OP * SLOW)
        m, _ = self.manifest(nodes[2], "holes")
        self.assertEqual(list(m.chunks), list(okm.chunks))
        missing_hex = sha256(parts[2]).hex()
        for n in nodes:
            d = T.tmpdir()
            line = self.ctl_err(self.ctl(["read", "-o", os.path.join(d, "out"),
                                          "holes"], node=n.addr), 5,
                                "read of a manifest with a missing chunk")
            self.assertEqual(os.listdir(d), [], "read -o left %s"
                             % os.listdir(d))
            self.assertIn("chunk", line)
        missing_line = line
        r = self.ctl(["read", "holes"])
        self.assertEqual(r.returncode, 5, "read to stdout: %r" % r.stderr)

        # Manifests that lie about chunks that are all there: a wrong
        # whole-file SHA-256, and chunks shorter than chunk_size says. The
        # read fails (exit 5) and leaves no file.
        for p in parts:
            nodes[0].stub.Write(wfile(chunk_name(sha256(p), "badsum"), p),
                                timeout=OP * SLOW)
        nodes[2].stub.Write(mwrite("badsum", variant(sha256=sha256(b"other"))),
                            timeout=OP * SLOW)
        halves = pieces(data[:3 * CH], CH // 2)[:4]
        for p in halves:
            nodes[0].stub.Write(wfile(chunk_name(sha256(p), "short"), p),
                                timeout=OP * SLOW)
        nodes[2].stub.Write(mwrite("short", C.Manifest(
            size=4 * CH, chunk_size=CH, sha256=sha256(b"".join(halves)),
            chunks=[sha256(p) for p in halves], started_us=now_us())),
            timeout=OP * SLOW)
        lies = {}
        for name in ("badsum", "short"):
            d = T.tmpdir()
            lies[name] = self.ctl_err(self.ctl(
                ["read", "-o", os.path.join(d, "out"), name]), 5,
                "read of the manifest %r" % name)
            self.assertEqual(os.listdir(d), [], "read -o of %r left %s"
                             % (name, os.listdir(d)))
        self.assertIn("SHA-256", lies["badsum"])

        # chordctl's own flags: --chunk-size 4K..64M, --window 1..64.
        for flags in (["--chunk-size", "2K"], ["--chunk-size", "65M"],
                      ["--chunk-size", "0"], ["--window", "0"],
                      ["--window", "65"], ["--window", "x"]):
            self.ctl_err(self.ctl(flags + ["read", "holes"]), 2,
                         "chordctl %s" % " ".join(flags))

        # A chunk corrupted on disk (its file's CRC fixed up, so the store
        # serves it): the read fails (exit 5) and leaves no file.
        cdata = rng.randbytes(4 * CH + 1)
        self.write_cli("corrupt", cdata)
        cname = chunk_name(sha256(pieces(cdata, CH)[1]), "corrupt")
        owner = T.successor(self.c.ids(), T.sha1_int(cname))
        fpath = os.path.join(self.data_dir[owner], T.id_hex(T.sha1_int(cname)))
        with open(fpath, "rb") as f:
            raw = bytearray(f.read())
        self.assertEqual(raw[:4], b"CHRD", "the dir store's layout changed")
        raw[-100] ^= 0xFF
        crc = zlib.crc32(bytes(raw[:36]) + bytes(raw[40:]))
        raw[36:40] = crc.to_bytes(4, "little")
        with open(fpath, "r+b") as f:
            f.write(raw)
        d = T.tmpdir()
        r = self.ctl(["read", "-o", os.path.join(d, "out"), "corrupt"])
        corrupt_line = r.stderr.decode(errors="replace").strip()
        self.assertEqual(r.returncode, 5, "read of a file with a corrupted "
                         "chunk: exit %d, %r" % (r.returncode, corrupt_line))
        self.assertEqual(os.listdir(d), [], "read -o left %s" % os.listdir(d))
        rpc = rpc_code(lambda: self.read_rpc(nodes[0], cname))
        for n in nodes:
            self.assertTrue(n.alive(), n.addr)
        print("\nchunks: bad input refused; missing chunk (%s...): %s; "
              "corrupted chunk (stock Read %s): %s; over --max-object-size: %s; "
              "wrong SHA-256: %s; short chunks: %s"
              % (missing_hex[:12], missing_line, rpc.name, corrupt_line,
                 over_line, lies["badsum"], lies["short"]), flush=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
