// SPDX-License-Identifier: MIT
/*
 * fuzz_races: concurrent CPU threads and simulated devices on one address
 * space, interleaved by the replay scheduler from the fuzzer's bytes. See
 * fuzz/README.md for the input format.
 *
 * Setup: x86_64-4level, 256 frames of RAM, 512 of swap; one process (mm0)
 * with a private anonymous read-write window of NP pages (even pages
 * populated with 0x80 + page); one or two device-private devices of NDEVP
 * frames, each mirroring the window through an interval notifier (a small
 * lib/test_hmm.c dmirror: free list through zone_device_data, folio_free,
 * migrate_to_ram, a mutex that the invalidate callback takes).
 *
 * Tasks: one or two CPU threads and one task per device run the operations
 * the input gives them; the tail of the input is the replay schedule.
 *
 * Oracles, checked after every operation of every task and at the end:
 *  - mirror coherence: an entry a device programmed (after read_retry
 *    passed, under its lock) matches the CPU page table with no more
 *    permission (same pfn; present and accessible, or the device's own
 *    device-private entry, or for an atomic mapping the device-exclusive
 *    entry), until an invalidation of the page clears it;
 *  - data integrity: every byte a CPU or a device reads is one a
 *    linearizable byte register per page allows (each write, zap and
 *    (re)mapping is an interval [start tick, end tick]; a read may return a
 *    write that began before the read ended and was not overwritten by a
 *    write that ended before the read began). The same model tracks the
 *    protection of each page and judges -EFAULT;
 *  - no deadlock or livelock: simmm_sched_run() returns SIMMM_SCHED_DONE;
 *  - no report (lockdep, sleep in atomic, WARN, misuse): reports == 0;
 *  - simmm_check() == 0 at the end, every page read back, devices
 *    unregistered (memunmap_pages == 0), simmm_sim_destroy() == 0.
 * Allocation failures (an "inject" op arms SIMMM_FAULT_NTH) make ops fail
 * with -ENOMEM (or a CPU fault with SIGBUS when migrate_to_ram cannot
 * allocate); such an op must change nothing (zaps may be partial).
 *
 * THP mode (header byte 1 / 33 == 4): 2048 frames of RAM, the window's VMA
 * a whole PMD with MADV_HUGEPAGE (a PMD-mapped THP; the model tracks its
 * first NP pages, the rest must stay zero), devices with a PMD-aligned
 * device THP, whole-PMD migrations (SELECT_COMPOUND, a THP or base-page
 * destinations as the input offers), PMD fault-back and eviction of device
 * THPs, and -EFAULT from hmm_range_fault() judged by the model.
 *
 * Extended inputs (header bit 7) also give meaning to the arg bits the ops
 * ignored (A_PERPAGE, A_DMIRROR, A_REAP, A_PAGEOUT, ...). The CPU mmap
 * record with A_MORE (0x80) runs one of the "more" ops instead, (arg >> 4)
 * & 7: mremap out and back (the window's pages move to a scratch address,
 * a yield lets the others meet the hole, they move back; DONTUNMAP, the
 * whole VMA: move_huge_pmd() in THP mode), and the ops of a shared file
 * mapping: the file region, NF pages of a regular file mapped MAP_SHARED
 * read-write (write-notify) FILE_OFF above the window, created by the
 * first file op; read / write through it or pread / pwrite, munmap / mmap
 * of its pages, mprotect, MADV_DONTNEED / MADV_PAGEOUT, fsync and
 * msync(MS_SYNC), mremap. Device records with A_FILE (0x80) work on the
 * file region once the file exists (the bit is ignored before, as older
 * inputs set it). The model tracks the file's pages as pages NP..NT-1:
 * their data registers are the file's contents (mapping ops change only
 * their protection), mremap moves contents with the pages (checked with a
 * non-faulting peek at the scratch address), file pages never migrate to
 * device memory nor become device-exclusive, and at the end a final fsync
 * must leave no dirty page and every page, its clean cache reclaimed, must
 * read back (pread) what its register allows.
 *
 * A CPU record of an extended input with op byte OP_X (0xb7) runs an "X"
 * op: mremap that shrinks or grows (in place, MAYMOVE, FIXED, shrink and
 * grow back) on the window or the file region, judged by upstream's rules
 * for the VMAs it looked up; msync with MS_ASYNC / MS_INVALIDATE (the
 * file's dirty pages stay dirty, -EBUSY on VM_LOCKED); mlock / munlock of
 * file pages; and the fork child's accesses, MADV_DONTNEED and msync of
 * the file region it inherited shared. See fuzz/README.md.
 *
 * A CPU record of an extended input with op byte OP_Y (0xa7) runs a "Y"
 * op: mlock / munlock / mlock2(ONFAULT) of the window (populated when
 * alone; munlock then MADV_PAGEOUT must swap out the pages only it maps),
 * msync(MS_INVALIDATE) of file pages it mlocks first (-EBUSY), and the
 * fork child's writes and reads of the file region (forking first if
 * nobody did). Around every reclaim and MADV_PAGEOUT, a page of mm0 surely
 * in a VM_LOCKED VMA and present must stay present when nothing else ran.
 *
 * A record of an extended input with op byte OP_Z (0xd8) runs a "Z" op: on
 * a CPU task MADV_GUARD_INSTALL / MADV_GUARD_REMOVE of window pages (a
 * guard register per page: markers checked after every op, -EFAULT of
 * accesses, faulting hmm_range_fault() and GUP allowed there, none for
 * snapshots; markers move with mremap, fork copies them), or an op of the
 * hugetlb region (one MAP_HUGETLB huge page HUGE_OFF above the window, its
 * first NH pages tracked as model pages NT..NA-1: mmap, munmap, access,
 * DONTNEED, mprotect, fork + write; the forms inside the huge page must be
 * -EINVAL); on a device task a device op on the hugetlb region (its own
 * notifier; every mirrored pfn carries the huge page's order,
 * migrate_vma_setup() is -EINVAL, make_device_exclusive() -EOPNOTSUPP).
 * Such an input gets HUGE_RAM more frames. See fuzz/README.md.
 *
 * A CPU record of an extended input with op byte OP_T (0x96) runs a "T"
 * op on the file region: truncate (shrink to a page boundary or mid-page,
 * or grow), grow back, punch a hole, MADV_REMOVE in mm0 or the fork
 * child. A truncation or punch is a write of zeros to the pages it cuts
 * over its interval; an EOF register per file page (written by
 * truncations and extending pwrites, also over their intervals) judges
 * SIGBUS / -EFAULT of CPU and device accesses and pread's 0 bytes; after
 * every op a page surely past EOF has no entry in any mapping (nor,
 * through mirror coherence, a device mirror). See fuzz/README.md.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <simmm/simmm.h>

#include "fuzz_common.h"

#define NP        16   /* window pages */
#define NF        8    /* file region pages (extended inputs) */
#define NT        (NP + NF) /* pages the model tracks: the window, then the file region */
#define NH        4    /* hugetlb region pages the model tracks (its huge page's first) */
#define NA        (NT + NH) /* ... and then the hugetlb region's (inputs with Z ops) */
#define NDEVP     16   /* frames per device */
#define MAXDEV    2
#define MAXCPU    2
#define MAXTASK   (MAXCPU + MAXDEV)
#define MAXREC    32
#define MAXW      128  /* register history entries per page (mmap adds 2, mremap 3) */
#define MAXN      4    /* pages per ranged op */
#define RAM_PAGES 256
#define SWAP_PAGES 512
#define MAX_STEPS 200000
#define INFLIGHT  UINT32_MAX
/* Extended inputs (header bit 7): record arg bits of device ops, and of
 * CPU reclaim, select the variants below (see fuzz/README.md). */
#define A_PERPAGE 0x10  /* fault/snapshot: per-page request flags in hmm_pfns */
#define A_FIRST   0x40  /* with A_PERPAGE: only the first page asks */
#define A_DMIRROR 0x20  /* the op goes to the task's dmirror file instead */
#define A_TOGGLE  0x10  /* mirror-read: unregister / register again (close / reopen) */
#define A_REAP    0x80  /* CPU reclaim: an OOM-reaper-like non-blockable invalidation */
#define A_PAGEOUT 0x10  /* CPU dontneed: MADV_PAGEOUT instead (the range's folios reclaimed now) */
#define A_MORE    0x80  /* CPU mmap: an op of the "more" family, (arg >> 4) & 7 (M_*) */
#define A_FILE    0x80  /* device op: on the file region, once the file exists */
#define OP_X      0xb7  /* CPU op byte (183: op 3, mmap) of the "X" ops of extended inputs */
#define OP_Y      0xa7  /* CPU op byte (167: op 7, reclaim) of the "Y" ops of extended inputs */
#define OP_Z      0xd8  /* op byte (216) of the "Z" ops of extended inputs: guard regions and
			 * the hugetlb region (CPU records), device ops on the hugetlb
			 * region (device records); no in-tree input used it */
#define OP_T      0x96  /* CPU op byte (150: op 0, read) of the "T" ops of extended inputs:
			 * truncation of the file region; no in-tree input used it */
#define HUGE_OFF  (8ULL << 20)   /* hugetlb region: F.base + 8 MiB, one PMD-sized huge page */
#define HUGE_RAM  2048           /* RAM frames an input with Z ops gets more: 4 huge pages */
#define MF_2      0x04  /* flag bits of the "more" ops (see M_*) */
#define MF_3      0x08
#define FILE_OFF  (4ULL << 20)   /* file region: F.base + 4 MiB (past the THP window's PMD) */
#define SCR_OFF   (256ULL << 20) /* mremap scratch of CPU task i: the address + (i + 1) * this */
#define DM_CHUNK  (2ULL << 20) /* dmirror device memory chunk (one PMD) */
/* THP mode (header byte 1 / 33 == B1_THP): a PMD-sized window VMA with
 * MADV_HUGEPAGE, more RAM, PMD-capable devices (see "THP mode" below) */
#define B1_THP        4
#define PMD_ORDER     9
#define PMD_NR        (1u << PMD_ORDER)
#define THP_RAM_PAGES 2048
#define THP_DEVP      (PMD_NR + NDEVP) /* one device THP's frames + NDEVP */

enum { PR_UNMAPPED, PR_NONE, PR_R, PR_RW };
enum { C_READ, C_WRITE, C_MUNMAP, C_MMAP, C_MPROTECT, C_DONTNEED, C_FORK_WRITE, C_RECLAIM,
       C_INJECT, C_EXIT, NR_COPS };
enum { D_FAULT_READ, D_FAULT_WRITE, D_SNAPSHOT, D_TO_DEV, D_TO_SYS, D_EXCLUSIVE, D_EVICT,
       D_MIRROR_READ, NR_DOPS };
/* the "more" CPU ops (extended mmap record with A_MORE) */
enum { M_MREMAP, M_FMREMAP, M_FREAD, M_FWRITE, M_FMAP, M_FMPROTECT, M_FDONTNEED, M_FSYNC,
       NR_MOPS };

/* the "X" CPU ops (extended record with op byte OP_X), ((arg >> 4) & 7) % NR_XOPS */
enum { X_WRESIZE, X_FRESIZE, X_MSYNC, X_MLOCK, X_CHILD, NR_XOPS };

/* the "Y" CPU ops (extended record with op byte OP_Y), ((arg >> 4) & 7) % NR_YOPS */
enum { Y_MLOCK, Y_LMSYNC, Y_CHILD, NR_YOPS };

/* the "Z" CPU ops (extended CPU record with op byte OP_Z), (arg >> 4) & 7 */
enum { Z_GINSTALL, Z_GREMOVE, Z_HMAP, Z_HUNMAP, Z_HACCESS, Z_HDONTNEED, Z_HMPROTECT, Z_HFORK,
       NR_ZOPS };

/* the "T" CPU ops (extended CPU record with op byte OP_T), ((arg >> 4) & 7) % NR_TOPS */
enum { T_TRUNCATE, T_GROW, T_PUNCH, T_REMOVE, T_CREMOVE, NR_TOPS };

static const char *const cop_names[NR_COPS] = {
	"read", "write", "munmap", "mmap", "mprotect", "dontneed", "fork+write", "reclaim",
	"inject", "exit",
};
static const char *const dop_names[NR_DOPS] = {
	"fault-read", "fault-write", "snapshot", "migrate-to-dev", "migrate-to-sys",
	"exclusive", "evict", "mirror-read",
};
static const char *const mop_names[NR_MOPS] = {
	"mremap", "file-mremap", "file-read", "file-write", "file-map", "file-mprotect",
	"file-dontneed", "file-sync",
};
static const char *const xop_names[NR_XOPS] = {
	"resize", "file-resize", "file-msync", "file-mlock", "child-file",
};
static const char *const yop_names[NR_YOPS] = {
	"mlock", "locked-msync", "fork-child",
};
static const char *const zop_names[NR_ZOPS] = {
	"guard-install", "guard-remove", "huge-mmap", "huge-munmap", "huge-access",
	"huge-dontneed", "huge-mprotect", "huge-fork+write",
};
static const char *const top_names[NR_TOPS] = {
	"truncate", "grow", "punch", "madv-remove", "child-madv-remove",
};

/* ---- linearizable registers ------------------------------------------------------ */

struct wr {
	uint32_t s, e;  /* ticks; e = INFLIGHT until done */
	uint8_t v;
	bool maybe;     /* may or may not have happened: never supersedes */
	bool dead;      /* failed: did not happen */
};

struct reg {
	struct wr w[MAXW];
	unsigned n;
};

/* one address space of the model */
struct mmst {
	struct simmm_mm *mm;
	bool exists;  /* created (child: after fork) */
	bool gone;    /* its last harness reference was dropped (exit) */
	bool tail_lost; /* THP mode: the PMD's tail pages may be at a scratch address */
	/* lk: 1 while the page's VMA may be VM_LOCKED (mm0's file region:
	 * X_MLOCK), 0 when not, unmapped or moved; the child's stay empty
	 * (mlock is not inherited) */
	/* gd: 1 while the page may hold a guard marker (MADV_GUARD_INSTALL) */
	struct reg data[NA], prot[NA], lk[NA], gd[NA];
};

struct mir {
	simmm_pfn_t pfn;
	bool v, w, atomic;
};

struct fdev {
	struct simmm_dev_pagemap pgmap; /* first: pgmap -> device by cast */
	struct simmm_mmu_interval_notifier mn;
	struct simmm_mmu_interval_notifier mnf; /* the file region's, once the file exists */
	struct simmm_mmu_interval_notifier mnh; /* the hugetlb region's (inputs with Z ops) */
	struct simmm_mutex lock;
	unsigned id;
	uint32_t tid;   /* the device's task */
	bool in_hmm;    /* its task is inside its own hmm_range_fault() ... */
	simmm_addr_t hmm_start; /* ... of the range starting here */
	bool mn_on, mnf_on, mnh_on;
	void *free_head;
	uint64_t nfree;
	struct mir mir[NA];
	uint64_t nframes; /* NDEVP, or THP_DEVP in THP mode */
};

struct rec {
	uint8_t op, page, arg;
};

struct task {
	uint32_t tid;
	bool dev;
	unsigned idx; /* cpu index or device index */
	char name[8];
	uint64_t af0; /* simmm_phys_stats.alloc_failures when its current op began */
	struct rec rec[MAXREC];
	unsigned n;
	uint8_t buf[MAXN][4096]; /* dmirror command buffer */
};

static struct fz {
	simmm_sim *sim;
	uint64_t ps, base;
	struct mmst m[2]; /* 0 = the process, 1 = its fork child */
	struct fdev dev[MAXDEV];
	unsigned ndev, ncpu, ntask;
	struct task task[MAXTASK];
	uint32_t tick;
	uint8_t nextv;
	bool forked;
	bool strict_refault; /* header bit 3: migrate_to_ram never backs off */
	bool ext;            /* header bit 7: extended record variants */
	bool tops;           /* some record is a T op (OP_T): the EOF register and its checks,
			      * the file grown back to NF pages before file_final() */
	bool xops;           /* some record is an X, Y or T op (OP_X, OP_Y, OP_T): the child's file
			      * region is read back at the end too */
	/* the dmirror driver (src/device): one device, one open file per
	 * device task, created by the first dmirror op of the task */
	struct simmm_dmirror_device *dmdev;
	struct simmm_dmirror *dm[MAXDEV];
	bool dm_closed[MAXDEV]; /* closed by a toggle: reopened by the next */
	bool thp;            /* header byte 1 / 33 == B1_THP: THP mode */
	bool zops;           /* an extended input with an OP_Z record: more RAM, the hugetlb
			      * region's notifiers, its pages read back at the end */
	uint64_t af_main;    /* af0 of the harness itself (setup, teardown) */
	/* dm_write_ro(): the task of each report since the last clear (from
	 * the trace), and per device, 1 + the page of a read-only-entry WARN
	 * its WRITE raised, taken off the log, not yet claimed */
	uint32_t rep_tid[64];
	unsigned ro_warn[MAXDEV];
	/* per page, the start tick of the first dmirror MIGRATE_TO_DEV over
	 * it (0: none yet): since then it may be dmirror's own device page */
	uint32_t dm_mig[NA];
	/* A pte of the page may have been made read-only in a writable VMA:
	 * an mprotect (any protection) over it, or a reclaim (see
	 * dm_write_ro()). */
	bool ro_pte_maybe[NA];
	bool excl_seen[NA]; /* made device-exclusive at least once (window_evict()) */
	bool dontunmap_seen[NA]; /* in a VMA MREMAP_DONTUNMAP unlocked (window_evict()) */
	bool reclaimed;
	/* the shared file mapping of extended inputs: created, pre-filled and
	 * mapped over the file region by the first file op (file_ready()) */
	struct simmm_file *file;
	enum { FILE_NONE, FILE_SETUP, FILE_READY } file_state;
	/* VMA layout changes of mm0 (munmap, mmap, mprotect, mremap): each
	 * bumps lay_gen when it starts and when it ends; lay_busy are in
	 * flight. An mremap's -EFAULT (the range not in one VMA) needs one. */
	uint32_t lay_gen;
	unsigned lay_busy;
	unsigned tail_out; /* THP mode: mremaps of the PMD's tail pages under way */
	unsigned tail_gen; /* ... and how many began */
	/* per file page (model pages NP..NT-1), inputs with T ops: 1 while
	 * it may lie wholly past EOF (a fault there is SIGBUS), 0 while it
	 * may not; it starts with a 0 (empty without T ops: never past EOF).
	 * A truncation writes it over its interval (i_size changes at its
	 * start, the unmaps follow). */
	struct reg eof[NT];
	char log[32768];
	size_t llen;
} F;

/* ---- log ---------------------------------------------------------------------------- */

__attribute__((format(printf, 1, 2))) static void lg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fz_vlog(F.log, sizeof(F.log), &F.llen, fmt, ap);
	va_end(ap);
}

static void races_dump(void)
{
	fprintf(stderr, "---- fuzz_races log (%u cpu, %u dev, window %#llx%s) ----\n%s",
		F.ncpu, F.ndev, (unsigned long long)F.base, F.thp ? ", THP mode" : "", F.log);
	if (F.sim) {
		uint64_t n = 0;
		const char *r = simmm_reports(F.sim, &n);

		if (n)
			fprintf(stderr, "---- %llu reports ----\n%s\n", (unsigned long long)n, r);
	}
}

static const char *cur_name(void)
{
	const char *n = F.sim ? simmm_sched_task_name(F.sim, simmm_sched_current(F.sim)) : NULL;

	return n ? n : "main";
}

/* ---- register operations ---------------------------------------------------------- */

static unsigned reg_begin(struct reg *r, uint8_t v, uint32_t s)
{
	FZ_CHECK(r->n < MAXW, "register history full");
	r->w[r->n] = (struct wr){.s = s, .e = INFLIGHT, .v = v};
	return r->n++;
}

/* End write @i: done, or failed (dead), or failed-but-maybe (zaps). */
static void reg_end(struct reg *r, unsigned i, bool ok, bool maybe_on_fail, uint32_t e)
{
	r->w[i].e = e;
	if (!ok) {
		if (maybe_on_fail)
			r->w[i].maybe = true;
		else
			r->w[i].dead = true;
	}
}

/* Was @w overwritten by a write that ended before @rs? */
static bool superseded(const struct reg *r, const struct wr *w, uint32_t rs)
{
	if (w->e == INFLIGHT)
		return false;
	for (unsigned k = 0; k < r->n; k++) {
		const struct wr *x = &r->w[k];

		if (!x->dead && !x->maybe && x->e != INFLIGHT && w->e < x->s && x->e < rs)
			return true;
	}
	return false;
}

static bool cand(const struct reg *r, const struct wr *w, uint32_t rs, uint32_t re)
{
	return !w->dead && w->s < re && !superseded(r, w, rs);
}

/* May a read over [rs, re] return @v? */
static bool reg_allows(const struct reg *r, uint8_t v, uint32_t rs, uint32_t re)
{
	for (unsigned k = 0; k < r->n; k++)
		if (r->w[k].v == v && cand(r, &r->w[k], rs, re))
			return true;
	return false;
}

/* Some candidate protection over [rs, re] in @mask (bits 1 << PR_*)? */
static bool prot_any(const struct reg *r, unsigned mask, uint32_t rs, uint32_t re)
{
	for (unsigned k = 0; k < r->n; k++)
		if ((mask & (1u << r->w[k].v)) && cand(r, &r->w[k], rs, re))
			return true;
	return false;
}

/* Every candidate of @r over [rs, re] is @v (and there is one). */
static bool reg_only(const struct reg *r, uint8_t v, uint32_t rs, uint32_t re)
{
	bool any = false;

	for (unsigned k = 0; k < r->n; k++) {
		if (!cand(r, &r->w[k], rs, re))
			continue;
		if (r->w[k].v != v)
			return false;
		any = true;
	}
	return any;
}

static void reg_cands(const struct reg *r, uint32_t rs, uint32_t re, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = 0;
	for (unsigned k = 0; k < r->n && o + 24 < len; k++) {
		const struct wr *w = &r->w[k];

		if (!w->dead)
			o += (size_t)snprintf(buf + o, len - o, "%s%#x[%u,%d]%s", k ? " " : "", w->v,
					      w->s, w->e == INFLIGHT ? -1 : (int)w->e,
					      cand(r, w, rs, re) ? "" : "x");
	}
}

/* ---- helpers -------------------------------------------------------------------- */

/* The address of model page @p: the window's pages, then the file region's. */
static simmm_addr_t pa(unsigned p)
{
	if (p >= NT)
		return F.base + HUGE_OFF + (uint64_t)(p - NT) * F.ps;
	if (p >= NP)
		return F.base + FILE_OFF + (uint64_t)(p - NP) * F.ps;
	return F.base + (uint64_t)p * F.ps;
}

static simmm_addr_t win_end(void)
{
	return F.base + NP * F.ps;
}

static bool is_file(unsigned p)
{
	return p >= NP && p < NT;
}

/* A page of the hugetlb region (model pages NT..NA-1). */
static bool is_huge(unsigned p)
{
	return p >= NT;
}

/* May some file page of [p, p + n) lie wholly past EOF over [rs, re]
 * (T ops: a fault there is SIGBUS, GUP and hmm_range_fault() -EFAULT)? */
static bool eof_any(unsigned p, unsigned n, uint32_t rs, uint32_t re)
{
	for (unsigned q = p; q < p + n; q++)
		if (is_file(q) && prot_any(&F.eof[q], 1u << 1, rs, re))
			return true;
	return false;
}

/* Does file page @q lie past EOF for the whole of [rs, re]? */
static bool eof_sure(unsigned q, uint32_t rs, uint32_t re)
{
	return is_file(q) && reg_only(&F.eof[q], 1, rs, re);
}

static uint32_t tk(void)
{
	return ++F.tick;
}

static uint8_t newv(void)
{
	uint8_t v = F.nextv++;

	FZ_CHECK(v && v < 0x80, "out of values");
	return v;
}

static uint64_t alloc_failures(void)
{
	struct simmm_phys_stats st;

	return simmm_phys_stats(F.sim, &st) == 0 ? st.alloc_failures : 0;
}

/* The alloc_failures count when the running task's op began. */
static uint64_t *af0_cur(void)
{
	uint32_t me = F.sim ? simmm_sched_current(F.sim) : 0;

	for (unsigned i = 0; me && i < F.ntask; i++)
		if (F.task[i].tid == me)
			return &F.task[i].af0;
	return &F.af_main;
}

/* An allocation failed since @hits0, or memory is (nearly) exhausted; with
 * Z ops also: an allocation found no free block during the running op (a
 * huge page the buddy allocator cannot give, fragmented: the hugetlb
 * fault is SIGBUS, as alloc_hugetlb_folio() failing makes it). */
static bool enomem_ok(uint64_t hits0)
{
	struct simmm_phys_stats st;

	if (simmm_fault_hits(F.sim) > hits0)
		return true;
	if (F.zops && alloc_failures() > *af0_cur())
		return true;
	return simmm_phys_stats(F.sim, &st) == 0 && st.free_pages < 16;
}

/* @n pages from @p, clipped to the end of @p's region (window or file). */
static unsigned clip_n(unsigned p, unsigned n)
{
	unsigned end = is_huge(p) ? NA : is_file(p) ? NT : NP;

	return p + n > end ? end - p : n;
}

static void lay_begin(void)
{
	F.lay_busy++;
	F.lay_gen++;
}

static void lay_end(void)
{
	F.lay_busy--;
	F.lay_gen++;
}

/* ---- mirror coherence --------------------------------------------------------------- */

/* The pfn a swap-format entry gives page @p: a device-private PMD entry (a
 * device THP, THP mode) names the folio's head. */
static simmm_pfn_t swp_pfn_at(const struct simmm_translation *t, unsigned p)
{
	simmm_pfn_t pfn = simmm_swp_offset_pfn(t->entry);

	if (t->level == SIMMM_LVL_PMD)
		pfn += (pa(p) >> simmm_sim_geometry(F.sim)->page_shift) & (PMD_NR - 1);
	return pfn;
}

static void verify_dev(struct fdev *d, const char *when)
{
	struct simmm_pgtable *pgt = NULL;

	for (unsigned p = 0; p < NA; p++) {
		struct mir *m = &d->mir[p];
		struct simmm_translation t;
		bool ok;
		int rc;

		if (!m->v)
			continue;
		/* A mirrored page means a registered notifier, whose mmgrab
		 * keeps mm0's struct alive (a toggle clears the mirror). */
		if (!pgt)
			pgt = simmm_mm_pgtable(F.m[0].mm);
		FZ_CHECK(pgt, "%s: dev%u page %u mirrored (pfn %#llx) but mm0 has no page table", when,
			 d->id, p, (unsigned long long)m->pfn);
		memset(&t, 0, sizeof(t));
		rc = simmm_pgtable_translate(pgt, pa(p), &t);
		if (m->atomic)
			ok = rc == 0 && simmm_is_device_exclusive_entry(t.entry) &&
			     swp_pfn_at(&t, p) == m->pfn;
		else if (simmm_is_device_private_page(F.sim, m->pfn))
			ok = rc == 0 && simmm_is_device_private_entry(t.entry) &&
			     swp_pfn_at(&t, p) == m->pfn &&
			     (!m->w || simmm_is_writable_device_private_entry(t.entry));
		else if (rc == 0 && simmm_is_device_exclusive_entry(t.entry))
			/* a device took exclusive access to the page it maps: the
			 * pfn is still the same page (nouveau keeps such entries) */
			ok = swp_pfn_at(&t, p) == m->pfn;
		else
			ok = rc == 0 && t.present && t.pfn == m->pfn && t.user && (!m->w || t.write);
		FZ_CHECK(ok,
			 "%s: dev%u page %u mirror pfn %#llx%s%s incoherent with the CPU: rc %d entry "
			 "%#llx pfn %#llx present %d user %d write %d",
			 when, d->id, p, (unsigned long long)m->pfn, m->w ? " W" : "",
			 m->atomic ? " ATOMIC" : "", rc, (unsigned long long)t.entry,
			 (unsigned long long)t.pfn, t.present, t.user, t.write);
	}
}

static void verify_all(const char *when)
{
	for (unsigned i = 0; i < F.ndev; i++)
		verify_dev(&F.dev[i], when);
}

/* The device of notifier @sub (its window's or its file region's), and
 * whether that notifier is registered. */
static struct fdev *dev_of_mn(struct simmm_mmu_interval_notifier *sub, bool **on)
{
	for (unsigned i = 0; i < MAXDEV; i++) {
		struct fdev *d = &F.dev[i];

		if (sub == &d->mn || sub == &d->mnf || sub == &d->mnh) {
			*on = sub == &d->mn ? &d->mn_on : sub == &d->mnf ? &d->mnf_on : &d->mnh_on;
			return d;
		}
	}
	FZ_FAIL("invalidate callback on an unknown notifier %p", (void *)sub);
	return NULL;
}

static bool dev_invalidate(struct simmm_mmu_interval_notifier *sub,
			   const struct simmm_mmu_notifier_range *r, uint64_t cur_seq)
{
	bool *on;
	struct fdev *d = dev_of_mn(sub, &on);

	/* mmu_interval_notifier_remove() returned: no callback may run on the
	 * notifier any more (the driver may free it). */
	FZ_CHECK(*on, "dev%u: invalidate callback (%s [%#llx, %#llx)) after its %s notifier "
		 "was removed", d->id, simmm_mmu_notifier_event_name(r->event),
		 (unsigned long long)r->start, (unsigned long long)r->end,
		 sub == &d->mnf ? "file" : sub == &d->mnh ? "hugetlb" : "window");
	/* Our own make_device_exclusive(): the device keeps what it maps and
	 * the read_retry of the exclusive op must not see it (nouveau does
	 * the same; dmirror instead maps without a read_retry, which races
	 * with MADV_DONTNEED). */
	if (r->event == SIMMM_MMU_NOTIFY_EXCLUSIVE && r->owner == d)
		return true;
	if (simmm_mmu_notifier_range_blockable(r)) {
		FZ_CHECK(simmm_mutex_lock(F.sim, &d->lock) == 0, "dev%u lock in invalidate", d->id);
	} else if (simmm_mutex_trylock(F.sim, &d->lock) != 1) {
		return false;
	}
	FZ_CHECK(*on, "dev%u: invalidate callback (%s) ran on after its notifier was removed",
		 d->id, simmm_mmu_notifier_event_name(r->event));
	simmm_mmu_interval_set_seq(sub, cur_seq);
	for (unsigned p = 0; p < NA; p++)
		if (pa(p) >= r->start && pa(p) < r->end)
			memset(&d->mir[p], 0, sizeof(d->mir[p]));
	simmm_mutex_unlock(F.sim, &d->lock);
	return true;
}

static const struct simmm_mmu_interval_notifier_ops dev_mn_ops = {.invalidate = dev_invalidate};

/* ---- the device (cf. tests/test_migrate_util.h) ------------------------------------------ */

static void dev_folio_free(struct simmm_dev_pagemap *pgmap, simmm_pfn_t pfn, unsigned order,
			   void *data)
{
	struct fdev *d = (struct fdev *)pgmap;

	(void)data;
	for (uint64_t i = 0; i < (1ULL << order); i++) {
		simmm_set_zone_device_data(F.sim, pfn + i, d->free_head);
		d->free_head = (void *)(uintptr_t)(pfn + i + 1);
		d->nfree++;
	}
}

static simmm_pfn_t dev_alloc(struct fdev *d)
{
	simmm_pfn_t pfn;

	if (!d->free_head)
		return 0;
	pfn = (simmm_pfn_t)(uintptr_t)d->free_head - 1;
	d->free_head = simmm_zone_device_data(F.sim, pfn);
	d->nfree--;
	FZ_CHECK(simmm_zone_device_page_init(F.sim, pfn) == 0, "zone_device_page_init %#llx",
		 (unsigned long long)pfn);
	return pfn;
}

static simmm_pfn_t sys_alloc_order(unsigned order)
{
	simmm_pfn_t pfn;

	if (simmm_page_alloc(F.sim, order, &pfn))
		return 0;
	if (simmm_lock_page(F.sim, pfn)) {
		simmm_page_put(F.sim, pfn);
		return 0;
	}
	return pfn;
}

static simmm_pfn_t sys_alloc(void)
{
	return sys_alloc_order(0);
}

static void release_locked(simmm_pfn_t pfn)
{
	FZ_CHECK(simmm_unlock_page(F.sim, pfn) == 0, "unlock %#llx", (unsigned long long)pfn);
	FZ_CHECK(simmm_page_put(F.sim, pfn) >= 0, "put %#llx", (unsigned long long)pfn);
}

/*
 * Destination pages for the collected entries, as lib/test_hmm.c's driver
 * gives them. Towards the device (@to_dev, dmirror_migrate_alloc_and_copy()):
 * every MIGRATE entry gets a device page, a hole or the zero page (no
 * source page) a zeroed one. Back to system memory (migrate-to-sys,
 * migrate_to_ram, eviction: dmirror_devmem_fault_alloc_and_copy(),
 * dmirror_device_evict_chunk()): only an entry with a source page gets a
 * system page. migrate_vma_setup() collects holes as MIGRATE whatever the
 * selection (a faulting page zapped before the collection is one); the
 * driver skips them, so migrate_vma_pages() migrates nothing there and the
 * hole stays a hole (the CPU refaults it as new anonymous memory). The
 * source page must be @d's device page then (the owner and the device's
 * frame range selected it; upstream WARNs). Contents copied. An entry that
 * gets no page (none left, -ENOMEM) is declined (dst 0). The destination
 * is writable when the source was (MIGRATE_PFN_WRITE) and, towards the
 * device, for a hole of a VM_WRITE VMA (@hole_w: MIGRATE_PFN_WRITE or 0),
 * as dmirror_migrate_alloc_and_copy() sets it: the new device page is the
 * hole's first anonymous page, so the device-private entry it gets is
 * writable where a write fault would have mapped a writable page.
 */
static void fill_dst(struct fdev *d, const uint64_t *src, uint64_t *dst, uint64_t n, bool to_dev,
		     uint64_t hole_w)
{
	for (uint64_t i = 0; i < n; i++) {
		simmm_pfn_t s = simmm_migrate_pfn_to_page(src[i]), p;

		dst[i] = 0;
		if (!(src[i] & SIMMM_MIGRATE_PFN_MIGRATE) || (!to_dev && !s))
			continue;
		FZ_CHECK(to_dev ? !simmm_is_zone_device_page(F.sim, s)
				: simmm_page_pgmap(F.sim, s) == &d->pgmap,
			 "dev%u: migration %s collected pfn %#llx (src %#llx)", d->id,
			 to_dev ? "to the device" : "to system memory", (unsigned long long)s,
			 (unsigned long long)src[i]);
		p = to_dev ? dev_alloc(d) : sys_alloc();
		if (!p)
			continue;
		if (s && simmm_folio_copy(F.sim, p, s)) {
			release_locked(p);
			continue;
		}
		dst[i] = simmm_migrate_pfn(p) | (src[i] & SIMMM_MIGRATE_PFN_WRITE) | (s ? 0 : hole_w);
	}
}

/* fill_dst()'s @hole_w for a migration to the device within @vi. */
static uint64_t hole_write(const struct simmm_vma_info *vi)
{
	return (vi->vm_flags & SIMMM_VM_WRITE) ? SIMMM_MIGRATE_PFN_WRITE : 0;
}

/* Did migrate_vma_setup() collect a page (not a hole) to bring home? */
static bool collected_page(const uint64_t *src, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		if ((src[i] & SIMMM_MIGRATE_PFN_MIGRATE) && simmm_migrate_pfn_to_page(src[i]))
			return true;
	return false;
}

static unsigned dev_migrate_to_ram(struct simmm_vm_fault *vmf)
{
	struct fdev *d = (struct fdev *)simmm_page_pgmap(F.sim, vmf->page);
	uint64_t src = 0, dst = 0;
	bool page;
	struct simmm_migrate_vma m = {
		.vma = vmf->vma, .src = &src, .dst = &dst, .start = vmf->address,
		.end = vmf->address + F.ps, .pgmap_owner = d,
		.flags = SIMMM_MIGRATE_VMA_SELECT_DEVICE_PRIVATE, .fault_page = vmf->page,
	};

	/* hmm_range_fault() reports the caller's own device-private pages and
	 * never faults them for themselves (mm/hmm.c, hmm_vma_handle_pte()).
	 * It may still fault one when an earlier page of the walk needed a
	 * fault: hmm_vma_fault() faults everything from there to the end of
	 * the walk step. So only the first page of the range is certain. */
	FZ_CHECK(!(d->in_hmm && simmm_sched_current(F.sim) == d->tid &&
		   vmf->address == d->hmm_start),
		 "dev%u: its own hmm_range_fault() faulted its device-private page %#llx back to "
		 "RAM (migrate_to_ram at %#llx)", d->id, (unsigned long long)vmf->page,
		 (unsigned long long)vmf->address);
	if (simmm_migrate_vma_setup(&m))
		return SIMMM_VM_FAULT_SIGBUS;
	page = collected_page(&src, 1);
	if (m.cpages && !page)
		lg("    %s migrate_to_ram %#llx: a hole, nothing to bring home\n", cur_name(),
		   (unsigned long long)vmf->address);
	fill_dst(d, &src, &dst, 1, false, 0);
	simmm_migrate_vma_pages(&m);
	simmm_migrate_vma_finalize(&m);
	/* Nothing migrated (a migration is between its unlock and its put):
	 * the CPU refaults. Unless the input asks for the upstream dmirror
	 * behaviour (header bit 3), back off first, as
	 * tests/test_migrate_util.h does. (Two CPU faults on one page used to
	 * livelock here without the back-off; fixed in fault.c, regression
	 * fuzz/regressions/fuzz_races/refault-loop-edeadlk.) A hole has
	 * nothing to wait for: the refault maps a new page. */
	if (!(src & SIMMM_MIGRATE_PFN_MIGRATE) && !(m.cpages && !page) && !F.strict_refault &&
	    simmm_sched_current(F.sim))
		simmm_sched_sleep(F.sim, 1);
	/* A device page the driver cannot bring back (no memory): SIGBUS. */
	return (page && !dst) ? SIMMM_VM_FAULT_SIGBUS : 0;
}

static const struct simmm_dev_pagemap_ops dev_ops = {
	.folio_free = dev_folio_free,
	.migrate_to_ram = dev_migrate_to_ram,
};

/* ---- THP mode: the device side -------------------------------------------------------
 *
 * Each device has THP_DEVP frames: [0, PMD_NR) of its pagemap (PMD aligned:
 * pagemaps start on a section boundary) can be handed out as one device
 * THP when all of them are free; base pages come from the same free list,
 * which starts with the NDEVP frames above the THP. A COMPOUND entry (a
 * PMD-mapped THP, a device THP, a whole-PMD hole) gets a THP destination
 * if the offer allows and one is free, else base pages (as dmirror falls
 * back), for at most offer_cap[] pages: pages without dst stay, and
 * migrate_vma_pages() splits the source. */
enum { OFFER_THP, OFFER_BASE, OFFER_BASE8, OFFER_BASE1 };

static const uint64_t offer_cap[4] = {PMD_NR, PMD_NR, 8, 1};

/* The device THP, locked, one reference; 0 when one of its frames is in use. */
static simmm_pfn_t dev_alloc_thp(struct fdev *d)
{
	simmm_pfn_t head = d->pgmap.start_pfn, keep[NDEVP], pfn;
	unsigned nkeep = 0, nblock = 0;

	for (void *it = d->free_head; it; it = simmm_zone_device_data(F.sim, pfn)) {
		pfn = (simmm_pfn_t)(uintptr_t)it - 1;
		if (pfn < head + PMD_NR)
			nblock++;
		else
			keep[nkeep++] = pfn;
	}
	if (nblock < PMD_NR)
		return 0;
	d->free_head = NULL;
	d->nfree = 0;
	while (nkeep) { /* the frames above the THP stay free, in order */
		pfn = keep[--nkeep];
		simmm_set_zone_device_data(F.sim, pfn, d->free_head);
		d->free_head = (void *)(uintptr_t)(pfn + 1);
		d->nfree++;
	}
	FZ_CHECK(simmm_zone_device_folio_init(F.sim, head, PMD_ORDER) == 0,
		 "zone_device_folio_init %#llx", (unsigned long long)head);
	return head;
}

/* dst for the COMPOUND entry src[0] of @nr pages (see above), on the
 * device or in system memory as fill_dst(): a whole-PMD hole gets device
 * memory, but none going home. */
static void fill_compound(struct fdev *d, const uint64_t *src, uint64_t *dst, uint64_t nr,
			  unsigned offer, bool to_dev, uint64_t hole_w)
{
	simmm_pfn_t s = simmm_migrate_pfn_to_page(src[0]), p;
	bool to_sys = !to_dev;
	uint64_t w = (src[0] & SIMMM_MIGRATE_PFN_WRITE) | (s ? 0 : hole_w), k = 0;

	memset(dst, 0, nr * sizeof(*dst));
	if (to_sys && !s)
		return;
	FZ_CHECK(to_dev ? !s || !simmm_is_zone_device_page(F.sim, s)
			: simmm_page_pgmap(F.sim, s) == &d->pgmap,
		 "dev%u: COMPOUND migration %s collected pfn %#llx (src %#llx)", d->id,
		 to_dev ? "to the device" : "to system memory", (unsigned long long)s,
		 (unsigned long long)src[0]);
	if (offer == OFFER_THP) {
		p = to_sys ? sys_alloc_order(PMD_ORDER) : dev_alloc_thp(d);
		if (p && (!s || simmm_folio_copy(F.sim, p, s) == 0)) {
			dst[0] = simmm_migrate_pfn(p) | w | SIMMM_MIGRATE_PFN_COMPOUND;
			lg("    %s: THP %#llx for %#llx\n", cur_name(), (unsigned long long)p,
			   (unsigned long long)s);
			return;
		}
		if (p)
			release_locked(p);
	}
	for (; k < nr && k < offer_cap[offer]; k++) {
		p = to_sys ? sys_alloc() : dev_alloc(d);
		if (!p)
			break;
		if (s && simmm_copy_highpage(F.sim, p, s + k)) {
			release_locked(p);
			break;
		}
		dst[k] = simmm_migrate_pfn(p) | w;
	}
	lg("    %s: %llu base pages for %#llx\n", cur_name(), (unsigned long long)k,
	   (unsigned long long)s);
}

/* fill_dst() that gives COMPOUND entries THPs or base pages. */
static void fill_dst_thp(struct fdev *d, const uint64_t *src, uint64_t *dst, uint64_t n,
			 unsigned offer, bool to_dev, uint64_t hole_w)
{
	for (uint64_t i = 0; i < n;) {
		uint64_t nr = n - i < PMD_NR ? n - i : PMD_NR;

		if ((src[i] & SIMMM_MIGRATE_PFN_MIGRATE) && (src[i] & SIMMM_MIGRATE_PFN_COMPOUND)) {
			fill_compound(d, &src[i], &dst[i], nr, offer, to_dev, hole_w);
			i += nr;
		} else {
			fill_dst(d, &src[i], &dst[i], 1, to_dev, hole_w);
			i++;
		}
	}
}

static uint64_t *zcalloc(uint64_t n)
{
	uint64_t *a = calloc(n, sizeof(*a));

	FZ_CHECK(a, "calloc");
	return a;
}

/* ->migrate_to_ram in THP mode: a fault on a device THP's PMD entry brings
 * the whole folio home (SELECT_COMPOUND over the PMD, as dmirror_devmem_fault
 * does), after a yield ("copying") so others meet the PMD migration entry;
 * a pte fault (also of a pte-mapped device THP: setup splits it) moves its
 * page, as outside THP mode. */
static unsigned dev_thp_migrate_to_ram(struct simmm_vm_fault *vmf)
{
	struct fdev *d = (struct fdev *)simmm_page_pgmap(F.sim, vmf->page);
	uint64_t *src, *dst, pmd = PMD_NR * F.ps;
	struct simmm_migrate_vma m = {
		.vma = vmf->vma, .start = vmf->address & ~(pmd - 1), .pgmap_owner = d,
		.flags = SIMMM_MIGRATE_VMA_SELECT_DEVICE_PRIVATE | SIMMM_MIGRATE_VMA_SELECT_COMPOUND,
		.fault_page = vmf->page,
	};
	bool any_dst = false, moved = false, page;
	unsigned ret = 0;

	if (!vmf->pmd)
		return dev_migrate_to_ram(vmf);
	m.end = m.start + pmd;
	m.src = src = zcalloc(PMD_NR);
	m.dst = dst = zcalloc(PMD_NR);
	if (simmm_migrate_vma_setup(&m)) {
		ret = SIMMM_VM_FAULT_SIGBUS;
		goto out;
	}
	lg("    %s migrate_to_ram PMD %#llx: cpages %llu\n", cur_name(),
	   (unsigned long long)m.start, (unsigned long long)m.cpages);
	simmm_sched_yield(F.sim);
	page = collected_page(src, m.npages);
	fill_dst_thp(d, src, dst, m.npages, OFFER_THP, false, 0);
	for (uint64_t i = 0; i < m.npages; i++)
		any_dst |= dst[i] != 0;
	simmm_migrate_vma_pages(&m);
	for (uint64_t i = 0; i < m.npages; i++)
		moved |= (src[i] & SIMMM_MIGRATE_PFN_MIGRATE) && dst[i];
	simmm_migrate_vma_finalize(&m);
	/* as dev_migrate_to_ram() */
	if (!moved && !(m.cpages && !page) && !F.strict_refault && simmm_sched_current(F.sim))
		simmm_sched_sleep(F.sim, 1);
	ret = (page && !any_dst) ? SIMMM_VM_FAULT_SIGBUS : 0;
out:
	free(src);
	free(dst);
	return ret;
}

static void dev_folio_split(struct simmm_dev_pagemap *pgmap, simmm_pfn_t head, simmm_pfn_t tail)
{
	if (tail == head + 1)
		lg("    dev%u: device THP %#llx split\n", ((struct fdev *)pgmap)->id,
		   (unsigned long long)head);
}

static const struct simmm_dev_pagemap_ops dev_thp_ops = {
	.folio_free = dev_folio_free,
	.migrate_to_ram = dev_thp_migrate_to_ram,
	.folio_split = dev_folio_split,
};

static void dev_init(struct fdev *d, unsigned id)
{
	memset(d, 0, sizeof(*d));
	d->id = id;
	d->nframes = F.thp ? THP_DEVP : NDEVP;
	d->pgmap.type = SIMMM_MEM_DEVICE_PRIVATE;
	d->pgmap.ops = F.thp ? &dev_thp_ops : &dev_ops;
	d->pgmap.owner = d;
	simmm_mutex_init(&d->lock, id ? "dmirror1" : "dmirror0");
	FZ_CHECK(simmm_memremap_pages(F.sim, &d->pgmap, d->nframes) == 0, "memremap_pages");
	FZ_CHECK(!F.thp || !(d->pgmap.start_pfn & (PMD_NR - 1)), "device THP not PMD aligned");
	/* THP mode: the frames above the THP first */
	for (uint64_t j = d->nframes; j-- > 0;) {
		uint64_t i = (j + (F.thp ? PMD_NR : 0)) % d->nframes;

		simmm_set_zone_device_data(F.sim, d->pgmap.start_pfn + i, d->free_head);
		d->free_head = (void *)(uintptr_t)(d->pgmap.start_pfn + i + 1);
		d->nfree++;
	}
}

/* Device read of page @p through its mirror: the byte must be allowed. */
static void dev_read_check(struct fdev *d, unsigned p, uint32_t rs)
{
	struct mmst *ms = &F.m[0];
	uint8_t v = 0xff;
	uint32_t re;
	int rc;

	rc = simmm_page_read(F.sim, d->mir[p].pfn, 0, &v, 1);
	re = tk();
	FZ_CHECK(rc == 0, "dev%u read of mirrored pfn %#llx: %d", d->id,
		 (unsigned long long)d->mir[p].pfn, rc);
	if (ms->gone)
		return;
	if (!reg_allows(&ms->data[p], v, rs, re)) {
		char c[512];

		reg_cands(&ms->data[p], rs, re, c, sizeof(c));
		FZ_FAIL("dev%u read %#x from page %u (pfn %#llx) over [%u,%u]; writes: %s", d->id, v,
			p, (unsigned long long)d->mir[p].pfn, rs, re, c);
	}
}

/* Device write of a new value to page @p through a writable mirror entry. */
static void dev_write(struct fdev *d, unsigned p, uint64_t hits0)
{
	struct mmst *ms = &F.m[0];
	uint8_t v = newv();
	unsigned i = reg_begin(&ms->data[p], v, tk());
	int rc = simmm_page_write(F.sim, d->mir[p].pfn, 0, &v, 1);

	lg("    %s writes %#x to page %u (pfn %#llx): %d\n", cur_name(), v, p,
	   (unsigned long long)d->mir[p].pfn, rc);
	FZ_CHECK(rc == 0 || (rc == -ENOMEM && enomem_ok(hits0)), "device write: %d", rc);
	reg_end(&ms->data[p], i, rc == 0, false, tk());
}

/* ---- CPU access with the model ------------------------------------------------------------- */

/* The data register of page @p as @ms sees it: a file page's is the file's
 * contents, one register whichever process maps it (MAP_SHARED). */
static struct reg *data_reg(struct mmst *ms, unsigned p)
{
	return is_file(p) ? &F.m[0].data[p] : &ms->data[p];
}

static void cpu_access(struct mmst *ms, unsigned p, bool write, uint64_t hits0)
{
	struct reg *dr = data_reg(ms, p);
	uint8_t v = write ? newv() : 0xff;
	uint32_t rs = tk();
	unsigned wi = write ? reg_begin(dr, v, rs) : 0;
	int rc = simmm_mm_access(ms->mm, pa(p), &v, 1,
				 write ? SIMMM_ACCESS_WRITE : SIMMM_ACCESS_READ);
	uint32_t re = tk();
	unsigned allow = write ? 1u << PR_RW : (1u << PR_R | 1u << PR_RW);
	char c[512];

	lg("    %s %s %s page %u -> %d, byte %#x [%u,%u]\n", cur_name(), ms == &F.m[0] ? "mm0" : "mm1",
	   write ? "writes" : "reads", p, rc, v, rs, re);
	if (write)
		reg_end(dr, wi, rc == 0, false, re);
	if (ms->gone)
		return;
	if (rc == 0) {
		FZ_CHECK(prot_any(&ms->prot[p], allow, rs, re), "access to page %u allowed, model "
			 "forbids it", p);
		/* filemap_fault() rechecks i_size under the folio lock, and a
		 * truncation unmaps (again) before it returns */
		FZ_CHECK(!eof_sure(p, rs, re), "access to file page %u past EOF succeeded (%s)",
			 p - NP, write ? "write" : "read");
		if (!write && !reg_allows(dr, v, rs, re)) {
			reg_cands(dr, rs, re, c, sizeof(c));
			FZ_FAIL("CPU read %#x from page %u over [%u,%u]; writes: %s", v, p, rs, re, c);
		}
		return;
	}
	if (rc == -EFAULT && prot_any(&ms->prot[p], ~allow & 0xf, rs, re))
		return;
	/* a guard marker: the fault is VM_FAULT_SIGSEGV */
	if (rc == -EFAULT && prot_any(&ms->gd[p], 1u << 1, rs, re))
		return;
	/* past EOF: VM_FAULT_SIGBUS */
	if (rc == -EFAULT && eof_any(p, 1, rs, re))
		return;
	FZ_CHECK((rc == -ENOMEM || rc == -EFAULT) && enomem_ok(hits0),
		 "access to page %u returned %d (%s)", p, rc, simmm_strerror(rc));
}

/* ---- CPU operations ----------------------------------------------------------------------- */

/* Zap-like change of pages [p, p + n): data and/or protection registers. */
struct change {
	unsigned p, n;
	bool data, prot, lock; /* lock: the VMA's VM_LOCKED goes (lk 0) */
	bool guard;            /* guard markers come (gv 1) or go (gv 0) */
	uint8_t dv, pv, gv;
	unsigned di[NT], pi[NT], li[NT], gi[NT];
};

static void change_begin(struct mmst *ms, struct change *c)
{
	uint32_t s = tk();

	for (unsigned k = 0; k < c->n; k++) {
		if (c->data)
			c->di[k] = reg_begin(&ms->data[c->p + k], c->dv, s);
		if (c->prot)
			c->pi[k] = reg_begin(&ms->prot[c->p + k], c->pv, s);
		if (c->lock)
			c->li[k] = reg_begin(&ms->lk[c->p + k], 0, s);
		if (c->guard)
			c->gi[k] = reg_begin(&ms->gd[c->p + k], c->gv, s);
	}
}

static void change_end(struct mmst *ms, struct change *c, bool ok, bool maybe)
{
	uint32_t e = tk();

	for (unsigned k = 0; k < c->n; k++) {
		if (c->data)
			reg_end(&ms->data[c->p + k], c->di[k], ok, maybe, e);
		if (c->prot)
			reg_end(&ms->prot[c->p + k], c->pi[k], ok, maybe, e);
		if (c->lock)
			reg_end(&ms->lk[c->p + k], c->li[k], ok, maybe, e);
		if (c->guard)
			reg_end(&ms->gd[c->p + k], c->gi[k], ok, maybe, e);
	}
}

/* Some page of [p, p + n) may be unmapped now. */
static bool maybe_hole(struct mmst *ms, unsigned p, unsigned n, uint32_t rs)
{
	for (unsigned k = 0; k < n; k++)
		if (prot_any(&ms->prot[p + k], 1u << PR_UNMAPPED, rs, F.tick + 1))
			return true;
	return false;
}

/* Some page of [p, p + n) may hold a guard marker now. */
static bool maybe_guard(struct mmst *ms, unsigned p, unsigned n, uint32_t rs)
{
	for (unsigned k = 0; k < n; k++)
		if (prot_any(&ms->gd[p + k], 1u << 1, rs, F.tick + 1))
			return true;
	return false;
}

/* Some page of [p, p + n) may be in a VM_LOCKED VMA now. */
static bool maybe_locked(struct mmst *ms, unsigned p, unsigned n, uint32_t rs)
{
	for (unsigned k = 0; k < n; k++)
		if (prot_any(&ms->lk[p + k], 1u << 1, rs, F.tick + 1))
			return true;
	return false;
}

static void snapshot_child(uint32_t fs, uint32_t fe)
{
	struct mmst *c = &F.m[1], *pm = &F.m[0];

	/* the file region too: its protections (its data register is the
	 * file's, data_reg()); mlock is not inherited, lk stays empty */
	for (unsigned p = 0; p < NA; p++) {
		/* guard markers too: fork copies them (copy_pte_range()) */
		struct reg *src[3] = {&pm->data[p], &pm->prot[p], &pm->gd[p]},
			   *dst[3] = {&c->data[p], &c->prot[p], &c->gd[p]};

		for (unsigned r = 0; r < 3; r++) {
			dst[r]->n = 0;
			for (unsigned k = 0; k < src[r]->n; k++) {
				struct wr w = src[r]->w[k];

				if (!cand(src[r], &w, fs, fe))
					continue;
				w.maybe = true; /* a set of possibilities, never superseded */
				if (w.e == INFLIGHT)
					w.e = fe;
				dst[r]->w[dst[r]->n++] = w;
			}
		}
	}
}

/* Is page @p of @ms mapped by a present entry now (PROT_NONE included)? */
static bool pte_present(struct mmst *ms, unsigned p, struct simmm_translation *tr)
{
	memset(tr, 0, sizeof(*tr));
	return simmm_pgtable_translate(simmm_mm_pgtable(ms->mm), pa(p), tr) == 0 && tr->present;
}

/*
 * Reclaim never unmaps a page of a VM_LOCKED VMA: its folio is mlocked and
 * on the unevictable list, which reclaim does not scan, and
 * try_to_unmap_one() stops at a VM_LOCKED VMA (mlocking the folio it
 * missed); MADV_PAGEOUT fails with -EINVAL there (can_madv_lru_vma()).
 * Around a reclaim or a MADV_PAGEOUT: the pages of mm0 that are surely in
 * a VM_LOCKED VMA (lk has no other candidate) and present before must
 * still be present after it, if nothing else ran meanwhile.
 */
struct lockwatch {
	bool on, pres[NT];
	size_t l0;
};

static void lockwatch_begin(struct lockwatch *lw)
{
	struct mmst *ms = &F.m[0];
	struct simmm_translation tr;
	uint32_t now = F.tick + 1;

	memset(lw, 0, sizeof(*lw));
	if (ms->gone)
		return;
	for (unsigned p = 0; p < NT; p++) {
		lw->pres[p] = reg_only(&ms->lk[p], 1, now, now) && pte_present(ms, p, &tr);
		lw->on |= lw->pres[p];
	}
	lw->l0 = simmm_sched_schedule(F.sim, NULL);
}

static bool ran_alone(size_t l0);

static void lockwatch_end(const struct lockwatch *lw, const char *what)
{
	struct mmst *ms = &F.m[0];
	struct simmm_translation tr;

	if (!lw->on || ms->gone || !ran_alone(lw->l0))
		return;
	for (unsigned p = 0; p < NT; p++) {
		if (!lw->pres[p])
			continue;
		lg("    %s: locked page %u stays\n", what, p);
		FZ_CHECK(pte_present(ms, p, &tr),
			 "%s unmapped page %u of mm0, in a VM_LOCKED VMA (entry now %#llx)", what, p,
			 (unsigned long long)tr.entry);
	}
}

/* The run's one fork: the child (mm1) gets mm0's mappings as they are. */
static void cpu_fork(struct mmst *ms, uint64_t hits0)
{
	uint32_t fs = tk(), fe;
	unsigned tail_out0 = F.tail_out, tail_gen0 = F.tail_gen;
	int rc;

	F.forked = true;
	rc = simmm_fork(ms->mm, &F.m[1].mm);
	fe = tk();
	lg("    fork -> %d [%u,%u]\n", rc, fs, fe);
	FZ_CHECK(rc == 0 || (rc == -ENOMEM && enomem_ok(hits0)), "fork: %d", rc);
	if (rc == 0) {
		F.m[1].exists = true;
		/* a move of the tail under way at any time during the fork
		 * (it may have copied the layout then), not only at its end */
		F.m[1].tail_lost = tail_out0 || F.tail_out || F.tail_gen != tail_gen0 ||
				   F.m[0].tail_lost;
		snapshot_child(fs, fe);
	}
}

/*
 * Extended reclaim with A_REAP: what the OOM reaper does to a victim's
 * mappings before it zaps them (__oom_reap_task_mm): mmap read lock, one
 * non-blockable MMU_NOTIFY_UNMAP invalidation; -EAGAIN (a subscriber
 * would have to sleep) means "try later". simmm has no OOM killer, so the
 * zap itself is not modelled: the invalidation only drops mirrors.
 */
static void cpu_reap(struct mmst *ms)
{
	struct simmm_mmu_notifier_range r;
	int rc;

	if (ms->gone || !simmm_mmget_not_zero(ms->mm))
		return;
	FZ_CHECK(simmm_mmap_read_lock(ms->mm) == 0, "mmap_read_lock");
	simmm_mmu_notifier_range_init(&r, SIMMM_MMU_NOTIFY_UNMAP, 0, ms->mm, F.base, win_end());
	rc = simmm_mmu_notifier_invalidate_range_start_nonblock(&r);
	lg("    %s non-blockable invalidation -> %d\n", cur_name(), rc);
	FZ_CHECK(rc == 0 || rc == -EAGAIN, "invalidate_range_start_nonblock: %d", rc);
	if (rc == 0)
		FZ_CHECK(simmm_mmu_notifier_invalidate_range_end(&r) == 0, "invalidate_range_end");
	FZ_CHECK(simmm_mmap_read_unlock(ms->mm) == 0, "mmap_read_unlock");
	FZ_CHECK(simmm_mmput(ms->mm) == 0, "mmput");
}

/* munmap of [p, p + n): anonymous pages lose their data, file pages keep
 * theirs in the page cache. */
static void cpu_munmap(struct mmst *ms, unsigned p, unsigned n, uint64_t hits0)
{
	struct change c = {.p = p, .n = n, .data = !is_file(p), .prot = true, .lock = true,
			   .guard = true, .pv = PR_UNMAPPED};
	int rc;

	change_begin(ms, &c);
	lay_begin();
	rc = simmm_munmap(ms->mm, pa(p), n * F.ps);
	lay_end();
	FZ_CHECK(rc == 0 || (rc == -ENOMEM && enomem_ok(hits0)), "munmap: %d", rc);
	change_end(ms, &c, rc == 0, false);
}

/* mmap(MAP_FIXED) of [p, p + n): private anonymous zeros in the window,
 * the file (MAP_SHARED, read-write, its pages at their offsets) in the
 * file region. */
static void cpu_mmap(struct mmst *ms, unsigned p, unsigned n, uint64_t hits0)
{
	simmm_addr_t out = 0;
	bool file = is_file(p);
	struct change c = {.p = p, .n = n, .data = !file, .prot = true, .lock = true, .guard = true,
			   .pv = PR_RW};
	struct change u = {.p = p, .n = n, .prot = true, .pv = PR_UNMAPPED};
	int rc;

	change_begin(ms, &c);
	change_begin(ms, &u);
	lay_begin();
	rc = simmm_mmap(ms->mm, pa(p), n * F.ps, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
			file ? SIMMM_MAP_SHARED | SIMMM_MAP_FIXED
			     : SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_FIXED,
			file ? F.file : NULL, file ? p - NP : 0, &out);
	lay_end();
	FZ_CHECK((rc == 0 && out == pa(p)) || (rc == -ENOMEM && enomem_ok(hits0)),
		 "mmap FIXED: %d", rc);
	/* a failed MAP_FIXED may have unmapped the old range already */
	change_end(ms, &c, rc == 0, true);
	change_end(ms, &u, false, rc != 0);
}

/* mprotect of [p, p + n) to NONE, R or RW (@k). */
static void cpu_mprotect(struct mmst *ms, unsigned p, unsigned n, unsigned k, uint64_t hits0)
{
	static const int prots[3] = {SIMMM_PROT_NONE, SIMMM_PROT_READ,
				     SIMMM_PROT_READ | SIMMM_PROT_WRITE};
	static const uint8_t pr[3] = {PR_NONE, PR_R, PR_RW};
	struct change c = {.p = p, .n = n, .prot = true, .pv = pr[k]};
	uint32_t s0 = F.tick + 1;
	int rc;

	change_begin(ms, &c);
	for (unsigned q = p; q < p + n; q++)
		F.ro_pte_maybe[q] = true;
	lay_begin();
	rc = simmm_mprotect(ms->mm, pa(p), n * F.ps, prots[k]);
	lay_end();
	FZ_CHECK(rc == 0 || (rc == -ENOMEM && (enomem_ok(hits0) || maybe_hole(ms, p, n, s0))),
		 "mprotect: %d", rc);
	change_end(ms, &c, rc == 0, false);
}

/* MADV_DONTNEED of [p, p + n) (anonymous pages read zeros after it, file
 * pages what the page cache holds), or MADV_PAGEOUT (@pageout). Both fail
 * with -EINVAL at a VM_LOCKED VMA (after advising the VMAs before it). */
static int cpu_dontneed(struct mmst *ms, unsigned p, unsigned n, bool pageout, uint64_t hits0)
{
	struct change c = {.p = p, .n = n, .data = !is_file(p)};
	uint32_t s0 = F.tick + 1;
	struct lockwatch lw;
	int rc;

	if (pageout) {
		/* reclaim_pages() of the range's folios: their data stays,
		 * their ptes become swap entries (mirrors invalidated by
		 * try_to_unmap()); a hole gives -ENOMEM after the rest. */
		if (!is_file(p))
			F.reclaimed = true;
		if (ms == &F.m[0])
			lockwatch_begin(&lw);
		rc = simmm_madvise(ms->mm, pa(p), n * F.ps, SIMMM_MADV_PAGEOUT);
		lg("    pageout -> %d\n", rc);
		FZ_CHECK(rc == 0 || (rc == -ENOMEM && (enomem_ok(hits0) || maybe_hole(ms, p, n, s0))) ||
				 (rc == -EINVAL && maybe_locked(ms, p, n, s0)),
			 "madvise PAGEOUT: %d", rc);
		if (ms == &F.m[0])
			lockwatch_end(&lw, "MADV_PAGEOUT");
		return rc;
	}
	change_begin(ms, &c);
	rc = simmm_madvise(ms->mm, pa(p), n * F.ps, SIMMM_MADV_DONTNEED);
	FZ_CHECK(rc == 0 || (rc == -ENOMEM && (enomem_ok(hits0) || maybe_hole(ms, p, n, s0))) ||
			 (rc == -EINVAL && maybe_locked(ms, p, n, s0)),
		 "madvise DONTNEED: %d", rc);
	change_end(ms, &c, rc == 0, true);
	return rc;
}

/* ---- the "more" CPU ops of extended inputs: mremap, the shared file mapping ---------------- */


/*
 * The file region (model pages NP..NT-1, FILE_OFF above the window): a
 * regular file of NF pages mapped MAP_SHARED read-write, so with
 * write-notify (clean pages mapped read-only until the first write faults
 * and dirties them; fsync / msync write-protect and clean them again). It
 * is created by the first file op of the run: even pages pwritten with
 * 0xa0 + page, odd pages left to read zeros from the store, the whole file
 * mapped. A device registers an interval notifier of the region (its
 * mirror of file pages) with its first op there. The data registers of file pages are
 * the file's contents: unmapping, remapping, MADV_DONTNEED or moving the
 * mapping does not change them; only writes do (through a mapping, a
 * device mirror, dmirror, pwrite). Returns whether the file exists (ops
 * of another task meeting the setup halfway skip).
 */
static bool file_ready(uint64_t hits0)
{
	struct mmst *ms = &F.m[0];
	bool mm_live;
	int rc;

	if (F.file_state != FILE_NONE)
		return F.file_state == FILE_READY;
	F.file_state = FILE_SETUP;
	rc = simmm_file_create(F.sim, NF * F.ps, 0, &F.file);
	lg("    %s file_create -> %d\n", cur_name(), rc);
	FZ_CHECK(rc == 0 || (rc == -ENOMEM && enomem_ok(hits0)), "file_create: %d", rc);
	if (rc) {
		F.file = NULL;
		F.file_state = FILE_NONE;
		return false;
	}
	mm_live = !ms->gone && simmm_mmget_not_zero(ms->mm);
	for (unsigned q = NP; q < NT; q += 2) {
		uint8_t v = (uint8_t)(0xa0 + q - NP);
		unsigned wi = reg_begin(&ms->data[q], v, tk());
		long n = simmm_file_pwrite(F.file, &v, 1, (q - NP) * F.ps);

		FZ_CHECK(n == 1 || (n == -ENOMEM && enomem_ok(hits0)), "pwrite: %ld", n);
		reg_end(&ms->data[q], wi, n == 1, false, tk());
	}
	if (mm_live) {
		cpu_mmap(ms, NP, NF, hits0);
		FZ_CHECK(simmm_mmput(ms->mm) == 0, "mmput");
	}
	F.file_state = FILE_READY;
	return true;
}

static uint64_t file_off(unsigned q)
{
	return (q - NP) * F.ps;
}

/* pread / pwrite of one byte at offset 0 of file page @q: the page cache,
 * whatever maps it (and also after the process exited). With T ops: pread
 * stops at EOF (0 bytes) where the page may lie past it; pwrite extends
 * the file, so every page up to @q is inside EOF after it (the pages it
 * brings back read the zeros the truncation left). */
static void file_rw(unsigned q, bool write, uint64_t hits0)
{
	struct mmst *ms = &F.m[0];
	uint8_t v = write ? newv() : 0xff;
	uint32_t rs = tk();
	unsigned wi = write ? reg_begin(&ms->data[q], v, rs) : 0, ei[NF];
	long rc;
	uint32_t re;
	char c[512];

	for (unsigned k = NP; write && F.tops && k <= q; k++)
		ei[k - NP] = reg_begin(&F.eof[k], 0, rs);
	rc = write ? simmm_file_pwrite(F.file, &v, 1, file_off(q))
		   : simmm_file_pread(F.file, &v, 1, file_off(q));
	re = tk();
	lg("    %s %s file page %u -> %ld, byte %#x [%u,%u]\n", cur_name(),
	   write ? "pwrite" : "pread", q - NP, rc, v, rs, re);
	if (write)
		reg_end(&ms->data[q], wi, rc == 1, false, re);
	for (unsigned k = NP; write && F.tops && k <= q; k++)
		reg_end(&F.eof[k], ei[k - NP], rc == 1, true, re);
	if (!write && rc == 0 && eof_any(q, 1, rs, re))
		return;
	FZ_CHECK(rc == 1 || (rc == -ENOMEM && enomem_ok(hits0)), "%s of file page %u: %ld",
		 write ? "pwrite" : "pread", q - NP, rc);
	FZ_CHECK(write || rc != 1 || !eof_sure(q, rs, re), "pread of file page %u past EOF: %ld",
		 q - NP, rc);
	if (!write && rc == 1 && !reg_allows(&ms->data[q], v, rs, re)) {
		reg_cands(&ms->data[q], rs, re, c, sizeof(c));
		FZ_FAIL("pread %#x from file page %u over [%u,%u]; writes: %s", v, q - NP, rs, re, c);
	}
}

/* The protection a VMA's flags give (PR_*). */
static uint8_t vm_pr(uint64_t vm_flags)
{
	if (!(vm_flags & SIMMM_VM_READ))
		return PR_NONE;
	return (vm_flags & SIMMM_VM_WRITE) ? PR_RW : PR_R;
}

/*
 * Can simmm_mm_peek() read the data of the page mapped at @a of @ms? Not
 * if its entry names a page of the dmirror driver's device memory (a
 * device-private entry, or a migration entry during its eviction): dmirror
 * keeps such a page's data in a system backing page, as lib/test_hmm.c
 * does, and the device frame the peek reads holds zeros. The harness's own
 * devices copy the data into their frames.
 */
static bool peek_reliable(struct mmst *ms, simmm_addr_t a)
{
	struct simmm_translation t;
	simmm_pfn_t pfn;

	memset(&t, 0, sizeof(t));
	if (simmm_pgtable_translate(simmm_mm_pgtable(ms->mm), a, &t) || t.present ||
	    !simmm_is_pfn_swap_entry(t.entry))
		return true;
	pfn = simmm_swp_offset_pfn(t.entry);
	if (!simmm_is_zone_device_page(F.sim, pfn))
		return true;
	for (unsigned i = 0; i < F.ndev; i++)
		if (pfn >= F.dev[i].pgmap.start_pfn && pfn < F.dev[i].pgmap.start_pfn + F.dev[i].nframes)
			return true;
	return false;
}

/* Does the entry at @a of @ms hold a guard marker (simmm_mm_peek() there
 * is -EFAULT; the page's data was zapped by the install)? */
static bool guard_at(struct mmst *ms, simmm_addr_t a)
{
	struct simmm_translation t;

	memset(&t, 0, sizeof(t));
	return simmm_pgtable_translate(simmm_mm_pgtable(ms->mm), a, &t) == 0 && !t.present &&
	       simmm_is_guard_swp_entry(t.entry);
}

/* Begin definite writes of every value page @q's register allows over
 * [rs, re] (without entry @skip) at @s: what an unreadable page moved with
 * is one of them. Returns the first index; *@nw gets their number (the
 * entries are consecutive: nothing schedules in between). */
static unsigned reg_begin_cands(unsigned q, uint32_t rs, uint32_t re, int skip, uint32_t s,
				unsigned *nw)
{
	struct reg *r = &F.m[0].data[q];
	uint8_t vals[MAXW];
	unsigned nv = 0, first = r->n;

	for (unsigned k = 0; k < r->n; k++) {
		bool dup = false;

		if ((int)k == skip || !cand(r, &r->w[k], rs, re))
			continue;
		for (unsigned j = 0; j < nv; j++)
			dup |= vals[j] == r->w[k].v;
		if (!dup)
			vals[nv++] = r->w[k].v;
	}
	for (unsigned j = 0; j < nv; j++)
		reg_begin(r, vals[j], s);
	*nw = nv;
	return first;
}

/* Check the bytes peeked at the scratch address: each page moved with
 * what it held during [rs, re] (the register of @q, without @skip). */
static void mremap_check_moved(unsigned q, uint8_t v, uint32_t rs, uint32_t re, int skip,
			       const char *when)
{
	struct reg *r = &F.m[0].data[q];
	bool ok, dead = skip >= 0 && r->w[skip].dead;
	char c[512];

	if (skip >= 0)
		r->w[skip].dead = true;
	ok = reg_allows(r, v, rs, re);
	if (!ok)
		reg_cands(r, rs, re, c, sizeof(c));
	if (skip >= 0)
		r->w[skip].dead = dead;
	if (!ok)
		FZ_FAIL("mremap: page %u holds %#x at its new address (%s) over [%u,%u]; writes: %s",
			q, v, when, rs, re, c);
}

/*
 * What an mremap moved to a new address, to be checked there and moved
 * back: model pages [q0, q1) are at their address + delta; [q0, qk) moved
 * with their contents, [qk, q1) were added by growing the range
 * (anonymous zeros, or the file's next pages). A same-size MREMAP_FIXED
 * move takes every VMA of the range (remap_move(), 6.17+): a page
 * unmapped when it took the mmap lock stays behind (a hole: nothing at
 * its new address, which the move back leaves alone), and so do the VMAs
 * from the one an allocation failure stopped at on (moved_scan()).
 */
struct moved {
	unsigned q0, qk, q1;
	bool file;
	uint64_t delta;
	uint32_t s1, e1;      /* the move's interval */
	const unsigned *skip; /* DONTUNMAP: each page's zeroing entry, or NULL */
	bool hole[NP];        /* not at the new address: did not move */
	uint8_t x[NP];        /* each page's protection there (PR_*) */
	bool xlock[NP];       /* and whether its VMA is VM_LOCKED */
	bool peek_ok[NP];
	bool guard[NP];       /* a guard marker there: not peeked */
	uint8_t v[NP];
};

/*
 * Which pages are at their new address (the scratch address is clean
 * before a move: moved_back() leaves nothing there), with their VMA's
 * protection and lock. Returns whether the first one is: a move that
 * moved anything moved it (a hole at the old address is -EFAULT).
 */
static bool moved_scan(struct mmst *ms, struct moved *mv)
{
	struct simmm_vma_info vi;

	for (unsigned q = mv->q0; q < mv->q1; q++) {
		unsigned i = q - mv->q0;

		mv->hole[i] = simmm_vma_info(ms->mm, pa(q) + mv->delta, &vi) != 0;
		mv->x[i] = mv->hole[i] ? PR_UNMAPPED : vm_pr(vi.vm_flags);
		mv->xlock[i] = !mv->hole[i] && (vi.vm_flags & SIMMM_VM_LOCKED);
		if (mv->hole[i] && !mv->hole[0])
			lg("    %s: page %u stayed (a hole, or after a failure)\n", cur_name(), q);
	}
	return !mv->hole[0];
}

/*
 * Peek at the moved pages right after the move (simmm_mm_peek(), nothing
 * faulted): each holds what its register allowed during the move (a page
 * the range grew by: zeros, or the file's contents); then, after a yield
 * (the hole, which the others meet), the same again.
 */
static void moved_check(struct mmst *ms, struct moved *mv)
{
	uint8_t again;
	int rc;

	for (unsigned q = mv->q0; q < mv->q1; q++) {
		unsigned i = q - mv->q0;

		if (mv->hole[i])
			continue;
		/* a guard marker moves with its page (move_ptes()): nothing to
		 * peek, and what moved back reads zeros once removed */
		mv->guard[i] = guard_at(ms, pa(q) + mv->delta);
		mv->peek_ok[i] = !mv->guard[i] && peek_reliable(ms, pa(q) + mv->delta);
		if (mv->guard[i]) {
			FZ_CHECK(maybe_guard(ms, q, 1, mv->s1),
				 "mremap: page %u has a guard marker at its new address, which "
				 "the model never put", q);
			continue;
		}
		rc = simmm_mm_peek(ms->mm, pa(q) + mv->delta, &mv->v[i], 1);
		/* a file page past EOF (T ops) reads nothing */
		FZ_CHECK(rc == 0 || (rc == -EFAULT && eof_any(q, 1, mv->s1, F.tick + 1)),
			 "peek: %d", rc);
		if (rc)
			mv->peek_ok[i] = false;
		if (ms->gone || !mv->peek_ok[i])
			continue;
		if (!mv->file && q >= mv->qk)
			FZ_CHECK(mv->v[i] == 0, "mremap: page %u grew by a page holding %#x, not zeros",
				 q, mv->v[i]);
		else
			mremap_check_moved(q, mv->v[i], mv->s1, mv->file ? F.tick + 1 : mv->e1,
					   mv->skip && !mv->file ? (int)mv->skip[i] : -1, "moved");
	}
	simmm_sched_yield(F.sim); /* the hole */
	for (unsigned q = mv->q0; q < mv->q1; q++) {
		unsigned i = q - mv->q0;

		if (mv->hole[i] || mv->guard[i])
			continue;
		rc = simmm_mm_peek(ms->mm, pa(q) + mv->delta, &again, 1);
		FZ_CHECK(rc == 0 || (rc == -EFAULT && eof_any(q, 1, mv->s1, F.tick + 1)),
			 "peek after the yield: %d", rc);
		if (rc)
			continue;
		if (mv->file && !ms->gone)
			mremap_check_moved(q, again, mv->s1, F.tick + 1, -1, "after the yield");
		else
			FZ_CHECK(mv->file || !mv->peek_ok[i] || again == mv->v[i],
				 "mremap: page %u at its scratch address changed from %#x to %#x",
				 q, mv->v[i], again);
	}
}

/*
 * The way back: [start, start + len) + delta moves to @start (MAYMOVE |
 * FIXED: whatever was mapped there meanwhile goes), retried, each attempt
 * an interval of its own. It maps the pages back with their VMA's
 * protection and lock and the data they were peeked with (a page the peek
 * could not read: every value it may have moved with), or fails, and then
 * may have unmapped its target already (MREMAP_FIXED, as upstream), which
 * the others can see before the retry (an injected failure fails once;
 * after 4 attempts the pages stay where they are). The holes stay as they
 * are. Several VMAs move back one by one, and a failure leaves those before
 * it moved back: each page's writes are done if its new address emptied,
 * and the retry starts at the first page still there. What is left after
 * the last attempt is unmapped, so that the next move finds the scratch
 * address clean (remap_move() leaves a hole's place in its target alone).
 * Returns the last rc.
 */
static int moved_back(struct mmst *ms, struct moved *mv, simmm_addr_t start, uint64_t len,
		      uint64_t hits0)
{
	unsigned pwi[NP], uwi[NP], lwi[NP], lui[NP], dwi[NP], dn[NP], gwi[NP];
	simmm_addr_t out = 0, from = start, end = start + len;
	struct simmm_vma_info vi;
	bool go[NP];
	uint32_t s2, e2;
	int rc, tries;

	lay_begin();
	for (tries = 0;; tries++) {
		s2 = tk();
		for (unsigned q = mv->q0; q < mv->q1; q++) {
			unsigned i = q - mv->q0;

			go[i] = !mv->hole[i] && pa(q) >= from;
			if (!go[i])
				continue;
			pwi[i] = reg_begin(&ms->prot[q], mv->x[i], s2);
			uwi[i] = reg_begin(&ms->prot[q], PR_UNMAPPED, s2);
			lwi[i] = reg_begin(&ms->lk[q], mv->xlock[i], s2);
			lui[i] = reg_begin(&ms->lk[q], 0, s2);
			/* its marker comes back with it, or none: what was
			 * at its address (another task's) goes */
			gwi[i] = reg_begin(&ms->gd[q], mv->guard[i], s2);
			dn[i] = 1;
			if (!mv->file && mv->peek_ok[i])
				dwi[i] = reg_begin(&ms->data[q], mv->v[i], s2);
			else if (!mv->file)
				dwi[i] = reg_begin_cands(q, mv->s1, mv->e1,
							 mv->skip ? (int)mv->skip[i] : -1, s2, &dn[i]);
		}
		rc = simmm_mremap(ms->mm, from + mv->delta, end - from, end - from,
				  SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED, from, &out);
		e2 = tk();
		lg("    %s mremap back -> %d [%u,%u]\n", cur_name(), rc, s2, e2);
		for (unsigned q = mv->q0; q < mv->q1; q++) {
			unsigned i = q - mv->q0;
			bool back;

			if (!go[i])
				continue;
			back = rc == 0 || simmm_vma_info(ms->mm, pa(q) + mv->delta, &vi) != 0;
			mv->hole[i] = back;
			reg_end(&ms->prot[q], pwi[i], back, false, e2);
			reg_end(&ms->prot[q], uwi[i], false, !back, e2);
			reg_end(&ms->lk[q], lwi[i], back, false, e2);
			reg_end(&ms->lk[q], lui[i], false, !back, e2);
			reg_end(&ms->gd[q], gwi[i], back, false, e2);
			for (unsigned k = 0; !mv->file && k < dn[i]; k++)
				reg_end(&ms->data[q], dwi[i] + k, back, false, e2);
		}
		FZ_CHECK(rc == 0 || (rc == -ENOMEM && enomem_ok(hits0)),
			 "mremap of pages %u..%u back: %d (%s)", mv->q0, mv->q1 - 1, rc,
			 simmm_strerror(rc));
		FZ_CHECK(rc != 0 || out == from, "mremap back moved to %#llx",
			 (unsigned long long)out);
		if (rc == 0 || tries == 3)
			break;
		while (from < end && simmm_vma_info(ms->mm, from + mv->delta, &vi))
			from += F.ps;
		if (from == end)
			break;
	}
	if (rc && from < end) {
		int err = simmm_munmap(ms->mm, start + mv->delta, len);

		lg("    %s munmap of what stays at the scratch address -> %d\n", cur_name(), err);
		FZ_CHECK(err == 0 || (err == -ENOMEM && enomem_ok(hits0)), "munmap of the scratch: %d",
			 err);
	}
	lay_end();
	return rc;
}

/*
 * "mremap out and back": [p, p + n) (with MF_3 the whole VMA of page @p,
 * within the window (THP mode: its PMD) or the file region) moves to this
 * task's scratch address (MREMAP_MAYMOVE | MREMAP_FIXED, with MF_2
 * MREMAP_DONTUNMAP), a yield lets the others meet the hole, and it moves
 * back (moved_back()).
 *
 * Model: without DONTUNMAP the pages are unmapped over the first call's
 * interval; with it, anonymous pages read zeros (a fresh VMA) and file
 * pages what the page cache holds. Either way the old range is no longer
 * VM_LOCKED; with DONTUNMAP neither is the rest of the old VMA
 * (dontunmap_complete() unlocks all of it, not split): the other pages of
 * the VMA looked up (of the whole window or file region if the layout
 * changed before the call took the mmap lock) may be unlocked too. What each page held moves with it: the byte peeked at the
 * scratch address (simmm_mm_peek(), nothing faulted) must be one its
 * register allowed during the first call, and it is the same after the
 * yield; moving back writes it (anonymous pages; a file page's register
 * is the file) and the protection the scratch VMA has (moved_check()).
 * -EFAULT from the first call (no VMA at its start) only if some page may
 * be unmapped or the VMA layout changed since it was looked up. So may the
 * range have become several VMAs and holes by the time the call took the
 * mmap lock: then each VMA moves (remap_move()), the holes stay, and an
 * allocation failure may stop the move at a later VMA; what reached the
 * scratch address is checked and moved back (moved_scan()).
 */
static void cpu_mremap(struct task *t, struct mmst *ms, unsigned p, unsigned n, unsigned flags,
		       uint64_t hits0)
{
	bool file = is_file(p), dontunmap = flags & MF_2, whole = flags & MF_3, tail;
	unsigned lo = file ? NP : 0, hi = file ? NT : NP, q0 = NT, q1 = 0;
	simmm_addr_t rlo = pa(lo), rhi = file ? pa(NP) + NF * F.ps
					      : F.base + (F.thp ? PMD_NR : NP) * F.ps;
	uint64_t delta = (t->idx + 1) * SCR_OFF, len;
	simmm_addr_t start, end, out = 0;
	struct simmm_vma_info vi, vi0;
	uint32_t gen0 = F.lay_gen, s1, e1;
	unsigned busy0 = F.lay_busy, wi[NP], li[NP], gi[NP], oi[NA];
	struct moved mv;
	bool stable, any;
	int rc;

	if (simmm_vma_info(ms->mm, pa(p), &vi)) {
		lg("    %s: no VMA at page %u\n", cur_name(), p);
		return;
	}
	vi0 = vi;
	start = whole ? (vi.start > rlo ? vi.start : rlo) : pa(p);
	end = whole ? rhi : pa(p) + n * F.ps;
	end = end < vi.end ? end : vi.end;
	len = end - start;
	for (unsigned q = lo; q < hi; q++)
		if (pa(q) >= start && pa(q) < end) {
			q0 = q < q0 ? q : q0;
			q1 = q + 1;
		}
	/* THP mode: the PMD's tail (not modelled, read at the end) moves too;
	 * a fork meanwhile leaves the child without it */
	tail = F.thp && !file && end > win_end();
	F.tail_out += tail;
	F.tail_gen += tail;
	lg("    %s mremap [%#llx,%#llx) -> %#llx%s, pages %u..%u\n", cur_name(),
	   (unsigned long long)start, (unsigned long long)end, (unsigned long long)(start + delta),
	   dontunmap ? " DONTUNMAP" : "", q0, q1 - 1);
	/* the way out: the old range unmapped, or (DONTUNMAP) left empty */
	s1 = tk();
	for (unsigned q = q0; q < q1; q++) {
		if (!dontunmap)
			wi[q - q0] = reg_begin(&ms->prot[q], PR_UNMAPPED, s1);
		else if (!file)
			wi[q - q0] = reg_begin(&ms->data[q], 0, s1);
		li[q - q0] = reg_begin(&ms->lk[q], 0, s1);
		/* guard markers go with the pages (a DONTUNMAP source keeps
		 * none); moved_back() brings them back */
		gi[q - q0] = reg_begin(&ms->gd[q], 0, s1);
	}
	for (unsigned q = lo; dontunmap && q < hi; q++)
		if (q < q0 || q >= q1)
			oi[q] = reg_begin(&ms->lk[q], 0, s1);
	lay_begin();
	rc = simmm_mremap(ms->mm, start, len, len,
			  SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED |
				  (dontunmap ? SIMMM_MREMAP_DONTUNMAP : 0),
			  start + delta, &out);
	e1 = tk();
	lg("    %s mremap out -> %d [%u,%u]\n", cur_name(), rc, s1, e1);
	FZ_CHECK(rc == 0 || (rc == -ENOMEM && enomem_ok(hits0)) ||
			 (rc == -EFAULT && (busy0 || F.lay_busy > 1 || F.lay_gen != gen0 + 1 ||
					    maybe_hole(ms, q0, q1 - q0, s1))),
		 "mremap of pages %u..%u out: %d (%s)", q0, q1 - 1, rc, simmm_strerror(rc));
	FZ_CHECK(rc != 0 || out == start + delta, "mremap out moved to %#llx",
		 (unsigned long long)out);
	stable = !busy0 && F.lay_busy == 1 && F.lay_gen == gen0 + 1;
	lay_end();
	/* the range was one VMA when looked up: holes, or a stop at a later
	 * VMA, only if the layout changed before the mmap lock was taken */
	mv = (struct moved){.q0 = q0, .qk = q1, .q1 = q1, .file = file, .delta = delta, .s1 = s1,
			    .e1 = e1, .skip = dontunmap ? wi : NULL};
	any = moved_scan(ms, &mv);
	for (unsigned q = q0; q < q1; q++) {
		bool went = !mv.hole[q - q0];

		FZ_CHECK(!stable || went == (rc == 0), "mremap out: page %u %s at the scratch address",
			 q, went ? "arrived" : "missing");
		if (!dontunmap)
			reg_end(&ms->prot[q], wi[q - q0], went, false, e1);
		else if (!file)
			reg_end(&ms->data[q], wi[q - q0], went, false, e1);
		reg_end(&ms->lk[q], li[q - q0], went, false, e1);
		reg_end(&ms->gd[q], gi[q - q0], went, false, e1);
	}
	/* the rest of the old VMA: unlocked when the move was made (known
	 * only for the VMA looked up, and only with the layout stable) */
	for (unsigned q = lo; dontunmap && q < hi; q++) {
		bool in = pa(q) >= vi0.start && pa(q) < vi0.end;

		if (q >= q0 && q < q1)
			continue;
		reg_end(&ms->lk[q], oi[q], stable && in && rc == 0, !stable || (in && any), e1);
		F.dontunmap_seen[q] |= !stable || (in && any);
	}
	FZ_CHECK(rc != 0 || any, "mremap out: nothing at the scratch address");
	if (!any) {
		F.tail_out -= tail;
		return;
	}
	moved_check(ms, &mv);
	rc = moved_back(ms, &mv, start, len, hits0);
	if (tail) {
		F.tail_out--;
		ms->tail_lost |= rc != 0;
	}
}

/* fsync(2) of the file, or (MF_2) msync(MS_SYNC) of [p, p + n): the data
 * stays; -ENOMEM from msync only over a hole. */
static void file_sync(struct mmst *ms, unsigned p, unsigned n, unsigned flags, uint64_t hits0)
{
	uint32_t s0 = F.tick + 1;
	int rc;

	if (!(flags & MF_2)) {
		rc = simmm_file_fsync(F.file);
		lg("    %s fsync -> %d\n", cur_name(), rc);
		FZ_CHECK(rc == 0, "fsync: %d (%s)", rc, simmm_strerror(rc));
		return;
	}
	if (ms->gone || !simmm_mmget_not_zero(ms->mm))
		return;
	rc = simmm_msync(ms->mm, pa(p), n * F.ps, SIMMM_MS_SYNC);
	lg("    %s msync(MS_SYNC) file pages %u..%u -> %d\n", cur_name(), p - NP, p - NP + n - 1,
	   rc);
	FZ_CHECK(rc == 0 || (rc == -ENOMEM && maybe_hole(ms, p, n, s0)), "msync: %d (%s)", rc,
		 simmm_strerror(rc));
	FZ_CHECK(simmm_mmput(ms->mm) == 0, "mmput");
}

/*
 * An extended CPU mmap record with A_MORE: op (arg >> 4) & 7 of the
 * M_* family on the window (mremap) or the file region (the others), n =
 * 1 + (arg & 3) pages, flags MF_2 / MF_3 (fuzz/README.md). Every file op
 * creates the file first if there is none.
 */
static void more_op(struct task *t, const struct rec *r, uint64_t hits0)
{
	unsigned mop = (r->arg >> 4) & 7, flags = r->arg & (MF_2 | MF_3);
	unsigned p = mop == M_MREMAP ? r->page % NP : NP + r->page % NF;
	unsigned n = clip_n(p, 1 + (r->arg & 3));
	struct mmst *ms = &F.m[0];

	lg("%s: %s page %u n %u flags %#x (tick %u)\n", t->name, mop_names[mop], p, n, flags,
	   F.tick);
	if (mop != M_MREMAP && !file_ready(hits0))
		return;
	if (mop == M_FSYNC) {
		file_sync(ms, p, n, flags, hits0);
		return;
	}
	if ((mop == M_FREAD || mop == M_FWRITE) && (flags & MF_2)) {
		file_rw(p, mop == M_FWRITE, hits0);
		return;
	}
	if (ms->gone || !simmm_mmget_not_zero(ms->mm))
		return;
	switch (mop) {
	case M_MREMAP:
	case M_FMREMAP:
		cpu_mremap(t, ms, p, n, flags, hits0);
		break;
	case M_FREAD:
	case M_FWRITE:
		cpu_access(ms, p, mop == M_FWRITE, hits0);
		break;
	case M_FMAP:
		if (flags & MF_2)
			cpu_mmap(ms, p, n, hits0);
		else
			cpu_munmap(ms, p, n, hits0);
		break;
	case M_FMPROTECT:
		cpu_mprotect(ms, p, n, (flags >> 2) % 3, hits0);
		break;
	case M_FDONTNEED:
		cpu_dontneed(ms, p, n, flags & MF_2, hits0);
		break;
	default:
		break;
	}
	FZ_CHECK(simmm_mmput(ms->mm) == 0, "mmput");
}

/* ---- the "X" CPU ops of extended inputs: resize, msync flags, mlock, the fork child ----- */

/* Did only the current task run since the scheduler's log had @l0 picks? */
static bool ran_alone(size_t l0)
{
	const uint32_t *ids = NULL;
	size_t l1 = simmm_sched_schedule(F.sim, &ids);
	uint32_t me = simmm_sched_current(F.sim);

	for (size_t i = l0; i < l1; i++)
		if (ids[i] != me)
			return false;
	return true;
}

/* What mremap() must do, by upstream's rules, with the VMAs as looked up. */
enum { RZ_EFAULT, RZ_ENOMEM, RZ_INPLACE, RZ_MOVED };
static const char *const rz_names[] = {"-EFAULT", "-ENOMEM", "in place", "moved"};

/*
 * One mremap() of [p, p + n) to k pages, @flags 0, MAYMOVE or MAYMOVE |
 * FIXED (to this task's scratch address); a range that moved comes back
 * (moved_check(), moved_back()). Upstream's rules (mm/mremap.c
 * check_prep_vma(), mremap_at(), mremap_to()): no VMA at the address:
 * -EFAULT; a shrink or same size without FIXED unmaps the tail only, the
 * range may span VMAs and holes; growing needs the range inside one VMA
 * (-EFAULT), grows in place when it ends the VMA and the pages after it
 * are free, else moves with MAYMOVE or fails -ENOMEM; FIXED needs the part
 * that moves (the new length when shrinking) inside one VMA, except that a
 * same-size FIXED move takes every VMA of the range and leaves the holes
 * (remap_move(), 6.17+: only a VMA at the address is needed; an allocation
 * failure may stop it at a later VMA, moved_scan()). When the VMA
 * layout did not change from the look-up to the end of the call, the
 * outcome must be that one (or -ENOMEM after an allocation failure);
 * otherwise any of them.
 *
 * Model: a shrunk tail is unmapped (anonymous data gone, VM_LOCKED gone);
 * pages grown in place get the VMA's protection and lock (those page
 * p + n - 1 may have had during the call) and read zeros (anonymous) or
 * the file; a range that moved is unmapped until it comes back.
 */
static int resize_call(struct task *t, struct mmst *ms, unsigned p, unsigned n, unsigned k,
		       int flags, uint64_t hits0)
{
	bool file = is_file(p), fixed = flags & SIMMM_MREMAP_FIXED;
	bool maymove = flags & SIMMM_MREMAP_MAYMOVE, stable, moved, inplace, ok;
	unsigned kept = n < k ? n : k, expect, busy0 = F.lay_busy;
	simmm_addr_t a = pa(p), dst = fixed ? a + (t->idx + 1) * SCR_OFF : 0, out = 0;
	struct simmm_vma_info vi, vj;
	bool have = simmm_vma_info(ms->mm, a, &vi) == 0;
	unsigned ui[MAXN], uli[MAXN], ti[MAXN], tdi[MAXN], tli[MAXN], gpi[MAXN][3], gdi[MAXN],
		gli[MAXN][2], ugi[MAXN], tgi[MAXN], ggi[MAXN];
	uint32_t gen0 = F.lay_gen, s1, e1;
	bool multi = fixed && k == n, any = false, gap[MAXN];
	struct moved mv;
	int rc;

	for (unsigned i = 0; i < n; i++)
		gap[i] = multi && simmm_vma_info(ms->mm, pa(p + i), &vj) != 0;
	if (!have)
		expect = RZ_EFAULT;
	else if (fixed)
		expect = multi || a + kept * F.ps <= vi.end ? RZ_MOVED : RZ_EFAULT;
	else if (k <= n)
		expect = RZ_INPLACE;
	else if (a + n * F.ps > vi.end)
		expect = RZ_EFAULT;
	else {
		bool room = vi.end == a + n * F.ps;

		for (unsigned q = p + n; room && q < p + k; q++)
			room = simmm_vma_info(ms->mm, pa(q), &vj) != 0;
		expect = room ? RZ_INPLACE : maymove ? RZ_MOVED : RZ_ENOMEM;
	}
	lg("    %s mremap [%#llx,+%u) to %u pages%s%s, expect %s\n", cur_name(),
	   (unsigned long long)a, n, k, maymove ? " MAYMOVE" : "", fixed ? " FIXED" : "",
	   rz_names[expect]);
	s1 = tk();
	for (unsigned i = 0; maymove && i < n; i++) { /* moved away */
		ui[i] = reg_begin(&ms->prot[p + i], PR_UNMAPPED, s1);
		uli[i] = reg_begin(&ms->lk[p + i], 0, s1);
		/* guard markers go with the pages (moved_back() brings them) */
		ugi[i] = reg_begin(&ms->gd[p + i], 0, s1);
	}
	for (unsigned i = k; i < n; i++) { /* the shrunk tail */
		ti[i - k] = reg_begin(&ms->prot[p + i], PR_UNMAPPED, s1);
		tli[i - k] = reg_begin(&ms->lk[p + i], 0, s1);
		tgi[i - k] = reg_begin(&ms->gd[p + i], 0, s1); /* unmapped: markers gone */
		if (!file)
			tdi[i - k] = reg_begin(&ms->data[p + i], 0, s1);
	}
	for (unsigned i = n; !fixed && i < k; i++) { /* grown in place */
		for (unsigned v = 0; v < 3; v++)
			gpi[i - n][v] = reg_begin(&ms->prot[p + i], (uint8_t)(PR_NONE + v), s1);
		for (unsigned l = 0; l < 2; l++)
			gli[i - n][l] = reg_begin(&ms->lk[p + i], (uint8_t)l, s1);
		ggi[i - n] = reg_begin(&ms->gd[p + i], 0, s1); /* new pages: no marker */
		if (!file)
			gdi[i - n] = reg_begin(&ms->data[p + i], 0, s1);
	}
	lay_begin();
	rc = simmm_mremap(ms->mm, a, n * F.ps, k * F.ps, flags, dst, &out);
	e1 = tk();
	stable = !busy0 && F.lay_busy == 1 && F.lay_gen == gen0 + 1;
	lay_end();
	moved = rc == 0 && out != a;
	inplace = rc == 0 && out == a;
	lg("    %s mremap -> %d at %#llx [%u,%u]%s\n", cur_name(), rc, (unsigned long long)out, s1,
	   e1, stable ? "" : " (the layout changed meanwhile)");
	FZ_CHECK(!moved || (maymove && (!fixed || out == dst)), "mremap moved to %#llx",
		 (unsigned long long)out);
	if (rc == -ENOMEM && enomem_ok(hits0))
		ok = true;
	else if (stable)
		ok = expect == RZ_EFAULT   ? rc == -EFAULT
		     : expect == RZ_ENOMEM ? rc == -ENOMEM
		     : expect == RZ_MOVED  ? moved
					   : inplace;
	else
		ok = rc == -EFAULT || (rc == -ENOMEM && k > n && !maymove) || moved ||
		     (inplace && !fixed);
	FZ_CHECK(ok, "mremap of pages %u..%u to %u pages (flags %#x): %d (%s) at %#llx, upstream: "
		 "%s", p, p + n - 1, k, flags, rc, simmm_strerror(rc), (unsigned long long)out,
		 rz_names[expect]);
	mv = (struct moved){.q0 = p, .qk = p + kept, .q1 = p + k, .file = file,
			    .delta = (moved ? out : dst) - a, .s1 = s1, .e1 = e1};
	if (multi) {
		/* each VMA moved, the holes stayed; a failure may stop it at a
		 * later VMA, whose pages stay (moved_scan()) */
		any = moved_scan(ms, &mv);
		FZ_CHECK(rc != 0 || any, "mremap: nothing at the scratch address");
		for (unsigned i = 0; stable && i < n; i++)
			FZ_CHECK(gap[i] ? mv.hole[i] : rc != 0 || !mv.hole[i],
				 "mremap: page %u %s at the scratch address", p + i,
				 mv.hole[i] ? "missing" : "arrived");
	}
	for (unsigned i = 0; maymove && i < n; i++) {
		bool went = multi ? !mv.hole[i] : moved;

		reg_end(&ms->prot[p + i], ui[i], went, false, e1);
		reg_end(&ms->lk[p + i], uli[i], went, false, e1);
		reg_end(&ms->gd[p + i], ugi[i], went, false, e1);
	}
	/* FIXED unmaps the tail before the move, which may still fail */
	for (unsigned i = k; i < n; i++) {
		reg_end(&ms->prot[p + i], ti[i - k], rc == 0, fixed, e1);
		reg_end(&ms->lk[p + i], tli[i - k], rc == 0, fixed, e1);
		reg_end(&ms->gd[p + i], tgi[i - k], rc == 0, fixed, e1);
		if (!file)
			reg_end(&ms->data[p + i], tdi[i - k], rc == 0, fixed, e1);
	}
	for (unsigned i = n; !fixed && i < k; i++) {
		for (unsigned v = 0; v < 3; v++)
			reg_end(&ms->prot[p + i], gpi[i - n][v],
				inplace && prot_any(&ms->prot[p + n - 1], 1u << (PR_NONE + v), s1, e1),
				false, e1);
		for (unsigned l = 0; l < 2; l++)
			reg_end(&ms->lk[p + i], gli[i - n][l],
				inplace && prot_any(&ms->lk[p + n - 1], 1u << l, s1, e1), false, e1);
		reg_end(&ms->gd[p + i], ggi[i - n], inplace, false, e1);
		if (!file)
			reg_end(&ms->data[p + i], gdi[i - n], inplace, false, e1);
	}
	if (!moved && !any)
		return rc;
	if (!multi) {
		FZ_CHECK(simmm_vma_info(ms->mm, out, &vj) == 0 && vj.start <= out &&
				 out + k * F.ps <= vj.end, "no VMA of %u pages at %#llx", k,
			 (unsigned long long)out);
		moved_scan(ms, &mv);
	}
	moved_check(ms, &mv);
	return moved_back(ms, &mv, a, k * F.ps, hits0);
}

/*
 * X_WRESIZE / X_FRESIZE: [p, p + n) of the window or the file region
 * resized to k pages (both clipped to the region), by @mode: 0 in place
 * (no flags), 1 MREMAP_MAYMOVE, 2 MAYMOVE | FIXED to the scratch address
 * and back, 3 shrink and grow again: [p, p + max) shrunk to min pages in
 * place, a yield, then grown back with MAYMOVE (in place if the tail is
 * still free).
 */
static void cpu_resize(struct task *t, struct mmst *ms, unsigned p, unsigned n, unsigned k,
		       unsigned mode, uint64_t hits0)
{
	static const int fl[3] = {0, SIMMM_MREMAP_MAYMOVE,
				  SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED};
	unsigned big = n > k ? n : k, small = n < k ? n : k;

	if (mode < 3) {
		resize_call(t, ms, p, n, k, fl[mode], hits0);
		return;
	}
	if (small == big && big > 1)
		small--;
	resize_call(t, ms, p, big, small, 0, hits0);
	simmm_sched_yield(F.sim); /* the shrunk tail is a hole */
	resize_call(t, ms, p, small, big, SIMMM_MREMAP_MAYMOVE, hits0);
}

/*
 * X_MSYNC: msync() of file pages [p, p + n) with @flags (MS_ASYNC,
 * MS_INVALIDATE, both, MS_SYNC | MS_INVALIDATE, or 0). Upstream
 * (mm/msync.c): -ENOMEM over a hole (MS_ASYNC alone stops at it, the
 * others skip it), -EBUSY at a VM_LOCKED VMA with MS_INVALIDATE (so
 * certainly when page p stays mapped and locked); MS_ASYNC and
 * MS_INVALIDATE write nothing back: when nothing else ran meanwhile, the
 * file's counters and the range's ptes are as they were (dirty pages stay
 * dirty); MS_SYNC then leaves no writable or dirty pte in the range.
 */
static void file_msync2(struct mmst *ms, unsigned p, unsigned n, int flags)
{
	struct simmm_file_stats st0, st1;
	struct simmm_translation tr;
	simmm_entry_t e0[MAXN];
	uint32_t s0 = tk(), e;
	bool alone, busy_must;
	size_t l0;
	int rc;

	for (unsigned i = 0; i < n; i++) {
		memset(&tr, 0, sizeof(tr));
		simmm_pgtable_translate(simmm_mm_pgtable(ms->mm), pa(p + i), &tr);
		e0[i] = tr.entry;
	}
	FZ_CHECK(simmm_file_stats(F.file, &st0) == 0, "file_stats");
	l0 = simmm_sched_schedule(F.sim, NULL);
	rc = simmm_msync(ms->mm, pa(p), n * F.ps, flags);
	alone = ran_alone(l0);
	e = tk();
	lg("    %s msync(%#x) file pages %u..%u -> %d [%u,%u]%s\n", cur_name(), flags, p - NP,
	   p - NP + n - 1, rc, s0, e, alone ? " alone" : "");
	FZ_CHECK(rc == 0 || (rc == -ENOMEM && maybe_hole(ms, p, n, s0)) ||
			 (rc == -EBUSY && (flags & SIMMM_MS_INVALIDATE) && maybe_locked(ms, p, n, s0)),
		 "msync(%#x) of file pages %u..%u: %d (%s)", flags, p - NP, p - NP + n - 1, rc,
		 simmm_strerror(rc));
	busy_must = (flags & SIMMM_MS_INVALIDATE) &&
		    !prot_any(&ms->prot[p], 1u << PR_UNMAPPED, s0, e) && reg_only(&ms->lk[p], 1, s0, e);
	FZ_CHECK(!busy_must || rc == -EBUSY, "msync(%#x) over file page %u, mapped and VM_LOCKED: %d",
		 flags, p - NP, rc);
	if (!alone)
		return;
	if (!(flags & SIMMM_MS_SYNC)) {
		FZ_CHECK(simmm_file_stats(F.file, &st1) == 0, "file_stats");
		FZ_CHECK(st0.cached == st1.cached && st0.dirty == st1.dirty &&
				 st0.written == st1.written,
			 "msync(%#x) changed the file: cached %llu -> %llu, dirty %llu -> %llu, written "
			 "%llu -> %llu", flags, (unsigned long long)st0.cached,
			 (unsigned long long)st1.cached, (unsigned long long)st0.dirty,
			 (unsigned long long)st1.dirty, (unsigned long long)st0.written,
			 (unsigned long long)st1.written);
	}
	for (unsigned i = 0; i < n; i++) {
		memset(&tr, 0, sizeof(tr));
		simmm_pgtable_translate(simmm_mm_pgtable(ms->mm), pa(p + i), &tr);
		if (!(flags & SIMMM_MS_SYNC))
			FZ_CHECK(tr.entry == e0[i], "msync(%#x) changed file page %u's pte %#llx -> %#llx",
				 flags, p - NP + i, (unsigned long long)e0[i],
				 (unsigned long long)tr.entry);
		else if (rc == 0)
			FZ_CHECK(!tr.present || (!tr.write && !simmm_pte_dirty(tr.entry)),
				 "msync(MS_SYNC) left file page %u's pte %#llx writable or dirty",
				 p - NP + i, (unsigned long long)tr.entry);
	}
}

/*
 * X_MLOCK (file pages) and Y_MLOCK (window pages): @mode 0 mlock(), 1 and
 * 3 munlock(), 2 mlock2(MLOCK_ONFAULT) of [p, p + n). -ENOMEM over a hole
 * (the VMAs before it changed) or, populating (mlock(); mlock2 too when
 * the VMA layout changed meanwhile), over a PROT_NONE page, and after an
 * allocation failure; -EAGAIN when populating ran out of memory. When nothing else ran meanwhile, mlock() leaves every page of
 * the range mapped and present (populated, __mm_populate()). The lock
 * register (lk) is 1 from a successful mlock until the pages are
 * unlocked, unmapped or moved away. Returns the call's result.
 */
static int range_mlock(struct mmst *ms, unsigned p, unsigned n, unsigned mode, uint64_t hits0)
{
	bool lock = mode == 0 || mode == 2, populate = mode == 0, alone, any_none = false, stable;
	const char *where = is_file(p) ? "file" : "window";
	unsigned li[MAXN], p0 = is_file(p) ? p - NP : p, busy0 = F.lay_busy;
	uint32_t s0 = tk(), e, gen0 = F.lay_gen;
	size_t l0;
	int rc;

	for (unsigned i = 0; i < n; i++)
		li[i] = reg_begin(&ms->lk[p + i], lock, s0);
	lay_begin();
	l0 = simmm_sched_schedule(F.sim, NULL);
	rc = !lock	   ? simmm_munlock(ms->mm, pa(p), n * F.ps)
	     : populate ? simmm_mlock(ms->mm, pa(p), n * F.ps)
			: simmm_mlock2(ms->mm, pa(p), n * F.ps, SIMMM_MLOCK_ONFAULT);
	alone = ran_alone(l0);
	stable = !busy0 && F.lay_busy == 1 && F.lay_gen == gen0 + 1;
	lay_end();
	e = tk();
	lg("    %s %s %s pages %u..%u -> %d [%u,%u]%s\n", cur_name(),
	   !lock ? "munlock" : populate ? "mlock" : "mlock2(ONFAULT)", where, p0, p0 + n - 1, rc,
	   s0, e, alone ? " alone" : "");
	/* a failed one may have changed the VMAs before the failure */
	for (unsigned i = 0; i < n; i++) {
		reg_end(&ms->lk[p + i], li[i], rc == 0, true, e);
		any_none |= prot_any(&ms->prot[p + i], 1u << PR_NONE, s0, e);
	}
	/* mlock2(ONFAULT) populates too, as mlock(), a VMA that another
	 * task's mremap or mmap put in the range after the VMAs were changed
	 * (not VM_LOCKONFAULT): -ENOMEM at a PROT_NONE one, -EAGAIN when its
	 * faults run out of memory. */
	FZ_CHECK(rc == 0 ||
			 (rc == -ENOMEM && (enomem_ok(hits0) || maybe_hole(ms, p, n, s0) ||
					    (lock && any_none && (populate || !stable)) ||
					    /* GUP's -EFAULT at a guard marker */
					    (lock && maybe_guard(ms, p, n, s0)) ||
					    /* or past EOF (SIGBUS: T ops) */
					    (lock && eof_any(p, n, s0, e)))) ||
			 (rc == -EAGAIN && (populate || (lock && !stable)) && enomem_ok(hits0)),
		 "%s of %s pages %u..%u: %d (%s)", lock ? "mlock" : "munlock", where, p0, p0 + n - 1,
		 rc, simmm_strerror(rc));
	for (unsigned i = 0; rc == 0 && populate && alone && i < n; i++) {
		struct simmm_translation tr;

		FZ_CHECK(pte_present(ms, p + i, &tr), "mlock left %s page %u unmapped (entry %#llx)",
			 where, p0 + i, (unsigned long long)tr.entry);
	}
	return rc;
}

/*
 * X_CHILD: the fork child's view of the file region, inherited MAP_SHARED:
 * @mode 0 read, 1 write (through its own mapping; the data register is the
 * file's, shared with mm0, the devices and pread / pwrite), 2
 * MADV_DONTNEED of [p, p + n), 3 msync(MS_SYNC) of [p, p + n). Its
 * protections are those mm0 had at the fork (snapshot_child()).
 */
static void child_op(unsigned p, unsigned n, unsigned mode, uint64_t hits0)
{
	struct mmst *cm = &F.m[1];
	uint32_t s0;
	int rc;

	if (!cm->exists || cm->gone || !simmm_mmget_not_zero(cm->mm)) {
		lg("    %s: no child\n", cur_name());
		return;
	}
	switch (mode) {
	case 0:
	case 1:
		cpu_access(cm, p, mode == 1, hits0);
		break;
	case 2:
		cpu_dontneed(cm, p, n, false, hits0);
		break;
	default:
		s0 = tk();
		rc = simmm_msync(cm->mm, pa(p), n * F.ps, SIMMM_MS_SYNC);
		lg("    %s mm1 msync(MS_SYNC) file pages %u..%u -> %d\n", cur_name(), p - NP,
		   p - NP + n - 1, rc);
		FZ_CHECK(rc == 0 || (rc == -ENOMEM && maybe_hole(cm, p, n, s0)),
			 "child msync: %d (%s)", rc, simmm_strerror(rc));
		break;
	}
	FZ_CHECK(simmm_mmput(cm->mm) == 0, "mmput");
}

/*
 * An extended CPU record with op byte OP_X: op ((arg >> 4) & 7) % NR_XOPS
 * of the X_* family, n = 1 + (arg & 3) pages, mode (arg >> 2) & 3; page
 * bits 0..3 (window) or 0..2 (file region) the page, bits 5..6 k - 1 for
 * the resizes, bit 7 for msync: without MS_ASYNC. Every op but X_WRESIZE
 * creates the file first if there is none (fuzz/README.md).
 */
static void x_op(struct task *t, const struct rec *r, uint64_t hits0)
{
	static const int msf[4] = {SIMMM_MS_ASYNC, SIMMM_MS_INVALIDATE,
				   SIMMM_MS_ASYNC | SIMMM_MS_INVALIDATE,
				   SIMMM_MS_SYNC | SIMMM_MS_INVALIDATE};
	unsigned x = ((r->arg >> 4) & 7) % NR_XOPS, mode = (r->arg >> 2) & 3;
	unsigned p = x == X_WRESIZE ? r->page % NP : NP + r->page % NF;
	unsigned n = clip_n(p, 1 + (r->arg & 3)), k = clip_n(p, 1 + ((r->page >> 5) & 3));
	struct mmst *ms = &F.m[0];

	lg("%s: %s page %u n %u mode %u k %u (tick %u)\n", t->name, xop_names[x], p, n, mode, k,
	   F.tick);
	if (x != X_WRESIZE && !file_ready(hits0))
		return;
	if (x == X_CHILD) {
		child_op(p, n, mode, hits0);
		return;
	}
	if (ms->gone || !simmm_mmget_not_zero(ms->mm))
		return;
	switch (x) {
	case X_WRESIZE:
	case X_FRESIZE:
		cpu_resize(t, ms, p, n, k, mode, hits0);
		break;
	case X_MSYNC:
		file_msync2(ms, p, n, msf[mode] & ~((r->page & 0x80) ? SIMMM_MS_ASYNC : 0));
		break;
	default:
		range_mlock(ms, p, n, mode, hits0);
		break;
	}
	FZ_CHECK(simmm_mmput(ms->mm) == 0, "mmput");
}

/* ---- the "Y" CPU ops of extended inputs: mlock of the window, msync of a locked range, the
 * fork child's writes ---------------------------------------------------------------------- */

/*
 * Y_MLOCK mode 3: munlock() of window pages [p, p + n), then MADV_PAGEOUT
 * of them. munlock makes their folios evictable again (munlock_folio():
 * back to an evictable list once no VM_LOCKED VMA maps them; mm0 is the
 * only process that locks), so when both calls succeed with nothing else
 * running, MADV_PAGEOUT must take each page that only this mapping maps
 * and nobody else holds: present, an order-0 folio, mapcount 1 and
 * refcount 1 (not in the swap cache, not isolated by anyone), not the
 * zero page. It must be a swap entry after it (reclaim_pages() ignores
 * references; an unevictable folio it would put back), unless an
 * allocation failed meanwhile or memory is nearly exhausted. Not a page
 * that was ever device-exclusive: a munlock that met its entry left the
 * folio mlocked (mlock_pte_range() skips non-present entries, upstream
 * too), unevictable until an mlock + munlock cycle after an isolation.
 * Nor one whose VMA an MREMAP_DONTUNMAP of another part unlocked:
 * dontunmap_complete() munlocks nothing, so its folio may stay mlocked
 * in a VMA a munlock() no longer touches, until it is freed.
 */
static void window_evict(struct mmst *ms, unsigned p, unsigned n, uint64_t hits0)
{
	size_t l0 = simmm_sched_schedule(F.sim, NULL);
	struct simmm_translation tr;
	bool must[MAXN] = {false};
	int rc = range_mlock(ms, p, n, 1, hits0);
	uint64_t h;

	if (rc)
		return;
	for (unsigned i = 0; i < n; i++) {
		struct simmm_page_info pi;

		must[i] = !F.excl_seen[p + i] && !F.dontunmap_seen[p + i] &&
			  pte_present(ms, p + i, &tr) &&
			  tr.pfn != simmm_zero_pfn(F.sim) &&
			  simmm_page_info(F.sim, tr.pfn, &pi) == 0 && pi.order == 0 &&
			  pi.mapcount == 1 && pi.refcount == 1;
	}
	h = simmm_fault_hits(F.sim);
	rc = cpu_dontneed(ms, p, n, true, hits0);
	/* An allocation that failed (swapping out needs some) keeps a page. */
	if (rc || !ran_alone(l0) || enomem_ok(h))
		return;
	for (unsigned i = 0; i < n; i++) {
		if (!must[i])
			continue;
		lg("    pageout after munlock: window page %u must go\n", p + i);
		FZ_CHECK(!pte_present(ms, p + i, &tr),
			 "MADV_PAGEOUT after munlock left window page %u mapped (pfn %#llx): still "
			 "unevictable?", p + i, (unsigned long long)tr.pfn);
	}
}

/*
 * Y_LMSYNC: msync(MS_INVALIDATE) of locked file pages [p, p + n): they are
 * mlock()ed first (@mode 2: mlock2(ONFAULT)), then msync'ed with
 * MS_INVALIDATE (@mode 0), MS_ASYNC | MS_INVALIDATE (1), MS_SYNC |
 * MS_INVALIDATE (2); mode 3 munlock()s them after the MS_INVALIDATE and
 * msyncs again. file_msync2() judges: -EBUSY is required when the first
 * page stays mapped and surely VM_LOCKED (upstream msync(): MS_INVALIDATE
 * on a VM_LOCKED VMA), and allowed only where a page may be locked.
 * Modes 0..2 leave the pages locked.
 */
static void locked_msync(struct mmst *ms, unsigned p, unsigned n, unsigned mode, uint64_t hits0)
{
	static const int flags[4] = {SIMMM_MS_INVALIDATE, SIMMM_MS_ASYNC | SIMMM_MS_INVALIDATE,
				     SIMMM_MS_SYNC | SIMMM_MS_INVALIDATE, SIMMM_MS_INVALIDATE};

	range_mlock(ms, p, n, mode == 2 ? 2 : 0, hits0);
	file_msync2(ms, p, n, flags[mode]);
	if (mode != 3)
		return;
	range_mlock(ms, p, n, 1, hits0);
	file_msync2(ms, p, n, SIMMM_MS_INVALIDATE);
}

/*
 * Y_CHILD: the fork child's view of the file region, forking first if
 * the run has not forked yet (the fork of C_FORK_WRITE without its
 * write): @mode 0, the child writes the next values to pages [p, p + n);
 * 1, it writes page p and mm0 reads it; 2, mm0 writes page p and the child
 * reads it; 3, it writes [p, p + n), msync(MS_SYNC)s them and pread reads
 * them back. One data register per file page (data_reg()) judges every
 * read; nothing happens without a child (not forked, or exited).
 */
static void child_fork_op(unsigned p, unsigned n, unsigned mode, uint64_t hits0)
{
	struct mmst *ms = &F.m[0];
	bool mm0 = false;

	if (!F.forked && !ms->gone && simmm_mmget_not_zero(ms->mm)) {
		cpu_fork(ms, hits0);
		FZ_CHECK(simmm_mmput(ms->mm) == 0, "mmput");
	}
	if (mode == 1 || mode == 2)
		mm0 = !ms->gone && simmm_mmget_not_zero(ms->mm);
	switch (mode) {
	case 0:
	case 3:
		for (unsigned q = p; q < p + n; q++)
			child_op(q, 1, 1, hits0);
		if (mode == 0)
			break;
		child_op(p, n, 3, hits0);
		for (unsigned q = p; q < p + n; q++)
			file_rw(q, false, hits0);
		break;
	case 1:
		child_op(p, 1, 1, hits0);
		if (mm0)
			cpu_access(ms, p, false, hits0);
		break;
	default:
		if (mm0)
			cpu_access(ms, p, true, hits0);
		child_op(p, 1, 0, hits0);
		break;
	}
	if (mm0)
		FZ_CHECK(simmm_mmput(ms->mm) == 0, "mmput");
}

/*
 * An extended CPU record with op byte OP_Y: op ((arg >> 4) & 7) % NR_YOPS
 * of the Y_* family, n = 1 + (arg & 3) pages, mode (arg >> 2) & 3; page %
 * NP of the window (Y_MLOCK) or % NF of the file region (the others, which
 * create the file first if there is none). See fuzz/README.md.
 */
static void y_op(struct task *t, const struct rec *r, uint64_t hits0)
{
	unsigned y = ((r->arg >> 4) & 7) % NR_YOPS, mode = (r->arg >> 2) & 3;
	unsigned p = y == Y_MLOCK ? r->page % NP : NP + r->page % NF;
	unsigned n = clip_n(p, 1 + (r->arg & 3));
	struct mmst *ms = &F.m[0];

	lg("%s: %s page %u n %u mode %u (tick %u)\n", t->name, yop_names[y], p, n, mode, F.tick);
	if (y != Y_MLOCK && !file_ready(hits0))
		return;
	if (y == Y_CHILD) {
		child_fork_op(p, n, mode, hits0);
		return;
	}
	if (ms->gone || !simmm_mmget_not_zero(ms->mm))
		return;
	if (y == Y_LMSYNC)
		locked_msync(ms, p, n, mode, hits0);
	else if (mode == 3)
		window_evict(ms, p, n, hits0);
	else
		range_mlock(ms, p, n, mode, hits0);
	FZ_CHECK(simmm_mmput(ms->mm) == 0, "mmput");
}

/*
 * MADV_GUARD_INSTALL (@install) or MADV_GUARD_REMOVE of [p, p + n): in the
 * window, install zaps the pages (anonymous data gone: zeros once
 * removed) and puts a guard marker in each; -EINVAL at a VM_LOCKED VMA
 * (the VMAs before it guarded), -ENOMEM over a hole (after the rest) or
 * out of memory (the markers placed stay), -EAGAIN when other tasks'
 * faults kept refilling the range through all its restarts. Remove clears
 * the markers only. In the hugetlb region both are -EINVAL
 * (madvise_guard_install() / _remove() refuse VM_HUGETLB), or -ENOMEM
 * when it is unmapped. When the call ran alone and succeeded, every page
 * holds a marker after an install and none after a remove.
 */
static void cpu_guard(struct mmst *ms, unsigned p, unsigned n, bool install, uint64_t hits0)
{
	bool huge = is_huge(p);
	struct change c = {.p = p, .n = n, .data = install && !huge, .guard = !huge,
			   .gv = install};
	uint32_t s0 = F.tick + 1;
	size_t l0;
	bool alone, mapped = false;
	int rc;

	change_begin(ms, &c);
	l0 = simmm_sched_schedule(F.sim, NULL);
	rc = simmm_madvise(ms->mm, pa(p), n * F.ps,
			   install ? SIMMM_MADV_GUARD_INSTALL : SIMMM_MADV_GUARD_REMOVE);
	alone = ran_alone(l0);
	lg("    %s guard %s pages %u..%u -> %d%s\n", cur_name(), install ? "install" : "remove", p,
	   p + n - 1, rc, alone ? " alone" : "");
	for (unsigned k = 0; k < n; k++)
		mapped |= prot_any(&ms->prot[p + k], ~(1u << PR_UNMAPPED) & 0xf, s0, F.tick + 1);
	if (huge)
		FZ_CHECK((rc == -EINVAL && mapped) ||
				 (rc == -ENOMEM && (maybe_hole(ms, p, n, s0) || enomem_ok(hits0))),
			 "guard %s of hugetlb pages %u..%u: %d (%s)",
			 install ? "install" : "remove", p, p + n - 1, rc, simmm_strerror(rc));
	else
		FZ_CHECK(rc == 0 ||
				 (rc == -ENOMEM &&
				  (maybe_hole(ms, p, n, s0) || enomem_ok(hits0))) ||
				 (rc == -EINVAL && install && maybe_locked(ms, p, n, s0)) ||
				 (rc == -EAGAIN && install && !alone),
			 "guard %s of pages %u..%u: %d (%s)", install ? "install" : "remove", p,
			 p + n - 1, rc, simmm_strerror(rc));
	/* a failed call may have done part of the range */
	change_end(ms, &c, rc == 0, true);
	for (unsigned k = 0; !huge && rc == 0 && alone && !ms->gone && k < n; k++)
		FZ_CHECK(guard_at(ms, pa(p + k)) == install, "guard %s ran alone, but page %u %s",
			 install ? "install" : "remove", p + k,
			 install ? "has no guard marker" : "still has a guard marker");
}

/*
 * The hugetlb region: one PMD-sized huge page (PMD_NR pages) at
 * F.base + HUGE_OFF, of which the model tracks the first NH pages (model
 * pages NT..NA-1), mapped by huge-mmap (MAP_PRIVATE | MAP_ANONYMOUS |
 * MAP_FIXED | MAP_HUGETLB, zeros). The data registers are per process, as
 * anonymous memory: a fault maps a zeroed huge page, fork shares it
 * read-only and the first write copies the whole huge page (hugetlb_wp()).
 * Whole-region munmap, MADV_DONTNEED (zeros after it) and mprotect; their
 * forms that start or end inside the huge page fail with -EINVAL
 * (hugetlb_vm_op_split(), madvise_dontneed_free_valid_vma()) and change
 * nothing. A fault the pool (the buddy allocator) cannot serve is SIGBUS.
 */
static void cpu_huge_map(struct mmst *ms, unsigned mode, uint64_t hits0)
{
	bool ro = mode == 1;
	struct change c = {.p = NT, .n = NH, .data = true, .prot = true,
			   .pv = ro ? PR_R : PR_RW};
	struct change u = {.p = NT, .n = NH, .prot = true, .pv = PR_UNMAPPED};
	simmm_addr_t out = 0;
	int rc;

	change_begin(ms, &c);
	change_begin(ms, &u);
	lay_begin();
	rc = simmm_mmap(ms->mm, pa(NT), PMD_NR * F.ps,
			SIMMM_PROT_READ | (ro ? 0 : SIMMM_PROT_WRITE),
			SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_FIXED |
				SIMMM_MAP_HUGETLB | (mode == 3 ? SIMMM_MAP_POPULATE : 0),
			NULL, 0, &out);
	lay_end();
	lg("    %s huge mmap%s%s -> %d\n", cur_name(), ro ? " read-only" : "",
	   mode == 3 ? " populate" : "", rc);
	FZ_CHECK((rc == 0 && out == pa(NT)) || (rc == -ENOMEM && enomem_ok(hits0)),
		 "hugetlb mmap FIXED: %d (%s)", rc, simmm_strerror(rc));
	change_end(ms, &c, rc == 0, true);
	change_end(ms, &u, false, rc != 0);
}

static void cpu_huge_range(struct mmst *ms, unsigned z, unsigned mode, uint64_t hits0)
{
	static const int prots[3] = {SIMMM_PROT_NONE, SIMMM_PROT_READ,
				     SIMMM_PROT_READ | SIMMM_PROT_WRITE};
	static const uint8_t pr[3] = {PR_NONE, PR_R, PR_RW};
	/* mode 3 (munmap, mprotect) / 1 (DONTNEED): a range starting inside
	 * the huge page, which must fail with -EINVAL (or -ENOMEM unmapped) */
	bool split = z == Z_HDONTNEED ? mode == 1 : mode == 3;
	struct change c = {.p = NT, .n = NH};
	uint32_t s0 = F.tick + 1;
	uint64_t a = pa(NT) + (split ? F.ps : 0), len = split ? F.ps : PMD_NR * F.ps;
	const char *what = z == Z_HUNMAP ? "munmap" : z == Z_HDONTNEED ? "dontneed" : "mprotect";
	bool mapped = false;
	int rc;

	if (z == Z_HUNMAP) {
		c.data = c.prot = true;
		c.pv = PR_UNMAPPED;
	} else if (z == Z_HDONTNEED) {
		c.data = true;
	} else {
		c.prot = true;
		c.pv = pr[mode % 3];
	}
	if (!split)
		change_begin(ms, &c);
	if (z != Z_HDONTNEED)
		lay_begin();
	rc = z == Z_HUNMAP    ? simmm_munmap(ms->mm, a, len)
	     : z == Z_HDONTNEED ? simmm_madvise(ms->mm, a, len, SIMMM_MADV_DONTNEED)
				: simmm_mprotect(ms->mm, a, len, prots[mode % 3]);
	if (z != Z_HDONTNEED)
		lay_end();
	lg("    %s huge %s%s -> %d\n", cur_name(), what,
	   split ? " (inside the huge page)" : "", rc);
	for (unsigned k = 0; k < NH; k++)
		mapped |= prot_any(&ms->prot[NT + k], ~(1u << PR_UNMAPPED) & 0xf, s0, F.tick + 1);
	if (split)
		/* munmap of an unmapped range is 0 */
		FZ_CHECK((rc == -EINVAL && mapped) ||
				 (rc == (z == Z_HUNMAP ? 0 : -ENOMEM) &&
				  maybe_hole(ms, NT, NH, s0)) ||
				 (rc == -ENOMEM && enomem_ok(hits0)),
			 "hugetlb %s inside the huge page: %d (%s)", what, rc, simmm_strerror(rc));
	else
		FZ_CHECK(rc == 0 ||
				 (rc == -ENOMEM && (enomem_ok(hits0) ||
						    (z != Z_HUNMAP && maybe_hole(ms, NT, NH, s0)))),
			 "hugetlb %s: %d (%s)", what, rc, simmm_strerror(rc));
	if (!split)
		change_end(ms, &c, rc == 0, z == Z_HDONTNEED);
}

static void z_op(struct task *t, const struct rec *r, uint64_t hits0)
{
	unsigned z = (r->arg >> 4) & 7, mode = (r->arg >> 2) & 3;
	/* guard ops: page bit 7 aims them at the hugetlb region */
	unsigned p = z <= Z_GREMOVE && (r->page & 0x80) ? NT + r->page % NH
			     : z <= Z_GREMOVE		  ? r->page % NP
							  : NT + r->page % NH;
	unsigned n = clip_n(p, 1 + (r->arg & 3));
	struct mmst *ms = &F.m[0];

	lg("%s: %s page %u n %u mode %u (tick %u)\n", t->name, zop_names[z], p, n, mode, F.tick);
	if (ms->gone || !simmm_mmget_not_zero(ms->mm))
		return;
	switch (z) {
	case Z_GINSTALL:
	case Z_GREMOVE:
		cpu_guard(ms, p, n, z == Z_GINSTALL, hits0);
		break;
	case Z_HMAP:
		cpu_huge_map(ms, mode, hits0);
		break;
	case Z_HACCESS:
		cpu_access(ms, p, mode & 1, hits0);
		break;
	case Z_HFORK:
		if (!F.forked)
			cpu_fork(ms, hits0);
		cpu_access(ms, p, true, hits0);
		break;
	default:
		cpu_huge_range(ms, z, mode, hits0);
		break;
	}
	FZ_CHECK(simmm_mmput(ms->mm) == 0, "mmput");
}

/* ---- the "T" CPU ops of extended inputs: truncation of the file region --------------------- */

/*
 * The file's size changes to @size (simmm_file_truncate(): truncate_setsize()
 * + truncate_pagecache()). Model, over the call's interval: each file page
 * whose first byte lies at or past @size is written zeros (a shrink drops
 * it from the page cache and the store; growing again brings back zeros)
 * and is past EOF (eof 1: faults there are SIGBUS from the moment i_size
 * changes, which is somewhere in the interval); the others are inside EOF
 * (eof 0: a grow, or a shrink that keeps them). A page the new EOF falls
 * in keeps its first byte (its tail is zeroed, which no op reads).
 */
static void file_truncate(uint64_t size, uint64_t hits0)
{
	struct reg *dr = F.m[0].data;
	unsigned di[NT], ei[NT];
	uint32_t s = tk(), e;
	int rc;

	for (unsigned q = NP; q < NT; q++) {
		bool past = file_off(q) >= size;

		ei[q] = reg_begin(&F.eof[q], past, s);
		if (past)
			di[q] = reg_begin(&dr[q], 0, s);
	}
	rc = simmm_file_truncate(F.file, size);
	e = tk();
	lg("    %s truncate to %#llx (%llu pages + %llu) -> %d [%u,%u]\n", cur_name(),
	   (unsigned long long)size, (unsigned long long)(size / F.ps),
	   (unsigned long long)(size % F.ps), rc, s, e);
	FZ_CHECK(rc == 0 || (rc == -ENOMEM && enomem_ok(hits0)), "truncate: %d (%s)", rc,
		 simmm_strerror(rc));
	for (unsigned q = NP; q < NT; q++) {
		reg_end(&F.eof[q], ei[q], rc == 0, true, e);
		if (file_off(q) >= size)
			reg_end(&dr[q], di[q], rc == 0, true, e);
	}
}

/*
 * A hole punch of [off, off + len) (simmm_file_punch_hole(),
 * truncate_pagecache_range()): each file page whose first byte lies in it
 * reads zeros after it (a whole page leaves every mapping and the cache; a
 * partial one at the end of the hole is zeroed in place and stays mapped,
 * a device mirror of it valid); the size does not change.
 */
static void file_punch(uint64_t off, uint64_t len, uint64_t hits0)
{
	struct reg *dr = F.m[0].data;
	unsigned di[NT];
	uint32_t s = tk(), e;
	int rc;

	for (unsigned q = NP; q < NT; q++)
		if (file_off(q) >= off && file_off(q) < off + len)
			di[q] = reg_begin(&dr[q], 0, s);
	rc = simmm_file_punch_hole(F.file, off, len);
	e = tk();
	lg("    %s punch [%#llx, %#llx) -> %d [%u,%u]\n", cur_name(), (unsigned long long)off,
	   (unsigned long long)(off + len), rc, s, e);
	FZ_CHECK(rc == 0 || (rc == -ENOMEM && enomem_ok(hits0)), "punch_hole: %d (%s)", rc,
		 simmm_strerror(rc));
	for (unsigned q = NP; q < NT; q++)
		if (file_off(q) >= off && file_off(q) < off + len)
			reg_end(&dr[q], di[q], rc == 0, true, e);
}

/*
 * MADV_REMOVE of file pages [p, p + n) of @ms (madvise_remove(): the file
 * range each VMA maps punched in turn, the mmap lock dropped around each
 * punch). Every page of the range reads zeros after a success; after a
 * failure each may or may not have been punched: -ENOMEM over a possible
 * hole (the rest punched), -EINVAL at a possibly VM_LOCKED VMA (the VMAs
 * before it punched; the child never locks). The shared mapping is
 * writable by its open mode (VM_MAYWRITE), so -EACCES never, whatever its
 * protection now.
 */
static void file_madv_remove(struct mmst *ms, unsigned p, unsigned n, uint64_t hits0)
{
	struct reg *dr = F.m[0].data;
	unsigned di[MAXN];
	uint32_t s = tk(), e;
	int rc;

	for (unsigned k = 0; k < n; k++)
		di[k] = reg_begin(&dr[p + k], 0, s);
	rc = simmm_madvise(ms->mm, pa(p), n * F.ps, SIMMM_MADV_REMOVE);
	e = tk();
	lg("    %s %s MADV_REMOVE file pages %u..%u -> %d [%u,%u]\n", cur_name(),
	   ms == &F.m[0] ? "mm0" : "mm1", p - NP, p - NP + n - 1, rc, s, e);
	FZ_CHECK(rc == 0 || (rc == -ENOMEM && (enomem_ok(hits0) || maybe_hole(ms, p, n, s))) ||
			 (rc == -EINVAL && maybe_locked(ms, p, n, s)),
		 "MADV_REMOVE of file pages %u..%u in mm%u: %d (%s)", p - NP, p - NP + n - 1,
		 ms == &F.m[0] ? 0 : 1, rc, simmm_strerror(rc));
	for (unsigned k = 0; k < n; k++)
		reg_end(&dr[p + k], di[k], rc == 0, true, e);
}

/*
 * An extended CPU record with op byte OP_T: op ((arg >> 4) & 7) % NR_TOPS
 * of the T_* family, n = 1 + (arg & 3) pages, TAIL = {0, 1, page/2 + 1,
 * page - 1}[(arg >> 2) & 3] bytes. T_TRUNCATE: the file to (page % (NF +
 * 1)) pages + TAIL; T_GROW: back to NF pages; T_PUNCH: a hole at (page %
 * NF) pages + TAIL, n pages + {0, 1, page/2 + 1, page - 1}[(page >> 4) & 3]
 * bytes long; T_REMOVE / T_CREMOVE: MADV_REMOVE of the n file pages from
 * page % NF in mm0 / in the fork child (nothing without one). Every op
 * creates the file first if there is none (fuzz/README.md).
 */
static void t_op(struct task *t, const struct rec *r, uint64_t hits0)
{
	const uint64_t tails[4] = {0, 1, F.ps / 2 + 1, F.ps - 1};
	unsigned top = ((r->arg >> 4) & 7) % NR_TOPS, p = NP + r->page % NF;
	unsigned n = clip_n(p, 1 + (r->arg & 3));
	uint64_t tail = tails[(r->arg >> 2) & 3];
	struct mmst *ms = top == T_CREMOVE ? &F.m[1] : &F.m[0];

	lg("%s: %s page %u n %u arg %#x (tick %u)\n", t->name, top_names[top], p, n, r->arg,
	   F.tick);
	if (!file_ready(hits0))
		return;
	switch (top) {
	case T_TRUNCATE:
		file_truncate((r->page % (NF + 1)) * F.ps + tail, hits0);
		return;
	case T_GROW:
		file_truncate(NF * F.ps, hits0);
		return;
	case T_PUNCH:
		file_punch(file_off(p) + tail, n * F.ps + tails[(r->page >> 4) & 3], hits0);
		return;
	default:
		break;
	}
	if (!ms->exists || ms->gone || !simmm_mmget_not_zero(ms->mm)) {
		lg("    %s: no such process\n", cur_name());
		return;
	}
	file_madv_remove(ms, p, n, hits0);
	FZ_CHECK(simmm_mmput(ms->mm) == 0, "mmput");
}

/*
 * With T ops, after every op: a file page past EOF for certain (the
 * truncation that put it there returned, and no grow or extending pwrite
 * is under way) has no entry in any mapping of the file: the truncation
 * zapped it and removed it from the cache, unmapping again what a racing
 * fault mapped before it saw the new i_size (truncate_cleanup_folio()),
 * and a fault from then on is SIGBUS (a migration entry of a migration
 * that collected it is zapped too: remove_migration_ptes() finds nothing
 * to restore). The devices' mirrors of it went with the invalidation:
 * verify_all() finds none without a present pte.
 */
static void eof_check(const char *when)
{
	uint32_t now = F.tick + 1;

	if (!F.tops || F.file_state != FILE_READY)
		return;
	for (unsigned k = 0; k < 2; k++) {
		struct mmst *ms = &F.m[k];

		if (!ms->exists || ms->gone)
			continue;
		for (unsigned q = NP; q < NT; q++) {
			struct simmm_translation tr;
			struct simmm_vma_info vi;

			if (!eof_sure(q, now, now))
				continue;
			memset(&tr, 0, sizeof(tr));
			if (simmm_pgtable_translate(simmm_mm_pgtable(ms->mm), pa(q), &tr) ||
			    simmm_entry_none(tr.entry))
				continue;
			/* the file page's own mapping (nothing else is ever
			 * mapped there; checked rather than assumed) */
			if (simmm_vma_info(ms->mm, pa(q), &vi) || vi.anon ||
			    vi.pgoff + (pa(q) - vi.start) / F.ps != q - NP)
				continue;
			FZ_FAIL("%s: file page %u, past EOF, still has entry %#llx (pfn %#llx%s) in "
				"mm%u", when, q - NP, (unsigned long long)tr.entry,
				(unsigned long long)tr.pfn, tr.present ? ", present" : "", k);
		}
	}
}

static void cpu_op(struct task *t, const struct rec *r)
{
	unsigned op = r->op % NR_COPS, p = r->page % NP, n = clip_n(p, 1 + (r->arg & 3));
	struct mmst *ms = &F.m[0];
	uint64_t hits0 = simmm_fault_hits(F.sim);
	struct lockwatch lw;
	int rc;

	if (F.ext && r->op == OP_X) {
		x_op(t, r, hits0);
		return;
	}
	if (F.ext && r->op == OP_Y) {
		y_op(t, r, hits0);
		return;
	}
	if (F.ext && r->op == OP_Z) {
		z_op(t, r, hits0);
		return;
	}
	if (F.ext && r->op == OP_T) {
		t_op(t, r, hits0);
		return;
	}
	if (F.ext && op == C_MMAP && (r->arg & A_MORE)) {
		more_op(t, r, hits0);
		return;
	}
	lg("%s: %s page %u arg %#x (tick %u)\n", t->name,
	   op == C_DONTNEED && F.ext && (r->arg & A_PAGEOUT) ? "pageout" : cop_names[op], p, r->arg,
	   F.tick);
	switch (op) {
	case C_RECLAIM:
		if (F.ext && (r->arg & A_REAP)) {
			cpu_reap(ms);
			return;
		}
		F.reclaimed = true;
		lockwatch_begin(&lw);
		rc = simmm_reclaim(F.sim, 1 + r->arg % 16, NULL);
		FZ_CHECK(rc == 0 || rc == -ENOSPC || (rc == -ENOMEM && enomem_ok(hits0)),
			 "reclaim: %d", rc);
		lockwatch_end(&lw, "reclaim");
		return;
	case C_INJECT: {
		struct simmm_fault_config fc = {.mode = SIMMM_FAULT_NTH, .nth = 1 + r->arg % 32};

		FZ_CHECK(simmm_fault_inject(F.sim, &fc) == 0, "fault_inject");
		return;
	}
	case C_EXIT:
		if ((r->arg & 1) && F.m[1].exists && !F.m[1].gone)
			ms = &F.m[1];
		if (ms->gone)
			return;
		ms->gone = true;
		FZ_CHECK(simmm_mmput(ms->mm) == 0, "mmput at exit");
		return;
	default:
		break;
	}
	if (ms->gone || !simmm_mmget_not_zero(ms->mm))
		return;
	switch (op) {
	case C_READ:
	case C_WRITE:
		cpu_access(ms, p, op == C_WRITE, hits0);
		break;
	case C_MUNMAP:
		cpu_munmap(ms, p, n, hits0);
		break;
	case C_MMAP:
		cpu_mmap(ms, p, n, hits0);
		break;
	case C_MPROTECT:
		cpu_mprotect(ms, p, n, (r->arg >> 2) % 3, hits0);
		break;
	case C_DONTNEED:
		cpu_dontneed(ms, p, n, F.ext && (r->arg & A_PAGEOUT), hits0);
		break;
	case C_FORK_WRITE:
		if (!F.forked)
			cpu_fork(ms, hits0);
		cpu_access(ms, p, true, hits0);
		break;
	default:
		break;
	}
	FZ_CHECK(simmm_mmput(ms->mm) == 0, "mmput");
}

/* ---- device operations ------------------------------------------------------------------- */

/*
 * May a device's access to [p, p + n) of @ms fail with -EFAULT (or, for a
 * write, -EPERM) over [rs, now]? Only if some page may be unmapped or
 * PROT_NONE (read-only for a write) meanwhile, or memory ran short (a
 * fault-back that gets no system page is SIGBUS).
 */
static bool dev_fault_ok2(struct mmst *ms, unsigned p, unsigned n, bool write, uint32_t rs,
			  uint64_t hits0, bool guard)
{
	unsigned bad = 1u << PR_UNMAPPED | 1u << PR_NONE | (write ? 1u << PR_R : 0);

	if (enomem_ok(hits0) || (guard && maybe_guard(ms, p, n, rs)))
		return true;
	/* a fault past EOF is SIGBUS (T ops); a snapshot faults nothing */
	if (guard && eof_any(p, n, rs, F.tick + 1))
		return true;
	for (unsigned k = 0; k < n; k++)
		if (prot_any(&ms->prot[p + k], bad, rs, F.tick + 1))
			return true;
	return false;
}

/* ... or a guard marker (a fault there is VM_FAULT_SIGSEGV). */
static bool dev_fault_ok(struct mmst *ms, unsigned p, unsigned n, bool write, uint32_t rs,
			 uint64_t hits0)
{
	return dev_fault_ok2(ms, p, n, write, rs, hits0, true);
}

/* hmm_range_fault()'s error: a snapshot (@fault false) faults nothing, so
 * a guard marker is no reason for -EFAULT there (hmm_vma_handle_pte():
 * pte_none_mostly() and no fault required: the pfn reads 0). */
static bool hmm_err_ok(int rc, unsigned p, unsigned n, bool write, bool fault, uint32_t rs,
		       uint64_t hits0)
{
	if (rc == -EFAULT && !fault)
		return dev_fault_ok2(&F.m[0], p, n, write, rs, hits0, false);
	if (rc == -EBUSY || (rc == -ENOMEM && enomem_ok(hits0)))
		return true;
	if (rc == -EFAULT || (rc == -EPERM && write))
		return dev_fault_ok(&F.m[0], p, n, write, rs, hits0);
	return false;
}

/* THP mode: -EFAULT / -EPERM from hmm_range_fault() of pages [p, p + n)
 * since @rs only when the model lets one of them be unmapped, PROT_NONE or
 * (for a write fault) read-only meanwhile, or a fault-back met -ENOMEM; a
 * snapshot faults nothing and never fails so. (A PMD migration entry
 * misread as a bad PMD gives -EFAULT for readable pages.) */
static bool thp_hmm_err_ok(unsigned op, unsigned p, unsigned n, int rc, uint32_t rs,
			   uint64_t hits0)
{
	unsigned bad = 1u << PR_UNMAPPED | 1u << PR_NONE | (op == D_FAULT_WRITE ? 1u << PR_R : 0);

	if (!F.thp || (rc != -EFAULT && rc != -EPERM))
		return true;
	if (op == D_SNAPSHOT)
		return false;
	if (F.m[0].gone || enomem_ok(hits0) || maybe_guard(&F.m[0], p, n, rs) ||
	    eof_any(p, n, rs, F.tick + 1))
		return true;
	for (unsigned k = 0; k < n; k++)
		if (prot_any(&F.m[0].prot[p + k], bad, rs, F.tick + 1))
			return true;
	return false;
}

/*
 * The driver protocol: read_begin, fault, driver lock, read_retry, program.
 * Extended inputs with A_PERPAGE put the request in each hmm_pfns entry
 * (default_flags 0, pfn_flags_mask REQ_FAULT | REQ_WRITE), the way a driver
 * asks for some pages only; with A_FIRST only the first page asks.
 */
static void dev_fault(struct fdev *d, unsigned op, unsigned p, unsigned n, uint8_t arg,
		      uint64_t hits0)
{
	struct simmm_mm *mm = F.m[0].mm;
	uint64_t pfns[MAXN];
	struct simmm_mmu_interval_notifier *mn = is_huge(p)   ? &d->mnh
						  : is_file(p) ? &d->mnf
							       : &d->mn;
	struct simmm_hmm_range range = {
		.notifier = mn, .start = pa(p), .end = pa(p) + n * F.ps, .hmm_pfns = pfns,
		.dev_private_owner = d,
	};
	bool perpage = F.ext && (arg & A_PERPAGE);
	uint64_t req = op == D_FAULT_READ  ? SIMMM_HMM_PFN_REQ_FAULT
		       : op == D_FAULT_WRITE ? SIMMM_HMM_PFN_REQ_FAULT | SIMMM_HMM_PFN_REQ_WRITE
					     : 0;
	uint64_t want[MAXN];
	uint32_t rs = F.tick + 1;
	int rc;

	if (!(is_huge(p) ? d->mnh_on : is_file(p) ? d->mnf_on : d->mn_on))
		return; /* unregistered: no mirror */
	for (unsigned k = 0; k < n; k++)
		want[k] = (!perpage || !(arg & A_FIRST) || k == 0) ? req : 0;
	if (perpage)
		range.pfn_flags_mask = SIMMM_HMM_PFN_REQ_FAULT | SIMMM_HMM_PFN_REQ_WRITE;
	else
		range.default_flags = req;
	for (int tries = 0; tries < 6; tries++) {
		memset(pfns, 0, sizeof(pfns));
		if (perpage)
			memcpy(pfns, want, n * sizeof(*pfns));
		range.notifier_seq = simmm_mmu_interval_read_begin(mn);
		if (!simmm_mmget_not_zero(mm))
			return;
		FZ_CHECK(simmm_mmap_read_lock(mm) == 0, "mmap_read_lock");
		d->in_hmm = true;
		d->hmm_start = range.start;
		rc = simmm_hmm_range_fault(&range);
		d->in_hmm = false;
		FZ_CHECK(simmm_mmap_read_unlock(mm) == 0, "mmap_read_unlock");
		FZ_CHECK(simmm_mmput(mm) == 0, "mmput");
		lg("    %s hmm_range_fault%s -> %d\n", cur_name(), perpage ? " (per-page)" : "", rc);
		if (rc == -EBUSY)
			continue;
		if (rc) {
			FZ_CHECK(hmm_err_ok(rc, p, n, op == D_FAULT_WRITE, op != D_SNAPSHOT, rs,
					    hits0) &&
					 thp_hmm_err_ok(op, p, n, rc, rs, hits0),
				 "hmm_range_fault: %d (%s) over pages %u..%u, which the model says "
				 "stay mapped and accessible", rc, simmm_strerror(rc), p, p + n - 1);
			return;
		}
		FZ_CHECK(simmm_mutex_lock(F.sim, &d->lock) == 0, "dev lock");
		if (simmm_mmu_interval_read_retry(mn, range.notifier_seq)) {
			simmm_mutex_unlock(F.sim, &d->lock);
			continue;
		}
		for (unsigned k = 0; k < n; k++) {
			struct mir *m = &d->mir[p + k];

			memset(m, 0, sizeof(*m));
			if (!(pfns[k] & SIMMM_HMM_PFN_VALID))
				continue;
			FZ_CHECK(!(pfns[k] & SIMMM_HMM_PFN_ERROR), "VALID and ERROR");
			m->v = true;
			m->w = pfns[k] & SIMMM_HMM_PFN_WRITE;
			m->pfn = simmm_hmm_pfn_to_pfn(pfns[k]);
			lg("    dev%u mirrors page %u: pfn %#llx%s order %u\n", d->id, p + k,
			   (unsigned long long)m->pfn, m->w ? " W" : "",
			   simmm_hmm_pfn_to_map_order(pfns[k]));
			/* hmm_vma_walk_hugetlb_entry(): every page of a hugetlb
			 * mapping carries the huge page's order
			 * (hmm_pfn_flags_order(huge_page_order())) */
			FZ_CHECK(!is_huge(p + k) ||
					 simmm_hmm_pfn_to_map_order(pfns[k]) == PMD_ORDER,
				 "hugetlb page %u mirrored with map order %u, not %u", p + k,
				 simmm_hmm_pfn_to_map_order(pfns[k]), PMD_ORDER);
		}
		for (unsigned k = 0; k < n; k++)
			if (want[k])
				FZ_CHECK(d->mir[p + k].v &&
						 (!(want[k] & SIMMM_HMM_PFN_REQ_WRITE) || d->mir[p + k].w ||
						  simmm_is_device_private_page(F.sim, d->mir[p + k].pfn)),
					 "hmm_range_fault succeeded without %s page %u (request %#llx)",
					 (want[k] & SIMMM_HMM_PFN_REQ_WRITE) ? "a writable" : "a valid",
					 p + k, (unsigned long long)want[k]);
		verify_dev(d, "at programming");
		for (unsigned k = 0; k < n; k++)
			if (d->mir[p + k].v)
				dev_read_check(d, p + k, rs);
		/* Only through a writable mirror entry: hmm_range_fault() reports
		 * the device's own device-private page without faulting, read-only
		 * when the CPU entry is (shared after fork), and the driver must
		 * not write it then (dmirror_do_write() requires the write tag). */
		if (op == D_FAULT_WRITE && d->mir[p].w)
			dev_write(d, p, hits0);
		else if (op == D_FAULT_WRITE)
			lg("    %s: page %u mirrored read-only, no write\n", cur_name(), p);
		simmm_mutex_unlock(F.sim, &d->lock);
		return;
	}
}

static void dev_migrate(struct fdev *d, bool to_dev, unsigned p, unsigned n, uint64_t hits0)
{
	struct simmm_mm *mm = F.m[0].mm;
	uint64_t src[MAXN], dst[MAXN];
	struct simmm_migrate_vma m = {
		.src = src, .dst = dst, .start = pa(p), .pgmap_owner = d,
		.flags = to_dev ? SIMMM_MIGRATE_VMA_SELECT_SYSTEM
				: SIMMM_MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
	};
	struct simmm_vma_info vi;
	int rc;

	/* The device's notifier is its only mmgrab() of mm0 (the harness
	 * keeps none): a driver that unregistered has no mm to migrate in
	 * (dmirror takes the mm from its notifier). */
	if (!d->mn_on || !simmm_mmget_not_zero(mm))
		return;
	FZ_CHECK(simmm_mmap_read_lock(mm) == 0, "mmap_read_lock");
	m.vma = simmm_vma_lookup(mm, pa(p));
	if (m.vma && simmm_vma_info(mm, pa(p), &vi) == 0) {
		m.end = pa(p) + n * F.ps < vi.end ? pa(p) + n * F.ps : vi.end;
		rc = simmm_migrate_vma_setup(&m);
		lg("    %s migrate_vma_setup [%#llx,%#llx) -> %d, cpages %llu\n", cur_name(),
		   (unsigned long long)m.start, (unsigned long long)m.end, rc,
		   (unsigned long long)m.cpages);
		FZ_CHECK(rc == 0 || (rc == -ENOMEM && enomem_ok(hits0)), "migrate_vma_setup: %d", rc);
		if (rc == 0) {
			simmm_sched_yield(F.sim); /* "copying": let others in */
			fill_dst(d, src, dst, m.npages, to_dev, to_dev ? hole_write(&vi) : 0);
			FZ_CHECK(simmm_migrate_vma_pages(&m) == 0, "migrate_vma_pages");
			/* Device memory takes anonymous pages only: a page-cache
			 * folio may be collected, but migrate_vma_pages() declines
			 * it (upstream __migrate_device_pages()). */
			for (uint64_t i = 0; is_file(p) && i < m.npages; i++)
				FZ_CHECK(!(src[i] & SIMMM_MIGRATE_PFN_MIGRATE) || !dst[i],
					 "file page %llu migrated to device memory (src %#llx)",
					 (unsigned long long)(p - NP + i), (unsigned long long)src[i]);
			FZ_CHECK(simmm_migrate_vma_finalize(&m) == 0, "migrate_vma_finalize");
		}
	}
	FZ_CHECK(simmm_mmap_read_unlock(mm) == 0, "mmap_read_unlock");
	FZ_CHECK(simmm_mmput(mm) == 0, "mmput");
}

static void dev_exclusive(struct fdev *d, unsigned p, uint64_t hits0)
{
	struct simmm_mm *mm = F.m[0].mm;
	simmm_pfn_t pfn = 0;
	uint64_t seq;
	int rc;

	if (!(is_file(p) ? d->mnf_on : d->mn_on))
		return;
	seq = simmm_mmu_interval_read_begin(is_file(p) ? &d->mnf : &d->mn);

	if (!simmm_mmget_not_zero(mm))
		return;
	FZ_CHECK(simmm_mmap_read_lock(mm) == 0, "mmap_read_lock");
	rc = simmm_make_device_exclusive(mm, pa(p), d, &pfn);
	lg("    %s make_device_exclusive page %u -> %d pfn %#llx\n", cur_name(), p, rc,
	   (unsigned long long)pfn);
	/* Anonymous pages only: a page-cache folio gives -EOPNOTSUPP (after
	 * the FOLL_WRITE lookup faulted it writable and dirty). */
	FZ_CHECK(!is_file(p) || rc != 0, "make_device_exclusive of file page %u succeeded",
		 p - NP);
	if (rc == 0) {
		F.excl_seen[p] = true;
		/* The nouveau protocol: read_begin before, read_retry under the
		 * device lock after; map it atomically while the folio is locked
		 * (a CPU access must lock it to restore the pte). */
		FZ_CHECK(simmm_mutex_lock(F.sim, &d->lock) == 0, "dev lock");
		if (simmm_mmu_interval_read_retry(&d->mn, seq)) {
			lg("    %s exclusive: read_retry, giving up\n", cur_name());
			simmm_mutex_unlock(F.sim, &d->lock);
			release_locked(pfn);
			goto out;
		}
		d->mir[p] = (struct mir){.pfn = pfn, .v = true, .w = true, .atomic = true};
		verify_dev(d, "at atomic mapping");
		dev_read_check(d, p, F.tick);
		dev_write(d, p, hits0);
		simmm_mutex_unlock(F.sim, &d->lock);
		release_locked(pfn);
	} else {
		FZ_CHECK(rc == -EFAULT || rc == -EBUSY || rc == -EPERM ||
			 (rc == -EOPNOTSUPP && is_file(p)) || (rc == -ENOMEM && enomem_ok(hits0)),
			 "make_device_exclusive: %d (%s)", rc, simmm_strerror(rc));
	}
out:
	FZ_CHECK(simmm_mmap_read_unlock(mm) == 0, "mmap_read_unlock");
	FZ_CHECK(simmm_mmput(mm) == 0, "mmput");
}

/* Evict every page of the device (dmirror RELEASE, without memunmap). */
static void dev_evict(struct fdev *d)
{
	uint64_t src[NDEVP], dst[NDEVP];
	int rc = simmm_migrate_device_range(F.sim, src, d->pgmap.start_pfn, NDEVP);

	FZ_CHECK(rc == 0, "migrate_device_range: %d", rc);
	simmm_sched_yield(F.sim);
	fill_dst(d, src, dst, NDEVP, false, 0);
	FZ_CHECK(simmm_migrate_device_pages(F.sim, src, dst, NDEVP) == 0, "migrate_device_pages");
	FZ_CHECK(simmm_migrate_device_finalize(F.sim, src, dst, NDEVP) == 0,
		 "migrate_device_finalize");
}

/* Register device @d's notifier of the file region (the caller holds a
 * reference on mm0). */
static void dev_file_register(struct fdev *d, uint64_t hits0)
{
	int rc;

	if (d->mnf_on)
		return;
	d->mnf_on = true; /* callbacks may come before insert returns */
	rc = simmm_mmu_interval_notifier_insert(&d->mnf, F.m[0].mm, pa(NP), NF * F.ps,
						&dev_mn_ops);
	lg("    dev%u registers its file mirror: %d\n", d->id, rc);
	FZ_CHECK(rc == 0 || (rc == -ENOMEM && enomem_ok(hits0)), "interval_notifier_insert: %d",
		 rc);
	d->mnf_on = rc == 0;
}

/* Extended mirror-read with A_TOGGLE: unregister the mirror (the driver
 * may free its notifier once remove returns) or register it again; the
 * file region's notifier too, once the file exists. */
static void dev_toggle(struct fdev *d, uint64_t hits0)
{
	struct simmm_mm *mm = F.m[0].mm;
	int rc;

	if (d->mn_on) {
		/* The mirror goes first: once remove starts, nothing keeps it
		 * coherent (a range started after the removal skips us). */
		FZ_CHECK(simmm_mutex_lock(F.sim, &d->lock) == 0, "dev lock");
		memset(d->mir, 0, sizeof(d->mir));
		simmm_mutex_unlock(F.sim, &d->lock);
		if (d->mnf_on) {
			rc = simmm_mmu_interval_notifier_remove(&d->mnf);
			FZ_CHECK(rc == 0, "dev%u file interval_notifier_remove: %d", d->id, rc);
			d->mnf_on = false;
		}
		if (d->mnh_on) {
			rc = simmm_mmu_interval_notifier_remove(&d->mnh);
			FZ_CHECK(rc == 0, "dev%u hugetlb interval_notifier_remove: %d", d->id, rc);
			d->mnh_on = false;
		}
		rc = simmm_mmu_interval_notifier_remove(&d->mn);
		FZ_CHECK(rc == 0, "dev%u interval_notifier_remove: %d", d->id, rc);
		d->mn_on = false;
		lg("    dev%u unregistered its mirror\n", d->id);
		return;
	}
	if (F.m[0].gone || !simmm_mmget_not_zero(mm))
		return;
	/* Callbacks may come as soon as the notifier is in the tree, before
	 * insert returns. */
	d->mn_on = true;
	rc = simmm_mmu_interval_notifier_insert(&d->mn, mm, F.base, NP * F.ps, &dev_mn_ops);
	lg("    dev%u registers its mirror again: %d\n", d->id, rc);
	FZ_CHECK(rc == 0 || (rc == -ENOMEM && enomem_ok(hits0)), "interval_notifier_insert: %d",
		 rc);
	d->mn_on = rc == 0;
	if (d->mn_on && F.file)
		dev_file_register(d, hits0);
	if (d->mn_on && F.zops) {
		d->mnh_on = true;
		rc = simmm_mmu_interval_notifier_insert(&d->mnh, mm, pa(NT), NH * F.ps,
							&dev_mn_ops);
		FZ_CHECK(rc == 0 || (rc == -ENOMEM && enomem_ok(hits0)),
			 "interval_notifier_insert (hugetlb): %d", rc);
		d->mnh_on = rc == 0;
	}
	FZ_CHECK(simmm_mmput(mm) == 0, "mmput");
}

/* ---- the dmirror driver (src/device) ------------------------------------------------------ */

/* The task's open dmirror file: the device and the file are created by
 * the first dmirror op (not after a toggle closed it). */
static struct simmm_dmirror *dm_file(unsigned i, uint64_t hits0)
{
	struct simmm_mm *mm = F.m[0].mm;
	int rc;

	if (F.dm[i] || F.dm_closed[i])
		return F.dm[i];
	if (!F.dmdev) {
		rc = simmm_dmirror_device_create(F.sim, SIMMM_MEM_DEVICE_PRIVATE, DM_CHUNK,
						 &F.dmdev);
		FZ_CHECK(rc == 0 || (rc == -ENOMEM && enomem_ok(hits0)), "dmirror_device_create: %d",
			 rc);
		if (rc)
			return NULL;
	}
	if (F.m[0].gone || !simmm_mmget_not_zero(mm))
		return NULL;
	rc = simmm_dmirror_open(F.dmdev, mm, &F.dm[i]);
	lg("    %s dmirror_open -> %d\n", cur_name(), rc);
	FZ_CHECK(rc == 0 || (rc == -ENOMEM && enomem_ok(hits0)), "dmirror_open: %d", rc);
	FZ_CHECK(simmm_mmput(mm) == 0, "mmput");
	return F.dm[i];
}

/* Errors a dmirror command over [p, p + n) may return. */
static bool dm_err_ok(int rc, unsigned cmd, unsigned p, unsigned n, uint32_t rs, uint64_t hits0)
{
	bool write = cmd == SIMMM_DMIRROR_WRITE;
	bool mig = cmd == SIMMM_DMIRROR_MIGRATE_TO_DEV || cmd == SIMMM_DMIRROR_MIGRATE_TO_SYS;

	switch (rc) {
	case -EBUSY: /* the driver's fault timeout */
		return true;
	case -ENOMEM:
		return enomem_ok(hits0);
	case -ENOENT: /* MIGRATE_TO_DEV read-back: a page did not migrate */
		return cmd == SIMMM_DMIRROR_MIGRATE_TO_DEV;
	case -EINVAL: /* the process is gone; a migration over a hole / PROT_NONE */
		return F.m[0].gone || (mig && dev_fault_ok2(&F.m[0], p, n, false, rs, 0, false));
	case -EFAULT:
	case -EPERM:
		return dev_fault_ok(&F.m[0], p, n, write || rc == -EPERM, rs, hits0);
	default:
		return false;
	}
}

/* Check the first byte of each page of a dmirror read-back. */
static void dm_check_data(struct task *t, unsigned p, unsigned n, uint32_t rs, const char *what)
{
	uint32_t re = tk();
	char c[512];

	if (F.m[0].gone)
		return;
	for (unsigned k = 0; k < n; k++) {
		uint8_t v = t->buf[k][0];

		if (reg_allows(&F.m[0].data[p + k], v, rs, re))
			continue;
		reg_cands(&F.m[0].data[p + k], rs, re, c, sizeof(c));
		FZ_FAIL("dmirror%u %s read %#x from page %u over [%u,%u]; writes: %s", t->idx, what, v,
			p + k, rs, re, c);
	}
}

/*
 * A limitation of lib/test_hmm.c, kept by simmm's dmirror: a WRITE that
 * meets a page of its own device memory mapped read-only (COW-shared after
 * fork, or mprotect) gets it reported VALID without WRITE by
 * hmm_range_fault() (the owner's device pages are never faulted), and
 * dmirror_do_fault() WARNs and fails with -EFAULT. Accepted (the WARN
 * forgotten) only when that can be the case: after a fork, or when the page
 * may have been read-only since a dmirror migration of it began (the
 * device entry stays read-only when write permission comes back).
 *
 * The WARN in the log is not necessarily this WRITE's: device tasks run
 * WRITEs concurrently and each can raise its own (the log then holds two),
 * or another task's WARN arrives while this WRITE fails -EFAULT for a reason
 * of its own (an unmapped page). So each WARN goes to the task that raised
 * it (the trace's report event names it): when the log holds only such
 * WARNs, they are taken off it, one per task (the WARN ends its ioctl), and
 * a failing WRITE claims its task's, on a page of its range. A WARN never
 * claimed fails the run at teardown.
 */
static const char RO_WARN[] = "dmirror: write fault returned a read-only entry at ";

static void races_trace(void *arg, const struct simmm_trace_event *ev)
{
	(void)arg;
	if (ev->type == SIMMM_EV_REPORT && ev->arg1 >= 1 && ev->arg1 <= 64)
		F.rep_tid[ev->arg1 - 1] = ev->task;
}

static int dev_of_tid(uint32_t tid)
{
	for (unsigned i = 0; i < F.ntask; i++)
		if (F.task[i].tid == tid && F.task[i].dev)
			return (int)F.task[i].idx;
	return -1;
}

static void dm_take_ro_warns(void)
{
	uint64_t cnt = 0, seen = 0;
	const char *r = simmm_reports(F.sim, &cnt), *l, *eol;
	unsigned pg[64], warn[MAXDEV];
	int dev[64];

	if (!cnt || cnt > 64 || !r)
		return;
	memcpy(warn, F.ro_warn, sizeof(warn));
	for (l = r; *l && seen < 64; l = eol ? eol + 1 : l + strlen(l)) {
		const char *m = strstr(l, RO_WARN);
		uint64_t a;

		eol = strchr(l, '\n');
		if (!m || (eol && m > eol))
			return; /* another report: left for the run to fail on */
		a = strtoull(m + sizeof(RO_WARN) - 1, NULL, 0);
		dev[seen] = dev_of_tid(F.rep_tid[seen]);
		if (a < F.base || a >= win_end() || (a - F.base) % F.ps || dev[seen] < 0 ||
		    warn[dev[seen]])
			return;
		pg[seen] = (unsigned)((a - F.base) / F.ps);
		warn[dev[seen]] = 1 + pg[seen];
		seen++;
	}
	if (seen != cnt || *l)
		return;
	memcpy(F.ro_warn, warn, sizeof(warn));
	simmm_reports_clear(F.sim);
}

static bool dm_write_ro(struct task *t, unsigned p, unsigned n, uint32_t rs)
{
	unsigned q;

	dm_take_ro_warns();
	if (!F.ro_warn[t->idx])
		return false;
	q = F.ro_warn[t->idx] - 1;
	/*
	 * Without a fork, the page is read-only device memory only if it was
	 * (or may have been) read-only at some time since a dmirror migration
	 * of it began, not necessarily during this WRITE: a device-private
	 * entry keeps the write permission it got when it was made. Upstream
	 * migrate_vma_collect_pmd() makes a read-only migration entry of a
	 * read-only pte and remove_migration_pte() a read-only device-private
	 * entry of it; mprotect's change_pte_range() only ever downgrades a
	 * writable device-private (or migration) entry, never upgrades one
	 * when write permission comes back. So mprotect(PROT_READ) before or
	 * during the migration, or while the page is on the device, followed
	 * by mprotect(PROT_READ | PROT_WRITE), leaves a read-only device entry
	 * in a writable VMA until the page leaves device memory, and a later
	 * WRITE meets it. The first migration's start is kept (a later
	 * MIGRATE_TO_DEV skips a page already on the device), so this may
	 * accept a page that has since left the device; it still needs the
	 * WARN of this task on a page of the range, and a page that was
	 * writable for as long as it may have been on the device is rejected.
	 *
	 * The pte that migration collects may also be read-only in a
	 * writable VMA, and the device entry is then made read-only too:
	 * change_pte_range() downgrades a writable device-private entry
	 * whatever the new protection ("a protection check is difficult"), so
	 * any mprotect over a page on some device (fuzz_races' own devices
	 * included) leaves it read-only, and the CPU fault that brings it back
	 * maps it read-only (a readable migration entry); do_swap_page() maps
	 * a page read-only when its swap entry was not exclusive. So an
	 * mprotect over the page at any time, or a reclaim, also explains the
	 * WARN of a page a dmirror migration has collected.
	 */
	if (q < p || q >= p + n ||
	    (!F.forked &&
	     (!F.dm_mig[q] || (!prot_any(&F.m[0].prot[q], 1u << PR_R, F.dm_mig[q], F.tick + 1) &&
			       !F.ro_pte_maybe[q] && !F.reclaimed))))
		return false; /* not explained: fails at teardown */
	F.ro_warn[t->idx] = 0;
	lg("    (dmirror WARN on its own read-only device page %u: forgotten)\n", q);
	return true;
}

/*
 * An extended device op with A_DMIRROR: the same operation through the
 * task's dmirror file (lib/test_hmm.c's ioctls): fault-read READ,
 * fault-write WRITE, snapshot SNAPSHOT, migrate-to-dev/-sys MIGRATE_TO_*,
 * exclusive CHECK_EXCLUSIVE (EXCLUSIVE itself maps without read_retry,
 * see docs/fuzzing.md), evict RELEASE, mirror-read CHECK_EXCLUSIVE or, with
 * A_TOGGLE, close / reopen the file. Data read back is checked against the
 * registers; dmirror's own mirror is not compared with the CPU.
 */
static void dm_op(struct task *t, unsigned op, unsigned p, unsigned n, uint8_t arg,
		  uint64_t hits0)
{
	static const unsigned cmds[NR_DOPS] = {
		SIMMM_DMIRROR_READ, SIMMM_DMIRROR_WRITE, SIMMM_DMIRROR_SNAPSHOT,
		SIMMM_DMIRROR_MIGRATE_TO_DEV, SIMMM_DMIRROR_MIGRATE_TO_SYS,
		SIMMM_DMIRROR_CHECK_EXCLUSIVE, SIMMM_DMIRROR_RELEASE, SIMMM_DMIRROR_CHECK_EXCLUSIVE,
	};
	unsigned i = t->idx, cmdno = cmds[op];
	struct simmm_dmirror_cmd cmd = {.addr = pa(p), .ptr = t->buf, .npages = n};
	struct simmm_dmirror *dm;
	unsigned wi[MAXN];
	uint32_t rs = F.tick + 1;
	bool ro = false;
	uint8_t v = 0;
	int rc;

	if (op == D_MIRROR_READ && (arg & A_TOGGLE)) {
		if (F.dm[i]) {
			rc = simmm_dmirror_close(F.dm[i]);
			lg("    %s dmirror_close -> %d\n", cur_name(), rc);
			FZ_CHECK(rc == 0, "dmirror_close: %d", rc);
			F.dm[i] = NULL;
			F.dm_closed[i] = true;
		} else {
			F.dm_closed[i] = false;
			dm_file(i, hits0);
		}
		return;
	}
	dm = dm_file(i, hits0);
	if (!dm)
		return;
	memset(t->buf, 0, n * sizeof(t->buf[0]));
	if (cmdno == SIMMM_DMIRROR_WRITE) {
		uint32_t s = tk();

		v = newv();
		for (unsigned k = 0; k < n; k++) {
			t->buf[k][0] = v;
			wi[k] = reg_begin(&F.m[0].data[p + k], v, s);
		}
	}
	if (cmdno == SIMMM_DMIRROR_MIGRATE_TO_DEV)
		for (unsigned k = 0; k < n; k++)
			if (!F.dm_mig[p + k])
				F.dm_mig[p + k] = rs;
	rc = simmm_dmirror_ioctl(dm, cmdno, &cmd);
	if (cmdno == SIMMM_DMIRROR_WRITE && rc == -EFAULT)
		ro = dm_write_ro(t, p, n, rs);
	lg("    %s dmirror ioctl %u [%u, %u) %s-> %d (cpages %llu)\n", cur_name(), cmdno, p, p + n,
	   v ? "writes " : "", rc, (unsigned long long)cmd.cpages);
	if (cmdno == SIMMM_DMIRROR_WRITE) {
		uint32_t e = tk();

		for (unsigned k = 0; k < n; k++)
			reg_end(&F.m[0].data[p + k], wi[k], rc == 0, true, e);
	}
	if (rc) {
		FZ_CHECK(ro || dm_err_ok(rc, cmdno, p, n, rs, hits0), "dmirror ioctl %u over pages %u..%u: %d (%s)",
			 cmdno, p, p + n - 1, rc, simmm_strerror(rc));
		return;
	}
	if (cmdno == SIMMM_DMIRROR_READ)
		dm_check_data(t, p, n, rs, "READ");
	else if (cmdno == SIMMM_DMIRROR_MIGRATE_TO_DEV)
		dm_check_data(t, p, n, rs, "MIGRATE_TO_DEV read-back");
}

/* THP mode, migrate-to-dev/-sys with arg bit 2: SELECT_COMPOUND over the
 * whole PMD of the window (clipped to the VMA of page @p), a yield between
 * setup and pages, destinations as @offer allows (fill_compound()). */
static void dev_migrate_pmd(struct fdev *d, bool to_dev, unsigned p, unsigned offer,
			    uint64_t hits0)
{
	struct simmm_mm *mm = F.m[0].mm;
	uint64_t *src = zcalloc(PMD_NR), *dst = zcalloc(PMD_NR), pmd_end = F.base + PMD_NR * F.ps;
	struct simmm_migrate_vma m = {
		.src = src, .dst = dst, .pgmap_owner = d,
		.flags = (to_dev ? SIMMM_MIGRATE_VMA_SELECT_SYSTEM
				 : SIMMM_MIGRATE_VMA_SELECT_DEVICE_PRIVATE) |
			 SIMMM_MIGRATE_VMA_SELECT_COMPOUND,
	};
	struct simmm_vma_info vi;
	int rc;

	if (!d->mn_on || !simmm_mmget_not_zero(mm)) /* as dev_migrate() */
		goto out_free;
	FZ_CHECK(simmm_mmap_read_lock(mm) == 0, "mmap_read_lock");
	m.vma = simmm_vma_lookup(mm, pa(p));
	if (m.vma && simmm_vma_info(mm, pa(p), &vi) == 0) {
		m.start = vi.start > F.base ? vi.start : F.base;
		m.end = vi.end < pmd_end ? vi.end : pmd_end;
		rc = simmm_migrate_vma_setup(&m);
		lg("    %s migrate_vma_setup PMD offer %u [%#llx,%#llx) -> %d, cpages %llu%s\n",
		   cur_name(), offer, (unsigned long long)m.start, (unsigned long long)m.end, rc,
		   (unsigned long long)m.cpages,
		   rc == 0 && (src[0] & SIMMM_MIGRATE_PFN_COMPOUND) ? " COMPOUND" : "");
		FZ_CHECK(rc == 0 || (rc == -ENOMEM && enomem_ok(hits0)), "migrate_vma_setup: %d", rc);
		if (rc == 0) {
			simmm_sched_yield(F.sim); /* "copying": others meet the PMD migration entry */
			fill_dst_thp(d, src, dst, m.npages, offer, to_dev, to_dev ? hole_write(&vi) : 0);
			FZ_CHECK(simmm_migrate_vma_pages(&m) == 0, "migrate_vma_pages");
			FZ_CHECK(simmm_migrate_vma_finalize(&m) == 0, "migrate_vma_finalize");
		}
	}
	FZ_CHECK(simmm_mmap_read_unlock(mm) == 0, "mmap_read_unlock");
	FZ_CHECK(simmm_mmput(mm) == 0, "mmput");
out_free:
	free(src);
	free(dst);
}

/* dev_evict() in THP mode: a device THP goes to a system THP or base pages
 * (dmirror_device_evict_chunk()). */
static void dev_evict_thp(struct fdev *d)
{
	uint64_t *src = zcalloc(THP_DEVP), *dst = zcalloc(THP_DEVP);
	int rc = simmm_migrate_device_range(F.sim, src, d->pgmap.start_pfn, THP_DEVP);

	FZ_CHECK(rc == 0, "migrate_device_range: %d", rc);
	simmm_sched_yield(F.sim);
	fill_dst_thp(d, src, dst, THP_DEVP, OFFER_THP, false, 0);
	FZ_CHECK(simmm_migrate_device_pages(F.sim, src, dst, THP_DEVP) == 0,
		 "migrate_device_pages");
	FZ_CHECK(simmm_migrate_device_finalize(F.sim, src, dst, THP_DEVP) == 0,
		 "migrate_device_finalize");
	free(src);
	free(dst);
}

/*
 * A device record of an extended input with op byte OP_Z: the device op
 * (arg >> 4) & 7 on the hugetlb region, page % NH (page bit 7: A_PERPAGE,
 * bit 6: A_FIRST for the faults). hmm_range_fault() walks the hugetlb VMA
 * with hmm_vma_walk_hugetlb_entry() (the map order of every page is the
 * huge page's); migrate_vma_setup() refuses a hugetlb VMA (-EINVAL) and
 * make_device_exclusive() a hugetlb folio (-EOPNOTSUPP, after GUP faulted
 * it in writable); evict and mirror-read are the ordinary ones.
 */
static void dev_huge_op(struct fdev *d, const struct rec *r, uint64_t hits0)
{
	unsigned op = (r->arg >> 4) & 7, p = NT + r->page % NH, n = clip_n(p, 1 + (r->arg & 3));
	uint8_t arg = (r->page & 0x80 ? A_PERPAGE : 0) | (r->page & 0x40 ? A_FIRST : 0);
	struct simmm_mm *mm = F.m[0].mm;
	uint32_t rs = F.tick + 1;
	int rc;

	lg("%s: huge %s page %u n %u (tick %u)\n", cur_name(), dop_names[op], p, n, F.tick);
	switch (op) {
	case D_FAULT_READ:
	case D_FAULT_WRITE:
	case D_SNAPSHOT:
		dev_fault(d, op, p, n, arg, hits0);
		return;
	case D_TO_DEV:
	case D_TO_SYS: {
		uint64_t src[MAXN], dst[MAXN];
		struct simmm_migrate_vma m = {
			.src = src, .dst = dst, .start = pa(p), .end = pa(p) + n * F.ps,
			.pgmap_owner = d,
			.flags = op == D_TO_DEV ? SIMMM_MIGRATE_VMA_SELECT_SYSTEM
						: SIMMM_MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
		};

		if (!d->mnh_on || !simmm_mmget_not_zero(mm))
			return;
		FZ_CHECK(simmm_mmap_read_lock(mm) == 0, "mmap_read_lock");
		m.vma = simmm_vma_lookup(mm, pa(p));
		if (m.vma) {
			rc = simmm_migrate_vma_setup(&m);
			lg("    %s migrate_vma_setup of hugetlb pages -> %d\n", cur_name(), rc);
			/* only huge-mmap maps the region: the VMA is a hugetlb one */
			FZ_CHECK(rc == -EINVAL, "migrate_vma_setup of a hugetlb VMA: %d, not -EINVAL",
				 rc);
		}
		FZ_CHECK(simmm_mmap_read_unlock(mm) == 0, "mmap_read_unlock");
		FZ_CHECK(simmm_mmput(mm) == 0, "mmput");
		return;
	}
	case D_EXCLUSIVE: {
		simmm_pfn_t pfn = 0;

		if (!d->mnh_on || !simmm_mmget_not_zero(mm))
			return;
		FZ_CHECK(simmm_mmap_read_lock(mm) == 0, "mmap_read_lock");
		rc = simmm_make_device_exclusive(mm, pa(p), d, &pfn);
		lg("    %s make_device_exclusive of hugetlb page %u -> %d\n", cur_name(), p, rc);
		/* no -EBUSY: every attempt that gets the page stops at the
		 * hugetlb check, before any retry */
		FZ_CHECK(rc == -EOPNOTSUPP ||
				 ((rc == -EFAULT || rc == -EPERM) &&
				  dev_fault_ok(&F.m[0], p, 1, true, rs, hits0)) ||
				 (rc == -ENOMEM && enomem_ok(hits0)),
			 "make_device_exclusive of hugetlb page %u: %d (%s)", p, rc,
			 simmm_strerror(rc));
		if (rc == 0)
			release_locked(pfn);
		FZ_CHECK(simmm_mmap_read_unlock(mm) == 0, "mmap_read_unlock");
		FZ_CHECK(simmm_mmput(mm) == 0, "mmput");
		return;
	}
	case D_EVICT:
		if (F.thp)
			dev_evict_thp(d);
		else
			dev_evict(d);
		return;
	default: { /* mirror-read */
		uint32_t s = tk();

		FZ_CHECK(simmm_mutex_lock(F.sim, &d->lock) == 0, "dev lock");
		for (unsigned k = 0; k < NA; k++)
			if (d->mir[k].v)
				dev_read_check(d, k, s);
		simmm_mutex_unlock(F.sim, &d->lock);
		return;
	}
	}
}

static void dev_op(struct task *t, const struct rec *r)
{
	struct fdev *d = &F.dev[t->idx];
	/* A_FILE is ignored until the file exists (older inputs set it) */
	bool file = F.ext && (r->arg & A_FILE) && F.file_state == FILE_READY;
	unsigned op = r->op % NR_DOPS, p = file ? NP + r->page % NF : r->page % NP;
	unsigned n = clip_n(p, 1 + (r->arg & 3));
	uint64_t hits0 = simmm_fault_hits(F.sim);

	if (F.ext && r->op == OP_Z) {
		dev_huge_op(d, r, hits0);
		return;
	}
	lg("%s: %s page %u n %u%s%s%s (tick %u)\n", t->name, dop_names[op], p, n,
	   file ? " file" : "", F.ext && (r->arg & A_DMIRROR) ? " dmirror" : "",
	   F.ext && (r->arg & 0xf0) ? " (ext)" : "", F.tick);
	if (F.ext && (r->arg & A_DMIRROR)) {
		dm_op(t, op, p, n, r->arg, hits0);
		return;
	}
	/* the mirror of the file region: registered by the device's own
	 * task (never concurrently with its toggle), on its first file op */
	if (file && d->mn_on && !d->mnf_on && simmm_mmget_not_zero(F.m[0].mm)) {
		dev_file_register(d, hits0);
		FZ_CHECK(simmm_mmput(F.m[0].mm) == 0, "mmput");
	}
	switch (op) {
	case D_FAULT_READ:
	case D_FAULT_WRITE:
	case D_SNAPSHOT:
		dev_fault(d, op, p, n, r->arg, hits0);
		break;
	case D_TO_DEV:
	case D_TO_SYS:
		if (F.thp && (r->arg & 4) && !file)
			dev_migrate_pmd(d, op == D_TO_DEV, p, (r->arg >> 3) & 3, hits0);
		else
			dev_migrate(d, op == D_TO_DEV, p, n, hits0);
		break;
	case D_EXCLUSIVE:
		dev_exclusive(d, p, hits0);
		break;
	case D_EVICT:
		if (F.thp)
			dev_evict_thp(d);
		else
			dev_evict(d);
		break;
	case D_MIRROR_READ: {
		uint32_t rs = tk();

		if (F.ext && (r->arg & A_TOGGLE)) {
			dev_toggle(d, hits0);
			break;
		}
		FZ_CHECK(simmm_mutex_lock(F.sim, &d->lock) == 0, "dev lock");
		for (unsigned k = 0; k < NA; k++)
			if (d->mir[k].v)
				dev_read_check(d, k, rs);
		simmm_mutex_unlock(F.sim, &d->lock);
		break;
	}
	default:
		break;
	}
}

/*
 * With Z ops, after every op: a window page of mm0 that the model says
 * surely holds a guard marker (and is surely mapped: a move or a shrink
 * may have taken it) has one, and one that surely holds none has none.
 */
static void guard_check(const char *when)
{
	uint32_t now = F.tick + 1;

	for (unsigned k = 0; F.zops && k < 2; k++) {
		struct mmst *ms = &F.m[k];

		/* the child: fork copied mm0's markers (copy_pte_marker()) */
		if (!ms->exists || ms->gone)
			continue;
		for (unsigned p = 0; p < NP; p++) {
			bool g = guard_at(ms, pa(p));

			if (reg_only(&ms->gd[p], 1, now, now) &&
			    !prot_any(&ms->prot[p], 1u << PR_UNMAPPED, now, now))
				FZ_CHECK(g, "%s: page %u of mm%u lost its guard marker", when, p,
					 k);
			if (reg_only(&ms->gd[p], 0, now, now))
				FZ_CHECK(!g, "%s: page %u of mm%u has a guard marker the model "
					 "never put there", when, p, k);
		}
	}
}

static void task_fn(simmm_sim *sim, void *arg)
{
	struct task *t = arg;

	(void)sim;
	for (unsigned i = 0; i < t->n; i++) {
		t->af0 = alloc_failures();
		if (t->dev)
			dev_op(t, &t->rec[i]);
		else
			cpu_op(t, &t->rec[i]);
		verify_all("after an op");
		guard_check("after an op");
		eof_check("after an op");
	}
}

/* ---- setup and teardown --------------------------------------------------------------------- */

/* THP mode: the window's VMA is a whole PMD with MADV_HUGEPAGE, so the
 * populating writes faulted in a PMD-mapped THP: check it. The model
 * tracks its first NP pages, the others stay zero (thp_tail_check()). */
static void setup_thp_window(void)
{
	struct simmm_translation t;

	FZ_CHECK(simmm_geometry_level_order(simmm_sim_geometry(F.sim), SIMMM_LVL_PMD) == PMD_ORDER,
		 "PMD order");
	memset(&t, 0, sizeof(t));
	FZ_CHECK(simmm_pgtable_translate(simmm_mm_pgtable(F.m[0].mm), F.base, &t) == 0 &&
		 t.level == SIMMM_LVL_PMD && t.present, "THP window not PMD-mapped");
}

static void setup(uint8_t b0, uint8_t b1, bool zops)
{
	simmm_config cfg;
	simmm_addr_t out;
	int rc;

	memset(&F, 0, offsetof(struct fz, log));
	F.llen = 0;
	F.log[0] = 0;
	F.ncpu = 1 + (b0 & 1);
	F.ndev = 1 + ((b0 >> 1) & 1);
	F.strict_refault = b0 & 8;
	F.ext = b0 & 0x80;
	F.thp = b1 / (MAXREC + 1) == B1_THP;
	F.nextv = 1;
	F.zops = F.ext && zops;
	simmm_config_init(&cfg);
	fz_config_allocator(&cfg);
	cfg.geometry = "x86_64-4level";
	cfg.ram_bytes = ((F.thp ? THP_RAM_PAGES : RAM_PAGES) + (F.zops ? HUGE_RAM : 0)) * 4096ULL;
	cfg.swap_bytes = SWAP_PAGES * 4096ULL;
	cfg.seed = 1 + (b0 >> 4);
	cfg.flags = SIMMM_CFG_QUIET;
	cfg.trace_ring = fz_trace_ring ? fz_trace_ring : 16;
	cfg.trace_cb = races_trace;
	rc = simmm_sim_create(&cfg, &F.sim);
	FZ_CHECK(rc == 0, "sim_create %d", rc);
	fz_cur_sim = F.sim;
	F.ps = 1ULL << simmm_sim_geometry(F.sim)->page_shift;
	F.base = 0x10000000ULL;
	FZ_CHECK(simmm_mm_create(F.sim, &F.m[0].mm) == 0, "mm_create");
	F.m[0].exists = true;
	FZ_CHECK(simmm_mmap(F.m[0].mm, F.base, (F.thp ? PMD_NR : NP) * F.ps,
			    SIMMM_PROT_READ | SIMMM_PROT_WRITE,
			    SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS | SIMMM_MAP_FIXED, NULL, 0,
			    &out) == 0, "mmap window");
	if (F.thp)
		FZ_CHECK(simmm_madvise(F.m[0].mm, F.base, PMD_NR * F.ps, SIMMM_MADV_HUGEPAGE) == 0,
			 "MADV_HUGEPAGE");
	for (unsigned p = 0; p < NP; p++) {
		uint8_t v = (uint8_t)(0x80 + p);

		F.m[0].prot[p].w[0] = (struct wr){.s = 0, .e = 0, .v = PR_RW};
		F.m[0].prot[p].n = 1;
		F.m[0].data[p].w[0] = (struct wr){.s = 0, .e = 0, .v = 0};
		F.m[0].data[p].n = 1;
		if (p & 1)
			continue;
		FZ_CHECK(simmm_mm_access(F.m[0].mm, pa(p), &v, 1, SIMMM_ACCESS_WRITE) == 0,
			 "populate");
		F.m[0].data[p].w[0].v = v;
	}
	/* the file region: nothing mapped, zeros (until file_ready()) */
	for (unsigned p = NP; p < NT; p++) {
		F.m[0].prot[p].w[0] = (struct wr){.s = 0, .e = 0, .v = PR_UNMAPPED};
		F.m[0].prot[p].n = 1;
		F.m[0].data[p].w[0] = (struct wr){.s = 0, .e = 0, .v = 0};
		F.m[0].data[p].n = 1;
	}
	/* the hugetlb region: nothing mapped (until huge-mmap) */
	for (unsigned p = NT; p < NA; p++) {
		F.m[0].prot[p].w[0] = (struct wr){.s = 0, .e = 0, .v = PR_UNMAPPED};
		F.m[0].prot[p].n = 1;
		F.m[0].data[p].w[0] = (struct wr){.s = 0, .e = 0, .v = 0};
		F.m[0].data[p].n = 1;
	}
	for (unsigned p = 0; p < NA; p++) { /* nothing VM_LOCKED, no guard marker */
		F.m[0].lk[p].w[0] = (struct wr){.s = 0, .e = 0, .v = 0};
		F.m[0].lk[p].n = 1;
		F.m[0].gd[p].w[0] = (struct wr){.s = 0, .e = 0, .v = 0};
		F.m[0].gd[p].n = 1;
	}
	if (F.thp)
		setup_thp_window();
	F.tick = 1;
	for (unsigned i = 0; i < F.ndev; i++) {
		dev_init(&F.dev[i], i);
		FZ_CHECK(simmm_mmu_interval_notifier_insert(&F.dev[i].mn, F.m[0].mm, F.base,
							    NP * F.ps, &dev_mn_ops) == 0,
			 "interval_notifier_insert");
		F.dev[i].mn_on = true;
		if (!F.zops)
			continue;
		FZ_CHECK(simmm_mmu_interval_notifier_insert(&F.dev[i].mnh, F.m[0].mm, pa(NT),
							    NH * F.ps, &dev_mn_ops) == 0,
			 "interval_notifier_insert (hugetlb)");
		F.dev[i].mnh_on = true;
	}
	/* b0 bit 2: pages 0..NP/4-1 start on device 0 (THP mode: the whole
	 * PMD, as a device THP) */
	if ((b0 & 4) && F.thp)
		dev_migrate_pmd(&F.dev[0], true, 0, OFFER_THP, 0);
	else if (b0 & 4)
		dev_migrate(&F.dev[0], true, 0, MAXN, 0);
}

static void final_read(struct mmst *ms, const char *name)
{
	/* the file region in mm0, and in the child when the input has X ops
	 * (inputs from before them do not read it) */
	unsigned np = (ms == &F.m[0] || F.xops) && F.file_state == FILE_READY ? NT : NP;

	if (!ms->exists || ms->gone)
		return;
	for (unsigned p = 0; p < NA; p++) {
		if (p >= np && !is_huge(p))
			continue;
		if (is_huge(p) && !F.zops)
			break;
		lg("final %s page %u\n", name, p);
		F.af_main = alloc_failures();
		cpu_access(ms, p, false, simmm_fault_hits(F.sim));
	}
}

/*
 * Evict every page of device @d with nothing else running (dmirror's
 * RELEASE): the reverse-map walk of migrate_device_range() must find and
 * replace every CPU mapping of a device page (device-private entries in
 * every process that maps it), so no page it could not migrate may stay
 * mapped. A page may legitimately stay (it gets no system page, a
 * reference is held elsewhere), but then not because of a mapping.
 */
static void final_evict(struct fdev *d)
{
	uint64_t nf = d->nframes, *src = zcalloc(nf), *dst = zcalloc(nf);
	int rc;

	lg("final evict dev%u\n", d->id);
	rc = simmm_migrate_device_range(F.sim, src, d->pgmap.start_pfn, nf);
	FZ_CHECK(rc == 0, "migrate_device_range: %d", rc);
	for (unsigned i = 0; i < nf; i++) {
		struct simmm_page_info pi;
		simmm_pfn_t pfn = d->pgmap.start_pfn + i;

		if (src[i] & SIMMM_MIGRATE_PFN_MIGRATE)
			continue;
		if (simmm_page_info(F.sim, pfn, &pi) || pi.refcount <= 0)
			continue;
		FZ_CHECK(pi.mapcount == 0,
			 "final eviction: dev%u page %#llx is still mapped (mapcount %d, refcount %d) "
			 "after the reverse-map walk", d->id, (unsigned long long)pfn, pi.mapcount,
			 pi.refcount);
	}
	if (F.thp)
		fill_dst_thp(d, src, dst, nf, OFFER_THP, false, 0); /* a device THP: a THP or base pages */
	else
		fill_dst(d, src, dst, nf, false, 0);
	FZ_CHECK(simmm_migrate_device_pages(F.sim, src, dst, nf) == 0, "migrate_device_pages");
	FZ_CHECK(simmm_migrate_device_finalize(F.sim, src, dst, nf) == 0,
		 "migrate_device_finalize");
	free(src);
	free(dst);
}

/* THP mode: pages of the window's PMD the model does not track read zero. */
static void thp_tail_check(struct mmst *ms, const char *name)
{
	static const unsigned tail[] = {NP, NP + 1, PMD_NR / 2, PMD_NR - 1};

	if (!F.thp || !ms->exists || ms->gone)
		return;
	for (unsigned i = 0; i < sizeof(tail) / sizeof(tail[0]); i++) {
		uint64_t hits0 = simmm_fault_hits(F.sim);
		uint8_t v = 0xff;
		int rc = simmm_mm_access(ms->mm, F.base + tail[i] * F.ps, &v, 1, SIMMM_ACCESS_READ);

		lg("final %s page %u -> %d, byte %#x\n", name, tail[i], rc, v);
		if (rc == -EFAULT && ms->tail_lost)
			continue; /* the PMD's tail is at a scratch address */
		FZ_CHECK((rc == 0 && v == 0) || (rc == -ENOMEM && enomem_ok(hits0)),
			 "%s page %u (not written) read %d, byte %#x", name, tail[i], rc, v);
	}
}

/*
 * The file, once nothing maps it: a final fsync must leave no dirty page;
 * the clean page cache is then reclaimed, and each page read back with
 * pread (from the store where reclaim dropped it) must hold a byte its
 * register allows: what was written survived writeback and reclaim.
 */
static void file_final(void)
{
	struct simmm_file_stats st;
	uint32_t t;
	char c[512];
	int rc;

	if (!F.file)
		return;
	rc = simmm_file_fsync(F.file);
	FZ_CHECK(rc == 0, "final fsync: %d", rc);
	FZ_CHECK(simmm_file_stats(F.file, &st) == 0, "file_stats");
	lg("final file: cached %llu dirty %llu written %llu\n", (unsigned long long)st.cached,
	   (unsigned long long)st.dirty, (unsigned long long)st.written);
	FZ_CHECK(st.dirty == 0 && st.cached <= NF, "after the final fsync: %llu of %llu cached "
		 "pages dirty", (unsigned long long)st.dirty, (unsigned long long)st.cached);
	for (unsigned i = 0; i < 4 && st.cached; i++) {
		rc = simmm_reclaim(F.sim, F.thp ? THP_RAM_PAGES : RAM_PAGES, NULL);
		FZ_CHECK(rc == 0 || rc == -ENOSPC, "final reclaim: %d", rc);
		FZ_CHECK(simmm_file_stats(F.file, &st) == 0, "file_stats");
	}
	lg("final file after reclaim: cached %llu written %llu\n", (unsigned long long)st.cached,
	   (unsigned long long)st.written);
	t = tk();
	for (unsigned q = NP; q < NT; q++) {
		uint8_t v = 0xff;
		long n = simmm_file_pread(F.file, &v, 1, file_off(q));

		lg("final pread file page %u -> %ld, byte %#x\n", q - NP, n, v);
		FZ_CHECK(n == 1, "final pread of file page %u: %ld", q - NP, n);
		if (!reg_allows(&F.m[0].data[q], v, t, t)) {
			reg_cands(&F.m[0].data[q], t, t, c, sizeof(c));
			FZ_FAIL("final pread %#x from file page %u; writes: %s", v, q - NP, c);
		}
	}
	FZ_CHECK(simmm_file_put(F.file) == 0, "file_put");
	F.file = NULL;
}

static void teardown(void)
{
	int rc, leaks;

	simmm_fault_inject(F.sim, NULL);
	FZ_CHECK(simmm_reports_count(F.sim, 0) == 0, "reports after the run");
	for (unsigned i = 0; i < MAXDEV; i++)
		FZ_CHECK(!F.ro_warn[i], "dev%u's dmirror WARN on page %u not explained by its WRITE", i,
			 F.ro_warn[i] - 1);
	verify_all("after the run");
	for (unsigned i = 0; i < F.ndev; i++)
		final_evict(&F.dev[i]);
	FZ_CHECK(simmm_reports_count(F.sim, 0) == 0, "reports after the final eviction");
	verify_all("after the final eviction");
	final_read(&F.m[0], "mm0");
	final_read(&F.m[1], "mm1");
	thp_tail_check(&F.m[0], "mm0");
	thp_tail_check(&F.m[1], "mm1");
	eof_check("after the read-back");
	/* T ops: grow the file back to NF pages, so that file_final() reads
	 * every page (what a truncation cut reads zeros) */
	if (F.tops && F.file) {
		lg("final grow\n");
		F.af_main = alloc_failures();
		file_truncate(NF * F.ps, simmm_fault_hits(F.sim));
	}
	verify_all("after the read-back");
	rc = simmm_check(F.sim);
	FZ_CHECK(rc == 0, "simmm_check: %d violations", rc);
	for (unsigned i = 0; i < MAXDEV; i++) {
		if (F.dm[i])
			FZ_CHECK(simmm_dmirror_close(F.dm[i]) == 0, "dmirror_close");
		F.dm[i] = NULL;
	}
	if (F.dmdev) {
		rc = simmm_dmirror_device_destroy(F.dmdev);
		FZ_CHECK(rc == 0, "dmirror_device_destroy: %d", rc);
		F.dmdev = NULL;
	}
	for (unsigned i = 0; i < F.ndev; i++) {
		if (F.dev[i].mnh_on)
			FZ_CHECK(simmm_mmu_interval_notifier_remove(&F.dev[i].mnh) == 0,
				 "interval_notifier_remove (hugetlb)");
		if (F.dev[i].mnf_on)
			FZ_CHECK(simmm_mmu_interval_notifier_remove(&F.dev[i].mnf) == 0,
				 "interval_notifier_remove (file)");
		if (F.dev[i].mn_on)
			FZ_CHECK(simmm_mmu_interval_notifier_remove(&F.dev[i].mn) == 0,
				 "interval_notifier_remove");
	}
	for (unsigned k = 0; k < 2; k++)
		if (F.m[k].exists && !F.m[k].gone)
			FZ_CHECK(simmm_mmput(F.m[k].mm) == 0, "mmput");
	for (unsigned i = 0; i < F.ndev; i++) {
		FZ_CHECK(F.dev[i].nfree == F.dev[i].nframes, "dev%u: %llu of %llu frames free after exit",
			 i, (unsigned long long)F.dev[i].nfree, (unsigned long long)F.dev[i].nframes);
		rc = simmm_memunmap_pages(&F.dev[i].pgmap);
		FZ_CHECK(rc == 0, "memunmap_pages: %d", rc);
	}
	file_final();
	FZ_CHECK(simmm_reports_count(F.sim, 0) == 0, "reports at teardown");
	rc = simmm_check(F.sim);
	FZ_CHECK(rc == 0, "simmm_check after teardown: %d violations", rc);
	fz_cur_sim = NULL;
	fz_note_sim(F.sim);
	leaks = simmm_sim_destroy(&F.sim);
	FZ_CHECK(leaks == 0, "sim_destroy: %d leaks", leaks);
}

int fz_races_one(const uint8_t *data, size_t size);

int fz_races_one(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	unsigned nrec;
	uint8_t b0;
	int rc;

	fz_dump_hook = races_dump;
	if (size < 2)
		return 0;
	b0 = fz_u8(&in);
	{
		/* Z ops (OP_Z records) give the machine more RAM: look ahead */
		struct fz_in la = in;
		unsigned nr = fz_u8(&la) % (MAXREC + 1);
		bool zops = false;

		for (unsigned i = 0; i < nr; i++) {
			fz_u8(&la);
			zops |= fz_u8(&la) == OP_Z;
			fz_u8(&la);
			fz_u8(&la);
		}
		setup(b0, in.p[0], zops); /* byte 1 is read again below */
	}
	F.ntask = F.ncpu + F.ndev;
	for (unsigned i = 0; i < F.ntask; i++) {
		struct task *t = &F.task[i];

		memset(t, 0, sizeof(*t));
		t->dev = i >= F.ncpu;
		t->idx = t->dev ? i - F.ncpu : i;
		snprintf(t->name, sizeof(t->name), "%s%u", t->dev ? "dev" : "cpu", t->idx);
	}
	nrec = fz_u8(&in) % (MAXREC + 1);
	for (unsigned i = 0; i < nrec; i++) {
		struct task *t = &F.task[fz_u8(&in) % F.ntask];
		struct rec *r = &t->rec[t->n++];

		r->op = fz_u8(&in);
		r->page = fz_u8(&in);
		r->arg = fz_u8(&in);
		F.tops |= F.ext && !t->dev && r->op == OP_T;
		F.xops |= F.ext && !t->dev && (r->op == OP_X || r->op == OP_Y || r->op == OP_T);
	}
	/* T ops: every file page starts inside EOF (the file has NF pages) */
	for (unsigned q = NP; F.tops && q < NT; q++) {
		F.eof[q].w[0] = (struct wr){.s = 0, .e = 0, .v = 0};
		F.eof[q].n = 1;
	}
	/* the rest of the input is the schedule */
	FZ_CHECK(simmm_sched_replay(F.sim, in.p, in.left) == 0, "sched_replay");
	lg("%u records, %zu schedule bytes\n", nrec, in.left);
	for (unsigned i = 0; i < F.ntask; i++) {
		int id = simmm_sched_spawn(F.sim, F.task[i].name, task_fn, &F.task[i]);

		FZ_CHECK(id > 0, "spawn");
		F.task[i].tid = (uint32_t)id;
		if (F.task[i].dev)
			F.dev[F.task[i].idx].tid = (uint32_t)id;
	}
	rc = simmm_sched_run(F.sim, MAX_STEPS);
	lg("run -> %d after %llu steps\n", rc, (unsigned long long)simmm_sched_steps(F.sim));
	FZ_CHECK(rc == SIMMM_SCHED_DONE, "simmm_sched_run: %d (%s)", rc,
		 rc == SIMMM_SCHED_DEADLOCK ? "deadlock" : rc == SIMMM_SCHED_STEP_LIMIT ? "step limit" : "?");
	teardown();
	if (fz_verbose)
		fputs(F.log, stderr);
	return 0;
}

FZ_DEFINE_ENTRY(fz_races_one)
