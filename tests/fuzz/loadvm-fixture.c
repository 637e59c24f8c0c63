#include "tests/fuzz/loadvm-fixture.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hw/x86/e820.h"
#include "hw/x86/layout.h"
#include "util/error.h"
#include "util/le.h"
#include "util/sockets.h"

#define PAGE RAM_PAGE_SIZE

/* ---- the host: main loop and disk, once per process ---- */

static gpointer fixture_host_loop(gpointer opaque)
{
    struct main_loop *ml = opaque;

    main_loop_lock(ml);
    main_loop_run(ml);
    main_loop_unlock(ml);
    return NULL;
}

/* The image as `-drive file=IMG,if=virtio` on an incoming tern opens it:
 * writable, no write lock until the guest would start. */
static void fixture_host_open_disk(struct fixture_host *h)
{
    g_autofree char *path = NULL;
    g_autoptr(GError) err = NULL;
    struct block_options o = { .inactive = true };

    h->disk_fd = memfd_create("fixture-disk", MFD_CLOEXEC);
    if (h->disk_fd < 0 || ftruncate(h->disk_fd, FIXTURE_DISK_SIZE) < 0)
        g_error("fixture: cannot create the disk: %s", g_strerror(errno));
    path = g_strdup_printf("/proc/self/fd/%d", h->disk_fd);
    o.file = path;
    main_loop_lock(&h->ml);
    h->disk = block_open(h->ml.ctx, &o, &err);
    main_loop_unlock(&h->ml);
    if (!h->disk)
        g_error("fixture: %s", err->message);
}

/* Where each fixture's netdev connects: `-netdev stream,server=off,
 * addr.type=unix,addr.path=DIR/net`, and the fixture is the server. */
static void fixture_host_listen_net(struct fixture_host *h)
{
    g_autoptr(GError) err = NULL;
    struct net_options *o = &h->net_opt;

    h->net_dir = g_dir_make_tmp("tern-fuzz-net-XXXXXX", &err);
    if (!h->net_dir)
        g_error("fixture: %s", err->message);
    net_options_init(o);
    o->type = NET_TYPE_STREAM;
    o->id = g_strdup("n0");
    o->addr = (struct sock_addr){ .kind = SOCK_UNIX,
                                  .path = g_build_filename(h->net_dir, "net", NULL) };
    h->net_listen_fd = sock_listen(&o->addr, 4, &err);
    if (h->net_listen_fd < 0)
        g_error("fixture: %s", err->message);
    g_cond_init(&h->settled_cond);
}

struct fixture_host *fixture_host_new(void)
{
    struct fixture_host *h = g_new0(struct fixture_host, 1);

    main_loop_init(&h->ml);
    h->thread = g_thread_new("fixture-main-loop", fixture_host_loop, &h->ml);
    fixture_host_open_disk(h);
    fixture_host_listen_net(h);
    return h;
}

void fixture_host_free(struct fixture_host *h)
{
    close(h->net_listen_fd);
    g_unlink(h->net_opt.addr.path);
    g_rmdir(h->net_dir);
    g_free(h->net_dir);
    net_options_clear(&h->net_opt);
    g_cond_clear(&h->settled_cond);
    main_loop_lock(&h->ml);
    block_close(h->disk);
    main_loop_unlock(&h->ml);
    close(h->disk_fd);
    main_loop_quit(&h->ml);
    g_thread_join(h->thread);
    main_loop_destroy(&h->ml);
    g_free(h);
}

/* Holes only: the last load's writes are gone. */
void fixture_host_reset_disk(struct fixture_host *h)
{
    if (ftruncate(h->disk_fd, 0) < 0 || ftruncate(h->disk_fd, FIXTURE_DISK_SIZE) < 0)
        g_error("fixture: cannot reset the disk: %s", g_strerror(errno));
}

/* ---- the destination ---- */

/* RAM as tern has it (system/memory.c): a memfd mapped shared, whose holes
 * the "ram" handler knows to be zero without reading them.  Fresh for each
 * of the fuzzer's executions at the cost of a few system calls, and between
 * two PROT_NONE pages, so that a write past either end of the block faults
 * at once (ASan does not watch mmap'ed memory). */
static void fixture_ram_new(struct fixture *fx)
{
    uint8_t *m = mmap(NULL, FIXTURE_RAM_SIZE + 2 * PAGE, PROT_NONE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    fx->ram_fd = memfd_create("fixture-ram", MFD_CLOEXEC);
    if (m == MAP_FAILED || fx->ram_fd < 0 || ftruncate(fx->ram_fd, FIXTURE_RAM_SIZE) < 0 ||
        mmap(m + PAGE, FIXTURE_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
             fx->ram_fd, 0) == MAP_FAILED)
        g_error("fixture: cannot map %u bytes of RAM: %s", FIXTURE_RAM_SIZE, g_strerror(errno));
    fx->ram = m + PAGE;
    /* tern's layout for -m 2M (system/memory.c): one range at 0 */
    fx->mem = (struct guest_memory){ .fd = fx->ram_fd, .shared = true, .base = fx->ram,
                                     .size = FIXTURE_RAM_SIZE };
    fx->mem.nranges = e820_ram_layout(FIXTURE_RAM_SIZE, fx->mem.ranges);
    fx->mem.ranges[0].hva = fx->ram;
    fx->vram = (struct virtqueue_ram){ .mem = &fx->mem };
}

static void fixture_ram_free(struct fixture *fx)
{
    munmap(fx->ram - PAGE, FIXTURE_RAM_SIZE + 2 * PAGE);
    close(fx->ram_fd);
}

static void fixture_cpu_loaded(void *opaque)
{
    struct fixture *fx = opaque;

    fx->cpus_loaded++;
}

/* -netdev stream to the host's socket, the fixture's end accepted, and
 * the NIC on it as hw/x86/machine.c machine_init_virtio_net() puts NIC 0
 * behind one disk (no irq wired, no iomap: nothing dispatches MMIO). */
static bool fixture_init_nic(struct fixture *fx, GError **errp)
{
    static const uint8_t mac[VIRTIO_NET_MAC_LEN] = FIXTURE_NIC_MAC;
    struct machine *m = &fx->machine;

    fx->nb = net_backend_open(fx->host->ml.ctx, &fx->host->net_opt, errp);
    if (!fx->nb)
        return false;
    fx->wire_fd = sock_accept(fx->host->net_listen_fd);
    if (fx->wire_fd < 0) {
        error_setg_errno(errp, errno, "fixture: no connection from the netdev");
        return false;
    }
    if (!virtio_net_init(&m->net[0], fx->nb, mac, &fx->vram,
                         LAYOUT_VIRTIO_MMIO + FIXTURE_NIC_SLOT * LAYOUT_VIRTIO_MMIO_STRIDE,
                         (struct irq_line){ 0 }, errp))
        return false;
    m->nnet = 1;
    return true;
}

static bool fixture_init_devices(struct fixture *fx, GError **errp)
{
    struct machine *m = &fx->machine;

    for (unsigned i = 0; i < FIXTURE_CPUS; i++) {
        if (!kvm_cpu_state_init_detached(&fx->cpu[i], i, FIXTURE_XSAVE_SIZE, fixture_cpu_loaded,
                                         fx, errp))
            return false;
    }
    m->has_uart = true;
    uart16550_init(&m->uart, NULL, (struct irq_line){ 0 });
    i8042_init(&m->i8042, (struct machine_ctl){ 0 });
    m->has_debug_exit = true;
    debug_exit_init(&m->debug_exit, (struct machine_ctl){ 0 }, FIXTURE_DEBUG_EXIT_BASE,
                    FIXTURE_DEBUG_EXIT_SIZE);
    /* hw/x86/machine.c machine_init_virtio_blk(), slot 0, no irq wired */
    virtio_blk_init(&m->blk[0], fx->host->disk, NULL, &fx->vram, LAYOUT_VIRTIO_MMIO,
                    (struct irq_line){ 0 });
    m->nblk = 1;
    return fixture_init_nic(fx, errp);
}

/* system/vm.c's vm_register_sections() order. */
static bool fixture_register(struct fixture *fx, GError **errp)
{
    if (!block_mig_add_disk(&fx->bm, FIXTURE_DISK_ID, fx->host->disk, errp) ||
        !block_mig_register(&fx->bm, &fx->sv, errp) || !ram_register(&fx->rs, &fx->sv, errp))
        return false;
    for (unsigned i = 0; i < FIXTURE_CPUS; i++) {
        if (!savevm_register_vmsd(&fx->sv, "cpu", i, &kvm_cpu_state_vmstate, &fx->cpu[i].s,
                                  errp))
            return false;
    }
    return kvm_vm_state_register(&fx->vm_state, NULL, &fx->sv, errp) &&
           machine_register_vmstate(&fx->machine, &fx->sv, false, errp);
}

/* Built with the VM lock held, as vm_new() builds a VM. */
void fixture_init(struct fixture *fx, struct fixture_host *h)
{
    g_autoptr(GError) err = NULL;

    memset(fx, 0, sizeof(*fx));
    fx->host = h;
    fx->wire_fd = -1;
    fixture_ram_new(fx);
    savevm_init(&fx->sv, "tern-1.0");
    /* the loader takes it around device sections (system/vm-migration.c) */
    fx->sv.device_lock = &h->ml.lock;
    ram_state_init(&fx->rs, NULL, NULL);
    block_mig_init(&fx->bm, &h->ml.lock);
    main_loop_lock(&h->ml);
    if (!fixture_init_devices(fx, &err) ||
        !ram_add_block(&fx->rs, "pc.ram", fx->ram, FIXTURE_RAM_SIZE, &err) ||
        !fixture_register(fx, &err))
        g_error("fixture: %s", err->message);
    main_loop_unlock(&h->ml);
    ram_block_set_fd(&fx->rs, 0, fx->ram_fd, 0);
}

/* Nothing is in flight on the disk: every load and save drains. */
void fixture_destroy(struct fixture *fx)
{
    main_loop_lock(&fx->host->ml);
    machine_destroy(&fx->machine);
    net_backend_free(fx->nb); /* its watches are on the loop's context */
    main_loop_unlock(&fx->host->ml);
    if (fx->wire_fd >= 0)
        close(fx->wire_fd);
    block_mig_destroy(&fx->bm);
    savevm_destroy(&fx->sv);
    ram_state_destroy(&fx->rs);
    fixture_ram_free(fx);
}

/* ---- seeds ---- */

static int64_t fixture_clock(void *opaque)
{
    return *(int64_t *)opaque;
}

/* MSRs the "cpu" section may carry (kvm_cpu_state_msrs[]). */
static const uint32_t fixture_msrs[] = {
    0x10, 0x174, 0xc0000081, 0xc0000082, 0x277, 0x4b564d01, 0x4b564d00, 0x2ff, 0x6e0,
};

/* A 64-bit vCPU in the middle of something, different for each seed. */
static void fixture_seed_cpu(struct kvm_cpu_state *s, unsigned n, unsigned i)
{
    s->regs.rip = 0x100000 + n * 0x40 + i;
    s->regs.rsp = 0x1ff000 - i * 0x1000;
    s->regs.rax = n;
    s->regs.rflags = 0x2 | (n & 1) << 9;
    s->sregs.cs = (struct kvm_cpu_segment){ .limit = 0xfffff, .selector = 0x8, .type = 11,
                                            .present = 1, .s = 1, .l = 1, .g = 1 };
    s->sregs.tr = (struct kvm_cpu_segment){ .limit = 0x67, .type = 11, .present = 1 };
    s->sregs.gdt = (struct kvm_cpu_dtable){ .base = 0x1000, .limit = 0x1f };
    s->sregs.cr0 = 0x80050033;
    s->sregs.cr3 = 0x2000;
    s->sregs.cr4 = 0x6a0;
    s->sregs.efer = 0xd00;
    s->sregs.apic_base = 0xfee00000 | (i == 0 ? 0x900 : 0x800);
    s->sregs.interrupt_bitmap[n % 4] = 1ull << (n + i);
    s->nxcrs = (n + i) % 3;
    for (unsigned x = 0; x < s->nxcrs; x++)
        s->xcrs[x] = (struct kvm_cpu_reg){ x, 0x7 };
    memset(s->xsave, 0x11 * (i + 1), 512);
    s->xsave[512] = n; /* XSAVE header */
    s->nmsrs = (n * 2 + i) % (G_N_ELEMENTS(fixture_msrs) + 1);
    for (unsigned m = 0; m < s->nmsrs; m++)
        s->msrs[m] = (struct kvm_cpu_reg){ fixture_msrs[m], 0x1000ull * (m + n) };
    for (unsigned b = 0; b < sizeof(s->lapic); b += 16)
        s->lapic[b] = (uint8_t)(b / 16 + n);
    s->events.nmi_pending = n & 1;
    s->events.sipi_vector = i ? 1 : 0;
    s->events.flags = n % 4;
    s->mp_state = i == 0 ? 0 : (n % 2 ? 3 : 1); /* RUNNABLE, HALTED / INIT_RECEIVED */
    s->debugregs.dr6 = 0xffff0ff0;
    s->debugregs.dr7 = 0x400;
}

static void fixture_seed_vm_state(struct kvm_vm_state *vs, unsigned n)
{
    vs->clock.clock = n * 1000000007ull;
    for (unsigned p = 0; p < 2; p++) {
        vs->pic[p].s.irq_base = p ? 0x70 : 0x08;
        vs->pic[p].s.imr = (uint8_t)(0xff >> n);
        vs->pic[p].s.irr = (uint8_t)n;
        vs->pic[p].s.init4 = 1;
        vs->pic[p].s.elcr_mask = p ? 0xde : 0xf8;
    }
    vs->ioapic.base_address = 0xfec00000;
    vs->ioapic.id = n % 2;
    vs->ioapic.irr = n;
    for (unsigned i = 0; i < KVM_VM_STATE_IOAPIC_PINS; i++)
        vs->ioapic.redirtbl[i] = 1ull << 16 | (0x20 + i + n);
    for (unsigned c = 0; c < 3; c++) {
        vs->pit.channels[c].count = 0x10000 - n;
        vs->pit.channels[c].mode = (uint8_t)((n + c) % 6);
        vs->pit.channels[c].rw_mode = 3;
        vs->pit.channels[c].gate = c != 2;
        vs->pit.channels[c].count_load_time = (int64_t)n * 1000;
    }
    vs->pit.flags = n & 1;
}

/* Guest addresses of the odd seeds' virtio-blk queue and requests. */
#define SEED_VQ_DESC 0x100000
#define SEED_VQ_AVAIL 0x100800
#define SEED_VQ_USED 0x101000
#define SEED_REQ 0x102000 /* one page per request: header, data, status */

/* Odd n: a driver that set up its queue (rings in the fixture's RAM). */
static void fixture_seed_virtio_blk(struct virtio_blk *b, unsigned n)
{
    struct virtio_state *s = &b->mmio.vdev.s;
    struct virtqueue_state *q = &s->vq[0];

    if (n % 2 == 0)
        return;
    s->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                VIRTIO_STATUS_DRIVER_OK;
    s->driver_features = b->mmio.vdev.host_features;
    if (n == 3)
        s->driver_features &= ~(1ull << VIRTIO_F_RING_EVENT_IDX);
    s->isr = n == 5 ? VIRTIO_ISR_QUEUE : 0;
    s->device_features_sel = 1;
    s->driver_features_sel = 1;
    *q = (struct virtqueue_state){ .num = 128, .ready = true, .desc = SEED_VQ_DESC,
                                   .avail = SEED_VQ_AVAIL, .used = SEED_VQ_USED,
                                   .last_avail_idx = (uint16_t)n, .used_idx = (uint16_t)n,
                                   .signalled_used = (uint16_t)(n - 1),
                                   .signalled_used_valid = n != 3 };
}

static void fixture_seed_desc(uint8_t *ram, unsigned i, uint64_t addr, uint32_t len,
                              uint16_t flags)
{
    uint8_t *d = ram + SEED_VQ_DESC + i * 16;

    le64_put(d, addr);
    le32_put(d + 8, len);
    le16_put(d + 12, flags);
    le16_put(d + 14, flags & VIRTQ_DESC_F_NEXT ? i + 1 : 0);
}

/* The odd seeds' requests: two per seed, every request type. */
static const struct fixture_seed_req {
    uint32_t type;
    uint64_t sector;
    uint32_t data_len; /* 0: header and status only */
} fixture_seed_reqs[3][2] = {
    { { VIRTIO_BLK_T_IN, 1, 512 }, { VIRTIO_BLK_T_OUT, 8, 512 } },
    { { VIRTIO_BLK_T_WRITE_ZEROES, 0, 16 }, { VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES } },
    { { VIRTIO_BLK_T_DISCARD, 0, 16 }, { VIRTIO_BLK_T_FLUSH, 0, 0 } },
};

/* Request @r (descriptors from 3 * r: header, data, status; its own page
 * of RAM), made available at ring slot @slot. */
static void fixture_seed_request(uint8_t *ram, unsigned r, uint16_t slot,
                                 const struct fixture_seed_req *q)
{
    uint64_t page = SEED_REQ + r * 0x1000;
    bool in = q->type == VIRTIO_BLK_T_IN || q->type == VIRTIO_BLK_T_GET_ID;
    uint8_t *data = ram + page + 0x100;

    le32_put(ram + page, q->type);
    le64_put(ram + page + 8, q->sector);
    memset(data, 0x5a + r, q->data_len);
    if (q->type == VIRTIO_BLK_T_DISCARD || q->type == VIRTIO_BLK_T_WRITE_ZEROES) {
        le64_put(data, 16); /* one segment: sectors 16..23 (unmap for write-zeroes) */
        le32_put(data + 8, 8);
        le32_put(data + 12, q->type == VIRTIO_BLK_T_WRITE_ZEROES);
    }
    ram[page + 0xfff] = 0xff; /* status: the device writes it */
    fixture_seed_desc(ram, 3 * r, page, 16, VIRTQ_DESC_F_NEXT);
    if (q->data_len)
        fixture_seed_desc(ram, 3 * r + 1, page + 0x100, q->data_len,
                          VIRTQ_DESC_F_NEXT | (in ? VIRTQ_DESC_F_WRITE : 0));
    else
        le16_put(ram + SEED_VQ_DESC + 3 * r * 16 + 14, (uint16_t)(3 * r + 2));
    fixture_seed_desc(ram, 3 * r + 2, page + 0xfff, 1, VIRTQ_DESC_F_WRITE);
    le16_put(ram + SEED_VQ_AVAIL + 4 + 2 * (slot % 128), (uint16_t)(3 * r));
}

/* Odd n: two requests the driver made available before the stop, which
 * the destination processes once the load is done (fixture_start_disks). */
static void fixture_seed_requests(struct fixture *fx, unsigned n)
{
    if (n % 2 == 0)
        return;
    for (unsigned r = 0; r < 2; r++)
        fixture_seed_request(fx->ram, r, (uint16_t)(n + r), &fixture_seed_reqs[n / 2 % 3][r]);
    le16_put(fx->ram + SEED_VQ_AVAIL + 2, (uint16_t)(n + 2)); /* avail idx */
    le16_put(fx->ram + SEED_VQ_USED + 2, (uint16_t)n);        /* used idx */
}

/* The odd seeds' virtio-net driver: queue q's rings at SEED_NET_Q(q)
 * (descriptors, avail +0x1000, used +0x2000), SEED_NET_QSIZE entries;
 * buffers from SEED_NET_RX: rx, then tx frames, then control commands. */
#define SEED_NET_Q(q) (0x110000 + (q) * 0x4000)
#define SEED_NET_QSIZE 64
#define SEED_NET_RX 0x120000 /* SEED_NET_RX_BUFS buffers of 2 KiB */
#define SEED_NET_RX_BUFS 8
#define SEED_NET_TX 0x124000   /* 0x200 per frame: header, frame at +0x20 */
#define SEED_NET_CTRL 0x126000 /* 0x400 per command: class, cmd; data +0x10; ack +0x3ff */

static void fixture_seed_vq_desc(uint8_t *ram, unsigned q, unsigned i, uint64_t addr,
                                 uint32_t len, uint16_t flags)
{
    uint8_t *d = ram + SEED_NET_Q(q) + i * 16;

    le64_put(d, addr);
    le32_put(d + 8, len);
    le16_put(d + 12, flags);
    le16_put(d + 14, flags & VIRTQ_DESC_F_NEXT ? i + 1 : 0);
}

/* The first avail index of each queue: n == 5 wraps the 16-bit index. */
static uint16_t fixture_seed_net_start(unsigned n)
{
    return n == 5 ? 65534 : (uint16_t)(n * 7);
}

/* Queue @q made @count chains available, heads @heads; none used yet. */
static void fixture_seed_net_ring(struct fixture *fx, unsigned n, unsigned q,
                                  const uint16_t *heads, unsigned count)
{
    struct virtqueue_state *vq = &fx->machine.net[0].mmio.vdev.s.vq[q];
    uint16_t start = fixture_seed_net_start(n);
    uint8_t *avail = fx->ram + SEED_NET_Q(q) + 0x1000;

    *vq = (struct virtqueue_state){ .num = SEED_NET_QSIZE, .ready = true,
                                    .desc = SEED_NET_Q(q), .avail = SEED_NET_Q(q) + 0x1000,
                                    .used = SEED_NET_Q(q) + 0x2000, .last_avail_idx = start,
                                    .used_idx = start, .signalled_used = start,
                                    .signalled_used_valid = true };
    for (unsigned i = 0; i < count; i++)
        le16_put(avail + 4 + 2 * ((uint16_t)(start + i) % SEED_NET_QSIZE), heads[i]);
    le16_put(avail + 2, (uint16_t)(start + count));
    le16_put(fx->ram + SEED_NET_Q(q) + 0x2000 + 2, start);
}

static void fixture_seed_net_rx(struct fixture *fx, unsigned n)
{
    uint16_t heads[SEED_NET_RX_BUFS];

    for (unsigned i = 0; i < SEED_NET_RX_BUFS; i++) {
        fixture_seed_vq_desc(fx->ram, VIRTIO_NET_RXQ, i, SEED_NET_RX + i * 0x800, 0x800,
                             VIRTQ_DESC_F_WRITE);
        heads[i] = (uint16_t)i;
    }
    fixture_seed_net_ring(fx, n, VIRTIO_NET_RXQ, heads, SEED_NET_RX_BUFS);
}

/* n == 1 also sends SEED_NET_TX_BIG frames of SEED_NET_TX_BIG_LEN bytes
 * (RAM from address 0): more than the socket takes at once, so the
 * device waits for tx_ready (fixture_start_nics drains the wire). */
#define SEED_NET_TX_BIG 8
#define SEED_NET_TX_BIG_LEN 60000

/* Two frames, header and frame in a descriptor each: a broadcast and one
 * to another guest; for n == 1 then the big ones. */
static void fixture_seed_net_tx(struct fixture *fx, unsigned n)
{
    static const uint8_t mac[VIRTIO_NET_MAC_LEN] = FIXTURE_NIC_MAC;
    unsigned frames = 2 + (n == 1 ? SEED_NET_TX_BIG : 0);
    uint16_t heads[2 + SEED_NET_TX_BIG];

    for (unsigned t = 0; t < frames; t++) {
        uint64_t a = SEED_NET_TX + t * 0x200;
        uint8_t *f = fx->ram + a + 0x20;

        heads[t] = (uint16_t)(2 * t);
        fixture_seed_vq_desc(fx->ram, VIRTIO_NET_TXQ, 2 * t, a, VIRTIO_NET_HDR_LEN,
                             VIRTQ_DESC_F_NEXT);
        if (t >= 2) {
            fixture_seed_vq_desc(fx->ram, VIRTIO_NET_TXQ, 2 * t + 1, 0, SEED_NET_TX_BIG_LEN, 0);
            continue;
        }
        memset(f, t ? 0x52 : 0xff, VIRTIO_NET_MAC_LEN);
        memcpy(f + 6, mac, sizeof(mac));
        f[12] = 0x08;
        memset(f + 14, 0x60 + n + t, 46);
        fixture_seed_vq_desc(fx->ram, VIRTIO_NET_TXQ, 2 * t + 1, a + 0x20, 60, 0);
    }
    fixture_seed_net_ring(fx, n, VIRTIO_NET_TXQ, heads, frames);
}

/* Control command @c (descriptors 3c..3c+2: class and command, data when
 * @len, ack), in its own 1 KiB. */
static uint16_t fixture_seed_net_cmd(struct fixture *fx, unsigned c, uint8_t class, uint8_t cmd,
                                     const uint8_t *data, uint16_t len)
{
    uint64_t a = SEED_NET_CTRL + c * 0x400;
    uint8_t *p = fx->ram + a;

    p[0] = class;
    p[1] = cmd;
    if (len)
        memcpy(p + 0x10, data, len);
    p[0x3ff] = 0xee; /* the device writes the ack */
    fixture_seed_vq_desc(fx->ram, VIRTIO_NET_CTRLQ, 3 * c, a, 2, VIRTQ_DESC_F_NEXT);
    if (len)
        fixture_seed_vq_desc(fx->ram, VIRTIO_NET_CTRLQ, 3 * c + 1, a + 0x10, len,
                             VIRTQ_DESC_F_NEXT);
    else
        le16_put(fx->ram + SEED_NET_Q(VIRTIO_NET_CTRLQ) + 3 * c * 16 + 14, (uint16_t)(3 * c + 2));
    fixture_seed_vq_desc(fx->ram, VIRTIO_NET_CTRLQ, 3 * c + 2, a + 0x3ff, 1, VIRTQ_DESC_F_WRITE);
    return (uint16_t)(3 * c);
}

/* MAC_TABLE_SET data: @uni unicast MACs 52:54:00:00:00:i, @multi
 * multicast 01:00:5e:00:00:i; returns its length. */
static uint16_t fixture_seed_mac_table(uint8_t *d, unsigned uni, unsigned multi)
{
    uint8_t *p = d;

    le32_put(p, uni);
    p += 4;
    for (unsigned i = 0; i < uni; i++, p += 6)
        memcpy(p, (uint8_t[]){ 0x52, 0x54, 0x00, 0x00, 0x00, (uint8_t)(i + 1) }, 6);
    le32_put(p, multi);
    p += 4;
    for (unsigned i = 0; i < multi; i++, p += 6)
        memcpy(p, (uint8_t[]){ 0x01, 0x00, 0x5e, 0x00, 0x00, (uint8_t)(i + 1) }, 6);
    return (uint16_t)(p - d);
}

/* The commands the driver queued before the stop (see FIXTURE_SEEDS). */
static void fixture_seed_net_ctrl(struct fixture *fx, unsigned n)
{
    static const uint8_t off[1] = { 0 }, on[1] = { 1 }, bad[2] = { 0, 0 };
    static const uint8_t new_mac[VIRTIO_NET_MAC_LEN] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
    uint8_t table[8 + 6 * (VIRTIO_NET_MAC_TABLE_ENTRIES + 1)];
    uint16_t h[3];

    if (n == 1) {
        h[0] = fixture_seed_net_cmd(fx, 0, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, off, 1);
        h[1] = fixture_seed_net_cmd(fx, 1, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET,
                                    table, fixture_seed_mac_table(table, 1, 1));
        h[2] = fixture_seed_net_cmd(fx, 2, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET,
                                    new_mac, sizeof(new_mac));
    } else if (n == 3) {
        h[0] = fixture_seed_net_cmd(fx, 0, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, on, 1);
        h[1] = fixture_seed_net_cmd(fx, 1, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, bad, 2);
        h[2] = fixture_seed_net_cmd(fx, 2, VIRTIO_NET_CTRL_ANNOUNCE,
                                    VIRTIO_NET_CTRL_ANNOUNCE_ACK, NULL, 0);
    } else {
        h[0] = fixture_seed_net_cmd(fx, 0, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET,
                                    table,
                                    fixture_seed_mac_table(table, VIRTIO_NET_MAC_TABLE_ENTRIES + 1,
                                                           0));
        h[1] = fixture_seed_net_cmd(fx, 1, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOBCAST, on, 1);
        h[2] = fixture_seed_net_cmd(fx, 2, VIRTIO_NET_CTRL_ANNOUNCE,
                                    VIRTIO_NET_CTRL_ANNOUNCE_ACK, NULL, 0);
    }
    fixture_seed_net_ring(fx, n, VIRTIO_NET_CTRLQ, h, 3);
}

/* The migrated filter and status (see FIXTURE_SEEDS). */
static void fixture_seed_net_filter(struct virtio_net *nic, unsigned n)
{
    static const uint8_t set_mac[VIRTIO_NET_MAC_LEN] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };
    static const struct virtio_net_mac_entry table[] = {
        { { 0x52, 0x54, 0x00, 0x00, 0x00, 0x01 } }, { { 0x52, 0x54, 0x00, 0x00, 0x00, 0x02 } },
        { { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 } }, { { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 } },
    };
    struct virtio_net_rx_filter *f = &nic->rx;

    if (n == 3) {
        f->promisc = false;
        f->in_use = G_N_ELEMENTS(table);
        f->first_multi = 2;
        memcpy(f->macs, table, sizeof(table));
        memcpy(nic->mac, set_mac, sizeof(set_mac));
    } else if (n == 5) {
        nic->status |= VIRTIO_NET_S_ANNOUNCE;
        f->promisc = false;
        f->alluni = true;
        f->multi_overflow = true;
        f->in_use = f->first_multi = 1;
        f->macs[0] = table[1];
    }
}

/* Odd n: a driver with its three queues set up and work in each. */
static void fixture_seed_virtio_net(struct fixture *fx, unsigned n)
{
    struct virtio_net *nic = &fx->machine.net[0];
    struct virtio_state *s = &nic->mmio.vdev.s;

    if (n % 2 == 0)
        return;
    s->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                VIRTIO_STATUS_DRIVER_OK;
    s->driver_features = nic->mmio.vdev.host_features;
    if (n == 3) /* one buffer per frame */
        s->driver_features &= ~(1ull << VIRTIO_NET_F_MRG_RXBUF);
    if (n == 5) /* NOBCAST is refused */
        s->driver_features &= ~(1ull << VIRTIO_NET_F_CTRL_RX_EXTRA);
    s->isr = n == 3 ? VIRTIO_ISR_QUEUE : 0;
    fixture_seed_net_rx(fx, n);
    fixture_seed_net_tx(fx, n);
    fixture_seed_net_ctrl(fx, n);
    fixture_seed_net_filter(nic, n);
}

static void fixture_seed_devices(struct fixture *fx, unsigned n)
{
    for (unsigned i = 0; i < FIXTURE_CPUS; i++)
        fixture_seed_cpu(&fx->cpu[i].s, n, i);
    fixture_seed_vm_state(&fx->vm_state, n);
    fx->machine.uart.s.scr = n;
    fx->machine.uart.s.rx_count = n % 4;
    fx->machine.uart.s.rx_head = n;
    fx->machine.i8042.s.cmd_byte = 0x45 + n;
    fixture_seed_virtio_blk(&fx->machine.blk[0], n);
    fixture_seed_requests(fx, n);
    fixture_seed_virtio_net(fx, n);
}

static void fixture_seed_commands(QEMUFile *f, unsigned n)
{
    static const uint8_t ping[4] = { 0, 0, 0, 1 };

    if (n % 2)
        savevm_write_command(f, MIG_CMD_OPEN_RETURN_PATH, NULL, 0);
    if (n % 3 == 2)
        savevm_write_command(f, MIG_CMD_PING, ping, sizeof(ping));
}

void fixture_add_xsave_ext(GByteArray *s, uint8_t fill)
{
    /* cpu 1's footer (u8 0x7e, be32 id) ends right before the FULL header
     * (u8 0x04, be32 id) of the next section, "kvmclock" */
    static const char next[] = "\x08kvmclock\0\0\0\0\0\0\0\x01";
    static const char name[] = "cpu/xsave_ext";
    const uint8_t *p = memmem(s->data, s->len, next, sizeof(next) - 1);
    size_t at, len = KVM_CPU_STATE_XSAVE_MAX - KVM_CPU_STATE_XSAVE_BASE;
    g_autofree uint8_t *sub = g_malloc0(2 + strlen(name) + 4 + len);

    if (!p)
        g_error("seed: no kvmclock section");
    at = (size_t)(p - s->data) - 5 - 5;
    sub[0] = VMSTATE_SUBSECTION_MARK;
    sub[1] = strlen(name);
    memcpy(sub + 2, name, strlen(name));
    sub[2 + strlen(name) + 3] = 1; /* version */
    memset(sub + 2 + strlen(name) + 4, fill, 64);
    len += 2 + strlen(name) + 4;
    g_byte_array_set_size(s, s->len + len);
    memmove(s->data + at + len, s->data + at, s->len - len - at);
    memcpy(s->data + at, sub, len);
}

/* Where "u8 0x06, be32 len, JSON" ends @s: just past the EOF byte. */
static size_t fixture_vmdesc_offset(const GByteArray *s)
{
    for (size_t i = s->len - 6; i > 0; i--) {
        const uint8_t *p = s->data + i;
        uint32_t len = (uint32_t)p[2] << 24 | p[3] << 16 | p[4] << 8 | p[5];

        if (p[0] == QEMU_VM_EOF && p[1] == QEMU_VM_VMDESCRIPTION && i + 6 + len == s->len)
            return i + 1;
    }
    g_error("seed: no vmdesc trailer");
}

static void fixture_seed_pattern(uint8_t *buf, size_t len, unsigned n)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(n * 31 + i * 7 + (i >> 9));
}

/* The disk before the migration (see FIXTURE_SEEDS); block section only
 * for even n.  Straight into the memfd: nothing is migrating yet. */
static void fixture_seed_disk(struct fixture *fx, unsigned n)
{
    uint8_t buf[4096];

    if (n == 2) {
        fixture_seed_pattern(buf, sizeof(buf), n);
        if (pwrite(fx->host->disk_fd, buf, sizeof(buf), FIXTURE_DISK_SIZE - 2 * sizeof(buf)) !=
            (ssize_t)sizeof(buf))
            g_error("seed: cannot write the disk: %s", g_strerror(errno));
    }
    main_loop_lock(&fx->host->ml);
    block_mig_set_enabled(&fx->bm, n % 2 == 0);
    main_loop_unlock(&fx->host->ml);
}

static void fixture_seed_guest_write_done(void *opaque, int ret)
{
    *(int *)opaque = ret;
}

/* A guest write while migrating (through the block layer, so the disk's
 * dirty bitmap marks it): n == 4 rewrites part of chunk 0 after the bulk
 * pass sent it as a zero chunk. */
static void fixture_seed_guest_write(struct fixture *fx, unsigned n)
{
    uint8_t buf[4096];
    struct iovec iov = { buf, sizeof(buf) };
    int ret = 1;

    if (n != 4)
        return;
    fixture_seed_pattern(buf, sizeof(buf), n);
    main_loop_lock(&fx->host->ml);
    block_pwritev(fx->host->disk, 512 * 3, &iov, 1, fixture_seed_guest_write_done, &ret);
    block_drain(fx->host->disk);
    main_loop_unlock(&fx->host->ml);
    if (ret)
        g_error("seed: guest write failed: %s", g_strerror(-ret));
}

/* savevm_save_complete() with the locks of a migration thread: END
 * sections without the VM lock (block waits for its reads), devices and
 * cleanup with it. */
static bool fixture_seed_complete(struct fixture *fx, QEMUFile *f, GError **errp)
{
    bool ok = savevm_save_complete_live(&fx->sv, f, errp);

    main_loop_lock(&fx->host->ml);
    ok = ok && savevm_save_devices(&fx->sv, f, errp);
    savevm_save_cleanup(&fx->sv);
    main_loop_unlock(&fx->host->ml);
    return ok;
}

GByteArray *fixture_make_seed(struct fixture_host *h, unsigned n)
{
    struct fixture *fx = g_new(struct fixture, 1);
    QEMUFile *f = qemu_file_new_mem_output();
    g_autoptr(GError) err = NULL;
    GByteArray *out = g_byte_array_new();
    int64_t now = 0;
    bool ok;

    fixture_host_reset_disk(h);
    fixture_init(fx, h);
    fixture_seed_devices(fx, n);
    fixture_seed_disk(fx, n);
    fx->rs.verify = n % 3 == 0;
    /* 64 pages per 100 ms window of a fake clock: n PART sections, and
     * pages sent again after being dirtied */
    qemu_file_set_clock(f, fixture_clock, &now);
    qemu_file_set_rate_limit(f, 64 * (PAGE + 16) * 10);
    for (unsigned i = 0; i <= n; i++) /* some non-zero pages */
        memset(fx->ram + (i * 37 % (FIXTURE_RAM_SIZE / PAGE)) * PAGE + i, 0x40 + i, 100);
    savevm_write_header(&fx->sv, f);
    fixture_seed_commands(f, n);
    main_loop_lock(&h->ml); /* block's save_setup turns its bitmap on */
    ok = savevm_save_setup(&fx->sv, f, &err);
    main_loop_unlock(&h->ml);
    if (!ok)
        g_error("seed: %s", err->message);
    for (unsigned i = 0; i < n; i++) {
        if (savevm_save_iterate(&fx->sv, f, &err) < 0)
            g_error("seed: %s", err->message);
        now += 100 * 1000 * 1000;
        ram_mark_dirty(&fx->rs, 0, i * 37 * PAGE, 1); /* sent again later */
    }
    fixture_seed_guest_write(fx, n);
    if (!fixture_seed_complete(fx, f, &err))
        g_error("seed: %s", err->message);
    g_byte_array_append(out, qemu_file_mem_data(f)->data, qemu_file_mem_data(f)->len);
    if (n % 3 == 1) /* without the vmdesc trailer (optional, never parsed) */
        g_byte_array_set_size(out, fixture_vmdesc_offset(out));
    if (n % 2)
        fixture_add_xsave_ext(out, 0xa0 + n);
    qemu_file_close(f, NULL);
    fixture_destroy(fx);
    g_free(fx);
    return out;
}

void fixture_start_disks(struct fixture *fx)
{
    main_loop_lock(&fx->host->ml);
    machine_kick_disks(&fx->machine);
    machine_drain_disks(&fx->machine);
    main_loop_unlock(&fx->host->ml);
}

/* Main loop thread, lock held: everything ready before it has run. */
static gboolean fixture_settled(gpointer opaque)
{
    struct fixture_host *h = opaque;

    h->settled = true;
    g_cond_signal(&h->settled_cond);
    return G_SOURCE_REMOVE;
}

/* Let the loop run what is ready (the netdev's deferred rx resume, its
 * reads): an idle source is dispatched only once no source of a higher
 * priority is ready.  @h's lock held; it is dropped while waiting. */
static void fixture_settle(struct fixture_host *h)
{
    h->settled = false;
    main_loop_post(&h->ml, fixture_settled, h);
    while (!h->settled)
        g_cond_wait(&h->settled_cond, &h->ml.lock);
}

/* The host's frames, on the wire before the VM runs: the filter sees
 * each kind of destination. */
static const uint8_t fixture_wire_dst[][VIRTIO_NET_MAC_LEN] = {
    { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, /* broadcast */
    FIXTURE_NIC_MAC,
    { 0x52, 0x54, 0x00, 0x00, 0x00, 0x01 }, /* in seed 3's unicast table */
    { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 }, /* multicast, in seed 3's table */
    { 0x52, 0x54, 0x00, 0x77, 0x77, 0x77 }, /* someone else */
};

/* Stream framing (net/stream.c): be32 length, the frame. */
static void fixture_wire_send(struct fixture *fx)
{
    uint8_t buf[4 + 60] = { 0, 0, 0, 60 };

    for (unsigned i = 0; i < G_N_ELEMENTS(fixture_wire_dst); i++) {
        memcpy(buf + 4, fixture_wire_dst[i], VIRTIO_NET_MAC_LEN);
        memcpy(buf + 10, (uint8_t[])FIXTURE_NIC_MAC, VIRTIO_NET_MAC_LEN);
        buf[10 + 5] ^= 0x80; /* from another host */
        buf[16] = 0x08;      /* IPv4 */
        memset(buf + 18, 0x30 + i, sizeof(buf) - 18);
        if (write(fx->wire_fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
            g_error("fixture: cannot write the wire: %s", g_strerror(errno));
    }
}

/* What the NIC sent: read and dropped, so its sends do not back up.
 * Whether there was anything. */
static bool fixture_wire_drain(struct fixture *fx)
{
    uint8_t buf[16384];
    bool any = false;

    while (read(fx->wire_fd, buf, sizeof(buf)) > 0)
        any = true;
    return any;
}

#define FIXTURE_WIRE_ROUNDS 8

/* The guest after the resume: doorbells for every queue, config reads. */
static void fixture_guest_pokes_nic(struct virtio_net *n)
{
    for (unsigned q = 0; q < 3; q++)
        virtio_mmio_ops.write(&n->mmio, VIRTIO_MMIO_QUEUE_NOTIFY, q, 4);
    for (unsigned off = 0; off < VIRTIO_NET_CONFIG_SIZE; off++)
        virtio_mmio_ops.read(&n->mmio, VIRTIO_MMIO_CONFIG + off, 1);
}

void fixture_start_nics(struct fixture *fx)
{
    struct machine *m = &fx->machine;

    fixture_wire_send(fx);
    main_loop_lock(&fx->host->ml);
    machine_set_running(m, true);
    for (unsigned i = 0; i < m->nnet; i++) { /* vm_announce_round() */
        virtio_net_send_rarp(&m->net[i]);
        virtio_net_announce(&m->net[i]);
        fixture_guest_pokes_nic(&m->net[i]);
    }
    fixture_settle(fx->host);
    main_loop_unlock(&fx->host->ml);
    /* A NIC that filled the socket waits for tx_ready: room again, then
     * the loop finishes the frame in flight and the NIC sends on.
     * Bounded: a ring of 64 KiB frames would take many rounds. */
    for (unsigned r = 0; r < FIXTURE_WIRE_ROUNDS && fixture_wire_drain(fx); r++) {
        main_loop_lock(&fx->host->ml);
        fixture_settle(fx->host);
        main_loop_unlock(&fx->host->ml);
    }
}

bool fixture_load(struct fixture_host *h, const uint8_t *data, size_t len, GError **errp)
{
    struct fixture *fx = g_new(struct fixture, 1);
    QEMUFile *f;
    bool ok;

    fixture_host_reset_disk(h);
    fixture_init(fx, h);
    f = qemu_file_new_mem_input(data, len);
    ok = savevm_load(&fx->sv, f, errp);
    qemu_file_close(f, NULL);
    if (ok) {
        fixture_start_disks(fx);
        fixture_start_nics(fx);
    }
    fixture_destroy(fx);
    g_free(fx);
    return ok;
}
