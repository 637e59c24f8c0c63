/*
 * Handlers of the migration commands (monitor/migration-cmds.c); their
 * table entries are in qmp-cmds.c with every other command.
 */
#ifndef MONITOR_MIGRATION_CMDS_H
#define MONITOR_MIGRATION_CMDS_H

#include "monitor/commands.h"

bool qmp_migrate(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret, GError **errp);
bool hmp_migrate(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret, GError **errp);
bool qmp_migrate_continue(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret, GError **errp);
bool qmp_migrate_cancel(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret, GError **errp);
bool qmp_migrate_incoming(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret, GError **errp);
bool qmp_query_migrate(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret, GError **errp);
void hmp_info_migrate(struct mon_ctx *ctx, JsonNode *ret, GString *out);
bool qmp_migrate_set_parameters(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret,
                                GError **errp);
bool hmp_migrate_set_parameter(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret,
                               GError **errp);
bool qmp_query_migrate_parameters(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret,
                                  GError **errp);
void hmp_info_migrate_parameters(struct mon_ctx *ctx, JsonNode *ret, GString *out);
bool qmp_migrate_set_capabilities(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret,
                                  GError **errp);
bool hmp_migrate_set_capability(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret,
                                GError **errp);
bool qmp_query_migrate_capabilities(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret,
                                    GError **errp);
void hmp_info_migrate_capabilities(struct mon_ctx *ctx, JsonNode *ret, GString *out);
bool qmp_getfd(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret, GError **errp);
bool qmp_closefd(struct mon_ctx *ctx, JsonObject *args, JsonNode **ret, GError **errp);

#endif
