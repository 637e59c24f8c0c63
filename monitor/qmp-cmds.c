/*
 * Tern's monitor commands: the one table both QMP and HMP dispatch from, and
 * the handlers.  Results and HMP output follow QEMU 7.2 (the qapi schema,
 * monitor/hmp-cmds.c) for the commands that exist there.
 *
 * Thread context: main thread, VM lock held (monitor input callbacks).
 */
#include "monitor/qmp-cmds.h"

#include <stdio.h>
#include <string.h>

#include "monitor/block-cmds.h"
#include "monitor/hmp.h"
#include "monitor/migration-cmds.h"
#include "monitor/qmp.h"
#include "system/vm.h"
#include "util/error.h"

#ifndef TERN_VERSION
#define TERN_VERSION "unknown"
#endif


static JsonObject *ret_object(JsonNode *ret)
{
    return JSON_NODE_HOLDS_OBJECT(ret) ? json_node_get_object(ret) : NULL;
}

/* ---- announce-self ---- */

/*
 * "interfaces" names NICs as QEMU's does, by the NIC's name: its -device
 * id=.  A NIC is also known by the id of the -netdev it is attached to
 * (each netdev serves one NIC; -nic's hidden netdev takes the -nic id=,
 * or "tern.nicN"), which QEMU's unnamed NICs lack.  An unknown name is
 * an error (QEMU skips it silently: a typo would announce nothing).
 */
static bool announce_select(struct vm *vm, const char *name, struct announce_params *p,
                            GError **errp)
{
    for (unsigned i = 0; i < vm->machine.nnet; i++) {
        if (!strcmp(net_backend_id(vm->machine.net[i].nb), name) ||
            (vm->nic_ids[i] && !strcmp(vm->nic_ids[i], name))) {
            p->nics |= 1ULL << i;
            return true;
        }
    }
    error_setg(errp, "announce-self: no NIC named '%s' (a NIC is named by its -device id= "
               "or the id of its -netdev)", name);
    return false;
}

static bool announce_select_array(struct vm *vm, JsonArray *a, struct announce_params *p,
                                  GError **errp)
{
    for (guint i = 0; a && i < json_array_get_length(a); i++) {
        JsonNode *n = json_array_get_element(a, i);

        if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING) {
            error_setg(errp, "Invalid parameter type for 'interfaces[%u]', expected: string", i);
            return false;
        }
        if (!announce_select(vm, json_node_get_string(n), p, errp))
            return false;
    }
    return true;
}

/* QEMU's announce-self: one set of rounds for the NICs "interfaces"
 * names, or every NIC ("id" names a timer in QEMU, where several may
 * run; Tern has one, restarted). */
static bool qmp_announce_self(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret,
                              GError **errp)
{
    static const char *const names[][2] = { { "initial", "announce-initial" },
                                            { "max", "announce-max" },
                                            { "rounds", "announce-rounds" },
                                            { "step", "announce-step" } };
    int64_t v[4];
    struct announce_params p;

    (void)ret;
    for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
        v[i] = json_object_get_int_member(args, names[i][0]);
        if (!migration_check_parameter(names[i][1], v[i], errp))
            return false;
    }
    p = (struct announce_params){ v[0], v[1], v[2], v[3], 0 };
    if (json_object_has_member(args, "interfaces") &&
        !announce_select_array(ctx->vm, json_object_get_array_member(args, "interfaces"), &p,
                               errp))
        return false;
    vm_announce_self(ctx->vm, &p);
    return true;
}

/* announce_self [interfaces] [id]: the announce-* parameters' timing;
 * interfaces is a comma-separated list of NIC names, as in QEMU. */
static bool hmp_announce_self(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret,
                              GError **errp)
{
    const struct migration_params *mp = &ctx->vm->migration.params;
    struct announce_params p = { mp->announce_initial, mp->announce_max, mp->announce_rounds,
                                 mp->announce_step, 0 };
    g_auto(GStrv) names = NULL;

    (void)ret;
    if (json_object_has_member(args, "interfaces"))
        names = g_strsplit(json_object_get_string_member(args, "interfaces"), ",", -1);
    for (unsigned i = 0; names && names[i]; i++) {
        if (*names[i] && !announce_select(ctx->vm, names[i], &p, errp))
            return false;
    }
    vm_announce_self(ctx->vm, &p);
    return true;
}

/* ---- query-version / info version ---- */

static bool qmp_query_version(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret,
                              GError **errp)
{
    JsonObject *o = json_object_new(), *q = json_object_new();

    (void)ctx, (void)args, (void)errp;
    json_object_set_int_member(q, "micro", QMP_VERSION_MICRO);
    json_object_set_int_member(q, "minor", QMP_VERSION_MINOR);
    json_object_set_int_member(q, "major", QMP_VERSION_MAJOR);
    json_object_set_object_member(o, "qemu", q);
    json_object_set_string_member(o, "package", "Tern " TERN_VERSION);
    *ret = mon_node_take_object(o);
    return true;
}

static void hmp_info_version(struct mon_ctx *ctx, JsonNode *ret, GString *out)
{
    JsonObject *o = ret_object(ret);
    JsonObject *q = json_object_get_object_member(o, "qemu");

    (void)ctx;
    g_string_append_printf(out, "%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT
                                " (%s)\n",
                           json_object_get_int_member(q, "major"),
                           json_object_get_int_member(q, "minor"),
                           json_object_get_int_member(q, "micro"),
                           json_object_get_string_member(o, "package"));
}

/* ---- query-commands ---- */

static bool qmp_query_commands(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret,
                               GError **errp)
{
    JsonArray *a = json_array_new();

    (void)args, (void)errp;
    for (const struct mon_cmd *c = ctx->table; c->name || c->hmp; c++) {
        if (c->name) {
            JsonObject *o = json_object_new();
            json_object_set_string_member(o, "name", c->name);
            json_array_add_object_element(a, o);
        }
    }
    *ret = mon_node_take_array(a);
    return true;
}

/* ---- query-status / info status ---- */

static bool qmp_query_status(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret,
                             GError **errp)
{
    JsonObject *o = json_object_new();
    enum runstate rs = ctx->vm->runstate;

    (void)args, (void)errp;
    json_object_set_string_member(o, "status", runstate_name(rs));
    json_object_set_boolean_member(o, "singlestep", false);
    json_object_set_boolean_member(o, "running", runstate_is_running(rs));
    *ret = mon_node_take_object(o);
    return true;
}

static void hmp_info_status(struct mon_ctx *ctx, JsonNode *ret, GString *out)
{
    JsonObject *o = ret_object(ret);
    const char *status = json_object_get_string_member(o, "status");
    bool running = json_object_get_boolean_member(o, "running");

    (void)ctx;
    g_string_append_printf(out, "VM status: %s", running ? "running" : "paused");
    if (!running && strcmp(status, "paused"))
        g_string_append_printf(out, " (%s)", status);
    g_string_append_c(out, '\n');
}

/* ---- query-name / info name ---- */

static bool qmp_query_name(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret,
                           GError **errp)
{
    JsonObject *o = json_object_new();

    (void)args, (void)errp;
    if (ctx->vm->name)
        json_object_set_string_member(o, "name", ctx->vm->name);
    *ret = mon_node_take_object(o);
    return true;
}

static void hmp_info_name(struct mon_ctx *ctx, JsonNode *ret, GString *out)
{
    JsonObject *o = ret_object(ret);

    (void)ctx;
    if (json_object_has_member(o, "name"))
        g_string_append_printf(out, "%s\n", json_object_get_string_member(o, "name"));
}

/* ---- query-cpus-fast / info cpus ---- */

static bool qmp_query_cpus_fast(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret,
                                GError **errp)
{
    struct cpus *cpus = &ctx->vm->cpus;
    JsonArray *a = json_array_new();

    (void)args, (void)errp;
    for (unsigned i = 0; i < cpus->n; i++) {
        JsonObject *o = json_object_new(), *props = json_object_new();
        g_autofree char *path = g_strdup_printf("/machine/unattached/device[%u]", i);

        json_object_set_int_member(o, "cpu-index", i);
        json_object_set_string_member(o, "qom-path", path);
        json_object_set_int_member(o, "thread-id", cpus->vcpu[i].tid);
        /* -smp N is N sockets of one core, as QEMU's default topology. */
        json_object_set_int_member(props, "core-id", 0);
        json_object_set_int_member(props, "thread-id", 0);
        json_object_set_int_member(props, "socket-id", i);
        json_object_set_object_member(o, "props", props);
        json_object_set_string_member(o, "target", "x86_64");
        json_array_add_object_element(a, o);
    }
    *ret = mon_node_take_array(a);
    return true;
}

static void hmp_info_cpus(struct mon_ctx *ctx, JsonNode *ret, GString *out)
{
    JsonArray *a = json_node_get_array(ret);

    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonObject *o = json_array_get_object_element(a, i);
        gint64 index = json_object_get_int_member(o, "cpu-index");

        g_string_append_printf(out, "%c CPU #%" G_GINT64_FORMAT ": thread_id=%" G_GINT64_FORMAT
                                    "\n",
                               index == ctx->cpu_index ? '*' : ' ', index,
                               json_object_get_int_member(o, "thread-id"));
    }
}

/* ---- stop, cont, system_reset, system_powerdown, quit ---- */

static bool qmp_stop(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret, GError **errp)
{
    (void)args, (void)ret;
    if (ctx->vm->runstate == RUNSTATE_INMIGRATE) {
        ctx->vm->start_paused = true; /* QEMU: do not start after the load */
        return true;
    }
    return vm_pause(ctx->vm, errp);
}

static bool qmp_cont(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret, GError **errp)
{
    enum runstate rs = ctx->vm->runstate;

    (void)args, (void)ret;
    if (rs == RUNSTATE_SHUTDOWN || rs == RUNSTATE_INTERNAL_ERROR ||
        rs == RUNSTATE_GUEST_PANICKED) {
        error_setg(errp, "Resetting the Virtual Machine is required");
        return false;
    }
    if (rs == RUNSTATE_INMIGRATE) {
        ctx->vm->start_paused = false; /* QEMU: start once the load is done */
        return true;
    }
    if (rs == RUNSTATE_FINISH_MIGRATE) {
        error_setg(errp, "The guest is stopped for the end of a migration; "
                         "it resumes by itself if the migration fails");
        return false;
    }
    return vm_resume(ctx->vm, errp);
}

static bool qmp_system_reset(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret,
                             GError **errp)
{
    (void)args, (void)ret, (void)errp;
    vm_request_reset(ctx->vm);
    return true;
}

/* Tern's machine has no ACPI, so there is no power button to press: the
 * POWERDOWN event tells management the request arrived, and the guest is
 * not notified (QEMU behaves the same for a guest that ignores ACPI).
 * Use "quit" to end the VM. */
static bool qmp_system_powerdown(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret,
                                 GError **errp)
{
    (void)args, (void)ret, (void)errp;
    vm_request_powerdown(ctx->vm);
    return true;
}

static bool qmp_quit(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret, GError **errp)
{
    (void)args, (void)ret, (void)errp;
    vm_quit(ctx->vm, "host-qmp-quit");
    return true;
}

/* ---- human-monitor-command ---- */

static bool qmp_human_monitor_command(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret,
                                      GError **errp)
{
    struct mon_ctx hmp_ctx = *ctx;
    g_autoptr(GString) out = g_string_new(NULL);

    if (json_object_has_member(args, "cpu-index")) {
        gint64 i = json_object_get_int_member(args, "cpu-index");
        if (i < 0 || i >= ctx->vm->cpus.n) {
            error_setg(errp, "Parameter 'cpu-index' expects a CPU index (0 to %u)",
                       ctx->vm->cpus.n - 1);
            return false;
        }
        hmp_ctx.cpu_index = i;
    }
    hmp_execute(&hmp_ctx, json_object_get_string_member(args, "command-line"), out);
    /* QEMU's monitor writes "\r\n" here too. */
    g_autofree char *crlf = hmp_crlf(out->str);
    *ret = json_node_init_string(json_node_alloc(), crlf);
    return true;
}

/* ---- pmemsave: guest-physical memory to a file (tests check RAM with it) ---- */

/* Page by page: a range may end at a hole, which is then an error. */
static bool pmemsave_write(const struct guest_memory *mem, gint64 addr, gint64 size, FILE *f,
                           GError **errp)
{
    for (gint64 done = 0; done < size;) {
        gint64 n = MIN(size - done, 4096 - ((addr + done) & 4095));
        const void *p = memory_gpa_to_hva(mem, addr + done, n);

        if (!p) {
            error_setg(errp, "Invalid addr 0x%" G_GINT64_MODIFIER "x/size %" G_GINT64_FORMAT
                             " specified",
                       addr, size);
            return false;
        }
        if (fwrite(p, 1, n, f) != (size_t)n) {
            error_setg(errp, "writing memory failed");
            return false;
        }
        done += n;
    }
    return true;
}

static bool qmp_pmemsave(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret, GError **errp)
{
    gint64 addr = json_object_get_int_member(args, "val");
    gint64 size = json_object_get_int_member(args, "size");
    const char *name = json_object_get_string_member(args, "filename");
    FILE *f;
    bool ok;

    (void)ret;
    if (addr < 0 || size < 0) {
        error_setg(errp, "Invalid addr 0x%" G_GINT64_MODIFIER "x/size %" G_GINT64_FORMAT
                         " specified",
                   addr, size);
        return false;
    }
    f = fopen(name, "wb");
    if (!f) {
        error_setg(errp, "Could not open '%s'", name);
        return false;
    }
    ok = pmemsave_write(&ctx->vm->mem, addr, size, f, errp);
    if (fclose(f) != 0 && ok) {
        error_setg(errp, "writing memory to '%s' failed", name);
        ok = false;
    }
    return ok;
}

/* ---- HMP only: help, info registers, cpu ---- */

static bool hmp_help(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret, GError **errp)
{
    g_autoptr(GString) out = g_string_new(NULL);

    (void)errp;
    hmp_print_help(ctx->table, json_object_get_string_member_with_default(args, "name", NULL),
                   out);
    *ret = json_node_init_string(json_node_alloc(), out->str);
    return true;
}

static bool hmp_info_registers(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret,
                               GError **errp)
{
    struct vm *vm = ctx->vm;
    bool all = json_object_get_boolean_member_with_default(args, "all", false);
    bool running = runstate_is_running(vm->runstate);
    g_autoptr(GString) out = g_string_new(NULL);
    bool ok = true;

    /* Registers are read from parked vCPUs only: stop them for the
     * moment it takes, without a run-state change or events. */
    if (running)
        cpus_pause(&vm->cpus);
    /* A pause a vCPU asked for (reset, exit) must survive this one. */
    running = running && !vm->request_posted;
    for (unsigned i = 0; ok && i < vm->cpus.n; i++) {
        if (!all && i != ctx->cpu_index)
            continue;
        if (all)
            g_string_append_printf(out, "\nCPU#%u\n", i);
        ok = kvm_x86_dump_state(vm->cpus.vcpu[i].fd, out, errp);
    }
    if (running)
        cpus_resume(&vm->cpus);
    if (ok)
        *ret = json_node_init_string(json_node_alloc(), out->str);
    return ok;
}

static bool hmp_cpu(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret, GError **errp)
{
    gint64 i = json_object_get_int_member(args, "index");

    (void)ret;
    if (i < 0 || i >= ctx->vm->cpus.n) {
        error_setg(errp, "invalid CPU index");
        return false;
    }
    ctx->cpu_index = i;
    return true;
}

static const struct mon_arg args_qmp_capabilities[] = {
    { "enable", MON_ARG_ARRAY, .optional = true },
    { NULL },
};
static const struct mon_arg args_human_monitor_command[] = {
    { "command-line", MON_ARG_STR },
    { "cpu-index", MON_ARG_INT, .optional = true },
    { NULL },
};
static const struct mon_arg args_help[] = {
    { "name", MON_ARG_STR, .optional = true },
    { NULL },
};
static const struct mon_arg args_info_registers[] = {
    { "all", MON_ARG_BOOL, .optional = true, .hmp_flag = 'a' },
    { NULL },
};
static const struct mon_arg args_cpu[] = {
    { "index", MON_ARG_INT },
    { NULL },
};
static const struct mon_arg args_pmemsave[] = {
    { "val", MON_ARG_INT },
    { "size", MON_ARG_INT },
    { "filename", MON_ARG_STR },
    { "cpu-index", MON_ARG_INT, .optional = true },
    { NULL },
};
static const struct mon_arg args_migrate[] = {
    { "uri", MON_ARG_STR },
    { "blk", MON_ARG_BOOL, .optional = true },
    { "inc", MON_ARG_BOOL, .optional = true },
    { "detach", MON_ARG_BOOL, .optional = true },
    { "resume", MON_ARG_BOOL, .optional = true },
    { NULL },
};
static const struct mon_arg args_hmp_migrate[] = {
    { "detach", MON_ARG_BOOL, .optional = true, .hmp_flag = 'd' },
    { "blk", MON_ARG_BOOL, .optional = true, .hmp_flag = 'b' },
    { "inc", MON_ARG_BOOL, .optional = true, .hmp_flag = 'i' },
    { "uri", MON_ARG_STR },
    { NULL },
};
static const struct mon_arg args_migrate_incoming[] = {
    { "uri", MON_ARG_STR },
    { "exit-on-error", MON_ARG_BOOL, .optional = true },
    { NULL },
};
static const struct mon_arg args_migrate_set_parameters[] = {
    { "announce-initial", MON_ARG_INT, .optional = true },
    { "announce-max", MON_ARG_INT, .optional = true },
    { "announce-rounds", MON_ARG_INT, .optional = true },
    { "announce-step", MON_ARG_INT, .optional = true },
    { "max-bandwidth", MON_ARG_INT, .optional = true },
    { "downtime-limit", MON_ARG_INT, .optional = true },
    { NULL },
};
static const struct mon_arg args_hmp_migrate_set_parameter[] = {
    { "parameter", MON_ARG_STR },
    { "value", MON_ARG_STR },
    { NULL },
};
static const struct mon_arg args_migrate_set_capabilities[] = {
    { "capabilities", MON_ARG_ARRAY },
    { NULL },
};
static const struct mon_arg args_hmp_migrate_set_capability[] = {
    { "capability", MON_ARG_STR },
    { "state", MON_ARG_STR },
    { NULL },
};
static const struct mon_arg args_migrate_continue[] = {
    { "state", MON_ARG_STR },
    { NULL },
};
static const struct mon_arg args_x_block_inject_error[] = {
    { "device", MON_ARG_STR },
    { "op", MON_ARG_STR },
    { "errno", MON_ARG_INT },
    { "offset", MON_ARG_INT, .optional = true },
    { "bytes", MON_ARG_INT, .optional = true },
    { NULL },
};
static const struct mon_arg args_announce_self[] = {
    { "initial", MON_ARG_INT },
    { "max", MON_ARG_INT },
    { "rounds", MON_ARG_INT },
    { "step", MON_ARG_INT },
    { "interfaces", MON_ARG_ARRAY, .optional = true },
    { "id", MON_ARG_STR, .optional = true },
    { NULL },
};
static const struct mon_arg args_hmp_announce_self[] = {
    { "interfaces", MON_ARG_STR, .optional = true },
    { "id", MON_ARG_STR, .optional = true },
    { NULL },
};
static const struct mon_arg args_fdname[] = {
    { "fdname", MON_ARG_STR },
    { NULL },
};

const struct mon_cmd qmp_commands[] = {
    { "qmp_capabilities", NULL, args_qmp_capabilities, NULL, NULL, NULL,
      "enable QMP capabilities (leave capabilities negotiation mode)" },
    { "query-version", "info version", NULL, qmp_query_version, hmp_info_version, NULL,
      "show the version of QEMU this Tern is compatible with" },
    { "query-commands", NULL, NULL, qmp_query_commands, NULL, NULL,
      "list the QMP commands" },
    { "query-status", "info status", NULL, qmp_query_status, hmp_info_status, NULL,
      "show the current VM status (running|paused)" },
    { "query-name", "info name", NULL, qmp_query_name, hmp_info_name, NULL,
      "show the current VM name" },
    { "query-cpus-fast", "info cpus", NULL, qmp_query_cpus_fast, hmp_info_cpus, NULL,
      "show infos for each CPU" },
    { NULL, "info registers", args_info_registers, hmp_info_registers, NULL, "[-a]",
      "show the cpu registers (-a: all CPUs)" },
    { "stop", "stop", NULL, qmp_stop, NULL, NULL, "stop emulation" },
    { "cont", "cont|c", NULL, qmp_cont, NULL, NULL, "resume emulation" },
    { "system_reset", "system_reset", NULL, qmp_system_reset, NULL, NULL, "reset the system" },
    { "system_powerdown", "system_powerdown", NULL, qmp_system_powerdown, NULL, NULL,
      "send system power down event (no ACPI: the guest is not notified)" },
    { "quit", "quit|q", NULL, qmp_quit, NULL, NULL, "quit the emulator" },
    { "human-monitor-command", NULL, args_human_monitor_command, qmp_human_monitor_command,
      NULL, NULL, "run an HMP command line and return its output" },
    { "migrate", NULL, args_migrate, qmp_migrate, NULL, NULL, "migrate to a URI" },
    { NULL, "migrate", args_hmp_migrate, hmp_migrate, NULL, "[-d] uri",
      "migrate to URI (tcp:H:P, unix:PATH, exec:CMD, fd:NAME, file:PATH); -d: do not wait "
      "for completion" },
    { "migrate_cancel", "migrate_cancel", NULL, qmp_migrate_cancel, NULL, NULL,
      "cancel the current VM migration" },
    { "migrate-continue", "migrate_continue", args_migrate_continue, qmp_migrate_continue, NULL,
      "state", "continue migration from the given paused state (pre-switchover)" },
    { "migrate-incoming", "migrate_incoming", args_migrate_incoming, qmp_migrate_incoming, NULL,
      "uri", "continue an incoming migration from an -incoming defer" },
    { "query-migrate", "info migrate", NULL, qmp_query_migrate, hmp_info_migrate, NULL,
      "show migration status" },
    { "migrate-set-parameters", NULL, args_migrate_set_parameters, qmp_migrate_set_parameters,
      NULL, NULL, "set migration parameters" },
    { NULL, "migrate_set_parameter", args_hmp_migrate_set_parameter, hmp_migrate_set_parameter,
      NULL, "parameter value", "set the parameter for migration" },
    { "query-migrate-parameters", "info migrate_parameters", NULL, qmp_query_migrate_parameters,
      hmp_info_migrate_parameters, NULL, "show current migration parameters" },
    { "migrate-set-capabilities", NULL, args_migrate_set_capabilities,
      qmp_migrate_set_capabilities, NULL, NULL, "set migration capabilities" },
    { NULL, "migrate_set_capability", args_hmp_migrate_set_capability,
      hmp_migrate_set_capability, NULL, "capability state",
      "enable/disable the usage of a capability for migration" },
    { "query-migrate-capabilities", "info migrate_capabilities", NULL,
      qmp_query_migrate_capabilities, hmp_info_migrate_capabilities, NULL,
      "show current migration capabilities" },
    { "getfd", "getfd", args_fdname, qmp_getfd, NULL, "getfd name",
      "receive a file descriptor via SCM rights and assign it a name" },
    { "closefd", "closefd", args_fdname, qmp_closefd, NULL, "closefd name",
      "close a file descriptor previously passed via SCM rights" },
    { "pmemsave", "pmemsave", args_pmemsave, qmp_pmemsave, NULL, "addr size file",
      "save to disk physical memory dump starting at 'addr' of size 'size'" },
    { "announce-self", NULL, args_announce_self, qmp_announce_self, NULL, NULL,
      "announce the NICs on the network (RARP rounds and the guests' own announcements)" },
    { NULL, "announce_self", args_hmp_announce_self, hmp_announce_self, NULL,
      "[interfaces] [id]",
      "announce the NICs on the network (interfaces: comma-separated NIC names, default all), "
      "timed by the announce-* migration parameters" },
    { "query-block", "info block", NULL, qmp_query_block, hmp_info_block, NULL,
      "show the block devices" },
    { "x-block-inject-error", "x_block_inject_error", args_x_block_inject_error,
      qmp_x_block_inject_error, NULL, "device op errno [offset] [bytes]",
      "(tests) fail a disk's requests of kind op (read|write|flush|discard|write-zeroes|all) "
      "with errno; 0 removes the rule" },
    { NULL, "cpu", args_cpu, hmp_cpu, NULL, "index", "set the default CPU" },
    { NULL, "help|?", args_help, hmp_help, NULL, "[cmd]", "show the help" },
    { NULL, NULL },
};
