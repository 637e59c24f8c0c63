/*
 * Self-announce: after an incoming migration (and on the monitor's
 * announce-self) every NIC tells the network where it now is, as QEMU
 * does, so that switches and bridges move its MAC to the new port.
 *
 * Each round, for every NIC (or those announce-self's "interfaces"
 * names): one RARP frame from the NIC's current MAC into its backend,
 * and a request to the guest driver to announce itself (virtio-net
 * GUEST_ANNOUNCE, when negotiated).  The frame (60 bytes,
 * Ethernet minimum without FCS):
 *
 *   0   6  ff ff ff ff ff ff      destination: broadcast
 *   6   6  MAC                    source
 *  12   2  80 35                  ethertype RARP
 *  14   2  00 01                  hardware type Ethernet
 *  16   2  08 00                  protocol type IPv4
 *  18   1  06, 19  1  04          address lengths
 *  20   2  00 03                  opcode: reverse request
 *  22   6  MAC, 28  4  0.0.0.0    sender
 *  32   6  MAC, 38  4  0.0.0.0    target
 *  42  18  zeroes                 padding
 *
 * Timing (QEMU's announce-* parameters, in ms): round 1 comes @initial
 * after the start; round k + 1 comes initial + k * step after round k,
 * but never more than @max; @rounds rounds in all.  QEMU's defaults
 * 50/550/5/100 give 50, 150, 250, 350, 450 ms between rounds.
 *
 * Thread context: the timer runs on the VM's main loop, so @fire runs
 * with the VM lock held; start and stop are called with it held.
 */
#ifndef NET_ANNOUNCE_H
#define NET_ANNOUNCE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define ANNOUNCE_FRAME_LEN 60

struct announce_params {
    int64_t initial, max, rounds, step; /* ms, ms, count, ms */
    /* QEMU's "interfaces": bit i selects the machine's NIC i; 0 (absent
     * or an empty list): every NIC. */
    uint64_t nics;
};

struct announce_timer {
    GMainContext *ctx;
    GSource *src; /* the pending round, or NULL */
    struct announce_params p;
    int64_t round; /* rounds fired */
    void (*fire)(void *opaque);
    void *opaque;
};

/* The RARP frame announcing @mac. */
void announce_rarp_frame(const uint8_t mac[6], uint8_t frame[ANNOUNCE_FRAME_LEN]);
/* Does a round with @p announce the machine's NIC @nic? */
bool announce_selects(const struct announce_params *p, unsigned nic);
/* Milliseconds before round @round + 1, after round @round (0: from start). */
int64_t announce_delay_ms(const struct announce_params *p, int64_t round);

/* (Re)start: a running announcement starts over with @p. */
void announce_timer_start(struct announce_timer *t, GMainContext *ctx,
                          const struct announce_params *p, void (*fire)(void *opaque),
                          void *opaque);
void announce_timer_stop(struct announce_timer *t);

#endif
