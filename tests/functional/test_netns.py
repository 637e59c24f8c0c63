"""A guest on a switched LAN keeps answering while it migrates.

The LAN is netlab.Lan: a bridge in one network namespace with the
source's and the destination's taps on it, and a peer namespace (the
other host, 10.0.0.1) joined to it by veth.  The peer pings the guest
(10.0.0.2) every 50 ms before, during and after a live migration; the
test asserts

* the bridge's forwarding table points the guest's MAC at the
  destination's tap right after the announce;
* the longest time without replies stays within a bound made of the
  migration's measured downtime, the first announce round's delay and
  the guest's own reply time (see reply_bound);

and prints the number of lost replies.  The Linux guest meanwhile streams
TCP to the peer, and the bytes that arrive must be exactly the ones it
sent.  Needs root for the namespaces; without it the tests skip saying so.
"""
import hashlib
import os
import re
import time

import test_linux
from netlab import Lan, netns_unavailable
from ternlib import Qmp, Skip, check, check_equal, wait_until
import test_migration as tm

MAC = "52:54:00:12:34:56"
GUEST_IP = "10.0.0.2"
ANNOUNCE_INITIAL_MS = 50  # QEMU's default announce-initial


def require_lan(env):
    env.require_kvm()
    why = netns_unavailable()
    if why:
        raise Skip(f"network namespaces unavailable: {why}")
    return Lan(env)


def tap(name):
    return ["-netdev", f"tap,id=n0,ifname={name},script=no,downscript=no",
            "-device", f"virtio-net,netdev=n0,mac={MAC}"]


def reply_bound(downtime_ms, replies_before, interval):
    """The longest gap between two ping replies a migration may cause, in
    seconds: the downtime, then the first announce round (until then the
    bridge sends the guest's frames to the source's tap), then one ping
    interval for the next request, and the guest's own time to answer --
    twice the slowest reply seen before the migration, plus 1 s for a
    destination that starts its vCPUs on a loaded two-core machine."""
    slowest = max(r[2] for r in replies_before) / 1000
    return downtime_ms / 1000 + ANNOUNCE_INITIAL_MS / 1000 + interval + 2 * slowest + 1.0


def migrate_pinged(env, lan, src, sq, dst_args, name="dst"):
    """Migrates the guest of @src (its tap on the bridge, answering pings)
    to a new tern in the LAN namespace while the peer pings it.  Returns
    (destination, its Qmp, pinger, downtime in ms)."""
    sock = env.path(f"{name}.mig")
    dst = env.start(dst_args + ["-incoming", f"unix:{sock}",
                                "-qmp", f"unix:{env.path(name + '.qmp')},server,nowait"],
                    name=name, prefix=lan.prefix)
    dq = Qmp(env.path(f"{name}.qmp"))
    lan.attach("tdst")
    ping = lan.ping(GUEST_IP)
    before = ping.wait_replies(10, 300)
    check_equal(lan.fdb_port(MAC), "tsrc", "bridge port of the guest's MAC before migrating")
    sq.command("migrate", uri=f"unix:{sock}")
    tm.wait_status(sq, "completed", timeout=600)
    info = sq.command("query-migrate")
    # The announce's first round comes announce-initial after the
    # destination runs; the table must follow it, not a later frame.
    wait_until(lambda: lan.fdb_port(MAC) == "tdst", 5,
               f"the bridge to send {MAC} to the destination's tap (now: {lan.fdb_port(MAC)})")
    ping.wait_replies(20, 300, after_seq=before[1])
    ping.stop()
    lost, gap, replies = ping.summary()
    pre = [r for r in replies if r[1] <= before[1]]
    bound = reply_bound(info["downtime"], pre, ping.interval)
    print(f"     ping: {len(replies)} replies, {lost} lost, longest gap {gap * 1000:.0f} ms "
          f"(bound {bound * 1000:.0f} ms; downtime {info['downtime']} ms)", flush=True)
    check(gap <= bound, f"no ping replies for {gap:.3f} s, bound {bound:.3f} s")
    return dst, dq, lost


def test_linux_ping_and_tcp_across_migration(env):
    """Linux with a static address: pings answered across the migration,
    and a TCP stream from the guest arrives uncorrupted."""
    lan = require_lan(env)
    kit = test_linux.linux_kit(env)
    with open(os.path.join(kit, "cmdline.txt")) as f:
        cmdline = f.read().strip()
    kib, rounds = 128, 8
    cmdline += (f" tern.test=net tern.ip={GUEST_IP}/24 tern.peer={lan.PEER_ADDR}:5000"
                f" tern.netkib={kib} tern.rounds={rounds}")
    received = env.path("received")
    sink = lan.tcp_sink(5000, received)
    common = ["-m", "256M", "-no-reboot", "-kernel", os.path.join(kit, "vmlinux"),
              "-initrd", os.path.join(kit, "initramfs.cpio"), "-append", cmdline]
    src = env.start(common + tap("tsrc") + ["-qmp", f"unix:{env.path('src.qmp')},server,nowait"],
                    name="src", prefix=lan.prefix)
    sq = Qmp(env.path("src.qmp"))
    sq.command("migrate-set-capabilities",
               capabilities=[{"capability": "events", "state": True}])
    lan.attach("tsrc")
    t0 = time.monotonic()
    src.wait_serial("TERN-NET-UP", 900)
    t1 = time.monotonic()
    src.wait_serial("TERN-NET-ROUND 1", 600)
    dst, dq, lost = migrate_pinged(env, lan, src, sq, common + tap("tdst"))
    dst.wait_serial("TERN-NET-SENT", 900)
    print(f"     Linux: up in {t1 - t0:.0f} s, {kib * rounds} KiB sent over TCP in "
          f"{time.monotonic() - t1:.0f} s", flush=True)
    check_equal(sink.wait(120), 0, "TCP receiver exit status")
    out = src.serial() + dst.serial()
    check("TERN-LINUX-FAIL" not in out, f"guest failure:\n{out[-2000:]}")
    check(f"TERN-NET-ROUND {rounds}" in dst.serial(), "rounds after the migration ran on "
          "the destination")
    want = re.search(r"TERN-NET-SUM (\w+)", src.serial()).group(1)
    with open(received, "rb") as f:
        data = f.read()
    check_equal(len(data), kib * 1024 * rounds, "bytes received over TCP")
    for r in range(rounds):
        part = data[r * kib * 1024:(r + 1) * kib * 1024]
        check_equal(hashlib.sha256(part).hexdigest(), want, f"sha256 of round {r + 1}")


def echo_args(env, tap_name):
    return ["-m", "32M", "-kernel", env.guest("net-echo"), "-append", f"ip={GUEST_IP}"] + \
        tap(tap_name)


def start_echo(env, lan, name, tap_name, incoming=None):
    args = echo_args(env, tap_name) + ["-qmp", f"unix:{env.path(name + '.qmp')},server,nowait"]
    if incoming:
        args += ["-incoming", incoming]
    t = env.start(args, name=name, prefix=lan.prefix)
    q = Qmp(env.path(f"{name}.qmp"))
    q.command("migrate-set-capabilities",
              capabilities=[{"capability": "events", "state": True}])
    lan.attach(tap_name)
    return t, q


def test_net_echo_ping_ten_migrations(env):
    """net-echo answers pings while it migrates ten times between two
    taps on the bridge (A -> B -> A ...).  It sends nothing of its own, so
    besides the announce only its reply to a ping in flight at the
    switch-over can move the bridge's entry for its MAC: the table must
    follow each migration at once.  Prints lost replies and the
    longest gap per migration."""
    lan = require_lan(env)
    taps = ("ta", "tb")
    src, sq = start_echo(env, lan, "vm0", taps[0])
    src.wait_serial("NET-READY", 120)
    ping = lan.ping(GUEST_IP)
    ping.wait_replies(10, 120)
    rows = []
    for i in range(10):
        here, there = taps[i % 2], taps[(i + 1) % 2]
        sock = env.path(f"vm{i + 1}.mig")
        dst, dq = start_echo(env, lan, f"vm{i + 1}", there, incoming=f"unix:{sock}")
        check_equal(lan.fdb_port(MAC), here, f"migration {i + 1}: bridge port before")
        last = ping.wait_replies(1, 60, after_seq=ping.replies()[-1][1])
        sq.command("migrate", uri=f"unix:{sock}")
        tm.wait_status(sq, "completed", timeout=120)
        # The destination's own MIGRATION events (it is the next source).
        tm.wait_status(dq, "completed", timeout=60)
        info = sq.command("query-migrate")
        downtime = info["downtime"]
        # A migration this short (~20 ms) still has a rate: the whole one's.
        check(info["ram"]["mbps"] > 0, f"migration {i + 1}: {info}")
        wait_until(lambda: lan.fdb_port(MAC) == there, 5,
                   f"migration {i + 1}: the bridge to send {MAC} to {there}")
        first = ping.wait_replies(1, 60, after_seq=last[1])
        ping.wait_replies(5, 60, after_seq=last[1])
        lost, gap = first[1] - last[1] - 1, first[0] - last[0]
        bound = reply_bound(downtime, [r for r in ping.replies() if r[1] <= last[1]],
                            ping.interval)
        rows.append((i + 1, downtime, lost, gap))
        print(f"     migration {i + 1:2}: {here} -> {there}, downtime {downtime} ms, "
              f"{lost} pings lost, {gap * 1000:.0f} ms without replies (bound "
              f"{bound * 1000:.0f} ms)", flush=True)
        check(gap <= bound, f"migration {i + 1}: no replies for {gap:.3f} s, bound {bound:.3f} s")
        # The old source leaves, freeing its tap's name for the next one.
        sq.command("quit")
        check_equal(src.wait_exit(30), 0, "source exit status after quit")
        src, sq = dst, dq
    ping.stop()
    losts = sorted(r[2] for r in rows)
    print(f"     lost pings per migration over 10: {[r[2] for r in rows]} (median "
          f"{(losts[4] + losts[5]) / 2}, max {losts[-1]})", flush=True)
    check("NET-ERROR" not in src.serial(), src.serial()[-500:])


def test_net_echo_no_announce(env):
    """The control: with announce-rounds 0 the bridge keeps sending the
    guest's frames to the source's tap and no ping is answered, until
    announce-self on the destination moves the entry.

    Nothing else may teach the bridge the destination's port, so: the
    peer's ARP entry is pinned (once stale, the peer would broadcast a
    request and the destination's answer would move the entry: how such
    a LAN heals without an announce, seconds later), and no ping is in
    flight at the switch (a reply the guest had still to send leaves
    from the destination).  The pings before the migration are a
    finished `ping -c`; the endless ones start after it."""
    lan = require_lan(env)
    src, sq = start_echo(env, lan, "src", "tsrc")
    src.wait_serial("NET-READY", 120)
    lan.pin_neighbour(GUEST_IP, MAC)
    lan.ping_count(GUEST_IP, 5)
    check_equal(lan.fdb_port(MAC), "tsrc", "bridge port before the migration")
    sock = env.path("dst.mig")
    dst, dq = start_echo(env, lan, "dst", "tdst", incoming=f"unix:{sock}")
    dq.command("migrate-set-parameters", **{"announce-rounds": 0})
    sq.command("migrate", uri=f"unix:{sock}")
    tm.wait_status(sq, "completed", timeout=120)
    tm.wait_status(dq, "completed", timeout=60)
    # The destination runs; a second's pings go to the old port unanswered.
    ping = lan.ping(GUEST_IP)
    wait_until(lambda: ping.output().count("no answer yet") >= 20 or None, 60,
               "20 unanswered pings")
    check_equal(lan.fdb_port(MAC), "tsrc", "bridge port without an announce")
    check_equal(ping.replies(), [], "replies without an announce")
    dq.command("announce-self", initial=50, max=550, rounds=5, step=100)
    wait_until(lambda: lan.fdb_port(MAC) == "tdst", 5, "the bridge to follow announce-self")
    ping.wait_replies(5, 60)
