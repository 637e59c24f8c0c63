#include "net/announce.h"

#include <string.h>

void announce_rarp_frame(const uint8_t mac[6], uint8_t frame[ANNOUNCE_FRAME_LEN])
{
    static const uint8_t rarp_head[] = { 0x80, 0x35, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04,
                                         0x00, 0x03 };

    memset(frame, 0, ANNOUNCE_FRAME_LEN);
    memset(frame, 0xff, 6);
    memcpy(frame + 6, mac, 6);
    memcpy(frame + 12, rarp_head, sizeof(rarp_head));
    memcpy(frame + 22, mac, 6); /* sender; its IPv4 address stays 0.0.0.0 */
    memcpy(frame + 32, mac, 6); /* target */
}

bool announce_selects(const struct announce_params *p, unsigned nic)
{
    return !p->nics || (nic < 64 && (p->nics >> nic) & 1);
}

int64_t announce_delay_ms(const struct announce_params *p, int64_t round)
{
    int64_t d = p->initial + round * p->step;

    return d < 0 || d > p->max ? p->max : d;
}

static gboolean announce_timer_cb(gpointer opaque);

static void announce_timer_arm(struct announce_timer *t)
{
    t->src = g_timeout_source_new((guint)MAX(announce_delay_ms(&t->p, t->round), 0));
    g_source_set_callback(t->src, announce_timer_cb, t, NULL);
    g_source_attach(t->src, t->ctx);
}

static void announce_timer_drop_source(struct announce_timer *t)
{
    if (t->src) {
        g_source_destroy(t->src);
        g_source_unref(t->src);
        t->src = NULL;
    }
}

static gboolean announce_timer_cb(gpointer opaque)
{
    struct announce_timer *t = opaque;

    announce_timer_drop_source(t);
    t->round++;
    t->fire(t->opaque);
    if (t->round < t->p.rounds && !t->src)
        announce_timer_arm(t);
    return G_SOURCE_REMOVE;
}

void announce_timer_start(struct announce_timer *t, GMainContext *ctx,
                          const struct announce_params *p, void (*fire)(void *opaque),
                          void *opaque)
{
    announce_timer_stop(t);
    t->ctx = ctx;
    t->p = *p;
    t->round = 0;
    t->fire = fire;
    t->opaque = opaque;
    if (p->rounds > 0)
        announce_timer_arm(t);
}

void announce_timer_stop(struct announce_timer *t)
{
    announce_timer_drop_source(t);
}
