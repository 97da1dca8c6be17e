// SPDX-License-Identifier: MIT
/* The augmented AVL interval tree described in itree.h. */
#include "core/itree.h"

static inline int height(const struct simmm_itree_node *n)
{
	return n ? n->height : 0;
}

/* Recompute height and augmentation from the children. */
static void update(struct simmm_itree_node *n)
{
	int hl = height(n->left), hr = height(n->right);
	uint64_t m = n->last;
	n->height = 1 + (hl > hr ? hl : hr);
	if (n->left && n->left->subtree_last > m)
		m = n->left->subtree_last;
	if (n->right && n->right->subtree_last > m)
		m = n->right->subtree_last;
	n->subtree_last = m;
}

static void replace_child(struct simmm_itree *t, struct simmm_itree_node *parent,
			  struct simmm_itree_node *old, struct simmm_itree_node *new)
{
	if (!parent)
		t->root = new;
	else if (parent->left == old)
		parent->left = new;
	else
		parent->right = new;
	if (new)
		new->parent = parent;
}

static struct simmm_itree_node *rotate_left(struct simmm_itree *t, struct simmm_itree_node *x)
{
	struct simmm_itree_node *y = x->right;
	replace_child(t, x->parent, x, y);
	x->right = y->left;
	if (y->left)
		y->left->parent = x;
	y->left = x;
	x->parent = y;
	update(x);
	update(y);
	return y;
}

static struct simmm_itree_node *rotate_right(struct simmm_itree *t, struct simmm_itree_node *x)
{
	struct simmm_itree_node *y = x->left;
	replace_child(t, x->parent, x, y);
	x->left = y->right;
	if (y->right)
		y->right->parent = x;
	y->right = x;
	x->parent = y;
	update(x);
	update(y);
	return y;
}

/* Walk from n to the root, restoring balance and augmentation. */
static void rebalance(struct simmm_itree *t, struct simmm_itree_node *n)
{
	while (n) {
		int bal;
		update(n);
		bal = height(n->left) - height(n->right);
		if (bal > 1) {
			if (height(n->left->left) < height(n->left->right))
				rotate_left(t, n->left);
			n = rotate_right(t, n);
		} else if (bal < -1) {
			if (height(n->right->right) < height(n->right->left))
				rotate_right(t, n->right);
			n = rotate_left(t, n);
		}
		n = n->parent;
	}
}

/*
 * Ordered by start alone, and a node goes to the right of every node with
 * the same start: equal starts keep their insertion order, as in the
 * kernel's interval_tree_insert() (which descends left only for a smaller
 * start). The order must not depend on node addresses: an rmap walk visits
 * the VMAs of a file or an anon_vma in this order, and an order that
 * changed with where the host allocator put the nodes made the same input
 * take different paths in two runs of one process (found by comparing
 * fuzz_mm_ops traces under ASan).
 */
static bool less(const struct simmm_itree_node *a, const struct simmm_itree_node *b)
{
	return a->start < b->start;
}

void simmm__itree_insert(struct simmm_itree *t, struct simmm_itree_node *n)
{
	struct simmm_itree_node **link = &t->root, *parent = NULL;

	while (*link) {
		parent = *link;
		link = less(n, parent) ? &parent->left : &parent->right;
	}
	n->left = n->right = NULL;
	n->parent = parent;
	n->height = 1;
	n->subtree_last = n->last;
	*link = n;
	t->count++;
	rebalance(t, parent);
}

static struct simmm_itree_node *leftmost(struct simmm_itree_node *n)
{
	while (n && n->left)
		n = n->left;
	return n;
}

void simmm__itree_remove(struct simmm_itree *t, struct simmm_itree_node *n)
{
	struct simmm_itree_node *fix;

	if (n->left && n->right) {
		/* Swap in the in-order successor s, which has no left child. */
		struct simmm_itree_node *s = leftmost(n->right);
		if (s->parent == n) {
			fix = s;
		} else {
			fix = s->parent;
			replace_child(t, s->parent, s, s->right);
			s->right = n->right;
			s->right->parent = s;
		}
		replace_child(t, n->parent, n, s);
		s->left = n->left;
		s->left->parent = s;
	} else {
		struct simmm_itree_node *child = n->left ? n->left : n->right;
		fix = n->parent;
		replace_child(t, n->parent, n, child);
	}
	n->left = n->right = n->parent = NULL;
	t->count--;
	rebalance(t, fix);
}

/* Leftmost node in subtree n overlapping [start, last], or NULL. */
static struct simmm_itree_node *subtree_search(struct simmm_itree_node *n, uint64_t start,
					       uint64_t last)
{
	while (n) {
		if (n->left && n->left->subtree_last >= start) {
			n = n->left; /* an overlap on the left comes first */
			continue;
		}
		if (n->start > last)
			return NULL; /* everything further right starts later */
		if (n->last >= start)
			return n;
		if (!n->right || n->right->subtree_last < start)
			return NULL;
		n = n->right;
	}
	return NULL;
}

struct simmm_itree_node *simmm__itree_iter_first(const struct simmm_itree *t, uint64_t start,
						  uint64_t last)
{
	if (!t->root || t->root->subtree_last < start)
		return NULL;
	return subtree_search(t->root, start, last);
}

struct simmm_itree_node *simmm__itree_iter_next(struct simmm_itree_node *n, uint64_t start,
						 uint64_t last)
{
	for (;;) {
		struct simmm_itree_node *r = n->right, *p;
		if (r && r->subtree_last >= start)
			return subtree_search(r, start, last);
		/* Climb until we come up from a left child; that parent is
		 * next in order. */
		do {
			p = n->parent;
			if (!p)
				return NULL;
			if (p->left == n)
				break;
			n = p;
		} while (1);
		n = p;
		if (n->start > last)
			return NULL;
		if (n->last >= start)
			return n;
	}
}

struct simmm_itree_node *simmm__itree_first(const struct simmm_itree *t)
{
	return leftmost(t->root);
}

struct simmm_itree_node *simmm__itree_last(const struct simmm_itree *t)
{
	struct simmm_itree_node *n = t->root;
	while (n && n->right)
		n = n->right;
	return n;
}

struct simmm_itree_node *simmm__itree_next(const struct simmm_itree_node *n)
{
	const struct simmm_itree_node *p;
	if (n->right)
		return leftmost(n->right);
	while ((p = n->parent) && p->right == n)
		n = p;
	return (struct simmm_itree_node *)p;
}

struct simmm_itree_node *simmm__itree_prev(const struct simmm_itree_node *n)
{
	const struct simmm_itree_node *p;
	if (n->left) {
		n = n->left;
		while (n->right)
			n = n->right;
		return (struct simmm_itree_node *)n;
	}
	while ((p = n->parent) && p->left == n)
		n = p;
	return (struct simmm_itree_node *)p;
}

static size_t verify(const struct simmm_itree_node *n, const struct simmm_itree_node *parent,
		     size_t *count)
{
	size_t bad = 0;
	uint64_t m;
	int hl, hr;

	if (!n)
		return 0;
	(*count)++;
	bad += verify(n->left, n, count);
	bad += verify(n->right, n, count);
	hl = height(n->left);
	hr = height(n->right);
	m = n->last;
	if (n->left && n->left->subtree_last > m)
		m = n->left->subtree_last;
	if (n->right && n->right->subtree_last > m)
		m = n->right->subtree_last;
	if (n->parent != parent || n->start > n->last || m != n->subtree_last ||
	    n->height != 1 + (hl > hr ? hl : hr) || hl - hr > 1 || hr - hl > 1 ||
	    (n->left && less(n, n->left)) || (n->right && less(n->right, n)))
		bad++;
	return bad;
}

size_t simmm__itree_verify(const struct simmm_itree *t)
{
	size_t count = 0, bad = verify(t->root, NULL, &count);
	return bad + (count != t->count);
}
