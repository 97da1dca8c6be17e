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

static int spares_alloc(struct simmm_mm *mm, struct spares *s, simmm_addr_t start,
			simmm_addr_t end)
{
	struct simmm_vma *a = simmm__vma_lookup(mm, start);
	struct simmm_vma *b = simmm__vma_lookup(mm, end - 1);

	s->v[0] = s->v[1] = NULL;
	if (a && a->vm_start < start && !(s->v[0] = simmm__vma_alloc(mm)))
		return -ENOMEM;
	if (b && b->vm_end > end && !(s->v[1] = simmm__vma_alloc(mm))) {
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

/* Everything that may fail before [start, end) can be carved out. */
static int prepare_carve(struct simmm_mm *mm, simmm_addr_t start, simmm_addr_t end,
			 struct spares *s)
{
	int err;

	if (!split_ok(mm, start) || !split_ok(mm, end))
		return -EINVAL;
	err = spares_alloc(mm, s, start, end);
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
	int err = simmm__zap_range(mm, vma, vma->vm_start, vma->vm_end);

	NEVER(err); /* edges were split beforehand: teardown allocates nothing */
	simmm__vma_unlink(mm, vma);
	simmm__vma_free(mm, vma);
}

int simmm__do_munmap(struct simmm_mm *mm, simmm_addr_t start, simmm_addr_t end)
{
	struct simmm_vma *vma = simmm__find_vma(mm, start), *last;
	struct simmm_change c;
	struct spares s;
	int err;

	if (!vma || vma->vm_start >= end)
		return 0;
	err = prepare_carve(mm, start, end, &s);
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
		if (special || hugetlb_order(mm, r->flags, &r->hugetlb_order))
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
	if (r->flags & SIMMM_MAP_HUGETLB)
		r->vm_flags |= SIMMM_VM_HUGETLB;
	if (r->flags & SIMMM_MAP_NORESERVE)
		r->vm_flags |= SIMMM_VM_NORESERVE;
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

	if (!(vma->vm_flags & (SIMMM_VM_READ | SIMMM_VM_WRITE | SIMMM_VM_EXEC)) ||
	    (vma->vm_flags & (SIMMM_VM_PFNMAP | SIMMM_VM_MIXEDMAP)))
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
	vma->file = shm ? shm : r->file;
	vma->hugetlb_order = (r->flags & SIMMM_MAP_HUGETLB) ? r->hugetlb_order : 0;
	vma->vm_pgoff = vma->file ? r->pgoff : r->addr >> simmm__page_shift(mm);
	simmm__vma_link(mm, vma);
	if (shm)
		simmm_file_put(shm); /* the VMA's reference keeps it */
	if (!vma->file && !(vma->vm_flags & (SIMMM_VM_SPECIAL | SIMMM_VM_HUGETLB)))
		vma = simmm__vma_merge(mm, vma);
	if (r->flags & SIMMM_MAP_POPULATE)
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
	err = mmap_place(mm, &r);
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
		simmm__vma_unlink(mm, vma);
		simmm__vma_free(mm, vma);
	}
}

/* ---- mremap ------------------------------------------------------------------------------------ */

struct mremap_req {
	simmm_addr_t old_addr, new_addr;
	uint64_t old_len, new_len;
	int flags;
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

/* Split THP leaves of the range so entries move as ptes, each into its
 * deposited table (upstream's move_huge_pmd() moves aligned PMDs whole,
 * withdrawing the deposit from the old PMD table and depositing it in the
 * new one; simmm splits: same data, same rmap, no deposit left behind). */
static int split_huge_in(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t s,
			 simmm_addr_t e)
{
	for (simmm_addr_t a = s; a < e; a += mm->sim->page_size) {
		struct simmm_translation t;
		int err;

		if (simmm_pgtable_translate(mm->pgt, a, &t) || t.level == SIMMM_LVL_PTE)
			continue;
		err = simmm__split_huge_pmd(mm, vma, a);
		if (err)
			return err;
	}
	return 0;
}

/* Allocate the destination tables for every entry that will move. */
static int prealloc_dest(struct simmm_mm *mm, simmm_addr_t s, simmm_addr_t len, simmm_addr_t d)
{
	for (simmm_addr_t off = 0; off < len; off += mm->sim->page_size) {
		struct simmm_translation t;
		int err;

		if (simmm_pgtable_translate(mm->pgt, s + off, &t))
			continue;
		err = simmm_pgtable_alloc_level(mm->pgt, d + off, SIMMM_LVL_PTE, NULL);
		if (err)
			return err;
	}
	return 0;
}

/* move_ptes(): every entry keeps what it holds (page references and
 * mapcounts, swap counts, migration and device entries); only its address
 * changes. rmap stays valid because the VMA keeps vm_pgoff. */
static void move_ptes(struct simmm_mm *mm, simmm_addr_t s, simmm_addr_t len, simmm_addr_t d)
{
	for (simmm_addr_t off = 0; off < len; off += mm->sim->page_size) {
		simmm_entry_t old = 0;

		if (simmm_pgtable_clear(mm->pgt, s + off, SIMMM_LVL_PTE, &old) || !old)
			continue;
		NEVER(simmm_pgtable_set(mm->pgt, d + off, SIMMM_LVL_PTE, old));
	}
}

/* Move [old_addr, +mlen) of the VMA to @dst. Everything that can fail is
 * done first (spare VMAs for the carve, destination tables, the new VMA);
 * then the old range is carved out and its entries move. */
static int move_vma(struct simmm_mm *mm, struct mremap_req *r, simmm_addr_t dst)
{
	uint64_t mlen = r->old_len < r->new_len ? r->old_len : r->new_len;
	struct simmm_vma *vma, *nv;
	struct simmm_change c;
	struct spares s;
	int err = prepare_carve(mm, r->old_addr, r->old_addr + r->old_len, &s);

	if (err)
		return err;
	err = split_huge_in(mm, simmm__vma_lookup(mm, r->old_addr), r->old_addr,
			    r->old_addr + mlen);
	if (!err)
		err = prealloc_dest(mm, r->old_addr, mlen, dst);
	nv = err ? NULL : simmm__vma_alloc(mm);
	if (!nv) {
		spares_free(mm, &s);
		return err ? err : -ENOMEM;
	}
	carve(mm, r->old_addr, r->old_addr + r->old_len, &s);
	vma = simmm__vma_lookup(mm, r->old_addr);
	*nv = *vma;
	nv->vm_start = dst;
	nv->vm_end = dst + r->new_len;
	simmm__change_begin(&c, mm, r->old_addr, r->old_addr + mlen, SIMMM_MMU_NOTIFY_UNMAP, NULL);
	move_ptes(mm, r->old_addr, mlen, dst);
	simmm__vma_link(mm, nv);
	simmm__change_end(&c);
	if (!(r->flags & SIMMM_MREMAP_DONTUNMAP))
		NEVER(simmm__do_munmap(mm, r->old_addr, r->old_addr + r->old_len));
	return 0;
}

static bool grow_in_place(struct simmm_mm *mm, struct simmm_vma *vma, struct mremap_req *r)
{
	simmm_addr_t new_end = r->old_addr + r->new_len;
	struct simmm_vma *next = simmm__vma_next(vma);

	if (r->old_addr + r->old_len != vma->vm_end || (r->flags & SIMMM_MREMAP_DONTUNMAP) ||
	    new_end < r->old_addr || new_end > mm->sim->geo.user_va_end ||
	    (next && next->vm_start < new_end))
		return false;
	simmm__vma_set_range(vma, vma->vm_start, new_end, vma->vm_pgoff);
	return true;
}

static int mremap_locked(struct simmm_mm *mm, struct mremap_req *r, simmm_addr_t *out)
{
	struct simmm_vma *vma = simmm__vma_lookup(mm, r->old_addr);
	simmm_addr_t dst = r->new_addr;
	int err;

	if (!vma || r->old_addr + r->old_len > vma->vm_end)
		return -EFAULT;
	if (vma->vm_flags & SIMMM_VM_HUGETLB)
		return -EINVAL;
	if (r->new_len > r->old_len && (vma->vm_flags & SIMMM_VM_DONTEXPAND))
		return -EFAULT;
	*out = r->old_addr;
	if (!(r->flags & (SIMMM_MREMAP_FIXED | SIMMM_MREMAP_DONTUNMAP))) {
		if (r->new_len <= r->old_len)
			return simmm__do_munmap(mm, r->old_addr + r->new_len,
						r->old_addr + r->old_len);
		if (grow_in_place(mm, vma, r))
			return 0;
		if (!(r->flags & SIMMM_MREMAP_MAYMOVE))
			return -ENOMEM;
	}
	if (!(r->flags & SIMMM_MREMAP_FIXED)) {
		err = simmm__get_unmapped_area(mm, 0, r->new_len, mm->sim->page_size, &dst);
		if (err)
			return err;
	}
	/* MREMAP_FIXED unmaps the target first, as upstream: a later
	 * -ENOMEM leaves it unmapped. */
	err = 0;
	if (r->flags & SIMMM_MREMAP_FIXED)
		err = simmm__do_munmap(mm, dst, dst + r->new_len);
	if (!err)
		err = move_vma(mm, r, dst);
	if (!err)
		*out = dst;
	return err;
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
