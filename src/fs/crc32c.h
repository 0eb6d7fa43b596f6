/* SPDX-License-Identifier: MIT */
#ifndef UDAX_FS_CRC32C_H
#define UDAX_FS_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* crc32c (Castagnoli) of @len bytes, continuing from @crc (start with 0). */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* crc32c of a structure whose own 32-bit crc field, at @crc_off, counts as zero. */
uint32_t crc32c_skip(const void *buf, size_t len, size_t crc_off);

#endif
