"""Disks: virtio-blk on raw images, image locking, and disks across a
live migration on shared storage (both Terns open the same image).

The guest is blk-pattern (tests/guests/blk_pattern.c): round r = 1, 2, ...
writes every 4 KiB block b with the words r << 48 | b << 16 | i, reads it
back and compares, then prints "R<r> ".  Invariant of a stopped guest's
image (check_image): every block holds the pattern of one round (zeros:
round 0), and along the disk the rounds never increase except for one
drop of exactly 1 -- a lost, duplicated or torn write breaks it.
"""
import hashlib
import os
import re
import struct
import subprocess

import test_migration as tm
from ternlib import TestFailure, check, check_equal, wait_until

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


def check_reported(src, rounds):
    """The image holds what the stopped guest reported: its last complete
    round R everywhere, or R + 1 where the round in progress got to."""
    r = rounds_done(src)
    check(r >= 1 and min(rounds) >= r and max(rounds) <= r + 1,
          f"the guest reported round {r} done; the image holds rounds {sorted(set(rounds))}")


def start_blk(env, name, image, blocks, extra=(), drive_opts="", incoming=None):
    qmp = env.path(f"{name}.qmp")
    args = ["-m", "64M", "-kernel", env.guest("blk-pattern"), "-append", f"blocks={blocks}",
            "-drive", f"file={image},if=virtio{drive_opts}",
            "-qmp", f"unix:{qmp},server,nowait"]
    if incoming:
        args += ["-incoming", incoming, "-S"]
    t = env.start(args + list(extra), name=name)
    return t, tm.migration_qmp(qmp)


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
    for args, want in cases:
        rc, out, err = env.run(["-kernel", kernel] + args)
        check_equal(rc, 1, f"{args}: exit status (stderr {err!r})")
        check(want in err and err.count("\n") == 1, f"{args}: stderr {err!r} lacks {want!r}")
    # A mode-0 image: root reads it anyway, so as root Tern runs as nobody
    # (the image is opened before /dev/kvm, which nobody may not open).
    prefix = [] if os.geteuid() else ["setpriv", "--reuid=65534", "--regid=65534",
                                      "--clear-groups"]
    os.chmod(env.dir, 0o755)
    p = subprocess.run(prefix + [env.tern, "-kernel", kernel, "-drive", f"file={unreadable}"],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 1 and "Permission denied" in p.stderr and
          p.stderr.count("\n") == 1, f"unreadable image: {p.returncode} {p.stderr!r}")


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
    wait_until(lambda: "\n" in t.serial().split("BLK-IOERR", 1)[1], 30,
               "the rest of the BLK-IOERR line")
    check("BLK-IOERR type 1 status 1 block 0\n" in t.serial(), f"serial: {t.serial()!r}")
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
    check_reported(src, rounds)
    # The destination holds the write lock, the source none.
    rc, _, err = env.run(["-kernel", env.guest("blk-pattern"), "-drive", f"file={img}"])
    check(rc == 1 and "write" in err, f"a third Tern got the image: {rc} {err!r}")
    dq.command("cont")
    r = rounds_done(dst)
    dst.wait_serial(f"R{max(r, max(rounds)) + 2} ", timeout=120)
    check("BLK-" not in dst.serial().replace("BLK-READY", ""),
          f"destination guest: {dst.serial()[-300:]!r}")
    # The source cannot run the guest again while the destination owns
    # the image ("cont" takes the locks back first, as in QEMU).
    r = sq.cmd("cont")
    check('Failed to get "write" lock' in r.get("error", {}).get("desc", ""), f"cont: {r}")
    check_equal(sq.command("query-status")["status"], "postmigrate", "source after cont")
    dq.command("stop")
    check_image(img, blocks, "image on the destination")


def test_disk_io_error_injected(env):
    """A host I/O error in the middle of the run (x-block-inject-error, as a
    failing disk would) reaches the guest as a virtio I/O error status; the
    VM stays up.  query-block / info block describe the disk."""
    env.require_kvm()
    img = make_image(env, "disk.img", 256 << 10)
    t, q = start_blk(env, "vm", img, 64, drive_opts=",id=disk0")
    blk = q.command("query-block")
    check_equal(len(blk), 1, f"query-block: {blk}")
    check(blk[0]["device"] == "disk0" and blk[0]["inserted"]["file"] == img and
          blk[0]["inserted"]["ro"] is False and blk[0]["write-locked"] is True,
          f"query-block: {blk}")
    info = q.command("human-monitor-command", **{"command-line": "info block"})
    check(info.startswith(f"disk0: {img} (raw)"), f"info block: {info!r}")
    t.wait_serial("R1 ", timeout=120)
    q.command("x-block-inject-error", device="disk0", op="write", errno=5,
              offset=32 * BLOCK, bytes=BLOCK)
    t.wait_serial("BLK-IOERR type 1 status 1 block 32", timeout=120)
    check_equal(q.command("query-status")["status"], "running", "VM after the I/O error")
    check_equal(t.proc.poll(), None, "Tern still running")
    err = q.cmd("x-block-inject-error", device="nope", op="write", errno=5)
    check("not found" in err.get("error", {}).get("desc", ""), f"reply: {err}")
    err = q.cmd("x-block-inject-error", device="disk0", op="sideways", errno=5)
    check("Invalid op" in err.get("error", {}).get("desc", ""), f"reply: {err}")


def block_migrate(env, uri_dst, uri_src, blocks=64, size=None, hmp=False, bandwidth=None):
    """blk-pattern writing its disk while migrate -b copies it to the
    destination's own (empty) image; returns (src, sq, dst, dq, images)."""
    size = size or blocks * BLOCK
    src_img, dst_img = make_image(env, "src.img", size), make_image(env, "dst.img", size)
    if size > blocks * BLOCK:  # bytes past the guest's blocks: only migration moves them
        tail = os.urandom(4 * BLOCK)
        env.tail_digest = hashlib.sha256(tail).hexdigest()
        with open(src_img, "r+b") as f:
            f.seek(size - 4 * BLOCK)
            f.write(tail)
    src, sq = start_blk(env, "src", src_img, blocks)
    dst, dq = start_blk(env, "dst", dst_img, blocks, incoming=uri_dst)
    src.wait_serial("R2 ", timeout=120)
    if bandwidth:
        sq.command("migrate-set-parameters", **{"max-bandwidth": bandwidth})
    if callable(uri_src):
        uri_src = uri_src(dq)
    if hmp:
        out = sq.command("human-monitor-command", **{"command-line": f"migrate -b {uri_src}"})
        check("Error" not in out, f"HMP migrate -b: {out!r}")
    else:
        sq.command("migrate", uri=uri_src, blk=True)
    return src, sq, dst, dq, (src_img, dst_img)


def check_block_migrated(env, src, sq, dst, dq, images, blocks, disk_total=None):
    """After completion: the destination's image is the source's byte for
    byte and satisfies the invariant; the guest writes on over there."""
    tm.wait_status(sq, "completed")
    info = sq.command("query-migrate")
    disk = info.get("disk", {})
    check(disk.get("total") == (disk_total or os.path.getsize(images[0])) and
          disk.get("remaining") == 0 and
          disk.get("transferred", 0) > 0, f"query-migrate disk: {info}")
    wait_until(lambda: dq.command("query-status")["status"] == "paused", 60,
               "the destination to load (-S)")
    with open(images[0], "rb") as a, open(images[1], "rb") as b:
        src_bytes, dst_bytes = a.read(), b.read()
    if src_bytes != dst_bytes:
        bad = next(i for i in range(0, len(src_bytes), BLOCK)
                   if src_bytes[i:i + BLOCK] != dst_bytes[i:i + BLOCK])
        raise TestFailure(f"destination image differs from the source's at block {bad // BLOCK}")
    rounds = check_image(images[1], blocks, "destination image at the switch-over")
    check_reported(src, rounds)
    dq.command("cont")
    dst.wait_serial(f"R{max(rounds) + 2} ", timeout=120)
    check("BLK-" not in dst.serial().replace("BLK-READY", ""),
          f"destination guest: {dst.serial()[-300:]!r}")
    dq.command("stop")
    check_image(images[1], blocks, "destination image after more rounds")
    return info


def test_disk_block_migration_unix(env):
    env.require_kvm()
    sock = env.path("mig.sock")
    src, sq, dst, dq, images = block_migrate(env, f"unix:{sock}", f"unix:{sock}")
    check_block_migrated(env, src, sq, dst, dq, images, 64)
    # The source's own image is free: it may run on (a copy of the guest).
    sq.command("cont")
    r = rounds_done(src)
    src.wait_serial(f"R{r + 1} ", timeout=120)
    # The destination, itself loaded by block migration, migrates on.
    dq.command("cont")
    img3, sock3 = make_image(env, "dst3.img", 64 * BLOCK), env.path("mig3.sock")
    dst3, dq3 = start_blk(env, "dst3", img3, 64, incoming=f"unix:{sock3}")
    dq.events.clear()  # its own incoming migration's events
    dq.command("migrate", uri=f"unix:{sock3}", blk=True)
    check_block_migrated(env, dst, dq, dst3, dq3, (images[1], img3), 64)


def test_disk_block_migration_tcp_hmp(env):
    """HMP migrate -b over TCP; info migrate shows the disk lines.  The
    image is 3 MiB and a bit (a short last chunk), random bytes at its end
    past the 64 blocks the guest writes."""
    env.require_kvm()
    size = (3 << 20) + 8 * BLOCK
    src, sq, dst, dq, images = block_migrate(env, "tcp:127.0.0.1:0", tm.listening_uri,
                                             size=size, hmp=True)
    check_block_migrated(env, src, sq, dst, dq, images, 64)
    out = sq.command("human-monitor-command", **{"command-line": "info migrate"})
    for line in ("transferred disk:", "remaining disk: 0 kbytes",
                 f"total disk: {size >> 10} kbytes"):
        check(line in out, f"info migrate lacks {line!r}:\n{out}")


def test_disk_block_capability_needs_disk(env):
    """migrate -b without a writable disk: refused, the guest runs on."""
    env.require_kvm()
    img = make_image(env, "ro.img", 64 << 10)
    t, q = start_blk(env, "vm", img, 16, drive_opts=",readonly=on")
    r = q.cmd("migrate", uri=f"unix:{env.path('x.sock')}", blk=True)
    check("error" in r, f"reply: {r}")
    check_equal(q.command("query-status")["status"], "running", "VM")


def block_migration_interrupted(env, interrupt, want):
    """A -b migration of a 32 MiB image at 4 MiB/s, interrupted during the
    bulk pass: the source ends in @want, runs on, its image keeps the
    invariant and the random bytes the guest never writes; a follow-up -b
    migration to a fresh destination completes."""
    env.require_kvm()
    size, blocks = 32 << 20, 64
    sock = env.path("mig.sock")
    src, sq, dst, dq, images = block_migrate(env, f"unix:{sock}", f"unix:{sock}",
                                             blocks=blocks, size=size, bandwidth=4 << 20)
    wait_until(lambda: (lambda d: d.get("transferred", 0) > 0 and d.get("remaining", 0) > 0)(
        sq.command("query-migrate").get("disk", {})), 60, "the bulk pass to be under way")
    interrupt(sq, dst)
    tm.wait_status(sq, want)
    wait_until(lambda: sq.command("query-status")["status"] == "running", 30,
               "the source to run again")
    r = rounds_done(src)
    src.wait_serial(f"R{r + 2} ", timeout=120)
    sq.command("stop")
    check_image(images[0], blocks, "source image after the failed migration")
    with open(images[0], "rb") as f:
        f.seek(size - 4 * BLOCK)
        tail = f.read()
    check_equal(hashlib.sha256(tail).hexdigest(), env.tail_digest, "the image's untouched tail")
    sq.command("cont")
    # Follow-up: a fresh destination, full speed.
    dst.kill()
    sq.command("migrate-set-parameters", **{"max-bandwidth": 1 << 30})
    img2 = make_image(env, "dst2.img", size)
    sock2 = env.path("mig2.sock")
    dst2, dq2 = start_blk(env, "dst2", img2, blocks, incoming=f"unix:{sock2}")
    sq.events.clear()
    sq.command("migrate", uri=f"unix:{sock2}", blk=True)
    check_block_migrated(env, src, sq, dst2, dq2, (images[0], img2), blocks)


def test_disk_block_migration_cancel_in_bulk(env):
    block_migration_interrupted(env, lambda sq, dst: sq.command("migrate_cancel"), "cancelled")


def test_disk_block_migration_destination_killed(env):
    block_migration_interrupted(env, lambda sq, dst: dst.kill(), "failed")


def test_disk_block_migration_destination_image_too_small(env):
    """A destination image smaller than the source's refuses the block
    stream with a reason the source reports; the source runs on."""
    env.require_kvm()
    src_img = make_image(env, "src.img", 4 << 20)
    with open(src_img, "r+b") as f:  # data in the source's last MiB
        f.seek(3 << 20)
        f.write(os.urandom(BLOCK))
    dst_img = make_image(env, "dst.img", 2 << 20)
    sock = env.path("mig.sock")
    src, sq = start_blk(env, "src", src_img, 16)
    dst, dq = start_blk(env, "dst", dst_img, 16, incoming=f"unix:{sock}")
    src.wait_serial("R1 ", timeout=120)
    sq.command("migrate", uri=f"unix:{sock}", blk=True)
    tm.wait_status(sq, "failed")
    info = sq.command("query-migrate")
    check("virtio0" in info.get("error-desc", ""), f"error-desc: {info}")
    check_equal(dst.wait_exit(60), 1, "destination exit status")
    wait_until(lambda: sq.command("query-status")["status"] == "running", 30, "the source")
    r = rounds_done(src)
    src.wait_serial(f"R{r + 1} ", timeout=120)


def test_disk_block_migration_three_disks(env):
    """Three disks: the guest's, a second writable one holding random bytes
    (size not a multiple of the chunk) and a read-only one that both sides
    share.  -b copies the two writable disks, not the read-only one."""
    env.require_kvm()
    sock = env.path("mig.sock")
    blocks = 64
    src_img, dst_img = make_image(env, "src.img", blocks * BLOCK), make_image(env, "dst.img",
                                                                             blocks * BLOCK)
    data = os.urandom((2 << 20) + 512)
    src2, dst2 = env.path("src2.img"), make_image(env, "dst2.img", len(data))
    with open(src2, "wb") as f:
        f.write(data)
    ro = make_image(env, "ro.img", 1 << 20)
    extra = lambda img2: ["-drive", f"file={img2},if=virtio,id=data",  # noqa: E731
                          "-drive", f"file={ro},if=none,id=ro,readonly=on",
                          "-device", "virtio-blk,drive=ro"]
    src, sq = start_blk(env, "src", src_img, blocks, extra=extra(src2))
    dst, dq = start_blk(env, "dst", dst_img, blocks, extra=extra(dst2), incoming=f"unix:{sock}")
    check_equal([b["device"] for b in sq.command("query-block")], ["virtio0", "data", "ro"],
                "disks in slot order")
    src.wait_serial("R2 ", timeout=120)
    sq.command("migrate", uri=f"unix:{sock}", blk=True)
    # disk total: the two writable disks, not the read-only one.
    check_block_migrated(env, src, sq, dst, dq, (src_img, dst_img), blocks,
                         disk_total=blocks * BLOCK + len(data))
    with open(dst2, "rb") as f:
        check(f.read() == data, "the second disk arrived byte for byte")
