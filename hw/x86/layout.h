/*
 * Every guest-physical address the tern-1.0 machine uses, in one place.
 *
 *   0x00000000  real-mode IVT / BDA (left zero)
 *   0x00000500  GDT for the boot vCPU (LAYOUT_GDT, 8 entries)
 *   0x00006000  PVH hvm_start_info, module list, memory map
 *   0x00007000  Linux zero page (struct boot_params)
 *   0x00009000  boot page tables: PML4, PDPT, 4 PDs -> identity map 0-4 GiB
 *   0x00020000  kernel command line (64 KiB max)
 *   0x0009fc00  EBDA (reserved in e820)
 *   0x000f0000  MP floating pointer + MP configuration table (reserved)
 *   0x00100000  kernel image (PVH ELF: its own p_paddr; bzImage: here)
 *   ...         initrd at the top of RAM below 4 GiB
 *   0xc0000000  end of RAM below 4 GiB when RAM > 3 GiB (PCI hole follows)
 *   0xd0000000  virtio-mmio slots, 4 KiB each (LAYOUT_VIRTIO_MMIO_SLOTS)
 *   0xfec00000  IOAPIC (in-kernel)
 *   0xfee00000  local APIC (in-kernel)
 *   0xfeffc000  KVM identity-map page, then 3 pages of KVM's real-mode TSS
 *   0x100000000 the rest of RAM when it does not fit below the PCI hole
 */
#ifndef HW_X86_LAYOUT_H
#define HW_X86_LAYOUT_H

#define LAYOUT_GDT 0x500ULL
#define LAYOUT_GDT_ENTRIES 8
#define LAYOUT_IDT 0x540ULL
#define LAYOUT_PVH_INFO 0x6000ULL
#define LAYOUT_PVH_MODLIST 0x6040ULL
#define LAYOUT_PVH_MEMMAP 0x6080ULL
#define LAYOUT_PVH_MEMMAP_MAX 64
#define LAYOUT_ZERO_PAGE 0x7000ULL
#define LAYOUT_PML4 0x9000ULL
#define LAYOUT_PDPT 0xa000ULL
#define LAYOUT_PD 0xb000ULL /* 4 pages */
#define LAYOUT_CMDLINE 0x20000ULL
#define LAYOUT_CMDLINE_MAX 0x10000ULL
#define LAYOUT_EBDA 0x9fc00ULL
#define LAYOUT_VGA 0xa0000ULL
#define LAYOUT_MPTABLE 0xf0000ULL
#define LAYOUT_MPTABLE_MAX 0x10000ULL
#define LAYOUT_HIMEM 0x100000ULL
#define LAYOUT_LOWMEM_MAX 0xc0000000ULL
#define LAYOUT_4G 0x100000000ULL
#define LAYOUT_IOAPIC 0xfec00000ULL
/*
 * virtio-mmio slot n sits at LAYOUT_VIRTIO_MMIO + n * LAYOUT_VIRTIO_MMIO_STRIDE
 * and interrupts on ISA IRQ LAYOUT_VIRTIO_IRQ(n): 5, 9, 10, 11, which no
 * legacy device here uses.  Legacy IRQs because Linux numbers IOAPIC pins
 * 0-15 as their GSI when it reads the MP table (higher pins get dynamic
 * numbers the kernel command line cannot name).  These lines are
 * level-triggered, active high: the MP table says so (LAYOUT_LEVEL_IRQS).
 */
#define LAYOUT_VIRTIO_MMIO 0xd0000000ULL
#define LAYOUT_VIRTIO_MMIO_STRIDE 0x1000ULL
#define LAYOUT_VIRTIO_MMIO_SLOTS 4
#define LAYOUT_VIRTIO_IRQ(n) ((n) == 0 ? 5u : 8u + (n))
#define LAYOUT_LEVEL_IRQS ((1u << 5) | (1u << 9) | (1u << 10) | (1u << 11))
#define LAYOUT_LAPIC 0xfee00000ULL
#define LAYOUT_KVM_IDENTITY_MAP 0xfeffc000ULL
#define LAYOUT_KVM_TSS 0xfeffd000ULL

/* GDT selectors (index * 8) */
#define LAYOUT_SEL_CODE64 0x10 /* Linux 64-bit boot protocol: __BOOT_CS */
#define LAYOUT_SEL_DATA 0x18   /* __BOOT_DS */
#define LAYOUT_SEL_CODE32 0x20 /* PVH 32-bit entry */
#define LAYOUT_SEL_TSS 0x28

#endif
