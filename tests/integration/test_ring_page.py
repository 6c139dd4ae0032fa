# SPDX-License-Identifier: MIT
"""chordctl serve: the live ring page and its JSON API against an 8-node
ring, and the page in a real browser (headless Chromium): what it shows is
read from its DOM, and a screenshot is kept as a test artefact."""
import html.parser
import json
import os
import random
import shutil
import subprocess
import unittest
import urllib.error
import urllib.parse
import urllib.request

import chordtest as T

CHROMIUM = shutil.which("chromium")


def get(port, path):
    """(HTTP status, body) of GET http://127.0.0.1:port/path."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path),
                                    timeout=30 * T.SLOW) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class DomFacts(html.parser.HTMLParser):
    """What the rendered page shows: texts by element id, data-* by id,
    and the node circles drawn."""

    def __init__(self):
        super().__init__()
        self.text, self.data, self.circles = {}, {}, []
        self._open = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "circle" and "node" in (a.get("class") or "").split():
            self.circles.append(a.get("data-addr"))
        if "id" in a:
            self.data[a["id"]] = {k[5:]: v for k, v in a.items()
                                  if k.startswith("data-")}
        self._open.append(a.get("id"))

    def handle_endtag(self, tag):
        if self._open:
            self._open.pop()

    def handle_data(self, data):
        for i in self._open:
            if i:
                self.text[i] = self.text.get(i, "") + data


class RingPageTest(T.ClusterTest):
    def setUp(self):
        rng = random.Random(15)
        self.c = T.Cluster()
        self.c.start_nodes(sorted(rng.getrandbits(160) for _ in range(8)))
        T.wait_ring_correct(self.c, 30)
        for k in range(20):
            r = T.chordctl(["write", "page-%d" % k], cluster=self.c,
                           input=b"x" * (k + 1))
            self.assertEqual(r.returncode, 0, r.stderr)
        self.port = T.free_ports(1)[0]
        self.serve = T.Proc([os.path.join(T.BIN, "chordctl"), "--supernode",
                             self.c.sn_addr, "serve", "--listen",
                             "127.0.0.1:%d" % self.port],
                            os.path.join(self.c.dir, "serve.log"))
        self.addCleanup(self.serve.stop)
        T.wait_for(lambda: T.port_open(self.port), 10, "chordctl serve")

    def test_api(self):
        code, body = get(self.port, "/api/ring")
        self.assertEqual(code, 200, body)
        ring = json.loads(body)
        self.assertEqual(ring["count"], 8)
        self.assertEqual(ring["files"], 20)
        self.assertEqual([n["addr"] for n in ring["nodes"]],
                         [self.c.by_id(i).addr for i in self.c.ids()])
        name = "page-7"
        code, body = get(self.port, "/api/lookup?" +
                         urllib.parse.urlencode({"name": name}))
        self.assertEqual(code, 200, body)
        lk = json.loads(body)
        owner = T.successor(self.c.ids(), T.sha1_int(name))
        self.assertEqual(lk["owner"]["addr"], self.c.by_id(owner).addr)
        self.assertEqual(lk["path"][-1]["addr"], lk["owner"]["addr"])
        a = self.c.nodes[3].addr
        code, body = get(self.port, "/api/status?node=" + a)
        self.assertEqual(code, 200, body)
        st = json.loads(body)
        self.assertEqual(st["node"]["addr"], a)
        self.assertEqual(len(st["fingers"]), 160)
        # Bad input: a clear error in JSON, nothing run.
        for path, want in (("/api/status?node=nowhere", 400),
                           ("/api/status", 400),
                           ("/api/lookup?name=", 400),
                           ("/api/nothing", 404)):
            code, body = get(self.port, path)
            self.assertEqual(code, want, path)
            self.assertIn("error", json.loads(body))
        # A member that is down: the page says so, the API still answers.
        code, body = get(self.port, "/api/status?node=127.0.0.1:%d"
                         % T.free_ports(1)[0])
        self.assertEqual(code, 502)
        self.assertIn("error", json.loads(body))
        code, body = get(self.port, "/")
        self.assertEqual(code, 200)
        self.assertIn(b"<svg id=\"ring\"", body)
        self.assertNotIn(b"http://", body.replace(b"http://www.w3.org", b""))

    @unittest.skipUnless(CHROMIUM, "chromium is not installed "
                         "(scripts/install-deps.sh installs it)")
    def test_the_page_in_a_browser(self):
        name = "page-11"
        sel = self.c.nodes[5].addr
        url = "http://127.0.0.1:%d/?%s" % (self.port, urllib.parse.urlencode(
            {"lookup": name, "node": sel}))
        profile = T.tmpdir()
        base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                "--user-data-dir=" + profile, "--window-size=1300,760",
                "--virtual-time-budget=%d" % (6000 * T.SLOW)]
        r = subprocess.run(base + ["--dump-dom", url], capture_output=True,
                           timeout=120 * T.SLOW)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        dom = DomFacts()
        dom.feed(r.stdout.decode("utf-8"))
        self.assertEqual(dom.text.get("count"), "8")
        self.assertEqual(dom.text.get("files"), "20")
        self.assertEqual(sorted(dom.circles),
                         sorted(n.addr for n in self.c.nodes))
        owner = self.c.by_id(T.successor(self.c.ids(), T.sha1_int(name))).addr
        self.assertEqual(dom.text.get("owner"), owner)
        path = dom.data["path"]["path"].split()
        self.assertEqual(path[-1], owner)
        self.assertTrue(set(path) <= {n.addr for n in self.c.nodes}, path)
        # The selected node's fingers are its status's distinct fingers.
        st = json.loads(get(self.port, "/api/status?node=" + sel)[1])
        fingers = {f["node"]["addr"] for f in st["fingers"]
                   if f["node"]["addr"] != sel}
        self.assertEqual(set(dom.data["detail"]["fingers"].split()) - {sel},
                         fingers)
        shot = os.path.join(os.environ.get("CHORD_TEST_ARTEFACTS",
                                           self.c.dir), "ring-page.png")
        r = subprocess.run(base + ["--screenshot=" + shot, url],
                           capture_output=True, timeout=120 * T.SLOW)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        with open(shot, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        print("\n  ring page screenshot: %s" % shot, flush=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
