// SPDX-License-Identifier: MIT
/*
 * simmm-demo: build a simulated machine, map memory, touch it, and print a
 * readable account of what happened: frames used, page-table pages, faults,
 * copy-on-write after fork, swap, a THP, what a device mirror sees
 * through hmm_range_fault(), and a device migrating pages into its own
 * memory and the CPU faulting them back. It grows with the library.
 *
 *   simmm-demo [--geometry NAME] [--seed N] [--dump]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <simmm/simmm.h>

#define CHECK(expr)                                                              \
	do {                                                                     \
		long rc_ = (long)(expr);                                         \
		if (rc_ < 0) {                                                   \
			fprintf(stderr, "%s failed: %s\n", #expr, simmm_strerror((int)rc_)); \
			exit(1);                                                 \
		}                                                                \
	} while (0)

static void print_phys(simmm_sim *sim, const char *when)
{
	struct simmm_phys_stats ps;
	struct simmm_alloc_stats as;
	CHECK(simmm_phys_stats(sim, &ps));
	CHECK(simmm_alloc_stats(sim, &as));
	printf("  [%s] frames: %" PRIu64 " free of %" PRIu64 ", %" PRIu64 " page-table pages, %" PRIu64
	       " with data; host memory %.1f MiB (%s)\n",
	       when, ps.free_pages, ps.total_pages, ps.table_pages, ps.content_pages,
	       (double)(as.live_bytes[SIMMM_ALLOC_META] + as.live_bytes[SIMMM_ALLOC_MEMMAP] +
			as.live_bytes[SIMMM_ALLOC_PGTABLE] + as.live_bytes[SIMMM_ALLOC_CONTENTS] +
			as.live_bytes[SIMMM_ALLOC_SCHED]) / (1 << 20),
	       as.backend);
}

static void print_faults(struct simmm_mm *mm, const char *who)
{
	struct simmm_mm_stats s;
	CHECK(simmm_mm_stats(mm, &s));
	printf("  [%s] faults: %" PRIu64 " minor, %" PRIu64 " major (zero page %" PRIu64
	       ", new anon %" PRIu64 ", COW copies %" PRIu64 ", reuses %" PRIu64 ", swap-ins %" PRIu64
	       ", THP %" PRIu64 "); rss anon %" PRId64 ", swap entries %" PRId64 ", VMAs %" PRIu64
	       ", page tables %" PRIu64 "\n",
	       who, s.minor_faults, s.major_faults, s.zero_faults, s.anon_faults, s.cow_faults,
	       s.reuse_faults, s.swapin_faults, s.thp_faults, s.rss_anon, s.swap_ents, s.nr_vmas,
	       s.pgtable_pages);
}

/* A device mirror's interval notifier: records the sequence, counts. */
struct mirror {
	struct simmm_mmu_interval_notifier mn; /* first */
	unsigned invalidations;
};

static bool mirror_invalidate(struct simmm_mmu_interval_notifier *sub,
			      const struct simmm_mmu_notifier_range *r, uint64_t cur_seq)
{
	struct mirror *m = (struct mirror *)sub;
	simmm_mmu_interval_set_seq(sub, cur_seq);
	m->invalidations++;
	printf("    mirror: invalidate [0x%" PRIx64 ", 0x%" PRIx64 ") event %s\n", r->start, r->end,
	       simmm_mmu_notifier_event_name(r->event));
	return true;
}

static const struct simmm_mmu_interval_notifier_ops mirror_ops = {.invalidate = mirror_invalidate};

static void snapshot(struct mirror *m, uint64_t a, uint64_t n, uint64_t psize)
{
	uint64_t pfns[8] = {0};
	struct simmm_hmm_range r = {.notifier = &m->mn, .start = a, .end = a + n * psize,
				    .hmm_pfns = pfns};
	CHECK(simmm_hmm_range_fault_retry(&r, SIMMM_HMM_RANGE_DEFAULT_TIMEOUT));
	printf("    hmm snapshot:");
	for (uint64_t i = 0; i < n; i++) {
		uint64_t p = pfns[i];
		if (p & SIMMM_HMM_PFN_ERROR)
			printf(" ERROR");
		else if (!(p & SIMMM_HMM_PFN_VALID))
			printf(" none");
		else
			printf(" pfn 0x%" PRIx64 "%s%s", simmm_hmm_pfn_to_pfn(p),
			       (p & SIMMM_HMM_PFN_WRITE) ? " RW" : " RO",
			       simmm_hmm_pfn_to_map_order(p) ? "+huge" : "");
	}
	printf("\n");
}

int main(int argc, char **argv)
{
	simmm_config cfg;
	simmm_sim *sim;
	bool dump = false;

	simmm_config_init(&cfg);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--geometry") && i + 1 < argc)
			cfg.geometry = argv[++i];
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			cfg.seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--dump"))
			dump = true;
		else {
			fprintf(stderr, "usage: %s [--geometry NAME] [--seed N] [--dump]\n", argv[0]);
			return 2;
		}
	}
	cfg.ram_bytes = 1ULL << 40; /* 1 TiB of simulated RAM */
	cfg.swap_bytes = 1ULL << 30;
	CHECK(simmm_sim_create(&cfg, &sim));
	const struct simmm_geometry *g = simmm_sim_geometry(sim);
	uint64_t psize = 1ULL << g->page_shift;
	printf("simmm demo: a simulated machine with 1 TiB of RAM and 1 GiB of swap, geometry %s\n"
	       "(%u-bit VA, %u real levels, %" PRIu64 "-byte pages), seed %" PRIu64 "\n\n",
	       g->name, g->va_bits, g->nlevels, psize, simmm_sim_seed(sim));
	print_phys(sim, "boot");

	/* 1. A process maps 16 pages and touches them. */
	struct simmm_mm *mm, *child;
	simmm_addr_t a;
	CHECK(simmm_mm_create(sim, &mm));
	CHECK(simmm_mmap(mm, 0, 16 * psize, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
			 SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS, NULL, 0, &a));
	printf("\n1. mmap 16 anonymous pages at 0x%" PRIx64 "; read page 0, write pages 1..7\n", a);
	char byte = 0;
	CHECK(simmm_mm_access(mm, a, &byte, 1, SIMMM_ACCESS_READ));
	for (int i = 1; i < 8; i++) {
		char msg[32];
		snprintf(msg, sizeof(msg), "page %d", i);
		CHECK(simmm_mm_access(mm, a + i * psize, msg, sizeof(msg), SIMMM_ACCESS_WRITE));
	}
	print_faults(mm, "parent");
	print_phys(sim, "touched");

	/* 2. A device mirrors the range through HMM. */
	struct mirror m = {0};
	CHECK(simmm_mmu_interval_notifier_insert(&m.mn, mm, a, 16 * psize, &mirror_ops));
	printf("\n2. a device mirrors the range: hmm_range_fault snapshot of pages 0..7\n");
	snapshot(&m, a, 8, psize);

	/* 3. fork: copy-on-write. */
	printf("\n3. fork, then the child writes page 1 (copy-on-write)\n");
	CHECK(simmm_fork(mm, &child));
	char cw[32] = "child was here", back[32];
	CHECK(simmm_mm_access(child, a + psize, cw, sizeof(cw), SIMMM_ACCESS_WRITE));
	CHECK(simmm_mm_access(mm, a + psize, back, sizeof(back), SIMMM_ACCESS_READ));
	printf("  parent still reads \"%s\"; ", back);
	CHECK(simmm_mm_access(child, a + psize, back, sizeof(back), SIMMM_ACCESS_READ));
	printf("child reads \"%s\"\n", back);
	print_faults(child, "child");
	snapshot(&m, a, 8, psize);

	/* 4. mprotect PROT_NONE: the CPU access fails, nothing changes. */
	printf("\n4. mprotect(PROT_NONE) on page 7, then read it\n");
	CHECK(simmm_mprotect(mm, a + 7 * psize, psize, SIMMM_PROT_NONE));
	int rc = simmm_mm_access(mm, a + 7 * psize, &byte, 1, SIMMM_ACCESS_READ);
	printf("  access returns %s\n", simmm_strerror(rc));

	/* 5. Memory pressure: reclaim swaps pages out; touching them swaps in. */
	printf("\n5. reclaim 64 pages, then read page 3 again\n");
	uint64_t got = 0;
	CHECK(simmm_reclaim(sim, 64, &got));
	printf("  reclaimed %" PRIu64 " pages\n", got);
	CHECK(simmm_mm_access(mm, a + 3 * psize, back, sizeof(back), SIMMM_ACCESS_READ));
	printf("  page 3 reads \"%s\"\n", back);
	print_faults(mm, "parent");

	/* 6. A THP: a PMD-aligned range with MADV_HUGEPAGE. */
	uint64_t pmd = simmm_level_size(simmm_mm_pgtable(mm), SIMMM_LVL_PMD);
	if (pmd && pmd <= (64ULL << 20) && simmm_level_can_leaf(simmm_mm_pgtable(mm), SIMMM_LVL_PMD)) {
		simmm_addr_t raw, h;
		CHECK(simmm_mmap(mm, 0, 2 * pmd, SIMMM_PROT_READ | SIMMM_PROT_WRITE,
				 SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS, NULL, 0, &raw));
		h = (raw + pmd - 1) & ~(pmd - 1);
		CHECK(simmm_madvise(mm, h, pmd, SIMMM_MADV_HUGEPAGE));
		CHECK(simmm_mm_access(mm, h, "huge", 5, SIMMM_ACCESS_WRITE));
		struct simmm_translation t;
		CHECK(simmm_pgtable_translate(simmm_mm_pgtable(mm), h, &t));
		printf("\n6. MADV_HUGEPAGE + one write at 0x%" PRIx64 ": mapped by a %s leaf "
		       "(%" PRIu64 " KiB) at pfn 0x%" PRIx64 "\n",
		       h, simmm_level_name(t.level), pmd >> 10, t.pfn);
		print_faults(mm, "parent");
	}

	/* 7. A device (the kernel's test driver, dmirror) migrates pages 2..3
	 * into its private memory; the CPU touching page 2 migrates it back. */
	struct simmm_dmirror_device *dev;
	struct simmm_dmirror *dm;
	unsigned char snap[8];
	CHECK(simmm_dmirror_device_create(sim, SIMMM_MEM_DEVICE_PRIVATE, 0, &dev));
	CHECK(simmm_dmirror_open(dev, mm, &dm));
	char *bounce = calloc(2, psize); /* the device reads the pages back into it */
	struct simmm_dmirror_cmd cmd = {.addr = a + 2 * psize, .ptr = bounce, .npages = 2};
	printf("\n7. the parent rewrites pages 2..3 (swapped out / shared with the child until now),\n"
	       "   then a device-private GPU (dmirror) migrates them to its memory\n");
	for (int i = 2; i < 4; i++) {
		char msg[32];
		snprintf(msg, sizeof(msg), "page %d v2", i);
		CHECK(simmm_mm_access(mm, a + i * psize, msg, sizeof(msg), SIMMM_ACCESS_WRITE));
	}
	CHECK(simmm_dmirror_ioctl(dm, SIMMM_DMIRROR_MIGRATE_TO_DEV, &cmd));
	printf("  migrated %" PRIu64 " pages; the device reads \"%s\" from its copy of page 2\n",
	       cmd.cpages, bounce);
	free(bounce);
	cmd = (struct simmm_dmirror_cmd){.addr = a, .ptr = snap, .npages = 6};
	CHECK(simmm_dmirror_ioctl(dm, SIMMM_DMIRROR_SNAPSHOT, &cmd));
	printf("  device snapshot of pages 0..5:");
	for (int i = 0; i < 6; i++)
		printf(" %02x", snap[i]);
	printf("  (0x22 = device-private local + write, 0x11 = zero page + read, 00 = not present: swapped out)\n");
	CHECK(simmm_mm_access(mm, a + 2 * psize, back, sizeof(back), SIMMM_ACCESS_READ));
	printf("  the CPU reads page 2: \"%s\" (migrated back by ->migrate_to_ram)\n", back);
	print_faults(mm, "parent");
	CHECK(simmm_dmirror_close(dm));

	if (dump) {
		static char buf[1 << 16];
		simmm_mm_dump(mm, buf, sizeof(buf));
		printf("\n%s", buf);
	}

	/* 8. Teardown: unmap everything, exit both processes. */
	printf("\n8. exit both processes, retire the device\n");
	CHECK(simmm_mmu_interval_notifier_remove(&m.mn));
	CHECK(simmm_mmput(child));
	CHECK(simmm_mmput(mm));
	CHECK(simmm_dmirror_device_destroy(dev));
	print_phys(sim, "exited");

	int bad = simmm_check(sim);
	printf("\ninvariant checker: %d violation(s); trace: %" PRIu64 " events, hash %016" PRIx64
	       "; mirror saw %u invalidations\n",
	       bad, simmm_trace_count(sim), simmm_trace_hash(sim), m.invalidations);
	int leaks = simmm_sim_destroy(&sim);
	printf("destroyed: %d leak(s)\n", leaks);
	return bad || leaks ? 1 : 0;
}
