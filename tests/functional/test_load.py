"""Migration under load: four guests migrating at once, and one guest
migrated A -> B -> A twenty times while it dirties its RAM.

The guest is dirty-ram (see test_migration.py): every destination starts
with -S, so at the stop the source's and the destination's RAM must be
byte-equal and satisfy the dirty-ram invariant, and after `cont` the guest
must run on (tm.finish_check).

The two "hosts" are two network namespaces joined by a veth pair
(10.77.0.1/24 and 10.77.0.2/24), as multi-host migration suites do: the
sources run in one, the destinations in the other (`ip netns exec`), the
stream goes over TCP across the link, and the receiving end's byte counter
must have grown by at least what the source sent.  QMP stays on UNIX
sockets in the shared filesystem.  Without root or iproute2 both hosts are
the loopback, and the test says so (the migrations still run).
"""
import json
import os

import test_migration as tm
from netlab import add_netns, ip, netns_unavailable, remove_stale_netns
from ternlib import check, check_equal

ROUND_TRIPS = 20
MB = 16
PAGE = 4096
# Slow enough that no migration of MB MiB can complete before all four were
# seen active (>= 4 s each); lifted as soon as they were.
OVERLAP_BANDWIDTH = 4 << 20


class Host:
    """Where tern processes run: a network namespace, or this host."""

    def __init__(self, addr, netns=None, dev=None):
        self.addr = addr
        self.netns = netns
        self.dev = dev
        self.prefix = ["ip", "netns", "exec", netns] if netns else []
        self._port = 4444

    def port(self):
        """A port to listen on: a fresh namespace has them all free."""
        if not self.netns:
            return tm.free_port()
        self._port += 1
        return self._port

    def rx_bytes(self):
        """Bytes received on the host's end of the link (None: no link)."""
        if not self.netns:
            return None
        out = ip("-n", self.netns, "-j", "-s", "link", "show", "dev", self.dev).stdout
        return json.loads(out)[0]["stats64"]["rx"]["bytes"]


def two_hosts(env):
    """Hosts A and B: two namespaces joined by a veth pair if possible,
    deleted at cleanup whatever happens; else both the loopback."""
    why = netns_unavailable()
    if why:
        print(f"     note: {why}: hosts A and B are both the loopback, no network "
              f"namespaces", flush=True)
        return Host("127.0.0.1"), Host("127.0.0.1")
    remove_stale_netns()
    pid = os.getpid()
    hosts = []
    for side, addr in (("a", "10.77.0.1"), ("b", "10.77.0.2")):
        hosts.append(Host(addr, add_netns(env, "load", side), f"tl{pid}{side}"))
    a, b = hosts
    ip("link", "add", a.dev, "netns", a.netns, "type", "veth", "peer", "name", b.dev,
       "netns", b.netns)
    for h in hosts:
        ip("-n", h.netns, "addr", "add", f"{h.addr}/24", "dev", h.dev)
        ip("-n", h.netns, "link", "set", h.dev, "up")
    print(f"     netns: {a.netns} ({a.addr}) <-veth-> {b.netns} ({b.addr})", flush=True)
    return a, b


def timestamp(event):
    return event["timestamp"]["seconds"] + event["timestamp"]["microseconds"] / 1e6


def check_link(there, rx_before, sent, what):
    """The stream crossed the link: the receiving end got at least @sent."""
    if rx_before is None:
        return
    got = there.rx_bytes() - rx_before
    check(got >= sent, f"{what}: {there.dev} received {got} bytes, the source sent {sent}")


def check_loaded(info, what):
    """The migration ran under load: RAM pages went more than once (the
    first pass sends every page, so any page beyond RAM's size was sent
    again because the guest wrote it after its copy), at least a MiB of
    them, over more than one dirty sync.  This does not hang on timing:
    a migration shorter than one of the guest's passes, or a last sync
    interval too short to see a write, still re-sends what was written."""
    ram = info["ram"]
    again = ram["normal"] + ram["duplicate"] - ram["total"] // PAGE
    check(ram["dirty-sync-count"] >= 2 and again >= (1 << 20) // PAGE,
          f"{what}: {again} pages sent again; the guest dirtied too little during the "
          f"migration: {ram}")


def test_load_four_concurrent(env):
    """Four sources on A migrate to four destinations on B at once: all
    four are active at the same time (their MIGRATION events say so), and
    each destination holds exactly its source's RAM and runs on."""
    env.require_kvm()
    a, b = two_hosts(env)
    pairs = []
    for i in range(4):
        uri = f"tcp:{b.addr}:{b.port()}"
        src, sq = tm.start(env, f"src{i}", MB, prefix=a.prefix)
        dst, dq = tm.start(env, f"dst{i}", MB, incoming=uri, extra=["-S"], prefix=b.prefix)
        pairs.append((uri, src, sq, dst, dq))
    for uri, src, sq, dst, dq in pairs:
        src.wait_serial("B", count=2, timeout=120)
        sq.command("migrate-set-parameters", **{"max-bandwidth": OVERLAP_BANDWIDTH})
    rx = b.rx_bytes()
    for uri, src, sq, dst, dq in pairs:
        sq.command("migrate", uri=uri)
    active = [tm.wait_status(sq, "active") for uri, src, sq, dst, dq in pairs]
    now = [sq.command("query-migrate")["status"] for uri, src, sq, dst, dq in pairs]
    check_equal(now, ["active"] * 4, "the four migrations, once each was seen active")
    for uri, src, sq, dst, dq in pairs:
        sq.command("migrate-set-parameters", **{"max-bandwidth": 0})
    done = [tm.wait_status(sq, "completed", timeout=300) for uri, src, sq, dst, dq in pairs]
    last_start = max(timestamp(e) for e in active)
    first_end = min(timestamp(e) for e in done)
    check(last_start < first_end, f"the migrations did not overlap: the last became active "
          f"at {last_start:.6f}, the first completed at {first_end:.6f}")
    sent = 0
    for i, (uri, src, sq, dst, dq) in enumerate(pairs):
        tm.wait_status(dq, "completed")  # the incoming side agrees
        info = tm.finish_check(env, src, sq, dst, dq, MB)
        check_loaded(info, f"migration {i}")
        sent += info["ram"]["transferred"]
    check_link(b, rx, sent, "four migrations")
    print(f"     overlap: all four active for {first_end - last_start:.3f}s", flush=True)


def test_load_round_trips(env):
    """One dirty-ram guest A -> B -> A ... ROUND_TRIPS times (two
    migrations each), every hop to a new -incoming process on the other
    host, verified at the stop by byte-equality and the invariant; the old
    source then quits (status 0) and the guest runs on where it went."""
    env.require_kvm()
    hosts = two_hosts(env)
    cur, cq = tm.start(env, "hop0", MB, prefix=hosts[0].prefix)
    cur.wait_serial("B", count=2, timeout=120)
    for hop in range(1, 2 * ROUND_TRIPS + 1):
        there = hosts[hop % 2]
        uri = f"tcp:{there.addr}:{there.port()}"
        dst, dq = tm.start(env, f"hop{hop}", MB, incoming=uri, extra=["-S"],
                           prefix=there.prefix)
        rx = there.rx_bytes()
        cq.command("migrate", uri=uri)
        tm.wait_status(cq, "completed")
        # The incoming side's own MIGRATION events (QEMU sends them too),
        # consumed here so that they are not taken for its next migration.
        tm.wait_status(dq, "completed")
        info = tm.finish_check(env, cur, cq, dst, dq, MB)
        check_loaded(info, f"hop {hop}")
        check_link(there, rx, info["ram"]["transferred"], f"hop {hop}")
        dq.command("cont")
        check_equal(cq.command("quit"), {}, f"hop {hop}: quit on the old source")
        check_equal(cur.wait_exit(60), 0, f"hop {hop}: the old source's exit status")
        cq.close()
        cur.kill()  # closes its log files: forty processes
        cur, cq = dst, dq
        cur.wait_serial("B", count=tm.passes(cur) + 1, timeout=120)
    check_equal(cq.command("query-status")["status"], "running", "after the last hop")
