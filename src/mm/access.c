// SPDX-License-Identifier: MIT
/*
 * simmm_mm_access(): a CPU load, store or instruction fetch. Each page is
 * tried the way the MMU does (translate; the permission bits of every
 * level; set young/dirty in the leaf as x86/arm64-with-HA hardware does);
 * a miss enters the fault path as do_user_addr_fault() does: mmap lock for
 * read, find the VMA, access_error(), handle_mm_fault(), retry.
 */
#include <errno.h>
#include <string.h>

#include "mm/mm.h"

/* Faults in a row that resolve nothing before the access gives up, and
 * faults in all: see struct simmm__fault_progress for what counts as
 * progress. */
#define ACCESS_MAX_STUCK 8
#define ACCESS_MAX_FAULTS 1024

static bool hw_allows(const struct simmm_translation *t, enum simmm_access acc)
{
	if (!t->present || simmm_pte_protnone(t->entry) || !t->user)
		return false;
	if (acc == SIMMM_ACCESS_WRITE)
		return t->write;
	if (acc == SIMMM_ACCESS_EXEC)
		return t->exec;
	return true;
}

/* The hardware access bits: young always, dirty on a store. */
static void hw_set_ad(struct simmm_mm *mm, simmm_addr_t addr, const struct simmm_translation *t,
		      enum simmm_access acc)
{
	simmm_entry_t *slot;

	if (simmm_pgtable_lookup(mm->pgt, addr, t->level, &slot))
		return;
	*slot = simmm_pte_mkyoung(*slot);
	if (acc == SIMMM_ACCESS_WRITE)
		*slot = simmm_pte_mkdirty(*slot);
}

/* Move the bytes. A write that cannot allocate the page's contents fails
 * with -ENOMEM and stores nothing (found by fuzz_mm_ops: it used to report
 * success while dropping the data). */
static int copy_data(struct simmm_mm *mm, simmm_pfn_t pfn, uint64_t off, uint8_t *buf,
		     uint64_t n, enum simmm_access acc)
{
	struct simmm_page *page = simmm__pfn_to_page(mm->sim, pfn);
	uint8_t *data;

	if (!page || !buf)
		return 0;
	data = simmm__page_data(mm->sim, page, acc == SIMMM_ACCESS_WRITE);
	if (acc == SIMMM_ACCESS_WRITE) {
		if (data)
			memcpy(data + off, buf, n);
		else if (!(mm->sim->flags & SIMMM_CFG_NO_CONTENTS))
			return -ENOMEM;
	} else if (data) {
		memcpy(buf, data + off, n);
	} else {
		memset(buf, 0, n);
	}
	return 0;
}

static int fault_errno(struct simmm_mm *mm, unsigned ret)
{
	if (ret & SIMMM_VM_FAULT_OOM)
		return -ENOMEM;
	if (ret & SIMMM_VM_FAULT_SIGSEGV) {
		mm->stats.sigsegv++;
		return -EFAULT;
	}
	if (ret & (SIMMM_VM_FAULT_SIGBUS | SIMMM_VM_FAULT_HWPOISON |
		   SIMMM_VM_FAULT_HWPOISON_LARGE)) {
		mm->stats.sigbus++;
		return -EFAULT;
	}
	return 0;
}

/* FAULT_FLAG_DEFAULT (ALLOW_RETRY | KILLABLE; simmm has no signals, so
 * no INTERRUPTIBLE) and the access's own flags. */
static unsigned user_fault_flags(enum simmm_access acc)
{
	unsigned flags = SIMMM_FAULT_FLAG_USER | SIMMM_FAULT_FLAG_ALLOW_RETRY |
			 SIMMM_FAULT_FLAG_KILLABLE;

	if (acc == SIMMM_ACCESS_WRITE)
		flags |= SIMMM_FAULT_FLAG_WRITE;
	else if (acc == SIMMM_ACCESS_EXEC)
		flags |= SIMMM_FAULT_FLAG_INSTRUCTION;
	return flags;
}

/*
 * One fault, as do_user_addr_fault(): 0 handled (try the access again).
 * When handle_mm_fault() returns VM_FAULT_RETRY it has released the mmap
 * lock (it slept on a folio lock without it) and the VMA may be gone:
 * nothing is unlocked here, and the fault starts again with the lock
 * taken anew, the VMA looked up again (SIGSEGV if it went) and
 * FAULT_FLAG_TRIED ("flags |= FAULT_FLAG_TRIED; goto retry"). A tried
 * fault sleeps with the lock held, so it returns RETRY only outside tasks,
 * where nothing could end its wait: -EAGAIN, and the caller's progress
 * rule decides.
 */
static int user_fault(struct simmm_mm *mm, simmm_addr_t addr, unsigned flags)
{
	struct simmm_vma *vma;
	unsigned ret;
	int err;

retry:
	err = simmm_down_read(mm->sim, &mm->mmap_lock);
	if (err)
		return err;
	vma = simmm__vma_lookup(mm, addr);
	if (!vma || !simmm__fault_access_ok(vma, flags)) {
		simmm_up_read(mm->sim, &mm->mmap_lock);
		mm->stats.sigsegv++; /* bad_area(): SIGSEGV, nothing changes */
		return -EFAULT;
	}
	ret = simmm__handle_mm_fault(mm, vma, addr, flags);
	if (ret & SIMMM_VM_FAULT_RETRY) {
		if (flags & SIMMM_FAULT_FLAG_TRIED)
			return -EAGAIN;
		flags |= SIMMM_FAULT_FLAG_TRIED;
		goto retry;
	}
	simmm_up_read(mm->sim, &mm->mmap_lock);
	return fault_errno(mm, ret);
}

/* The entry mapping @addr at whatever level, 0 for none. */
static simmm_entry_t entry_at(struct simmm_mm *mm, simmm_addr_t addr)
{
	struct simmm_translation t;

	return simmm_pgtable_translate(mm->pgt, addr, &t) ? 0 : t.entry;
}

void simmm__fault_progress_start(struct simmm_fault_progress *p, struct simmm_mm *mm,
				 simmm_addr_t addr)
{
	p->entry = entry_at(mm, addr);
	p->woken = simmm__sched_nr_woken(mm->sim);
}

unsigned simmm__fault_progress_stuck(const struct simmm_fault_progress *p, struct simmm_mm *mm,
				     simmm_addr_t addr, unsigned stuck)
{
	if (entry_at(mm, addr) != p->entry || simmm__sched_nr_woken(mm->sim) != p->woken)
		return 0;
	return simmm__sched_others_can_run(mm->sim) ? stuck : stuck + 1;
}

static int access_page(struct simmm_mm *mm, simmm_addr_t addr, uint8_t *buf, uint64_t n,
		       enum simmm_access acc)
{
	for (unsigned faults = 0, stuck = 0;; faults++) {
		struct simmm_translation t;
		struct simmm_fault_progress prog;
		int err;

		if (simmm_pgtable_translate(mm->pgt, addr, &t) == 0 && hw_allows(&t, acc)) {
			struct simmm_page *page = simmm__pfn_to_page(mm->sim, t.pfn);

			/* Consuming poison (a page memory_failure() could not
			 * unmap): the machine check runs memory_failure() with
			 * MF_ACTION_REQUIRED, which finds the page poisoned and
			 * sends this process SIGBUS (kill_accessing_process()). */
			if (page && (page->flags & PG_hwpoison)) {
				simmm__memory_failure(mm->sim, t.pfn, SIMMM_MF_ACTION_REQUIRED, mm);
				return -EFAULT;
			}
			hw_set_ad(mm, addr, &t, acc);
			return copy_data(mm, t.pfn, addr & (mm->sim->page_size - 1), buf, n, acc);
		}
		/* A migration entry nobody (no task) will ever remove, or a
		 * fault that keeps resolving nothing. */
		if (stuck >= ACCESS_MAX_STUCK || faults >= ACCESS_MAX_FAULTS)
			return -EDEADLK;
		simmm__fault_progress_start(&prog, mm, addr);
		err = user_fault(mm, addr, user_fault_flags(acc));
		if (err && err != -EAGAIN)
			return err;
		stuck = simmm__fault_progress_stuck(&prog, mm, addr, stuck);
	}
}

int simmm_mm_access(struct simmm_mm *mm, simmm_addr_t addr, void *buf, uint64_t len,
		    enum simmm_access access)
{
	uint64_t done = 0, ps;

	if (!simmm__mm_ok(mm) || mm->mm_users <= 0 || addr + len < addr ||
	    (unsigned)access > SIMMM_ACCESS_EXEC || (!buf && access == SIMMM_ACCESS_WRITE && len))
		return -EINVAL;
	ps = mm->sim->page_size;
	if (addr + len > mm->sim->geo.user_va_end)
		return -EFAULT;
	while (done < len) {
		simmm_addr_t a = addr + done;
		uint64_t n = ps - (a & (ps - 1));
		int err;

		if (n > len - done)
			n = len - done;
		err = access_page(mm, a, buf ? (uint8_t *)buf + done : NULL, n, access);
		if (err)
			return err;
		done += n;
	}
	return 0;
}
