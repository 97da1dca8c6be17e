/* SPDX-License-Identifier: MIT */
/*
 * An intrusive interval tree: an AVL tree ordered by start (equal starts
 * in insertion order, as the kernel's interval tree keeps them; never by
 * node address, which would make walks host-dependent) and augmented with
 * the largest `last` of each subtree, like the
 * kernel's lib/interval_tree (which is a red-black tree; AVL gives the
 * same O(log n) bounds with a simpler deterministic shape).
 *
 * One structure serves three users: the VMAs of an mm (non-overlapping;
 * lookup of the VMA containing or following an address), interval
 * notifiers (overlapping; an invalidation visits the k notifiers that
 * overlap in O(log n + k)), and a file's i_mmap for reverse mapping.
 *
 * Intervals are closed: [start, last], as in the kernel.
 */
#ifndef SIMMM_CORE_ITREE_H
#define SIMMM_CORE_ITREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct simmm_itree_node {
	struct simmm_itree_node *left, *right, *parent;
	uint64_t start, last;     /* the interval, inclusive */
	uint64_t subtree_last;    /* max last in this subtree */
	int height;
};

struct simmm_itree {
	struct simmm_itree_node *root;
	size_t count;
};

void simmm__itree_insert(struct simmm_itree *t, struct simmm_itree_node *n);
void simmm__itree_remove(struct simmm_itree *t, struct simmm_itree_node *n);

/* The overlapping node with the smallest start (O(log n)), then the next
 * overlapping one in start order (amortised O(log n) each). */
struct simmm_itree_node *simmm__itree_iter_first(const struct simmm_itree *t, uint64_t start,
						  uint64_t last);
struct simmm_itree_node *simmm__itree_iter_next(struct simmm_itree_node *n, uint64_t start,
						 uint64_t last);

/* In-order traversal. */
struct simmm_itree_node *simmm__itree_first(const struct simmm_itree *t);
struct simmm_itree_node *simmm__itree_last(const struct simmm_itree *t);
struct simmm_itree_node *simmm__itree_next(const struct simmm_itree_node *n);
struct simmm_itree_node *simmm__itree_prev(const struct simmm_itree_node *n);

/* Debug check of order, balance, parent links and augmentation; returns
 * the number of broken nodes (0 = sound). */
size_t simmm__itree_verify(const struct simmm_itree *t);

#endif
