// SPDX-License-Identifier: MIT
/*
 * fuzz_mm_ops: address-space operations on up to three mms, checked after
 * every step against a flat reference model, the invariant checker and the
 * report log. See fuzz/README.md for the input format.
 *
 * The model. Each mm has a window of NP pages at a fixed base. A model page
 * is unmapped, or mapped with a protection and either private (its bytes
 * are its own copy, or still those of the file/zero page behind it) or
 * shared (its bytes are those of an object page: a file or the shmem
 * object of a MAP_SHARED|MAP_ANONYMOUS mapping). Three byte "slots" per
 * page are modelled: offsets 0, page_size/2 and page_size-1 (so a 2-byte
 * access at the last slot crosses into the next page). MADV_FREE makes
 * contents uncertain: a lazily freed page may read back as all zeros
 * (reclaim discarded it) until it is written; reads resolve that. mlock
 * (the mprotect op's prot bytes 0xf8..0xff) changes neither contents nor
 * protections: the model keeps each page's VM_LOCKED / VM_LOCKONFAULT and
 * the mm's mlockall(MCL_FUTURE) flags, expects mlock() to leave every page
 * of its range present, and checks that a page once seen present in a
 * VM_LOCKED VMA stays present (reclaim never takes it) until munlock,
 * munmap or a move. A guard page (MADV_GUARD_INSTALL) holds a guard marker:
 * every access, GUP, populate and peek of it fails with -EFAULT; it keeps
 * through DONTNEED, FREE, mprotect and reclaim, goes with munmap, moves
 * with mremap and is copied by fork (not into a VM_WIPEONFORK child).
 * hugetlb (mini-thp only: an anonymous mmap whose pgoff byte is
 * 0xa0..0xbf is MAP_HUGETLB, 16-page huge pages): a page knows it is in a
 * hugetlb VMA; lengths round up to whole huge pages and fixed addresses
 * must be aligned; an op whose range would split a hugetlb VMA inside a
 * huge page (munmap, mprotect, MAP_FIXED, the VMA-flag advice, mremap) is
 * -EINVAL; MADV_DONTNEED zaps whole huge pages, the other zapping advice,
 * guards and WIPEONFORK are refused, mlock leaves the VMA unlocked;
 * contents stay per page (faults map zeroed huge pages, COW copies them
 * whole); a fault the pool cannot serve is SIGBUS (-EFAULT) only when an
 * allocation failed; a hugetlb page seen present stays present until a
 * zap, munmap or move (reclaim never takes it).
 *
 * Truncation (the fread op's file bytes 0xb0..0xbf: ftruncate(2) or a hole
 * punch of file0/file1, whose only fd is read-only: -EINVAL / -EBADF,
 * nothing changes; MADV_REMOVE, advice byte 0xf0). An object's bytes
 * are its page-cache bytes: what every mapping of a page reads, also past
 * EOF in the page EOF falls in (a write through a shared mapping lands
 * there and stays: simmm models no filesystem's post-EOF zeroing at
 * writeback or extension); pread(2) stops at EOF; past that page nothing
 * maps (SIGBUS: the access op's -EFAULT, GUP's, POPULATE's). Upstream, as
 * the model follows it: a shrink (or the same size) runs
 * truncate_pagecache(): unmap_mapping_range(holebegin, 0, even_cows = 1)
 * from the first page wholly past the new EOF, so shared pages, private
 * pages still showing the file and private COW copies (and their swap
 * entries) all go; the page cache from the new EOF on is dropped and the
 * EOF page's tail zeroed (truncate_inode_pages_range() /
 * truncate_inode_partial_folio()), so those bytes read as zeros, also once
 * the file grows again (growing only sets i_size). A hole punch
 * (fallocate(PUNCH_HOLE | KEEP_SIZE): truncate_pagecache_range() for a
 * regular file, shmem_fallocate() for shmem) unmaps the hole's whole pages
 * with even_cows = 0: "hole-punching should not remove private COWed
 * pages", so a private copy keeps its bytes; everything else of the hole
 * reads zeros, the partial pages at its edges staying mapped. MADV_REMOVE
 * is that punch (vfs_fallocate()) of each VMA's part, VMA by VMA
 * (madvise_remove(): -EINVAL for VM_LOCKED or no file, -EACCES unless
 * VM_SHARED and VM_MAYWRITE, the VMAs before it punched; holes -ENOMEM at
 * the end). VM_LOCKED pages are unmapped like any (zap_pte_range() ignores
 * VM_LOCKED; the folio is munlocked as it leaves): the model's "must stay
 * present" ends for them. A GUP-pinned page-cache page leaves the cache
 * all the same (the pin keeps the frame, with its old bytes, alive); the
 * next fault maps a new page that reads the zeros, which the peeks
 * compare. Guard markers stay (no ZAP_FLAG_DROP_MARKER). MADV_REMOVE of
 * shared hugetlb memory punches whole huge pages out and zeroes partial
 * ones in place (hugetlbfs_punch_hole()).
 *
 * Soft offline (advice byte 0xe2, soft_offline()): the frame a page maps
 * moves to a new one in every mapping, or nothing changes; contents,
 * protections and presence never do.
 *
 * Memory failure (advice bytes 0xe6 MADV_HWPOISON, 0xe5 memory_failure() of
 * the frame a page maps, 0xe3 unpoison; madvise_hwpoison()). The model
 * keeps per page HWP_ENTRY (a hwpoison entry) or HWP_SWAP (a swap entry of
 * a dirty swap-cache folio memory_failure() kept poisoned,
 * me_swapcache_dirty()), per shmem object page whether its poisoned folio
 * stays in the cache (shmem_error_remove_folio()), per file whether a
 * lost write waits for the next fsync / msync(MS_SYNC) (-EIO,
 * mapping_set_error()). Every CPU access, verify, GUP and populate
 * (-EHWPOISON, FOLL_HWPOISON) of such a page fails, mlock's populate stops
 * there (-ENOMEM); peeks compare the entry kind. fork copies a hwpoison or
 * swap entry where it copies page tables (anonymous VMAs; a file or shmem
 * VMA only with an anon_vma, which a COW or a guard install gave it: read
 * back; without, the child faults the page again), mremap moves it, munmap, DONTNEED, MADV_FREE,
 * guard install and truncation (even_cows) drop it, a hole punch and
 * MADV_REMOVE keep it (no even_cows; MADV_REMOVE takes a poisoned shmem
 * folio out of the cache), reclaim and mprotect leave it. What the frame
 * was is read back from the entries and the memory-failure stats: a clean
 * file page is only unmapped (the store has it), a dirty one's bytes become
 * the store's (read back through a mapping outside the window). The zero
 * page and hugetlb pages are ignored (-EBUSY); a shmem page reclaim took off
 * the LRU is poisoned but left mapped (-EBUSY; CPU accesses SIGBUS, GUP of
 * its present pte does not; a second failure is -EHWPOISON). A page that may
 * be pinned (a FOLL_PIN'd one, a THP while pins are held) is not poisoned:
 * it would stay mapped, poisoned, which the model has no state for.
 *
 * MADV_RANDOM / SEQUENTIAL / NORMAL / DONTDUMP / DODUMP (advice bytes
 * 0xf1, 0xef, 0xeb, 0xe9, 0xe8) change VMA flags the peeks do not compare:
 * only their return codes are modelled (holes, hugetlb splits). Reclaim
 * ignores the young bits of a VMA with an access pattern
 * (vma_has_recency()), which the presence rules must survive.
 * MADV_DONTNEED_LOCKED (0xe7) is DONTNEED that VM_LOCKED pages take too.
 *
 * Checks after every step: the op's return code against the model; peeks
 * (no faults) at the op's pages in every mm: VMA flags/pgoff and page
 * table entries against the model, frame contents of present entries and,
 * through simmm_mm_peek(), what a read of any other page would return;
 * simmm_check() == 0 and no report. With allocation-failure injection
 * (SIMMM_FAULT_NTH for one op), the op must return what the model expects
 * or -ENOMEM with the model unchanged. At the end every touched page of
 * every mm is peeked (entries, VMA, contents; the verify op reads through
 * faults), everything is released, and
 * simmm_sim_destroy() must report no leak.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include <simmm/simmm.h>

#include "fuzz_common.h"

#define NMM      3
#define NSLOT    3
#define NP_MAX   1024
#define MAXOBJ   16
#define MAXOBJP  (NP_MAX + 64) /* object pages modelled */
#define MAXPINS  16
#define PIN_MAX  8
#define MAXOPS   200
/* Full simmm_check() every MM_CHECK_EVERY ops under libFuzzer (and at the
 * end); the replay drivers check after every op. See docs/fuzzing.md. */
#define MM_CHECK_EVERY 8
#define SLOT_BIT(s) (1u << (s))

enum { OP_MMAP, OP_MUNMAP, OP_MPROTECT, OP_MADVISE, OP_MREMAP, OP_FORK, OP_ACCESS,
       OP_RECLAIM, OP_PIN, OP_UNPIN, OP_MMPUT, OP_FWRITE, OP_FREAD, OP_VERIFY, OP_THP,
       NR_OPS };

static const char *const op_names[NR_OPS] = {
	"mmap", "munmap", "mprotect", "madvise", "mremap", "fork", "access", "reclaim",
	"pin", "unpin", "mmput", "fwrite", "fread", "verify", "thp",
};

/* struct mpage - one page of one mm's window. */
struct mpage {
	uint8_t mapped, prot, shared;
	uint8_t own;     /* private: val[] is the page's own copy */
	uint8_t lazy;    /* MADV_FREE'd, not written since: may read as zeros */
	uint8_t maybe0;  /* slots that may read 0 instead of val (SLOT_BIT) */
	uint8_t obj;     /* 0 = anonymous VMA; else object index + 1 */
	uint8_t locked;  /* MLK_* of its VMA (VM_LOCKED, VM_LOCKONFAULT) */
	uint8_t resident; /* locked and seen present: must stay present */
	uint8_t fork;    /* FK_* of its VMA (VM_DONTCOPY, VM_WIPEONFORK) */
	uint8_t guard;   /* a guard marker: every access is SIGSEGV */
	uint8_t htlb;    /* in a MAP_HUGETLB VMA (huge-page aligned, F.hp pages each) */
	uint8_t hwp;     /* HWP_*: memory failure left an entry every access SIGBUSes */
	uint32_t pgoff;  /* page offset into the object */
	uint8_t val[NSLOT];
};

#define MLK_LOCKED  1 /* VM_LOCKED */
#define MLK_ONFAULT 2 /* VM_LOCKONFAULT */

#define HWP_ENTRY 1 /* a hwpoison entry (its frame was poisoned) */
#define HWP_SWAP  2 /* a swap entry whose poisoned swap-cache folio lost the data */

#define FK_DONTCOPY 1 /* VM_DONTCOPY (MADV_DONTFORK): not in a fork child */
#define FK_WIPE     2 /* VM_WIPEONFORK: empty in a fork child */

/* struct mobj - a file or shmem object: its size and modelled bytes. */
struct mobj {
	struct simmm_file *file; /* files only (shmem objects belong to VMAs) */
	uint64_t size;           /* bytes */
	bool rdonly;
	bool filled;             /* files: initial bytes written (file_fill) */
	bool eio;                /* files: a dirty page was lost: the next sync is -EIO */
	uint8_t data[MAXOBJP][NSLOT];
	uint8_t poison[MAXOBJP]; /* shmem: a poisoned folio kept in the cache */
};

struct pinset {
	bool used, pin;
	uint64_t n;
	simmm_pfn_t pfn[PIN_MAX];
};

struct fzmm {
	struct simmm_mm *mm;
	uint8_t def_lock; /* MLK_* that new mappings get (mlockall(MCL_FUTURE)) */
	struct mpage pg[NP_MAX];
};

static struct fz {
	simmm_sim *sim;
	const struct simmm_geometry *g;
	struct simmm_geometry custom_g; /* F.g of a custom machine */
	uint64_t ps, np, base;
	uint64_t pmd_pages;
	uint64_t hp; /* pages per hugetlb page (the PMD), 0: no MAP_HUGETLB here */
	struct fzmm m[NMM];
	struct mobj obj[MAXOBJ];
	unsigned nobj;
	struct pinset pins[MAXPINS];
	/* frames poisoned by the memory-failure ops, for unpoison; @hwfree:
	 * nothing but the poison holds it (pins aside) */
	simmm_pfn_t hwpfn[MAXPINS];
	bool hwfree[MAXPINS];
	unsigned nhw;
	uint8_t touched[NP_MAX];
	unsigned peek_cursor;
	/* The last VMA peek_page() looked up per mm, valid during one sweep
	 * of peeks (nothing changes the mms then): one lookup per VMA. */
	struct {
		bool valid;
		struct simmm_vma_info vi;
	} vc[NMM];
	bool inject;
	struct simmm_fault_config fc; /* the injection armed for this op */
	uint64_t fail0;               /* RAM allocation failures before this op */
	/* op trace for failure messages */
	char trace[16384];
	size_t tlen;
	unsigned nops;
} F;

/*
 * "mini-thp": x86-64 shrunk, 4 KiB pages and four levels of 16 entries,
 * leaves at PMD (16 pages) and PUD (256 pages). THP, its splits and
 * collapse, and a window of four PMDs larger than RAM shared by three mms,
 * at 1/16 of the cost per op of the 1 024-page x86 window (the x86 window
 * needs two 512-page PMDs): most of what the harness explores happens
 * here, several times faster (docs/fuzzing.md, "Throughput").
 */
static const struct simmm_geometry_desc mini_thp = {
	.name = "mini-thp", .page_shift = 12, .nlevels = 4, .bits = {4, 4, 4, 4},
	.leaf_mask = 0x6, .canonical = true,
};

/* @htlb: the mmap op may map MAP_HUGETLB memory (PMD-sized huge pages):
 * on mini-thp only, where a huge page is 16 pages of the 64-page window;
 * x86_64's 512-page huge pages are half its RAM (each fault zeroes 2 MiB,
 * each COW copies them), and arm64-64k's 512 MiB PMD has no room in the
 * window. */
static const struct {
	const char *name;
	const struct simmm_geometry_desc *custom;
	uint64_t np, ram_pages, swap_pages;
	bool htlb;
} geos[] = {
	{"x86_64-4level", NULL, 1024, 1024, 1024, false},
	{"arm64-64k-48", NULL, 64, 128, 256, false},
	{"mini-thp", &mini_thp, 64, 128, 192, true},
	{"toy-15bit", NULL, 64, 256, 512, false},
};

/* ---- tracing -------------------------------------------------------------------- */

__attribute__((format(printf, 1, 2))) static void tr(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fz_vlog(F.trace, sizeof(F.trace), &F.tlen, fmt, ap);
	va_end(ap);
}

static void mm_ops_dump(void)
{
	fprintf(stderr, "---- fuzz_mm_ops trace (%s, window %llu pages at %#llx, page %llu) ----\n%s",
		F.g ? F.g->name : "?", (unsigned long long)F.np, (unsigned long long)F.base,
		(unsigned long long)F.ps, F.trace);
	if (F.sim) {
		uint64_t n = 0;
		const char *r = simmm_reports(F.sim, &n);

		if (n)
			fprintf(stderr, "---- %llu reports ----\n%s\n", (unsigned long long)n, r);
	}
}

/* ---- model helpers ---------------------------------------------------------------- */

static simmm_addr_t pa(uint64_t p)
{
	return F.base + p * F.ps;
}

static uint64_t slot_off(unsigned s)
{
	return s == 0 ? 0 : s == 1 ? F.ps / 2 : F.ps - 1;
}

static struct mobj *pobj(const struct mpage *p)
{
	return p->obj ? &F.obj[p->obj - 1] : NULL;
}

/* Page @pgoff of @o exists (SIGBUS beyond EOF). */
static bool obj_page_ok(const struct mobj *o, uint64_t pgoff)
{
	return pgoff < (o->size + F.ps - 1) / F.ps && pgoff < MAXOBJP;
}

/* What a mapping of page @pgoff of @o reads in slot @s: the page-cache
 * bytes, also those past EOF in the page EOF falls in (a write through a
 * mapping lands there; see "Truncation" above); none past that page. */
static uint8_t obj_byte(const struct mobj *o, uint64_t pgoff, unsigned s)
{
	return obj_page_ok(o, pgoff) ? o->data[pgoff][s] : 0;
}

/* Can the page be accessed at all without SIGBUS? */
static bool page_backed(const struct mpage *p)
{
	if (p->shared || (!p->own && p->obj))
		return obj_page_ok(pobj(p), p->pgoff);
	return true;
}

/* Does an access SIGBUS for a memory failure: a hwpoison entry, a swap
 * entry of a lost swap-cache folio, or a shmem page whose poisoned folio
 * stays in the cache (shmem_error_remove_folio())? */
static bool poisoned(const struct mpage *p)
{
	return p->hwp || (p->shared && p->pgoff < MAXOBJP && pobj(p)->poison[p->pgoff]);
}

/* Does GUP fail on page @k of @m for a memory failure? As a CPU access,
 * but for a shmem page memory_failure() poisoned without unmapping it
 * (reclaim had taken it off the LRU: MF_IGNORED): GUP finds its pte and
 * takes no fault, while a CPU access consumes the poison (SIGBUS). */
static bool gup_poisoned(struct fzmm *m, uint64_t k)
{
	const struct mpage *p = &m->pg[k];
	struct simmm_translation t;

	if (!poisoned(p))
		return false;
	if (p->hwp)
		return true;
	return simmm_pgtable_translate(simmm_mm_pgtable(m->mm), pa(k), &t) || !t.present;
}

static bool may_access(const struct mpage *p, enum simmm_access acc)
{
	if (!p->mapped || p->guard)
		return false;
	if (acc == SIMMM_ACCESS_WRITE)
		return p->prot & SIMMM_PROT_WRITE;
	if (acc == SIMMM_ACCESS_EXEC)
		return p->prot & SIMMM_PROT_EXEC;
	return p->prot != 0;
}

/* What slot @s reads as: *alt0 says 0 is also acceptable. */
static uint8_t expect(const struct mpage *p, unsigned s, bool *alt0)
{
	*alt0 = false;
	if (p->shared)
		return obj_byte(pobj(p), p->pgoff, s);
	if (p->own) {
		*alt0 = p->lazy || (p->maybe0 & SLOT_BIT(s));
		return p->val[s];
	}
	return p->obj ? obj_byte(pobj(p), p->pgoff, s) : 0;
}

/* A read saw @v in slot @s: check it and learn what it tells. */
static void observe(struct mpage *p, uint64_t page, unsigned s, uint8_t v, const char *who)
{
	bool alt0;
	uint8_t want = expect(p, s, &alt0);

	if (v != want && !(alt0 && v == 0))
		FZ_FAIL("%s: page %llu slot %u read %#x, model %#x%s", who,
			(unsigned long long)page, s, v, want, alt0 ? " (or 0)" : "");
	if (!p->shared && p->own && v != want) {
		if (p->lazy && !(p->maybe0 & SLOT_BIT(s))) { /* reclaim discarded it */
			memset(p->val, 0, sizeof(p->val));
			p->lazy = 0;
			p->maybe0 = 0;
		} else { /* a slot left unknown by an earlier discard */
			p->val[s] = 0;
			p->maybe0 &= (uint8_t)~SLOT_BIT(s);
		}
	} else if (!p->shared && p->own && !p->lazy) {
		p->maybe0 &= (uint8_t)~SLOT_BIT(s);
	}
}

/* A private page is about to be written: give it its own copy. */
static void materialize(struct mpage *p)
{
	if (p->own)
		return;
	for (unsigned s = 0; s < NSLOT; s++)
		p->val[s] = p->obj ? obj_byte(pobj(p), p->pgoff, s) : 0;
	p->own = 1;
	p->lazy = 0;
	p->maybe0 = 0;
}

static void model_write(struct mpage *p, unsigned s, uint8_t v)
{
	if (p->shared) {
		struct mobj *o = pobj(p);

		o->data[p->pgoff][s] = v;
		return;
	}
	materialize(p);
	if (p->lazy) { /* dirtied: no longer discardable, but maybe already was */
		for (unsigned k = 0; k < NSLOT; k++)
			if (p->val[k])
				p->maybe0 |= (uint8_t)SLOT_BIT(k);
		p->lazy = 0;
	}
	p->val[s] = v;
	p->maybe0 &= (uint8_t)~SLOT_BIT(s);
}

/* Zap (MADV_DONTNEED, DONTUNMAP source, a new page grown by mremap): no
 * entry is left; private pages lose their copy. A guard marker goes too
 * (DONTNEED keeps it: its caller puts it back). */
static void model_zap(struct mpage *p)
{
	p->resident = 0;
	p->guard = 0;
	p->hwp = 0;
	if (p->shared)
		return;
	p->own = 0;
	p->lazy = 0;
	p->maybe0 = 0;
	memset(p->val, 0, sizeof(p->val));
}

/*
 * Pages [@first, @last] of object @oi left the page cache (a truncation's
 * or a hole punch's unmap_mapping_range()): every mapping of them in every
 * mm loses its entry (a locked page too: it no longer has to stay
 * present), and so, with @even_cows (truncation), does a private page's
 * own copy, which reads the file again (past EOF: SIGBUS). Without it (a
 * punch) the copies stay, and so do hwpoison entries, shared pages' too
 * (zap_nonpresent_ptes() drops them only when should_zap_cows()). Guard
 * markers stay either way (no ZAP_FLAG_DROP_MARKER).
 */
static void model_unmap_obj(unsigned oi, uint64_t first, uint64_t last, bool even_cows)
{
	for (unsigned mi = 0; mi < NMM; mi++) {
		for (uint64_t k = 0; F.m[mi].mm && k < F.np; k++) {
			struct mpage *p = &F.m[mi].pg[k];
			uint8_t g = p->guard, h = p->hwp;

			if (!p->mapped || p->obj != oi + 1 || p->pgoff < first || p->pgoff > last)
				continue;
			if (!p->shared && p->own && !even_cows)
				continue;
			model_zap(p);
			p->guard = g;
			if (!even_cows)
				p->hwp = h;
		}
	}
}

/* Bytes [@lo, @hi) of @o read as zeros (a truncation's tail, a punch). */
static void model_zero_obj(struct mobj *o, uint64_t lo, uint64_t hi)
{
	for (uint64_t p = lo / F.ps; p < MAXOBJP && p * F.ps < hi; p++)
		for (unsigned s = 0; s < NSLOT; s++)
			if (p * F.ps + slot_off(s) >= lo && p * F.ps + slot_off(s) < hi)
				o->data[p][s] = 0;
}

static bool range_all_mapped(struct fzmm *m, uint64_t i, uint64_t n)
{
	for (uint64_t k = i; k < i + n; k++)
		if (!m->pg[k].mapped)
			return false;
	return true;
}

static bool range_any_mapped(struct fzmm *m, uint64_t i, uint64_t n)
{
	for (uint64_t k = i; k < i + n; k++)
		if (m->pg[k].mapped)
			return true;
	return false;
}

static void touch(uint64_t i, uint64_t n)
{
	for (uint64_t k = i; k < i + n && k < F.np; k++)
		F.touched[k] = 1;
}

/* ---- hugetlb ---------------------------------------------------------------------- */

/* @n pages rounded up to whole huge pages (F.hp > 0). */
static uint64_t hup(uint64_t n)
{
	return (n + F.hp - 1) / F.hp * F.hp;
}

/*
 * Would a VMA boundary at page @k fall inside a huge page of a hugetlb
 * VMA? Those split only at huge-page boundaries (hugetlb_vm_op_split()
 * refuses with -EINVAL), so a munmap, mprotect, MAP_FIXED or VMA-flag
 * advice whose range starts or ends there fails. hugetlb VMAs are
 * huge-page aligned, and so is the window: the VMA of a hugetlb page @k
 * not on a huge-page boundary began before @k.
 */
static bool cuts_htlb(const struct fzmm *m, uint64_t k)
{
	return k < F.np && m->pg[k].htlb && k % F.hp;
}

static bool range_any_htlb(const struct fzmm *m, uint64_t i, uint64_t n)
{
	for (uint64_t k = i; k < i + n && k < F.np; k++)
		if (m->pg[k].mapped && m->pg[k].htlb)
			return true;
	return false;
}

/* Faults on this mm counted as SIGBUS so far. */
static uint64_t sigbus_count(struct fzmm *m)
{
	struct simmm_mm_stats st;

	FZ_CHECK(simmm_mm_stats(m->mm, &st) == 0, "mm_stats");
	return st.sigbus;
}

/* ---- peeks: compare without faulting ------------------------------------------------ */

static uint64_t vm_of_prot(int prot)
{
	return (prot & SIMMM_PROT_READ ? SIMMM_VM_READ : 0) |
	       (prot & SIMMM_PROT_WRITE ? SIMMM_VM_WRITE : 0) |
	       (prot & SIMMM_PROT_EXEC ? SIMMM_VM_EXEC : 0);
}

/*
 * Compare the three slots of page @i of mm @mi with the model through
 * simmm_mm_peek(): what a load would read, without faulting or changing
 * anything (protections ignored, so PROT_NONE pages are compared too). A
 * page without a VMA or beyond its file's EOF must give -EFAULT.
 */
static void peek_slots(unsigned mi, uint64_t i, const char *who, bool anon_hole)
{
	struct mpage *p = &F.m[mi].pg[i];
	/* (a lost swap-cache folio and a poisoned shmem folio are read as
	 * they are: simmm_mm_peek() reads the folio, not the fault's SIGBUS) */
	bool ok = p->mapped && !p->guard && page_backed(p) && p->hwp != HWP_ENTRY;

	static uint8_t buf[1u << 16]; /* the largest page (arm64-64k) */
	/* One peek of the whole page: one lookup instead of one per slot, up
	 * to 4 KiB; a 64 KiB copy costs more than three lookups. No entry
	 * in an anonymous VMA reads zeros (what simmm_mm_peek() would copy,
	 * tests/test_mm_peek.c): compared without the copy, a quarter of
	 * the harness's time. */
	bool whole = !ok || F.ps <= 4096;
	int rc = 0;

	if (anon_hole && ok)
		for (unsigned s = 0; s < NSLOT; s++)
			buf[slot_off(s)] = 0;
	else
		rc = simmm_mm_peek(F.m[mi].mm, pa(i), buf, !ok ? 1 : whole ? F.ps : 1);
	for (unsigned s = 1; rc == 0 && !whole && !anon_hole && s < NSLOT; s++)
		rc = simmm_mm_peek(F.m[mi].mm, pa(i) + slot_off(s), &buf[slot_off(s)], 1);
	FZ_CHECK(rc == (ok ? 0 : -EFAULT), "mm%u page %llu: %s rc %d", mi, (unsigned long long)i,
		 who, rc);
	for (unsigned s = 0; ok && s < NSLOT; s++) {
		uint8_t v = buf[slot_off(s)];
		bool alt0;
		uint8_t want = expect(p, s, &alt0);

		FZ_CHECK(v == want || (alt0 && v == 0), "mm%u page %llu slot %u: %s reads %#x, model %#x%s",
			 mi, (unsigned long long)i, s, who, v, want, alt0 ? " (or 0)" : "");
	}
}

/* VM_DONTCOPY / VM_WIPEONFORK of @vm_flags, as FK_*. */
static uint8_t vma_fork(uint64_t vm_flags)
{
	return (uint8_t)(((vm_flags & SIMMM_VM_DONTCOPY) ? FK_DONTCOPY : 0) |
			 ((vm_flags & SIMMM_VM_WIPEONFORK) ? FK_WIPE : 0));
}

static void peek_page(unsigned mi, uint64_t i)
{
	struct fzmm *m = &F.m[mi];
	struct mpage *p = &m->pg[i];
	struct simmm_vma_info vi;
	struct simmm_translation t;
	int rc;

	if (F.vc[mi].valid && pa(i) >= F.vc[mi].vi.start && pa(i) < F.vc[mi].vi.end) {
		vi = F.vc[mi].vi;
		rc = 0;
	} else {
		rc = simmm_vma_info(m->mm, pa(i), &vi);
		F.vc[mi].valid = rc == 0;
		if (rc == 0)
			F.vc[mi].vi = vi;
	}

	if (!p->mapped) {
		FZ_CHECK(rc == -ENOENT, "mm%u page %llu: VMA where the model has none (rc %d)", mi,
			 (unsigned long long)i, rc);
		rc = simmm_pgtable_translate(simmm_mm_pgtable(m->mm), pa(i), &t);
		FZ_CHECK(rc == -ENOENT, "mm%u page %llu: entry %#llx in an unmapped page", mi,
			 (unsigned long long)i, (unsigned long long)t.entry);
		return;
	}
	FZ_CHECK(rc == 0, "mm%u page %llu: no VMA (rc %d)", mi, (unsigned long long)i, rc);
	FZ_CHECK((vi.vm_flags & (SIMMM_VM_READ | SIMMM_VM_WRITE | SIMMM_VM_EXEC)) ==
			 vm_of_prot(p->prot),
		 "mm%u page %llu: vm_flags %#llx, model prot %d", mi, (unsigned long long)i,
		 (unsigned long long)vi.vm_flags, p->prot);
	FZ_CHECK(!!(vi.vm_flags & SIMMM_VM_SHARED) == p->shared, "mm%u page %llu: VM_SHARED", mi,
		 (unsigned long long)i);
	FZ_CHECK(vi.anon == (!p->obj), "mm%u page %llu: anon %d, model obj %u", mi,
		 (unsigned long long)i, vi.anon, p->obj);
	if (p->obj)
		FZ_CHECK(vi.pgoff + (pa(i) - vi.start) / F.ps == p->pgoff,
			 "mm%u page %llu: pgoff %llu, model %u", mi, (unsigned long long)i,
			 (unsigned long long)(vi.pgoff + (pa(i) - vi.start) / F.ps), p->pgoff);
	FZ_CHECK(((vi.vm_flags & SIMMM_VM_LOCKED) ? MLK_LOCKED : 0) +
			 ((vi.vm_flags & SIMMM_VM_LOCKONFAULT) ? MLK_ONFAULT : 0) == p->locked,
		 "mm%u page %llu: vm_flags %#llx, model lock %u", mi, (unsigned long long)i,
		 (unsigned long long)vi.vm_flags, p->locked);
	FZ_CHECK(vma_fork(vi.vm_flags) == p->fork, "mm%u page %llu: vm_flags %#llx, model fork %u",
		 mi, (unsigned long long)i, (unsigned long long)vi.vm_flags, p->fork);
	rc = simmm_pgtable_translate(simmm_mm_pgtable(m->mm), pa(i), &t);
	FZ_CHECK(rc == 0 || rc == -ENOENT, "mm%u page %llu: translate %d", mi,
		 (unsigned long long)i, rc);
	FZ_CHECK((rc == 0 && simmm_is_guard_swp_entry(t.entry)) == !!p->guard,
		 "mm%u page %llu: entry %#llx, model guard %u", mi, (unsigned long long)i,
		 (unsigned long long)(rc ? 0 : t.entry), p->guard);
	FZ_CHECK((rc == 0 && simmm_is_hwpoison_entry(t.entry)) == (p->hwp == HWP_ENTRY),
		 "mm%u page %llu: entry %#llx, model hwpoison %u", mi, (unsigned long long)i,
		 (unsigned long long)(rc ? 0 : t.entry), p->hwp);
	FZ_CHECK(p->hwp != HWP_SWAP || (rc == 0 && simmm_is_real_swap_entry(t.entry)),
		 "mm%u page %llu: entry %#llx, model: a swap entry of a lost folio", mi,
		 (unsigned long long)i, (unsigned long long)(rc ? 0 : t.entry));
	/* A page of a VM_LOCKED VMA, once present, stays present: reclaim
	 * mlocks what it finds there and never unmaps it. So does a hugetlb
	 * page (never on the LRU), mapped whole by a PMD leaf (nothing else:
	 * no swap, no migration here), until a zap, munmap or move. */
	if ((p->locked || p->htlb) && p->resident)
		FZ_CHECK(rc == 0 && t.present, "mm%u page %llu: %s page gone (entry %#llx)", mi,
			 (unsigned long long)i, p->htlb ? "hugetlb" : "locked",
			 (unsigned long long)t.entry);
	else if ((p->locked || p->htlb) && rc == 0 && t.present)
		p->resident = 1;
	if (p->htlb)
		FZ_CHECK(rc == -ENOENT || (t.present && t.level == SIMMM_LVL_PMD),
			 "mm%u page %llu: hugetlb page entry %#llx at level %d", mi,
			 (unsigned long long)i, (unsigned long long)t.entry, t.level);
	if (rc == -ENOENT && p->htlb && p->shared) {
		/* a shared hugetlb page lives in the pool, not the page cache:
		 * simmm_mm_peek() cannot tell what a fault would map */
		uint8_t b;

		rc = simmm_mm_peek(m->mm, pa(i), &b, 1);
		FZ_CHECK(rc == -EOPNOTSUPP, "mm%u page %llu: peek of a shared hugetlb hole: %d", mi,
			 (unsigned long long)i, rc);
		return;
	}
	if (rc || !t.present) {
		/* No frame mapped (none, swap, a marker): what a read would
		 * fault in, peeked without faulting. */
		peek_slots(mi, i, "peek (not present)", rc == -ENOENT && vi.anon);
		return;
	}
	if (!(p->prot & SIMMM_PROT_WRITE))
		FZ_CHECK(!t.write, "mm%u page %llu: writable entry %#llx, model prot %d", mi,
			 (unsigned long long)i, (unsigned long long)t.entry, p->prot);
	if (!p->prot)
		FZ_CHECK(simmm_pte_protnone(t.entry), "mm%u page %llu: PROT_NONE page entry %#llx",
			 mi, (unsigned long long)i, (unsigned long long)t.entry);
	FZ_CHECK(page_backed(p), "mm%u page %llu: mapped beyond EOF", mi, (unsigned long long)i);
	if (simmm_pte_protnone(t.entry)) {
		peek_slots(mi, i, "peek (PROT_NONE)", false);
		return;
	}
	for (unsigned s = 0; s < NSLOT; s++) {
		uint8_t v = 0xA5;
		bool alt0;
		uint8_t want = expect(p, s, &alt0);

		rc = simmm_page_read(F.sim, t.pfn, slot_off(s), &v, 1);
		FZ_CHECK(rc == 0, "page_read pfn %#llx: %d", (unsigned long long)t.pfn, rc);
		FZ_CHECK(v == want || (alt0 && v == 0),
			 "mm%u page %llu slot %u: frame %#llx holds %#x, model %#x%s", mi,
			 (unsigned long long)i, s, (unsigned long long)t.pfn, v, want,
			 alt0 ? " (or 0)" : "");
	}
}

/* A sweep of peeks begins: the mms may have changed since the last. */
static void peek_sweep_begin(void)
{
	for (unsigned mi = 0; mi < NMM; mi++)
		F.vc[mi].valid = false;
}

static void peek_range(uint64_t i, uint64_t n)
{
	uint64_t lo = i ? i - 1 : 0, hi = i + n + 1 < F.np ? i + n + 1 : F.np;

	peek_sweep_begin();
	for (unsigned mi = 0; mi < NMM; mi++)
		if (F.m[mi].mm)
			for (uint64_t k = lo; k < hi; k++)
				peek_page(mi, k);
}

/* A rotating 32-page chunk, for ops that may change any page. */
static void peek_some(void)
{
	uint64_t n = F.np < 32 ? F.np : 32;

	peek_range(F.peek_cursor % F.np, F.peek_cursor % F.np + n > F.np ? F.np - F.peek_cursor % F.np : n);
	F.peek_cursor += 32;
}

static void check_sim(void)
{
	int bad = simmm_check(F.sim);

	FZ_CHECK(bad == 0, "simmm_check found %d violations", bad);
	FZ_CHECK(simmm_reports_count(F.sim, 0) == 0, "reports pending");
}

/* ---- operations -------------------------------------------------------------------- */

static struct fzmm *pick_mm(struct fz_in *in, unsigned *mi)
{
	unsigned want = fz_u8(in) % NMM;

	for (unsigned k = 0; k < NMM; k++) {
		unsigned c = (want + k) % NMM;

		if (F.m[c].mm) {
			*mi = c;
			return &F.m[c];
		}
	}
	FZ_FAIL("no live mm");
}

static uint64_t dec_page(struct fz_in *in)
{
	return fz_u16(in) % F.np;
}

/* Length in pages: small counts, or (0xf0..0xff) multiples of np/16. */
static uint64_t dec_len(struct fz_in *in, uint64_t i)
{
	uint8_t b = fz_u8(in);
	uint64_t n = b < 0xf0 ? 1u + b % 48u : (uint64_t)(b - 0xef) * (F.np / 16);

	return n > F.np - i ? F.np - i : n;
}

static int dec_prot(uint8_t b)
{
	static const int prots[] = {
		SIMMM_PROT_NONE, SIMMM_PROT_READ, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
		SIMMM_PROT_READ | SIMMM_PROT_EXEC, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
		SIMMM_PROT_WRITE, SIMMM_PROT_EXEC, 7,
	};
	return prots[b % 8];
}

/*
 * May an op fail with -ENOMEM? Under injection, or when RAM ran out during
 * it (an allocation found no free block even after reclaim had its go, as
 * when fork copies the pages of a pinned THP; the op frees what it took on
 * failure, so free memory afterwards does not tell), or when RAM is (nearly)
 * full: shmem folios are not reclaimable in simmm (reclaim.c), so a window
 * full of shared anonymous memory runs out for real.
 */
static bool oom_ok(void)
{
	struct simmm_phys_stats st;

	if (F.inject)
		return true;
	return simmm_phys_stats(F.sim, &st) == 0 &&
	       (st.free_pages < 16 || st.alloc_failures > F.fail0);
}

/* Expect @rc == @want, or -ENOMEM when allowed. Return: the op happened. */
static bool expect_rc(int rc, int want, const char *what)
{
	if (rc == want)
		return true;
	if (rc == -ENOMEM && oom_ok())
		return false;
	FZ_FAIL("%s returned %d (%s), model expects %d", what, rc, simmm_strerror(rc), want);
}

/* Allocate a shmem object model for a MAP_SHARED|MAP_ANONYMOUS mapping. */
static int new_shmem_obj(uint64_t bytes)
{
	struct mobj *o;

	if (F.nobj >= MAXOBJ)
		return -1;
	o = &F.obj[F.nobj];
	memset(o, 0, sizeof(*o));
	o->size = bytes;
	return (int)F.nobj++;
}

/* Something landed outside the window: check its first slots, then drop it. */
static void drop_outside(struct fzmm *m, simmm_addr_t a, uint64_t n, const struct mpage *src)
{
	int rc;

	for (uint64_t k = 0; src && k < n; k++) {
		struct mpage p = src[k];
		uint8_t v = 0;

		if (!may_access(&p, SIMMM_ACCESS_READ) || !page_backed(&p) || poisoned(&p))
			continue;
		rc = simmm_mm_access(m->mm, a + k * F.ps, &v, 1, SIMMM_ACCESS_READ);
		if (rc == -ENOMEM && oom_ok())
			continue;
		FZ_CHECK(rc == 0, "read of moved page %#llx: %d", (unsigned long long)(a + k * F.ps),
			 rc);
		observe(&p, k, 0, v, "moved page");
	}
	rc = simmm_munmap(m->mm, a, n * F.ps);
	if (rc == -ENOMEM && F.inject) {
		/* The mapping merged with a neighbour (the part inside the
		 * window, or an mremap'd VMA): the munmap splits, and the
		 * split's VMA allocation met the injected failure. munmap
		 * changes nothing then; drop it without injection. */
		FZ_CHECK(simmm_fault_inject(F.sim, NULL) == 0, "fault_inject off");
		rc = simmm_munmap(m->mm, a, n * F.ps);
	}
	FZ_CHECK(rc == 0, "munmap outside window: %d", rc);
}

/* The part of [a, a + n pages) inside the window must be free in the model. */
static void check_free_in_window(struct fzmm *m, simmm_addr_t a, uint64_t n)
{
	for (uint64_t k = 0; k < n; k++) {
		simmm_addr_t x = a + k * F.ps;

		if (x >= F.base && x < pa(F.np))
			FZ_CHECK(!m->pg[(x - F.base) / F.ps].mapped,
				 "placed over a mapping at %#llx", (unsigned long long)x);
	}
}

/*
 * Write file @k's initial bytes (0x40 + p / 0x50 + p at offset 0 of page p)
 * the first time an op uses the file, not at setup: 48 zero-filled pages
 * (3 MiB with 64 KiB pages) were most of an empty input's cost. Called
 * before the op's first library call, with its injection suspended, so the
 * op sees the same machine as if the file had been written before it. A
 * write that finds RAM full (unreclaimable shmem) fails and changes nothing:
 * that page stays zero in the model too.
 */
static void file_fill(unsigned k)
{
	struct mobj *o = &F.obj[k];
	uint64_t np = k ? 16 : 32;
	bool inject = F.inject;

	if (o->filled)
		return;
	o->filled = true;
	if (inject)
		FZ_CHECK(simmm_fault_inject(F.sim, NULL) == 0, "fault_inject off");
	F.inject = false; /* only a real shortage may fail the fill */
	for (uint64_t p = 0; p < np; p++) {
		uint8_t v = o->data[p][0];
		long rc = simmm_file_pwrite(o->file, &v, 1, p * F.ps);

		if (rc == -ENOMEM && oom_ok())
			o->data[p][0] = 0;
		else
			FZ_CHECK(rc == 1, "file%u fill page %llu: %ld", k, (unsigned long long)p, rc);
	}
	tr("(file%u filled) ", k);
	F.inject = inject;
	if (inject)
		FZ_CHECK(simmm_fault_inject(F.sim, &F.fc) == 0, "fault_inject");
}

static void op_mmap(struct fz_in *in)
{
	unsigned mi;
	struct fzmm *m = pick_mm(in, &mi);
	uint64_t i = dec_page(in), n = dec_len(in, i);
	int prot = dec_prot(fz_u8(in));
	uint8_t kind = fz_u8(in), pgb = fz_u8(in);
	bool shared = kind & 1, file = kind & 2, fixed = kind & 4, noreplace = kind & 8;
	/* MAP_HUGETLB (PMD size) on a machine that offers it: an anonymous
	 * mapping whose pgoff byte (unused there) is 0xa0..0xbf, which no
	 * in-tree input had when hugetlb came (a MAP_HUGETLB file mapping
	 * needs a hugetlbfs file upstream: not modelled). */
	bool huge = F.hp && !file && (pgb & 0xe0) == 0xa0;
	unsigned fi = (kind >> 5) % 2;
	struct mobj *fo = file ? &F.obj[fi] : NULL;
	uint64_t pgoff = file ? pgb % 48 : 0;
	int flags = (shared ? SIMMM_MAP_SHARED : SIMMM_MAP_PRIVATE) |
		    (file ? 0 : SIMMM_MAP_ANONYMOUS) | (kind & 16 ? SIMMM_MAP_POPULATE : 0) |
		    (fixed ? (noreplace ? SIMMM_MAP_FIXED_NOREPLACE : SIMMM_MAP_FIXED) : 0) |
		    (huge ? SIMMM_MAP_HUGETLB : 0);
	simmm_addr_t out = 0;
	int want = 0, rc, oi = -1;
	uint64_t nn = huge ? hup(n) : n; /* the length rounds up to whole huge pages */

	if (file)
		file_fill(fi);
	tr("mmap mm%u page %llu n %llu prot %d %s%s%s%s%s%s pgoff %llu\n", mi,
	   (unsigned long long)i, (unsigned long long)n, prot, shared ? "shared" : "private",
	   file ? (fi ? " file1(ro)" : " file0") : " anon", fixed ? " FIXED" : "",
	   noreplace ? "_NOREPLACE" : "", kind & 16 ? " POPULATE" : "", huge ? " HUGETLB" : "",
	   (unsigned long long)pgoff);
	touch(i, nn);
	/* A fixed hugetlb address must be huge-page aligned; MAP_FIXED
	 * unmaps what was there first, which must not split a hugetlb VMA
	 * inside a huge page. (A fixed aligned hugetlb range ends inside the
	 * window: its window-clipped end rounds up to the window's end at
	 * most.) */
	if (shared && file && fo->rdonly && (prot & SIMMM_PROT_WRITE))
		want = -EACCES;
	else if (fixed && huge && i % F.hp)
		want = -EINVAL;
	else if (fixed && noreplace && range_any_mapped(m, i, nn))
		want = -EEXIST;
	else if (fixed && !noreplace && (cuts_htlb(m, i) || cuts_htlb(m, i + nn)))
		want = -EINVAL;
	if (shared && !file && want == 0) {
		oi = new_shmem_obj(nn * F.ps);
		if (oi < 0) { /* out of model objects: map private instead */
			shared = false;
			flags = (flags & ~SIMMM_MAP_SHARED) | SIMMM_MAP_PRIVATE;
		}
	}
	rc = simmm_mmap(m->mm, pa(i), n * F.ps, prot, flags, file ? fo->file : NULL, pgoff, &out);
	if (!expect_rc(rc, want, "mmap") || rc) {
		if (oi >= 0 && oi == (int)F.nobj - 1)
			F.nobj--;
		peek_range(i, nn);
		return;
	}
	FZ_CHECK(!(out & (F.ps - 1)), "mmap returned unaligned %#llx", (unsigned long long)out);
	if (fixed)
		FZ_CHECK(out == pa(i), "MAP_FIXED at %#llx returned %#llx",
			 (unsigned long long)pa(i), (unsigned long long)out);
	if (huge) {
		/* huge-page aligned; a hint rounds up to the next huge page
		 * and is taken when that range is free (the window's end is
		 * followed by nothing) */
		uint64_t h = hup(i);

		FZ_CHECK(!(out & (F.hp * F.ps - 1)), "hugetlb mmap at %#llx: not huge-page aligned",
			 (unsigned long long)out);
		FZ_CHECK(fixed || out == pa(h) ||
				 range_any_mapped(m, h, h < F.np ? (nn < F.np - h ? nn : F.np - h) : 0),
			 "hugetlb hint %#llx was free but mmap chose %#llx", (unsigned long long)pa(h),
			 (unsigned long long)out);
	}
	if (out < F.base || out + nn * F.ps > pa(F.np)) {
		/* placed (partly) outside the window: not modelled; unmap it */
		tr("  -> outside the window at %#llx, unmapped\n", (unsigned long long)out);
		check_free_in_window(m, out, nn);
		drop_outside(m, out, nn, NULL);
		if (oi >= 0 && oi == (int)F.nobj - 1)
			F.nobj--;
		return;
	}
	if (out != pa(i)) {
		uint64_t j = (out - F.base) / F.ps;

		tr("  -> placed at page %llu\n", (unsigned long long)j);
		FZ_CHECK(huge || range_any_mapped(m, i, n) ||
				 (F.pmd_pages && n >= F.pmd_pages && !file),
			 "hint %#llx was free but mmap chose %#llx", (unsigned long long)pa(i),
			 (unsigned long long)out);
		FZ_CHECK(!range_any_mapped(m, j, nn), "mmap placed over a mapping at %#llx",
			 (unsigned long long)out);
		i = j;
		touch(i, nn);
	}
	for (uint64_t k = 0; k < nn; k++) {
		struct mpage *p = &m->pg[i + k];

		memset(p, 0, sizeof(*p));
		p->mapped = 1;
		p->prot = (uint8_t)prot;
		p->shared = shared;
		p->htlb = huge;
		/* mlockall(MCL_FUTURE); a hugetlb VMA loses the lock (but is
		 * populated all the same: nothing the model sees) */
		p->locked = huge ? 0 : m->def_lock;
		if (file) {
			p->obj = (uint8_t)(fi + 1);
			p->pgoff = (uint32_t)(pgoff + k);
		} else if (shared) {
			p->obj = (uint8_t)(oi + 1);
			p->pgoff = (uint32_t)k;
		}
	}
	/* MAP_POPULATE write-faults private writable mappings (COW broken up
	 * front) and stops at the first page that fails (beyond EOF; or, and
	 * mmap still succeeds, at an allocation that fails: then only the
	 * pages with their copy got it: a writable entry, or a swap entry
	 * when the populate's own direct reclaim swapped a copy it had just
	 * made back out). A VM_LOCKED mapping (mlockall(MCL_FUTURE)) is
	 * populated too; a VM_LOCKONFAULT one never, MAP_POPULATE or not. */
	if (((kind & 16) || m->def_lock == MLK_LOCKED) && !(m->def_lock & MLK_ONFAULT) &&
	    !shared && !huge && (prot & SIMMM_PROT_WRITE)) {
		bool partial = oom_ok();

		for (uint64_t k = 0; k < n && page_backed(&m->pg[i + k]); k++) {
			struct simmm_translation t;

			if (partial &&
			    (simmm_pgtable_translate(simmm_mm_pgtable(m->mm), pa(i + k), &t) ||
			     !(t.present ? t.write : simmm_is_real_swap_entry(t.entry))))
				continue;
			materialize(&m->pg[i + k]);
		}
	}
	peek_range(i, nn);
}

static void op_munmap(struct fz_in *in)
{
	unsigned mi;
	struct fzmm *m = pick_mm(in, &mi);
	uint64_t i = dec_page(in), n = dec_len(in, i);
	int rc;

	tr("munmap mm%u page %llu n %llu\n", mi, (unsigned long long)i, (unsigned long long)n);
	touch(i, n);
	rc = simmm_munmap(m->mm, pa(i), n * F.ps);
	/* a hugetlb VMA is not split inside a huge page: nothing changes */
	if (expect_rc(rc, cuts_htlb(m, i) || cuts_htlb(m, i + n) ? -EINVAL : 0, "munmap") && !rc)
		for (uint64_t k = i; k < i + n; k++)
			memset(&m->pg[k], 0, sizeof(m->pg[k]));
	peek_range(i, n);
}

/* ---- mlock (the mprotect op's prot bytes 0xf8..0xff) -------------------------------- */

/* VM_LOCKED / VM_LOCKONFAULT of page @i's VMA, as MLK_* (0 for no VMA). */
static uint8_t vma_lock(struct fzmm *m, uint64_t i)
{
	struct simmm_vma_info vi;

	if (simmm_vma_info(m->mm, pa(i), &vi))
		return 0;
	return (uint8_t)(((vi.vm_flags & SIMMM_VM_LOCKED) ? MLK_LOCKED : 0) |
			 ((vi.vm_flags & SIMMM_VM_LOCKONFAULT) ? MLK_ONFAULT : 0));
}

/* Page @k was populated, or may have been: a private writable page got its
 * copy if it has a writable entry now (a write fault broke COW; the copy
 * is mlocked, so no reclaim swapped it out meanwhile). @must: it was
 * populated for sure (mlock() got past it): present, and COW broken. */
static void populated(struct fzmm *m, unsigned mi, uint64_t k, bool must)
{
	struct mpage *p = &m->pg[k];
	struct simmm_translation t;
	bool pres = !simmm_pgtable_translate(simmm_mm_pgtable(m->mm), pa(k), &t) && t.present;

	if (must) {
		FZ_CHECK(pres, "mm%u page %llu: not present after mlock", mi, (unsigned long long)k);
		p->resident = 1;
	}
	if (p->shared || !(p->prot & SIMMM_PROT_WRITE))
		return;
	if (must)
		FZ_CHECK(t.write, "mm%u page %llu: mlock left COW unbroken", mi,
			 (unsigned long long)k);
	if (pres && t.write)
		materialize(p);
}

/* Adopt @want as page @k's lock flags, or, when the op may have stopped
 * early (@partial: an injected split failure), what its VMA says if that
 * is the old flags or @want. */
static void lock_adopt(struct fzmm *m, unsigned mi, uint64_t k, uint8_t want, bool partial)
{
	struct mpage *p = &m->pg[k];
	uint8_t have = vma_lock(m, k);

	if (p->htlb)
		want = 0; /* mlock_fixup() leaves hugetlb VMAs alone */
	FZ_CHECK(have == want || (partial && have == p->locked),
		 "mm%u page %llu: lock flags %u, model %u -> %u", mi, (unsigned long long)k, have,
		 p->locked, want);
	p->locked = have;
	if (!have && !p->htlb) /* a hugetlb page stays present unlocked too */
		p->resident = 0;
}

/*
 * mlock(), mlock2(MLOCK_ONFAULT), munlock() of [i, i + n): every page up
 * to the first hole gets the new flags (-ENOMEM at the hole, nothing
 * populated); then mlock() populates in address order and stops, -ENOMEM,
 * at the first page of a PROT_NONE VMA or beyond EOF. Every page before
 * that is present, COW broken in private writable mappings. mlock2(ONFAULT)
 * populates the same way, but only the hugetlb pages (their VMAs get no
 * VM_LOCKONFAULT). Out of memory while populating: -EAGAIN, the flags set.
 * Under injection a VMA split may fail first: -ENOMEM with the VMAs before
 * it changed.
 */
static void op_mlock_range(struct fzmm *m, unsigned mi, uint64_t i, uint64_t n, unsigned sub)
{
	uint8_t want_lock = sub == 2 ? 0 : sub == 1 ? MLK_LOCKED | MLK_ONFAULT : MLK_LOCKED;
	uint64_t hole = i + n, bad = i + n;
	int want = 0, rc;
	bool partial, hfail;

	for (uint64_t k = i; k < i + n; k++)
		if (!m->pg[k].mapped) {
			hole = k;
			want = -ENOMEM;
			break;
		}
	/* mlock2(MLOCK_ONFAULT) populates too, but only the hugetlb VMAs:
	 * mlock_fixup() sets no VM_LOCKONFAULT on them, so
	 * populate_vma_page_range() does not skip them. */
	for (uint64_t k = i; sub != 2 && !want && k < i + n; k++)
		if ((sub == 0 || m->pg[k].htlb) &&
		    (!m->pg[k].prot || m->pg[k].guard || !page_backed(&m->pg[k]) ||
		     gup_poisoned(m, k))) {
			bad = k;
			want = -ENOMEM;
			break;
		}
	rc = sub == 2 ? simmm_munlock(m->mm, pa(i), n * F.ps)
		      : simmm_mlock2(m->mm, pa(i), n * F.ps, sub == 1 ? SIMMM_MLOCK_ONFAULT : 0);
	tr("  -> %d\n", rc);
	/* The populate may fault a hugetlb page the pool cannot give (SIGBUS,
	 * which GUP returns as -EFAULT and mlock() as -ENOMEM) before the
	 * first page it must stop at. */
	hfail = rc == -ENOMEM && sub != 2 && hole == i + n && oom_ok() &&
		range_any_htlb(m, i, bad - i);
	if (rc != want &&
	    !(rc == -EAGAIN && (sub == 0 || (sub == 1 && range_any_htlb(m, i, bad - i))) &&
	      hole == i + n && oom_ok()) &&
	    !(rc == -ENOMEM && F.inject) && !hfail)
		FZ_FAIL("mlock op %u returned %d (%s), model expects %d", sub, rc, simmm_strerror(rc),
			want);
	partial = rc == -ENOMEM && F.inject;
	for (uint64_t k = i; k < hole; k++)
		lock_adopt(m, mi, k, want_lock, partial);
	if (sub == 2 || hole < i + n)
		return;
	for (uint64_t k = i; k < i + n; k++)
		if (sub == 0 || m->pg[k].htlb)
			populated(m, mi, k, rc == want && !partial && !hfail && k < bad);
}

/* mlockall() and munlockall(): every VMA (the window's pages) gets the
 * MCL_CURRENT flags unless only MCL_FUTURE was asked for, def_flags the
 * MCL_FUTURE ones; MCL_CURRENT without MCL_ONFAULT populates everything,
 * errors ignored. Never fails here: whole VMAs need no split. */
static void op_mlock_all(struct fzmm *m, unsigned mi, unsigned sub)
{
	static const int flags[] = {
		[3] = SIMMM_MCL_CURRENT,
		[4] = SIMMM_MCL_CURRENT | SIMMM_MCL_FUTURE,
		[5] = SIMMM_MCL_FUTURE | SIMMM_MCL_ONFAULT,
		[7] = SIMMM_MCL_CURRENT | SIMMM_MCL_ONFAULT,
	};
	int f = sub == 6 ? 0 : flags[sub], rc;
	uint8_t cur = (f & SIMMM_MCL_CURRENT) ? MLK_LOCKED | (f & SIMMM_MCL_ONFAULT ? MLK_ONFAULT : 0)
					       : 0;

	rc = sub == 6 ? simmm_munlockall(m->mm) : simmm_mlockall(m->mm, f);
	tr("  -> %d\n", rc);
	FZ_CHECK(rc == 0, "mlockall(%#x) returned %d", f, rc);
	m->def_lock = (f & SIMMM_MCL_FUTURE) ? MLK_LOCKED | (f & SIMMM_MCL_ONFAULT ? MLK_ONFAULT : 0)
					     : 0;
	for (uint64_t k = 0; k < F.np; k++) {
		if (!m->pg[k].mapped || f == (SIMMM_MCL_FUTURE | SIMMM_MCL_ONFAULT))
			continue;
		lock_adopt(m, mi, k, cur, false);
		if (cur == MLK_LOCKED)
			populated(m, mi, k, false);
	}
}

static void op_mlock(struct fzmm *m, unsigned mi, uint64_t i, uint64_t n, unsigned sub)
{
	static const char *const names[] = {
		"mlock", "mlock2 ONFAULT", "munlock", "mlockall CURRENT",
		"mlockall CURRENT|FUTURE", "mlockall FUTURE|ONFAULT", "munlockall",
		"mlockall CURRENT|ONFAULT",
	};

	tr("%s mm%u page %llu n %llu\n", names[sub], mi, (unsigned long long)i,
	   (unsigned long long)n);
	if (sub < 3) {
		touch(i, n);
		op_mlock_range(m, mi, i, n, sub);
		peek_range(i, n);
		return;
	}
	op_mlock_all(m, mi, sub);
	peek_sweep_begin();
	for (uint64_t k = 0; k < F.np; k++)
		if (F.touched[k])
			peek_page(mi, k);
}

static void op_mprotect(struct fz_in *in)
{
	unsigned mi;
	struct fzmm *m = pick_mm(in, &mi);
	uint64_t i = dec_page(in), n = dec_len(in, i);
	uint8_t pb = fz_u8(in);
	int prot = dec_prot(pb), want = 0, rc;

	/* mlock came after the corpus: prot bytes 0xf8..0xff select it (and
	 * its kind, the low 3 bits); every other byte decodes mod 8 as
	 * before, so old inputs keep their protection. */
	if (pb >= 0xf8) {
		op_mlock(m, mi, i, n, pb & 7);
		return;
	}

	tr("mprotect mm%u page %llu n %llu prot %d\n", mi, (unsigned long long)i,
	   (unsigned long long)n, prot);
	touch(i, n);
	if (!range_all_mapped(m, i, n)) {
		want = -ENOMEM;
	} else if (prot & SIMMM_PROT_WRITE) {
		for (uint64_t k = i; k < i + n; k++)
			if (m->pg[k].shared && pobj(&m->pg[k])->rdonly)
				want = -EACCES;
	}
	/* After those checks (simmm's mprotect changes nothing unless all
	 * of it can be done): the VMAs are split at the range's ends, which
	 * a hugetlb VMA refuses inside a huge page. */
	if (!want && (cuts_htlb(m, i) || cuts_htlb(m, i + n)))
		want = -EINVAL;
	rc = simmm_mprotect(m->mm, pa(i), n * F.ps, prot);
	if (expect_rc(rc, want, "mprotect") && !rc)
		for (uint64_t k = i; k < i + n; k++)
			m->pg[k].prot = (uint8_t)prot;
	peek_range(i, n);
}

/* MADV_POPULATE_(READ|WRITE) of [i, i + n): the first page that cannot be
 * faulted ends it (a hole -ENOMEM; a protection without the access
 * -EINVAL; a guard page or past EOF -EFAULT); with an allocation failure, -ENOMEM
 * anywhere before. A write populate breaks COW: a private file page got
 * its copy if it now has a writable entry or a swap entry (the populate's
 * own direct reclaim may have swapped the copy out; an uncopied private
 * file page is never swapped). */
static void madvise_populate(struct fzmm *m, uint64_t i, uint64_t n, bool write)
{
	int want = 0, rc;
	uint64_t bad;

	for (bad = i; bad < i + n; bad++) {
		const struct mpage *p = &m->pg[bad];

		if (!p->mapped)
			want = -ENOMEM;
		else if (!(p->prot & (write ? SIMMM_PROT_WRITE : SIMMM_PROT_READ)))
			want = -EINVAL;
		else if (p->guard || !page_backed(p))
			want = -EFAULT;
		else if (gup_poisoned(m, bad))
			want = -EHWPOISON; /* FOLL_HWPOISON */
		if (want)
			break;
	}
	rc = simmm_madvise(m->mm, pa(i), n * F.ps,
			   write ? SIMMM_MADV_POPULATE_WRITE : SIMMM_MADV_POPULATE_READ);
	/* A hugetlb page the pool cannot give is SIGBUS: -EFAULT there. */
	if (rc == -EFAULT && oom_ok() && range_any_htlb(m, i, bad - i))
		tr("  -> -EFAULT: no huge page\n");
	else
		expect_rc(rc, want, "madvise POPULATE");
	for (uint64_t k = i; write && k < i + n; k++) {
		struct mpage *p = &m->pg[k];
		struct simmm_translation t;

		if (!p->mapped || p->shared || !p->obj || p->own || !(p->prot & SIMMM_PROT_WRITE))
			continue;
		if (!simmm_pgtable_translate(simmm_mm_pgtable(m->mm), pa(k), &t) &&
		    (t.present ? t.write : simmm_is_real_swap_entry(t.entry)))
			materialize(p);
	}
}

/*
 * The VMA-flag advice DONTFORK / DOFORK (@bit FK_DONTCOPY) or WIPEONFORK /
 * KEEPONFORK (FK_WIPE) of [i, i + n): set unless the range's first mapped
 * page has it already, then clear. VMA by VMA: WIPEONFORK refuses a file
 * or shared VMA with -EINVAL, the pages before it keep the new flag; holes
 * give -ENOMEM after the rest. An allocation failure may stop it at any
 * VMA: each page then has its old or its new flag, as its VMA says.
 */
static void madvise_fork_flag(struct fzmm *m, unsigned mi, uint64_t i, uint64_t n, uint8_t bit)
{
	static const int advs[2][2] = {{SIMMM_MADV_DOFORK, SIMMM_MADV_DONTFORK},
				       {SIMMM_MADV_KEEPONFORK, SIMMM_MADV_WIPEONFORK}};
	bool set = true;
	uint64_t stop = i + n;
	int want = range_all_mapped(m, i, n) ? 0 : -ENOMEM, rc, adv;

	for (uint64_t k = i; k < i + n; k++)
		if (m->pg[k].mapped) {
			set = !(m->pg[k].fork & bit);
			break;
		}
	adv = advs[bit == FK_WIPE][set];
	tr("  %s\n", adv == SIMMM_MADV_DONTFORK    ? "DONTFORK"
		     : adv == SIMMM_MADV_DOFORK    ? "DOFORK"
		     : adv == SIMMM_MADV_WIPEONFORK ? "WIPEONFORK"
						    : "KEEPONFORK");
	if (adv == SIMMM_MADV_WIPEONFORK) {
		for (uint64_t k = i; k < i + n; k++)
			if (m->pg[k].mapped && (m->pg[k].shared || m->pg[k].obj || m->pg[k].htlb)) {
				want = -EINVAL;
				stop = k;
				break;
			}
	} else if (cuts_htlb(m, i) && !(m->pg[i].fork & bit) == set) {
		/* a hugetlb VMA that changes is split at the range's ends:
		 * refused inside a huge page, before anything changed there */
		want = -EINVAL;
		stop = i;
	} else if (cuts_htlb(m, i + n) && !(m->pg[i + n].fork & bit) == set) {
		struct simmm_vma_info vi;
		uint64_t v0;

		FZ_CHECK(simmm_vma_info(m->mm, pa(i + n), &vi) == 0, "no VMA at a hugetlb page");
		v0 = (vi.start - F.base) / F.ps;
		want = -EINVAL;
		stop = v0 > i ? v0 : i;
	}
	rc = simmm_madvise(m->mm, pa(i), n * F.ps, adv);
	if (rc == want || (rc == -ENOMEM && oom_ok())) {
		/* -ENOMEM for a hole and for a failed split look alike. */
		bool partial = rc == -ENOMEM && oom_ok();

		for (uint64_t k = i; k < stop; k++) {
			struct mpage *p = &m->pg[k];
			struct simmm_vma_info vi;
			uint8_t nf = set ? (uint8_t)(p->fork | bit) : (uint8_t)(p->fork & ~bit);
			uint8_t have;

			if (!p->mapped)
				continue;
			have = simmm_vma_info(m->mm, pa(k), &vi) ? 0 : vma_fork(vi.vm_flags);
			FZ_CHECK(have == nf || (partial && have == p->fork),
				 "mm%u page %llu: fork flags %u, model %u -> %u", mi,
				 (unsigned long long)k, have, p->fork, nf);
			p->fork = have;
		}
	} else {
		expect_rc(rc, want, "madvise fork flags");
	}
}

/*
 * MADV_GUARD_INSTALL / MADV_GUARD_REMOVE of [i, i + n): VMA by VMA,
 * install refuses a VM_LOCKED VMA with -EINVAL (the pages before it
 * guarded); holes give -ENOMEM after the rest. Install zaps the pages it
 * guards (a private page loses its copy); remove only clears markers. An
 * allocation failure (the anon_vma, a page table) may stop install
 * anywhere: each page then has a marker, or was zapped (no entry left), or
 * is as it was; the model adopts what the entries say.
 */
static void madvise_guard(struct fzmm *m, unsigned mi, uint64_t i, uint64_t n, bool install)
{
	int want = range_all_mapped(m, i, n) ? 0 : -ENOMEM, rc;
	uint64_t stop = i + n;
	bool partial;

	/* is_valid_guard_vma(): no hugetlb VMA, nor a VM_LOCKED one to install */
	for (uint64_t k = i; k < i + n; k++)
		if (m->pg[k].mapped && (m->pg[k].htlb || (install && m->pg[k].locked))) {
			want = -EINVAL;
			stop = k;
			break;
		}
	rc = simmm_madvise(m->mm, pa(i), n * F.ps,
			   install ? SIMMM_MADV_GUARD_INSTALL : SIMMM_MADV_GUARD_REMOVE);
	tr("  -> %d\n", rc);
	/* -ENOMEM for a hole and for a failed allocation look alike. */
	partial = install && rc == -ENOMEM && oom_ok();
	if (rc != want && !partial)
		FZ_FAIL("madvise GUARD_%s returned %d (%s), model expects %d",
			install ? "INSTALL" : "REMOVE", rc, simmm_strerror(rc), want);
	for (uint64_t k = i; k < stop; k++) {
		struct mpage *p = &m->pg[k];
		struct simmm_translation t;
		int trc;

		if (!p->mapped)
			continue;
		trc = simmm_pgtable_translate(simmm_mm_pgtable(m->mm), pa(k), &t);
		if (!install) {
			p->guard = 0;
			continue;
		}
		if (trc == 0 && simmm_is_guard_swp_entry(t.entry)) {
			model_zap(p);
			p->guard = 1;
			continue;
		}
		FZ_CHECK(partial, "mm%u page %llu: no guard marker after install (entry %#llx)", mi,
			 (unsigned long long)k, (unsigned long long)(trc ? 0 : t.entry));
		if (trc == -ENOENT)
			model_zap(p); /* zapped before the failure */
	}
}

/*
 * MADV_REMOVE of [i, i + n) (madvise_remove(), VMA by VMA as
 * madvise_walk_vmas() goes, the mmap lock dropped around each punch):
 * -EINVAL at the first VM_LOCKED VMA or one without a file (private
 * anonymous), -EACCES at the first that is not VM_SHARED with VM_MAYWRITE
 * (a private file mapping, a shared one of the read-only file1); the VMAs
 * before it are punched; holes give -ENOMEM after the rest. Each punched
 * VMA part is vfs_fallocate(PUNCH_HOLE | KEEP_SIZE) of the object pages it
 * maps: whole pages, unmapped everywhere without even_cows (private COW
 * copies stay), read as zeros. A private hugetlb VMA has a hugetlbfs file
 * upstream: -EACCES. A shared one is punched as hugetlbfs_punch_hole()
 * does: the huge pages the range covers whole are unmapped from every
 * mapping and leave the file, the partial ones are zeroed in place (they
 * stay mapped); either way the range reads zeros.
 */
static void madvise_remove(struct fzmm *m, uint64_t i, uint64_t n)
{
	int want = range_all_mapped(m, i, n) ? 0 : -ENOMEM, rc;
	uint64_t stop = i + n;

	for (uint64_t k = i; k < i + n; k++) {
		const struct mpage *p = &m->pg[k];
		int e = !p->mapped			       ? 0
			: p->locked || (!p->obj && !p->htlb) ? -EINVAL
			: !p->shared || pobj(p)->rdonly      ? -EACCES
							       : 0;

		if (e) {
			want = e;
			stop = k;
			break;
		}
	}
	rc = simmm_madvise(m->mm, pa(i), n * F.ps, SIMMM_MADV_REMOVE);
	tr("  -> %d\n", rc);
	if (!expect_rc(rc, want, "madvise REMOVE"))
		return;
	for (uint64_t k = i; k < stop; k++) {
		struct mpage *p = &m->pg[k];
		uint64_t h0 = k - p->pgoff % (F.hp ? F.hp : 1);

		if (!p->mapped)
			continue;
		model_zero_obj(pobj(p), (uint64_t)p->pgoff * F.ps, ((uint64_t)p->pgoff + 1) * F.ps);
		/* a poisoned shmem folio leaves the cache with the rest (the
		 * hwpoison entries stay: no even_cows) */
		pobj(p)->poison[p->pgoff] = 0;
		/* hugetlbfs_punch_hole(): a huge page the range covers whole is
		 * unmapped everywhere and leaves the file, a partial one is
		 * zeroed in place (hugetlbfs_zero_partial_page()) */
		if (!p->htlb)
			model_unmap_obj(p->obj - 1u, p->pgoff, p->pgoff, false);
		else if (h0 >= i && h0 + F.hp <= i + n && k == h0)
			model_unmap_obj(p->obj - 1u, p->pgoff, p->pgoff + F.hp - 1, false);
	}
}

/* Peek every touched page of every mm (an op that may change any). */
static void peek_all(void)
{
	peek_sweep_begin();
	for (unsigned mi = 0; mi < NMM; mi++)
		for (uint64_t k = 0; F.m[mi].mm && k < F.np; k++)
			if (F.touched[k])
				peek_page(mi, k);
}

/* ---- memory failure (advice bytes 0xe6, 0xe5, 0xe3) --------------------------------- */

static bool pins_held(void);

/* One page's entry, as simmm_pgtable_translate() gives it. */
struct mfsnap {
	bool ok, pres;
	simmm_entry_t e;
	simmm_pfn_t pfn;
};

static void mf_snap(struct mfsnap (*sn)[NP_MAX])
{
	for (unsigned mi = 0; mi < NMM; mi++)
		for (uint64_t k = 0; F.m[mi].mm && k < F.np; k++) {
			struct simmm_translation t;
			struct mfsnap *x = &sn[mi][k];

			x->ok = F.m[mi].pg[k].mapped &&
				simmm_pgtable_translate(simmm_mm_pgtable(F.m[mi].mm), pa(k), &t) == 0;
			x->pres = x->ok && t.present;
			x->e = x->ok ? t.entry : 0;
			x->pfn = x->pres ? t.pfn : 0;
		}
}

/* Page @p reads object page (@o, @pg) (not a private copy). */
static bool reads_obj(const struct mpage *p, unsigned o, uint32_t pg)
{
	return p->mapped && p->obj == o + 1 && p->pgoff == pg && (p->shared || !p->own);
}

/*
 * A dirty page-cache page of file @oi memory failure truncated out
 * (me_pagecache_dirty(): the data existed only in memory): the next fault
 * or read(2) reads what the backing store has, which the model does not
 * follow (reclaim writes back when it likes). Learn it through a mapping
 * outside the window, read with simmm_mm_peek(), which allocates nothing
 * and reads the store when the cache has no page.
 */
static void mf_learn(unsigned oi, uint32_t pg)
{
	struct mobj *o = &F.obj[oi];
	simmm_addr_t out = 0;
	int rc = simmm_mmap(F.m[0].mm, pa(F.np) + 16 * F.ps, F.ps, SIMMM_PROT_READ,
			    SIMMM_MAP_PRIVATE, o->file, pg, &out);

	FZ_CHECK(rc == 0, "mmap to read file%u page %u back: %d", oi, pg, rc);
	FZ_CHECK(out + F.ps <= F.base || out >= pa(F.np), "read-back mapping %#llx in the window",
		 (unsigned long long)out);
	for (unsigned s = 0; s < NSLOT; s++) {
		rc = simmm_mm_peek(F.m[0].mm, out + slot_off(s), &o->data[pg][s], 1);
		FZ_CHECK(rc == 0, "peek of file%u page %u: %d", oi, pg, rc);
	}
	tr("  -> file%u page %u reads %#x %#x %#x from the store\n", oi, pg, o->data[pg][0],
	   o->data[pg][1], o->data[pg][2]);
	FZ_CHECK(simmm_munmap(F.m[0].mm, out, F.ps) == 0, "munmap of the read-back mapping");
}

/* unpoison_memory() of a frame an earlier op poisoned (@sel picks it). It
 * goes back to the allocator only when nothing but the poison holds it: no
 * cache (a poisoned shmem folio stays in its cache, a lost swap-cache folio
 * in the swap cache), no pin; entries naming it stay hwpoison entries. */
static void mf_unpoison(unsigned sel)
{
	unsigned k;
	simmm_pfn_t pfn;
	int rc;

	if (!F.nhw) {
		tr("unpoison: nothing poisoned\n");
		return;
	}
	k = sel % F.nhw;
	pfn = F.hwpfn[k];
	rc = simmm_unpoison_memory(F.sim, pfn);
	tr("unpoison pfn %#llx -> %d\n", (unsigned long long)pfn, rc);
	FZ_CHECK(rc == 0 || rc == -EBUSY, "unpoison rc %d", rc);
	FZ_CHECK(rc == 0 || !F.hwfree[k] || pins_held(), "unpoison of a frame held by nothing: %d",
		 rc);
	if (rc == 0) {
		struct simmm_page_info pi;

		FZ_CHECK(simmm_page_info(F.sim, pfn, &pi) == 0 && pi.free, "unpoisoned frame not free");
		FZ_CHECK(simmm_unpoison_memory(F.sim, pfn) == -EBUSY, "unpoisoned twice");
		F.hwpfn[k] = F.hwpfn[--F.nhw];
		F.hwfree[k] = F.hwfree[F.nhw];
	}
	peek_all();
}

/* The lost data of a swap-cache folio memory failure could not tell
 * (MF_FAILED: a pin held it too): fault the page at @k in and see. */
static bool mf_probe_lost(struct fzmm *m, uint64_t k)
{
	unsigned ret;

	FZ_CHECK(simmm_mmap_read_lock(m->mm) == 0, "mmap_read_lock");
	ret = simmm_handle_mm_fault(m->mm, pa(k), 0);
	if (!(ret & SIMMM_VM_FAULT_RETRY))
		simmm_mmap_read_unlock(m->mm);
	tr("  -> probe fault %#x\n", ret);
	return ret & SIMMM_VM_FAULT_HWPOISON;
}

/*
 * soft_offline_page() of the frame page @i of mm @mi maps (advice byte
 * 0xe2; simmm_soft_offline_page()), without injection. Nothing a process
 * can see changes: contents (the peeks), protections, presence. 0: every
 * mapping of the frame, in every mm, now maps one new frame (migration
 * through the reverse map; a THP is split first, its other pages stay)
 * and the old frame is held poisoned, never handed out again; a frame
 * poisoned already is left as it is (0). -EBUSY (pinned, not movable, a
 * hugetlb page) and -EIO (not on the LRU: the zero page, a folio someone
 * isolated): every mapping as it was.
 */
static void soft_offline(unsigned mi, uint64_t i)
{
	static struct mfsnap before[NMM][NP_MAX], after[NMM][NP_MAX];
	struct simmm_mf_stats s0, s1;
	struct simmm_page_info pi, po;
	/* a shmem page memory_failure() left mapped is poisoned already */
	bool was = poisoned(&F.m[mi].pg[i]);
	simmm_pfn_t x, y = 0;
	int rc;

	if (F.inject) { /* the op runs without injection */
		FZ_CHECK(simmm_fault_inject(F.sim, NULL) == 0, "fault_inject off");
		F.inject = false;
	}
	mf_snap(before);
	if (!before[mi][i].pres) {
		tr("  -> no frame mapped\n");
		peek_range(i, 1);
		return;
	}
	x = before[mi][i].pfn;
	FZ_CHECK(simmm_page_info(F.sim, x, &pi) == 0, "page_info");
	FZ_CHECK(simmm_memory_failure_stats(F.sim, &s0) == 0, "mf stats");
	rc = simmm_soft_offline_page(F.sim, x);
	FZ_CHECK(simmm_memory_failure_stats(F.sim, &s1) == 0, "mf stats");
	tr("  pfn %#llx order %u refcount %d mapcount %d -> %d\n", (unsigned long long)x, pi.order,
	   pi.refcount, pi.mapcount, rc);
	FZ_CHECK(rc == 0 || rc == -EBUSY || rc == -EIO, "soft offline of pfn %#llx: %d",
		 (unsigned long long)x, rc);
	FZ_CHECK(s1.poisoned - s0.poisoned == (rc == 0 && !was),
		 "soft offline of pfn %#llx (rc %d): %llu frames poisoned", (unsigned long long)x, rc,
		 (unsigned long long)(s1.poisoned - s0.poisoned));
	mf_snap(after);
	for (unsigned j = 0; j < NMM; j++)
		for (uint64_t k = 0; F.m[j].mm && k < F.np; k++) {
			const struct mfsnap *b = &before[j][k], *a = &after[j][k];

			if (!F.m[j].pg[k].mapped)
				continue;
			FZ_CHECK(a->pres == b->pres, "mm%u page %llu: soft offline %s it", j,
				 (unsigned long long)k, b->pres ? "unmapped" : "mapped");
			if (!b->pres)
				continue;
			if (b->pfn != x || rc || was) {
				FZ_CHECK(a->pfn == b->pfn, "mm%u page %llu: soft offline moved frame "
					 "%#llx to %#llx", j, (unsigned long long)k,
					 (unsigned long long)b->pfn, (unsigned long long)a->pfn);
				continue;
			}
			if (!y)
				y = a->pfn;
			FZ_CHECK(a->pfn != x && a->pfn == y, "mm%u page %llu: frame %#llx after soft "
				 "offline: %#llx (the others: %#llx)", j, (unsigned long long)k,
				 (unsigned long long)x, (unsigned long long)a->pfn, (unsigned long long)y);
		}
	if (rc == 0 && !was) {
		/* held for its poison: allocated, one reference, never reused */
		FZ_CHECK(simmm_page_info(F.sim, x, &po) == 0, "page_info");
		FZ_CHECK(!po.free && po.refcount == 1 && !po.mapcount,
			 "soft-offlined frame %#llx: free %d refcount %d mapcount %d",
			 (unsigned long long)x, po.free, po.refcount, po.mapcount);
	}
	peek_range(i, 1);
	peek_some();
}

/*
 * MADV_HWPOISON of page @i of mm @mi (0xe6: madvise_inject_error(): a read
 * GUP of the page, then memory_failure() of it with MF_ACTION_REQUIRED) or
 * memory_failure() of the frame page @i maps (0xe5, one more byte: bit 0
 * MF_ACTION_REQUIRED with this mm as the current process, bit 1 MF_MUST_KILL
 * unless the page is a regular file's), both MF_SW_SIMULATED, without
 * injection. The page is got as GUP would: -EFAULT where it cannot be (a
 * hole, a guard, past EOF, no PROT_READ, poisoned already). The zero page
 * and hugetlb pages are not handled (-EBUSY, MF_IGNORED). Otherwise the
 * frame's mappings in every mm go (TTU_IGNORE_MLOCK: locked pages too):
 *  - an anonymous page not in the swap cache: hwpoison entries;
 *  - an anonymous page in the swap cache: swap entries; a clean folio
 *    leaves the swap cache (the slot has the data: MF_RECOVERED), a dirty
 *    one stays there, poisoned, and every swap entry of its slot SIGBUSes
 *    (me_swapcache_dirty(), MF_DELAYED);
 *  - a clean page of file0/file1 with clean ptes: no entries (the data is
 *    on the store, the next fault reads it again); a dirty one: hwpoison
 *    entries, the page leaves the cache, the store's bytes are what the
 *    file reads from then on, and the next fsync / msync(MS_SYNC) of it
 *    fails with -EIO (me_pagecache_dirty());
 *  - a shmem page: hwpoison entries, the folio stays in the cache poisoned:
 *    every fault of it SIGBUSes until MADV_REMOVE punches it out.
 * Which it was is read back: the entries, and simmm_memory_failure_stats()
 * (recovered / delayed, or failed when a pin holds the page: -EBUSY, the
 * same done). No mapping of the frame may remain. A THP is split first;
 * one that may be pinned is not poisoned here (its split fails: -EHWPOISON,
 * kill_procs_now(), the page poisoned but left mapped: not modelled).
 */
static void madvise_hwpoison(struct fzmm *m, unsigned mi, uint64_t i, uint8_t ab,
			     struct fz_in *in)
{
	static struct mfsnap before[NMM][NP_MAX], after[NMM][NP_MAX];
	struct mpage *tp = &m->pg[i];
	bool madv = ab == 0xe6, xk, lost = false;
	uint8_t fb = madv ? 0 : fz_u8(in);
	bool file = tp->obj && tp->obj <= 2 && (tp->shared || !tp->own);
	/* (shared hugetlb memory has a shmem object in the model too) */
	bool shmem = tp->shared && tp->obj > 2 && !tp->htlb;
	int flags = SIMMM_MF_SW_SIMULATED | (fb & 1 ? SIMMM_MF_ACTION_REQUIRED : 0) |
		    (fb & 2 && !file ? SIMMM_MF_MUST_KILL : 0);
	struct simmm_mf_stats s0, s1;
	simmm_entry_t swp = 0;
	simmm_pfn_t x = 0;
	uint64_t dI, dF, dD, dR, nhw = 0;
	int rc, want = 0;

	if (F.inject) { /* the op runs without injection */
		FZ_CHECK(simmm_fault_inject(F.sim, NULL) == 0, "fault_inject off");
		F.inject = false;
	}
	mf_snap(before);
	xk = before[mi][i].pres;
	x = before[mi][i].pfn;
	if (!madv && !xk) {
		tr("  -> no frame mapped\n");
		peek_range(i, 1);
		return;
	}
	if (xk) {
		struct simmm_page_info pi;

		FZ_CHECK(simmm_page_info(F.sim, x, &pi) == 0, "page_info");
		tr("  pfn %#llx: order %u refcount %d mapcount %d pincount %d flags %#x\n",
		   (unsigned long long)x, pi.order, pi.refcount, pi.mapcount, pi.pincount, pi.flags);
		/* A THP that may be pinned cannot be split (-EHWPOISON, the
		 * page poisoned and left mapped: kill_procs_now()); nor can a
		 * FOLL_PIN'd anonymous page be unmapped (try_to_unmap_one()
		 * cannot unshare it: MF_FAILED, SIGKILL, still mapped). The
		 * model has no page that is poisoned yet mapped: not done. */
		if ((pi.order && pins_held()) || pi.pincount || pi.refcount >= SIMMM_GUP_PIN_COUNTING_BIAS) {
			tr("  -> may be pinned: not poisoned\n");
			peek_range(i, 1);
			return;
		}
	}
	if (madv && (!tp->mapped || tp->guard || !page_backed(tp) ||
		     !(tp->prot & SIMMM_PROT_READ) || gup_poisoned(m, i)))
		want = -EFAULT;
	/* a frame poisoned already (a shmem page left mapped): -EHWPOISON
	 * (kill_accessing_process() finds it mapped), MF_FAILED */
	if (!want && xk && poisoned(tp))
		want = -EHWPOISON;
	FZ_CHECK(simmm_memory_failure_stats(F.sim, &s0) == 0, "mf stats");
	rc = madv ? simmm_madvise(m->mm, pa(i), F.ps, SIMMM_MADV_HWPOISON)
		  : simmm_memory_failure(F.sim, x, flags, fb & 1 ? m->mm : NULL);
	FZ_CHECK(simmm_memory_failure_stats(F.sim, &s1) == 0, "mf stats");
	dI = s1.ignored - s0.ignored;
	dF = s1.failed - s0.failed;
	dD = s1.delayed - s0.delayed;
	dR = s1.recovered - s0.recovered;
	tr("  -> %d (ignored %llu failed %llu delayed %llu recovered %llu)\n", rc,
	   (unsigned long long)dI, (unsigned long long)dF, (unsigned long long)dD,
	   (unsigned long long)dR);
	if (want || (rc == -ENOMEM && oom_ok()) ||
	    (rc == -EFAULT && madv && tp->htlb && oom_ok())) {
		/* not got (a hugetlb page the pool cannot give is SIGBUS) */
		if (!(rc == -EFAULT && tp->htlb && oom_ok()))
			expect_rc(rc, want, "madvise HWPOISON");
		FZ_CHECK(dI + dD + dR == 0 && dF == (rc == -EHWPOISON),
			 "memory failure handled, rc %d", rc);
		peek_all();
		return;
	}
	FZ_CHECK(dI + dF + dD + dR == 1, "memory failure: %llu results",
		 (unsigned long long)(dI + dF + dD + dR));
	FZ_CHECK(rc == (dD || dR ? 0 : -EBUSY), "memory failure rc %d", rc);
	mf_snap(after);
	for (unsigned j = 0; j < NMM; j++)
		for (uint64_t k = 0; F.m[j].mm && k < F.np; k++)
			if (after[j][k].ok && simmm_is_hwpoison_entry(after[j][k].e) &&
			    !(before[j][k].ok && before[j][k].e == after[j][k].e))
				nhw++;
	if (shmem && !nhw && (dI || (dF && madv))) {
		/* A shmem folio reclaim has looked at: simmm has no shmem
		 * swap-out, reclaim takes it off the LRU. memory_failure()
		 * poisons it all the same (TestSetPageHWPoison() comes first),
		 * then get_hwpoison_page() finds it unhandlable (MF_IGNORED);
		 * or, for MADV_HWPOISON (MF_COUNT_INCREASED), the unmap is
		 * skipped for a page off the LRU and the mappings' references
		 * fail it (MF_FAILED; a pin elsewhere or not: a shmem page on
		 * the LRU is unmapped, pinned or not, and leaves hwpoison
		 * entries). Either way it stays mapped, poisoned: a
		 * CPU access consumes the poison, every fault SIGBUSes. */
		pobj(tp)->poison[tp->pgoff] = 1;
		peek_all();
		return;
	}
	if (dI) {
		/* me_kernel() / hugetlb: the zero page (a never-written or
		 * discarded anonymous page) or a hugetlb page, left alone */
		FZ_CHECK(tp->htlb || (!tp->obj && (!tp->own || tp->lazy)),
			 "mm%u page %llu: memory failure ignored", mi, (unsigned long long)i);
		peek_all();
		return;
	}
	/* The frame: the one mapped before, else the one a new hwpoison entry
	 * names (GUP faulted it in); all new hwpoison entries name it. */
	for (unsigned j = 0; j < NMM; j++)
		for (uint64_t k = 0; F.m[j].mm && k < F.np; k++) {
			simmm_pfn_t y;

			if (!after[j][k].ok || !simmm_is_hwpoison_entry(after[j][k].e) ||
			    (before[j][k].ok && before[j][k].e == after[j][k].e))
				continue;
			FZ_CHECK(simmm_entry_pfn(after[j][k].e, &y), "hwpoison entry without a pfn");
			FZ_CHECK(!xk || y == x, "mm%u page %llu: hwpoison entry of %#llx, poisoned %#llx",
				 j, (unsigned long long)k, (unsigned long long)y,
				 (unsigned long long)x);
			FZ_CHECK((before[j][k].pres && before[j][k].pfn == y) || (j == mi && k == i),
				 "mm%u page %llu: a hwpoison entry where the frame was not mapped", j,
				 (unsigned long long)k);
			x = y;
			xk = true;
		}
	if (xk) {
		struct simmm_page_info pi;

		FZ_CHECK(simmm_page_info(F.sim, x, &pi) == 0, "page_info");
		tr("  poisoned pfn %#llx: refcount %d mapcount %d flags %#x\n", (unsigned long long)x,
		   pi.refcount, pi.mapcount, pi.flags);
	}
	FZ_CHECK(!dF || pins_held(), "memory failure failed without an extra reference");
	FZ_CHECK(!after[mi][i].pres || (xk && after[mi][i].pfn != x),
		 "mm%u page %llu: the poisoned page is still mapped (entry %#llx)", mi,
		 (unsigned long long)i, (unsigned long long)after[mi][i].e);
	if (after[mi][i].ok && simmm_is_real_swap_entry(after[mi][i].e))
		swp = after[mi][i].e;
	if (swp)
		lost = dD ? true : dR ? false : mf_probe_lost(m, i);
	for (unsigned j = 0; j < NMM; j++)
		for (uint64_t k = 0; F.m[j].mm && k < F.np; k++) {
			struct mpage *p = &F.m[j].pg[k];
			const struct mfsnap *b = &before[j][k], *a = &after[j][k];

			if (!p->mapped)
				continue;
			FZ_CHECK(!xk || !a->pres || a->pfn != x,
				 "mm%u page %llu: the poisoned frame %#llx is still mapped", j,
				 (unsigned long long)k, (unsigned long long)x);
			if (a->ok && simmm_is_hwpoison_entry(a->e)) {
				if (!(b->ok && b->e == a->e)) {
					p->hwp = HWP_ENTRY;
					p->resident = 0;
				}
			} else if (b->pres && ((xk && b->pfn == x) ||
					       (file && reads_obj(p, tp->obj - 1u, tp->pgoff)) ||
					       (!xk && a->ok && simmm_is_real_swap_entry(a->e)))) {
				/* unmapped to none (a clean file page) or to a
				 * swap entry (a swap-cache folio; also when page @i
				 * was not present before: MADV_HWPOISON's GUP
				 * swapped it in, the folio another mm mapped) */
				FZ_CHECK(a->ok ? simmm_is_real_swap_entry(a->e) && p->own && !p->shared
					       : p->obj && p->obj <= 2 && (p->shared || !p->own),
					 "mm%u page %llu: poisoned frame unmapped to entry %#llx", j,
					 (unsigned long long)k, (unsigned long long)a->e);
				p->resident = 0;
			}
			if (lost && a->ok && simmm_is_real_swap_entry(a->e) &&
			    simmm_swp_type(a->e) == simmm_swp_type(swp) &&
			    simmm_swp_offset(a->e) == simmm_swp_offset(swp))
				p->hwp = HWP_SWAP;
		}
	/* What the page's folio was decides the rest. */
	if (shmem) {
		pobj(tp)->poison[tp->pgoff] = 1; /* shmem: kept in the cache */
	} else if (file && after[mi][i].ok && simmm_is_hwpoison_entry(after[mi][i].e)) {
		/* a dirty page-cache page, truncated out: its data is lost */
		F.obj[tp->obj - 1].eio = true;
		mf_learn(tp->obj - 1u, tp->pgoff);
	}
	if (xk && F.nhw < MAXPINS) {
		F.hwpfn[F.nhw] = x;
		F.hwfree[F.nhw++] = !shmem && !lost;
	}
	peek_all();
}

/* op_madvise()'s advice RANDOM .. DODUMP (indices 15..19). */
static bool adv_is_flag_only(unsigned a)
{
	return a >= 15 && a <= 19;
}

static void op_madvise(struct fz_in *in)
{
	/* COLD (deactivate, old young bits) changes neither contents nor
	 * protections: the model ignores it, like HUGEPAGE, PAGEOUT and
	 * WILLNEED (reads swapped pages into the swap cache). */
	static const int advs[] = {SIMMM_MADV_DONTNEED, SIMMM_MADV_FREE, SIMMM_MADV_HUGEPAGE,
				   SIMMM_MADV_NOHUGEPAGE, SIMMM_MADV_COLLAPSE, SIMMM_MADV_PAGEOUT,
				   SIMMM_MADV_COLD, SIMMM_MADV_POPULATE_READ,
				   SIMMM_MADV_POPULATE_WRITE, SIMMM_MADV_WILLNEED, SIMMM_MADV_DONTFORK,
				   SIMMM_MADV_WIPEONFORK, SIMMM_MADV_GUARD_INSTALL,
				   SIMMM_MADV_GUARD_REMOVE, SIMMM_MADV_REMOVE,
				   SIMMM_MADV_RANDOM, SIMMM_MADV_SEQUENTIAL, SIMMM_MADV_NORMAL,
				   SIMMM_MADV_DONTDUMP, SIMMM_MADV_DODUMP,
				   SIMMM_MADV_DONTNEED_LOCKED};
	static const char *const names[] = {"DONTNEED", "FREE", "HUGEPAGE", "NOHUGEPAGE",
					    "COLLAPSE", "PAGEOUT", "COLD", "POPULATE_READ",
					    "POPULATE_WRITE", "WILLNEED", "(DONT|DO)FORK",
					    "(WIPE|KEEP)ONFORK", "GUARD_INSTALL", "GUARD_REMOVE",
					    "REMOVE", "RANDOM", "SEQUENTIAL", "NORMAL", "DONTDUMP",
					    "DODUMP", "DONTNEED_LOCKED"};
	/* the VM flags each VMA-flag advice sets and clears, by index */
	static const uint64_t fset[21] = {
		[2] = SIMMM_VM_HUGEPAGE, [15] = SIMMM_VM_RAND_READ, [16] = SIMMM_VM_SEQ_READ,
		[18] = SIMMM_VM_DONTDUMP};
	static const uint64_t fclr[21] = {
		[2] = SIMMM_VM_NOHUGEPAGE, [3] = SIMMM_VM_HUGEPAGE, [15] = SIMMM_VM_SEQ_READ,
		[16] = SIMMM_VM_RAND_READ, [17] = SIMMM_VM_SEQ_READ | SIMMM_VM_RAND_READ,
		[19] = SIMMM_VM_DONTDUMP};
	unsigned mi;
	struct fzmm *m = pick_mm(in, &mi);
	uint64_t i = dec_page(in), n = dec_len(in, i);
	/* COLD came after the corpus, the rest after COLD: every byte below
	 * 0xfa decodes mod 6 as before, 0xfa is COLD (what the cold- seeds
	 * use), 0xfb..0xff the later advice (older inputs that used them for
	 * COLD, which changes nothing the model sees, now ask for those).
	 * The guard advice came last: 0xf4 and 0xf5, which no in-tree input
	 * had as an advice byte (they meant COLLAPSE and PAGEOUT). MADV_REMOVE
	 * after them: 0xf0, which none of the 451 in-tree inputs and 18
	 * regressions had as an advice byte (it meant DONTNEED). The
	 * access-pattern, dump and DONTNEED_LOCKED advice last, on bytes none
	 * of the 470 in-tree inputs and 20 regressions had as an advice byte:
	 * 0xf1 RANDOM, 0xef SEQUENTIAL, 0xeb NORMAL, 0xe9 DONTDUMP, 0xe8
	 * DODUMP, 0xe7 DONTNEED_LOCKED. */
	uint8_t ab = fz_u8(in);
	unsigned a = ab >= 0xfa			 ? 6u + (ab - 0xfau)
		     : ab == 0xf4 || ab == 0xf5 ? 12u + (ab - 0xf4u)
		     : ab == 0xf0		 ? 14u
		     : ab == 0xf1		 ? 15u
		     : ab == 0xef		 ? 16u
		     : ab == 0xeb		 ? 17u
		     : ab == 0xe9		 ? 18u
		     : ab == 0xe8		 ? 19u
		     : ab == 0xe7		 ? 20u
						 : ab % 6u;
	/* RANDOM .. DODUMP change VMA flags only, which no check reads: the
	 * contents, protections and presence rules stay (a VM_LOCKED VMA
	 * without recency keeps its pages: reclaim finds them mlocked) */
	bool flag_only = adv_is_flag_only(a);
	int adv = advs[a], rc, want = range_all_mapped(m, i, n) ? 0 : -ENOMEM;
	uint64_t stop = i + n;

	if (ab == 0xe2) {
		tr("soft offline mm%u page %llu\n", mi, (unsigned long long)i);
		touch(i, 1);
		soft_offline(mi, i);
		return;
	}
	if (ab == 0xe6 || ab == 0xe5 || ab == 0xe3) {
		tr("%s mm%u page %llu\n",
		   ab == 0xe6 ? "madvise HWPOISON" : ab == 0xe5 ? "memory_failure" : "unpoison", mi,
		   (unsigned long long)i);
		touch(i, 1);
		if (ab == 0xe3)
			mf_unpoison((unsigned)i);
		else
			madvise_hwpoison(m, mi, i, ab, in);
		return;
	}
	tr("madvise mm%u page %llu n %llu %s\n", mi, (unsigned long long)i, (unsigned long long)n,
	   names[a]);
	touch(i, n);
	if (adv == SIMMM_MADV_POPULATE_READ || adv == SIMMM_MADV_POPULATE_WRITE) {
		madvise_populate(m, i, n, adv == SIMMM_MADV_POPULATE_WRITE);
		peek_range(i, n);
		return;
	}
	if (adv == SIMMM_MADV_DONTFORK || adv == SIMMM_MADV_WIPEONFORK) {
		madvise_fork_flag(m, mi, i, n, adv == SIMMM_MADV_DONTFORK ? FK_DONTCOPY : FK_WIPE);
		peek_range(i, n);
		return;
	}
	if (adv == SIMMM_MADV_GUARD_INSTALL || adv == SIMMM_MADV_GUARD_REMOVE) {
		madvise_guard(m, mi, i, n, adv == SIMMM_MADV_GUARD_INSTALL);
		peek_range(i, n);
		return;
	}
	if (adv == SIMMM_MADV_REMOVE) {
		madvise_remove(m, i, n);
		peek_all();
		return;
	}
	if (adv != SIMMM_MADV_HUGEPAGE && adv != SIMMM_MADV_NOHUGEPAGE &&
	    adv != SIMMM_MADV_COLLAPSE && adv != SIMMM_MADV_WILLNEED && !flag_only) {
		/* VM_LOCKED VMAs refuse DONTNEED, FREE, COLD and PAGEOUT, file
		 * VMAs FREE, hugetlb VMAs all but DONTNEED, which they refuse
		 * only from inside a huge page (madvise_dontneed_free_valid_vma():
		 * only the first VMA's part can start there); the VMAs before
		 * the first one are advised */
		for (uint64_t k = i; k < i + n; k++) {
			const struct mpage *p = &m->pg[k];

			/* (DONTNEED_LOCKED: DONTNEED that VM_LOCKED VMAs
			 * accept; hugetlb takes both) */
			bool zap = adv == SIMMM_MADV_DONTNEED || adv == SIMMM_MADV_DONTNEED_LOCKED;

			if (p->mapped &&
			    ((p->locked && adv != SIMMM_MADV_DONTNEED_LOCKED) ||
			     (adv == SIMMM_MADV_FREE && p->obj) ||
			     (p->htlb && (!zap || (k == i && k % F.hp))))) {
				want = -EINVAL;
				stop = k;
				break;
			}
		}
	} else if (adv == SIMMM_MADV_HUGEPAGE || adv == SIMMM_MADV_NOHUGEPAGE || flag_only) {
		/* The VMA-flag advice splits a VMA whose flags change at the
		 * range's ends: a hugetlb VMA refuses inside a huge page. */
		uint64_t set = a == 3 ? SIMMM_VM_NOHUGEPAGE : fset[a];
		uint64_t clr = fclr[a];
		uint64_t e[2] = {i, i + n};

		for (unsigned k = 0; k < 2; k++) {
			struct simmm_vma_info vi;

			if (cuts_htlb(m, e[k]) && simmm_vma_info(m->mm, pa(e[k]), &vi) == 0 &&
			    ((vi.vm_flags & ~clr) | set) != vi.vm_flags)
				want = -EINVAL;
		}
	}
	rc = simmm_madvise(m->mm, pa(i), n * F.ps, adv);
	if (adv == SIMMM_MADV_COLLAPSE) {
		/* collapse may refuse (-EINVAL/-EAGAIN/-ENOMEM) but never changes data */
		FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -EAGAIN || rc == -ENOMEM,
			 "COLLAPSE rc %d", rc);
	} else if (expect_rc(rc, want, "madvise") &&
		   (adv == SIMMM_MADV_DONTNEED || adv == SIMMM_MADV_FREE ||
		    adv == SIMMM_MADV_DONTNEED_LOCKED)) {
		bool zap = adv != SIMMM_MADV_FREE;

		for (uint64_t k = i; k < stop; k++) {
			struct mpage *p = &m->pg[k];

			/* (a shared hugetlb page loses its entry, not its
			 * contents: model_zap() says so; a shared locked
			 * page loses its entry: it need not stay present) */
			if (p->mapped && p->shared && !p->htlb && zap)
				p->resident = p->hwp = 0;
			if (!p->mapped || (p->shared && !p->htlb))
				continue;
			if (zap && p->htlb) {
				/* whole huge pages: the end rounds down */
				if (k < (i + n) / F.hp * F.hp)
					model_zap(p);
			} else if (zap) {
				uint8_t g = p->guard; /* the zap keeps guard markers */

				model_zap(p);
				p->guard = g;
			} else if (p->hwp) {
				model_zap(p); /* MADV_FREE clears hwpoison entries, frees swap */
			} else if (p->own) {
				p->lazy = 1;
			}
		}
	}
	peek_range(i, n);
}

/* Does page @k have a page-table entry (present or not)? */
static bool has_entry(struct fzmm *m, uint64_t k)
{
	struct simmm_translation t;

	return simmm_pgtable_translate(simmm_mm_pgtable(m->mm), pa(k), &t) == 0;
}

/* Are pages @a and @b in one VMA? */
static bool same_vma(struct fzmm *m, uint64_t a, uint64_t b)
{
	struct simmm_vma_info vi;

	return simmm_vma_info(m->mm, pa(a), &vi) == 0 && pa(b) >= vi.start && pa(b) < vi.end;
}

/* The VMA at page @k matches model page @p (what peek_page() compares),
 * the lock flags not compared with @any_lock (a DONTUNMAP target merged
 * with its never-faulted source, which it then shares a VMA with, is
 * unlocked with it). */
static bool vma_matches_lock(struct fzmm *m, uint64_t k, const struct mpage *p, bool any_lock)
{
	struct simmm_vma_info vi;

	if (simmm_vma_info(m->mm, pa(k), &vi))
		return false;
	return (vi.vm_flags & (SIMMM_VM_READ | SIMMM_VM_WRITE | SIMMM_VM_EXEC)) ==
		       vm_of_prot(p->prot) &&
	       !!(vi.vm_flags & SIMMM_VM_SHARED) == p->shared && vi.anon == !p->obj &&
	       (!p->obj || vi.pgoff + (pa(k) - vi.start) / F.ps == p->pgoff) &&
	       (any_lock || ((vi.vm_flags & SIMMM_VM_LOCKED) ? MLK_LOCKED : 0) +
					    ((vi.vm_flags & SIMMM_VM_LOCKONFAULT) ? MLK_ONFAULT : 0) ==
				    p->locked) &&
	       vma_fork(vi.vm_flags) == p->fork;
}

/*
 * A same-size MREMAP_FIXED move of [i, i + n) to d over several VMAs (or
 * one and a hole after it): remap_move() moves VMA part by part, each to
 * its offset from d, unmapping that part's target only (the holes'
 * places in the target keep what they have); with DONTUNMAP each old part
 * stays, empty and unlocked. A hugetlb part goes through align_hugetlb():
 * its address and its target must be huge-page aligned and DONTUNMAP is
 * refused (-EINVAL), and its length rounds up to whole huge pages (only
 * the last part can end inside a huge page: the rest of it moves too, and
 * as much more of the target is unmapped first). A part whose target's
 * unmap would split a hugetlb VMA inside a huge page fails with -EINVAL.
 * The first failure ends the call: the parts before it moved. An
 * allocation failure stops it at a part: the parts before moved, that
 * one did not (its target may be unmapped already, wholly), those after
 * it did not. The parts are the VMAs as looked up before the call; which
 * moved is read back: without DONTUNMAP a moved part's old range has no
 * VMA; with it, its entries left (when it had any), its lock went (when
 * it had one), and its target maps what it did with no entry where it
 * had none (when none of that tells them apart, both models read the
 * same). The model moves part after part, so that each part's target is
 * judged as the parts before left it.
 */
/* dontunmap_complete() clears VM_LOCKED_MASK on the whole old VMA (the
 * VMA now at @at: not split, perhaps merged with the new range): every
 * page of it is unlocked, inside the moved range or not. */
static void dontunmap_unlock(struct fzmm *m, uint64_t at)
{
	struct simmm_vma_info vi;

	if (simmm_vma_info(m->mm, pa(at), &vi) != 0)
		return;
	for (uint64_t k = 0; k < F.np; k++)
		if (m->pg[k].mapped && pa(k) >= vi.start && pa(k) < vi.end)
			m->pg[k].locked = m->pg[k].resident = 0;
}

/* Is page @k in the target of one of parts [@from, @to) of a multi-VMA
 * move of page @i to page @d (part u: @ps[u], @pn[u] pages)? */
static bool in_targets(uint64_t k, uint64_t i, uint64_t d, const uint64_t *ps, const uint64_t *pn,
		       uint64_t from, uint64_t to)
{
	for (uint64_t u = from; u < to; u++) {
		uint64_t t = d + (ps[u] - i);

		if (k >= t && k < t + pn[u])
			return true;
	}
	return false;
}

static void mremap_multi(struct fzmm *m, unsigned mi, uint64_t i, uint64_t n, uint64_t d,
			 int flags)
{
	bool dontunmap = flags & SIMMM_MREMAP_DONTUNMAP, stopped = false;
	static struct mpage old[NP_MAX];
	static bool ent[NP_MAX];
	uint64_t ps[48], pn[48], vs[48], ve[48], np = 0, nx = n, nmoved = 0;
	struct simmm_vma_info vi;
	simmm_addr_t out = 0;
	int rc;

	for (uint64_t k = i; k < i + n;) {
		if (!m->pg[k].mapped) {
			FZ_CHECK(simmm_vma_info(m->mm, pa(k), &vi) != 0, "mm%u page %llu: VMA in a hole",
				 mi, (unsigned long long)k);
			k++;
			continue;
		}
		FZ_CHECK(simmm_vma_info(m->mm, pa(k), &vi) == 0, "mm%u page %llu: no VMA", mi,
			 (unsigned long long)k);
		ps[np] = k;
		pn[np] = (vi.end - pa(k)) / F.ps;
		/* the part's VMA before the call, clipped to the window */
		vs[np] = vi.start > pa(0) ? (vi.start - pa(0)) / F.ps : 0;
		ve[np] = vi.end < pa(F.np) ? (vi.end - pa(0)) / F.ps : F.np;
		if (k + pn[np] > i + n)
			pn[np] = i + n - k;
		FZ_CHECK(range_all_mapped(m, k, pn[np]), "one VMA over model holes");
		k += pn[np++];
	}
	/* a last hugetlb part moves whole huge pages */
	if (np && m->pg[ps[np - 1]].htlb)
		nx = ps[np - 1] - i + hup(pn[np - 1]);
	touch(i, nx);
	touch(d, nx);
	for (uint64_t k = 0; k < nx; k++) {
		old[k] = m->pg[i + k];
		ent[k] = old[k].mapped && has_entry(m, i + k);
	}
	rc = simmm_mremap(m->mm, pa(i), n * F.ps, n * F.ps, flags, pa(d), &out);
	tr("  -> %d over %llu VMAs%s\n", rc, (unsigned long long)np, dontunmap ? ", DONTUNMAP" : "");
	FZ_CHECK(rc == 0 || rc == -EINVAL || (rc == -ENOMEM && oom_ok()), "mremap returned %d (%s)",
		 rc, simmm_strerror(rc));
	FZ_CHECK(rc || out == pa(d), "FIXED to %#llx went to %#llx", (unsigned long long)pa(d),
		 (unsigned long long)out);
	for (uint64_t v = 0; v < np && !stopped; v++) {
		uint64_t s = ps[v] - i, t = d + s, len = pn[v];
		bool huge = old[s].htlb, moved = rc != -ENOMEM;

		if (huge)
			len = hup(len);
		if (huge ? ps[v] % F.hp || t % F.hp || dontunmap
			 : cuts_htlb(m, t) || cuts_htlb(m, t + len)) {
			/* (-ENOMEM: a failure at a part before, which the
			 * read-back could not tell from a move) */
			FZ_CHECK(rc == -EINVAL || (rc == -ENOMEM && oom_ok()),
				 "mremap returned %d, model: -EINVAL at the VMA at page %llu", rc,
				 (unsigned long long)ps[v]);
			tr("  -> -EINVAL at the VMA at page %llu\n", (unsigned long long)ps[v]);
			stopped = true;
			break;
		}
		if (rc == -ENOMEM && !dontunmap) {
			moved = simmm_vma_info(m->mm, pa(ps[v]), &vi) != 0;
		} else if (rc == -ENOMEM) {
			moved = true;
			for (uint64_t k = s; k < s + len && moved; k++)
				moved = vma_matches_lock(m, d + k, &old[k],
							 same_vma(m, d + k, i + k)) &&
					!(ent[k] && has_entry(m, i + k)) &&
					(ent[k] || !has_entry(m, d + k)) &&
					!(old[k].locked && simmm_vma_info(m->mm, pa(i + k), &vi) == 0 &&
					  (vi.vm_flags & (SIMMM_VM_LOCKED | SIMMM_VM_LOCKONFAULT)));
		}
		if (!moved) {
			/* the failing part: its target wholly unmapped, or untouched */
			bool any = false;

			stopped = true;
			for (uint64_t k = t; k < t + len; k++)
				any |= simmm_vma_info(m->mm, pa(k), &vi) == 0;
			for (uint64_t k = t; k < t + len && !any; k++)
				memset(&m->pg[k], 0, sizeof(m->pg[k]));
			tr("  -> stopped at the VMA at page %llu, target %s\n",
			   (unsigned long long)ps[v], any ? "untouched" : "unmapped");
			break;
		}
		for (uint64_t k = s; k < s + len; k++) {
			struct mpage *p = &m->pg[i + k];

			if (dontunmap) {
				model_zap(p);
				p->locked = 0;
			} else {
				memset(p, 0, sizeof(*p));
			}
			m->pg[d + k] = old[k];
		}
		nmoved = v + 1;
	}
	for (uint64_t v = 0; dontunmap && v < nmoved; v++) {
		/* dontunmap_complete() of part v unlocks its old VMA as it
		 * is then: the VMA before the call less the targets of the
		 * parts so far (each part's FIXED unmap splits it); later
		 * parts' unmaps may split it again, so the VMA found at the
		 * source now may be smaller. */
		uint64_t lo = ps[v], hi = ps[v] + 1;

		while (lo > vs[v] && !in_targets(lo - 1, i, d, ps, pn, 0, v + 1))
			lo--;
		while (hi < ve[v] && !in_targets(hi, i, d, ps, pn, 0, v + 1))
			hi++;
		for (uint64_t k = lo; k < hi; k++)
			if (m->pg[k].mapped && !in_targets(k, i, d, ps, pn, v + 1, nmoved))
				m->pg[k].locked = m->pg[k].resident = 0;
		dontunmap_unlock(m, ps[v]);
	}
	/* A part whose new range merged with its never-faulted anonymous
	 * source (copy_vma()'s "vma_start >= new_vma->vm_start" case) takes
	 * the VMA before the destination into that merge, and
	 * dontunmap_complete() unlocks the whole merged VMA, as upstream;
	 * a later part's FIXED unmap may split it again, so its extent
	 * cannot be read back from the end state. A page the model still
	 * has locked that the mm shows unlocked is taken as unlocked when
	 * its VMA now also holds a source or target page of a moved part;
	 * nothing else may lose its lock. */
	for (uint64_t k = 0; dontunmap && nmoved && k < F.np; k++) {
		struct mpage *p = &m->pg[k];
		bool near = false;

		if (!p->mapped || !p->locked || simmm_vma_info(m->mm, pa(k), &vi) ||
		    (vi.vm_flags & (SIMMM_VM_LOCKED | SIMMM_VM_LOCKONFAULT)))
			continue;
		for (uint64_t v = 0; v < nmoved && !near; v++) {
			simmm_addr_t s0 = pa(ps[v]), t0 = pa(d + (ps[v] - i));
			uint64_t l = pn[v] * F.ps;

			near = (s0 < vi.end && s0 + l > vi.start) || (t0 < vi.end && t0 + l > vi.start);
		}
		if (near)
			p->locked = p->resident = 0;
	}
	FZ_CHECK(rc != -EINVAL || stopped, "mremap returned -EINVAL, model moves every VMA");
	peek_range(d, d + nx <= F.np ? nx : F.np - d);
	peek_range(i, nx);
}

static void op_mremap(struct fz_in *in)
{
	unsigned mi;
	struct fzmm *m = pick_mm(in, &mi);
	uint64_t i = dec_page(in), ol = dec_len(in, i), nl = 1 + fz_u8(in) % 48;
	uint8_t fb = fz_u8(in);
	int flags = fb & 7;
	uint64_t d = dec_page(in);
	bool maymove = flags & SIMMM_MREMAP_MAYMOVE, fixed = flags & SIMMM_MREMAP_FIXED;
	bool dontunmap = flags & SIMMM_MREMAP_DONTUNMAP;
	struct simmm_vma_info vi;
	static struct mpage old[NP_MAX];
	struct mpage tmpl;
	simmm_addr_t out = 0;
	uint64_t mlen = ol < nl ? ol : nl, ol0, nl0;
	int want = 0, rc;
	bool have, in_one, at, huge, tailcut = false;

	if (fb & 0x80) /* same length: the common MREMAP_DONTUNMAP case */
		nl = ol;
	if (!fixed && i + nl > F.np) /* growing in place must stay in the window */
		nl = F.np - i;
	if (fixed && d + nl > F.np)
		d = F.np - nl;
	mlen = ol < nl ? ol : nl;
	ol0 = ol;
	nl0 = nl;
	tr("mremap mm%u page %llu old %llu new %llu flags %d dest %llu\n", mi,
	   (unsigned long long)i, (unsigned long long)ol, (unsigned long long)nl, flags,
	   (unsigned long long)d);
	touch(i, ol > nl ? ol : nl);
	if (fixed)
		touch(d, nl);
	/* A VMA must contain the address; a shrink (or the same size)
	 * without a new address only unmaps the tail, across VMAs and holes;
	 * a same-size FIXED move takes every VMA of the range (remap_move(),
	 * mremap_multi()); otherwise what moves or grows must be inside that
	 * VMA: the old range, or its first nl pages when a FIXED move
	 * shrinks (check_prep_vma()). */
	have = simmm_vma_info(m->mm, pa(i), &vi) == 0;
	huge = have && (vi.vm_flags & SIMMM_VM_HUGETLB);
	FZ_CHECK(!have || huge == m->pg[i].htlb, "mm%u page %llu: VM_HUGETLB %d, model %u", mi,
		 (unsigned long long)i, huge, m->pg[i].htlb);
	in_one = have && pa(i + mlen) <= vi.end;
	at = !fixed && !dontunmap && nl <= ol;
	if (in_one)
		FZ_CHECK(range_all_mapped(m, i, mlen), "one VMA over model holes");
	if ((fixed || dontunmap) && !maymove) {
		want = -EINVAL;
	} else if (dontunmap && ol != nl) {
		want = -EINVAL;
	} else if (fixed && d < i + ol && i < d + nl) {
		want = -EINVAL;
	} else if (fixed && ol == nl && !in_one) {
		want = have ? 0 : -EFAULT; /* remap_move() */
	} else if (!have) {
		want = -EFAULT;
	} else if (huge) {
		/* align_hugetlb(): both addresses huge-page aligned (the
		 * new one as passed, FIXED or not), both lengths rounded up
		 * to whole huge pages, no growth; then VM_DONTEXPAND refuses
		 * DONTUNMAP. Without a new address that leaves a shrink in
		 * place (its tail's ends are huge-page aligned) or nothing. */
		if (i % F.hp || d % F.hp || hup(nl) > hup(ol) || dontunmap) {
			want = -EINVAL;
		} else if (fixed && !in_one) {
			want = -EFAULT;
		} else {
			ol = hup(ol);
			nl = hup(nl);
			mlen = nl;
			at = !fixed;
			touch(i, ol);
		}
	} else if (!at && !in_one) {
		want = -EFAULT;
	} else if (at && nl < ol && (cuts_htlb(m, i + nl) || cuts_htlb(m, i + ol))) {
		/* the shrink's tail would split a hugetlb VMA (the same
		 * size is a no-op: MREMAP_NO_RESIZE unmaps nothing) */
		want = -EINVAL;
	} else if (fixed && (cuts_htlb(m, d) || cuts_htlb(m, d + nl))) {
		want = -EINVAL; /* the target's unmap, first */
	} else if (fixed && nl < ol && (cuts_htlb(m, i + nl) || cuts_htlb(m, i + ol))) {
		tailcut = true; /* then the tail's: -EINVAL, the target unmapped */
	}
	if (ol0 > 48 || nl0 > 48 || ol0 > F.np)
		return;
	/* remap_move() (6.17+): the range spans VMAs, or one and a hole */
	if (!want && fixed && ol0 == nl0 && !in_one) {
		mremap_multi(m, mi, i, ol0, d, flags);
		return;
	}
	memcpy(old, &m->pg[i], ol * sizeof(old[0]));
	tmpl = m->pg[i + ol - 1];
	rc = simmm_mremap(m->mm, pa(i), ol0 * F.ps, nl0 * F.ps, flags, pa(d), &out);
	if (want) {
		expect_rc(rc, want, "mremap");
		peek_range(i, ol);
		return;
	}
	if (fixed && rc) {
		/* MREMAP_FIXED unmaps the target before it may fail; the unmap
		 * itself may fail (a VMA split meets -ENOMEM), and then nothing
		 * changed: the target is either wholly unmapped or untouched. */
		bool any = false;

		FZ_CHECK(rc == -ENOMEM || (tailcut && rc == -EINVAL), "mremap FIXED rc %d", rc);
		for (uint64_t k = d; k < d + nl; k++)
			any |= simmm_vma_info(m->mm, pa(k), &vi) == 0;
		FZ_CHECK(rc != -EINVAL || !any, "mremap FIXED: -EINVAL at the tail, target not unmapped");
		for (uint64_t k = d; k < d + nl && !any; k++)
			memset(&m->pg[k], 0, sizeof(m->pg[k]));
		tr("  -> failed, target %s\n", any ? "untouched" : "unmapped");
		/* then a shrinking move unmaps the tail, which may fail too */
		if (!any && nl < ol && !tailcut) {
			bool tail = false;

			for (uint64_t k = i + nl; k < i + ol; k++)
				tail |= simmm_vma_info(m->mm, pa(k), &vi) == 0;
			for (uint64_t k = i + nl; k < i + ol && !tail; k++)
				memset(&m->pg[k], 0, sizeof(m->pg[k]));
			tr("  -> the tail %s\n", tail ? "stays" : "unmapped");
		}
		peek_range(d, nl);
		peek_range(i, ol);
		return;
	}
	FZ_CHECK(!tailcut || rc, "mremap FIXED: the tail splits a hugetlb VMA, yet rc 0");
	if (rc == -ENOMEM && (!maymove || oom_ok())) {
		/* cannot grow in place, or no memory (injected or RAM full of
		 * unreclaimable shmem, for the moved page tables): nothing changed */
		FZ_CHECK(oom_ok() || nl > ol, "mremap shrink failed");
		peek_range(i, ol > nl ? ol : nl);
		return;
	}
	FZ_CHECK(rc == 0, "mremap returned %d (%s)", rc, simmm_strerror(rc));
	if (out == pa(i) && !fixed && !dontunmap) {
		tr("  -> in place\n");
		if (nl < ol) {
			for (uint64_t k = i + nl; k < i + ol; k++)
				memset(&m->pg[k], 0, sizeof(m->pg[k]));
		} else {
			for (uint64_t k = ol; k < nl; k++) {
				struct mpage *p;

				if (i + k >= F.np)
					break;
				p = &m->pg[i + k];
				FZ_CHECK(!p->mapped, "grew in place over a mapping");
				*p = tmpl;
				model_zap(p);
				p->pgoff = tmpl.pgoff + (uint32_t)(k - ol + 1);
				/* a locked VMA that grew is populated */
				if (p->locked == MLK_LOCKED)
					populated(m, mi, i + k, false);
			}
		}
		peek_range(i, ol > nl ? ol : nl);
		return;
	}
	/* moved: the source loses its pages (DONTUNMAP: keeps an empty VMA) */
	FZ_CHECK(maymove, "moved without MREMAP_MAYMOVE");
	if (fixed)
		FZ_CHECK(out == pa(d), "FIXED to %#llx went to %#llx", (unsigned long long)pa(d),
			 (unsigned long long)out);
	for (uint64_t k = 0; k < ol; k++) {
		struct mpage *p = &m->pg[i + k];

		if (dontunmap) {
			model_zap(p);
			p->locked = 0; /* dontunmap_complete() unlocks the old range */
		} else {
			memset(p, 0, sizeof(*p));
		}
	}
	if (out < F.base || out + nl * F.ps > pa(F.np)) {
		struct mpage moved[48];

		tr("  -> moved outside the window to %#llx\n", (unsigned long long)out);
		check_free_in_window(m, out, nl);
		for (uint64_t k = 0; k < nl; k++) {
			moved[k] = k < mlen ? old[k] : tmpl;
			if (k >= mlen) {
				model_zap(&moved[k]);
				moved[k].pgoff = tmpl.pgoff + (uint32_t)(k - ol + 1);
			}
		}
		drop_outside(m, out, nl, moved);
		if (dontunmap)
			dontunmap_unlock(m, i);
		peek_range(i, ol);
		return;
	}
	{
		uint64_t j = (out - F.base) / F.ps;

		tr("  -> moved to page %llu\n", (unsigned long long)j);
		FZ_CHECK(j + nl <= F.np, "moved across the window end");
		touch(j, nl);
		for (uint64_t k = 0; k < nl; k++) {
			struct mpage *p = &m->pg[j + k];

			FZ_CHECK(fixed || !p->mapped, "moved over a mapping");
			if (k < mlen) {
				*p = old[k];
			} else {
				*p = tmpl;
				model_zap(p);
				p->pgoff = tmpl.pgoff + (uint32_t)(k - ol + 1);
				if (p->locked == MLK_LOCKED)
					populated(m, mi, j + k, false);
			}
		}
		/* DONTUNMAP next to a never-faulted anonymous source:
		 * copy_vma() merges the new VMA with the source (and with
		 * the source's other neighbour, when it can), and
		 * dontunmap_complete() unlocks the merged VMA, destination
		 * and neighbour included, as upstream. */
		if (dontunmap)
			dontunmap_unlock(m, i);
		peek_range(j, nl);
	}
	peek_range(i, ol);
}

static bool pins_held(void)
{
	for (unsigned k = 0; k < MAXPINS; k++)
		if (F.pins[k].used)
			return true;
	return false;
}

static void op_fork(struct fz_in *in)
{
	unsigned mi, ci = NMM;
	struct fzmm *m = pick_mm(in, &mi);
	struct simmm_mm *child = NULL;
	int rc;

	for (unsigned k = 0; k < NMM; k++)
		if (!F.m[k].mm) {
			ci = k;
			break;
		}
	if (ci == NMM) {
		tr("fork mm%u: no free mm slot, skipped\n", mi);
		return;
	}
	tr("fork mm%u -> mm%u\n", mi, ci);
	rc = simmm_fork(m->mm, &child);
	/* A private hugetlb page that may be pinned is copied for the child
	 * at fork (copy_hugetlb_page_range()): no huge page, -ENOSPC. */
	if (rc == -ENOSPC && oom_ok() && pins_held() && range_any_htlb(m, 0, F.np)) {
		tr("  -> -ENOSPC: no huge page for a pinned one's copy\n");
		peek_some();
		return;
	}
	if (!expect_rc(rc, 0, "fork")) {
		peek_some();
		return;
	}
	F.m[ci].mm = child;
	memcpy(F.m[ci].pg, m->pg, sizeof(m->pg[0]) * F.np);
	/* Neither the locks nor mlockall(MCL_FUTURE) are inherited. A
	 * VM_DONTCOPY VMA is not copied; a VM_WIPEONFORK one is, empty (and
	 * keeps the flag). */
	F.m[ci].def_lock = 0;
	for (uint64_t k = 0; k < F.np; k++) {
		struct mpage *p = &F.m[ci].pg[k];

		p->locked = p->resident = 0;
		if (p->fork & FK_DONTCOPY) {
			memset(p, 0, sizeof(*p));
		} else if (p->fork & FK_WIPE) {
			model_zap(p);
		} else if (p->hwp && (p->shared || !p->own)) {
			/* vma_needs_copy(): a file or shmem VMA's page tables
			 * are copied only if it has an anon_vma (a private one
			 * had a page COWed once; guard install gives any VMA
			 * one): the child has the hwpoison entry or none, and
			 * then faults the page again */
			struct simmm_translation t;

			if (simmm_pgtable_translate(simmm_mm_pgtable(child), pa(k), &t) ||
			    !simmm_is_hwpoison_entry(t.entry))
				p->hwp = 0;
		}
	}
	peek_some();
}

static void op_mmput(struct fz_in *in)
{
	unsigned mi = 1 + fz_u8(in) % (NMM - 1);

	tr("mmput mm%u%s\n", mi, F.m[mi].mm ? "" : " (none)");
	if (!F.m[mi].mm)
		return;
	FZ_CHECK(simmm_mmput(F.m[mi].mm) == 0, "mmput");
	F.m[mi].mm = NULL;
	peek_some();
}

/* One access of 1 or 2 bytes at a slot; 2 bytes at the last slot cross pages. */
static void op_access(struct fz_in *in)
{
	unsigned mi;
	struct fzmm *m = pick_mm(in, &mi);
	uint64_t i = dec_page(in);
	uint8_t sb = fz_u8(in), kb = fz_u8(in), data = fz_u8(in);
	unsigned s = sb % NSLOT, len = (sb & 4) && !F.inject ? 2 : 1;
	enum simmm_access acc = kb % 4 == 3 ? SIMMM_ACCESS_READ : (enum simmm_access)(kb % 4 % 3);
	uint8_t buf[2] = {data, (uint8_t)(data ^ 0x5a)}, rbuf[2] = {0xee, 0xee};
	uint64_t pg[2] = {i, i};
	unsigned sl[2] = {s, s}, nok = 0;
	int rc, want;
	uint64_t sb0 = 0;
	bool hsig, htlb = m->pg[i].htlb || (i + 1 < F.np && m->pg[i + 1].htlb);

	if (len == 2) {
		if (s == NSLOT - 1) {
			pg[1] = i + 1;
			sl[1] = 0;
			if (i + 1 >= F.np)
				len = 1;
		} else {
			len = 1;
		}
	}
	tr("access mm%u page %llu slot %u len %u %s %#x\n", mi, (unsigned long long)i, s, len,
	   acc == SIMMM_ACCESS_WRITE ? "write" : acc == SIMMM_ACCESS_EXEC ? "exec" : "read",
	   data);
	touch(i, 2);
	for (unsigned k = 0; k < len; k++) {
		struct mpage *p = &m->pg[pg[k]];

		if (!may_access(p, acc) || !page_backed(p) || poisoned(p))
			break;
		nok++;
	}
	want = nok == len ? 0 : -EFAULT;
	if (htlb)
		sb0 = sigbus_count(m);
	rc = simmm_mm_access(m->mm, pa(i) + slot_off(s), acc == SIMMM_ACCESS_WRITE ? buf : rbuf,
			     len, acc);
	/* A fault on a hugetlb page whose huge page the pool cannot give
	 * (a new one, or a COW copy) is SIGBUS: -EFAULT, counted. */
	hsig = htlb && rc == -EFAULT && nok && oom_ok() && sigbus_count(m) > sb0 &&
	       (m->pg[pg[0]].htlb || (nok > 1 && m->pg[pg[1]].htlb));
	if (hsig)
		tr("  -> SIGBUS: no huge page\n");
	if ((rc == -ENOMEM && oom_ok()) || hsig) {
		/* The pages before the failing one were accessed: a write
		 * that spans two pages may have landed in the first. What
		 * the first page's slot reads now tells (an unchanged value
		 * needs no model update either way; a hugetlb page is never
		 * lazily freed). */
		uint8_t v;

		if (acc == SIMMM_ACCESS_WRITE && len == 2 && (nok == 2 || hsig) &&
		    simmm_mm_peek(m->mm, pa(i) + slot_off(s), &v, 1) == 0 && v == buf[0])
			model_write(&m->pg[pg[0]], sl[0], buf[0]);
		peek_range(i, 2);
		return;
	}
	FZ_CHECK(rc == want, "access returned %d, model expects %d", rc, want);
	for (unsigned k = 0; k < nok; k++) {
		struct mpage *p = &m->pg[pg[k]];

		if (acc == SIMMM_ACCESS_WRITE)
			model_write(p, sl[k], buf[k]);
		else if (acc == SIMMM_ACCESS_READ)
			observe(p, pg[k], sl[k], rbuf[k], "access");
	}
	peek_range(i, 2);
}

static void op_reclaim(struct fz_in *in)
{
	uint64_t n = 1 + fz_u8(in), got = 0;
	int rc;

	tr("reclaim %llu\n", (unsigned long long)n);
	rc = simmm_reclaim(F.sim, n, &got);
	FZ_CHECK(rc == 0 || rc == -ENOSPC || (F.inject && rc == -ENOMEM), "reclaim rc %d", rc);
	tr("  -> %llu reclaimed (rc %d)\n", (unsigned long long)got, rc);
	peek_some();
}

static void release_pins(struct pinset *ps)
{
	int rc = ps->pin ? simmm_unpin_user_pages(F.sim, ps->pfn, ps->n)
			 : simmm_put_user_pages(F.sim, ps->pfn, ps->n);

	FZ_CHECK(rc == 0, "unpin/put rc %d", rc);
	ps->used = false;
}

static void op_pin(struct fz_in *in)
{
	unsigned mi;
	struct fzmm *m = pick_mm(in, &mi);
	uint64_t i = dec_page(in), n = 1 + fz_u8(in) % PIN_MAX, nok = 0;
	uint8_t fb = fz_u8(in);
	unsigned flags = (fb & 1 ? SIMMM_FOLL_WRITE : 0) | (fb & 2 ? SIMMM_FOLL_LONGTERM : 0);
	bool pin = !(fb & 4);
	struct pinset *ps = NULL;
	long rc;

	if (n > F.np - i)
		n = F.np - i;
	for (unsigned k = 0; k < MAXPINS; k++)
		if (!F.pins[k].used) {
			ps = &F.pins[k];
			break;
		}
	tr("%s mm%u page %llu n %llu flags %#x\n", pin ? "pin" : "gup", mi, (unsigned long long)i,
	   (unsigned long long)n, flags);
	if (!ps)
		return;
	touch(i, n);
	for (uint64_t k = i; k < i + n; k++) {
		struct mpage *p = &m->pg[k];
		bool ok = p->mapped && !p->guard && page_backed(p) && !gup_poisoned(m, k) &&
			  (flags & SIMMM_FOLL_WRITE ? p->prot & SIMMM_PROT_WRITE
						    : p->prot & SIMMM_PROT_READ);
		if (!ok)
			break;
		nok++;
	}
	rc = pin ? simmm_pin_user_pages(m->mm, pa(i), n, flags, ps->pfn)
		 : simmm_get_user_pages(m->mm, pa(i), n, flags, ps->pfn);
	tr("  -> %ld\n", rc);
	if (rc < 0) {
		/* (GUP fails only when its first page does: a hugetlb page
		 * the pool cannot give is SIGBUS, -EFAULT) */
		FZ_CHECK(nok == 0 || (rc == -ENOMEM && oom_ok()) ||
				 (rc == -EFAULT && oom_ok() && m->pg[i].htlb),
			 "GUP failed (%ld) on %llu good pages", rc, (unsigned long long)nok);
		peek_range(i, n);
		return;
	}
	FZ_CHECK(nok > 0 && (uint64_t)rc <= nok && (rc == (long)nok || oom_ok()),
		 "GUP returned %ld, model allows %llu", rc, (unsigned long long)nok);
	ps->used = true;
	ps->pin = pin;
	ps->n = (uint64_t)rc;
	for (uint64_t k = 0; k < ps->n; k++) {
		struct mpage *p = &m->pg[i + k];

		/* A write breaks COW; so does a R/O long-term pin of anything
		 * a private mapping maps but an exclusive anonymous page (the
		 * unshare copies a page-cache or zero page, 6.2+). */
		if (!p->shared && ((flags & SIMMM_FOLL_WRITE) ||
				   (pin && (flags & SIMMM_FOLL_LONGTERM))))
			materialize(p);
		for (unsigned s = 0; s < NSLOT; s++) {
			uint8_t v = 0xA5;

			FZ_CHECK(simmm_page_read(F.sim, ps->pfn[k], slot_off(s), &v, 1) == 0,
				 "page_read of a pinned page");
			observe(p, i + k, s, v, "GUP page");
		}
	}
	peek_range(i, n);
}

static void op_unpin(struct fz_in *in)
{
	unsigned want = fz_u8(in) % MAXPINS;

	for (unsigned k = 0; k < MAXPINS; k++) {
		struct pinset *ps = &F.pins[(want + k) % MAXPINS];

		if (ps->used) {
			tr("unpin set %u (%llu pages)\n", (want + k) % MAXPINS,
			   (unsigned long long)ps->n);
			release_pins(ps);
			return;
		}
	}
}

static void op_fwrite(struct fz_in *in)
{
	unsigned fi = fz_u8(in) % 2;
	uint64_t pg = fz_u8(in) % 40;
	unsigned s = fz_u8(in) % NSLOT;
	uint8_t v = fz_u8(in);
	struct mobj *o = &F.obj[fi];
	uint64_t off = pg * F.ps + slot_off(s);
	long rc;

	file_fill(fi);
	tr("fwrite file%u page %llu slot %u %#x\n", fi, (unsigned long long)pg, s, v);
	rc = simmm_file_pwrite(o->file, &v, 1, off);
	tr("  -> %ld\n", rc);
	if (rc == -ENOMEM && oom_ok())
		return;
	FZ_CHECK(rc == 1, "pwrite rc %ld", rc);
	/* The pages between the old EOF and the write read as zeros: the
	 * model's bytes are zero past the page EOF fell in. The bytes past
	 * EOF in that page are left as they were, zeros or what a write
	 * through a mapping put there: write(2) copies only its own bytes
	 * into the cached page (see "Truncation" above). */
	if (o->size <= off)
		o->size = off + 1;
	o->data[pg][s] = v;
	FZ_CHECK(simmm_file_size(o->file) == o->size, "file size %llu, model %llu",
		 (unsigned long long)simmm_file_size(o->file), (unsigned long long)o->size);
	peek_some();
}

/* msync (MS_SYNC or MS_ASYNC) of window pages [i, i + n) of mm @mi, or
 * fsync of file @fi: nothing the model sees changes (writeback write-
 * protects and cleans ptes of shared file mappings; the next write faults);
 * msync fails with -ENOMEM over a hole. */
static void op_sync(uint8_t fb, unsigned fi, uint8_t pb, uint8_t nb)
{
	int rc;

	if (fb & 0x40) {
		unsigned mi = (fb >> 2) % NMM;
		uint64_t i = pb % F.np, n = 1 + nb % 8;
		int flags = fb & 0x20 ? SIMMM_MS_ASYNC : SIMMM_MS_SYNC;
		bool hole = false;

		while (!F.m[mi].mm)
			mi = (mi + 1) % NMM;
		if (n > F.np - i)
			n = F.np - i;
		struct mobj *eo = NULL;

		for (uint64_t k = i; k < i + n; k++) {
			const struct mpage *p = &F.m[mi].pg[k];

			hole |= !p->mapped;
			/* MS_SYNC syncs each shared file VMA in turn and stops
			 * at the first error: a lost write (memory failure) */
			if (flags == SIMMM_MS_SYNC && !eo && p->mapped && p->shared && p->obj &&
			    p->obj <= 2 && pobj(p)->eio)
				eo = pobj(p);
		}
		rc = simmm_msync(F.m[mi].mm, pa(i), n * F.ps, flags);
		tr("msync mm%u page %llu n %llu %s -> %d\n", mi, (unsigned long long)i,
		   (unsigned long long)n, flags == SIMMM_MS_SYNC ? "SYNC" : "ASYNC", rc);
		FZ_CHECK(rc == (eo ? -EIO : hole ? -ENOMEM : 0), "msync rc %d, model hole %d eio %d",
			 rc, hole, !!eo);
		if (eo)
			eo->eio = false;
		/* (a file synced before it had no error to report) */
		peek_range(i, n);
		return;
	}
	file_fill(fi);
	rc = simmm_file_fsync(F.obj[fi].file);
	tr("fsync file%u -> %d\n", fi, rc);
	/* a dirty page memory failure dropped: reported once (mapping_set_error()) */
	FZ_CHECK(rc == (F.obj[fi].eio ? -EIO : 0), "fsync rc %d, model lost write %d", rc,
		 F.obj[fi].eio);
	F.obj[fi].eio = false;
	peek_some();
}

/*
 * ftruncate(2) (@fb bit 1 clear) or fallocate(PUNCH_HOLE | KEEP_SIZE) of
 * file @fb & 1, the fsync encodings 0xb0..0xbf (none of the 451 in-tree
 * inputs and 18 regressions had one). Sizes and offsets are whole pages
 * plus 0, 1, page/2 + 1 or page - 1 bytes (@fb bits 2..3; the punch's
 * length, bits 4..5 of @lb). Truncation: the new size is page @pb % 49;
 * a shrink (or the same size) unmaps from the first page wholly past the
 * new EOF with even_cows (truncate_pagecache()): private COW copies go
 * too; the bytes past EOF read as zeros, also in the page EOF falls in
 * (truncate_inode_partial_folio() zeroes its tail), and again when the
 * file grows back. A punch of page @pb % 40 for @lb % 16 pages: -EINVAL
 * for length 0; the whole pages unmapped without even_cows, the range
 * reads as zeros (truncate_pagecache_range()). Locked pages lose their
 * entries all the same; pinned pages leave the page cache, the next fault
 * reads the zeros (peek_page() compares what is mapped). file1's only fd
 * is read-only: its truncation is -EINVAL (do_ftruncate()), its punch
 * -EBADF (vfs_fallocate(), after the length's -EINVAL); nothing changes.
 */
static void op_ftrunc(uint8_t fb, uint8_t pb, uint8_t lb)
{
	unsigned fi = fb & 1;
	struct mobj *o = &F.obj[fi];
	const uint64_t tail[4] = {0, 1, F.ps / 2 + 1, F.ps - 1};
	int rc;

	file_fill(fi);
	if (!(fb & 2)) {
		uint64_t size = (pb % 49) * F.ps + tail[(fb >> 2) & 3];

		rc = simmm_file_truncate(o->file, size);
		tr("ftruncate file%u %#llx (was %#llx) -> %d\n", fi, (unsigned long long)size,
		   (unsigned long long)o->size, rc);
		/* file1's fd is read-only: do_ftruncate() refuses it */
		if (!expect_rc(rc, o->rdonly ? -EINVAL : 0, "ftruncate") || rc)
			return;
		if (size <= o->size) {
			model_unmap_obj(fi, (size + F.ps - 1) / F.ps, UINT64_MAX, true);
			model_zero_obj(o, size, UINT64_MAX);
		}
		o->size = size;
	} else {
		uint64_t off = (pb % 40) * F.ps + tail[(fb >> 2) & 3];
		uint64_t len = (lb % 16) * F.ps + tail[(lb >> 4) & 3];
		uint64_t first = (off + F.ps - 1) / F.ps, end = (off + len) / F.ps;

		rc = simmm_file_punch_hole(o->file, off, len);
		tr("punch file%u %#llx len %#llx -> %d\n", fi, (unsigned long long)off,
		   (unsigned long long)len, rc);
		/* vfs_fallocate(): the length first, then a read-only fd */
		if (!expect_rc(rc, !len ? -EINVAL : o->rdonly ? -EBADF : 0, "punch") || rc)
			return;
		if (end > first)
			model_unmap_obj(fi, first, end - 1, false);
		model_zero_obj(o, off, off + len);
	}
	FZ_CHECK(simmm_file_size(o->file) == o->size, "file size %llu, model %llu",
		 (unsigned long long)simmm_file_size(o->file), (unsigned long long)o->size);
	peek_all();
}

static void op_fread(struct fz_in *in)
{
	uint8_t fb = fz_u8(in);
	unsigned fi = fb % 2;
	uint8_t pb = fz_u8(in), sb = fz_u8(in);
	uint64_t pg = pb % 40;
	unsigned s = sb % NSLOT;
	struct mobj *o = &F.obj[fi];
	uint64_t off = pg * F.ps + slot_off(s);
	uint8_t v = 0xee;
	long rc;

	if ((fb & 0xf0) == 0xb0) {
		op_ftrunc(fb, pb, sb);
		return;
	}
	if (fb & 0x80) {
		op_sync(fb, fi, pb, sb);
		return;
	}
	file_fill(fi);
	rc = simmm_file_pread(o->file, &v, 1, off);

	tr("fread file%u page %llu slot %u -> %ld %#x\n", fi, (unsigned long long)pg, s, rc, v);
	if (rc == -ENOMEM && oom_ok())
		return;
	FZ_CHECK(rc == (off < o->size ? 1 : 0), "pread rc %ld, size %llu", rc,
		 (unsigned long long)o->size);
	if (rc == 1)
		FZ_CHECK(v == o->data[pg][s], "pread %#x, model %#x", v, o->data[pg][s]);
}

/* Read every slot of a few pages through faults. */
static void verify_pages(unsigned mi, uint64_t i, uint64_t n)
{
	struct fzmm *m = &F.m[mi];

	static uint8_t buf[1u << 16]; /* the largest page (arm64-64k) */

	for (uint64_t k = i; k < i + n && k < F.np; k++) {
		struct mpage *p = &m->pg[k];
		bool ok = may_access(p, SIMMM_ACCESS_READ) && page_backed(p) && !poisoned(p);
		int rc;

		/* One access of the whole page (one fault, one copy) instead of
		 * one per slot; a forbidden page is probed with one byte. */
		for (unsigned s = 0; s < NSLOT; s++)
			buf[slot_off(s)] = 0xee; /* what is compared */
		rc = simmm_mm_access(m->mm, pa(k), buf, ok ? F.ps : 1, SIMMM_ACCESS_READ);
		if ((rc == -ENOMEM || (rc == -EFAULT && ok && p->htlb)) && oom_ok()) {
			if (rc == -EFAULT) /* a hugetlb page the pool cannot give */
				tr("  -> page %llu: SIGBUS: no huge page\n", (unsigned long long)k);
			return;
		}
		FZ_CHECK(rc == (ok ? 0 : -EFAULT), "mm%u verify page %llu: rc %d", mi,
			 (unsigned long long)k, rc);
		for (unsigned s = 0; ok && s < NSLOT; s++)
			observe(p, k, s, buf[slot_off(s)], "verify");
	}
}

static void op_verify(struct fz_in *in)
{
	unsigned mi;

	pick_mm(in, &mi);
	uint64_t i = dec_page(in), n = dec_len(in, i);

	tr("verify mm%u page %llu n %llu\n", mi, (unsigned long long)i, (unsigned long long)n);
	touch(i, n);
	verify_pages(mi, i, n);
	peek_range(i, n);
}

static void op_thp(struct fz_in *in)
{
	enum simmm_thp_policy pol = (enum simmm_thp_policy)(fz_u8(in) % 3);

	tr("thp policy %d\n", pol);
	FZ_CHECK(simmm_set_thp_policy(F.sim, pol) == 0, "thp policy");
}

/* ---- driver ---------------------------------------------------------------------------- */

static int setup(uint8_t gsel)
{
	simmm_config cfg;
	unsigned gi = gsel % (sizeof(geos) / sizeof(geos[0]));
	int rc;

	if (getenv("FUZZ_MM_GEO"))
		gi = (unsigned)atoi(getenv("FUZZ_MM_GEO")) % (sizeof(geos) / sizeof(geos[0]));

	memset(&F, 0, offsetof(struct fz, trace));
	F.nops = 0;
	F.tlen = 0;
	F.trace[0] = 0;
	if (geos[gi].custom) {
		FZ_CHECK(simmm_geometry_build(geos[gi].custom, &F.custom_g) == 0, "geometry %s",
			 geos[gi].name);
		F.g = &F.custom_g;
	} else {
		F.g = simmm_geometry_lookup(geos[gi].name);
	}
	FZ_CHECK(F.g != NULL, "geometry %s", geos[gi].name);
	F.ps = 1ULL << F.g->page_shift;
	F.np = geos[gi].np;
	/* the window: PMD-aligned in the middle of the user half */
	F.base = F.g->user_va_end / 2;
	F.pmd_pages = F.g->level[SIMMM_LVL_PMD].leaf ? 1ULL << simmm_geometry_level_order(F.g, SIMMM_LVL_PMD) : 0;
	F.hp = geos[gi].htlb ? F.pmd_pages : 0;
	simmm_config_init(&cfg);
	fz_config_allocator(&cfg);
	cfg.geometry = geos[gi].custom ? NULL : F.g->name;
	cfg.custom_geometry = geos[gi].custom;
	cfg.ram_bytes = geos[gi].ram_pages * F.ps;
	cfg.swap_bytes = geos[gi].swap_pages * F.ps;
	cfg.seed = 1 + (gsel >> 2);
	cfg.flags = SIMMM_CFG_QUIET;
	cfg.trace_ring = fz_trace_ring ? fz_trace_ring : 16;
	tr("geometry %s seed %llu\n", F.g->name, (unsigned long long)cfg.seed);
	rc = simmm_sim_create(&cfg, &F.sim);
	FZ_CHECK(rc == 0, "sim_create %d", rc);
	FZ_CHECK(simmm_mm_create(F.sim, &F.m[0].mm) == 0, "mm_create");
	/* MADV_HWPOISON wants CAP_SYS_ADMIN; fork children inherit it */
	FZ_CHECK(simmm_mm_set_cap_sys_admin(F.m[0].mm, true) == 0, "cap_sys_admin");
	/* two files: file0 read-write 32 pages, file1 read-only 16 pages */
	for (unsigned k = 0; k < 2; k++) {
		struct mobj *o = &F.obj[k];

		o->size = (k ? 16 : 32) * F.ps;
		o->rdonly = k;
		FZ_CHECK(simmm_file_create(F.sim, o->size, k ? SIMMM_FILE_RDONLY : 0, &o->file) == 0,
			 "file_create");
		/* the bytes are written by file_fill() when first used */
		for (uint64_t p = 0; p < (k ? 16u : 32u); p++)
			o->data[p][0] = (uint8_t)(0x40 + 16 * k + p);
	}
	F.nobj = 2;
	return 0;
}

static void teardown(void)
{
	int leaks;

	tr("teardown\n");
	peek_sweep_begin();
	for (unsigned mi = 0; mi < NMM; mi++) {
		if (!F.m[mi].mm)
			continue;
		for (uint64_t k = 0; k < F.np; k++)
			if (F.touched[k])
				peek_page(mi, k);
	}
	check_sim();
	for (unsigned k = 0; k < MAXPINS; k++)
		if (F.pins[k].used)
			release_pins(&F.pins[k]);
	for (unsigned mi = 0; mi < NMM; mi++)
		if (F.m[mi].mm)
			FZ_CHECK(simmm_mmput(F.m[mi].mm) == 0, "mmput");
	for (unsigned k = 0; k < 2; k++)
		FZ_CHECK(simmm_file_put(F.obj[k].file) == 0, "file_put");
	check_sim();
	fz_cur_sim = NULL;
	fz_note_sim(F.sim);
	leaks = simmm_sim_destroy(&F.sim);
	FZ_CHECK(leaks == 0, "sim_destroy: %d leaks", leaks);
	if (fz_verbose || getenv("FUZZ_MM_TRACE"))
		fputs(F.trace, stderr);
}

typedef void (*op_fn)(struct fz_in *);

static const op_fn ops[NR_OPS] = {
	op_mmap, op_munmap, op_mprotect, op_madvise, op_mremap, op_fork, op_access, op_reclaim,
	op_pin, op_unpin, op_mmput, op_fwrite, op_fread, op_verify, op_thp,
};

int fz_mm_ops_one(const uint8_t *data, size_t size);

int fz_mm_ops_one(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	unsigned every = fz_check_every_get(MM_CHECK_EVERY);

	fz_dump_hook = mm_ops_dump;
	if (size < 1)
		return 0;
	setup(fz_u8(&in));
	fz_cur_sim = F.sim;
	while (in.left && F.nops < MAXOPS) {
		uint8_t ob = fz_u8(&in);
		unsigned op = (ob & 0x7f) % NR_OPS;
		struct simmm_phys_stats st;
		F.nops++;
		F.inject = ob & 0x80;
		FZ_CHECK(simmm_phys_stats(F.sim, &st) == 0, "phys_stats");
		F.fail0 = st.alloc_failures;
		if (F.inject) {
			F.fc = (struct simmm_fault_config){.mode = SIMMM_FAULT_NTH};
			F.fc.nth = 1 + fz_u8(&in) % 32;
			tr("[inject nth=%llu] ", (unsigned long long)F.fc.nth);
			FZ_CHECK(simmm_fault_inject(F.sim, &F.fc) == 0, "fault_inject");
		}
		tr("%u: [%s] ", F.nops, op_names[op]);
		ops[op](&in);
		if (F.inject) {
			tr("  (%llu injected failures)\n", (unsigned long long)simmm_fault_hits(F.sim));
			FZ_CHECK(simmm_fault_inject(F.sim, NULL) == 0, "fault_inject off");
			F.inject = false;
		}
		if (F.nops % every == 0)
			check_sim();
	}
	teardown();
	fz_cur_sim = NULL;
	return 0;
}

FZ_DEFINE_ENTRY(fz_mm_ops_one)
