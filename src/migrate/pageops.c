// SPDX-License-Identifier: MIT
/*
 * What a driver does to the pages it migrates: lock them (lock_page()),
 * copy them (folio_copy()), find the VMA (vma_lookup()). Thin public
 * wrappers over the page and mm layers.
 */
#include "migrate/migrate.h"

/* The folio of a pfn in use (RAM or device), or NULL. */
static struct simmm_page *used_folio(simmm_sim *sim, simmm_pfn_t pfn)
{
	struct simmm_page *p;

	if (!simmm__sim_ok(sim) || !simmm__pfn_valid(sim, pfn))
		return NULL;
	p = simmm__pfn_to_page(sim, pfn);
	if (!p)
		return NULL;
	p = simmm__compound_head(sim, p);
	return p->refcount > 0 && !(p->flags & PG_table) ? p : NULL;
}

int simmm_lock_page(simmm_sim *sim, simmm_pfn_t pfn)
{
	struct simmm_page *folio = used_folio(sim, pfn);

	return folio ? simmm__folio_lock(sim, folio) : -EINVAL;
}

int simmm_trylock_page(simmm_sim *sim, simmm_pfn_t pfn)
{
	struct simmm_page *folio = used_folio(sim, pfn);

	if (!folio)
		return -EINVAL;
	return simmm__folio_trylock(sim, folio) ? 1 : 0;
}

int simmm_unlock_page(simmm_sim *sim, simmm_pfn_t pfn)
{
	struct simmm_page *folio = used_folio(sim, pfn);

	if (!folio || !(folio->flags & PG_locked))
		return -EINVAL;
	simmm__folio_unlock(sim, folio);
	return 0;
}

int simmm_folio_copy(simmm_sim *sim, simmm_pfn_t dst, simmm_pfn_t src)
{
	struct simmm_page *d = used_folio(sim, dst), *s = used_folio(sim, src);

	if (!d || !s || d->order != s->order)
		return -EINVAL;
	return simmm__folio_copy_contents(sim, d, s);
}

int simmm_copy_highpage(simmm_sim *sim, simmm_pfn_t dst, simmm_pfn_t src)
{
	if (!used_folio(sim, dst) || !used_folio(sim, src))
		return -EINVAL;
	return simmm__page_copy(sim, simmm__pfn_to_page(sim, dst), simmm__pfn_to_page(sim, src));
}

struct simmm_vma *simmm_vma_lookup(struct simmm_mm *mm, simmm_addr_t addr)
{
	if (!simmm__mm_ok(mm) || mm->mm_users <= 0)
		return NULL;
	return simmm__vma_lookup(mm, addr);
}
