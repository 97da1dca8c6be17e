// SPDX-License-Identifier: MIT
/*
 * A FIFO of folio head pfns with lazy deletion: the LRU (reclaim.c) and
 * the THP deferred split queue (deferred_split.c), lists the kernel links
 * through struct folio. struct simmm_page has no room for list links, so
 * a queue is an array of pfns whose user marks its members with a page
 * flag (PG_lru, PG_partially_mapped). A folio leaves by losing the flag (a
 * freed one loses all its flags) without touching the queue: its entry
 * goes stale, to be dropped when met; the user's predicate
 * (simmm_pfnq_live_fn) tells. A folio that leaves and joins again has two
 * entries until compaction keeps the older. Nothing here schedules.
 */
#include <string.h>

#include "mm/mm_ext.h"

/**
 * simmm__pfnq_push() - queue @pfn at the tail: into the array's free end,
 * else (more than half of it dead) after sliding the entries to the front,
 * else into a doubled array. list_add() cannot fail, so the growth
 * bypasses the allocation-failure injector.
 */
void simmm__pfnq_push(simmm_sim *sim, struct simmm_pfnq *pq, simmm_pfn_t pfn)
{
	if (pq->tail == pq->cap && pq->head > pq->cap / 2) {
		memmove(pq->pfn, pq->pfn + pq->head, (pq->tail - pq->head) * sizeof(*pq->pfn));
		pq->tail -= pq->head;
		pq->head = 0;
	}
	if (pq->tail == pq->cap) {
		size_t cap = pq->cap;

		simmm__grow(sim, SIMMM_ALLOC_META, (void **)&pq->pfn, sizeof(*pq->pfn), &cap,
			    pq->tail + 1, true);
		pq->cap = cap;
	}
	pq->pfn[pq->tail++] = pfn;
}

/**
 * simmm__pfnq_pop() - take entries off the head until one is @live.
 * Return: its folio (the caller clears the member flag), or NULL: empty.
 */
struct simmm_page *simmm__pfnq_pop(simmm_sim *sim, struct simmm_pfnq *pq,
				   simmm_pfnq_live_fn live)
{
	struct simmm_page *p = NULL;

	while (!p && pq->head < pq->tail)
		p = live(sim, pq->pfn[pq->head++]);
	return p;
}

/**
 * simmm__pfnq_compact() - drop stale and duplicate entries, keeping the
 * order of the others, now at the front of the array. PG_reclaim marks
 * "already kept" for the length of the loop, which has no scheduling
 * point; nothing else sets it on a queued folio.
 * Return: the entries left, one per @live folio.
 */
uint64_t simmm__pfnq_compact(simmm_sim *sim, struct simmm_pfnq *pq, simmm_pfnq_live_fn live)
{
	uint64_t k = 0;
	struct simmm_page *p;

	for (uint64_t i = pq->head; i < pq->tail; i++) {
		if (!(p = live(sim, pq->pfn[i])) || (p->flags & PG_reclaim))
			continue;
		p->flags |= PG_reclaim;
		pq->pfn[k++] = pq->pfn[i];
	}
	for (uint64_t i = 0; i < k; i++)
		simmm__pfn_to_page(sim, pq->pfn[i])->flags &= ~PG_reclaim;
	pq->head = 0;
	pq->tail = k;
	return k;
}

/**
 * simmm__pfnq_check() - the bounds: [head, tail) within the array.
 * Return: 0, or 1 after reporting the violation as @who's.
 */
int simmm__pfnq_check(simmm_sim *sim, const struct simmm_pfnq *pq, const char *who)
{
	if (pq->head <= pq->tail && pq->tail <= pq->cap)
		return 0;
	simmm__report(sim, SIMMM_REPORT_INVARIANT, "%s: queue bounds %llu..%llu of %llu", who,
		      (unsigned long long)pq->head, (unsigned long long)pq->tail,
		      (unsigned long long)pq->cap);
	return 1;
}

/* The queue holds no references: teardown only frees the array. */
void simmm__pfnq_fini(simmm_sim *sim, struct simmm_pfnq *pq)
{
	simmm__free(sim, SIMMM_ALLOC_META, pq->pfn, pq->cap * sizeof(*pq->pfn));
}
