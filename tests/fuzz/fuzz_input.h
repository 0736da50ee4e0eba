/* SPDX-License-Identifier: MIT */
/* Reading a fuzzer's input as a stream of little-endian numbers; zeros once it runs out. */
#ifndef DVM_FUZZ_INPUT_H
#define DVM_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct input {
	const uint8_t *p;
	size_t left;
};

static inline uint8_t take8(struct input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static inline uint64_t take(struct input *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)take8(in) << (8 * i);
	return v;
}

#endif
