# SPDX-License-Identifier: MIT
"""Files on the ring: placement on the owner, byte-exact reads through
other nodes, deletes, joins and leaves under a steady writer, lookups and
their hop counts, the dir store across restarts, and bad input, with real
chord-supernode and chord-node processes on 127.0.0.1 and chordctl."""
import concurrent.futures as cf
import hashlib
import json
import math
import os
import random
import re
import signal
import subprocess
import threading
import time
import unittest

import grpc

import chordtest as T
from chordtest import C, N

KIB = 1024
MIB = 1024 * 1024
SC = grpc.StatusCode
RETRYABLE = (SC.UNAVAILABLE, SC.ABORTED)
NAME_CHARS = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
              "._-/ +=~@" "\u00e9\u00df\u2192\u65e5\u672c")
HEX40 = re.compile(r"^[0-9a-f]{40}$")


fixed_ids = T.fixed_ids


def random_name(rng, used, prefix="f"):
    while True:
        name = "%s-%s" % (prefix, "".join(rng.choice(NAME_CHARS)
                                          for _ in range(rng.randint(1, 40))))
        if name not in used:
            used.add(name)
            return name


def random_size(rng):
    r = rng.random()
    if r < 0.05:
        return 0
    if r < 0.35:
        return rng.randint(1, KIB)
    if r < 0.65:
        return rng.randint(KIB + 1, 64 * KIB)
    return rng.randint(64 * KIB + 1, MIB)


def key_hex(name):
    return hashlib.sha1(name.encode()).hexdigest()


wfile = T.wfile


rpc_code = T.rpc_code


def tree(root):
    """Every path under root, relative to it (directories end with /)."""
    out = set()
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        for x in dirs:
            out.add(os.path.normpath(os.path.join(rel, x)) + "/")
        for x in files:
            out.add(os.path.normpath(os.path.join(rel, x)))
    return out


class Writer(threading.Thread):
    """Keeps writing new small files through random entry nodes until
    stopped. A write counts only once acknowledged; UNAVAILABLE and ABORTED
    are retried (same name, same content) until acknowledged, so no name is
    left half-known. Anything else is recorded as an error."""

    def __init__(self, entry, acked, lock, seed, prefix):
        super().__init__(daemon=True)
        self.entry = entry
        self.acked = acked
        self.lock = lock
        self.rng = random.Random(seed)
        self.prefix = prefix
        self.halt = threading.Event()
        self.count = 0
        self.retries = []
        self.errors = []

    def run(self):
        i = 0
        while not self.halt.is_set():
            name = "%s-%d" % (self.prefix, i)
            i += 1
            data = self.rng.randbytes(self.rng.randint(0, 16 * KIB))
            if not self.write_until_acked(name, data):
                return

    def write_until_acked(self, name, data):
        deadline = time.monotonic() + 60 * T.SLOW
        while True:
            alive = [n for n in self.entry if n.alive()]
            if not alive:
                self.errors.append((name, None, "no entry node alive"))
                return False
            node = self.rng.choice(alive)
            try:
                node.stub.Write(wfile(name, data), timeout=10 * T.SLOW)
            except grpc.RpcError as e:
                if ((e.code() in RETRYABLE or self.shut_down(e, node))
                        and time.monotonic() < deadline):
                    self.retries.append((name, node.addr, e.code(), e.details()))
                    time.sleep(0.02)
                    continue
                # Diagnosis for the report: did the failed write land?
                try:
                    other = next(n for n in self.entry
                                 if n.alive() and n is not node)
                    got = other.stub.Read(N.ReadRequest(name=name),
                                          timeout=10 * T.SLOW).file.content
                    landed = "stored" if got == data else "other content"
                except (grpc.RpcError, StopIteration) as e2:
                    landed = "read after: %s" % getattr(e2, "code", lambda: e2)()
                self.errors.append((name, node.addr, "%s: %s (%s)"
                                    % (e.code(), e.details(), landed)))
                return False
            with self.lock:
                self.acked[name] = data
                self.count += 1
            return True

    @staticmethod
    def shut_down(e, node):
        """A request that reaches a gRPC server in the instant it shuts down
        is cancelled by gRPC core itself (never handed to the node), so the
        client sees CANCELLED. That is retryable only when the node did then
        exit: a CANCELLED from a node that keeps running is a failure."""
        if e.code() != grpc.StatusCode.CANCELLED:
            return False
        try:
            node.p.wait(timeout=10 * T.SLOW)
        except subprocess.TimeoutExpired:
            return False
        return True

    def finish(self, test):
        self.halt.set()
        self.join(90 * T.SLOW)
        test.assertFalse(self.is_alive(), "the writer is stuck")
        test.assertEqual(self.errors, [], "writes failed without retry")


def cluster(**kw):
    """A cluster whose nodes keep one copy of each file (--replicas 1):
    these tests check that each file lives on its owner alone and moves
    with its range at joins, leaves and restarts; test_replication.py
    covers R = 3."""
    return T.Cluster(node_args=["--replicas", "1"], **kw)


class FilesTest(T.ClusterTest):
    def tearDown(self):
        # ClusterTest.tearDown looks at self._outcome.success, which Python
        # 3.11 resets to True while tearDown runs: find the failure in the
        # result instead, so the logs do get printed.
        c = getattr(self, "c", None)
        if c is None:
            return
        res = self._outcome.result
        if any(t is self for t, _ in res.failures + res.errors):
            print(c.dump_logs(), flush=True)
        c.close()

    # ---- helpers ----------------------------------------------------------

    def owner(self, name, ids=None):
        return T.successor(ids or self.c.ids(), T.sha1_int(name))

    def owner_addr(self, name):
        return self.c.by_id(self.owner(name)).addr

    def check_placement(self, names):
        """Each name stored once, on its owner: per-node key counts equal
        the brute-force owner counts over the live ids, and so does the
        sum. Returns the per-node counts."""
        ids = self.c.ids()
        want = {i: 0 for i in ids}
        for name in names:
            want[self.owner(name, ids)] += 1
        got = {n.id: n.status().keys for n in self.c.live()}
        self.assertEqual(got, want, "keys per node (ids %s)"
                         % [T.id_hex(i)[:8] for i in ids])
        self.assertEqual(sum(got.values()), len(names))
        return got

    def check_bytes(self, files):
        want = {i: 0 for i in self.c.ids()}
        for name, data in files.items():
            want[self.owner(name)] += len(data)
        got = {n.id: n.status().bytes for n in self.c.live()}
        self.assertEqual(got, want, "bytes per node")

    def read_back(self, node, name, data):
        r = node.stub.Read(N.ReadRequest(name=name), timeout=30 * T.SLOW)
        self.assertEqual(r.file.name, name)
        self.assertTrue(r.file.content == data,
                        "%r read through %s: %d bytes, want %d"
                        % (name, node.addr, len(r.file.content), len(data)))
        self.assertEqual(r.owner.addr, self.owner_addr(name), name)
        self.assertEqual(int.from_bytes(r.owner.id, "big"), self.owner(name))
        return r

    def read_all(self, files, seed, workers=8):
        rng = random.Random(seed)
        live = self.c.live()
        jobs = [(rng.choice(live), name, data) for name, data in files.items()]
        with cf.ThreadPoolExecutor(workers) as ex:
            for f in [ex.submit(self.read_back, *j) for j in jobs]:
                f.result()

    def sum_keys(self):
        return sum(n.status().keys for n in self.c.live())

    def cli_error(self, r, code, what):
        """chordctl failed with exit `code` and exactly one error line."""
        self.assertEqual(r.returncode, code, "%s: exit %d, stderr %r"
                         % (what, r.returncode, r.stderr))
        lines = r.stderr.decode(errors="replace").splitlines()
        self.assertEqual(len(lines), 1, "%s: stderr %r" % (what, r.stderr))
        self.assertTrue(lines[0].startswith("chordctl: "), lines[0])
        self.assertEqual(r.stdout, b"", what)

    def cli_ok(self, r, what):
        self.assertEqual(r.returncode, 0, "%s: exit %d, stderr %r"
                         % (what, r.returncode, r.stderr))
        self.assertEqual(r.stderr, b"", what)
        return r

    # ---- 1. 300 files on 8 nodes -------------------------------------------

    def test_write_read_delete_300_files(self):
        rng = random.Random(101)
        self.c = cluster()
        self.c.start_nodes(fixed_ids(11, 8))
        nodes = self.c.live()
        work = T.tmpdir()
        used = set()
        files = {}
        sizes = [0, MIB, 8 * MIB, 8 * MIB, 8 * MIB] + \
            [random_size(rng) for _ in range(295)]
        rng.shuffle(sizes)
        for s in sizes:
            files[random_name(rng, used)] = rng.randbytes(s)
        self.assertEqual(len(files), 300)

        # Writes: most through the stub, some through chordctl (from a file
        # or standard input, text or JSON), each through a random node.
        # The 8 MiB files and an empty one go through each path for sure.
        forced = {}
        big = [name for name, data in files.items() if len(data) == 8 * MIB]
        empty = [name for name, data in files.items() if not data]
        forced.update(zip(big, ["cli-stdin", "cli-file", "stub"]))
        forced.update(zip(empty, ["cli-stdin", "cli-file", "stub"]))
        plan = []
        for k, (name, data) in enumerate(files.items()):
            how = rng.choice(["stub"] * 6 + ["cli-file", "cli-stdin"])
            plan.append((k, name, data, rng.choice(nodes), forced.get(name, how),
                         rng.random() < 0.5))
        writer_of = {}

        def write(k, name, data, node, how, use_json):
            writer_of[name] = node
            if how == "stub":
                r = node.stub.Write(wfile(name, data), timeout=30 * T.SLOW)
                owner = r.owner
                self.assertEqual(r.owner.addr, self.owner_addr(name))
                self.assertEqual(int.from_bytes(owner.id, "big"), self.owner(name))
                self.assertGreater(r.version, 0)
                return
            # One chunk up to 64M: these are plain files, whose placement
            # is checked below (test_chunks covers chunked ones).
            args = (["--json"] if use_json else []) + [
                "--chunk-size", "64M", "write", "--", name]
            inp = None
            if how == "cli-file":
                path = os.path.join(work, "in-%d" % k)
                with open(path, "wb") as f:
                    f.write(data)
                args.append(path)
            else:
                inp = data
            r = self.cli_ok(T.chordctl(args, node=node.addr, input=inp),
                            "chordctl write %r" % name)
            if use_json:
                j = json.loads(r.stdout)
                self.assertEqual(j["command"], "write")
                self.assertEqual(j["name"], name)
                self.assertEqual(j["size"], len(data))
                self.assertEqual(j["owner"]["addr"], self.owner_addr(name))
                self.assertEqual(j["owner"]["id"], T.id_hex(self.owner(name)))
            else:
                self.assertIn(self.owner_addr(name).encode(), r.stdout)

        with cf.ThreadPoolExecutor(8) as ex:
            for f in [ex.submit(write, *p) for p in plan]:
                f.result()
        self.assertGreater(sum(1 for p in plan if p[4] != "stub"), 20)

        counts = self.check_placement(files)
        self.assertGreater(sum(1 for v in counts.values() if v), 4)
        self.check_bytes(files)

        # Overwrites replace the content (a newer version), never add a copy.
        for name in rng.sample(sorted(files), 20) + big[:1] + empty[:1]:
            node = rng.choice(nodes)
            old = self.read_back(node, name, files[name]).file.version
            data = rng.randbytes(rng.choice([0, 1, rng.randint(2, 300 * KIB)]))
            if data == files[name]:
                data += b"!"
            r = node.stub.Write(wfile(name, data), timeout=30 * T.SLOW)
            self.assertGreater(r.version, old, name)
            files[name] = data
            writer_of[name] = node
        self.check_placement(files)
        self.check_bytes(files)

        # Reads through a node other than the writer: stub, chordctl -o FILE,
        # chordctl > stdout.
        def read(k, name, data, node, how):
            self.assertIsNot(node, writer_of[name])
            if how == "stub":
                self.read_back(node, name, data)
                return
            if how == "cli-o":
                out = os.path.join(work, "out-%d" % k)
                r = self.cli_ok(T.chordctl(["--json", "read", "-o", out, "--", name],
                                           node=node.addr),
                                "chordctl read -o %r" % name)
                j = json.loads(r.stdout)
                self.assertEqual(j["owner"]["addr"], self.owner_addr(name))
                self.assertEqual(j["size"], len(data))
                self.assertEqual(j["output"], out)
                with open(out, "rb") as f:
                    got = f.read()
                os.unlink(out)
            else:
                r = self.cli_ok(T.chordctl(["read", "--", name], node=node.addr),
                                "chordctl read %r" % name)
                got = r.stdout
            self.assertTrue(got == data, "%r via chordctl (%s): %d bytes, want %d"
                            % (name, how, len(got), len(data)))

        plan = []
        for k, (name, data) in enumerate(files.items()):
            others = [n for n in nodes if n is not writer_of[name]]
            how = rng.choice(["stub"] * 6 + ["cli-o", "cli-stdout"])
            how = {big[0]: "cli-stdout", big[1]: "cli-o"}.get(name, how)
            if not data:
                how = rng.choice(["cli-o", "cli-stdout"])
            plan.append((k, name, data, rng.choice(others), how))
        with cf.ThreadPoolExecutor(8) as ex:
            for f in [ex.submit(read, *p) for p in plan]:
                f.result()
        self.assertGreater(sum(1 for p in plan if p[4] == "cli-o"), 10)
        self.assertGreater(sum(1 for p in plan if p[4] == "cli-stdout"), 10)
        # Reading changed nothing.
        self.check_placement(files)

        # Deletes through random nodes.
        def delete(name, node, cli):
            if cli:
                self.cli_ok(T.chordctl(["delete", "--", name], node=node.addr),
                            "chordctl delete %r" % name)
                return
            r = node.stub.Delete(N.DeleteRequest(name=name), timeout=10 * T.SLOW)
            self.assertEqual(r.owner.addr, self.owner_addr(name))

        plan = [(name, rng.choice(nodes), rng.random() < 0.1) for name in files]
        with cf.ThreadPoolExecutor(8) as ex:
            for f in [ex.submit(delete, *p) for p in plan]:
                f.result()
        for n in nodes:
            st = n.status()
            self.assertEqual((st.keys, st.bytes), (0, 0), n.addr)

        def gone(name, node):
            with self.assertRaises(grpc.RpcError) as e:
                node.stub.Read(N.ReadRequest(name=name), timeout=10 * T.SLOW)
            self.assertEqual(e.exception.code(), SC.NOT_FOUND, name)

        with cf.ThreadPoolExecutor(8) as ex:
            for f in [ex.submit(gone, name, rng.choice(nodes)) for name in files]:
                f.result()
        for name in rng.sample(sorted(files), 8):
            node = rng.choice(nodes)
            self.cli_error(T.chordctl(["read", "--", name], node=node.addr), 1,
                           "read of deleted %r" % name)
            outdir = T.tmpdir()
            self.cli_error(T.chordctl(["read", "-o", os.path.join(outdir, "nope"),
                                       "--", name], node=node.addr),
                           1, "read -o of deleted %r" % name)
            self.assertEqual(os.listdir(outdir), [], "left behind by read -o")
            with self.assertRaises(grpc.RpcError) as e:
                node.stub.Delete(N.DeleteRequest(name=name), timeout=10 * T.SLOW)
            self.assertEqual(e.exception.code(), SC.NOT_FOUND)
        self.assertEqual(self.sum_keys(), 0)

    # ---- 2. joins and leaves under a writer ---------------------------------

    def test_joins_and_leaves_keep_every_acknowledged_write(self):
        rng = random.Random(202)
        ids = fixed_ids(21, 12)
        self.c = cluster()
        original = self.c.start_nodes(ids[:8])
        acked, lock = {}, threading.Lock()
        used = set()
        # Enough data (~100 MB) that each hand-off takes a while.
        for _ in range(200):
            name = random_name(rng, used, "old")
            acked[name] = rng.randbytes(rng.choice([0, rng.randint(1, MIB)]))

        def put(name, data, node):
            node.stub.Write(wfile(name, data), timeout=30 * T.SLOW)

        with cf.ThreadPoolExecutor(8) as ex:
            for f in [ex.submit(put, name, data, rng.choice(original))
                      for name, data in acked.items()]:
                f.result()
        self.check_placement(acked)

        # Four joins, one after another, while the writer writes.
        w = Writer(original, acked, lock, 2021, "join")
        w.start()
        T.wait_for(lambda: w.count >= 10 or w.errors, 20, "the writer to start")
        for i in ids[8:]:
            before = w.count
            n = self.c.add_node(i, wait=False)
            self.c.wait_joined([n], timeout=60)
            self.assertIn("joined the ring", n.log())
            # Keep writing a little into the new ring before the next join.
            T.wait_for(lambda: w.count >= before + 10 or w.errors, 30,
                       "writes after a join")
        w.finish(self)
        join_retries = list(w.retries)
        self.assertEqual(len(self.c.live()), 12)
        self.assertEqual(self.c.ids(), sorted(ids))
        self.assertGreater(w.count, 40)
        with lock:
            files = dict(acked)
        self.read_all(files, 1)
        got = self.check_placement(files)
        # The newcomers took keys over.
        self.assertGreater(sum(got[i] for i in ids[8:]), 0)
        self.check_bytes(files)

        # Three leaves (one original, two newcomers), one at a time, while the
        # writer writes through the original nodes.
        leavers = [self.c.by_id(ids[rng.randrange(8)]),
                   self.c.by_id(ids[8]), self.c.by_id(ids[10])]
        w = Writer(original, acked, lock, 2022, "leave")
        w.start()
        T.wait_for(lambda: w.count >= 10 or w.errors, 20, "the writer to start")
        for n in leavers:
            before = w.count
            rc = n.stop(signal.SIGTERM, timeout=30)
            self.assertEqual(rc, 0, "%s exit status" % n.addr)
            self.assertIn("left the ring", n.log())
            self.assertNotIn(n.id, [i for i, _ in self.c.list_nodes()])
            T.wait_for(lambda: w.count >= before + 10 or w.errors, 30,
                       "writes after a leave")
        w.finish(self)
        self.assertEqual(len(self.c.live()), 9)
        self.assertEqual(self.c.ids(), sorted(set(ids) - {n.id for n in leavers}))
        with lock:
            files = dict(acked)
        self.read_all(files, 2)
        self.check_placement(files)
        self.check_bytes(files)
        print("\n  writes: %d acknowledged; retried %d during joins, %d during "
              "leaves" % (len(files), len(join_retries), len(w.retries)), flush=True)
        for name, addr, code, details in (join_retries + w.retries)[:5]:
            print("  retried %r at %s: %s %s" % (name, addr, code, details))

    # ---- 3. lookups ------------------------------------------------------------

    def test_lookup_owner_path_and_hops(self):
        rng = random.Random(303)
        self.c = cluster()
        ids = fixed_ids(31, 16)
        self.c.start_nodes(ids)
        nodes = self.c.live()
        sids = sorted(ids)
        used = set()
        names = [random_name(rng, used, "lk") for _ in range(1000)]
        jobs = [(name, rng.choice(nodes)) for name in names]

        def lookup(name, node):
            r = node.stub.Lookup(N.LookupRequest(name=name), timeout=10 * T.SLOW)
            want = T.successor(sids, T.sha1_int(name))
            self.assertEqual(r.key, T.id_bytes(T.sha1_int(name)))
            self.assertEqual(int.from_bytes(r.owner.id, "big"), want, name)
            self.assertEqual(r.owner.addr, self.c.by_id(want).addr)
            path = [(int.from_bytes(p.id, "big"), p.addr) for p in r.path]
            self.assertGreaterEqual(len(path), 1)
            self.assertEqual(path[0], (node.id, node.addr))
            self.assertEqual(path[-1], (want, r.owner.addr))
            self.assertEqual(len(set(path)), len(path), "a loop: %s" % path)
            for i, a in path:
                self.assertEqual(self.c.by_id(i).addr, a)
            return len(path) - 1

        with cf.ThreadPoolExecutor(8) as ex:
            hops = [f.result() for f in [ex.submit(lookup, *j) for j in jobs]]
        mean = sum(hops) / len(hops)
        print("\n  lookup hops: mean %.2f, max %d" % (mean, max(hops)), flush=True)
        self.assertLessEqual(mean, 0.5 * math.log2(16) + 1)
        self.assertLessEqual(max(hops), 16)
        # A lookup by 20-byte key agrees with the one by name.
        for name, node in jobs[:20]:
            a = node.stub.Lookup(N.LookupRequest(name=name), timeout=5 * T.SLOW)
            b = node.stub.Lookup(N.LookupRequest(key=T.id_bytes(T.sha1_int(name))),
                                 timeout=5 * T.SLOW)
            self.assertEqual(a, b)

        # chordctl lookup, text and JSON, agrees with the stub.
        for name, node in jobs[:25]:
            r = node.stub.Lookup(N.LookupRequest(name=name), timeout=5 * T.SLOW)
            path = [(p.id.hex(), p.addr) for p in r.path]
            j = json.loads(self.cli_ok(T.chordctl(["--json", "lookup", "--", name],
                                                  node=node.addr), "lookup").stdout)
            self.assertEqual(j["command"], "lookup")
            self.assertEqual(j["name"], name)
            self.assertEqual(j["key"], key_hex(name))
            self.assertEqual((j["owner"]["id"], j["owner"]["addr"]),
                             (r.owner.id.hex(), r.owner.addr))
            self.assertEqual(j["hops"], len(path) - 1)
            self.assertEqual([(p["id"], p["addr"]) for p in j["path"]], path)
            t = self.cli_ok(T.chordctl(["lookup", "--", name], node=node.addr),
                            "lookup").stdout.decode()
            fields = {}
            rest = t[t.index("\npath") + 1:]
            for line in t[:t.index("\npath")].splitlines():
                k, _, v = line.partition(" ")
                fields[k] = v.strip()
            self.assertEqual(fields["key"], key_hex(name))
            self.assertEqual(fields["owner"].split(),
                             [r.owner.id.hex(), r.owner.addr])
            self.assertEqual(int(fields["hops"]), len(path) - 1)
            self.assertEqual(re.findall(r"([0-9a-f]{40})\s+(\S+)", rest), path)

    # ---- 4. the dir store ------------------------------------------------------

    def test_dir_store_survives_restart_and_keeps_names_inside(self):
        rng = random.Random(404)
        self.c = cluster()
        root = T.tmpdir()
        parent = os.path.join(root, "p1", "p2")
        os.makedirs(parent)
        data_dir = os.path.join(parent, "data")
        extra = ["--store", "dir", "--data-dir", data_dir]
        cwd = os.getcwd()
        before = tree(root)
        before_cwd = set(os.listdir(cwd))
        node_id = fixed_ids(41, 1)[0]
        port = T.free_ports(1)[0]
        n = self.c.add_node(node_id, port=port, extra=extra)
        names = ["../../etc/passwd", "a/b/c", "/abs/olute", "..", ".", "...",
                 "./x", "a\\b", "dir/", " spaced ", "\u65e5\u672c/\u00e9",
                 "-dash", ".tmp-" + "0" * 40, "0" * 40]
        used = set(names)
        while len(names) < 20:
            names.append(random_name(rng, used, "d"))
        files = {name: rng.randbytes(rng.choice([0, rng.randint(1, 200 * KIB)]))
                 for name in names}
        for name, data in files.items():
            n.stub.Write(wfile(name, data), timeout=10 * T.SLOW)
        for name, data in files.items():
            self.read_back(n, name, data)
        self.assertEqual(n.status().keys, 20)
        want_files = {key_hex(name) for name in names}

        def check_dir():
            listing = os.listdir(data_dir)
            self.assertTrue(all(HEX40.match(x) for x in listing), listing)
            self.assertEqual(set(listing), want_files)
            for x in listing:
                self.assertTrue(os.path.isfile(os.path.join(data_dir, x)))
            # Nothing else appeared anywhere under root, nor in the cwd.
            self.assertEqual(tree(root), before | {"p1/p2/data/"} |
                             {"p1/p2/data/" + x for x in want_files})
            self.assertEqual({"etc", "a", "abs", "dir", "x", "P"} &
                             (set(os.listdir(cwd)) - before_cwd), set())

        self.assertEqual(n.stop(signal.SIGTERM), 0)
        check_dir()

        # A new process with the same id, port and data dir has them all.
        n2 = self.c.add_node(node_id, port=port, extra=extra)
        self.assertEqual(n2.status().keys, 20)
        self.assertEqual(n2.status().bytes, sum(len(d) for d in files.values()))
        for name, data in files.items():
            self.read_back(n2, name, data)
        check_dir()
        self.assertEqual(n2.stop(signal.SIGTERM), 0)
        check_dir()

    def test_dir_store_node_sigkilled_and_restarted(self):
        rng = random.Random(405)
        self.c = cluster(sn_args=["--heartbeat", "300ms",
                                    "--heartbeat-timeout", "1500ms"])
        ids = fixed_ids(42, 3)
        data_dir = os.path.join(T.tmpdir(), "data")
        extra = ["--store", "dir", "--data-dir", data_dir]
        a = self.c.add_node(ids[0])
        port = T.free_ports(1)[0]
        d = self.c.add_node(ids[1], port=port, extra=extra)
        b = self.c.add_node(ids[2])
        used = set()
        files = {}
        while len(files) < 40 or sum(1 for x in files if self.owner(x) == d.id) < 8:
            files[random_name(rng, used, "k")] = rng.randbytes(rng.randint(0, 100 * KIB))
        for name, data in files.items():
            rng.choice([a, b, d]).stub.Write(wfile(name, data), timeout=10 * T.SLOW)
        mine = [x for x in files if self.owner(x) == d.id]
        self.check_placement(files)
        self.assertEqual(len(os.listdir(data_dir)), len(mine))

        d.stop(signal.SIGKILL)
        T.wait_for(lambda: d.id not in [i for i, _ in self.c.list_nodes()], 15,
                   "the killed node to expire")
        d2 = self.c.add_node(ids[1], port=port, extra=extra, wait=False)
        self.c.wait_joined([d2], timeout=60)
        self.assertEqual(self.c.ids(), sorted(ids))
        self.check_placement(files)
        others = [a, b]
        for name, data in files.items():
            self.read_back(rng.choice(others), name, data)
        listing = os.listdir(data_dir)
        self.assertTrue(all(HEX40.match(x) for x in listing), listing)
        self.assertEqual(set(listing), {key_hex(x) for x in mine})

    # ---- 5. bad input ------------------------------------------------------------

    def test_bad_input_refused_and_nothing_stored(self):
        rng = random.Random(505)
        self.c = cluster()
        ids = fixed_ids(51, 3)
        # Chunks written below go soon after their file; the grace period
        # must still outlast a chunked write (9/10 of it) on a slow run.
        gc = ["--chunk-grace", "%dms" % (2000 * T.SLOW)]
        small = self.c.add_node(ids[0], extra=["--max-file-size", "1M"] + gc)
        others = [self.c.add_node(i, extra=gc) for i in ids[1:]]
        nodes = [small] + others
        work = T.tmpdir()
        used = set()
        # Some files present, so "nothing changed" means something.
        good = {random_name(rng, used, "g"): rng.randbytes(rng.randint(0, 4 * KIB))
                for _ in range(12)}
        for name, data in good.items():
            rng.choice(nodes).stub.Write(wfile(name, data), timeout=10 * T.SLOW)
        base = self.sum_keys()
        self.assertEqual(base, 12)
        content = os.path.join(work, "content")
        with open(content, "wb") as f:
            f.write(b"some content")

        def unchanged(what):
            for n in nodes:
                self.assertTrue(n.alive(), "%s died after %s" % (n.addr, what))
            self.assertEqual(self.sum_keys(), base, what)
            self.check_placement(good)

        def raw(node, method, payload):
            ch = self.c.channel(node.addr)
            call = ch.unary_unary("/chord.v1.Node/" + method)
            return rpc_code(lambda: call(payload, timeout=5 * T.SLOW))

        def every_rpc_code(node, name):
            return [rpc_code(lambda: node.stub.Write(wfile(name, b"x"),
                                                     timeout=5 * T.SLOW)),
                    rpc_code(lambda: node.stub.Read(N.ReadRequest(name=name),
                                                    timeout=5 * T.SLOW)),
                    rpc_code(lambda: node.stub.Delete(N.DeleteRequest(name=name),
                                                      timeout=5 * T.SLOW)),
                    rpc_code(lambda: node.stub.Lookup(N.LookupRequest(name=name),
                                                      timeout=5 * T.SLOW))]

        bad4 = [SC.INVALID_ARGUMENT] * 4
        for key in (b"\x01" * 19, b"\x01" * 21):
            self.assertEqual(rpc_code(lambda: small.stub.Lookup(
                N.LookupRequest(key=key), timeout=5 * T.SLOW)), SC.INVALID_ARGUMENT)

        # Empty name.
        for n in nodes:
            self.assertEqual(every_rpc_code(n, ""), bad4, n.addr)
        for args in (["write", "", content], ["read", ""], ["delete", ""],
                     ["lookup", ""]):
            self.cli_error(T.chordctl(args, node=rng.choice(nodes).addr), 4,
                           "empty name: %s" % args[0])
        unchanged("empty names")

        # Names with a NUL byte or bad UTF-8: built by hand, since the Python
        # protobuf refuses such strings.
        for bad in (b"abc\x00def", b"\x00", b"bad\xff\xfeutf8", b"\xc3"):
            ph = "P" * len(bad)
            reqs = {"Write": wfile(ph, b"payload"),
                    "Read": N.ReadRequest(name=ph),
                    "Delete": N.DeleteRequest(name=ph),
                    "Lookup": N.LookupRequest(name=ph)}
            for n in nodes:
                for method, req in reqs.items():
                    body = req.SerializeToString()
                    self.assertEqual(body.count(ph.encode()), 1)
                    code = raw(n, method, body.replace(ph.encode(), bad))
                    self.assertEqual(code, SC.INVALID_ARGUMENT,
                                     "%s %r on %s" % (method, bad, n.addr))
        r = T.chordctl(["write", b"bad\xffname", content], node=small.addr)
        self.cli_error(r, 4, "chordctl write of a non-UTF-8 name")
        unchanged("NUL and non-UTF-8 names")

        # Name length: 1024 bytes is fine, 1025 and 2000 are not.
        for n in nodes:
            self.assertEqual(every_rpc_code(n, "x" * 2000), bad4)
            self.assertEqual(every_rpc_code(n, "\u00e9" * 512 + "y"), bad4)
        for args in (["write", "x" * 2000, content], ["read", "x" * 2000],
                     ["delete", "x" * 2000], ["lookup", "x" * 1025]):
            self.cli_error(T.chordctl(args, node=rng.choice(nodes).addr), 4,
                           "long name: %s" % args[0])
        unchanged("long names")
        longest = "\u00e9" * 512
        others[0].stub.Write(wfile(longest, b"1024"), timeout=5 * T.SLOW)
        self.read_back(small, longest, b"1024")
        self.cli_ok(T.chordctl(["delete", longest], node=small.addr), "delete")
        unchanged("the 1024-byte name")

        # Size limit: 1 MiB is accepted by the node started with 1M; one byte
        # more is refused, by the RPC and by chordctl (whose own limit is the
        # default 64M), and by the owner when another node forwards it.
        name = random_name(rng, used, "big")
        small.stub.Write(wfile(name, b"\x01" * MIB), timeout=10 * T.SLOW)
        self.read_back(others[1], name, b"\x01" * MIB)
        small.stub.Delete(N.DeleteRequest(name=name), timeout=10 * T.SLOW)
        unchanged("a 1 MiB file")
        over = os.path.join(work, "over")
        with open(over, "wb") as f:
            f.write(b"\x02" * (MIB + 1))
        with self.assertRaises(grpc.RpcError) as e:
            small.stub.Write(wfile(name, b"\x02" * (MIB + 1)), timeout=10 * T.SLOW)
        self.assertEqual(e.exception.code(), SC.RESOURCE_EXHAUSTED)
        # chordctl stores a file over one chunk (1M) as chunks, each within
        # the node's limit: it goes through, from a file and from stdin,
        # and reads back whole. A chunk over the node's limit is refused.
        for args, inp in (([name, over], None), ([name], b"\x02" * (MIB + 1))):
            r = T.chordctl(["--json", "write"] + args, node=small.addr, input=inp)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(json.loads(r.stdout)["chunks"], 2, r.stdout)
            got = T.chordctl(["read", name], node=others[0].addr)
            self.assertEqual(got.returncode, 0, got.stderr)
            self.assertEqual(got.stdout, b"\x02" * (MIB + 1))
        self.cli_error(T.chordctl(["--chunk-size", "2M", "write", name, over],
                                  node=small.addr), 4,
                       "chordctl write of a chunk over the node's limit")
        small.stub.Delete(N.DeleteRequest(name=name), timeout=10 * T.SLOW)
        T.wait_for(lambda: self.sum_keys() == base, 30 * T.SLOW,
                   "the deleted file's chunks to be collected")
        self.cli_error(T.chordctl(["--max-size", "1M", "write", name, over],
                                  node=others[0].addr), 4,
                       "chordctl write over its own --max-size")
        owned = next(x for x in (random_name(rng, used, "o") for _ in range(1000))
                     if self.owner(x) == small.id)
        with self.assertRaises(grpc.RpcError) as e:
            others[0].stub.Write(wfile(owned, b"\x02" * (MIB + 1)),
                                 timeout=10 * T.SLOW)
        self.assertEqual(e.exception.code(), SC.RESOURCE_EXHAUSTED,
                         "forwarded to the owner with the 1M limit")
        unchanged("files over the limit")

        # Undecodable messages.
        for n in nodes:
            for method in ("Write", "Read", "Delete", "Lookup"):
                for junk in (b"\xff\xff\xff", b"\x0a\x05ab", b"\x0a"):
                    self.assertEqual(raw(n, method, junk), SC.INVALID_ARGUMENT,
                                     "%s %r on %s" % (method, junk, n.addr))
        unchanged("undecodable messages")

        # Missing names.
        for n in nodes:
            for what in ("Read", "Delete"):
                req = (N.ReadRequest if what == "Read" else N.DeleteRequest)(
                    name="missing-file")
                with self.assertRaises(grpc.RpcError) as e:
                    getattr(n.stub, what)(req, timeout=5 * T.SLOW)
                self.assertEqual(e.exception.code(), SC.NOT_FOUND)
            self.cli_error(T.chordctl(["read", "missing-file"], node=n.addr), 1,
                           "read of a missing file")
            self.cli_error(T.chordctl(["delete", "missing-file"], node=n.addr), 1,
                           "delete of a missing file")
        unchanged("missing names")

        # A dead node.
        dead = "127.0.0.1:%d" % T.free_ports(1)[0]
        for args in (["read", "x"], ["write", "x", content], ["delete", "x"],
                     ["lookup", "x"]):
            self.cli_error(T.chordctl(["--timeout", "3s"] + args, node=dead), 3,
                           "%s against a dead node" % args[0])
        unchanged("a dead node")

        # Every node still serves: write through each, read through each.
        fresh = {}
        for n in nodes:
            name = random_name(rng, used, "after")
            fresh[name] = rng.randbytes(rng.randint(1, 2 * KIB))
            n.stub.Write(wfile(name, fresh[name]), timeout=5 * T.SLOW)
        for name, data in fresh.items():
            for n in nodes:
                self.read_back(n, name, data)
        self.check_placement(list(good) + list(fresh))
        name = random_name(rng, used, "cli")
        self.cli_ok(T.chordctl(["write", name, content], node=small.addr), "write")
        self.assertEqual(self.cli_ok(T.chordctl(["read", name], node=others[1].addr),
                                     "read").stdout, b"some content")

    def test_long_key_transfer_renews_the_join_lease(self):
        """A joiner that takes over more data than its lease allows renews
        the lease instead of having PostJoin refused and starting over."""
        self.c = cluster(sn_args=["--lease", "200ms"])
        a = self.c.add_node(1 << 159)
        blob = os.urandom(8 << 20)
        names = ["big-%d" % i for i in range(12)]
        for nm in names:
            a.stub.Write(N.WriteRequest(file=T.C.File(name=nm, content=blob)),
                         timeout=30 * T.SLOW)
        # b sits just before a: it takes over every key but a's own id.
        b = self.c.add_node((1 << 159) - 1)
        log = b.log()
        self.assertIn("join lease renewed", log)
        self.assertNotIn("PostJoin refused", log)
        self.assertEqual(b.status().keys, 12)
        self.assertEqual(a.status().keys, 0)
        for nm in names:
            r = a.stub.Read(N.ReadRequest(name=nm), timeout=30 * T.SLOW)
            self.assertEqual(r.file.content, blob)

if __name__ == "__main__":
    unittest.main(verbosity=2)
