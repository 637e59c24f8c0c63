/*
 * virtio-net (virtio 1.x spec 5.1) on a network backend (net/net.h), over
 * the virtio-mmio transport.
 *
 * Queues: 0 receiveq, 1 transmitq, 2 controlq (VIRTIO_NET_CTRL_VQ), each of
 * VIRTIO_NET_QUEUE_SIZE entries.
 *
 * Config space (struct virtio_net_config, little-endian):
 *   0x00 u8 mac[6]                 0x06 le16 status (LINK_UP 1, ANNOUNCE 2)
 *   0x08 le16 max_virtqueue_pairs (1)
 * Features: MAC, STATUS, MRG_RXBUF, CTRL_VQ, CTRL_RX, CTRL_RX_EXTRA,
 * GUEST_ANNOUNCE, CTRL_MAC_ADDR; plus the core's VERSION_1, EVENT_IDX,
 * INDIRECT_DESC.  The config space's mac is the current one (below).  No offloads yet (no CSUM,
 * no GSO), so every header the device writes is zero but num_buffers.
 *
 * Every frame in both rings is led by struct virtio_net_hdr_v1 (12 bytes,
 * VERSION_1 always): u8 flags, u8 gso_type, le16 hdr_len, le16 gso_size,
 * le16 csum_start, le16 csum_offset, le16 num_buffers.  A backend that can
 * carry vnet headers (tap with IFF_VNET_HDR) is set to 12-byte headers and
 * gets them as they are; any other backend gets bare frames (the device
 * strips the header on tx and writes a zero one on rx).
 *
 * tx: a chain is device-readable only: header + frame.  Each is sent as it
 * is popped and pushed back with length 0.  When the backend says -EAGAIN
 * the chain goes back into the ring (virtqueue_unpop) and the device waits
 * for tx_ready.  rx: a frame takes one chain, or with MRG_RXBUF as many as
 * it needs (num_buffers says how many); while the ring holds too few
 * buffers the frame stays in the backend (back-pressure), and a notify of
 * queue 0 tells the backend to try again.  A frame that could never fit
 * (bigger than one chain, or than the whole ring with MRG_RXBUF) is
 * dropped and counted in rx_too_big.  A chain of the wrong direction, or
 * a first rx buffer shorter than the header, sets DEVICE_NEEDS_RESET (the
 * device then moves nothing until the driver resets it).
 *
 * controlq: out u8 class, u8 command, data; in u8 ack (0 OK, 1 ERR).
 * A command whose feature was not negotiated, or whose data is not
 * exactly what it takes, is ERR and changes nothing:
 *   CTRL_RX (0) / PROMISC 0, ALLMULTI 1 (CTRL_RX); ALLUNI 2, NOMULTI 3,
 *       NOUNI 4, NOBCAST 5 (CTRL_RX_EXTRA): data u8 on (non-zero = on).
 *   CTRL_MAC (1) / TABLE_SET 0 (CTRL_RX): le32 n + n * 6-byte unicast
 *       MACs, then le32 m + m * 6-byte multicast MACs, nothing after.  A
 *       table that does not fit the VIRTIO_NET_MAC_TABLE_ENTRIES slots
 *       left is not stored and sets uni_overflow / multi_overflow
 *       ("accept them all"), as QEMU does.
 *   CTRL_MAC (1) / ADDR_SET 1 (CTRL_MAC_ADDR): data the 6-byte MAC.
 *   CTRL_ANNOUNCE (3) / ACK 0 (GUEST_ANNOUNCE): no data.
 *
 * Receive filter (QEMU's receive_filter(), no VLANs): promisc accepts
 * all; else broadcast unless nobcast; other multicast unless nomulti, if
 * allmulti, multi_overflow or in the multicast table; unicast unless
 * nouni, if alluni, uni_overflow, the current MAC or in the unicast
 * table.  A refused frame is dropped (stats.rx_filtered) without using a
 * buffer.  Device reset (driver or system): promisc on, the rest off,
 * the table empty, the MAC back to -device mac= (QEMU's
 * virtio_net_reset()), so a driver that never sends CTRL_RX gets all.
 *
 * Announce (after a migration): virtio_net_announce() sets ANNOUNCE in the
 * status and raises a config interrupt when the driver negotiated
 * GUEST_ANNOUNCE; the driver sends its own gratuitous ARPs and acks
 * through the controlq, which clears the bit.
 *
 * Running: the device moves frames only while the VM runs
 * (virtio_net_set_running): a stopped VM's RAM and rings must not change
 * under a migration, so rx back-pressures and tx_ready waits meanwhile.
 *
 * Migration: the "virtio-net" section, version 2 (1 still loads, as the
 * reset filter state):
 *   transport   struct virtio-mmio (hw/virtio/virtio-mmio.h)
 *   mac         u8[6]  -device mac=, an equal-field: a destination
 *                      configured with another MAC refuses the stream
 *   status      be16   VIRTIO_NET_S_*
 *   current_mac u8[6]  (v2) the MAC the driver set, or mac
 *   rx_filter   (v2) u8 promisc, allmulti, alluni, nomulti, nouni,
 *               nobcast, uni_overflow, multi_overflow (each 0 or 1);
 *               be32 in_use (<= 64); be32 first_multi (<= in_use);
 *               in_use * 6 bytes of MACs, unicast ones first.
 * Migrating current_mac as data (QEMU migrates n->mac) keeps a guest's
 * MAC_ADDR_SET across the move while the equal check still compares the
 * two sides' configuration.  Frames move synchronously under the VM lock and a chain the
 * backend could not take is left in the ring, so no frame is ever
 * half-processed in a saved state; after a load virtio_net_kick() sends
 * what the driver queued before the stop.  The link bit is the
 * destination backend's.
 *
 * Thread context: everything with the VM lock held: register accesses on
 * vCPU threads (or the main loop through host notifiers), backend
 * callbacks from the main loop (net/net.h), resets and migration hooks
 * where the VM calls them.
 */
#ifndef HW_VIRTIO_VIRTIO_NET_H
#define HW_VIRTIO_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/virtio/virtio-mmio.h"
#include "net/net.h"

#define VIRTIO_ID_NET 1
#define VIRTIO_NET_QUEUE_SIZE 256
#define VIRTIO_NET_RXQ 0
#define VIRTIO_NET_TXQ 1
#define VIRTIO_NET_CTRLQ 2

#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_CTRL_VQ 17
#define VIRTIO_NET_F_CTRL_RX 18
#define VIRTIO_NET_F_CTRL_RX_EXTRA 20
#define VIRTIO_NET_F_GUEST_ANNOUNCE 21
#define VIRTIO_NET_F_CTRL_MAC_ADDR 23

#define VIRTIO_NET_S_LINK_UP 1
#define VIRTIO_NET_S_ANNOUNCE 2

#define VIRTIO_NET_OK 0
#define VIRTIO_NET_ERR 1
#define VIRTIO_NET_CTRL_RX 0
#define VIRTIO_NET_CTRL_RX_PROMISC 0
#define VIRTIO_NET_CTRL_RX_ALLMULTI 1
#define VIRTIO_NET_CTRL_RX_ALLUNI 2  /* ALLUNI..NOBCAST: with CTRL_RX_EXTRA */
#define VIRTIO_NET_CTRL_RX_NOMULTI 3
#define VIRTIO_NET_CTRL_RX_NOUNI 4
#define VIRTIO_NET_CTRL_RX_NOBCAST 5
#define VIRTIO_NET_CTRL_MAC 1
#define VIRTIO_NET_CTRL_MAC_TABLE_SET 0
#define VIRTIO_NET_CTRL_MAC_ADDR_SET 1 /* with CTRL_MAC_ADDR */
#define VIRTIO_NET_CTRL_ANNOUNCE 3
#define VIRTIO_NET_CTRL_ANNOUNCE_ACK 0

#define VIRTIO_NET_HDR_LEN 12 /* struct virtio_net_hdr_v1 */
#define VIRTIO_NET_CONFIG_SIZE 10
#define VIRTIO_NET_MAC_LEN 6
#define VIRTIO_NET_MAC_TABLE_ENTRIES 64 /* QEMU's MAC_TABLE_ENTRIES */

struct virtio_net_stats {
    uint64_t tx_frames, rx_frames;
    uint64_t rx_too_big;  /* dropped: could never fit the buffers offered */
    uint64_t rx_filtered; /* dropped: the receive filter refused them */
};

struct virtio_net_mac_entry {
    uint8_t a[VIRTIO_NET_MAC_LEN];
};

/* The driver's receive filter (CTRL_RX and CTRL_MAC); migrated.  A reset
 * gives promisc on and everything else off, as QEMU does, so a driver
 * that never sends CTRL_RX still gets every frame. */
struct virtio_net_rx_filter {
    bool promisc, allmulti, alluni, nomulti, nouni, nobcast;
    /* The driver's table did not fit: accept every unicast / multicast. */
    bool uni_overflow, multi_overflow;
    uint32_t in_use;      /* entries in macs */
    uint32_t first_multi; /* macs[0, first_multi): unicast table; the rest multicast */
    struct virtio_net_mac_entry macs[VIRTIO_NET_MAC_TABLE_ENTRIES];
};

struct virtio_net {
    struct virtio_mmio mmio; /* transport; mmio.vdev.s is migrated */
    /* -device mac=: migrated as an equal-field; a reset restores mac. */
    uint8_t conf_mac[VIRTIO_NET_MAC_LEN];
    uint16_t status; /* VIRTIO_NET_S_*: migrated */
    /* The NIC's MAC now (config space, the filter, RARP): conf_mac until
     * the driver's MAC_ADDR_SET; migrated. */
    uint8_t mac[VIRTIO_NET_MAC_LEN];
    struct virtio_net_rx_filter rx;
    /* Host side, not migrated: */
    struct net_backend *nb; /* not owned */
    bool backend_hdr;       /* the backend carries the 12-byte header */
    bool running;           /* the VM runs: frames may move */
    bool tx_waiting;        /* a send said -EAGAIN; tx_ready will follow */
    struct virtio_net_stats stats;
    struct iovec tx_iov[VIRTQUEUE_MAX_SG]; /* scratch: one tx frame */
};

/* The "virtio-net" section: transport state + configured MAC (must
 * match) + status + current MAC + receive filter. */
extern const struct vmstate_description virtio_net_vmstate;

/*
 * Attach to @nb as its peer (@nb stays the caller's: free it after
 * virtio_net_destroy()).  Starts stopped: call virtio_net_set_running()
 * when the VM runs.  Register the transport with iomap_add(mmio, base,
 * VIRTIO_MMIO_SIZE, &virtio_mmio_ops, &n->mmio, ...).
 */
bool virtio_net_init(struct virtio_net *n, struct net_backend *nb,
                     const uint8_t mac[VIRTIO_NET_MAC_LEN], const struct virtqueue_ram *ram,
                     uint64_t base, struct irq_line irq, GError **errp);
/* Detach from the backend (no callback after this). */
void virtio_net_destroy(struct virtio_net *n);
/* System reset. */
void virtio_net_reset(struct virtio_net *n);
/* The VM started (true) or stopped (false).  Starting resumes rx and tx. */
void virtio_net_set_running(struct virtio_net *n, bool running);
/* Send what the driver queued without a notification we saw (after an
 * incoming migration) and let the backend offer frames again. */
void virtio_net_kick(struct virtio_net *n);
/* Ask the guest to announce itself (after a migration).  False when the
 * driver did not negotiate GUEST_ANNOUNCE (or is not running). */
bool virtio_net_announce(struct virtio_net *n);
/* Self-announce: one RARP frame from the NIC's MAC into its backend
 * (net/announce.h), whether or not the guest runs.  False when the
 * backend could not take it now. */
bool virtio_net_send_rarp(struct virtio_net *n);

#endif
