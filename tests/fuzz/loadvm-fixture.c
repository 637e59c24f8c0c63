#include "tests/fuzz/loadvm-fixture.h"

#include <string.h>

#include "util/error.h"

/*
 * The fake RAM section, record by record: be64 (offset | flags) with flags
 * 0x02 ZERO (then u8 fill, must be 0), 0x08 PAGE (then 4096 bytes), 0x10 EOS
 * (ends the section payload).  Offsets must be page aligned and inside RAM.
 */
enum { F_ZERO = 0x02, F_PAGE = 0x08, F_EOS = 0x10, PAGE = 4096 };

static void fx_send_page(QEMUFile *f, struct fixture *fx, uint32_t page)
{
    const uint8_t *p = fx->ram + page * PAGE;
    bool zero = true;

    for (unsigned i = 0; i < PAGE && zero; i++)
        zero = !p[i];
    qemu_file_put_be64(f, (uint64_t)page * PAGE | (zero ? F_ZERO : F_PAGE));
    if (zero)
        qemu_file_put_byte(f, 0);
    else
        qemu_file_put_buffer(f, p, PAGE);
}

static bool fx_save_setup(QEMUFile *f, void *opaque, GError **errp)
{
    (void)opaque, (void)errp;
    qemu_file_put_be64(f, F_EOS);
    return true;
}

static int fx_iterate(QEMUFile *f, void *opaque, GError **errp)
{
    struct fixture *fx = opaque;

    (void)errp;
    for (int i = 0; i < 4 && fx->pages_sent < FIXTURE_RAM_SIZE / PAGE; i++)
        fx_send_page(f, fx, fx->pages_sent++);
    qemu_file_put_be64(f, F_EOS);
    return fx->pages_sent == FIXTURE_RAM_SIZE / PAGE;
}

static bool fx_complete(QEMUFile *f, void *opaque, GError **errp)
{
    struct fixture *fx = opaque;

    (void)errp;
    while (fx->pages_sent < FIXTURE_RAM_SIZE / PAGE)
        fx_send_page(f, fx, fx->pages_sent++);
    qemu_file_put_be64(f, F_EOS);
    return true;
}

static bool fx_load_setup(void *opaque, GError **errp)
{
    (void)errp;
    ((struct fixture *)opaque)->setup_done = true;
    return true;
}

static bool fx_load_state(QEMUFile *f, void *opaque, int version_id, GError **errp)
{
    struct fixture *fx = opaque;

    (void)version_id;
    for (;;) {
        uint64_t x = qemu_file_get_be64(f), off = x & ~(uint64_t)(PAGE - 1);
        unsigned flags = x & (PAGE - 1);

        if (qemu_file_get_error(f))
            return true; /* the caller reports the stream error */
        if (flags == F_EOS)
            return true;
        if (off >= FIXTURE_RAM_SIZE) {
            error_setg(errp, "page offset 0x%" G_GINT64_MODIFIER "x beyond RAM", off);
            return false;
        }
        if (flags == F_ZERO) {
            if (qemu_file_get_byte(f) != 0) {
                error_setg(errp, "zero page with a non-zero fill byte");
                return false;
            }
            memset(fx->ram + off, 0, PAGE);
        } else if (flags == F_PAGE) {
            qemu_file_get_buffer(f, fx->ram + off, PAGE);
        } else {
            error_setg(errp, "unknown RAM record flags 0x%x", flags);
            return false;
        }
    }
}

static void fx_load_cleanup(void *opaque)
{
    ((struct fixture *)opaque)->setup_done = false;
}

static const struct savevm_live_ops fx_ram_ops = {
    .save_setup = fx_save_setup,
    .save_live_iterate = fx_iterate,
    .save_live_complete = fx_complete,
    .load_setup = fx_load_setup,
    .load_state = fx_load_state,
    .load_cleanup = fx_load_cleanup,
};

void fixture_init(struct fixture *fx)
{
    g_autoptr(GError) err = NULL;

    memset(fx, 0, sizeof(*fx));
    savevm_init(&fx->sv, "tern-1.0");
    uart16550_reset(&fx->machine.uart);
    i8042_reset(&fx->machine.i8042);
    if (!savevm_register_live(&fx->sv, "ram", 0, 4, 4, &fx_ram_ops, fx, &err) ||
        !machine_register_vmstate(&fx->machine, &fx->sv, true, &err))
        g_error("fixture: %s", err->message);
}

void fixture_destroy(struct fixture *fx)
{
    savevm_destroy(&fx->sv);
}

GByteArray *fixture_make_seed(unsigned n)
{
    struct fixture *fx = g_new(struct fixture, 1);
    QEMUFile *f = qemu_file_new_mem_output();
    g_autoptr(GError) err = NULL;
    GByteArray *out = g_byte_array_new();

    fixture_init(fx);
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
    for (unsigned i = 0; i < n; i++)
        savevm_save_iterate(&fx->sv, f, &err);
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
    if (fx->setup_done) /* load_cleanup must balance load_setup */
        __builtin_trap();
    qemu_file_close(f, NULL);
    fixture_destroy(fx);
    g_free(fx);
    return ok;
}
