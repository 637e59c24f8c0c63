"""virtio-net from outside, without a guest driver yet (the net-echo guest
is the next slice): -netdev + -device virtio-net errors as one line, a
Tern with a NIC runs, and its "virtio-net" section migrates -- refused by
a destination with another MAC, naming the field, while the source runs on.
"""
import socket
import time

from ternlib import TestFailure, check, check_equal, connect_unix
from test_cli import one_line_error
import test_migration as tm


def stream(env, name):
    return ["-netdev", f"stream,id=n0,server=on,addr.type=unix,addr.path={env.path(name)}"]


def test_net_errors(env):
    """Bad NIC configuration: one line naming the option, status 1."""
    k = ["-kernel", env.guest("dirty-ram")]
    tap = ["-netdev", "tap,id=t0,fd=99"]
    one_line_error(env, k + ["-device", "virtio-net,netdev=nope"],
                   "-device virtio-net,netdev=nope", "no -netdev with id 'nope'")
    one_line_error(env, k + tap + ["-device", "virtio-net,netdev=t0", "-device",
                                   "virtio-net-pci,netdev=t0"], "already in use")
    one_line_error(env, k + tap + ["-device", "virtio-net,netdev=t0,mac=52:54:00"],
                   "not a MAC address")
    one_line_error(env, k + tap + ["-netdev", "tap,id=t1,fd=98", "-device",
                                   "virtio-net,netdev=t0,mac=02:00:00:00:00:09", "-device",
                                   "virtio-net,netdev=t1,mac=02:00:00:00:00:09"],
                   "MAC 02:00:00:00:00:09 is given to another NIC too")
    drives = []
    for i in range(4):
        img = env.path(f"d{i}.img")
        with open(img, "wb") as f:
            f.truncate(64 << 10)
        drives += ["-drive", f"file={img}"]
    one_line_error(env, k + drives + tap + ["-device", "virtio-net,netdev=t0"],
                   "too many virtio devices: 4 disks and 1 NICs")


def test_net_device_migrates(env):
    """A guest with a NIC (on a stream backend) runs and migrates; a
    destination built with another mac= refuses the section by name."""
    env.require_kvm()
    nic = ["-device", "virtio-net,netdev=n0,mac=52:54:00:aa:bb:01"]
    src, sq = tm.start(env, "src", 8, extra=stream(env, "src.net") + nic)
    src.wait_serial("B", count=1, timeout=120)
    check_equal(sq.command("query-status")["status"], "running", "source with a NIC")

    bad_path = env.path("bad.sock")
    bad, bq = tm.start(env, "bad", 8, incoming=f"unix:{bad_path}",
                       extra=stream(env, "bad.net") +
                       ["-device", "virtio-net,netdev=n0,mac=52:54:00:aa:bb:02"])
    sq.command("migrate", uri=f"unix:{bad_path}")
    tm.wait_status(sq, "failed")
    check_equal(bad.wait_exit(60), 1, "destination with another MAC: exit status")
    check("virtio-net" in bad.stderr() and "mac" in bad.stderr(), bad.stderr())
    check_equal(sq.command("query-status")["status"], "running", "source after the refusal")

    path = env.path("mig.sock")
    dst, dq = tm.start(env, "dst", 8, incoming=f"unix:{path}", extra=stream(env, "dst.net") + nic)
    sq.command("migrate", uri=f"unix:{path}")
    tm.wait_status(sq, "completed")
    check_equal(sq.command("query-status")["status"], "postmigrate", "source after migrating")
    before = tm.passes(dst)
    dst.wait_serial("B", count=before + 1, timeout=120)
    check_equal(dq.command("query-status")["status"], "running", "destination")


class FrameReader:
    """The other end of a -netdev stream,server=on: frames as QEMU's stream
    framing carries them (be32 length, then the Ethernet frame)."""

    def __init__(self, path):
        self.sock = connect_unix(path, 30, f"the netdev socket {path}")
        self.buf = b""

    def frames(self, n, timeout):
        """The next @n frames, or TestFailure after @timeout seconds."""
        out, deadline = [], time.monotonic() + timeout
        while len(out) < n:
            while len(self.buf) >= 4 and len(self.buf) >= 4 + int.from_bytes(self.buf[:4], "big"):
                length = int.from_bytes(self.buf[:4], "big")
                out.append(self.buf[4:4 + length])
                self.buf = self.buf[4 + length:]
                if len(out) == n:
                    return out
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure(f"{len(out)} of {n} frames within {timeout}s: {out}")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise TestFailure(f"the netdev closed the connection after {len(out)} frames")
            self.buf += data
        return out

    def quiet(self, seconds):
        """No frame arrives within @seconds (after the last round)."""
        self.sock.settimeout(seconds)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return
        raise TestFailure(f"an extra frame arrived: {data!r}")


def rarp(mac):
    """net/announce.h's frame for @mac (a colon-separated string)."""
    m = bytes.fromhex(mac.replace(":", ""))
    return (b"\xff" * 6 + m + bytes.fromhex("8035 0001 0800 06 04 0003") + m + bytes(4) + m +
            bytes(4) + bytes(18))


def test_net_announce_self(env):
    """announce-self (QMP, its own timing) and announce_self (HMP, the
    announce-* parameters) send that many RARP rounds from the NIC's MAC.
    The NIC comes from the -nic shorthand."""
    env.require_kvm()
    mac = "52:54:00:aa:bb:07"
    t, q = tm.start(env, "vm", 8, extra=[
        "-nic", f"stream,server=on,addr.type=unix,addr.path={env.path('vm.net')},mac={mac}"])
    reader = FrameReader(env.path("vm.net"))
    start = time.monotonic()
    q.command("announce-self", initial=20, max=100, rounds=3, step=40)
    got = reader.frames(3, 10)
    check(all(f == rarp(mac) for f in got), f"frames: {got}")
    check(time.monotonic() - start >= (20 + 60 + 100) / 1000 - 0.01, "the rounds were spaced")
    reader.quiet(1.0)
    err = q.cmd("announce-self", initial=20, max=100, rounds=3, step=0)
    check("announce-step" in err.get("error", {}).get("desc", ""), f"step 0: {err}")
    q.command("migrate-set-parameters", **{"announce-rounds": 2, "announce-initial": 10})
    out = q.command("human-monitor-command", **{"command-line": "announce_self"})
    check_equal(out, "", "HMP announce_self output")
    check(all(f == rarp(mac) for f in reader.frames(2, 10)), "HMP rounds")


def test_net_announce_interfaces(env):
    """announce-self "interfaces" (and HMP announce_self's list) picks
    NICs by -device id= (QMP here) or netdev id (HMP here): only those
    send RARP rounds.  Absence on the other
    socket is checked once the announced NIC's last round has arrived
    (both NICs' frames of a round go out in the same main-loop pass), plus
    a grace period for delivery."""
    env.require_kvm()
    macs = ["52:54:00:aa:bb:10", "52:54:00:aa:bb:11"]
    extra = []
    for i, mac in enumerate(macs):
        extra += ["-netdev", f"stream,id=n{i},server=on,addr.type=unix,"
                  f"addr.path={env.path(f'n{i}.net')}",
                  "-device", f"virtio-net,netdev=n{i},mac={mac},id=nic{i}"]
    t, q = tm.start(env, "vm", 8, extra=extra)
    readers = [FrameReader(env.path(f"n{i}.net")) for i in range(2)]
    q.command("announce-self", initial=10, max=50, rounds=3, step=10, interfaces=["nic1"])
    check(all(f == rarp(macs[1]) for f in readers[1].frames(3, 10)), "nic1 announced")
    readers[0].quiet(0.5)
    readers[1].quiet(0.3)
    err = q.cmd("announce-self", initial=10, max=50, rounds=3, step=10, interfaces=["nic9"])
    check("no NIC named 'nic9'" in err.get("error", {}).get("desc", ""), f"unknown: {err}")
    err = q.cmd("announce-self", initial=10, max=50, rounds=3, step=10, interfaces=[1])
    check("interfaces[0]" in err.get("error", {}).get("desc", ""), f"not a string: {err}")
    q.command("announce-self", initial=10, max=50, rounds=1, step=10, interfaces=[])
    for i in range(2):
        check_equal(readers[i].frames(1, 10), [rarp(macs[i])], f"empty list: n{i}")
    q.command("migrate-set-parameters", **{"announce-rounds": 2, "announce-initial": 10})
    out = q.command("human-monitor-command", **{"command-line": "announce_self n0"})
    check_equal(out, "", "HMP announce_self n0 output")
    check(all(f == rarp(macs[0]) for f in readers[0].frames(2, 10)), "HMP: n0 announced")
    readers[1].quiet(0.5)
    out = q.command("human-monitor-command", **{"command-line": "announce_self n0,bogus"})
    check("no NIC named 'bogus'" in out, f"HMP unknown name: {out!r}")
    readers[0].quiet(0.3)


def test_net_announce_after_migration(env):
    """The destination announces the NIC with the default rounds (5) once
    the migration completes, on its own netdev."""
    env.require_kvm()
    mac = "52:54:00:aa:bb:08"
    nic = ["-device", f"virtio-net,netdev=n0,mac={mac}"]
    src, sq = tm.start(env, "src", 8, extra=stream(env, "src.net") + nic)
    path = env.path("mig.sock")
    dst, dq = tm.start(env, "dst", 8, incoming=f"unix:{path}", extra=stream(env, "dst.net") + nic)
    reader = FrameReader(env.path("dst.net"))
    src.wait_serial("B", count=1, timeout=120)
    sq.command("migrate", uri=f"unix:{path}")
    tm.wait_status(sq, "completed")
    got = reader.frames(5, 30)
    check(all(f == rarp(mac) for f in got), f"frames: {got}")
