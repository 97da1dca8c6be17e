// SPDX-License-Identifier: MIT
/*
 * simmm-demo: build a simulated machine, use its memory, and print a
 * readable account of what happened. It grows with the library.
 *
 *   simmm-demo [--geometry NAME] [--seed N]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <simmm/simmm.h>

#define CHECK(expr)                                                              \
	do {                                                                     \
		int rc_ = (expr);                                                \
		if (rc_ < 0) {                                                   \
			fprintf(stderr, "%s failed: %s\n", #expr, simmm_strerror(rc_)); \
			exit(1);                                                 \
		}                                                                \
	} while (0)

static void print_phys(simmm_sim *sim, const char *when)
{
	struct simmm_phys_stats ps;
	struct simmm_alloc_stats as;
	CHECK(simmm_phys_stats(sim, &ps));
	CHECK(simmm_alloc_stats(sim, &as));
	printf("  [%s] frames: %" PRIu64 " total, %" PRIu64 " free, %" PRIu64
	       " page-table, %" PRIu64 " with contents; memmap sections %" PRIu64 "/%" PRIu64
	       "; host memory: meta %" PRIu64 " B, memmap %" PRIu64 " B, contents %" PRIu64
	       " B (%s)\n",
	       when, ps.total_pages, ps.free_pages, ps.table_pages, ps.content_pages,
	       ps.sections_present, ps.sections, as.live_bytes[SIMMM_ALLOC_META],
	       as.live_bytes[SIMMM_ALLOC_MEMMAP], as.live_bytes[SIMMM_ALLOC_CONTENTS], as.backend);
}

int main(int argc, char **argv)
{
	simmm_config cfg;
	simmm_sim *sim;
	const char *geometry = NULL;

	simmm_config_init(&cfg);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--geometry") && i + 1 < argc)
			geometry = argv[++i];
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			cfg.seed = strtoull(argv[++i], NULL, 0);
		else {
			fprintf(stderr, "usage: %s [--geometry NAME] [--seed N]\n", argv[0]);
			return 2;
		}
	}
	cfg.geometry = geometry;
	cfg.ram_bytes = 1ULL << 40; /* 1 TiB of simulated RAM */
	CHECK(simmm_sim_create(&cfg, &sim));
	const struct simmm_geometry *g = simmm_sim_geometry(sim);
	printf("simmm demo: a simulated machine with 1 TiB of RAM, geometry %s "
	       "(%u-bit VA, %u real levels, %u-byte pages), seed %" PRIu64 "\n",
	       g->name, g->va_bits, g->nlevels, 1u << g->page_shift, simmm_sim_seed(sim));
	print_phys(sim, "created");

	/* Physical memory: a few base pages, a THP-sized and a PUD-sized folio. */
	simmm_pfn_t small[4], thp, gig;
	for (int i = 0; i < 4; i++) {
		char msg[32];
		CHECK(simmm_page_alloc(sim, 0, &small[i]));
		snprintf(msg, sizeof(msg), "hello from frame %d", i);
		CHECK(simmm_page_write(sim, small[i], 0, msg, strlen(msg) + 1));
	}
	unsigned pmd_order = simmm_geometry_level_order(g, SIMMM_LVL_PMD);
	CHECK(simmm_page_alloc(sim, pmd_order, &thp));
	printf("\nallocated 4 base pages (pfn 0x%" PRIx64 "..), one order-%u folio at pfn 0x%" PRIx64
	       "\n", small[0], pmd_order, thp);
	struct simmm_phys_stats ps;
	CHECK(simmm_phys_stats(sim, &ps));
	CHECK(simmm_page_alloc(sim, ps.max_order, &gig));
	printf("and one order-%u folio (%" PRIu64 " MiB, contiguous) at pfn 0x%" PRIx64 "\n",
	       ps.max_order, (uint64_t)(((1ULL << ps.max_order) << g->page_shift) >> 20), gig);
	print_phys(sim, "in use");

	char back[32];
	CHECK(simmm_page_read(sim, small[2], 0, back, sizeof(back)));
	printf("  frame 0x%" PRIx64 " reads back \"%s\"\n", small[2], back);

	for (int i = 0; i < 4; i++)
		CHECK(simmm_page_put(sim, small[i]));
	CHECK(simmm_page_put(sim, thp));
	CHECK(simmm_page_put(sim, gig));
	print_phys(sim, "released");

	int bad = simmm_check(sim);
	printf("\ninvariant checker: %d violation(s); trace: %" PRIu64 " events, hash %016" PRIx64
	       "\n", bad, simmm_trace_count(sim), simmm_trace_hash(sim));
	int leaks = simmm_sim_destroy(&sim);
	printf("destroyed: %d leak(s)\n", leaks);
	return bad || leaks ? 1 : 0;
}
