# SPDX-License-Identifier: MIT
"""Joins, leases, uniqueness, heartbeats, leaves and supernode restarts,
with real chord-supernode and chord-node processes on 127.0.0.1."""
import os
import random
import signal
import subprocess
import time
import unittest

import grpc

import chordtest as T
from chordtest import N, S


def fixed_ids(seed, n):
    rng = random.Random(seed)
    return [rng.getrandbits(160) for _ in range(n)]


class MembershipTest(T.ClusterTest):
    def check_tables(self, timeout=30):
        """Every node's Status equals the brute-force ring, once
        maintenance has had time to settle it."""
        deadline = time.time() + timeout * T.SLOW
        while True:
            try:
                self.check_tables_now()
                return
            except AssertionError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)

    def check_tables_now(self):
        ids = self.c.ids()
        for n in self.c.live():
            st = n.status(all_fingers=True)
            pred, succ, fingers = T.expected_ring(ids, n.id)
            self.assertTrue(st.joined)
            self.assertEqual(int.from_bytes(st.self.id, "big"), n.id)
            self.assertEqual(int.from_bytes(st.predecessor.id, "big"), pred,
                             "predecessor of %s" % n.addr)
            self.assertEqual([int.from_bytes(x.id, "big") for x in st.successors],
                             succ, "successors of %s" % n.addr)
            got = [int.from_bytes(f.node.id, "big") for f in st.fingers]
            self.assertEqual(len(got), 160)
            self.assertEqual(got, fingers, "fingers of %s" % n.addr)
            # Addresses match ids too.
            for f in st.fingers:
                fid = int.from_bytes(f.node.id, "big")
                self.assertEqual(f.node.addr, self.c.by_id(fid).addr)
            # The distinct view is the all-fingers view deduplicated.
            d = n.status().fingers
            self.assertEqual([int.from_bytes(f.node.id, "big") for f in d],
                             [x for k, x in enumerate(got) if k == 0 or got[k - 1] != x])
        listed = sorted(i for i, _ in self.c.list_nodes())
        self.assertEqual(listed, ids)

    def test_sequential_joins_build_exact_tables(self):
        self.c = T.Cluster()
        for i in fixed_ids(1, 8):
            self.c.add_node(i)
        self.check_tables()

    def test_parallel_joins_build_exact_tables(self):
        # A ghost joiner holds the join lock, so all eight, started at the
        # same moment, find the supernode busy and then contend for it. Its
        # lease outlasts starting eight processes on a loaded machine.
        self.c = T.Cluster(sn_args=["--lease", "%dms" % (2500 * T.SLOW)])
        ghost = T.Ghost(self.c, 99)
        ghost.join()
        nodes = self.c.start_nodes(fixed_ids(2, 8))
        self.check_tables()
        for n in nodes:
            self.assertIn("supernode busy", n.log())

    def test_dead_joiner_lease_expires(self):
        self.c = T.Cluster(sn_args=["--lease", "1500ms"])
        first = self.c.add_node(fixed_ids(3, 1)[0])
        # A joiner that calls Join and then dies: it never sends PostJoin.
        ghost = T.Ghost(self.c, 12345)
        r = ghost.join()
        ghost.stop()
        self.assertEqual([m.addr for m in r.members], [first.addr])
        self.assertEqual(r.lease_ms, 1500)
        # Meanwhile another Join is refused as busy, and the trailing
        # metadata says so: callers decide on codes, not message text.
        with self.assertRaises(grpc.RpcError) as e:
            self.c.sn_stub.Join(S.JoinRequest(node=C_node(23456, "127.0.0.1:2"),
                                              secret=b"s" * 16), timeout=2)
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)
        self.assertIn(("chord-error", "busy"), e.exception.trailing_metadata())
        t0 = time.monotonic()
        second = self.c.add_node(fixed_ids(4, 1)[0])
        waited = time.monotonic() - t0
        self.assertTrue(second.joined())
        self.assertGreaterEqual(waited, 1.0)  # it had to wait for the lease
        self.assertNotIn(12345, [i for i, _ in self.c.list_nodes()])
        # The ghost's late PostJoin is refused.
        with self.assertRaises(grpc.RpcError) as e:
            ghost.post_join()
        self.assertEqual(e.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        # From the supernode's handler, with no detail.
        self.assertIn(("chord-error", "-"), e.exception.trailing_metadata())
        self.check_tables()

    def test_duplicate_id_and_bad_address_refused(self):
        self.c = T.Cluster()
        ids = fixed_ids(5, 3)
        for i in ids:
            self.c.add_node(i)
        before = self.c.list_nodes()
        dup = C_node(ids[0], "127.0.0.1:9")
        with self.assertRaises(grpc.RpcError) as e:
            self.c.sn_stub.Join(S.JoinRequest(node=dup, secret=b"s" * 16),
                                timeout=2)
        self.assertEqual(e.exception.code(), grpc.StatusCode.ALREADY_EXISTS)
        for bad in ["", "nohost", "127.0.0.1:0", "127.0.0.1:70000", "[::1:80",
                    "a b:80"]:
            with self.assertRaises(grpc.RpcError) as e:
                self.c.sn_stub.Join(S.JoinRequest(node=C_node(77, bad),
                                                  secret=b"s" * 16), timeout=2)
            self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT,
                             bad)
        short = T.C.NodeInfo(id=b"\x01" * 19, addr="127.0.0.1:5")
        with self.assertRaises(grpc.RpcError) as e:
            self.c.sn_stub.Join(S.JoinRequest(node=short, secret=b"s" * 16),
                                timeout=2)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(self.c.list_nodes(), before)
        # The lock was not taken: a new node still joins at once.
        self.c.add_node(fixed_ids(6, 1)[0])
        # A real chord-node with a taken id exits non-zero with a reason.
        clash = T.Node(self.c, T.free_ports(1)[0], ids[1])
        rc = clash.wait(20)
        self.assertNotEqual(rc, 0)
        self.assertIn("already taken", clash.log())
        self.check_tables()

    def test_sigkill_expires_and_sigterm_leaves_at_once(self):
        self.c = T.Cluster(sn_args=["--heartbeat", "300ms",
                                    "--heartbeat-timeout", "1500ms"])
        nodes = [self.c.add_node(i) for i in fixed_ids(7, 4)]
        # Let heartbeats flow.
        time.sleep(1.0)
        self.assertEqual(len(self.c.list_nodes()), 4)
        nodes[0].stop(signal.SIGKILL)
        t0 = time.monotonic()
        T.wait_for(lambda: nodes[0].id not in [i for i, _ in self.c.list_nodes()],
                   10, "the killed node to expire")
        self.assertGreater(time.monotonic() - t0, 0.5)
        # Others stay listed across several timeouts: heartbeats keep them.
        time.sleep(2.0)
        self.assertEqual(len(self.c.list_nodes()), 3)
        t0 = time.monotonic()
        rc = nodes[1].stop(signal.SIGTERM, timeout=5)
        self.assertEqual(rc, 0)
        self.assertLess(time.monotonic() - t0, 3 * T.SLOW)
        self.assertNotIn(nodes[1].id, [i for i, _ in self.c.list_nodes()])
        self.assertIn("left the ring", nodes[1].log())

    def test_supernode_restart_relearns_members(self):
        self.c = T.Cluster(sn_args=["--heartbeat", "300ms",
                                    "--heartbeat-timeout", "2s"])
        for i in fixed_ids(8, 5):
            self.c.add_node(i)
        want = sorted((n.id, n.addr) for n in self.c.live())
        self.c.sn.stop(signal.SIGKILL)
        # Nodes keep serving without the supernode.
        st = self.c.nodes[0].status()
        self.assertTrue(st.joined)
        time.sleep(0.5)
        self.c.start_supernode()
        T.wait_for(lambda: sorted(self.c.list_nodes()) == want, 10,
                   "members re-registered by heartbeats")
        # And new joins work against the restarted supernode.
        self.c.add_node(fixed_ids(9, 1)[0])
        self.check_tables()

    def test_unreachable_supernode_exits(self):
        d = T.tmpdir()
        port = T.free_ports(2)
        t0 = time.monotonic()
        p = subprocess.run(
            [os.path.join(T.BIN, "chord-node"), "--listen", "127.0.0.1:%d" % port[0],
             "--supernode", "127.0.0.1:%d" % port[1], "--join-retries", "3"],
            capture_output=True, timeout=60 * T.SLOW, cwd=d)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"cannot reach the supernode", p.stderr)
        self.assertLess(time.monotonic() - t0, 30 * T.SLOW)

    def test_flags_and_help(self):
        node = os.path.join(T.BIN, "chord-node")
        sn = os.path.join(T.BIN, "chord-supernode")
        for prog in (node, sn):
            r = subprocess.run([prog, "--help"], capture_output=True)
            self.assertEqual(r.returncode, 0)
            self.assertIn(b"usage:", r.stdout)
            r = subprocess.run([prog, "--version"], capture_output=True)
            self.assertEqual(r.returncode, 0)
            r = subprocess.run([prog, "--bogus"], capture_output=True)
            self.assertEqual(r.returncode, 2)
        for bad in (["--listen", "127.0.0.1:99999"], ["--listen", "x:1", "--id", "zz"],
                    ["--listen", "127.0.0.1:1", "--store", "tape"],
                    ["--listen", "127.0.0.1:1", "--store", "dir"],
                    ["--listen", "127.0.0.1:1", "--max-file-size", "lots"], []):
            r = subprocess.run([node] + bad, capture_output=True)
            self.assertEqual(r.returncode, 2, bad)
            self.assertTrue(r.stderr.startswith(b"chord-node:"), r.stderr)
        # A port in use: a clear error, non-zero exit.
        c = T.Cluster()
        self.c = c
        r = subprocess.run([sn, "--listen", c.sn_addr], capture_output=True,
                           timeout=10 * T.SLOW)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"cannot serve", r.stderr)


def C_node(i, addr):
    return T.C.NodeInfo(id=T.id_bytes(i), addr=addr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
