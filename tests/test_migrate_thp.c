// SPDX-License-Identifier: MIT
/*
 * THP migration as a unit (6.19+: MIGRATE_VMA_SELECT_COMPOUND, PMD
 * migration entries, device-private PMD entries, ->folio_split()):
 *  - a PMD-mapped THP collected as one COMPOUND entry and moved to a device
 *    THP: exact src bits, the PMD migration entry between setup and
 *    finalize, refcounts, entire mapcounts, rss, the device-private PMD;
 *  - the split without SELECT_COMPOUND or over part of the PMD, and no
 *    split at all of a THP the flags or the owner do not select;
 *  - hmm_range_fault on a device THP (its owner: PMD map order; another
 *    owner: fault-back with vmf->pmd), CPU fault-back to a system THP or
 *    base pages, a declined fault-back, a driver without COMPOUND support;
 *  - compound sources with base-page destinations, both directions,
 *    through migrate_vma and eviction (->folio_split counted), and a
 *    split that cannot be done;
 *  - compound holes and the huge zero PMD with huge and small destinations;
 *  - a small source with a COMPOUND destination refused;
 *  - fork, partial munmap / mprotect, mremap, MADV_DONTNEED, soft-dirty,
 *    MADV_COLLAPSE on device THPs; a device THP mapped by a PMD in one mm
 *    and by ptes in another; GUP pins; eviction of a device THP mapped by
 *    two mms, and fork / munmap / mprotect / mremap during an eviction;
 *    coherent THPs; dmirror's device THPs;
 *  - races on the scheduler, each over RANDOM and PCT schedules
 *    (SIMMM_SEED / SIMMM_ITERS replay and widen): a reader against the
 *    migration of its THP (both directions), CPU faults on a pte-mapped
 *    device THP (with and without a migrating device), a CPU write into a
 *    compound hole, two devices on one THP, and an eviction against a
 *    reader, a fork and a partial munmap; and, on one replayed schedule,
 *    a CPU fault that must split a device THP, run at the unlock of
 *    another CPU fault on it.
 * Task bodies only record; the assertions run after simmm_sched_run().
 *
 * Most tests use a small raw driver ("tdrv") so every bit can be checked.
 * White-box: the entire mapcount and PG_locked come from struct simmm_page.
 */
#include "test_migrate_util.h"
#include "mm/mm_ext.h"

#define RW (SIMMM_PROT_READ | SIMMM_PROT_WRITE)
#define ANON (SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS)
#define SYS SIMMM_MIGRATE_VMA_SELECT_SYSTEM
#define DEVP SIMMM_MIGRATE_VMA_SELECT_DEVICE_PRIVATE
#define CMPD SIMMM_MIGRATE_VMA_SELECT_COMPOUND
#define MIG SIMMM_MIGRATE_PFN_MIGRATE
#define CMP SIMMM_MIGRATE_PFN_COMPOUND
#define WR SIMMM_MIGRATE_PFN_WRITE
#define V SIMMM_HMM_PFN_VALID
#define W SIMMM_HMM_PFN_WRITE
#define PMD_ORDER 9U
#define NR (1ULL << PMD_ORDER) /* pages per PMD (x86_64-4level) */
#define DEV_PMDS 4             /* device THPs per raw device */

/* ---- a raw driver -------------------------------------------------------------------- */

/* Device memory handed out from a per-frame "used" map: a THP takes a free
 * aligned PMD-sized block, a base page the highest free frame. */
struct tdrv {
	struct simmm_dev_pagemap pgmap; /* first: container_of by cast */
	simmm_sim *sim;
	uint8_t *used;          /* per frame: handed out */
	uint64_t frees;         /* ->folio_free() calls */
	uint64_t huge_frees;    /* ... of a PMD-order folio */
	uint64_t freed_pages;   /* frames given back */
	uint64_t split_calls;   /* ->folio_split() calls (one per new folio) */
	uint64_t split_folios;  /* ... for a first tail: folios split */
	uint64_t to_ram;        /* ->migrate_to_ram() calls */
	uint64_t to_ram_pmd;    /* ... with vmf->pmd */
	uint64_t to_ram_done;   /* ... that migrated something */
	uint64_t copy_errs;     /* failed copies (must stay 0) */
	simmm_pfn_t fault_page; /* the last vmf->page */
	bool huge;              /* COMPOUND entries get huge destinations */
	bool decline;           /* ->migrate_to_ram() leaves dst empty */
	bool no_compound;       /* ->migrate_to_ram() moves one page, even
				 * from a device PMD (a driver unaware of
				 * device THPs) */
	bool skip_holes;        /* tdrv_fill() gives holes no destination, as
				 * dmirror's fault path (for tests that only
				 * fault: a migration to the device would then
				 * populate nothing) */
	void (*to_ram_hook)(struct tdrv *d, void *arg); /* first in ->migrate_to_ram() */
	void *hook_arg;
};

static void tdrv_folio_free(struct simmm_dev_pagemap *pgmap, simmm_pfn_t pfn, unsigned order,
			    void *data)
{
	struct tdrv *d = (struct tdrv *)pgmap;

	(void)data;
	memset(d->used + (pfn - pgmap->start_pfn), 0, 1ULL << order);
	d->frees++;
	d->huge_frees += order == PMD_ORDER;
	d->freed_pages += 1ULL << order;
}

static void tdrv_folio_split(struct simmm_dev_pagemap *pgmap, simmm_pfn_t head, simmm_pfn_t tail)
{
	struct tdrv *d = (struct tdrv *)pgmap;

	d->split_calls++;
	d->split_folios += tail == head + 1;
}

/* A device folio (locked, one reference); 0 when none is free. */
static simmm_pfn_t tdrv_alloc(struct tdrv *d, bool huge)
{
	uint64_t n = d->pgmap.nr_pages;

	if (huge) {
		for (uint64_t b = 0; b + NR <= n; b += NR) {
			uint64_t k = 0;

			while (k < NR && !d->used[b + k])
				k++;
			if (k < NR)
				continue;
			if (simmm_zone_device_folio_init(d->sim, d->pgmap.start_pfn + b, PMD_ORDER))
				return 0;
			memset(d->used + b, 1, NR);
			return d->pgmap.start_pfn + b;
		}
		return 0;
	}
	for (uint64_t i = n; i-- > 0;) {
		if (d->used[i])
			continue;
		if (simmm_zone_device_page_init(d->sim, d->pgmap.start_pfn + i))
			return 0;
		d->used[i] = 1;
		return d->pgmap.start_pfn + i;
	}
	return 0;
}

static uint64_t tdrv_nfree(const struct tdrv *d)
{
	uint64_t n = 0;

	for (uint64_t i = 0; i < d->pgmap.nr_pages; i++)
		n += !d->used[i];
	return n;
}

/* A locked system folio of @order with one reference, 0 on failure. */
static simmm_pfn_t sys_alloc(simmm_sim *sim, unsigned order)
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

/* The destination of one source folio (or hole), with its contents. */
static simmm_pfn_t tdrv_dst(struct tdrv *d, simmm_pfn_t s, uint64_t k, bool huge, bool to_sys)
{
	simmm_pfn_t p = to_sys ? sys_alloc(d->sim, huge ? PMD_ORDER : 0) : tdrv_alloc(d, huge);
	int err = 0;

	if (p && s)
		err = huge ? simmm_folio_copy(d->sim, p, s) : simmm_copy_highpage(d->sim, p, s + k);
	d->copy_errs += err != 0;
	return p;
}

/* dst for every migrating entry: device memory of @d for holes and system
 * pages, system memory for device pages. A COMPOUND entry gets one huge
 * destination (dst COMPOUND) if d->huge, else NR base pages. */
static void tdrv_fill(struct tdrv *d, const uint64_t *src, uint64_t *dst, uint64_t n)
{
	for (uint64_t i = 0; i < n;) {
		simmm_pfn_t s = simmm_migrate_pfn_to_page(src[i]), p;
		bool cmp = src[i] & CMP, to_sys = s && simmm_is_zone_device_page(d->sim, s);
		uint64_t nr = cmp ? NR : 1, w = ((src[i] & WR) || !s) ? WR : 0;

		for (uint64_t k = 0; k < nr && i + k < n; k++)
			dst[i + k] = 0;
		if (!(src[i] & MIG) || (!s && d->skip_holes)) {
			i++;
			continue;
		}
		if (cmp && d->huge) {
			p = tdrv_dst(d, s, 0, true, to_sys);
			dst[i] = p ? simmm_migrate_pfn(p) | CMP | w : 0;
		} else {
			for (uint64_t k = 0; k < nr && i + k < n; k++) {
				p = tdrv_dst(d, s, k, false, to_sys);
				dst[i + k] = p ? simmm_migrate_pfn(p) | w : 0;
			}
		}
		i += nr;
	}
}

/* ->migrate_to_ram(): the faulting page, or with vmf->pmd the whole device
 * THP (SELECT_COMPOUND over its PMD), to system memory. */
static unsigned tdrv_to_ram(struct simmm_vm_fault *vmf)
{
	simmm_sim *sim = simmm_mm_sim(vmf->mm);
	struct tdrv *d = (struct tdrv *)simmm_page_pgmap(sim, vmf->page);
	bool pmd = vmf->pmd && !d->no_compound;
	uint64_t ps = 1ULL << simmm_sim_geometry(sim)->page_shift, nr = pmd ? NR : 1;
	uint64_t *src = calloc(nr, sizeof(*src)), *dst = calloc(nr, sizeof(*dst)), moved = 0;
	struct simmm_migrate_vma m = {
		.vma = vmf->vma, .src = src, .dst = dst, .start = vmf->address & ~(nr * ps - 1),
		.pgmap_owner = d, .flags = DEVP | (pmd ? CMPD : 0), .fault_page = vmf->page,
	};
	bool any_dst = false, any_page = false;
	unsigned ret = 0;

	if (d->to_ram_hook)
		d->to_ram_hook(d, d->hook_arg);
	m.end = m.start + nr * ps;
	d->to_ram++;
	d->to_ram_pmd += vmf->pmd;
	d->fault_page = vmf->page;
	if (simmm_migrate_vma_setup(&m)) {
		ret = SIMMM_VM_FAULT_SIGBUS;
		goto out;
	}
	if (!d->decline)
		tdrv_fill(d, src, dst, m.npages);
	for (uint64_t i = 0; i < m.npages; i++) {
		any_dst |= dst[i] != 0;
		any_page |= (src[i] & MIG) && simmm_migrate_pfn_to_page(src[i]);
	}
	simmm_migrate_vma_pages(&m);
	for (uint64_t i = 0; i < m.npages; i++)
		moved += (src[i] & MIG) && simmm_migrate_pfn_to_page(src[i]);
	d->to_ram_done += moved > 0;
	simmm_migrate_vma_finalize(&m);
	/* A transient failure (a reference held across a scheduling point):
	 * back off before the CPU refaults, as test_migrate_util does. */
	if (m.cpages && any_dst && !moved && simmm_sched_current(sim))
		simmm_sched_sleep(sim, 1);
	/* SIGBUS for a page that could not come home (a hole left alone
	 * with skip_holes is not one). */
	if ((d->skip_holes ? any_page : m.cpages != 0) && !any_dst)
		ret = SIMMM_VM_FAULT_SIGBUS;
out:
	free(src);
	free(dst);
	return ret;
}

static const struct simmm_dev_pagemap_ops tdrv_ops = {
	.folio_free = tdrv_folio_free,
	.migrate_to_ram = tdrv_to_ram,
	.folio_split = tdrv_folio_split,
};

static int tdrv_init(struct tdrv *d, simmm_sim *sim, enum simmm_memtype type, uint64_t npages)
{
	memset(d, 0, sizeof(*d));
	d->sim = sim;
	d->used = calloc(npages, 1);
	d->huge = true;
	d->pgmap.type = type;
	d->pgmap.ops = &tdrv_ops;
	d->pgmap.owner = d;
	return simmm_memremap_pages(sim, &d->pgmap, npages);
}

static void tdrv_fini(struct tdrv *d)
{
	TU_ASSERT_OK(simmm_memunmap_pages(&d->pgmap));
	assert_int_equal(d->copy_errs, 0);
	free(d->used);
}

/* ---- fixture and helpers ------------------------------------------------------------- */

static bool nop_invalidate(struct simmm_mmu_interval_notifier *sub,
			   const struct simmm_mmu_notifier_range *r, uint64_t cur_seq)
{
	(void)r;
	simmm_mmu_interval_set_seq(sub, cur_seq);
	return true;
}

static const struct simmm_mmu_interval_notifier_ops nop_ops = {.invalidate = nop_invalidate};

struct fx {
	simmm_sim *sim;
	struct simmm_mm *mm;
	struct tdrv dev;    /* DEVICE_PRIVATE */
	struct tdrv coh;    /* DEVICE_COHERENT */
	struct simmm_mmu_interval_notifier mn; /* the whole address space, for HMM */
	uint64_t ps, pmd;
	uint64_t *src, *dst;
};

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	const struct simmm_geometry *g;

	f->sim = tu_sim_new(NULL, 256ULL << 20, tu_seed());
	g = simmm_sim_geometry(f->sim);
	assert_int_equal(simmm_geometry_level_order(g, SIMMM_LVL_PMD), PMD_ORDER);
	f->ps = 1ULL << g->page_shift;
	f->pmd = NR * f->ps;
	TU_ASSERT_OK(simmm_mm_create(f->sim, &f->mm));
	TU_ASSERT_OK(tdrv_init(&f->dev, f->sim, SIMMM_MEM_DEVICE_PRIVATE, DEV_PMDS * NR));
	TU_ASSERT_OK(tdrv_init(&f->coh, f->sim, SIMMM_MEM_DEVICE_COHERENT, DEV_PMDS * NR));
	assert_int_equal(f->dev.pgmap.start_pfn % NR, 0);
	TU_ASSERT_OK(simmm_mmu_interval_notifier_insert(&f->mn, f->mm, 0, g->user_va_end - f->ps,
							&nop_ops));
	f->src = calloc(DEV_PMDS * NR, sizeof(*f->src));
	f->dst = calloc(DEV_PMDS * NR, sizeof(*f->dst));
	return f;
}

static void fx_free(struct fx *f)
{
	TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&f->mn));
	TU_ASSERT_OK(simmm_mmput(f->mm));
	TU_CHECK(f->sim);
	tdrv_fini(&f->dev);
	tdrv_fini(&f->coh);
	tu_sim_free(&f->sim);
	free(f->src);
	free(f->dst);
	free(f);
}

static struct simmm_translation tr(struct simmm_mm *mm, uint64_t addr)
{
	struct simmm_translation t;

	memset(&t, 0, sizeof(t));
	(void)simmm_pgtable_translate(simmm_mm_pgtable(mm), addr, &t);
	return t;
}

static struct simmm_page_info pinfo(simmm_sim *sim, simmm_pfn_t pfn)
{
	struct simmm_page_info pi;

	TU_ASSERT_OK(simmm_page_info(sim, pfn, &pi));
	return pi;
}

/* The folio's PMD mappings (kept in the first tail page). */
static int entire_mapcount(simmm_sim *sim, simmm_pfn_t head)
{
	return simmm__pfn_to_page(sim, head + 1)->u.pincount;
}

static bool page_locked(simmm_sim *sim, simmm_pfn_t pfn)
{
	return pinfo(sim, pfn).flags & PG_locked;
}

static int64_t rss(struct simmm_mm *mm)
{
	struct simmm_mm_stats st;

	TU_ASSERT_OK(simmm_mm_stats(mm, &st));
	return st.rss_anon;
}

static struct simmm_mm_stats mstats(struct simmm_mm *mm)
{
	struct simmm_mm_stats st;

	TU_ASSERT_OK(simmm_mm_stats(mm, &st));
	return st;
}

/* Does a device-private PMD entry map the device THP @head at @addr? */
static bool dev_pmd(struct simmm_mm *mm, uint64_t addr, simmm_pfn_t head)
{
	struct simmm_translation t = tr(mm, addr);

	return t.level == SIMMM_LVL_PMD && !t.present && simmm_is_device_private_entry(t.entry) &&
	       simmm_swp_offset_pfn(t.entry) == head;
}

/* A PMD-aligned anonymous range of @n PMDs (VM_HUGEPAGE if @huge). */
static uint64_t fx_region(struct fx *f, struct simmm_mm *mm, uint64_t n, bool huge)
{
	uint64_t len = n * f->pmd, al;
	simmm_addr_t a;

	TU_ASSERT_OK(simmm_mmap(mm, 0, len + f->pmd, RW, ANON, NULL, 0, &a));
	al = (a + f->pmd - 1) & ~(f->pmd - 1);
	if (al > a)
		TU_ASSERT_OK(simmm_munmap(mm, a, al - a));
	if (al + len < a + len + f->pmd)
		TU_ASSERT_OK(simmm_munmap(mm, al + len, a + len + f->pmd - (al + len)));
	if (huge)
		TU_ASSERT_OK(simmm_madvise(mm, al, len, SIMMM_MADV_HUGEPAGE));
	return al;
}

/* @n PMD-mapped THPs; page i holds byte (seed + i). */
static uint64_t fx_thp(struct fx *f, uint64_t n, int seed)
{
	uint64_t a = fx_region(f, f->mm, n, true);

	TU_ASSERT_OK(tu_fill(f->mm, a, n * NR, f->ps, seed));
	for (uint64_t k = 0; k < n; k++) {
		struct simmm_translation t = tr(f->mm, a + k * f->pmd);

		assert_int_equal(t.level, SIMMM_LVL_PMD);
		assert_true(t.present && t.write);
		assert_int_equal(pinfo(f->sim, t.pfn).order, PMD_ORDER);
	}
	TU_CHECK(f->sim);
	return a;
}

/* The head pfn mapped (present or as a device PMD) at the PMD of @addr. */
static simmm_pfn_t pmd_pfn(struct simmm_mm *mm, uint64_t addr)
{
	struct simmm_translation t = tr(mm, addr);

	assert_int_equal(t.level, SIMMM_LVL_PMD);
	return t.present ? simmm_pte_pfn(t.entry) : simmm_swp_offset_pfn(t.entry);
}

/* Page i of the device or system frames from @pfn holds byte (seed + i)? */
static void expect_frames(simmm_sim *sim, simmm_pfn_t pfn, uint64_t n, int seed)
{
	for (uint64_t i = 0; i < n; i += 37) {
		unsigned char c = 0xAA;

		TU_ASSERT_OK(simmm_page_read(sim, pfn + i, 0, &c, 1));
		assert_int_equal(c, (unsigned char)((seed + i) & 0xff));
	}
}

/* migrate_vma_setup() over [a, a + n pages) with the mmap lock taken (and
 * kept until fx_end()). */
static struct simmm_migrate_vma fx_setup(struct fx *f, struct simmm_mm *mm, void *owner,
					 uint64_t a, uint64_t n, uint64_t flags)
{
	struct simmm_migrate_vma m = {.src = f->src, .dst = f->dst, .start = a,
				      .end = a + n * f->ps, .pgmap_owner = owner, .flags = flags};

	TU_ASSERT_OK(simmm_mmap_read_lock(mm));
	m.vma = simmm_vma_lookup(mm, a);
	assert_non_null(m.vma);
	TU_ASSERT_OK(simmm_migrate_vma_setup(&m));
	assert_int_equal(m.npages, n);
	return m;
}

static void fx_end(struct simmm_mm *mm, struct simmm_migrate_vma *m)
{
	TU_ASSERT_OK(simmm_migrate_vma_finalize(m));
	TU_ASSERT_OK(simmm_mmap_read_unlock(mm));
}

/* Pages that migrated (a COMPOUND entry counts NR). */
static uint64_t moved_pages(const uint64_t *src, uint64_t n)
{
	uint64_t moved = 0;

	for (uint64_t i = 0; i < n; i++)
		if (src[i] & MIG)
			moved += (src[i] & CMP) ? NR : 1;
	return moved;
}

/* setup + the driver's fill + pages + finalize: pages migrated. */
static uint64_t fx_migrate(struct fx *f, struct tdrv *d, struct simmm_mm *mm, uint64_t a,
			   uint64_t n, uint64_t flags)
{
	struct simmm_migrate_vma m = fx_setup(f, mm, d, a, n, flags);
	uint64_t moved;

	tdrv_fill(d, f->src, f->dst, m.npages);
	TU_ASSERT_OK(simmm_migrate_vma_pages(&m));
	moved = moved_pages(f->src, m.npages);
	fx_end(mm, &m);
	return moved;
}

/* A THP with data (seed) on the device as a device THP: its head. */
static simmm_pfn_t fx_to_device(struct fx *f, uint64_t a)
{
	bool huge = f->dev.huge;
	simmm_pfn_t head;

	f->dev.huge = true;
	assert_int_equal(fx_migrate(f, &f->dev, f->mm, a, NR, SYS | CMPD), NR);
	f->dev.huge = huge;
	head = pmd_pfn(f->mm, a);
	assert_true(dev_pmd(f->mm, a, head));
	assert_true(simmm_is_device_private_page(f->sim, head));
	TU_CHECK(f->sim);
	return head;
}

/* hmm_range_fault over one PMD at @a (retrying -EBUSY). */
static int fx_hmm(struct fx *f, uint64_t a, void *owner, uint64_t flags, uint64_t *pfns)
{
	struct simmm_hmm_range r = {.notifier = &f->mn, .start = a, .end = a + f->pmd,
				    .hmm_pfns = pfns, .default_flags = flags,
				    .dev_private_owner = owner};
	int ret = -EBUSY;

	for (int tries = 0; tries < 8 && ret == -EBUSY; tries++) {
		memset(pfns, 0, NR * sizeof(*pfns));
		r.notifier_seq = simmm_mmu_interval_read_begin(&f->mn);
		TU_ASSERT_OK(simmm_mmap_read_lock(f->mm));
		ret = simmm_hmm_range_fault(&r);
		TU_ASSERT_OK(simmm_mmap_read_unlock(f->mm));
	}
	return ret;
}

/* ---- a THP collected and moved as a unit --------------------------------------------- */

static void thp_collected_as_unit(void **state)
{
	struct fx *f = fx_new();
	uint64_t a = fx_thp(f, 1, 1), b;
	simmm_pfn_t head = pmd_pfn(f->mm, a), d;
	struct simmm_translation t;
	struct simmm_migrate_vma m;

	(void)state;
	assert_int_equal(pinfo(f->sim, head).refcount, 1);
	assert_int_equal(entire_mapcount(f->sim, head), 1);
	assert_int_equal(rss(f->mm), NR);
	m = fx_setup(f, f->mm, &f->dev, a, NR, SYS | CMPD);
	assert_int_equal(f->src[0], simmm_migrate_pfn(head) | MIG | CMP | WR);
	for (uint64_t i = 1; i < NR; i++)
		assert_int_equal(f->src[i], 0);
	assert_int_equal(m.cpages, 1);
	/* Between setup and finalize: one PMD migration entry (writable). */
	for (uint64_t i = 0; i < NR; i += 73) {
		t = tr(f->mm, a + i * f->ps);
		assert_int_equal(t.level, SIMMM_LVL_PMD);
		assert_false(t.present);
		assert_true(simmm_is_writable_migration_entry(t.entry));
		assert_int_equal(simmm_swp_offset_pfn(t.entry), head);
	}
	/* Only the migration's reference; no mapping; locked. */
	assert_int_equal(pinfo(f->sim, head).refcount, 1);
	assert_int_equal(entire_mapcount(f->sim, head), 0);
	assert_true(page_locked(f->sim, head));
	assert_int_equal(rss(f->mm), NR);
	TU_CHECK(f->sim);
	d = tdrv_alloc(&f->dev, true);
	assert_int_not_equal(d, 0);
	TU_ASSERT_OK(simmm_folio_copy(f->sim, d, head));
	memset(f->dst, 0, NR * sizeof(*f->dst));
	f->dst[0] = simmm_migrate_pfn(d) | CMP | WR;
	TU_ASSERT_OK(simmm_migrate_vma_pages(&m));
	assert_int_equal(f->src[0], simmm_migrate_pfn(head) | MIG | CMP | WR);
	fx_end(f->mm, &m);
	/* A writable device-private PMD entry maps the device THP. */
	assert_true(dev_pmd(f->mm, a, d));
	assert_true(dev_pmd(f->mm, a + 511 * f->ps, d));
	assert_true(simmm_is_writable_device_private_entry(tr(f->mm, a).entry));
	assert_int_equal(pinfo(f->sim, d).order, PMD_ORDER);
	assert_int_equal(pinfo(f->sim, d).refcount, 1);
	assert_int_equal(entire_mapcount(f->sim, d), 1);
	assert_false(page_locked(f->sim, d));
	assert_true(pinfo(f->sim, head).free);
	assert_true(pinfo(f->sim, head + 100).free);
	assert_int_equal(rss(f->mm), NR);
	expect_frames(f->sim, d, NR, 1);
	TU_CHECK(f->sim);
	/* A read-only VMA: a readable device PMD. */
	b = fx_thp(f, 1, 2);
	TU_ASSERT_OK(simmm_mprotect(f->mm, b, f->pmd, SIMMM_PROT_READ));
	t = tr(f->mm, b);
	assert_int_equal(t.level, SIMMM_LVL_PMD);
	assert_false(t.write);
	m = fx_setup(f, f->mm, &f->dev, b, NR, SYS | CMPD);
	assert_int_equal(f->src[0], simmm_migrate_pfn(t.pfn) | MIG | CMP);
	assert_true(simmm_is_readable_exclusive_migration_entry(tr(f->mm, b).entry));
	tdrv_fill(&f->dev, f->src, f->dst, m.npages);
	TU_ASSERT_OK(simmm_migrate_vma_pages(&m));
	assert_int_equal(moved_pages(f->src, NR), NR);
	fx_end(f->mm, &m);
	d = pmd_pfn(f->mm, b);
	assert_true(dev_pmd(f->mm, b, d));
	assert_false(simmm_is_writable_device_private_entry(tr(f->mm, b).entry));
	expect_frames(f->sim, d, NR, 2);
	assert_int_equal(rss(f->mm), 2 * NR);
	TU_CHECK(f->sim);
	/* munmap zaps both device PMDs: each device THP is freed whole. */
	TU_ASSERT_OK(simmm_munmap(f->mm, a, f->pmd));
	TU_ASSERT_OK(simmm_munmap(f->mm, b, f->pmd));
	assert_int_equal(f->dev.huge_frees, 2);
	assert_int_equal(f->dev.split_calls, 0);
	assert_int_equal(tdrv_nfree(&f->dev), DEV_PMDS * NR);
	assert_int_equal(rss(f->mm), 0);
	assert_int_equal(f->dev.to_ram, 0);
	TU_CHECK(f->sim);
	fx_free(f);
}

/* ---- without SELECT_COMPOUND or over part of the PMD: split -------------------------- */

static void thp_split_without_compound_or_partial(void **state)
{
	struct fx *f = fx_new();
	uint64_t a = fx_thp(f, 1, 3), b, c;
	simmm_pfn_t head = pmd_pfn(f->mm, a);
	struct simmm_migrate_vma m;

	(void)state;
	/* No SELECT_COMPOUND: per-page entries, pte migration entries. */
	m = fx_setup(f, f->mm, &f->dev, a, NR, SYS);
	assert_int_equal(m.cpages, NR);
	for (uint64_t i = 0; i < NR; i++)
		assert_int_equal(f->src[i], simmm_migrate_pfn(head + i) | MIG | WR);
	for (uint64_t i = 0; i < NR; i += 51) {
		struct simmm_translation t = tr(f->mm, a + i * f->ps);

		assert_int_equal(t.level, SIMMM_LVL_PTE);
		assert_true(simmm_is_writable_migration_entry(t.entry));
		assert_int_equal(simmm_swp_offset_pfn(t.entry), head + i);
	}
	assert_int_equal(pinfo(f->sim, head).order, 0);
	TU_CHECK(f->sim);
	fx_end(f->mm, &m); /* nothing to move to: restored as ptes */
	assert_int_equal(tr(f->mm, a).level, SIMMM_LVL_PTE);
	assert_int_equal(tr(f->mm, a + 7 * f->ps).pfn, head + 7);
	assert_int_equal(tu_verify(f->mm, a, NR, f->ps, 3), 0);
	TU_CHECK(f->sim);
	/* SELECT_COMPOUND over half the PMD: split, per-page entries. */
	b = fx_thp(f, 1, 4);
	head = pmd_pfn(f->mm, b);
	f->dev.huge = true;
	m = fx_setup(f, f->mm, &f->dev, b, NR / 2, SYS | CMPD);
	assert_int_equal(m.cpages, NR / 2);
	for (uint64_t i = 0; i < NR / 2; i++)
		assert_int_equal(f->src[i], simmm_migrate_pfn(head + i) | MIG | WR);
	assert_int_equal(tr(f->mm, b + 300 * f->ps).level, SIMMM_LVL_PTE);
	assert_true(tr(f->mm, b + 300 * f->ps).present);
	tdrv_fill(&f->dev, f->src, f->dst, m.npages);
	TU_ASSERT_OK(simmm_migrate_vma_pages(&m));
	assert_int_equal(moved_pages(f->src, NR / 2), NR / 2);
	fx_end(f->mm, &m);
	for (uint64_t i = 0; i < NR; i += 17) {
		struct simmm_translation t = tr(f->mm, b + i * f->ps);

		assert_int_equal(t.level, SIMMM_LVL_PTE);
		assert_true(i < NR / 2 ? simmm_is_device_private_entry(t.entry) : t.present);
	}
	assert_int_equal(tdrv_nfree(&f->dev), DEV_PMDS * NR - NR / 2);
	assert_int_equal(rss(f->mm), 2 * NR);
	TU_CHECK(f->sim);
	assert_int_equal(tu_verify(f->mm, b, NR, f->ps, 4), 0);
	assert_int_equal(f->dev.to_ram, NR / 2);
	assert_int_equal(f->dev.to_ram_pmd, 0);
	TU_CHECK(f->sim);
	/* A range straddling two THPs covers neither PMD: both split. */
	c = fx_thp(f, 2, 5);
	m = fx_setup(f, f->mm, &f->dev, c + NR / 2 * f->ps, NR, SYS | CMPD);
	assert_int_equal(m.cpages, NR);
	for (uint64_t i = 0; i < NR; i++)
		assert_int_equal(f->src[i] & (CMP | MIG | SIMMM_MIGRATE_PFN_VALID),
				 MIG | SIMMM_MIGRATE_PFN_VALID);
	fx_end(f->mm, &m);
	assert_int_equal(tr(f->mm, c).level, SIMMM_LVL_PTE);
	assert_int_equal(tr(f->mm, c + f->pmd).level, SIMMM_LVL_PTE);
	assert_int_equal(tu_verify(f->mm, c, 2 * NR, f->ps, 5), 0);
	TU_CHECK(f->sim);
	fx_free(f);
}

/* ---- HMM on a device THP, fault-back with vmf->pmd ----------------------------------- */

static void hmm_device_thp_and_fault_back(void **state)
{
	struct fx *f = fx_new();
	uint64_t a = fx_thp(f, 1, 6), *pfns = calloc(NR, sizeof(*pfns));
	uint64_t order = (uint64_t)PMD_ORDER << SIMMM_HMM_PFN_ORDER_SHIFT;
	simmm_pfn_t d = fx_to_device(f, a), s;
	struct simmm_translation t;
	char c;

	(void)state;
	/* The owner sees its device THP: VALID|WRITE, map order PMD. */
	TU_ASSERT_OK(fx_hmm(f, a, &f->dev, SIMMM_HMM_PFN_REQ_FAULT, pfns));
	for (uint64_t i = 0; i < NR; i++) {
		assert_int_equal(pfns[i], (d + i) | V | W | order);
		assert_int_equal(simmm_hmm_pfn_to_map_order(pfns[i]), PMD_ORDER);
	}
	/* Another owner without REQ_FAULT: not valid, nothing moves. */
	TU_ASSERT_OK(fx_hmm(f, a, &f->coh, 0, pfns));
	for (uint64_t i = 0; i < NR; i++)
		assert_false(pfns[i] & V);
	assert_int_equal(f->dev.to_ram, 0);
	TU_CHECK(f->sim);
	/* Another owner with REQ_FAULT: migrate_to_ram with vmf->pmd and the
	 * head; a huge system destination is mapped by a PMD leaf. */
	TU_ASSERT_OK(fx_hmm(f, a, &f->coh, SIMMM_HMM_PFN_REQ_FAULT, pfns));
	assert_int_equal(f->dev.to_ram, 1);
	assert_int_equal(f->dev.to_ram_pmd, 1);
	assert_int_equal(f->dev.to_ram_done, 1);
	assert_int_equal(f->dev.fault_page, d);
	assert_int_equal(mstats(f->mm).devmem_faults, 1);
	t = tr(f->mm, a);
	assert_int_equal(t.level, SIMMM_LVL_PMD);
	assert_true(t.present && t.write);
	s = simmm_pte_pfn(t.entry);
	assert_false(simmm_is_zone_device_page(f->sim, s));
	assert_int_equal(pinfo(f->sim, s).order, PMD_ORDER);
	assert_int_equal(entire_mapcount(f->sim, s), 1);
	assert_int_equal(pinfo(f->sim, s).refcount, 1);
	assert_false(page_locked(f->sim, s));
	for (uint64_t i = 0; i < NR; i++)
		assert_int_equal(pfns[i], (s + i) | V | W | order);
	assert_int_equal(f->dev.huge_frees, 1);
	assert_int_equal(f->dev.split_calls, 0);
	assert_int_equal(tdrv_nfree(&f->dev), DEV_PMDS * NR);
	assert_int_equal(rss(f->mm), NR);
	TU_CHECK(f->sim);
	assert_int_equal(tu_verify(f->mm, a, NR, f->ps, 6), 0);
	assert_int_equal(f->dev.to_ram, 1);
	/* A CPU load on the device PMD does the same. */
	d = fx_to_device(f, a);
	TU_ASSERT_OK(simmm_mm_access(f->mm, a + 77 * f->ps, &c, 1, SIMMM_ACCESS_READ));
	assert_int_equal((unsigned char)c, 6 + 77);
	assert_int_equal(f->dev.to_ram_pmd, 2);
	assert_int_equal(f->dev.fault_page, d);
	assert_int_equal(mstats(f->mm).devmem_faults, 2); /* HMM's fault was one too */
	t = tr(f->mm, a);
	assert_int_equal(t.level, SIMMM_LVL_PMD);
	assert_true(t.present && t.write);
	assert_false(simmm_is_zone_device_page(f->sim, t.pfn));
	assert_int_equal(tu_verify(f->mm, a, NR, f->ps, 6), 0);
	assert_int_equal(f->dev.huge_frees, 2);
	TU_CHECK(f->sim);
	free(pfns);
	fx_free(f);
}

/* ---- compound sources, small destinations -------------------------------------------- */

static void compound_src_small_dst_to_device(void **state)
{
	struct fx *f = fx_new();
	uint64_t a = fx_thp(f, 1, 7);
	simmm_pfn_t head = pmd_pfn(f->mm, a);
	struct simmm_migrate_vma m;

	(void)state;
	f->dev.huge = false; /* the driver declines the THP: base pages */
	m = fx_setup(f, f->mm, &f->dev, a, NR, SYS | CMPD);
	assert_int_equal(f->src[0], simmm_migrate_pfn(head) | MIG | CMP | WR);
	tdrv_fill(&f->dev, f->src, f->dst, m.npages);
	for (uint64_t i = 0; i < NR; i++)
		assert_int_equal(f->dst[i] & (CMP | SIMMM_MIGRATE_PFN_VALID), SIMMM_MIGRATE_PFN_VALID);
	TU_ASSERT_OK(simmm_migrate_vma_pages(&m));
	/* The source was split: one entry per page, each migrating. */
	for (uint64_t i = 0; i < NR; i++)
		assert_int_equal(f->src[i], simmm_migrate_pfn(head + i) | MIG | WR);
	assert_int_equal(pinfo(f->sim, head).order, 0);
	assert_int_equal(pinfo(f->sim, head + 1).order, 0);
	assert_int_equal(pinfo(f->sim, head + 1).head_pfn, head + 1);
	fx_end(f->mm, &m);
	for (uint64_t i = 0; i < NR; i++) {
		struct simmm_translation t = tr(f->mm, a + i * f->ps);

		assert_int_equal(t.level, SIMMM_LVL_PTE);
		assert_true(simmm_is_writable_device_private_entry(t.entry));
		assert_int_equal(simmm_swp_offset_pfn(t.entry), simmm_migrate_pfn_to_page(f->dst[i]));
		assert_true(pinfo(f->sim, head + i).free);
	}
	expect_frames(f->sim, simmm_migrate_pfn_to_page(f->dst[0]), 1, 7);
	expect_frames(f->sim, simmm_migrate_pfn_to_page(f->dst[300]), 1, 7 + 300);
	assert_int_equal(f->dev.split_calls, 0); /* a system folio: no callback */
	assert_int_equal(rss(f->mm), NR);
	TU_CHECK(f->sim);
	assert_int_equal(tu_verify(f->mm, a, NR, f->ps, 7), 0);
	assert_int_equal(f->dev.to_ram, NR);
	assert_int_equal(f->dev.to_ram_pmd, 0);
	assert_int_equal(tdrv_nfree(&f->dev), DEV_PMDS * NR);
	TU_CHECK(f->sim);
	fx_free(f);
}

static void compound_src_small_dst_to_system(void **state)
{
	struct fx *f = fx_new();
	uint64_t a = fx_thp(f, 1, 8);
	simmm_pfn_t d = fx_to_device(f, a);
	struct simmm_migrate_vma m;

	(void)state;
	f->dev.huge = false;
	m = fx_setup(f, f->mm, &f->dev, a, NR, DEVP | CMPD);
	assert_int_equal(f->src[0], simmm_migrate_pfn(d) | MIG | CMP | WR);
	for (uint64_t i = 1; i < NR; i++)
		assert_int_equal(f->src[i], 0);
	assert_int_equal(m.cpages, 1);
	assert_true(simmm_is_writable_migration_entry(tr(f->mm, a).entry));
	assert_int_equal(tr(f->mm, a).level, SIMMM_LVL_PMD);
	tdrv_fill(&f->dev, f->src, f->dst, m.npages);
	TU_ASSERT_OK(simmm_migrate_vma_pages(&m));
	/* The device THP was split: ->folio_split once per new folio. */
	assert_int_equal(f->dev.split_calls, NR - 1);
	assert_int_equal(f->dev.split_folios, 1);
	for (uint64_t i = 0; i < NR; i++) {
		assert_int_equal(f->src[i], simmm_migrate_pfn(d + i) | MIG | WR);
		assert_true(page_locked(f->sim, d + i));
	}
	fx_end(f->mm, &m);
	for (uint64_t i = 0; i < NR; i++) {
		struct simmm_translation t = tr(f->mm, a + i * f->ps);

		assert_int_equal(t.level, SIMMM_LVL_PTE);
		assert_true(t.present && t.write);
		assert_int_equal(t.pfn, simmm_migrate_pfn_to_page(f->dst[i]));
	}
	assert_int_equal(f->dev.frees, NR); /* NR order-0 folios */
	assert_int_equal(f->dev.huge_frees, 0);
	assert_int_equal(tdrv_nfree(&f->dev), DEV_PMDS * NR);
	assert_int_equal(rss(f->mm), NR);
	assert_int_equal(f->dev.to_ram, 0);
	TU_CHECK(f->sim);
	assert_int_equal(tu_verify(f->mm, a, NR, f->ps, 8), 0);
	TU_CHECK(f->sim);
	fx_free(f);
}

/* Eviction (no VMA) of a device THP into base pages. */
static void compound_src_small_dst_eviction(void **state)
{
	struct fx *f = fx_new();
	uint64_t a = fx_thp(f, 1, 9), n = f->dev.pgmap.nr_pages, idx;
	simmm_pfn_t d = fx_to_device(f, a);

	(void)state;
	idx = d - f->dev.pgmap.start_pfn;
	f->dev.huge = false;
	TU_ASSERT_OK(simmm_migrate_device_range(f->sim, f->src, f->dev.pgmap.start_pfn, n));
	for (uint64_t i = 0; i < n; i++)
		assert_int_equal(f->src[i], i == idx ? (simmm_migrate_pfn(d) | MIG | CMP) : 0);
	assert_int_equal(tr(f->mm, a).level, SIMMM_LVL_PMD);
	assert_true(simmm_is_writable_migration_entry(tr(f->mm, a).entry));
	assert_int_equal(entire_mapcount(f->sim, d), 0);
	TU_CHECK(f->sim);
	tdrv_fill(&f->dev, f->src, f->dst, n);
	TU_ASSERT_OK(simmm_migrate_device_pages(f->sim, f->src, f->dst, n));
	assert_int_equal(f->dev.split_calls, NR - 1);
	assert_int_equal(f->dev.split_folios, 1);
	for (uint64_t i = 0; i < NR; i++)
		assert_int_equal(f->src[idx + i], simmm_migrate_pfn(d + i) | MIG);
	TU_ASSERT_OK(simmm_migrate_device_finalize(f->sim, f->src, f->dst, n));
	for (uint64_t i = 0; i < NR; i += 11) {
		struct simmm_translation t = tr(f->mm, a + i * f->ps);

		assert_int_equal(t.level, SIMMM_LVL_PTE);
		assert_true(t.present && t.write);
		assert_false(simmm_is_zone_device_page(f->sim, t.pfn));
	}
	assert_int_equal(tdrv_nfree(&f->dev), DEV_PMDS * NR);
	assert_int_equal(rss(f->mm), NR);
	TU_CHECK(f->sim);
	assert_int_equal(tu_verify(f->mm, a, NR, f->ps, 9), 0);
	assert_int_equal(f->dev.to_ram, 0);
	TU_CHECK(f->sim);
	fx_free(f);
}

/* ---- compound holes and the huge zero PMD -------------------------------------------- */

/* A hole or huge-zero PMD at @a collected as one COMPOUND entry. */
static struct simmm_migrate_vma hole_setup(struct fx *f, struct tdrv *d, uint64_t a)
{
	struct simmm_migrate_vma m = fx_setup(f, f->mm, d, a, NR, SYS | CMPD);

	assert_int_equal(f->src[0], MIG | CMP);
	for (uint64_t i = 1; i < NR; i++)
		assert_int_equal(f->src[i], 0);
	assert_int_equal(m.cpages, 1);
	return m;
}

static uint64_t huge_zero_region(struct fx *f)
{
	uint64_t a = fx_region(f, f->mm, 1, true);
	struct simmm_translation t;
	char c = 1;

	TU_ASSERT_OK(simmm_mm_access(f->mm, a + 5 * f->ps, &c, 1, SIMMM_ACCESS_READ));
	t = tr(f->mm, a);
	assert_int_equal(t.level, SIMMM_LVL_PMD);
	assert_true(simmm__is_huge_zero_pfn(f->sim, simmm_pte_pfn(t.entry)));
	return a;
}

static void compound_holes_and_huge_zero(void **state)
{
	struct fx *f = fx_new();
	uint64_t a = fx_region(f, f->mm, 1, true), b, c, z1, z2;
	int64_t r0;
	struct simmm_migrate_vma m;
	simmm_pfn_t d;
	unsigned char buf[2] = {1, 1};

	(void)state;
	/* Hole + huge private dst: a device-private PMD (VM_WRITE: writable). */
	m = hole_setup(f, &f->dev, a);
	tdrv_fill(&f->dev, f->src, f->dst, m.npages);
	assert_true(f->dst[0] & CMP);
	d = simmm_migrate_pfn_to_page(f->dst[0]);
	TU_ASSERT_OK(simmm_migrate_vma_pages(&m));
	assert_int_equal(f->src[0], MIG | CMP);
	fx_end(f->mm, &m);
	assert_true(dev_pmd(f->mm, a, d));
	assert_true(simmm_is_writable_device_private_entry(tr(f->mm, a).entry));
	assert_int_equal(pinfo(f->sim, d).refcount, 1);
	assert_int_equal(entire_mapcount(f->sim, d), 1);
	assert_false(page_locked(f->sim, d));
	assert_int_equal(rss(f->mm), NR);
	TU_CHECK(f->sim);
	/* A hole of two PMDs: one COMPOUND entry per PMD. */
	{
		uint64_t h = fx_region(f, f->mm, 2, true);

		m = fx_setup(f, f->mm, &f->dev, h, 2 * NR, SYS | CMPD);
		assert_int_equal(m.cpages, 2);
		for (uint64_t i = 0; i < 2 * NR; i++)
			assert_int_equal(f->src[i], i % NR ? 0 : MIG | CMP);
		fx_end(f->mm, &m);
		TU_ASSERT_OK(simmm_munmap(f->mm, h, 2 * f->pmd));
	}
	/* Hole + huge coherent dst: a present PMD leaf, read without faults. */
	b = fx_region(f, f->mm, 1, true);
	assert_int_equal(fx_migrate(f, &f->coh, f->mm, b, NR, SYS | CMPD), NR);
	d = pmd_pfn(f->mm, b);
	assert_true(tr(f->mm, b).present);
	assert_true(simmm_is_device_coherent_page(f->sim, d));
	assert_int_equal(pinfo(f->sim, d).order, PMD_ORDER);
	TU_ASSERT_OK(simmm_mm_access(f->mm, b + 9 * f->ps, buf, 1, SIMMM_ACCESS_READ));
	assert_int_equal(buf[0], 0);
	TU_ASSERT_OK(tu_fill(f->mm, b, NR, f->ps, 40)); /* writable in place */
	assert_int_equal(pmd_pfn(f->mm, b), d);
	assert_int_equal(mstats(f->mm).devmem_faults, 0);
	assert_int_equal(rss(f->mm), 2 * NR);
	TU_CHECK(f->sim);
	/* Hole + small dst: NR holes, NR device-private ptes. */
	c = fx_region(f, f->mm, 1, true);
	f->dev.huge = false;
	m = hole_setup(f, &f->dev, c);
	tdrv_fill(&f->dev, f->src, f->dst, m.npages);
	TU_ASSERT_OK(simmm_migrate_vma_pages(&m));
	for (uint64_t i = 0; i < NR; i++)
		assert_int_equal(f->src[i], MIG);
	fx_end(f->mm, &m);
	for (uint64_t i = 0; i < NR; i += 13) {
		struct simmm_translation t = tr(f->mm, c + i * f->ps);

		assert_int_equal(t.level, SIMMM_LVL_PTE);
		assert_int_equal(simmm_swp_offset_pfn(t.entry), simmm_migrate_pfn_to_page(f->dst[i]));
		assert_true(simmm_is_writable_device_private_entry(t.entry));
	}
	assert_int_equal(rss(f->mm), 3 * NR);
	TU_CHECK(f->sim);
	/* The huge zero PMD is a hole: needs SELECT_SYSTEM, then one
	 * COMPOUND entry; a huge dst replaces it by a device PMD. */
	z1 = huge_zero_region(f);
	r0 = rss(f->mm);
	m = fx_setup(f, f->mm, &f->dev, z1, NR, CMPD);
	assert_int_equal(m.cpages, 0);
	assert_int_equal(f->src[0], 0);
	fx_end(f->mm, &m);
	f->dev.huge = true;
	m = hole_setup(f, &f->dev, z1);
	assert_true(simmm__is_huge_zero_pfn(f->sim, simmm_pte_pfn(tr(f->mm, z1).entry)));
	tdrv_fill(&f->dev, f->src, f->dst, m.npages);
	d = simmm_migrate_pfn_to_page(f->dst[0]);
	TU_ASSERT_OK(simmm_migrate_vma_pages(&m));
	assert_int_equal(f->src[0], MIG | CMP);
	fx_end(f->mm, &m);
	assert_true(dev_pmd(f->mm, z1, d));
	assert_int_equal(rss(f->mm), r0 + (int64_t)NR);
	TU_CHECK(f->sim);
	/* Over part of the huge zero PMD: per-page holes, the PMD stays. */
	z2 = huge_zero_region(f);
	m = fx_setup(f, f->mm, &f->dev, z2 + 16 * f->ps, 16, SYS | CMPD);
	assert_int_equal(m.cpages, 16);
	for (uint64_t i = 0; i < 16; i++)
		assert_int_equal(f->src[i], MIG);
	fx_end(f->mm, &m);
	assert_true(simmm__is_huge_zero_pfn(f->sim, simmm_pte_pfn(tr(f->mm, z2).entry)));
	/* Huge zero PMD + small dst: split, NR device-private ptes. */
	f->dev.huge = false;
	m = hole_setup(f, &f->dev, z2);
	tdrv_fill(&f->dev, f->src, f->dst, m.npages);
	TU_ASSERT_OK(simmm_migrate_vma_pages(&m));
	for (uint64_t i = 0; i < NR; i++)
		assert_int_equal(f->src[i], MIG);
	fx_end(f->mm, &m);
	for (uint64_t i = 0; i < NR; i += 29) {
		struct simmm_translation t = tr(f->mm, z2 + i * f->ps);

		assert_int_equal(t.level, SIMMM_LVL_PTE);
		assert_true(simmm_is_device_private_entry(t.entry));
	}
	assert_int_equal(rss(f->mm), r0 + 2 * (int64_t)NR);
	TU_CHECK(f->sim);
	/* Everything reads back as zeroes (faulting the device pages home). */
	f->dev.huge = true;
	TU_ASSERT_OK(simmm_mm_access(f->mm, a + 3 * f->ps, buf, 2, SIMMM_ACCESS_READ));
	TU_ASSERT_OK(simmm_mm_access(f->mm, z1, buf + 1, 1, SIMMM_ACCESS_READ));
	assert_int_equal(buf[0] | buf[1], 0);
	TU_ASSERT_OK(simmm_mm_access(f->mm, c + 3 * f->ps, buf, 1, SIMMM_ACCESS_READ));
	TU_ASSERT_OK(simmm_mm_access(f->mm, z2 + 3 * f->ps, buf + 1, 1, SIMMM_ACCESS_READ));
	assert_int_equal(buf[0] | buf[1], 0);
	assert_int_equal(f->dev.to_ram_pmd, 2);
	TU_CHECK(f->sim);
	fx_free(f);
}

/* ---- small source, COMPOUND destination: refused ------------------------------------- */

static void small_src_compound_dst_refused(void **state)
{
	struct fx *f = fx_new();
	uint64_t a = fx_region(f, f->mm, 1, false), b = fx_region(f, f->mm, 1, false), c;
	struct simmm_migrate_vma m;
	simmm_pfn_t d, p0, sp;

	(void)state;
	TU_ASSERT_OK(tu_fill(f->mm, a, NR, f->ps, 10));
	assert_int_equal(tr(f->mm, a).level, SIMMM_LVL_PTE);
	p0 = tr(f->mm, a).pfn;
	m = fx_setup(f, f->mm, &f->dev, a, NR, SYS | CMPD);
	assert_int_equal(m.cpages, NR);
	for (uint64_t i = 0; i < NR; i++)
		assert_int_equal(f->src[i] & (CMP | MIG), MIG);
	d = tdrv_alloc(&f->dev, true);
	memset(f->dst, 0, NR * sizeof(*f->dst));
	f->dst[0] = simmm_migrate_pfn(d) | CMP | WR;
	TU_ASSERT_OK(simmm_migrate_vma_pages(&m));
	for (uint64_t i = 0; i < NR; i++)
		assert_false(f->src[i] & MIG);
	fx_end(f->mm, &m);
	assert_int_equal(tr(f->mm, a).pfn, p0);
	assert_true(tr(f->mm, a).present);
	assert_int_equal(f->dev.huge_frees, 1); /* the unused device THP */
	assert_int_equal(tdrv_nfree(&f->dev), DEV_PMDS * NR);
	assert_int_equal(pinfo(f->sim, p0).refcount, 1);
	assert_int_equal(pinfo(f->sim, p0).mapcount, 1);
	assert_int_equal(tu_verify(f->mm, a, NR, f->ps, 10), 0);
	TU_CHECK(f->sim);
	/* A small hole (no SELECT_COMPOUND) with a COMPOUND dst. */
	m = fx_setup(f, f->mm, &f->dev, b, NR, SYS);
	for (uint64_t i = 0; i < NR; i++)
		assert_int_equal(f->src[i], MIG);
	d = tdrv_alloc(&f->dev, true);
	memset(f->dst, 0, NR * sizeof(*f->dst));
	f->dst[0] = simmm_migrate_pfn(d) | CMP | WR;
	TU_ASSERT_OK(simmm_migrate_vma_pages(&m));
	for (uint64_t i = 0; i < NR; i++)
		assert_false(f->src[i] & MIG);
	fx_end(f->mm, &m);
	assert_int_equal(tr(f->mm, b).entry, 0);
	assert_int_equal(f->dev.huge_frees, 2);
	assert_int_equal(tdrv_nfree(&f->dev), DEV_PMDS * NR);
	assert_int_equal(rss(f->mm), NR);
	TU_CHECK(f->sim);
	/* A THP with a "COMPOUND" dst that is a base page: orders differ,
	 * refused; the PMD comes back. */
	c = fx_thp(f, 1, 11);
	sp = pmd_pfn(f->mm, c);
	m = fx_setup(f, f->mm, &f->dev, c, NR, SYS | CMPD);
	assert_true(f->src[0] & CMP);
	d = tdrv_alloc(&f->dev, false);
	memset(f->dst, 0, NR * sizeof(*f->dst));
	f->dst[0] = simmm_migrate_pfn(d) | CMP | WR;
	TU_ASSERT_OK(simmm_migrate_vma_pages(&m));
	assert_false(f->src[0] & MIG);
	fx_end(f->mm, &m);
	assert_int_equal(pmd_pfn(f->mm, c), sp);
	assert_true(tr(f->mm, c).present && tr(f->mm, c).write);
	assert_int_equal(entire_mapcount(f->sim, sp), 1);
	assert_int_equal(pinfo(f->sim, sp).refcount, 1);
	assert_int_equal(tdrv_nfree(&f->dev), DEV_PMDS * NR);
	assert_int_equal(tu_verify(f->mm, c, NR, f->ps, 11), 0);
	TU_CHECK(f->sim);
	fx_free(f);
}

/* ---- fork with a device THP ---------------------------------------------------------- */

static void fork_device_thp(void **state)
{
	struct fx *f = fx_new();
	uint64_t a = fx_thp(f, 1, 12), b = fx_thp(f, 1, 13);
	simmm_pfn_t da = fx_to_device(f, a), db = fx_to_device(f, b);
	struct simmm_mm *child;

	(void)state;
	TU_ASSERT_OK(simmm_fork(f->mm, &child));
	/* Both map both device THPs read-only; two entire mappings each. */
	for (int k = 0; k < 2; k++) {
		uint64_t x = k ? b : a;
		simmm_pfn_t d = k ? db : da;

		assert_true(dev_pmd(f->mm, x, d));
		assert_true(dev_pmd(child, x, d));
		assert_false(simmm_is_writable_device_private_entry(tr(f->mm, x).entry));
		assert_false(simmm_is_writable_device_private_entry(tr(child, x).entry));
		assert_int_equal(entire_mapcount(f->sim, d), 2);
		assert_int_equal(pinfo(f->sim, d).refcount, 2);
	}
	assert_int_equal(rss(child), 2 * NR);
	TU_CHECK(f->sim);
	/* munmap in the child: one mapping left. */
	TU_ASSERT_OK(simmm_munmap(child, b, f->pmd));
	assert_int_equal(entire_mapcount(f->sim, db), 1);
	assert_int_equal(pinfo(f->sim, db).refcount, 1);
	assert_true(dev_pmd(f->mm, b, db));
	assert_int_equal(rss(child), NR);
	TU_CHECK(f->sim);
	/* Write in the child: the device THP comes home (for both mms) and
	 * the child gets its own copy of the page. */
	TU_ASSERT_OK(tu_fill(child, a + 5 * f->ps, 1, f->ps, 100));
	assert_int_equal(f->dev.to_ram_pmd, 1);
	assert_int_equal(f->dev.fault_page, da);
	assert_false(simmm_is_device_private_entry(tr(f->mm, a).entry));
	TU_CHECK(f->sim);
	TU_ASSERT_OK(tu_fill(f->mm, a + 5 * f->ps, 1, f->ps, 200));
	TU_CHECK(f->sim);
	assert_int_equal(tu_verify(child, a + 5 * f->ps, 1, f->ps, 100), 0);
	assert_int_equal(tu_verify(f->mm, a + 5 * f->ps, 1, f->ps, 200), 0);
	assert_int_equal(tu_verify(child, a, 5, f->ps, 12), 0);
	assert_int_equal(tu_verify(f->mm, a + 6 * f->ps, NR - 6, f->ps, 12 + 6), 0);
	assert_int_equal(tu_verify(child, a + 6 * f->ps, NR - 6, f->ps, 12 + 6), 0);
	assert_int_not_equal(tr(child, a + 5 * f->ps).pfn, tr(f->mm, a + 5 * f->ps).pfn);
	assert_int_equal(f->dev.to_ram_pmd, 1);
	TU_CHECK(f->sim);
	/* The parent's last mapping of b: still on the device, still right. */
	assert_int_equal(tu_verify(f->mm, b, NR, f->ps, 13), 0);
	assert_int_equal(f->dev.to_ram_pmd, 2);
	TU_CHECK(f->sim);
	TU_ASSERT_OK(simmm_munmap(child, a, f->pmd));
	TU_CHECK(f->sim);
	assert_int_equal(tu_verify(f->mm, a + 6 * f->ps, NR - 6, f->ps, 12 + 6), 0);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_CHECK(f->sim);
	assert_int_equal(tdrv_nfree(&f->dev), DEV_PMDS * NR);
	fx_free(f);
}

/* ---- partial munmap / mprotect of a device THP --------------------------------------- */

/* Page i of [a, a + NR) is a device-private pte of page d + i? */
static bool dev_pte(struct fx *f, uint64_t a, simmm_pfn_t d, uint64_t i)
{
	struct simmm_translation t = tr(f->mm, a + i * f->ps);

	return t.level == SIMMM_LVL_PTE && simmm_is_device_private_entry(t.entry) &&
	       simmm_swp_offset_pfn(t.entry) == d + i;
}

static void partial_munmap_device_thp(void **state)
{
	struct fx *f = fx_new();
	uint64_t a = fx_thp(f, 1, 14);
	simmm_pfn_t d = fx_to_device(f, a);
	struct simmm_translation t;
	char c;

	(void)state;
	TU_ASSERT_OK(simmm_munmap(f->mm, a, 4 * f->ps));
	assert_int_equal(tr(f->mm, a).entry, 0);
	for (uint64_t i = 4; i < NR; i++)
		assert_true(dev_pte(f, a, d, i));
	assert_true(simmm_is_writable_device_private_entry(tr(f->mm, a + 9 * f->ps).entry));
	assert_int_equal(pinfo(f->sim, d + 4).mapcount, 1);
	assert_int_equal(entire_mapcount(f->sim, d + 4 - 4), 0);
	assert_int_equal(rss(f->mm), NR - 4);
	TU_CHECK(f->sim);
	/* A CPU fault on one pte: only that page comes home (the folio is
	 * split by the driver's setup; the fault's lock and reference move
	 * to the page's new folio). */
	TU_ASSERT_OK(simmm_mm_access(f->mm, a + 10 * f->ps, &c, 1, SIMMM_ACCESS_READ));
	assert_int_equal((unsigned char)c, 14 + 10);
	assert_int_equal(f->dev.to_ram, 1);
	assert_int_equal(f->dev.to_ram_pmd, 0);
	assert_int_equal(f->dev.fault_page, d + 10);
	assert_int_equal(f->dev.split_folios, 1);
	assert_int_equal(f->dev.split_calls, NR - 1);
	t = tr(f->mm, a + 10 * f->ps);
	assert_true(t.present && t.write);
	assert_false(simmm_is_zone_device_page(f->sim, t.pfn));
	for (uint64_t i = 0; i < NR; i++) {
		if (i != 10 && i >= 4)
			assert_true(dev_pte(f, a, d, i));
		if (i < 4 || i == 10)
			assert_true(pinfo(f->sim, d + i).free);
		else
			assert_int_equal(pinfo(f->sim, d + i).order, 0);
		assert_false(page_locked(f->sim, d + i));
	}
	assert_int_equal(tdrv_nfree(&f->dev), DEV_PMDS * NR - (NR - 5));
	assert_int_equal(rss(f->mm), NR - 4);
	TU_CHECK(f->sim);
	/* The rest faults back page by page, unsplit now. */
	assert_int_equal(tu_verify(f->mm, a + 4 * f->ps, NR - 4, f->ps, 14 + 4), 0);
	assert_int_equal(f->dev.to_ram, NR - 4);
	assert_int_equal(f->dev.split_folios, 1);
	assert_int_equal(tdrv_nfree(&f->dev), DEV_PMDS * NR);
	TU_CHECK(f->sim);
	fx_free(f);
}

static void partial_mprotect_device_thp(void **state)
{
	struct fx *f = fx_new();
	uint64_t a = fx_thp(f, 1, 15);
	simmm_pfn_t d = fx_to_device(f, a);
	char c = 7;

	(void)state;
	TU_ASSERT_OK(simmm_mprotect(f->mm, a + 8 * f->ps, 8 * f->ps, SIMMM_PROT_READ));
	for (uint64_t i = 0; i < NR; i++) {
		simmm_entry_t e = tr(f->mm, a + i * f->ps).entry;

		assert_true(dev_pte(f, a, d, i));
		assert_int_equal(simmm_is_writable_device_private_entry(e), i < 8 || i >= 16);
		assert_int_equal(pinfo(f->sim, d + i).mapcount, 1);
	}
	assert_int_equal(entire_mapcount(f->sim, d), 0);
	assert_int_equal(pinfo(f->sim, d).order, PMD_ORDER);
	assert_int_equal(rss(f->mm), NR);
	TU_CHECK(f->sim);
	/* A write fault on a read-only page: SIGSEGV (the VMA is read-only). */
	assert_int_not_equal(simmm_mm_access(f->mm, a + 9 * f->ps, &c, 1, SIMMM_ACCESS_WRITE), 0);
	TU_CHECK(f->sim);
	/* A read fault there brings that page home, read-only. */
	TU_ASSERT_OK(simmm_mm_access(f->mm, a + 9 * f->ps, &c, 1, SIMMM_ACCESS_READ));
	assert_int_equal((unsigned char)c, 15 + 9);
	assert_true(tr(f->mm, a + 9 * f->ps).present);
	assert_false(tr(f->mm, a + 9 * f->ps).write);
	assert_int_equal(f->dev.to_ram_pmd, 0);
	assert_int_equal(f->dev.fault_page, d + 9);
	assert_int_equal(f->dev.split_folios, 1);
	assert_true(dev_pte(f, a, d, 8));
	assert_true(dev_pte(f, a, d, 200));
	assert_false(page_locked(f->sim, d + 8));
	TU_CHECK(f->sim);
	/* A write fault on a writable pte page. */
	TU_ASSERT_OK(tu_fill(f->mm, a + 300 * f->ps, 1, f->ps, 99));
	assert_true(tr(f->mm, a + 300 * f->ps).present);
	assert_int_equal(tu_verify(f->mm, a + 300 * f->ps, 1, f->ps, 99), 0);
	assert_int_equal(tu_verify(f->mm, a, 300, f->ps, 15), 0);
	TU_CHECK(f->sim);
	fx_free(f);
}

/* ---- a pinned THP stays -------------------------------------------------------------- */

static void pinned_thp_not_collected(void **state)
{
	struct fx *f = fx_new();
	uint64_t a = fx_thp(f, 1, 16);
	simmm_pfn_t head = pmd_pfn(f->mm, a), pin, ref;
	simmm_entry_t before = tr(f->mm, a).entry;
	struct simmm_migrate_vma m;

	(void)state;
	assert_int_equal(simmm_pin_user_pages(f->mm, a + 3 * f->ps, 1,
					      SIMMM_FOLL_WRITE | SIMMM_FOLL_LONGTERM, &pin), 1);
	assert_int_equal(pin, head + 3);
	assert_int_equal(pinfo(f->sim, head).pincount, 1);
	assert_int_equal(tr(f->mm, a).entry, before);
	/* Exclusive and maybe DMA-pinned: not collected, as a unit... */
	m = fx_setup(f, f->mm, &f->dev, a, NR, SYS | CMPD);
	assert_int_equal(m.cpages, 0);
	for (uint64_t i = 0; i < NR; i++)
		assert_int_equal(f->src[i], 0);
	assert_int_equal(tr(f->mm, a).entry, before);
	assert_false(page_locked(f->sim, head));
	fx_end(f->mm, &m);
	/* ...nor split (split_folio refuses a pinned folio). */
	m = fx_setup(f, f->mm, &f->dev, a, NR, SYS);
	assert_int_equal(m.cpages, 0);
	for (uint64_t i = 0; i < NR; i++)
		assert_int_equal(f->src[i], 0);
	assert_int_equal(tr(f->mm, a).entry, before);
	fx_end(f->mm, &m);
	assert_int_equal(pinfo(f->sim, head).order, PMD_ORDER);
	assert_int_equal(entire_mapcount(f->sim, head), 1);
	TU_CHECK(f->sim);
	TU_ASSERT_OK(simmm_unpin_user_pages(f->sim, &pin, 1));
	/* A plain GUP reference: collected, then restored by the unmap step's
	 * reference check: the PMD comes back. */
	assert_int_equal(simmm_get_user_pages(f->mm, a, 1, 0, &ref), 1);
	m = fx_setup(f, f->mm, &f->dev, a, NR, SYS | CMPD);
	assert_int_equal(m.cpages, 0);
	assert_int_equal(f->src[0], 0);
	assert_int_equal(pmd_pfn(f->mm, a), head);
	assert_true(tr(f->mm, a).present && tr(f->mm, a).write);
	assert_int_equal(entire_mapcount(f->sim, head), 1);
	fx_end(f->mm, &m);
	TU_CHECK(f->sim);
	TU_ASSERT_OK(simmm_put_user_pages(f->sim, &ref, 1));
	assert_int_equal(pinfo(f->sim, head).refcount, 1);
	/* Released: it moves. */
	assert_int_equal(fx_migrate(f, &f->dev, f->mm, a, NR, SYS | CMPD), NR);
	assert_true(dev_pmd(f->mm, a, pmd_pfn(f->mm, a)));
	TU_CHECK(f->sim);
	/* GUP on the device THP faults it home (vmf->pmd) and pins that. */
	assert_int_equal(simmm_pin_user_pages(f->mm, a + 3 * f->ps, 1,
					      SIMMM_FOLL_WRITE | SIMMM_FOLL_LONGTERM, &pin), 1);
	assert_int_equal(f->dev.to_ram_pmd, 1);
	head = pmd_pfn(f->mm, a);
	assert_false(simmm_is_zone_device_page(f->sim, head));
	assert_int_equal(pin, head + 3);
	assert_int_equal(pinfo(f->sim, head).pincount, 1);
	TU_CHECK(f->sim);
	assert_int_equal(fx_migrate(f, &f->dev, f->mm, a, NR, SYS | CMPD), 0);
	TU_ASSERT_OK(simmm_unpin_user_pages(f->sim, &pin, 1));
	assert_int_equal(tu_verify(f->mm, a, NR, f->ps, 16), 0);
	TU_CHECK(f->sim);
	fx_free(f);
}

/* ---- eviction of a device THP mapped by two mms -------------------------------------- */

static void evict_device_thp_two_mms(void **state)
{
	struct fx *f = fx_new();
	uint64_t a = fx_thp(f, 1, 17), n = f->dev.pgmap.nr_pages, idx;
	simmm_pfn_t d = fx_to_device(f, a), s;
	struct simmm_mm *child;

	(void)state;
	TU_ASSERT_OK(simmm_fork(f->mm, &child));
	idx = d - f->dev.pgmap.start_pfn;
	/* Huge destination: a system THP mapped by a PMD in both. */
	TU_ASSERT_OK(simmm_migrate_device_range(f->sim, f->src, f->dev.pgmap.start_pfn, n));
	assert_int_equal(f->src[idx], simmm_migrate_pfn(d) | MIG | CMP);
	for (int k = 0; k < 2; k++) {
		struct simmm_translation t = tr(k ? child : f->mm, a);

		assert_int_equal(t.level, SIMMM_LVL_PMD);
		assert_true(simmm_is_readable_migration_entry(t.entry));
		assert_int_equal(simmm_swp_offset_pfn(t.entry), d);
	}
	assert_int_equal(entire_mapcount(f->sim, d), 0);
	assert_int_equal(pinfo(f->sim, d).refcount, 1);
	TU_CHECK(f->sim);
	f->dev.huge = true;
	tdrv_fill(&f->dev, f->src, f->dst, n);
	s = simmm_migrate_pfn_to_page(f->dst[idx]);
	TU_ASSERT_OK(simmm_migrate_device_pages(f->sim, f->src, f->dst, n));
	assert_int_equal(f->src[idx], simmm_migrate_pfn(d) | MIG | CMP);
	TU_ASSERT_OK(simmm_migrate_device_finalize(f->sim, f->src, f->dst, n));
	for (int k = 0; k < 2; k++) {
		struct simmm_translation t = tr(k ? child : f->mm, a);

		assert_int_equal(t.level, SIMMM_LVL_PMD);
		assert_true(t.present);
		assert_false(t.write);
		assert_int_equal(simmm_pte_pfn(t.entry), s);
	}
	assert_int_equal(entire_mapcount(f->sim, s), 2);
	assert_int_equal(pinfo(f->sim, s).refcount, 2);
	assert_int_equal(f->dev.huge_frees, 1);
	assert_int_equal(tdrv_nfree(&f->dev), DEV_PMDS * NR);
	TU_CHECK(f->sim);
	assert_int_equal(tu_verify(f->mm, a, NR, f->ps, 17), 0);
	assert_int_equal(tu_verify(child, a, NR, f->ps, 17), 0);
	/* The shared THP to the device again (both mappings migrate), then
	 * evicted into base pages: both mms get NR ptes. */
	f->dev.huge = true;
	assert_int_equal(fx_migrate(f, &f->dev, f->mm, a, NR, SYS | CMPD), NR);
	d = pmd_pfn(f->mm, a);
	assert_true(dev_pmd(f->mm, a, d));
	assert_true(dev_pmd(child, a, d));
	assert_int_equal(entire_mapcount(f->sim, d), 2);
	TU_CHECK(f->sim);
	idx = d - f->dev.pgmap.start_pfn;
	TU_ASSERT_OK(simmm_migrate_device_range(f->sim, f->src, f->dev.pgmap.start_pfn, n));
	assert_int_equal(f->src[idx], simmm_migrate_pfn(d) | MIG | CMP);
	f->dev.huge = false;
	tdrv_fill(&f->dev, f->src, f->dst, n);
	TU_ASSERT_OK(simmm_migrate_device_pages(f->sim, f->src, f->dst, n));
	assert_int_equal(f->dev.split_calls, NR - 1);
	TU_ASSERT_OK(simmm_migrate_device_finalize(f->sim, f->src, f->dst, n));
	for (uint64_t i = 0; i < NR; i += 31) {
		struct simmm_translation tp = tr(f->mm, a + i * f->ps), tc = tr(child, a + i * f->ps);

		assert_int_equal(tp.level, SIMMM_LVL_PTE);
		assert_int_equal(tc.level, SIMMM_LVL_PTE);
		assert_true(tp.present && tc.present);
		assert_int_equal(tp.pfn, tc.pfn);
		assert_int_equal(tp.pfn, simmm_migrate_pfn_to_page(f->dst[idx + i]));
		assert_int_equal(pinfo(f->sim, tp.pfn).mapcount, 2);
	}
	assert_int_equal(tdrv_nfree(&f->dev), DEV_PMDS * NR);
	TU_CHECK(f->sim);
	assert_int_equal(tu_verify(f->mm, a, NR, f->ps, 17), 0);
	assert_int_equal(tu_verify(child, a, NR, f->ps, 17), 0);
	TU_ASSERT_OK(tu_fill(child, a, 2, f->ps, 50)); /* COW */
	assert_int_equal(tu_verify(f->mm, a, 2, f->ps, 17), 0);
	assert_int_equal(f->dev.to_ram, 0);
	TU_CHECK(f->sim);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_CHECK(f->sim);
	fx_free(f);
}

/* ---- dmirror device THPs ------------------------------------------------------------- */

static void dmirror_device_thp(void **state)
{
	struct fx *f = fx_new();
	uint64_t a = fx_thp(f, 1, 18), b;
	unsigned char *buf = malloc(NR * f->ps), *snap = malloc(NR);
	struct simmm_dmirror_device *dev;
	struct simmm_dmirror *dm;
	struct simmm_dmirror_stats st;
	struct simmm_dmirror_cmd cmd = {.addr = a, .ptr = buf, .npages = NR};
	const unsigned char local = SIMMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL | SIMMM_DMIRROR_PROT_WRITE;

	(void)state;
	TU_ASSERT_OK(simmm_dmirror_device_create(f->sim, SIMMM_MEM_DEVICE_PRIVATE, 0, &dev));
	TU_ASSERT_OK(simmm_dmirror_open(dev, f->mm, &dm));
	TU_ASSERT_OK(simmm_dmirror_ioctl(dm, SIMMM_DMIRROR_MIGRATE_TO_DEV, &cmd));
	assert_int_equal(cmd.cpages, NR);
	TU_ASSERT_OK(simmm_dmirror_device_stats(dev, &st));
	assert_int_equal(st.huge_alloc, 1);
	assert_int_equal(st.fallback_pages, 0);
	assert_true(simmm_is_device_private_page(f->sim, pmd_pfn(f->mm, a)));
	assert_true(simmm_is_device_private_entry(tr(f->mm, a).entry));
	for (uint64_t i = 0; i < NR * f->ps; i += f->ps)
		assert_int_equal(buf[i], (unsigned char)(18 + i / f->ps));
	TU_CHECK(f->sim);
	cmd = (struct simmm_dmirror_cmd){.addr = a, .ptr = snap, .npages = NR};
	TU_ASSERT_OK(simmm_dmirror_ioctl(dm, SIMMM_DMIRROR_SNAPSHOT, &cmd));
	for (uint64_t i = 0; i < NR; i++)
		assert_int_equal(snap[i], local | SIMMM_DMIRROR_PROT_PMD);
	/* Back as a system THP. */
	cmd = (struct simmm_dmirror_cmd){.addr = a, .ptr = buf, .npages = NR};
	TU_ASSERT_OK(simmm_dmirror_ioctl(dm, SIMMM_DMIRROR_MIGRATE_TO_SYS, &cmd));
	assert_int_equal(cmd.cpages, NR);
	assert_true(tr(f->mm, a).present);
	assert_int_equal(tr(f->mm, a).level, SIMMM_LVL_PMD);
	TU_CHECK(f->sim);
	/* No device THP to be had: base pages (the source THP is split). */
	cmd = (struct simmm_dmirror_cmd){.npages = SIMMM_DMIRROR_FLAG_FAIL_ALLOC};
	TU_ASSERT_OK(simmm_dmirror_ioctl(dm, SIMMM_DMIRROR_FLAGS, &cmd));
	cmd = (struct simmm_dmirror_cmd){.addr = a, .ptr = buf, .npages = NR};
	TU_ASSERT_OK(simmm_dmirror_ioctl(dm, SIMMM_DMIRROR_MIGRATE_TO_DEV, &cmd));
	TU_ASSERT_OK(simmm_dmirror_device_stats(dev, &st));
	assert_int_equal(st.fallback_pages, NR);
	assert_int_equal(tr(f->mm, a).level, SIMMM_LVL_PTE);
	cmd = (struct simmm_dmirror_cmd){.addr = a, .ptr = snap, .npages = NR};
	TU_ASSERT_OK(simmm_dmirror_ioctl(dm, SIMMM_DMIRROR_SNAPSHOT, &cmd));
	for (uint64_t i = 0; i < NR; i++)
		assert_int_equal(snap[i], local);
	TU_CHECK(f->sim);
	assert_int_equal(tu_verify(f->mm, a, NR, f->ps, 18), 0);
	TU_CHECK(f->sim);
	/* Another device THP, evicted whole when the device goes away. */
	b = fx_thp(f, 1, 19);
	cmd = (struct simmm_dmirror_cmd){.addr = b, .ptr = buf, .npages = NR};
	TU_ASSERT_OK(simmm_dmirror_ioctl(dm, SIMMM_DMIRROR_MIGRATE_TO_DEV, &cmd));
	TU_ASSERT_OK(simmm_dmirror_device_stats(dev, &st));
	assert_int_equal(st.huge_alloc, 2);
	assert_true(simmm_is_device_private_entry(tr(f->mm, b).entry));
	TU_ASSERT_OK(simmm_dmirror_close(dm));
	TU_ASSERT_OK(simmm_dmirror_device_destroy(dev));
	assert_int_equal(tr(f->mm, b).level, SIMMM_LVL_PMD);
	assert_true(tr(f->mm, b).present);
	assert_int_equal(tu_verify(f->mm, b, NR, f->ps, 19), 0);
	TU_CHECK(f->sim);
	free(buf);
	free(snap);
	fx_free(f);
}

/* ---- more fault-back: declined, small destinations, write ---------------------------- */

static void device_pmd_fault_back_variants(void **state)
{
	struct fx *f = fx_new();
	uint64_t a = fx_thp(f, 1, 20), b = fx_thp(f, 1, 21);
	simmm_pfn_t d = fx_to_device(f, a), db;
	char c = 0;

	(void)state;
	/* The driver declines: SIGBUS, the device PMD is restored. */
	f->dev.decline = true;
	assert_int_not_equal(simmm_mm_access(f->mm, a + 3 * f->ps, &c, 1, SIMMM_ACCESS_READ), 0);
	f->dev.decline = false;
	assert_int_equal(f->dev.to_ram_pmd, 1);
	assert_int_equal(mstats(f->mm).sigbus, 1);
	assert_true(dev_pmd(f->mm, a, d));
	assert_true(simmm_is_writable_device_private_entry(tr(f->mm, a).entry));
	assert_int_equal(entire_mapcount(f->sim, d), 1);
	assert_int_equal(pinfo(f->sim, d).refcount, 1);
	assert_false(page_locked(f->sim, d));
	TU_CHECK(f->sim);
	/* No system THP: NR base pages, the device THP split (its fault
	 * page is the head: lock and reference stay with it). */
	f->dev.huge = false;
	TU_ASSERT_OK(simmm_mm_access(f->mm, a + 77 * f->ps, &c, 1, SIMMM_ACCESS_READ));
	assert_int_equal((unsigned char)c, 20 + 77);
	assert_int_equal(f->dev.to_ram_pmd, 2);
	assert_int_equal(f->dev.split_calls, NR - 1);
	assert_int_equal(f->dev.split_folios, 1);
	for (uint64_t i = 0; i < NR; i++) {
		struct simmm_translation t = tr(f->mm, a + i * f->ps);

		assert_int_equal(t.level, SIMMM_LVL_PTE);
		assert_true(t.present && t.write);
		assert_false(simmm_is_zone_device_page(f->sim, t.pfn));
		assert_true(pinfo(f->sim, d + i).free);
	}
	TU_CHECK(f->sim);
	assert_int_equal(tu_verify(f->mm, a, NR, f->ps, 20), 0);
	/* A write fault on a device PMD: back as a writable PMD. */
	f->dev.huge = true;
	db = fx_to_device(f, b);
	TU_ASSERT_OK(tu_fill(f->mm, b + 5 * f->ps, 1, f->ps, 77));
	assert_int_equal(f->dev.fault_page, db);
	assert_int_equal(tr(f->mm, b).level, SIMMM_LVL_PMD);
	assert_true(tr(f->mm, b).present && tr(f->mm, b).write);
	assert_int_equal(tu_verify(f->mm, b + 5 * f->ps, 1, f->ps, 77), 0);
	assert_int_equal(tu_verify(f->mm, b + 6 * f->ps, NR - 6, f->ps, 21 + 6), 0);
	assert_int_equal(tdrv_nfree(&f->dev), DEV_PMDS * NR);
	TU_CHECK(f->sim);
	fx_free(f);
}

/* ---- mprotect, mremap, MADV_DONTNEED of a device THP --------------------------------- */

static void device_thp_mprotect_mremap_dontneed(void **state)
{
	struct fx *f = fx_new();
	uint64_t a = fx_thp(f, 1, 22), b = fx_thp(f, 1, 23), c = fx_thp(f, 1, 24);
	uint64_t to = fx_region(f, f->mm, 1, true);
	simmm_pfn_t da = fx_to_device(f, a), db = fx_to_device(f, b), dc = fx_to_device(f, c);
	simmm_addr_t nb;

	(void)state;
	/* mprotect of the whole PMD: a readable device PMD, not split. */
	TU_ASSERT_OK(simmm_mprotect(f->mm, a, f->pmd, SIMMM_PROT_READ));
	assert_true(dev_pmd(f->mm, a, da));
	assert_false(simmm_is_writable_device_private_entry(tr(f->mm, a).entry));
	assert_int_equal(entire_mapcount(f->sim, da), 1);
	TU_CHECK(f->sim);
	TU_ASSERT_OK(simmm_mprotect(f->mm, a, f->pmd, RW));
	assert_true(dev_pmd(f->mm, a, da));
	TU_CHECK(f->sim);
	/* A write: home as a THP, then written. */
	TU_ASSERT_OK(tu_fill(f->mm, a + 9 * f->ps, 1, f->ps, 90));
	assert_int_equal(f->dev.to_ram_pmd, 1);
	assert_true(tr(f->mm, a).present && tr(f->mm, a).write);
	assert_int_equal(tu_verify(f->mm, a + 9 * f->ps, 1, f->ps, 90), 0);
	assert_int_equal(tu_verify(f->mm, a + 10 * f->ps, NR - 10, f->ps, 22 + 10), 0);
	TU_CHECK(f->sim);
	/* mremap moves the device PMD whole (move_huge_pmd(): is_swap_pmd()),
	 * as it was (no soft-dirty: not a migration entry), the entire
	 * mapcount and reference with it. */
	simmm_entry_t dev_e = tr(f->mm, b).entry;

	TU_ASSERT_OK(simmm_mremap(f->mm, b, f->pmd, f->pmd,
				  SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED, to, &nb));
	assert_int_equal(nb, to);
	assert_int_equal(tr(f->mm, b).entry, 0);
	assert_true(dev_pmd(f->mm, nb, db));
	assert_int_equal(tr(f->mm, nb).entry, dev_e);
	assert_int_equal(entire_mapcount(f->sim, db), 1);
	TU_CHECK(f->sim);
	/* Migrated back from the new address (found there by the collect
	 * and by rmap), then read. */
	assert_int_equal(fx_migrate(f, &f->dev, f->mm, nb, NR, DEVP | CMPD), NR);
	assert_int_equal(tu_verify(f->mm, nb, NR, f->ps, 23), 0);
	assert_int_equal(f->dev.to_ram, 1);
	assert_int_equal(tdrv_nfree(&f->dev), DEV_PMDS * NR - NR);
	TU_CHECK(f->sim);
	/* MADV_DONTNEED of part, then all of the third. */
	TU_ASSERT_OK(simmm_madvise(f->mm, c + 16 * f->ps, 16 * f->ps, SIMMM_MADV_DONTNEED));
	assert_true(dev_pte(f, c, dc, 15));
	assert_true(dev_pte(f, c, dc, 32));
	assert_int_equal(tr(f->mm, c + 16 * f->ps).entry, 0);
	TU_CHECK(f->sim);
	TU_ASSERT_OK(simmm_madvise(f->mm, c, f->pmd, SIMMM_MADV_DONTNEED));
	assert_int_equal(tdrv_nfree(&f->dev), DEV_PMDS * NR);
	assert_int_equal(rss(f->mm), 2 * NR);
	TU_CHECK(f->sim);
	fx_free(f);
}

/*
 * A system THP moved whole by mremap (move_huge_pmd()) migrates from its
 * new address as one COMPOUND entry: the collect finds the PMD there, and
 * rmap (through the moved VMA's vm_pgoff) turns it into the PMD migration
 * entry and that into the device PMD there. A CPU write brings it home,
 * still one PMD, at the new address.
 */
static void system_thp_mremap_then_migrate(void **state)
{
	struct fx *f = fx_new();
	uint64_t a = fx_thp(f, 1, 44), to = fx_region(f, f->mm, 1, true);
	simmm_pfn_t head = pmd_pfn(f->mm, a), d;
	simmm_addr_t na;

	(void)state;
	TU_ASSERT_OK(simmm_mremap(f->mm, a, f->pmd, f->pmd,
				  SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED, to, &na));
	assert_int_equal(na, to);
	assert_int_equal(pmd_pfn(f->mm, na), head);
	assert_true(tr(f->mm, na).present);
	assert_int_equal(entire_mapcount(f->sim, head), 1);
	TU_CHECK(f->sim);
	d = fx_to_device(f, na);
	expect_frames(f->sim, d, NR, 44);
	assert_int_equal(entire_mapcount(f->sim, d), 1);
	assert_int_equal(tr(f->mm, a).entry, 0);
	TU_CHECK(f->sim);
	TU_ASSERT_OK(tu_fill(f->mm, na + 3 * f->ps, 1, f->ps, 99));
	assert_int_equal(f->dev.to_ram_pmd, 1);
	assert_true(tr(f->mm, na).present);
	assert_int_equal(tr(f->mm, na).level, SIMMM_LVL_PMD);
	assert_int_equal(tu_verify(f->mm, na + 4 * f->ps, NR - 4, f->ps, 44 + 4), 0);
	assert_int_equal(tu_verify(f->mm, na + 3 * f->ps, 1, f->ps, 99), 0);
	TU_CHECK(f->sim);
	fx_free(f);
}

/* ---- the mm changes under an eviction ------------------------------------------------ */

/* migrate_device_range() over the device: the src of device THP @d. */
static uint64_t evict_begin(struct fx *f, simmm_pfn_t d)
{
	uint64_t idx = d - f->dev.pgmap.start_pfn;

	TU_ASSERT_OK(simmm_migrate_device_range(f->sim, f->src, f->dev.pgmap.start_pfn,
						f->dev.pgmap.nr_pages));
	assert_int_equal(f->src[idx], simmm_migrate_pfn(d) | MIG | CMP);
	return idx;
}

static void evict_end(struct fx *f)
{
	uint64_t n = f->dev.pgmap.nr_pages;

	tdrv_fill(&f->dev, f->src, f->dst, n);
	TU_ASSERT_OK(simmm_migrate_device_pages(f->sim, f->src, f->dst, n));
	TU_ASSERT_OK(simmm_migrate_device_finalize(f->sim, f->src, f->dst, n));
}

static void eviction_with_mm_changes(void **state)
{
	struct fx *f = fx_new();
	uint64_t a = fx_thp(f, 1, 25), b = fx_thp(f, 1, 26), c = fx_thp(f, 1, 27);
	uint64_t e = fx_thp(f, 1, 28), idx, n = f->dev.pgmap.nr_pages;
	struct simmm_mm *child;
	simmm_pfn_t d, s;

	(void)state;
	/* fork while the PMD is a migration entry: the child gets it too,
	 * and finalize maps the new THP in both. */
	d = fx_to_device(f, a);
	idx = evict_begin(f, d);
	TU_ASSERT_OK(simmm_fork(f->mm, &child));
	assert_true(simmm_is_readable_migration_entry(tr(child, a).entry));
	assert_int_equal(tr(child, a).level, SIMMM_LVL_PMD);
	assert_int_equal(rss(child), 4 * NR); /* b, c, e are THPs too */
	TU_CHECK(f->sim);
	f->dev.huge = true;
	evict_end(f);
	s = simmm_migrate_pfn_to_page(f->dst[idx]);
	assert_int_equal(pmd_pfn(f->mm, a), s);
	assert_int_equal(pmd_pfn(child, a), s);
	assert_true(tr(child, a).present);
	assert_int_equal(entire_mapcount(f->sim, s), 2);
	TU_CHECK(f->sim);
	assert_int_equal(tu_verify(child, a, NR, f->ps, 25), 0);
	assert_int_equal(tu_verify(f->mm, a, NR, f->ps, 25), 0);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_CHECK(f->sim);
	/* A CPU access outside a task cannot wait for the migration entry;
	 * mprotect makes it readable (change_huge_pmd on a swap PMD). */
	d = fx_to_device(f, a);
	idx = evict_begin(f, d);
	{
		char ch;

		assert_int_equal(simmm_mm_access(f->mm, a, &ch, 1, SIMMM_ACCESS_READ), -EDEADLK);
	}
	TU_ASSERT_OK(simmm_mprotect(f->mm, a, f->pmd, SIMMM_PROT_READ));
	assert_int_equal(tr(f->mm, a).level, SIMMM_LVL_PMD);
	assert_true(simmm_is_readable_migration_entry(tr(f->mm, a).entry) ||
		    simmm_is_readable_exclusive_migration_entry(tr(f->mm, a).entry));
	TU_CHECK(f->sim);
	evict_end(f);
	s = simmm_migrate_pfn_to_page(f->dst[idx]);
	assert_int_equal(pmd_pfn(f->mm, a), s);
	assert_true(tr(f->mm, a).present);
	assert_false(tr(f->mm, a).write);
	assert_int_equal(tu_verify(f->mm, a, NR, f->ps, 25), 0);
	TU_CHECK(f->sim);
	/* munmap while the PMD is a migration entry: the THPs are freed. */
	d = fx_to_device(f, b);
	idx = evict_begin(f, d);
	TU_ASSERT_OK(simmm_munmap(f->mm, b, f->pmd));
	TU_CHECK(f->sim);
	evict_end(f);
	assert_int_equal(tdrv_nfree(&f->dev), DEV_PMDS * NR);
	assert_true(pinfo(f->sim, simmm_migrate_pfn_to_page(f->dst[idx])).free);
	assert_int_equal(rss(f->mm), 3 * NR);
	TU_CHECK(f->sim);
	/* Partial munmap while the PMD is a migration entry: split into pte
	 * migration entries; the huge destination is mapped by ptes. */
	d = fx_to_device(f, c);
	idx = evict_begin(f, d);
	TU_ASSERT_OK(simmm_munmap(f->mm, c, 4 * f->ps));
	assert_int_equal(tr(f->mm, c + 4 * f->ps).level, SIMMM_LVL_PTE);
	assert_true(simmm_is_migration_entry(tr(f->mm, c + 4 * f->ps).entry));
	TU_CHECK(f->sim);
	evict_end(f);
	s = simmm_migrate_pfn_to_page(f->dst[idx]);
	for (uint64_t i = 4; i < NR; i += 19) {
		struct simmm_translation t = tr(f->mm, c + i * f->ps);

		assert_int_equal(t.level, SIMMM_LVL_PTE);
		assert_true(t.present);
		assert_int_equal(t.pfn, s + i);
	}
	assert_int_equal(rss(f->mm), 3 * NR - 4);
	TU_CHECK(f->sim);
	assert_int_equal(tu_verify(f->mm, c + 4 * f->ps, NR - 4, f->ps, 27 + 4), 0);
	assert_int_equal(tdrv_nfree(&f->dev), DEV_PMDS * NR);
	/* Base-page destinations, some missing: those pages stay on the
	 * device (split, restored as device-private ptes). */
	d = fx_to_device(f, e);
	idx = evict_begin(f, d);
	f->dev.huge = false;
	tdrv_fill(&f->dev, f->src, f->dst, n);
	for (uint64_t i = 100; i < 110; i++) {
		simmm_pfn_t p = simmm_migrate_pfn_to_page(f->dst[idx + i]);

		TU_ASSERT_OK(simmm_unlock_page(f->sim, p));
		simmm_page_put(f->sim, p);
		f->dst[idx + i] = 0;
	}
	TU_ASSERT_OK(simmm_migrate_device_pages(f->sim, f->src, f->dst, n));
	for (uint64_t i = 0; i < NR; i++)
		assert_int_equal(!!(f->src[idx + i] & MIG), i < 100 || i >= 110);
	TU_ASSERT_OK(simmm_migrate_device_finalize(f->sim, f->src, f->dst, n));
	for (uint64_t i = 95; i < 115; i++) {
		if (i >= 100 && i < 110) {
			assert_true(dev_pte(f, e, d, i));
			assert_int_equal(pinfo(f->sim, d + i).order, 0);
			assert_false(page_locked(f->sim, d + i));
		} else {
			assert_true(tr(f->mm, e + i * f->ps).present);
		}
	}
	assert_int_equal(tdrv_nfree(&f->dev), DEV_PMDS * NR - 10);
	TU_CHECK(f->sim);
	assert_int_equal(tu_verify(f->mm, e, NR, f->ps, 28), 0);
	assert_int_equal(f->dev.to_ram, 10);
	assert_int_equal(tdrv_nfree(&f->dev), DEV_PMDS * NR);
	TU_CHECK(f->sim);
	fx_free(f);
}

/* ---- a device THP mapped by a PMD in one mm and by ptes in another ------------------- */

static void device_thp_pmd_and_pte_mapped(void **state)
{
	struct fx *f = fx_new();
	uint64_t a = fx_thp(f, 1, 29), b = fx_thp(f, 1, 30);
	simmm_pfn_t da = fx_to_device(f, a), db = fx_to_device(f, b), s;
	struct simmm_mm *child;
	struct simmm_migrate_vma m;

	(void)state;
	TU_ASSERT_OK(simmm_fork(f->mm, &child));
	TU_ASSERT_OK(simmm_munmap(child, a, 4 * f->ps));
	TU_ASSERT_OK(simmm_munmap(child, b, 4 * f->ps));
	assert_int_equal(entire_mapcount(f->sim, da), 1);
	assert_int_equal(pinfo(f->sim, da + 4).mapcount, 1);
	assert_int_equal(tr(child, a + 4 * f->ps).level, SIMMM_LVL_PTE);
	TU_CHECK(f->sim);
	/* From the parent's PMD, a huge destination: the parent gets a PMD,
	 * the child ptes of the same THP. */
	f->dev.huge = true;
	m = fx_setup(f, f->mm, &f->dev, a, NR, DEVP | CMPD);
	assert_int_equal(f->src[0], simmm_migrate_pfn(da) | MIG | CMP);
	assert_true(simmm_is_migration_entry(tr(child, a + 4 * f->ps).entry));
	tdrv_fill(&f->dev, f->src, f->dst, m.npages);
	s = simmm_migrate_pfn_to_page(f->dst[0]);
	TU_ASSERT_OK(simmm_migrate_vma_pages(&m));
	assert_int_equal(f->src[0] & MIG, MIG);
	fx_end(f->mm, &m);
	assert_int_equal(pmd_pfn(f->mm, a), s);
	assert_int_equal(tr(child, a + 4 * f->ps).pfn, s + 4);
	assert_int_equal(entire_mapcount(f->sim, s), 1);
	assert_int_equal(pinfo(f->sim, s + 4).mapcount, 1);
	assert_int_equal(pinfo(f->sim, s + 3).mapcount, 0);
	TU_CHECK(f->sim);
	assert_int_equal(tu_verify(f->mm, a, NR, f->ps, 29), 0);
	assert_int_equal(tu_verify(child, a + 4 * f->ps, NR - 4, f->ps, 29 + 4), 0);
	/* The same with base-page destinations: the parent's PMD migration
	 * entry is split too, both get ptes. */
	f->dev.huge = false;
	m = fx_setup(f, f->mm, &f->dev, b, NR, DEVP | CMPD);
	assert_int_equal(f->src[0], simmm_migrate_pfn(db) | MIG | CMP);
	tdrv_fill(&f->dev, f->src, f->dst, m.npages);
	TU_ASSERT_OK(simmm_migrate_vma_pages(&m));
	assert_int_equal(f->dev.split_calls, NR - 1);
	fx_end(f->mm, &m);
	for (uint64_t i = 4; i < NR; i += 23) {
		struct simmm_translation tp = tr(f->mm, b + i * f->ps), tc = tr(child, b + i * f->ps);

		assert_int_equal(tp.level, SIMMM_LVL_PTE);
		assert_true(tp.present && tc.present);
		assert_int_equal(tp.pfn, tc.pfn);
		assert_int_equal(pinfo(f->sim, tp.pfn).mapcount, 2);
	}
	assert_int_equal(pinfo(f->sim, tr(f->mm, b).pfn).mapcount, 1);
	assert_int_equal(tdrv_nfree(&f->dev), DEV_PMDS * NR);
	TU_CHECK(f->sim);
	assert_int_equal(tu_verify(f->mm, b, NR, f->ps, 30), 0);
	assert_int_equal(tu_verify(child, b + 4 * f->ps, NR - 4, f->ps, 30 + 4), 0);
	/* The child's pte-mapped part of the parent's THP back to the device:
	 * the THP is split (in the parent too). */
	assert_int_equal(fx_migrate(f, &f->dev, child, a + 4 * f->ps, NR - 4, SYS), NR - 4);
	assert_int_equal(tr(f->mm, a).level, SIMMM_LVL_PTE);
	TU_CHECK(f->sim);
	assert_int_equal(tu_verify(child, a + 4 * f->ps, NR - 4, f->ps, 29 + 4), 0);
	assert_int_equal(tu_verify(f->mm, a, NR, f->ps, 29), 0);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_CHECK(f->sim);
	fx_free(f);
}

/* ---- a driver without device-THP support; coherent THPs ------------------------------ */

static void device_thp_without_compound_support(void **state)
{
	struct fx *f = fx_new();
	uint64_t a = fx_thp(f, 1, 31), b = fx_thp(f, 1, 32);
	simmm_pfn_t d = fx_to_device(f, a), db = fx_to_device(f, b);
	struct simmm_migrate_vma m;
	char c;

	(void)state;
	/* The fault on the device PMD migrates one page: setup (no
	 * SELECT_COMPOUND) splits the PMD and the folio it holds locked. */
	f->dev.no_compound = true;
	TU_ASSERT_OK(simmm_mm_access(f->mm, a + 77 * f->ps, &c, 1, SIMMM_ACCESS_READ));
	assert_int_equal((unsigned char)c, 31 + 77);
	assert_int_equal(f->dev.to_ram_pmd, 1);
	assert_int_equal(f->dev.fault_page, d);
	assert_int_equal(f->dev.split_folios, 1);
	assert_true(tr(f->mm, a + 77 * f->ps).present);
	for (uint64_t i = 0; i < NR; i++) {
		if (i != 77)
			assert_true(dev_pte(f, a, d, i));
		assert_false(page_locked(f->sim, d + i));
	}
	assert_int_equal(pinfo(f->sim, d).refcount, 1);
	assert_int_equal(pinfo(f->sim, d).order, 0);
	TU_CHECK(f->sim);
	assert_int_equal(tu_verify(f->mm, a, NR, f->ps, 31), 0);
	assert_int_equal(f->dev.to_ram, NR);
	TU_CHECK(f->sim);
	/* migrate_vma without SELECT_COMPOUND over a device PMD: split. */
	f->dev.no_compound = false;
	m = fx_setup(f, f->mm, &f->dev, b, NR, DEVP);
	assert_int_equal(m.cpages, NR);
	assert_int_equal(f->dev.split_folios, 2);
	for (uint64_t i = 0; i < NR; i++)
		assert_int_equal(f->src[i], simmm_migrate_pfn(db + i) | MIG | WR);
	fx_end(f->mm, &m); /* no dst: restored as device-private ptes */
	assert_true(dev_pte(f, b, db, 0));
	assert_true(dev_pte(f, b, db, 511));
	TU_CHECK(f->sim);
	assert_int_equal(tu_verify(f->mm, b, NR, f->ps, 32), 0);
	assert_int_equal(tdrv_nfree(&f->dev), DEV_PMDS * NR);
	TU_CHECK(f->sim);
	fx_free(f);
}

/* Tables deposited in @mm (one per anonymous PMD mapping). */
static uint64_t ndep(struct simmm_mm *mm)
{
	return simmm__pgtable_deposited_total(simmm_mm_pgtable(mm));
}

/*
 * Deposited page tables and device THPs [6.19]: a THP keeps its deposit
 * through its PMD migration entry, its device-private PMD and the
 * eviction back; migrate_vma_insert_huge_pmd_page() allocates one for a
 * new device THP (the entry aborts when it cannot), over the huge zero
 * PMD takes that one's instead (the new table is freed); munmap frees
 * them.
 */
static void device_thp_deposits(void **state)
{
	struct fx *f = fx_new();
	uint64_t a = fx_thp(f, 1, 30), h, h2, z, t0, idx, hits;
	struct simmm_fault_config once = {.mode = SIMMM_FAULT_NTH, .nth = 1};
	struct simmm_migrate_vma m;
	simmm_pfn_t d;

	(void)state;
	assert_int_equal(ndep(f->mm), 1);
	t0 = mstats(f->mm).pgtable_pages;
	d = fx_to_device(f, a);
	assert_int_equal(ndep(f->mm), 1);
	idx = evict_begin(f, d);
	assert_true(simmm_is_migration_entry(tr(f->mm, a).entry));
	assert_int_equal(ndep(f->mm), 1);
	TU_CHECK(f->sim);
	f->dev.huge = true;
	evict_end(f);
	assert_int_equal(pmd_pfn(f->mm, a), simmm_migrate_pfn_to_page(f->dst[idx]));
	assert_true(tr(f->mm, a).present);
	assert_int_equal(ndep(f->mm), 1);
	assert_int_equal(mstats(f->mm).pgtable_pages, t0);
	TU_CHECK(f->sim);
	/* A compound hole: the device THP comes with a new deposit. */
	h = fx_region(f, f->mm, 1, true);
	m = hole_setup(f, &f->dev, h);
	tdrv_fill(&f->dev, f->src, f->dst, m.npages);
	d = simmm_migrate_pfn_to_page(f->dst[0]);
	TU_ASSERT_OK(simmm_migrate_vma_pages(&m));
	assert_int_equal(f->src[0], MIG | CMP);
	fx_end(f->mm, &m);
	assert_true(dev_pmd(f->mm, h, d));
	assert_int_equal(ndep(f->mm), 2);
	TU_CHECK(f->sim);
	/* No table for the deposit: the entry aborts, the hole stays. */
	h2 = fx_region(f, f->mm, 1, true);
	m = hole_setup(f, &f->dev, h2);
	tdrv_fill(&f->dev, f->src, f->dst, m.npages);
	hits = simmm_fault_hits(f->sim);
	TU_ASSERT_OK(simmm_fault_inject(f->sim, &once));
	TU_ASSERT_OK(simmm_migrate_vma_pages(&m));
	TU_ASSERT_OK(simmm_fault_inject(f->sim, NULL));
	assert_int_equal(simmm_fault_hits(f->sim), hits + 1);
	assert_false(f->src[0] & MIG);
	fx_end(f->mm, &m);
	assert_int_equal(tr(f->mm, h2).entry, 0);
	assert_int_equal(ndep(f->mm), 2);
	TU_CHECK(f->sim);
	/* Over the huge zero PMD: its deposit stays, no table is added. */
	z = huge_zero_region(f);
	assert_int_equal(ndep(f->mm), 3);
	t0 = mstats(f->mm).pgtable_pages;
	m = hole_setup(f, &f->dev, z);
	tdrv_fill(&f->dev, f->src, f->dst, m.npages);
	d = simmm_migrate_pfn_to_page(f->dst[0]);
	TU_ASSERT_OK(simmm_migrate_vma_pages(&m));
	fx_end(f->mm, &m);
	assert_true(dev_pmd(f->mm, z, d));
	assert_int_equal(ndep(f->mm), 3);
	assert_int_equal(mstats(f->mm).pgtable_pages, t0);
	TU_CHECK(f->sim);
	/* munmap frees the device THPs' deposits. */
	TU_ASSERT_OK(simmm_munmap(f->mm, h, f->pmd));
	TU_ASSERT_OK(simmm_munmap(f->mm, z, f->pmd));
	assert_int_equal(ndep(f->mm), 1);
	TU_CHECK(f->sim);
	fx_free(f);
}

static void coherent_thp(void **state)
{
	struct fx *f = fx_new();
	uint64_t a = fx_thp(f, 1, 33), b = fx_thp(f, 1, 34), e = fx_thp(f, 1, 35), idx;
	uint64_t n = f->coh.pgmap.nr_pages;
	simmm_pfn_t d, s;
	struct simmm_migrate_vma m;
	struct simmm_mm *child;

	(void)state;
	/* To coherent memory: a present PMD leaf the CPU uses directly. */
	assert_int_equal(fx_migrate(f, &f->coh, f->mm, a, NR, SYS | CMPD), NR);
	d = pmd_pfn(f->mm, a);
	assert_true(simmm_is_device_coherent_page(f->sim, d));
	assert_true(tr(f->mm, a).present && tr(f->mm, a).write);
	assert_int_equal(entire_mapcount(f->sim, d), 1);
	assert_int_equal(tu_verify(f->mm, a, NR, f->ps, 33), 0);
	assert_int_equal(mstats(f->mm).devmem_faults, 0);
	TU_CHECK(f->sim);
	/* Back with SELECT_DEVICE_COHERENT | COMPOUND, as a unit. */
	m = fx_setup(f, f->mm, &f->coh, a, NR, SIMMM_MIGRATE_VMA_SELECT_DEVICE_COHERENT | CMPD);
	assert_int_equal(f->src[0], simmm_migrate_pfn(d) | MIG | CMP | WR);
	assert_true(simmm_is_writable_migration_entry(tr(f->mm, a).entry));
	tdrv_fill(&f->coh, f->src, f->dst, m.npages);
	s = simmm_migrate_pfn_to_page(f->dst[0]);
	TU_ASSERT_OK(simmm_migrate_vma_pages(&m));
	fx_end(f->mm, &m);
	assert_int_equal(pmd_pfn(f->mm, a), s);
	assert_false(simmm_is_zone_device_page(f->sim, s));
	assert_int_equal(f->coh.huge_frees, 1);
	assert_int_equal(tu_verify(f->mm, a, NR, f->ps, 33), 0);
	TU_CHECK(f->sim);
	/* A coherent THP into base pages: split, ->folio_split called. */
	assert_int_equal(fx_migrate(f, &f->coh, f->mm, b, NR, SYS | CMPD), NR);
	f->coh.huge = false;
	assert_int_equal(fx_migrate(f, &f->coh, f->mm, b, NR,
				    SIMMM_MIGRATE_VMA_SELECT_DEVICE_COHERENT | CMPD), NR);
	assert_int_equal(f->coh.split_calls, NR - 1);
	assert_int_equal(tr(f->mm, b).level, SIMMM_LVL_PTE);
	assert_false(simmm_is_zone_device_page(f->sim, tr(f->mm, b).pfn));
	assert_int_equal(tu_verify(f->mm, b, NR, f->ps, 34), 0);
	TU_CHECK(f->sim);
	/* fork shares the coherent THP; eviction moves it for both. */
	f->coh.huge = true;
	assert_int_equal(fx_migrate(f, &f->coh, f->mm, e, NR, SYS | CMPD), NR);
	d = pmd_pfn(f->mm, e);
	TU_ASSERT_OK(simmm_fork(f->mm, &child));
	assert_int_equal(pmd_pfn(child, e), d);
	assert_int_equal(entire_mapcount(f->sim, d), 2);
	TU_CHECK(f->sim);
	idx = d - f->coh.pgmap.start_pfn;
	TU_ASSERT_OK(simmm_migrate_device_range(f->sim, f->src, f->coh.pgmap.start_pfn, n));
	assert_int_equal(f->src[idx], simmm_migrate_pfn(d) | MIG | CMP);
	assert_true(simmm_is_migration_entry(tr(child, e).entry));
	tdrv_fill(&f->coh, f->src, f->dst, n);
	s = simmm_migrate_pfn_to_page(f->dst[idx]);
	TU_ASSERT_OK(simmm_migrate_device_pages(f->sim, f->src, f->dst, n));
	TU_ASSERT_OK(simmm_migrate_device_finalize(f->sim, f->src, f->dst, n));
	assert_int_equal(pmd_pfn(f->mm, e), s);
	assert_int_equal(pmd_pfn(child, e), s);
	assert_int_equal(entire_mapcount(f->sim, s), 2);
	assert_int_equal(tdrv_nfree(&f->coh), DEV_PMDS * NR);
	TU_CHECK(f->sim);
	TU_ASSERT_OK(tu_fill(child, e, 1, f->ps, 70)); /* COW */
	assert_int_equal(tu_verify(f->mm, e, NR, f->ps, 35), 0);
	assert_int_equal(tu_verify(child, e, 1, f->ps, 70), 0);
	TU_ASSERT_OK(simmm_mmput(child));
	TU_CHECK(f->sim);
	fx_free(f);
}

/* ---- THPs the migration does not select are left alone ------------------------------- */

/* 6.19's migrate_vma_collect_huge_pmd() checks the selection flags and
 * the owner before anything else: a THP (or device THP) that is not
 * selected is skipped, never split (a split of another driver's device
 * THP would even call that driver's ->folio_split()). */
static void unselected_thps_not_split(void **state)
{
	struct fx *f = fx_new();
	uint64_t a = fx_thp(f, 1, 36), b = fx_thp(f, 1, 37), c = fx_thp(f, 1, 38);
	simmm_pfn_t head = pmd_pfn(f->mm, a), dc = fx_to_device(f, c), db;
	const uint64_t ranges[3][2] = {{0, NR}, {0, 16}, {16, 16}};
	struct simmm_migrate_vma m;
	struct tdrv other;

	(void)state;
	TU_ASSERT_OK(tdrv_init(&other, f->sim, SIMMM_MEM_DEVICE_PRIVATE, 2 * NR));
	assert_int_equal(fx_migrate(f, &other, f->mm, b, NR, SYS | CMPD), NR);
	db = pmd_pfn(f->mm, b);
	assert_true(simmm_page_pgmap(f->sim, db) == &other.pgmap);
	for (int r = 0; r < 3; r++) {
		uint64_t off = ranges[r][0] * f->ps, n = ranges[r][1];

		for (int cmpd = 0; cmpd < 2; cmpd++) {
			uint64_t sel = cmpd ? CMPD : 0;

			/* A system THP, device pages selected only. */
			m = fx_setup(f, f->mm, &f->dev, a + off, n, DEVP | sel);
			assert_int_equal(m.cpages, 0);
			fx_end(f->mm, &m);
			assert_int_equal(pmd_pfn(f->mm, a), head);
			assert_true(tr(f->mm, a).present);
			/* Another owner's device THP. */
			m = fx_setup(f, f->mm, &f->dev, b + off, n, DEVP | SYS | sel);
			assert_int_equal(m.cpages, 0);
			fx_end(f->mm, &m);
			assert_true(dev_pmd(f->mm, b, db));
			/* Our device THP, system memory selected only. */
			m = fx_setup(f, f->mm, &f->dev, c + off, n, SYS | sel);
			assert_int_equal(m.cpages, 0);
			fx_end(f->mm, &m);
			assert_true(dev_pmd(f->mm, c, dc));
			TU_CHECK(f->sim);
		}
	}
	assert_int_equal(pinfo(f->sim, head).order, PMD_ORDER);
	assert_int_equal(other.split_calls, 0);
	assert_int_equal(f->dev.split_calls, 0);
	TU_ASSERT_OK(simmm_munmap(f->mm, b, f->pmd));
	assert_int_equal(other.huge_frees, 1);
	tdrv_fini(&other);
	assert_int_equal(tu_verify(f->mm, a, NR, f->ps, 36), 0);
	assert_int_equal(tu_verify(f->mm, c, NR, f->ps, 38), 0);
	TU_CHECK(f->sim);
	fx_free(f);
}

/* ---- soft-dirty, MADV_COLLAPSE, mremap under eviction -------------------------------- */

static void device_thp_softdirty_collapse_mremap(void **state)
{
	struct fx *f = fx_new();
	uint64_t a = fx_thp(f, 1, 39), b = fx_thp(f, 1, 40), c = fx_thp(f, 1, 41);
	uint64_t to = fx_region(f, f->mm, 1, true), idx;
	simmm_pfn_t d, db, s;
	simmm_addr_t nc;
	int rc;

	(void)state;
	/* Soft-dirty rides along: THP -> device PMD -> THP. */
	assert_true(simmm_pte_soft_dirty(tr(f->mm, a).entry));
	d = fx_to_device(f, a);
	assert_true(simmm_pte_swp_soft_dirty(tr(f->mm, a).entry));
	assert_int_equal(fx_migrate(f, &f->dev, f->mm, a, NR, DEVP | CMPD), NR);
	assert_true(tr(f->mm, a).present);
	assert_true(simmm_pte_soft_dirty(tr(f->mm, a).entry));
	TU_CHECK(f->sim);
	/* ...and is cleared on the device PMD by clear_refs. */
	d = fx_to_device(f, a);
	TU_ASSERT_OK(simmm_clear_refs_soft_dirty(f->mm));
	assert_true(dev_pmd(f->mm, a, d));
	assert_false(simmm_pte_swp_soft_dirty(tr(f->mm, a).entry));
	TU_CHECK(f->sim);
	/* MADV_COLLAPSE over device-private ptes of a split device THP
	 * fails (upstream: SCAN_PTE_NON_PRESENT) and changes nothing. */
	db = fx_to_device(f, b);
	TU_ASSERT_OK(simmm_mprotect(f->mm, b, 8 * f->ps, SIMMM_PROT_READ));
	TU_ASSERT_OK(simmm_mprotect(f->mm, b, 8 * f->ps, RW));
	assert_true(dev_pte(f, b, db, 100));
	rc = simmm_madvise(f->mm, b, f->pmd, SIMMM_MADV_COLLAPSE);
	assert_int_not_equal(rc, 0);
	assert_true(dev_pte(f, b, db, 100));
	assert_true(dev_pte(f, b, db, 3));
	TU_CHECK(f->sim);
	assert_int_equal(tu_verify(f->mm, b, NR, f->ps, 40), 0);
	TU_CHECK(f->sim);
	/* mremap while the PMD is a migration entry (eviction needs no mmap
	 * lock): the entries move, finalize finds them at the new place. */
	d = fx_to_device(f, c);
	idx = d - f->dev.pgmap.start_pfn;
	TU_ASSERT_OK(simmm_migrate_device_range(f->sim, f->src, f->dev.pgmap.start_pfn,
						f->dev.pgmap.nr_pages));
	assert_int_equal(f->src[idx], simmm_migrate_pfn(d) | MIG | CMP);
	TU_ASSERT_OK(simmm_mremap(f->mm, c, f->pmd, f->pmd,
				  SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED, to, &nc));
	assert_int_equal(nc, to);
	/* The PMD migration entry moved whole, made swp soft-dirty
	 * (move_soft_dirty_pmd()). */
	assert_int_equal(tr(f->mm, nc + 5 * f->ps).level, SIMMM_LVL_PMD);
	assert_true(simmm_is_migration_entry(tr(f->mm, nc + 5 * f->ps).entry));
	assert_true(simmm_pte_swp_soft_dirty(tr(f->mm, nc).entry));
	TU_CHECK(f->sim);
	f->dev.huge = true;
	tdrv_fill(&f->dev, f->src, f->dst, f->dev.pgmap.nr_pages);
	s = simmm_migrate_pfn_to_page(f->dst[idx]);
	TU_ASSERT_OK(simmm_migrate_device_pages(f->sim, f->src, f->dst, f->dev.pgmap.nr_pages));
	TU_ASSERT_OK(simmm_migrate_device_finalize(f->sim, f->src, f->dst,
						   f->dev.pgmap.nr_pages));
	assert_int_equal(tr(f->mm, nc + 5 * f->ps).pfn, s + 5);
	/* remove_migration_pmd() found it there (rmap at the new address). */
	assert_int_equal(tr(f->mm, nc).level, SIMMM_LVL_PMD);
	assert_true(tr(f->mm, nc).present);
	assert_int_equal(tr(f->mm, c).entry, 0);
	TU_CHECK(f->sim);
	assert_int_equal(tu_verify(f->mm, nc, NR, f->ps, 41), 0);
	TU_CHECK(f->sim);
	fx_free(f);
}

/* ---- the split of a compound source fails -------------------------------------------- */

/* A reference taken after setup (e.g. by a pfn walker) makes the split
 * for base-page destinations fail: nothing moves, the PMD migration entry
 * was split already, so the THP comes back mapped by ptes, whole. */
static void compound_src_split_refused(void **state)
{
	struct fx *f = fx_new();
	uint64_t a = fx_thp(f, 1, 42), b = fx_thp(f, 1, 43);
	simmm_pfn_t head = pmd_pfn(f->mm, a), d = fx_to_device(f, b);
	struct simmm_migrate_vma m;

	(void)state;
	f->dev.huge = false;
	m = fx_setup(f, f->mm, &f->dev, a, NR, SYS | CMPD);
	assert_true(f->src[0] & CMP);
	TU_ASSERT_OK(simmm_page_get(f->sim, head + 9));
	tdrv_fill(&f->dev, f->src, f->dst, m.npages);
	TU_ASSERT_OK(simmm_migrate_vma_pages(&m));
	for (uint64_t i = 0; i < NR; i++)
		assert_false(f->src[i] & MIG);
	fx_end(f->mm, &m);
	assert_int_equal(pinfo(f->sim, head).order, PMD_ORDER);
	assert_int_equal(tr(f->mm, a + 9 * f->ps).pfn, head + 9);
	assert_true(tr(f->mm, a + 9 * f->ps).present);
	assert_int_equal(tdrv_nfree(&f->dev), DEV_PMDS * NR - NR);
	TU_CHECK(f->sim);
	simmm_page_put(f->sim, head + 9);
	assert_int_equal(tu_verify(f->mm, a, NR, f->ps, 42), 0);
	TU_CHECK(f->sim);
	/* The same for a device THP going home. */
	m = fx_setup(f, f->mm, &f->dev, b, NR, DEVP | CMPD);
	assert_int_equal(f->src[0], simmm_migrate_pfn(d) | MIG | CMP | WR);
	TU_ASSERT_OK(simmm_page_get(f->sim, d));
	tdrv_fill(&f->dev, f->src, f->dst, m.npages);
	TU_ASSERT_OK(simmm_migrate_vma_pages(&m));
	for (uint64_t i = 0; i < NR; i++)
		assert_false(f->src[i] & MIG);
	assert_int_equal(f->dev.split_calls, 0);
	fx_end(f->mm, &m);
	assert_int_equal(pinfo(f->sim, d).order, PMD_ORDER);
	assert_true(dev_pte(f, b, d, 0) || dev_pmd(f->mm, b, d));
	assert_false(page_locked(f->sim, d));
	TU_CHECK(f->sim);
	simmm_page_put(f->sim, d);
	assert_int_equal(tu_verify(f->mm, b, NR, f->ps, 43), 0);
	assert_int_equal(tdrv_nfree(&f->dev), DEV_PMDS * NR);
	TU_CHECK(f->sim);
	fx_free(f);
}

/* ---- a reader racing the migration of its THP ---------------------------------------- */

struct race {
	simmm_sim *sim;
	struct simmm_mm *mm;
	struct tdrv dev, dev2;
	uint64_t ps, a;
	uint64_t first; /* the device migrates [a + first pages, a + PMD) */
	int seed;
	/* results, recorded by the tasks */
	int err_dev, err_dev2, err_cpu, err_fork, err_unmap;
	uint64_t moved, moved2;
	uint64_t src[NR], dst[NR], src2[NR], dst2[NR];
};

enum race_start { START_EMPTY, START_THP, START_DEVICE };

static struct race *race_new(uint64_t seed, enum simmm_sched_policy pol, enum race_start start)
{
	struct race *r = calloc(1, sizeof(*r));
	struct simmm_sched_config cfg;
	uint64_t pmd, len;
	simmm_addr_t a;

	r->sim = tu_sim_new(NULL, 64ULL << 20, seed);
	r->ps = 1ULL << simmm_sim_geometry(r->sim)->page_shift;
	pmd = NR * r->ps;
	len = 2 * pmd;
	r->seed = (int)(seed % 200);
	simmm_lockdep_enable(r->sim, true);
	TU_ASSERT_OK(simmm_mm_create(r->sim, &r->mm));
	TU_ASSERT_OK(tdrv_init(&r->dev, r->sim, SIMMM_MEM_DEVICE_PRIVATE, 2 * NR));
	TU_ASSERT_OK(tdrv_init(&r->dev2, r->sim, SIMMM_MEM_DEVICE_PRIVATE, 2 * NR));
	TU_ASSERT_OK(simmm_mmap(r->mm, 0, len, RW, ANON, NULL, 0, &a));
	r->a = (a + pmd - 1) & ~(pmd - 1);
	TU_ASSERT_OK(simmm_madvise(r->mm, r->a, pmd, SIMMM_MADV_HUGEPAGE));
	if (start != START_EMPTY) {
		TU_ASSERT_OK(tu_fill(r->mm, r->a, NR, r->ps, r->seed));
		assert_int_equal(tr(r->mm, r->a).level, SIMMM_LVL_PMD);
	}
	if (start == START_DEVICE) {
		struct simmm_migrate_vma m = {.src = r->src, .dst = r->dst, .start = r->a,
					      .end = r->a + pmd, .pgmap_owner = &r->dev,
					      .flags = SYS | CMPD};

		TU_ASSERT_OK(simmm_mmap_read_lock(r->mm));
		m.vma = simmm_vma_lookup(r->mm, r->a);
		TU_ASSERT_OK(simmm_migrate_vma_setup(&m));
		tdrv_fill(&r->dev, r->src, r->dst, NR);
		TU_ASSERT_OK(simmm_migrate_vma_pages(&m));
		TU_ASSERT_OK(simmm_migrate_vma_finalize(&m));
		TU_ASSERT_OK(simmm_mmap_read_unlock(r->mm));
		assert_true(simmm_is_device_private_entry(tr(r->mm, r->a).entry));
	}
	TU_CHECK(r->sim);
	simmm_sched_config_init(r->sim, &cfg);
	cfg.policy = pol;
	cfg.seed = seed;
	TU_ASSERT_OK(simmm_sched_configure(r->sim, &cfg));
	return r;
}

static void race_free(struct race *r)
{
	TU_CHECK(r->sim);
	TU_ASSERT_OK(simmm_mmput(r->mm));
	TU_CHECK(r->sim);
	assert_int_equal(tdrv_nfree(&r->dev), 2 * NR);
	assert_int_equal(tdrv_nfree(&r->dev2), 2 * NR);
	tdrv_fini(&r->dev);
	tdrv_fini(&r->dev2);
	tu_sim_free(&r->sim);
	free(r);
}

static void race_run(struct race *r)
{
	int ret = simmm_sched_run(r->sim, 10000000);

	if (ret != SIMMM_SCHED_DONE)
		fail_msg("schedule did not finish: %d (seed %llu)", ret,
			 (unsigned long long)simmm_sim_seed(r->sim));
	TU_CHECK(r->sim);
}

/* A device: setup, "copy" with scheduling points, pages, finalize. */
static int race_migrate_dev(struct race *r, struct tdrv *d, uint64_t *src, uint64_t *dst,
			    uint64_t flags, uint64_t *moved)
{
	struct simmm_migrate_vma m = {.src = src, .dst = dst,
				      .start = r->a + r->first * r->ps, .end = r->a + NR * r->ps,
				      .pgmap_owner = d, .flags = flags};
	int err = simmm_mmap_read_lock(r->mm);

	if (err)
		return err;
	m.vma = simmm_vma_lookup(r->mm, m.start);
	err = simmm_migrate_vma_setup(&m);
	if (!err) {
		for (int i = 0; i < 3; i++)
			simmm_sched_yield(r->sim);
		tdrv_fill(d, src, dst, m.npages);
		simmm_sched_yield(r->sim);
		err = simmm_migrate_vma_pages(&m);
		*moved = moved_pages(src, m.npages);
		simmm_migrate_vma_finalize(&m);
	}
	simmm_mmap_read_unlock(r->mm);
	return err;
}

static int race_migrate(struct race *r, uint64_t flags)
{
	return race_migrate_dev(r, &r->dev, r->src, r->dst, flags, &r->moved);
}

static void task_to_device(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	(void)sim;
	r->err_dev = race_migrate(r, SYS | CMPD);
}

static void task_to_system(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	(void)sim;
	r->err_dev = race_migrate(r, DEVP | CMPD);
}

static void task_reader(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	(void)sim;
	r->err_cpu = tu_verify(r->mm, r->a, NR, r->ps, r->seed);
}

static void race_schedules(bool on_device, simmm_task_fn migrator, uint64_t *hits)
{
	uint64_t iters = tu_iters(20), base = tu_seed();

	for (uint64_t i = 0; i < iters; i++) {
		enum simmm_sched_policy pol = (i & 1) ? SIMMM_SCHED_PCT : SIMMM_SCHED_RANDOM;
		struct race *r = race_new(base + i, pol, on_device ? START_DEVICE : START_THP);
		struct simmm_translation t;

		assert_true(simmm_sched_spawn(r->sim, "dev", migrator, r) > 0);
		assert_true(simmm_sched_spawn(r->sim, "cpu", task_reader, r) > 0);
		race_run(r);
		assert_int_equal(r->err_dev, 0);
		assert_int_equal(r->err_cpu, 0); /* the data, whoever moved it */
		hits[0] += mstats(r->mm).migration_waits > 0;
		hits[1] += r->dev.to_ram_pmd > 0;
		if (!on_device) {
			/* The device always gets it; the reader may bring it back. */
			assert_int_equal(r->moved, NR);
			assert_true(r->dev.to_ram_done <= 1);
		} else {
			/* Exactly one of the two brought the THP home. */
			assert_int_equal((r->moved ? 1 : 0) + r->dev.to_ram_done, 1);
			assert_int_equal(tdrv_nfree(&r->dev), 2 * NR);
		}
		/* Still one PMD, wherever it is, and never split. */
		t = tr(r->mm, r->a);
		assert_int_equal(t.level, SIMMM_LVL_PMD);
		assert_true(t.present || simmm_is_device_private_entry(t.entry));
		assert_int_equal(r->dev.split_calls, 0);
		assert_int_equal(tu_verify(r->mm, r->a, NR, r->ps, r->seed), 0);
		race_free(r);
	}
}

static void race_reader_vs_thp_to_device(void **state)
{
	uint64_t hits[2] = {0};

	(void)state;
	race_schedules(false, task_to_device, hits);
	assert_true(hits[0] > 0); /* some reader waited on the PMD migration entry */
	assert_true(hits[1] > 0); /* some reader faulted the device THP back */
}

static void race_fault_back_vs_thp_to_system(void **state)
{
	uint64_t hits[2] = {0};

	(void)state;
	race_schedules(true, task_to_system, hits);
	assert_true(hits[1] > 0); /* some reader's fault-back won */
}

/* ---- several faults on one pte-mapped device THP ------------------------------------- */

struct half {
	struct race *r;
	uint64_t first, n;
	int err;
};

static void task_read_half(simmm_sim *sim, void *arg)
{
	struct half *h = arg;

	(void)sim;
	h->err = tu_verify(h->r->mm, h->r->a + h->first * h->r->ps, h->n, h->r->ps,
			   h->r->seed + (int)h->first);
}

/* A device THP whose PMD was split (page 0 unmapped): two CPU threads
 * fault its pages back one by one, and (@with_device) the device migrates
 * the range home at the same time. The first fault-back splits the folio
 * under the other fault's feet. */
static void body_pte_mapped(uint64_t seed, enum simmm_sched_policy pol, bool with_device,
			    uint64_t *hits)
{
	struct race *r = race_new(seed, pol, START_DEVICE);
	struct half h1 = {.r = r, .first = 1, .n = NR / 2 - 1};
	struct half h2 = {.r = r, .first = NR / 2, .n = NR / 2};

	TU_ASSERT_OK(simmm_munmap(r->mm, r->a, r->ps));
	r->first = 1;
	assert_int_equal(tr(r->mm, r->a + r->ps).level, SIMMM_LVL_PTE);
	TU_CHECK(r->sim);
	assert_true(simmm_sched_spawn(r->sim, "cpu1", task_read_half, &h1) > 0);
	assert_true(simmm_sched_spawn(r->sim, "cpu2", task_read_half, &h2) > 0);
	if (with_device)
		assert_true(simmm_sched_spawn(r->sim, "dev", task_to_system, r) > 0);
	race_run(r);
	if (h1.err || h2.err || r->err_dev)
		fail_msg("seed %llu policy %d: reader errors %d %d, device %d",
			 (unsigned long long)seed, (int)pol, h1.err, h2.err, r->err_dev);
	assert_int_equal(r->dev.split_folios, 1);
	for (uint64_t i = 1; i < NR; i++)
		assert_true(tr(r->mm, r->a + i * r->ps).present);
	assert_int_equal(tdrv_nfree(&r->dev), 2 * NR);
	hits[0] += r->moved > 0;
	hits[1] += r->dev.to_ram_done > 0;
	race_free(r);
}

static void race_faults_on_pte_mapped_device_thp(void **state)
{
	uint64_t iters = tu_iters(20), base = tu_seed(), hits[2] = {0};

	(void)state;
	for (uint64_t i = 0; i < iters; i++)
		body_pte_mapped(base + i, (i & 1) ? SIMMM_SCHED_PCT : SIMMM_SCHED_RANDOM, i & 2,
				hits);
	assert_true(hits[1] > 0);
}

/* ---- a CPU fault into a compound hole; two devices; eviction chaos ------------------- */

static const uint64_t hole_pages[] = {0, 100, 511};

static void task_write_hole(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	(void)sim;
	for (size_t k = 0; k < SIMMM_ARRAY_SIZE(hole_pages) && !r->err_cpu; k++)
		r->err_cpu = tu_fill(r->mm, r->a + hole_pages[k] * r->ps, 1, r->ps, 50 + (int)k);
}

static void task_to_device2(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	(void)sim;
	r->err_dev2 = race_migrate_dev(r, &r->dev2, r->src2, r->dst2, SYS | CMPD, &r->moved2);
}

/* A CPU write into an empty PMD while a device fills it with a device
 * THP: the insert backs off if the CPU came first (a THP or a pte table
 * is there); otherwise the CPU faults the device THP home. */
static void race_cpu_write_vs_compound_hole(void **state)
{
	uint64_t iters = tu_iters(20), base = tu_seed(), hits[2] = {0};

	(void)state;
	for (uint64_t i = 0; i < iters; i++) {
		enum simmm_sched_policy pol = (i & 1) ? SIMMM_SCHED_PCT : SIMMM_SCHED_RANDOM;
		struct race *r = race_new(base + i, pol, START_EMPTY);
		unsigned char c;

		if (i & 2) /* small pages for the CPU: its fault makes a pte table */
			TU_ASSERT_OK(simmm_madvise(r->mm, r->a, NR * r->ps, SIMMM_MADV_NOHUGEPAGE));
		assert_true(simmm_sched_spawn(r->sim, "dev", task_to_device, r) > 0);
		assert_true(simmm_sched_spawn(r->sim, "cpu", task_write_hole, r) > 0);
		race_run(r);
		assert_int_equal(r->err_dev, 0);
		assert_int_equal(r->err_cpu, 0);
		hits[0] += r->moved == 0;
		hits[1] += r->moved == NR;
		for (size_t k = 0; k < SIMMM_ARRAY_SIZE(hole_pages); k++)
			assert_int_equal(tu_verify(r->mm, r->a + hole_pages[k] * r->ps, 1, r->ps,
						   50 + (int)k), 0);
		TU_ASSERT_OK(simmm_mm_access(r->mm, r->a + 7 * r->ps, &c, 1, SIMMM_ACCESS_READ));
		assert_int_equal(c, 0);
		race_free(r);
	}
	assert_true(hits[0] > 0); /* the CPU won */
	assert_true(hits[1] > 0); /* the device won */
}

/* Two devices migrate the same THP: it ends up on one (or neither). */
static void race_two_devices_one_thp(void **state)
{
	uint64_t iters = tu_iters(20), base = tu_seed(), hits[2] = {0};

	(void)state;
	for (uint64_t i = 0; i < iters; i++) {
		enum simmm_sched_policy pol = (i & 1) ? SIMMM_SCHED_PCT : SIMMM_SCHED_RANDOM;
		struct race *r = race_new(base + i, pol, START_THP);
		struct simmm_translation t;
		struct simmm_dev_pagemap *pg;

		assert_true(simmm_sched_spawn(r->sim, "dev1", task_to_device, r) > 0);
		assert_true(simmm_sched_spawn(r->sim, "dev2", task_to_device2, r) > 0);
		if (i & 2)
			assert_true(simmm_sched_spawn(r->sim, "cpu", task_reader, r) > 0);
		race_run(r);
		assert_int_equal(r->err_dev, 0);
		assert_int_equal(r->err_dev2, 0);
		assert_int_equal(r->err_cpu, 0);
		t = tr(r->mm, r->a);
		assert_int_equal(t.level, SIMMM_LVL_PMD);
		pg = t.present ? NULL : simmm_page_pgmap(r->sim, simmm_swp_offset_pfn(t.entry));
		assert_true(t.present || pg == &r->dev.pgmap || pg == &r->dev2.pgmap);
		assert_true(r->moved + r->moved2 >= (t.present ? 0 : NR));
		assert_int_equal(tdrv_nfree(&r->dev) + tdrv_nfree(&r->dev2),
				 4 * NR - (t.present ? 0 : NR));
		hits[0] += r->moved && r->moved2;
		hits[1] += !!r->moved != !!r->moved2;
		assert_int_equal(tu_verify(r->mm, r->a, NR, r->ps, r->seed), 0);
		race_free(r);
	}
	assert_true(hits[1] > 0);
}

static void task_evict(simmm_sim *sim, void *arg)
{
	struct race *r = arg;
	uint64_t n = r->dev.pgmap.nr_pages;
	uint64_t *src = calloc(n, sizeof(*src)), *dst = calloc(n, sizeof(*dst));

	(void)sim;
	r->err_dev = simmm_migrate_device_range(r->sim, src, r->dev.pgmap.start_pfn, n);
	if (!r->err_dev) {
		simmm_sched_yield(r->sim);
		tdrv_fill(&r->dev, src, dst, n);
		simmm_sched_yield(r->sim);
		r->err_dev = simmm_migrate_device_pages(r->sim, src, dst, n);
		r->moved = moved_pages(src, n);
		if (!r->err_dev)
			r->err_dev = simmm_migrate_device_finalize(r->sim, src, dst, n);
	}
	free(src);
	free(dst);
}

static void task_fork_and_read(simmm_sim *sim, void *arg)
{
	struct race *r = arg;
	struct simmm_mm *child;

	(void)sim;
	r->err_fork = simmm_fork(r->mm, &child);
	if (r->err_fork)
		return;
	r->err_fork = tu_verify(child, r->a + 16 * r->ps, NR - 16, r->ps, r->seed + 16);
	if (!r->err_fork)
		r->err_fork = tu_fill(child, r->a + 20 * r->ps, 1, r->ps, 99);
	if (!r->err_fork)
		r->err_fork = tu_verify(child, r->a + 20 * r->ps, 1, r->ps, 99);
	if (!r->err_fork)
		r->err_fork = simmm_mmput(child);
	else
		simmm_mmput(child);
}

static void task_unmap_head(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	(void)sim;
	r->err_unmap = simmm_munmap(r->mm, r->a, 16 * r->ps);
}

static void task_read_tail(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	(void)sim;
	r->err_cpu = tu_verify(r->mm, r->a + 16 * r->ps, NR - 16, r->ps, r->seed + 16);
}

/* Eviction of a device THP (huge or base-page destinations) racing a
 * CPU reader, a fork whose child reads and writes, and a partial munmap. */
static void race_eviction_chaos(void **state)
{
	uint64_t iters = tu_iters(20), base = tu_seed();

	(void)state;
	for (uint64_t i = 0; i < iters; i++) {
		enum simmm_sched_policy pol = (i & 1) ? SIMMM_SCHED_PCT : SIMMM_SCHED_RANDOM;
		struct race *r = race_new(base + i, pol, START_DEVICE);

		r->dev.huge = !(i & 2);
		assert_true(simmm_sched_spawn(r->sim, "evict", task_evict, r) > 0);
		assert_true(simmm_sched_spawn(r->sim, "cpu", task_read_tail, r) > 0);
		assert_true(simmm_sched_spawn(r->sim, "fork", task_fork_and_read, r) > 0);
		if (i & 4)
			assert_true(simmm_sched_spawn(r->sim, "unmap", task_unmap_head, r) > 0);
		race_run(r);
		if (r->err_dev || r->err_cpu || r->err_fork || r->err_unmap)
			fail_msg("seed %llu policy %d: evict %d cpu %d fork %d unmap %d",
				 (unsigned long long)(base + i), (int)pol, r->err_dev, r->err_cpu,
				 r->err_fork, r->err_unmap);
		assert_int_equal(tu_verify(r->mm, r->a + 16 * r->ps, NR - 16, r->ps, r->seed + 16),
				 0);
		assert_int_equal(tdrv_nfree(&r->dev), 2 * NR);
		race_free(r);
	}
}

/* ---- a partial zap of a THP under migration ------------------------------------------ */

/* A mirror whose invalidate sleeps (a driver taking its lock). */
static bool sleepy_invalidate(struct simmm_mmu_interval_notifier *sub,
			      const struct simmm_mmu_notifier_range *range, uint64_t cur_seq)
{
	if (simmm_mmu_notifier_range_blockable(range))
		simmm_sched_yield(simmm_mm_sim(sub->mm));
	simmm_mmu_interval_set_seq(sub, cur_seq);
	return true;
}

static const struct simmm_mmu_interval_notifier_ops sleepy_ops = {.invalidate = sleepy_invalidate};

static void task_dontneed_2_3(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	(void)sim;
	r->err_unmap = simmm_madvise(r->mm, r->a + 2 * r->ps, 2 * r->ps, SIMMM_MADV_DONTNEED);
}

/* MADV_DONTNEED of two pages of a THP while a device migrates it as a unit,
 * to the device or (a device THP) home, with huge or base-page
 * destinations. The zap splits the PMD, and the split's notifier sleeps:
 * the PMD migration entry it saw may be a device-private PMD or a THP by
 * then (or the other way round). The split must use the entry it finds
 * after the notifier; it once split the stale one, leaving pte mappings
 * without references ("freed while mapped" when the zap dropped them;
 * found by fuzz_races in THP mode). */
static void race_dontneed_vs_thp_migration(void **state)
{
	uint64_t iters = tu_iters(40), base = tu_seed();

	(void)state;
	for (uint64_t i = 0; i < iters; i++) {
		enum simmm_sched_policy pol = (i & 1) ? SIMMM_SCHED_PCT : SIMMM_SCHED_RANDOM;
		bool home = i & 2;
		struct race *r = race_new(base + i, pol, home ? START_DEVICE : START_THP);
		struct simmm_mmu_interval_notifier mn = {0};
		unsigned char c[2];

		r->dev.huge = !(i & 4);
		TU_ASSERT_OK(simmm_mmu_interval_notifier_insert(&mn, r->mm, r->a, NR * r->ps,
								&sleepy_ops));
		assert_true(simmm_sched_spawn(r->sim, "dev", home ? task_to_system : task_to_device,
					      r) > 0);
		assert_true(simmm_sched_spawn(r->sim, "cpu", task_dontneed_2_3, r) > 0);
		race_run(r);
		if (r->err_dev || r->err_unmap)
			fail_msg("seed %llu policy %d: device %d dontneed %d",
				 (unsigned long long)(base + i), (int)pol, r->err_dev, r->err_unmap);
		assert_int_equal(tu_verify(r->mm, r->a, 2, r->ps, r->seed), 0);
		assert_int_equal(tu_verify(r->mm, r->a + 4 * r->ps, NR - 4, r->ps, r->seed + 4), 0);
		for (uint64_t k = 2; k < 4; k++)
			TU_ASSERT_OK(simmm_mm_access(r->mm, r->a + k * r->ps, &c[k - 2], 1,
						     SIMMM_ACCESS_READ));
		assert_int_equal(c[0] | c[1], 0);
		TU_CHECK(r->sim);
		TU_ASSERT_OK(simmm_mmu_interval_notifier_remove(&mn));
		race_free(r);
	}
}

/* ---- the faulting page of a device THP zapped during the fault's split ---------------- */

struct zap_fault {
	struct race *r;
	unsigned char byte;
	int err;
};

static void task_read_page5(simmm_sim *sim, void *arg)
{
	struct zap_fault *z = arg;

	(void)sim;
	z->err = simmm_mm_access(z->r->mm, z->r->a + 5 * z->r->ps, &z->byte, 1, SIMMM_ACCESS_READ);
}

static void task_dontneed_5_6(simmm_sim *sim, void *arg)
{
	struct race *r = arg;

	(void)sim;
	r->err_unmap = simmm_madvise(r->mm, r->a + 5 * r->ps, 2 * r->ps, SIMMM_MADV_DONTNEED);
}

/* A CPU fault on a pte of a pte-mapped device THP (its driver migrates the
 * one page: setup splits the folio, the fault's lock and reference move to
 * the page's new folio) while MADV_DONTNEED zaps that very page: the split
 * sleeps (the rmap lock), and the zap may drop the page's last mapping
 * meanwhile. The split must not free it: the fault still holds it. It
 * once did, and the fault then took a reference on a free page ("refcount
 * <= 0"; found by fuzz_races in THP mode). */
static void race_dontneed_vs_device_thp_fault_split(void **state)
{
	uint64_t iters = tu_iters(40), base = tu_seed();

	(void)state;
	for (uint64_t i = 0; i < iters; i++) {
		enum simmm_sched_policy pol = (i & 1) ? SIMMM_SCHED_PCT : SIMMM_SCHED_RANDOM;
		struct race *r = race_new(base + i, pol, START_DEVICE);
		struct zap_fault z = {.r = r};

		TU_ASSERT_OK(simmm_munmap(r->mm, r->a, r->ps)); /* pte-mapped from now on */
		assert_true(simmm_sched_spawn(r->sim, "cpu", task_read_page5, &z) > 0);
		assert_true(simmm_sched_spawn(r->sim, "zap", task_dontneed_5_6, r) > 0);
		race_run(r);
		if (z.err || r->err_unmap)
			fail_msg("seed %llu policy %d: read %d dontneed %d",
				 (unsigned long long)(base + i), (int)pol, z.err, r->err_unmap);
		assert_true(z.byte == 0 || z.byte == (unsigned char)(r->seed + 5));
		assert_int_equal(tu_verify(r->mm, r->a + r->ps, 3, r->ps, r->seed + 1), 0);
		assert_int_equal(tu_verify(r->mm, r->a + 7 * r->ps, NR - 7, r->ps, r->seed + 7), 0);
		race_free(r);
	}
}

/* ---- a reference kept across the scheduling point of the fault's unlock ---------------- */

/* Replay a schedule whose every choice is 1: of two runnable tasks, the
 * one with the higher id (the one spawned second). */
static void replay_always_second(struct race *r)
{
	uint8_t *sched = malloc(1U << 14);

	assert_non_null(sched);
	memset(sched, 1, 1U << 14);
	TU_ASSERT_OK(simmm_sched_replay(r->sim, sched, 1U << 14));
	free(sched);
}


#define WIN_READ 15  /* the reader's page, zapped under its fault */
#define WIN_WRITE 7  /* the writer's page of the same device THP */

struct unlock_window {
	struct race *r;
	uint32_t reader;
	struct simmm_completion in_driver, zapped;
	unsigned reader_calls, writer_calls;
	bool read_done;
	bool window;         /* the writer's migrate_to_ram ran before the
			      * reader's fault returned */
	unsigned char byte;  /* what the reader read */
	int err_read, err_zap, err_write;
};

/* The reader's first ->migrate_to_ram() waits (folio lock and reference
 * held) until the writer has zapped its page; the writer's first records
 * whether it runs inside the reader's fault: the reader's unlock let it
 * in (it needs the lock), the reader's refault has not mapped its page. */
static void window_hook(struct tdrv *d, void *arg)
{
	struct unlock_window *w = arg;

	if (simmm_sched_current(d->sim) == w->reader) {
		if (w->reader_calls++ == 0) {
			simmm_complete(d->sim, &w->in_driver);
			simmm_wait_for_completion(d->sim, &w->zapped);
		}
		return;
	}
	if (w->writer_calls++ == 0)
		w->window = !w->read_done && !tu_pte(w->r->mm, w->r->a + WIN_READ * w->r->ps);
}

static void task_window_read(simmm_sim *sim, void *arg)
{
	struct unlock_window *w = arg;

	(void)sim;
	w->err_read = simmm_mm_access(w->r->mm, w->r->a + WIN_READ * w->r->ps, &w->byte, 1,
				      SIMMM_ACCESS_READ);
	w->read_done = true;
}

static void task_window_zap_write(simmm_sim *sim, void *arg)
{
	struct unlock_window *w = arg;

	simmm_wait_for_completion(sim, &w->in_driver);
	w->err_zap = simmm_madvise(w->r->mm, w->r->a + WIN_READ * w->r->ps, w->r->ps,
				   SIMMM_MADV_DONTNEED);
	simmm_complete(sim, &w->zapped);
	w->err_write = simmm_mm_access(w->r->mm, w->r->a + WIN_WRITE * w->r->ps, "w", 1,
				       SIMMM_ACCESS_WRITE);
}

/* fuzz_races finding 8 (docs/fuzzing.md): the reader's fault on page 15
 * of a pte-mapped device THP holds the folio's lock and a reference in
 * ->migrate_to_ram() when the writer zaps page 15 (MADV_DONTNEED), so
 * the driver migrates nothing and the folio stays whole. The writer's
 * write to page 7 sleeps on the folio lock; the reader's unlock wakes it,
 * and the replayed schedule picks the writer at every choice from then on.
 * Its fault must split the folio to migrate page 7, and the split's
 * refcount check counts the reader's reference if the reader has not
 * dropped it yet: simmm__folio_unlock_put() drops it before its
 * scheduling point, as upstream's unlock_page(); put_page(), neither of
 * which sleeps. With the scheduling point between them (the old
 * folio_unlock(); folio_put()), every split fails, and the write refaults
 * until simmm_mm_access() gives up with -EDEADLK. */
static void race_device_fault_unlock_put_window(void **state)
{
	struct race *r = race_new(tu_seed(), SIMMM_SCHED_RANDOM, START_DEVICE);
	struct unlock_window w = {.r = r};
	simmm_pfn_t head = simmm_swp_offset_pfn(tr(r->mm, r->a).entry), pfn;
	struct simmm_page_info pi;
	unsigned char c = 0;
	int a;
	(void)state;

	/* Pte-mapped from now on: the device THP's PMD is split. */
	TU_ASSERT_OK(simmm_munmap(r->mm, r->a, r->ps));
	assert_int_equal(tr(r->mm, r->a + WIN_READ * r->ps).level, SIMMM_LVL_PTE);
	assert_int_equal(pinfo(r->sim, head).order, PMD_ORDER);
	assert_int_equal(pinfo(r->sim, head).refcount, (int)NR - 1); /* one per pte */
	TU_CHECK(r->sim);
	simmm_init_completion(&w.in_driver, "in_driver");
	simmm_init_completion(&w.zapped, "zapped");
	r->dev.skip_holes = true;
	r->dev.to_ram_hook = window_hook;
	r->dev.hook_arg = &w;
	/* Two tasks, the reader first: choice 1 is always the writer. */
	replay_always_second(r);
	a = simmm_sched_spawn(r->sim, "reader", task_window_read, &w);
	assert_true(a > 0);
	w.reader = (uint32_t)a;
	assert_true(simmm_sched_spawn(r->sim, "writer", task_window_zap_write, &w) > 0);
	race_run(r);
	if (w.err_read || w.err_zap || w.err_write)
		fail_msg("read %d dontneed %d write %d (after %u writer faults into the driver)",
			 w.err_read, w.err_zap, w.err_write, w.writer_calls);
	/* The reader's driver found its page zapped and moved nothing; the
	 * writer got in at the reader's unlock, and its first fault split the
	 * folio and brought page 7 home. */
	assert_int_equal(w.reader_calls, 1);
	assert_true(w.window);
	assert_int_equal(w.writer_calls, 1);
	assert_int_equal(r->dev.to_ram, 2);
	assert_int_equal(r->dev.to_ram_done, 1);
	assert_int_equal(r->dev.split_folios, 1);
	assert_int_equal(w.byte, 0);
	/* Nothing kept: the unmapped page 0, the zapped page 15 and page 7's
	 * source went back to the device; each other page is a folio of its
	 * own, referenced by its pte alone. */
	assert_int_equal(tdrv_nfree(&r->dev), 2 * NR - (NR - 3));
	for (uint64_t i = 1; i < NR; i++) {
		simmm_entry_t e = tr(r->mm, r->a + i * r->ps).entry;

		if (i == WIN_READ || i == WIN_WRITE)
			continue;
		assert_true(simmm_is_device_private_entry(e));
		pfn = simmm_swp_offset_pfn(e);
		assert_int_equal(pfn, head + i);
		pi = pinfo(r->sim, pfn);
		assert_true(pi.order == 0 && pi.refcount == 1 && pi.mapcount == 1);
		assert_false(pi.flags & PG_locked);
	}
	assert_true(tr(r->mm, r->a + WIN_WRITE * r->ps).present);
	pi = pinfo(r->sim, simmm_pte_pfn(tr(r->mm, r->a + WIN_WRITE * r->ps).entry));
	assert_true(pi.order == 0 && pi.refcount == 1 && pi.mapcount == 1);
	TU_CHECK(r->sim);
	/* The data: the write, the zapped page reads zero, the rest as filled. */
	TU_ASSERT_OK(simmm_mm_access(r->mm, r->a + WIN_WRITE * r->ps, &c, 1, SIMMM_ACCESS_READ));
	assert_int_equal(c, 'w');
	TU_ASSERT_OK(simmm_mm_access(r->mm, r->a + WIN_READ * r->ps, &c, 1, SIMMM_ACCESS_READ));
	assert_int_equal(c, 0);
	assert_int_equal(tu_verify(r->mm, r->a + r->ps, WIN_WRITE - 1, r->ps, r->seed + 1), 0);
	assert_int_equal(tu_verify(r->mm, r->a + (WIN_WRITE + 1) * r->ps, WIN_READ - WIN_WRITE - 1,
				   r->ps, r->seed + WIN_WRITE + 1), 0);
	assert_int_equal(tu_verify(r->mm, r->a + (WIN_READ + 1) * r->ps, NR - WIN_READ - 1, r->ps,
				   r->seed + WIN_READ + 1), 0);
	TU_CHECK(r->sim);
	race_free(r);
}

/* ---- a reference kept across the scheduling point of a split's unlock ------------------ */

#define SPL_A 5 /* the first fault's page: its driver splits the device THP */
#define SPL_B 0 /* the second fault's page: the head's */

struct split_window {
	struct race *r;
	uint32_t a;                /* task id of the first fault */
	struct simmm_completion in_driver;
	unsigned a_calls, b_calls; /* ->migrate_to_ram() calls per task */
	unsigned b_calls_at_a_done;
	bool a_done;
	unsigned char byte_a, byte_b;
	int err_a, err_b;
};

/* The first fault's driver lets the second fault in (it sleeps on the
 * head's lock, which the first holds) before it splits the folio. */
static void split_window_hook(struct tdrv *d, void *arg)
{
	struct split_window *w = arg;

	if (simmm_sched_current(d->sim) != w->a) {
		w->b_calls++;
		return;
	}
	if (w->a_calls++ == 0) {
		simmm_complete(d->sim, &w->in_driver);
		TU_ASSERT_OK(simmm_sched_sleep(d->sim, 1));
	}
}

static void task_split_a(simmm_sim *sim, void *arg)
{
	struct split_window *w = arg;

	(void)sim;
	w->err_a = simmm_mm_access(w->r->mm, w->r->a + SPL_A * w->r->ps, &w->byte_a, 1,
				   SIMMM_ACCESS_READ);
	w->a_done = true;
	w->b_calls_at_a_done = w->b_calls;
}

static void task_split_b(simmm_sim *sim, void *arg)
{
	struct split_window *w = arg;

	simmm_wait_for_completion(sim, &w->in_driver);
	w->err_b = simmm_mm_access(w->r->mm, w->r->a + SPL_B * w->r->ps, &w->byte_b, 1,
				   SIMMM_ACCESS_READ);
}

/* fuzz_races finding (docs/fuzzing.md, seventh round; regression
 * fuzz/regressions/fuzz_races/thp-split-unlock-put-edeadlk): a fault on
 * page 5 of a pte-mapped device THP splits the folio in its driver's
 * migrate_vma_setup() (migrate_vma_split_folio()), moves its lock to page
 * 5's new folio and drops the old head's lock and reference. A fault on
 * page 0 sleeps on the head's lock meanwhile; the unlock wakes it and the
 * replayed schedule picks it at every choice from then on. Its migration
 * of page 0 checks page 0's refcount, which counts the first fault's
 * reference if that is still held: upstream's folio_unlock(); folio_put()
 * never sleep between them, and simmm__folio_unlock_put() drops it before
 * its scheduling point. With the scheduling point between them (the old
 * split path), the second fault's migration fails, and with a driver that
 * does not back off (lib/test_hmm's, fuzz_races' strict mode) it refaults
 * until simmm_mm_access() gives up with -EDEADLK. */
static void race_split_unlock_put_window(void **state)
{
	struct race *r = race_new(tu_seed(), SIMMM_SCHED_RANDOM, START_DEVICE);
	struct split_window w = {.r = r};
	simmm_pfn_t head = simmm_swp_offset_pfn(tr(r->mm, r->a).entry);
	struct simmm_page_info pi;
	int a;
	(void)state;

	/* Pte-mapped from now on: zapping page 3 splits the device PMD. */
	TU_ASSERT_OK(simmm_madvise(r->mm, r->a + 3 * r->ps, r->ps, SIMMM_MADV_DONTNEED));
	assert_int_equal(tr(r->mm, r->a + SPL_A * r->ps).level, SIMMM_LVL_PTE);
	assert_int_equal(pinfo(r->sim, head).order, PMD_ORDER);
	assert_int_equal(pinfo(r->sim, head).refcount, (int)NR - 1); /* one per pte */
	TU_CHECK(r->sim);
	simmm_init_completion(&w.in_driver, "in_driver");
	r->dev.skip_holes = true;
	r->dev.to_ram_hook = split_window_hook;
	r->dev.hook_arg = &w;
	/* Two tasks, the first fault first: choice 1 is always the second. */
	replay_always_second(r);
	a = simmm_sched_spawn(r->sim, "fault5", task_split_a, &w);
	assert_true(a > 0);
	w.a = (uint32_t)a;
	assert_true(simmm_sched_spawn(r->sim, "fault0", task_split_b, &w) > 0);
	race_run(r);
	if (w.err_a || w.err_b)
		fail_msg("page %d: %d, page %d: %d (after %u faults of the second into the driver)",
			 SPL_A, w.err_a, SPL_B, w.err_b, w.b_calls);
	/* One split, by the first fault; the second fault got in at the
	 * old head's unlock, before the first fault returned, and its first
	 * migration brought page 0 home. */
	assert_int_equal(w.a_calls, 1);
	assert_int_equal(w.b_calls, 1);
	assert_int_equal(w.b_calls_at_a_done, 1);
	assert_int_equal(r->dev.split_folios, 1);
	assert_int_equal(r->dev.to_ram_done, 2);
	for (uint64_t i = 0; i < NR; i++) {
		simmm_entry_t e = tr(r->mm, r->a + i * r->ps).entry;

		if (i == 3)
			continue;
		if (i == SPL_A || i == SPL_B) {
			assert_true(tr(r->mm, r->a + i * r->ps).present);
			pi = pinfo(r->sim, simmm_pte_pfn(e));
			assert_int_equal(pi.memtype, SIMMM_MEM_SYSTEM);
		} else {
			assert_true(simmm_is_device_private_entry(e));
			pi = pinfo(r->sim, simmm_swp_offset_pfn(e));
			assert_int_equal(simmm_swp_offset_pfn(e), head + i);
		}
		assert_true(pi.order == 0 && pi.refcount == 1 && pi.mapcount == 1);
		assert_false(pi.flags & PG_locked);
	}
	TU_CHECK(r->sim);
	assert_int_equal(tu_verify(r->mm, r->a + SPL_B * r->ps, 1, r->ps, r->seed + SPL_B), 0);
	assert_int_equal(tu_verify(r->mm, r->a + SPL_A * r->ps, 1, r->ps, r->seed + SPL_A), 0);
	race_free(r);
}

/* ---- reclaim clears the PMD's young bit at collect's scheduling point ---------------- */

struct young_race {
	struct race *r;
	bool in_migration, hit;
	int err_reclaim;
};

static void task_young_migrate(simmm_sim *sim, void *arg)
{
	struct young_race *y = arg;

	(void)sim;
	y->in_migration = true;
	y->r->err_dev = race_migrate(y->r, SYS | CMPD);
	y->in_migration = false;
}

/* folio_referenced() finds the THP young (it was faulted in): it clears
 * the PMD's young bit and keeps the folio; its second look finds it old,
 * but the GUP reference keeps split_folio() from splitting it. */
static void task_young_reclaim(simmm_sim *sim, void *arg)
{
	struct young_race *y = arg;
	struct simmm_translation t = tr(y->r->mm, y->r->a);

	y->hit = y->in_migration && t.present && t.level == SIMMM_LVL_PMD;
	y->err_reclaim = simmm_reclaim(sim, 1, NULL);
}

/* fuzz_races finding (docs/fuzzing.md, eighth round; regression
 * fuzz/regressions/fuzz_races/thp-collect-pmd-young-cleared): a COMPOUND
 * migration's collect read the PMD of a THP, and at grab()'s scheduling
 * point, before the folio's reference and lock, reclaim's
 * folio_referenced() cleared the PMD's young bit. grab() rightly took the
 * folio (only young/dirty changed, as pte_still() allows), but the PMD step
 * then wanted the PMD bit for bit unchanged: a simmm BUG (NEVER) in builds
 * with assertions, a spurious retry without. Every scheduling point of the
 * migration in turn is the one where reclaim runs (k choices of the
 * migration first, then reclaim to its end). */
static void race_collect_pmd_young_cleared(void **state)
{
	unsigned hits = 0;
	(void)state;

	for (unsigned k = 0; k < 48; k++) {
		struct race *r = race_new(tu_seed() + k, SIMMM_SCHED_RANDOM, START_THP);
		struct young_race y = {.r = r};
		uint8_t sched[512];

		simmm_pfn_t pfn;

		/* A FOLL_GET reference: reclaim cannot split the THP (and the
		 * migration restores it after collect), so the PMD that collect
		 * meets after its scheduling point is the same but for its
		 * young bit. */
		assert_int_equal(simmm_get_user_pages(r->mm, r->a, 1, 0, &pfn), 1);
		memset(sched, 1, sizeof(sched));
		memset(sched, 0, k); /* 0: the migration (spawned first), 1: reclaim */
		TU_ASSERT_OK(simmm_sched_replay(r->sim, sched, sizeof(sched)));
		assert_true(simmm_sched_spawn(r->sim, "migrate", task_young_migrate, &y) > 0);
		assert_true(simmm_sched_spawn(r->sim, "reclaim", task_young_reclaim, &y) > 0);
		race_run(r);
		if (r->err_dev || y.err_reclaim)
			fail_msg("k %u: migration %d, reclaim %d", k, r->err_dev, y.err_reclaim);
		hits += y.hit;
		assert_int_equal(r->moved, 0); /* the reference: not migrated */
		assert_int_equal(tr(r->mm, r->a).level, SIMMM_LVL_PMD);
		TU_ASSERT_OK(simmm_put_user_pages(r->sim, &pfn, 1));
		/* Whichever went first, every byte is where the model says. */
		assert_int_equal(tu_verify(r->mm, r->a, NR, r->ps, r->seed), 0);
		TU_CHECK(r->sim);
		race_free(r);
	}
	/* Reclaim ran inside the migration, before collect replaced the PMD,
	 * at several scheduling points (grab()'s among them). */
	assert_true(hits >= 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(thp_collected_as_unit),
		cmocka_unit_test(thp_split_without_compound_or_partial),
		cmocka_unit_test(unselected_thps_not_split),
		cmocka_unit_test(hmm_device_thp_and_fault_back),
		cmocka_unit_test(device_pmd_fault_back_variants),
		cmocka_unit_test(device_thp_without_compound_support),
		cmocka_unit_test(compound_src_small_dst_to_device),
		cmocka_unit_test(compound_src_small_dst_to_system),
		cmocka_unit_test(compound_src_small_dst_eviction),
		cmocka_unit_test(compound_src_split_refused),
		cmocka_unit_test(compound_holes_and_huge_zero),
		cmocka_unit_test(small_src_compound_dst_refused),
		cmocka_unit_test(fork_device_thp),
		cmocka_unit_test(partial_munmap_device_thp),
		cmocka_unit_test(partial_mprotect_device_thp),
		cmocka_unit_test(device_thp_mprotect_mremap_dontneed),
		cmocka_unit_test(system_thp_mremap_then_migrate),
		cmocka_unit_test(device_thp_softdirty_collapse_mremap),
		cmocka_unit_test(device_thp_pmd_and_pte_mapped),
		cmocka_unit_test(pinned_thp_not_collected),
		cmocka_unit_test(evict_device_thp_two_mms),
		cmocka_unit_test(eviction_with_mm_changes),
		cmocka_unit_test(coherent_thp),
		cmocka_unit_test(device_thp_deposits),
		cmocka_unit_test(dmirror_device_thp),
		cmocka_unit_test(race_reader_vs_thp_to_device),
		cmocka_unit_test(race_fault_back_vs_thp_to_system),
		cmocka_unit_test(race_faults_on_pte_mapped_device_thp),
		cmocka_unit_test(race_cpu_write_vs_compound_hole),
		cmocka_unit_test(race_two_devices_one_thp),
		cmocka_unit_test(race_eviction_chaos),
		cmocka_unit_test(race_dontneed_vs_thp_migration),
		cmocka_unit_test(race_dontneed_vs_device_thp_fault_split),
		cmocka_unit_test(race_device_fault_unlock_put_window),
		cmocka_unit_test(race_split_unlock_put_window),
		cmocka_unit_test(race_collect_pmd_young_cleared),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
