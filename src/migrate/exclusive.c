// SPDX-License-Identifier: MIT
/*
 * make_device_exclusive() (mm/rmap.c, 6.15+ single-page form): give a
 * device exclusive (atomic) access to one anonymous page by replacing its
 * writable pte with a device-exclusive entry. The entry keeps the pte's
 * mapcount and reference; a CPU access restores the pte (fault.c,
 * remove_device_exclusive_entry(), notifier EXCLUSIVE with no owner).
 */
#include "migrate/migrate.h"

#define EXCLUSIVE_MAX_RETRIES 16

/* The second walk: is @pfn still mapped writable by a pte at @addr? */
static simmm_entry_t *still_writable(struct simmm_mm *mm, simmm_addr_t addr, simmm_pfn_t pfn)
{
	simmm_entry_t *slot;

	if (simmm_pgtable_lookup(mm->pgt, addr, SIMMM_LVL_PTE, &slot) ||
	    !simmm_pte_present(*slot) || simmm_pte_pfn(*slot) != pfn || !simmm_pte_write(*slot))
		return NULL;
	return slot;
}

/* One attempt: 0 done, 1 retry, <0 error. */
static int try_exclusive(struct simmm_mm *mm, simmm_addr_t addr, void *owner, simmm_pfn_t *out)
{
	simmm_sim *sim = mm->sim;
	struct simmm_page *page, *folio;
	struct simmm_change c;
	simmm_entry_t *slot, old, e;
	simmm_pfn_t pfn;
	long n = simmm__gup_locked(mm, addr, 1,
				   SIMMM_FOLL_GET | SIMMM_FOLL_WRITE | SIMMM_FOLL_SPLIT_PMD, &pfn, NULL);
	int err;

	if (n < 0)
		return (int)n;
	page = simmm__pfn_to_page(sim, pfn);
	folio = simmm__compound_head(sim, page);
	if (!(folio->flags & PG_anon) || simmm__folio_is_hugetlb(sim, folio)) {
		simmm__put_user_folio(sim, folio);
		return -EOPNOTSUPP;
	}
	err = simmm__folio_lock(sim, folio);
	if (err) {
		simmm__put_user_folio(sim, folio);
		return err;
	}
	/* Secondary MMUs unmap now; the caller filters its own event out. */
	simmm__change_begin(&c, mm, addr, addr + sim->page_size, SIMMM_MMU_NOTIFY_EXCLUSIVE, owner);
	slot = still_writable(mm, addr, pfn);
	if (!slot) {
		simmm__change_end(&c);
		simmm__folio_unlock_put(sim, folio);
		return 1;
	}
	old = *slot;
	if (simmm_pte_dirty(old))
		folio->flags |= PG_dirty; /* the pte goes: keep its dirty bit */
	e = simmm_make_device_exclusive_entry(pfn);
	if (simmm_pte_soft_dirty(old))
		e = simmm_pte_swp_mksoft_dirty(e);
	simmm_pgtable_set(mm->pgt, addr, SIMMM_LVL_PTE, e);
	simmm__change_end(&c);
	*out = pfn;
	return 0;
}

int simmm_make_device_exclusive(struct simmm_mm *mm, simmm_addr_t addr, void *owner,
				simmm_pfn_t *pfn)
{
	if (!simmm__mm_ok(mm) || mm->mm_users <= 0 || !pfn)
		return -EINVAL;
	if (simmm_lock_held(mm->sim, &mm->mmap_lock.map) == SIMMM_LOCK_NOT_HELD) {
		simmm__report(mm->sim, SIMMM_REPORT_MISUSE,
			      "make_device_exclusive without the mmap lock of mm %llu",
			      (unsigned long long)mm->id);
		return -EINVAL;
	}
	addr &= ~(mm->sim->page_size - 1);
	for (int tries = 0; tries < EXCLUSIVE_MAX_RETRIES; tries++) {
		int ret = try_exclusive(mm, addr, owner, pfn);

		if (ret <= 0)
			return ret;
	}
	return -EBUSY;
}
