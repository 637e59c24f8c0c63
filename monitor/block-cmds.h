/*
 * Disk commands (monitor/block-cmds.c); their table entries are in
 * qmp-cmds.c with every other command.
 *
 *   query-block / info block     QEMU's: one entry per disk
 *   x-block-inject-error         Tern's, for tests: requests of the given
 *                                kinds on a disk's range fail with -errno
 *                                (0 removes the rule), as a failing host
 *                                disk would; the guest sees I/O errors
 */
#ifndef MONITOR_BLOCK_CMDS_H
#define MONITOR_BLOCK_CMDS_H

#include "monitor/commands.h"

bool qmp_query_block(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret, GError **errp);
void hmp_info_block(struct mon_ctx *ctx, JsonNode *ret, GString *out);
bool qmp_x_block_inject_error(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret,
                              GError **errp);

#endif
