/*
 * tern: argv -> options -> VM -> main loop -> exit status.
 * The only place that prints a fatal error and exits.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "monitor/monitor.h"
#include "system/options.h"
#include "system/vm.h"

static int main_dump_vmstate(struct options *opts)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *json = vm_dump_vmstate(opts->machine, &err);
    int status = 0;

    if (!json || !g_file_set_contents(opts->dump_vmstate, json, -1, &err)) {
        fprintf(stderr, "tern: -dump-vmstate %s: %s\n", opts->dump_vmstate, err->message);
        status = 1;
    }
    options_clear(opts);
    return status;
}

int main(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    struct options opts;
    struct monitors *mons;
    struct vm *vm;
    int status;

    signal(SIGPIPE, SIG_IGN); /* a closed stdout or socket is an error, not death */
    if (!options_parse(&opts, argc, argv, &err)) {
        fprintf(stderr, "tern: %s\n", err->message);
        return 1;
    }
    switch (opts.action) {
    case OPTIONS_HELP:
        options_print_help(stdout);
        options_clear(&opts);
        return 0;
    case OPTIONS_VERSION:
        options_print_version(stdout);
        options_clear(&opts);
        return 0;
    case OPTIONS_LISTED:
        options_clear(&opts);
        return 0;
    case OPTIONS_DUMP_VMSTATE:
        return main_dump_vmstate(&opts);
    case OPTIONS_RUN:
        break;
    }

    vm = vm_new(&opts, &err);
    if (!vm) {
        options_clear(&opts);
        fprintf(stderr, "tern: %s\n", err->message);
        return 1;
    }
    vm_lock(vm);
    mons = monitors_new(vm, opts.monitors, &err);
    options_clear(&opts);
    /* A signal while waiting for a monitor client ends before the start. */
    if (!mons || (!vm->exit_requested && !vm_start(vm, &err))) {
        fprintf(stderr, "tern: %s\n", err->message);
        monitors_free(mons);
        vm_unlock(vm);
        vm_free(vm);
        return 1;
    }
    status = vm_run(vm);
    monitors_free(mons);
    vm_unlock(vm);
    fflush(stdout);
    vm_free(vm);
    return status;
}
