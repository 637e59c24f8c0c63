"""migbench's adapter for Tern (see ../shared/bench/README.md, "Adapter
interface").  Tern speaks QEMU's QMP, so this is QemuAdapter with Tern's
command line, and with the settings Tern does not implement refused rather
than ignored."""
import os

import migbench

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class TernAdapter(migbench.QemuAdapter):
    name = "tern"

    def __init__(self, binary=None):
        super().__init__(binary=binary or os.environ.get("TERN",
                                                         os.path.join(TOP, "build", "tern")),
                         incoming="direct")

    def version(self):
        try:
            out = migbench.subprocess.run([self.binary, "-version"], capture_output=True,
                                          text=True, timeout=10).stdout
            return out.splitlines()[0].strip()
        except (OSError, migbench.subprocess.SubprocessError, IndexError):
            return "unknown"

    def launch(self, role, vm, run_dir, incoming_uri, mig=None):
        if role == "dst" and vm.dst_prealloc:
            raise RuntimeError("tern has no -mem-prealloc; its destination "
                                        "prefaults RAM during the load by itself")
        qmp_path = os.path.join(run_dir, "%s.qmp" % role)
        serial = os.path.join(run_dir, "%s.serial" % role)
        log = os.path.join(run_dir, "%s.log" % role)
        argv = [self.binary, "-name", "migbench-%s" % role, "-m", "%dM" % vm.mem_mib,
                "-smp", str(vm.vcpus), "-display", "none",
                "-kernel", vm.kernel, "-append", vm.cmdline,
                "-serial", "file:%s" % serial,
                "-qmp", "unix:%s,server,nowait" % qmp_path]
        if role == "src" and vm.ram_image:
            argv += ["-mem-path", vm.ram_image]
        if role == "dst":
            argv += ["-incoming", incoming_uri]
        open(serial, "wb").close()
        p = migbench.spawn(argv, log)
        v = migbench.VM(role=role, proc=p, serial_path=serial, log_path=log)
        v.info["argv"] = argv
        v.info["incoming"] = "direct"
        try:
            v.ctl = migbench.QMP(qmp_path, timeout=30, proc=p)
        except Exception:
            migbench.reap_vm(self, v)
            raise
        return v

    def _set_caps(self, vm, mig, on_destination):
        unsupported = [n for n, on in (("multifd", mig.multifd_channels),
                                       ("auto-converge", mig.auto_converge),
                                       ("compress", mig.compression),
                                       ("xbzrle", mig.xbzrle),
                                       ("postcopy-ram", mig.postcopy)) if on]
        if unsupported:
            raise RuntimeError("tern does not implement " + ", ".join(unsupported))
        caps = [{"capability": "events", "state": True}]
        vm.ctl.cmd("migrate-set-capabilities", {"capabilities": caps})
        return {"events": True}

    def _set_params(self, vm, mig, on_destination):
        params = {"max-bandwidth": mig.max_bandwidth, "downtime-limit": mig.downtime_ms}
        vm.ctl.cmd("migrate-set-parameters", params)
        return params
