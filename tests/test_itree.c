// SPDX-License-Identifier: MIT
/* The interval tree against a brute-force reference: random inserts and
 * removes, overlap queries in start order, in-order traversal. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "core/itree.h"
#include "core/rng.h"

#define N 2000

static void itree_random_vs_bruteforce(void **state)
{
	struct simmm_itree t = {0};
	struct simmm_itree_node *nodes = calloc(N, sizeof(*nodes));
	bool *in = calloc(N, sizeof(*in));
	struct simmm_rng rng;
	uint64_t iters = tu_iters(20000);
	(void)state;

	simmm__rng_seed(&rng, tu_seed());
	for (uint64_t it = 0; it < iters; it++) {
		size_t i = (size_t)simmm__rng_below(&rng, N);
		if (!in[i]) {
			uint64_t s = simmm__rng_below(&rng, 100000);
			nodes[i].start = s;
			nodes[i].last = s + simmm__rng_below(&rng, 2000);
			simmm__itree_insert(&t, &nodes[i]);
			in[i] = true;
		} else {
			simmm__itree_remove(&t, &nodes[i]);
			in[i] = false;
		}
		if (it % 97 == 0) {
			assert_int_equal(simmm__itree_verify(&t), 0);
			uint64_t qs = simmm__rng_below(&rng, 100000);
			uint64_t ql = qs + simmm__rng_below(&rng, 5000);
			size_t expect = 0, got = 0;
			for (size_t k = 0; k < N; k++)
				if (in[k] && nodes[k].start <= ql && nodes[k].last >= qs)
					expect++;
			uint64_t prev_start = 0;
			for (struct simmm_itree_node *n = simmm__itree_iter_first(&t, qs, ql); n;
			     n = simmm__itree_iter_next(n, qs, ql)) {
				assert_true(n->start <= ql && n->last >= qs);
				assert_true(n->start >= prev_start);
				prev_start = n->start;
				got++;
			}
			assert_int_equal(got, expect);
		}
	}
	/* In-order traversal both ways sees every node once. */
	size_t cnt = 0;
	for (struct simmm_itree_node *n = simmm__itree_first(&t); n; n = simmm__itree_next(n))
		cnt++;
	assert_int_equal(cnt, t.count);
	cnt = 0;
	for (struct simmm_itree_node *n = simmm__itree_last(&t); n; n = simmm__itree_prev(n))
		cnt++;
	assert_int_equal(cnt, t.count);
	/* The AVL height bound: 1.44 log2(n + 2). */
	if (t.root)
		assert_true(t.root->height <= 20);
	free(nodes);
	free(in);
}

static void itree_verify_catches_corruption(void **state)
{
	struct simmm_itree t = {0};
	struct simmm_itree_node a = {.start = 1, .last = 5}, b = {.start = 10, .last = 20};
	(void)state;
	simmm__itree_insert(&t, &a);
	simmm__itree_insert(&t, &b);
	assert_int_equal(simmm__itree_verify(&t), 0);
	b.last = 50; /* augmentation now stale */
	assert_true(simmm__itree_verify(&t) > 0);
	assert_null(simmm__itree_iter_first(&(struct simmm_itree){0}, 0, 100));
}

/*
 * Equal starts keep insertion order, whatever the node addresses: the same
 * sequence of inserts and removes gives the same walk order whether the
 * nodes sit at rising or falling addresses (an address tie-break made
 * rmap walks, and so whole fuzz runs, depend on the host allocator).
 */
static void itree_equal_starts_insertion_order(void **state)
{
	enum { M = 64 };
	struct simmm_itree_node *arr = calloc(M, sizeof(*arr));
	struct simmm_rng rng;
	(void)state;

	simmm__rng_seed(&rng, tu_seed());
	for (int dir = 0; dir < 2; dir++) {
		struct simmm_itree t = {0};
		struct simmm_itree_node *order[M];
		size_t n = 0;

		/* dir 0: node k at arr[k] (rising addresses); dir 1: at
		 * arr[M-1-k] (falling). Every node starts at 100 or 200. */
		for (int k = 0; k < M; k++) {
			struct simmm_itree_node *x = &arr[dir ? M - 1 - k : k];

			memset(x, 0, sizeof(*x));
			x->start = k % 3 ? 100 : 200;
			x->last = x->start + (uint64_t)(M - k); /* later inserts end earlier */
			simmm__itree_insert(&t, x);
			order[n++] = x;
			if (k % 5 == 4) { /* remove an earlier one: rotations happen */
				size_t r = (size_t)simmm__rng_below(&rng, n);
				simmm__itree_remove(&t, order[r]);
				memmove(&order[r], &order[r + 1], (n - r - 1) * sizeof(order[0]));
				n--;
			}
			assert_int_equal(simmm__itree_verify(&t), 0);
		}
		/* The walk: starts ascending, equal starts in insertion order. */
		size_t i = 0;
		for (uint64_t s = 100; s <= 200; s += 100)
			for (size_t k = 0; k < n; k++)
				if (order[k]->start == s) {
					struct simmm_itree_node *w = simmm__itree_iter_first(&t, 0, 1000);

					for (size_t j = 0; j < i; j++)
						w = simmm__itree_iter_next(w, 0, 1000);
					assert_ptr_equal(w, order[k]);
					i++;
				}
		assert_int_equal(i, t.count);
		/* Restart the rng so both directions see the same removals. */
		simmm__rng_seed(&rng, tu_seed());
	}
	free(arr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(itree_random_vs_bruteforce),
		cmocka_unit_test(itree_verify_catches_corruption),
		cmocka_unit_test(itree_equal_starts_insertion_order),
	};
	return cmocka_run_group_tests_name("itree", tests, NULL, NULL);
}
