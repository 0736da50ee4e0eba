/* SPDX-License-Identifier: MIT */
/* What the snapshot file and the migration stream both write: little-endian
 * fields, CRC-32s, and error text for the caller's buffer. */
#ifndef DVM_SNAPSHOT_WIRE_H
#define DVM_SNAPSHOT_WIRE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "core/bytes.h"

static inline uint32_t crc(const void *p, size_t n)
{
	return (uint32_t)crc32(crc32(0, Z_NULL, 0), p, (uInt)n);
}

/* Writes the reason into err (may be NULL) and returns ret. */
static inline int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

#endif
