"""Tiny guests booted by the tern binary: output, exit status, SMP, reset."""
from ternlib import DEBUG_EXIT, check, check_equal, connect_unix


def test_hello_prints_and_exits(env):
    env.require_kvm()
    t = env.start(["-m", "64M", "-kernel", env.guest("hello"), "-append", "exit=0"] + DEBUG_EXIT)
    status = t.wait_exit(60)
    check_equal(status, 1, "exit status for debug-exit value 0")
    check("Hello from the tern hello guest\n" in t.serial(), f"greeting missing: {t.serial()!r}")
    check("cmdline: exit=0\n" in t.serial(), "command line not passed through PVH start info")


def test_debug_exit_status(env):
    env.require_kvm()
    for value, status in [(0, 1), (5, 11), (0x7f, 0xff)]:
        t = env.start(["-kernel", env.guest("hello"), "-append", f"exit={value}"] + DEBUG_EXIT,
                      name=f"exit{value}")
        check_equal(t.wait_exit(60), status, f"exit status for debug-exit value {value}")


def test_serial_stdio(env):
    env.require_kvm()
    status, out, err = env.run(["-kernel", env.guest("hello"), "-append", "exit=3",
                                "-serial", "stdio", "-display", "none"] + DEBUG_EXIT)
    check_equal(status, 7, "exit status")
    check("Hello from the tern hello guest" in out, f"stdout: {out!r} stderr: {err!r}")


def test_smp_all_vcpus_report(env):
    env.require_kvm()
    for n in (1, 2, 4):
        t = env.start(["-smp", str(n), "-kernel", env.guest("smp")] + DEBUG_EXIT,
                      name=f"smp{n}")
        check_equal(t.wait_exit(120), 1, f"-smp {n} exit status")
        s = t.serial()
        check(f"smp: mptable lists {n} cpus" in s, f"-smp {n}: MP table count wrong: {s!r}")
        for i in range(n):
            check(f"cpu {i}: online (apic id {i})" in s, f"-smp {n}: cpu {i} missing: {s!r}")
        check(f"smp: all {n} cpus online" in s, f"-smp {n}: {s!r}")


def test_dirty_ram_passes(env):
    env.require_kvm()
    t = env.start(["-m", "64M", "-kernel", env.guest("dirty-ram"), "-append", "mb=8 passes=3"]
                  + DEBUG_EXIT)
    check_equal(t.wait_exit(120), 1, "exit status")
    check_equal(t.serial(), "ABBB", "dirty-ram output")


def test_i8042_reset_reboots_guest(env):
    env.require_kvm()
    t = env.start(["-kernel", env.guest("reset")] + DEBUG_EXIT)
    check_equal(t.wait_exit(120), 1, "exit status after the second boot")
    check_equal(t.serial(), "reset: boot 1\nreset: boot 2\nreset: done\n", "serial output")


def test_no_reboot_exits_on_reset(env):
    env.require_kvm()
    t = env.start(["-no-reboot", "-kernel", env.guest("reset")] + DEBUG_EXIT)
    check_equal(t.wait_exit(120), 0, "exit status with -no-reboot")
    check_equal(t.serial(), "reset: boot 1\n", "serial output")


def test_demo_guest_ticks(env):
    env.require_kvm()
    t = env.start(["-kernel", env.guest("demo"), "-append", "ticks=2"] + DEBUG_EXIT)
    check_equal(t.wait_exit(60), 1, "exit status")
    s = t.serial()
    check("tick 2" in s and "demo: done" in s, f"demo output: {s!r}")


def test_sigterm_exits_cleanly(env):
    env.require_kvm()
    t = env.start(["-kernel", env.guest("dirty-ram"), "-append", "mb=4"] + DEBUG_EXIT)
    t.wait_serial("B", 60)
    t.proc.terminate()
    check_equal(t.wait_exit(30), 0, "exit status after SIGTERM")
    check("terminating on signal" in t.stderr(), f"stderr: {t.stderr()!r}")


def test_ram_sizes_and_pci_hole_split(env):
    """Any whole-MiB size boots, and the guest's memory map adds up to -m
    (above 3 GiB the rest of RAM sits above 4 GiB)."""
    env.require_kvm()
    for size in (129, 2111, 4200):
        t = env.start(["-m", f"{size}M", "-kernel", env.guest("demo"), "-append", "ticks=1"]
                      + DEBUG_EXIT, name=f"m{size}")
        check_equal(t.wait_exit(60), 1, f"-m {size}M exit status")
        check(f"{size} MiB RAM" in t.serial(), f"-m {size}M: {t.serial()[:200]!r}")


def test_serial_unix_socket_server(env):
    env.require_kvm()
    path = env.path("serial.sock")
    t = env.start(["-kernel", env.guest("dirty-ram"), "-append", "mb=4",
                   "-serial", f"unix:{path},server,nowait"] + DEBUG_EXIT, serial=False)
    s = connect_unix(path, 30, "serial")
    s.settimeout(60)
    got = b""
    while got.count(b"B") < 3:
        chunk = s.recv(4096)
        check(chunk, f"serial socket closed early; got {got!r}")
        got += chunk
    s.close()
    # A second client after the first left also gets output.
    s = connect_unix(path, 30, "serial (second client)")
    s.settimeout(60)
    check(b"B" in s.recv(4096), "no output for the second client")
    s.close()
    check(t.proc.poll() is None, "tern died when a serial client disconnected")


def test_serial_stdio_terminal_restored(env):
    """-serial stdio on a terminal switches it to raw input (keys go to the
    guest unechoed) and puts it back when tern exits."""
    env.require_kvm()
    import os
    import pty
    import subprocess
    import termios
    master, slave = pty.openpty()
    try:
        before = termios.tcgetattr(slave)
        p = subprocess.Popen([env.tern, "-kernel", env.guest("hello"), "-append", "exit=0",
                              "-serial", "stdio"] + DEBUG_EXIT,
                             stdin=slave, stdout=slave, stderr=subprocess.PIPE)
        check_equal(p.wait(60), 1, "exit status")
        check_equal(termios.tcgetattr(slave), before, "terminal settings after exit")
        out = os.read(master, 4096)
        check(b"Hello from the tern hello guest\r\n" in out, f"terminal output: {out!r}")
    finally:
        os.close(master)
        os.close(slave)
