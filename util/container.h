/* container_of: from a pointer to a member back to its enclosing struct. */
#ifndef UTIL_CONTAINER_H
#define UTIL_CONTAINER_H

#include <stddef.h>

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

#endif
