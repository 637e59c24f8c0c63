/*
 * Sections: the per-VM registry of everything that goes into a migration
 * stream, and the stream's writer and loader (STREAM-FORMAT.md).
 *
 *   header     be32 "QEVM", be32 3
 *   config     u8 0x07, be32 len, machine type
 *   START      u8 0x01, be32 id, str8 idstr, be32 instance, be32 version,
 *              payload, footer               (one per iterative handler)
 *   PART       u8 0x02, be32 id, payload, footer     (while iterating)
 *   END        u8 0x03, be32 id, payload, footer     (guest stopped)
 *   FULL       u8 0x04, be32 id, str8 idstr, be32 instance, be32 version,
 *              VMState payload, footer       (one per device, unless its
 *              description's needed() says no)
 *   EOF        u8 0x00     the loader then checks that every section it
 *              expects arrived (a missing device is an error)
 *   vmdesc     u8 0x06, be32 len, JSON describing the FULL sections
 *   footer     u8 0x7e, be32 id (must match the section's id)
 *   command    u8 0x08, be16 cmd, be16 len, data (sockets only)
 *
 * Two kinds of entries: devices (a VMStateDescription, saved in a FULL
 * section) and iterative handlers (struct savevm_live_ops: RAM, block).
 * No globals: each VM owns a struct savevm.
 */
#ifndef MIGRATION_SAVEVM_H
#define MIGRATION_SAVEVM_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "migration/qemu-file.h"
#include "migration/vmstate.h"

#define QEMU_VM_FILE_MAGIC 0x5145564d
#define QEMU_VM_FILE_VERSION 3

enum {
    QEMU_VM_EOF = 0x00,
    QEMU_VM_SECTION_START = 0x01,
    QEMU_VM_SECTION_PART = 0x02,
    QEMU_VM_SECTION_END = 0x03,
    QEMU_VM_SECTION_FULL = 0x04,
    QEMU_VM_SUBSECTION = 0x05,
    QEMU_VM_VMDESCRIPTION = 0x06,
    QEMU_VM_CONFIGURATION = 0x07,
    QEMU_VM_COMMAND = 0x08,
    QEMU_VM_SECTION_FOOTER = 0x7e,
};

enum {
    MIG_CMD_OPEN_RETURN_PATH = 1,
    MIG_CMD_PING = 2,
};

/* The largest vmdesc trailer a loader accepts (it only skips it). */
#define SAVEVM_VMDESC_MAX (16u << 20)

/*
 * Iterative section handlers.  Thread and lock context of each call:
 *   save_setup          migration thread, VM lock held, guest running;
 *                       payload of the START section
 *   save_live_iterate   migration thread, VM lock NOT held, guest running;
 *                       payload of one PART section; returns 1 when this
 *                       handler has nothing left to send, 0 when it has,
 *                       -1 on error (with errp set)
 *   state_pending       migration thread, VM lock NOT held: bytes still
 *                       to send, for the switch-over decision; when its
 *                       estimate is at most @threshold (what the downtime
 *                       budget allows) it should make it exact (RAM: a
 *                       dirty sync), as QEMU does, since the switch-over
 *                       follows if the figure stays that small
 *   first_pass_done     migration thread, VM lock NOT held: has every byte
 *                       been sent once?  No switch-over before that (NULL:
 *                       always true)
 *   save_live_complete  migration thread, vCPUs stopped, VM lock NOT held
 *                       (nothing but a vCPU changes guest RAM); payload
 *                       of the END section
 *   save_cleanup        migration thread, VM lock held, after the migration
 *                       completed or failed (or was cancelled), once for
 *                       every handler whose save_setup was called (even if
 *                       it failed): stop tracking, forget the sender state
 *   load_setup          incoming loader thread, guest not running: before
 *                       the handler's START section is loaded
 *   load_state          incoming loader thread: payload of a START, PART
 *                       or END section written at @version_id
 *   load_complete       incoming loader thread, at EOF: once for every
 *                       handler whose START section was loaded, before the
 *                       load counts as good; false (with errp) fails it
 *                       (block: wait for the writes in flight, flush)
 *   load_cleanup        incoming loader thread: after EOF or a failure,
 *                       once for every handler whose load_setup ran
 *   is_active           migration thread, VM lock held, before save_setup
 *                       (NULL: always): false leaves the handler out of
 *                       this migration -- no START/PART/END section, none
 *                       of the save callbacks, no pending bytes (QEMU's
 *                       is_active; block migration is only on when asked)
 *
 * @optional: the loader accepts a stream without this handler's section
 * (its source did not ask for it); otherwise a missing START is an error,
 * as for a device.
 */
struct savevm_live_ops {
    bool (*save_setup)(QEMUFile *f, void *opaque, GError **errp);
    int (*save_live_iterate)(QEMUFile *f, void *opaque, GError **errp);
    uint64_t (*state_pending)(void *opaque, uint64_t threshold);
    bool (*first_pass_done)(void *opaque);
    bool (*save_live_complete)(QEMUFile *f, void *opaque, GError **errp);
    void (*save_cleanup)(void *opaque);
    bool (*load_setup)(void *opaque, GError **errp);
    bool (*load_state)(QEMUFile *f, void *opaque, int version_id, GError **errp);
    bool (*load_complete)(void *opaque, GError **errp);
    void (*load_cleanup)(void *opaque);
    bool (*is_active)(void *opaque);
    bool optional;
};

struct savevm_entry {
    char idstr[256];
    uint32_t instance_id;
    uint32_t section_id;
    int version_id;
    int minimum_version_id;
    const struct vmstate_description *vmsd; /* device, or NULL */
    const struct savevm_live_ops *ops;      /* iterative handler, or NULL */
    void *opaque;
    /* writer: in this migration (is_active said yes); save_cleanup is
     * owed once save_setup was called */
    bool save_active;
    bool save_setup_called;
    /* loader state */
    uint32_t stream_section_id;
    int stream_version;  /* version of the START section, for PART/END */
    bool started;      /* START seen */
    bool setup_done;   /* load_setup ran */
    bool loaded;       /* FULL seen */
};

struct savevm {
    char *machine_type;
    GPtrArray *entries; /* struct savevm_entry *, registration = load order */
    uint32_t next_section_id;
    bool return_path_requested; /* the stream asked for OPEN_RETURN_PATH */
    /* Held by the loader around each device (FULL) section, so device
     * state never changes under a main-loop callback; RAM loads without
     * it.  NULL: no locking (tests, single-threaded tools). */
    GMutex *device_lock;
};

void savevm_init(struct savevm *sv, const char *machine_type);
void savevm_destroy(struct savevm *sv);

/* Register a device; @vmsd's version is the section version. */
bool savevm_register_vmsd(struct savevm *sv, const char *idstr, uint32_t instance_id,
                          const struct vmstate_description *vmsd, void *opaque, GError **errp);
/* Register an iterative handler accepting stream versions
 * [@minimum_version_id, @version_id]. */
bool savevm_register_live(struct savevm *sv, const char *idstr, uint32_t instance_id,
                          int version_id, int minimum_version_id,
                          const struct savevm_live_ops *ops, void *opaque, GError **errp);
const struct savevm_entry *savevm_find(const struct savevm *sv, const char *idstr,
                                       uint32_t instance_id);

/* ---- writer ---- */
void savevm_write_header(struct savevm *sv, QEMUFile *f);
/* u8 0x08 commands, for sockets. */
void savevm_write_command(QEMUFile *f, uint16_t cmd, const void *data, uint16_t len);
bool savevm_save_setup(struct savevm *sv, QEMUFile *f, GError **errp);
/* One PART per iterative handler; 1 when all are done, 0 if not, -1 error. */
int savevm_save_iterate(struct savevm *sv, QEMUFile *f, GError **errp);
/* Bytes still to send; @threshold as for state_pending (0: no sync
 * unless nothing is marked). */
uint64_t savevm_pending(struct savevm *sv, uint64_t threshold);
/* Every iterative handler has sent all its data once. */
bool savevm_first_pass_done(struct savevm *sv);
/* END sections, every device's FULL section, EOF and the vmdesc. */
bool savevm_save_complete(struct savevm *sv, QEMUFile *f, GError **errp);
/* The two halves of savevm_save_complete(): the END sections (vCPUs
 * stopped; no VM lock needed), then the devices, EOF and vmdesc (VM lock
 * held: device state is read). */
bool savevm_save_complete_live(struct savevm *sv, QEMUFile *f, GError **errp);
bool savevm_save_devices(struct savevm *sv, QEMUFile *f, GError **errp);
/* After a migration ends, whatever the outcome: save_cleanup of every
 * handler whose save_setup was called (dirty logging off, sender state
 * reset, so the next migration starts with a full first pass).  Migration
 * thread (or main thread), VM lock held.  Harmless when nothing is owed. */
void savevm_save_cleanup(struct savevm *sv);
/* A whole stream with the guest stopped (snapshots, tests); includes
 * savevm_save_cleanup(). */
bool savevm_save_all(struct savevm *sv, QEMUFile *f, GError **errp);

/* ---- loader ---- */
/* Load a whole stream; every rejection names the section and field. */
bool savevm_load(struct savevm *sv, QEMUFile *f, GError **errp);

/* The -dump-vmstate JSON of every registered device, QEMU's layout. */
char *savevm_dump_vmstate(const struct savevm *sv);

#endif
