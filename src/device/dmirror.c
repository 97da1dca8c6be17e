// SPDX-License-Identifier: MIT
/*
 * dmirror: lib/test_hmm.c as a simmm driver (see <simmm/device.h> and
 * docs/device.md). The structure follows the kernel module function by
 * function; the code is simmm's own.
 *
 * Device memory. A device owns chunks (struct dchunk, one dev_pagemap
 * each). Free device pages form one list threaded through
 * zone_device_data (the pfn of the next free page, plus one). A page in
 * use has zone_device_data pointing at its struct dpage: the page that
 * holds its data (a system "backing" page for DEVICE_PRIVATE memory, the
 * page itself for DEVICE_COHERENT memory) and the open file that put data
 * there (upstream keeps that pointer in the backing page's
 * zone_device_data; a simmm system page has none).
 *
 * Lifetimes. Upstream's lib/test_hmm.c keeps that file pointer without a
 * reference: dmirror_fops_release() frees the file while pages it migrated
 * may still be on the device, and a later CPU fault-back
 * (dmirror_devmem_fault()) dereferences it. The selftests unmap their
 * buffers before they close, and an exiting process drops its mm before
 * its files, so upstream does not trip over it. simmm's tests and fuzzers
 * close files while the mm lives and other tasks fault; clearing the
 * pointers at close (simmm's first attempt) does not help a fault-back
 * that read the pointer before and uses it after migrate_vma_setup() or an
 * allocation slept. So here every device page in use holds a reference on
 * its file (struct simmm_dmirror.refs): close marks the file closed and
 * drops the open's reference, the last device page freed frees the struct,
 * and a fault-back treats a closed file's page as unowned.
 *
 * Locks, outermost first: devmem_lock (the chunk array; never held while
 * waiting for device pages to be freed), a file's mutex (its mirror),
 * mdevice->lock (a spinlock: free lists, per-chunk counts of pages handed
 * out, file references, stats).
 *
 * The mirror. Each open file keeps a device page table (dpt.h): virtual
 * page -> page holding the data, tagged READ / WRITE / ATOMIC. It holds no
 * references: the interval notifier over the whole address space erases
 * entries before the CPU side changes them, exactly as upstream.
 */
#include <simmm/device.h>

#include <stdlib.h>
#include <string.h>

#include <simmm/hmm.h>
#include <simmm/memremap.h>
#include <simmm/migrate.h>
#include <simmm/mm.h>
#include <simmm/mmu_notifier.h>
#include <simmm/sched.h>
#include <simmm/sim.h>

#include "core/internal.h"
#include "device/dpt.h"
#include "mm/mm.h"

#define DMIRROR_RANGE_FAULT_TIMEOUT SIMMM_HMM_RANGE_DEFAULT_TIMEOUT /* ms */
#define DMIRROR_FAULT_PAGES 64 /* pages per hmm_range_fault() round */

struct dpage {
	simmm_pfn_t backing;         /* page holding the data (0 = free) */
	struct simmm_dmirror *dmirror; /* who migrated the data here */
};

struct dchunk {
	struct simmm_dev_pagemap pgmap; /* first: page_pgmap() -> chunk */
	struct simmm_dmirror_device *mdevice;
	struct dpage *pages;
	uint64_t nr_out;   /* pages taken off the free lists, not yet freed (lock) */
	bool remove;       /* pages are not handed out again (lock) */
	bool claimed;      /* a RELEASE is draining the chunk (devmem_lock) */
	struct dchunk *next_drain; /* that RELEASE's list */
};

struct simmm_dmirror_device {
	simmm_sim *sim;
	enum simmm_memtype type;
	uint64_t psize;
	unsigned pshift;
	uint64_t chunk_pages;
	unsigned nopen;
	struct simmm_dmirror *opens; /* list of open files */

	struct simmm_mutex devmem_lock; /* chunks */
	struct dchunk **chunks;
	unsigned nchunks, cap_chunks;

	struct simmm_spinlock lock; /* free lists and counters */
	simmm_pfn_t free_head;      /* pfn + 1 of the first free page; 0 = none */
	simmm_pfn_t free_huge;      /* same for PMD-sized free folios (heads) */
	struct simmm_dmirror_stats st;
};

/* A migration chunk of one file in flight, from before its
 * migrate_vma_setup() to the mapping of its pages (on the migrating
 * task's stack; the list is under the file mutex). */
struct dmirror_mig {
	uint64_t start, end; /* the chunk */
	uint32_t task;       /* simmm_sched_current() of the migrating task */
	bool raced;          /* another task invalidated part of the chunk */
	struct dmirror_mig *next;
};

struct simmm_dmirror {
	struct simmm_mmu_interval_notifier notifier; /* first */
	struct simmm_dmirror_device *mdevice;
	struct simmm_mm *mm;
	struct simmm_mutex mutex;
	struct dpt pt;
	struct dmirror_mig *migs; /* MIGRATE_TO_DEV chunks in flight (mutex) */
	uint64_t flags;
	struct simmm_dmirror *next_open;
	unsigned long refs; /* the open + one per device page it migrated (lock) */
	bool closed;        /* simmm_dmirror_close() ran */
};

/* A temporary notifier for one snapshot chunk (struct dmirror_interval). */
struct dmirror_interval {
	struct simmm_mmu_interval_notifier notifier; /* first */
	struct simmm_dmirror *dmirror;
};

static const struct simmm_dev_pagemap_ops dmirror_devmem_ops;
static const struct simmm_mmu_interval_notifier_ops dmirror_min_ops;
static const struct simmm_mmu_interval_notifier_ops dmirror_mrn_ops;

/* ---- helpers ---------------------------------------------------------------- */

static inline struct dchunk *page_to_chunk(simmm_sim *sim, simmm_pfn_t pfn)
{
	struct simmm_dev_pagemap *pgmap = simmm_page_pgmap(sim, pfn);

	if (!pgmap || pgmap->ops != &dmirror_devmem_ops)
		return NULL;
	return (struct dchunk *)pgmap;
}

static inline struct dpage *page_to_dpage(struct dchunk *c, simmm_pfn_t pfn)
{
	return &c->pages[pfn - c->pgmap.start_pfn];
}

/* BACKING_PAGE(): the page holding the data of device page @pfn. */
static simmm_pfn_t backing_page(simmm_sim *sim, simmm_pfn_t pfn)
{
	struct dchunk *c = page_to_chunk(sim, pfn);

	if (!c || !simmm_is_device_private_page(sim, pfn))
		return pfn;
	return page_to_dpage(c, pfn)->backing;
}

static bool is_private(const struct simmm_dmirror_device *mdevice)
{
	return mdevice->type == SIMMM_MEM_DEVICE_PRIVATE;
}

static uint64_t pmd_size(simmm_sim *sim)
{
	return 1ULL << simmm_sim_geometry(sim)->level[SIMMM_LVL_PMD].shift;
}

/* Pages in a PMD: the size of a device THP (HPAGE_PMD_NR). */
static uint64_t pmd_pages(const struct simmm_dmirror_device *mdevice)
{
	return pmd_size(mdevice->sim) >> mdevice->pshift;
}

static unsigned pmd_order(const struct simmm_dmirror_device *mdevice)
{
	unsigned o = 0;

	while ((1ULL << o) < pmd_pages(mdevice))
		o++;
	return o;
}

/* A locked system folio of 2^@order pages with one reference, 0 on failure. */
static simmm_pfn_t sys_alloc_order_locked(simmm_sim *sim, unsigned order)
{
	simmm_pfn_t pfn;

	if (simmm_page_alloc(sim, order, &pfn))
		return 0;
	if (simmm_lock_page(sim, pfn)) {
		simmm_page_put(sim, pfn);
		return 0;
	}
	return pfn;
}

/* A locked system page with one reference, 0 on failure. */
static simmm_pfn_t sys_alloc_locked(simmm_sim *sim)
{
	return sys_alloc_order_locked(sim, 0);
}

/* Give back a locked folio with one reference that a migration will not
 * use (a device folio goes back to the free list through ->folio_free). */
static void page_release_locked(simmm_sim *sim, simmm_pfn_t pfn)
{
	simmm_unlock_page(sim, pfn);
	simmm_page_put(sim, pfn);
}

/* The retry loop of dmirror_range_fault()/dmirror_range_snapshot(): time
 * must pass for the timeout to matter, also outside a scheduler task. */
static void backoff(simmm_sim *sim)
{
	simmm_sched_yield(sim);
	if (simmm_sched_current(sim) == 0)
		simmm_sched_sleep(sim, 1);
}

/* The last reference is gone: the file was closed and no device page it
 * migrated is in use any more. */
static void dmirror_free(struct simmm_dmirror *dmirror)
{
	simmm_sim *sim = dmirror->mdevice->sim;

	dpt_destroy(&dmirror->pt);
	simmm__free(sim, SIMMM_ALLOC_META, dmirror, sizeof(*dmirror));
}

/* Drop a reference on @dmirror (see "Lifetimes" above). */
static void dmirror_put(struct simmm_dmirror *dmirror)
{
	struct simmm_dmirror_device *mdevice = dmirror->mdevice;
	bool last;

	simmm_spin_lock(mdevice->sim, &mdevice->lock);
	last = --dmirror->refs == 0;
	simmm_spin_unlock(mdevice->sim, &mdevice->lock);
	if (last)
		dmirror_free(dmirror);
}

/* The file that migrated device page @pfn of chunk @c, NULL once it has
 * been closed. The caller holds the page (a reference or its lock with a
 * reference held by a migration), so the page's reference keeps the struct
 * alive; a close after this call only marks it closed. */
static struct simmm_dmirror *page_owner(struct dchunk *c, simmm_pfn_t pfn)
{
	struct simmm_dmirror *owner = page_to_dpage(c, pfn)->dmirror;

	return owner && !owner->closed ? owner : NULL;
}

/* ---- device memory ------------------------------------------------------------- */

static void free_list_push(struct simmm_dmirror_device *mdevice, simmm_pfn_t pfn)
{
	simmm_set_zone_device_data(mdevice->sim, pfn, (void *)(uintptr_t)mdevice->free_head);
	mdevice->free_head = pfn + 1;
}

static void free_huge_push(struct simmm_dmirror_device *mdevice, simmm_pfn_t pfn)
{
	simmm_set_zone_device_data(mdevice->sim, pfn, (void *)(uintptr_t)mdevice->free_huge);
	mdevice->free_huge = pfn + 1;
}

/* Pop the first entry of a free list (*@head), 0 if empty. */
static simmm_pfn_t free_list_pop(struct simmm_dmirror_device *mdevice, simmm_pfn_t *head)
{
	simmm_pfn_t pfn;

	if (!*head)
		return 0;
	pfn = *head - 1;
	*head = (simmm_pfn_t)(uintptr_t)simmm_zone_device_data(mdevice->sim, pfn);
	return pfn;
}

/* dmirror_allocate_chunk(): register a new chunk, put its pages on the
 * free list (as PMD-sized free folios with @huge, as upstream does for a
 * chunk added for a THP request) and (with @ppage) take one. 0 or a
 * negative errno. */
static int dmirror_allocate_chunk(struct simmm_dmirror_device *mdevice, simmm_pfn_t *ppage,
				  bool huge)
{
	simmm_sim *sim = mdevice->sim;
	struct dchunk *c;
	int ret = -ENOMEM;

	c = simmm__zalloc(sim, SIMMM_ALLOC_META, sizeof(*c));
	if (!c)
		return ret;
	c->pages = simmm__zalloc(sim, SIMMM_ALLOC_META, mdevice->chunk_pages * sizeof(*c->pages));
	if (!c->pages)
		goto err_chunk;
	c->mdevice = mdevice;
	c->pgmap.type = mdevice->type;
	c->pgmap.ops = &dmirror_devmem_ops;
	c->pgmap.owner = mdevice;

	simmm_mutex_lock(sim, &mdevice->devmem_lock);
	if (mdevice->nchunks == mdevice->cap_chunks) {
		size_t cap = mdevice->cap_chunks;

		if (simmm__grow(sim, SIMMM_ALLOC_META, (void **)&mdevice->chunks,
				sizeof(*mdevice->chunks), &cap, cap + 16, false))
			goto err_unlock;
		mdevice->cap_chunks = (unsigned)cap;
	}
	ret = simmm_memremap_pages(sim, &c->pgmap, mdevice->chunk_pages);
	if (ret)
		goto err_unlock;
	mdevice->chunks[mdevice->nchunks++] = c;

	/* Still under devmem_lock: a RELEASE must not claim the chunk (and
	 * take its free pages off the lists) before they are on them. */
	simmm_spin_lock(sim, &mdevice->lock);
	mdevice->st.chunks++;
	mdevice->st.chunks_added++;
	if (huge) {
		for (uint64_t i = mdevice->chunk_pages; i >= pmd_pages(mdevice);) {
			i -= pmd_pages(mdevice);
			free_huge_push(mdevice, c->pgmap.start_pfn + i);
		}
	} else {
		for (uint64_t i = mdevice->chunk_pages; i-- > 0;)
			free_list_push(mdevice, c->pgmap.start_pfn + i);
	}
	if (ppage) {
		*ppage = free_list_pop(mdevice, huge ? &mdevice->free_huge : &mdevice->free_head);
		mdevice->st.calloc += huge ? pmd_pages(mdevice) : 1;
		c->nr_out += huge ? pmd_pages(mdevice) : 1;
	}
	simmm_spin_unlock(sim, &mdevice->lock);
	simmm_mutex_unlock(sim, &mdevice->devmem_lock);
	return 0;

err_unlock:
	simmm_mutex_unlock(sim, &mdevice->devmem_lock);
	simmm__free(sim, SIMMM_ALLOC_META, c->pages, mdevice->chunk_pages * sizeof(*c->pages));
err_chunk:
	simmm__free(sim, SIMMM_ALLOC_META, c, sizeof(*c));
	return ret;
}

/* Back to the free list it came from (an allocation that failed late),
 * or dropped when its chunk is being removed meanwhile. */
static void free_list_return(struct simmm_dmirror_device *mdevice, simmm_pfn_t dpage, bool huge)
{
	struct dchunk *c = page_to_chunk(mdevice->sim, dpage);
	uint64_t nr = huge ? pmd_pages(mdevice) : 1;

	simmm_spin_lock(mdevice->sim, &mdevice->lock);
	if (c->remove)
		simmm_set_zone_device_data(mdevice->sim, dpage, NULL);
	else if (huge)
		free_huge_push(mdevice, dpage);
	else
		free_list_push(mdevice, dpage);
	mdevice->st.calloc -= nr;
	c->nr_out -= nr;
	simmm_spin_unlock(mdevice->sim, &mdevice->lock);
}

/* dmirror_devmem_alloc_page(): a device page (with @huge a PMD-sized device
 * folio, a "device THP", 6.19+), locked, one reference, its data pages
 * prepared (a new zeroed backing page per page for private memory). A
 * @huge request takes a free PMD-sized folio or a new chunk of them; the
 * caller falls back to single pages when it fails. 0 on failure. */
static simmm_pfn_t dmirror_devmem_alloc_page(struct simmm_dmirror *dmirror, bool huge)
{
	struct simmm_dmirror_device *mdevice = dmirror->mdevice;
	simmm_sim *sim = mdevice->sim;
	uint64_t nr = huge ? pmd_pages(mdevice) : 1, got = 0;
	simmm_pfn_t dpage, *rpage;
	struct dchunk *c;

	if (huge && (!pmd_order(mdevice) || mdevice->chunk_pages < nr))
		return 0;
	/* A page off the free list counts as handed out (nr_out) from here
	 * on: a RELEASE now waits for it, even before it is initialised. */
	simmm_spin_lock(sim, &mdevice->lock);
	dpage = free_list_pop(mdevice, huge ? &mdevice->free_huge : &mdevice->free_head);
	if (dpage) {
		mdevice->st.calloc += nr;
		page_to_chunk(sim, dpage)->nr_out += nr;
	}
	simmm_spin_unlock(sim, &mdevice->lock);
	if (!dpage && dmirror_allocate_chunk(mdevice, &dpage, huge))
		return 0;
	rpage = simmm__zalloc(sim, SIMMM_ALLOC_META, nr * sizeof(*rpage));
	if (!rpage)
		goto error;
	for (; is_private(mdevice) && got < nr; got++)
		if (simmm_page_alloc(sim, 0, &rpage[got]))
			goto error;
	/* Cannot fail for a page off our free list: a RELEASE unregisters the
	 * chunk (pagemap dying) only once no page of it is handed out. */
	if (simmm_zone_device_folio_init(sim, dpage, huge ? pmd_order(mdevice) : 0))
		goto error;
	c = page_to_chunk(sim, dpage);
	simmm_spin_lock(sim, &mdevice->lock);
	for (uint64_t i = 0; i < nr; i++) {
		struct dpage *dp = page_to_dpage(c, dpage + i);

		dp->backing = is_private(mdevice) ? rpage[i] : dpage + i;
		dp->dmirror = dmirror; /* a reference (see "Lifetimes") */
		dmirror->refs++;
		simmm_set_zone_device_data(sim, dpage + i, dp);
	}
	simmm_spin_unlock(sim, &mdevice->lock);
	if (huge)
		mdevice->st.huge_alloc++;
	simmm__free(sim, SIMMM_ALLOC_META, rpage, nr * sizeof(*rpage));
	return dpage;
error:
	while (got)
		simmm_page_put(sim, rpage[--got]);
	if (rpage)
		simmm__free(sim, SIMMM_ALLOC_META, rpage, nr * sizeof(*rpage));
	free_list_return(mdevice, dpage, huge);
	return 0;
}

/* ->folio_free (dmirror_devmem_free): drop the backing page and the
 * file's reference, return the pages to the free list unless their chunk
 * is being removed. */
static void dmirror_devmem_free(struct simmm_dev_pagemap *pgmap, simmm_pfn_t pfn, unsigned order,
				void *data)
{
	struct dchunk *c = (struct dchunk *)pgmap;
	struct simmm_dmirror_device *mdevice = c->mdevice;
	simmm_sim *sim = mdevice->sim;

	(void)data;
	for (uint64_t i = 0; i < (1ULL << order); i++) {
		struct dpage *dp = page_to_dpage(c, pfn + i);
		simmm_pfn_t rpage = dp->backing;
		struct simmm_dmirror *owner;
		bool last = false;

		dp->backing = 0;
		if (rpage && rpage != pfn + i)
			simmm_page_put(sim, rpage);
		simmm_spin_lock(sim, &mdevice->lock);
		owner = dp->dmirror;
		dp->dmirror = NULL;
		if (owner)
			last = --owner->refs == 0;
		mdevice->st.cfree++;
		c->nr_out--;
		if (c->remove)
			simmm_set_zone_device_data(sim, pfn + i, NULL);
		else if (!order)
			free_list_push(mdevice, pfn + i);
		simmm_spin_unlock(sim, &mdevice->lock);
		if (last)
			dmirror_free(owner);
	}
	/* A whole device THP goes back to the free folios. */
	if (order && !c->remove) {
		simmm_spin_lock(sim, &mdevice->lock);
		free_huge_push(mdevice, pfn);
		simmm_spin_unlock(sim, &mdevice->lock);
	}
}

/* ->folio_split (dmirror_devmem_folio_split): a device THP is being split
 * into base pages. The per-page state (backing page, owner) is kept per
 * page here already, so each new folio just gets its zone_device_data. */
static void dmirror_devmem_folio_split(struct simmm_dev_pagemap *pgmap, simmm_pfn_t head,
				       simmm_pfn_t tail)
{
	struct dchunk *c = (struct dchunk *)pgmap;

	simmm_set_zone_device_data(c->mdevice->sim, tail, page_to_dpage(c, tail));
	if (tail == head + 1)
		c->mdevice->st.splits++;
}

/* ---- the mirror ------------------------------------------------------------------ */

static bool dmirror_interval_invalidate(struct simmm_mmu_interval_notifier *mni,
					const struct simmm_mmu_notifier_range *range,
					uint64_t cur_seq)
{
	struct simmm_dmirror *dmirror = (struct simmm_dmirror *)mni;
	simmm_sim *sim = dmirror->mdevice->sim;
	unsigned shift = dmirror->mdevice->pshift;

	if (simmm_mmu_notifier_range_blockable(range))
		simmm_mutex_lock(sim, &dmirror->mutex);
	else if (simmm_mutex_trylock(sim, &dmirror->mutex) != 1)
		return false;
	/*
	 * Our own migration updates the mirror itself. Upstream ignores every
	 * MMU_NOTIFY_MIGRATE whose owner is the device, but all open files of
	 * a device share that owner (it is the pgmap owner the migration
	 * selects pages by): a file then kept the mirror of a page another
	 * file migrated to the device or a CPU fault brought home, and read
	 * whatever its freed page held next. Only the MIGRATE invalidations
	 * of this file's own migration chunk, from the migrating task, are
	 * ignored; any other invalidation of a chunk in flight means its new
	 * device entries may be gone before they are mirrored.
	 */
	for (struct dmirror_mig *mg = dmirror->migs; mg; mg = mg->next) {
		if (range->end <= mg->start || range->start >= mg->end)
			continue;
		if (mg->task != simmm_sched_current(sim)) {
			mg->raced = true;
		} else if (range->event == SIMMM_MMU_NOTIFY_MIGRATE &&
			   range->owner == dmirror->mdevice && range->start >= mg->start &&
			   range->end <= mg->end) {
			simmm_mutex_unlock(sim, &dmirror->mutex);
			return true;
		}
	}
	simmm_mmu_interval_set_seq(mni, cur_seq);
	dpt_erase_range(&dmirror->pt, range->start >> shift,
			(range->end >> shift) + ((range->end & (dmirror->mdevice->psize - 1)) != 0));
	simmm_mutex_unlock(sim, &dmirror->mutex);
	return true;
}

static const struct simmm_mmu_interval_notifier_ops dmirror_min_ops = {
	.invalidate = dmirror_interval_invalidate,
};

/* dmirror_do_fault(): program the mirror from range->hmm_pfns. */
static int dmirror_do_fault(struct simmm_dmirror *dmirror, struct simmm_hmm_range *range)
{
	simmm_sim *sim = dmirror->mdevice->sim;
	unsigned shift = dmirror->mdevice->pshift;
	uint64_t *pfns = range->hmm_pfns;

	for (uint64_t vpn = range->start >> shift; vpn < (range->end >> shift); vpn++, pfns++) {
		simmm_pfn_t page;
		uint64_t tag = DPT_TAG_READ;
		int err;

		/* hmm_range_fault() succeeded with REQ_FAULT: no error entry. */
		if ((*pfns & SIMMM_HMM_PFN_ERROR) || !(*pfns & SIMMM_HMM_PFN_VALID)) {
			simmm__report(sim, SIMMM_REPORT_WARN,
				      "dmirror: hmm_range_fault() returned 0 with entry %#llx at %#llx",
				      (unsigned long long)*pfns, (unsigned long long)(vpn << shift));
			return -EFAULT;
		}
		/* The page that holds the data: an owned device-private page
		 * is read through its backing page (upstream stores the
		 * struct page of the device page itself). */
		page = backing_page(sim, simmm_hmm_pfn_to_pfn(*pfns));
		if (*pfns & SIMMM_HMM_PFN_WRITE) {
			tag = DPT_TAG_WRITE;
		} else if (range->default_flags & SIMMM_HMM_PFN_REQ_WRITE) {
			simmm__report(sim, SIMMM_REPORT_WARN,
				      "dmirror: write fault returned a read-only entry at %#llx",
				      (unsigned long long)(vpn << shift));
			return -EFAULT;
		}
		err = dpt_store(&dmirror->pt, vpn, dpt_mk(page, tag));
		if (err)
			return err;
	}
	return 0;
}

/* The driver protocol up to "driver lock held and read_retry passed":
 * read_begin, mmap read lock, hmm_range_fault, unlock, retrying -EBUSY and
 * a moved sequence until the (virtual) timeout. Returns 0 with
 * dmirror->mutex held, or an error without it. Shared by the fault and
 * snapshot paths (lib/test_hmm.c open-codes the loop twice). */
static int dmirror_fault_and_lock(struct simmm_dmirror *dmirror, struct simmm_hmm_range *range)
{
	struct simmm_mm *mm = dmirror->mm;
	simmm_sim *sim = dmirror->mdevice->sim;
	uint64_t timeout = simmm_sched_now_ns(sim) + DMIRROR_RANGE_FAULT_TIMEOUT * 1000000ULL;
	int ret;

	for (;;) {
		if (simmm_sched_now_ns(sim) > timeout)
			return -EBUSY;
		range->notifier_seq = simmm_mmu_interval_read_begin(range->notifier);
		ret = simmm_mmap_read_lock(mm);
		if (ret)
			return ret;
		ret = simmm_hmm_range_fault(range);
		simmm_mmap_read_unlock(mm);
		if (ret == -EBUSY) {
			backoff(sim);
			continue;
		}
		if (ret)
			return ret;
		simmm_mutex_lock(sim, &dmirror->mutex);
		if (!simmm_mmu_interval_read_retry(range->notifier, range->notifier_seq))
			return 0;
		simmm_mutex_unlock(sim, &dmirror->mutex);
		backoff(sim);
	}
}

/* dmirror_range_fault(): the documented driver loop, with the mutex held
 * from read_retry to programming the mirror. */
static int dmirror_range_fault(struct simmm_dmirror *dmirror, struct simmm_hmm_range *range)
{
	simmm_sim *sim = dmirror->mdevice->sim;
	int ret = dmirror_fault_and_lock(dmirror, range);

	if (ret)
		return ret;
	ret = dmirror_do_fault(dmirror, range);
	simmm_mutex_unlock(sim, &dmirror->mutex);
	return ret;
}

/* dmirror_fault(): fault [start, end) into the mirror, 64 pages a round. */
static int dmirror_fault(struct simmm_dmirror *dmirror, uint64_t start, uint64_t end, bool write)
{
	struct simmm_mm *mm = dmirror->mm;
	uint64_t pfns[DMIRROR_FAULT_PAGES];
	struct simmm_hmm_range range = {
		.notifier = &dmirror->notifier,
		.hmm_pfns = pfns,
		.pfn_flags_mask = 0,
		.default_flags = SIMMM_HMM_PFN_REQ_FAULT | (write ? SIMMM_HMM_PFN_REQ_WRITE : 0),
		.dev_private_owner = dmirror->mdevice,
	};
	int ret = 0;

	/* The mm is the mirrored process's: take a user reference first.
	 * (Upstream returns 0 here, and READ/WRITE would then retry forever
	 * on a process that exited; simmm fails the command instead.) */
	if (!simmm_mmget_not_zero(mm))
		return -EINVAL;
	for (uint64_t addr = start; addr < end; addr = range.end) {
		uint64_t span = DMIRROR_FAULT_PAGES * dmirror->mdevice->psize;

		range.start = addr;
		range.end = (end - addr > span) ? addr + span : end;
		ret = dmirror_range_fault(dmirror, &range);
		if (ret)
			break;
	}
	simmm_mmput(mm);
	return ret;
}

struct bounce {
	unsigned char *ptr;
	uint64_t size, addr, cpages;
};

static int bounce_init(simmm_sim *sim, struct bounce *b, uint64_t addr, uint64_t size)
{
	b->addr = addr;
	b->size = size;
	b->cpages = 0;
	b->ptr = simmm__malloc(sim, SIMMM_ALLOC_META, size);
	return b->ptr ? 0 : -ENOMEM;
}

static void bounce_fini(simmm_sim *sim, struct bounce *b)
{
	simmm__free(sim, SIMMM_ALLOC_META, b->ptr, b->size);
}

/* dmirror_do_read(): copy mirrored pages of [start, end) into the bounce
 * buffer; -ENOENT at the first page that is not mirrored. */
static int dmirror_do_read(struct simmm_dmirror *dmirror, uint64_t start, uint64_t end,
			   struct bounce *b)
{
	struct simmm_dmirror_device *mdevice = dmirror->mdevice;
	unsigned char *ptr = b->ptr + (start - b->addr);

	for (uint64_t vpn = start >> mdevice->pshift; vpn < (end >> mdevice->pshift); vpn++) {
		uint64_t e;
		int err;

		if (dpt_load(&dmirror->pt, vpn, &e))
			return -ENOENT;
		err = simmm_page_read(mdevice->sim, dpt_pfn(e), 0, ptr, mdevice->psize);
		if (err)
			return err;
		ptr += mdevice->psize;
		b->cpages++;
	}
	return 0;
}

static int dmirror_do_write(struct simmm_dmirror *dmirror, uint64_t start, uint64_t end,
			    struct bounce *b)
{
	struct simmm_dmirror_device *mdevice = dmirror->mdevice;
	unsigned char *ptr = b->ptr + (start - b->addr);

	for (uint64_t vpn = start >> mdevice->pshift; vpn < (end >> mdevice->pshift); vpn++) {
		uint64_t e;
		int err;

		if (dpt_load(&dmirror->pt, vpn, &e) || dpt_tag(e) != DPT_TAG_WRITE)
			return -ENOENT;
		err = simmm_page_write(mdevice->sim, dpt_pfn(e), 0, ptr, mdevice->psize);
		if (err)
			return err;
		ptr += mdevice->psize;
		b->cpages++;
	}
	return 0;
}

/*
 * READ and WRITE (dmirror_read()/dmirror_write() upstream, one loop here):
 * copy through the mirror under its mutex; a page the mirror lacks
 * (-ENOENT) is faulted in with hmm_range_fault() from the first page not
 * yet copied, and the copy resumes there.
 */
static int dmirror_rw(struct simmm_dmirror *dmirror, struct simmm_dmirror_cmd *cmd, bool write)
{
	simmm_sim *sim = dmirror->mdevice->sim;
	uint64_t size = cmd->npages << dmirror->mdevice->pshift;
	uint64_t start = cmd->addr, end = start + size;
	struct bounce b;
	int ret;

	ret = bounce_init(sim, &b, start, size);
	if (ret)
		return ret;
	if (write)
		memcpy(b.ptr, cmd->ptr, size);
	for (;;) {
		simmm_mutex_lock(sim, &dmirror->mutex);
		ret = write ? dmirror_do_write(dmirror, start, end, &b)
			    : dmirror_do_read(dmirror, start, end, &b);
		simmm_mutex_unlock(sim, &dmirror->mutex);
		if (ret != -ENOENT)
			break;
		start = cmd->addr + (b.cpages << dmirror->mdevice->pshift);
		ret = dmirror_fault(dmirror, start, end, write);
		if (ret)
			break;
		cmd->faults++;
	}
	if (ret == 0 && !write)
		memcpy(cmd->ptr, b.ptr, size);
	cmd->cpages = b.cpages;
	bounce_fini(sim, &b);
	return ret;
}

/* Read [start, end) back from the mirror into cmd->ptr (the tail of
 * MIGRATE_TO_DEV and EXCLUSIVE). */
static int dmirror_read_back(struct simmm_dmirror *dmirror, struct simmm_dmirror_cmd *cmd)
{
	simmm_sim *sim = dmirror->mdevice->sim;
	uint64_t size = cmd->npages << dmirror->mdevice->pshift;
	struct bounce b;
	int ret = bounce_init(sim, &b, cmd->addr, size);

	if (ret)
		return ret;
	simmm_mutex_lock(sim, &dmirror->mutex);
	ret = dmirror_do_read(dmirror, cmd->addr, cmd->addr + size, &b);
	simmm_mutex_unlock(sim, &dmirror->mutex);
	if (ret == 0)
		memcpy(cmd->ptr, b.ptr, size);
	cmd->cpages = b.cpages;
	bounce_fini(sim, &b);
	return ret;
}

/* ---- migration -------------------------------------------------------------------- */

/* Is the next allocation to fail on purpose (HMM_DMIRROR_FLAG_FAIL_ALLOC)? */
static bool fail_alloc_once(struct simmm_dmirror *dmirror)
{
	if (!(dmirror->flags & SIMMM_DMIRROR_FLAG_FAIL_ALLOC))
		return false;
	dmirror->flags &= ~SIMMM_DMIRROR_FLAG_FAIL_ALLOC;
	dmirror->mdevice->st.fail_alloc_hits++;
	return true;
}

/* Copy pages @k .. @k + @nr - 1 of the source @spage (0: a hole or the
 * zero page: nothing to copy, device data pages start zeroed) into the
 * device folio @dpage. Unlike the kernel's copy_highpage(), simmm's copy
 * can fail (-ENOMEM: the contents cannot be allocated); @dpage is then
 * given back and the entry declined, so the data stays where it is
 * instead of being lost. */
static bool copy_in(simmm_sim *sim, simmm_pfn_t dpage, simmm_pfn_t spage, uint64_t k, uint64_t nr)
{
	if (!spage || spage == simmm_zero_pfn(sim))
		return true;
	for (uint64_t j = 0; j < nr; j++) {
		if (simmm_copy_highpage(sim, backing_page(sim, dpage + j), spage + k + j)) {
			page_release_locked(sim, dpage);
			return false;
		}
	}
	return true;
}

/* One new device page for page @k of @spage, with its data. */
static simmm_pfn_t dev_page_with_data(struct simmm_dmirror *dmirror, simmm_pfn_t spage,
				      uint64_t k)
{
	simmm_pfn_t dpage = dmirror_devmem_alloc_page(dmirror, false);

	if (dpage && !copy_in(dmirror->mdevice->sim, dpage, spage, k, 1))
		return 0;
	return dpage;
}

/* dmirror_migrate_alloc_and_copy(): a device page for each collected
 * entry. A COMPOUND entry (a THP, or a whole PMD-sized hole) gets a device
 * THP (dst COMPOUND) or, when that fails, one page per base page (then
 * migrate_vma_pages() splits the source or the hole). */
static void dmirror_migrate_alloc_and_copy(struct simmm_migrate_vma *args,
					   struct simmm_dmirror *dmirror, uint64_t vm_flags)
{
	struct simmm_dmirror_device *mdevice = dmirror->mdevice;
	simmm_sim *sim = mdevice->sim;
	uint64_t n = (args->end - args->start) >> mdevice->pshift;

	for (uint64_t i = 0; i < n;) {
		uint64_t src = args->src[i], write;
		simmm_pfn_t spage = simmm_migrate_pfn_to_page(src), dpage;
		bool huge = src & SIMMM_MIGRATE_PFN_COMPOUND;
		uint64_t nr = huge ? pmd_pages(mdevice) : 1;

		args->dst[i] = 0;
		if (!(src & SIMMM_MIGRATE_PFN_MIGRATE)) {
			i++;
			continue;
		}
		/* Never a device page: setup selected system memory only. */
		if (spage && simmm_is_zone_device_page(sim, spage)) {
			i++;
			continue;
		}
		write = ((src & SIMMM_MIGRATE_PFN_WRITE) || (!spage && (vm_flags & SIMMM_VM_WRITE)))
				? SIMMM_MIGRATE_PFN_WRITE
				: 0;
		dpage = fail_alloc_once(dmirror) ? 0 : dmirror_devmem_alloc_page(dmirror, huge);
		if (!dpage && huge) {
			/* Fall back to PAGE_SIZE pages for the whole PMD. */
			for (uint64_t k = 0; k < nr && i < n; k++, i++) {
				args->dst[i] = 0;
				dpage = dev_page_with_data(dmirror, spage, k);
				if (!dpage)
					continue;
				mdevice->st.fallback_pages++;
				args->dst[i] = simmm_migrate_pfn(dpage) | write;
			}
			continue;
		}
		if (dpage && !copy_in(sim, dpage, spage, 0, nr))
			dpage = 0;
		if (dpage)
			args->dst[i] = simmm_migrate_pfn(dpage) | write |
				       (huge ? SIMMM_MIGRATE_PFN_COMPOUND : 0);
		for (uint64_t k = 1; k < nr && i + k < n; k++)
			args->dst[i + k] = 0;
		i += nr;
	}
}

/* Link @mg into @dmirror's chunks in flight. */
static void mig_link(struct simmm_dmirror *dmirror, struct dmirror_mig *mg)
{
	simmm_mutex_lock(dmirror->mdevice->sim, &dmirror->mutex);
	mg->next = dmirror->migs;
	dmirror->migs = mg;
	simmm_mutex_unlock(dmirror->mdevice->sim, &dmirror->mutex);
}

/*
 * Before MIGRATE_TO_DEV collects a chunk (its chunk already linked): wait
 * until no invalidation that reached, or should reach, our notifier is
 * still running. The "raced" mark of dmirror_interval_invalidate() only
 * sees invalidations whose callback runs after the link. Two kinds do not:
 * one whose callback ran just before the link and whose zap comes after
 * setup collected (MADV_DONTNEED then clears the migration entries), and
 * every invalidation while the notifier's insertion is deferred: a file
 * opened while some range of the mm is being invalidated is not in the
 * interval tree until the mm's invalidations have all ended
 * (mmu_interval_notifier_insert() during an odd invalidate_seq), so its
 * callback misses them all. mmu_interval_read_begin() sleeps in exactly
 * those cases (the notifier's seq is the mm's odd one) until the last of
 * them ended and the notifier is in the tree. Upstream's lib/test_hmm.c
 * maps migrated pages without any such check.
 */
static void mig_wait_notifier(struct simmm_dmirror *dmirror)
{
	(void)simmm_mmu_interval_read_begin(&dmirror->notifier);
}

/* Unlink @mg from @dmirror's chunks in flight (mutex held). */
static void mig_unlink_locked(struct simmm_dmirror *dmirror, struct dmirror_mig *mg)
{
	struct dmirror_mig **pp = &dmirror->migs;

	while (*pp != mg)
		pp = &(*pp)->next;
	*pp = mg->next;
}

/* dmirror_migrate_finalize_and_map(): mirror the pages that migrated; a
 * device THP maps all its pages. Nothing is mapped when another task
 * invalidated part of the chunk @mg meanwhile (see
 * dmirror_interval_invalidate()): a MADV_DONTNEED or munmap may have
 * zapped the new device entries, and finalize would free their pages under
 * the mirror (upstream maps without such a check); the chunk's mirror is
 * erased instead, and the read-back fails with -ENOENT, as when a page did
 * not migrate. */
static int dmirror_migrate_finalize_and_map(struct simmm_migrate_vma *args,
					    struct simmm_dmirror *dmirror,
					    struct dmirror_mig *mg)
{
	struct simmm_dmirror_device *mdevice = dmirror->mdevice;
	simmm_sim *sim = mdevice->sim;
	uint64_t n = (args->end - args->start) >> mdevice->pshift;
	uint64_t vpn = args->start >> mdevice->pshift;
	int ret = 0;

	simmm_mutex_lock(sim, &dmirror->mutex);
	mig_unlink_locked(dmirror, mg);
	if (mg->raced) {
		/*
		 * dmirror_interval_invalidate() skipped the erase of setup's
		 * MIGRATE invalidation of this chunk: upstream relies on
		 * finalize_and_map() overwriting the mirror of every page that
		 * migrated with its device page. Mapping nothing here would
		 * leave a page mirrored before the migration (a READ's
		 * hmm_range_fault()) on its old system page, which
		 * migrate_vma_finalize() frees once the page moved: a READ
		 * then copies whatever reuses that frame. Do the erase the
		 * skipped invalidation would have done, as any invalidation
		 * of the range does (the next READ faults the pages in).
		 */
		dpt_erase_range(&dmirror->pt, vpn, vpn + n);
		n = 0;
	}
	for (uint64_t i = 0; i < n && !ret; i++) {
		simmm_pfn_t dpage = simmm_migrate_pfn_to_page(args->dst[i]);
		uint64_t nr = (args->dst[i] & SIMMM_MIGRATE_PFN_COMPOUND) ? pmd_pages(mdevice) : 1;
		unsigned tag = (args->dst[i] & SIMMM_MIGRATE_PFN_WRITE) ? DPT_TAG_WRITE
									 : DPT_TAG_READ;

		if (!(args->src[i] & SIMMM_MIGRATE_PFN_MIGRATE) || !dpage)
			continue;
		for (uint64_t k = 0; k < nr && i + k < n && !ret; k++)
			ret = dpt_store(&dmirror->pt, vpn + i + k,
					dpt_mk(backing_page(sim, dpage + k), tag));
	}
	simmm_mutex_unlock(sim, &dmirror->mutex);
	return ret;
}

/* Per-command resources of the two migrations. */
struct mig_bufs {
	uint64_t *src, *dst;
	uint64_t n;
};

static int mig_bufs_init(simmm_sim *sim, struct mig_bufs *m, uint64_t n)
{
	m->n = n;
	m->src = simmm__zalloc(sim, SIMMM_ALLOC_META, n * sizeof(uint64_t));
	m->dst = simmm__zalloc(sim, SIMMM_ALLOC_META, n * sizeof(uint64_t));
	if (m->src && m->dst)
		return 0;
	if (m->src)
		simmm__free(sim, SIMMM_ALLOC_META, m->src, n * sizeof(uint64_t));
	if (m->dst)
		simmm__free(sim, SIMMM_ALLOC_META, m->dst, n * sizeof(uint64_t));
	return -ENOMEM;
}

static void mig_bufs_fini(simmm_sim *sim, struct mig_bufs *m)
{
	simmm__free(sim, SIMMM_ALLOC_META, m->src, m->n * sizeof(uint64_t));
	simmm__free(sim, SIMMM_ALLOC_META, m->dst, m->n * sizeof(uint64_t));
}

/* The next chunk [addr, *next) of a migration: inside one VMA with
 * VM_READ and one PMD. -EINVAL otherwise. */
static int mig_chunk(struct simmm_dmirror *dmirror, uint64_t addr, uint64_t end,
		     struct simmm_vma **vma, uint64_t *vm_flags, uint64_t *next)
{
	struct simmm_vma_info info;
	uint64_t pmd = pmd_size(dmirror->mdevice->sim);
	uint64_t boundary = (addr + pmd) & ~(pmd - 1);

	*vma = simmm_vma_lookup(dmirror->mm, addr);
	if (!*vma || simmm_vma_info(dmirror->mm, addr, &info) ||
	    !(info.vm_flags & SIMMM_VM_READ))
		return -EINVAL;
	*vm_flags = info.vm_flags;
	*next = (boundary && boundary < end) ? boundary : end; /* pmd_addr_end() */
	if (*next > info.end)
		*next = info.end;
	return 0;
}

static unsigned dmirror_devmem_fault_alloc_and_copy(struct simmm_migrate_vma *args,
						    struct simmm_dmirror *dmirror,
						    struct simmm_dmirror_device *mdevice);

/* The two MIGRATE commands: per chunk of one VMA and one PMD, setup with
 * SELECT_COMPOUND (system memory towards the device, our device memory
 * back), the driver's allocation and copy, pages, (towards the device)
 * mapping the mirror, finalize. MIGRATE_TO_SYS counts the entries that
 * moved in cmd->cpages. */
static int dmirror_migrate(struct simmm_dmirror *dmirror, struct simmm_dmirror_cmd *cmd,
			   bool to_dev)
{
	struct simmm_dmirror_device *mdevice = dmirror->mdevice;
	simmm_sim *sim = mdevice->sim;
	struct simmm_mm *mm = dmirror->mm;
	uint64_t start = cmd->addr, end = start + (cmd->npages << mdevice->pshift), next;
	struct mig_bufs m;
	int ret;

	if (!simmm_mmget_not_zero(mm))
		return -EINVAL;
	ret = mig_bufs_init(sim, &m, pmd_pages(mdevice));
	if (ret)
		goto out_put;
	if (!to_dev)
		cmd->cpages = 0;
	ret = simmm_mmap_read_lock(mm);
	if (ret)
		goto out_free;
	for (uint64_t addr = start; addr < end; addr = next) {
		struct simmm_migrate_vma args = {0};
		struct dmirror_mig mg = {0};
		uint64_t vm_flags;

		ret = mig_chunk(dmirror, addr, end, &args.vma, &vm_flags, &next);
		if (ret)
			break;
		args.src = m.src;
		args.dst = m.dst;
		args.start = addr;
		args.end = next;
		args.pgmap_owner = mdevice;
		args.flags = SIMMM_MIGRATE_VMA_SELECT_COMPOUND |
			     (to_dev ? SIMMM_MIGRATE_VMA_SELECT_SYSTEM
			      : is_private(mdevice) ? SIMMM_MIGRATE_VMA_SELECT_DEVICE_PRIVATE
						    : SIMMM_MIGRATE_VMA_SELECT_DEVICE_COHERENT);
		mg = (struct dmirror_mig){.start = addr, .end = next,
					  .task = simmm_sched_current(sim)};
		mig_link(dmirror, &mg);
		if (to_dev)
			mig_wait_notifier(dmirror);
		ret = simmm_migrate_vma_setup(&args);
		if (ret) {
			simmm_mutex_lock(sim, &dmirror->mutex);
			mig_unlink_locked(dmirror, &mg);
			simmm_mutex_unlock(sim, &dmirror->mutex);
			break;
		}
		if (to_dev)
			dmirror_migrate_alloc_and_copy(&args, dmirror, vm_flags);
		else
			dmirror_devmem_fault_alloc_and_copy(&args, dmirror, mdevice);
		simmm_migrate_vma_pages(&args);
		if (to_dev) {
			dmirror_migrate_finalize_and_map(&args, dmirror, &mg);
		} else {
			simmm_mutex_lock(sim, &dmirror->mutex);
			mig_unlink_locked(dmirror, &mg);
			simmm_mutex_unlock(sim, &dmirror->mutex);
		}
		for (uint64_t i = 0; !to_dev && i < args.npages; i++)
			if ((args.src[i] & SIMMM_MIGRATE_PFN_VALID) &&
			    (args.src[i] & SIMMM_MIGRATE_PFN_MIGRATE))
				cmd->cpages += (args.src[i] & SIMMM_MIGRATE_PFN_COMPOUND)
						       ? pmd_pages(mdevice)
						       : 1;
		simmm_migrate_vma_finalize(&args);
	}
	simmm_mmap_read_unlock(mm);
out_free:
	mig_bufs_fini(sim, &m);
out_put:
	simmm_mmput(mm);
	return ret;
}

static int dmirror_migrate_to_device(struct simmm_dmirror *dmirror, struct simmm_dmirror_cmd *cmd)
{
	int ret = dmirror_migrate(dmirror, cmd, true);

	/* Return the migrated data for verification. */
	return ret ? ret : dmirror_read_back(dmirror, cmd);
}

/* Forget device page @spage's mirror entry at @vpn, in @dmirror and in the
 * open file that migrated it (if another one). @spage is collected by the
 * caller's migration (locked, referenced), so its owner stays allocated
 * across the sleep on @dmirror's mutex even if it is closed meanwhile. */
static void erase_mirrors(struct simmm_dmirror *dmirror, simmm_pfn_t spage, uint64_t vpn)
{
	simmm_sim *sim = dmirror->mdevice->sim;
	struct dchunk *c = page_to_chunk(sim, spage);
	struct simmm_dmirror *owner = c ? page_owner(c, spage) : NULL;

	simmm_mutex_lock(sim, &dmirror->mutex);
	dpt_erase(&dmirror->pt, vpn);
	simmm_mutex_unlock(sim, &dmirror->mutex);
	if (owner && owner != dmirror) {
		simmm_mutex_lock(sim, &owner->mutex);
		dpt_erase(&owner->pt, vpn);
		simmm_mutex_unlock(sim, &owner->mutex);
	}
}

/* dmirror_devmem_fault_alloc_and_copy(): system memory for each collected
 * device page of ours: a THP for a COMPOUND entry (a device THP), base
 * pages when that fails (migrate_vma_pages() then splits the device THP).
 * Erases the mirror entries when @dmirror is set (our own MIGRATE
 * invalidations are ignored by the notifier). 0 or SIMMM_VM_FAULT_OOM (the
 * remaining entries are left without dst). */
static unsigned dmirror_devmem_fault_alloc_and_copy(struct simmm_migrate_vma *args,
						    struct simmm_dmirror *dmirror,
						    struct simmm_dmirror_device *mdevice)
{
	simmm_sim *sim = mdevice->sim;
	uint64_t n = (args->end - args->start) >> mdevice->pshift;
	uint64_t vpn = args->start >> mdevice->pshift;

	for (uint64_t i = 0; i < n; i++)
		args->dst[i] = 0;
	for (uint64_t i = 0; i < n;) {
		simmm_pfn_t spage = simmm_migrate_pfn_to_page(args->src[i]), dpage = 0;
		uint64_t write = args->src[i] & SIMMM_MIGRATE_PFN_WRITE, nr = 1;
		bool huge = args->src[i] & SIMMM_MIGRATE_PFN_COMPOUND;

		if (!spage || !(args->src[i] & SIMMM_MIGRATE_PFN_MIGRATE) ||
		    !page_to_chunk(sim, spage)) {
			i++; /* not our memory (cannot happen: owner selected) */
			continue;
		}
		if (huge) {
			nr = pmd_pages(mdevice);
			dpage = (dmirror && fail_alloc_once(dmirror))
					? 0
					: sys_alloc_order_locked(sim, pmd_order(mdevice));
		}
		for (uint64_t k = 0; k < nr && i + k < n; k++) {
			simmm_pfn_t d = dpage ? dpage + k : 0;

			if (!dpage) {
				d = (!huge && dmirror && fail_alloc_once(dmirror)) ? 0
										   : sys_alloc_locked(sim);
				if (!d)
					return SIMMM_VM_FAULT_OOM;
				if (huge)
					mdevice->st.fallback_pages++;
			}
			if (dmirror)
				erase_mirrors(dmirror, spage + k, vpn + i + k);
			/* simmm's copy can fail (-ENOMEM for the contents): give
			 * the page back, the entry stays on the device. */
			if (simmm_copy_highpage(sim, d, backing_page(sim, spage + k))) {
				page_release_locked(sim, dpage ? dpage : d);
				return SIMMM_VM_FAULT_OOM;
			}
			if (!dpage)
				args->dst[i + k] = simmm_migrate_pfn(d) | write;
		}
		if (dpage)
			args->dst[i] = simmm_migrate_pfn(dpage) | write | SIMMM_MIGRATE_PFN_COMPOUND;
		i += nr;
	}
	return 0;
}


/* ->migrate_to_ram (dmirror_devmem_fault): bring the faulting page home; a
 * fault on a device THP's PMD entry (vmf->pmd) brings the whole folio
 * (order from the folio, SELECT_COMPOUND), one on a pte only its page
 * (the folio may be mapped partially: setup splits it). */
static unsigned dmirror_devmem_fault(struct simmm_vm_fault *vmf)
{
	simmm_sim *sim = simmm_mm_sim(vmf->mm);
	struct dchunk *c = page_to_chunk(sim, vmf->page);
	struct simmm_migrate_vma args = {0};
	uint64_t nr = 1, one_src = 0, one_dst = 0;
	struct simmm_dmirror_device *mdevice;
	struct mig_bufs m = {0};
	unsigned ret;

	if (!c)
		return SIMMM_VM_FAULT_SIGBUS;
	mdevice = c->mdevice;
	mdevice->st.to_ram++;
	if (vmf->pmd) {
		nr = pmd_pages(mdevice);
		if (mig_bufs_init(sim, &m, nr))
			return SIMMM_VM_FAULT_OOM;
		args.flags = SIMMM_MIGRATE_VMA_SELECT_COMPOUND;
	}
	args.vma = vmf->vma;
	args.start = vmf->address & ~((nr << mdevice->pshift) - 1);
	args.end = args.start + (nr << mdevice->pshift);
	args.src = m.src ? m.src : &one_src;
	args.dst = m.dst ? m.dst : &one_dst;
	args.pgmap_owner = mdevice;
	args.flags |= is_private(mdevice) ? SIMMM_MIGRATE_VMA_SELECT_DEVICE_PRIVATE
					  : SIMMM_MIGRATE_VMA_SELECT_DEVICE_COHERENT;
	args.fault_page = vmf->page;
	if (simmm_migrate_vma_setup(&args)) {
		ret = SIMMM_VM_FAULT_SIGBUS;
		goto out;
	}
	/* The open file that migrated the page (upstream: the backing page's
	 * zone_device_data, an unreferenced pointer that a close frees under
	 * this fault). Here the faulting page, which the fault holds, holds a
	 * reference on the file, so it stays valid across the sleeps of setup
	 * and of the copy below even if the file is closed meanwhile (a closed
	 * file is treated as gone: nobody mirrors the page any more, just
	 * copy). */
	ret = dmirror_devmem_fault_alloc_and_copy(&args, page_owner(c, vmf->page), mdevice);
	/* Unlike upstream, finish the migration on failure too, so the page
	 * is unlocked and its pte restored before the fault fails. */
	simmm_migrate_vma_pages(&args);
	simmm_migrate_vma_finalize(&args);
out:
	if (m.src)
		mig_bufs_fini(sim, &m);
	return ret;
}

static const struct simmm_dev_pagemap_ops dmirror_devmem_ops = {
	.folio_free = dmirror_devmem_free,
	.migrate_to_ram = dmirror_devmem_fault,
	.folio_split = dmirror_devmem_folio_split,
};

/* ---- exclusive access ------------------------------------------------------------- */

static int dmirror_check_atomic(struct simmm_dmirror *dmirror, uint64_t start, uint64_t end)
{
	unsigned shift = dmirror->mdevice->pshift;

	for (uint64_t vpn = start >> shift; vpn < (end >> shift); vpn++) {
		uint64_t e;

		if (!dpt_load(&dmirror->pt, vpn, &e) && dpt_tag(e) == DPT_TAG_ATOMIC)
			return -EPERM;
	}
	return 0;
}

static int dmirror_atomic_map(struct simmm_dmirror *dmirror, uint64_t addr, simmm_pfn_t page)
{
	simmm_sim *sim = dmirror->mdevice->sim;
	int ret;

	simmm_mutex_lock(sim, &dmirror->mutex);
	ret = dpt_store(&dmirror->pt, addr >> dmirror->mdevice->pshift,
			dpt_mk(page, DPT_TAG_ATOMIC));
	simmm_mutex_unlock(sim, &dmirror->mutex);
	return ret;
}

static int dmirror_exclusive(struct simmm_dmirror *dmirror, struct simmm_dmirror_cmd *cmd)
{
	struct simmm_mm *mm = dmirror->mm;
	simmm_sim *sim = dmirror->mdevice->sim;
	uint64_t start = cmd->addr, end = start + (cmd->npages << dmirror->mdevice->pshift);
	int ret;

	if (!simmm_mmget_not_zero(mm))
		return -EINVAL;
	ret = simmm_mmap_read_lock(mm);
	if (ret) {
		simmm_mmput(mm);
		return ret;
	}
	for (uint64_t addr = start; !ret && addr < end; addr += dmirror->mdevice->psize) {
		simmm_pfn_t page;

		ret = simmm_make_device_exclusive(mm, addr, NULL, &page);
		if (ret)
			break;
		ret = dmirror_atomic_map(dmirror, addr, page);
		simmm_unlock_page(sim, page);
		simmm_page_put(sim, page);
	}
	simmm_mmap_read_unlock(mm);
	simmm_mmput(mm);
	if (ret)
		return ret;
	/* Return the data for verification. */
	return dmirror_read_back(dmirror, cmd);
}

/* ---- snapshot ---------------------------------------------------------------------- */

static unsigned char dmirror_mkentry(struct simmm_dmirror *dmirror, uint64_t entry)
{
	struct simmm_dmirror_device *mdevice = dmirror->mdevice;
	simmm_sim *sim = mdevice->sim;
	const struct simmm_geometry *geo = simmm_sim_geometry(sim);
	simmm_pfn_t page;
	unsigned order = simmm_hmm_pfn_to_map_order(entry);
	unsigned char perm;

	if (entry & SIMMM_HMM_PFN_ERROR)
		return SIMMM_DMIRROR_PROT_ERROR;
	if (!(entry & SIMMM_HMM_PFN_VALID))
		return SIMMM_DMIRROR_PROT_NONE;
	page = simmm_hmm_pfn_to_pfn(entry);
	if (simmm_is_device_private_page(sim, page)) {
		struct simmm_dev_pagemap *pgmap = simmm_page_pgmap(sim, page);

		perm = (pgmap && pgmap->owner == mdevice) ? SIMMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL
							  : SIMMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE;
	} else if (simmm_is_device_coherent_page(sim, page)) {
		struct simmm_dev_pagemap *pgmap = simmm_page_pgmap(sim, page);

		perm = (pgmap && pgmap->owner == mdevice) ? SIMMM_DMIRROR_PROT_DEV_COHERENT_LOCAL
							  : SIMMM_DMIRROR_PROT_DEV_COHERENT_REMOTE;
	} else if (page == simmm_zero_pfn(sim)) {
		perm = SIMMM_DMIRROR_PROT_ZERO;
	} else {
		perm = SIMMM_DMIRROR_PROT_NONE;
	}
	perm |= (entry & SIMMM_HMM_PFN_WRITE) ? SIMMM_DMIRROR_PROT_WRITE : SIMMM_DMIRROR_PROT_READ;
	if (order && order + geo->page_shift == geo->level[SIMMM_LVL_PMD].shift)
		perm |= SIMMM_DMIRROR_PROT_PMD;
	else if (order && order + geo->page_shift == geo->level[SIMMM_LVL_PUD].shift)
		perm |= SIMMM_DMIRROR_PROT_PUD;
	return perm;
}

static bool dmirror_snapshot_invalidate(struct simmm_mmu_interval_notifier *mni,
					const struct simmm_mmu_notifier_range *range,
					uint64_t cur_seq)
{
	struct dmirror_interval *dmi = (struct dmirror_interval *)mni;
	struct simmm_dmirror *dmirror = dmi->dmirror;
	simmm_sim *sim = dmirror->mdevice->sim;

	if (simmm_mmu_notifier_range_blockable(range))
		simmm_mutex_lock(sim, &dmirror->mutex);
	else if (simmm_mutex_trylock(sim, &dmirror->mutex) != 1)
		return false;
	/* Any invalidation in the interval invalidates the whole snapshot. */
	simmm_mmu_interval_set_seq(mni, cur_seq);
	simmm_mutex_unlock(sim, &dmirror->mutex);
	return true;
}

static const struct simmm_mmu_interval_notifier_ops dmirror_mrn_ops = {
	.invalidate = dmirror_snapshot_invalidate,
};

static int dmirror_range_snapshot(struct simmm_dmirror *dmirror, struct simmm_hmm_range *range,
				  unsigned char *perm)
{
	struct simmm_mm *mm = dmirror->mm;
	simmm_sim *sim = dmirror->mdevice->sim;
	struct dmirror_interval notifier;
	uint64_t n;
	int ret;

	memset(&notifier, 0, sizeof(notifier));
	notifier.dmirror = dmirror;
	range->notifier = &notifier.notifier;
	ret = simmm_mmu_interval_notifier_insert(range->notifier, mm, range->start,
						 range->end - range->start, &dmirror_mrn_ops);
	if (ret)
		return ret;
	ret = dmirror_fault_and_lock(dmirror, range);
	if (ret)
		goto out;
	n = (range->end - range->start) >> dmirror->mdevice->pshift;
	for (uint64_t i = 0; i < n; i++)
		perm[i] = dmirror_mkentry(dmirror, range->hmm_pfns[i]);
	simmm_mutex_unlock(sim, &dmirror->mutex);
out:
	simmm_mmu_interval_notifier_remove(range->notifier);
	return ret;
}

static int dmirror_snapshot(struct simmm_dmirror *dmirror, struct simmm_dmirror_cmd *cmd)
{
	struct simmm_mm *mm = dmirror->mm;
	uint64_t psize = dmirror->mdevice->psize;
	uint64_t start = cmd->addr, end = start + (cmd->npages << dmirror->mdevice->pshift), next;
	uint64_t pfns[DMIRROR_FAULT_PAGES];
	unsigned char perm[DMIRROR_FAULT_PAGES];
	unsigned char *uptr = cmd->ptr;
	struct simmm_hmm_range range = {
		.hmm_pfns = pfns,
		.dev_private_owner = dmirror->mdevice,
	};
	int ret = 0;

	if (!simmm_mmget_not_zero(mm))
		return -EINVAL;
	for (uint64_t addr = start; addr < end; addr = next) {
		uint64_t n;

		next = (end - addr > DMIRROR_FAULT_PAGES * psize) ? addr + DMIRROR_FAULT_PAGES * psize
								   : end;
		range.start = addr;
		range.end = next;
		ret = dmirror_range_snapshot(dmirror, &range, perm);
		if (ret)
			break;
		n = (range.end - range.start) / psize;
		memcpy(uptr, perm, n);
		cmd->cpages += n;
		uptr += n;
	}
	simmm_mmput(mm);
	return ret;
}

/* ---- eviction ---------------------------------------------------------------------- */

/* dmirror_device_evict_chunk(): migrate every page of @c in use back to
 * system memory (migrate_device_range + copy + pages + finalize). */
static int dmirror_device_evict_chunk(struct dchunk *c)
{
	struct simmm_dmirror_device *mdevice = c->mdevice;
	simmm_sim *sim = mdevice->sim;
	struct mig_bufs m;
	int ret = mig_bufs_init(sim, &m, c->pgmap.nr_pages);

	if (ret)
		return ret;
	ret = simmm_migrate_device_range(sim, m.src, c->pgmap.start_pfn, m.n);
	if (ret)
		goto out;
	for (uint64_t i = 0; i < m.n; i++) {
		simmm_pfn_t spage = simmm_migrate_pfn_to_page(m.src[i]), dpage;
		uint64_t write = m.src[i] & SIMMM_MIGRATE_PFN_WRITE, nr = 1;

		if (!spage || !(m.src[i] & SIMMM_MIGRATE_PFN_MIGRATE))
			continue;
		/* A device THP: a system THP, else base pages (its split). */
		dpage = 0;
		if (m.src[i] & SIMMM_MIGRATE_PFN_COMPOUND) {
			nr = pmd_pages(mdevice);
			dpage = sys_alloc_order_locked(sim, pmd_order(mdevice));
		}
		for (uint64_t k = 0; k < nr && i + k < m.n; k++) {
			simmm_pfn_t d = dpage ? dpage + k : sys_alloc_locked(sim);

			if (!d)
				continue; /* stays on the device: the drain retries */
			if (simmm_copy_highpage(sim, d, backing_page(sim, spage + k))) {
				/* No memory for the copy: decline, keep the data. */
				page_release_locked(sim, dpage ? dpage : d);
				if (dpage) {
					dpage = 0;
					break;
				}
				continue;
			}
			if (!dpage) {
				m.dst[i + k] = simmm_migrate_pfn(d) | write;
				mdevice->st.evicted++;
			}
		}
		if (dpage) {
			m.dst[i] = simmm_migrate_pfn(dpage) | write | SIMMM_MIGRATE_PFN_COMPOUND;
			mdevice->st.evicted += nr;
		}
		i += nr - 1;
	}
	ret = simmm_migrate_device_pages(sim, m.src, m.dst, m.n);
	simmm_migrate_device_finalize(sim, m.src, m.dst, m.n);
out:
	mig_bufs_fini(sim, &m);
	return ret;
}

/* dmirror_remove_free_pages(): take the free pages of @c off the free
 * list (threaded through zone_device_data) so they are not handed out
 * again. Called with the device lock held. */
static void remove_free_from(struct dchunk *c, simmm_pfn_t *head);

static void dmirror_remove_free_pages(struct dchunk *c)
{
	remove_free_from(c, &c->mdevice->free_head);
	remove_free_from(c, &c->mdevice->free_huge);
}

static void remove_free_from(struct dchunk *c, simmm_pfn_t *head)
{
	struct simmm_dmirror_device *mdevice = c->mdevice;
	simmm_sim *sim = mdevice->sim;
	simmm_pfn_t prev = 0, cur = *head; /* pfn + 1; 0 = none */

	while (cur) {
		simmm_pfn_t pfn = cur - 1;
		simmm_pfn_t next = (simmm_pfn_t)(uintptr_t)simmm_zone_device_data(sim, pfn);

		if (pfn >= c->pgmap.start_pfn && pfn < c->pgmap.start_pfn + c->pgmap.nr_pages) {
			simmm_set_zone_device_data(sim, pfn, NULL);
			if (prev)
				simmm_set_zone_device_data(sim, prev - 1, (void *)(uintptr_t)next);
			else
				*head = next;
		} else {
			prev = cur;
		}
		cur = next;
	}
}

/*
 * Evict until no page of @c is handed out any more. One pass of
 * migrate_device_range() is not enough: it skips pages locked by someone
 * else (a CPU fault-back or MIGRATE_TO_SYS that may still fail and put the
 * page back), and a page a concurrent MIGRATE_TO_DEV took off the free list
 * before the chunk was marked is not mapped yet when the pass runs; it is
 * installed in the page table afterwards and nobody would free it, so
 * memunmap_pages() waited forever (fuzz_races' dmirror-release-vs-migrate-
 * deadlock). Upstream's dmirror_device_evict_chunk() allocates with
 * __GFP_NOFAIL and relies on the one pass; simmm's allocation and copy can
 * fail, so a page may also stay for that reason. In a task the drain sleeps
 * and evicts again (like a __GFP_NOFAIL allocation, it does not give up);
 * outside a task nothing else could make progress, so one pass is made and
 * memunmap_pages() reports what is left. No lock is held here.
 */
static void dmirror_device_drain_chunk(struct dchunk *c)
{
	struct simmm_dmirror_device *mdevice = c->mdevice;
	simmm_sim *sim = mdevice->sim;
	uint64_t out;

	for (;;) {
		dmirror_device_evict_chunk(c);
		simmm_spin_lock(sim, &mdevice->lock);
		out = c->nr_out;
		simmm_spin_unlock(sim, &mdevice->lock);
		if (!out || !simmm_sched_current(sim))
			return;
		simmm_sched_sleep(sim, 1);
	}
}

/* Take @c out of the chunk array and free it. Called with devmem_lock. */
static void dmirror_chunk_unlink(struct dchunk *c)
{
	struct simmm_dmirror_device *mdevice = c->mdevice;
	simmm_sim *sim = mdevice->sim;

	for (unsigned k = 0; k < mdevice->nchunks; k++) {
		if (mdevice->chunks[k] != c)
			continue;
		mdevice->chunks[k] = mdevice->chunks[--mdevice->nchunks];
		break;
	}
	simmm_spin_lock(sim, &mdevice->lock);
	mdevice->st.chunks--;
	simmm_spin_unlock(sim, &mdevice->lock);
	simmm__free(sim, SIMMM_ALLOC_META, c->pages, mdevice->chunk_pages * sizeof(*c->pages));
	simmm__free(sim, SIMMM_ALLOC_META, c, sizeof(*c));
	if (!mdevice->nchunks) {
		simmm__free(sim, SIMMM_ALLOC_META, mdevice->chunks,
			    mdevice->cap_chunks * sizeof(*mdevice->chunks));
		mdevice->chunks = NULL;
		mdevice->cap_chunks = 0;
	}
}

/*
 * dmirror_device_remove_chunks(): RELEASE / module unload. Upstream holds
 * devmem_lock across the eviction and memunmap_pages(), which waits for
 * every page of the chunk to be freed; a migration to the device that holds
 * device pages and needs devmem_lock for a new chunk then never finishes
 * (ABBA). Here the chunks are claimed and marked under the lock (no page of
 * them is handed out again), then drained and unregistered without it; a
 * chunk added meanwhile is not removed. A chunk that cannot be unregistered
 * (outside a task, pages still in use) stays marked for a later RELEASE.
 * Return: 0, or memunmap_pages()' error for such a chunk.
 */
static int dmirror_device_remove_chunks(struct simmm_dmirror_device *mdevice)
{
	simmm_sim *sim = mdevice->sim;
	struct dchunk *list = NULL, *c;
	int ret = 0;

	simmm_mutex_lock(sim, &mdevice->devmem_lock);
	for (unsigned k = 0; k < mdevice->nchunks; k++) {
		c = mdevice->chunks[k];
		if (c->claimed)
			continue; /* another RELEASE is draining it */
		c->claimed = true;
		simmm_spin_lock(sim, &mdevice->lock);
		c->remove = true;
		dmirror_remove_free_pages(c);
		simmm_spin_unlock(sim, &mdevice->lock);
		c->next_drain = list;
		list = c;
	}
	simmm_mutex_unlock(sim, &mdevice->devmem_lock);

	while ((c = list) != NULL) {
		int err;

		list = c->next_drain;
		dmirror_device_drain_chunk(c);
		err = simmm_memunmap_pages(&c->pgmap);
		simmm_mutex_lock(sim, &mdevice->devmem_lock);
		if (err) {
			c->claimed = false;
			ret = err;
		} else {
			dmirror_chunk_unlink(c);
		}
		simmm_mutex_unlock(sim, &mdevice->devmem_lock);
	}
	return ret;
}

/* ---- the public API ------------------------------------------------------------------ */

int simmm_dmirror_device_create(simmm_sim *sim, enum simmm_memtype type, uint64_t chunk_bytes,
				struct simmm_dmirror_device **out)
{
	struct simmm_dmirror_device *mdevice;
	uint64_t pmd, psize;

	if (!sim || !out || (type != SIMMM_MEM_DEVICE_PRIVATE && type != SIMMM_MEM_DEVICE_COHERENT))
		return -EINVAL;
	*out = NULL;
	psize = 1ULL << simmm_sim_geometry(sim)->page_shift;
	pmd = pmd_size(sim);
	if (!chunk_bytes)
		chunk_bytes = SIMMM_DMIRROR_DEFAULT_CHUNK_BYTES;
	chunk_bytes = (chunk_bytes + pmd - 1) & ~(pmd - 1);
	if (!chunk_bytes || chunk_bytes / psize > SIMMM_DEVMEM_MAX_PAGES)
		return -EINVAL;
	mdevice = simmm__zalloc(sim, SIMMM_ALLOC_META, sizeof(*mdevice));
	if (!mdevice)
		return -ENOMEM;
	mdevice->sim = sim;
	mdevice->type = type;
	mdevice->psize = psize;
	mdevice->pshift = simmm_sim_geometry(sim)->page_shift;
	mdevice->chunk_pages = chunk_bytes / psize;
	simmm_mutex_init(&mdevice->devmem_lock, "dmirror_devmem_lock");
	simmm_spin_lock_init(&mdevice->lock, "dmirror_lock");
	*out = mdevice;
	return 0;
}

int simmm_dmirror_device_destroy(struct simmm_dmirror_device *mdevice)
{
	int ret;

	if (!mdevice)
		return 0;
	if (mdevice->nopen)
		return -EBUSY;
	ret = dmirror_device_remove_chunks(mdevice);
	if (ret)
		return -EBUSY;
	/* The chunk array is freed with the last chunk; one grown for a chunk
	 * whose memremap_pages() then failed never held one. */
	simmm__free(mdevice->sim, SIMMM_ALLOC_META, mdevice->chunks,
		    mdevice->cap_chunks * sizeof(*mdevice->chunks));
	simmm__free(mdevice->sim, SIMMM_ALLOC_META, mdevice, sizeof(*mdevice));
	return 0;
}

int simmm_dmirror_device_stats(const struct simmm_dmirror_device *mdevice,
			       struct simmm_dmirror_stats *out)
{
	if (!mdevice || !out)
		return -EINVAL;
	*out = mdevice->st;
	return 0;
}

enum simmm_memtype simmm_dmirror_device_type(const struct simmm_dmirror_device *mdevice)
{
	return mdevice ? mdevice->type : SIMMM_MEM_SYSTEM;
}

int simmm_dmirror_open(struct simmm_dmirror_device *mdevice, struct simmm_mm *mm,
		       struct simmm_dmirror **out)
{
	struct simmm_dmirror *dmirror;
	int ret;

	if (!mdevice || !mm || !out || simmm_mm_sim(mm) != mdevice->sim || !simmm_mm_users(mm))
		return -EINVAL;
	*out = NULL;
	dmirror = simmm__zalloc(mdevice->sim, SIMMM_ALLOC_META, sizeof(*dmirror));
	if (!dmirror)
		return -ENOMEM;
	dmirror->mdevice = mdevice;
	dmirror->mm = mm;
	dmirror->refs = 1;
	simmm_mutex_init(&dmirror->mutex, "dmirror_mutex");
	dpt_init(&dmirror->pt, mdevice->sim);
	ret = simmm_mmu_interval_notifier_insert(&dmirror->notifier, mm, 0,
						 ~0ULL & ~(mdevice->psize - 1), &dmirror_min_ops);
	if (ret) {
		simmm__free(mdevice->sim, SIMMM_ALLOC_META, dmirror, sizeof(*dmirror));
		return ret;
	}
	dmirror->next_open = mdevice->opens;
	mdevice->opens = dmirror;
	mdevice->nopen++;
	*out = dmirror;
	return 0;
}

int simmm_dmirror_close(struct simmm_dmirror *dmirror)
{
	struct simmm_dmirror_device *mdevice;
	struct simmm_dmirror **link;
	int ret;

	if (!dmirror)
		return 0;
	mdevice = dmirror->mdevice;
	ret = simmm_mmu_interval_notifier_remove(&dmirror->notifier);
	for (link = &mdevice->opens; *link; link = &(*link)->next_open)
		if (*link == dmirror) {
			*link = dmirror->next_open;
			break;
		}
	mdevice->nopen--;
	/* Device pages this file migrated keep the struct until they are
	 * freed (a fault-back in flight may be using it); they see it closed. */
	dmirror->closed = true;
	dmirror_put(dmirror);
	return ret;
}

int simmm_dmirror_ioctl(struct simmm_dmirror *dmirror, unsigned command,
			struct simmm_dmirror_cmd *ucmd)
{
	struct simmm_dmirror_cmd cmd;
	unsigned shift;
	int ret;

	if (!dmirror || !ucmd)
		return -EINVAL;
	cmd = *ucmd;
	shift = dmirror->mdevice->pshift;
	if (cmd.addr & (dmirror->mdevice->psize - 1))
		return -EINVAL;
	if (cmd.npages > (~0ULL >> shift) || cmd.addr >= cmd.addr + (cmd.npages << shift))
		return -EINVAL;
	switch (command) {
	case SIMMM_DMIRROR_READ:
	case SIMMM_DMIRROR_WRITE:
	case SIMMM_DMIRROR_MIGRATE_TO_DEV:
	case SIMMM_DMIRROR_EXCLUSIVE:
	case SIMMM_DMIRROR_SNAPSHOT:
		if (!cmd.ptr)
			return -EINVAL;
		break;
	default:
		break;
	}
	cmd.cpages = 0;
	cmd.faults = 0;
	switch (command) {
	case SIMMM_DMIRROR_READ:
		ret = dmirror_rw(dmirror, &cmd, false);
		break;
	case SIMMM_DMIRROR_WRITE:
		ret = dmirror_rw(dmirror, &cmd, true);
		break;
	case SIMMM_DMIRROR_MIGRATE_TO_DEV:
		ret = dmirror_migrate_to_device(dmirror, &cmd);
		break;
	case SIMMM_DMIRROR_MIGRATE_TO_SYS:
		ret = dmirror_migrate(dmirror, &cmd, false);
		break;
	case SIMMM_DMIRROR_EXCLUSIVE:
		ret = dmirror_exclusive(dmirror, &cmd);
		break;
	case SIMMM_DMIRROR_CHECK_EXCLUSIVE:
		ret = dmirror_check_atomic(dmirror, cmd.addr, cmd.addr + (cmd.npages << shift));
		break;
	case SIMMM_DMIRROR_SNAPSHOT:
		ret = dmirror_snapshot(dmirror, &cmd);
		break;
	case SIMMM_DMIRROR_RELEASE:
		dmirror_device_remove_chunks(dmirror->mdevice);
		ret = 0;
		break;
	case SIMMM_DMIRROR_FLAGS:
		dmirror->flags = cmd.npages;
		ret = 0;
		break;
	default:
		return -EINVAL;
	}
	if (ret)
		return ret;
	*ucmd = cmd;
	return 0;
}

int simmm_dmirror_mmap(struct simmm_dmirror *dmirror, simmm_addr_t addr, uint64_t len, int prot,
		       int flags, simmm_addr_t *out)
{
	struct simmm_mm *mm;
	simmm_sim *sim;
	simmm_addr_t a;
	int ret;

	if (!dmirror || !out || !len)
		return -EINVAL;
	if ((flags & ~(SIMMM_MAP_SHARED | SIMMM_MAP_PRIVATE | SIMMM_MAP_FIXED)) ||
	    !(flags & (SIMMM_MAP_SHARED | SIMMM_MAP_PRIVATE)))
		return -EINVAL;
	mm = dmirror->mm;
	sim = dmirror->mdevice->sim;
	ret = simmm_mmap(mm, addr, len, prot, flags | SIMMM_MAP_MIXEDMAP, NULL, 0, &a);
	if (ret)
		return ret;
	len = (len + dmirror->mdevice->psize - 1) & ~(dmirror->mdevice->psize - 1);
	/* dmirror_fops_mmap(): vm_insert_page() a zeroed page per page. */
	ret = simmm_mmap_write_lock(mm);
	if (ret)
		goto err;
	for (uint64_t off = 0; !ret && off < len; off += dmirror->mdevice->psize) {
		simmm_pfn_t page;

		ret = simmm_page_alloc(sim, 0, &page);
		if (ret)
			break;
		ret = simmm_vm_insert_page(mm, a + off, page);
		simmm_page_put(sim, page);
	}
	simmm_mmap_write_unlock(mm);
	if (ret)
		goto err;
	*out = a;
	return 0;
err:
	simmm_munmap(mm, a, len);
	return ret;
}

int simmm_dmirror_mirrored(struct simmm_dmirror *dmirror, simmm_addr_t addr, simmm_pfn_t *pfn)
{
	uint64_t e;
	int ret;

	if (!dmirror)
		return -EINVAL;
	simmm_mutex_lock(dmirror->mdevice->sim, &dmirror->mutex);
	ret = dpt_load(&dmirror->pt, addr >> dmirror->mdevice->pshift, &e);
	simmm_mutex_unlock(dmirror->mdevice->sim, &dmirror->mutex);
	if (ret)
		return 0;
	if (pfn)
		*pfn = dpt_pfn(e);
	switch (dpt_tag(e)) {
	case DPT_TAG_WRITE:
		return 3;
	case DPT_TAG_ATOMIC:
		return 2;
	default:
		return 1;
	}
}
