# SPDX-License-Identifier: MIT
"""Replication (issue 12): every file lives on its owner and the owner's
next R - 1 live successors, a write or delete is acknowledged only when
all of them hold it, reads fail over to replicas, repair restores R
copies, and deletes are tombstones. Real processes on 127.0.0.1: a
seeded loss check under churn (Jepsen's set checker, by hand), two
adjacent nodes SIGKILLed at once under a writer, a replica that comes back
stale (SIGSTOP, and a restarted dir-store node), bad replication input,
the copy count in the replies, and the tombstones' grace."""
import concurrent.futures as cf
import os
import random
import signal
import threading
import time
import unittest

import grpc

import chordtest as T
from chordtest import C, N

SC = grpc.StatusCode
R = 3
FLAGS = T.replication_flags(R, repair="1s")
OP_DEADLINE = 10  # seconds (times SLOW) for one client call
OP_RETRY = 30  # seconds (times SLOW) a write or delete is retried
# Heartbeats fast enough that a SIGKILLed node leaves the supernode's list
# quickly, so that it can come back with its own id.
SN_ARGS = ["--heartbeat", "300ms", "--heartbeat-timeout", "1500ms"]


fixed_ids = T.fixed_ids


def short(i):
    return T.id_hex(i)[:8]


wfile = T.wfile


rpc_code = T.rpc_code


def read(node, name, deadline=OP_DEADLINE):
    """(True, content) when name reads through node, else (False, code,
    details)."""
    try:
        r = node.stub.Read(N.ReadRequest(name=name), timeout=deadline * T.SLOW)
    except grpc.RpcError as e:
        return (False, e.code(), e.details())
    return (True, r.file.content)


def read_pass(entries, names, rng, workers=8):
    """Reads each name once through a random entry node, 8 at a time:
    {name: read() result}."""
    jobs = [(name, rng.choice(entries)) for name in sorted(names)]
    with cf.ThreadPoolExecutor(workers) as ex:
        futs = {name: ex.submit(read, node, name) for name, node in jobs}
        return {name: f.result() for name, f in futs.items()}


def check_reads(results, want, deleted=()):
    """Compares read_pass results with the expected contents (want) and
    the deleted names: (wrong reads of live files, deleted files that
    read back, deleted files whose read failed with other than
    NOT_FOUND), each a list of one-line descriptions."""
    lost, back, err = [], [], []
    for name, data in want.items():
        r = results[name]
        if not r[0]:
            lost.append("%s: %s %s" % (name, r[1], r[2]))
        elif r[1] != data:
            lost.append("%s: %d bytes, not the %d acknowledged"
                        % (name, len(r[1]), len(data)))
    for name in deleted:
        r = results[name]
        if r[0]:
            back.append("%s: read back %d bytes after its delete"
                        % (name, len(r[1])))
        elif r[1] != SC.NOT_FOUND:
            err.append("%s: %s %s" % (name, r[1], r[2]))
    return lost, back, err


def live_copies(hold, name):
    """{node id: version} of the nodes holding a live copy of name."""
    key = T.sha1_int(name)
    return {nid: h[key][0] for nid, h in hold.items()
            if key in h and not h[key][1]}


class Writer(threading.Thread):
    """Writes unique files (and, with delete_frac, deletes earlier
    acknowledged ones) through a random node of `entries` (a list the test
    changes under `lock`) until halted. A write or delete is retried on
    any error until acknowledged or OP_RETRY seconds pass. Only what was
    acknowledged is recorded:
      acked[name] = (data, version): acknowledged writes, not deleted since
      deleted[name] = version: acknowledged deletes
      doubt: names whose delete was tried but never acknowledged
      abandoned: names whose write never was acknowledged
      vanished: acknowledged writes whose first delete found NOT_FOUND
      short_acks: acknowledgements that reported fewer than R copies
    """

    def __init__(self, entries, lock, seed, prefix, delete_frac=0.0,
                 pause=0.02):
        super().__init__(daemon=True)
        self.entries = entries
        self.lock = lock
        self.rng = random.Random(seed)
        self.prefix = prefix
        self.delete_frac = delete_frac
        self.pause = pause
        self.halt = threading.Event()
        self.acked, self.deleted = {}, {}
        self.doubt, self.abandoned, self.vanished = set(), set(), []
        self.vanished_names = []
        # Called (outside the lock) with a name whose first delete found
        # NOT_FOUND: the test records where the file was at that moment.
        self.on_vanish = None
        self.short_acks = []
        self.errors = {}  # status code name -> count (retried)
        self.writes = 0

    def pick(self):
        with self.lock:
            alive = [n for n in self.entries if n.alive()]
        return self.rng.choice(alive) if alive else None

    def snapshot(self):
        with self.lock:
            return dict(self.acked)

    def note(self, e):
        k = e.code().name if hasattr(e, "code") else str(e)
        self.errors[k] = self.errors.get(k, 0) + 1

    def run(self):
        k = 0
        while not self.halt.is_set():
            with self.lock:
                names = sorted(self.acked)
            if names and self.rng.random() < self.delete_frac:
                self.delete(self.rng.choice(names))
            else:
                name = "%s-%d-%x" % (self.prefix, k, self.rng.getrandbits(32))
                k += 1
                self.write(name, self.rng.randbytes(self.rng.randint(0, 4096)))
            time.sleep(self.pause)

    def write(self, name, data):
        deadline = time.monotonic() + OP_RETRY * T.SLOW
        self.writes += 1
        while time.monotonic() < deadline:
            node = self.pick()
            if node is None:
                break
            try:
                r = node.stub.Write(wfile(name, data), timeout=OP_DEADLINE * T.SLOW)
            except grpc.RpcError as e:
                self.note(e)
                time.sleep(0.05)
                continue
            with self.lock:
                self.acked[name] = (data, r.version)
                if r.copies != R:
                    self.short_acks.append("write %s: copies=%d" % (name, r.copies))
            return
        self.abandoned.add(name)

    def delete(self, name):
        deadline = time.monotonic() + OP_RETRY * T.SLOW
        first = True
        while time.monotonic() < deadline:
            node = self.pick()
            if node is None:
                break
            try:
                r = node.stub.Delete(N.DeleteRequest(name=name),
                                     timeout=OP_DEADLINE * T.SLOW)
            except grpc.RpcError as e:
                if e.code() == SC.NOT_FOUND:
                    with self.lock:
                        self.acked.pop(name, None)
                        if first:
                            # Nothing deleted it: the acknowledged write is gone.
                            self.vanished.append("%s via %s: %s" % (
                                name, node.addr, e.details()))
                            self.vanished_names.append(name)
                        else:
                            self.doubt.add(name)
                    if first and self.on_vanish:
                        self.on_vanish(name)
                    return
                self.note(e)
                first = False
                time.sleep(0.05)
                continue
            with self.lock:
                self.acked.pop(name, None)
                self.deleted[name] = r.version
                if r.copies != R:
                    self.short_acks.append("delete %s: copies=%d" % (name, r.copies))
            return
        with self.lock:
            self.acked.pop(name, None)
            self.doubt.add(name)

    def finish(self, test):
        self.halt.set()
        self.join(2 * OP_RETRY * T.SLOW)
        test.assertFalse(self.is_alive(), "the writer is stuck")


class Reader(threading.Thread):
    """Read passes over files (name -> data) through random entry nodes
    until halted (at least one pass); every failed or wrong read is
    recorded with when it started (seconds after t0) and how long it
    took."""

    def __init__(self, entries, files, seed, t0=None):
        super().__init__(daemon=True)
        self.entries = list(entries)
        self.files = dict(files)
        self.rng = random.Random(seed)
        self.t0 = time.monotonic() if t0 is None else t0
        self.halt = threading.Event()
        self.fails, self.total, self.passes = [], 0, 0

    def one(self, node, name):
        start = time.monotonic()
        r = read(node, name)
        took = time.monotonic() - start
        if r[0] and r[1] == self.files[name]:
            return None
        why = ("%s %s" % (r[1], r[2]) if not r[0] else
               "%d bytes, not the %d acknowledged" % (len(r[1]), len(self.files[name])))
        return "%s via %s at t=%.2fs (took %.2fs): %s" % (
            name, node.addr, start - self.t0, took, why)

    def run(self):
        while self.passes < 50 and (self.passes == 0 or not self.halt.is_set()):
            jobs = [(self.rng.choice(self.entries), name)
                    for name in sorted(self.files)]
            with cf.ThreadPoolExecutor(8) as ex:
                out = [f.result() for f in [ex.submit(self.one, *j) for j in jobs]]
            self.fails += [x for x in out if x is not None]
            self.total += len(self.files)
            self.passes += 1

    def finish(self, test):
        self.halt.set()
        self.join(len(self.files) * OP_DEADLINE * T.SLOW)
        test.assertFalse(self.is_alive(), "the reader is stuck")


class ReplicationTest(T.ClusterTest):
    # ---- helpers ----------------------------------------------------------

    def start(self, ids, dir_ids=(), sn_args=SN_ARGS, flags=FLAGS):
        """A supernode and one node per id (dir_ids with the dir store, in
        a data dir of its own), all started at once; waits until the ring
        is settled. Remembers each node's port and flags for restarts."""
        self.c = T.Cluster(sn_args=sn_args)
        self.spec = {}
        ports = T.free_ports(len(ids))
        nodes = []
        for i, port in zip(ids, ports):
            extra = list(flags)
            if i in dir_ids:
                extra += ["--store", "dir", "--data-dir",
                          os.path.join(T.tmpdir(), "data")]
            self.spec[i] = (port, extra)
            nodes.append(self.c.add_node(i, port=port, extra=extra, wait=False))
        self.c.wait_joined(nodes, timeout=60)
        T.wait_ring_correct(self.c, 30)
        return nodes

    def join(self, node_id, extra=None):
        """Starts a node (a new one, or one that was stopped: same port,
        flags and data dir) and waits until it has joined."""
        if node_id in self.spec:
            port, extra = self.spec[node_id]
        else:
            port, extra = T.free_ports(1)[0], list(extra or FLAGS)
            self.spec[node_id] = (port, extra)
        n = self.c.add_node(node_id, port=port, extra=extra, wait=False)
        self.c.wait_joined([n], timeout=60)
        return n

    def wait_expired(self, node_id):
        """Until the supernode has dropped a killed node (then its id can
        join again)."""
        T.wait_for(lambda: node_id not in [i for i, _ in self.c.list_nodes()],
                   15, "the supernode to drop %s" % short(node_id))

    def write_files(self, names, rng, nodes=None, want_copies=R):
        """Writes each name (random content) through a random node:
        {name: (data, version)}. Every reply must report want_copies."""
        nodes = nodes or self.c.live()
        out = {}
        for name in names:
            data = rng.randbytes(rng.randint(0, 2048))
            r = rng.choice(nodes).stub.Write(wfile(name, data),
                                             timeout=OP_DEADLINE * T.SLOW)
            self.assertEqual(r.copies, want_copies, "copies of the write of %r" % name)
            out[name] = (data, r.version)
        return out

    def delete_files(self, names, rng, nodes=None, want_copies=R):
        """Deletes each name through a random node: {name: version}."""
        nodes = nodes or self.c.live()
        out = {}
        for name in names:
            r = rng.choice(nodes).stub.Delete(N.DeleteRequest(name=name),
                                              timeout=OP_DEADLINE * T.SLOW)
            self.assertEqual(r.copies, want_copies, "copies of the delete of %r" % name)
            out[name] = r.version
        return out

    def names_in_range(self, prefix, lo, hi, count):
        out = []
        for k in range(200000):
            name = "%s-%d" % (prefix, k)
            if T.in_oc(T.sha1_int(name), lo, hi):
                out.append(name)
                if len(out) == count:
                    return out
        self.fail("no %d names in (%s, %s]" % (count, short(lo), short(hi)))

    def version_problems(self, hold, versions, deleted):
        """Entries that differ from the last acknowledged operation:
        versions {name: version of the acknowledged write}, deleted {name:
        version of the acknowledged delete}. A live name must be held (by
        anyone) only live at its version; a deleted one only as a tombstone
        at its version (or not at all)."""
        out = []
        for name, ver in list(versions.items()) + list(deleted.items()):
            dead = name in deleted
            key = T.sha1_int(name)
            for nid, h in hold.items():
                if key in h and (h[key][0] != ver or h[key][1] != dead):
                    out.append("%s on %s: %s v%d; acknowledged: %s v%d" % (
                        name, short(nid), "tombstone" if h[key][1] else "copy",
                        h[key][0], "delete" if dead else "write", ver))
        return out

    # ---- 1. the loss check under seeded churn --------------------------------

    GAP = 2.0  # seconds (times SLOW) between churn events
    WINDOW = 3  # events: no two adjacent departures within this many

    def test_loss_check_under_seeded_churn(self):
        seed = int(os.environ.get("CHORD_TEST_SEED", "1201"))
        rng = random.Random(seed)
        print("\nreplication: loss-check seed=%d (CHORD_TEST_SEED=%d reruns it)"
              % (seed, seed), flush=True)
        pool = fixed_ids(seed, 24)
        initial, joiners = pool[:8], pool[8:]
        dir_ids = set(rng.sample(initial, 3))
        self.start(initial, dir_ids)
        lock = threading.Lock()
        entries = self.c.live()
        writer = Writer(entries, lock, seed + 1, "loss", delete_frac=0.2)
        seen_at_vanish = []

        def on_vanish(name):
            # Who held the file when its delete found nothing: tells a
            # wrong answer (copies elsewhere) from a loss (no copy).
            try:
                hold = T.holdings(self.c, timeout=5)
                ids = self.c.ids()
                seen_at_vanish.append("%s: key %s, replica set %s, held live "
                                      "by %s, tombstoned by %s" % (
                    name, short(T.sha1_int(name)),
                    [short(i) for i in T.replica_set(ids, T.sha1_int(name), R)],
                    sorted(short(i) for i in live_copies(hold, name)),
                    sorted(short(nid) for nid, h in hold.items()
                           if T.sha1_int(name) in h and
                           h[T.sha1_int(name)][1])))
            except Exception as e:  # a node mid-change: say so, go on
                seen_at_vanish.append("%s: holdings failed: %r" % (name, e))
            print("  vanished: " + seen_at_vanish[-1], flush=True)

        writer.on_vanish = on_vanish
        writer.start()
        self.addCleanup(writer.halt.set)
        time.sleep(2 * T.SLOW)

        plan = ["kill"] * 4 + ["join"] * 3 + ["term"] * 2 + ["restart"] * 2
        rng.shuffle(plan)
        departed = []  # (event index, id): kills and SIGTERMs
        killed_dir = []  # dir-store nodes killed and not yet restarted
        done = []  # "kind:id" per event
        leave_rc = []
        t_churn = time.monotonic()

        def drop_entry(node):
            with lock:
                entries.remove(node)

        for k, ev in enumerate(plan + ["restart-rest"]):
            time.sleep(self.GAP * T.SLOW)
            if ev == "restart-rest":
                # Every dir-store node still dead comes back, stale.
                for victim in killed_dir:
                    self.wait_expired(victim)
                    n = self.join(victim)
                    with lock:
                        entries.append(n)
                    done.append("restart:%s" % short(victim))
                    print("  event %d t=%.1fs restart %s live=%d" % (
                        len(done) - 1, time.monotonic() - t_churn, short(victim),
                        len(self.c.live())), flush=True)
                break
            live_ids = self.c.ids()
            recent = {i for e, i in departed if k - e <= self.WINDOW}
            ring = sorted(set(live_ids) | recent)

            def allowed(i):
                j = ring.index(i)
                return (ring[j - 1] not in recent and
                        ring[(j + 1) % len(ring)] not in recent)

            if ev == "restart" and not killed_dir:
                ev = "kill-dir"
            if ev in ("kill", "kill-dir", "term"):
                cands = [i for i in live_ids if allowed(i)]
                if ev == "kill-dir":
                    cands = [i for i in cands if i in dir_ids]
                if not cands or len(live_ids) - 1 < R + 2:
                    ev = "join"
            if ev == "join" and not joiners:
                ev = "skip"
            if ev in ("kill", "kill-dir", "term"):
                victim = rng.choice(cands)
                node = self.c.by_id(victim)
                drop_entry(node)
                departed.append((k, victim))
                if ev == "term":
                    try:
                        leave_rc.append((short(victim), node.stop(signal.SIGTERM, 30)))
                    except AssertionError as e:
                        leave_rc.append((short(victim), str(e)))
                else:
                    node.send(signal.SIGKILL)
                    node.wait(10)
                    if victim in dir_ids:
                        killed_dir.append(victim)
            elif ev == "join":
                victim = joiners.pop(0)
                n = self.join(victim)
                with lock:
                    entries.append(n)
            elif ev == "restart":
                victim = killed_dir.pop(0)
                self.wait_expired(victim)
                n = self.join(victim)
                with lock:
                    entries.append(n)
            else:
                victim = 0
            done.append("%s:%s" % (ev, short(victim)))
            print("  event %d t=%.1fs %s %s live=%d" % (
                len(done) - 1, time.monotonic() - t_churn, ev, short(victim),
                len(self.c.live())), flush=True)
        time.sleep(2 * T.SLOW)
        writer.finish(self)
        churn_s = time.monotonic() - t_churn

        t0 = time.monotonic()
        settle = T.wait_ring_correct(self.c, 60)
        repair, stats = T.wait_replicated(self.c, 120, R, since=t0)
        live = self.c.live()
        acked = dict(writer.acked)
        deleted = dict(writer.deleted)
        res = read_pass(live, list(acked) + list(deleted), rng)
        lost, back, err = check_reads(res, {k: v[0] for k, v in acked.items()},
                                      deleted)
        # A file whose delete found nothing: still readable now (a wrong
        # NOT_FOUND while the ring moved) or gone (a loss). Both fail.
        later = read_pass(live, writer.vanished_names, rng)
        lost += ["%s: NOT_FOUND at its delete (%s)" % (
            v, "readable afterwards" if later[nm][0] else "gone")
                 for v, nm in zip(writer.vanished, writer.vanished_names)]
        # The read pass loads the nodes: one slow to answer may have been
        # taken for dead for a moment, and its successor given copies
        # (collected again once it answers). Count copies once they settle.
        T.wait_replicated(self.c, 60, R)
        hold = T.holdings(self.c)
        ids = self.c.ids()
        copies_ok = 0
        for name in acked:
            want = T.replica_set(ids, T.sha1_int(name), R)
            if sorted(live_copies(hold, name)) == sorted(want):
                copies_ok += 1
        back += ["%s: live copies on %s after its delete" % (
            name, [short(i) for i in live_copies(hold, name)])
            for name in deleted if live_copies(hold, name)]
        stale = self.version_problems(
            hold, {k: v[1] for k, v in acked.items()}, deleted)
        kills = sum(1 for d in done if d.startswith("kill"))
        restarts = sum(1 for d in done if d.startswith("restart"))
        print("replication: loss-check seed=%d writes=%d deletes=%d lost=%d "
              "resurrected=%d copies_ok=%d/%d" % (
                  seed, len(acked) + len(deleted), len(deleted), len(lost),
                  len(back), copies_ok, len(acked)), flush=True)
        print("replication: loss-check events=%d (kills=%d restarts=%d) "
              "churn_s=%.1f settle_s=%.2f repair_s=%.2f live=%d keys=%d "
              "tombstoned=%d write_attempts=%d retried_errors=%s abandoned=%d "
              "doubt=%d short_acks=%d stale_versions=%d delete_read_err=%d"
              % (len(done), kills, restarts, churn_s, settle, repair,
                 len(live), stats["keys"], stats["tombstoned"], writer.writes,
                 writer.errors, len(writer.abandoned), len(writer.doubt),
                 len(writer.short_acks), len(stale), len(err)), flush=True)
        print("replication: loss-check schedule %s" % " ".join(done), flush=True)
        self.assertEqual(lost[:10], [], "%d acknowledged writes lost; at the "
                         "vanishings: %s" % (len(lost), seen_at_vanish))
        self.assertEqual(back[:10], [], "%d acknowledged deletes came back"
                         % len(back))
        self.assertEqual(err[:10], [], "reads of deleted files failed oddly")
        self.assertEqual(copies_ok, len(acked), "files with exactly R copies "
                         "on their replica set; first problems: %s" %
                         T.replication_problems(self.c, R, nodes=live,
                                                hold=hold)[0][:5])
        self.assertEqual(stale[:10], [], "entries other than the acknowledged "
                         "version")
        self.assertEqual(writer.short_acks[:10], [], "acknowledged with fewer "
                         "than R copies while at least R + 2 nodes lived")
        self.assertTrue(all(rc == 0 for _, rc in leave_rc),
                        "SIGTERMed nodes exit 0: %s" % leave_rc)
        self.assertGreaterEqual(len(acked) + len(deleted), 100)
        self.assertGreaterEqual(len(deleted), 10)
        self.assertGreaterEqual(kills, 2)
        self.assertGreaterEqual(restarts, 1)

    # ---- 2. R - 1 adjacent nodes SIGKILLed at once under a writer -------------

    def test_kill_r_minus_1_adjacent_under_writer(self):
        rng = random.Random(2202)
        ids = fixed_ids(2202, 8)
        self.start(ids)
        lock = threading.Lock()
        entries = self.c.live()
        writer = Writer(entries, lock, 2203, "adj")
        writer.start()
        self.addCleanup(writer.halt.set)
        time.sleep(3 * T.SLOW)
        s = self.c.ids()
        k = rng.randrange(len(s))
        victims = [s[k], s[(k + 1) % len(s)]]
        before = writer.snapshot()
        # The files whose replica sets the kill cuts down to one copy or two.
        hit = {name: v[0] for name, v in before.items()
               if set(T.replica_set(s, T.sha1_int(name), R)) & set(victims)}
        both = sum(1 for name in hit if set(victims) <= set(
            T.replica_set(s, T.sha1_int(name), R)))
        self.assertGreater(both, 0, "some files had both victims as replicas")
        vnodes = [self.c.by_id(v) for v in victims]
        with lock:
            for n in vnodes:
                entries.remove(n)
        survivors = [n for n in self.c.live() if n.id not in victims]
        t0 = time.monotonic()
        reader = Reader(survivors, hit, 2204, t0)
        for n in vnodes:
            n.send(signal.SIGKILL)
        for n in vnodes:
            n.wait(10)
        reader.start()
        # Repair measured while the writer goes on: the files written
        # before the kill, each on its new replica set (over the survivors).
        repair_s, _ = T.wait_replicated(self.c, 60, R, since=t0, keys={
            T.sha1_int(name) for name in before})
        ring_s = T.wait_ring_correct(self.c, 30, since=t0)
        time.sleep(max(0.0, 4 * T.SLOW - (time.monotonic() - t0)))
        writer.finish(self)
        _, stats = T.wait_replicated(self.c, 60, R)
        reader.finish(self)
        acked = dict(writer.acked)
        during = len(acked) - len(before)
        res = read_pass(self.c.live(), acked, rng)
        lost = check_reads(res, {k: v[0] for k, v in acked.items()})[0]
        stale = self.version_problems(T.holdings(self.c),
                                      {k: v[1] for k, v in acked.items()}, {})
        print("\nreplication: kill-adjacent victims=%s writes=%d after_kill=%d "
              "hit=%d (both_replicas=%d) repair_s=%.2f ring_s=%.2f lost=%d "
              "failover_read_fail=%d/%d passes=%d copies_ok=%d/%d "
              "retried_errors=%s short_acks=%d" % (
                  [short(v) for v in victims], len(acked), during, len(hit),
                  both, repair_s, ring_s, len(lost), len(reader.fails),
                  reader.total, reader.passes, stats["copies_ok"],
                  stats["keys"], writer.errors, len(writer.short_acks)),
              flush=True)
        self.assertEqual(lost[:10], [], "%d acknowledged writes lost" % len(lost))
        self.assertEqual(writer.vanished, [])
        self.assertEqual(writer.abandoned, set(), "writes never acknowledged")
        self.assertEqual(reader.fails[:10], [], "%d of %d reads of files the "
                         "victims held failed while the ring repaired"
                         % (len(reader.fails), reader.total))
        self.assertEqual(stale[:10], [])
        self.assertEqual(writer.short_acks[:10], [])
        self.assertGreater(during, 0, "the writer went on after the kill")

    # ---- 3. a replica frozen past the failure timeout comes back stale ----------

    def test_stale_replica_never_overwrites_newer(self):
        rng = random.Random(3303)
        ids = fixed_ids(3303, 6)
        self.start(ids, sn_args=())
        names = ["stale-%d" % k for k in range(120)]
        files = self.write_files(names, rng)
        T.wait_replicated(self.c, 30, R)
        s = self.c.ids()
        frozen = self.c.by_id(s[2])
        mine = T.held(frozen)
        its = [x for x in names if T.sha1_int(x) in mine]
        self.assertEqual(sorted(its), sorted(
            x for x in names if frozen.id in T.replica_set(s, T.sha1_int(x), R)),
            "the frozen node held its replica sets' files")
        others = [n for n in self.c.live() if n is not frozen]
        frozen.send(signal.SIGSTOP)
        self.addCleanup(frozen.send, signal.SIGCONT)
        t0 = time.monotonic()
        around = T.wait_ring_correct(self.c, 15, nodes=others, since=t0)
        rng.shuffle(its)
        cut = len(its) * 3 // 5
        over, gone = its[:cut], its[cut:cut + len(its) // 4]
        new = self.write_files(over, rng, nodes=others)
        for name in over:
            self.assertGreater(new[name][1], files[name][1],
                               "the overwrite's version of %r" % name)
        dels = self.delete_files(gone, rng, nodes=others)
        for name in gone:
            self.assertGreater(dels[name], files[name][1])
        # New names in the frozen node's own range: its successor owns them
        # now; when it resumes it owns them again and must have them.
        fresh = self.write_files(self.names_in_range(
            "stale-own", s[1], s[2], 10), rng, nodes=others)
        files.update(new)
        files.update(fresh)
        for name in gone:
            del files[name]
        frozen.send(signal.SIGCONT)
        t1 = time.monotonic()
        # Right after the resume: each changed file read through every
        # node, the resumed one too (a figure, not asserted: read repair is
        # optional). Each stale answer is noted with the version served.
        def early_read(name, n):
            try:
                r = n.stub.Read(N.ReadRequest(name=name),
                                timeout=OP_DEADLINE * T.SLOW)
            except grpc.RpcError as e:
                if name in dels and e.code() == SC.NOT_FOUND:
                    return None
                return "%s via %s: %s %s" % (name, n.addr, e.code().name,
                                             e.details())
            if name in dels:
                return ("%s via %s: served v%d (owner %s) after the delete "
                        "v%d" % (name, n.addr, r.file.version, r.owner.addr,
                                 dels[name]))
            if r.file.content != files[name][0]:
                return ("%s via %s: served v%d (owner %s), acknowledged v%d"
                        % (name, n.addr, r.file.version, r.owner.addr,
                           files[name][1]))
            return None

        with cf.ThreadPoolExecutor(8) as ex:
            early = [f.result() for f in [
                ex.submit(early_read, name, n)
                for name in list(over) + list(gone) + list(fresh)
                for n in self.c.live()]]
        early = [x for x in early if x is not None]
        e_back = [x for x in early if "after the delete" in x]
        e_lost = [x for x in early if x not in e_back]
        rejoin = T.wait_ring_correct(self.c, 20, since=t1)
        repair, stats = T.wait_replicated(self.c, 60, R, since=t1)
        res = read_pass(self.c.live(), list(files) + list(gone), rng)
        lost, back, err = check_reads(res, {k: v[0] for k, v in files.items()}, gone)
        via_frozen = {name: read(frozen, name) for name in over + gone}
        lost2, back2, err2 = check_reads(via_frozen,
                                         {k: files[k][0] for k in over}, gone)
        stale = self.version_problems(T.holdings(self.c),
                                      {k: v[1] for k, v in files.items()}, dels)
        print("\nreplication: stale-replica held=%d overwritten=%d deleted=%d "
              "own_range_new=%d around_s=%.2f rejoin_s=%.2f repair_s=%.2f "
              "early_stale_reads=%d/%d early_resurrected=%d/%d lost=%d "
              "resurrected=%d "
              "stale_versions=%d copies_ok=%d/%d" % (
                  len(its), len(over), len(gone), len(fresh), around, rejoin,
                  repair, len(e_lost), (len(over) + len(fresh)) * len(self.c.live()),
                  len(e_back), len(gone) * len(self.c.live()), len(lost + lost2),
                  len(back + back2), len(stale), stats["copies_ok"],
                  stats["keys"]), flush=True)
        for x in early[:6]:
            print("  early read: " + x, flush=True)
        self.assertEqual((lost + lost2)[:10], [], "reads after convergence "
                         "give the newest acknowledged content")
        self.assertEqual((back + back2)[:10], [], "deleted files stay deleted")
        self.assertEqual((err + err2)[:10], [])
        self.assertEqual(stale[:10], [], "no node holds an older version")

    # ---- 4. a restarted dir-store node brings back no deleted file --------------

    def test_restarted_dir_node_does_not_resurrect_deletes(self):
        rng = random.Random(4404)
        ids = fixed_ids(4404, 6)
        s = sorted(ids)
        d_id = s[3]
        self.start(ids, dir_ids={d_id})
        names = ["rdir-%d" % k for k in range(120)]
        files = self.write_files(names, rng)
        T.wait_replicated(self.c, 30, R)
        d = self.c.by_id(d_id)
        mine = T.held(d)
        its = sorted(x for x in names if T.sha1_int(x) in mine)
        self.assertGreaterEqual(len(its), 20)
        data_dir = self.spec[d_id][1][-1]
        self.assertTrue(os.listdir(data_dir), "the dir store has files")
        d.send(signal.SIGKILL)
        d.wait(10)
        others = [n for n in self.c.live() if n is not d]
        self.wait_expired(d_id)
        T.wait_ring_correct(self.c, 15, nodes=others)
        rng.shuffle(its)
        gone = its[:len(its) // 2]
        over = its[len(its) // 2:len(its) // 2 + len(its) // 4]
        dels = self.delete_files(gone, rng, nodes=others)
        files.update(self.write_files(over, rng, nodes=others))
        for name in gone:
            del files[name]
        without, _ = T.wait_replicated(self.c, 60, R, nodes=others)
        t1 = time.monotonic()
        d2 = self.join(d_id)
        # Right after the join, before any repair round had to run.
        early = read_pass(self.c.live(), gone, rng)
        e_back = check_reads(early, {}, gone)[1]
        early_d = T.held(d2)
        e_held = [x for x in gone if T.sha1_int(x) in early_d and
                  not early_d[T.sha1_int(x)][1]]
        T.wait_ring_correct(self.c, 20)
        repair, stats = T.wait_replicated(self.c, 60, R, since=t1)
        live = self.c.live()
        res = read_pass(live, list(files) + gone, rng)
        lost, back, err = check_reads(res, {k: v[0] for k, v in files.items()}, gone)
        via_d = {name: read(d2, name) for name in gone + over}
        lost2, back2, err2 = check_reads(via_d, {k: files[k][0] for k in over}, gone)
        hold = T.holdings(self.c)
        back += ["%s: live copies on %s" % (x, [short(i) for i in live_copies(hold, x)])
                 for x in gone if live_copies(hold, x)]
        stale = self.version_problems(hold, {k: v[1] for k, v in files.items()}, dels)
        print("\nreplication: restart-dir held=%d deleted=%d overwritten=%d "
              "rereplicated_s=%.2f repair_s=%.2f lost=%d resurrected=%d "
              "early_resurrected_reads=%d early_live_on_restarted=%d "
              "stale_versions=%d copies_ok=%d/%d" % (
                  len(its), len(gone), len(over), without, repair,
                  len(lost + lost2), len(back + back2), len(e_back), len(e_held),
                  len(stale), stats["copies_ok"], stats["keys"]), flush=True)
        self.assertEqual((back + back2)[:10], [], "deleted files came back")
        self.assertEqual((lost + lost2)[:10], [], "acknowledged writes")
        self.assertEqual((err + err2)[:10], [])
        self.assertEqual(stale[:10], [], "no node holds an older version")
        self.assertEqual(stats["copies_ok"], len(files))
        self.assertEqual(e_back[:10], [], "deleted files read back right after "
                         "the restarted node joined")

    # ---- 5. bad replication input -----------------------------------------------

    def test_replicate_refuses_keys_plainly_not_the_receivers(self):
        """A peer cannot plant files on a member that knows 2R live nodes
        between the key and itself (keys after it, up its successor list
        and fingers): FAILED_PRECONDITION, nothing stored. Keys it does
        replicate are taken."""
        ids = fixed_ids(515, 8)
        nodes = self.start(ids)
        s = sorted(ids)
        x = self.c.by_id(s[0])
        src = self.c.by_id(s[-1])
        # Keys owned by x's second successor: six live nodes lie between.
        far = self.names_in_range("far", s[1], s[2], 3)
        # Keys owned by x's predecessor: x is their first replica.
        near = self.names_in_range("near", s[-2], s[-1], 3)

        def replicate(names):
            files = [C.File(name=nm, content=b"planted", version=5,
                            key=T.id_bytes(T.sha1_int(nm))) for nm in names]
            return rpc_code(lambda: x.stub.Replicate(N.ReplicateRequest(
                **{"from": C.NodeInfo(id=T.id_bytes(src.id), addr=src.addr)},
                files=files), timeout=5 * T.SLOW))

        self.assertEqual(replicate(far), SC.FAILED_PRECONDITION)
        self.assertEqual(replicate(near[:1] + far[:1]), SC.FAILED_PRECONDITION,
                         "one foreign key refuses the request")
        h = T.held(x)
        for nm in far + near:
            self.assertNotIn(T.sha1_int(nm), h, "%s stored on x" % nm)
        self.assertEqual(replicate(near), SC.OK)
        h = T.held(x)
        for nm in near:
            self.assertIn(T.sha1_int(nm), h, "%s not stored on x" % nm)
        print("\nreplication: foreign-keys refused=%d taken=%d on 8 nodes"
              % (len(far), len(near)), flush=True)
        self.assertTrue(all(n.alive() for n in nodes))

    def test_bad_replication_input(self):
        rng = random.Random(505)
        ids = fixed_ids(505, 3)
        nodes = self.start(ids, sn_args=())
        good = self.write_files(["good-%d" % k for k in range(12)], rng)
        T.wait_replicated(self.c, 30, R)
        base = T.holdings(self.c)
        s = self.c.ids()
        to = lambda n: n.stub  # noqa: E731

        def info(n):
            return C.NodeInfo(id=T.id_bytes(n.id), addr=n.addr)

        def unchanged(what, keys=()):
            for n in nodes:
                self.assertTrue(n.alive(), "%s died after %s" % (n.addr, what))
            now = T.holdings(self.c)
            for k in keys:
                for nid, h in now.items():
                    self.assertNotIn(k, h, "%s: key %s stored on %s"
                                     % (what, short(k), short(nid)))
            self.assertEqual(now, base, "%s changed what the nodes hold" % what)

        def raw(node, method, payload):
            call = self.c.channel(node.addr).unary_unary(
                "/chord.v1.Node/" + method, request_serializer=lambda b: b,
                response_deserializer=lambda b: b)
            return rpc_code(lambda: call(payload, timeout=5 * T.SLOW))

        def replicate(node, files=(), deleted=()):
            src = next(n for n in nodes if n is not node)
            return rpc_code(lambda: to(node).Replicate(N.ReplicateRequest(
                **{"from": info(src)}, files=list(files), deleted=list(deleted)),
                timeout=5 * T.SLOW))

        bad = SC.INVALID_ARGUMENT
        # Replicate: a key that is not SHA-1(name), an empty name, a name too
        # long, a deleted key that is not 20 bytes.
        k_x, k_y = T.sha1_int("rep-x"), T.sha1_int("rep-y")
        for n in nodes:
            f = C.File(name="rep-x", content=b"x", version=7, key=T.id_bytes(k_y))
            self.assertEqual(replicate(n, [f]), bad, "key != SHA-1(name) on %s" % n.addr)
            f = C.File(name="rep-x", content=b"x", version=7, key=b"\x01" * 19)
            self.assertEqual(replicate(n, [f]), bad, "19-byte key on %s" % n.addr)
            f = C.File(name="", content=b"x", version=7, key=T.id_bytes(T.sha1_int("")))
            self.assertEqual(replicate(n, [f]), bad, "empty name on %s" % n.addr)
            long_name = "L" * 2000
            f = C.File(name=long_name, content=b"x", version=7,
                       key=T.id_bytes(T.sha1_int(long_name)))
            self.assertEqual(replicate(n, [f]), bad, "2000-byte name on %s" % n.addr)
            # One bad file among good ones: the whole request is refused.
            ok = C.File(name="rep-ok", content=b"ok", version=7,
                        key=T.id_bytes(T.sha1_int("rep-ok")))
            f = C.File(name="rep-x", content=b"x", version=7, key=T.id_bytes(k_y))
            self.assertEqual(replicate(n, [ok, f]), bad, "a bad file among good "
                             "ones on %s" % n.addr)
            self.assertEqual(replicate(n, [], [b"\x02" * 19]), bad,
                             "a 19-byte deleted key on %s" % n.addr)
        unchanged("bad Replicate requests",
                  [k_x, k_y, T.sha1_int(""), T.sha1_int("L" * 2000),
                   T.sha1_int("rep-ok")])

        # A name with a NUL byte or bad UTF-8, put in by hand.
        for badname in (b"nul\x00name", b"bad\xff\xfeutf8"):
            ph = "P" * len(badname)
            f = C.File(name=ph, content=b"x", version=7,
                       key=T.id_bytes(T.sha1_int(badname)))
            body = N.ReplicateRequest(**{"from": info(nodes[1])}, files=[f]) \
                .SerializeToString()
            self.assertEqual(body.count(ph.encode()), 1)
            body = body.replace(ph.encode(), badname)
            for n in nodes:
                self.assertEqual(raw(n, "Replicate", body), bad,
                                 "name %r on %s" % (badname, n.addr))
        unchanged("names with NUL or bad UTF-8",
                  [T.sha1_int(b"nul\x00name"), T.sha1_int(b"bad\xff\xfeutf8")])

        # Fetch: a good key answers its file; a key not 20 bytes is refused.
        name0 = sorted(good)[0]
        r = nodes[0].stub.Fetch(N.FetchRequest(keys=[T.id_bytes(T.sha1_int(name0))]),
                                timeout=5 * T.SLOW)
        self.assertEqual([(f.name, f.content) for f in r.files],
                         [(name0, good[name0][0])], "Fetch of a key held")
        for n in nodes:
            for keys in ([b"\x01" * 19], [b"\x01" * 21], [b""],
                         [T.id_bytes(T.sha1_int(name0)), b"\x01" * 19],
                         [b"\x01" * 20] * 4097):
                self.assertEqual(rpc_code(lambda: n.stub.Fetch(
                    N.FetchRequest(keys=keys), timeout=5 * T.SLOW)), bad,
                    "Fetch of %d keys of lengths %s on %s" % (
                        len(keys), sorted({len(k) for k in keys}), n.addr))
        unchanged("bad Fetch requests")

        # SyncDigest: a well-formed one from the predecessor over the range
        # it owns is answered; bounds not 20 bytes, more than 16 bits, a
        # bucket digest not 20 bytes or a bucket index past 2^bits are
        # refused.
        for n in nodes:
            j = s.index(n.id)
            pred = self.c.by_id(s[j - 1])
            lo, hi = T.id_bytes(s[j - 2]), T.id_bytes(s[j - 1])
            buckets = [N.BucketDigest(index=i, digest=bytes([i + 1]) * 20)
                       for i in (0, 3, 15)]

            def digest(lo=lo, hi=hi, bits=4, buckets=buckets):
                return rpc_code(lambda: n.stub.SyncDigest(N.SyncDigestRequest(
                    **{"from": info(pred)}, lo=lo, hi=hi, bits=bits,
                    buckets=buckets), timeout=5 * T.SLOW))

            self.assertEqual(digest(), SC.OK, "a well-formed SyncDigest to %s"
                             % n.addr)
            self.assertEqual(digest(lo=hi, bits=0, buckets=[]), SC.OK,
                             "a whole-ring SyncDigest with no buckets to %s"
                             % n.addr)
            for what, kw in (
                    ("19-byte lo", {"lo": lo[:19]}),
                    ("21-byte hi", {"hi": hi + b"\x00"}),
                    ("empty lo", {"lo": b""}),
                    ("bits 17", {"bits": 17}),
                    ("19-byte digest", {"buckets": buckets[:2] + [
                        N.BucketDigest(index=15, digest=b"\x01" * 19)]}),
                    ("21-byte digest", {"buckets": [
                        N.BucketDigest(index=0, digest=b"\x01" * 21)]}),
                    ("index 16 with 4 bits", {"buckets": [
                        N.BucketDigest(index=16, digest=b"\x01" * 20)]})):
                self.assertEqual(digest(**kw), bad, "SyncDigest with a %s on %s"
                                 % (what, n.addr))
        unchanged("bad SyncDigest requests")

        # Undecodable and truncated Replicate payloads.
        trunc = C.File(name="rep-trunc", content=b"t" * 100, version=7,
                       key=T.id_bytes(T.sha1_int("rep-trunc")))
        body = N.ReplicateRequest(**{"from": info(nodes[1])},
                                  files=[trunc]).SerializeToString()
        for n in nodes:
            for junk in (b"\xff\xff\xff", b"\x0a\x05ab", b"\x12", body[:-10],
                         body[:len(body) // 2]):
                code = raw(n, "Replicate", junk)
                self.assertNotEqual(code, SC.OK, "Replicate %r... on %s"
                                    % (junk[:8], n.addr))
            self.assertEqual(n.stub.Ping(N.PingRequest(payload=b"hi"),
                                         timeout=5 * T.SLOW).payload, b"hi")
        unchanged("undecodable Replicate payloads", [T.sha1_int("rep-trunc")])

        # Still serving: every file reads back through every node.
        for n in nodes:
            for name, (data, _) in good.items():
                self.assertEqual(read(n, name), (True, data), "%s via %s"
                                 % (name, n.addr))
        print("\nreplication: bad-input refused, nothing stored, %d nodes serve"
              % len(nodes), flush=True)

    # ---- 6. the copy count in the replies -----------------------------------------

    def test_write_reports_copies(self):
        rng = random.Random(606)
        ids = fixed_ids(606, 5)
        self.start(ids[:2], sn_args=())
        two = self.write_files(["two-%d" % k for k in range(10)], rng, want_copies=2)
        self.assertTrue(all(v > 0 for _, v in two.values()), "versions")
        dels = self.delete_files(sorted(two)[:3], rng, want_copies=2)
        for name, ver in dels.items():
            self.assertGreater(ver, two[name][1], "the delete's version of %r" % name)
            self.assertEqual(rpc_code(lambda: self.c.nodes[0].stub.Read(
                N.ReadRequest(name=name), timeout=5 * T.SLOW)), SC.NOT_FOUND)
        hold = T.holdings(self.c)
        for name in sorted(two)[3:]:
            self.assertEqual(len(live_copies(hold, name)), 2, name)
        t_join = time.monotonic()
        for i in ids[2:]:
            self.join(i)
        T.wait_ring_correct(self.c, 30)
        # The joins bring the files written to 2 nodes up to R copies.
        grow, _ = T.wait_replicated(self.c, 30, R, since=t_join)
        five = self.write_files(["five-%d" % k for k in range(20)], rng)
        hold = T.holdings(self.c)
        s = self.c.ids()
        for name in five:
            self.assertEqual(sorted(live_copies(hold, name)),
                             sorted(T.replica_set(s, T.sha1_int(name), R)),
                             "%r held by its replica set when acknowledged" % name)
        dels5 = self.delete_files(sorted(five)[:5], rng)
        for name, ver in dels5.items():
            self.assertGreater(ver, five[name][1])
        self.assertEqual(rpc_code(lambda: self.c.nodes[0].stub.Delete(
            N.DeleteRequest(name="never-written"), timeout=5 * T.SLOW)), SC.NOT_FOUND)
        st = [n.stub.Status(N.StatusRequest(), timeout=5 * T.SLOW)
              for n in self.c.live()]
        self.assertTrue(all(x.replicas == R for x in st), [x.replicas for x in st])
        print("\nreplication: copies two_nodes=2 five_nodes=%d joins_to_R_s=%.2f "
              "primary=%d replica=%d tombstones=%d" % (
                  R, grow, sum(x.primary_keys for x in st),
                  sum(x.replica_keys for x in st), sum(x.tombstones for x in st)),
              flush=True)

    # ---- 7. tombstones are purged after the grace period, and stay deleted ------

    def test_tombstones_purged_after_grace(self):
        rng = random.Random(707)
        grace = 4 * T.SLOW
        ids = fixed_ids(707, 4)
        self.start(ids, sn_args=(), flags=T.replication_flags(
            R, repair="1s", grace="%dms" % (grace * 1000)))
        files = self.write_files(["tomb-%d" % k for k in range(20)], rng)
        gone = sorted(files)[:10]
        t0 = time.monotonic()
        self.delete_files(gone, rng)
        hold = T.holdings(self.c)
        s = self.c.ids()
        early = time.monotonic() - t0
        for name in gone:
            key = T.sha1_int(name)
            tomb = sorted(nid for nid, h in hold.items() if key in h and h[key][1])
            self.assertEqual(tomb, sorted(T.replica_set(s, key, R)),
                             "tombstones of %r on its replica set %.1fs after "
                             "the delete" % (name, early))

        def purged():
            st = [n.stub.Status(N.StatusRequest(list_keys=True), timeout=5 * T.SLOW)
                  for n in self.c.live()]
            return all(x.tombstones == 0 and not any(kv.deleted for kv in x.held)
                       for x in st)

        T.wait_for(purged, grace + 30, "tombstones to be purged", step=0.2)
        purge_s = time.monotonic() - t0
        time.sleep(3 * T.SLOW)  # a few more repair rounds
        res = read_pass(self.c.live(), list(files), rng)
        lost, back, err = check_reads(
            res, {k: v[0] for k, v in files.items() if k not in gone}, gone)
        _, stats = T.wait_replicated(self.c, 10, R)
        print("\nreplication: tombstones grace_s=%.1f purged_after_s=%.2f "
              "resurrected=%d lost=%d copies_ok=%d/%d" % (
                  grace, purge_s, len(back), len(lost), stats["copies_ok"],
                  stats["keys"]), flush=True)
        self.assertGreaterEqual(purge_s, grace, "purged before the grace period")
        self.assertEqual(back, [], "deleted files came back after the purge")
        self.assertEqual(lost + err, [])
        self.assertEqual(stats["keys"], 10)


if __name__ == "__main__":
    unittest.main(verbosity=2)
