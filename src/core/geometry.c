// SPDX-License-Identifier: MIT
/*
 * Built-in page-table geometries and validation of user-defined ones.
 *
 * Every geometry is derived from (page shift, bits per real level, which real
 * levels may hold leaves) by one builder, so the tables below only state what
 * the architecture manuals state. Folding follows Linux: 4 real levels fold
 * P4D, 3 fold P4D and PUD, 2 fold P4D, PUD and PMD.
 */
#include <simmm/geometry.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"

/* Which kernel level each real level is, top first, for n real levels. */
static const enum simmm_level real_levels[6][5] = {
	[2] = {SIMMM_LVL_PGD, SIMMM_LVL_PTE},
	[3] = {SIMMM_LVL_PGD, SIMMM_LVL_PMD, SIMMM_LVL_PTE},
	[4] = {SIMMM_LVL_PGD, SIMMM_LVL_PUD, SIMMM_LVL_PMD, SIMMM_LVL_PTE},
	[5] = {SIMMM_LVL_PGD, SIMMM_LVL_P4D, SIMMM_LVL_PUD, SIMMM_LVL_PMD, SIMMM_LVL_PTE},
};

struct builtin {
	const char *name;
	enum simmm_arch arch;
	unsigned page_shift, nlevels, pa_bits;
	unsigned bits[5];   /* top first */
	unsigned leaf_mask; /* real level i (top = 0) may hold leaves */
	bool canonical;
};

/*
 * Leaf levels: x86-64 has 2M and 1G pages; arm64 4K has level-1 (1G) and
 * level-2 (2M) blocks, 16K only level-2 (32M) blocks, 64K level-2 (512M)
 * blocks; RISC-V allows leaves at every level (megapages, gigapages,
 * terapages) but Linux only uses PMD and PUD leaves, which is what we allow.
 */
static const struct builtin builtins[] = {
	{"x86_64-4level", SIMMM_ARCH_X86_64, 12, 4, 52, {9, 9, 9, 9}, 0x6, true},
	{"x86_64-5level", SIMMM_ARCH_X86_64, 12, 5, 52, {9, 9, 9, 9, 9}, 0xc, true},
	{"arm64-4k-48", SIMMM_ARCH_ARM64, 12, 4, 48, {9, 9, 9, 9}, 0x6, false},
	{"arm64-4k-39", SIMMM_ARCH_ARM64, 12, 3, 48, {9, 9, 9}, 0x3, false},
	{"arm64-16k-47", SIMMM_ARCH_ARM64, 14, 3, 48, {11, 11, 11}, 0x2, false},
	{"arm64-64k-42", SIMMM_ARCH_ARM64, 16, 2, 48, {13, 13}, 0x1, false},
	{"arm64-64k-48", SIMMM_ARCH_ARM64, 16, 3, 48, {6, 13, 13}, 0x2, false},
	{"arm64-64k-52", SIMMM_ARCH_ARM64, 16, 3, 52, {10, 13, 13}, 0x2, false},
	{"riscv-sv39", SIMMM_ARCH_RISCV, 12, 3, 56, {9, 9, 9}, 0x3, true},
	{"riscv-sv48", SIMMM_ARCH_RISCV, 12, 4, 56, {9, 9, 9, 9}, 0x6, true},
	{"riscv-sv57", SIMMM_ARCH_RISCV, 12, 5, 56, {9, 9, 9, 9, 9}, 0xc, true},
	{"toy-15bit", SIMMM_ARCH_GENERIC, 5, 2, 24, {5, 5}, 0x0, false},
};

#define NR_BUILTINS (sizeof(builtins) / sizeof(builtins[0]))

/* Derived once per process from the constant table above; read-only after
 * pthread_once, so instances in different threads share it safely. */
static struct simmm_geometry built[NR_BUILTINS];
static pthread_once_t built_once = PTHREAD_ONCE_INIT;

static int build(const char *name, enum simmm_arch arch, unsigned page_shift,
		 unsigned nlevels, unsigned pa_bits, const unsigned *bits,
		 unsigned leaf_mask, bool canonical, struct simmm_geometry *g)
{
	unsigned va = page_shift, i;

	if (page_shift < 5 || page_shift > 16 || nlevels < 2 || nlevels > 5)
		return -EINVAL;
	for (i = 0; i < nlevels; i++) {
		if (bits[i] == 0 || bits[i] > 16)
			return -EINVAL;
		va += bits[i];
	}
	if (va > 57)
		return -EINVAL;
	memset(g, 0, sizeof(*g));
	snprintf(g->name, sizeof(g->name), "%s", name ? name : "custom");
	g->arch = arch;
	g->page_shift = (uint8_t)page_shift;
	g->va_bits = (uint8_t)va;
	g->pa_bits = (uint8_t)pa_bits;
	g->canonical = canonical;
	g->nlevels = (uint8_t)nlevels;
	g->user_va_end = canonical ? (1ULL << (va - 1)) : (1ULL << va);

	/* Walk real levels bottom-up assigning shifts; folded levels inherit
	 * the shift of the real level above them (PUD_SHIFT == PGDIR_SHIFT). */
	unsigned shift = page_shift;
	for (int r = (int)nlevels - 1; r >= 0; r--) {
		enum simmm_level l = real_levels[nlevels][r];
		g->level[l].shift = (uint8_t)shift;
		g->level[l].bits = (uint8_t)bits[r];
		g->level[l].folded = false;
		g->level[l].leaf = (r == (int)nlevels - 1) || (leaf_mask >> r & 1);
		shift += bits[r];
	}
	for (int l = SIMMM_LVL_PMD; l <= SIMMM_LVL_PGD; l++) {
		if (g->level[l].bits)
			continue;
		g->level[l].folded = true;
	}
	/* A folded level is the entry of the next real level above it. */
	for (int l = SIMMM_LVL_P4D; l >= SIMMM_LVL_PMD; l--) {
		if (!g->level[l].folded)
			continue;
		g->level[l].shift = g->level[l + 1].shift;
		g->level[l].leaf = false;
	}
	/* A leaf at a real level with folded levels beneath it is, for the
	 * kernel, a leaf of the lowest of those folded levels: arm64 39-bit's
	 * 1G level-1 block is a PUD leaf, arm64 64K 42-bit's 512M block a PMD
	 * leaf. Mark that folded level so pmd_leaf()/pud_leaf() sizes agree. */
	for (int l = SIMMM_LVL_PMD; l <= SIMMM_LVL_P4D; l++) {
		int up = l + 1;
		if (!g->level[l].folded)
			continue;
		if (l > SIMMM_LVL_PMD && g->level[l - 1].folded)
			continue; /* only the lowest of a folded run */
		while (up < SIMMM_NR_LEVELS && g->level[up].folded)
			up++;
		if (up < SIMMM_NR_LEVELS && g->level[up].leaf)
			g->level[l].leaf = true;
	}
	return 0;
}

static void build_all_once(void)
{
	for (unsigned i = 0; i < NR_BUILTINS; i++) {
		const struct builtin *b = &builtins[i];
		int err = build(b->name, b->arch, b->page_shift, b->nlevels, b->pa_bits,
				b->bits, b->leaf_mask, b->canonical, &built[i]);
		SIMMM_BUG_ON(err != 0);
	}
}

static void build_all(void)
{
	pthread_once(&built_once, build_all_once);
}

const struct simmm_geometry *simmm_geometry_lookup(const char *name)
{
	build_all();
	if (!name)
		return &built[0];
	for (unsigned i = 0; i < NR_BUILTINS; i++)
		if (!strcmp(builtins[i].name, name))
			return &built[i];
	return NULL;
}

unsigned simmm_geometry_count(void)
{
	return NR_BUILTINS;
}

const struct simmm_geometry *simmm_geometry_at(unsigned i)
{
	build_all();
	return i < NR_BUILTINS ? &built[i] : NULL;
}

int simmm_geometry_build(const struct simmm_geometry_desc *d, struct simmm_geometry *out)
{
	unsigned va;

	if (!d || !out)
		return -EINVAL;
	if (d->nlevels < 2 || d->nlevels > 5)
		return -EINVAL;
	va = d->page_shift;
	for (unsigned i = 0; i < d->nlevels; i++)
		va += d->bits[i];
	return build(d->name, SIMMM_ARCH_GENERIC, d->page_shift, d->nlevels,
		     va + 8 > 52 ? 52 : va + 8, d->bits, d->leaf_mask,
		     d->canonical, out);
}

const char *simmm_level_name(enum simmm_level lvl)
{
	static const char *const names[] = {"PTE", "PMD", "PUD", "P4D", "PGD"};
	return (unsigned)lvl < SIMMM_NR_LEVELS ? names[lvl] : "?";
}
