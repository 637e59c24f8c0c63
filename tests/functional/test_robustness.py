"""A failed migration leaves the source exactly as it was.

One test per failure: a cancel in each outgoing state, the destination
killed at several points, the link cut (tests/functional/relay.py) at
several points, destinations that refuse the stream, a load that fails
after the whole stream was sent, a full disk.  Each ends the same way
(Source.survived): the source reports the expected status, its guest runs
on (dirty-ram's pass counter advances), a 32 MiB region of random bytes
the guest never touches has the same digest as before the failure, the
pages the guest does write satisfy dirty-ram's invariant, and a
follow-up migration to a fresh destination, with x-verify-ram, completes
with byte-equal RAM (test_migration.finish_check).

A destination that refuses a stream exits 1 with one line on stderr that
names the mismatch, and the source's error-desc carries that line (the
return path's Tern error message).
"""
import hashlib
import os
import socket
import subprocess
import time

import test_migration as tm
from relay import Relay
from ternlib import Skip, check, check_equal, wait_until

# A later pass must still be running when the test acts on it: with no
# downtime allowed, pre-copy cannot converge while the guest writes.
NEVER_CONVERGES = {"max-bandwidth": 8 << 20, "downtime-limit": 0}
RAM = "64M"
MB = 8                      # dirty-ram writes [2 MiB, 10 MiB)
STATIC = (16 << 20, 32 << 20)  # random bytes from -mem-path, never written


def be32(n):
    return n.to_bytes(4, "big")


def be64(n):
    return n.to_bytes(8, "big")


def section_header(idstr, instance=0, version=1):
    """The tail of a FULL/START section header: str8 idstr, instance, version."""
    return bytes([len(idstr)]) + idstr.encode() + be32(instance) + be32(version)


class Source:
    """A dirty-ram source whose RAM holds random bytes at STATIC."""

    def __init__(self, env, name="src", smp=1, extra=()):
        self.env = env
        img = env.path(f"{name}.img")
        if not os.path.exists(img):
            with open(img, "wb") as f:
                f.truncate(64 << 20)
                f.seek(STATIC[0])
                f.write(os.urandom(STATIC[1]))
        self.extra = list(extra)
        self.smp = smp
        self.t, self.q = tm.start(env, name, MB, ram=RAM, smp=smp,
                                  extra=["-mem-path", img] + self.extra)
        self.t.wait_serial("B", count=2, timeout=120)
        self.digest0 = self.digest()

    def digest(self):
        path = self.env.path("static.ram")
        self.q.command("pmemsave", val=STATIC[0], size=STATIC[1], filename=path)
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()

    def migrate(self, uri, bandwidth=None, caps=(), **params):
        if bandwidth is not None:
            params["max-bandwidth"] = bandwidth
        if params:
            self.q.command("migrate-set-parameters", **params)
        if caps:
            self.q.command("migrate-set-capabilities",
                           capabilities=[{"capability": c, "state": True} for c in caps])
        self.q.command("migrate", uri=uri)

    def info(self):
        return self.q.command("query-migrate")

    def wait_state(self, want, timeout=120):
        return tm.wait_status(self.q, want, timeout)

    def wait_first_pass(self, nbytes=2 << 20):
        """Active, past @nbytes but still in the first pass."""
        self.wait_state("active")
        info = wait_until(lambda: (lambda i: i.get("ram", {}).get("transferred", 0) >= nbytes
                                   and i)(self.info()), 60, "the first pass to get going")
        check_equal(info["ram"]["dirty-sync-count"], 1, f"still in the first pass: {info}")

    def wait_later_pass(self, n=3):
        """Active in pass @n or later (pass 1 is the first full pass)."""
        self.wait_state("active")
        deadline = time.monotonic() + 120
        while True:
            e = self.q.wait_event("MIGRATION_PASS", timeout=max(1, deadline - time.monotonic()))
            if e["data"]["pass"] >= n:
                return

    def survived(self, status, error_has=None):
        """The end of every case: see the module's docstring."""
        info = wait_until(lambda: (lambda i: i.get("status") in
                                   ("completed", "failed", "cancelled") and i)(self.info()),
                          120, "the migration to end")
        check_equal(info["status"], status, f"source query-migrate {info}")
        if error_has:
            check(error_has in info.get("error-desc", ""),
                  f"error-desc lacks {error_has!r}: {info}")
        wait_until(lambda: self.q.command("query-status")["status"] == "running", 30,
                   "the source to run again")
        before = tm.passes(self.t)
        self.t.wait_serial("B", count=before + 2, timeout=120)
        check_equal(self.digest(), self.digest0, "digest of RAM the guest never writes")
        self.q.command("stop")
        tm.check_invariant(tm.ram_bytes(self.env, self.q, MB, "src-after"), "source after")
        self.q.command("cont")
        self.follow_up()

    def follow_up(self):
        """A fresh destination: the next migration completes and verifies."""
        self.q.command("migrate-set-parameters", **{"max-bandwidth": 128 << 20,
                                                    "downtime-limit": 300})
        self.q.command("migrate-set-capabilities", capabilities=[
            {"capability": "pause-before-switchover", "state": False},
            {"capability": "x-verify-ram", "state": True}])
        self.q.events.clear()
        path = self.env.path("follow.sock")
        dst, dq = tm.start(self.env, "follow", MB, ram=RAM, smp=self.smp,
                           incoming=f"unix:{path}", extra=["-S"] + self.extra)
        self.q.command("migrate", uri=f"unix:{path}")
        self.wait_state("completed")
        tm.finish_check(self.env, self.t, self.q, dst, dq, MB)


def destination(env, name="dst", extra=(), ram=RAM, smp=1):
    path = env.path(f"{name}.sock")
    t, q = tm.start(env, name, MB, ram=ram, smp=smp, incoming=f"unix:{path}",
                    extra=["-S"] + list(extra))
    return t, q, f"unix:{path}"


def relay_to(env, dst_uri, name="relay"):
    path = env.path(f"{name}.sock")
    r = Relay(path, dst_uri[len("unix:"):])
    env.on_cleanup(r.close)
    return r, f"unix:{path}"


def refused(env, dst, word):
    """The destination's one line: exit 1, naming @word."""
    check_equal(dst.wait_exit(60), 1, "destination exit status")
    err = dst.stderr().strip().splitlines()
    check(len(err) == 1 and word in err[0], f"destination stderr: {err}")
    return err[0]


# ---- migrate_cancel in each outgoing state ----

def test_cancel_in_setup(env):
    """The destination's accept queue is full: our connect hangs in
    SYN_SENT (setup); the cancel still gets through."""
    env.require_kvm()
    src = Source(env)
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(0)
    port = lsock.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port))
    src.migrate(f"tcp:127.0.0.1:{port}")
    wait_until(lambda: f":{port:04X} 02 " in open("/proc/net/tcp").read(), 30,
               "the source's SYN_SENT connect")
    check_equal(src.info()["status"], "setup", "status while connecting")
    src.q.command("migrate_cancel")
    src.wait_state("cancelled", timeout=10)
    filler.close()
    lsock.close()
    src.survived("cancelled")


def test_cancel_in_first_pass(env):
    """Cancel during the first pass; a second migrate meanwhile is refused."""
    env.require_kvm()
    src = Source(env)
    dst, dq, uri = destination(env)
    src.migrate(uri, bandwidth=8 << 20)
    src.wait_first_pass()
    r = src.q.cmd("migrate", uri=uri)
    check("in progress" in r.get("error", {}).get("desc", ""), f"second migrate: {r}")
    src.q.command("migrate_cancel")
    src.wait_state("cancelled")
    check_equal(dst.wait_exit(60), 1, "destination of a cancelled migration")
    src.survived("cancelled")


def test_cancel_in_later_pass(env):
    env.require_kvm()
    src = Source(env)
    dst, dq, uri = destination(env)
    src.migrate(uri, **NEVER_CONVERGES)
    src.wait_later_pass(3)
    src.q.command("migrate_cancel")
    src.wait_state("cancelled")
    src.survived("cancelled")


def test_cancel_in_pre_switchover(env):
    """pause-before-switchover: the guest is stopped, the last pass not
    sent; migrate_cancel there resumes it."""
    env.require_kvm()
    src = Source(env)
    dst, dq, uri = destination(env)
    src.migrate(uri, caps=["pause-before-switchover"])
    src.wait_state("pre-switchover")
    # As QEMU: the guest is stopped, in finish-migrate.
    check_equal(src.q.command("query-status")["status"], "finish-migrate",
                "guest at pre-switchover")
    src.q.command("migrate_cancel")
    src.wait_state("cancelled")
    check_equal(dst.wait_exit(60), 1, "destination of a cancelled migration")
    src.survived("cancelled")


def test_cancel_in_device(env):
    """The final part is being sent (device state), the guest stopped: the
    relay holds the stream, so the source sits in device; cancel."""
    env.require_kvm()
    src = Source(env)
    dst, dq, uri = destination(env)
    relay, ruri = relay_to(env, uri)
    src.migrate(ruri, caps=["pause-before-switchover"])
    src.wait_state("pre-switchover")
    relay.set_mode("up", "hold")
    src.q.command("migrate-continue", state="pre-switchover")
    src.wait_state("device")
    check_equal(src.info()["status"], "device", "source while the stream is held")
    src.q.command("migrate_cancel")
    src.wait_state("cancelled")
    relay.cut()
    check_equal(dst.wait_exit(60), 1, "destination of a cancelled migration")
    src.survived("cancelled")


# ---- the destination killed ----

def kill_destination(dst):
    dst.proc.kill()
    dst.proc.wait()


def test_destination_killed_in_first_pass(env):
    env.require_kvm()
    src = Source(env)
    dst, dq, uri = destination(env)
    src.migrate(uri, bandwidth=8 << 20)
    src.wait_first_pass()
    kill_destination(dst)
    src.survived("failed")


def test_destination_killed_in_later_pass(env):
    env.require_kvm()
    src = Source(env)
    dst, dq, uri = destination(env)
    src.migrate(uri, **NEVER_CONVERGES)
    src.wait_later_pass(3)
    kill_destination(dst)
    src.survived("failed")


def test_destination_killed_before_acknowledging(env):
    """The destination read everything up to EOF and loaded it, but its
    acknowledgement is still in the relay when it dies, and is lost with
    it.  The source must not call that completed."""
    env.require_kvm()
    src = Source(env)
    dst, dq, uri = destination(env)
    relay, ruri = relay_to(env, uri)
    relay.set_mode("down", "hold")
    src.migrate(ruri)
    src.wait_state("device")
    wait_until(lambda: dq.command("query-migrate").get("status") == "completed", 60,
               "the destination to finish loading")
    check_equal(src.info()["status"], "device", "source without an acknowledgement")
    kill_destination(dst)
    relay.set_mode("down", "drop")  # what it held dies with it; its EOF goes on
    src.survived("failed", error_has="before acknowledging")


# ---- the link cut ----

def test_link_cut_in_first_pass(env):
    env.require_kvm()
    src = Source(env)
    dst, dq, uri = destination(env)
    relay, ruri = relay_to(env, uri)
    src.migrate(ruri, bandwidth=8 << 20)
    src.wait_first_pass()
    relay.cut()
    check_equal(dst.wait_exit(60), 1, "destination of a cut stream")
    src.survived("failed")


def test_link_cut_in_later_pass(env):
    env.require_kvm()
    src = Source(env)
    dst, dq, uri = destination(env)
    relay, ruri = relay_to(env, uri)
    src.migrate(ruri, **NEVER_CONVERGES)
    src.wait_later_pass(3)
    relay.cut()
    check_equal(dst.wait_exit(60), 1, "destination of a cut stream")
    src.survived("failed")


def test_link_cut_at_the_stop(env):
    """Cut while the guest is stopped and the final part is under way: the
    destination never sees the end of the stream and must not run."""
    env.require_kvm()
    src = Source(env)
    dst, dq, uri = destination(env)
    relay, ruri = relay_to(env, uri)
    src.migrate(ruri, caps=["pause-before-switchover"])
    src.wait_state("pre-switchover")
    relay.set_mode("up", "hold")
    src.q.command("migrate-continue", state="pre-switchover")
    src.wait_state("device")
    relay.cut()
    err = refused(env, dst, "")
    check("stream" in err or "connection" in err or "section" in err, err)
    src.survived("failed")


# ---- destinations that refuse the stream ----

def refusal(env, word, src_kw=None, dst_kw=None, rewrite=None):
    src = Source(env, **(src_kw or {}))
    dst, dq, uri = destination(env, **(dst_kw or {}))
    if rewrite:
        relay, uri = relay_to(env, uri)
        relay.rewrite(*rewrite)
    src.migrate(uri)
    src.wait_state("failed")
    if rewrite:
        check(relay.rewritten(), "the relay never found its pattern")
    line = refused(env, dst, word)
    # The destination's line, as the source reports it.
    src.survived("failed", error_has=line[line.index(word):][:60])


def test_refused_machine_type(env):
    env.require_kvm()
    refusal(env, "machine type", rewrite=(be32(8) + b"tern-1.0", be32(8) + b"tern-0.9"))


def test_refused_smaller_ram(env):
    env.require_kvm()
    refusal(env, "-m must match", dst_kw={"ram": "32M"})


def test_refused_larger_ram(env):
    env.require_kvm()
    refusal(env, "-m must match", dst_kw={"ram": "128M"})


def test_refused_more_cpus(env):
    """The destination has a vCPU the stream lacks."""
    env.require_kvm()
    refusal(env, "no section 'cpu' instance 1", dst_kw={"smp": 2})


def test_refused_fewer_cpus(env):
    env.require_kvm()
    refusal(env, "unknown section 'cpu' instance 1", src_kw={"smp": 2})


def test_refused_missing_device(env):
    env.require_kvm()
    refusal(env, "unknown section 'isa-debug-exit'",
            src_kw={"extra": ["-device", "isa-debug-exit,iobase=0xf4,iosize=4"]})


def test_refused_newer_section_version(env):
    env.require_kvm()
    refusal(env, "version 2 outside the supported range",
            rewrite=(section_header("serial", 0, 1), section_header("serial", 0, 2)))


# ---- the load fails after the whole stream was sent ----

def test_device_value_rejected_after_stream(env):
    """isa-debug-exit's iobase (an equal-field) altered in flight: the last
    device section fails to load, after every byte was sent."""
    env.require_kvm()
    dev = ["-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
    head = section_header("isa-debug-exit")
    refusal(env, "iobase", src_kw={"extra": dev}, dst_kw={"extra": dev},
            rewrite=(head + b"\x00\xf4", head + b"\x00\xf5"))


def test_verify_ram_catches_a_corrupted_page(env):
    """x-verify-ram: one byte of a page (in the random region, sent once in
    the first pass) flipped in flight.  RAM loads without complaint; the
    digest at the end does not match, so the load fails and the source
    resumes with the reason."""
    env.require_kvm()
    src = Source(env)
    dst, dq, uri = destination(env)
    relay, ruri = relay_to(env, uri)
    page = STATIC[0] + (4 << 20) + 37 * 4096  # unlikely to start a section
    record = be64(page | 0x08 | 0x20)  # PAGE | CONTINUE
    with open(env.path("src.img"), "rb") as f:
        f.seek(page)
        first = f.read(1)
    relay.rewrite(record + first, record + bytes([first[0] ^ 0x40]))
    src.migrate(ruri, caps=["x-verify-ram"])
    src.wait_state("failed")
    check(relay.rewritten(), "the relay never saw the page")
    line = refused(env, dst, "x-verify-ram")
    check(f"0x{page:x}" in line or "differs" in line, line)
    src.survived("failed", error_has="x-verify-ram")


# ---- file transport ----

def test_file_on_a_full_disk(env):
    """migrate to file: on a 4 MiB tmpfs: failed with ENOSPC, the partial
    file named in error-desc, the source running."""
    env.require_kvm()
    mnt = env.path("small")
    os.mkdir(mnt)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise Skip(f"cannot mount a tmpfs (needs root): {p.stderr.strip()}")
    env.on_cleanup(lambda: subprocess.run(["umount", "-l", mnt]))
    src = Source(env)
    path = os.path.join(mnt, "snap")
    src.migrate(f"file:{path}")
    src.wait_state("failed")
    info = src.info()
    desc = info.get("error-desc", "")
    check("No space left on device" in desc, f"{info}")
    size = os.path.getsize(path)
    check(path in desc and str(size) in desc, f"partial file not reported: {info} ({size})")
    src.survived("failed")
