# SPDX-License-Identifier: MIT
"""Only the cluster changes the cluster (issue 13): a ring with mutual TLS
and a cluster token, attacked from outside and from inside.

The bad-input matrix calls every method of every service (chord.v1.Node,
chord.v1.Supernode, grpc.health.v1.Health) with: no token, a wrong token,
no client certificate, a certificate from another CA, plaintext, garbage
bytes, an empty message and an oversized one. Then the attacks the issue
lists, each with what must not happen. After all of it nothing changed:
the same members, the same neighbours and copies, every file reads back,
and every daemon still serves.
"""
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import unittest

os.environ["CHORD_TEST_SECURE"] = "1"  # before chordtest reads it
import chordtest as T  # noqa: E402
import grpc  # noqa: E402

SC = grpc.StatusCode
N, S, C = T.N, T.S, T.C

NODE_METHODS = ["Read", "Write", "Delete", "Lookup", "UpdateDHT",
                "FindSuccessor", "GetPredecessor", "Notify",
                "GetSuccessorList", "TransferKeys", "Replicate", "Fetch",
                "SyncDigest", "Ping", "Status"]
CLIENT_METHODS = {"Read", "Write", "Delete", "Lookup", "Status", "GetNode",
                  "ListNodes"}
SN_METHODS = ["Join", "PostJoin", "GetNode", "Leave", "Heartbeat",
              "ListNodes"]
# What an empty request (all fields default) gets, with the right token.
EMPTY = {
    "Read": SC.INVALID_ARGUMENT, "Write": SC.INVALID_ARGUMENT,
    "Delete": SC.INVALID_ARGUMENT, "Lookup": SC.INVALID_ARGUMENT,
    "UpdateDHT": SC.INVALID_ARGUMENT, "FindSuccessor": SC.INVALID_ARGUMENT,
    "GetPredecessor": SC.OK, "Notify": SC.INVALID_ARGUMENT,
    "GetSuccessorList": SC.OK, "TransferKeys": SC.INVALID_ARGUMENT,
    "Replicate": SC.OK, "Fetch": SC.OK,
    "SyncDigest": SC.INVALID_ARGUMENT, "Ping": SC.OK, "Status": SC.OK,
    "Join": SC.INVALID_ARGUMENT, "PostJoin": SC.INVALID_ARGUMENT,
    "GetNode": SC.OK, "Leave": SC.INVALID_ARGUMENT,
    "Heartbeat": SC.INVALID_ARGUMENT, "ListNodes": SC.OK, "Check": SC.OK,
}


def raw_call(ch, path, payload, md=None, timeout=5):
    """Sends payload (bytes) to path; the status code (OK or the error)."""
    f = ch.unary_unary(path, request_serializer=None,
                       response_deserializer=None)
    try:
        f(payload, metadata=md, timeout=timeout * T.SLOW)
        return SC.OK
    except grpc.RpcError as e:
        return e.code()


class SecurityTest(T.ClusterTest):

    @classmethod
    def setUpClass(cls):
        # A second CA, whose certificates the ring must refuse.
        cls.other = T.tmpdir()
        subprocess.run([os.path.join(T.ROOT, "scripts", "make-certs.sh"),
                        "--force", cls.other], check=True,
                       stdout=subprocess.DEVNULL)

    def start(self, n=3):
        self.c = T.Cluster()
        ids = T.fixed_ids(13, n)
        self.c.start_nodes(ids)
        self.files = {"sec-%d" % i: os.urandom(200 + i) for i in range(12)}
        T.wait_ring_correct(self.c, 30)
        st = self.c.nodes[0].stub
        for name, data in self.files.items():
            st.Write(T.wfile(name, data), timeout=10 * T.SLOW)
        T.wait_replicated(self.c, 30, 3)

    def snapshot(self):
        """What must not change: members, each node's neighbours, what it
        holds, and every file's bytes."""
        ring = sorted(self.c.list_nodes())
        nodes = []
        for n in self.c.nodes:
            s = n.status()
            nodes.append((n.addr, s.predecessor.addr,
                          [x.addr for x in s.successors], s.keys))
        return ring, sorted(nodes)

    def check_files(self):
        for name, data in self.files.items():
            r = T.chordctl(["read", name], cluster=self.c)
            self.assertEqual(r.returncode, 0, (name, r.stderr))
            self.assertEqual(r.stdout, data, name)

    def check_serving(self):
        for addr in [self.c.sn_addr] + [n.addr for n in self.c.nodes]:
            r = T.chordctl(["health", addr])
            self.assertEqual(r.returncode, 0, (addr, r.stderr))

    def channels(self, addr):
        """The ways in, from nobody to a member."""
        opts = [("grpc.max_send_message_length", 200 << 20),
                ("grpc.max_receive_message_length", 200 << 20)]
        ca = T.read_file(os.path.join(T.CERTS, "ca.pem"))
        return {
            "member": T.make_channel(addr, opts),
            "no-token": T.make_channel(addr, opts, token=""),
            "wrong-token": T.make_channel(addr, opts, token="x" * 64),
            "no-cert": grpc.secure_channel(
                addr, grpc.ssl_channel_credentials(root_certificates=ca),
                options=opts),
            # Trusts the ring's CA, but shows a certificate of another.
            "other-ca": grpc.secure_channel(addr, grpc.ssl_channel_credentials(
                root_certificates=ca,
                private_key=T.read_file(os.path.join(self.other,
                                                     "client.key")),
                certificate_chain=T.read_file(os.path.join(self.other,
                                                           "client.pem"))),
                options=opts),
            "plaintext": grpc.insecure_channel(addr, options=opts),
        }

    def test_bad_input_matrix(self):
        """Every method x every bad way in: the expected status, nothing
        changed, every daemon still serving."""
        self.start()
        before = self.snapshot()
        targets = [("chord.v1.Node", NODE_METHODS, self.c.nodes[0].addr),
                   ("chord.v1.Supernode", SN_METHODS, self.c.sn_addr),
                   ("grpc.health.v1.Health", ["Check"], self.c.nodes[1].addr)]
        checked = 0
        for svc, methods, addr in targets:
            chans = self.channels(addr)
            for m in methods:
                path = "/%s/%s" % (svc, m)
                ring = svc != "grpc.health.v1.Health" and m not in CLIENT_METHODS
                opened = svc == "grpc.health.v1.Health"
                # Transport: no certificate, another CA, plaintext.
                for way in ("no-cert", "other-ca", "plaintext"):
                    self.assertEqual(raw_call(chans[way], path, b"", timeout=3),
                                     SC.UNAVAILABLE, (path, way))
                # Tokens.
                got = raw_call(chans["no-token"], path, b"")
                want = SC.UNAUTHENTICATED if ring else EMPTY[m]
                self.assertEqual(got, want, (path, "no-token"))
                got = raw_call(chans["wrong-token"], path, b"")
                want = EMPTY[m] if opened else SC.PERMISSION_DENIED
                self.assertEqual(got, want, (path, "wrong-token"))
                # Bytes, as a member.
                mem = chans["member"]
                self.assertEqual(raw_call(mem, path, b""), EMPTY[m],
                                 (path, "empty"))
                self.assertEqual(raw_call(mem, path, b"\xff\xff\xff\xff\x0f"),
                                 SC.INVALID_ARGUMENT, (path, "garbage"))
                big = b"\x0a\x80\x80\x80\x23" + b"a" * (70 << 20)
                self.assertEqual(raw_call(mem, path, big, timeout=20),
                                 SC.RESOURCE_EXHAUSTED, (path, "oversized"))
                checked += 8
            for ch in chans.values():
                ch.close()
        print("security: bad-input matrix: %d cases" % checked, file=sys.stderr)
        self.assertEqual(self.snapshot(), before)
        self.check_files()
        self.check_serving()

    def test_fields_out_of_range_change_nothing(self):
        """Members' calls with bad fields: refused, nothing changed."""
        self.start()
        before = self.snapshot()
        n0 = self.c.nodes[0]
        st = n0.stub
        ghost = C.NodeInfo(id=T.id_bytes(77), addr="127.0.0.1:1")
        cases = [
            ("Read long name", lambda: st.Read(N.ReadRequest(name="a" * 5000),
                                               timeout=5), SC.INVALID_ARGUMENT),
            ("FindSuccessor 19-byte id", lambda: st.FindSuccessor(
                N.FindSuccessorRequest(id=b"\x01" * 19), timeout=5),
             SC.INVALID_ARGUMENT),
            ("Fetch 5000 keys", lambda: st.Fetch(
                N.FetchRequest(keys=[T.id_bytes(i) for i in range(5000)]),
                timeout=5), SC.INVALID_ARGUMENT),
            ("UpdateDHT 1025 members", lambda: st.UpdateDHT(
                N.UpdateDHTRequest(members=[
                    C.NodeInfo(id=T.id_bytes(i + 1), addr="127.0.0.1:%d" % (
                        1000 + i)) for i in range(1025)]), timeout=5),
             SC.INVALID_ARGUMENT),
            ("UpdateDHT without this node", lambda: st.UpdateDHT(
                N.UpdateDHTRequest(members=[ghost]), timeout=5),
             SC.INVALID_ARGUMENT),
            ("Join bad address", lambda: self.c.sn_stub.Join(
                S.JoinRequest(node=C.NodeInfo(id=T.id_bytes(5),
                                              addr="127.0.0.1:0"),
                              secret=b"s" * 16), timeout=5),
             SC.INVALID_ARGUMENT),
            ("Join short secret", lambda: self.c.sn_stub.Join(
                S.JoinRequest(node=ghost, secret=b"s"), timeout=5),
             SC.INVALID_ARGUMENT),
        ]
        for what, call, want in cases:
            with self.assertRaises(grpc.RpcError, msg=what) as e:
                call()
            self.assertEqual(e.exception.code(), want, what)
        self.assertEqual(self.snapshot(), before)
        self.check_files()

    def test_insider_ring_calls_are_checked(self):
        """With the token, still: no keys to a made-up joiner, no adopted
        predecessor that does not answer, no made-up member list, no files
        planted outside the sender's ranges or with versions that wrap."""
        self.start()
        before = self.snapshot()
        a, b = self.c.nodes[0], self.c.nodes[1]
        sa = a.status()
        pred = int.from_bytes(sa.predecessor.id, "big")
        me = a.id
        mid = (pred + ((me - pred) % T.RING) // 2) % T.RING
        fake = C.NodeInfo(id=T.id_bytes(mid), addr="127.0.0.1:1")
        # TransferKeys for a joiner that does not answer: nothing handed.
        for release in (False, True):
            with self.assertRaises(grpc.RpcError) as e:
                a.stub.TransferKeys(N.TransferKeysRequest(
                    requester=fake, **{"from": T.id_bytes(pred)},
                    to=T.id_bytes(mid), release=release), timeout=10)
            self.assertEqual(e.exception.code(), SC.FAILED_PRECONDITION)
        # ... and for a range that is not the requester's to take.
        with self.assertRaises(grpc.RpcError) as e:
            a.stub.TransferKeys(N.TransferKeysRequest(
                requester=fake, **{"from": T.id_bytes(pred)},
                to=T.id_bytes((me + 5) % T.RING)), timeout=10)
        self.assertEqual(e.exception.code(), SC.PERMISSION_DENIED)
        # Notify with a predecessor that does not answer.
        for leaving in (False, True):
            with self.assertRaises(grpc.RpcError) as e:
                a.stub.Notify(N.NotifyRequest(node=fake, leaving=leaving),
                              timeout=10)
            self.assertIn(e.exception.code(),
                          (SC.FAILED_PRECONDITION, SC.INVALID_ARGUMENT))
        # UpdateDHT naming a member that does not answer.
        members = [C.NodeInfo(id=T.id_bytes(i), addr=addr)
                   for i, addr in self.c.list_nodes()] + [fake]
        with self.assertRaises(grpc.RpcError) as e:
            a.stub.UpdateDHT(N.UpdateDHTRequest(members=members), timeout=10)
        self.assertEqual(e.exception.code(), SC.FAILED_PRECONDITION)
        # Replicate with a version that would wrap the next write's.
        name = next(iter(self.files))
        wrap = [C.File(name=name, content=b"evil", version=2 ** 64 - 1,
                       key=hashlib.sha1(name.encode()).digest())]
        with self.assertRaises(grpc.RpcError) as e:
            a.stub.Replicate(N.ReplicateRequest(files=wrap), timeout=10)
        self.assertEqual(e.exception.code(), SC.INVALID_ARGUMENT)
        time.sleep(0.5 * T.SLOW)
        self.assertEqual(self.snapshot(), before)
        self.check_files()
        # A real write still gets a version above the one before it.
        r = T.chordctl(["write", name, "-"], cluster=self.c, input=b"new")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.files[name] = b"new"
        self.check_files()

    def test_client_cannot_steer_a_write(self):
        """direct=true from a client (no cluster token) is ignored: the
        write goes to the key's owner, not to the node asked."""
        self.start()
        a = self.c.nodes[0]
        ids = sorted(n.id for n in self.c.nodes)
        pred = int.from_bytes(a.status().predecessor.id, "big")
        name = next("steer-%d" % i for i in range(5000)
                    if T.successor(ids, T.sha1_int("steer-%d" % i)) == pred)
        owner = next(n for n in self.c.nodes if n.id == pred)
        ch = T.make_channel(a.addr, token="")
        st = T.NG.NodeStub(ch)
        r = st.Write(N.WriteRequest(file=C.File(name=name, content=b"x"),
                                    direct=True), timeout=10 * T.SLOW)
        self.assertEqual(r.owner.addr, owner.addr)
        self.assertNotEqual(r.owner.addr, a.addr)
        self.assertGreaterEqual(r.hops, 1)
        ch.close()

    def test_client_token(self):
        """With --client-token-file, the file calls need the client token
        (or the cluster's); the client token opens nothing of the ring."""
        ct_file = os.path.join(T.CERTS, "client-token")
        with open(ct_file) as f:
            ct = f.read().strip()
        self.c = T.Cluster(sn_args=["--client-token-file", ct_file],
                           node_args=["--client-token-file", ct_file])
        self.c.start_nodes(T.fixed_ids(15, 3))
        addr = self.c.nodes[0].addr
        client = T.make_channel(addr, token=ct)
        nobody = T.make_channel(addr, token="")
        sn_client = T.make_channel(self.c.sn_addr, token=ct)
        for ch, want in ((client, SC.OK), (nobody, SC.UNAUTHENTICATED)):
            st = T.NG.NodeStub(ch)
            self.assertEqual(T.rpc_code(lambda: st.Write(
                T.wfile("ct", b"data"), timeout=10 * T.SLOW)), want)
            self.assertEqual(T.rpc_code(lambda: st.Read(
                N.ReadRequest(name="ct"), timeout=10 * T.SLOW)), want)
        st = T.NG.NodeStub(client)
        for call in (lambda: st.Ping(N.PingRequest(), timeout=5),
                     lambda: st.GetSuccessorList(N.GetSuccessorListRequest(),
                                                 timeout=5),
                     lambda: st.Status(N.StatusRequest(list_keys=True),
                                       timeout=5),
                     lambda: T.SG.SupernodeStub(sn_client).Heartbeat(
                         S.HeartbeatRequest(), timeout=5)):
            self.assertEqual(T.rpc_code(call), SC.PERMISSION_DENIED)
        self.assertEqual(T.rpc_code(lambda: T.SG.SupernodeStub(
            sn_client).ListNodes(S.ListNodesRequest(), timeout=5)), SC.OK)
        # chordctl with the client token: reads, writes, ring, status.
        env = dict(os.environ, CHORD_TOKEN_FILE=ct_file)
        for args, inp in ((["write", "ct2", "-"], b"two"), (["read", "ct2"], None),
                          (["ring"], None), (["status", addr], None)):
            r = subprocess.run([os.path.join(T.BIN, "chordctl"), "--supernode",
                                self.c.sn_addr] + args, input=inp,
                               capture_output=True, env=env, timeout=60)
            self.assertEqual(r.returncode, 0, (args, r.stderr))
        for ch in (client, nobody, sn_client):
            ch.close()

    def test_membership_cannot_be_forged(self):
        """Leave, Heartbeat and Join for someone else are refused."""
        self.start()
        before = self.snapshot()
        n0 = self.c.nodes[0]
        info = C.NodeInfo(id=T.id_bytes(n0.id), addr=n0.addr)
        for _ in range(5):
            with self.assertRaises(grpc.RpcError) as e:
                self.c.sn_stub.Leave(S.LeaveRequest(node=info,
                                                    secret=b"x" * 16),
                                     timeout=5)
            self.assertEqual(e.exception.code(), SC.PERMISSION_DENIED)
            with self.assertRaises(grpc.RpcError) as e:
                self.c.sn_stub.Heartbeat(S.HeartbeatRequest(node=info,
                                                            secret=b"x" * 16),
                                         timeout=5)
            self.assertEqual(e.exception.code(), SC.PERMISSION_DENIED)
        # Twenty made-up members by heartbeat: none registered.
        for i in range(20):
            fake = C.NodeInfo(id=T.id_bytes(1000 + i),
                              addr="127.0.0.1:%d" % (2 + i))
            with self.assertRaises(grpc.RpcError) as e:
                self.c.sn_stub.Heartbeat(S.HeartbeatRequest(
                    node=fake, secret=b"y" * 16), timeout=10)
            self.assertEqual(e.exception.code(), SC.FAILED_PRECONDITION)
        # A join lock for an address that does not answer: refused, so a
        # real joiner is not blocked.
        with self.assertRaises(grpc.RpcError) as e:
            self.c.sn_stub.Join(S.JoinRequest(
                node=C.NodeInfo(id=T.id_bytes(4242), addr="127.0.0.1:3"),
                secret=b"z" * 16), timeout=10)
        self.assertEqual(e.exception.code(), SC.FAILED_PRECONDITION)
        self.assertEqual(self.snapshot(), before)
        # A second process claiming a live node's id and address (it
        # listens elsewhere): the live node answers with another
        # incarnation, so the "restart" is refused and it exits.
        imp = T.Proc([os.path.join(T.BIN, "chord-node"), "--listen",
                      "127.0.0.1:%d" % T.free_ports(1)[0], "--advertise",
                      n0.addr, "--supernode", self.c.sn_addr,
                      "--join-retries", "2", "--stabilize-interval",
                      T.STABILIZE],
                     os.path.join(self.c.dir, "impostor.log"))
        try:
            imp.wait(30)
        except subprocess.TimeoutExpired:
            pass
        self.assertFalse(imp.alive(), "the impostor was admitted")
        imp.stop(timeout=5)
        self.assertEqual(self.snapshot(), before)
        self.check_files()
        # A real node still joins at once.
        self.c.add_node(T.fixed_ids(14, 1)[0])

    def test_chordctl_with_tls_and_token(self):
        """chordctl works with TLS and the token; a wrong token exits 6 with
        one line; no certificate exits 3."""
        self.start()
        for args in (["ring"], ["status", self.c.nodes[0].addr],
                     ["bench", "--op", "read", "--count", "20", "--names", "5",
                      "--concurrency", "4", "--warmup", "0"]):
            r = T.chordctl(args, cluster=self.c)
            self.assertEqual(r.returncode, 0, (args, r.stderr))
        r = T.chordctl(["delete", "sec-0"], cluster=self.c)
        self.assertEqual(r.returncode, 0, r.stderr)
        del self.files["sec-0"]
        wrong = os.path.join(self.c.dir, "wrong-token")
        with open(wrong, "w") as f:
            f.write("not-the-token\n")
        r = T.chordctl(["--token-file", wrong, "ring"], cluster=self.c)
        self.assertEqual(r.returncode, 6, r.stderr)
        self.assertEqual(r.stderr.count(b"\n"), 1, r.stderr)
        env = dict(os.environ)
        for k in ("CHORD_TLS_CERT", "CHORD_TLS_KEY", "CHORD_TLS_CA"):
            env.pop(k)
        r = subprocess.run([os.path.join(T.BIN, "chordctl"), "--timeout", "3s",
                            "--supernode", self.c.sn_addr, "ring"],
                           capture_output=True, env=env, timeout=30)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.check_files()

    def hold_connections(self, port, n):
        socks = []
        for _ in range(n):
            s = socket.socket()
            s.settimeout(2)
            try:
                s.connect(("127.0.0.1", port))
            except OSError:
                s.close()
                break
            socks.append(s)
        return socks

    def test_descriptor_exhaustion_then_restart(self):
        """A node whose descriptors run out (idle connections held until
        its limit) stops heartbeating, so the supernode drops it and reads
        go elsewhere; once they are released its listener (which gRPC core
        never re-arms after EMFILE) is found dead, the node leaves and
        exits 75 for its supervisor, and restarted it serves again."""
        self.start()
        victim = self.c.nodes[2]
        args = victim.args
        victim.stop(signal.SIGKILL)
        self.c.nodes.remove(victim)
        T.wait_for(lambda: victim.addr not in [a for _, a in
                                               self.c.list_nodes()],
                   30, "the killed node to expire")
        log = os.path.join(self.c.dir, "victim.log")
        low = T.Proc(["bash", "-c", 'ulimit -n 128; exec "$0" "$@"'] + args,
                     log)
        T.wait_for(lambda: victim.addr in [a for _, a in self.c.list_nodes()],
                   30, "the node with 128 descriptors to join")
        socks = self.hold_connections(victim.port, 300)
        try:
            self.assertGreater(len(socks), 100)
            T.wait_for(lambda: victim.addr not in [a for _, a in
                                                   self.c.list_nodes()],
                       30, "the supernode to drop the exhausted node")
            # Clients are not sent there; the files still read.
            self.check_files()
            self.assertTrue(low.alive())
        finally:
            for s in socks:
                s.close()
        self.assertEqual(low.wait(60), 75)
        with open(log) as f:
            text = f.read()
        self.assertIn("descriptors in use: not serving", text)
        self.assertIn("exiting for a restart", text)
        # The supervisor's part: start it again; it joins and serves.
        again = T.Proc(args, log)
        T.wait_for(lambda: victim.addr in [a for _, a in self.c.list_nodes()],
                   30, "the restarted node to join")
        r = T.chordctl(["health", victim.addr])
        self.assertEqual(r.returncode, 0, r.stderr)
        again.stop()
        self.check_files()

    def fresh_sn_channel(self):
        """Drops the harness's channel to the supernode, whose process
        changed: a new one dials the new process."""
        T.wait_for(lambda: T.port_open(self.c.sn_port), 10,
                   "the supernode to listen", step=0.01)
        ch = self.c._channels.pop(self.c.sn_addr, None)
        if ch is not None:
            ch.close()
        self.c.sn_stub = T.SG.SupernodeStub(self.c.channel(self.c.sn_addr))

    def test_supernode_descriptor_exhaustion_then_restart(self):
        """The supernode out of descriptors: once they are back its dead
        listener makes it exit 75; restarted, it learns the members again
        from their heartbeats."""
        self.start()
        args = self.c.sn.args
        self.c.sn.stop()
        low = T.Proc(["bash", "-c", 'ulimit -n 128; exec "$0" "$@"'] + args,
                     os.path.join(self.c.dir, "supernode-low.log"))
        self.c.sn = low
        self.fresh_sn_channel()
        T.wait_for(lambda: len(self.c.list_nodes()) == len(self.c.nodes), 30,
                   "the members to re-register")
        socks = self.hold_connections(self.c.sn_port, 300)
        try:
            self.assertGreater(len(socks), 100)
            time.sleep(3 * T.SLOW)
            self.assertTrue(low.alive())
        finally:
            for s in socks:
                s.close()
        self.assertEqual(low.wait(60), 75)
        self.c.start_supernode()
        self.fresh_sn_channel()
        T.wait_for(lambda: len(self.c.list_nodes()) == len(self.c.nodes), 30,
                   "the members to re-register with the restarted supernode")
        self.check_files()

    def test_writes_in_flight_are_bounded(self):
        """--max-inflight bounds the write content a node holds while it
        stores and replicates: a burst past it is refused with
        RESOURCE_EXHAUSTED, every acknowledged write reads back."""
        self.c = T.Cluster(node_args=["--max-inflight", "200k"])
        self.c.start_nodes(T.fixed_ids(16, 3))
        T.wait_ring_correct(self.c, 30)
        st = self.c.nodes[0].stub
        data = {"burst-%d" % i: os.urandom(90 << 10) for i in range(40)}
        futs = {name: st.Write.future(T.wfile(name, d), timeout=30 * T.SLOW)
                for name, d in data.items()}
        codes = {name: T.rpc_code(f.result) for name, f in futs.items()}
        ok = [n for n, c in codes.items() if c == SC.OK]
        refused = [n for n, c in codes.items() if c == SC.RESOURCE_EXHAUSTED]
        self.assertEqual(len(ok) + len(refused), len(data), codes)
        self.assertGreater(len(ok), 0)
        self.assertGreater(len(refused), 0, "the burst never hit the bound")
        for name in ok:
            r = st.Read(N.ReadRequest(name=name), timeout=10 * T.SLOW)
            self.assertEqual(r.file.content, data[name])
        # Once the burst is over, writes go through again.
        st.Write(T.wfile("after", b"x"), timeout=10 * T.SLOW)

    def test_full_disk_answers_resource_exhausted(self):
        """A dir store on a full file system: the write is refused with
        RESOURCE_EXHAUSTED (chordctl exit 4), no temporary file is left,
        what was stored reads back, and the node keeps serving."""
        mnt = T.tmpdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k",
                            "tmpfs", mnt], capture_output=True)
        if r.returncode != 0:
            self.skipTest("cannot mount a tmpfs here (not root?)")
        try:
            self.c = T.Cluster()
            n = self.c.add_node(extra=["--store", "dir", "--data-dir",
                                       os.path.join(mnt, "data")])
            ok = {}
            code = 0
            for i in range(100):
                data = os.urandom(16 << 10)
                r = T.chordctl(["write", "f%d" % i, "-"], cluster=self.c,
                               input=data)
                if r.returncode != 0:
                    code = r.returncode
                    err = r.stderr
                    break
                ok["f%d" % i] = data
            self.assertEqual(code, 4, "the disk never filled up")
            self.assertIn(b"RESOURCE_EXHAUSTED", err)
            self.assertEqual(err.count(b"\n"), 1, err)
            self.assertGreater(len(ok), 3)
            left = [f for f in os.listdir(os.path.join(mnt, "data"))
                    if not all(c in "0123456789abcdef" for c in f)
                    and f != "LOCK"]
            self.assertEqual(left, [], "temporary files left behind")
            for name, data in ok.items():
                r = T.chordctl(["read", name], cluster=self.c)
                self.assertEqual(r.stdout, data, name)
            r = T.chordctl(["health", n.addr])
            self.assertEqual(r.returncode, 0)
            self.c.close()
            self.c = None
        finally:
            subprocess.run(["umount", "-l", mnt])


if __name__ == "__main__":
    unittest.main(verbosity=2)
