#!/usr/bin/env python3
"""The main job, driven by scripts/demo: boot the demo guest in one tern
process (the source), start a second one waiting for it (the destination,
-incoming unix:...), and live-migrate the running guest from the source's
human monitor, showing the migration's progress and the guest's serial
output as it moves from one process to the other.

Usage: scripts/demo-migrate.py [--ticks N] [--at TICK] [--build DIR]
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            sys.exit(f"demo: timed out waiting for {what}")
        time.sleep(0.02)


class Follower:
    """Prints new lines of a serial log file with a prefix."""

    def __init__(self, path, prefix):
        self.path, self.prefix, self.pos, self.text = path, prefix, 0, ""
        self.lines = []

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            return
        self.pos += len(data)
        self.text += data.decode("utf-8", "replace")
        while "\n" in self.text:
            line, self.text = self.text.split("\n", 1)
            print(f"{self.prefix} {line}", flush=True)
            self.lines.append(line)

    def seen(self, needle):
        """Whether a whole line holding @needle has been printed (the
        guest writes a line a character at a time)."""
        self.poll()
        return any(needle in line for line in self.lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=int, default=10, help="guest ticks in all (default 10)")
    ap.add_argument("--at", type=int, default=3, help="migrate after this tick (default 3)")
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    args = ap.parse_args()
    tern = os.path.join(args.build, "tern")
    guest = os.path.join(args.build, "tests", "guests", "demo.elf")
    work = tempfile.mkdtemp(prefix="tern-demo-")
    sock = os.path.join(work, "migration.sock")
    hmp = os.path.join(work, "source.hmp")
    common = ["-m", "128M", "-smp", "2", "-kernel", guest, "-append", f"ticks={args.ticks}",
              "-display", "none", "-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
    dst_cmd = [tern, "-name", "destination"] + common + [
        "-serial", f"file:{work}/destination.serial", "-incoming", f"unix:{sock}"]
    src_cmd = [tern, "-name", "source"] + common + [
        "-serial", f"file:{work}/source.serial", "-monitor", f"unix:{hmp},server,nowait"]
    print("== destination: " + " ".join(dst_cmd[0:1] + ["..."] + dst_cmd[-2:]), flush=True)
    dst = subprocess.Popen(dst_cmd, stderr=open(f"{work}/destination.stderr", "wb"))
    print("== source:      " + " ".join(src_cmd[0:1] + ["..."] + src_cmd[-2:]), flush=True)
    src = subprocess.Popen(src_cmd, stderr=open(f"{work}/source.stderr", "wb"))
    src_out = Follower(f"{work}/source.serial", "[source]     ")
    dst_out = Follower(f"{work}/destination.serial", "[destination]")
    try:
        wait_for(lambda: src_out.seen(f"tick {args.at} "), 300, f"tick {args.at} on the source")
        wait_for(lambda: os.path.exists(hmp), 30, "the source's monitor")
        mon = socket.socket(socket.AF_UNIX)
        mon.connect(hmp)
        reply = b""
        while not reply.endswith(b"(tern) "):
            reply += mon.recv(4096)
        print(f"== (tern) migrate {'unix:' + sock}   [source's human monitor]", flush=True)
        mon.sendall(f"migrate unix:{sock}\n".encode())
        reply = b""
        while not reply.endswith(b"(tern) "):
            data = mon.recv(4096)
            if not data:
                break
            reply += data
            text = data.decode().replace("(tern) ", "").replace("\r\n", "\n")
            sys.stdout.write(text.replace("\rmigrate", "\n   migrate").replace(
                "\nmigrate:", "\n   migrate:"))
            sys.stdout.flush()
        mon.sendall(b"info status\n")
        reply = b""
        while not reply.endswith(b"(tern) "):
            reply += mon.recv(4096)
        print("== source now: " + reply.decode().replace("(tern) ", "").strip(), flush=True)
        src_out.poll()
        wait_for(lambda: dst_out.seen("demo: done") or dst.poll() is not None, 600,
                 "the guest to finish on the destination")
        status = dst.wait(60)
        dst_out.poll()
        mon.sendall(b"quit\n")
        src.wait(30)
        if status != 1:  # isa-debug-exit 0 -> tern exits 1
            sys.exit(f"demo: the destination exited with status {status}; see {work}")
        print("== the guest finished on the destination (isa-debug-exit 0)", flush=True)
    finally:
        for p in (src, dst):
            if p.poll() is None:
                p.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
