/*
 * net-echo: the network guest for virtio-net tests.  It answers ARP and
 * ping for one IPv4 address, so a test can talk to it through a netdev
 * with nothing but hand-made frames, across a migration too.
 *
 * Finds a virtio-net device on virtio-mmio from its command line (the
 * first "virtio_mmio.device=SIZE@ADDR:IRQ" window whose DeviceID is 1;
 * virtio_mmio.[ch]), negotiates VERSION_1, MAC, STATUS and MRG_RXBUF, plus
 * CTRL_VQ and GUEST_ANNOUNCE when offered, and polls (interrupts stay
 * off):
 *
 *   receiveq  RX_NUM buffers of RX_BUF bytes, always all available: each
 *             used buffer goes straight back.  With MRG_RXBUF a frame
 *             spans num_buffers buffers (a full 1514-byte frame plus the
 *             header takes 3), the first led by the 12-byte
 *             struct virtio_net_hdr_v1 (num_buffers: le16 at offset 10).
 *   transmitq one frame at a time: one descriptor, a zero header + frame.
 *   controlq  one command at a time: u8 class, u8 command; u8 ack back.
 *
 * Frames it answers (everything else is ignored, including frames longer
 * than 1514 bytes and IPv4 packets with a bad header checksum):
 *   ARP request (htype 1, ptype 0x0800) whose target IP is ours -> ARP
 *     reply: to the sender's MAC, sha = our MAC, spa = our IP, tha/tpa =
 *     the requester's, padded to 60 bytes.
 *   IPv4 (no fragment) to our IP, ICMP echo request (type 8 code 0) with a
 *     valid checksum -> echo reply: MACs and IPs swapped, TTL 64, IP
 *     header checksum recomputed, type 0, id/seq/payload as they came,
 *     ICMP checksum recomputed; IP options are kept.
 *
 * Guest announce (VIRTIO_NET_F_GUEST_ANNOUNCE, after a migration): every
 * STATUS_POLL_TSC TSC cycles (a config read is an MMIO exit, so not
 * every loop) it reads the config status; with VIRTIO_NET_S_ANNOUNCE (2)
 * set it sends one gratuitous ARP (an ARP request from our MAC to
 * ff:ff:ff:ff:ff:ff, sender IP = target IP = ours, target MAC 0) and then
 * VIRTIO_NET_CTRL_ANNOUNCE (3) / ANNOUNCE_ACK (0), and waits for the ack
 * (VIRTIO_NET_OK), which clears the bit.
 *
 * Messages: "NET-READY mac=52:54:00:12:34:56 ip=10.0.0.2" once set up;
 * "NET-ANNOUNCE <n>" after the n-th announce (n from 1); with count=N,
 * "NET-PINGS <k>" after every N-th echo reply (k: replies so far).
 * "NET-ERROR ..." for anything it cannot handle (a device that fails
 * negotiation or sets DEVICE_NEEDS_RESET, a used entry out of range),
 * then debug-exit 1 (or a halt).  Nothing per frame: the serial port is slow.
 *
 * Command line: ip=A.B.C.D (default 10.0.0.2), count=N (default 0: no
 * NET-PINGS lines).
 *
 * References: virtio 1.x "Network Device" (feature bits, struct
 * virtio_net_config, virtio_net_hdr, "Control Virtqueue", "Gratuitous
 * Packet Sending"); RFC 826 (ARP), RFC 791 (IPv4 header, checksum),
 * RFC 792 (ICMP echo), RFC 1071 (the Internet checksum).
 */
#include "cmdline.h"
#include "cpu.h"
#include "debug_exit.h"
#include "guest.h"
#include "mem.h"
#include "print.h"
#include "virtio_mmio.h"

#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_CTRL_VQ 17
#define VIRTIO_NET_F_GUEST_ANNOUNCE 21

#define VIRTIO_NET_S_ANNOUNCE 2
#define VIRTIO_NET_CONFIG_STATUS 6 /* le16 in struct virtio_net_config */
#define VIRTIO_NET_CTRL_ANNOUNCE 3
#define VIRTIO_NET_CTRL_ANNOUNCE_ACK 0
#define VIRTIO_NET_OK 0

#define NET_HDR_LEN 12 /* struct virtio_net_hdr_v1 */
#define NET_HDR_NUM_BUFFERS 10

#define RXQ 0
#define TXQ 1
#define CTRLQ 2
#define RX_NUM 32
#define RX_BUF 640
#define TX_NUM 4
#define CTRL_NUM 4

#define ETH_ALEN 6
#define ETH_HLEN 14
#define ETH_ZLEN 60	  /* shortest frame (no FCS): shorter ones are padded */
#define ETH_FRAME_MAX 1514 /* no FCS, no VLAN tag */
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define ARP_LEN 28
#define ARP_REQUEST 1
#define ARP_REPLY 2
#define IP_PROTO_ICMP 1
#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8

/* Look at the device status and the announce bit this often (2^23
 * cycles: a few ms). */
#define STATUS_POLL_TSC (1ULL << 23)

struct net {
	struct virtio_mmio_dev dev;
	struct virtio_mmio_vq rx, tx, ctrl;
	uint8_t mac[ETH_ALEN];
	uint8_t ip[4];
	bool announce;		 /* GUEST_ANNOUNCE (and CTRL_VQ) negotiated */
	uint64_t announces;	 /* done so far */
	uint64_t replies;	 /* echo replies sent */
	uint64_t count;		 /* count=N */
	uint64_t status_checked; /* TSC at the last look at the status */
};

/* The buffers the device reads and writes. */
static uint8_t rx_vq_mem[VIRTIO_MMIO_VQ_MEM_SIZE(RX_NUM)] __attribute__((aligned(4096)));
static uint8_t tx_vq_mem[VIRTIO_MMIO_VQ_MEM_SIZE(TX_NUM)] __attribute__((aligned(4096)));
static uint8_t ctrl_vq_mem[VIRTIO_MMIO_VQ_MEM_SIZE(CTRL_NUM)] __attribute__((aligned(4096)));
static uint8_t rx_bufs[RX_NUM][RX_BUF] __attribute__((aligned(64)));
static uint8_t tx_buf[NET_HDR_LEN + ETH_FRAME_MAX] __attribute__((aligned(64)));
static uint8_t ctrl_cmd[2];
static volatile uint8_t ctrl_ack;
/* A received frame, gathered from its buffers. */
static uint8_t frame[ETH_FRAME_MAX];

static void __attribute__((noreturn)) net_fail(void)
{
	debug_exit(1);
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* RFC 1071: the ones' complement of the ones' complement sum. */
static uint16_t inet_csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += get_be16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* "A.B.C.D" up to a space or the end; false if it is not one. */
static bool parse_ip(const char *s, uint8_t ip[4])
{
	for (int i = 0; i < 4; i++) {
		unsigned v = 0, digits = 0;

		for (; *s >= '0' && *s <= '9' && digits < 4; s++, digits++)
			v = v * 10 + (unsigned)(*s - '0');
		if (!digits || v > 255 || (i < 3 ? *s != '.' : *s && *s != ' '))
			return false;
		ip[i] = (uint8_t)v;
		s++;
	}
	return true;
}

/* ---- queues ---- */

static void net_rx_give(struct net *n, uint16_t id)
{
	n->rx.desc[id] = (struct virtq_desc){ (uint64_t)(uintptr_t)rx_bufs[id], RX_BUF,
					      VIRTQ_DESC_F_WRITE, 0 };
	virtio_mmio_vq_add(&n->rx, id);
}

/* Send tx_buf's frame of @len bytes (the header before it is zero). */
static void net_send(struct net *n, size_t len)
{
	struct virtq_used_elem e;

	if (len < ETH_ZLEN) {
		memset(tx_buf + NET_HDR_LEN + len, 0, ETH_ZLEN - len);
		len = ETH_ZLEN;
	}
	memset(tx_buf, 0, NET_HDR_LEN);
	n->tx.desc[0] = (struct virtq_desc){ (uint64_t)(uintptr_t)tx_buf,
					     (uint32_t)(NET_HDR_LEN + len), 0, 0 };
	e = virtio_mmio_vq_run(&n->tx, 0);
	if (e.id != 0) {
		print("NET-ERROR tx used id %u\n", e.id);
		net_fail();
	}
}

/* The next used rx buffer (waiting for it): its id and length, checked. */
static struct virtq_used_elem net_rx_used(struct net *n, bool wait)
{
	struct virtq_used_elem e = { RX_NUM, 0 };

	if (wait)
		e = virtio_mmio_vq_wait(&n->rx);
	else if (!virtio_mmio_vq_poll(&n->rx, &e))
		return (struct virtq_used_elem){ RX_NUM, 0 };
	if (e.id >= RX_NUM || e.len > RX_BUF) {
		print("NET-ERROR rx used id %u len %u\n", e.id, e.len);
		net_fail();
	}
	return e;
}

/*
 * One received frame into frame[], its buffers back into the ring.  The
 * frame's length (more than ETH_FRAME_MAX: only that much was kept), or
 * -1 when nothing came.
 */
static long net_receive(struct net *n)
{
	struct virtq_used_elem e = net_rx_used(n, false);
	unsigned bufs, kept = 0;
	long len = 0;

	if (e.id == RX_NUM)
		return -1;
	bufs = rx_bufs[e.id][NET_HDR_NUM_BUFFERS] | rx_bufs[e.id][NET_HDR_NUM_BUFFERS + 1] << 8;
	if (e.len < NET_HDR_LEN || bufs == 0 || bufs > RX_NUM) {
		print("NET-ERROR rx header: len %u num_buffers %u\n", e.len, bufs);
		net_fail();
	}
	for (unsigned i = 0; i < bufs; i++) {
		unsigned skip = i ? 0 : NET_HDR_LEN, part;

		if (i)
			e = net_rx_used(n, true);
		part = e.len - skip;
		if (kept < ETH_FRAME_MAX) {
			unsigned take = part < ETH_FRAME_MAX - kept ? part : ETH_FRAME_MAX - kept;

			memcpy(frame + kept, rx_bufs[e.id] + skip, take);
			kept += take;
		}
		len += part;
		net_rx_give(n, (uint16_t)e.id);
	}
	virtio_mmio_vq_notify(&n->rx); /* the backend may be waiting for room */
	return len;
}

/* ---- frames ---- */

/* Ethernet header in tx_buf: to @dst, from us, @type; the payload. */
static uint8_t *net_eth(struct net *n, const uint8_t *dst, uint16_t type)
{
	uint8_t *f = tx_buf + NET_HDR_LEN;

	memcpy(f, dst, ETH_ALEN);
	memcpy(f + ETH_ALEN, n->mac, ETH_ALEN);
	put_be16(f + 12, type);
	return f + ETH_HLEN;
}

/* An ARP packet from us (sha, spa) about @tha / @tpa. */
static void net_arp(struct net *n, const uint8_t *dst, uint16_t op, const uint8_t *tha,
		    const uint8_t *tpa)
{
	uint8_t *a = net_eth(n, dst, ETH_P_ARP);

	put_be16(a, 1); /* htype: Ethernet */
	put_be16(a + 2, ETH_P_IP);
	a[4] = ETH_ALEN;
	a[5] = 4;
	put_be16(a + 6, op);
	memcpy(a + 8, n->mac, ETH_ALEN);
	memcpy(a + 14, n->ip, 4);
	memcpy(a + 18, tha, ETH_ALEN);
	memcpy(a + 24, tpa, 4);
	net_send(n, ETH_HLEN + ARP_LEN);
}

static void net_handle_arp(struct net *n, const uint8_t *a, size_t len)
{
	if (len < ARP_LEN || get_be16(a) != 1 || get_be16(a + 2) != ETH_P_IP || a[4] != ETH_ALEN ||
	    a[5] != 4 || get_be16(a + 6) != ARP_REQUEST || memcmp(a + 24, n->ip, 4))
		return;
	/* The requester's addresses are in the request; frame[] stays put
	 * while tx_buf is built. */
	net_arp(n, a + 8, ARP_REPLY, a + 8, a + 14);
}

/* @ip: an IPv4 packet of @len bytes (header checked) holding ICMP. */
static void net_handle_icmp(struct net *n, const uint8_t *ip, size_t hl, size_t len)
{
	const uint8_t *icmp = ip + hl;
	uint8_t *out;

	if (len - hl < 8 || icmp[0] != ICMP_ECHO_REQUEST || icmp[1] != 0 ||
	    inet_csum(icmp, len - hl) != 0)
		return;
	out = net_eth(n, frame + ETH_ALEN, ETH_P_IP);
	memcpy(out, ip, len);
	memcpy(out + 12, ip + 16, 4); /* source: us */
	memcpy(out + 16, ip + 12, 4); /* destination: the sender */
	out[8] = 64;		      /* TTL */
	put_be16(out + 10, 0);
	put_be16(out + 10, inet_csum(out, hl));
	out[hl] = ICMP_ECHO_REPLY;
	put_be16(out + hl + 2, 0);
	put_be16(out + hl + 2, inet_csum(out + hl, len - hl));
	net_send(n, ETH_HLEN + len);
	n->replies++;
	if (n->count && n->replies % n->count == 0)
		print("NET-PINGS %llu\n", (unsigned long long)n->replies);
}

static void net_handle_ip(struct net *n, const uint8_t *ip, size_t len)
{
	size_t hl, total;

	if (len < 20 || ip[0] >> 4 != 4)
		return;
	hl = (size_t)(ip[0] & 0xf) * 4;
	total = get_be16(ip + 2);
	if (hl < 20 || total < hl || total > len || inet_csum(ip, hl) != 0)
		return;
	if ((get_be16(ip + 6) & 0x3fff) || ip[9] != IP_PROTO_ICMP || memcmp(ip + 16, n->ip, 4))
		return; /* a fragment, not ICMP, or not for us */
	net_handle_icmp(n, ip, hl, total);
}

static void net_handle(struct net *n, size_t len)
{
	if (len < ETH_HLEN)
		return;
	switch (get_be16(frame + 12)) {
	case ETH_P_ARP: net_handle_arp(n, frame + ETH_HLEN, len - ETH_HLEN); break;
	case ETH_P_IP: net_handle_ip(n, frame + ETH_HLEN, len - ETH_HLEN); break;
	}
}

/* ---- guest announce ---- */

static void net_ctrl(struct net *n, uint8_t class, uint8_t cmd)
{
	struct virtq_desc *d = n->ctrl.desc;

	ctrl_cmd[0] = class;
	ctrl_cmd[1] = cmd;
	ctrl_ack = 0xff;
	d[0] = (struct virtq_desc){ (uint64_t)(uintptr_t)ctrl_cmd, 2, VIRTQ_DESC_F_NEXT, 1 };
	d[1] = (struct virtq_desc){ (uint64_t)(uintptr_t)&ctrl_ack, 1, VIRTQ_DESC_F_WRITE, 0 };
	virtio_mmio_vq_run(&n->ctrl, 0);
	if (ctrl_ack != VIRTIO_NET_OK) {
		print("NET-ERROR control command %u/%u: ack %u\n", class, cmd, ctrl_ack);
		net_fail();
	}
}

static void net_announce(struct net *n)
{
	static const uint8_t broadcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t zero[ETH_ALEN];

	net_arp(n, broadcast, ARP_REQUEST, zero, n->ip);
	net_ctrl(n, VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK);
	print("NET-ANNOUNCE %llu\n", (unsigned long long)++n->announces);
}

/* Now and then (each look is an MMIO exit): a broken device, or a
 * request to announce. */
static void net_check_status(struct net *n)
{
	uint64_t now = cpu_rdtsc();

	if (now - n->status_checked < STATUS_POLL_TSC)
		return;
	n->status_checked = now;
	if (virtio_mmio_read(&n->dev, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET) {
		print("NET-ERROR the device needs a reset\n");
		net_fail();
	}
	if (n->announce &&
	    (virtio_mmio_config(&n->dev, VIRTIO_NET_CONFIG_STATUS, 2) & VIRTIO_NET_S_ANNOUNCE))
		net_announce(n);
}

/* ---- set-up ---- */

static void net_setup_fail(const struct net *n)
{
	print("NET-ERROR %s\n", n->dev.error);
	net_fail();
}

/* Find, negotiate, the queues (rx full of buffers), the MAC, DRIVER_OK. */
static void net_setup(struct net *n, const char *cmdline)
{
	const uint64_t required = 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_NET_F_MAC |
				  1ULL << VIRTIO_NET_F_STATUS | 1ULL << VIRTIO_NET_F_MRG_RXBUF;
	const uint64_t optional = 1ULL << VIRTIO_NET_F_CTRL_VQ | 1ULL << VIRTIO_NET_F_GUEST_ANNOUNCE;

	if (!virtio_mmio_find(&n->dev, cmdline, VIRTIO_ID_NET) ||
	    !virtio_mmio_negotiate(&n->dev, required, optional) ||
	    !virtio_mmio_vq_setup(&n->rx, &n->dev, RXQ, RX_NUM, rx_vq_mem) ||
	    !virtio_mmio_vq_setup(&n->tx, &n->dev, TXQ, TX_NUM, tx_vq_mem))
		net_setup_fail(n);
	/* GUEST_ANNOUNCE needs CTRL_VQ ("Feature bit requirements"). */
	if (virtio_mmio_has(&n->dev, VIRTIO_NET_F_GUEST_ANNOUNCE) &&
	    !virtio_mmio_has(&n->dev, VIRTIO_NET_F_CTRL_VQ)) {
		print("NET-ERROR GUEST_ANNOUNCE offered without CTRL_VQ\n");
		net_fail();
	}
	if (virtio_mmio_has(&n->dev, VIRTIO_NET_F_CTRL_VQ) &&
	    !virtio_mmio_vq_setup(&n->ctrl, &n->dev, CTRLQ, CTRL_NUM, ctrl_vq_mem))
		net_setup_fail(n);
	n->announce = virtio_mmio_has(&n->dev, VIRTIO_NET_F_GUEST_ANNOUNCE);
	for (unsigned i = 0; i < ETH_ALEN; i++)
		n->mac[i] = (uint8_t)virtio_mmio_config(&n->dev, i, 1);
	for (uint16_t i = 0; i < RX_NUM; i++)
		net_rx_give(n, i);
	virtio_mmio_driver_ok(&n->dev);
}

void guest_main(const struct hvm_start_info *si)
{
	const char *cmdline = pvh_cmdline(si);
	const char *ip = cmdline_find(cmdline, "ip");
	struct net n = { 0 };

	n.count = cmdline_u64(cmdline, "count", 0);
	if (!parse_ip(ip ? ip : "10.0.0.2", n.ip)) {
		print("NET-ERROR ip= is not A.B.C.D\n");
		net_fail();
	}
	net_setup(&n, cmdline);
	print("NET-READY mac=%02x:%02x:%02x:%02x:%02x:%02x ip=%u.%u.%u.%u\n", n.mac[0], n.mac[1],
	      n.mac[2], n.mac[3], n.mac[4], n.mac[5], n.ip[0], n.ip[1], n.ip[2], n.ip[3]);
	for (;;) {
		long len = net_receive(&n);

		if (len >= 0 && len <= ETH_FRAME_MAX)
			net_handle(&n, (size_t)len);
		else if (len < 0)
			cpu_pause();
		net_check_status(&n);
	}
}
