// SPDX-License-Identifier: MIT
/*
 * The 2017 one-call migrate_vma() (HMM v25, mm/migrate.c): the driver's
 * alloc_and_copy() and finalize_and_map() callbacks around the three
 * steps of today's interface. 2017 had no pagemap owner; the driver's
 * @private cookie stands in for it when device pages are collected.
 */
#include "migrate/migrate.h"

int simmm_migrate_vma(const struct simmm_migrate_vma_ops *ops, struct simmm_vma *vma,
		      simmm_addr_t start, simmm_addr_t end, uint64_t *src, uint64_t *dst,
		      void *private)
{
	struct simmm_migrate_vma m = {
		.vma = vma, .src = src, .dst = dst, .start = start, .end = end,
		.pgmap_owner = private,
		.flags = SIMMM_MIGRATE_VMA_SELECT_SYSTEM | SIMMM_MIGRATE_VMA_SELECT_DEVICE_PRIVATE |
			 SIMMM_MIGRATE_VMA_SELECT_DEVICE_COHERENT,
	};
	int err;

	if (!ops || !ops->alloc_and_copy || !vma || !simmm__mm_ok(vma->mm))
		return -EINVAL;
	/* The 2017 code refused unaligned ranges instead of rounding. */
	if ((start | end) & (vma->mm->sim->page_size - 1))
		return -EINVAL;
	err = simmm_migrate_vma_setup(&m);
	if (err)
		return err;
	if (m.cpages) {
		ops->alloc_and_copy(vma, src, dst, m.start, m.end, private);
		simmm_migrate_vma_pages(&m);
		if (ops->finalize_and_map)
			ops->finalize_and_map(vma, src, dst, m.start, m.end, private);
	}
	/* With nothing collected this is migrate_vma_restore(): a no-op
	 * unlock of whatever setup still holds. */
	return simmm_migrate_vma_finalize(&m);
}
