// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the loaders.  The first input byte picks the loader
 * (or detection) and a few parameters; the rest is the image, loaded into
 * an 8 MiB guest memory allocated once.  The sanitizers catch any access
 * outside the image or guest memory; errors must come with a message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dvm/boot.h"

#define FUZZ_RAM (8u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	static const char module_data[] = "module contents\n";
	static const uint8_t initrd[3000];
	struct dvm_boot_module mods[2] = {
	    {.name = "mod0 arg", .data = module_data, .len = sizeof(module_data)},
	    {.name = "mod1", .data = module_data, .len = 5},
	};
	struct dvm_boot_params p = {.image_path = "fuzz.img"};
	struct dvm_guest_mem mem;
	struct dvm_boot_state st;
	char err[160];
	uint8_t sel;
	void *image;
	int rc;

	if (!ram) {
		ram = malloc(FUZZ_RAM);
		if (!ram)
			abort();
	}
	if (size < 1)
		return 0;
	sel = data[0];
	/* An exact-size copy so ASan sees every read past the end. */
	image = malloc(size - 1 ? size - 1 : 1);
	if (!image)
		abort();
	memcpy(image, data + 1, size - 1);

	mem.host = ram;
	mem.size = FUZZ_RAM;
	if (sel & 0x08)
		p.cmdline = "console=ttyS0 exit=3";
	if (sel & 0x10) {
		p.modules = mods;
		p.nr_modules = 2;
	}
	if (sel & 0x20) {
		p.initrd = initrd;
		p.initrd_len = sizeof(initrd);
	}
	p.flat_load_addr = (sel & 0x40) ? 0x100000 : 0x7f000;

	err[0] = 0;
	switch (sel & 0x7) {
	case 0:
		rc = dvm_load_elf64(&mem, image, size - 1, &p, &st, err, sizeof(err));
		break;
	case 1:
		rc = dvm_load_multiboot(&mem, image, size - 1, &p, &st, err, sizeof(err));
		break;
	case 2:
		rc = dvm_load_bzimage(&mem, image, size - 1, &p, &st, err, sizeof(err));
		break;
	case 3:
		rc = dvm_load_flat(&mem, image, size - 1, &p, &st, err, sizeof(err));
		break;
	default:
		(void)dvm_image_format_name(dvm_image_detect(image, size - 1));
		rc = dvm_load_image(&mem, image, size - 1, &p, &st, DVM_IMAGE_UNKNOWN, err,
				    sizeof(err));
		break;
	}
	if (rc > 0 || (rc < 0 && err[0] == 0)) {
		fprintf(stderr, "loader returned %d without a message\n", rc);
		abort();
	}
	if (rc == 0 && st.regs.rip >= FUZZ_RAM) {
		fprintf(stderr, "entry 0x%llx outside guest RAM\n",
			(unsigned long long)st.regs.rip);
		abort();
	}
	free(image);
	return 0;
}
