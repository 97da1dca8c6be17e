// SPDX-License-Identifier: MIT
/*
 * simmm_mm_peek(): read user memory the way a load would see it, without
 * taking the load's path. Nothing is faulted in and nothing changes: no
 * young/dirty bits, no page-cache or swap-cache folio created, no fault
 * counted, no trace event. It answers "what would a read return now?" for
 * oracles (the fuzzers' final read-back), debuggers and teaching tools,
 * which must not disturb the state they look at.
 *
 * Each page resolves from its entry, as the fault handlers would find it:
 *   present or PROT_NONE leaf (any level)   the mapped frame;
 *   migration, device-private, device-exclusive entry   the page it names
 *       (the kernel's fault would wait for, migrate back or restore it:
 *       its contents are the same);
 *   swap entry        the swap-cache folio if there is one (do_swap_page()
 *                     would map it), else the slot's written contents;
 *   no entry          zeros (anonymous: the zero page), or the page cache,
 *                     else the backing store (file, shmem: filemap_fault());
 *   hwpoison / guard marker   -EFAULT, as the access (SIGBUS / SIGSEGV).
 * VMA protections are ignored, as ptrace's FOLL_FORCE reads ignore them.
 */
#include <errno.h>
#include <string.h>

#include "mm/mm.h"
#include "mm/mm_ext.h"

/* The frame contents of @pfn at @off (a frame never written reads zeros). */
static void peek_frame(simmm_sim *sim, simmm_pfn_t pfn, uint64_t off, uint8_t *buf, uint64_t n)
{
	struct simmm_page *page = simmm__pfn_to_page(sim, pfn);
	const uint8_t *data = page ? simmm__page_data(sim, page, false) : NULL;

	if (data)
		memcpy(buf, data + off, n);
	else
		memset(buf, 0, n);
}

/* The page of @addr inside a leaf of @lvl whose first pfn is @head. */
static simmm_pfn_t leaf_pfn(simmm_sim *sim, simmm_pfn_t head, enum simmm_level lvl,
			    simmm_addr_t addr)
{
	unsigned order = simmm_geometry_level_order(&sim->geo, lvl);

	return head + ((addr >> sim->geo.page_shift) & ((1ULL << order) - 1));
}

/* No entry: what the fault would bring in. */
static int peek_none(struct simmm_mm *mm, struct simmm_vma *vma, simmm_addr_t addr,
		     uint8_t *buf, uint64_t n)
{
	simmm_sim *sim = mm->sim;
	uint64_t off = addr & (sim->page_size - 1), pgoff;

	if (vma->vm_flags & (SIMMM_VM_PFNMAP | SIMMM_VM_IO))
		return -EFAULT; /* a driver's mapping: nothing behind a hole */
	if (!vma->file) {
		memset(buf, 0, n);
		return 0;
	}
	if (vma->vm_flags & SIMMM_VM_HUGETLB)
		return -EOPNOTSUPP; /* shared hugetlb pages live in the pool, not the cache */
	pgoff = simmm__linear_page_index(vma, addr, sim->geo.page_shift);
	if (pgoff >= (vma->file->size + sim->page_size - 1) >> sim->geo.page_shift)
		return -EFAULT; /* beyond EOF: SIGBUS */
	simmm__filemap_peek(vma->file, pgoff, off, buf, n);
	return 0;
}

static int peek_page(struct simmm_mm *mm, simmm_addr_t addr, uint8_t *buf, uint64_t n)
{
	simmm_sim *sim = mm->sim;
	uint64_t off = addr & (sim->page_size - 1);
	struct simmm_vma *vma = simmm__vma_lookup(mm, addr);
	struct simmm_translation t;
	simmm_entry_t e;
	int err;

	if (!vma)
		return -EFAULT;
	err = simmm_pgtable_translate(mm->pgt, addr, &t);
	if (err == -ENOENT || (!err && !t.entry))
		return peek_none(mm, vma, addr, buf, n);
	if (err)
		return err; /* -EUCLEAN: a corrupt table (the checker says where) */
	e = t.entry;
	if (t.present) {
		peek_frame(sim, t.pfn, off, buf, n);
		return 0;
	}
	/* A hwpoison entry carries the poisoned pfn too: it is SIGBUS, not
	 * the frame's bytes (checked before the other pfn entries). */
	if (simmm_is_hwpoison_entry(e) || simmm_is_poisoned_swp_entry(e) ||
	    simmm_is_guard_swp_entry(e))
		return -EFAULT;
	if (simmm_is_pfn_swap_entry(e)) {
		peek_frame(sim, leaf_pfn(sim, simmm_swp_offset_pfn(e), t.level, addr), off, buf, n);
		return 0;
	}
	if (simmm_is_real_swap_entry(e))
		return simmm__swap_peek(sim, e, off, buf, n) ? -EUCLEAN : 0;
	return peek_none(mm, vma, addr, buf, n); /* other markers (uffd-wp): a hole */
}

int simmm_mm_peek(struct simmm_mm *mm, simmm_addr_t addr, void *buf, uint64_t len)
{
	uint64_t done = 0, ps;
	int err = 0;

	if (!simmm__mm_ok(mm) || mm->mm_users <= 0 || addr + len < addr || (!buf && len))
		return -EINVAL;
	ps = mm->sim->page_size;
	if (addr + len > mm->sim->geo.user_va_end)
		return -EFAULT;
	err = simmm_down_read(mm->sim, &mm->mmap_lock);
	if (err)
		return err;
	while (done < len) {
		simmm_addr_t a = addr + done;
		uint64_t n = ps - (a & (ps - 1));

		if (n > len - done)
			n = len - done;
		err = peek_page(mm, a, (uint8_t *)buf + done, n);
		if (err)
			break;
		done += n;
	}
	simmm_up_read(mm->sim, &mm->mmap_lock);
	return err;
}
