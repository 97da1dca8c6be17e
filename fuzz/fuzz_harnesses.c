// SPDX-License-Identifier: MIT
/* The harness table of the harness library (FZ_LIBRARY), for simmm-replay. */
#include "fuzz_common.h"

int fz_entries_one(const uint8_t *data, size_t size);
int fz_mm_ops_one(const uint8_t *data, size_t size);
int fz_races_one(const uint8_t *data, size_t size);

const struct fz_harness fz_harnesses[] = {
	{"fuzz_entries", fz_entries_one},
	{"fuzz_mm_ops", fz_mm_ops_one},
	{"fuzz_races", fz_races_one},
	{NULL, NULL},
};
