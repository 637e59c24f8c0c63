"""Command-line behaviour: help, version, and every error path as one line + exit 1."""
import os

from ternlib import check, check_equal, wait_until


def one_line_error(env, args, *fragments):
    status, out, err = env.run(args, timeout=60)
    check_equal(status, 1, f"exit status of tern {' '.join(args)}")
    lines = err.strip().splitlines()
    check(len(lines) == 1, f"expected one line on stderr, got {err!r}")
    check(lines[0].startswith("tern: "), f"error must start with 'tern: ': {lines[0]!r}")
    for f in fragments:
        check(f in lines[0], f"{f!r} missing from {lines[0]!r}")
    return lines[0]


def test_version_and_help(env):
    status, out, _ = env.run(["-version"])
    check_equal(status, 0, "-version status")
    check(out.startswith("Tern version "), f"-version: {out!r}")
    status, out, _ = env.run(["-help"])
    check_equal(status, 0, "-help status")
    for opt in ["-m SIZE", "-smp", "-kernel", "-initrd", "-append", "-serial", "-display",
                "-name", "-S ", "-no-reboot", "-machine", "-device", "-version"]:
        check(opt in out, f"-help does not mention {opt}")
    status, out, _ = env.run(["-machine", "help"])
    check(status == 0 and "tern-1.0" in out, f"-machine help: {out!r}")


def test_unknown_and_malformed_options(env):
    one_line_error(env, ["-bogus"], "-bogus", "invalid option")
    one_line_error(env, ["stray"], "stray", "unexpected argument")
    one_line_error(env, ["-m"], "-m", "requires an argument")
    one_line_error(env, ["-m", "abc"], "-m abc", "invalid size")
    one_line_error(env, ["-m", "12X"], "-m 12X", "suffix")
    one_line_error(env, ["-m", "0"], "-m 0", "at least")
    one_line_error(env, ["-m", "1000K"], "-m 1000K", "whole number of MiB")
    one_line_error(env, ["-smp", "0"], "-smp 0", "at least 1")
    one_line_error(env, ["-smp", "two"], "-smp two")
    one_line_error(env, ["-smp", "cpus=4,sockets=3"], "must equal cpus")
    one_line_error(env, ["-machine", "pc"], "-machine pc", "unsupported machine type")
    one_line_error(env, ["-M", "tern-1.0,foo=1"], "foo")
    one_line_error(env, ["-device", "e1000"], "-device e1000", "unknown device")
    one_line_error(env, ["-device", "isa-debug-exit,iosize=3"], "iosize")
    one_line_error(env, ["-device", "isa-debug-exit,iobase=0x1ffff"], "iobase")
    one_line_error(env, ["-display", "gtk"], "-display gtk")


def test_bad_serial_backend(env):
    env.require_kvm()
    hello = ["-kernel", env.guest("hello")]
    one_line_error(env, hello + ["-serial", "tcp:nowhere"], "-serial", "unknown backend")
    one_line_error(env, hello + ["-serial", "file:/nonexistent/dir/log"], "cannot open")
    one_line_error(env, hello + ["-serial", "unix:/nonexistent/sock"], "cannot connect")


def test_missing_kernel(env):
    one_line_error(env, ["-m", "64M"], "no -kernel")
    one_line_error(env, ["-kernel", "/nonexistent/vmlinux"], "-kernel /nonexistent/vmlinux",
                   "No such file")


def test_text_file_as_kernel(env):
    path = env.path("notes.txt")
    with open(path, "w") as f:
        f.write("this is not a kernel\n" * 100)
    one_line_error(env, ["-kernel", path], path, "not a kernel Tern can boot")


def test_elf_without_pvh_note(env):
    # Any host ELF binary is a valid ELF without the Xen PVH note.
    one_line_error(env, ["-kernel", "/bin/true"], "/bin/true", "no PVH entry note")


def test_old_bzimage_rejected(env):
    img = bytearray(0x1000)
    img[0x1f1] = 1          # setup_sects
    img[0x1fe:0x200] = b"\x55\xaa"
    img[0x202:0x206] = b"HdrS"
    img[0x206:0x208] = (0x020a).to_bytes(2, "little")  # protocol 2.10
    path = env.path("old-bzImage")
    with open(path, "wb") as f:
        f.write(img)
    one_line_error(env, ["-kernel", path], "boot protocol 2.10 is too old")


def test_ram_beyond_host_memory(env):
    env.require_kvm()
    one_line_error(env, ["-m", "1T", "-kernel", env.guest("hello")], "-m 1T",
                   "exceeds host memory")


def test_missing_kvm_device(env):
    e = dict(os.environ, TERN_KVM_DEVICE="/nonexistent/kvm")
    status, out, err = env.run(["-kernel", env.guest("hello")], env=e)
    check_equal(status, 1, "exit status without KVM")
    check("cannot open /nonexistent/kvm" in err and len(err.strip().splitlines()) == 1,
          f"stderr: {err!r}")


def test_missing_initrd(env):
    one_line_error(env, ["-kernel", env.guest("hello"), "-initrd", "/nonexistent/initrd"],
                   "-initrd /nonexistent/initrd")


def test_kernel_too_big_for_ram(env):
    env.require_kvm()
    # dirty-ram loads at 1 MiB; with 2 MiB of RAM the initrd cannot fit.
    big = env.path("big.initrd")
    with open(big, "wb") as f:
        f.truncate(8 << 20)
    one_line_error(env, ["-m", "2M", "-kernel", env.guest("hello"), "-initrd", big],
                   "-initrd", "do not fit")


def test_start_paused_runs_nothing_until_signal(env):
    env.require_kvm()
    # With -S and no monitor yet, the guest must not print; SIGTERM ends it.
    t = env.start(["-S", "-smp", "2", "-kernel", env.guest("hello")])
    # Ready once both vCPU threads exist (signal handling is set up before).
    wait_until(lambda: t.proc.poll() is not None or
               len(os.listdir(f"/proc/{t.proc.pid}/task")) >= 3, 30, "vCPU threads")
    check(t.proc.poll() is None, "tern -S exited by itself")
    t.proc.terminate()
    check_equal(t.wait_exit(30), 0, "exit status after SIGTERM")
    check_equal(t.serial(), "", "guest output while started paused")


def test_dump_vmstate(env):
    """-dump-vmstate needs no KVM and writes QEMU's layout for every device."""
    import json
    path = env.path("dump.json")
    status, out, err = env.run(["-dump-vmstate", path],
                               env=dict(os.environ, TERN_KVM_DEVICE="/nonexistent"))
    check_equal(status, 0, f"-dump-vmstate status (stderr {err!r})")
    with open(path) as f:
        d = json.load(f)
    check_equal(d["vmschkmachine"], {"Name": "tern-1.0"}, "machine entry")
    check_equal(d["serial"]["Name"], "uart16550", "serial description name")
    fields = [x["field"] for x in d["serial"]["Description"]["Fields"]]
    check(fields[:3] == ["divider", "rbr", "ier"], f"serial fields: {fields}")
    check("i8042" in d, f"sections: {list(d)}")
    one_line_error(env, ["-dump-vmstate", "/nonexistent/dir/dump.json"], "-dump-vmstate")


def test_netdev_errors(env):
    """-netdev: syntax errors while parsing, open errors (no tap permission, nothing
    listening) when the VM is built; each one line naming the option."""
    one_line_error(env, ["-netdev", "tap,id=n0,script=/etc/qemu-ifup"], "-netdev tap",
                   "Tern runs no scripts")
    one_line_error(env, ["-netdev", "user,id=u0"], "-netdev user", "not supported")
    one_line_error(env, ["-netdev", "tap,id=n0", "-netdev", "stream,id=n0"], "Duplicate ID")
    status, out, _ = env.run(["-netdev", "help"])
    check(status == 0 and "tap" in out and "stream" in out, f"-netdev help: {out!r}")
    env.require_kvm()
    hello = ["-kernel", env.guest("hello")]
    one_line_error(env, hello + ["-netdev", "stream,id=s0,addr.type=unix,addr.path="
                                 + env.path("nobody.sock")], "-netdev stream", "cannot connect")
    if os.geteuid() == 0:
        # As an unprivileged user: the tap cannot be created.
        status, _, err = env.run(hello + ["-netdev", "tap,id=n0,ifname=terncli0"],
                                 user=65534, group=65534, extra_groups=[])
        lines = err.strip().splitlines()
        check(status == 1 and len(lines) == 1 and lines[0].startswith("tern: -netdev tap")
              and "needs root or CAP_NET_ADMIN" in lines[0], f"as nobody: {err!r}")
