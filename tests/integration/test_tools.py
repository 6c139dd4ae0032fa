# SPDX-License-Identifier: MIT
"""chordctl's health and bench commands against a real cluster."""
import json
import os
import random
import unittest

import chordtest as T


class ToolsTest(T.ClusterTest):
    def setUp(self):
        self.c = T.Cluster()
        rng = random.Random(11)
        for _ in range(6):
            self.c.add_node(rng.getrandbits(160))

    def ctl(self, *args, **kw):
        return T.chordctl(list(args), cluster=self.c, **kw)

    def test_health_of_each_daemon(self):
        for addr in [self.c.sn_addr] + [n.addr for n in self.c.nodes]:
            r = self.ctl("--json", "health", addr)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(json.loads(r.stdout)["status"], "SERVING")
        r = self.ctl("health", "127.0.0.1:%d" % T.free_ports(1)[0])
        self.assertEqual(r.returncode, 3)
        self.assertTrue(r.stderr.startswith(b"chordctl: "))

    def test_health_not_serving_until_joined(self):
        # A ghost holds the join lock, so a new node waits to join: its
        # health says NOT_SERVING (exit 5) until it is a member.
        c = T.Cluster(sn_args=["--lease", "1500ms"])
        try:
            ghost = T.C.NodeInfo(id=T.id_bytes(5), addr="127.0.0.1:1")
            c.sn_stub.Join(T.S.JoinRequest(node=ghost), timeout=2)
            n = c.add_node(wait=False)
            r = T.chordctl(["--json", "health", n.addr])
            self.assertEqual(r.returncode, 5, r.stdout + r.stderr)
            self.assertEqual(json.loads(r.stdout)["status"], "NOT_SERVING")
            c.wait_joined([n])
            r = T.chordctl(["health", n.addr])
            self.assertEqual(r.returncode, 0, r.stderr)
        finally:
            c.close()

    def test_bench_every_op(self):
        for op in ("write", "read", "mixed", "ping"):
            for conc in ("1", "16"):
                lat = os.path.join(self.c.dir, "lat-%s-%s" % (op, conc))
                r = self.ctl("--json", "bench", "--op", op, "--count", "300",
                             "--concurrency", conc, "--names", "50", "--size",
                             "2K", "--warmup", "10", "--latencies", lat)
                self.assertEqual(r.returncode, 0, r.stderr)
                d = json.loads(r.stdout)
                self.assertEqual((d["op"], d["count"], d["ok"]), (op, 300, 300))
                self.assertEqual(d["errors"], {})
                self.assertEqual(d["nodes"], 6)
                self.assertGreater(d["ops_per_s"], 0)
                self.assertLessEqual(d["p50_us"], d["p90_us"])
                self.assertLessEqual(d["p90_us"], d["p99_us"])
                self.assertLessEqual(d["p99_us"], d["max_us"])
                if op == "ping":
                    self.assertEqual(d["mean_hops"], 0)
                else:
                    # 6 random nodes: some requests must be forwarded.
                    self.assertGreater(d["mean_hops"], 0.3)
                    self.assertLess(d["mean_hops"], 4)
                with open(lat) as f:
                    self.assertEqual(len(f.read().split()), 300)
        # The names written by the benchmark are really there.
        r = self.ctl("read", "bench-7")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stdout), 2048)

    def test_bench_reports_errors(self):
        dead = "127.0.0.1:%d" % T.free_ports(1)[0]
        r = T.chordctl(["--json", "--timeout", "500ms", "bench", "--op", "ping",
                        "--count", "20", "--warmup", "0"], node=dead)
        self.assertEqual(r.returncode, 3)
        d = json.loads(r.stdout)
        self.assertEqual(d["ok"], 0)
        self.assertEqual(d["errors"].get("UNAVAILABLE"), 20)
        r = self.ctl("bench", "--op", "dance")
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
