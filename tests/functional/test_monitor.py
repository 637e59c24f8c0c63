"""QMP and HMP driven from outside, as a management tool or a person would."""
import json
import os
import re
import signal
import socket
import subprocess
import time

from ternlib import Hmp, Qmp, TestFailure, check, check_equal, connect_unix, wait_until

REQUIRED = {"qmp_capabilities", "query-version", "query-commands", "query-status",
            "query-name", "query-cpus-fast", "stop", "cont", "system_reset",
            "system_powerdown", "quit", "human-monitor-command"}


def start_vm(env, extra=(), name="vm", mb=2):
    """dirty-ram guest (a "B" per pass over mb MiB) with a QMP socket."""
    qmp = env.path(f"{name}.qmp")
    t = env.start(["-m", "64M", "-kernel", env.guest("dirty-ram"), "-append", f"mb={mb}",
                   "-qmp", f"unix:{qmp},server,nowait"] + list(extra), name=name)
    return t, qmp


def passes(t):
    return t.serial().count("B")


def wait_passes(t, n, timeout=60):
    """Wait until the guest has done @n more passes; returns the count."""
    start = passes(t)
    return wait_until(lambda: passes(t) >= start + n and passes(t), timeout,
                      f"{n} more dirty-ram passes on {t.name}")


def qemu_style_client(path):
    """What a QMP client written from QEMU's qmp-spec does, in ~30 lines:
    nothing Tern-specific.  Returns the conversation."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(30)
    f = s.makefile("rwb")
    log = []

    def read():
        msg = json.loads(f.readline())
        log.append(msg)
        return msg

    def execute(cmd, args=None, ident=None):
        req = {"execute": cmd}
        if args is not None:
            req["arguments"] = args
        if ident is not None:
            req["id"] = ident
        f.write(json.dumps(req).encode() + b"\r\n")
        f.flush()
        while True:
            msg = read()
            if "return" in msg or "error" in msg:
                return msg

    greeting = read()
    assert "QMP" in greeting and "version" in greeting["QMP"]
    assert execute("qmp_capabilities") == {"return": {}}
    return s, f, log, execute, read


def test_qmp_conversation(env):
    env.require_kvm()
    t, path = start_vm(env, ["-smp", "2", "-name", "guest-a"])
    t.wait_serial("B")
    s, f, log, execute, read = qemu_style_client(path)
    g = log[0]["QMP"]
    check_equal(g["version"]["qemu"], {"micro": 0, "minor": 2, "major": 7}, "greeting version")
    check_equal(g["capabilities"], [], "greeting capabilities")

    v = execute("query-version", ident="v1")
    check_equal(v["id"], "v1", "id echoed")
    check_equal(v["return"]["qemu"]["major"], 7, "query-version major")
    names = {c["name"] for c in execute("query-commands")["return"]}
    check(REQUIRED <= names, f"query-commands lacks {REQUIRED - names}")
    check_equal(execute("query-status")["return"],
                {"status": "running", "singlestep": False, "running": True}, "query-status")
    check_equal(execute("query-name")["return"], {"name": "guest-a"}, "query-name")
    cpus = execute("query-cpus-fast", ident=[1, {"x": None}])
    check_equal(cpus["id"], [1, {"x": None}], "structured id echoed")
    check_equal([c["cpu-index"] for c in cpus["return"]], [0, 1], "cpu indexes")
    for c in cpus["return"]:
        check(os.path.exists(f"/proc/{t.proc.pid}/task/{c['thread-id']}"),
              f"thread-id {c['thread-id']} is not a thread of tern")
        check_equal(c["target"], "x86_64", "target")
    out = execute("human-monitor-command", {"command-line": "info status"})
    check_equal(out["return"], "VM status: running\r\n", "human-monitor-command")
    # dirty-ram runs on CPU 0 in long mode; CPU 1 still waits for its SIPI.
    regs = execute("human-monitor-command", {"command-line": "info registers", "cpu-index": 0})
    check("RIP=" in regs["return"] and "CS64" in regs["return"], f"registers: {regs}")
    regs = execute("human-monitor-command", {"command-line": "info registers", "cpu-index": 1})
    check("EIP=0000fff0" in regs["return"], f"CPU 1 registers: {regs}")

    check_equal(execute("system_powerdown"), {"return": {}}, "system_powerdown")
    check_equal(read()["event"], "POWERDOWN", "event after system_powerdown's reply")
    check_equal(execute("quit"), {"return": {}}, "quit reply")
    ev = read()
    check_equal((ev["event"], ev["data"]), ("SHUTDOWN", {"guest": False,
                                                        "reason": "host-qmp-quit"}),
                "SHUTDOWN event after quit")
    check(set(ev["timestamp"]) == {"seconds", "microseconds"} and
          abs(ev["timestamp"]["seconds"] - time.time()) < 60, f"timestamp {ev['timestamp']}")
    check_equal(t.wait_exit(30), 0, "exit status after quit")
    check_equal(f.readline(), b"", "connection closed after quit")


def test_stop_cont_pause_the_guest(env):
    env.require_kvm()
    t, path = start_vm(env)
    q = Qmp(path)
    # How long a pass takes now, to know how long "stopped" must hold.
    t0 = time.monotonic()
    wait_passes(t, 3)
    per_pass = (time.monotonic() - t0) / 3

    check_equal(q.command("stop"), {}, "stop")
    ev = q.wait_event("STOP")
    check("data" not in ev, f"STOP has no data in QEMU: {ev}")
    check_equal(q.command("query-status")["status"], "paused", "status after stop")
    frozen = passes(t)
    deadline = time.monotonic() + max(10 * per_pass, 0.5)
    while time.monotonic() < deadline:
        check_equal(passes(t), frozen, "passes while stopped")
        time.sleep(0.02)
    check_equal(q.command("stop"), {}, "stop while stopped (no-op)")

    check_equal(q.command("cont"), {}, "cont")
    q.wait_event("RESUME")
    check_equal(q.command("query-status")["status"], "running", "status after cont")
    wait_passes(t, 2)
    check([e["event"] for e in q.events] == [], f"unexpected events {q.events}")


def test_system_reset_restarts_guest(env):
    env.require_kvm()
    t, path = start_vm(env)
    q = Qmp(path)
    wait_passes(t, 1)
    check_equal(q.command("system_reset"), {}, "system_reset")
    ev = q.wait_event("RESET")
    check_equal(ev["data"], {"guest": False, "reason": "host-qmp-system-reset"}, "RESET data")
    wait_until(lambda: t.serial().count("A") == 2, 30, "the guest starting again")
    wait_passes(t, 1)


def test_prelaunch_and_cont(env):
    env.require_kvm()
    t, path = start_vm(env, ["-S"])
    q = Qmp(path)
    check_equal(q.command("query-status"),
                {"status": "prelaunch", "singlestep": False, "running": False}, "with -S")
    hmp = q.command("human-monitor-command", **{"command-line": "info status"})
    check_equal(hmp, "VM status: paused (prelaunch)\r\n", "HMP status with -S")
    check_equal(t.serial(), "", "no guest output before cont")
    q.command("cont")
    q.wait_event("RESUME")
    t.wait_serial("B")


def test_events_reach_every_client(env):
    env.require_kvm()
    t, path = start_vm(env)
    clients = [Qmp(path) for _ in range(3)]
    silent = Qmp(path, negotiate=False)  # no events before negotiation
    clients[0].command("stop")
    clients[1].command("cont")
    for c in clients:
        c.wait_event("STOP")
        c.wait_event("RESUME")
    t.proc.send_signal(signal.SIGTERM)
    for c in clients:
        ev = c.wait_event("SHUTDOWN")
        check_equal(ev["data"], {"guest": False, "reason": "host-signal"}, "SHUTDOWN on SIGTERM")
    check_equal(t.wait_exit(30), 0, "exit status")
    rest = silent.file.read()
    check("event" not in rest.decode(), f"events before negotiation: {rest!r}")


def test_hmp_over_unix_socket(env):
    env.require_kvm()
    hmp_path = env.path("hmp.sock")
    t, _ = start_vm(env, ["-smp", "2", "-name", "h1", "-monitor",
                          f"unix:{hmp_path},server,nowait"])
    t.wait_serial("B")
    h = Hmp(hmp_path)
    check(h.banner.startswith("Tern ") and "monitor - type 'help' for more information\r\n"
          in h.banner, f"banner {h.banner!r}")
    check_equal(h.cmd("info status"), "VM status: running\r\n", "info status")
    check_equal(h.cmd("info name"), "h1\r\n", "info name")
    check(re.fullmatch(r"7\.2\.0 \(Tern [0-9.]+\)\r\n", h.cmd("info version")), "info version")
    cpus = h.cmd("info cpus")
    check(re.fullmatch(r"\* CPU #0: thread_id=\d+\r\n  CPU #1: thread_id=\d+\r\n", cpus),
          f"info cpus {cpus!r}")
    check_equal(h.cmd("cpu 1"), "", "cpu 1")
    check(h.cmd("info cpus").startswith("  CPU #0"), "current CPU moved to #1")
    check_equal(h.cmd("cpu 9"), "Error: invalid CPU index\r\n", "cpu 9")
    check("EIP=0000fff0 " in h.cmd("info registers"), "CPU 1 (waiting for SIPI) registers")
    check_equal(h.cmd("cpu 0"), "", "cpu 0")
    regs = h.cmd("info registers")
    check(re.search(r"^RAX=[0-9a-f]{16} RBX=", regs, re.M) and "\r\nEFER=" in regs,
          f"info registers {regs!r}")
    check_equal(h.cmd("info registers -a").count("CPU#"), 2, "info registers -a")
    check_equal(h.cmd("stop"), "", "stop")
    check_equal(h.cmd("info status"), "VM status: paused\r\n", "info status after stop")
    frozen = passes(t)
    check_equal(h.cmd("c"), "", "c (cont)")
    wait_until(lambda: passes(t) > frozen, 30, "guest running after cont")
    help_text = h.cmd("help")
    for word in ("cont|c", "stop", "quit|q", "system_reset", "info [subcommand]"):
        check(word in help_text, f"help lacks {word}: {help_text!r}")
    check("info registers" in h.cmd("info"), "info lists subcommands")
    check_equal(h.cmd("frobnicate 1"), "unknown command: 'frobnicate'\r\n", "unknown command")
    check_equal(h.cmd(""), "", "empty line")
    check_equal(h.cmd("system_reset"), "", "system_reset")
    wait_until(lambda: t.serial().count("A") == 2, 30, "guest restarted")
    h.sock.sendall(b"quit\n")
    check_equal(t.wait_exit(30), 0, "exit after quit")


def test_hmp_on_stdio(env):
    env.require_kvm()
    p = subprocess.run([env.tern, "-kernel", env.guest("dirty-ram"), "-append", "mb=2",
                        "-monitor", "stdio", "-S"], capture_output=True, timeout=60,
                       input=b"info status\ncont\ninfo status\nquit\n")
    status, out, err = p.returncode, p.stdout.decode(), p.stderr.decode()
    check_equal(status, 0, f"exit status; stderr {err!r}")
    check("(tern) VM status: paused (prelaunch)\r\n(tern) (tern) VM status: running\r\n" in out,
          f"stdout {out!r}")


def free_tcp_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_chardev_mon_pretty_and_tcp(env):
    env.require_kvm()
    path = env.path("pretty.sock")
    port = free_tcp_port()
    t, _ = start_vm(env, ["-chardev", f"socket,id=mon0,path={path},server=on,wait=off",
                          "-mon", "chardev=mon0,mode=control,pretty=on",
                          "-monitor", f"tcp:127.0.0.1:{port},server,nowait"])
    s = connect_unix(path, 30, "pretty QMP")
    s.settimeout(30)
    buf = b""
    while b"}\r\n" not in buf or not buf.rstrip().endswith(b"}"):
        buf += s.recv(4096)
    check(buf.startswith(b'{\r\n    "QMP": {\r\n'), f"pretty greeting {buf[:80]!r}")
    json.loads(buf)
    h = socket.create_connection(("127.0.0.1", port), timeout=30)
    data = b""
    while not data.endswith(b"(tern) "):
        data += h.recv(4096)
    h.sendall(b"info status\r\n")
    while not data.endswith(b"VM status: running\r\n(tern) "):
        chunk = h.recv(4096)
        check(chunk, f"tcp HMP closed: {data!r}")
        data += chunk
    t.proc.terminate()
    check_equal(t.wait_exit(30), 0, "exit status")


def test_waits_for_first_client(env):
    env.require_kvm()
    path = env.path("wait.qmp")
    t = env.start(["-kernel", env.guest("dirty-ram"), "-append", "mb=2",
                   "-qmp", f"unix:{path},server"])
    wait_until(lambda: "waiting for connection on: unix:" in t.stderr(), 30, "waiting message")
    check_equal(t.serial(), "", "guest started before the client came")
    q = Qmp(path)
    t.wait_serial("B")
    check_equal(q.command("query-status")["status"], "running", "running after connect")
    # Interrupting the wait ends the process cleanly.
    path2 = env.path("wait2.qmp")
    t2 = env.start(["-kernel", env.guest("dirty-ram"), "-qmp", f"unix:{path2},server"],
                   name="vm2")
    wait_until(lambda: "waiting for connection" in t2.stderr(), 30, "waiting message")
    t2.proc.send_signal(signal.SIGTERM)
    check_equal(t2.wait_exit(30), 0, "SIGTERM while waiting")
    check_equal(t2.serial(), "", "no guest output")


def error_of(reply):
    check("error" in reply, f"expected an error, got {reply}")
    return reply["error"]["class"], reply["error"]["desc"]


def test_hostile_input(env):
    env.require_kvm()
    hmp_path = env.path("hmp.sock")
    t, path = start_vm(env, ["-monitor", f"unix:{hmp_path},server,nowait"])
    q = Qmp(path)
    cases = [
        ('{"execute": "query-status",}', "GenericError", "JSON parse error"),
        ('garbage ', "GenericError", "JSON parse error"),
        ('[{"execute": "stop"}]', "GenericError", "QMP input must be a JSON object"),
        ('{"arguments": {}}', "GenericError", "QMP input lacks member 'execute'"),
        ('{"execute": ["stop"]}', "GenericError", "QMP input member 'execute' must be a string"),
        ('{"execute": "stop", "arguments": 1}', "GenericError",
         "QMP input member 'arguments' must be an object"),
        ('{"execute": "no-such-command"}', "CommandNotFound",
         "The command no-such-command has not been found"),
        ('{"execute": "human-monitor-command"}', "GenericError",
         "Parameter 'command-line' is missing"),
        ('{"execute": "stop", "arguments": {"now": true}}', "GenericError",
         "Parameter 'now' is unexpected"),
        ('{"execute": "human-monitor-command", "arguments": {"command-line": 1}}',
         "GenericError", "Invalid parameter type for 'command-line', expected: string"),
        ('{"execute": "human-monitor-command", "arguments": {"command-line": "x", '
         '"cpu-index": "0"}}', "GenericError",
         "Invalid parameter type for 'cpu-index', expected: integer"),
        ('{"execute": "qmp_capabilities"}', "CommandNotFound",
         "Capabilities negotiation is already complete, command ignored"),
        ('{"execute": "cont", "id": 1, "exec-oob": "x"}', "GenericError",
         "QMP input member 'exec-oob' is unexpected"),
    ]
    for text, cls, desc in cases:
        q.send(text)
        got = error_of(q.reply())
        check(got[0] == cls and got[1].startswith(desc), f"{text}: {got}")

    # A 10 MB line (over the 1 MiB message limit): one error, and the
    # connection is still usable; then 10 MB of garbage; a long command name.
    q.send('{"execute": "query-status", "arguments": {"pad": "' + "z" * (10 << 20) + '"}}')
    cls, desc = error_of(q.reply())
    check(cls == "GenericError" and "too large" in desc, f"10 MB message: {cls} {desc}")
    q.send("y" * (10 << 20) + " ")
    check_equal(error_of(q.reply())[0], "GenericError", "10 MB of garbage")
    q.send('{"execute": "' + "x" * 500000 + '"}')
    cls, desc = error_of(q.reply())
    check(cls == "CommandNotFound" and len(desc) < 300, f"long command: {cls} {desc[:100]}")
    # Top-level strings with brackets inside, scalars: not objects.
    for text in ('"{"', '"a[" ', "42 ", "true "):
        q.send(text)
        check_equal(error_of(q.reply()), ("GenericError", "QMP input must be a JSON object"),
                    text)
    check_equal(q.command("query-status")["status"], "running", "same client after abuse")

    # Deep nesting.
    q.send("[" * 5000 + "]" * 5000)
    check_equal(error_of(q.reply())[0], "GenericError", "deep nesting")

    # A client that disconnects in the middle of its replies: ~60 KB of
    # requests (they fit the socket buffer) ask for ~1.5 MB of replies.
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(b'{"execute": "qmp_capabilities"}' + b'{"execute": "query-commands"}' * 2000)
    s.recv(1000)
    s.close()
    # A client that sends requests but never reads the replies.
    lazy = socket.socket(socket.AF_UNIX)
    lazy.connect(path)
    lazy.setblocking(False)
    req = b'{"execute": "qmp_capabilities"}' + b'{"execute": "query-commands"}' * 1000
    sent = 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and sent < 50 << 20:
        try:
            sent += lazy.send(req)
        except BlockingIOError:
            break  # tern stopped reading it: throttled, not blocked
    check(sent < 50 << 20, "tern kept reading from a client that never reads replies")

    # HMP: binary garbage, an over-long line, then a normal command.
    h = Hmp(hmp_path)
    h.sock.sendall(bytes(range(256)).replace(b"\n", b"").replace(b"\r", b"") + b"\n")
    h.until_prompt()
    check("longer than" in h.cmd("info " + "s" * (10 << 20)), "HMP long line refused")
    check_equal(h.cmd("info status"), "VM status: running\r\n", "HMP after garbage")

    # 50 clients at once, each negotiating and asking in parallel.
    many = [socket.socket(socket.AF_UNIX) for _ in range(50)]
    for c in many:
        c.connect(path)
        c.settimeout(30)
        c.sendall(b'{"execute": "qmp_capabilities"}{"execute": "query-status", "id": 5}')
    for c in many:
        f = c.makefile("rb")
        lines = [json.loads(f.readline()) for _ in range(3)]
        check("QMP" in lines[0] and lines[1] == {"return": {}} and lines[2]["id"] == 5 and
              lines[2]["return"]["running"], f"one of 50 clients got {lines}")
        f.close()
    for c in many:
        c.close()

    # The guest kept running through all of it, and a fresh client works.
    wait_passes(t, 2)
    fresh = Qmp(path)
    check_equal(fresh.command("query-status")["status"], "running", "fresh client")
    lazy.close()
    check(t.proc.poll() is None, "tern exited")


def test_clients_beyond_the_limit_wait(env):
    env.require_kvm()
    t, path = start_vm(env)
    first = [Qmp(path, negotiate=False) for _ in range(64)]
    extra = socket.socket(socket.AF_UNIX)
    extra.connect(path)  # in the backlog: no greeting yet
    # A round trip through tern's main loop after the connect: had tern
    # accepted client 65, its greeting would be queued by now.
    first[1].command("qmp_capabilities")
    extra.setblocking(False)
    try:
        data = extra.recv(100)
        raise TestFailure(f"client 65 served while 64 are connected: {data!r}")
    except BlockingIOError:
        pass
    extra.setblocking(True)
    first[0].close()
    extra.settimeout(30)
    check(b'"QMP"' in extra.recv(4096), "client 65 greeted once one left")
    check(t.proc.poll() is None, "tern exited")


def test_monitor_option_errors(env):
    env.require_kvm()  # the last case opens the VM before its monitors
    bad = [
        (["-qmp", "bogus"], "-qmp bogus: unknown monitor backend"),
        (["-qmp", "unix:"], "-qmp unix:: unix: missing socket path"),
        (["-monitor", "tcp:localhost"], "expected HOST:PORT"),
        (["-monitor", "unix:/tmp/x,server,colour=red"], "colour"),
        (["-mon", "chardev=nope"], "chardev 'nope' not found"),
        (["-mon", "chardev=c,mode=fancy"], "mode must be readline or control"),
        (["-chardev", "socket,path=/tmp/x"], "no id"),
        (["-chardev", "pty,id=x"], "not supported"),
        (["-serial", "stdio", "-monitor", "stdio"], "cannot use stdio for both"),
        (["-monitor", "stdio", "-qmp", "stdio"], "cannot use stdio by multiple monitors"),
        (["-qmp", "unix:/nonexistent-dir/q.sock,server,nowait"], "cannot listen"),
    ]
    kernel = ["-kernel", os.path.join(env.guests, "hello.elf")]
    for args, msg in bad:
        status, out, err = env.run(args + kernel)
        check_equal(status, 1, f"{args}: exit status")
        check(msg in err and err.count("\n") == 1, f"{args}: stderr {err!r}")


def test_system_reset_with_no_reboot_shuts_down(env):
    env.require_kvm()
    t, path = start_vm(env, ["-no-reboot"])
    q = Qmp(path)
    check_equal(q.cmd("system_reset"), {"return": {}}, "reply first")
    ev = q.wait_event("SHUTDOWN")
    check_equal(ev["data"], {"guest": False, "reason": "host-qmp-system-reset"}, "SHUTDOWN data")
    check_equal(t.wait_exit(30), 0, "exit status")
