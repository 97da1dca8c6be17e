// SPDX-License-Identifier: MIT
/*
 * The VMA tree of an mm (the kernel's maple tree; here the augmented
 * interval tree, O(log n) lookup), VMA split and merge, and placement
 * (get_unmapped_area() with the top-down layout).
 */
#include <errno.h>
#include <stddef.h>

#include "mm/mm.h"

#define VMA_OF(n, member) \
	((struct simmm_vma *)((char *)(n) - offsetof(struct simmm_vma, member)))

static struct simmm_vma *node_vma(struct simmm_itree_node *n)
{
	return n ? VMA_OF(n, node) : NULL;
}

struct simmm_vma *simmm__vma_lookup(struct simmm_mm *mm, simmm_addr_t addr)
{
	return node_vma(simmm__itree_iter_first(&mm->vmas, addr, addr));
}

struct simmm_vma *simmm__find_vma(struct simmm_mm *mm, simmm_addr_t addr)
{
	/* The first VMA whose last byte is at or above @addr. */
	return node_vma(simmm__itree_iter_first(&mm->vmas, addr, UINT64_MAX));
}

struct simmm_vma *simmm__vma_next(struct simmm_vma *vma)
{
	return node_vma(simmm__itree_next(&vma->node));
}

struct simmm_vma *simmm__vma_prev(struct simmm_vma *vma)
{
	return node_vma(simmm__itree_prev(&vma->node));
}

/* ---- allocation and linking ------------------------------------------------ */

struct simmm_vma *simmm__vma_alloc(struct simmm_mm *mm)
{
	struct simmm_vma *vma = simmm__zalloc(mm->sim, SIMMM_ALLOC_META, sizeof(*vma));

	if (vma)
		vma->mm = mm;
	return vma;
}

void simmm__vma_free(struct simmm_mm *mm, struct simmm_vma *vma)
{
	simmm__free(mm->sim, SIMMM_ALLOC_META, vma, sizeof(*vma));
}

static void set_intervals(struct simmm_vma *vma)
{
	uint64_t pages = simmm__vma_pages(vma);

	vma->node.start = vma->vm_start;
	vma->node.last = vma->vm_end - 1;
	vma->file_node.start = vma->anon_node.start = vma->vm_pgoff;
	vma->file_node.last = vma->anon_node.last = vma->vm_pgoff + pages - 1;
}

/* The rmap trees (i_mmap, anon_vma) change only under their write locks
 * (simmm__rmap_lock_write()); the mm's tree under the mmap lock. */
static void trees_insert(struct simmm_mm *mm, struct simmm_vma *vma)
{
	set_intervals(vma);
	simmm__itree_insert(&mm->vmas, &vma->node);
	if (vma->file)
		simmm__itree_insert(&vma->file->i_mmap, &vma->file_node);
	if (vma->anon_vma)
		simmm__itree_insert(&vma->anon_vma->vmas, &vma->anon_node);
}

static void trees_remove(struct simmm_mm *mm, struct simmm_vma *vma)
{
	simmm__itree_remove(&mm->vmas, &vma->node);
	if (vma->file)
		simmm__itree_remove(&vma->file->i_mmap, &vma->file_node);
	if (vma->anon_vma)
		simmm__itree_remove(&vma->anon_vma->vmas, &vma->anon_node);
}

/* Link with the rmap write locks held (the caller's). */
static void vma_link_locked(struct simmm_mm *mm, struct simmm_vma *vma)
{
	vma->mm = mm;
	trees_insert(mm, vma);
	if (vma->file)
		simmm__file_get(vma->file);
	if (vma->anon_vma)
		simmm__anon_vma_get(vma->anon_vma);
}

static void set_range_locked(struct simmm_vma *vma, simmm_addr_t start, simmm_addr_t end,
			     uint64_t pgoff)
{
	trees_remove(vma->mm, vma);
	vma->vm_start = start;
	vma->vm_end = end;
	vma->vm_pgoff = pgoff;
	trees_insert(vma->mm, vma);
}

/* Link into the mm, the file's i_mmap and the anon_vma, taking a file
 * reference and an anon_vma reference (pairs with simmm__vma_unlink). */
void simmm__vma_link(struct simmm_mm *mm, struct simmm_vma *vma)
{
	struct simmm_rmap_wlock l;

	vma->mm = mm;
	simmm__rmap_lock_write(vma, &l);
	vma_link_locked(mm, vma);
	simmm__rmap_unlock_write(mm->sim, &l);
}

/* unlink_file_vma() / unlink_anon_vmas(): out of the trees under the
 * write locks (an rmap walker still using the VMA finishes first), then
 * the references go, after the unlock, since the last one frees the
 * anon_vma or the file with its lock. */
void simmm__vma_unlink(struct simmm_mm *mm, struct simmm_vma *vma)
{
	struct simmm_file *file = vma->file;
	struct simmm_anon_vma *av = vma->anon_vma;
	struct simmm_rmap_wlock l;

	simmm__rmap_lock_write(vma, &l);
	trees_remove(mm, vma);
	simmm__rmap_unlock_write(mm->sim, &l);
	vma->file = NULL;
	vma->anon_vma = NULL;
	if (file)
		simmm__file_put(file);
	if (av)
		simmm__anon_vma_put(mm->sim, av);
}

void simmm__vma_unlink_anon(struct simmm_mm *mm, struct simmm_vma *vma)
{
	struct simmm_anon_vma *av = vma->anon_vma;
	struct simmm_rmap_wlock l;

	if (!av)
		return;
	/* Out of the tree under the write lock, so that no walker meets the
	 * VMA half gone; the reference after the unlock (the last one frees
	 * the anon_vma with its lock, as in simmm__vma_unlink()). */
	simmm__rmap_lock_write(vma, &l);
	simmm__itree_remove(&av->vmas, &vma->anon_node);
	vma->anon_vma = NULL;
	simmm__rmap_unlock_write(mm->sim, &l);
	simmm__anon_vma_put(mm->sim, av);
}

/* Change a linked VMA's bounds (the trees are keyed by them). */
void simmm__vma_set_range(struct simmm_vma *vma, simmm_addr_t start, simmm_addr_t end,
			  uint64_t pgoff)
{
	struct simmm_rmap_wlock l;

	simmm__rmap_lock_write(vma, &l);
	set_range_locked(vma, start, end, pgoff);
	simmm__rmap_unlock_write(vma->mm->sim, &l);
}

/* ---- split and merge --------------------------------------------------------- */

int simmm__vma_split_with(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t addr,
			  struct simmm_vma **spare)
{
	unsigned shift = simmm__page_shift(mm);
	struct simmm_rmap_wlock l;
	struct simmm_vma *tail;

	if (addr <= vma->vm_start || addr >= vma->vm_end)
		return 0;
	tail = spare && *spare ? *spare : simmm__vma_alloc(mm);
	if (!tail)
		return -ENOMEM;
	if (spare)
		*spare = NULL;
	/* __split_vma(): the new VMA gets the upper part with the file
	 * offset (or anon linear index) advanced accordingly. Both halves
	 * change under one hold of the rmap locks (vma_prepare()), so no
	 * walker sees the pages of the tail covered by neither. */
	*tail = *vma;
	tail->vm_start = addr;
	tail->vm_pgoff = vma->vm_pgoff + ((addr - vma->vm_start) >> shift);
	simmm__rmap_lock_write(vma, &l);
	set_range_locked(vma, vma->vm_start, addr, vma->vm_pgoff);
	vma_link_locked(mm, tail);
	simmm__rmap_unlock_write(mm->sim, &l);
	return 0;
}

int simmm__vma_split(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t addr)
{
	return simmm__vma_split_with(mm, vma, addr, NULL);
}

/* is_mergeable_vma() + is_mergeable_anon_vma(), simplified: identical
 * flags (upstream lets VM_SOFTDIRTY differ), file and driver data; never
 * special or hugetlb VMAs; compatible anon_vmas: the same, or one of them
 * NULL (the other VMA then shares it, dup_anon_vma()). Upstream also
 * refuses the one-NULL case when the VMA holding the anon_vma is a fork
 * child (vma_is_fork_child(), formerly the list_is_singular() test on its
 * anon_vma_chain), to keep the family's root lock less contended; simmm
 * has one anon_vma per fork family and no chains, so cannot tell a child
 * and merges. Merging with both neighbours checks prev against next too
 * (are_anon_vmas_compatible()): simmm__vma_merge() merges prev first, so
 * the second test sees prev's anon_vma. */
static bool can_merge(const struct simmm_vma *a, const struct simmm_vma *b, unsigned shift)
{
	if (a->vm_end != b->vm_start || a->vm_flags != b->vm_flags || a->file != b->file ||
	    a->vm_private != b->vm_private)
		return false;
	if (a->vm_flags & (SIMMM_VM_SPECIAL | SIMMM_VM_HUGETLB))
		return false;
	if (a->anon_vma && b->anon_vma && a->anon_vma != b->anon_vma)
		return false;
	return a->vm_pgoff + ((a->vm_end - a->vm_start) >> shift) == b->vm_pgoff;
}

/* Fold @b into @a (a directly below b): one hold of the rmap locks of
 * @b (the same file, and its anon_vma, which @a shares or adopts). */
static void merge_into(struct simmm_mm *mm, struct simmm_vma *a, struct simmm_vma *b)
{
	struct simmm_file *file = b->file;
	simmm_addr_t end = b->vm_end;
	struct simmm_rmap_wlock l;

	simmm__rmap_lock_write(b->anon_vma ? b : a, &l);
	if (!a->anon_vma && b->anon_vma) {
		a->anon_vma = b->anon_vma;
		simmm__anon_vma_get(a->anon_vma);
		a->anon_node.start = a->vm_pgoff;
		a->anon_node.last = a->vm_pgoff + simmm__vma_pages(a) - 1;
		simmm__itree_insert(&a->anon_vma->vmas, &a->anon_node);
	}
	trees_remove(mm, b);
	set_range_locked(a, a->vm_start, end, a->vm_pgoff);
	simmm__rmap_unlock_write(mm->sim, &l);
	/* @b's references; @a holds its own on both. */
	if (file)
		simmm__file_put(file);
	if (b->anon_vma)
		simmm__anon_vma_put(mm->sim, b->anon_vma);
	simmm__vma_free(mm, b);
}

struct simmm_vma *simmm__vma_merge(struct simmm_mm *mm, struct simmm_vma *vma)
{
	unsigned shift = simmm__page_shift(mm);
	struct simmm_vma *prev = simmm__vma_prev(vma);
	struct simmm_vma *next;

	if (prev && can_merge(prev, vma, shift)) {
		merge_into(mm, prev, vma);
		vma = prev;
	}
	next = simmm__vma_next(vma);
	if (next && can_merge(vma, next, shift))
		merge_into(mm, vma, next);
	return vma;
}

/*
 * vma_merge_extend()'s merge with the next VMA, for an mremap that grew
 * @vma in place: vma_merge_new_range() with @vma as prev over the grown
 * range, which @vma always takes, and the next VMA when it begins right
 * where @vma now ends and can_merge() allows (the rules above; prev and
 * next are the same VMA here, so their anon_vmas agree when @vma's and
 * next's do). Return: @vma, perhaps covering next too.
 */
struct simmm_vma *simmm__vma_merge_next(struct simmm_mm *mm, struct simmm_vma *vma)
{
	struct simmm_vma *next = simmm__vma_next(vma);

	if (next && can_merge(vma, next, simmm__page_shift(mm)))
		merge_into(mm, vma, next);
	return vma;
}

/*
 * copy_vma() for an mremap move: @nv (preallocated, so that nothing here
 * can fail after the caller's point of no return) becomes a copy of
 * *@vmap's part that starts at @old_addr (the whole VMA once carved; an
 * MREMAP_DONTUNMAP source is not carved), at [@addr, @addr + @len),
 * linked, then merged with the VMAs around the destination
 * (vma_merge_new_range()'s rules, simmm__vma_merge() here: the
 * link-then-merge of mmap_region(), which ends with the same VMAs). The
 * copy gets the linear index of @old_addr (copy_vma_and_data()'s
 * new_pgoff), so that rmap still finds its folios at the new address; a
 * never-faulted anonymous source has no folio to find and takes @addr's
 * instead, "to increase its chance of merging", as upstream does.
 *
 * *@need_rmap_locks gets upstream's rule. A fresh VMA needs no rmap locks
 * for the entry moves: it has the source's vm_pgoff and was inserted into
 * the i_mmap / anon_vma interval trees after it, and those trees keep
 * equal starts in insertion order (core/itree.h, as the kernel's), so a
 * walk meets the source first and, entries only ever moving from the old
 * address to the new one, finds each at one or the other (or both). A VMA
 * that the range merged into may sit before the source in that order
 * unless its vm_pgoff is above the source's: then the locks are needed.
 *
 * The source itself may be the VMA merged into (or merged into the new
 * one): only an anonymous VMA never faulted, whose reset linear index can
 * continue the destination's, just as upstream's "vma_start >=
 * new_vma->vm_start" branch says. *@vmap then becomes the merged VMA (the
 * source's struct may be gone), and the moves stay inside it.
 *
 * Return: the VMA covering the new range.
 */
struct simmm_vma *simmm__copy_vma(struct simmm_mm *mm, struct simmm_vma **vmap,
				  struct simmm_vma *nv, simmm_addr_t old_addr, simmm_addr_t addr,
				  uint64_t len, bool *need_rmap_locks)
{
	struct simmm_vma *vma = *vmap, *new_vma;
	simmm_addr_t vma_start = vma->vm_start;
	bool faulted_in_anon_vma = true;

	*nv = *vma;
	nv->vm_start = addr;
	nv->vm_end = addr + len;
	nv->vm_pgoff = vma->vm_pgoff + ((old_addr - vma->vm_start) >> simmm__page_shift(mm));
	/* vma_is_anonymous(): no vm_ops. simmm's special mappings stand for
	 * driver VMAs, which have them. */
	if (simmm__vma_is_anonymous(vma) && !vma->anon_vma && !(vma->vm_flags & SIMMM_VM_SPECIAL)) {
		nv->vm_pgoff = addr >> simmm__page_shift(mm);
		faulted_in_anon_vma = false;
	}
	simmm__vma_link(mm, nv);
	new_vma = simmm__vma_merge(mm, nv);
	if (new_vma == nv && nv->vm_start == addr && nv->vm_end == addr + len) {
		*need_rmap_locks = false;
		return nv;
	}
	if (vma_start >= new_vma->vm_start && vma_start < new_vma->vm_end) {
		/* VM_BUG_ON_VMA(faulted_in_anon_vma): a faulted source keeps
		 * its vm_pgoff, which cannot continue its own range. */
		NEVER(faulted_in_anon_vma);
		*vmap = vma = new_vma;
	}
	*need_rmap_locks = new_vma->vm_pgoff <= vma->vm_pgoff;
	return new_vma;
}

/* ---- placement ------------------------------------------------------------------ */

static bool range_free(struct simmm_mm *mm, simmm_addr_t start, uint64_t len)
{
	return !simmm__itree_iter_first(&mm->vmas, start, start + len - 1);
}

/* Highest aligned @len-sized hole in [low, top) (top-down). */
static bool search_down(struct simmm_mm *mm, simmm_addr_t low, simmm_addr_t top, uint64_t len,
			uint64_t align, simmm_addr_t *out)
{
	struct simmm_itree_node *n = simmm__itree_last(&mm->vmas);
	simmm_addr_t gap_end = top;

	for (;;) {
		struct simmm_vma *vma = node_vma(n);
		simmm_addr_t gap_start = vma && vma->vm_end > low ? vma->vm_end : low;

		if (gap_end > gap_start && gap_end - gap_start >= len) {
			simmm_addr_t cand = (gap_end - len) & ~(align - 1);

			if (cand >= gap_start) {
				*out = cand;
				return true;
			}
		}
		if (!vma || vma->vm_start <= low)
			return false;
		if (vma->vm_start < gap_end)
			gap_end = vma->vm_start;
		n = simmm__itree_prev(n);
	}
}

int simmm__get_unmapped_area(struct simmm_mm *mm, simmm_addr_t hint, uint64_t len,
			     uint64_t align, simmm_addr_t *out)
{
	simmm_addr_t low = mm->sim->page_size; /* mmap_min_addr: never map page 0 */
	simmm_addr_t top = mm->sim->geo.user_va_end;

	if (len == 0 || len > top - low)
		return -ENOMEM;
	if (hint) {
		hint = (hint + align - 1) & ~(align - 1);
		if (hint >= low && hint <= top - len && range_free(mm, hint, len)) {
			*out = hint;
			return 0;
		}
	}
	/* The default top-down layout below mmap_base; like the kernel's
	 * fallback to a bottom-up search, then try the whole space. */
	if (search_down(mm, low, mm->mmap_base, len, align, out) ||
	    search_down(mm, low, top, len, align, out))
		return 0;
	return -ENOMEM;
}
