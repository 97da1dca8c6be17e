// SPDX-License-Identifier: MIT
/*
 * Small shared pieces of the migration path: decoding migrate entries,
 * building migration entries, and holding / releasing a source folio.
 */
#include "migrate/migrate.h"

struct simmm_page *simmm__mig_page(simmm_sim *sim, uint64_t mpfn)
{
	simmm_pfn_t pfn = simmm_migrate_pfn_to_page(mpfn);
	struct simmm_page *p;

	if (!pfn || !simmm__pfn_valid(sim, pfn))
		return NULL;
	p = simmm__pfn_to_page(sim, pfn);
	return p && simmm__compound_head(sim, p)->refcount > 0 ? p : NULL;
}

struct simmm_page *simmm__mig_folio(simmm_sim *sim, uint64_t mpfn)
{
	struct simmm_page *p = simmm__mig_page(sim, mpfn);

	return p ? simmm__compound_head(sim, p) : NULL;
}

/* folio_get_anon_vma(): remove_migration_ptes() must walk the rmap of a
 * folio that is no longer mapped, without the mmap lock, so a migration
 * pins the anon_vma of its source. Only the anon_vma of a mapped folio is
 * known to be alive (an unmapped device page keeps a stale mapping until
 * it is freed), so callers pin while the folio is mapped, or was at their
 * last scheduling point; an unmapped folio has no mappings to restore and
 * needs no pin. Idempotent: PG_migrate_pin records the pin, as the kernel
 * records the anon_vma in the migration's private data. */
void simmm__mig_anon_vma_get(struct simmm_page *folio)
{
	if (!(folio->flags & PG_anon) || !folio->mapping || (folio->flags & PG_migrate_pin))
		return;
	simmm__anon_vma_get(folio->mapping);
	folio->flags |= PG_migrate_pin;
}

void simmm__mig_anon_vma_put(simmm_sim *sim, struct simmm_page *folio)
{
	if (!(folio->flags & PG_migrate_pin))
		return;
	folio->flags &= ~PG_migrate_pin;
	simmm__anon_vma_put(sim, folio->mapping); /* the family's VMAs may all be gone */
}

struct simmm_anon_vma *simmm__mig_anon_vma(const struct simmm_page *folio)
{
	return (folio->flags & PG_migrate_pin) ? folio->mapping : NULL;
}

void simmm__mig_release_src(simmm_sim *sim, struct simmm_page *folio,
			    struct simmm_page *fault_folio)
{
	simmm__mig_anon_vma_put(sim, folio);
	/* the migration reference (simmm__folio_unlock_put(): none outlives
	 * the lock across a scheduling point) */
	if (folio != fault_folio)
		simmm__folio_unlock_put(sim, folio);
	else
		simmm__put_user_folio(sim, folio);
}

simmm_entry_t simmm__mig_entry(simmm_entry_t old, struct simmm_page *page, bool write,
			       bool exclusive)
{
	simmm_entry_t e;

	if (write)
		e = simmm_make_writable_migration_entry(page->pfn);
	else if (exclusive)
		e = simmm_make_readable_exclusive_migration_entry(page->pfn);
	else
		e = simmm_make_readable_migration_entry(page->pfn);
	if (simmm_pte_present(old)) {
		if (simmm_pte_young(old))
			e = simmm_make_migration_entry_young(e);
		if (simmm_pte_dirty(old))
			e = simmm_make_migration_entry_dirty(e);
		if (simmm_pte_soft_dirty(old))
			e = simmm_pte_swp_mksoft_dirty(e);
		if (simmm_pte_uffd_wp(old))
			e = simmm_pte_swp_mkuffd_wp(e);
	} else {
		if (simmm_pte_swp_soft_dirty(old))
			e = simmm_pte_swp_mksoft_dirty(e);
		if (simmm_pte_swp_uffd_wp(old))
			e = simmm_pte_swp_mkuffd_wp(e);
	}
	return e;
}
