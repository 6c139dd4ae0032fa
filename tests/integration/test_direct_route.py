# SPDX-License-Identifier: MIT
"""chordctl's direct route (issue 16): a request naming a file goes
straight to its owner in the member list, and a stale list (members that
left, crashed or joined since it was fetched) never makes a request fail:
the node reached routes it on, a dead one is dropped and the next owner
tried, and what replies say of the owner brings the list up to date."""
import json
import os
import signal
import subprocess
import time
import unittest

import chordtest as T

HOUR = "3600s"  # a --ring-ttl that keeps a stale cache file in use


def cache_members(path):
    """{id (int): addr} from a --ring-cache file."""
    with open(path) as f:
        lines = f.read().splitlines()
    assert lines[0] == "chord-ring-view 1", lines[:3]
    return {int(h, 16): a for h, a in (ln.split() for ln in lines[3:])}


class RouteTest(T.ClusterTest):
    def setUp(self):
        self.c = T.Cluster()
        self.cache = os.path.join(self.c.dir, "ring-cache")

    def ctl(self, *args, **kw):
        return T.chordctl(list(args), cluster=self.c, **kw)

    def direct(self, *args, **kw):
        return self.ctl("--route", "direct", "--ring-cache", self.cache,
                        "--ring-ttl", HOUR, *args, **kw)

    def ok(self, r):
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def write_all(self, names, route="ring"):
        for name in names:
            self.ok(self.ctl("--route", route, "write", name, "-",
                             input=b"content of " + name.encode()))

    def read_all_direct(self, names):
        for name in names:
            r = self.ok(self.direct("read", name))
            self.assertEqual(r.stdout, b"content of " + name.encode())

    def names_owned_by(self, ids, owner, n):
        """n names that the member list ids gives to owner."""
        s = sorted(ids)
        out, i = [], 0
        while len(out) < n:
            name = "route-%d" % i
            if T.successor(s, T.sha1_int(name)) == owner:
                out.append(name)
            i += 1
        return out

    def test_direct_requests_reach_the_owner_first(self):
        """With a current list every request takes no hop; lookup says
        which route it took; the ring route still works alongside."""
        ids = T.fixed_ids(1601, 6)
        self.c.start_nodes(ids)
        T.wait_ring_correct(self.c, 30)
        names = ["direct/%d" % i for i in range(24)]
        self.write_all(names, route="direct")
        for name in names:
            j = json.loads(self.ok(self.direct("--json", "lookup", name)).stdout)
            self.assertEqual(j["route"], "direct")
            self.assertEqual(j["hops"], 0, j)
            self.assertEqual(int(j["owner"]["id"], 16),
                             T.successor(sorted(ids), T.sha1_int(name)))
        self.read_all_direct(names)
        j = json.loads(self.ok(self.ctl("--route", "ring", "--json", "lookup",
                                        names[0])).stdout)
        self.assertEqual(j["route"], "ring")
        r = self.ok(self.ctl("--route", "ring", "lookup", names[0]))
        self.assertIn(b"route  ring", r.stdout)
        # Direct is the default, and $CHORD_ROUTE chooses too.
        r = self.ok(self.ctl("lookup", names[0]))
        self.assertIn(b"route  direct", r.stdout)
        env = dict(os.environ, CHORD_ROUTE="ring")
        r = subprocess.run([os.path.join(T.BIN, "chordctl"), "--supernode",
                            self.c.sn_addr, "lookup", names[0]], env=env,
                           capture_output=True, timeout=60 * T.SLOW)
        self.assertIn(b"route  ring", r.stdout)
        # A delete goes direct too, and the file is gone for both routes.
        self.ok(self.direct("delete", names[0]))
        self.assertEqual(self.ctl("read", names[0]).returncode, 1)
        self.assertEqual(self.direct("read", names[0]).returncode, 1)
        # bench sends each request to its owner: no hops at all.
        r = self.ok(self.direct("--json", "bench", "--op", "read", "--count",
                                "300", "--names", "50"))
        j = json.loads(r.stdout)
        self.assertEqual((j["route"], j["errors"], j["mean_hops"]),
                         ("direct", {}, 0))

    def test_stale_cache_after_leave_and_join(self):
        """The cache lists a member that has left and lacks one that has
        joined: every read succeeds, and the file then drops the first and
        holds the second."""
        ids = T.fixed_ids(1602, 5)
        self.c.start_nodes(ids)
        T.wait_ring_correct(self.c, 30)
        self.ok(self.direct("lookup", "x"))  # the cache is written
        self.assertEqual(set(cache_members(self.cache)), set(ids))
        gone = ids[2]
        self.c.by_id(gone).stop(signal.SIGTERM)  # a graceful leave
        new = self.c.add_node(T.fixed_ids(1603, 1)[0])
        now = sorted(ids[:2] + ids[3:] + [new.id])
        T.wait_ring_correct(self.c, 30)
        by_gone = self.names_owned_by(ids, gone, 6)
        by_new = self.names_owned_by(now, new.id, 6)
        self.write_all(by_gone + by_new)
        self.read_all_direct(by_gone + by_new)
        members = cache_members(self.cache)
        self.assertNotIn(gone, members)
        self.assertEqual(members.get(new.id), new.addr)
        # Converged: the newcomer's names now take no hop.
        for name in by_new:
            j = json.loads(self.ok(self.direct("--json", "lookup", name)).stdout)
            self.assertEqual((j["route"], j["hops"]), ("direct", 0), j)

    def test_cache_pointing_at_a_crashed_node(self):
        """A member killed without leaving is still in the cache: reads of
        the files it owned succeed through its successor (a replica) within
        chordctl's deadline, and the dead member leaves the cache."""
        ids = T.fixed_ids(1604, 5)
        self.c.node_args = T.replication_flags(3)
        self.c.start_nodes(ids)
        T.wait_ring_correct(self.c, 30)
        dead = ids[1]
        names = self.names_owned_by(ids, dead, 8)
        self.write_all(names)
        T.wait_replicated(self.c, 30, 3)
        self.ok(self.direct("lookup", names[0]))  # the cache lists dead
        self.assertIn(dead, cache_members(self.cache))
        self.c.by_id(dead).stop(signal.SIGKILL)
        t0 = time.monotonic()
        self.read_all_direct(names)
        self.assertLess(time.monotonic() - t0, 8 * 10 * T.SLOW)
        self.assertNotIn(dead, cache_members(self.cache))

    def test_supernode_down_falls_back_on_an_old_cache(self):
        """With the supernode gone, an expired cache file still serves: the
        command warns and succeeds; without one it fails with exit 3."""
        ids = T.fixed_ids(1606, 4)
        self.c.start_nodes(ids)
        T.wait_ring_correct(self.c, 30)
        self.write_all(["kept"])
        self.read_all_direct(["kept"])  # the cache file is written
        self.c.sn.stop(signal.SIGKILL)
        r = self.ok(self.ctl("--ring-cache", self.cache, "--ring-ttl", "0s",
                             "read", "kept"))
        self.assertEqual(r.stdout, b"content of kept")
        self.assertIn(b"warning: the supernode", r.stderr)
        r = self.ctl("--timeout", "2s", "read", "kept")
        self.assertEqual(r.returncode, 3, r.stderr)

    def test_unusable_cache_files_are_refetched(self):
        """A cache file that is garbage, for another supernode or too old is
        not used: the list comes from the supernode and replaces it."""
        ids = T.fixed_ids(1605, 3)
        self.c.start_nodes(ids)
        T.wait_ring_correct(self.c, 30)
        self.write_all(["cached"])
        now_ms = int(time.time() * 1000)
        bogus = "%040x 127.0.0.1:%d\n" % (ids[0], T.free_ports(1)[0])
        for text in ["garbage\n\x00\xff",
                     "chord-ring-view 1\nsupernode 127.0.0.1:1\nfetched %d\n%s"
                     % (now_ms, bogus),
                     "chord-ring-view 1\nsupernode %s\nfetched %d\n%s"
                     % (self.c.sn_addr, now_ms - 7200 * 1000, bogus),
                     "chord-ring-view 1\nsupernode %s\nfetched %d\nzz 1:2\n"
                     % (self.c.sn_addr, now_ms)]:
            with open(self.cache, "w", encoding="latin-1") as f:
                f.write(text)
            self.read_all_direct(["cached"])
            self.assertEqual(set(cache_members(self.cache)), set(ids), text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
