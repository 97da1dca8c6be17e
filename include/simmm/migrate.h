/* SPDX-License-Identifier: MIT */
/**
 * DOC: device memory migration (mm/migrate_device.c)
 *
 * A driver moves the pages of a range between system memory and its device
 * memory in three steps, exactly as with the kernel's migrate_vma:
 *
 *  1. simmm_migrate_vma_setup() collects the range (holes, the zero page,
 *     system pages, device-private / device-coherent pages of the caller),
 *     locks each page, replaces its ptes by migration entries and checks it
 *     is not pinned. src[] then says what may move.
 *  2. The driver allocates destination pages (locked: simmm_lock_page() or
 *     simmm_zone_device_page_init()), copies (simmm_folio_copy()) and fills
 *     dst[] with simmm_migrate_pfn(pfn) [| SIMMM_MIGRATE_PFN_WRITE].
 *     simmm_migrate_vma_pages() moves the struct page state.
 *  3. simmm_migrate_vma_finalize() points the entries at the new pages (or
 *     back at the old ones) and drops the references.
 *
 * The VMA-less variant (eviction of device memory, e.g. at driver unload)
 * is simmm_migrate_device_range() / _pfns() + simmm_migrate_device_pages()
 * + simmm_migrate_device_finalize(). simmm_make_device_exclusive() gives a
 * device atomic access to one anonymous page. simmm_migrate_vma() is the
 * 2017 one-call interface (alloc_and_copy / finalize_and_map callbacks) as
 * a thin wrapper over the three steps.
 *
 * Pages are pfns: 0 (the zero page, never migrated) plays NULL.
 */
#ifndef SIMMM_MIGRATE_H
#define SIMMM_MIGRATE_H

#include <simmm/common.h>
#include <simmm/memremap.h>

#ifdef __cplusplus
extern "C" {
#endif

struct simmm_mm;
struct simmm_vma;

/* src[]/dst[] entries (MIGRATE_PFN_*; bit 2 was the removed LOCKED). */
#define SIMMM_MIGRATE_PFN_VALID    (1ULL << 0)
#define SIMMM_MIGRATE_PFN_MIGRATE  (1ULL << 1)
#define SIMMM_MIGRATE_PFN_WRITE    (1ULL << 3)
#define SIMMM_MIGRATE_PFN_COMPOUND (1ULL << 4)
#define SIMMM_MIGRATE_PFN_SHIFT    6

/* simmm_migrate_vma.flags (MIGRATE_VMA_SELECT_*). */
#define SIMMM_MIGRATE_VMA_SELECT_SYSTEM          (1ULL << 0)
#define SIMMM_MIGRATE_VMA_SELECT_DEVICE_PRIVATE  (1ULL << 1)
#define SIMMM_MIGRATE_VMA_SELECT_DEVICE_COHERENT (1ULL << 2)
#define SIMMM_MIGRATE_VMA_SELECT_COMPOUND        (1ULL << 3)

/** simmm_migrate_pfn() - migrate_pfn(): @pfn as a VALID entry. */
static inline uint64_t simmm_migrate_pfn(simmm_pfn_t pfn)
{
	return (pfn << SIMMM_MIGRATE_PFN_SHIFT) | SIMMM_MIGRATE_PFN_VALID;
}

/**
 * simmm_migrate_pfn_to_page() - migrate_pfn_to_page().
 * Return: the pfn of a VALID entry; 0 ("NULL") without VALID.
 */
static inline simmm_pfn_t simmm_migrate_pfn_to_page(uint64_t mpfn)
{
	if (!(mpfn & SIMMM_MIGRATE_PFN_VALID))
		return 0;
	return mpfn >> SIMMM_MIGRATE_PFN_SHIFT;
}

/**
 * struct simmm_migrate_vma - struct migrate_vma.
 * @vma: the VMA (simmm_vma_lookup()).
 * @dst: one entry per page, filled by the driver.
 * @src: one entry per page, filled by setup; read-only afterwards.
 * @cpages: entries collected (setup) / still migrating after the unmap.
 * @npages: entries (set by setup).
 * @start, @end: the range, page aligned, inside @vma.
 * @pgmap_owner: the caller's pagemap owner: selects its device pages and
 *   is passed to the MIGRATE notifier event.
 * @flags: SIMMM_MIGRATE_VMA_SELECT_*.
 * @fault_page: in ->migrate_to_ram(): vmf->page (device-private, locked);
 *   0 otherwise.
 */
struct simmm_migrate_vma {
	struct simmm_vma *vma;
	uint64_t *dst;
	uint64_t *src;
	uint64_t cpages;
	uint64_t npages;
	simmm_addr_t start;
	simmm_addr_t end;
	void *pgmap_owner;
	uint64_t flags;
	simmm_pfn_t fault_page;
};

/**
 * simmm_vma_lookup() - vma_lookup(): the VMA containing @addr, for
 * &simmm_migrate_vma.vma. The caller holds the mmap lock.
 * Return: the VMA, or NULL (NULL/dead @mm, no VMA there).
 */
SIMMM_API struct simmm_vma *simmm_vma_lookup(struct simmm_mm *mm, simmm_addr_t addr);

/**
 * simmm_migrate_vma_setup() - migrate_vma_setup(): collect, lock and unmap
 * the pages of [@args->start, @args->end).
 * @args: the migration; @src and @dst must hold (end - start) / PAGE_SIZE
 *        entries. @src is overwritten; @dst is cleared.
 *
 * For every page src[i] becomes: MIGRATE without VALID for a hole or the
 * zero page (anonymous VMAs; the zero page needs SELECT_SYSTEM), or
 * simmm_migrate_pfn(pfn) | MIGRATE [| WRITE] for a page that is now locked,
 * referenced and unmapped (a migration entry), or 0. Pages that are
 * pinned, cannot be locked or do not match @flags / @pgmap_owner get 0.
 * All of it happens inside one MIGRATE notifier invalidation with
 * @pgmap_owner. A PMD-mapped THP is split first.
 * Locking: the caller holds the mmap lock (read) of the VMA's mm.
 * Return: 0 (also when nothing could be collected); -EINVAL: NULL @args,
 * no VMA, a hugetlb, VM_SPECIAL (IO/PFNMAP/MIXEDMAP/DONTEXPAND) or DAX
 * VMA, an empty range, @start or @end outside the VMA, NULL @src or @dst,
 * a @fault_page that is not a locked device-private page, or the mmap lock
 * not held (reported as misuse).
 */
SIMMM_API int simmm_migrate_vma_setup(struct simmm_migrate_vma *args);

/**
 * simmm_migrate_vma_pages() - migrate_vma_pages(): move the struct page
 * state of every entry with MIGRATE to its dst page. Holes get the new page
 * inserted (anonymous VMAs only, over none or zero-page ptes, as a
 * device-private entry or a normal pte for coherent memory), inside a
 * MIGRATE notifier invalidation. Entries without dst, with a dst the source
 * cannot move to (a device page for a non-anonymous source, another
 * ZONE_DEVICE type), or whose source gained references lose MIGRATE.
 * Locking: mmap lock (read) held since setup.
 * Return: 0; -EINVAL for NULL @migrate, no VMA, NULL arrays or dst entries
 * that are VALID but not a locked page in use (reported as misuse; nothing
 * is migrated then).
 */
SIMMM_API int simmm_migrate_vma_pages(struct simmm_migrate_vma *migrate);

/**
 * simmm_migrate_vma_finalize() - migrate_vma_finalize(): migrated entries
 * now map the dst pages, the others the src pages again; src and dst are
 * unlocked and the references of the migration dropped (a migrated source
 * is freed). Wakes CPU faults waiting on the migration entries.
 * Locking: mmap lock (read) held since setup.
 * Return: 0; -EINVAL for NULL @migrate or arrays.
 */
SIMMM_API int simmm_migrate_vma_finalize(struct simmm_migrate_vma *migrate);

/**
 * simmm_migrate_device_range() - migrate_device_range(): start evicting
 * the device frames [@start_pfn, @start_pfn + @npages): each page in use is
 * referenced and locked (free pages and pages that cannot be locked get
 * 0), then every CPU mapping of it, found through the reverse map, is
 * replaced by a migration entry. No mmap lock is needed.
 * @src: receives one entry per frame.
 * Return: 0; -EINVAL: NULL @sim or @src, or a range not inside one pagemap.
 */
SIMMM_API int simmm_migrate_device_range(simmm_sim *sim, uint64_t *src, simmm_pfn_t start_pfn,
					 uint64_t npages);

/**
 * simmm_migrate_device_pfns() - migrate_device_pfns(): as
 * simmm_migrate_device_range() for the device pfns in @src[0..@npages)
 * (replaced by the entries).
 * Return: 0; -EINVAL: NULL @sim or @src, or a pfn that is not a device
 * frame (checked before anything is done).
 */
SIMMM_API int simmm_migrate_device_pfns(simmm_sim *sim, uint64_t *src, uint64_t npages);

/**
 * simmm_migrate_device_pages() / simmm_migrate_device_finalize() - the
 * VMA-less migrate_vma_pages() / migrate_vma_finalize().
 * Return: 0; -EINVAL for NULL arguments or invalid dst entries (as
 * simmm_migrate_vma_pages()).
 */
SIMMM_API int simmm_migrate_device_pages(simmm_sim *sim, uint64_t *src, uint64_t *dst,
					 uint64_t npages);
SIMMM_API int simmm_migrate_device_finalize(simmm_sim *sim, uint64_t *src, uint64_t *dst,
					    uint64_t npages);

/**
 * simmm_migrate_device_coherent_folio() - migrate_device_coherent_folio():
 * move one device-coherent page to a new system page (what long-term GUP
 * does before pinning). The caller's reference on @pfn is consumed.
 * Return: 0; -EINVAL for NULL @sim or a pfn that is not a device-coherent
 * page in use; -EBUSY when the page could not be unmapped, is pinned or no
 * system page could be allocated.
 */
SIMMM_API int simmm_migrate_device_coherent_folio(simmm_sim *sim, simmm_pfn_t pfn);

/**
 * simmm_make_device_exclusive() - make_device_exclusive(): fault the page
 * at @addr in writable (GUP with FOLL_WRITE | FOLL_SPLIT_PMD), lock it and,
 * inside an EXCLUSIVE notifier invalidation with @owner, replace its pte
 * by a device-exclusive entry (retrying if the pte changed meanwhile). A
 * later CPU access restores the pte (and notifies EXCLUSIVE).
 * @pfn: receives the page, locked and referenced: the caller unlocks it
 *       (simmm_unlock_page()) and puts it (simmm_page_put()).
 * Locking: the caller holds the mmap lock (read).
 * Return: 0; -EINVAL: NULL/dead @mm, NULL @pfn, mmap lock not held;
 * -EOPNOTSUPP: not an anonymous page, or hugetlb; GUP's errors (-EFAULT,
 * -ENOMEM); -EBUSY: the pte kept changing; the page lock's errors.
 */
SIMMM_API int simmm_make_device_exclusive(struct simmm_mm *mm, simmm_addr_t addr, void *owner,
					  simmm_pfn_t *pfn);

/**
 * simmm_lock_page() / simmm_trylock_page() / simmm_unlock_page() - the
 * folio lock (PG_locked) of the folio containing @pfn, for destination
 * pages and for releasing pages returned locked.
 * Context: the caller holds a reference on the folio, as for lock_page():
 * the lock may sleep (a scheduling point), and a folio nobody references
 * could be freed meanwhile.
 * Return: lock: 0 or the bit lock's errors; trylock: 1 taken, 0 busy;
 * unlock: 0; all: -EINVAL for NULL @sim, a pfn without a page in use, and
 * (unlock) a folio that is not locked.
 */
SIMMM_API int simmm_lock_page(simmm_sim *sim, simmm_pfn_t pfn);
SIMMM_API int simmm_trylock_page(simmm_sim *sim, simmm_pfn_t pfn);
SIMMM_API int simmm_unlock_page(simmm_sim *sim, simmm_pfn_t pfn);

/**
 * simmm_folio_copy() - folio_copy() / copy_highpage(): copy the contents
 * of the folio at @src to the folio at @dst (system or device frames).
 * Return: 0; -EINVAL: NULL @sim, pages not in use, or orders differ;
 * -ENOMEM (contents could not be allocated).
 */
SIMMM_API int simmm_folio_copy(simmm_sim *sim, simmm_pfn_t dst, simmm_pfn_t src);

/**
 * simmm_copy_highpage() - copy_highpage(): copy one frame's contents. Unlike
 * simmm_folio_copy(), either frame may be any page of a large folio (a
 * driver copying a THP into base pages, or the reverse).
 * Return: 0; -EINVAL: NULL @sim or a frame not in use; -ENOMEM.
 */
SIMMM_API int simmm_copy_highpage(simmm_sim *sim, simmm_pfn_t dst, simmm_pfn_t src);

/**
 * struct simmm_migrate_vma_ops - the 2017 interface (struct migrate_vma_ops).
 * @alloc_and_copy: called once the src pages are locked and unmapped;
 *   fills dst[] for the entries it migrates (it must not change src[]).
 * @finalize_and_map: called after the struct page migration; src[] tells
 *   which entries moved (MIGRATE). May be NULL.
 */
struct simmm_migrate_vma_ops {
	void (*alloc_and_copy)(struct simmm_vma *vma, const uint64_t *src, uint64_t *dst,
			       simmm_addr_t start, simmm_addr_t end, void *private);
	void (*finalize_and_map)(struct simmm_vma *vma, const uint64_t *src, const uint64_t *dst,
				 simmm_addr_t start, simmm_addr_t end, void *private);
};

/**
 * simmm_migrate_vma() - the seed-era one-call migrate_vma(): setup
 * (SELECT_SYSTEM | SELECT_DEVICE_PRIVATE, owner NULL), ->alloc_and_copy(),
 * pages, ->finalize_and_map(), finalize.
 * Locking: the caller holds the mmap lock (read).
 * Return: 0; -EINVAL: NULL @ops or ->alloc_and_copy, and every -EINVAL of
 * simmm_migrate_vma_setup() (@start/@end misaligned here too, as the
 * 2017 code refused them).
 */
SIMMM_API int simmm_migrate_vma(const struct simmm_migrate_vma_ops *ops, struct simmm_vma *vma,
				simmm_addr_t start, simmm_addr_t end, uint64_t *src, uint64_t *dst,
				void *private);

#ifdef __cplusplus
}
#endif
#endif
