/* SPDX-License-Identifier: MIT */
/**
 * DOC: address spaces
 *
 * An &simmm_mm is a process address space: a page table, a tree of VMAs,
 * an mmap lock (a simulated rwsem), fault counters, and the kernel's two
 * lifetimes: users (mmget/mmput: the address space stays populated while
 * > 0) and count (mmgrab/mmdrop: the struct stays allocated while > 0).
 *
 * The calls mirror the system calls and the kernel paths they reach:
 * simmm_mmap(), simmm_munmap(), simmm_mprotect(), simmm_madvise(), simmm_process_madvise(),
 * simmm_mremap(), simmm_fork(), simmm_mm_access() (a CPU load/store/fetch
 * that faults as handle_mm_fault() does), GUP, reclaim and swap.
 *
 * Every page-table change goes through one "change a range" path that
 * brackets it with mmu-notifier invalidate_range_start/end, carrying the
 * event the kernel uses (<simmm/mmu_notifier.h>).
 *
 * Locking: the calls take the mmap lock themselves (read for faults and
 * GUP, write for mmap/munmap/mprotect/mremap/madvise(COLLAPSE)), exactly
 * as the syscalls do; the *_locked variants expect the caller to hold it.
 * Under the deterministic scheduler each lock operation is a scheduling
 * point, so concurrent tasks interleave there.
 *
 * Flag and constant values are Linux's (PROT_*, MAP_*, MADV_*, MREMAP_*,
 * VM_*, FAULT_FLAG_*, VM_FAULT_*, FOLL_*), prefixed SIMMM_.
 */
#ifndef SIMMM_MM_H
#define SIMMM_MM_H

#include <simmm/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct simmm_mm;
struct simmm_vma;
struct simmm_file;

/* ---- constants (Linux values) ------------------------------------------- */

#define SIMMM_PROT_NONE  0x0
#define SIMMM_PROT_READ  0x1
#define SIMMM_PROT_WRITE 0x2
#define SIMMM_PROT_EXEC  0x4

#define SIMMM_MAP_SHARED          0x01
#define SIMMM_MAP_PRIVATE         0x02
#define SIMMM_MAP_FIXED           0x10
#define SIMMM_MAP_ANONYMOUS       0x20
#define SIMMM_MAP_LOCKED          0x2000
#define SIMMM_MAP_NORESERVE       0x4000
#define SIMMM_MAP_POPULATE        0x8000
#define SIMMM_MAP_HUGETLB         0x40000
#define SIMMM_MAP_FIXED_NOREPLACE 0x100000
#define SIMMM_MAP_HUGE_SHIFT      26
#define SIMMM_MAP_HUGE_MASK       0x3f
/* simmm extensions for special mappings (drivers' mmap handlers). */
#define SIMMM_MAP_MIXEDMAP        (1u << 24) /* VM_MIXEDMAP (vm_insert_page) */
#define SIMMM_MAP_PFNMAP          (1u << 23) /* VM_PFNMAP|VM_IO (remap_pfn_range) */

/*
 * MADV_NORMAL / MADV_RANDOM / MADV_SEQUENTIAL set the VMA's access
 * pattern (VM_RAND_READ, VM_SEQ_READ). A VMA with either has no recency
 * (the kernel's vma_has_recency()): reclaim's folio_referenced() ignores
 * its young entries and a zap of its file pages does not mark them
 * accessed. simmm has no read-ahead, their other effect upstream.
 */
#define SIMMM_MADV_NORMAL     0
#define SIMMM_MADV_RANDOM     1
#define SIMMM_MADV_SEQUENTIAL 2
#define SIMMM_MADV_WILLNEED   3
#define SIMMM_MADV_DONTNEED   4
#define SIMMM_MADV_FREE       8
/* MADV_REMOVE: punch the file range a shared writable mapping maps
 * (madvise_remove(), see simmm_madvise() and simmm_file_punch_hole()). */
#define SIMMM_MADV_REMOVE     9
#define SIMMM_MADV_DONTFORK   10
#define SIMMM_MADV_DOFORK     11
#define SIMMM_MADV_HUGEPAGE   14
#define SIMMM_MADV_NOHUGEPAGE 15
/* MADV_DONTDUMP / MADV_DODUMP: VM_DONTDUMP (core dumps skip the VMA; simmm
 * has no core dump, the flag is kept and reported by simmm_vma_info()). */
#define SIMMM_MADV_DONTDUMP   16
#define SIMMM_MADV_DODUMP     17
#define SIMMM_MADV_WIPEONFORK 18
#define SIMMM_MADV_KEEPONFORK 19
/**
 * SIMMM_MADV_COLD - MADV_COLD (Linux 5.4+, value 20): deactivate the
 * range's folios that only this mm maps (old entries, no PG_referenced,
 * to the inactive list) so that reclaim takes them first; no data or
 * protection changes. See simmm_madvise().
 */
#define SIMMM_MADV_COLD       20
#define SIMMM_MADV_PAGEOUT    21
#define SIMMM_MADV_POPULATE_READ  22
#define SIMMM_MADV_POPULATE_WRITE 23
/* MADV_DONTNEED_LOCKED (5.18+): MADV_DONTNEED that VM_LOCKED VMAs accept
 * too (their pages are munlocked and dropped; the next fault maps and
 * mlocks a page again). */
#define SIMMM_MADV_DONTNEED_LOCKED 24
#define SIMMM_MADV_COLLAPSE   25
/* MADV_HWPOISON: memory_failure() on each page of the range (CAP_SYS_ADMIN,
 * see simmm_memory_failure()). MADV_SOFT_OFFLINE (101) is not modelled
 * (simmm_soft_offline_page() is its sysfs counterpart). */
#define SIMMM_MADV_HWPOISON   100
/**
 * SIMMM_MADV_GUARD_INSTALL / SIMMM_MADV_GUARD_REMOVE - guard regions
 * (Linux 6.13+, values 102 and 103): install / remove guard markers, PTE
 * markers any access to which faults with SIGSEGV. See simmm_madvise().
 */
#define SIMMM_MADV_GUARD_INSTALL 102
#define SIMMM_MADV_GUARD_REMOVE  103

#define SIMMM_MREMAP_MAYMOVE   1
#define SIMMM_MREMAP_FIXED     2
#define SIMMM_MREMAP_DONTUNMAP 4

/* vm_flags */
#define SIMMM_VM_READ       0x00000001ULL
#define SIMMM_VM_WRITE      0x00000002ULL
#define SIMMM_VM_EXEC       0x00000004ULL
#define SIMMM_VM_SHARED     0x00000008ULL
#define SIMMM_VM_MAYREAD    0x00000010ULL
#define SIMMM_VM_MAYWRITE   0x00000020ULL
#define SIMMM_VM_MAYEXEC    0x00000040ULL
#define SIMMM_VM_MAYSHARE   0x00000080ULL
#define SIMMM_VM_UFFD_MISSING 0x00000200ULL
#define SIMMM_VM_PFNMAP     0x00000400ULL
#define SIMMM_VM_UFFD_WP    0x00001000ULL
#define SIMMM_VM_LOCKED     0x00002000ULL
#define SIMMM_VM_IO         0x00004000ULL
#define SIMMM_VM_SEQ_READ   0x00008000ULL /* MADV_SEQUENTIAL */
#define SIMMM_VM_RAND_READ  0x00010000ULL /* MADV_RANDOM */
#define SIMMM_VM_DONTCOPY   0x00020000ULL
#define SIMMM_VM_DONTEXPAND 0x00040000ULL
#define SIMMM_VM_LOCKONFAULT 0x00080000ULL /* lock pages when they are faulted in */
#define SIMMM_VM_ACCOUNT    0x00100000ULL
#define SIMMM_VM_NORESERVE  0x00200000ULL
#define SIMMM_VM_HUGETLB    0x00400000ULL
#define SIMMM_VM_WIPEONFORK 0x02000000ULL
#define SIMMM_VM_DONTDUMP   0x04000000ULL /* MADV_DONTDUMP */
#define SIMMM_VM_SOFTDIRTY  0x08000000ULL
#define SIMMM_VM_MIXEDMAP   0x10000000ULL
#define SIMMM_VM_HUGEPAGE   0x20000000ULL
#define SIMMM_VM_NOHUGEPAGE 0x40000000ULL
#define SIMMM_VM_SPECIAL (SIMMM_VM_IO | SIMMM_VM_DONTEXPAND | SIMMM_VM_PFNMAP | SIMMM_VM_MIXEDMAP)
#define SIMMM_VM_LOCKED_MASK (SIMMM_VM_LOCKED | SIMMM_VM_LOCKONFAULT)

/* mlock2() flags, mlockall() flags (Linux's generic values) */
#define SIMMM_MLOCK_ONFAULT 0x01
#define SIMMM_MCL_CURRENT   1
#define SIMMM_MCL_FUTURE    2
#define SIMMM_MCL_ONFAULT   4

/* RLIMIT_MEMLOCK without a limit (RLIM_INFINITY), the default of a new mm. */
#define SIMMM_RLIM_INFINITY UINT64_MAX

/*
 * fault flags (enum fault_flag). SIMMM_FAULT_FLAG_ALLOW_RETRY lets a fault
 * that would sleep (on a folio lock) release the mmap lock first and
 * return SIMMM_VM_FAULT_RETRY, after which the caller takes the lock again
 * and faults once more with SIMMM_FAULT_FLAG_TRIED; with
 * SIMMM_FAULT_FLAG_RETRY_NOWAIT too it returns SIMMM_VM_FAULT_RETRY at
 * once, the lock still held (GUP's FOLL_NOWAIT). See simmm_handle_mm_fault().
 */
#define SIMMM_FAULT_FLAG_WRITE       0x0001
#define SIMMM_FAULT_FLAG_ALLOW_RETRY 0x0004
#define SIMMM_FAULT_FLAG_RETRY_NOWAIT 0x0008
#define SIMMM_FAULT_FLAG_KILLABLE    0x0010
#define SIMMM_FAULT_FLAG_TRIED       0x0020
#define SIMMM_FAULT_FLAG_USER        0x0040
#define SIMMM_FAULT_FLAG_REMOTE      0x0080
#define SIMMM_FAULT_FLAG_INSTRUCTION 0x0100
#define SIMMM_FAULT_FLAG_UNSHARE     0x0400

/* vm_fault_t bits */
#define SIMMM_VM_FAULT_OOM            0x000001
#define SIMMM_VM_FAULT_SIGBUS         0x000002
#define SIMMM_VM_FAULT_MAJOR          0x000004
#define SIMMM_VM_FAULT_HWPOISON       0x000010
#define SIMMM_VM_FAULT_HWPOISON_LARGE 0x000020
#define SIMMM_VM_FAULT_SIGSEGV        0x000040
#define SIMMM_VM_FAULT_NOPAGE         0x000100
#define SIMMM_VM_FAULT_LOCKED         0x000200
#define SIMMM_VM_FAULT_RETRY          0x000400
#define SIMMM_VM_FAULT_FALLBACK       0x000800
#define SIMMM_VM_FAULT_DONE_COW       0x001000
#define SIMMM_VM_FAULT_COMPLETED      0x004000
#define SIMMM_VM_FAULT_ERROR                                                    \
	(SIMMM_VM_FAULT_OOM | SIMMM_VM_FAULT_SIGBUS | SIMMM_VM_FAULT_SIGSEGV |  \
	 SIMMM_VM_FAULT_HWPOISON | SIMMM_VM_FAULT_HWPOISON_LARGE | SIMMM_VM_FAULT_FALLBACK)

/* GUP flags (FOLL_*) */
#define SIMMM_FOLL_WRITE      0x01
#define SIMMM_FOLL_GET        0x04   /* internal: take a reference */
#define SIMMM_FOLL_FORCE      0x10
#define SIMMM_FOLL_NOWAIT     0x20
#define SIMMM_FOLL_NOFAULT    0x80
#define SIMMM_FOLL_LONGTERM   0x100
#define SIMMM_FOLL_SPLIT_PMD  0x200
#define SIMMM_FOLL_PIN        0x400  /* internal: pin (set by pin_user_pages) */

/* Reference bias of one FOLL_PIN on a small folio (GUP_PIN_COUNTING_BIAS). */
#define SIMMM_GUP_PIN_COUNTING_BIAS 1024

/** enum simmm_access - what a CPU access does. */
enum simmm_access {
	SIMMM_ACCESS_READ = 0,
	SIMMM_ACCESS_WRITE,
	SIMMM_ACCESS_EXEC,
};

/** enum simmm_thp_policy - /sys/kernel/mm/transparent_hugepage/enabled. */
enum simmm_thp_policy {
	SIMMM_THP_NEVER = 0,
	SIMMM_THP_MADVISE,   /* the default: only VM_HUGEPAGE ranges */
	SIMMM_THP_ALWAYS,
};

/**
 * struct simmm_mm_stats - per-mm counters.
 * @minor_faults, @major_faults: as the kernel's maj_flt/min_flt (major =
 *   needed I/O: swap-in, file read from the backing store).
 * @cow_faults: write or unshare (GUP read pin) faults that copied a page.
 * @reuse_faults: write faults that reused an exclusive anonymous page (an
 *   unshare that reuses the page is not counted, as upstream's PGREUSE).
 * @zero_faults: read faults that mapped the (huge) zero page.
 * @anon_faults: faults that allocated a new anonymous page.
 * @file_faults: faults on file or shmem pages.
 * @swapin_faults: faults that read a page back from swap.
 * @migration_waits: faults that waited for a migration entry.
 * @devmem_faults: faults on device-private entries (migrate_to_ram).
 * @exclusive_faults: faults that restored a device-exclusive entry.
 * @thp_faults: faults that mapped a PMD-sized folio.
 * @hugetlb_faults: faults on hugetlb mappings.
 * @sigbus, @sigsegv: faults that failed with these signals.
 * @rss_anon, @rss_file, @rss_shmem, @swap_ents: resident pages / swap
 *   entries (MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, MM_SWAPENTS).
 * @pgtable_pages: page-table pages.
 * @nr_vmas: VMAs.
 * @locked_vm: pages of VM_LOCKED VMAs charged to the mm (mm->locked_vm,
 *   /proc/pid/status VmLck), against RLIMIT_MEMLOCK; see simmm_mlock().
 *   As upstream, an MREMAP_DONTUNMAP move of a locked range leaves the
 *   whole old VMA charged though it is no longer locked.
 * @mce_sigbus_ar, @mce_sigbus_ao, @mce_sigkill: signals memory_failure()
 *   sent the process (SIGBUS with BUS_MCEERR_AR / BUS_MCEERR_AO, SIGKILL
 *   when a poisoned page could not be unmapped); see simmm_memory_failure().
 *   A later access to a poisoned page counts in @sigbus as any SIGBUS.
 */
struct simmm_mm_stats {
	uint64_t minor_faults, major_faults, cow_faults, reuse_faults, zero_faults;
	uint64_t anon_faults, file_faults, swapin_faults, migration_waits;
	uint64_t devmem_faults, exclusive_faults, thp_faults, hugetlb_faults;
	uint64_t sigbus, sigsegv;
	int64_t rss_anon, rss_file, rss_shmem, swap_ents;
	uint64_t pgtable_pages;
	uint64_t nr_vmas;
	uint64_t locked_vm;
	uint64_t mce_sigbus_ar, mce_sigbus_ao, mce_sigkill;
};

/**
 * struct simmm_vma_info - one VMA as seen from outside (/proc/pid/maps).
 */
struct simmm_vma_info {
	simmm_addr_t start, end;
	uint64_t vm_flags;
	uint64_t pgoff;
	bool anon;          /* no file (shared anon shows its shmem file: false) */
	unsigned hugetlb_order; /* 0 unless VM_HUGETLB */
};

/* ---- mm lifetimes --------------------------------------------------------- */

/**
 * simmm_mm_create() - a new, empty address space (users = 1, count = 1).
 * @sim: the simulated machine.
 * @out: receives the mm.
 * Return: 0; -EINVAL for NULL arguments; -ENOMEM (nothing leaked).
 */
SIMMM_API int simmm_mm_create(simmm_sim *sim, struct simmm_mm **out);

/**
 * simmm_mmget() / simmm_mmget_not_zero() / simmm_mmput() - the users count.
 * mmput() dropping the last user runs exit_mmap(): mmu-notifier release,
 * every VMA unmapped, page tables freed; then drops the count reference
 * that users hold collectively.
 * Return: mmget_not_zero: true if a user was added; others: 0 or -EINVAL
 * (NULL, or mmget on an mm without users).
 */
SIMMM_API int simmm_mmget(struct simmm_mm *mm);
SIMMM_API bool simmm_mmget_not_zero(struct simmm_mm *mm);
SIMMM_API int simmm_mmput(struct simmm_mm *mm);

/**
 * simmm_mmgrab() / simmm_mmdrop() - the count (struct lifetime). The
 * struct is freed when it reaches zero.
 * Return: 0 or -EINVAL.
 */
SIMMM_API int simmm_mmgrab(struct simmm_mm *mm);
SIMMM_API int simmm_mmdrop(struct simmm_mm *mm);

/** simmm_mm_sim() - the machine of @mm (NULL for NULL). */
SIMMM_API simmm_sim *simmm_mm_sim(const struct simmm_mm *mm);

/**
 * simmm_mm_users() / simmm_mm_count() - current values (0 for NULL).
 */
SIMMM_API int simmm_mm_users(const struct simmm_mm *mm);
SIMMM_API int simmm_mm_count(const struct simmm_mm *mm);

/**
 * simmm_mm_stats() - read the counters.
 * Return: 0 or -EINVAL.
 */
SIMMM_API int simmm_mm_stats(const struct simmm_mm *mm, struct simmm_mm_stats *out);

/**
 * simmm_set_thp_policy() - the machine-wide THP policy (default MADVISE).
 * Return: 0 or -EINVAL.
 */
SIMMM_API int simmm_set_thp_policy(simmm_sim *sim, enum simmm_thp_policy policy);

/**
 * struct simmm_thp_stats - machine-wide THP counters (/proc/vmstat's thp_*
 * events; per-mm THP faults are in &struct simmm_mm_stats).
 * @deferred_split_queued: anonymous large folios queued for deferred split
 *   because they became partially mapped (thp_deferred_split_page): part
 *   of the folio was unmapped (munmap, MADV_DONTNEED, mremap, COW) while
 *   the rest stays mapped by ptes. Each folio counts once.
 * @deferred_split_split: queued folios the deferred split scan split (its
 *   unmapped pages freed, the mapped ones became small folios).
 * @deferred_split_failed: attempts of the scan that left a folio queued:
 *   its lock was busy, or the split was refused (references beyond its
 *   mappings, such as a GUP pin).
 * @deferred_split_freed: pages those splits freed.
 * @nr_partially_mapped: folios on the deferred split queue now
 *   (split_queue_len; the mTHP nr_anon_partially_mapped counter).
 *
 * Reclaim (simmm_reclaim(), and the direct reclaim of an allocation) runs
 * the scan before it scans the LRU, as the kernel's shrink_slab() runs
 * the deferred split shrinker; what it frees counts towards the goal.
 */
struct simmm_thp_stats {
	uint64_t deferred_split_queued;
	uint64_t deferred_split_split;
	uint64_t deferred_split_failed;
	uint64_t deferred_split_freed;
	uint64_t nr_partially_mapped;
};

/**
 * simmm_thp_stats() - read the machine's THP counters.
 * Return: 0; -EINVAL for NULL arguments or a destroyed @sim; -ENOMEM when
 * the machine's address-space state cannot be allocated.
 */
SIMMM_API int simmm_thp_stats(simmm_sim *sim, struct simmm_thp_stats *out);

/* ---- mmap lock -------------------------------------------------------------- */

/**
 * simmm_mmap_read_lock() ... simmm_mmap_write_unlock() - the mmap lock
 * (mmap_read_lock() etc.), for callers of the *_locked functions, HMM and
 * drivers. Return: the rwsem's return values (see <simmm/sched.h>).
 */
SIMMM_API int simmm_mmap_read_lock(struct simmm_mm *mm);
SIMMM_API int simmm_mmap_read_unlock(struct simmm_mm *mm);
SIMMM_API int simmm_mmap_write_lock(struct simmm_mm *mm);
SIMMM_API int simmm_mmap_write_unlock(struct simmm_mm *mm);

/* ---- mappings ----------------------------------------------------------------- */

/**
 * simmm_mmap() - map memory (do_mmap()).
 * @mm: the address space.
 * @addr: hint, or the exact address with MAP_FIXED / MAP_FIXED_NOREPLACE
 *        (then page aligned, or hugetlb-page aligned for MAP_HUGETLB).
 * @len: bytes (rounded up to the page / huge page size); not 0.
 * @prot: PROT_* bits.
 * @flags: exactly one of MAP_SHARED / MAP_PRIVATE, plus MAP_ANONYMOUS,
 *         MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_POPULATE, MAP_NORESERVE,
 *         MAP_LOCKED (VM_LOCKED, populated, as mlock() after mmap but
 *         with errors ignored; a special or hugetlb mapping loses the lock),
 *         MAP_HUGETLB (size: (log2 << MAP_HUGE_SHIFT), 0 = PMD size),
 *         SIMMM_MAP_MIXEDMAP / SIMMM_MAP_PFNMAP (special mappings). Other
 *         bits are ignored, as by the legacy mmap(2).
 * @file: the file for file mappings (NULL with MAP_ANONYMOUS).
 * @pgoff: offset into @file in pages.
 * @out: receives the mapped address.
 *
 * Placement: top-down from the highest free gap below the user VA limit
 * (mmap_base), like the kernel's default layout; a free hint is used as is.
 * MAP_FIXED replaces what was there (munmap first, same notifier events).
 *
 * Locking: takes the mmap lock for write.
 * Return: 0; -EINVAL: NULL @mm/@out, @len 0 or overflowing, misaligned
 * fixed @addr or @pgoff, a file of another machine, both or neither of SHARED/PRIVATE, anonymous with
 * @file, file mapping without @file, MAP_HUGETLB size not offered by the
 * geometry, MAP_HUGETLB with @file (ksys_mmap_pgoff() wants a hugetlbfs
 * file, which simmm does not have); -ENOMEM: no gap large enough, range beyond the user VA limit,
 * allocation failure; -EEXIST: MAP_FIXED_NOREPLACE over an existing
 * mapping; -EACCES: PROT_WRITE on a MAP_SHARED mapping of a read-only file;
 * -EPERM: MAP_LOCKED with RLIMIT_MEMLOCK 0 and no CAP_IPC_LOCK
 * (can_do_mlock()); -EAGAIN: a locked mapping (MAP_LOCKED, or any after
 * mlockall(MCL_FUTURE)) that would take locked_vm over RLIMIT_MEMLOCK.
 */
SIMMM_API int simmm_mmap(struct simmm_mm *mm, simmm_addr_t addr, uint64_t len, int prot,
			 int flags, struct simmm_file *file, uint64_t pgoff, simmm_addr_t *out);

/**
 * simmm_munmap() - unmap [addr, addr+len) (do_vmi_munmap()). Splits VMAs
 * and huge mappings at the edges; notifier event UNMAP.
 * Return: 0 (also when nothing was mapped); -EINVAL: NULL, misaligned
 * @addr, @len 0, range beyond the user VA limit or overflowing; -ENOMEM
 * (a split could not allocate; nothing changed).
 */
SIMMM_API int simmm_munmap(struct simmm_mm *mm, simmm_addr_t addr, uint64_t len);

/**
 * simmm_mprotect() - change protection (do_mprotect_pkey()). PROT_NONE
 * keeps the pages (protnone entries). Notifier event PROTECTION_VMA.
 * Return: 0 (also for @len 0); -EINVAL: NULL, misaligned, bad prot bits,
 * overflow, a hugetlb range not huge-page aligned; -ENOMEM: part of the
 * range is unmapped or beyond the user VA limit (checked first: nothing
 * changes) or allocation failure (nothing changes); -EACCES: PROT_WRITE on
 * a shared mapping of a read-only file.
 */
SIMMM_API int simmm_mprotect(struct simmm_mm *mm, simmm_addr_t addr, uint64_t len, int prot);

/**
 * simmm_madvise() - MADV_DONTNEED (zap; notifier CLEAR), MADV_FREE,
 * MADV_HUGEPAGE / MADV_NOHUGEPAGE, MADV_DONTFORK / MADV_DOFORK and
 * MADV_WIPEONFORK / MADV_KEEPONFORK (VMA flags), MADV_COLLAPSE (synchronous
 * THP collapse), MADV_COLD, MADV_PAGEOUT, MADV_WILLNEED,
 * MADV_POPULATE_READ / MADV_POPULATE_WRITE, MADV_GUARD_INSTALL /
 * MADV_GUARD_REMOVE, MADV_REMOVE. See docs/mm.md "madvise".
 *
 * The VMA-flag advice splits the VMAs at the range's edges and merges them
 * again (madvise_update_vma()). DONTFORK: fork leaves the VMAs out of the
 * child (VM_DONTCOPY); DOFORK undoes it, -EINVAL on VM_IO. WIPEONFORK: the
 * child gets the VMAs empty (VM_WIPEONFORK, inherited); private anonymous
 * memory only, else -EINVAL; KEEPONFORK undoes it. A refused VMA stops the
 * walk: the VMAs before it keep their new flags.
 *
 * MADV_POPULATE_READ / WRITE (madvise_populate()): fault the range in
 * readable / writable (breaking COW, dirtying shared file pages), page by
 * page across VMAs, stopping at the first error: -ENOMEM for a hole (the
 * pages before it stay populated) or no memory, -EINVAL for VM_IO /
 * VM_PFNMAP or a protection that forbids the access, -EFAULT when the
 * fault SIGBUSes (past EOF), -EHWPOISON for a poisoned page.
 *
 * MADV_WILLNEED (madvise_willneed()): swapped-out anonymous pages are read
 * into the swap cache, a file's pages up to EOF into the page cache;
 * nothing is mapped (tmpfs, hugetlb and driver mappings: nothing).
 *
 * MADV_FREE (madvise_free_pte_range(), madvise_free_huge_pmd(); one
 * notifier CLEAR over each VMA's part): swap entries are freed, hwpoison
 * entries and poison markers cleared; anonymous folios become lazyfree
 * (not swap-backed) with old, clean entries, for reclaim to discard unless
 * written again or referenced beyond their mappings. A THP covered whole
 * is made lazyfree at PMD level; a large folio covered in part is split
 * first (left alone if it may be mapped by another mm, or the split fails);
 * a swap-cache or dirty folio is skipped unless only this mapping maps it
 * and its swap slot can be freed.
 *
 * MADV_COLD (madvise_cold_or_pageout_pte_range() without pageout): the
 * folios only this mm maps (folio_maybe_mapped_shared() false, each page
 * mapped once) have this mapping's entries made old (no notifier: secondary
 * MMUs keep their young state) and lose PG_referenced; active ones move to
 * the inactive list (folio_deactivate()), so that reclaim takes them at
 * its first look. A THP covered whole is handled at PMD level; a large
 * folio covered in part is split first (skipped when its lock is busy or
 * the split fails). Contents and protections do not change.
 *
 * MADV_PAGEOUT (madvise_cold_or_pageout_pte_range() + reclaim_pages()):
 * the folios only this mapping maps are reclaimed now, references ignored:
 * anonymous ones are written to swap (swap entries in the ptes), clean
 * file ones dropped from the page cache, lazyfree clean ones discarded;
 * dirty file folios are unmapped but stay dirty in the page cache; pinned,
 * referenced and unevictable folios are kept as by any reclaim. Large
 * folios are split first (simmm swaps no THP out whole).
 *
 * MADV_GUARD_INSTALL (madvise_guard_install(), Linux 6.15 to 6.18: any
 * VMA but VM_SPECIAL, hugetlb and VM_LOCKED ones, file-backed, shared and
 * PROT_NONE included): whatever the range maps is zapped (one CLEAR
 * invalidation; THPs split at the edges) and every page gets a guard
 * marker; markers already there stay. An access to a guard page faults
 * with SIGSEGV (simmm_mm_access(): -EFAULT, stats.sigsegv), GUP and
 * hmm_range_fault() asked to fault it fail with -EFAULT, POPULATE with
 * -EFAULT, simmm_mm_peek() gives -EFAULT. Markers stay through
 * MADV_DONTNEED, MADV_FREE, MADV_COLD/PAGEOUT, mprotect() and reclaim,
 * move with mremap() and are copied by fork() (the VMA got an anon_vma, so
 * fork copies its page table; not into a VM_WIPEONFORK child); munmap()
 * and exit drop them. MADV_GUARD_REMOVE (madvise_guard_remove()) clears
 * the markers of the range and nothing else, also in VM_LOCKED VMAs,
 * faulting nothing in; no notifier. simmm models restart_syscall(): when
 * faults of other tasks keep repopulating the range through three install
 * passes, the call is restarted with the mmap lock dropped, at most 16
 * times (then -EAGAIN; upstream restarts without a bound).
 *
 * The VMA-flag advice (madvise_update_vma(): the VMAs split at the range's
 * edges and merge again after): HUGEPAGE / NOHUGEPAGE, DONTFORK / DOFORK,
 * WIPEONFORK / KEEPONFORK, NORMAL / RANDOM / SEQUENTIAL (VM_RAND_READ,
 * VM_SEQ_READ: no recency, see SIMMM_MADV_NORMAL) and DONTDUMP / DODUMP.
 *
 * MADV_DONTNEED of a hugetlb VMA (madvise_dontneed_free_valid_vma(), 5.18+)
 * zaps whole huge pages: its part of the range must start on a huge-page
 * boundary, and its end rounds down to one (nothing left: nothing done).
 *
 * Locking: the mmap lock for read, for write with the VMA-flag advice and
 * COLLAPSE (REMOVE drops it around its punches).
 * Return: 0 (also for @len 0); -EINVAL: NULL, misaligned, unknown advice,
 * DONTNEED/FREE/COLD/PAGEOUT on VM_LOCKED|VM_PFNMAP (DONTNEED_LOCKED: on
 * VM_PFNMAP only), FREE/COLD/PAGEOUT on
 * VM_HUGETLB, DONTNEED from inside a hugetlb page, FREE on a file
 * VMA, DOFORK on VM_IO, DODUMP on a VM_SPECIAL VMA that is not hugetlb
 * (VM_IO/VM_PFNMAP/VM_MIXEDMAP driver mappings), WIPEONFORK on anything but private anonymous
 * memory, GUARD_INSTALL on VM_SPECIAL|VM_HUGETLB|VM_LOCKED, GUARD_REMOVE on
 * VM_SPECIAL|VM_HUGETLB; -ENOMEM: part of the range unmapped (the mapped
 * parts are advised, as madvise_walk_vmas() does; POPULATE stops at the
 * hole), or allocation failure (GUARD_INSTALL: the markers placed before
 * it stay); -EAGAIN / -ENOMEM / -EINVAL from COLLAPSE as upstream;
 * POPULATE's -EINVAL, -EFAULT and -EHWPOISON above; -EAGAIN when
 * GUARD_INSTALL ran out of restarts.
 *
 * MADV_REMOVE (madvise_remove()): for each VMA of the range, the file range
 * it maps is punched as simmm_file_punch_hole() does (shared mappings of
 * it, in every mm, lose those pages, which read as zeros again; private
 * mappings keep their COW copies); the mmap lock is dropped around each
 * punch and the next VMA looked up again. Per VMA: -EINVAL for VM_LOCKED
 * or no file (private anonymous memory, driver mappings), -EACCES unless
 * the VMA is VM_SHARED and VM_MAYWRITE (a private mapping, private
 * hugetlb included, a read-only file's). Works on shared anonymous memory
 * (its shmem file), hugetlb
 * too (hugetlbfs_punch_hole(): the whole huge pages of the range are
 * unmapped everywhere and freed, the partial ones at its edges zeroed).
 *
 * MADV_HWPOISON (madvise_inject_error()): before any VMA is looked at, each
 * page of the range is got as get_user_pages_fast() would (a read fault)
 * and handed to simmm_memory_failure() with ACTION_REQUIRED and this mm as
 * the current process; the loop goes on after the page's whole folio (a
 * THP: the rest of it is skipped). -EPERM without CAP_SYS_ADMIN
 * (simmm_mm_set_cap_sys_admin()); the first GUP or memory_failure() error.
 */
SIMMM_API int simmm_madvise(struct simmm_mm *mm, simmm_addr_t addr, uint64_t len, int advice);

/** struct simmm_iovec - one range of simmm_process_madvise() (struct iovec). */
struct simmm_iovec {
	simmm_addr_t base; /* iov_base */
	uint64_t len;      /* iov_len, bytes */
};

/** SIMMM_UIO_MAXIOV - the most vectors one call takes (UIO_MAXIOV). */
#define SIMMM_UIO_MAXIOV 1024

/**
 * simmm_process_madvise() - process_madvise(2): advise the ranges @vec of
 * the process owning @target, on behalf of the process owning @caller
 * (simmm's pidfd is the mm itself).
 * @caller: the calling process (the same mm: "current").
 * @target: the process advised.
 * @vec: @vlen ranges, in order.
 * @advice: SIMMM_MADV_*. Another process may only be given MADV_COLD,
 *          PAGEOUT, WILLNEED and COLLAPSE (process_madvise_remote_valid()),
 *          and only by a caller with CAP_SYS_NICE
 *          (simmm_mm_set_cap_sys_nice()); a process advising itself may
 *          give anything simmm_madvise() takes (Linux 6.13+).
 * @flags: must be 0.
 *
 * As upstream's vector_madvise() (6.15+): the madvise lock is taken once
 * for all the ranges, and each range is advised as simmm_madvise() would
 * (a restart requested by MADV_GUARD_INSTALL drops and retakes the lock
 * and advises that range again). The walk stops at the first range that
 * fails; the ranges before it stay advised, and so do the mapped parts of
 * the failing one (its holes give -ENOMEM, as madvise). The lengths are
 * clamped to MAX_RW_COUNT in all (INT_MAX rounded down to a page), as
 * import_iovec() does, and an empty range is skipped (after the first, not
 * even checked: iov_iter_advance() steps over empty vectors).
 *
 * Context: the target's mmap lock, as simmm_madvise() takes it for @advice.
 * Return: the bytes of the ranges advised whole (their lengths as given,
 * clamped), if any; otherwise the error: -EINVAL (NULL or dead mms, mms of
 * two instances, @flags, more than SIMMM_UIO_MAXIOV vectors, a length
 * above INT64_MAX, advice not allowed for another process, the first
 * range misaligned or wrapping, unknown advice, or simmm_madvise()'s
 * -EINVAL); -EFAULT (@vec NULL with @vlen > 0); -ESRCH (@target's process
 * has exited: mm_users 0); -EPERM (another process without CAP_SYS_NICE);
 * simmm_madvise()'s errors for the first range.
 */
SIMMM_API int64_t simmm_process_madvise(struct simmm_mm *caller, struct simmm_mm *target,
					const struct simmm_iovec *vec, size_t vlen, int advice,
					unsigned flags);

/**
 * simmm_mremap() - move or resize a mapping (MREMAP_MAYMOVE, MREMAP_FIXED,
 * MREMAP_DONTUNMAP), as Linux 6.17's mm/mremap.c. Page-table entries move
 * with the VMA (move_page_tables(): a huge PMD whole with its deposited
 * table, a PTE or PMD table whole, when the extent is a whole, mutually
 * aligned PMD or PUD and the new slot is free; otherwise a THP is split
 * and its ptes move), so present, swap, migration and device-private
 * entries keep their pages; one MMU_NOTIFY_UNMAP invalidation of the old
 * range brackets the move. The new VMA merges with compatible neighbours
 * at the destination, as copy_vma() does; a never-faulted anonymous VMA
 * takes the new address as its linear index first (so its pgoff changes,
 * see simmm_vma_info()). Growing in place merges with the next VMA when
 * the new end reaches it and they are compatible (vma_merge_extend()).
 *
 * A same-size MREMAP_FIXED move (DONTUNMAP allowed) may span several
 * VMAs and the holes between them (remap_move(), 6.17+): each VMA's part
 * moves to the same offset from @new_addr, one after the other, each
 * unmapping only its own target (what the target has in the holes'
 * places stays). It stops at the first failure, leaving what moved
 * moved. Every other call works on the one VMA at @old_addr. A hugetlb
 * VMA (VM_HUGETLB | VM_DONTEXPAND) moves and shrinks in whole huge pages
 * (both lengths round up to its huge page size) and never grows; its
 * entries move whole under an MMU_NOTIFY_CLEAR invalidation
 * (move_hugetlb_page_tables()). MREMAP_DONTUNMAP leaves the old VMA whole
 * (not split), empty in the range, and clears VM_LOCKED / VM_LOCKONFAULT
 * on all of it without munlocking what it still maps; an old VMA moved
 * whole leaves its anon_vma (dontunmap_complete()).
 * @out: receives the new address (of the first VMA for several).
 * Context: takes the mmap lock for write; may sleep.
 * Return: 0; -EINVAL: bad flags/alignment/overlap, a zero @old_len or
 * @new_len, DONTUNMAP without MAYMOVE or with a size change, FIXED without
 * MAYMOVE, DONTUNMAP of a VM_PFNMAP or VM_DONTEXPAND (hugetlb included)
 * VMA; for a hugetlb VMA, @old_addr or @new_addr (as passed, even without
 * MREMAP_FIXED, as upstream) not aligned to its huge page size, or growth;
 * -EFAULT: no VMA at @old_addr, or the range to grow or move is not
 * inside it (without MREMAP_FIXED / DONTUNMAP the same size does
 * nothing and a shrink only unmaps the tail, across VMAs and holes, both
 * after the hugetlb rules above; a FIXED move that shrinks
 * needs only @new_len inside it; a same-size FIXED move only a VMA at
 * @old_addr), or growing a VM_DONTEXPAND (special) mapping; in a
 * same-size FIXED move, a VMA with a userfaultfd context (VM_UFFD_MISSING
 * / VM_UFFD_WP: vma_multi_allowed()) that is not alone in the range (when
 * it is not the first, after the VMAs before it moved); -ENOMEM: cannot grow in place without MAYMOVE, no
 * space, growing a VM_MIXEDMAP mapping in place (vma_merge_extend()
 * merges no special VMA), or allocation failure (nothing changed, except
 * that with MREMAP_FIXED the target range, and a shrinking move's tail,
 * were already unmapped, and that a move over several VMAs leaves those
 * before the failing one moved, as upstream).
 */
SIMMM_API int simmm_mremap(struct simmm_mm *mm, simmm_addr_t old_addr, uint64_t old_len,
			   uint64_t new_len, int flags, simmm_addr_t new_addr, simmm_addr_t *out);

/**
 * simmm_fork() - dup_mmap(): a child address space. Private anonymous pages
 * are shared copy-on-write (both sides write-protected, notifier
 * PROTECTION_PAGE on the parent's range), shared mappings stay shared,
 * non-present entries are copied as copy_nonpresent_pte() does (swap
 * counts, writable migration/device-private entries made readable in both),
 * VM_DONTCOPY VMAs are skipped, VM_WIPEONFORK ones are empty in the child.
 * Anonymous pages pinned with FOLL_PIN are copied at fork, as upstream: an
 * anon-exclusive page of a folio that may be pinned gets its own copy in
 * the child; a PMD-mapped THP has the parent's PMD split first (the folio
 * stays whole, and the parent's pages, entries and pins are kept); a
 * private hugetlb page is copied into a new huge page.
 * Return: 0; -EINVAL; -ENOMEM (the child is destroyed; the parent is
 * unchanged but for pinned THPs' PMDs already split); -ENOSPC: no free huge
 * page for a pinned hugetlb page's copy (child destroyed, as for -ENOMEM).
 */
SIMMM_API int simmm_fork(struct simmm_mm *parent, struct simmm_mm **child);

/**
 * simmm_mm_access() - a CPU access of @len bytes at @addr as task @task of
 * @mm: the load/store/fetch faults exactly as handle_mm_fault() would.
 * @buf: source (WRITE) or destination (READ, EXEC; may be NULL).
 * Locking: takes the mmap lock for read around each fault. A fault that
 * has to sleep on a folio lock releases it first and is retried
 * (VM_FAULT_RETRY, FAULT_FLAG_TRIED): another task's munmap or mprotect
 * may run meanwhile, and the retry sees its result.
 * Return: 0; -EFAULT: no VMA, or access not permitted by the VMA (SIGSEGV;
 * nothing changes), or a range beyond the user VA limit; -EFAULT with
 * SIGBUS-like conditions counted in stats (hwpoison, beyond EOF, a driver
 * declining a device fault-back); -ENOMEM (OOM); -EDEADLK: the page is
 * under migration and no simulated task exists that could finish it, or
 * 8 faults in a row left the entry unchanged without sleeping until
 * another task woke them, with no other task able to run (runnable or
 * asleep on a timer) after each, or 1024 faults in all (a livelock on
 * the schedule); -EINVAL for NULL/dead @mm, a bad @access,
 * NULL @buf for a write, or a range that overflows. Pages before the
 * failing one were accessed.
 */
SIMMM_API int simmm_mm_access(struct simmm_mm *mm, simmm_addr_t addr, void *buf, uint64_t len,
			      enum simmm_access access);

/**
 * simmm_mm_peek() - read @len bytes at @addr of @mm as a load would see
 * them, without faulting and without changing anything: no young/dirty
 * bits, no page-cache or swap-cache folio created, no statistics, no trace
 * event. For oracles, debuggers and teaching tools. VMA protections are
 * ignored (as ptrace's FOLL_FORCE reads). A present or PROT_NONE leaf
 * reads its frame; a migration, device-private or device-exclusive entry
 * the page it names; a swap entry the swap-cache folio, else the slot; no
 * entry reads zeros (anonymous) or the page cache, else the backing store
 * (files, shmem).
 * @buf: destination of @len bytes.
 * Locking: takes the mmap lock for read.
 * Return: 0; -EINVAL: NULL/dead @mm, NULL @buf with a non-zero @len, a
 * range that overflows; -EFAULT: no VMA, a file page beyond EOF, a
 * VM_PFNMAP/VM_IO hole, a hwpoison or guard marker, a range beyond the
 * user VA limit; -EOPNOTSUPP: a hole of a shared hugetlb mapping (not
 * modelled); -EUCLEAN: a corrupt page table or swap entry. Pages before
 * the failing one were copied.
 */
SIMMM_API int simmm_mm_peek(struct simmm_mm *mm, simmm_addr_t addr, void *buf, uint64_t len);

/**
 * simmm_vm_insert_page() - vm_insert_page(): a driver's mmap handler maps
 * the system page @pfn at @addr of a VM_MIXEDMAP mapping (simmm_mmap()
 * with SIMMM_MAP_MIXEDMAP) with a normal pte, taking a reference and a
 * mapcount (counted as a file page, as upstream).
 * Context: the caller holds the mmap lock (simmm_mmap_write_lock()).
 * Return: 0; -EINVAL: NULL/dead @mm, mmap lock not held (MISUSE report),
 * no VM_MIXEDMAP VMA at @addr, misaligned @addr, @pfn free, anonymous or a
 * page table; -EBUSY: something is already mapped there; -ENOMEM.
 */
SIMMM_API int simmm_vm_insert_page(struct simmm_mm *mm, simmm_addr_t addr, simmm_pfn_t pfn);

/**
 * simmm_clear_refs_soft_dirty() - clear soft-dirty tracking of the whole
 * address space (echo 4 > /proc/pid/clear_refs): VM_SOFTDIRTY cleared on
 * every VMA; one MMU_NOTIFY_SOFT_DIRTY invalidation over [0, ~0) brackets
 * write-protecting every present pte / PMD leaf and clearing its soft-dirty
 * bit (swap entries lose their swp soft-dirty bit). The next write to a
 * page faults and marks it soft-dirty again. DMA-pinned pages are skipped.
 * Takes the mmap lock for write.
 * Return: 0; -EINVAL for NULL or a dead @mm; the mmap lock's errors.
 */
SIMMM_API int simmm_clear_refs_soft_dirty(struct simmm_mm *mm);

/**
 * simmm_handle_mm_fault() - fault one address in, as HMM and GUP do
 * (handle_mm_fault() with FAULT_FLAG_* bits). The caller holds the mmap
 * lock for read (simmm_mmap_read_lock()). SIMMM_FAULT_FLAG_UNSHARE breaks
 * COW without write access (the page becomes exclusive, reused or copied,
 * and stays read-only); outside a private mapping it is a read fault, and
 * with SIMMM_FAULT_FLAG_WRITE a WARN report and SIGSEGV.
 *
 * With SIMMM_FAULT_FLAG_ALLOW_RETRY a fault that has to wait for a folio
 * lock (swap-in, a locked page-cache folio, a device-exclusive entry's
 * restore) releases the mmap lock, waits, and returns SIMMM_VM_FAULT_RETRY
 * (folio_lock_or_retry(), lock_folio_maybe_drop_mmap()): the caller must
 * not unlock then, and retries as do_user_addr_fault() does, taking the
 * lock again and looking the VMA up again, with SIMMM_FAULT_FLAG_TRIED (a
 * tried fault sleeps on the folio lock with the mmap lock held). With
 * SIMMM_FAULT_FLAG_RETRY_NOWAIT as well it returns SIMMM_VM_FAULT_RETRY
 * without waiting and the lock stays held. Without ALLOW_RETRY the lock is
 * never released: the fault sleeps on the folio lock. Outside simulated
 * tasks a lock nobody could release gives SIMMM_VM_FAULT_RETRY (released
 * as above with ALLOW_RETRY, held without it).
 * Return: the vm_fault_t bits (0 = handled, SIMMM_VM_FAULT_* otherwise);
 * SIMMM_VM_FAULT_SIGSEGV for an address without a suitable VMA, and
 * (reported as misuse) for ALLOW_RETRY without the mmap lock held for read.
 */
SIMMM_API unsigned simmm_handle_mm_fault(struct simmm_mm *mm, simmm_addr_t addr,
					 unsigned fault_flags);

/**
 * simmm_vma_info() - the VMA containing @addr.
 * Return: 0; -ENOENT when no VMA contains @addr; -EINVAL.
 */
SIMMM_API int simmm_vma_info(struct simmm_mm *mm, simmm_addr_t addr, struct simmm_vma_info *out);

/**
 * simmm_mm_dump() - /proc/pid/maps plus the page table of each VMA as text.
 * Return: the full length (as snprintf); -EINVAL.
 */
SIMMM_API long simmm_mm_dump(struct simmm_mm *mm, char *buf, size_t len);

/**
 * simmm_mm_pgtable() - the mm's page table (read-only use: translate, dump,
 * walk). NULL for NULL.
 */
SIMMM_API struct simmm_pgtable *simmm_mm_pgtable(struct simmm_mm *mm);

/* ---- files and shmem ------------------------------------------------------------ */

/* simmm_file_create() flags */
/* opened read-only: MAP_SHARED + PROT_WRITE refused (-EACCES), as are
 * ftruncate (-EINVAL) and fallocate (-EBADF) */
#define SIMMM_FILE_RDONLY 0x1
#define SIMMM_FILE_SHMEM  0x2   /* tmpfs: pages are swap-backed */

/**
 * simmm_file_create() - a simulated file with a page cache (and a backing
 * store holding what was written back), @size bytes of zeros.
 * Return: 0; -EINVAL; -ENOMEM.
 */
SIMMM_API int simmm_file_create(simmm_sim *sim, uint64_t size, unsigned flags,
				struct simmm_file **out);

/**
 * simmm_file_put() - drop the creator's reference; the file goes away when
 * no mapping uses it any more.
 * Return: 0 or -EINVAL.
 */
SIMMM_API int simmm_file_put(struct simmm_file *file);

/**
 * simmm_file_pread() / simmm_file_pwrite() - read(2)/write(2) at @off
 * through the page cache (writes beyond the size extend the file). A write
 * holds the file's i_rwsem for write (inode_lock()), so it is ordered with
 * truncations and hole punches; a read stops at the EOF a concurrent
 * truncation sets.
 * Locking: pwrite may sleep on i_rwsem; hold no mmap lock.
 * Return: bytes transferred (pread stops at EOF); -EINVAL; -ENOMEM; the
 * scheduler's errors taking i_rwsem (pwrite).
 */
SIMMM_API long simmm_file_pread(struct simmm_file *file, void *buf, uint64_t len, uint64_t off);
SIMMM_API long simmm_file_pwrite(struct simmm_file *file, const void *buf, uint64_t len,
				 uint64_t off);

/** simmm_file_size() - current size in bytes (0 for NULL). */
SIMMM_API uint64_t simmm_file_size(const struct simmm_file *file);

/**
 * simmm_file_truncate() - ftruncate(2): set @file's size to @new_size
 * (truncate_setsize() + truncate_pagecache(); shmem_setattr() for a shmem
 * file), as Linux 6.12 to 6.17.
 * @file: a regular or shmem file.
 * @new_size: the new size in bytes.
 *
 * Growing only changes the size: the pages past the old EOF read as zeros.
 * Shrinking (or the same size) writes the size first, so that faults past
 * the new EOF get SIGBUS from then on (GUP -EFAULT), then zaps every
 * mapping of the file from the new EOF's page on, in every VMA of every
 * mm (fork children too), private COW copies included (even_cows: one
 * MMU_NOTIFY_CLEAR invalidation per VMA), removes those pages from the
 * page cache (each folio locked: a holder of the lock, a writeback, is
 * waited for; a folio a racing fault mapped again is unmapped again; a
 * pinned folio leaves the cache and stays alive for its holder), zeroes
 * the last page past the new EOF, zaps once more (pages COWed meanwhile)
 * and drops the backing store past EOF. A shmem file skips both zaps when
 * no whole page lies past the new EOF. hugetlb mappings of the file are
 * not touched (not modelled, see docs/mm.md "Truncation").
 *
 * Locking: takes the file's i_rwsem for write (simmm_file_pwrite() and
 * hole punches wait), i_mmap for read, folio locks; the caller must hold
 * no mmap lock (i_rwsem ranks above it). May sleep.
 * Return: 0; -EINVAL (NULL or dead @file, or a SIMMM_FILE_RDONLY file:
 * do_ftruncate() refuses an fd not open for writing); -EFBIG (@new_size
 * above the largest file size, as simmm_file_create() limits it); the
 * scheduler's errors taking i_rwsem.
 */
SIMMM_API int simmm_file_truncate(struct simmm_file *file, uint64_t new_size);

/**
 * simmm_file_punch_hole() - fallocate(FALLOC_FL_PUNCH_HOLE |
 * FALLOC_FL_KEEP_SIZE) of [@off, @off + @len) (truncate_pagecache_range(),
 * shmem_fallocate()): the whole pages of the range are unmapped from every
 * shared and private mapping of the file (one MMU_NOTIFY_CLEAR per VMA;
 * private COW copies stay: no even_cows) and removed from the page cache
 * (locked, as for simmm_file_truncate()), the partial pages at the edges
 * are zeroed in place (they stay mapped), the backing store's range is
 * zeroed. The size does not change; reads and faults of the hole give
 * zeros.
 * @file: a regular or shmem file.
 * @off, @len: the byte range (unaligned allowed; past EOF does nothing).
 *
 * Locking: as simmm_file_truncate().
 * Return: 0; -EINVAL (NULL or dead @file, @len 0); -EBADF (a
 * SIMMM_FILE_RDONLY file: vfs_fallocate() refuses an fd not open for
 * writing, after the length check); -EFBIG (the range wraps or ends past
 * the largest file size); the scheduler's errors.
 */
SIMMM_API int simmm_file_punch_hole(struct simmm_file *file, uint64_t off, uint64_t len);

/**
 * struct simmm_file_stats - a file's page cache.
 * @cached: pages in the page cache.
 * @dirty: of those, pages marked dirty (PG_dirty; dirty ptes not counted
 *   until they are moved to the folio by an unmap or a writeback).
 * @written: pages written back to the store so far (fsync, msync, and
 *   reclaim, which writes clean file pages too).
 */
struct simmm_file_stats {
	uint64_t cached, dirty, written;
};

/**
 * simmm_file_stats() - @file's page-cache counters.
 * Locking: none (a snapshot). Return: 0; -EINVAL (bad @file or NULL @out).
 */
SIMMM_API int simmm_file_stats(const struct simmm_file *file, struct simmm_file_stats *out);

/**
 * simmm_file_fsync() - fsync(2): write back every dirty page-cache folio of
 * @file (write_cache_pages() in WB_SYNC_ALL mode). Each folio is locked
 * (sleeping), then folio_clear_dirty_for_io(): every pte mapping it in a
 * shared VMA is write-protected and cleaned inside an
 * MMU_NOTIFY_PROTECTION_PAGE invalidation of the folio's span in that VMA
 * (page_mkclean_one(); private mappings are skipped), a dirty pte keeps the
 * folio dirty, and a dirty folio's data goes to the backing store. The next
 * CPU or device write to the page faults and dirties it again
 * (write-notify, see docs/mm.md "Dirty tracking of shared file mappings").
 * A shmem file has nothing to write back (noop_fsync()).
 *
 * Locking: may sleep (folio locks, notifier callbacks); takes no mmap lock.
 * Return: 0; -EINVAL for a NULL or bad @file; the scheduler's errors
 * while waiting for a folio lock (see <simmm/sched.h>).
 */
SIMMM_API int simmm_file_fsync(struct simmm_file *file);

/* simmm_msync() flags (Linux values) */
#define SIMMM_MS_ASYNC      1
#define SIMMM_MS_INVALIDATE 2
#define SIMMM_MS_SYNC       4

/**
 * simmm_msync() - msync(2) of [@addr, @addr + @len).
 * @mm: the address space.
 * @addr: page aligned start.
 * @len: bytes, rounded up to pages.
 * @flags: SIMMM_MS_ASYNC or SIMMM_MS_SYNC, optionally | SIMMM_MS_INVALIDATE.
 *
 * As upstream: MS_SYNC writes back, for each shared file VMA in the range,
 * the file pages that VMA maps there (vfs_fsync_range(), the mmap lock
 * dropped meanwhile, as simmm_file_fsync() does it); MS_ASYNC does nothing;
 * MS_INVALIDATE only fails on a VM_LOCKED VMA. Unmapped holes are skipped
 * and reported at the end; a plain MS_ASYNC stops at the first.
 *
 * Locking: takes the mmap lock for reading, drops it around each fsync;
 * may sleep. Return: 0; -EINVAL (bad @mm, unknown flags, MS_ASYNC with
 * MS_SYNC, unaligned @addr); -ENOMEM (the range wraps, or part of it is
 * unmapped); -EBUSY (MS_INVALIDATE on a VM_LOCKED VMA); the mmap lock's
 * and the folio locks' errors.
 */
SIMMM_API int simmm_msync(struct simmm_mm *mm, simmm_addr_t addr, uint64_t len, int flags);

/* ---- mlock ------------------------------------------------------------------------ */

/**
 * simmm_mlock() - mlock(2): lock [@start, @start + @len) in memory
 * (do_mlock()).
 * @mm: the address space.
 * @start: any address; rounded down to its page, @len growing by the
 *   offset (len = PAGE_ALIGN(len + offset_in_page(start)), as upstream;
 *   the addition wraps like the kernel's unsigned long).
 * @len: bytes.
 *
 * Each VMA of the range gets VM_LOCKED (VM_LOCKONFAULT cleared), split at
 * the range's edges and merged with its neighbours as mprotect() does
 * (mlock_fixup()); the folios already mapped there are mlocked (moved to
 * the unevictable LRU list, see &struct simmm_lru_stats). VM_SPECIAL
 * (VM_IO, VM_PFNMAP, VM_MIXEDMAP, VM_DONTEXPAND) and hugetlb VMAs are left
 * as they are, without an error. Then the range is populated
 * (__mm_populate()): every page is faulted in as get_user_pages() would
 * (a write fault in private writable mappings, breaking COW; a FOLL_FORCE
 * read fault elsewhere), VM_IO/VM_PFNMAP VMAs skipped; new folios of a
 * VM_LOCKED VMA are mlocked as they are mapped. Reclaim never unmaps a
 * page of a VM_LOCKED VMA.
 *
 * RLIMIT_MEMLOCK: modelled per mm (simmm_mm_set_memlock_limit(), default
 * unlimited; CAP_IPC_LOCK with simmm_mm_set_cap_ipc_lock()).
 *
 * Locking: takes the mmap lock for write to change the VMAs, then for read
 * to populate (another task may unmap the range meanwhile, as upstream).
 * Return: 0 (also for a zero length); -EINVAL: bad @mm, or the range wraps;
 * -EPERM: RLIMIT_MEMLOCK is 0 without CAP_IPC_LOCK; -ENOMEM: the range
 * would exceed RLIMIT_MEMLOCK (nothing changed), part of it is unmapped
 * (the VMAs before the hole were changed, as apply_vma_lock_flags() does),
 * a VMA split could not allocate (the VMAs before it were changed), or
 * populating failed for lack of access (a PROT_NONE VMA, a page beyond
 * EOF: -EFAULT turned into -ENOMEM, __mlock_posix_error_return()); the
 * VMAs stay VM_LOCKED then; -EAGAIN: populating ran out of memory; the
 * mmap lock's errors.
 */
SIMMM_API int simmm_mlock(struct simmm_mm *mm, simmm_addr_t start, uint64_t len);

/**
 * simmm_mlock2() - mlock2(2): simmm_mlock() with @flags.
 * @flags: 0, or SIMMM_MLOCK_ONFAULT: the VMAs get VM_LOCKED|VM_LOCKONFAULT
 *   and nothing is populated (populate_vma_page_range() skips
 *   VM_LOCKONFAULT VMAs); pages already there are mlocked, pages faulted
 *   in later are mlocked as they come. Changing between the two kinds of
 *   locking only changes the flag.
 * Return: as simmm_mlock(); -EINVAL for unknown @flags (checked first).
 */
SIMMM_API int simmm_mlock2(struct simmm_mm *mm, simmm_addr_t start, uint64_t len,
			   unsigned flags);

/**
 * simmm_munlock() - munlock(2): VM_LOCKED and VM_LOCKONFAULT cleared on the
 * VMAs of the range (split and merged as for simmm_mlock()), their folios
 * munlocked: each loses one of the locks counting it and goes back to the
 * evictable LRU when none is left. Nothing is unmapped.
 * Locking: takes the mmap lock for write.
 * Return: 0; -EINVAL (bad @mm, wrapping range); -ENOMEM (a hole, or a split
 * could not allocate: the VMAs before it were changed); the mmap lock's
 * errors. No RLIMIT_MEMLOCK or capability check.
 */
SIMMM_API int simmm_munlock(struct simmm_mm *mm, simmm_addr_t start, uint64_t len);

/**
 * simmm_mlockall() - mlockall(2) (apply_mlockall_flags()).
 * @flags: SIMMM_MCL_CURRENT: every VMA gets VM_LOCKED (with SIMMM_MCL_ONFAULT
 *   also VM_LOCKONFAULT), then the whole address space is populated,
 *   errors ignored (mm_populate()); SIMMM_MCL_FUTURE: later mappings
 *   (simmm_mmap()) are created VM_LOCKED (VM_LOCKONFAULT too with
 *   SIMMM_MCL_ONFAULT) and populated unless VM_LOCKONFAULT: the mm's
 *   def_flags, replaced by each call (a call without MCL_FUTURE clears it).
 *   MCL_FUTURE alone leaves the existing VMAs as they are.
 *
 * Special and hugetlb VMAs are skipped as by simmm_mlock(). A fork child
 * inherits neither the locks nor def_flags (dup_mmap(), mm_init()).
 * Locking: takes the mmap lock for write, then for read to populate.
 * Return: 0; -EINVAL: bad @mm, @flags 0, unknown bits, or MCL_ONFAULT
 * alone; -EPERM: RLIMIT_MEMLOCK 0 without CAP_IPC_LOCK; -ENOMEM: with
 * MCL_CURRENT, the mm's total mapped size exceeds RLIMIT_MEMLOCK (nothing
 * changed); the mmap lock's errors.
 */
SIMMM_API int simmm_mlockall(struct simmm_mm *mm, int flags);

/**
 * simmm_munlockall() - munlockall(2): VM_LOCKED and VM_LOCKONFAULT cleared
 * on every VMA (their folios munlocked) and in def_flags.
 * Locking: takes the mmap lock for write.
 * Return: 0; -EINVAL for a bad @mm; the mmap lock's errors.
 */
SIMMM_API int simmm_munlockall(struct simmm_mm *mm);

/**
 * simmm_mm_set_memlock_limit() - setrlimit(RLIMIT_MEMLOCK) for the process
 * owning @mm: @bytes may be locked (SIMMM_RLIM_INFINITY: no limit, the
 * default). What is locked already stays locked. Checked by simmm_mlock()
 * (mm->locked_vm plus the new pages not locked yet), simmm_mlockall() with
 * MCL_CURRENT (every mapped page), and, for a VM_LOCKED mapping, by
 * simmm_mmap() and a growing simmm_mremap() (mlock_future_ok(): -EAGAIN).
 * A fork child inherits it.
 * Return: 0; -EINVAL for a bad @mm.
 */
SIMMM_API int simmm_mm_set_memlock_limit(struct simmm_mm *mm, uint64_t bytes);

/**
 * simmm_mm_set_cap_ipc_lock() - give (or take) CAP_IPC_LOCK to the process
 * owning @mm: RLIMIT_MEMLOCK no longer applies (default off). A fork child
 * inherits it.
 * Return: 0; -EINVAL for a bad @mm.
 */
SIMMM_API int simmm_mm_set_cap_ipc_lock(struct simmm_mm *mm, bool on);

/**
 * simmm_mm_set_cap_sys_admin() - give (or take) CAP_SYS_ADMIN to the process
 * owning @mm: MADV_HWPOISON needs it (-EPERM otherwise; default off). A
 * fork child inherits it.
 * Return: 0; -EINVAL for a bad @mm.
 */
SIMMM_API int simmm_mm_set_cap_sys_admin(struct simmm_mm *mm, bool on);

/**
 * simmm_mm_set_cap_sys_nice() - give (or take) CAP_SYS_NICE to the process
 * owning @mm: simmm_process_madvise() of another process needs it (-EPERM
 * otherwise; default off). A fork child inherits it.
 * Return: 0; -EINVAL for a bad @mm.
 */
SIMMM_API int simmm_mm_set_cap_sys_nice(struct simmm_mm *mm, bool on);

/* ---- memory failure (hwpoison) -------------------------------------------------- */

/* memory_failure() flags (Linux's MF_* values). */
#define SIMMM_MF_ACTION_REQUIRED 0x02 /* the current process consumed the poison */
#define SIMMM_MF_MUST_KILL       0x04 /* signal the processes even if recoverable */
#define SIMMM_MF_SW_SIMULATED    0x20 /* injected by software (MADV_HWPOISON) */

/**
 * simmm_memory_failure() - memory_failure(): frame @pfn is reported
 * corrupted. The frame is marked PG_hwpoison and taken out of use for good:
 * a free frame leaves the buddy allocator; a user folio (a THP is split
 * first) is unmapped from every process, its ptes replaced by hwpoison
 * entries (a later CPU access gets SIGBUS, hmm_range_fault() and GUP
 * -EFAULT / -EHWPOISON, mirrors get the usual MMU_NOTIFY_CLEAR), and is
 * dropped from the swap or page cache where the data is still on disk. A
 * clean page-cache page of a regular file is just dropped (the next fault
 * reads the file again); a dirty one is lost and the file's next fsync()
 * fails with -EIO; a shmem page stays in the cache, poisoned (reads -EIO,
 * faults SIGBUS); a dirty swap-cache page stays there and faults SIGBUS.
 * See src/mm/memory_failure.c for each page state.
 * @pfn: a RAM frame, or a ZONE_DEVICE frame: its pagemap's
 *   ->memory_failure() decides, and without one (or when it returns
 *   -EOPNOTSUPP) device memory is refused with -EBUSY, as upstream.
 * @flags: SIMMM_MF_*.
 * @current: the process on whose behalf the failure is handled (its
 *   mappings of the page get SIGBUS BUS_MCEERR_AR with
 *   SIMMM_MF_ACTION_REQUIRED, counted in &struct simmm_mm_stats), or NULL.
 *   Other processes are signalled only when they touch the page (no early
 *   kill is modelled).
 * Locking: takes a machine-wide mutex, the folio lock and the mmap locks
 * of the processes mapping the page (sleeps).
 * Return: 0 when the page was recovered (or the result is delayed); -EBUSY
 * when it could not be (still referenced, an unmap that failed, a page
 * table or zero page, a hugetlb page, device memory); -EHWPOISON when it
 * was poisoned already (0 instead if @current with ACTION_REQUIRED maps it
 * no more) or a THP could not be split; -ENXIO: @pfn is no memory;
 * -EINVAL: bad arguments; -ENOMEM.
 */
SIMMM_API int simmm_memory_failure(simmm_sim *sim, simmm_pfn_t pfn, int flags,
				   struct simmm_mm *current);

/**
 * simmm_unpoison_memory() - unpoison_memory() (debugfs hwpoison/unpoison-pfn):
 * give a software-poisoned frame back to the page allocator. Only a frame
 * nobody uses any more qualifies: no reference but the poison's, not
 * mapped, in no page or swap cache.
 * Locking: the memory-failure mutex (sleeps).
 * Return: 0; -EBUSY: not poisoned, or still used; -EOPNOTSUPP: a failure
 * without SIMMM_MF_SW_SIMULATED was handled since boot (upstream then
 * refuses every unpoison); -ENXIO: @pfn is no memory; -EINVAL; -ENOMEM.
 */
SIMMM_API int simmm_unpoison_memory(simmm_sim *sim, simmm_pfn_t pfn);

/**
 * struct simmm_mf_stats - memory_failure() outcomes since boot
 * (action_result()'s MF_RECOVERED, MF_DELAYED, MF_FAILED, MF_IGNORED) and
 * @poisoned, the frames with PG_hwpoison now (num_poisoned_pages).
 */
struct simmm_mf_stats {
	uint64_t ignored, failed, delayed, recovered;
	uint64_t poisoned;
};

/**
 * simmm_soft_offline_page() - soft_offline_page() (the sysfs
 * soft_offline_page interface): take frame @pfn out of use without losing
 * its contents and without signalling anyone. A free frame leaves the
 * buddy allocator. A frame in use (on the LRU; a THP is split first) is
 * migrated: its contents go to a new frame, every mapping (all mms, found
 * through the reverse map) is moved to it, a page-cache slot too; a clean
 * page-cache page of a regular file that nobody maps is dropped from the
 * cache instead (mapping_evict_folio(): the file holds its bytes). The old
 * frame is then held hwpoisoned (counted in &simmm_mf_stats.poisoned) and
 * never allocated again. Not modelled: hugetlb pages (migrated and
 * dissolved upstream; -EBUSY here), the enable_soft_offline sysctl,
 * MADV_SOFT_OFFLINE (madvise would have to call the migration layer; it
 * stays -EINVAL). A swap-cache folio moves with its swap-cache slot.
 * @sim: the instance.
 * @pfn: a RAM frame.
 * Context: takes the memory-failure mutex and the folio lock; may sleep.
 * Return: 0 (also for a frame already poisoned); -EINVAL (@sim);
 * -ENXIO (no such frame); -EIO (device memory, or a frame that is neither
 * free nor on the LRU: page tables, the zero page, a folio isolated by
 * someone else); -EBUSY (a pinned, unsplittable or unmovable folio, a
 * hugetlb page, no memory for the copy; nothing changed); -ENOMEM.
 */
SIMMM_API int simmm_soft_offline_page(simmm_sim *sim, simmm_pfn_t pfn);

/**
 * simmm_memory_failure_stats() - read the counters.
 * Return: 0; -EINVAL for NULL arguments; -ENOMEM.
 */
SIMMM_API int simmm_memory_failure_stats(simmm_sim *sim, struct simmm_mf_stats *out);

/* ---- memory pressure ---------------------------------------------------------- */

/**
 * simmm_reclaim() - split the THPs on the deferred split queue (partially
 * mapped ones: their unmapped pages are freed, see &struct
 * simmm_thp_stats), then shrink the LRU for the rest: pick cold folios,
 * unmap them through the reverse map (notifier CLEAR), write the dirty
 * ones out (anonymous ones to swap, file ones to their backing store;
 * a clean folio's copy there is current) and free them. As memory.reclaim,
 * it repeats its pass over the scan priorities until @nr_pages are freed
 * or passes have come back empty 17 times (MAX_RECLAIM_RETRIES retries,
 * not reset by a pass that frees). Each scan priority of a pass weighs
 * anonymous against file folios by the swappiness (simmm_set_swappiness())
 * and scans no anonymous folio while swap is full; a priority goes on
 * until it alone has freed what the pass asked for, or one type is done,
 * so a pass may free more than asked (see docs/mm-ext.md, "LRU and
 * reclaim").
 * @nr_pages: target.
 * @reclaimed: receives the pages freed (may be NULL).
 *
 * Context: any task or none; may sleep. Concurrent calls reclaim
 * independently (each isolates the batch it works on); called by a task
 * that is already reclaiming (from a notifier callback), it frees nothing.
 * Return: 0; -EINVAL; -ENOSPC when nothing was freed and anonymous folios
 * were left for lack of swap (full or absent).
 */
SIMMM_API int simmm_reclaim(simmm_sim *sim, uint64_t nr_pages, uint64_t *reclaimed);

/**
 * struct simmm_lru_stats - the LRU lists and reclaim counters (the
 * classic LRU: inactive and active lists for anonymous and for file
 * folios, plus the unevictable list, see docs/mm-ext.md "LRU and
 * reclaim"; /proc/vmstat's names in brackets). List sizes are in folios,
 * not pages.
 * @nr_inactive: folios on the inactive lists (nr_inactive_anon + _file).
 * @nr_active: folios on the active lists (PG_active; nr_active_anon +
 *   _file).
 * @nr_isolated: folios the LRU shrinks hold off the lists now, in batches
 *   of up to 32 (nr_isolated_anon + _file; a direct reclaimer waits while
 *   those of the type it scans exceed an eighth of that type's inactive
 *   list).
 * @nr_isolated_other: folios MADV_PAGEOUT holds off the lists now
 *   (folio_isolate_lru(), which the kernel's counters leave out).
 * @scanned: inactive-list folios reclaim has looked at since boot (pgscan).
 * @reclaimed: pages reclaim has freed since boot (pgsteal).
 * @activated: folios moved to the active lists: by reclaim (referenced
 *   twice, executable file mappings, unmap or pin failures)
 *   and by reads through the page cache (pgactivate).
 * @deactivated: folios moved back to the inactive lists by the aging of
 *   the active lists and by MADV_COLD (pgdeactivate).
 * @nr_unevictable: folios on the unevictable list (PG_unevictable: the
 *   mlocked ones, see simmm_mlock(); reclaim never scans it).
 * @nr_mlock: pages of folios with PG_mlocked (NR_MLOCK, "Mlocked:" of
 *   /proc/meminfo).
 * @mlocked, @munlocked: pages that gained / lost PG_mlocked through an
 *   mlock or munlock (unevictable_pgs_mlocked / _munlocked);
 * @culled: pages moved to the unevictable list (unevictable_pgs_culled);
 * @rescued: pages moved from it back to an evictable list
 *   (unevictable_pgs_rescued);
 * @stranded: pages munlocked while isolated from the unevictable list, left
 *   for their isolator's putback (unevictable_pgs_stranded);
 * @cleared: pages still mlocked when their folio was freed
 *   (unevictable_pgs_cleared).
 * @nr_inactive_anon, @nr_active_anon, @nr_inactive_file, @nr_active_file:
 *   the four evictable lists. The file lists hold the folios that are not
 *   swap-backed (folio_is_file_lru()): page-cache folios and lazyfree
 *   (MADV_FREE'd) anonymous folios; the anon lists hold swap-backed ones,
 *   anonymous and tmpfs (shmem) folios.
 * @nr_isolated_anon, @nr_isolated_file: @nr_isolated by the type of the
 *   list each batch came from.
 * @scanned_anon, @scanned_file, @reclaimed_anon, @reclaimed_file:
 *   @scanned and @reclaimed by type (pgscan_anon, pgsteal_file...).
 * @anon_cost, @file_cost: the recent cost of reclaiming each type as
 *   lru_note_cost() notes it (32 per folio written out, 1 per folio
 *   scanned and not freed or kept active by the aging; halved together
 *   when their sum exceeds a quarter of the evictable lists), which
 *   get_scan_count() weighs against the swappiness (see
 *   simmm_set_swappiness()), and 32 per refault that brought back a
 *   workingset folio (lru_note_cost_refault(), counted in @restore_anon or
 *   @restore_file).
 * @nonresident_age: the workingset clock (the lruvec's nonresident_age),
 *   in pages: evictions plus activations since boot. An evicted page-cache
 *   or swap-cache folio leaves a shadow entry with the clock's value; the
 *   refault distance is the clock at the refault less that.
 * @refault_anon, @refault_file: pages read back in (swap-in, page-cache
 *   read or fault; not write(2)) where the folio's eviction had left a
 *   shadow entry (workingset_refault_anon / _file).
 * @activate_anon, @activate_file: those of them whose refault distance was
 *   within the workingset size, added to the active list
 *   (workingset_activate_*). The size is the active file list, plus the
 *   inactive file list for an anon refault, plus, while a swap slot is
 *   free, the active anon list and, for a file refault, the inactive anon
 *   list (folios, where the kernel counts pages).
 * @restore_anon, @restore_file: those of them that had been active before
 *   their eviction (PG_workingset; workingset_restore_*).
 *
 * The list counts may include a folio whose last reference a bare
 * simmm_page_put() dropped, until that list is next compacted.
 */
struct simmm_lru_stats {
	uint64_t nr_inactive;
	uint64_t nr_active;
	uint64_t nr_isolated;
	uint64_t nr_isolated_other;
	uint64_t scanned;
	uint64_t reclaimed;
	uint64_t activated;
	uint64_t deactivated;
	uint64_t nr_unevictable;
	uint64_t nr_mlock;
	uint64_t mlocked, munlocked, culled, rescued, stranded, cleared;
	uint64_t nr_inactive_anon, nr_active_anon, nr_inactive_file, nr_active_file;
	uint64_t nr_isolated_anon, nr_isolated_file;
	uint64_t scanned_anon, scanned_file, reclaimed_anon, reclaimed_file;
	uint64_t anon_cost, file_cost;
	uint64_t nonresident_age;
	uint64_t refault_anon, refault_file, activate_anon, activate_file;
	uint64_t restore_anon, restore_file;
};

/**
 * simmm_lru_stats() - read the machine's LRU counters.
 * Context: any; no scheduling point.
 * Return: 0; -EINVAL for NULL arguments or a destroyed @sim; -ENOMEM when
 * the machine's reclaim state cannot be allocated.
 */
SIMMM_API int simmm_lru_stats(simmm_sim *sim, struct simmm_lru_stats *out);

/**
 * simmm_set_auto_reclaim() - reclaim when the buddy allocator runs dry
 * (default on).
 * Return: 0; -EINVAL for NULL or a destroyed @sim; -ENOMEM when the
 * machine's address-space state cannot be allocated.
 */
SIMMM_API int simmm_set_auto_reclaim(simmm_sim *sim, bool on);

/**
 * simmm_set_swappiness() - set the machine's vm.swappiness (default 60):
 * how reclaim weighs anonymous against file folios (get_scan_count()).
 * 0..200; 100 makes anon and file I/O cost the same, lower values favour
 * reclaiming file folios, higher ones anonymous folios. At 0 reclaim
 * scans the anon lists only when the file lists are nearly gone
 * (file_is_tiny), and not even at the last scan priority; whatever the
 * value, the anon lists are not scanned while swap is full or absent.
 * @sim: the instance.
 * @swappiness: 0..200.
 *
 * Context: any; no scheduling point. Takes effect at the next scan
 * priority of a reclaim in progress.
 * Return: 0; -EINVAL for NULL or a destroyed @sim or a value outside
 * 0..200; -ENOMEM when the machine's reclaim state cannot be allocated.
 */
SIMMM_API int simmm_set_swappiness(simmm_sim *sim, int swappiness);

/**
 * simmm_set_fault_around_bytes() - set the machine's fault-around window,
 * the kernel's debugfs fault_around_bytes (fault_around_bytes_set()): a
 * read fault on a missing pte of a file or shmem mapping first maps the
 * pages of that window around the address that the page cache holds
 * uptodate and unlocked (do_fault_around(), filemap_map_pages(); see
 * docs/mm.md, "Fault-around"). @bytes is rounded down to a power of two
 * and to whole pages, at least one; one page disables fault-around. The
 * default is 65536 (16 pages of 4 KiB, a single page of 64 KiB: none),
 * capped at a pte table on a user-defined geometry with smaller tables.
 * @sim: the instance.
 * @bytes: the window in bytes, at most PTRS_PER_PTE pages (the bytes one
 *   pte table maps).
 *
 * Context: any; no scheduling point. Takes effect at the next fault.
 * Return: 0; -EINVAL for NULL or a destroyed @sim or @bytes above
 * PTRS_PER_PTE pages; -ENOMEM when the machine's address-space state
 * cannot be allocated.
 */
SIMMM_API int simmm_set_fault_around_bytes(simmm_sim *sim, uint64_t bytes);

/**
 * simmm_get_fault_around_bytes() - read the fault-around window in bytes
 * (fault_around_bytes_get(): the page count times the page size).
 * @sim: the instance.
 * @bytes: receives the value.
 *
 * Context: any; no scheduling point.
 * Return: 0; -EINVAL for NULL arguments or a destroyed @sim.
 */
SIMMM_API int simmm_get_fault_around_bytes(simmm_sim *sim, uint64_t *bytes);

/* ---- GUP ------------------------------------------------------------------------ */

/**
 * simmm_get_user_pages() - get_user_pages(): fault in and reference
 * @nr_pages pages from @start (FOLL_WRITE, FOLL_FORCE, FOLL_LONGTERM,
 * FOLL_SPLIT_PMD, FOLL_NOFAULT, FOLL_NOWAIT). Takes the mmap lock for read
 * and keeps it throughout (mmap_read_lock(); get_user_pages();
 * mmap_read_unlock(): no `locked`, so a fault sleeps on a folio lock with
 * the lock held). FOLL_NOWAIT: a fault that would sleep on a folio lock
 * ends the call instead (FAULT_FLAG_RETRY_NOWAIT).
 * @pfns: receives the pfn of each page (references taken; release with
 *        simmm_put_user_pages()).
 * Return: the number of pages (>= 1; with FOLL_NOWAIT the pages before the
 * one that would wait, 0 if it is the first), or the first error: -EFAULT
 * (no VMA, VM_IO/PFNMAP, fault failed), -EPERM... as upstream, -EINVAL,
 * -ENOMEM.
 */
SIMMM_API long simmm_get_user_pages(struct simmm_mm *mm, simmm_addr_t start, uint64_t nr_pages,
				    unsigned gup_flags, simmm_pfn_t *pfns);

/**
 * simmm_pin_user_pages() - pin_user_pages(): like get, but FOLL_PIN:
 * small folios get GUP_PIN_COUNTING_BIAS references, large ones a pin
 * count; FOLL_LONGTERM refuses (migrates away first) device-coherent and
 * movable memory as upstream. Release with simmm_unpin_user_pages().
 * Return: as simmm_get_user_pages(); also -EINVAL when @gup_flags carries
 * the internal SIMMM_FOLL_PIN or SIMMM_FOLL_GET bits.
 */
SIMMM_API long simmm_pin_user_pages(struct simmm_mm *mm, simmm_addr_t start, uint64_t nr_pages,
				    unsigned gup_flags, simmm_pfn_t *pfns);

/** simmm_put_user_pages() / simmm_unpin_user_pages() - release. Return: 0 or -EINVAL. */
SIMMM_API int simmm_put_user_pages(simmm_sim *sim, const simmm_pfn_t *pfns, uint64_t n);
SIMMM_API int simmm_unpin_user_pages(simmm_sim *sim, const simmm_pfn_t *pfns, uint64_t n);

#ifdef __cplusplus
}
#endif
#endif
