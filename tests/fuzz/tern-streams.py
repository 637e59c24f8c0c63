#!/usr/bin/env python3
"""Write migration streams with tern itself, for the fuzzer's corpus.

Usage: tests/fuzz/tern-streams.py BUILD_DIR OUT_DIR

Runs BUILD_DIR/tern with the demo guest (tests/guests/demo.c) at -m 2M, one
-drive file=IMG,if=virtio of 2 MiB + 64 KiB and a virtio-net NIC with the
MAC 52:54:00:12:34:56 on a -netdev stream (a listening UNIX socket nobody
connects to: the link is down), the fuzz fixture's RAM, disk and NIC
(tests/fuzz/loadvm-fixture.h), and migrates it over QMP to
file:OUT_DIR/tern-*.stream:

  tern-running.stream   the guest ticking on kvmclock: a live migration
                        (START/PART/END "ram" sections, every device section)
  tern-start.stream     stopped by -S before its first instruction (vCPUs in
                        their reset state, the AP waiting for INIT)
  tern-verify.stream    running, with the x-verify-ram capability (the
                        "ram-verify" digest section)
  tern-block.stream     running, migrated with blk: true (the "block"
                        section: zero chunks, one chunk of data -- the short
                        last one, padded to 1 MiB -- PROGRESS, EOS)
  tern-net-echo.stream  the net-echo guest (tests/guests/net_echo.c) instead
                        of demo, once it has set up its NIC: the
                        "virtio-net" section with a driver's three queues,
                        rx buffers posted and the features it negotiated

always -smp 2 with isa-debug-exit at 0xf4, the disk and the NIC (which the
demo guest never drives: its section is the reset state but in the net-echo
stream): the fixture's
machine, and a loader refuses a stream that lacks one of its sections.  Each
must then load into the fixture (fuzz-seeds --check).  Exit status 77 when
/dev/kvm is not usable (the caller reports a skip), 1 on any failure.
"""
import os
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "functional"))

import ternlib  # noqa: E402
from ternlib import DEBUG_EXIT, Qmp, TestFailure, wait_until  # noqa: E402

RAM = "2M"  # FIXTURE_RAM_SIZE
DISK_SIZE = (2 << 20) + (64 << 10)  # FIXTURE_DISK_SIZE
NIC_MAC = "52:54:00:12:34:56"  # FIXTURE_NIC_MAC
TIMEOUT = 120  # guests run ~1000x slower on CI machines


def make_disk(path):
    """The fixture's disk size; some bytes in the short last chunk, so a
    block migration sends one chunk of data among the zero ones."""
    with open(path, "wb") as f:
        f.truncate(DISK_SIZE)
        f.seek(DISK_SIZE - 8192)
        f.write(bytes((i * 7 + (i >> 9)) & 0xff for i in range(4096)))


def start(env, name, extra=(), guest="demo"):
    qmp = env.path(f"{name}.qmp")
    disk = env.path(f"{name}.img")
    make_disk(disk)
    net = env.path(f"{name}.net")
    args = ["-m", RAM, "-smp", "2", "-kernel", env.guest(guest),
            "-drive", f"file={disk},if=virtio",
            "-netdev", f"stream,id=n0,server=on,addr.type=unix,addr.path={net}",
            "-device", f"virtio-net,netdev=n0,mac={NIC_MAC}",
            "-qmp", f"unix:{qmp},server,nowait"] + DEBUG_EXIT + list(extra)
    t = env.start(args, name=name)
    return t, Qmp(qmp, timeout=TIMEOUT)


def migrate_to_file(qmp, path, blk=False):
    qmp.command("migrate", uri=f"file:{path}", blk=blk)

    def finished():
        status = qmp.command("query-migrate").get("status")
        if status in ("failed", "cancelled"):
            raise TestFailure(f"migration to {path} {status}")
        return status == "completed"
    wait_until(finished, TIMEOUT, f"the migration to {path}")


def write_stream(env, out, name, extra=(), caps=(), blk=False, guest="demo",
                 ready="demo: clock"):
    t, q = start(env, name, extra, guest)
    if caps:
        q.command("migrate-set-capabilities",
                  capabilities=[{"capability": c, "state": True} for c in caps])
    if "-S" not in extra:
        # demo: kvmclock is set up (its MSRs are in the "cpu" section)
        # once the clock line is out; net-echo: its NIC is.
        t.wait_serial(ready, timeout=TIMEOUT)
    path = os.path.join(out, f"tern-{name}.stream")
    migrate_to_file(q, path, blk)
    t.kill()
    return path


def write_streams(env, out):
    return [write_stream(env, out, "running"),
            write_stream(env, out, "start", extra=["-S"]),
            write_stream(env, out, "verify", caps=["x-verify-ram"]),
            write_stream(env, out, "block", blk=True),
            write_stream(env, out, "net-echo", guest="net-echo", ready="NET-READY")]


def main():
    if len(sys.argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    build, out = sys.argv[1], sys.argv[2]
    why = ternlib.kvm_unavailable()
    if why:
        print(f"tern-streams: {why}", file=sys.stderr)
        return 77
    env = ternlib.Env(build, "tern-streams")
    start_time = time.monotonic()
    try:
        for path in write_streams(env, out):
            print(f"{path}: {os.path.getsize(path)} bytes")
    except Exception as e:  # noqa: BLE001 - report any failure with the tern logs
        print(f"tern-streams: {e}\n{env.diagnostics()}", file=sys.stderr)
        return 1
    finally:
        env.cleanup()
    print(f"tern-streams: {time.monotonic() - start_time:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
