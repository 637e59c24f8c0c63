"""virtio-net from outside: -netdev + -device virtio-net errors as one
line, a Tern with a NIC runs, and its "virtio-net" section migrates --
refused by a destination with another MAC, naming the field, while the
source runs on; self-announce (RARP) on request and after a migration;
and with the net-echo guest (tests/guests/net_echo.c) driving the NIC:
ARP and ping byte for byte, and pings across a live migration.
"""
import select
import socket
import struct
import time

from ternlib import DEBUG_EXIT, TestFailure, check, check_equal, connect_unix
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

    def send(self, frame):
        """One frame to the VM, in the same framing."""
        self.sock.settimeout(30)
        self.sock.sendall(len(frame).to_bytes(4, "big") + frame)

    def _split(self):
        """Complete frames at the front of the buffer, taken out of it."""
        out = []
        while len(self.buf) >= 4 and len(self.buf) >= 4 + int.from_bytes(self.buf[:4], "big"):
            length = int.from_bytes(self.buf[:4], "big")
            out.append(self.buf[4:4 + length])
            self.buf = self.buf[4 + length:]
        return out

    def available(self):
        """The frames that have arrived, without waiting."""
        self.sock.setblocking(False)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    raise TestFailure("the netdev closed the connection")
                self.buf += data
        except BlockingIOError:
            pass
        finally:
            self.sock.setblocking(True)
        return self._split()

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


# ---- the net-echo guest (tests/guests/net_echo.c) ----
#
# It answers ARP requests and ICMP echo requests for its IPv4 address and
# ignores everything else; after a migration it also announces itself
# (GUEST_ANNOUNCE: a gratuitous ARP, then the control-queue ack).  The
# test plays the other host on the -netdev stream socket.

HOST_MAC = bytes.fromhex("020000000001")
HOST_IP = bytes([10, 0, 0, 1])
GUEST_IP = bytes([10, 0, 0, 2])
BROADCAST = b"\xff" * 6


def macb(mac):
    return bytes.fromhex(mac.replace(":", ""))


def inet_csum(data):
    """RFC 1071 over @data: 0 when @data carries a valid checksum."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def arp_frame(op, sha, spa, tha, tpa, dst=BROADCAST, src=None):
    return (dst + (src or sha) + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) +
            sha + spa + tha + tpa)


def echo_request(dst_mac, ident, seq, payload, dst_ip=GUEST_IP, icmp_csum=None):
    icmp = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + payload
    csum = inet_csum(icmp) if icmp_csum is None else icmp_csum
    icmp = icmp[:2] + struct.pack("!H", csum) + icmp[4:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0x1234, 0x4000, 64, 1, 0,
                     HOST_IP, dst_ip)
    ip = ip[:10] + struct.pack("!H", inet_csum(ip)) + ip[12:]
    return dst_mac + HOST_MAC + b"\x08\x00" + ip + icmp


def padded(frame):
    return frame + bytes(max(0, 60 - len(frame)))


def check_arp_reply(frame, guest_mac):
    want = arp_frame(2, guest_mac, GUEST_IP, HOST_MAC, HOST_IP, dst=HOST_MAC)
    check_equal(frame, padded(want), "ARP reply")


def check_echo_reply(frame, guest_mac, ident, seq, payload):
    """Byte by byte: Ethernet, IPv4 header (checksum valid), ICMP."""
    what = f"echo reply seq {seq}"
    total = 20 + 8 + len(payload)
    check_equal(len(frame), max(60, 14 + total), f"{what}: length")
    check_equal(frame[:14], HOST_MAC + guest_mac + b"\x08\x00", f"{what}: Ethernet header")
    ip, icmp = frame[14:34], frame[34:14 + total]
    ver, tos, tot, _, frag, _, proto, _, src, dst = struct.unpack("!BBHHHBBH4s4s", ip)
    check_equal((ver, tos, tot, frag, proto, src, dst),
                (0x45, 0, total, 0x4000, 1, GUEST_IP, HOST_IP), f"{what}: IPv4 header")
    check_equal(inet_csum(ip), 0, f"{what}: IPv4 header checksum")
    check_equal(icmp[:2], b"\0\0", f"{what}: ICMP type/code")
    check_equal(struct.unpack("!HH", icmp[4:8]), (ident, seq), f"{what}: id/seq")
    check_equal(icmp[8:], payload, f"{what}: payload")
    check_equal(inet_csum(icmp), 0, f"{what}: ICMP checksum")
    check_equal(frame[14 + total:], bytes(len(frame) - 14 - total), f"{what}: padding")


def start_echo(env, name, mac, incoming=None, append="", extra=()):
    """net-echo with one NIC on a stream netdev (server) at NAME.net."""
    qmp = env.path(f"{name}.qmp")
    args = ["-m", "64M", "-kernel", env.guest("net-echo"), "-append", append,
            "-qmp", f"unix:{qmp},server,nowait", "-device", f"virtio-net,netdev=n0,mac={mac}"]
    args += stream(env, f"{name}.net") + DEBUG_EXIT + list(extra)
    if incoming:
        args += ["-incoming", incoming]
    t = env.start(args, name=name)
    return t, tm.migration_qmp(qmp)


def test_net_echo_arp_ping(env):
    """net-echo answers ARP and pings byte for byte (short, odd, full
    1514-byte frames: those span several receive buffers), and ignores
    what is not for it: each ignored frame is followed by a ping whose
    reply must be the next frame.  A disk comes first on the kernel
    command line, so the guest has to find its NIC by device ID."""
    env.require_kvm()
    mac = "52:54:00:aa:bb:09"
    gm = macb(mac)
    img = env.path("disk.img")
    with open(img, "wb") as f:
        f.truncate(64 << 10)
    t, _ = start_echo(env, "vm", mac, append="count=3", extra=["-drive", f"file={img}"])
    t.wait_serial(f"NET-READY mac={mac} ip=10.0.0.2", timeout=120)
    r = FrameReader(env.path("vm.net"))
    start = time.monotonic()

    r.send(arp_frame(1, HOST_MAC, HOST_IP, bytes(6), GUEST_IP))
    check_arp_reply(r.frames(1, 60)[0], gm)
    seq = 0

    def ping(payload):
        nonlocal seq
        seq += 1
        r.send(echo_request(gm, 0x4242, seq, payload))
        check_echo_reply(r.frames(1, 60)[0], gm, 0x4242, seq, payload)

    ignored = [
        arp_frame(1, HOST_MAC, HOST_IP, bytes(6), bytes([10, 0, 0, 3])),  # not our IP
        arp_frame(2, HOST_MAC, HOST_IP, gm, GUEST_IP, dst=gm),  # a reply, not a request
        echo_request(gm, 1, 1, b"x" * 8, dst_ip=bytes([10, 0, 0, 3])),  # not our IP
        echo_request(gm, 1, 1, b"x" * 8, icmp_csum=0x1234),  # bad ICMP checksum
        echo_request(gm, 1, 1, b"y" * 1600),  # 1642 bytes: longer than 1514
        gm + HOST_MAC + b"\x86\xdd" + bytes(60),  # IPv6
        gm + HOST_MAC,  # shorter than an Ethernet header
    ]
    for payload in (b"", b"abc", bytes(range(56)), bytes(i & 0xFF for i in range(1472))):
        ping(payload)
    for f in ignored:
        r.send(f)
        ping(b"after an ignored frame")
    took = time.monotonic() - start
    print(f"  {seq} pings and an ARP exchange in {took:.2f}s")
    t.wait_serial(f"NET-PINGS {seq - seq % 3}", timeout=60)
    check("NET-ERROR" not in t.serial(), t.serial())


class EchoSwitch:
    """The test's side of a migration with net-echo: a learning switch
    with two ports (the source's and the destination's stream sockets)
    and a host that pings the guest every @interval seconds through the
    port where the guest's MAC was last seen -- so the switch moves to
    the destination when it announces itself (RARP or gratuitous ARP).
    Every frame from the guest is checked and counted per port."""

    def __init__(self, ports, guest_mac, interval=0.05):
        self.ports = ports  # name -> FrameReader
        self.gm = guest_mac
        self.port = next(iter(ports))
        self.interval = interval
        self.sent = {}  # seq -> port it went to
        self.replies = {}  # seq -> port it came from
        self.rarps = {name: 0 for name in ports}
        self.garps = {name: 0 for name in ports}
        self.next_send = time.monotonic()
        self.seq = 0

    def payload(self, seq):
        return f"net-echo ping {seq:06d} ".encode() * 3

    def _ping(self):
        self.seq += 1
        self.ports[self.port].send(echo_request(self.gm, 0x7E57, self.seq, self.payload(self.seq)))
        self.sent[self.seq] = self.port
        self.next_send += self.interval

    def _frame(self, name, f):
        garp = padded(arp_frame(1, self.gm, GUEST_IP, bytes(6), GUEST_IP))
        if f == rarp(":".join(f"{b:02x}" for b in self.gm)):
            self.rarps[name] += 1
        elif f == garp:
            self.garps[name] += 1
        else:
            seq = struct.unpack("!H", f[40:42])[0] if len(f) >= 42 else -1
            check(seq in self.sent and seq not in self.replies, f"unexpected frame on {name}: {f}")
            check_echo_reply(f, self.gm, 0x7E57, seq, self.payload(seq))
            self.replies[seq] = name
            return
        self.port = name  # the guest announced itself here

    def run(self, until, timeout, what):
        """Ping and sort frames until until() is true."""
        deadline = time.monotonic() + timeout
        socks = {r.sock: name for name, r in self.ports.items()}
        while not until():
            now = time.monotonic()
            if now > deadline:
                raise TestFailure(f"timed out after {timeout}s waiting for {what}: "
                                  f"{self.summary()}")
            if now >= self.next_send:
                self._ping()
            ready, _, _ = select.select(list(socks), [], [], max(0, self.next_send - now))
            for s in ready:
                for f in self.ports[socks[s]].available():
                    self._frame(socks[s], f)

    def replied(self, name):
        return sum(1 for p in self.replies.values() if p == name)

    def summary(self):
        return (f"{self.seq} requests, replies {dict((n, self.replied(n)) for n in self.ports)}, "
                f"RARP {self.rarps}, gratuitous ARP {self.garps}")


def test_net_echo_migration(env):
    """net-echo answers pings across a live migration: the destination
    announces the NIC (RARP rounds from Tern, and the guest's own
    gratuitous ARP through GUEST_ANNOUNCE, printed as NET-ANNOUNCE), the
    pings follow the MAC there, and replies come from the destination.
    Requests sent to the source while it was stopped get no reply; their
    number is printed and only loosely bounded."""
    env.require_kvm()
    mac = "52:54:00:aa:bb:0a"
    path = env.path("mig.sock")
    src, sq = start_echo(env, "src", mac)
    dst, dq = start_echo(env, "dst", mac, incoming=f"unix:{path}")
    src.wait_serial(f"NET-READY mac={mac}", timeout=120)
    sw = EchoSwitch({"src": FrameReader(env.path("src.net")),
                     "dst": FrameReader(env.path("dst.net"))}, macb(mac))
    sw.run(lambda: sw.replied("src") >= 5, 120, "5 replies from the source")

    start = time.monotonic()
    sq.command("migrate", uri=f"unix:{path}")
    sw.run(lambda: (sw.replied("dst") >= 5 and sw.rarps["dst"] >= 1 and sw.garps["dst"] >= 1 and
                    "NET-ANNOUNCE 1" in dst.serial()), 240,
           "replies and announcements from the destination")
    took = time.monotonic() - start
    tm.wait_status(sq, "completed")
    check_equal(sq.command("query-status")["status"], "postmigrate", "source after migrating")
    check_equal(dq.command("query-status")["status"], "running", "destination")
    check_equal(sw.rarps["src"] + sw.garps["src"], 0, "announcements on the source's port")
    first_dst = min(s for s, p in sw.replies.items() if p == "dst")
    check(all(s < first_dst for s, p in sw.replies.items() if p == "src"),
          f"the source replied after the destination did: {sw.replies}")
    lost = sw.seq - len(sw.replies)
    print(f"  migrated in {took:.2f}s: {sw.summary()}; {lost} requests got no reply")
    check(lost < sw.seq, f"{lost} of {sw.seq} requests unanswered")
    check("NET-ERROR" not in src.serial() + dst.serial(), dst.serial())


def test_net_echo_errors(env):
    """net-echo without a NIC (none at all, or only a disk) or with a bad
    ip= says NET-ERROR and leaves with status 1 (process status 3)."""
    env.require_kvm()
    img = env.path("disk.img")
    with open(img, "wb") as f:
        f.truncate(64 << 10)
    k = ["-m", "64M", "-kernel", env.guest("net-echo")] + DEBUG_EXIT
    for extra, want in (([], "NET-ERROR no virtio_mmio.device="),
                        (["-drive", f"file={img}"], "NET-ERROR no virtio 1.x device with that id"),
                        (["-append", "ip=10.0.0", "-device", "virtio-net,netdev=n0"] +
                         stream(env, "vm.net"), "NET-ERROR ip= is not A.B.C.D")):
        rc, out, err = env.run(k + extra, timeout=120)
        check_equal(rc, 3, f"{extra}: exit status ({err})")
        check(want in out, f"{extra}: {out!r}")
