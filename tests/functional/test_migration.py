"""Live migration between two tern processes, driven over QMP (and HMP).

The guest is dirty-ram (tests/guests/dirty_ram.c): it adds 1 to the first
byte of every page of [2 MiB, 2 MiB + mb MiB) over and over and prints "B"
per pass.  After a migration the destination must keep printing "B", and
with the guest stopped its RAM must satisfy the invariant: first bytes
non-increasing along the range with at most one step of exactly 1 (a page
lost or sent stale by migration breaks it).
"""
import os
import re
import socket
import time

from ternlib import Hmp, Qmp, TestFailure, check, check_equal, wait_until

DIRTY_START = 2 << 20
PAGE = 4096


def check_invariant(data, what):
    """dirty-ram's RAM invariant over the first byte of every page."""
    firsts = data[::PAGE]
    drops = 0
    for i in range(1, len(firsts)):
        a, b = firsts[i - 1], firsts[i]
        if a == b:
            continue
        if (a - 1) & 0xFF != b:
            raise TestFailure(f"{what}: RAM invariant broken at page {i}: {b} after {a}")
        drops += 1
        if drops > 1:
            raise TestFailure(f"{what}: RAM invariant broken: second drop at page {i}")
    return firsts


def ram_bytes(env, qmp, mb, name):
    path = env.path(f"{name}.ram")
    qmp.command("pmemsave", val=DIRTY_START, size=mb << 20, filename=path)
    with open(path, "rb") as f:
        data = f.read()
    check_equal(len(data), mb << 20, f"{name}: pmemsave size")
    return data


def migration_qmp(path):
    """QMP on @path with MIGRATION events on and x-verify-ram, as on every
    migration the tests make: the destination checks a digest of all RAM
    (a missed dirty page fails the load)."""
    q = Qmp(path)
    q.command("migrate-set-capabilities",
              capabilities=[{"capability": "events", "state": True},
                            {"capability": "x-verify-ram", "state": True}])
    return q


def start(env, name, mb, ram="128M", smp=1, incoming=None, extra=(), append=None, **kw):
    qmp = env.path(f"{name}.qmp")
    args = ["-m", ram, "-smp", str(smp), "-kernel", env.guest("dirty-ram"),
            "-append", append or f"mb={mb}", "-qmp", f"unix:{qmp},server,nowait"]
    if incoming:
        args += ["-incoming", incoming]
    t = env.start(args + list(extra), name=name, **kw)
    return t, migration_qmp(qmp)


def passes(t):
    return t.serial().count("B")


def wait_status(qmp, want, timeout=120):
    """Wait for a MIGRATION event with status @want (failing on failed)."""
    deadline = time.monotonic() + timeout
    while True:
        e = qmp.wait_event("MIGRATION", timeout=max(1, deadline - time.monotonic()))
        status = e["data"]["status"]
        if status == want:
            return e
        if status in ("completed", "failed", "cancelled"):
            info = qmp.command("query-migrate")
            raise TestFailure(f"migration {status}, expected {want}: {info}")


def finish_check(env, src, sq, dst, dq, mb):
    """After completion: source in postmigrate; the destination (started
    with -S) holds exactly the source's RAM and it satisfies the invariant;
    after cont the guest runs on there, and the invariant still holds."""
    check_equal(sq.command("query-status")["status"], "postmigrate", "source run state")
    info = sq.command("query-migrate")
    check_equal(info["status"], "completed", "source query-migrate")
    for k in ("total-time", "downtime", "setup-time"):
        check(k in info, f"query-migrate lacks {k}: {info}")
    ram = info["ram"]
    check(ram["total"] > 0 and ram["transferred"] > 0, f"ram stats: {ram}")
    wait_until(lambda: dq.command("query-status")["status"] == "paused", 60,
               "the destination to finish loading (-S)")
    src_ram = ram_bytes(env, sq, mb, "src")
    firsts = check_invariant(src_ram, "source at the stop")
    dst_ram = ram_bytes(env, dq, mb, "dst-loaded")
    if dst_ram != src_ram:
        bad = next(i for i in range(0, len(src_ram), PAGE)
                   if src_ram[i:i + PAGE] != dst_ram[i:i + PAGE])
        raise TestFailure(f"destination RAM differs from the source's, first at page "
                          f"{bad // PAGE} (values {firsts[bad // PAGE]} vs {dst_ram[bad]})")
    dq.command("cont")
    before = passes(dst)
    dst.wait_serial("B", count=before + 2, timeout=120)
    dq.command("stop")
    check_invariant(ram_bytes(env, dq, mb, "dst"), "destination")
    return info


def migrate_live(env, incoming, uri, mb=16, ram="128M", smp=1, before=None):
    src, sq = start(env, "src", mb, ram=ram, smp=smp)
    dst, dq = start(env, "dst", mb, ram=ram, smp=smp, incoming=incoming, extra=["-S"])
    src.wait_serial("B", count=2, timeout=120)
    if before:
        before(sq)
    if callable(uri):
        uri = uri(dq)
    sq.command("migrate", uri=uri)
    wait_status(sq, "completed")
    return finish_check(env, src, sq, dst, dq, mb)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def listening_uri(dq):
    """The URI a destination started with -incoming tcp:HOST:0 listens on:
    its query-migrate "socket-address" has the port it got, as QEMU's.
    (No window in which another process can take the port.)"""
    addrs = dq.command("query-migrate").get("socket-address")
    check(addrs and len(addrs) == 1 and addrs[0].get("type") == "inet",
          f"the destination's socket-address: {addrs}")
    check(int(addrs[0]["port"]) > 0, f"port 0 resolved: {addrs}")
    return f"tcp:{addrs[0]['host']}:{addrs[0]['port']}"


def test_migrate_unix(env):
    env.require_kvm()
    path = env.path("mig.sock")
    info = migrate_live(env, f"unix:{path}", f"unix:{path}")
    check(info["ram"]["dirty-sync-count"] >= 2, f"a pass after the first: {info['ram']}")


def test_migrate_tcp(env):
    """-incoming tcp:127.0.0.1:0: the destination says which port it got
    (query-migrate socket-address, info migrate's "socket address"), and
    the migration goes there."""
    env.require_kvm()

    def uri(dq):
        uri = listening_uri(dq)
        out = dq.command("human-monitor-command", **{"command-line": "info migrate"})
        check(f"socket address: [\r\n\t{uri}\r\n]\r\n" in out, f"info migrate: {out!r}")
        return uri
    migrate_live(env, "tcp:127.0.0.1:0", uri)


def test_migrate_fd(env):
    """The destination inherits one end of a socket pair (-incoming fd:N);
    the source gets the other through getfd over its QMP socket."""
    env.require_kvm()
    a, b = socket.socketpair()
    mb = 16
    src, sq = start(env, "src", mb)
    dst, dq = start(env, "dst", mb, incoming=f"fd:{b.fileno()}", pass_fds=(b.fileno(),),
                    extra=["-S"])
    b.close()
    src.wait_serial("B", count=2, timeout=120)
    socket.send_fds(sq.sock, [b'{"execute": "getfd", "arguments": {"fdname": "mig"}}\n'],
                    [a.fileno()])
    check_equal(sq.reply(), {"return": {}}, "getfd")
    a.close()
    sq.command("migrate", uri="fd:mig")
    wait_status(sq, "completed")
    finish_check(env, src, sq, dst, dq, mb)
    r = sq.cmd("getfd", fdname="nofd")
    check("SCM_RIGHTS" in r["error"]["desc"], f"getfd without a descriptor: {r}")
    r = sq.cmd("closefd", fdname="mig")
    check("error" in r, f"migrate fd:mig consumes the descriptor, as QEMU: {r}")


def test_migrate_exec_and_file(env):
    """exec: out through the shell into a file, and in from it with exec:
    (cat) and file: — the saved guest continues in two new processes."""
    env.require_kvm()
    mb = 16
    snap = env.path("snap")
    src, sq = start(env, "src", mb)
    src.wait_serial("B", count=2, timeout=120)
    sq.command("migrate", uri=f"exec:cat > {snap}")
    wait_status(sq, "completed")
    check_equal(sq.command("query-status")["status"], "postmigrate", "source run state")
    for i, incoming in enumerate([f"exec:cat {snap}", f"file:{snap}"]):
        dst, dq = start(env, f"dst{i}", mb, incoming=incoming)
        wait_until(lambda: dq.command("query-status")["status"] == "running", 60,
                   f"{incoming} to run")
        dst.wait_serial("B", count=2, timeout=120)
        dq.command("stop")
        check_invariant(ram_bytes(env, dq, mb, f"dst{i}"), incoming)
    # The last destination migrates on: query-migrate reports that
    # migration, not the finished incoming one.
    lsock = socket.socket(socket.AF_UNIX)
    lsock.bind(env.path("never.sock"))
    lsock.listen(1)
    dq.command("migrate", uri=f"unix:{env.path('never.sock')}")
    # (the listener's backlog completes the connect: setup or active)
    st = dq.command("query-migrate")["status"]
    check(st in ("setup", "active"), f"outgoing after incoming reported {st!r}")
    dq.command("migrate_cancel")
    wait_until(lambda: dq.command("query-migrate")["status"] == "cancelled", 30, "cancel")


def test_migrate_file_snapshot_paused(env):
    """file: from a paused source, restored with -S: stays paused until
    cont, then runs on from exactly the saved RAM."""
    env.require_kvm()
    mb = 8
    snap = env.path("snap")
    src, sq = start(env, "src", mb)
    src.wait_serial("B", count=2, timeout=120)
    sq.command("stop")
    saved = ram_bytes(env, sq, mb, "src")
    sq.command("migrate", uri=f"file:{snap}")
    wait_status(sq, "completed")
    dst, dq = start(env, "dst", mb, incoming=f"file:{snap}", extra=["-S"])
    wait_until(lambda: dq.command("query-migrate").get("status") == "completed", 60,
               "the load")
    check_equal(dq.command("query-status")["status"], "paused", "restored with -S")
    check(ram_bytes(env, dq, mb, "dst") == saved, "restored RAM differs from the saved RAM")
    dq.command("cont")
    dst.wait_serial("B", count=2, timeout=120)


def test_migrate_smp2(env):
    env.require_kvm()
    path = env.path("mig.sock")
    migrate_live(env, f"unix:{path}", f"unix:{path}", smp=2)


def test_migrate_ram_sizes(env):
    """129M; an odd size near 2 GiB; one above 4 GiB (RAM on both sides
    of the PCI hole)."""
    env.require_kvm()
    for i, ram in enumerate(["129M", "2111M", "4200M"]):
        path = env.path(f"mig{i}.sock")
        src, sq = start(env, f"src{i}", 8, ram=ram)
        dst, dq = start(env, f"dst{i}", 8, ram=ram, incoming=f"unix:{path}")
        src.wait_serial("B", count=2, timeout=120)
        sq.command("migrate-set-parameters", **{"max-bandwidth": 0})
        sq.command("migrate", uri=f"unix:{path}")
        wait_status(sq, "completed", timeout=300)
        info = sq.command("query-migrate")
        total = int(ram[:-1]) << 20
        check_equal(info["ram"]["total"], total, f"{ram}: RAM total")
        dst.wait_serial("B", count=2, timeout=120)
        dq.command("stop")
        check_invariant(ram_bytes(env, dq, 8, f"dst{i}"), ram)
        for t in (src, dst):
            t.kill()


def test_migrate_hmp(env):
    """HMP: migrate without -d prints progress until done; info migrate."""
    env.require_kvm()
    mb = 16
    path = env.path("mig.sock")
    hmp_path = env.path("src.hmp")
    src = env.start(["-m", "128M", "-kernel", env.guest("dirty-ram"), "-append",
                     f"mb={mb}", "-monitor", f"unix:{hmp_path},server,nowait"], name="src")
    dst, dq = start(env, "dst", mb, incoming=f"unix:{path}")
    h = Hmp(hmp_path)
    src.wait_serial("B", count=2, timeout=120)
    check_equal(h.cmd("migrate_set_parameter max-bandwidth 64M"), "", "set parameter")
    check("max-bandwidth: 67108864 bytes/second" in h.cmd("info migrate_parameters"),
          "info migrate_parameters")
    out = h.cmd(f"migrate unix:{path}")
    check("migrate: completed" in out, f"migrate output: {out!r}")
    info = h.cmd("info migrate")
    check("Migration status: completed" in info and "transferred ram:" in info, info)
    # The rate of the whole migration, as QEMU gives it once completed.
    m = re.search(r"throughput: ([\d.]+) mbps", info)
    check(m and float(m.group(1)) > 0, f"throughput after completion: {info}")
    check("VM status: paused (postmigrate)" in h.cmd("info status"), "postmigrate")
    check("events: off" in h.cmd("info migrate_capabilities"), "capabilities")
    dst.wait_serial("B", count=2, timeout=120)


def test_migrate_bandwidth_limit(env):
    """At 32 MiB/s, ~100 MiB of guest data takes more than 3 s, and while
    it runs info migrate shows progress figures."""
    env.require_kvm()
    mb = 100
    path = env.path("mig.sock")
    src, sq = start(env, "src", mb, append=f"mb={mb} passes=1 idle=1")
    dst, dq = start(env, "dst", mb, incoming=f"unix:{path}")
    src.wait_serial("I", timeout=300)
    sq.command("migrate-set-parameters", **{"max-bandwidth": 32 << 20})
    sq.command("migrate", uri=f"unix:{path}")
    wait_status(sq, "active")
    seen = wait_until(lambda: (lambda i: i.get("status") == "active" and
                               i["ram"]["remaining"] > 0 and i["ram"]["transferred"] > 0 and
                               "expected-downtime" in i and i)(sq.command("query-migrate")),
                      30, "progress figures while active")
    check(seen["ram"]["mbps"] < 8 * 32 * 1.25 * 1.05, f"rate above the limit: {seen['ram']}")
    info = sq.command("human-monitor-command", **{"command-line": "info migrate"})
    check("remaining ram:" in info and "expected downtime:" in info, info)
    wait_status(sq, "completed", timeout=120)
    total = sq.command("query-migrate")["total-time"]
    check(total >= 3000, f"100 MiB at 32 MiB/s took only {total} ms")


def test_migrate_downtime(env):
    """An idle guest with ~120 MiB of data: the reported downtime is well
    under the limit.  A busy guest: stop (source) to resume (destination)
    stays within 1.1x the limit."""
    env.require_kvm()
    path = env.path("mig.sock")
    src, sq = start(env, "src", 120, append="mb=120 passes=1 idle=1")
    dst, dq = start(env, "dst", 120, incoming=f"unix:{path}")
    src.wait_serial("I", timeout=300)
    sq.command("migrate-set-parameters", **{"max-bandwidth": 0})
    sq.command("migrate", uri=f"unix:{path}")
    wait_status(sq, "completed")
    down = sq.command("query-migrate")["downtime"]
    check(down < 150, f"idle guest downtime {down} ms (limit 300 ms)")
    for t in (src, dst):
        t.kill()

    path = env.path("mig2.sock")
    src, sq = start(env, "src2", 16)
    dst, dq = start(env, "dst2", 16, incoming=f"unix:{path}")
    src.wait_serial("B", count=2, timeout=120)
    sq.command("migrate", uri=f"unix:{path}")
    wait_status(sq, "completed")
    stop = sq.wait_event("STOP")["timestamp"]
    resume = dq.wait_event("RESUME")["timestamp"]
    gap = (resume["seconds"] - stop["seconds"]) * 1000 + \
        (resume["microseconds"] - stop["microseconds"]) / 1000
    limit = sq.command("query-migrate-parameters")["downtime-limit"]
    print(f"     idle guest: downtime {down} ms; busy guest: stop to resume {gap:.0f} ms, "
          f"downtime {sq.command('query-migrate')['downtime']} ms", flush=True)
    check(0 <= gap <= 1.1 * limit, f"stop to resume took {gap:.0f} ms (limit {limit} ms)")


def test_migrate_errors(env):
    """Monitor errors: a second migrate while one runs, bad parameters,
    unknown capabilities, migrate-incoming without -incoming defer."""
    env.require_kvm()
    src, sq = start(env, "src", 16)
    src.wait_serial("B", count=1, timeout=120)
    for args, word in [({"downtime-limit": 2000001}, "downtime-limit"),
                       ({"max-bandwidth": -1}, "max-bandwidth"),
                       ({"bogus": 1}, "bogus")]:
        r = sq.cmd("migrate-set-parameters", **args)
        check("error" in r and word in r["error"]["desc"], f"{args}: {r}")
    r = sq.cmd("migrate-set-capabilities", capabilities=[{"capability": "xbzrle",
                                                          "state": True}])
    check("error" in r, f"xbzrle: {r}")
    r = sq.cmd("migrate", uri="bogus:x")
    check("unknown migration protocol" in r.get("error", {}).get("desc", ""), f"{r}")
    r = sq.cmd("migrate-incoming", uri="unix:/x")
    check("-incoming" in r.get("error", {}).get("desc", ""), f"{r}")
    # A listener that never accepts: the migration stays in setup.
    lsock = socket.socket(socket.AF_UNIX)
    lsock.bind(env.path("slow.sock"))
    lsock.listen(1)
    sq.command("migrate-set-parameters", **{"max-bandwidth": 1 << 20})
    sq.command("migrate", uri=f"unix:{env.path('slow.sock')}")
    r = sq.cmd("migrate", uri=f"unix:{env.path('slow.sock')}")
    check("in progress" in r.get("error", {}).get("desc", ""), f"second migrate: {r}")
    sq.command("migrate_cancel")
    wait_status(sq, "cancelled")
    check_equal(sq.command("query-status")["status"], "running", "after cancel")
    before = passes(src)
    src.wait_serial("B", count=before + 1, timeout=120)


def test_migrate_incoming_defer_and_bad_stream(env):
    """-incoming defer + migrate-incoming; a stream from a bigger VM is
    refused by the destination (exit 1, one line) and the source resumes."""
    env.require_kvm()
    path = env.path("mig.sock")
    src, sq = start(env, "src", 8, ram="128M")
    dst, dq = start(env, "dst", 8, ram="64M", incoming="defer")
    check_equal(dq.command("query-status")["status"], "inmigrate", "deferred destination")
    r = dq.cmd("migrate", uri=f"unix:{env.path('x.sock')}")
    check("waiting for an incoming migration" in r.get("error", {}).get("desc", ""), f"{r}")
    dq.command("migrate-incoming", uri=f"unix:{path}")
    r = dq.cmd("migrate-incoming", uri=f"unix:{path}")
    check("already been started" in r.get("error", {}).get("desc", ""), f"{r}")
    src.wait_serial("B", count=1, timeout=120)
    sq.command("migrate", uri=f"unix:{path}")
    wait_status(sq, "failed")
    check_equal(dst.wait_exit(60), 1, "destination exit status")
    err = dst.stderr().strip().splitlines()
    check(len(err) == 1 and "RAM" in err[0], f"destination stderr: {err}")
    info = sq.command("query-migrate")
    check("error-desc" in info, f"source query-migrate: {info}")
    check_equal(sq.command("query-status")["status"], "running", "source after failure")
    before = passes(src)
    src.wait_serial("B", count=before + 1, timeout=120)


def test_demo_script(env):
    """scripts/demo's driver: the demo guest migrates mid-run and finishes
    on the destination with its clock continuous."""
    import subprocess
    env.require_kvm()
    p = subprocess.run(["python3", os.path.join(env.top, "scripts", "demo-migrate.py"),
                        "--ticks", "5", "--at", "2", "--build", env.build],
                       capture_output=True, text=True, timeout=600)
    out = p.stdout
    check_equal(p.returncode, 0, f"demo exit status (stderr {p.stderr[-500:]!r})")
    check("[source]      tick 2 " in out, f"ticks on the source:\n{out}")
    check("migrate: completed" in out, f"migration result:\n{out}")
    check("postmigrate" in out, f"source state:\n{out}")
    check("[destination] tick 5  guest clock 5." in out, f"ticks on the destination:\n{out}")
    check("[destination] demo: done" in out, out)


def test_mem_path(env):
    """-mem-path FILE: RAM starts as the file's bytes (private mapping: the
    file never changes); such a guest migrates like any other; a file
    smaller than -m or a directory is a clear error."""
    env.require_kvm()
    img = env.path("ram.img")
    data = bytearray(64 << 20)
    data[32 << 20:33 << 20] = os.urandom(1 << 20)
    with open(img, "wb") as f:
        f.write(data)
    path = env.path("mig.sock")
    src, sq = start(env, "src", 8, ram="64M", extra=["-mem-path", img])
    dst, dq = start(env, "dst", 8, ram="64M", incoming=f"unix:{path}", extra=["-S"])
    src.wait_serial("B", count=2, timeout=120)
    probe = env.path("probe")
    sq.command("pmemsave", val=32 << 20, size=1 << 20, filename=probe)
    with open(probe, "rb") as f:
        check(f.read() == bytes(data[32 << 20:33 << 20]), "RAM does not hold the file's bytes")
    sq.command("migrate", uri=f"unix:{path}")
    wait_status(sq, "completed")
    wait_until(lambda: dq.command("query-status")["status"] == "paused", 60, "the load")
    dq.command("pmemsave", val=32 << 20, size=1 << 20, filename=probe)
    with open(probe, "rb") as f:
        check(f.read() == bytes(data[32 << 20:33 << 20]), "migrated RAM lost the file's bytes")
    with open(img, "rb") as f:
        check(f.read() == bytes(data), "the guest's writes reached the -mem-path file")

    for arg, word in [(env.path("small.img"), "less than the guest RAM"),
                      (env.dir, "not a regular file"),
                      (env.path("missing.img"), "No such file")]:
        if arg.endswith("small.img"):
            with open(arg, "wb") as f:
                f.truncate(1 << 20)
        st, out, err = env.run(["-m", "64M", "-mem-path", arg, "-kernel",
                                env.guest("hello")])
        check(st == 1 and word in err and err.count("\n") == 1 and "-mem-path" in err,
              f"-mem-path {arg}: status {st}, stderr {err!r}")


def test_migrate_tcp_ipv6_port_range(env):
    """tcp:[::1]:P,to=Q on the destination takes the first free port of the
    range (P is taken here); the source connects over IPv6."""
    env.require_kvm()
    busy = socket.socket(socket.AF_INET6)
    busy.bind(("::1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    mb = 8
    src, sq = start(env, "src", mb)
    dst, dq = start(env, "dst", mb, incoming=f"tcp:[::1]:{port},to={port + 20}")
    got = None
    for p in range(port + 1, port + 21):
        probe = socket.socket(socket.AF_INET6)
        if probe.connect_ex(("::1", p)) == 0:
            got = p
            probe.close()
            break
        probe.close()
    # The probe above was the destination's one connection: start again.
    check(got is not None, "destination is not listening in the port range")
    check(dst.wait_exit(60) == 1, "a probe connection is not a stream: the load fails")
    dst, dq = start(env, "dst2", mb, incoming=f"tcp:[::1]:{port},to={port + 20}")
    src.wait_serial("B", count=2, timeout=120)
    sq.command("migrate", uri=f"tcp:[::1]:{got}")
    wait_status(sq, "completed")
    dst.wait_serial("B", count=2, timeout=120)


def test_migrate_incoming_keeps_running_on_error(env):
    """migrate-incoming with exit-on-error false: a bad stream leaves the
    destination in inmigrate, reporting failed with the reason."""
    env.require_kvm()
    bad = env.path("bad.stream")
    with open(bad, "wb") as f:
        f.write(b"QEVM\x00\x00\x00\x03garbage")
    dst, dq = start(env, "dst", 8, incoming="defer")
    dq.command("migrate-incoming", uri=f"file:{bad}", **{"exit-on-error": False})
    info = wait_until(lambda: (lambda i: i.get("status") == "failed" and i)(
        dq.command("query-migrate")), 30, "the load to fail")
    check("configuration" in info.get("error-desc", ""), f"{info}")
    check_equal(dq.command("query-status")["status"], "inmigrate", "after a failed load")
    check(dst.proc.poll() is None, "the destination exited")


def test_migrate_device_config_mismatch(env):
    """isa-debug-exit at another port on the destination: its section's
    iobase must match, so the destination refuses (exit 1, naming it) and
    the source runs on."""
    env.require_kvm()
    path = env.path("mig.sock")
    src, sq = start(env, "src", 8, extra=["-device", "isa-debug-exit,iobase=0xf4,iosize=4"])
    dst, dq = start(env, "dst", 8, incoming=f"unix:{path}",
                    extra=["-device", "isa-debug-exit,iobase=0x501,iosize=4"])
    src.wait_serial("B", count=1, timeout=120)
    sq.command("migrate", uri=f"unix:{path}")
    wait_status(sq, "failed")
    check_equal(dst.wait_exit(60), 1, "destination exit status")
    check("isa-debug-exit" in dst.stderr() and "iobase" in dst.stderr(), dst.stderr())
    check_equal(sq.command("query-status")["status"], "running", "source after failure")
