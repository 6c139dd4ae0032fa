# SPDX-License-Identifier: MIT
"""Harness for chord's integration tests: real processes on 127.0.0.1.

Starts chord-supernode and chord-node processes on free ports, talks to
them with the stock Python gRPC client through stubs generated from the
project's .proto files (which also proves any gRPC client can speak to
them), and stops every process it started, by PID, whatever happens.
"""
import atexit
import hashlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.environ.get("CHORD_BIN", os.path.join(ROOT, "build", "bin"))
# Sanitizer builds run slower: scale waits, never the assertions.
SLOW = float(os.environ.get("CHORD_TEST_SLOW", "1"))
STABILIZE = "100ms"  # the nodes' --stabilize-interval in tests

_stub_dir = tempfile.mkdtemp(prefix="chord-stubs-")
subprocess.run(
    [sys.executable, "-m", "grpc_tools.protoc", "-I" + os.path.join(ROOT, "proto"),
     "--python_out=" + _stub_dir, "--grpc_python_out=" + _stub_dir,
     "chord/v1/common.proto", "chord/v1/node.proto", "chord/v1/supernode.proto"],
    check=True)
for d in ("chord", "chord/v1"):
    open(os.path.join(_stub_dir, d, "__init__.py"), "a").close()
sys.path.insert(0, _stub_dir)

from chord.v1 import common_pb2 as C  # noqa: E402
from chord.v1 import node_pb2 as N  # noqa: E402
from chord.v1 import node_pb2_grpc as NG  # noqa: E402
from chord.v1 import supernode_pb2 as S  # noqa: E402
from chord.v1 import supernode_pb2_grpc as SG  # noqa: E402

_procs = []
_tmpdirs = [_stub_dir]

# CHORD_TEST_SECURE=1 runs every test with mutual TLS and a cluster token:
# certificates from scripts/make-certs.sh, given to every daemon and
# chordctl through the environment they inherit, and to this harness's
# channels.
SECURE = os.environ.get("CHORD_TEST_SECURE", "") not in ("", "0")
CERTS = None
TOKEN = None
if SECURE:
    CERTS = tempfile.mkdtemp(prefix="chord-certs-")
    _tmpdirs.append(CERTS)
    subprocess.run([os.path.join(ROOT, "scripts", "make-certs.sh"), "--force",
                    CERTS], check=True, stdout=subprocess.DEVNULL)
    os.environ.update({
        "CHORD_TOKEN_FILE": os.path.join(CERTS, "token"),
        "CHORD_TLS_CERT": os.path.join(CERTS, "node.pem"),
        "CHORD_TLS_KEY": os.path.join(CERTS, "node.key"),
        "CHORD_TLS_CA": os.path.join(CERTS, "ca.pem")})
    with open(os.path.join(CERTS, "token")) as f:
        TOKEN = f.read().strip()


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


class _TokenInterceptor(grpc.UnaryUnaryClientInterceptor):
    """Adds the x-chord-token metadata to every call."""

    def __init__(self, token):
        self.token = token

    def intercept_unary_unary(self, continuation, details, request):
        md = list(details.metadata or []) + [("x-chord-token", self.token)]
        details = _CallDetails(details.method, details.timeout, md,
                               details.credentials, details.wait_for_ready,
                               details.compression)
        return continuation(details, request)


class _CallDetails(grpc.ClientCallDetails):
    def __init__(self, method, timeout, metadata, credentials, wait_for_ready,
                 compression):
        self.method = method
        self.timeout = timeout
        self.metadata = metadata
        self.credentials = credentials
        self.wait_for_ready = wait_for_ready
        self.compression = compression


def make_channel(addr, options=(), certs=None, role="client", token=None,
                 secure=None):
    """A channel to addr: with TLS (client certificate `role` from the
    certs directory) and the token when the harness runs secure, or as
    asked; plaintext otherwise."""
    secure = SECURE if secure is None else secure
    certs = certs or CERTS
    if secure:
        creds = grpc.ssl_channel_credentials(
            root_certificates=read_file(os.path.join(certs, "ca.pem")),
            private_key=read_file(os.path.join(certs, role + ".key")),
            certificate_chain=read_file(os.path.join(certs, role + ".pem")))
        ch = grpc.secure_channel(addr, creds, options=list(options))
    else:
        ch = grpc.insecure_channel(addr, options=list(options))
    token = TOKEN if token is None else token
    if token:
        ch = grpc.intercept_channel(ch, _TokenInterceptor(token))
    return ch


def _cleanup():
    for p in _procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    for d in _tmpdirs:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)

RING = 1 << 160
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "Segmentation fault")


def sha1_int(data):
    if isinstance(data, str):
        data = data.encode()
    return int.from_bytes(hashlib.sha1(data).digest(), "big")


def id_bytes(i):
    return i.to_bytes(20, "big")


def id_hex(i):
    return "%040x" % i


def in_oc(x, a, b):
    """x in (a, b] on the ring; a == b is the whole ring."""
    if a == b:
        return True
    return 0 < (x - a) % RING <= (b - a) % RING


def successor(ids, key):
    """The first id at or after key, clockwise (ids sorted)."""
    for i in ids:
        if i >= key:
            return i
    return ids[0]


_port_rng = random.Random()


def free_ports(n):
    """n ports that bind now, from below Linux's ephemeral range (32768+),
    so that no outgoing connection can take one of them while a test has
    stopped the process that listened there."""
    ports = set()
    while len(ports) < n:
        p = _port_rng.randrange(20000, 32000)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
            ports.add(p)
        except OSError:
            pass
        finally:
            s.close()
    return list(ports)


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def tmpdir():
    d = tempfile.mkdtemp(prefix="chord-test-")
    _tmpdirs.append(d)
    return d


def wait_for(pred, timeout, what, step=0.05):
    deadline = time.monotonic() + timeout * SLOW
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except grpc.RpcError as e:
            last = e
        time.sleep(step)
    raise AssertionError("timed out after %.1fs waiting for %s (last: %r)"
                         % (timeout * SLOW, what, last))


class Proc:
    """A started program with its log file; stopped by PID."""

    def __init__(self, args, log):
        self.args = args
        self.log_path = log
        self.logf = open(log, "ab")
        self.p = subprocess.Popen(args, stdout=self.logf, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        _procs.append(self.p)

    @property
    def pid(self):
        return self.p.pid

    def alive(self):
        return self.p.poll() is None

    def send(self, sig):
        if self.alive():
            self.p.send_signal(sig)

    def wait(self, timeout):
        return self.p.wait(timeout=timeout * SLOW)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        self.send(sig)
        try:
            return self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise AssertionError("%s did not exit within %ss of signal %d"
                                 % (self.args[0], timeout, sig))

    def close_log(self):
        self.logf.close()

    def log(self):
        if not self.logf.closed:
            self.logf.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


class Node(Proc):
    def __init__(self, cluster, port, node_id=None, extra=(), wait_port=True):
        self.port = port
        self.addr = "127.0.0.1:%d" % port
        self.id = node_id if node_id is not None else sha1_int(self.addr)
        args = [os.path.join(BIN, "chord-node"), "--listen", self.addr,
                "--supernode", cluster.sn_addr, "--id", id_hex(self.id),
                "--log-level", "debug"] + cluster.node_args + list(extra)
        if "--stabilize-interval" not in extra:
            # Maintenance ticks fast, so that tests see repairs quickly.
            args += ["--stabilize-interval", STABILIZE]
        if "--hop-timeout" not in extra:
            # A sanitized node is several times slower: so is its hop.
            args += ["--hop-timeout", "%dms" % (2000 * SLOW)]
        super().__init__(args, os.path.join(cluster.dir, "node-%d.log" % port))
        self.stub_channel = cluster.channel
        if wait_port:
            self.wait_port()

    def wait_port(self):
        # A gRPC channel that dials too early backs off for seconds: wait
        # for the port (or the process's end) first.
        wait_for(lambda: port_open(self.port) or not self.alive(), 10,
                 "%s to listen" % self.addr, step=0.01)
        self.stub = NG.NodeStub(self.stub_channel(self.addr))

    def status(self, all_fingers=False, timeout=3, wait_for_ready=None):
        return self.stub.Status(N.StatusRequest(all_fingers=all_fingers),
                                timeout=timeout * SLOW,
                                wait_for_ready=wait_for_ready)

    def joined(self):
        try:
            return self.joined_or_raise()
        except grpc.RpcError:
            return False

    def joined_or_raise(self):
        # wait_for_ready: grpcio 1.51 moves a connection attempt on only
        # while some call waits on the channel.  A fail-fast call (the
        # default) returns at once while the channel is in backoff, so a
        # loop of them left a channel to a slow (sanitizer, TLS) node
        # stuck for minutes in CI with "tcp handshaker shutdown", though
        # the node answered every other client.
        return self.status(timeout=1, wait_for_ready=True).joined


class Cluster:
    """A supernode plus nodes on 127.0.0.1, torn down on exit."""

    def __init__(self, sn_args=(), sn_port=None, node_args=()):
        self.dir = tmpdir()
        self.node_args = list(node_args)  # given to every node
        self.sn_port = sn_port or free_ports(1)[0]
        self.sn_addr = "127.0.0.1:%d" % self.sn_port
        self.sn_args = list(sn_args)
        self.nodes = []
        self._channels = {}
        self.sn = None
        self.start_supernode()

    def channel(self, addr):
        ch = self._channels.get(addr)
        if ch is None:
            ch = make_channel(addr, options=[
                ("grpc.max_receive_message_length", 80 << 20),
                ("grpc.max_send_message_length", 80 << 20),
                # Tests dial processes before they listen: retry quickly.
                ("grpc.initial_reconnect_backoff_ms", 50),
                ("grpc.min_reconnect_backoff_ms", 50),
                ("grpc.max_reconnect_backoff_ms", 300)])
            self._channels[addr] = ch
        return ch

    def start_supernode(self):
        self.sn = Proc([os.path.join(BIN, "chord-supernode"), "--listen",
                        self.sn_addr, "--log-level", "debug"] + self.sn_args,
                       os.path.join(self.dir, "supernode.log"))
        wait_for(lambda: port_open(self.sn_port) or not self.sn.alive(), 10,
                 "the supernode to listen", step=0.01)
        self.sn_stub = SG.SupernodeStub(self.channel(self.sn_addr))
        # wait_for_ready, as for a node's join (Node.joined_or_raise): a
        # fail-fast poll can leave grpcio's channel stuck in backoff.
        wait_for(lambda: self.list_nodes(wait_for_ready=True) is not None, 10,
                 "the supernode")

    def list_nodes(self, wait_for_ready=None):
        r = self.sn_stub.ListNodes(S.ListNodesRequest(), timeout=2 * SLOW,
                                   wait_for_ready=wait_for_ready)
        return [(int.from_bytes(n.id, "big"), n.addr) for n in r.nodes]

    def add_node(self, node_id=None, port=None, extra=(), wait=True):
        port = port or free_ports(1)[0]
        n = Node(self, port, node_id, extra)
        self.nodes.append(n)
        if wait:
            self.wait_joined([n])
        return n

    def start_nodes(self, ids, extra=()):
        """Starts one node per id at the same moment, then waits for all."""
        ports = free_ports(len(ids))
        nodes = [Node(self, p, i, extra, wait_port=False)
                 for p, i in zip(ports, ids)]
        self.nodes += nodes
        for n in nodes:
            n.wait_port()
        self.wait_joined(nodes, timeout=60)
        return nodes

    def wait_joined(self, nodes, timeout=30):
        for n in nodes:
            # A timeout names the last error the calls met.
            wait_for(n.joined_or_raise, timeout, "%s to join" % n.addr)
            assert n.alive(), n.log()

    def live(self):
        return [n for n in self.nodes if n.alive()]

    def ids(self):
        return sorted(n.id for n in self.live())

    def by_id(self, i):
        return next(n for n in self.live() if n.id == i)

    def random_node(self, rng=random):
        return rng.choice(self.live())

    def close(self):
        """Stops every process (SIGTERM, so sanitizers report at exit),
        then fails if any of them logged a sanitizer report."""
        procs = list(self.nodes) + ([self.sn] if self.sn else [])
        for p in procs:
            if p.alive():
                try:
                    p.stop(signal.SIGTERM, timeout=20)
                except AssertionError:
                    pass
        for ch in self._channels.values():
            ch.close()
        keep = os.environ.get("CHORD_TEST_KEEP_LOGS")
        if keep:  # a directory: every cluster's logs are copied under it
            shutil.copytree(self.dir, os.path.join(
                keep, os.path.basename(self.dir)), dirs_exist_ok=True)
        bad = []
        for p in procs:
            p.close_log()
            text = p.log()
            for mark in SANITIZER_MARKS:
                if mark in text:
                    bad.append("%s:\n%s" % (p.log_path,
                                            text[text.index(mark) - 200:][:3000]))
                    break
        if bad:
            raise AssertionError("sanitizer report(s):\n" + "\n".join(bad))

    def dump_logs(self):
        out = ["== supernode ==", self.sn.log()[-4000:]]
        for n in self.nodes:
            out += ["== node %s ==" % n.addr, n.log()[-4000:]]
        return "\n".join(out)


def expected_ring(ids, i, r=4):
    """Brute force: (predecessor, successors, fingers) of node i."""
    s = sorted(ids)
    k = s.index(i)
    pred = s[(k - 1) % len(s)]
    others = len(s) - 1
    succ = [s[(k + j) % len(s)] for j in range(1, min(r, others) + 1)] or [i]
    fingers = [successor(s, (i + (1 << b)) % RING) for b in range(160)]
    return pred, succ, fingers


class Ghost:
    """A joiner that is not a chord-node: a gRPC server answering Ping as
    the node (id, addr) with the incarnation of its secret, so that the
    supernode admits its Join (it checks the address answers as the node).
    It takes the join lock and then does nothing: the dead or stuck joiner
    of the membership tests. stop() makes it a dead one."""

    def __init__(self, cluster, i):
        from concurrent import futures
        self.c = cluster
        self.port = free_ports(1)[0]
        self.addr = "127.0.0.1:%d" % self.port
        self.info = C.NodeInfo(id=id_bytes(i), addr=self.addr)
        self.secret = os.urandom(16)
        inc = int.from_bytes(hashlib.sha256(self.secret).digest()[:8], "big")
        info = self.info

        class Servicer(NG.NodeServicer):
            def Ping(self, request, context):
                return N.PingResponse(node=info, payload=request.payload,
                                      incarnation=inc)

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        NG.add_NodeServicer_to_server(Servicer(), self.server)
        if SECURE:
            creds = grpc.ssl_server_credentials(
                [(read_file(os.path.join(CERTS, "node.key")),
                  read_file(os.path.join(CERTS, "node.pem")))],
                root_certificates=read_file(os.path.join(CERTS, "ca.pem")),
                require_client_auth=True)
            self.server.add_secure_port(self.addr, creds)
        else:
            self.server.add_insecure_port(self.addr)
        self.server.start()

    def join(self, timeout=2):
        return self.c.sn_stub.Join(
            S.JoinRequest(node=self.info, secret=self.secret),
            timeout=timeout * SLOW)

    def post_join(self, timeout=2):
        return self.c.sn_stub.PostJoin(
            S.PostJoinRequest(node=self.info, secret=self.secret),
            timeout=timeout * SLOW)

    def stop(self):
        self.server.stop(0)


def chordctl(args, cluster=None, node=None, input=None, timeout=60):
    cmd = [os.path.join(BIN, "chordctl")]
    if node is not None:
        cmd += ["--node", node]
    elif cluster is not None:
        cmd += ["--supernode", cluster.sn_addr]
    if SLOW != 1 and not any(isinstance(a, str) and a.startswith("--timeout")
                             for a in args):
        # A sanitized ring is several times slower: so is each call.
        cmd += ["--timeout", "%dms" % (10000 * SLOW)]
    cmd += list(args)
    return subprocess.run(cmd, input=input, capture_output=True,
                          timeout=timeout * SLOW)


class ClusterTest(unittest.TestCase):
    """Closes self.c after each test; prints its logs when the test failed."""

    def tearDown(self):
        c = getattr(self, "c", None)
        if c is None:
            return
        # Python resets _outcome.success while tearDown runs: look for this
        # test among the result's failures and errors instead.
        result = self._outcome.result
        failed = any(t is self for t, _ in result.failures + result.errors)
        if failed or not self._outcome.success:
            print(c.dump_logs())
        c.close()


# ---- the ring's shape, for tests of failures and repair -----------------


def node_view(node, timeout=2):
    """(predecessor id or None, [successor ids]) from node's Status."""
    st = node.status(timeout=timeout)
    pred = (int.from_bytes(st.predecessor.id, "big")
            if st.HasField("predecessor") else None)
    return pred, [int.from_bytes(s.id, "big") for s in st.successors]


def ring_mismatch(cluster, r=4, nodes=None):
    """None when every live node's predecessor and successor list equal
    the brute force (expected_ring, list length r) over the live members;
    otherwise a line naming the first node that differs."""
    nodes = cluster.live() if nodes is None else list(nodes)
    ids = sorted(n.id for n in nodes)
    short = lambda i: "-" if i is None else id_hex(i)[:8]  # noqa: E731
    for n in nodes:
        try:
            pred, succ = node_view(n)
        except grpc.RpcError as e:
            return "%s: Status %s" % (n.addr, e.code())
        want_pred, want_succ, _ = expected_ring(ids, n.id, r)
        if pred != want_pred or succ != want_succ:
            return ("%s (%s): pred %s succ %s; want pred %s succ %s"
                    % (n.addr, short(n.id), short(pred),
                       [short(s) for s in succ], short(want_pred),
                       [short(s) for s in want_succ]))
    return None


def ring_correct(cluster, r=4, nodes=None):
    """Every live node's predecessor and successor list are the brute
    force's over the live members."""
    return ring_mismatch(cluster, r, nodes) is None


def wait_ring_correct(cluster, timeout, r=4, since=None, nodes=None):
    """Waits until ring_correct (timeout scaled by SLOW, polling every
    50 ms) and returns the seconds it took, counted from `since` (a
    time.monotonic() value; default: now). Fails with the last difference
    when the ring is still wrong at the deadline."""
    t0 = time.monotonic() if since is None else since
    deadline = time.monotonic() + timeout * SLOW
    while True:
        last = ring_mismatch(cluster, r, nodes)
        if last is None:
            return time.monotonic() - t0
        if time.monotonic() > deadline:
            raise AssertionError("the ring is not correct after %.1fs: %s"
                                 % (timeout * SLOW, last))
        time.sleep(0.05)


def owners(ids, names):
    """{name: the id that owns it} over the member ids given (take them
    before a failure: afterwards the dead node is gone from the list)."""
    s = sorted(ids)
    return {name: successor(s, sha1_int(name)) for name in names}


# ---- replication: where the copies are, counted from each node's state ----


def replication_flags(r=3, repair="1s", grace=None):
    """chord-node flags for a replicated ring: R copies, a fast repair
    timer (tests see repairs quickly), and optionally the tombstone grace."""
    out = ["--replicas", str(r), "--repair-interval", repair]
    if grace is not None:
        out += ["--tombstone-grace", grace]
    return out


def held(node, timeout=5):
    """{key (int): (version, deleted)} for every entry node holds,
    tombstones too, from Status(list_keys)."""
    st = node.stub.Status(N.StatusRequest(list_keys=True), timeout=timeout * SLOW)
    return {int.from_bytes(kv.key, "big"): (kv.version, kv.deleted)
            for kv in st.held}


def holdings(cluster, nodes=None, timeout=5):
    """{node id: held(node)} over the live nodes (or those given)."""
    nodes = cluster.live() if nodes is None else list(nodes)
    return {n.id: held(n, timeout) for n in nodes}


def replica_set(ids, key, r):
    """Brute force: the owner of key and its next r - 1 successors among
    ids (all of them when there are fewer than r)."""
    s = sorted(ids)
    k = s.index(successor(s, key))
    return [s[(k + j) % len(s)] for j in range(min(r, len(s)))]


def replication_problems(cluster, r, nodes=None, hold=None, keys=None):
    """Checks every key any live node holds against the brute force:
    all entries of a key (live copies and tombstones, on any node) carry
    the same, newest, version; a key whose newest entry is live is held
    live by exactly its replica set (replica_set over the live ids).
    Returns (problems: list of one-line descriptions, stats: dict with
    keys (live keys), copies_ok (those placed right), tombstoned (keys
    whose newest entry is a tombstone), stale (keys with an older entry
    somewhere)). hold: a holdings() result to check instead of asking;
    keys: check only these keys (ints), e.g. those written before a
    failure while a writer is still adding others."""
    nodes = cluster.live() if nodes is None else list(nodes)
    ids = sorted(n.id for n in nodes)
    hold = holdings(cluster, nodes) if hold is None else hold
    by_key = {}
    for nid, h in hold.items():
        for key, (ver, dead) in h.items():
            by_key.setdefault(key, []).append((nid, ver, dead))
    s8 = lambda i: id_hex(i)[:8]  # noqa: E731
    problems = []
    stats = {"keys": 0, "copies_ok": 0, "tombstoned": 0, "stale": 0}
    for key in sorted(by_key):
        if keys is not None and key not in keys:
            continue
        entries = by_key[key]
        vmax = max(v for _, v, _ in entries)
        top = {d for _, v, d in entries if v == vmax}
        old = [(nid, v, d) for nid, v, d in entries if v != vmax]
        if old:
            stats["stale"] += 1
            problems.append("key %s: newest version %d, but %s" % (
                s8(key), vmax, ", ".join(
                    "%s holds %s v%d" % (s8(nid), "tombstone" if d else "copy", v)
                    for nid, v, d in old)))
        if len(top) > 1:
            problems.append("key %s: version %d is both a copy and a tombstone"
                            % (s8(key), vmax))
        if True in top and False not in top:
            stats["tombstoned"] += 1
            continue
        stats["keys"] += 1
        holders = sorted(nid for nid, v, d in entries if v == vmax and not d)
        want = replica_set(ids, key, r)
        if sorted(want) == holders:
            stats["copies_ok"] += 1
        else:
            problems.append("key %s v%d: %d copies on %s; want %d on %s" % (
                s8(key), vmax, len(holders), [s8(i) for i in holders],
                len(want), [s8(i) for i in want]))
    return problems, stats


def wait_replicated(cluster, timeout, r, since=None, nodes=None, step=0.2,
                    keys=None):
    """Waits until replication_problems finds none (timeout scaled by
    SLOW) and returns (seconds since `since` or now, stats). Fails with
    the number of problems and the first few when the deadline passes."""
    t0 = time.monotonic() if since is None else since
    deadline = time.monotonic() + timeout * SLOW
    while True:
        try:
            problems, stats = replication_problems(cluster, r, nodes,
                                                   keys=keys)
        except grpc.RpcError as e:
            problems, stats = ["Status(list_keys): %s %s"
                               % (e.code(), e.details())], None
        if not problems:
            return time.monotonic() - t0, stats
        if time.monotonic() > deadline:
            raise AssertionError(
                "replication has not converged after %.1fs: %d problem(s) "
                "(stats %s), first:\n  %s" % (timeout * SLOW, len(problems),
                                               stats, "\n  ".join(problems[:10])))
        time.sleep(step)


# ---- small helpers the test files share --------------------------------


def fixed_ids(seed, n):
    """n distinct random 160-bit ids from a seed: the same ring each run."""
    rng = random.Random(seed)
    ids = []
    while len(ids) < n:
        i = rng.getrandbits(160)
        if i not in ids:
            ids.append(i)
    return ids


def wfile(name, data):
    return N.WriteRequest(file=C.File(name=name, content=data))


def rpc_code(fn):
    """The status code fn's call ended with (OK when it did not raise)."""
    try:
        fn()
    except grpc.RpcError as e:
        return e.code()
    return grpc.StatusCode.OK
