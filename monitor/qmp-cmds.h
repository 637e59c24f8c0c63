/*
 * The command table Tern's monitors use (monitor/qmp-cmds.c).
 */
#ifndef MONITOR_QMP_CMDS_H
#define MONITOR_QMP_CMDS_H

#include "monitor/commands.h"

extern const struct mon_cmd qmp_commands[];

#endif
