#include "hw/x86/mptable.h"

#include <string.h>

#include "hw/x86/layout.h"
#include "util/le.h"

enum {
    MP_FPS_SIZE = 16, MP_HDR_SIZE = 44, MP_PROC_SIZE = 20, MP_ENTRY_SIZE = 8, MP_ISA_IRQS = 16,
    MP_SPEC_REV = 4, MP_ENTRY_PROC = 0, MP_ENTRY_BUS = 1, MP_ENTRY_IOAPIC = 2,
    MP_ENTRY_INTSRC = 3, MP_ENTRY_LINTSRC = 4, MP_INT = 0, MP_NMI = 1, MP_EXTINT = 3,
    MP_CPU_ENABLED = 1, MP_CPU_BSP = 2, MP_APIC_VERSION = 0x14, MP_IOAPIC_VERSION = 0x11,
    /* I/O interrupt flags: polarity bits 1:0, trigger bits 3:2 (1 high/edge, 3 low/level) */
    MP_IRQ_CONFORMING = 0x00, MP_IRQ_LEVEL_HIGH = 0x0d,
};


uint8_t mptable_checksum(const uint8_t *buf, size_t len)
{
    uint8_t sum = 0;

    while (len--)
        sum += *buf++;
    return sum;
}

size_t mptable_size(unsigned ncpus)
{
    return MP_FPS_SIZE + MP_HDR_SIZE + MP_PROC_SIZE * ncpus +
           MP_ENTRY_SIZE * (1 + 1 + MP_ISA_IRQS + 2);
}

static uint8_t *mptable_entry8(uint8_t *p, uint8_t type, uint8_t a, uint8_t b, uint8_t c,
                               uint8_t d, uint8_t e, uint8_t f, uint8_t g)
{
    const uint8_t e8[MP_ENTRY_SIZE] = { type, a, b, c, d, e, f, g };

    memcpy(p, e8, sizeof(e8));
    return p + MP_ENTRY_SIZE;
}

static uint8_t *mptable_entries(uint8_t *p, unsigned ncpus)
{
    const uint8_t ioapic_id = ncpus;

    for (unsigned i = 0; i < ncpus; i++) {
        p[0] = MP_ENTRY_PROC;
        p[1] = i; /* APIC id */
        p[2] = MP_APIC_VERSION;
        p[3] = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0);
        le32_put(p + 4, 0x600);  /* signature: family 6 */
        le32_put(p + 8, 0x201);  /* features: FPU, APIC */
        memset(p + 12, 0, 8);
        p += MP_PROC_SIZE;
    }
    p = mptable_entry8(p, MP_ENTRY_BUS, 0, 'I', 'S', 'A', ' ', ' ', ' ');
    p = mptable_entry8(p, MP_ENTRY_IOAPIC, ioapic_id, MP_IOAPIC_VERSION, 1, 0, 0, 0, 0);
    le32_put(p - 4, (uint32_t)LAYOUT_IOAPIC); /* address: the entry's last 4 bytes */
    for (unsigned irq = 0; irq < MP_ISA_IRQS; irq++) {
        uint8_t flags = (LAYOUT_LEVEL_IRQS >> irq) & 1 ? MP_IRQ_LEVEL_HIGH : MP_IRQ_CONFORMING;

        p = mptable_entry8(p, MP_ENTRY_INTSRC, MP_INT, flags, 0, 0, irq, ioapic_id, irq);
    }
    p = mptable_entry8(p, MP_ENTRY_LINTSRC, MP_EXTINT, 0, 0, 0, 0, 0xff, 0);
    p = mptable_entry8(p, MP_ENTRY_LINTSRC, MP_NMI, 0, 0, 0, 0, 0xff, 1);
    return p;
}

size_t mptable_build(uint8_t *buf, uint64_t base, unsigned ncpus)
{
    uint8_t *fps = buf, *hdr = buf + MP_FPS_SIZE;
    uint8_t *end;
    size_t size = mptable_size(ncpus);

    memset(buf, 0, size);
    end = mptable_entries(hdr + MP_HDR_SIZE, ncpus);

    memcpy(hdr, "PCMP", 4);
    le16_put(hdr + 4, end - hdr);
    hdr[6] = MP_SPEC_REV;
    memcpy(hdr + 8, "TERN    ", 8);
    memcpy(hdr + 16, "TERN-1.0    ", 12);
    le16_put(hdr + 34, ncpus + 1 + 1 + MP_ISA_IRQS + 2);
    le32_put(hdr + 36, (uint32_t)LAYOUT_LAPIC);
    hdr[7] = -mptable_checksum(hdr, end - hdr);

    memcpy(fps, "_MP_", 4);
    le32_put(fps + 4, base + MP_FPS_SIZE);
    fps[8] = 1;
    fps[9] = MP_SPEC_REV;
    fps[10] = -mptable_checksum(fps, MP_FPS_SIZE);
    return size;
}
