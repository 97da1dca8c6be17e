// SPDX-License-Identifier: MIT
/*
 * The address-space system calls: mmap (do_mmap/mmap_region), munmap
 * (do_vmi_munmap), mprotect (mprotect_fixup/change_protection), and
 * exit_mmap. Each validates first, then allocates everything it may need
 * (VMA splits; THP edge splits need nothing, they use the deposited
 * tables) before the first visible change, so a -ENOMEM leaves the mm as
 * it was.
 */
#include <errno.h>

#include "mm/mm.h"
#include "mm/mm_ext.h"
#include "notifier/notifier.h"

/* ---- helpers shared with madvise.c-like code below ---------------------------- */

static uint64_t page_align(struct simmm_mm *mm, uint64_t len)
{
	return (len + mm->sim->page_size - 1) & ~(mm->sim->page_size - 1);
}

/* Up to two spare VMAs for the splits at the edges of [start, end). */
struct spares {
	struct simmm_vma *v[2];
};

/* One spare VMA: the caller's *@pool if it has one (taken), else a new one. */
static struct simmm_vma *spare_get(struct simmm_mm *mm, struct simmm_vma **pool)
{
	struct simmm_vma *v = pool ? *pool : NULL;

	if (!v)
		return simmm__vma_alloc(mm);
	*pool = NULL;
	return v;
}

static int spares_alloc(struct simmm_mm *mm, struct spares *s, simmm_addr_t start,
			simmm_addr_t end, struct simmm_vma **pool)
{
	struct simmm_vma *a = simmm__vma_lookup(mm, start);
	struct simmm_vma *b = simmm__vma_lookup(mm, end - 1);

	s->v[0] = s->v[1] = NULL;
	if (a && a->vm_start < start && !(s->v[0] = spare_get(mm, pool)))
		return -ENOMEM;
	if (b && b->vm_end > end && !(s->v[1] = spare_get(mm, pool))) {
		if (s->v[0])
			simmm__vma_free(mm, s->v[0]);
		return -ENOMEM;
	}
	return 0;
}

static void spares_free(struct simmm_mm *mm, struct spares *s)
{
	for (int i = 0; i < 2; i++)
		if (s->v[i])
			simmm__vma_free(mm, s->v[i]);
}

/* hugetlb VMAs split only at huge-page boundaries (hugetlb_split()). */
static bool split_ok(struct simmm_mm *mm, simmm_addr_t addr)
{
	struct simmm_vma *v = simmm__vma_lookup(mm, addr);

	if (!v || !(v->vm_flags & SIMMM_VM_HUGETLB) || addr == v->vm_start)
		return true;
	return !(addr & ((mm->sim->page_size << v->hugetlb_order) - 1));
}

/* Everything that may fail before [start, end) can be carved out; a
 * spare VMA in *@pool (may be NULL) serves before any is allocated. */
static int prepare_carve(struct simmm_mm *mm, simmm_addr_t start, simmm_addr_t end,
			 struct spares *s, struct simmm_vma **pool)
{
	int err;

	if (!split_ok(mm, start) || !split_ok(mm, end))
		return -EINVAL;
	err = spares_alloc(mm, s, start, end, pool);
	if (err)
		return err;
	err = simmm__split_edge(mm, simmm__vma_lookup(mm, start), start);
	if (!err)
		err = simmm__split_edge(mm, simmm__vma_lookup(mm, end - 1), end);
	if (err)
		spares_free(mm, s);
	return err;
}

/* Split so that VMA boundaries exist at start and end (cannot fail). */
static void carve(struct simmm_mm *mm, simmm_addr_t start, simmm_addr_t end, struct spares *s)
{
	struct simmm_vma *a = simmm__vma_lookup(mm, start);
	struct simmm_vma *b;

	if (a)
		simmm__vma_split_with(mm, a, start, &s->v[0]);
	b = simmm__vma_lookup(mm, end - 1);
	if (b)
		simmm__vma_split_with(mm, b, end, &s->v[1]);
	spares_free(mm, s);
}

/* ---- munmap ---------------------------------------------------------------------------- */

static void unmap_vma(struct simmm_mm *mm, struct simmm_vma *vma)
{
	/* The zap munlocks the folios of a VM_LOCKED VMA
	 * (munlock_vma_folio()); the VMA's pages are uncharged. */
	int err = simmm__zap_range(mm, vma, vma->vm_start, vma->vm_end);

	NEVER(err); /* edges were split beforehand: teardown allocates nothing */
	if (vma->vm_flags & SIMMM_VM_LOCKED)
		mm->locked_vm -= simmm__vma_pages(vma);
	simmm__vma_unlink(mm, vma);
	simmm__vma_free(mm, vma);
}

/* do_vmi_munmap(); a VMA in *@pool (may be NULL) serves for a split. */
static int do_munmap_pool(struct simmm_mm *mm, simmm_addr_t start, simmm_addr_t end,
			  struct simmm_vma **pool)
{
	struct simmm_vma *vma = simmm__find_vma(mm, start), *last;
	struct simmm_change c;
	struct spares s;
	int err;

	if (!vma || vma->vm_start >= end)
		return 0;
	err = prepare_carve(mm, start, end, &s, pool);
	if (err)
		return err;
	carve(mm, start, end, &s);
	vma = simmm__find_vma(mm, start);
	last = vma;
	for (struct simmm_vma *v = vma; v && v->vm_start < end; v = simmm__vma_next(v))
		last = v;
	simmm__change_begin(&c, mm, vma->vm_start, last->vm_end, SIMMM_MMU_NOTIFY_UNMAP, NULL);
	while (vma && vma->vm_start < end) {
		struct simmm_vma *next = simmm__vma_next(vma);

		unmap_vma(mm, vma);
		vma = next;
	}
	simmm__change_end(&c);
	return 0;
}

int simmm__do_munmap(struct simmm_mm *mm, simmm_addr_t start, simmm_addr_t end)
{
	return do_munmap_pool(mm, start, end, NULL);
}

/* Common range checks: aligned start, non-empty, no wrap, below TASK_SIZE. */
static int check_range(struct simmm_mm *mm, simmm_addr_t addr, uint64_t len, simmm_addr_t *end)
{
	uint64_t alen;

	if (!simmm__mm_ok(mm) || mm->mm_users <= 0 || (addr & (mm->sim->page_size - 1)) || !len)
		return -EINVAL;
	alen = page_align(mm, len);
	if (alen < len || addr + alen < addr || addr + alen > mm->sim->geo.user_va_end)
		return -EINVAL;
	*end = addr + alen;
	return 0;
}

int simmm_munmap(struct simmm_mm *mm, simmm_addr_t addr, uint64_t len)
{
	simmm_addr_t end;
	int err = check_range(mm, addr, len, &end);

	if (err)
		return err;
	err = simmm_down_write(mm->sim, &mm->mmap_lock);
	if (err)
		return err;
	err = simmm__do_munmap(mm, addr, end);
	simmm_up_write(mm->sim, &mm->mmap_lock);
	return err;
}

/* ---- mmap -------------------------------------------------------------------------------- */

struct mmap_req {
	simmm_addr_t addr;
	uint64_t len, align, pgoff;
	uint64_t vm_flags;
	unsigned hugetlb_order;
	int flags;
	struct simmm_file *file;
};

static uint64_t prot_to_vm(int prot)
{
	return (prot & SIMMM_PROT_READ ? SIMMM_VM_READ : 0) |
	       (prot & SIMMM_PROT_WRITE ? SIMMM_VM_WRITE : 0) |
	       (prot & SIMMM_PROT_EXEC ? SIMMM_VM_EXEC : 0);
}

/* MAP_HUGETLB: the order from MAP_HUGE_SHIFT bits (0: the PMD size),
 * which must be a leaf size of the geometry (PMD or PUD). */
static int hugetlb_order(struct simmm_mm *mm, int flags, unsigned *order)
{
	unsigned log2 = ((unsigned)flags >> SIMMM_MAP_HUGE_SHIFT) & SIMMM_MAP_HUGE_MASK;
	const struct simmm_geometry *g = &mm->sim->geo;

	for (enum simmm_level l = SIMMM_LVL_PMD; l <= SIMMM_LVL_PUD; l++) {
		if (!simmm_level_can_leaf(mm->pgt, l))
			continue;
		if (log2 == 0 ? l == SIMMM_LVL_PMD : log2 == g->level[l].shift) {
			*order = simmm_geometry_level_order(g, l);
			return 0;
		}
	}
	return -EINVAL;
}

static int mmap_validate(struct simmm_mm *mm, struct mmap_req *r, int prot)
{
	int type = r->flags & (SIMMM_MAP_SHARED | SIMMM_MAP_PRIVATE);
	bool anon = r->flags & SIMMM_MAP_ANONYMOUS;
	bool special = r->flags & (SIMMM_MAP_MIXEDMAP | SIMMM_MAP_PFNMAP);
	uint64_t ps = mm->sim->page_size;

	if (!r->len || (prot & ~7) || (type != SIMMM_MAP_SHARED && type != SIMMM_MAP_PRIVATE))
		return -EINVAL;
	if ((anon && r->file) || (!anon && !r->file && !special))
		return -EINVAL;
	if (r->file && (r->file->magic != SIMMM_FILE_MAGIC || r->file->sim != mm->sim))
		return -EINVAL;
	r->align = ps;
	if (r->flags & SIMMM_MAP_HUGETLB) {
		/* ksys_mmap_pgoff(): MAP_HUGETLB with a file needs a hugetlbfs
		 * file (is_file_hugepages()), else -EINVAL before do_mmap()
		 * looks at anything else. simmm has no hugetlbfs: every file
		 * is refused. Shared anonymous hugetlb memory gets the shmem
		 * file of mmap_region() (upstream: hugetlb_file_setup()). */
		if (r->file || special || hugetlb_order(mm, r->flags, &r->hugetlb_order))
			return -EINVAL;
		r->align = ps << r->hugetlb_order;
		if (r->pgoff & ((1ULL << r->hugetlb_order) - 1))
			return -EINVAL;
	}
	if (r->len + r->align - 1 < r->len)
		return -EINVAL;
	r->len = (r->len + r->align - 1) & ~(r->align - 1);
	if (r->len > mm->sim->geo.user_va_end)
		return -ENOMEM;
	if (r->file && r->pgoff + (r->len / ps) < r->pgoff)
		return -EINVAL;
	if ((r->flags & (SIMMM_MAP_FIXED | SIMMM_MAP_FIXED_NOREPLACE)) &&
	    ((r->addr & (r->align - 1)) || r->addr + r->len < r->addr))
		return -EINVAL;
	if (type == SIMMM_MAP_SHARED && r->file && (r->file->flags & SIMMM_FILE_RDONLY) &&
	    (prot & SIMMM_PROT_WRITE))
		return -EACCES;
	return 0;
}

static void mmap_flags(struct simmm_mm *mm, struct mmap_req *r, int prot)
{
	r->vm_flags = prot_to_vm(prot) | SIMMM_VM_MAYREAD | SIMMM_VM_MAYWRITE | SIMMM_VM_MAYEXEC;
	if (r->flags & SIMMM_MAP_SHARED) {
		r->vm_flags |= SIMMM_VM_SHARED | SIMMM_VM_MAYSHARE;
		if (r->file && (r->file->flags & SIMMM_FILE_RDONLY))
			r->vm_flags &= ~SIMMM_VM_MAYWRITE;
	}
	/* hugetlbfs_file_mmap() marks the VMA VM_HUGETLB | VM_DONTEXPAND: it
	 * never grows (mremap) and never merges. */
	if (r->flags & SIMMM_MAP_HUGETLB)
		r->vm_flags |= SIMMM_VM_HUGETLB | SIMMM_VM_DONTEXPAND;
	if (r->flags & SIMMM_MAP_NORESERVE)
		r->vm_flags |= SIMMM_VM_NORESERVE;
	/* calc_vm_flag_bits(): MAP_LOCKED is VM_LOCKED, populated below as
	 * any locked mapping (do_mmap() sets *populate for VM_LOCKED). */
	if (r->flags & SIMMM_MAP_LOCKED)
		r->vm_flags |= SIMMM_VM_LOCKED;
	if (r->flags & SIMMM_MAP_MIXEDMAP)
		r->vm_flags |= SIMMM_VM_MIXEDMAP;
	if (r->flags & SIMMM_MAP_PFNMAP) /* remap_pfn_range() */
		r->vm_flags |= SIMMM_VM_PFNMAP | SIMMM_VM_IO | SIMMM_VM_DONTEXPAND;
	/* Anonymous mappings of at least a PMD are PMD aligned so THP can
	 * back them (thp_get_unmapped_area()). */
	if (!(r->flags & SIMMM_MAP_HUGETLB) && !r->file && simmm__pmd_order(mm->sim) &&
	    r->len >= (mm->sim->page_size << simmm__pmd_order(mm->sim)))
		r->align = mm->sim->page_size << simmm__pmd_order(mm->sim);
}

static int mmap_place(struct simmm_mm *mm, struct mmap_req *r)
{
	if (r->flags & (SIMMM_MAP_FIXED | SIMMM_MAP_FIXED_NOREPLACE)) {
		if (r->addr + r->len > mm->sim->geo.user_va_end)
			return -ENOMEM;
		if ((r->flags & SIMMM_MAP_FIXED_NOREPLACE) &&
		    simmm__itree_iter_first(&mm->vmas, r->addr, r->addr + r->len - 1))
			return -EEXIST;
		return 0;
	}
	return simmm__get_unmapped_area(mm, r->addr & ~(mm->sim->page_size - 1), r->len,
					r->align, &r->addr);
}

static void mmap_populate(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t start,
			  simmm_addr_t end)
{
	/* populate_vma_page_range(): write-fault private writable mappings
	 * so that COW is broken up front. */
	unsigned flags = (vma->vm_flags & (SIMMM_VM_WRITE | SIMMM_VM_SHARED)) == SIMMM_VM_WRITE ?
			 SIMMM_FAULT_FLAG_WRITE : 0;
	uint64_t step = vma->vm_flags & SIMMM_VM_HUGETLB ?
			mm->sim->page_size << vma->hugetlb_order : mm->sim->page_size;

	/* populate_vma_page_range() does nothing for VM_LOCKONFAULT (after
	 * mlockall(MCL_FUTURE | MCL_ONFAULT), MAP_POPULATE too) nor, since
	 * 6.1, for PROT_NONE. */
	if (!(vma->vm_flags & (SIMMM_VM_READ | SIMMM_VM_WRITE | SIMMM_VM_EXEC)) ||
	    (vma->vm_flags & (SIMMM_VM_PFNMAP | SIMMM_VM_MIXEDMAP | SIMMM_VM_LOCKONFAULT)))
		return;
	for (simmm_addr_t a = start; a < end; a += step) {
		struct simmm_translation t;

		if (simmm_pgtable_translate(mm->pgt, a, &t) == 0 && t.present)
			continue;
		if (simmm__handle_mm_fault(mm, vma, a, flags) & SIMMM_VM_FAULT_ERROR)
			return; /* errors are ignored, as mm_populate() does */
	}
}

static int mmap_region(struct simmm_mm *mm, struct mmap_req *r, simmm_addr_t *out)
{
	struct simmm_vma *vma = simmm__vma_alloc(mm);
	struct simmm_file *shm = NULL;
	int err;

	if (!vma)
		return -ENOMEM;
	if (!r->file && (r->flags & SIMMM_MAP_SHARED) &&
	    !(r->flags & (SIMMM_MAP_MIXEDMAP | SIMMM_MAP_PFNMAP))) {
		/* shmem_zero_setup(): shared anonymous memory is a tmpfs file. */
		err = simmm__shmem_create(mm->sim, r->len, &shm);
		if (err)
			goto err_vma;
		r->pgoff = 0;
	}
	if ((r->flags & SIMMM_MAP_FIXED) && !(r->flags & SIMMM_MAP_FIXED_NOREPLACE)) {
		err = simmm__do_munmap(mm, r->addr, r->addr + r->len);
		if (err)
			goto err_shm;
	}
	vma->vm_start = r->addr;
	vma->vm_end = r->addr + r->len;
	vma->vm_flags = r->vm_flags;
	/* __mmap_complete(): a VM_LOCKED mapping (MAP_LOCKED, mlockall(MCL_FUTURE)) is
	 * charged to locked_vm; a special or hugetlb one loses the lock. */
	if (vma->vm_flags & SIMMM_VM_LOCKED) {
		if (vma->vm_flags & (SIMMM_VM_SPECIAL | SIMMM_VM_HUGETLB))
			vma->vm_flags &= ~SIMMM_VM_LOCKED_MASK;
		else
			mm->locked_vm += r->len >> simmm__page_shift(mm);
	}
	vma->file = shm ? shm : r->file;
	vma->hugetlb_order = (r->flags & SIMMM_MAP_HUGETLB) ? r->hugetlb_order : 0;
	vma->vm_pgoff = vma->file ? r->pgoff : r->addr >> simmm__page_shift(mm);
	simmm__vma_link(mm, vma);
	if (shm)
		simmm_file_put(shm); /* the VMA's reference keeps it */
	/* vma_merge_new_range(): anonymous and file VMAs alike (a file VMA
	 * with the same file at the contiguous offset; a shared anonymous
	 * mapping has a tmpfs file of its own and merges with nothing). */
	if (!(vma->vm_flags & (SIMMM_VM_SPECIAL | SIMMM_VM_HUGETLB)))
		vma = simmm__vma_merge(mm, vma);
	/* do_mmap(): MAP_POPULATE and VM_LOCKED mappings are populated
	 * (mm_populate(), errors ignored; simmm does it under the write
	 * lock), faulting new folios in mlocked in the latter. do_mmap()
	 * tests the flags it asked for, not the VMA's: a hugetlb or special
	 * mapping that lost VM_LOCKED above is populated all the same. */
	if ((r->flags & SIMMM_MAP_POPULATE) || (r->vm_flags & SIMMM_VM_LOCKED))
		mmap_populate(mm, vma, r->addr, r->addr + r->len);
	*out = r->addr;
	return 0;
err_shm:
	if (shm)
		simmm_file_put(shm);
err_vma:
	simmm__vma_free(mm, vma);
	return err;
}

int simmm_mmap(struct simmm_mm *mm, simmm_addr_t addr, uint64_t len, int prot, int flags,
	       struct simmm_file *file, uint64_t pgoff, simmm_addr_t *out)
{
	struct mmap_req r = {.addr = addr, .len = len, .pgoff = pgoff, .flags = flags,
			     .file = file};
	int err;

	if (!simmm__mm_ok(mm) || mm->mm_users <= 0 || !out)
		return -EINVAL;
	err = mmap_validate(mm, &r, prot);
	if (err)
		return err;
	mmap_flags(mm, &r, prot);
	err = simmm_down_write(mm->sim, &mm->mmap_lock);
	if (err)
		return err;
	/* do_mmap(): the mm's def_flags (VM_LOCKED after mlockall(MCL_FUTURE)),
	 * and RLIMIT_MEMLOCK for them once the place is known
	 * (mlock_future_ok(): -EAGAIN). */
	r.vm_flags |= mm->def_flags;
	err = mmap_place(mm, &r);
	/* do_mmap(): MAP_LOCKED needs a non-zero RLIMIT_MEMLOCK or
	 * CAP_IPC_LOCK (can_do_mlock(): -EPERM), checked before the limit. */
	if (!err && (flags & SIMMM_MAP_LOCKED) && !simmm__can_do_mlock(mm))
		err = -EPERM;
	if (!err && !simmm__mlock_future_ok(mm, r.vm_flags, r.len))
		err = -EAGAIN;
	if (!err)
		err = mmap_region(mm, &r, out);
	simmm_up_write(mm->sim, &mm->mmap_lock);
	return err;
}

/* ---- exit ---------------------------------------------------------------------------------- */

void simmm__exit_mmap(struct simmm_mm *mm)
{
	struct simmm_itree_node *n;

	/* exit_mmap(): ->release first (subscribers stop using the mm and
	 * interval notifiers see RELEASE), then unmap everything without
	 * further notification, then free the tables. */
	simmm__mmu_notifier_release(mm);
	while ((n = simmm__itree_first(&mm->vmas))) {
		struct simmm_vma *vma = simmm__vma_lookup(mm, n->start);
		int err = simmm__zap_range(mm, vma, vma->vm_start, vma->vm_end);

		NEVER(err);
		if (vma->vm_flags & SIMMM_VM_LOCKED)
			mm->locked_vm -= simmm__vma_pages(vma);
		simmm__vma_unlink(mm, vma);
		simmm__vma_free(mm, vma);
	}
	mm->locked_vm -= mm->locked_vm_stale;
	mm->locked_vm_stale = 0;
}

/* ---- mremap ------------------------------------------------------------------------------------ */

struct mremap_req {
	simmm_addr_t old_addr, new_addr;
	uint64_t old_len, new_len;
	int flags;
	bool populate; /* a VM_LOCKED VMA grew: populate the new part */
};

static int mremap_validate(struct simmm_mm *mm, struct mremap_req *r)
{
	uint64_t ps = mm->sim->page_size, top = mm->sim->geo.user_va_end;
	uint64_t ol = page_align(mm, r->old_len), nl = page_align(mm, r->new_len);

	if ((r->flags & ~(SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED | SIMMM_MREMAP_DONTUNMAP)) ||
	    (r->old_addr & (ps - 1)) || !ol || !nl || ol < r->old_len || nl < r->new_len)
		return -EINVAL;
	if (((r->flags & SIMMM_MREMAP_FIXED) || (r->flags & SIMMM_MREMAP_DONTUNMAP)) &&
	    !(r->flags & SIMMM_MREMAP_MAYMOVE))
		return -EINVAL;
	if ((r->flags & SIMMM_MREMAP_DONTUNMAP) && ol != nl)
		return -EINVAL;
	if (r->old_addr + ol < r->old_addr || r->old_addr + ol > top)
		return -EINVAL;
	r->old_len = ol;
	r->new_len = nl;
	if (!(r->flags & SIMMM_MREMAP_FIXED))
		return 0;
	if ((r->new_addr & (ps - 1)) || r->new_addr + nl < r->new_addr || r->new_addr + nl > top)
		return -EINVAL;
	/* The new range may not overlap the old one. */
	if (r->new_addr < r->old_addr + ol && r->old_addr < r->new_addr + nl)
		return -EINVAL;
	return 0;
}

/*
 * move_page_tables(): the entries of [old_addr, old_end) move to new_addr
 * one extent at a time, each extent ending at the next PUD (then PMD)
 * boundary of the old or the new address (get_extent()):
 *  - a whole, mutually aligned PUD extent whose PUD entry points to a PMD
 *    table, with the new PUD slot none: the PMD table moves, with the
 *    tables, entries and deposits below it (move_normal_pud(), upstream
 *    with CONFIG_HAVE_MOVE_PUD and more than two levels);
 *  - a huge PMD (a THP, the huge zero PMD, a PMD migration or device THP
 *    entry): a whole, aligned PMD extent with the new PMD slot none moves
 *    it whole (move_huge_pmd()); otherwise it is split (into its deposited
 *    table) and its ptes move;
 *  - a PMD entry pointing to a PTE table: a whole, aligned PMD extent with
 *    the new PMD slot none moves the table (move_normal_pmd(), with
 *    CONFIG_HAVE_MOVE_PMD); otherwise its ptes move (move_ptes()).
 * simmm models an architecture with both (x86-64, arm64) on every
 * geometry; a PUD folded into the PMD's table (two levels) has no PUD step.
 * An unaligned start may first be aligned down (try_realign_addr(),
 * pmc_realign()).
 *
 * Upstream allocates the new side's tables as it goes and, when one cannot
 * be had, moves back what it moved; simmm makes the same decisions twice:
 * first only to allocate those tables (pmc_prepare()), before anything
 * changes, then to move (pmc_move()), which then allocates nothing. Each
 * extent is decided again right before it moves (under the rmap locks
 * when it takes them, pmc_rmap_locks()):
 * faults cannot change either range (they need the mmap lock, which
 * mremap holds for write), and what rmap walkers may have done to the old
 * one meanwhile (split a THP, restore a PMD migration entry) needs no
 * table the first decision did not.
 */

/* pagetable_move_control: the range left to move and where it goes, and
 * whether copy_vma() asked for the rmap locks. */
struct pmc {
	struct simmm_mm *mm;
	simmm_addr_t old_addr, old_end, new_addr;
	bool need_rmap_locks;
	/* a hugetlb VMA: the level of its huge pages (move_hugetlb_page_tables());
	 * SIMMM_NR_LEVELS otherwise */
	enum simmm_level huge_lvl;
};

/* What move_page_tables() does with the extent at old_addr. */
enum pmc_step {
	PMC_NOTHING,     /* nothing mapped there */
	PMC_NORMAL_PUD,  /* move_normal_pud() */
	PMC_HUGE_PMD,    /* move_huge_pmd() */
	PMC_NORMAL_PMD,  /* move_normal_pmd() */
	PMC_PTES,        /* split_huge_pmd() if huge, then move_ptes() */
	PMC_HUGETLB,     /* move_hugetlb_page_tables(): one huge pte */
};

/* get_extent(): up to the next @lvl boundary of the old and of the new
 * address, and no further than old_end (a boundary that wraps to 0 at the
 * top of the address space still gives the right distance). */
static uint64_t pmc_extent(const struct pmc *p, enum simmm_level lvl)
{
	uint64_t size = simmm_level_size(p->mm->pgt, lvl);
	uint64_t ext = ((p->old_addr + size) & ~(size - 1)) - p->old_addr;
	uint64_t to_new = ((p->new_addr + size) & ~(size - 1)) - p->new_addr;

	if (ext > p->old_end - p->old_addr)
		ext = p->old_end - p->old_addr;
	return ext < to_new ? ext : to_new;
}

/* The @lvl entry for @addr; 0 when it is none or a table above is missing
 * (get_old_pud() / get_old_pmd()). */
static simmm_entry_t pmc_entry(struct simmm_mm *mm, simmm_addr_t addr, enum simmm_level lvl)
{
	simmm_entry_t *slot;

	return simmm_pgtable_lookup(mm->pgt, addr, lvl, &slot) ? 0 : *slot;
}

/* A PUD step apart from the PMD one: PGTABLE_LEVELS > 2 (a PUD folded
 * into the PMD's real table would move the PMD entry itself). */
static bool pmc_has_pud(struct simmm_mm *mm)
{
	return simmm_level_size(mm->pgt, SIMMM_LVL_PUD) != simmm_level_size(mm->pgt, SIMMM_LVL_PMD);
}

/* is_swap_pmd() || pmd_trans_huge(): a PMD entry that is not a table. */
static bool pmc_huge(simmm_entry_t pmd)
{
	return pmd && !simmm_entry_is_table(pmd, SIMMM_LVL_PMD);
}

/* The decision for the extent at p->old_addr (*@ext gets its length) and
 * the deepest new-side table it needs (*@need: the level whose table must
 * exist, or SIMMM_NR_LEVELS for none), as the kernel's loop makes it:
 * alloc_new_pud() once the old PUD is there, alloc_new_pmd() once the old
 * PMD is, pte_alloc() when ptes move. */
static enum pmc_step pmc_plan(struct pmc *p, uint64_t *ext, int *need)
{
	struct simmm_mm *mm = p->mm;
	simmm_entry_t pud, pmd;
	bool whole;

	*need = SIMMM_NR_LEVELS;
	if (p->huge_lvl != SIMMM_NR_LEVELS) {
		/* move_hugetlb_page_tables(): huge pte by huge pte, never a
		 * table; both ends are huge-page aligned (align_hugetlb()). */
		*ext = simmm_level_size(mm->pgt, p->huge_lvl);
		if (!pmc_entry(mm, p->old_addr, p->huge_lvl))
			return PMC_NOTHING;
		*need = p->huge_lvl;
		return PMC_HUGETLB;
	}
	*ext = pmc_extent(p, SIMMM_LVL_PUD);
	pud = pmc_entry(mm, p->old_addr, SIMMM_LVL_PUD);
	if (!pud)
		return PMC_NOTHING;
	*need = SIMMM_LVL_PUD;
	if (pmc_has_pud(mm) && *ext == simmm_level_size(mm->pgt, SIMMM_LVL_PUD) &&
	    simmm_entry_is_table(pud, SIMMM_LVL_PUD) &&
	    !pmc_entry(mm, p->new_addr, SIMMM_LVL_PUD))
		return PMC_NORMAL_PUD;
	*ext = pmc_extent(p, SIMMM_LVL_PMD);
	pmd = pmc_entry(mm, p->old_addr, SIMMM_LVL_PMD);
	if (!pmd)
		return PMC_NOTHING;
	*need = SIMMM_LVL_PMD;
	whole = *ext == simmm_level_size(mm->pgt, SIMMM_LVL_PMD) &&
		!pmc_entry(mm, p->new_addr, SIMMM_LVL_PMD);
	if (whole)
		return pmc_huge(pmd) ? PMC_HUGE_PMD : PMC_NORMAL_PMD;
	*need = SIMMM_LVL_PTE;
	return PMC_PTES;
}

/* The new side's tables for @need (nothing for SIMMM_NR_LEVELS). */
static int pmc_alloc(struct pmc *p, int need)
{
	if (need == SIMMM_NR_LEVELS)
		return 0;
	return simmm_pgtable_alloc_level(p->mm->pgt, p->new_addr, (enum simmm_level)need, NULL);
}

/* move_soft_dirty_pte(): a moved pte is made soft-dirty, so that a
 * clear_refs user sees the range changed: a present one with
 * pte_mksoft_dirty(), any other (swap, migration, device, marker) with
 * pte_swp_mksoft_dirty(). A table moved whole keeps its ptes as they are. */
static simmm_entry_t move_soft_dirty_pte(simmm_entry_t e)
{
	return simmm_pte_present(e) ? simmm_pte_mksoft_dirty(e) : simmm_pte_swp_mksoft_dirty(e);
}

/* move_ptes(): every entry keeps what it holds (page references and
 * mapcounts, swap counts, migration and device entries); only its address
 * changes, and it is made soft-dirty. rmap stays valid because the VMA
 * keeps vm_pgoff. */
static void move_ptes(struct simmm_mm *mm, simmm_addr_t s, uint64_t len, simmm_addr_t d)
{
	for (uint64_t off = 0; off < len; off += mm->sim->page_size) {
		simmm_entry_t old = 0;

		if (simmm_pgtable_clear(mm->pgt, s + off, SIMMM_LVL_PTE, &old) || !old)
			continue;
		NEVER(simmm_pgtable_set(mm->pgt, d + off, SIMMM_LVL_PTE, move_soft_dirty_pte(old)));
	}
}

/* Allocate every new-side table the move will need, before anything
 * changes. -ENOMEM leaves the ones already had (pmc_free_new() frees
 * them). */
static int pmc_prepare(struct pmc p)
{
	for (uint64_t ext; p.old_addr < p.old_end; p.old_addr += ext, p.new_addr += ext) {
		int need, err;

		pmc_plan(&p, &ext, &need);
		err = pmc_alloc(&p, need);
		if (err)
			return err;
	}
	return 0;
}

/* Free the new side's tables that hold nothing (after a failed prepare):
 * the range is unmapped, as the kernel's unmap of the new VMA leaves it. */
static void pmc_free_new(struct pmc *p)
{
	simmm_addr_t end = p->new_addr + (p->old_end - p->old_addr);

	NEVER(simmm_pgtable_teardown(p->mm->pgt, p->new_addr, end, NULL, NULL));
}

/* Carry out @step for the extent at p->old_addr: under the rmap locks,
 * with no scheduling point since pmc_plan() decided it (simmm's way of
 * holding the PMD locks, re-checked by the kernel under them). */
static void pmc_act(struct pmc *p, enum pmc_step step, uint64_t ext)
{
	struct simmm_mm *mm = p->mm;

	switch (step) {
	case PMC_NOTHING:
		return;
	case PMC_NORMAL_PUD:
	case PMC_NORMAL_PMD:
		NEVER(simmm__pgtable_move_table(mm->pgt, p->old_addr, p->new_addr,
						step == PMC_NORMAL_PUD ? SIMMM_LVL_PUD
								       : SIMMM_LVL_PMD));
		return;
	case PMC_HUGE_PMD:
		NEVER(!simmm__move_huge_pmd(mm, p->old_addr, p->new_addr));
		return;
	case PMC_PTES:
		if (!NEVER(pmc_huge(pmc_entry(mm, p->old_addr, SIMMM_LVL_PMD))))
			move_ptes(mm, p->old_addr, ext, p->new_addr);
		return;
	case PMC_HUGETLB: {
		/* move_huge_pte(): the entry (present, migration, hwpoison or
		 * marker) moves as it is, its page keeping its reference and
		 * mapcount; hugetlb has no soft-dirty on move. */
		simmm_entry_t old = 0;

		if (!NEVER(simmm_pgtable_clear(mm->pgt, p->old_addr, p->huge_lvl, &old)) && old)
			NEVER(simmm_pgtable_set(mm->pgt, p->new_addr, p->huge_lvl, old));
		return;
	}
	}
}

/* should_take_rmap_locks(): a page table moving whole always takes them
 * (its entries change address all at once, whatever the VMA order);
 * entries and huge PMDs as copy_vma() said. */
static bool pmc_rmap_locks(const struct pmc *p, enum pmc_step step)
{
	/* move_hugetlb_page_tables() takes i_mmap_lock_write() (and the
	 * hugetlb VMA lock) around the whole move. */
	return p->need_rmap_locks || step == PMC_NORMAL_PUD || step == PMC_NORMAL_PMD ||
	       step == PMC_HUGETLB;
}

/* One extent of move_page_tables(); returns its length. */
static uint64_t pmc_move_one(struct pmc *p, struct simmm_vma *vma)
{
	struct simmm_rmap_wlock l;
	uint64_t ext;
	int need;
	enum pmc_step step = pmc_plan(p, &ext, &need);
	bool locked;

	if (step == PMC_NOTHING)
		return ext;
	/* A huge PMD that cannot move whole is split first (into its
	 * deposited table: no allocation), its CLEAR nested in the UNMAP.
	 * The split may have slept: decide again. */
	if (step == PMC_PTES && pmc_huge(pmc_entry(p->mm, p->old_addr, SIMMM_LVL_PMD))) {
		NEVER(simmm__split_huge_pmd(p->mm, vma, p->old_addr));
		step = pmc_plan(p, &ext, &need);
	}
	/* take_rmap_locks(): with them a walker (asleep in its notifier
	 * bracket, say) is waited for and finds each entry at the old or the
	 * new address, never at neither. Without them the VMA order gives
	 * the same (simmm__copy_vma()), and nothing sleeps from this decision
	 * to the move. The locks may sleep: decide again under them. */
	locked = pmc_rmap_locks(p, step);
	if (locked) {
		simmm__rmap_lock_write(vma, &l);
		step = pmc_plan(p, &ext, &need);
	}
	/* pmc_prepare() allocated this for the same decision. */
	if (!NEVER(pmc_alloc(p, need)))
		pmc_act(p, step, ext);
	if (locked)
		simmm__rmap_unlock_write(p->mm->sim, &l);
	return ext;
}

/* The moving loop of move_page_tables(), inside the caller's bracket. */
static void pmc_move(struct pmc *p, struct simmm_vma *vma)
{
	for (uint64_t ext; p->old_addr < p->old_end; p->old_addr += ext, p->new_addr += ext)
		ext = pmc_move_one(p, vma);
}

/* can_align_down(): may the move start at @addr's PMD boundary? Only at
 * the start of its VMA (@vm_start: the old VMA before the carve, the new
 * one), with no VMA between the boundary and it. */
static bool pmc_can_align_down(struct simmm_mm *mm, simmm_addr_t addr, simmm_addr_t vm_start,
			       uint64_t mask)
{
	struct simmm_vma *v = simmm__find_vma(mm, addr & mask);

	return vm_start == addr && !(v && v->vm_start < addr);
}

/* try_realign_addr() (6.7+): when the old and new addresses sit at the
 * same offset in their PMDs, each at the start of its VMA with nothing
 * mapped below it down to the PMD boundary, and the move reaches the old
 * address's next boundary, start at the boundaries instead, so that the
 * first PMD's table can move whole. old_end stays: the UNMAP range starts
 * at the boundary. The new VMA, to end at @new_end, is not linked yet
 * (upstream's copy_vma() linked it): it must not lie below the old
 * address either. */
static void pmc_realign(struct pmc *p, simmm_addr_t old_vm_start, simmm_addr_t new_end)
{
	uint64_t size = simmm_level_size(p->mm->pgt, SIMMM_LVL_PMD), mask = ~(size - 1);
	uint64_t old_align = p->old_addr & (size - 1);

	if (p->old_end - p->old_addr < size - old_align || !old_align ||
	    old_align != (p->new_addr & (size - 1)) ||
	    !pmc_can_align_down(p->mm, p->old_addr, old_vm_start, mask) ||
	    !pmc_can_align_down(p->mm, p->new_addr, p->new_addr, mask) ||
	    (p->new_addr < p->old_addr && new_end > (p->old_addr & mask)))
		return;
	p->old_addr &= mask;
	p->new_addr &= mask;
}

/* Can the source, once carved out, be the VMA the new one merges with
 * (simmm__copy_vma())? Only a never-faulted anonymous one whose linear
 * index, like the destination's, follows its address, right next to the
 * destination. Its munmap then splits the merged VMA, which needs a spare
 * VMA allocated before the point of no return. */
static bool move_may_merge_self(struct simmm_mm *mm, struct simmm_vma *vma,
				const struct mremap_req *r, simmm_addr_t dst)
{
	unsigned shift = simmm__page_shift(mm);

	return simmm__vma_is_anonymous(vma) && !vma->anon_vma &&
	       !(vma->vm_flags & (SIMMM_VM_SPECIAL | SIMMM_VM_HUGETLB)) &&
	       simmm__linear_page_index(vma, r->old_addr, shift) == r->old_addr >> shift &&
	       (dst == r->old_addr + r->old_len || dst + r->new_len == r->old_addr);
}

/*
 * dontunmap_complete(): the old VMA stays whole (move_vma() splits nothing
 * for MREMAP_DONTUNMAP; only an unmap would), empty where the range was.
 * VM_LOCKED_MASK is cleared on all of it, what it still maps outside the
 * range included, which stays mlocked (nothing munlocks it); locked_vm is
 * left as it is ("we won't unmap"): the VMA's pages stay charged though no
 * longer locked (locked_vm_stale). If the range was the whole VMA and it
 * did not merge with the new one (a never-faulted anonymous VMA next to
 * its destination), it leaves its anon_vma (unlink_anon_vmas()). @vma is
 * the old VMA as copy_vma() left it (the merged one in that case, new
 * range included, which loses the lock too, as upstream).
 */
static void dontunmap_complete(struct simmm_mm *mm, const struct mremap_req *r,
			       struct simmm_vma *vma, struct simmm_vma *new_vma)
{
	if (vma->vm_flags & SIMMM_VM_LOCKED) {
		mm->locked_vm_stale += simmm__vma_pages(vma);
		vma->vm_flags &= ~SIMMM_VM_LOCKED_MASK;
		simmm__mlock_flags_dropped(vma);
	}
	if (new_vma != vma && r->old_addr == vma->vm_start &&
	    r->old_addr + r->old_len == vma->vm_end)
		simmm__vma_unlink_anon(mm, vma);
}

/* Move [old_addr, +mlen) of the VMA to @dst. Everything that can fail is
 * done first (spare VMAs for the carve and for a split of a VMA the
 * source merged into, the new side's tables, the new VMA); then the old
 * range is carved out (not with MREMAP_DONTUNMAP: dontunmap_complete())
 * and its entries move. */
static int move_vma(struct simmm_mm *mm, struct mremap_req *r, simmm_addr_t dst)
{
	uint64_t mlen = r->old_len < r->new_len ? r->old_len : r->new_len;
	struct pmc p = {.mm = mm, .old_addr = r->old_addr, .old_end = r->old_addr + mlen,
			.new_addr = dst, .huge_lvl = SIMMM_NR_LEVELS};
	struct simmm_vma *vma = simmm__vma_lookup(mm, r->old_addr), *nv, *new_vma, *spare = NULL;
	enum simmm_mmu_notifier_event ev = SIMMM_MMU_NOTIFY_UNMAP;
	bool dontunmap = r->flags & SIMMM_MREMAP_DONTUNMAP;
	bool self = !dontunmap && move_may_merge_self(mm, vma, r, dst);
	struct simmm_change c;
	struct spares s = {{NULL, NULL}};
	/* Without DONTUNMAP simmm carves the old range out first, where
	 * upstream's unmap of it splits after the move (the same VMAs in the
	 * end); with it nothing is split, and a THP straddling an edge of the
	 * range is split as the move meets it (move_page_tables()). */
	int err = dontunmap ? 0 : prepare_carve(mm, r->old_addr, r->old_addr + r->old_len, &s, NULL);

	if (err)
		return err;
	if (vma->vm_flags & SIMMM_VM_HUGETLB) {
		p.huge_lvl = simmm__hugetlb_level(mm->sim, vma->hugetlb_order);
		ev = SIMMM_MMU_NOTIFY_CLEAR; /* move_hugetlb_page_tables()'s event */
	} else {
		pmc_realign(&p, vma->vm_start, dst + r->new_len);
	}
	err = pmc_prepare(p);
	nv = err ? NULL : simmm__vma_alloc(mm);
	if (nv && self && !(spare = simmm__vma_alloc(mm))) {
		simmm__vma_free(mm, nv);
		nv = NULL;
	}
	if (!nv) {
		pmc_free_new(&p);
		spares_free(mm, &s);
		return err ? err : -ENOMEM;
	}
	if (!dontunmap)
		carve(mm, r->old_addr, r->old_addr + r->old_len, &s);
	vma = simmm__vma_lookup(mm, r->old_addr);
	/* vrm_stat_account(): the new range of a VM_LOCKED VMA is charged
	 * (the munmap of the old one below uncharges that). */
	if (vma->vm_flags & SIMMM_VM_LOCKED)
		mm->locked_vm += r->new_len >> simmm__page_shift(mm);
	/* copy_vma(): the new VMA is in the rmap trees before anything moves,
	 * so that a walker sees every entry in one VMA or the other. Its
	 * entries move as they are: their folios stay mlocked. */
	new_vma = simmm__copy_vma(mm, &vma, nv, r->old_addr, dst, r->new_len, &p.need_rmap_locks);
	/* move_page_tables(): one MMU_NOTIFY_UNMAP invalidation of the old
	 * range brackets the whole move (MMU_NOTIFY_CLEAR for hugetlb). The
	 * hugetlb reservation upstream's move_vma() then clears
	 * (clear_vma_resv_huge_pages()) does not exist in simmm. */
	simmm__change_begin(&c, mm, p.old_addr, p.old_end, ev, NULL);
	pmc_move(&p, vma);
	simmm__change_end(&c);
	/* The old range is a VMA of its own (carved), or the head or tail of
	 * the one it merged into: one split, with the spare. With DONTUNMAP
	 * the old VMA stays (dontunmap_complete()). */
	if (!dontunmap)
		NEVER(do_munmap_pool(mm, r->old_addr, r->old_addr + r->old_len, &spare));
	else
		dontunmap_complete(mm, r, vma, new_vma);
	if (spare)
		simmm__vma_free(mm, spare);
	return 0;
}

/*
 * vrm_can_expand_in_place() and expand_vma_in_place(): a range that ends
 * its VMA grows in place when the pages after it are free (*@done; else
 * the caller moves it or fails). The growth is vma_merge_extend(): the
 * VMA takes the new range and, when the next VMA begins right at the new
 * end and is compatible (same flags, file and driver data, continuing
 * vm_pgoff, compatible anon_vma: simmm__vma_merge_next()), that one too.
 * vma_merge_new_range() merges no VM_SPECIAL VMA, so growing a special
 * one that VM_DONTEXPAND and VM_PFNMAP did not refuse (a VM_MIXEDMAP one)
 * fails with -ENOMEM, without the fallback to a move, as upstream.
 */
static int grow_in_place(struct simmm_mm *mm, struct simmm_vma *vma, struct mremap_req *r,
			 bool *done)
{
	simmm_addr_t new_end = r->old_addr + r->new_len;
	struct simmm_vma *next = simmm__vma_next(vma);

	*done = false;
	if (r->old_addr + r->old_len != vma->vm_end || (r->flags & SIMMM_MREMAP_DONTUNMAP) ||
	    new_end < r->old_addr || new_end > mm->sim->geo.user_va_end ||
	    (next && next->vm_start < new_end))
		return 0;
	if (vma->vm_flags & SIMMM_VM_SPECIAL)
		return -ENOMEM;
	simmm__vma_set_range(vma, vma->vm_start, new_end, vma->vm_pgoff);
	/* vrm_stat_account(): the growth is charged; a merged next VMA has
	 * the same flags, so was charged alike already. */
	if (vma->vm_flags & SIMMM_VM_LOCKED)
		mm->locked_vm += (r->new_len - r->old_len) >> simmm__page_shift(mm);
	simmm__vma_merge_next(mm, vma);
	*done = true;
	return 0;
}

/*
 * align_hugetlb(): a hugetlb VMA moves and shrinks in whole huge pages
 * (mremap of hugetlb, 5.16+): both lengths are rounded up to the huge page
 * size, both addresses must be aligned to it (upstream checks @new_addr
 * as passed, MREMAP_FIXED or not), and it may not grow (its reservation
 * cannot be split). -EINVAL otherwise.
 */
static int align_hugetlb(struct simmm_mm *mm, const struct simmm_vma *vma, struct mremap_req *r)
{
	uint64_t hps = mm->sim->page_size << vma->hugetlb_order;
	uint64_t ol = (r->old_len + hps - 1) & ~(hps - 1), nl = (r->new_len + hps - 1) & ~(hps - 1);

	if (ol < r->old_len || nl < r->new_len || (r->old_addr & (hps - 1)) ||
	    (r->new_addr & (hps - 1)) || nl > ol)
		return -EINVAL;
	r->old_len = ol;
	r->new_len = nl;
	return 0;
}

/*
 * check_prep_vma(), mremap_at() and mremap_to() for the VMA at old_addr:
 * a VMA must contain old_addr (-EFAULT). Without a new address keeping
 * the size does nothing and shrinking only unmaps the tail, which may span
 * other VMAs and holes ("can always be done in place"). Otherwise what moves or
 * grows must lie inside that VMA (-EFAULT): the old range, or only its
 * first new_len bytes when a FIXED move shrinks (the tail is unmapped
 * first, so it may cross VMA boundaries, 6.17+). A FIXED move unmaps its
 * target, then the shrunk tail, then moves; a failure after either
 * leaves them unmapped. remap_move() calls this for each VMA of a
 * same-size FIXED move.
 */
static int mremap_one(struct simmm_mm *mm, struct mremap_req *r, simmm_addr_t *out)
{
	struct simmm_vma *vma = simmm__vma_lookup(mm, r->old_addr);
	simmm_addr_t dst = r->new_addr;
	uint64_t keep;
	bool grown;
	int err;

	if (!vma)
		return -EFAULT;
	if ((vma->vm_flags & SIMMM_VM_HUGETLB) && (err = align_hugetlb(mm, vma, r)))
		return err;
	keep = r->new_len < r->old_len ? r->new_len : r->old_len;
	*out = r->old_addr;
	/* mremap_at(): the same size is a no-op (MREMAP_NO_RESIZE), which
	 * must not split the VMA at the range's end (nor fail there, inside
	 * a hugetlb page); a shrink unmaps the tail (shrink_vma()). */
	if (!(r->flags & (SIMMM_MREMAP_FIXED | SIMMM_MREMAP_DONTUNMAP)) && r->new_len == r->old_len)
		return 0;
	if (!(r->flags & (SIMMM_MREMAP_FIXED | SIMMM_MREMAP_DONTUNMAP)) && r->new_len < r->old_len)
		return simmm__do_munmap(mm, r->old_addr + r->new_len, r->old_addr + r->old_len);
	/* check_prep_vma(): MREMAP_DONTUNMAP keeps the old VMA, which a
	 * VM_DONTEXPAND or VM_PFNMAP (driver) mapping does not allow. */
	if ((r->flags & SIMMM_MREMAP_DONTUNMAP) &&
	    (vma->vm_flags & (SIMMM_VM_DONTEXPAND | SIMMM_VM_PFNMAP)))
		return -EINVAL;
	if (r->old_addr + keep > vma->vm_end)
		return -EFAULT;
	if (r->new_len > r->old_len && (vma->vm_flags & (SIMMM_VM_DONTEXPAND | SIMMM_VM_PFNMAP)))
		return -EFAULT;
	/* check_prep_vma(): growing a VM_LOCKED VMA is checked against
	 * RLIMIT_MEMLOCK, and populates the new part afterwards. */
	if (r->new_len > r->old_len &&
	    !simmm__mlock_future_ok(mm, vma->vm_flags, r->new_len - r->old_len))
		return -EAGAIN;
	r->populate = r->new_len > r->old_len && (vma->vm_flags & SIMMM_VM_LOCKED);
	if (!(r->flags & (SIMMM_MREMAP_FIXED | SIMMM_MREMAP_DONTUNMAP))) {
		err = grow_in_place(mm, vma, r, &grown);
		if (err || grown)
			return err;
		if (!(r->flags & SIMMM_MREMAP_MAYMOVE))
			return -ENOMEM;
	}
	if (!(r->flags & SIMMM_MREMAP_FIXED)) {
		err = simmm__get_unmapped_area(mm, 0, r->new_len, mm->sim->page_size, &dst);
		if (err)
			return err;
	}
	/* MREMAP_FIXED unmaps the target first, as upstream: a later
	 * -ENOMEM leaves it unmapped; so does shrink_vma() with the tail. */
	err = 0;
	if (r->flags & SIMMM_MREMAP_FIXED)
		err = simmm__do_munmap(mm, dst, dst + r->new_len);
	if (!err && r->new_len < r->old_len) {
		err = simmm__do_munmap(mm, r->old_addr + r->new_len, r->old_addr + r->old_len);
		r->old_len = r->new_len;
	}
	if (!err)
		err = move_vma(mm, r, dst);
	if (!err)
		*out = dst;
	return err;
}

/*
 * vma_multi_allowed(): may the VMA be one of several a move takes? Not
 * with a userfaultfd context armed (userfaultfd_armed(): notifying needs
 * the mmap lock dropped mid-move). A file whose own get_unmapped_area()
 * might not honour MAP_FIXED refuses too; simmm's files (regular files
 * as ext4's, with thp_get_unmapped_area(), and shmem) are known good, and
 * its special mappings stand for drivers without that hook.
 */
static bool vma_multi_allowed(const struct simmm_vma *vma)
{
	return !(vma->vm_flags & (SIMMM_VM_UFFD_MISSING | SIMMM_VM_UFFD_WP));
}

/*
 * remap_move() (6.17+): a same-size MREMAP_FIXED move (vrm_move_only();
 * MREMAP_DONTUNMAP allowed) takes every VMA in [old_addr, +old_len), in
 * address order, each part to the same offset from new_addr (the gaps
 * between them stay gaps, and what the target has there stays mapped:
 * only each part's own target is unmapped, by mremap_one()). A gap at
 * old_addr, or no VMA at all, is -EFAULT. A VMA that may not be one of
 * several (vma_multi_allowed()) fails the call with -EFAULT when it is
 * not the first or when the range goes on past its end; a single such
 * VMA moves as before. The first failure ends the call: what moved
 * stays moved (upstream optimises for the far likelier valid case and
 * checks nothing ahead). *@out gets the first part's new address.
 *
 * The next VMA is looked up from the end the last one had before it
 * moved, as upstream's vma_iter_invalidate() resumes: the parts that
 * moved left holes, and a destination merged with a VMA still to move
 * (only next to the range's ends: the ranges do not overlap) is found
 * there, covering it.
 */
static int remap_move(struct simmm_mm *mm, struct mremap_req *r, simmm_addr_t *out)
{
	simmm_addr_t start = r->old_addr, end = start + r->old_len, target = r->new_addr;
	simmm_addr_t pos = start, last_end = start;
	bool seen = false;

	for (struct simmm_vma *vma;
	     pos < end && (vma = simmm__find_vma(mm, pos)) && vma->vm_start < end;) {
		simmm_addr_t addr = vma->vm_start > start ? vma->vm_start : start;
		simmm_addr_t to = target + (seen ? vma->vm_start - last_end : 0);
		struct mremap_req part = {.old_addr = addr, .new_addr = to, .flags = r->flags};
		simmm_addr_t got = 0;
		int err;

		part.old_len = part.new_len = (vma->vm_end < end ? vma->vm_end : end) - addr;
		if (!seen && start < vma->vm_start)
			return -EFAULT;
		if (seen && NEVER(vma->vm_start < last_end))
			return -EFAULT;
		if (!vma_multi_allowed(vma) && (seen || vma->vm_end < end))
			return -EFAULT;
		last_end = vma->vm_end;
		err = mremap_one(mm, &part, &got);
		if (err)
			return err;
		if (!seen)
			*out = got;
		seen = true;
		target = got + part.new_len;
		pos = last_end;
	}
	return seen ? 0 : -EFAULT;
}

static int mremap_locked(struct simmm_mm *mm, struct mremap_req *r, simmm_addr_t *out)
{
	/* do_mremap(): vrm_move_only() moves take several VMAs. */
	if ((r->flags & SIMMM_MREMAP_FIXED) && r->old_len == r->new_len)
		return remap_move(mm, r, out);
	return mremap_one(mm, r, out);
}

int simmm_mremap(struct simmm_mm *mm, simmm_addr_t old_addr, uint64_t old_len, uint64_t new_len,
		 int flags, simmm_addr_t new_addr, simmm_addr_t *out)
{
	struct mremap_req r = {.old_addr = old_addr, .old_len = old_len, .new_len = new_len,
			       .flags = flags, .new_addr = new_addr};
	int err;

	if (!simmm__mm_ok(mm) || mm->mm_users <= 0 || !out)
		return -EINVAL;
	err = mremap_validate(mm, &r);
	if (err)
		return err;
	err = simmm_down_write(mm->sim, &mm->mmap_lock);
	if (err)
		return err;
	err = mremap_locked(mm, &r, out);
	simmm_up_write(mm->sim, &mm->mmap_lock);
	/* mm_populate() of the part a locked mapping grew by, errors ignored. */
	if (!err && r.populate)
		(void)simmm__mm_populate(mm, *out + r.old_len, r.new_len - r.old_len, true);
	return err;
}

/* ---- introspection --------------------------------------------------------------------------- */

int simmm_vma_info(struct simmm_mm *mm, simmm_addr_t addr, struct simmm_vma_info *out)
{
	struct simmm_vma *vma;

	if (!simmm__mm_ok(mm) || !out)
		return -EINVAL;
	vma = simmm__vma_lookup(mm, addr);
	if (!vma)
		return -ENOENT;
	*out = (struct simmm_vma_info){.start = vma->vm_start, .end = vma->vm_end,
				       .vm_flags = vma->vm_flags, .pgoff = vma->vm_pgoff,
				       .anon = vma->file == NULL,
				       .hugetlb_order = vma->hugetlb_order};
	return 0;
}

long simmm_mm_dump(struct simmm_mm *mm, char *buf, size_t len)
{
	long total = 0;

	if (!simmm__mm_ok(mm) || (!buf && len))
		return -EINVAL;
	for (struct simmm_itree_node *n = simmm__itree_first(&mm->vmas); n;
	     n = simmm__itree_next(n)) {
		struct simmm_vma *v = simmm__vma_lookup(mm, n->start);
		size_t off;
		char line[128];
		int w = snprintf(line, sizeof(line),
				 "%012llx-%012llx %c%c%c%c %08llx %s\n",
				 (unsigned long long)v->vm_start, (unsigned long long)v->vm_end,
				 v->vm_flags & SIMMM_VM_READ ? 'r' : '-',
				 v->vm_flags & SIMMM_VM_WRITE ? 'w' : '-',
				 v->vm_flags & SIMMM_VM_EXEC ? 'x' : '-',
				 v->vm_flags & SIMMM_VM_SHARED ? 's' : 'p',
				 (unsigned long long)v->vm_pgoff,
				 v->file ? ((v->file->flags & SIMMM_FILE_SHMEM) ? "[shmem]" : "[file]")
					 : "[anon]");
		long d;

		if (w < 0)
			return -EINVAL;
		for (int i = 0; i < w; i++)
			if ((size_t)total + i + 1 < len)
				buf[total + i] = line[i];
		total += w;
		if (len)
			buf[(size_t)total < len ? (size_t)total : len - 1] = 0;
		off = (size_t)total < len ? (size_t)total : len;
		d = simmm_pgtable_dump(mm->pgt, v->vm_start, v->vm_end, buf ? buf + off : NULL,
				       len - off);
		if (d > 0)
			total += d;
	}
	return total;
}
