#include "tests/fuzz/loadvm-fixture.h"

#include <string.h>

#include "util/error.h"

#define PAGE RAM_PAGE_SIZE

void fixture_init(struct fixture *fx)
{
    g_autoptr(GError) err = NULL;

    memset(fx, 0, sizeof(*fx));
    fx->ram = g_malloc0(FIXTURE_RAM_SIZE);
    savevm_init(&fx->sv, "tern-1.0");
    ram_state_init(&fx->rs, NULL, NULL);
    uart16550_reset(&fx->machine.uart);
    i8042_reset(&fx->machine.i8042);
    if (!ram_add_block(&fx->rs, "pc.ram", fx->ram, FIXTURE_RAM_SIZE, &err) ||
        !ram_register(&fx->rs, &fx->sv, &err) ||
        !machine_register_vmstate(&fx->machine, &fx->sv, true, &err))
        g_error("fixture: %s", err->message);
}

void fixture_destroy(struct fixture *fx)
{
    savevm_destroy(&fx->sv);
    ram_state_destroy(&fx->rs);
    g_free(fx->ram);
}

static int64_t fixture_clock(void *opaque)
{
    return *(int64_t *)opaque;
}

GByteArray *fixture_make_seed(unsigned n)
{
    struct fixture *fx = g_new(struct fixture, 1);
    QEMUFile *f = qemu_file_new_mem_output();
    g_autoptr(GError) err = NULL;
    GByteArray *out = g_byte_array_new();
    int64_t now = 0;

    fixture_init(fx);
    /* 4 pages per 100 ms window of a fake clock: n PART sections */
    qemu_file_set_clock(f, fixture_clock, &now);
    qemu_file_set_rate_limit(f, 4 * (PAGE + 16) * 10);
    for (unsigned i = 0; i < n * 3; i++) /* some non-zero pages */
        memset(fx->ram + (i * 5 % (FIXTURE_RAM_SIZE / PAGE)) * PAGE + i, 0x40 + i, 100);
    fx->machine.uart.s.scr = n;
    fx->machine.uart.s.rx_count = n % 4;
    fx->machine.uart.s.rx_head = n;
    fx->machine.i8042.s.cmd_byte = 0x45 + n;
    savevm_write_header(&fx->sv, f);
    if (n % 2)
        savevm_write_command(f, MIG_CMD_OPEN_RETURN_PATH, NULL, 0);
    if (!savevm_save_setup(&fx->sv, f, &err))
        g_error("seed: %s", err->message);
    for (unsigned i = 0; i < n; i++) {
        savevm_save_iterate(&fx->sv, f, &err);
        now += 100 * 1000 * 1000;
        ram_mark_dirty(&fx->rs, 0, i * 3 * PAGE, 1); /* sent again later */
    }
    if (!savevm_save_complete(&fx->sv, f, &err))
        g_error("seed: %s", err->message);
    g_byte_array_append(out, qemu_file_mem_data(f)->data, qemu_file_mem_data(f)->len);
    qemu_file_close(f, NULL);
    fixture_destroy(fx);
    g_free(fx);
    return out;
}

bool fixture_load(const uint8_t *data, size_t len, GError **errp)
{
    struct fixture *fx = g_new(struct fixture, 1);
    QEMUFile *f;
    bool ok;

    fixture_init(fx);
    f = qemu_file_new_mem_input(data, len);
    ok = savevm_load(&fx->sv, f, errp);
    qemu_file_close(f, NULL);
    fixture_destroy(fx);
    g_free(fx);
    return ok;
}
