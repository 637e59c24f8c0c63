"""virtio-net from outside, without a guest driver yet (the net-echo guest
is the next slice): -netdev + -device virtio-net errors as one line, a
Tern with a NIC runs, and its "virtio-net" section migrates -- refused by
a destination with another MAC, naming the field, while the source runs on.
"""
from ternlib import check, check_equal
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
