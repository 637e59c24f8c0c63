/*
 * The destination the stream-loader fuzzer attacks, and the seed streams it
 * starts from: the machine `tern -m 2M -smp 2 -device
 * isa-debug-exit,iobase=0xf4,iosize=4 -drive file=IMG,if=virtio -netdev
 * stream,id=n0,... -device virtio-net,netdev=n0,mac=52:54:00:12:34:56`
 * (IMG of FIXTURE_DISK_SIZE bytes) is, with every section it registers (the loader
 * refuses a stream that lacks one), the real VMStateDescriptions, in the
 * order system/vm.c registers them, but with no KVM behind them (detached
 * sections: post_load validates, nothing is written to a vCPU):
 *
 *   block             the real handler (migration/block.c) with the one
 *                     writable drive "virtio0"; optional, as in tern
 *   ram, ram-verify   the real handler and digest (migration/ram.c), one
 *                     "pc.ram" block of FIXTURE_RAM_SIZE in a memfd, as
 *                     tern's
 *   cpu 0, 1          XSAVE area of 4096 bytes, as on every host Tern runs
 *                     on (it never asks for AMX permission)
 *   kvmclock, i8259 0/1, ioapic, i8254   (accel/kvm-vm-state.c)
 *   serial, i8042, isa-debug-exit (iobase 0xf4, iosize 4)
 *   virtio-blk 0      virtio-mmio slot 0 on the disk, its rings checked
 *                     against the fixture's RAM
 *   virtio-net 0      virtio-mmio slot 1 (after the disk, as hw/x86/
 *                     machine.c places a NIC), MAC FIXTURE_NIC_MAC, on a
 *                     real stream backend (net/stream.c) whose other end,
 *                     the "wire", the fixture holds
 *
 * So streams written by that tern load here (tests/fuzz/tern-streams.py),
 * as do the seeds below.
 *
 * The disk and the main loop live as long as the process (struct
 * fixture_host): the loop runs on its own thread and dispatches the disk's
 * completions with its lock held, as tern's main thread does, and that
 * lock is the VM lock of the loader (savevm.device_lock, block_mig's
 * vm_lock).  Without a dispatching loop the block loader would wait
 * BLOCK_MIG_DRAIN_MS for each write.  The image is a memfd opened through
 * /proc/self/fd/N; each fixture_load() starts from an all-zero image
 * (truncated to 0 and back).  The host also listens on a UNIX socket in a
 * private directory: each fixture's netdev connects to it as a client
 * (-netdev stream,server=off) and the fixture accepts the other end, so
 * the link is up and frames really cross a socket.  Everything else,
 * the netdev and its connection included, is fresh per load.
 */
#ifndef TESTS_FUZZ_LOADVM_FIXTURE_H
#define TESTS_FUZZ_LOADVM_FIXTURE_H

#include <glib.h>

#include "accel/kvm-cpu-state.h"
#include "accel/kvm-vm-state.h"
#include "block/block.h"
#include "hw/x86/machine.h"
#include "migration/block.h"
#include "migration/ram.h"
#include "migration/savevm.h"
#include "net/net.h"
#include "system/main-loop.h"

#define FIXTURE_RAM_SIZE (2u << 20) /* -m 2M, the least tern accepts */
#define FIXTURE_CPUS 2
#define FIXTURE_XSAVE_SIZE 4096
#define FIXTURE_DEBUG_EXIT_BASE 0xf4
#define FIXTURE_DEBUG_EXIT_SIZE 4
/* Two whole 1 MiB chunks and a short third one (the "block" section pads
 * it to a whole chunk on the wire). */
#define FIXTURE_DISK_SIZE ((2u << 20) + (64u << 10))
#define FIXTURE_DISK_ID "virtio0" /* -drive if=virtio's first id */
#define FIXTURE_NIC_SLOT 1        /* virtio-mmio slot: the one after the disk */
#define FIXTURE_NIC_MAC { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 } /* -device mac= */

struct fixture_host {
    struct main_loop ml;
    GThread *thread; /* runs ml */
    int disk_fd;     /* memfd of FIXTURE_DISK_SIZE bytes */
    struct block_backend *disk;
    char *net_dir;              /* private directory of the socket */
    struct net_options net_opt; /* -netdev stream,server=off to it */
    int net_listen_fd;
    /* fixture_settle(): the loop ran everything that was ready */
    GCond settled_cond;
    bool settled;
};

/* Start the loop thread, create and open the disk; g_error() on failure. */
struct fixture_host *fixture_host_new(void);
void fixture_host_free(struct fixture_host *h);
/* Make the disk all zeroes again (fixture_load() does it first). */
void fixture_host_reset_disk(struct fixture_host *h);

struct fixture {
    struct fixture_host *host;
    struct savevm sv;
    struct block_mig bm;
    struct ram_state rs;
    struct kvm_cpu_section cpu[FIXTURE_CPUS];
    unsigned cpus_loaded; /* post_loads of "cpu" sections that passed */
    struct kvm_vm_state vm_state;
    struct machine machine;
    uint8_t *ram; /* FIXTURE_RAM_SIZE bytes of ram_fd, a memfd */
    int ram_fd;
    struct guest_memory mem; /* ram as the virtio-blk device sees it */
    struct virtqueue_ram vram;
    struct net_backend *nb; /* the NIC's netdev */
    int wire_fd;            /* the other end of nb's connection */
};

/* Thread context: any thread but the loop's, @h's lock not held. */
void fixture_init(struct fixture *fx, struct fixture_host *h);
void fixture_destroy(struct fixture *fx);
/* A stream that loads, for seed @n (0..FIXTURE_SEEDS-1): different device
 * values, RAM contents, numbers of iterations and commands; every kind of
 * section, every RAM record kind (MEM_SIZE, ZERO, PAGE, with and without
 * CONTINUE, EOS); "ram-verify" when n % 3 == 0; for odd n, cpu 1 also
 * carries the cpu/xsave_ext subsection (see fixture_add_xsave_ext) and
 * virtio-blk a driver with a ready queue and, in RAM, two requests made
 * available for fixture_start_disks(): n == 1 a read of sector 1 and a
 * write of 512 bytes of 0x5b at sector 8, n == 3 write-zeroes and GET_ID,
 * n == 5 discard and flush.  Odd n also have a virtio-net driver with
 * its three queues ready, rx buffers, two tx frames and control commands
 * in RAM for fixture_start_nics() (n == 1 also more big frames than the
 * socket takes at once; n == 1 PROMISC off, MAC_TABLE_SET,
 * MAC_ADDR_SET; n == 3 ALLMULTI, a malformed command, ANNOUNCE_ACK; n == 5
 * an overflowing table, NOBCAST, ANNOUNCE_ACK) and migrated filter state:
 * n == 1 the reset state, n == 3 promisc off with a table of two unicast
 * and two multicast MACs and a current MAC set by MAC_ADDR_SET, n == 5 an
 * announce pending (status ANNOUNCE), alluni and multi_overflow.  Even n:
 * a NIC no driver touched.  For even n, a "block" section:
 * n == 0 every chunk zero (ZERO_BLOCK records), n == 2 data in the short
 * last chunk, n == 4 chunk 0 written by the "guest" after the bulk pass
 * (sent again, with data, in END); PROGRESS and EOS in each. */
#define FIXTURE_SEEDS 6
GByteArray *fixture_make_seed(struct fixture_host *h, unsigned n);
/* Put a cpu/xsave_ext subsection (@fill for its first 64 bytes) at the end
 * of @s's "cpu" 1 section: what an AMX host sends.  Tern's writer never
 * sends it from a 4096-byte XSAVE area, but the loader takes any known
 * subsection, so this is how the fuzzer reaches it from a fixture that
 * also loads tern's own streams. */
void fixture_add_xsave_ext(GByteArray *s, uint8_t fill);
/* What tern does when an incoming migration succeeded (system/
 * vm-migration.c vm_incoming_done): process the requests the stream's
 * virtio-blk queue and RAM hold (machine_kick_disks), and here also wait
 * for them.  So a stream also reaches the virtqueue parser and the disk. */
void fixture_start_disks(struct fixture *fx);
/* The rest of vm_incoming_done() for the NIC: the VM runs (the NIC sends
 * what the stream's tx ring holds), one announce round (a RARP frame, the
 * guest asked to announce), and then what the guest could do next: a
 * notify of every queue (so the controlq's commands and new rx buffers
 * are seen) and a read of the config space.  Host frames (broadcast,
 * unicast to FIXTURE_NIC_MAC and to others, multicast) are waiting on
 * the wire, so the receive filter and the rx ring get them; what the NIC
 * sent is read off the wire, a few times if the NIC filled the socket
 * (so it gets tx_ready and sends on). */
void fixture_start_nics(struct fixture *fx);
/* Load @data into a fresh fixture on @h, then fixture_start_disks() and
 * fixture_start_nics() if it loaded; returns whether it loaded. */
bool fixture_load(struct fixture_host *h, const uint8_t *data, size_t len, GError **errp);

#endif
