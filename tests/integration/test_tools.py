# SPDX-License-Identifier: MIT
"""chordctl's health and bench commands, and its progress line, against a
real cluster."""
import json
import os
import pty
import random
import signal
import subprocess
import threading
import time
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
        c = T.Cluster(sn_args=["--lease", "%dms" % (1500 * T.SLOW)])
        try:
            ghost = T.Ghost(c, 5)
            ghost.join()
            n = c.add_node(wait=False)
            r = T.chordctl(["--json", "health", n.addr])
            self.assertEqual(r.returncode, 5, r.stdout + r.stderr)
            self.assertEqual(json.loads(r.stdout)["status"], "NOT_SERVING")
            c.wait_joined([n])
            r = T.chordctl(["health", n.addr])
            self.assertEqual(r.returncode, 0, r.stderr)
        finally:
            c.close()

    def test_json_logs_are_one_object_a_line(self):
        """--log-format json: every line every daemon writes, gRPC's own
        debug lines included, is one JSON object with the time, level, tag
        and message, through a write and read of an odd name and a leave
        (tests/unit/test_log.c checks the escaping byte by byte)."""
        c = T.Cluster(sn_args=["--log-format", "json"],
                      node_args=["--log-format", "json"])
        try:
            for _ in range(3):
                c.add_node()
            name = 'odd "name"\nINFO  forged line'
            r = T.chordctl(["write", name], cluster=c, input=b"x")
            self.assertEqual(r.returncode, 0, r.stderr)
            r = T.chordctl(["read", name], cluster=c)
            self.assertEqual((r.returncode, r.stdout), (0, b"x"), r.stderr)
            for n in c.nodes:
                self.assertEqual(n.stop(signal.SIGTERM), 0)
            tags = {"supernode " + c.sn_addr} | {"node " + n.addr
                                                 for n in c.nodes}
            msgs = []
            for p in [c.sn] + c.nodes:
                with open(p.log_path, "rb") as f:
                    lines = f.read().decode("utf-8").splitlines()
                self.assertGreater(len(lines), 5, p.log_path)
                for line in lines:
                    d = json.loads(line)
                    self.assertEqual(set(d), {"time", "level", "tag", "msg"},
                                     line)
                    self.assertIn(d["level"], ("debug", "info", "warn", "error"))
                    self.assertIn(d["tag"], tags)
                    self.assertRegex(d["time"],
                                     r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
                    msgs.append(d["msg"])
            self.assertTrue(any(m.startswith("joined the ring") for m in msgs))
            self.assertTrue(any(m.startswith("signal 15: leaving") for m in msgs))
        finally:
            c.close()

    def on_terminal(self, args, data):
        """Runs chordctl with standard error on a pseudo-terminal; returns
        (exit code, stdout, what the terminal showed).  Standard input is
        fed and standard output drained at a slow pace (64 KiB every 10 ms),
        so that the transfer lasts for several redraws however fast the
        machine is."""
        master, slave = pty.openpty()
        try:
            p = subprocess.Popen([os.path.join(T.BIN, "chordctl"),
                                  "--supernode", self.c.sn_addr] + args,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=slave)
            os.close(slave)
            slave = None
            shown, out = bytearray(), bytearray()

            def drain():
                while True:
                    try:
                        chunk = os.read(master, 65536)
                    except OSError:  # EIO: the terminal's other side closed
                        return
                    if not chunk:
                        return
                    shown.extend(chunk)

            def feed():
                try:
                    for k in range(0, len(data or b""), 65536):
                        p.stdin.write(data[k:k + 65536])
                        p.stdin.flush()
                        time.sleep(0.01)
                except BrokenPipeError:
                    pass
                finally:
                    p.stdin.close()

            def collect():
                while True:
                    chunk = p.stdout.read1(65536)
                    if not chunk:
                        return
                    out.extend(chunk)
                    time.sleep(0.01)

            threads = [threading.Thread(target=f) for f in (drain, feed, collect)]
            for t in threads:
                t.start()
            code = p.wait(timeout=120 * T.SLOW)
            for t in threads:
                t.join(30)
            return code, bytes(out), bytes(shown)
        finally:
            if slave is not None:
                os.close(slave)
            os.close(master)

    def test_progress_line_on_a_terminal_only(self):
        # A transfer paced by on_terminal to last over a second: several
        # redraws (every 200 ms) of small chunks, one in flight.
        data = random.Random(7).randbytes(6 << 20)
        slow = ["--chunk-size", "16K", "--window", "1"]
        code, out, shown = self.on_terminal(slow + ["write", "prog"], data)
        self.assertEqual(code, 0, shown)
        self.assertIn(b"\rwriting: ", shown)
        self.assertIn(b"MB/s", shown)
        self.assertTrue(shown.endswith(b"\r\x1b[K"), shown[-80:])
        self.assertIn(b"384 chunks", out)
        code, out, shown = self.on_terminal(slow + ["read", "prog"], None)
        self.assertEqual(code, 0, shown)
        self.assertEqual(out, data)  # stdout holds the content only
        self.assertIn(b"\rreading: ", shown)
        self.assertIn(b"%", shown)  # the size is known: percent, time left
        self.assertIn(b"left", shown)
        # --quiet, and standard error not a terminal: no line at all.
        code, out, shown = self.on_terminal(["--quiet"] + slow + ["read", "prog"],
                                            None)
        self.assertEqual((code, out, shown), (0, data, b""))
        r = self.ctl(*(slow + ["read", "prog"]))
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, data, b""))

    def test_bench_every_op(self):
        # The ring route: each request through a random member, so that
        # hops are counted (the direct route's are tested in
        # test_direct_route).
        for op in ("write", "read", "mixed", "ping"):
            for conc in ("1", "16"):
                lat = os.path.join(self.c.dir, "lat-%s-%s" % (op, conc))
                r = self.ctl("--route", "ring", "--json", "bench", "--op",
                             op, "--count", "300",
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
                    self.assertEqual(d["route"], "ring")
                    # 6 random nodes: some requests must be forwarded.
                    self.assertGreater(d["mean_hops"], 0.3)
                    self.assertLess(d["mean_hops"], 4)
                with open(lat) as f:
                    self.assertEqual(len(f.read().split()), 300)
        # The names written by the benchmark are really there.
        r = self.ctl("read", "bench-7")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stdout), 2048)

    def test_write_delete_ring_and_status_show_the_copies(self):
        """write and delete say how many copies hold the change; ring and
        status show each node's primary and replica keys, tombstones and
        repair, in text and JSON, and add up: every file once as primary
        and R = 3 times in all."""
        names = ["copies-%d" % k for k in range(30)]
        # Successor lists fill in by stabilize after the joins; until then
        # an owner knows fewer replicas, and says so in the copies.
        T.wait_ring_correct(self.c, 10)
        for nm in names:
            r = self.ctl("write", nm, input=b"x" * 10)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(r.stdout.endswith(b", 3 copies\n"), r.stdout)
        r = self.ctl("--json", "delete", names[0])
        self.assertEqual(r.returncode, 0, r.stderr)
        d = json.loads(r.stdout)
        self.assertEqual(d["copies"], 3)
        self.assertGreater(d["version"], 0)
        T.wait_replicated(self.c, 30, 3)
        r = self.ctl("--json", "ring")
        self.assertEqual(r.returncode, 0, r.stderr)
        ring = json.loads(r.stdout)
        self.assertEqual(ring["files"], len(names) - 1)
        self.assertEqual(ring["keys"], 3 * (len(names) - 1))
        # Each node's counts are those of the brute-force placement.
        live = names[1:]
        ids = self.c.ids()
        for n in ring["nodes"]:
            me = int(n["id"], 16)
            sets = [T.replica_set(ids, T.sha1_int(nm), 3) for nm in live]
            self.assertEqual(n["primary_keys"],
                             sum(1 for rs in sets if rs[0] == me), n)
            self.assertEqual(n["replica_keys"],
                             sum(1 for rs in sets if me in rs[1:]), n)
            self.assertEqual(n["keys"], n["primary_keys"] + n["replica_keys"])
            self.assertIn(n["repair_running"], (True, False))
            self.assertGreaterEqual(n["under_replicated"], 0)
        text = self.ctl("ring").stdout.decode()
        self.assertIn("PRIMARY", text.splitlines()[0])
        self.assertIn("REPLICA", text.splitlines()[0])
        self.assertTrue(text.rstrip().endswith(
            "%d files, %d copies, %d bytes" % (len(names) - 1,
                                             3 * (len(names) - 1),
                                             30 * (len(names) - 1))), text)
        tombs = 0
        for node in self.c.nodes:
            st = json.loads(self.ctl("--json", "status", node.addr).stdout)
            self.assertEqual(st["replicas"], 3)
            self.assertEqual(st["keys"], st["primary_keys"] + st["replica_keys"])
            self.assertGreater(st["repair"]["rounds"], 0)
            self.assertGreater(st["repair"]["bytes_sent"], 0)
            tombs += st["tombstones"]
            line = [x for x in self.ctl("status", node.addr).stdout.decode()
                    .splitlines() if x.startswith("keys")][0]
            self.assertIn("(%d primary, %d replica" % (st["primary_keys"],
                                                       st["replica_keys"]), line)
        self.assertEqual(tombs, 3)

    def test_ring_and_status_add_up_in_three_nodes(self):
        """With 3 nodes and R = 3 every node holds every file: once repair
        settles, the primaries add up to N, each node's primary + replica
        is N, nothing is under-replicated and repair is idle; the ring
        table (aligned under its header) and status's lines say the same
        as their JSON."""
        c = T.Cluster(node_args=T.replication_flags(3, "1s"))
        try:
            rng = random.Random(12)
            for _ in range(3):
                c.add_node(rng.getrandbits(160))
            T.wait_ring_correct(c, 10)
            N = 20
            for k in range(N):
                r = T.chordctl(["write", "three-%d" % k], cluster=c,
                               input=b"y" * 7)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertTrue(r.stdout.endswith(b", 3 copies\n"), r.stdout)

            def settled():
                r = T.chordctl(["--json", "ring"], cluster=c)
                if r.returncode != 0:
                    return None
                ring = json.loads(r.stdout)
                nodes = ring["nodes"]
                ok = (len(nodes) == 3 and
                      sum(n["primary_keys"] for n in nodes) == N and
                      all(n["primary_keys"] + n["replica_keys"] == N and
                          n["under_replicated"] == 0 and
                          not n["repair_running"] for n in nodes))
                return ring if ok else None
            ring = T.wait_for(settled, 20, "repair to settle")
            self.assertEqual((ring["files"], ring["keys"], ring["bytes"]),
                             (N, 3 * N, 3 * 7 * N))

            text = T.chordctl(["ring"], cluster=c).stdout.decode()
            lines = text.splitlines()
            head = lines[0].split()
            self.assertEqual(head, ["ID", "ADDR", "PRIMARY", "REPLICA",
                                    "BYTES", "UNDER", "REPAIR"])
            # Numbers end under the end of their heading.
            ends = {h: lines[0].index(h) + len(h)
                    for h in ("PRIMARY", "REPLICA", "BYTES", "UNDER")}
            by_id = {n["id"]: n for n in ring["nodes"]}
            for line in lines[1:4]:
                f = line.split()
                n = by_id[f[0]]
                # Repair runs a round every second: idle or running.
                self.assertEqual(f[1:6], [n["addr"], str(n["primary_keys"]),
                                          str(n["replica_keys"]),
                                          str(n["bytes"]), "0"], line)
                self.assertIn(f[6], ("idle", "running"), line)
                for h, v in zip(("PRIMARY", "REPLICA", "BYTES", "UNDER"),
                                f[2:6]):
                    self.assertEqual(line[ends[h] - len(v):ends[h]], v, line)
                self.assertEqual(line.index(f[6]), lines[0].index("REPAIR"))
            self.assertEqual(lines[4], "3 nodes, %d files, %d copies, %d bytes"
                             % (N, 3 * N, 3 * 7 * N))

            for node in c.nodes:
                st = json.loads(T.chordctl(["--json", "status", node.addr])
                                .stdout)
                self.assertEqual((st["replicas"], st["keys"],
                                  st["under_replicated"]), (3, N, 0))
                self.assertEqual(st["primary_keys"] + st["replica_keys"], N)
                self.assertGreater(st["repair"]["rounds"], 0)
                got = {x.split(None, 1)[0]: x.split(None, 1)[1] for x in
                       T.chordctl(["status", node.addr]).stdout.decode()
                       .splitlines() if x[:1].isalpha()}
                self.assertEqual(got["keys"], "%d (%d primary, %d replica; "
                                 "0 tombstones)" % (N, st["primary_keys"],
                                                    st["replica_keys"]))
                self.assertEqual(got["replicas"], "3 copies of each file; "
                                 "0 keys under-replicated")
                self.assertRegex(got["repair"], r"^(idle|running), \d+ rounds?, "
                                 r"\d+ pushed, \d+ pulled, \d+ bytes? sent$")
        finally:
            c.close()

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
