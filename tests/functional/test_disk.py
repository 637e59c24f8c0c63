"""Disks: virtio-blk on raw images, image locking, and disks across a
live migration on shared storage (both Terns open the same image).

The guest is blk-pattern (tests/guests/blk_pattern.c): round r = 1, 2, ...
writes every 4 KiB block b with the words r << 48 | b << 16 | i, reads it
back and compares, then prints "R<r> ".  Invariant of a stopped guest's
image (check_image): every block holds the pattern of one round (zeros:
round 0), and along the disk the rounds never increase except for one
drop of exactly 1 -- a lost, duplicated or torn write breaks it.
"""
import os
import re
import struct

import test_migration as tm
from ternlib import Qmp, TestFailure, check, check_equal, wait_until

BLOCK = 4096
WORDS = BLOCK // 8


def make_image(env, name, size):
    path = env.path(name)
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def block_round(data, b):
    """The round whose pattern block @b holds; TestFailure for anything else."""
    words = struct.unpack_from(f"<{WORDS}Q", data, b * BLOCK)
    r = words[0] >> 48
    want = [r << 48 | b << 16 | i for i in range(WORDS)] if r else [0] * WORDS
    if list(words) != want:
        bad = next(i for i in range(WORDS) if words[i] != want[i])
        raise TestFailure(f"block {b} is torn or foreign: word {bad} = {words[bad]:#x}, "
                          f"expected {want[bad]:#x} (round {r})")
    return r


def check_image(path, blocks, what):
    """blk-pattern's disk invariant; returns the rounds per block."""
    with open(path, "rb") as f:
        data = f.read(blocks * BLOCK)
    rounds = [block_round(data, b) for b in range(blocks)]
    drops = 0
    for b in range(1, blocks):
        if rounds[b] == rounds[b - 1]:
            continue
        if rounds[b] != rounds[b - 1] - 1 or drops:
            raise TestFailure(f"{what}: disk invariant broken at block {b}: round {rounds[b]} "
                              f"after {rounds[b - 1]} (rounds {rounds})")
        drops += 1
    return rounds


def rounds_done(t):
    """The last round the guest reported complete."""
    found = re.findall(r"R(\d+) ", t.serial())
    return int(found[-1]) if found else 0


def start_blk(env, name, image, blocks, extra=(), drive_opts="", incoming=None):
    qmp = env.path(f"{name}.qmp")
    args = ["-m", "64M", "-kernel", env.guest("blk-pattern"), "-append", f"blocks={blocks}",
            "-drive", f"file={image},if=virtio{drive_opts}",
            "-qmp", f"unix:{qmp},server,nowait"]
    if incoming:
        args += ["-incoming", incoming, "-S"]
    t = env.start(args + list(extra), name=name)
    q = Qmp(qmp)
    q.command("migrate-set-capabilities",
              capabilities=[{"capability": "events", "state": True},
                            {"capability": "x-verify-ram", "state": True}])
    return t, q


def test_disk_blk_pattern(env):
    """The guest's rounds over a virtio-blk disk, every write verified by
    the guest, then the image checked from outside: exactly round 3."""
    env.require_kvm()
    img = make_image(env, "disk.img", 256 << 10)
    t = env.start(["-m", "64M", "-kernel", env.guest("blk-pattern"), "-append", "rounds=3",
                   "-drive", f"file={img},format=raw,cache=writeback",
                   "-device", "isa-debug-exit,iobase=0xf4,iosize=4"], name="blk")
    check_equal(t.wait_exit(120), 1, f"exit status (guest exit 0); serial {t.serial()!r}")
    check("BLK-READY blocks=64" in t.serial(), f"serial: {t.serial()!r}")
    check_equal(set(check_image(img, 64, "after 3 rounds")), {3}, "rounds on the disk")


def test_disk_forms_and_cache_none(env):
    """-blockdev file + raw with -device virtio-blk, cache.direct=on (O_DIRECT
    where the file system has it), and -drive if=none + -device."""
    env.require_kvm()
    for name, args in (
        ("blockdev", ["-blockdev", "driver=file,node-name=f0,filename={img},cache.direct=on",
                      "-blockdev", "driver=raw,node-name=d0,file=f0",
                      "-device", "virtio-blk,drive=d0,serial=tern0"]),
        ("ifnone", ["-drive", "file={img},if=none,id=hd0,cache=none",
                    "-device", "virtio-blk-pci,drive=hd0"]),
    ):
        # In the build tree, not /tmp: tmpfs has no O_DIRECT.
        img = os.path.join(env.build, f"test-disk-{os.getpid()}-{name}.img")
        with open(img, "wb") as f:
            f.truncate(128 << 10)
        env.on_cleanup(lambda p=img: os.unlink(p))
        t = env.start(["-m", "64M", "-kernel", env.guest("blk-pattern"), "-append", "rounds=2",
                       "-device", "isa-debug-exit,iobase=0xf4,iosize=4"] +
                      [a.format(img=img) for a in args], name=name)
        check_equal(t.wait_exit(120), 1, f"{name}: exit status; serial {t.serial()!r} "
                                         f"stderr {t.stderr()!r}")
        check_equal(set(check_image(img, 32, name)), {2}, f"{name}: rounds on the disk")


def test_disk_errors(env):
    """Bad disks are one line naming the option, status 1, before anything runs."""
    good = make_image(env, "good.img", 64 << 10)
    odd = make_image(env, "odd.img", 1000)
    empty = make_image(env, "empty.img", 0)
    unreadable = make_image(env, "unreadable.img", 64 << 10)
    os.chmod(unreadable, 0)
    kernel = env.guest("blk-pattern")
    cases = [
        (["-drive", f"file={env.path('missing.img')}"], "No such file or directory"),
        (["-drive", f"file={odd}"], "not a multiple of 512"),
        (["-drive", f"file={empty}"], "is empty"),
        (["-drive", f"file={good},format=qcow2"], "format 'qcow2' is not supported"),
        (["-drive", f"file={good},if=ide"], "if=ide is not supported"),
        (["-drive", f"file={good},cache=bogus"], "Invalid cache 'bogus'"),
        (["-drive", f"file={good},if=virtio,colour=blue"], "colour"),
        (["-drive", "if=virtio"], "file=PATH"),
        (["-device", "virtio-blk,drive=nope"], "no drive or node named 'nope'"),
        (["-device", "virtio-blk"], "drive property not set"),
        (["-drive", f"file={good},id=a", "-drive", f"file={good},id=a,file.locking=off"],
         "Duplicate ID 'a'"),
        (["-drive", f"file={good},if=virtio,id=x", "-device", "virtio-blk,drive=x"],
         "already in use"),
        (sum((["-drive", f"file={good},readonly=on"] for _ in range(5)), []),
         "4 virtio-mmio slots"),
        (["-blockdev", f"driver=qcow2,node-name=q,file={good}"], "driver 'qcow2'"),
    ]
    if os.geteuid() != 0:  # root reads a mode-0 file anyway
        cases.append((["-drive", f"file={unreadable}"], "Permission denied"))
    for args, want in cases:
        rc, out, err = env.run(["-kernel", kernel] + args)
        check_equal(rc, 1, f"{args}: exit status (stderr {err!r})")
        check(want in err and err.count("\n") == 1, f"{args}: stderr {err!r} lacks {want!r}")


def test_disk_lock_conflict(env):
    """A second Tern cannot open an image another one writes to, not even
    readonly=on (QEMU's rule: the writer does not share "write"); the
    first runs on untouched."""
    env.require_kvm()
    img = make_image(env, "disk.img", 256 << 10)
    t, q = start_blk(env, "first", img, 64)
    t.wait_serial("R1 ", timeout=120)
    rc, _, err = env.run(["-kernel", env.guest("blk-pattern"), "-drive", f"file={img}"])
    check_equal(rc, 1, "status of the second Tern")
    check('Failed to get "write" lock' in err and img in err, f"stderr: {err!r}")
    rc, _, err = env.run(["-kernel", env.guest("hello"), "-drive", f"file={img},readonly=on"])
    check_equal(rc, 1, "status of a reader")
    check('Failed to get shared "write" lock' in err, f"stderr: {err!r}")
    r = rounds_done(t)
    t.wait_serial(f"R{r + 1} ", timeout=120)
    check_equal(q.command("query-status")["status"], "running", "first Tern")


def test_disk_readonly_guest_sees_ioerr(env):
    """A write to a readonly=on disk is an I/O error for the guest, not for Tern."""
    env.require_kvm()
    img = make_image(env, "disk.img", 64 << 10)
    t, q = start_blk(env, "ro", img, 16, drive_opts=",readonly=on")
    t.wait_serial("BLK-IOERR", timeout=120)
    check("BLK-IOERR type 1 status 1 block 0" in t.serial(), f"serial: {t.serial()!r}")
    check_equal(q.command("query-status")["status"], "running", "VM after the guest's I/O error")
    check_equal(t.proc.poll(), None, "Tern still running")


def test_disk_shared_storage_migration(env):
    """Both sides open one image (no block migration).  The source drains
    and flushes at the stop and hands the write lock over; the destination
    takes it once the stream loaded.  The image then satisfies the
    invariant, the guest carries on writing on the destination without a
    mismatch, and the source no longer holds the lock."""
    env.require_kvm()
    blocks = 64
    img = make_image(env, "shared.img", blocks * BLOCK)
    sock = env.path("mig.sock")
    src, sq = start_blk(env, "src", img, blocks)
    dst, dq = start_blk(env, "dst", img, blocks, incoming=f"unix:{sock}")
    src.wait_serial("R2 ", timeout=120)
    sq.command("migrate", uri=f"unix:{sock}")
    tm.wait_status(sq, "completed")
    wait_until(lambda: dq.command("query-status")["status"] == "paused", 60,
               "the destination to load (-S)")
    # Nobody runs the guest now: the image is what the source flushed.
    rounds = check_image(img, blocks, "image at the switch-over")
    check(max(rounds) >= 2, f"rounds at the switch-over: {rounds}")
    # The destination holds the write lock, the source none.
    rc, _, err = env.run(["-kernel", env.guest("blk-pattern"), "-drive", f"file={img}"])
    check(rc == 1 and "write" in err, f"a third Tern got the image: {rc} {err!r}")
    dq.command("cont")
    r = rounds_done(dst)
    dst.wait_serial(f"R{max(r, max(rounds)) + 2} ", timeout=120)
    check("BLK-" not in dst.serial().replace("BLK-READY", ""),
          f"destination guest: {dst.serial()[-300:]!r}")
    dq.command("stop")
    check_image(img, blocks, "image on the destination")
    check_equal(sq.command("query-status")["status"], "postmigrate", "source")

