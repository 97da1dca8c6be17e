/* SPDX-License-Identifier: MIT */
/**
 * DOC: page-table geometries
 *
 * A geometry is chosen when a simulated machine is created; one binary serves
 * all of them. Levels use the kernel's names and indices: PTE (0), PMD (1),
 * PUD (2), P4D (3), PGD (4). A geometry with fewer real levels folds the
 * missing ones as Linux does (pgtable-nop4d/nopud/nopmd): a folded level has
 * no bits of its own and the shift of the level above it, so e.g. on arm64
 * 39-bit (3 levels) PUD_SHIFT == PGDIR_SHIFT and a 1 GiB block at the top
 * level is the PUD leaf.
 *
 * Built in: "x86_64-4level" (default), "x86_64-5level", "arm64-4k-48",
 * "arm64-4k-39", "arm64-16k-47", "arm64-64k-42", "arm64-64k-48",
 * "arm64-64k-52", "riscv-sv39", "riscv-sv48", "riscv-sv57", "toy-15bit"
 * (OSTEP's 15-bit space, 32-byte pages, 2 levels).
 */
#ifndef SIMMM_GEOMETRY_H
#define SIMMM_GEOMETRY_H

#include <simmm/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** enum simmm_level - kernel page-table levels. */
enum simmm_level {
	SIMMM_LVL_PTE = 0,
	SIMMM_LVL_PMD = 1,
	SIMMM_LVL_PUD = 2,
	SIMMM_LVL_P4D = 3,
	SIMMM_LVL_PGD = 4,
	SIMMM_NR_LEVELS = 5,
};

/** enum simmm_arch - which hardware format simmm_entry_arch_view() shows. */
enum simmm_arch {
	SIMMM_ARCH_GENERIC = 0,
	SIMMM_ARCH_X86_64,
	SIMMM_ARCH_ARM64,
	SIMMM_ARCH_RISCV,
};

/**
 * struct simmm_level_desc - one level of a geometry.
 * @shift: log2 of the bytes one entry of this level maps.
 * @bits: index bits of this level; 0 when folded.
 * @folded: the level does not exist in hardware (kernel folding).
 * @leaf: an entry at this level may be a leaf (huge page / block).
 */
struct simmm_level_desc {
	uint8_t shift;
	uint8_t bits;
	bool folded;
	bool leaf;
};

/**
 * struct simmm_geometry - a page-table shape.
 * @name: short name ("x86_64-4level").
 * @arch: hardware family.
 * @page_shift: log2 of the base page size (5..16).
 * @va_bits: bits of virtual address translated by the table.
 * @pa_bits: physical address bits.
 * @user_va_end: first address above the user half (TASK_SIZE): 2^(va_bits-1)
 *               for sign-extended (canonical) architectures, else 2^va_bits.
 * @canonical: addresses are sign-extended from bit va_bits-1 (x86-64, RISC-V).
 * @nlevels: real (unfolded) levels, 2..5.
 * @level: indexed by enum simmm_level.
 */
struct simmm_geometry {
	char name[32];
	enum simmm_arch arch;
	uint8_t page_shift;
	uint8_t va_bits;
	uint8_t pa_bits;
	bool canonical;
	uint8_t nlevels;
	uint64_t user_va_end;
	struct simmm_level_desc level[SIMMM_NR_LEVELS];
};

/**
 * struct simmm_geometry_desc - a user-defined geometry.
 * @name: its name (copied, at most 31 bytes).
 * @page_shift: 5..16.
 * @nlevels: 2..5 real levels.
 * @bits: bits per real level, top level first.
 * @leaf_mask: bit i set → real level i (0 = top) may hold leaves; the
 *             bottom level always may.
 * @canonical: sign-extended addresses (user half only) if true.
 */
struct simmm_geometry_desc {
	const char *name;
	unsigned page_shift;
	unsigned nlevels;
	unsigned bits[SIMMM_NR_LEVELS];
	unsigned leaf_mask;
	bool canonical;
};

/**
 * simmm_geometry_lookup() - find a built-in geometry by name.
 * @name: a name from the list above; NULL gives the default.
 *
 * Return: a pointer to static read-only data, or NULL if unknown.
 */
SIMMM_API const struct simmm_geometry *simmm_geometry_lookup(const char *name);

/**
 * simmm_geometry_count() / simmm_geometry_at() - enumerate the built-ins.
 * simmm_geometry_at() returns NULL past the end.
 */
SIMMM_API unsigned simmm_geometry_count(void);
SIMMM_API const struct simmm_geometry *simmm_geometry_at(unsigned i);

/**
 * simmm_geometry_build() - validate a user-defined geometry.
 * @desc: the description.
 * @out: filled on success.
 *
 * Return: 0; -EINVAL for NULL arguments, a page shift outside 5..16, fewer
 * than 2 or more than 5 levels, a level with 0 or more than 16 bits, or more
 * than 57 virtual-address bits.
 */
SIMMM_API int simmm_geometry_build(const struct simmm_geometry_desc *desc,
				   struct simmm_geometry *out);

/** simmm_level_name() - "PTE", "PMD", "PUD", "P4D", "PGD"; "?" otherwise. */
SIMMM_API const char *simmm_level_name(enum simmm_level lvl);

/** simmm_geometry_level_order() - page order of a leaf at @lvl (shift - page_shift). */
static inline unsigned simmm_geometry_level_order(const struct simmm_geometry *g,
						  enum simmm_level lvl)
{
	return (unsigned)(g->level[lvl].shift - g->page_shift);
}

#ifdef __cplusplus
}
#endif
#endif
