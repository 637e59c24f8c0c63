#include "hw/uart16550.h"

#include <string.h>

#include "util/container.h"

enum {
    UART_IER_RDI = 0x01, UART_IER_THRI = 0x02, UART_IER_RLSI = 0x04, UART_IER_MSI = 0x08,
    UART_IIR_NO_INT = 0x01, UART_IIR_MSI = 0x00, UART_IIR_THRI = 0x02, UART_IIR_RDI = 0x04,
    UART_IIR_RLSI = 0x06, UART_IIR_FE = 0xc0,
    UART_FCR_FE = 0x01, UART_FCR_RFR = 0x02, UART_FCR_XFR = 0x04,
    UART_LCR_DLAB = 0x80,
    UART_MCR_LOOP = 0x10, UART_MCR_OUT2 = 0x08,
    UART_LSR_DR = 0x01, UART_LSR_OE = 0x02, UART_LSR_THRE = 0x20, UART_LSR_TEMT = 0x40,
    UART_LSR_INT_ANY = 0x1e,
    UART_MSR_DCD = 0x80, UART_MSR_DSR = 0x20, UART_MSR_CTS = 0x10,
};

static void uart16550_update_irq(struct uart16550 *u)
{
    struct uart16550_state *s = &u->s;
    uint8_t iir = UART_IIR_NO_INT;

    if ((s->ier & UART_IER_RLSI) && (s->lsr & UART_LSR_INT_ANY))
        iir = UART_IIR_RLSI;
    else if ((s->ier & UART_IER_RDI) && (s->lsr & UART_LSR_DR))
        iir = UART_IIR_RDI;
    else if ((s->ier & UART_IER_THRI) && s->thr_ipending)
        iir = UART_IIR_THRI;
    else if ((s->ier & UART_IER_MSI) && (s->msr & 0x0f))
        iir = UART_IIR_MSI;
    s->iir = iir | ((s->fcr & UART_FCR_FE) ? UART_IIR_FE : 0);
    irq_line_set(&u->irq, iir != UART_IIR_NO_INT);
}

void uart16550_reset(struct uart16550 *u)
{
    memset(&u->s, 0, sizeof(u->s));
    u->s.divider = 12; /* 9600 baud */
    u->s.iir = UART_IIR_NO_INT;
    u->s.lsr = UART_LSR_THRE | UART_LSR_TEMT;
    u->s.msr = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
    uart16550_update_irq(u);
    if (u->chr)
        chardev_accept_input(u->chr); /* the FIFO is empty: poll input */
}

static size_t uart16550_can_receive(void *opaque)
{
    struct uart16550 *u = opaque;

    return UART16550_FIFO_SIZE - u->s.rx_count;
}

static void uart16550_push_rx(struct uart16550 *u, uint8_t byte)
{
    struct uart16550_state *s = &u->s;

    if (s->rx_count == UART16550_FIFO_SIZE) {
        s->lsr |= UART_LSR_OE;
        return;
    }
    s->rx_fifo[(s->rx_head + s->rx_count) % UART16550_FIFO_SIZE] = byte;
    s->rx_count++;
    s->lsr |= UART_LSR_DR;
}

static void uart16550_receive(void *opaque, const uint8_t *buf, size_t len)
{
    struct uart16550 *u = opaque;

    if (u->s.mcr & UART_MCR_LOOP)
        return; /* in loopback the external input is disconnected */
    for (size_t i = 0; i < len; i++)
        uart16550_push_rx(u, buf[i]);
    uart16550_update_irq(u);
}

void uart16550_init(struct uart16550 *u, struct chardev *chr, struct irq_line irq)
{
    u->chr = chr;
    u->irq = irq;
    uart16550_reset(u);
    if (chr)
        chardev_set_handlers(chr, uart16550_can_receive, uart16550_receive, u);
}

static uint8_t uart16550_pop_rx(struct uart16550 *u)
{
    struct uart16550_state *s = &u->s;
    bool was_full = s->rx_count == UART16550_FIFO_SIZE;

    if (s->rx_count) {
        s->rbr = s->rx_fifo[s->rx_head];
        s->rx_head = (s->rx_head + 1) % UART16550_FIFO_SIZE;
        s->rx_count--;
    }
    if (!s->rx_count)
        s->lsr &= ~UART_LSR_DR;
    if (was_full && u->chr)
        chardev_accept_input(u->chr);
    return s->rbr;
}

static void uart16550_transmit(struct uart16550 *u, uint8_t byte)
{
    struct uart16550_state *s = &u->s;

    if (s->mcr & UART_MCR_LOOP)
        uart16550_push_rx(u, byte);
    else if (u->chr)
        chardev_write(u->chr, &byte, 1);
    s->lsr |= UART_LSR_THRE | UART_LSR_TEMT;
    s->thr_ipending = true;
}

uint64_t uart16550_read(void *opaque, uint64_t offset, unsigned size)
{
    struct uart16550 *u = opaque;
    struct uart16550_state *s = &u->s;
    uint8_t v = 0xff;

    (void)size;
    switch (offset) {
    case 0:
        v = (s->lcr & UART_LCR_DLAB) ? (s->divider & 0xff) : uart16550_pop_rx(u);
        break;
    case 1:
        v = (s->lcr & UART_LCR_DLAB) ? (s->divider >> 8) : s->ier;
        break;
    case 2:
        v = s->iir;
        /* Reading IIR while it reports THR-empty acknowledges that interrupt. */
        if ((v & 0x0f) == UART_IIR_THRI)
            s->thr_ipending = false;
        break;
    case 3: v = s->lcr; break;
    case 4: v = s->mcr; break;
    case 5:
        v = s->lsr;
        s->lsr &= ~(UART_LSR_OE); /* error bits clear on read */
        break;
    case 6:
        if (s->mcr & UART_MCR_LOOP) /* loopback: outputs wired to inputs */
            v = ((s->mcr & 0x0c) << 4) | ((s->mcr & 0x01) << 5) | ((s->mcr & 0x02) << 3);
        else
            v = s->msr;
        s->msr &= 0xf0; /* delta bits clear on read */
        break;
    case 7: v = s->scr; break;
    }
    uart16550_update_irq(u);
    return v;
}

void uart16550_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct uart16550 *u = opaque;
    struct uart16550_state *s = &u->s;
    uint8_t v = value;

    (void)size;
    switch (offset) {
    case 0:
        if (s->lcr & UART_LCR_DLAB) {
            s->divider = (s->divider & 0xff00) | v;
        } else {
            s->thr_ipending = false;
            uart16550_transmit(u, v);
        }
        break;
    case 1:
        if (s->lcr & UART_LCR_DLAB) {
            s->divider = (s->divider & 0x00ff) | (v << 8);
        } else {
            /* Enabling THRI with an empty THR raises the interrupt at once. */
            if (!(s->ier & UART_IER_THRI) && (v & UART_IER_THRI) && (s->lsr & UART_LSR_THRE))
                s->thr_ipending = true;
            s->ier = v & 0x0f;
        }
        break;
    case 2:
        if (v & UART_FCR_RFR) {
            s->rx_count = s->rx_head = 0;
            s->lsr &= ~UART_LSR_DR;
            if (u->chr)
                chardev_accept_input(u->chr); /* room again: poll input */
        }
        s->fcr = v & 0xc9; /* FIFO enable, DMA mode, trigger level */
        break;
    case 3: s->lcr = v; break;
    case 4: s->mcr = v & 0x1f; break;
    case 5: break; /* LSR is read-only (factory test) */
    case 6: break;
    case 7: s->scr = v; break;
    }
    uart16550_update_irq(u);
}

const struct iomap_ops uart16550_ops = {
    .read = uart16550_read,
    .write = uart16550_write,
};

/* The FIFO is a ring: head and count must describe a ring of this size. */
static bool uart16550_fifo_valid(void *opaque, int version_id)
{
    struct uart16550_state *s = opaque;

    (void)version_id;
    return s->rx_head < UART16550_FIFO_SIZE && s->rx_count <= UART16550_FIFO_SIZE;
}

/* Recompute IIR and the interrupt line through the normal register path. */
static bool uart16550_post_load(void *opaque, int version_id, GError **errp)
{
    struct uart16550 *u = container_of(opaque, struct uart16550, s);

    (void)version_id, (void)errp;
    uart16550_update_irq(u);
    return true;
}

static const struct vmstate_field uart16550_fields[] = {
    VMSTATE_FIELD(struct uart16550_state, divider),
    VMSTATE_FIELD(struct uart16550_state, rbr),
    VMSTATE_FIELD(struct uart16550_state, ier),
    VMSTATE_FIELD(struct uart16550_state, iir),
    VMSTATE_FIELD(struct uart16550_state, fcr),
    VMSTATE_FIELD(struct uart16550_state, lcr),
    VMSTATE_FIELD(struct uart16550_state, mcr),
    VMSTATE_FIELD(struct uart16550_state, lsr),
    VMSTATE_FIELD(struct uart16550_state, msr),
    VMSTATE_FIELD(struct uart16550_state, scr),
    VMSTATE_FIELD(struct uart16550_state, thr_ipending),
    VMSTATE_BUFFER(struct uart16550_state, rx_fifo),
    VMSTATE_FIELD(struct uart16550_state, rx_head),
    VMSTATE_FIELD(struct uart16550_state, rx_count),
    VMSTATE_VALIDATE("rx fifo indices", uart16550_fifo_valid),
    VMSTATE_END_OF_LIST(),
};

const struct vmstate_description uart16550_vmstate = {
    .name = "uart16550",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = uart16550_fields,
    .post_load = uart16550_post_load,
};
