"""scripts/vmstate-static-checker and scripts/analyze-migration (no /dev/kvm).

The checker runs on the real `tern -dump-vmstate` output and on copies edited
here, one per kind of incompatibility.  The analyzer runs on streams built
byte by byte with the small writer below (STREAM-FORMAT.md), so every value it
prints is known in advance; error cases check for one line on stderr naming
the offset, exit status 1 and no traceback.
"""
import copy
import json
import os
import struct
import subprocess

from ternlib import check, check_equal

MACHINE_KEY = "vmschkmachine"


def run_script(env, name, args):
    """Run scripts/@name directly (shebang and exec bit included)."""
    p = subprocess.run([os.path.join(env.top, "scripts", name)] + list(args),
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def one_line_error(err, prefix, what):
    lines = err.strip().splitlines()
    check(len(lines) == 1, f"{what}: expected one line on stderr, got {err!r}")
    check("Traceback" not in err, f"{what}: traceback on stderr: {err!r}")
    check(lines[0].startswith(prefix), f"{what}: {lines[0]!r} does not start with {prefix!r}")
    return lines[0]


# ---- vmstate-static-checker ----

def real_dump(env):
    path = env.path("dump.json")
    status, _, err = env.run(["-dump-vmstate", path])
    check_equal(status, 0, f"tern -dump-vmstate status (stderr {err!r})")
    with open(path) as f:
        return json.load(f)


def wire_indices(desc):
    """Indices in Fields of the entries that have bytes on the wire."""
    return [i for i, f in enumerate(desc["Fields"]) if f["type"] not in ("validate", "struct")]


def pick_section(dump):
    """A device section that starts with three plain fields of distinct names
    and has no others in between (the edits below swap and merge neighbours;
    "cpu" starts with nested structs and is skipped)."""
    for name, sec in dump.items():
        if name == MACHINE_KEY:
            continue
        fields = sec["Description"]["Fields"]
        idx = wire_indices(sec["Description"])
        if (len(idx) >= 3 and idx[:3] == [0, 1, 2]
                and len({fields[i]["field"] for i in idx}) == len(idx)):
            return name
    raise AssertionError("no device section with three plain fields in -dump-vmstate")


def set_version(sec, version, minimum=None):
    for obj in (sec, sec["Description"]):
        obj["version_id"] = version
        if minimum is not None:
            obj["minimum_version_id"] = minimum


def scalar(name, ftype="uint8", size=1, version=0):
    return {"field": name, "type": ftype, "version_id": version, "field_exists": False,
            "size": size}


def subsection(name, fields, version=1, minimum=1):
    return {"name": name, "version_id": version, "minimum_version_id": minimum,
            "Fields": fields}


class Checker:
    """Writes dump pairs to the test's directory and runs the checker on them."""

    def __init__(self, env):
        self.env = env
        self.n = 0

    def write(self, doc):
        self.n += 1
        path = self.env.path(f"dump-{self.n}.json")
        with open(path, "w") as f:
            json.dump(doc, f, indent=2)
        return path

    def run(self, src, dst, *extra):
        return run_script(self.env, "vmstate-static-checker",
                          ["-s", self.write(src), "-d", self.write(dst)] + list(extra))

    def expect(self, src, dst, problems, what):
        status, out, err = self.run(src, dst)
        n = len(problems)
        summary = "no problems" if n == 0 else "1 problem" if n == 1 else f"{n} problems"
        check_equal(out.splitlines(), problems + [summary], f"{what}: checker output")
        check_equal(status, n, f"{what}: exit status")
        check_equal(err, "", f"{what}: stderr")


def test_checker_identical_dumps(env):
    src = real_dump(env)
    c = Checker(env)
    c.expect(src, copy.deepcopy(src), [], "identical dumps")
    status, out, _ = c.run(src, src, "-v")
    check_equal(status, 0, "-v on identical dumps")
    check(out.splitlines()[-1] == "no problems" and "checking" in out, f"-v output: {out!r}")


def test_checker_reports_each_problem(env):
    src = real_dump(env)
    sec = pick_section(src)
    desc = src[sec]["Description"]
    vmsd = desc["name"]
    machine = src[MACHINE_KEY]["Name"]
    version = src[sec]["version_id"]
    i0, i1 = wire_indices(desc)[:2]
    f0 = desc["Fields"][i0]["field"]
    c = Checker(env)
    S = f'Section "{sec}": '

    def case(what, edit_dst, lines, edit_src=None):
        s, d = copy.deepcopy(src), copy.deepcopy(src)
        if edit_src:
            edit_src(s)
        edit_dst(d)
        c.expect(s, d, lines, what)

    def fields(doc):
        return doc[sec]["Description"]["Fields"]

    case("machine type", lambda d: d[MACHINE_KEY].update(Name=machine + "-next"),
         [f'Section "{MACHINE_KEY}": machine type differs: "{machine}" -> "{machine}-next"'])
    case("section missing", lambda d: d.pop(sec), [S + "missing in destination"])
    case("destination too old", lambda d: None,
         [S + f"destination version_id {version} is older than source version_id "
              f"{version + 1}"],
         edit_src=lambda s: set_version(s[sec], version + 1))
    case("destination minimum too new", lambda d: set_version(d[sec], version + 1, version + 1),
         [S + f"destination minimum_version_id {version + 1} is above source version_id "
              f"{version}"])
    case("field missing", lambda d: fields(d).pop(i0), [S + f'Field "{f0}" missing in destination'])
    case("field renamed", lambda d: fields(d)[i0].update(field=f0 + "_renamed"),
         [S + f'Field "{f0}" renamed to "{f0}_renamed"'])

    def swap(d):
        fs = fields(d)
        fs[i0], fs[i1] = fs[i1], fs[i0]
    case("fields reordered", swap,
         [S + f'Field "{f0}" moved: index {i0} in source, index {i1} in destination'])
    size0 = desc["Fields"][i0]["size"]
    case("size changed", lambda d: fields(d)[i0].update(size=size0 + 2),
         [S + f'Field "{f0}" size changed: {size0} -> {size0 + 2}'])
    type0 = desc["Fields"][i0]["type"]
    other = {"uint8": "int8", "int8": "uint8", "uint16": "int16", "int16": "uint16",
             "uint32": "int32", "int32": "uint32", "uint64": "int64",
             "int64": "uint64"}.get(type0, "buffer")
    case("type changed", lambda d: fields(d)[i0].update(type=other),
         [S + f'Field "{f0}" type changed: {type0} -> {other}'])
    case("array length changed", lambda d: fields(d)[i0].update(num=8, variable=False),
         [S + f'Field "{f0}" array length changed: 4 -> 8'],
         edit_src=lambda s: fields(s)[i0].update(num=4, variable=False))
    case("field only in destination", lambda d: fields(d).insert(i1, scalar("added")),
         [S + 'Field "added" only in destination (not sent by source)'])

    sub = subsection(f"{vmsd}/extra", [scalar("level"), scalar("mode")])
    case("subsection missing", lambda d: None,
         [S + f'Subsection "{vmsd}/extra" missing in destination'],
         edit_src=lambda s: s[sec]["Description"].update(Subsections=[sub]))

    def changed_sub(d):
        d[sec]["Description"]["Subsections"] = [copy.deepcopy(sub)]
        d[sec]["Description"]["Subsections"][0]["Fields"][1]["size"] = 2
    case("field in a subsection", changed_sub,
         [S + f'Subsection "{vmsd}/extra": Field "mode" size changed: 1 -> 2'],
         edit_src=lambda s: s[sec]["Description"].update(Subsections=[sub]))

    def old_sub(d):
        d[sec]["Description"]["Subsections"] = [dict(copy.deepcopy(sub), version_id=1)]
    case("subsection too old", old_sub,
         [S + f'Subsection "{vmsd}/extra": destination version_id 1 is older than source '
              f'version_id 2'],
         edit_src=lambda s: s[sec]["Description"].update(Subsections=[dict(sub, version_id=2)]))

    nested = {"field": "regs", "type": "struct", "version_id": 0, "field_exists": False,
              "size": 8, "num": 2, "variable": False,
              "Description": {"name": "regs", "version_id": 1, "minimum_version_id": 1,
                              "Fields": [scalar("lo"), scalar("hi")]}}

    def nested_changed(d):
        n = copy.deepcopy(nested)
        n["Description"]["Fields"][1].update(type="uint16", size=2)
        fields(d).append(n)
    case("field in a nested struct", nested_changed,
         [S + 'Field "regs.hi" type changed: uint8 -> uint16',
          S + 'Field "regs.hi" size changed: 1 -> 2'],
         edit_src=lambda s: fields(s).append(nested))
    case("unused buffer of another size", lambda d: fields(d)[i0].update(
            field="unused", type="unused_buffer", size=1000),
         [S + f'Field "{f0}" replaced by unused buffer "unused" of a different size: '
              f'{size0} -> 1000 bytes'])


def test_checker_accepts_compatible_changes(env):
    src = real_dump(env)
    sec = pick_section(src)
    desc = src[sec]["Description"]
    version = src[sec]["version_id"]
    i0, i1 = wire_indices(desc)[:2]
    c = Checker(env)

    def ok(what, edit_dst, edit_src=None):
        s, d = copy.deepcopy(src), copy.deepcopy(src)
        if edit_src:
            edit_src(s)
        edit_dst(d)
        c.expect(s, d, [], what)
        return s, d

    def fields(doc):
        return doc[sec]["Description"]["Fields"]

    size0 = desc["Fields"][i0]["size"]
    s, d = ok("unused buffer in destination", lambda d: fields(d)[i0].update(
        field="unused", type="unused_buffer", size=size0))
    status, out, _ = c.run(s, d, "-v")
    check(status == 0 and "unused buffer" in out, f"-v must explain the unused match: {out!r}")
    pair = desc["Fields"][i0]["size"] + desc["Fields"][i1]["size"]

    def unused_for_two(s):
        fs = fields(s)
        fs[i0] = scalar("unused", "unused_buffer", pair)
        del fs[i1]
    ok("unused buffer in source covering two fields", lambda d: None, edit_src=unused_for_two)
    ok("subsection only in destination", lambda d: d[sec]["Description"].update(
        Subsections=[subsection(desc["name"] + "/new", [scalar("x")])]))
    ok("section only in destination", lambda d: d.update(
        newdev={"Name": "newdev", "version_id": 1, "minimum_version_id": 1,
                "Description": {"name": "newdev", "version_id": 1, "minimum_version_id": 1,
                                "Fields": [scalar("x")]}}))

    def newer_field(d):
        set_version(d[sec], version + 1, version)
        fields(d).insert(i1, scalar("added_in_v2", version=version + 1))
    ok("field of a newer version in destination", newer_field)
    ok("validate entry in destination", lambda d: fields(d).insert(
        i1, {"field": "check", "type": "validate", "version_id": 0, "field_exists": False,
             "size": 0}))
    status, out, err = run_script(env, "vmstate-static-checker",
                                  ["--reverse", "-s", c.write(src), "-d", c.write(src)])
    check_equal((status, out), (0, "no problems\n"), "--reverse on identical dumps")


def test_checker_counts_problems(env):
    src = real_dump(env)
    sec = pick_section(src)
    i0, i1 = wire_indices(src[sec]["Description"])[:2]
    c = Checker(env)
    d = copy.deepcopy(src)
    d[MACHINE_KEY]["Name"] += "-other"
    fs = d[sec]["Description"]["Fields"]
    fs[i0]["size"] += 1
    fs[i1]["field"] += "_x"
    status, out, _ = c.run(src, d)
    lines = out.splitlines()
    check_equal((status, len(lines), lines[-1]), (3, 4, "3 problems"), "three problems")
    # 300 sections missing: the exit status stops at 254 (255 = unusable input).
    big = copy.deepcopy(src)
    for n in range(300):
        big[f"dev{n}"] = copy.deepcopy(src[sec])
    status, out, _ = c.run(big, src)
    check_equal((status, out.splitlines()[-1]), (254, "300 problems"), "capped exit status")


def test_checker_bad_input(env):
    src = real_dump(env)
    c = Checker(env)
    good = c.write(src)
    prefix = "vmstate-static-checker: "
    bad_json = env.path("bad.json")
    with open(bad_json, "w") as f:
        f.write('{"vmschkmachine": {"Name": "tern-1.0"},')
    no_fields = copy.deepcopy(src)
    sec = pick_section(src)
    del no_fields[sec]["Description"]["Fields"]
    cases = [
        (["-s", good, "-d", bad_json], "invalid JSON"),
        (["-s", env.path("missing.json"), "-d", good], "cannot read"),
        (["-s", good, "-d", c.write([1, 2])], "not a -dump-vmstate file"),
        (["-s", good, "-d", c.write({"serial": {}})], "not a -dump-vmstate file"),
        (["-s", c.write(no_fields), "-d", good], '"Fields"'),
        (["-s", good], "-d/--dest"),
    ]
    for args, fragment in cases:
        status, out, err = run_script(env, "vmstate-static-checker", args)
        line = one_line_error(err, prefix, f"checker {args}")
        check_equal(status, 255, f"exit status for {line!r}")
        check(fragment in line, f"{fragment!r} missing from {line!r}")
        check_equal(out, "", f"stdout for {line!r}")
    status, out, _ = run_script(env, "vmstate-static-checker", ["--help"])
    check(status == 0 and "-s" in out and "255" in out, f"--help: {status} {out!r}")


# ---- analyze-migration ----

ZERO, MEM_SIZE, PAGE, EOS, CONTINUE, XBZRLE, MULTIFD_FLUSH = (
    0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x200)
PAGE_SIZE = 4096


class StreamWriter:
    """A migration stream, byte by byte (STREAM-FORMAT.md); marks remember offsets."""

    def __init__(self):
        self.b = bytearray()
        self.marks = {}
        self.ram = {}  # block -> {"zero", "normal", "xbzrle", "bytes"}, what was written
        self.payloads = []  # [section id, payload start, payload end]

    def mark(self, name):
        self.marks[name] = len(self.b)

    def u8(self, v):
        self.b.append(v)

    def be16(self, v):
        self.b += struct.pack(">H", v)

    def be32(self, v):
        self.b += struct.pack(">I", v)

    def be64(self, v):
        self.b += struct.pack(">Q", v)

    def str8(self, s):
        self.u8(len(s))
        self.b += s.encode()

    def header(self, machine="tern-1.0"):
        self.be32(0x5145564D)
        self.be32(3)
        self.mark("config")
        self.u8(0x07)
        self.be32(len(machine))
        self.b += machine.encode()

    def command(self, cmd, data=b""):
        self.u8(0x08)
        self.be16(cmd)
        self.be16(len(data))
        self.b += data

    def section(self, kind, sid, idstr=None, instance=0, version=1):
        self.mark(f"{kind}-{sid}-{len(self.b)}")
        self.u8({"START": 1, "PART": 2, "END": 3, "FULL": 4}[kind])
        self.be32(sid)
        if kind in ("START", "FULL"):
            self.str8(idstr)
            self.be32(instance)
            self.be32(version)
        self.payloads.append([sid, len(self.b), None])

    def footer(self, sid):
        self.payloads[-1][2] = len(self.b)
        self.u8(0x7E)
        self.be32(sid)

    def mem_size(self, blocks):
        self.be64(sum(size for _, size in blocks) | MEM_SIZE)
        for name, size in blocks:
            self.str8(name)
            self.be64(size)
            self.ram[name] = {"zero": 0, "normal": 0, "xbzrle": 0, "bytes": 0}

    def page(self, kind, block, offset, cont=False, data=None):
        start = len(self.b)
        flag = {"zero": ZERO, "normal": PAGE, "xbzrle": XBZRLE}[kind]
        self.be64(offset | flag | (CONTINUE if cont else 0))
        if not cont:
            self.str8(block)
        if kind == "zero":
            self.u8(0)
        elif kind == "normal":
            self.b += data if data is not None else bytes([offset >> 12 & 0xFF]) * PAGE_SIZE
        else:
            self.u8(0x01)
            self.be16(len(data))
            self.b += data
        self.ram[block][kind] += 1
        self.ram[block]["bytes"] += len(self.b) - start

    def eos(self):
        self.be64(EOS)

    def eof_and_vmdesc(self, vmdesc):
        self.mark("eof")
        self.u8(0x00)
        self.mark("vmdesc")
        text = json.dumps(vmdesc).encode()
        self.u8(0x06)
        self.be32(len(text))
        self.b += text


def f_(name, ftype, size, **kw):
    return dict({"name": name, "type": ftype, "size": size}, **kw)


VMDESC = {"page_size": PAGE_SIZE, "devices": [
    {"name": "serial", "instance_id": 0, "vmsd_name": "uart16550", "version": 1, "fields": [
        f_("divider", "uint16", 2),
        f_("thr_ipending", "bool", 1),
        f_("delta", "int16", 2),
        f_("regs", "uint8", 1, array_len=3),
        f_("rx_fifo", "buffer", 4),
        f_("expiry", "timer", 8),
        {"name": "queue", "type": "struct", "index": 0, "struct": {
            "vmsd_name": "uart_q", "version": 1,
            "fields": [f_("head", "uint8", 1), f_("tail", "int8", 1)]}},
        {"name": "queue", "type": "struct", "index": 1, "struct": {
            "vmsd_name": "uart_q", "version": 1,
            "fields": [f_("head", "uint8", 1), f_("tail", "int8", 1)]}},
        f_("unused", "unused_buffer", 2),
    ], "subsections": [
        {"vmsd_name": "uart16550/fifo", "version": 2,
         "fields": [f_("level", "uint32", 4)]}]},
    {"name": "i8042", "instance_id": 0, "vmsd_name": "i8042", "version": 1, "fields": [
        f_("status", "uint8", 1),
        f_("pending", "uint8", 1, array_len=0),
        f_("clock", "uint64", 8),
        f_("offset", "int32", 4),
    ]},
]}

STATE_SERIAL = {
    "divider": "0x000c", "thr_ipending": True, "delta": "0xfffe (-2)",
    "regs": ["0x01", "0x02", "0x03"], "rx_fifo": "de ad be ef",
    "expiry": "ff ff ff ff ff ff ff ff",
    "queue": [{"head": "0x05", "tail": "0xff (-1)"}, {"head": "0x06", "tail": "0x07"}],
    "unused": "00 00",
    "uart16550/fifo": {"level": "0x00000010"},
}
STATE_I8042 = {"status": "0x1c", "pending": [], "clock": "0x123456789abcdef0",
               "offset": "0x00000040"}


def serial_bytes(w):
    w.be16(0x000C)
    w.u8(1)
    w.be16(0xFFFE)
    w.b += bytes([1, 2, 3])
    w.b += bytes.fromhex("deadbeef")
    w.be64(0xFFFFFFFFFFFFFFFF)
    w.b += bytes([5, 0xFF, 6, 7])
    w.b += bytes(2)
    w.u8(0x05)
    w.str8("uart16550/fifo")
    w.be32(2)
    w.be32(16)


def i8042_bytes(w):
    w.u8(0x1C)
    w.be64(0x123456789ABCDEF0)
    w.be32(0x40)


def build_stream():
    """header, PING, RAM START/PART/END over two blocks, two devices, EOF, vmdesc."""
    w = StreamWriter()
    w.header()
    w.mark("command")
    w.command(2, struct.pack(">I", 7))
    w.section("START", 0, "ram", 0, 4)
    w.mem_size([("pc.ram", 0x10000), ("rom", 0x4000)])
    w.mark("first-page")
    w.page("zero", "pc.ram", 0x0000)
    w.page("zero", "pc.ram", 0x1000, cont=True)
    w.eos()
    w.footer(0)
    w.section("PART", 0)
    w.mark("page-record")
    w.page("normal", "pc.ram", 0x2000)
    w.page("normal", "pc.ram", 0x3000, cont=True)
    w.page("normal", "rom", 0x0000)
    # XBZRLE delta: 10 bytes unchanged, 3 changed.
    w.page("xbzrle", "rom", 0x1000, cont=True, data=bytes([10, 3, 0xAA, 0xBB, 0xCC]))
    w.be64(MULTIFD_FLUSH)
    w.eos()
    w.footer(0)
    w.section("END", 0)
    w.page("zero", "rom", 0x3000)
    w.eos()
    w.footer(0)
    w.mark("serial")
    w.section("FULL", 1, "serial", 0, 1)
    serial_bytes(w)
    w.mark("serial-footer")
    w.footer(1)
    w.mark("i8042")
    w.section("FULL", 2, "i8042", 0, 1)
    i8042_bytes(w)
    w.footer(2)
    w.eof_and_vmdesc(VMDESC)
    return w


def write_stream(env, name, data):
    path = env.path(name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def analyze(env, *args):
    return run_script(env, "analyze-migration", list(args))


def ram_payload_bytes(w):
    """Bytes of the ram (id 0) sections between header and footer."""
    return sum(end - start for sid, start, end in w.payloads if sid == 0)


def test_analyze_decodes_stream(env):
    w = build_stream()
    path = write_stream(env, "full.stream", w.b)
    status, out, err = analyze(env, path)
    check_equal((status, err), (0, ""), "analyze-migration status and stderr")
    state = json.loads(out)
    check_equal(list(state), ["ram (0)", "serial (1)", "i8042 (2)"], "sections in the state")
    check_equal(state["serial (1)"], STATE_SERIAL, "decoded serial")
    check_equal(state["i8042 (2)"], STATE_I8042, "decoded i8042")
    ram = state["ram (0)"]
    check_equal(ram["section sizes"], {"pc.ram": "0x0000000000010000",
                                       "rom": "0x0000000000004000"}, "RAM block sizes")
    check_equal(ram["pages"], w.ram, "RAM page counts per block")
    check_equal(ram["pages"]["pc.ram"], {"zero": 2, "normal": 2, "xbzrle": 0,
                                         "bytes": 16 + 9 + 4111 + 4104}, "pc.ram counts")
    check_equal(ram["bytes"], ram_payload_bytes(w), "RAM payload bytes")


def test_analyze_summary(env):
    w = build_stream()
    path = write_stream(env, "full.stream", w.b)
    status, out, err = analyze(env, "--summary", path)
    check_equal((status, err), (0, ""), "--summary status and stderr")
    lines = out.splitlines()
    rom = w.ram["rom"]
    want = [
        f"file: {path} ({len(w.b)} bytes)",
        "magic: 0x5145564d (QEVM), version 3",
        "machine: tern-1.0",
        f"command: PING (2) 7, 4 bytes at 0x{w.marks['command']:x}",
        "sections: 1 START, 1 PART, 1 END, 2 FULL",
        f"ram: 2 blocks, 0x14000 bytes; pages: 3 zero, 3 normal, 1 xbzrle; "
        f"{ram_payload_bytes(w)} bytes in the stream",
        f"  block \"rom\": 0x4000 bytes; pages: 1 zero, 1 normal, 1 xbzrle; "
        f"{rom['bytes']} bytes in the stream",
        "devices: 2 (serial, i8042)",
        f"eof: at 0x{w.marks['eof']:x}",
        f"vmdesc: 2 devices, {len(json.dumps(VMDESC))} bytes at 0x{w.marks['vmdesc']:x}",
    ]
    for line in want:
        check(line in lines, f"summary lacks {line!r}:\n{out}")
    check(any(line.startswith('  FULL  id 1 "serial" instance 0 version 1: ')
              and line.endswith(f"at 0x{w.marks['serial']:x}") for line in lines),
          f"summary lacks the serial section line:\n{out}")
    check(any(line.startswith('  PART  id 0 "ram": 1 section,') for line in lines),
          f"summary lacks the PART line:\n{out}")


def test_analyze_dump_desc_and_sections(env):
    w = build_stream()
    path = write_stream(env, "full.stream", w.b)
    status, out, _ = analyze(env, "--dump", "desc", path)
    check_equal(status, 0, "--dump desc status")
    check_equal(json.loads(out), VMDESC, "--dump desc")
    status, out, _ = analyze(env, "--dump", "sections", path)
    check_equal(status, 0, "--dump sections status")
    doc = json.loads(out)
    check_equal((doc["magic"], doc["version"], doc["machine"]), ("0x5145564d", 3, "tern-1.0"),
                "header and machine")
    check_equal([(c["name"], c.get("value")) for c in doc["commands"]], [("PING", 7)],
                "commands")
    got = [(s["type"], s["section_id"], s.get("idstr"), s.get("instance_id"),
            s.get("version_id")) for s in doc["sections"]]
    check_equal(got, [("START", 0, "ram", 0, 4), ("PART", 0, "ram", None, None),
                      ("END", 0, "ram", None, None), ("FULL", 1, "serial", 0, 1),
                      ("FULL", 2, "i8042", 0, 1)], "sections")
    check_equal(doc["sections"][3]["offset"], w.marks["serial"], "serial section offset")
    check_equal((doc["eof_offset"], doc["vmdesc_offset"]), (w.marks["eof"], w.marks["vmdesc"]),
                "EOF and vmdesc offsets")


def expect_stream_error(env, name, data, *fragments, offset=None):
    path = write_stream(env, name, data)
    for args in ([path], ["--summary", path]):
        status, out, err = analyze(env, *args)
        line = one_line_error(err, f"analyze-migration: {path}: offset 0x", name)
        check_equal(status, 1, f"{name}: exit status ({line!r})")
        check_equal(out, "", f"{name}: stdout")
        if offset is not None:
            check(line.startswith(f"analyze-migration: {path}: offset 0x{offset:x}: "),
                  f"{name}: expected offset 0x{offset:x} in {line!r}")
        for f in fragments:
            check(f in line, f"{name}: {f!r} missing from {line!r}")


def test_analyze_bad_streams(env):
    good = bytes(build_stream().b)
    expect_stream_error(env, "magic", b"QEVX" + good[4:], "bad magic 0x51455658", offset=0)
    expect_stream_error(env, "version", good[:7] + b"\x02" + good[8:],
                        "unsupported stream version 2", offset=4)

    w = StreamWriter()
    w.header()
    w.mark("bad")
    w.u8(0x09)
    w.eof_and_vmdesc(VMDESC)
    expect_stream_error(env, "type", bytes(w.b), "unknown section type 0x09",
                        offset=w.marks["bad"])

    w = build_stream()
    b = bytearray(w.b)
    b[w.marks["serial-footer"] + 4] = 9  # footer of section 1 says 9
    expect_stream_error(env, "footer", bytes(b), "footer has section id 9, expected 1",
                        offset=w.marks["serial-footer"])
    # Two bytes the vmdesc does not describe before the serial footer.
    b = w.b[:w.marks["serial-footer"]] + b"\x00\x00" + w.b[w.marks["serial-footer"]:]
    expect_stream_error(env, "undescribed", bytes(b), "expected the footer 0x7e",
                        offset=w.marks["serial-footer"])

    w = StreamWriter()
    w.header()
    w.section("START", 0, "ram", 0, 4)
    w.mark("record")
    w.be64(0x80)  # RAM_SAVE_FLAG_HOOK: nothing a file may contain
    w.eof_and_vmdesc(VMDESC)
    expect_stream_error(env, "ramflags", bytes(w.b), "unknown RAM record flags 0x80",
                        offset=w.marks["record"])
    w = StreamWriter()
    w.header()
    w.section("START", 0, "block", 0, 1)
    w.eof_and_vmdesc(VMDESC)
    expect_stream_error(env, "nodecoder", bytes(w.b), 'no decoder for iterative section "block"')
    status, _, err = analyze(env, env.path("does-not-exist"))
    check_equal(status, 1, "missing file status")
    one_line_error(err, "analyze-migration: ", "missing file")


def test_analyze_truncated_streams(env):
    w = build_stream()
    good = bytes(w.b)
    page_data = w.marks["page-record"] + 8 + 1 + len("pc.ram")
    cuts = [
        ("in-magic", 2, 0, "stream magic"),
        ("in-config", w.marks["config"] + 3, w.marks["config"] + 1, "configuration length"),
        ("in-ram-header", w.marks["first-page"] + 5, w.marks["first-page"], "RAM record"),
        ("in-page-data", page_data + 100, page_data, "page 0x2000 of RAM block \"pc.ram\""),
        # The vmdesc is gone with the end of the file: devices cannot be decoded.
        ("in-device", w.marks["serial"] + 22, w.marks["serial"], "no vmdesc trailer"),
        ("in-vmdesc", len(good) - 10, w.marks["serial"], "no vmdesc trailer"),
    ]
    for name, length, offset, fragment in cuts:
        expect_stream_error(env, f"cut-{name}", good[:length], fragment, offset=offset)
    expect_stream_error(env, "cut-after-eof", good[:w.marks["vmdesc"] + 3],
                        offset=w.marks["serial"])
    # Cuts all over the stream fail cleanly too: one line, exit 1, no traceback.
    for length in range(0, len(good), 293):
        path = write_stream(env, "cut.stream", good[:length])
        status, out, err = analyze(env, path)
        one_line_error(err, f"analyze-migration: {path}: offset 0x", f"cut at {length}")
        check_equal((status, out), (1, ""), f"cut at {length}")
