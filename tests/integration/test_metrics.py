# SPDX-License-Identifier: MIT
"""The metrics endpoint (--metrics-listen) of both daemons: the exposition
format, counts that match what a workload did, and a real Prometheus
server (Debian's prometheus) scraping a 4-node ring."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import chordtest as T

PROMETHEUS = shutil.which("prometheus")
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(port):
    """The samples at http://127.0.0.1:port/metrics, as
    {(name, frozenset of (label, value)): float}, after checking that
    every family has one HELP and one TYPE line before its samples."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=10 * T.SLOW) as r:
        assert r.status == 200
        ctype = r.headers["Content-Type"]
        assert ctype.startswith("text/plain; version=0.0.4"), ctype
        text = r.read().decode("utf-8")
    typed, out = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert name not in typed, "two TYPE lines for " + name
            assert kind in ("counter", "gauge", "histogram"), line
            typed[name] = kind
            continue
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        name, labels, value = m.group(1), m.group(3) or "", float(m.group(4))
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in typed or family in typed, "no TYPE before " + name
        key = (name, frozenset(LABEL.findall(labels)))
        assert key not in out, "a series twice: %r" % line
        out[key] = value
    return out


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples, name, **labels):
    """The sum over every series of name whose labels include labels."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


class MetricsTest(T.ClusterTest):
    def setUp(self):
        ports = T.free_ports(5)
        self.sn_metrics = ports[0]
        self.c = T.Cluster(sn_args=["--metrics-listen",
                                    "127.0.0.1:%d" % ports[0]])
        self.metrics_port = {}
        for p in ports[1:]:
            n = self.c.add_node(extra=["--metrics-listen", "127.0.0.1:%d" % p])
            self.metrics_port[n.addr] = p
        T.wait_ring_correct(self.c, 30)

    def test_counts_match_the_workload(self):
        a, b = self.c.nodes[0], self.c.nodes[1]
        pa = self.metrics_port[a.addr]
        before = scrape(pa)
        for _ in range(37):
            a.status()
        after = scrape(pa)
        # Status is answered where it arrives: exactly 37 more, no error.
        self.assertEqual(value(after, "chord_rpc_requests_total",
                               service="chord.v1.Node", method="Status",
                               code="OK") -
                         value(before, "chord_rpc_requests_total",
                               service="chord.v1.Node", method="Status",
                               code="OK"), 37)
        self.assertGreaterEqual(
            value(after, "chord_rpc_request_duration_seconds_count",
                  service="chord.v1.Node", method="Status"), 37)
        # Files: each counted once as a primary key and R - 1 = 2 times as
        # a replica over the ring, once the copied figures refresh.
        names = ["m-%d" % k for k in range(25)]
        for nm in names:
            r = T.chordctl(["write", nm], node=b.addr, input=b"abc")
            self.assertEqual(r.returncode, 0, r.stderr)
        r = T.chordctl(["read", "no-such-file"], node=b.addr)
        self.assertEqual(r.returncode, 1, r.stderr)

        def keys():
            s = [scrape(p) for p in self.metrics_port.values()]
            return (sum(total(x, "chord_store_keys", role="primary") for x in s),
                    sum(total(x, "chord_store_keys", role="replica") for x in s),
                    s)

        got = T.wait_for(lambda: keys()[:2] == (25, 50) and keys(), 30,
                         "25 primary and 50 replica keys in the metrics")
        s = got[2]
        self.assertEqual(sum(total(x, "chord_store_bytes") for x in s), 75 * 3)
        self.assertGreaterEqual(
            value(scrape(self.metrics_port[b.addr]), "chord_rpc_requests_total",
                  service="chord.v1.Node", method="Read", code="NOT_FOUND"), 1)
        # Every request served at its owner counted its hops; the 25
        # writes and the read sent through b were forwarded when b did not
        # own them.
        self.assertGreaterEqual(
            sum(total(x, "chord_request_hops_count") for x in s), 26)
        for x in s:
            self.assertEqual(value(x, "chord_node_joined"), 1)
            self.assertEqual(value(x, "chord_successors"), 3)
            self.assertGreater(value(x, "process_resident_memory_bytes"), 1e6)
            self.assertGreater(value(x, "process_open_fds"), 3)
            self.assertGreater(value(x, "chord_stabilize_rounds_total"), 0)
            inf = total(x, "chord_request_hops_bucket", le="+Inf")
            self.assertEqual(inf, total(x, "chord_request_hops_count"))
        sn = scrape(self.sn_metrics)
        self.assertEqual(value(sn, "chord_members"), 4)
        self.assertEqual(value(sn, "chord_joins_total"), 4)
        self.assertEqual(value(sn, "chord_leaves_total", how="left"), 0)
        # A graceful leave counts as one, and the members drop to 3.
        self.assertEqual(self.c.nodes[3].stop(signal.SIGTERM), 0)
        T.wait_for(lambda: value(scrape(self.sn_metrics), "chord_members") == 3,
                   10, "the supernode's members gauge to show the leave")
        self.assertEqual(value(scrape(self.sn_metrics), "chord_leaves_total",
                               how="left"), 1)

    def test_other_paths_and_a_port_in_use(self):
        port = self.metrics_port[self.c.nodes[0].addr]
        for path, code in (("/", 404), ("/metrics/x", 404)):
            with self.assertRaises(urllib.error.HTTPError) as e:
                urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path),
                                       timeout=10)
            self.assertEqual(e.exception.code, code)
        req = urllib.request.Request("http://127.0.0.1:%d/metrics" % port,
                                     data=b"x", method="POST")
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        self.assertEqual(e.exception.code, 405)
        # A second node asked to serve metrics on a port already taken
        # says so and exits 1; the ring does not get a half-started member.
        n = self.c.add_node(extra=["--metrics-listen", "127.0.0.1:%d" % port],
                            wait=False)
        self.assertEqual(n.wait(30), 1)
        self.assertIn("cannot serve metrics on 127.0.0.1:%d" % port, n.log())
        r = subprocess.run([os.path.join(T.BIN, "chord-node"),
                            "--metrics-listen", "nowhere"],
                           capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"--metrics-listen", r.stderr)

    @unittest.skipUnless(PROMETHEUS, "prometheus is not installed "
                         "(scripts/install-deps.sh installs it)")
    def test_prometheus_scrapes_the_ring(self):
        """A real Prometheus server scrapes the supernode and the four
        nodes every second; its query API then agrees with the workload."""
        web = T.free_ports(1)[0]
        d = T.tmpdir()
        targets = ["127.0.0.1:%d" % p for p in
                   [self.sn_metrics] + list(self.metrics_port.values())]
        with open(os.path.join(d, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: chord\n"
                    "    static_configs:\n      - targets: %s\n"
                    % json.dumps(targets))
        log = open(os.path.join(d, "prometheus.log"), "wb")
        p = subprocess.Popen(
            [PROMETHEUS, "--config.file=" + os.path.join(d, "prometheus.yml"),
             "--storage.tsdb.path=" + os.path.join(d, "data"),
             "--web.listen-address=127.0.0.1:%d" % web],
            stdout=log, stderr=subprocess.STDOUT)
        self.addCleanup(log.close)
        self.addCleanup(p.wait, 30)
        self.addCleanup(p.terminate)

        def query(q):
            url = "http://127.0.0.1:%d/api/v1/query?%s" % (
                web, urllib.parse.urlencode({"query": q}))
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    d = json.loads(r.read())
            except (urllib.error.URLError, socket.timeout, ConnectionError):
                return None
            if d.get("status") != "success":
                return None
            return d["data"]["result"]

        def up():
            res = query("up")
            return res is not None and len(res) == 5 and \
                all(x["value"][1] == "1" for x in res)

        T.wait_for(up, 60, "Prometheus to scrape all five targets")
        a = self.c.nodes[0]
        inst = "127.0.0.1:%d" % self.metrics_port[a.addr]
        for _ in range(50):
            a.status()
        want = value(scrape(self.metrics_port[a.addr]),
                     "chord_rpc_requests_total", service="chord.v1.Node",
                     method="Status", code="OK")
        self.assertGreaterEqual(want, 50)
        q = ('chord_rpc_requests_total{instance="%s",method="Status",'
             'code="OK"}' % inst)

        def agrees():
            res = query(q)
            return res and float(res[0]["value"][1]) == want

        T.wait_for(agrees, 20, "Prometheus to see %d Status calls" % want)
        self.assertTrue(T.wait_for(
            lambda: (query("chord_members") or [{"value": [0, "0"]}])[0]
            ["value"][1] == "4", 20, "chord_members in Prometheus"))
        res = query('sum(rate(chord_rpc_requests_total{method="Status"}[5s]))')
        self.assertTrue(res is not None and len(res) == 1, res)


if __name__ == "__main__":
    unittest.main(verbosity=2)
