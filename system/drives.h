/*
 * Disks on the command line, in QEMU's three spellings:
 *
 *   -drive file=PATH[,if=virtio|none][,format=raw][,id=ID][,readonly=on]
 *          [,cache=none|writeback][,aio=native|threads][,file.locking=off]
 *          [,serial=S]
 *       if=virtio (Tern's default: it has no IDE) is a disk of its own, id
 *       "virtioN" unless given; if=none only defines the drive, for -device.
 *   -blockdev driver=file,node-name=N,filename=PATH[,read-only=on]
 *          [,cache.direct=on][,aio=native|threads][,locking=off]
 *   -blockdev driver=raw,node-name=N,file=FILENODE   (or file.driver=file,
 *          file.filename=PATH): the format node a device names
 *   -device virtio-blk,drive=ID[,serial=S][,id=...]
 *       (also virtio-blk-device, and virtio-blk-pci: Tern has no PCI, the
 *       disk is a virtio-mmio device all the same)
 *
 * The result is the list of disks, in the order of the command line: disk
 * N is virtio-mmio slot N.  Only the syntax and references are checked
 * here; opening the image (missing, too small, locked) happens when the
 * VM is built.  Thread context: main(), before anything runs.
 */
#ifndef SYSTEM_DRIVES_H
#define SYSTEM_DRIVES_H

#include <glib.h>
#include <stdbool.h>

#include "block/block.h"

#define DRIVES_MAX 4 /* the tern-1.0 machine's virtio-mmio slots */

/* A -drive or -blockdev definition. */
struct drive_def {
    char *id;     /* id= / node-name= */
    const char *option; /* "-drive", "-blockdev" */
    char *spec;         /* "-drive ARG" as typed, for messages */
    struct block_options bo;
    bool used;   /* a disk (or a raw node) took it */
};

/* A virtio-blk disk. */
struct disk_config {
    struct drive_def *drive; /* not owned; NULL until resolved */
    char *drive_ref;         /* -device drive=, resolved at the end */
    char *serial;            /* GET_ID, <= 20 bytes; NULL: none */
};

struct drives {
    GPtrArray *defs;  /* struct drive_def *, owned */
    GPtrArray *disks; /* struct disk_config *, owned; slot order */
    unsigned nvirtio; /* if=virtio drives so far (default ids) */
};

void drives_init(struct drives *d);
void drives_clear(struct drives *d);

bool drives_parse_drive(struct drives *d, const char *arg, GError **errp);
bool drives_parse_blockdev(struct drives *d, const char *arg, GError **errp);
/* -device virtio-blk...: @kv holds the keys after "driver". */
bool drives_parse_device(struct drives *d, GHashTable *kv, GError **errp);
/* After the whole command line: resolve drive= references, check the
 * slot count. */
bool drives_resolve(struct drives *d, GError **errp);

#endif
