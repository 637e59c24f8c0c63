"""Helpers for functional tests: start tern processes, wait on events.

Every wait polls a condition (serial output, process exit) against a deadline;
nothing sleeps a fixed time in place of a condition.  Guests on the CI machines
run ~1000x slower than on hardware, so deadlines are generous.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
POLL = 0.02


class Skip(Exception):
    """Raised by a test that cannot run here; the runner reports the reason."""


class TestFailure(AssertionError):
    pass


def kvm_unavailable():
    """None if /dev/kvm is usable, else the reason it is not."""
    dev = os.environ.get("TERN_KVM_DEVICE", "/dev/kvm")
    if not os.path.exists(dev):
        return f"{dev} does not exist"
    if not os.access(dev, os.R_OK | os.W_OK):
        return f"{dev} is not accessible"
    return None


def wait_until(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TestFailure(f"timed out after {timeout}s waiting for {what}")
        time.sleep(POLL)


class Tern:
    """One tern process.  Serial output goes to a file unless told otherwise.
    @prefix goes before tern's path, e.g. ["ip", "netns", "exec", NS]
    (a wrapper that execs, so the process is still tern itself)."""

    def __init__(self, env, args, name="vm", serial=True, stdin=subprocess.DEVNULL, pass_fds=(),
                 prefix=()):
        self.env = env
        self.name = name
        self.serial_path = os.path.join(env.dir, f"{name}.serial")
        self.stdout_path = os.path.join(env.dir, f"{name}.stdout")
        self.stderr_path = os.path.join(env.dir, f"{name}.stderr")
        argv = list(prefix) + [env.tern] + list(args)
        if serial:
            argv += ["-serial", f"file:{self.serial_path}"]
        self.argv = argv
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=stdin, stdout=self._out, stderr=self._err,
                                     pass_fds=pass_fds)
        env.processes.append(self)

    def _read(self, path):
        try:
            with open(path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def serial(self):
        return self._read(self.serial_path)

    def stdout(self):
        return self._read(self.stdout_path)

    def stderr(self):
        return self._read(self.stderr_path)

    def wait_serial(self, text, timeout=60, count=1):
        """Wait until @text appears @count times on the serial port."""
        def seen():
            if self.serial().count(text) >= count:
                return True
            if self.proc.poll() is not None and self.serial().count(text) < count:
                raise TestFailure(f"{self.name} exited ({self.proc.returncode}) before "
                                  f"printing {text!r}:\n{self.serial()[-1000:]}\n"
                                  f"stderr: {self.stderr()[-1000:]}")
            return False
        return wait_until(seen, timeout, f"{text!r} on {self.name}'s serial port")

    def wait_exit(self, timeout=60):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure(f"{self.name} did not exit within {timeout}s; serial: "
                              f"{self.serial()[-500:]!r}")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self._out.close()
        self._err.close()


class Env:
    """Per-test context: a work directory, the build, and cleanup of processes."""

    def __init__(self, build, name, keep=False):
        self.build = build
        self.tern = os.path.join(build, "tern")
        self.guests = os.path.join(build, "tests", "guests")
        self.top = TOP
        self.keep = keep
        self.dir = tempfile.mkdtemp(prefix=f"tern-{name[:40]}-")
        self.processes = []
        self.cleanups = []

    def on_cleanup(self, fn):
        """Call @fn at cleanup, after every process was killed (last added
        runs first), also when the test failed: namespaces, links."""
        self.cleanups.append(fn)

    def guest(self, name):
        path = os.path.join(self.guests, f"{name}.elf")
        if not os.path.exists(path):
            raise TestFailure(f"test guest {path} was not built")
        return path

    def require_kvm(self):
        why = kvm_unavailable()
        if why:
            raise Skip(why)

    def start(self, args, **kw):
        return Tern(self, args, **kw)

    def run(self, args, timeout=60, **kw):
        """Run tern to completion; returns (status, stdout, stderr)."""
        p = subprocess.run([self.tern] + list(args), capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL, **kw)
        return p.returncode, p.stdout, p.stderr

    def path(self, name):
        return os.path.join(self.dir, name)

    def diagnostics(self):
        out = []
        for t in self.processes:
            out.append(f"--- {t.name}: {' '.join(t.argv)}\n"
                       f"    serial tail: {t.serial()[-800:]!r}\n"
                       f"    stderr tail: {t.stderr()[-800:]!r}")
        return "\n".join(out)

    def cleanup(self, failed=False):
        for t in self.processes:
            t.kill()
        while self.cleanups:
            fn = self.cleanups.pop()
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - the other cleanups still run
                print(f"  cleanup {fn}: {e}", flush=True)
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def check_equal(got, want, what):
    if got != want:
        raise TestFailure(f"{what}: expected {want!r}, got {got!r}")


DEBUG_EXIT = ["-device", "isa-debug-exit,iobase=0xf4,iosize=4"]


def connect_unix(path, timeout, what):
    """Connect to a monitor's UNIX socket once it listens.  The path exists
    from bind() on, but connect() is refused until listen(): a busy machine
    can stop tern in between."""
    import socket

    def attempt():
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            return sock
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            return None
    return wait_until(attempt, timeout, f"{what} socket {path} to accept connections")


class Qmp:
    """A QMP client as QEMU's protocol document describes one: read the
    greeting, negotiate, then one JSON object per request.  Events that
    arrive while waiting for a reply are kept in self.events."""

    def __init__(self, path=None, timeout=30, negotiate=True, sock=None):
        if sock is None:
            sock = connect_unix(path, timeout, "QMP")
        sock.settimeout(timeout)
        self.sock = sock
        self.file = sock.makefile("rb")
        self.events = []
        self.greeting = self.recv()
        if negotiate:
            r = self.cmd("qmp_capabilities")
            check_equal(r, {"return": {}}, "qmp_capabilities reply")

    def recv(self):
        import json
        line = self.file.readline()
        if not line:
            raise TestFailure("QMP connection closed")
        return json.loads(line)

    def send(self, obj):
        import json
        self.sock.sendall((obj if isinstance(obj, str) else json.dumps(obj)).encode() + b"\n")

    def reply(self):
        """The next reply, keeping events aside."""
        while True:
            msg = self.recv()
            if "event" in msg:
                self.events.append(msg)
            else:
                return msg

    def cmd(self, name, **args):
        req = {"execute": name}
        if args:
            req["arguments"] = args
        self.send(req)
        return self.reply()

    def command(self, name, **args):
        """cmd() that fails the test on an error reply; returns "return"."""
        r = self.cmd(name, **args)
        if "return" not in r:
            raise TestFailure(f"{name} {args}: {r}")
        return r["return"]

    def wait_event(self, name, timeout=30):
        import socket
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e["event"] == name:
                    return self.events.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure(f"timed out after {timeout}s waiting for event {name}")
            self.sock.settimeout(left)
            try:
                msg = self.recv()
            except socket.timeout:
                continue
            finally:
                self.sock.settimeout(30)
            if "event" not in msg:
                raise TestFailure(f"unexpected reply while waiting for {name}: {msg}")
            self.events.append(msg)

    def close(self):
        self.file.close()
        self.sock.close()


class Hmp:
    """The human monitor over a UNIX socket: banner, "(tern) " prompts."""

    PROMPT = b"(tern) "

    def __init__(self, path, timeout=30):
        self.sock = connect_unix(path, timeout, "HMP")
        self.sock.settimeout(timeout)
        self.buf = b""
        self.banner = self.until_prompt()

    def until_prompt(self):
        while self.PROMPT not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise TestFailure(f"HMP connection closed; got {self.buf!r}")
            self.buf += data
        out, _, self.buf = self.buf.partition(self.PROMPT)
        return out.decode()

    def cmd(self, line):
        """Output of one command line, with QEMU's "\\r\\n" line ends."""
        self.sock.sendall(line.encode() + b"\n")
        return self.until_prompt()

    def close(self):
        self.sock.close()
