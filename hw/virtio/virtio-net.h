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
 * Features: MAC, STATUS, MRG_RXBUF, CTRL_VQ, GUEST_ANNOUNCE; plus the
 * core's VERSION_1, EVENT_IDX, INDIRECT_DESC.  No offloads yet (no CSUM,
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
 * Only VIRTIO_NET_CTRL_ANNOUNCE / ANNOUNCE_ACK is OK; the rest is ERR.
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
 * Migration: the "virtio-net" section is the transport's state, the MAC
 * (an equal-field: the destination's -device mac= must match) and the
 * status.  Frames move synchronously under the VM lock and a chain the
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
#define VIRTIO_NET_F_GUEST_ANNOUNCE 21

#define VIRTIO_NET_S_LINK_UP 1
#define VIRTIO_NET_S_ANNOUNCE 2

#define VIRTIO_NET_OK 0
#define VIRTIO_NET_ERR 1
#define VIRTIO_NET_CTRL_ANNOUNCE 3
#define VIRTIO_NET_CTRL_ANNOUNCE_ACK 0

#define VIRTIO_NET_HDR_LEN 12 /* struct virtio_net_hdr_v1 */
#define VIRTIO_NET_CONFIG_SIZE 10
#define VIRTIO_NET_MAC_LEN 6

struct virtio_net_stats {
    uint64_t tx_frames, rx_frames;
    uint64_t rx_too_big; /* dropped: could never fit the buffers offered */
};

struct virtio_net {
    struct virtio_mmio mmio; /* transport; mmio.vdev.s is migrated */
    uint8_t mac[VIRTIO_NET_MAC_LEN]; /* migrated as an equal-field */
    uint16_t status;                 /* VIRTIO_NET_S_*: migrated */
    /* Host side, not migrated: */
    struct net_backend *nb; /* not owned */
    bool backend_hdr;       /* the backend carries the 12-byte header */
    bool running;           /* the VM runs: frames may move */
    bool tx_waiting;        /* a send said -EAGAIN; tx_ready will follow */
    struct virtio_net_stats stats;
    struct iovec tx_iov[VIRTQUEUE_MAX_SG]; /* scratch: one tx frame */
};

/* The "virtio-net" section: transport state + MAC (must match) + status. */
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
