/*
 * Little-endian loads and stores on byte buffers: guest-visible structures
 * (ELF headers, boot_params, MP tables, PVH start info) are little-endian and
 * may sit at any alignment in a file or in guest RAM.
 */
#ifndef UTIL_LE_H
#define UTIL_LE_H

#include <stdint.h>

static inline uint16_t le16_get(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t le32_get(const uint8_t *p)
{
    return le16_get(p) | (uint32_t)le16_get(p + 2) << 16;
}

static inline uint64_t le64_get(const uint8_t *p)
{
    return le32_get(p) | (uint64_t)le32_get(p + 4) << 32;
}

/* @n (at most 8) bytes: an access of any width (MMIO, config space). */
static inline uint64_t le_get_n(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static inline void le16_put(uint8_t *p, uint16_t v)
{
    p[0] = v;
    p[1] = v >> 8;
}

static inline void le32_put(uint8_t *p, uint32_t v)
{
    le16_put(p, v);
    le16_put(p + 2, v >> 16);
}

static inline void le64_put(uint8_t *p, uint64_t v)
{
    le32_put(p, v);
    le32_put(p + 4, v >> 32);
}

static inline void le_put_n(uint8_t *p, unsigned n, uint64_t v)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

#endif
