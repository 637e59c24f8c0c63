"""A man in the middle for migration streams, for failure tests.

The source migrates to the relay's UNIX socket; the relay connects to the
destination's and forwards both ways.  "up" is source -> destination (the
stream), "down" is destination -> source (the return path).  Per
direction the test chooses what happens to the bytes:

  pass   forward them (the default)
  hold   keep them in the relay: nothing more is read, so the sender
         blocks once the socket buffers are full
  drop   read and discard them; an end of file is still forwarded

cut() breaks the link: both connections are shut down and whatever was
held is lost, as when a cable is pulled.  rewrite(pattern, replacement)
replaces the first occurrence of a byte pattern in the up stream (for
version and configuration mismatches, corrupted pages).

Threads: one accepts, then one pump per direction; the test's thread only
changes modes and reads counters (under self.lock).
"""
import select
import socket
import threading


MODES = ("pass", "hold", "drop")


class Relay:
    def __init__(self, listen_path, target_path):
        self.target_path = target_path
        self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.lsock.bind(listen_path)
        self.lsock.listen(1)
        self.lock = threading.Condition()
        self.mode = {"up": "pass", "down": "pass"}
        self.rules = []  # [pattern, replacement, done]
        self.socks = []
        self.cut_done = False
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    # ---- the test's side ----

    def set_mode(self, direction, mode):
        assert mode in MODES, mode
        with self.lock:
            self.mode[direction] = mode
            self.lock.notify_all()

    def rewrite(self, pattern, replacement):
        assert len(pattern) == len(replacement) and pattern != replacement
        with self.lock:
            self.rules.append([pattern, replacement, False])

    def rewritten(self):
        with self.lock:
            return all(r[2] for r in self.rules)

    def cut(self):
        with self.lock:
            self.cut_done = True
            self.lock.notify_all()
            socks = list(self.socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.cut()
        try:
            self.lsock.close()
        except OSError:
            pass
        for t in self.threads[1:]:
            t.join(10)
        for s in self.socks:
            s.close()

    # ---- the pumps ----

    def _accept(self):
        try:
            src, _ = self.lsock.accept()
        except OSError:
            return
        dst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            dst.connect(self.target_path)
        except OSError:
            src.close()
            return
        with self.lock:
            self.socks = [src, dst]
            if self.cut_done:
                for s in self.socks:
                    s.shutdown(socket.SHUT_RDWR)
        for direction, a, b in (("up", src, dst), ("down", dst, src)):
            t = threading.Thread(target=self._pump, args=(direction, a, b), daemon=True)
            self.threads.append(t)
            t.start()

    def _wait_not_held(self, direction):
        """False once the link is cut."""
        with self.lock:
            while self.mode[direction] == "hold" and not self.cut_done:
                self.lock.wait()
            return not self.cut_done

    def _apply_rules(self, buf):
        with self.lock:
            for r in self.rules:
                if not r[2]:
                    i = buf.find(r[0])
                    if i >= 0:
                        buf[i:i + len(r[0])] = r[1]
                        r[2] = True

    def _pending_rules(self):
        with self.lock:
            return max((len(r[0]) for r in self.rules if not r[2]), default=0)

    def _pump(self, direction, a, b):
        carry = bytearray()  # kept back: a pattern may continue in the next read
        while True:
            if not self._wait_not_held(direction):
                return
            eof = False
            if carry and not select.select([a], [], [], 0.05)[0]:
                data = b""  # the sender paused: nothing will complete a match
            else:
                try:
                    data = a.recv(1 << 16)
                except OSError:
                    data = b""
                eof = not data
            buf = carry + data
            if direction == "up":
                self._apply_rules(buf)
            keep = max(0, min(self._pending_rules() - 1, len(buf))) if data else 0
            out, carry = buf[:len(buf) - keep], buf[len(buf) - keep:]
            if not self._send(direction, a, b, out):
                return
            if eof:
                return self._end(direction, b)

    def _send(self, direction, a, b, out):
        """Forward or drop @out (read from @a) as the mode says (a hold
        waits); False once cut or when @b is gone."""
        if not out:
            return True
        if not self._wait_not_held(direction):
            return False
        with self.lock:
            mode = self.mode[direction]
        if mode != "pass":
            return True
        try:
            b.sendall(out)
        except OSError:
            # @b's end is gone: @a's writes fail from now on, as they
            # would without the relay, while the other direction still
            # delivers what @b sent before it went.
            try:
                a.shutdown(socket.SHUT_RD)
            except OSError:
                pass
            return False
        return True

    def _end(self, direction, b):
        try:
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass
