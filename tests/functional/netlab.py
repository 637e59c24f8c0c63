"""Network namespaces as hosts, for the functional tests that need a
network (test_load.py, test_netns.py).

Every namespace a test makes is named tern-<what>-<pid>-<role> and is
deleted at the test's cleanup (Env.on_cleanup) whatever happens; one that
a killed run left behind (its pid gone) is deleted, with the tern
processes in it, by remove_stale_netns() before new ones are made.

Lan: a switched LAN as the network tests use it --

    namespace tern-net-PID-lan                namespace tern-net-PID-peer
    +-------------------------------------+   +-------------------------+
    |  tap (source tern)  --+             |   |                         |
    |  tap (dest. tern)   --+-- br0 -- vl-+---+- vp  10.0.0.1/24        |
    +-------------------------------------+   +-------------------------+

Terns run in the LAN namespace (Lan.prefix) and create their taps there
(-netdev tap,ifname=...,script=no); attach() puts a tap on the bridge.
The peer namespace is the other host: it pings, and runs TCP receivers
(Lan.peer_prefix).  Guests take addresses in 10.0.0.0/24.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys

from ternlib import TestFailure, wait_until

NETNS_RE = re.compile(r"(tern-[a-z]+-(\d+)-[a-z]+)\b")


def ip(*args, check_rc=True):
    p = subprocess.run(["ip"] + list(args), capture_output=True, text=True, timeout=30)
    if check_rc and p.returncode != 0:
        raise TestFailure(f"ip {' '.join(args)}: {p.stderr.strip()}")
    return p


def netns_unavailable():
    """Why network namespaces cannot be used here, or None."""
    if os.geteuid() != 0:
        return "not root"
    if not shutil.which("ip"):
        return "ip (iproute2) is not installed"
    p = ip("netns", "list", check_rc=False)
    if p.returncode != 0:
        return f"ip netns does not work: {p.stderr.strip()}"
    return None


def remove_stale_netns():
    """Namespaces a killed earlier run left behind (its pid is gone), and
    the tern processes still running in them."""
    for line in ip("netns", "list").stdout.splitlines():
        m = NETNS_RE.match(line)
        if not m or os.path.exists(f"/proc/{m.group(2)}"):
            continue
        for pid in ip("netns", "pids", m.group(1), check_rc=False).stdout.split():
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() in ("tern", "ping", "python3"):
                        os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        ip("netns", "del", m.group(1), check_rc=False)


def add_netns(env, what, role):
    """A new namespace tern-@what-PID-@role, deleted at cleanup."""
    ns = f"tern-{what}-{os.getpid()}-{role}"
    ip("netns", "add", ns)
    env.on_cleanup(lambda: ip("netns", "del", ns))
    ip("-n", ns, "link", "set", "lo", "up")
    return ns


class Lan:
    """See the module's comment.  Needs root (callers skip on
    netns_unavailable())."""

    PEER_ADDR = "10.0.0.1"

    def __init__(self, env):
        remove_stale_netns()
        self.env = env
        self.ns = add_netns(env, "net", "lan")
        self.peer = add_netns(env, "net", "peer")
        self.prefix = ["ip", "netns", "exec", self.ns]
        self.peer_prefix = ["ip", "netns", "exec", self.peer]
        ip("-n", self.ns, "link", "add", "br0", "type", "bridge")
        ip("-n", self.ns, "link", "set", "br0", "up")
        ip("-n", self.ns, "link", "add", "vl", "type", "veth", "peer", "name", "vp",
           "netns", self.peer)
        ip("-n", self.ns, "link", "set", "vl", "master", "br0", "up")
        ip("-n", self.peer, "addr", "add", f"{self.PEER_ADDR}/24", "dev", "vp")
        ip("-n", self.peer, "link", "set", "vp", "up")

    def attach(self, ifname, timeout=60):
        """Put tap @ifname (which a tern in the LAN namespace is creating)
        on the bridge, up."""
        wait_until(lambda: ip("-n", self.ns, "link", "show", "dev", ifname,
                              check_rc=False).returncode == 0,
                   timeout, f"tap {ifname} in {self.ns}")
        ip("-n", self.ns, "link", "set", ifname, "master", "br0", "up")

    def fdb_port(self, mac):
        """The bridge port its forwarding table sends @mac to (None:
        not learned)."""
        p = subprocess.run(["bridge", "-n", self.ns, "-j", "fdb", "show", "br", "br0"],
                           capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            raise TestFailure(f"bridge fdb show: {p.stderr.strip()}")
        for e in json.loads(p.stdout or "[]"):
            if e.get("mac") == mac.lower() and e.get("master") == "br0" \
                    and "self" not in e.get("flags", []):
                return e.get("ifname")
        return None

    def pin_neighbour(self, addr, mac):
        """Make the peer's ARP entry for @addr a permanent @mac, so the
        peer never asks again: an ARP request is broadcast, and a
        guest answering it would teach the bridge its port as well."""
        ip("-n", self.peer, "neigh", "replace", addr, "lladdr", mac, "dev", "vp",
           "nud", "permanent")

    def ping_count(self, addr, count, interval=0.05, timeout=60):
        """`ping -c @count` from the peer, which must get every reply."""
        p = subprocess.run(self.peer_prefix + ["ping", "-n", "-q", "-c", str(count), "-i",
                                               str(interval), "-w", str(timeout), addr],
                           capture_output=True, text=True, timeout=timeout + 30)
        if p.returncode != 0 or f"{count} received" not in p.stdout:
            raise TestFailure(f"ping -c {count} {addr}: {p.stdout.strip()} {p.stderr.strip()}")

    def ping(self, addr, interval=0.05):
        return Pinger(self.env, self.peer_prefix, addr, interval)

    def tcp_sink(self, port, path):
        """A receiver on the peer at PEER_ADDR:@port: takes one connection
        and writes what it carries to @path until the sender closes.
        Returns once it listens; wait() on the result for the end."""
        code = ("import socket,sys\n"
                "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                f"s.bind(({self.PEER_ADDR!r}, {port})); s.listen(1)\n"
                "print('LISTENING', flush=True)\n"
                "c,_=s.accept(); f=open(sys.argv[1],'wb')\n"
                "while True:\n"
                "    d=c.recv(65536)\n"
                "    if not d: break\n"
                "    f.write(d); f.flush()\n"
                "c.close()\n")
        p = subprocess.Popen(self.peer_prefix + [sys.executable, "-c", code, path],
                             stdout=subprocess.PIPE, text=True)
        self.env.on_cleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        line = p.stdout.readline()
        if line.strip() != "LISTENING":
            p.kill()
            raise TestFailure(f"the TCP receiver on the peer did not start: {line!r}")
        return p


class Pinger:
    """`ping -i INTERVAL -D -O` from the peer, running until stop().  Replies
    are (receive time, icmp_seq); a request is lost when a later one was
    answered and it never was."""

    LINE = re.compile(r"^\[(\d+\.\d+)\] \d+ bytes from [\d.]+: icmp_seq=(\d+) .*time=([\d.]+)")

    def __init__(self, env, prefix, addr, interval):
        self.path = env.path(f"ping-{addr}.out")
        self.interval = interval
        self._out = open(self.path, "w")
        self.proc = subprocess.Popen(list(prefix) + ["ping", "-n", "-D", "-O", "-i", str(interval),
                                                     addr],
                                     stdout=self._out, stderr=subprocess.STDOUT)
        env.on_cleanup(self.stop)

    def output(self):
        with open(self.path) as f:
            return f.read()

    def replies(self):
        """[(time, seq, rtt_ms)] in arrival order."""
        out = []
        for line in self.output().splitlines():
            m = self.LINE.match(line)
            if m:
                out.append((float(m.group(1)), int(m.group(2)), float(m.group(3))))
        return out

    def wait_replies(self, n, timeout, after_seq=0):
        """Wait until @n replies with seq > @after_seq came; returns the last one."""
        def enough():
            if self.proc.poll() is not None:
                raise TestFailure(f"ping exited: {self.output()[-500:]}")
            r = [x for x in self.replies() if x[1] > after_seq]
            return r[n - 1] if len(r) >= n else None
        return wait_until(enough, timeout, f"{n} ping replies after icmp_seq={after_seq}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()

    def summary(self):
        """(lost requests, longest time in s between two replies,
        replies) over the requests up to the last answered one."""
        r = self.replies()
        seqs = {x[1] for x in r}
        lost = max(seqs) - min(seqs) + 1 - len(seqs) if seqs else 0
        gap = max((b[0] - a[0] for a, b in zip(r, r[1:])), default=0.0)
        return lost, gap, r
