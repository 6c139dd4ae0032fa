# SPDX-License-Identifier: MIT
"""The ring heals itself: SIGKILLed nodes (one, and r - 1 adjacent), a
node frozen by SIGSTOP past the hop timeout, a dead supernode, and churn
under a reader and a writer, with real processes on 127.0.0.1. Files are
not replicated: only keys a dead node did not own must stay readable."""
import concurrent.futures as cf
import random
import signal
import threading
import time
import unittest

import grpc

import chordtest as T
from chordtest import C, N

SC = grpc.StatusCode
READ_DEADLINE = 10  # seconds (times SLOW) for each read during repair


fixed_ids = T.fixed_ids


wfile = T.wfile


def short(i):
    return T.id_hex(i)[:8]


class Ops:
    """Reads and writes through entry nodes, counting what fails."""

    @staticmethod
    def read(node, name, data, deadline=READ_DEADLINE):
        """None when name reads back as data through node, else why not."""
        try:
            r = node.stub.Read(N.ReadRequest(name=name), timeout=deadline * T.SLOW)
        except grpc.RpcError as e:
            return "%s via %s: %s %s" % (name, node.addr, e.code(), e.details())
        if r.file.content != data:
            return "%s via %s: %d bytes, want %d" % (
                name, node.addr, len(r.file.content), len(data))
        return None

    @staticmethod
    def read_pass(entries, files, rng, workers=8):
        """Reads every name once through a random entry node, 8 at a time.
        Returns the failures."""
        jobs = [(rng.choice(entries), name, data)
                for name, data in sorted(files.items())]
        with cf.ThreadPoolExecutor(workers) as ex:
            out = [f.result() for f in [ex.submit(Ops.read, *j) for j in jobs]]
        return [x for x in out if x is not None]


class Readers(threading.Thread):
    """Read passes over files, one after another, started at once (right
    after a failure): at least `passes`, and on until finish() is called
    (at most 100). Every failure is recorded."""

    MAX_PASSES = 100

    def __init__(self, entries, files, seed, passes):
        super().__init__(daemon=True)
        self.entries = list(entries)
        self.files = dict(files)
        self.rng = random.Random(seed)
        self.passes = passes
        self.done = 0
        self.halt = threading.Event()
        self.fails = []
        self.total = 0
        self.elapsed = None

    def run(self):
        t0 = time.monotonic()
        while self.done < self.MAX_PASSES and (
                self.done < self.passes or not self.halt.is_set()):
            self.fails += Ops.read_pass(self.entries, self.files, self.rng)
            self.total += len(self.files)
            self.done += 1
        self.elapsed = time.monotonic() - t0

    def finish(self, test):
        self.halt.set()
        self.join(self.passes * len(self.files) * READ_DEADLINE * T.SLOW)
        test.assertFalse(self.is_alive(), "the readers are stuck")


class HealTest(T.ClusterTest):
    # ---- helpers ----------------------------------------------------------

    def start_ring(self, ids):
        """Starts the nodes at once and waits until the ring is settled
        (the brute force's predecessors and successor lists): the tests
        break a settled ring. Right after parallel joins it is not yet:
        the first node's successor walks back to the right one a tick at
        a time, and requests in that range loop meanwhile."""
        nodes = self.c.start_nodes(ids)
        self.settle0 = T.wait_ring_correct(self.c, 30)
        return nodes

    def write_files(self, count, rng, prefix, nodes=None, names=None):
        """Writes count new small files through random nodes (each must be
        acknowledged by its brute-force owner); returns {name: data}."""
        nodes = nodes or self.c.live()
        ids = sorted(n.id for n in nodes)
        names = names or ["%s-%d-%x" % (prefix, k, rng.getrandbits(32))
                          for k in range(count)]
        files = {name: rng.randbytes(rng.randint(0, 2048)) for name in names}
        jobs = [(rng.choice(nodes), name, data) for name, data in files.items()]

        def put(node, name, data):
            r = node.stub.Write(wfile(name, data), timeout=READ_DEADLINE * T.SLOW)
            return name, int.from_bytes(r.owner.id, "big")

        with cf.ThreadPoolExecutor(8) as ex:
            for f in [ex.submit(put, *j) for j in jobs]:
                name, owner = f.result()
                self.assertEqual(owner, T.successor(ids, T.sha1_int(name)),
                                 "owner of %r" % name)
        return files

    def names_in_range(self, rng, prefix, lo, hi, count):
        """count names whose keys lie in (lo, hi], found by a bounded
        search."""
        out = []
        for k in range(200000):
            name = "%s-%d" % (prefix, k)
            if T.in_oc(T.sha1_int(name), lo, hi):
                out.append(name)
                if len(out) == count:
                    return out
        self.fail("no %d names in (%s, %s]" % (count, short(lo), short(hi)))

    def after_repair(self, rng, tag, victims, ids_before):
        """After the ring is correct: 30 new names (5 in the victims' old
        ranges, which their successors took over) write and read back
        through other nodes. Returns (failures, total)."""
        s = sorted(ids_before)
        names = []
        for v in victims:
            pred = s[(s.index(v) - 1) % len(s)]
            while pred in victims:
                pred = s[(s.index(pred) - 1) % len(s)]
            names += self.names_in_range(rng, "%s-dead-%s" % (tag, short(v)),
                                         pred, v, 5)
        names = names[:30]
        names += ["%s-new-%d" % (tag, k) for k in range(30 - len(names))]
        files = self.write_files(30, rng, tag, names=names)
        live = self.c.live()
        fails = Ops.read_pass(live, files, rng)
        self.assertEqual(fails, [], "new files read back")
        return files

    def kill_and_check(self, tag, seed, victims_of):
        """The shared body of the kill tests: 8 nodes, 200 files (R = 3
        copies each), SIGKILL the nodes victims_of(sorted ids) names, then
        readers over every key with a copy left (fail-over reads while the
        ring repairs), the repair time, and new writes. Keys whose R
        copies all died are the only ones allowed to be unreadable."""
        rng = random.Random(seed)
        self.c = T.Cluster()
        self.start_ring(fixed_ids(seed, 8))
        files = self.write_files(200, rng, tag)
        ids = self.c.ids()
        own = T.owners(ids, files)
        victims = victims_of(ids, rng)
        doomed = {k for k in files
                  if set(T.replica_set(ids, T.sha1_int(k), 3)) <= set(victims)}
        kept = {k: v for k, v in files.items() if k not in doomed}
        # The victims did own some of what is kept.
        self.assertTrue(any(own[k] in victims for k in kept))
        t0 = time.monotonic()
        for v in victims:
            self.c.by_id(v).send(signal.SIGKILL)
        for v in [n for n in self.c.nodes if n.id in victims]:
            v.wait(10)
        live = self.c.live()
        readers = Readers(live, kept, seed, passes=3)
        readers.start()
        repair = T.wait_ring_correct(self.c, 10, since=t0)
        readers.finish(self)
        after = Ops.read_pass(live, kept, rng)
        fails = readers.fails + after
        total = readers.total + len(kept)
        lost = sum(1 for k, v in files.items() if k in doomed and
                   Ops.read(rng.choice(live), k, v, deadline=5) is not None)
        dead_owned = sum(1 for k in kept if own[k] in victims)
        new = self.after_repair(rng, tag, victims, ids)
        print("\nheal: %s repair_s=%.2f read_fail=%d/%d readers_s=%.2f "
              "passes=%d write_fail=0/%d dead_owned_read=%d "
              "all_copies_dead_unreadable=%d/%d"
              % (tag, repair, len(fails), total, readers.elapsed, readers.done,
                 len(new), dead_owned, lost, len(doomed)), flush=True)
        self.assertEqual(fails[:10], [], "%d of %d reads of keys with a copy "
                         "left failed" % (len(fails), total))
        self.assertLess(repair, 10 * T.SLOW)

    # ---- 1. one node SIGKILLed ---------------------------------------------

    def test_kill_one_node(self):
        self.kill_and_check("kill1", 1101,
                            lambda ids, rng: [rng.choice(ids)])

    # ---- 2. r - 1 = 3 adjacent nodes SIGKILLed at once ----------------------

    def test_kill_three_adjacent_nodes(self):
        def adjacent(ids, rng):
            k = rng.randrange(len(ids))
            return [ids[(k + j) % len(ids)] for j in range(3)]
        self.kill_and_check("kill3", 2202, adjacent)

    # ---- 3. a node frozen past the hop timeout -----------------------------

    def test_sigstop_then_sigcont(self):
        rng = random.Random(3303)
        self.c = T.Cluster()
        self.start_ring(fixed_ids(3303, 8))
        files = self.write_files(200, rng, "stop")
        ids = self.c.ids()
        own = T.owners(ids, files)
        frozen = self.c.by_id(rng.choice(ids))
        kept = {k: v for k, v in files.items() if own[k] != frozen.id}
        its = {k: v for k, v in files.items() if own[k] == frozen.id}
        self.assertTrue(its)
        others = [n for n in self.c.live() if n is not frozen]
        frozen.send(signal.SIGSTOP)
        self.addCleanup(frozen.send, signal.SIGCONT)
        t0 = time.monotonic()
        # Readers from the moment it stops; meanwhile the others find it
        # dead (--hop-timeout 2s) and close the ring around it. It stays
        # stopped for 4 s at least, past the hop timeout and the detection.
        readers = Readers(others, kept, 3303, passes=2)
        readers.start()
        around = T.wait_ring_correct(self.c, 10, since=t0, nodes=others)
        time.sleep(max(0.0, 4 * T.SLOW - (time.monotonic() - t0)))
        readers.finish(self)
        fails, total, passes = readers.fails, readers.total, readers.done
        stopped_s = time.monotonic() - t0
        frozen.send(signal.SIGCONT)
        t1 = time.monotonic()
        rejoin = T.wait_ring_correct(self.c, 15, since=t1)
        # It still owns its range and holds its files.
        back = Ops.read_pass(self.c.live(), its, rng)
        after = Ops.read_pass(self.c.live(), kept, rng)
        new = self.write_files(20, rng, "stop-after")
        print("\nheal: stop stopped_s=%.2f around_s=%.2f passes=%d "
              "read_fail=%d/%d rejoin_s=%.2f own_read_fail=%d/%d "
              "after_fail=%d/%d write_fail=0/%d"
              % (stopped_s, around, passes, len(fails), total, rejoin, len(back),
                 len(its), len(after), len(kept), len(new)), flush=True)
        self.assertGreaterEqual(passes, 2)
        self.assertEqual(fails[:10], [], "%d of %d reads of keys the frozen "
                         "node did not own failed" % (len(fails), total))
        self.assertEqual(back[:10], [], "its own keys after SIGCONT")
        self.assertEqual(after[:10], [], "other keys after SIGCONT")
        st = frozen.status()
        self.assertTrue(st.joined)
        self.assertIn(frozen.id, self.c.ids())

    # While a node is frozen its successor serves its range as first
    # replica (check_predecessor found it dead) and acknowledges writes
    # there; when it resumes it owns them again without having them. It
    # notices the pause (its ticks came late), asks its replicas on every
    # read until repair has pulled what it missed, so no acknowledged
    # write reads as NOT_FOUND. (Once its hand-back raced the reads.)
    def test_writes_acknowledged_during_a_freeze_survive_the_resume(self):
        rng = random.Random(3313)
        self.c = T.Cluster()
        self.start_ring(fixed_ids(3313, 8))
        s = self.c.ids()
        frozen = self.c.by_id(s[3])
        others = [n for n in self.c.live() if n is not frozen]
        frozen.send(signal.SIGSTOP)
        self.addCleanup(frozen.send, signal.SIGCONT)
        around = T.wait_ring_correct(self.c, 10, nodes=others)
        names = self.names_in_range(rng, "freeze", s[2], s[3], 10)
        files = self.write_files(10, rng, "freeze", nodes=others, names=names)
        frozen.send(signal.SIGCONT)
        rejoin = T.wait_ring_correct(self.c, 15)
        fails = Ops.read_pass(self.c.live(), files, rng)
        print("\nheal: freeze-writes around_s=%.2f rejoin_s=%.2f "
              "unreadable_after_resume=%d/%d"
              % (around, rejoin, len(fails), len(files)), flush=True)
        for f in fails[:3]:
            print("  " + f)
        self.assertEqual(fails, [], "acknowledged writes lost with no crash")

    # ---- 4. the supernode SIGKILLed ----------------------------------------

    def test_supernode_killed_ring_serves_and_heals(self):
        rng = random.Random(4404)
        self.c = T.Cluster(sn_args=["--heartbeat", "300ms",
                                    "--heartbeat-timeout", "2s"])
        self.start_ring(fixed_ids(4404, 8))
        files = self.write_files(200, rng, "sn")
        self.c.sn.stop(signal.SIGKILL)
        # Reads and writes go on without it.
        fails0 = Ops.read_pass(self.c.live(), files, rng)
        self.assertEqual(fails0, [], "reads without the supernode")
        files.update(self.write_files(30, rng, "sn-nosn"))
        # A node dies too: the ring repairs without the supernode.
        ids = self.c.ids()
        own = T.owners(ids, files)
        victim = self.c.by_id(rng.choice(ids))
        kept = {k: v for k, v in files.items() if own[k] != victim.id}
        t0 = time.monotonic()
        victim.stop(signal.SIGKILL)
        live = self.c.live()
        readers = Readers(live, kept, 4404, passes=3)
        readers.start()
        repair = T.wait_ring_correct(self.c, 10, since=t0)
        readers.finish(self)
        fails = readers.fails + Ops.read_pass(live, kept, rng)
        total = readers.total + len(kept)
        new = self.after_repair(rng, "sn-after", [victim.id], ids)
        kept.update(new)
        # The supernode comes back on its port; heartbeats re-register the
        # live members (not the dead one); then a new node joins.
        self.c.start_supernode()
        want = sorted((n.id, n.addr) for n in self.c.live())
        T.wait_for(lambda: sorted(self.c.list_nodes()) == want, 10,
                   "members re-registered by heartbeats")
        joiner = self.c.add_node(fixed_ids(4405, 1)[0])
        rejoin = T.wait_ring_correct(self.c, 10)
        # Its range: keys it took over read through it and the others, and
        # new names in its range are stored on it.
        after = Ops.read_pass(self.c.live(), kept, rng)
        s = self.c.ids()
        pred = s[(s.index(joiner.id) - 1) % len(s)]
        mine = self.write_files(5, rng, "sn-j", names=self.names_in_range(
            rng, "sn-joiner", pred, joiner.id, 5))
        self.assertEqual(Ops.read_pass(self.c.live(), mine, rng), [])
        print("\nheal: supernode repair_s=%.2f read_fail=%d/%d "
              "join_settle_s=%.2f after_join_fail=%d/%d"
              % (repair, len(fails), total, rejoin, len(after), len(kept)),
              flush=True)
        self.assertEqual(fails[:10], [], "%d of %d reads failed"
                         % (len(fails), total))
        self.assertEqual(after[:10], [], "reads after the join")
        self.assertLess(repair, 10 * T.SLOW)

    # ---- 5. churn under a reader and a writer -------------------------------

    def test_churn_joins_leaves_and_a_kill(self):
        rng = random.Random(5505)
        self.c = T.Cluster(sn_args=["--heartbeat", "300ms",
                                    "--heartbeat-timeout", "1500ms"])
        ids = fixed_ids(5505, 12)
        original = self.start_ring(ids[:8])
        lock = threading.Lock()
        # name -> (data, owner id the write reported, monotonic ack time)
        acked = {}
        for name, data in self.write_files(100, rng, "churn0").items():
            acked[name] = (data, T.successor(self.c.ids(), T.sha1_int(name)),
                           time.monotonic())
        halt = threading.Event()
        werr, rerr, counts = [], [], {"w": 0, "r": 0}

        def writer():
            wrng = random.Random(5506)
            for k in range(600):
                if halt.is_set():
                    return
                live = self.c.live()
                node = wrng.choice(live)
                name = "churn-w-%d" % k
                data = wrng.randbytes(wrng.randint(0, 2048))
                counts["w"] += 1
                try:
                    r = node.stub.Write(wfile(name, data),
                                        timeout=READ_DEADLINE * T.SLOW)
                except grpc.RpcError as e:
                    werr.append((name, node.addr, e.code(), e.details()))
                    continue
                with lock:
                    acked[name] = (data, int.from_bytes(r.owner.id, "big"),
                                   time.monotonic())
                time.sleep(0.01)

        def reader():
            rrng = random.Random(5507)
            for _ in range(3000):
                if halt.is_set():
                    return
                with lock:
                    name = rrng.choice(sorted(acked))
                    data = acked[name][0]
                node = rrng.choice(self.c.live())
                counts["r"] += 1
                why = Ops.read(node, name, data)
                if why is not None:
                    rerr.append((name, why))
                time.sleep(0.005)

        threads = [threading.Thread(target=writer, daemon=True),
                   threading.Thread(target=reader, daemon=True)]
        for t in threads:
            t.start()
        killed = None
        t_churn = time.monotonic()

        def gap():
            time.sleep(0.7)

        gap()
        self.c.add_node(ids[8])
        gap()
        self.assertEqual(self.c.by_id(ids[0]).stop(signal.SIGTERM, timeout=30), 0)
        gap()
        self.c.add_node(ids[9])
        gap()
        # The SIGKILL: its files live on in their other copies.
        killed = ids[3]
        self.c.by_id(killed).stop(signal.SIGKILL)
        # A join at once, while the supernode still lists the dead node.
        self.c.add_node(ids[10])
        gap()
        self.assertEqual(self.c.by_id(ids[8]).stop(signal.SIGTERM, timeout=30), 0)
        gap()
        self.c.add_node(ids[11])
        gap()
        halt.set()
        for t in threads:
            t.join(60 * T.SLOW)
            self.assertFalse(t.is_alive(), "a churn thread is stuck")
        churn_s = time.monotonic() - t_churn
        settle = T.wait_ring_correct(self.c, 30)
        self.assertEqual(self.c.ids(), sorted(set(ids) - {ids[0], ids[3], ids[8]}))
        # Every acknowledged file reads back: one kill leaves R - 1 copies.
        lost = set()
        check = {k: v[0] for k, v in acked.items() if k not in lost}
        final = Ops.read_pass(self.c.live(), check, rng)
        new = self.write_files(20, rng, "churn-after")
        # Errors during churn, by kind: the entry node had gone (leaving or
        # killed: the client picked it a moment too late) or was still
        # joining, a file the kill lost, or anything else (printed in full).
        entry_gone = lambda why: ("failed to connect" in why or  # noqa: E731
                                  "still joining" in why)
        kinds = {"entry_gone": 0, "lost_file": 0, "other": 0}
        for name, why in rerr:
            kinds["entry_gone" if entry_gone(why) else
                  "lost_file" if name in lost else "other"] += 1
        w_gone = sum(1 for e in werr if entry_gone(e[3] or ""))
        print("\nheal: churn churn_s=%.1f settle_s=%.2f write_err=%d/%d "
              "(entry_gone=%d) read_err=%d/%d (%s) final_read_fail=%d/%d "
              "excluded=%d write_fail=0/%d"
              % (churn_s, settle, len(werr), counts["w"], w_gone, len(rerr),
                 counts["r"], " ".join("%s=%d" % kv for kv in kinds.items()),
                 len(final), len(check), len(lost), len(new)), flush=True)
        for e in [e for e in werr if not entry_gone(e[3] or "")][:8]:
            print("  write error: %s via %s: %s %s" % e)
        for name, why in [e for e in rerr if not entry_gone(e[1])
                          and e[0] not in lost][:8]:
            print("  read error: %s" % why)
        self.assertEqual(final[:10], [], "%d of %d acknowledged files "
                         "unreadable after settling" % (len(final), len(check)))
        self.assertGreater(len(check), 150)
        for n in original:
            self.assertFalse(n.alive() and n.id in (ids[0], ids[3]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
