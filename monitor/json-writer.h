/*
 * JSON text the way QEMU's QMP writes it: `{"return": {}, "id": 1}` with a
 * space after ':' and ',', strings escaped to pure ASCII (\uXXXX, surrogate
 * pairs above U+FFFF), members in insertion order.  Pretty output indents by
 * four spaces, one member per line, and breaks the line before every closing
 * bracket (so {} is "{\n}"), as QEMU's pretty=on monitors do.
 *
 * json-glib parses and holds the values; only the text form is ours, so a
 * client that matches QEMU's output byte for byte sees the same bytes.
 */
#ifndef MONITOR_JSON_WRITER_H
#define MONITOR_JSON_WRITER_H

#include <json-glib/json-glib.h>
#include <stdbool.h>

void json_writer_append(GString *out, JsonNode *node, bool pretty);
char *json_writer_to_string(JsonNode *node, bool pretty);

#endif
