"""A real Linux guest (tests/linux/): built once, cached outside the checkout,
booted through PVH (vmlinux) and the bzImage 64-bit entry."""
import os
import re
import subprocess

import test_migration as tm
from ternlib import TestFailure, check, check_equal

_cache = {}


def linux_kit(env):
    """Directory with vmlinux, bzImage, initramfs.cpio, cmdline.txt (built if needed)."""
    if "dir" not in _cache:
        script = os.path.join(env.top, "tests", "linux", "build.sh")
        p = subprocess.run([script, "--print-dir"], capture_output=True, text=True,
                           timeout=3600)
        if p.returncode != 0:
            raise TestFailure(f"tests/linux/build.sh failed:\n{p.stderr[-3000:]}")
        _cache["dir"] = p.stdout.strip().splitlines()[-1]
    return _cache["dir"]


def boot_linux(env, image, smp, name):
    kit = linux_kit(env)
    with open(os.path.join(kit, "cmdline.txt")) as f:
        cmdline = f.read().strip()
    t = env.start(["-m", "256M", "-smp", str(smp), "-no-reboot",
                   "-kernel", os.path.join(kit, image),
                   "-initrd", os.path.join(kit, "initramfs.cpio"),
                   "-append", cmdline + " tern.test=reboot"], name=name)
    # ~35 s (PVH) / ~50 s (bzImage) on the emulating CI hosts; generous deadlines.
    t.wait_serial("TERN-LINUX-INIT-OK", 600)
    t.wait_serial("TERN-LINUX-REBOOT", 120)
    check_equal(t.wait_exit(120), 0, f"{name}: exit status after reboot -f with -no-reboot")
    m = re.search(r"^cpus: (\d+)\r?$", t.serial(), re.M)
    check(m and int(m.group(1)) == smp, f"{name}: guest does not see {smp} CPUs: "
          f"{t.serial()[-400:]!r}")
    return t


def test_linux_pvh_smp2(env):
    env.require_kvm()
    boot_linux(env, "vmlinux", 2, "linux-pvh")


def test_linux_bzimage(env):
    env.require_kvm()
    boot_linux(env, "bzImage", 1, "linux-bzimage")


def test_linux_bzimage_too_little_ram(env):
    """The bzImage decompresses at 16 MiB and needs init_size from there: with
    -m 24M Tern must say so instead of starting a guest that dies silently."""
    env.require_kvm()
    kit = linux_kit(env)
    status, out, err = env.run(["-m", "24M", "-kernel", os.path.join(kit, "bzImage")])
    check_equal(status, 1, "exit status")
    check("kernel needs RAM up to" in err and "-m is too small" in err
          and len(err.strip().splitlines()) == 1, f"stderr: {err!r}")


def test_linux_migrate_memtest(env):
    """The Linux guest runs memtest (tests/linux/memtest.c: dirties 16 MiB and
    checks every page each round) and is live-migrated mid-run; on the
    destination the program finishes without a single wrong word and the
    console goes on to the reboot."""
    import time as _time

    env.require_kvm()
    kit = linux_kit(env)
    with open(os.path.join(kit, "cmdline.txt")) as f:
        cmdline = f.read().strip() + " tern.test=memtest"
    sock = env.path("mig.sock")
    common = ["-m", "256M", "-smp", "2", "-no-reboot", "-kernel", os.path.join(kit, "vmlinux"),
              "-initrd", os.path.join(kit, "initramfs.cpio"), "-append", cmdline]
    dst = env.start(common + ["-incoming", f"unix:{sock}", "-qmp",
                              f"unix:{env.path('dst.qmp')},server,nowait"], name="dst")
    src = env.start(common + ["-qmp", f"unix:{env.path('src.qmp')},server,nowait"], name="src")
    sq = tm.migration_qmp(env.path("src.qmp"))
    src.wait_serial("TERN-MEMTEST-START", 600)
    src.wait_serial("memtest: round 3 ok", 300)
    sq.command("migrate", uri=f"unix:{sock}")
    deadline = _time.monotonic() + 300
    while True:
        e = sq.wait_event("MIGRATION", timeout=max(1, deadline - _time.monotonic()))
        if e["data"]["status"] in ("completed", "failed", "cancelled"):
            break
    check_equal(e["data"]["status"], "completed", f"migration: {sq.command('query-migrate')}")
    at_switch = src.serial().count("memtest: round")
    dst.wait_serial("TERN-MEMTEST-DONE", 600)
    dst.wait_serial("TERN-LINUX-REBOOT", 120)
    check_equal(dst.wait_exit(120), 0, "destination exit after reboot -f with -no-reboot")
    out = src.serial() + dst.serial()
    check("TERN-MEMTEST-ERROR" not in out, f"memtest found corruption:\n{out[-2000:]}")
    m = re.search(r"TERN-MEMTEST-DONE rounds=(\d+) errors=(\d+)", dst.serial())
    check(m and m.group(2) == "0", f"memtest result: {dst.serial()[-500:]!r}")
    rounds_on_dst = dst.serial().count("memtest: round")
    check(rounds_on_dst > 0 and at_switch < int(m.group(1)),
          f"no rounds ran on the destination ({at_switch} on the source)")


def linux_disk_migration(env, blk):
    """Linux writes 1 MiB of random bytes to /dev/vda 8 times (the
    'disk' case of tests/linux/init) and is live-migrated after the first
    round: with @blk the disk is copied (block migration, each side has its
    own image), else both sides open one image (shared storage).  On the
    destination the guest reads the disk back and gets its own checksum,
    and so does the host from the destination's image."""
    import hashlib
    import time as _time

    env.require_kvm()
    kit = linux_kit(env)
    with open(os.path.join(kit, "cmdline.txt")) as f:
        cmdline = f.read().strip() + " tern.test=disk"
    images = [env.path("src.img"), env.path("dst.img") if blk else env.path("src.img")]
    for img in set(images):
        with open(img, "wb") as f:
            f.truncate(16 << 20)
    sock = env.path("mig.sock")
    common = ["-m", "256M", "-no-reboot", "-kernel", os.path.join(kit, "vmlinux"),
              "-initrd", os.path.join(kit, "initramfs.cpio"), "-append", cmdline]
    dst = env.start(common + ["-drive", f"file={images[1]},if=virtio,cache=writeback",
                              "-incoming", f"unix:{sock}",
                              "-qmp", f"unix:{env.path('dst.qmp')},server,nowait"], name="dst")
    src = env.start(common + ["-drive", f"file={images[0]},if=virtio",
                              "-qmp", f"unix:{env.path('src.qmp')},server,nowait"], name="src")
    sq = tm.migration_qmp(env.path("src.qmp"))
    src.wait_serial("TERN-DISK-ROUND 1", 900)
    sq.command("migrate", uri=f"unix:{sock}", blk=blk)
    deadline = _time.monotonic() + 300
    while True:
        e = sq.wait_event("MIGRATION", timeout=max(1, deadline - _time.monotonic()))
        if e["data"]["status"] in ("completed", "failed", "cancelled"):
            break
    info = sq.command("query-migrate")
    check_equal(e["data"]["status"], "completed", f"migration: {info}")
    if blk:
        check(info.get("disk", {}).get("total", 0) == 16 << 20, f"disk progress: {info}")
    dst.wait_serial("TERN-LINUX-REBOOT", 600)
    check_equal(dst.wait_exit(120), 0, "destination exit after reboot -f with -no-reboot")
    out = src.serial() + dst.serial()
    check("TERN-LINUX-FAIL" not in out, f"guest failure:\n{out[-2000:]}")
    want = re.search(r"TERN-DISK-SUM (\w+)", src.serial()).group(1)
    got = re.search(r"TERN-DISK-READBACK (\w+)", dst.serial())
    check(got and got.group(1) == want, f"read back on the destination: {got and got.group(1)} "
          f"!= written {want}")
    check("TERN-DISK-ROUND 8" in dst.serial(), "rounds after the migration ran on the destination")
    with open(images[1], "rb") as f:
        check_equal(hashlib.sha256(f.read(1 << 20)).hexdigest(), want,
                    "sha256 of the destination's image")


def test_linux_disk_shared_storage_migration(env):
    linux_disk_migration(env, blk=False)


def test_linux_disk_block_migration(env):
    linux_disk_migration(env, blk=True)
