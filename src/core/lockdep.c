// SPDX-License-Identifier: MIT
/*
 * A small lockdep: held-lock stacks per task, lock classes, a dependency
 * graph between classes and the reports.
 *
 * Every lock (or wait object) is numbered on first use; the number is its
 * id in trace events. A lock is its own class unless it was given a class
 * key. Acquiring B while holding A adds the edge A -> B; if B already
 * reaches A the new edge closes a cycle: some interleaving can deadlock
 * (the classic ABBA), whether or not this run did. Each edge is added once,
 * so each inversion is reported once per instance.
 *
 * Nothing here ever fails an operation for lack of memory: the held stacks
 * grow with the non-failing allocator, and the graph stops growing (checks
 * silently degrade) beyond LD_MAX_CLASSES classes.
 */
#include <string.h>

#include "core/sched_internal.h"

#define LD_MAX_CLASSES (1u << 16)

struct ld_adj {
	uint32_t to;
	uint32_t by_task; /* who first took the two in this order */
};

struct ld_class {
	const char *name;
	struct ld_adj *adj;
	uint32_t nr_adj, cap_adj;
	uint32_t mark;    /* DFS generation */
	uint32_t parent;  /* DFS tree, for printing the chain */
};

static const char *kind_name(uint8_t kind, uint8_t mode)
{
	switch (kind) {
	case SIMMM_LOCK_MUTEX: return "mutex";
	case SIMMM_LOCK_SPIN: return "spinlock";
	case SIMMM_LOCK_RWSEM: return mode == SIMMM_LOCK_READ ? "rwsem(read)" : "rwsem(write)";
	case SIMMM_LOCK_BIT: return "bit lock";
	case SIMMM_LOCK_SRCU: return "srcu";
	case SIMMM_LOCK_COMPLETION: return "completion";
	case SIMMM_LOCK_WAITQUEUE: return "waitqueue";
	default: return "lock";
	}
}

static uint64_t ld_hash(uint64_t x)
{
	return simmm__splitmix64(&x);
}

/* {==================================================================== */
/* classes                                                                */

void simmm__ld_map_init(struct simmm_lock_map *map, const char *name, const char *dflt)
{
	*map = (struct simmm_lock_map)SIMMM_LOCK_MAP_INIT(name ? name : dflt);
}

int simmm_lockdep_set_class(struct simmm_lock_map *map, const struct simmm_lock_class_key *key)
{
	if (!map)
		return -EINVAL;
	if (map->id)
		return -EBUSY;
	map->key = key;
	return 0;
}

int simmm_lockdep_enable(simmm_sim *sim, bool on)
{
	struct simmm_sched *s;
	bool was;

	if (!simmm__sim_ok(sim))
		return -EINVAL;
	s = simmm__sched_get(sim);
	if (!s)
		return -ENOMEM;
	was = s->ld.enabled;
	s->ld.enabled = on;
	return was;
}

static uint32_t class_new(struct simmm_sched *s, const char *name)
{
	struct simmm_lockdep *ld = &s->ld;

	if (ld->nr_classes == 0)
		ld->nr_classes = 1; /* class 0 means "none" */
	if (ld->nr_classes >= LD_MAX_CLASSES)
		return 0;
	simmm__grow(s->sim, SIMMM_ALLOC_SCHED, (void **)&ld->classes, sizeof(*ld->classes),
		    &ld->cap_classes, ld->nr_classes + 1, true);
	ld->classes[ld->nr_classes].name = name;
	return (uint32_t)ld->nr_classes++;
}

static void keys_rehash(struct simmm_sched *s)
{
	struct simmm_lockdep *ld = &s->ld;
	size_t ocap = ld->cap_keys, ncap = ocap ? ocap * 2 : 64;
	const void **okeys = ld->keys;
	uint32_t *ocls = ld->key_cls;

	ld->keys = simmm__zalloc_nofail(s->sim, SIMMM_ALLOC_SCHED, ncap * sizeof(*ld->keys));
	ld->key_cls = simmm__zalloc_nofail(s->sim, SIMMM_ALLOC_SCHED, ncap * sizeof(*ld->key_cls));
	ld->cap_keys = ncap;
	for (size_t i = 0; i < ocap; i++) {
		size_t j;
		if (!okeys[i])
			continue;
		for (j = ld_hash((uintptr_t)okeys[i]) & (ncap - 1); ld->keys[j]; j = (j + 1) & (ncap - 1))
			;
		ld->keys[j] = okeys[i];
		ld->key_cls[j] = ocls[i];
	}
	simmm__free(s->sim, SIMMM_ALLOC_SCHED, okeys, ocap * sizeof(*okeys));
	simmm__free(s->sim, SIMMM_ALLOC_SCHED, ocls, ocap * sizeof(*ocls));
}

/* The class of a key; the first lock using the key names the class. */
static uint32_t class_of_key(struct simmm_sched *s, const void *key, const char *name)
{
	struct simmm_lockdep *ld = &s->ld;
	size_t j;

	if ((ld->nr_keys + 1) * 2 > ld->cap_keys)
		keys_rehash(s);
	for (j = ld_hash((uintptr_t)key) & (ld->cap_keys - 1); ld->keys[j];
	     j = (j + 1) & (ld->cap_keys - 1))
		if (ld->keys[j] == key)
			return ld->key_cls[j];
	ld->keys[j] = key;
	ld->key_cls[j] = class_new(s, name);
	ld->nr_keys++;
	return ld->key_cls[j];
}

uint32_t simmm__ld_map_id(struct simmm_sched *s, struct simmm_lock_map *map)
{
	if (!s)
		return 0;
	if (SIMMM_LIKELY(map->id && map->sim == s->sim && map->id <= s->ld.next_id &&
			 map->cls < s->ld.nr_classes))
		return map->id;
	/* First use in this instance, a lock moved between instances, or one
	 * numbered by an earlier scheduler of this instance (re-created during
	 * teardown): the bounds checks keep a stale class index from ever
	 * indexing the graph. */
	map->sim = s->sim;
	map->id = ++s->ld.next_id;
	if (!map->name)
		map->name = "?";
	map->cls = map->key ? class_of_key(s, map->key, map->name) : class_new(s, map->name);
	return map->id;
}

/* }==================================================================== */
/* {==================================================================== */
/* the dependency graph                                                   */

static bool edge_insert(struct simmm_sched *s, uint64_t e);

static void edges_rehash(struct simmm_sched *s)
{
	struct simmm_lockdep *ld = &s->ld;
	size_t ocap = ld->cap_edges;
	uint64_t *old = ld->edges;

	ld->cap_edges = ocap ? ocap * 2 : 256;
	ld->edges = simmm__zalloc_nofail(s->sim, SIMMM_ALLOC_SCHED,
					 ld->cap_edges * sizeof(*ld->edges));
	ld->nr_edges = 0;
	for (size_t i = 0; i < ocap; i++)
		if (old[i])
			edge_insert(s, old[i]);
	simmm__free(s->sim, SIMMM_ALLOC_SCHED, old, ocap * sizeof(*old));
}

/* Add @e to the edge set; false if it was there already. */
static bool edge_insert(struct simmm_sched *s, uint64_t e)
{
	struct simmm_lockdep *ld = &s->ld;
	size_t j;

	if ((ld->nr_edges + 1) * 2 > ld->cap_edges)
		edges_rehash(s);
	for (j = ld_hash(e) & (ld->cap_edges - 1); ld->edges[j]; j = (j + 1) & (ld->cap_edges - 1))
		if (ld->edges[j] == e)
			return false;
	ld->edges[j] = e;
	ld->nr_edges++;
	return true;
}

static void adj_add(struct simmm_sched *s, uint32_t from, uint32_t to, uint32_t task)
{
	struct ld_class *c = &s->ld.classes[from];
	size_t cap = c->cap_adj;

	simmm__grow(s->sim, SIMMM_ALLOC_SCHED, (void **)&c->adj, sizeof(*c->adj), &cap,
		    c->nr_adj + 1, true);
	c->cap_adj = (uint32_t)cap;
	c->adj[c->nr_adj++] = (struct ld_adj){.to = to, .by_task = task};
}

/* Depth-first search from @from; true if @to is reachable. Leaves parent
 * links so that the path can be printed. */
static bool reaches(struct simmm_sched *s, uint32_t from, uint32_t to)
{
	struct simmm_lockdep *ld = &s->ld;
	size_t sp = 0;

	ld->gen++;
	simmm__grow(s->sim, SIMMM_ALLOC_SCHED, (void **)&ld->dfs, sizeof(*ld->dfs), &ld->cap_dfs,
		    ld->nr_classes + 1, true);
	ld->classes[from].mark = ld->gen;
	ld->dfs[sp++] = from;
	while (sp) {
		struct ld_class *c = &ld->classes[ld->dfs[--sp]];
		for (uint32_t i = 0; i < c->nr_adj; i++) {
			struct ld_class *n = &ld->classes[c->adj[i].to];
			if (n->mark == ld->gen)
				continue;
			n->mark = ld->gen;
			n->parent = (uint32_t)(c - ld->classes);
			if (c->adj[i].to == to)
				return true;
			ld->dfs[sp++] = c->adj[i].to;
		}
	}
	return false;
}

static uint32_t edge_task(const struct simmm_sched *s, uint32_t from, uint32_t to)
{
	const struct ld_class *c = &s->ld.classes[from];
	for (uint32_t i = 0; i < c->nr_adj; i++)
		if (c->adj[i].to == to)
			return c->adj[i].by_task;
	return 0;
}

/* Report that taking @next while holding @prev closes the cycle
 * next -> ... -> prev found by reaches(). */
static void report_cycle(struct simmm_sched *s, const struct simmm_held *prev,
			 const struct simmm_held *next)
{
	const struct simmm_lockdep *ld = &s->ld;
	uint32_t path[16];
	unsigned np = 0;
	char chain[400];
	size_t n = 0;

	/* Parent links lead from prev back to next; print them forwards. */
	for (uint32_t c = prev->cls; np < SIMMM_ARRAY_SIZE(path); c = ld->classes[c].parent) {
		path[np++] = c;
		if (c == next->cls)
			break;
	}
	chain[0] = '\0';
	for (unsigned i = np; i-- > 0 && n < sizeof(chain);)
		n += (size_t)snprintf(chain + n, sizeof(chain) - n, "%s'%s'",
				      i + 1 < np ? " -> " : "", ld->classes[path[i]].name);
	uint32_t by = np > 1 ? edge_task(s, path[np - 1], path[np - 2]) : 0;
	simmm__report(s->sim, SIMMM_REPORT_LOCKDEP,
		      "lockdep: possible circular locking dependency (ABBA): task %u '%s' acquires "
		      "%s '%s' (id %u) while holding %s '%s' (id %u), but the reverse order "
		      "%s was taken before by task %u '%s'",
		      s->cur->id, s->cur->name, kind_name(next->kind, next->mode), next->name,
		      next->id, kind_name(prev->kind, prev->mode), prev->name, prev->id, chain,
		      by, simmm__task_name(s, by));
}

static void add_dependency(struct simmm_sched *s, const struct simmm_held *prev,
			   const struct simmm_held *next)
{
	uint64_t e = (uint64_t)prev->cls << 32 | next->cls;

	if (!edge_insert(s, e))
		return;
	if (reaches(s, next->cls, prev->cls))
		report_cycle(s, prev, next);
	/* Recorded even when it closes a cycle, so the inversion is reported once. */
	adj_add(s, prev->cls, next->cls, s->cur->id);
}

/* }==================================================================== */
/* {==================================================================== */
/* held locks                                                             */

struct simmm_held *simmm__ld_find(const struct simmm_task *t, const void *obj, uint64_t key)
{
	for (size_t i = t->nr_held; i-- > 0;)
		if (t->held[i].obj == obj && t->held[i].key == key)
			return &t->held[i];
	return NULL;
}

/* {==================================================================== */
/* held bit locks                                                         */

static size_t bo_hash(const void *word, uint64_t key)
{
	uint64_t h = (uint64_t)(uintptr_t)word * 0x9E3779B97F4A7C15ULL ^ key * 0xC2B2AE3D27D4EB4FULL;

	return (size_t)(h ^ (h >> 29));
}

static struct simmm_bit_owner *bo_find(const struct simmm_sched *s, const void *word,
				       uint64_t key)
{
	size_t m = s->bo_cap - 1;

	if (!s->bo_cap)
		return NULL;
	for (size_t i = bo_hash(word, key) & m;; i = (i + 1) & m) {
		struct simmm_bit_owner *b = &s->bo[i];

		if (!b->word)
			return NULL;
		if (b->word == word && b->key == key)
			return b;
	}
}

static void bo_put(struct simmm_sched *s, const struct simmm_bit_owner *e)
{
	size_t m = s->bo_cap - 1, i = bo_hash(e->word, e->key) & m;

	while (s->bo[i].word)
		i = (i + 1) & m;
	s->bo[i] = *e;
	s->bo_n++;
}

static void bo_insert(struct simmm_sched *s, const struct simmm_bit_owner *e)
{
	if ((s->bo_n + 1) * 2 > s->bo_cap) {
		struct simmm_bit_owner *old = s->bo;
		size_t ocap = s->bo_cap;

		s->bo_cap = ocap ? ocap * 2 : 64;
		s->bo = simmm__zalloc_nofail(s->sim, SIMMM_ALLOC_SCHED, s->bo_cap * sizeof(*s->bo));
		s->bo_n = 0;
		for (size_t i = 0; i < ocap; i++)
			if (old[i].word)
				bo_put(s, &old[i]);
		simmm__free(s->sim, SIMMM_ALLOC_SCHED, old, ocap * sizeof(*old));
	}
	bo_put(s, e);
}

/* Backward-shift deletion: no tombstones, probe chains stay short. */
static void bo_remove(struct simmm_sched *s, struct simmm_bit_owner *b)
{
	size_t m = s->bo_cap - 1, i = (size_t)(b - s->bo), j = i;

	for (;;) {
		size_t k;

		j = (j + 1) & m;
		if (!s->bo[j].word)
			break;
		k = bo_hash(s->bo[j].word, s->bo[j].key) & m;
		/* The entry at j may fill the hole at i unless its home k
		 * lies cyclically in (i, j]. */
		if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
			s->bo[i] = s->bo[j];
			i = j;
		}
	}
	s->bo[i].word = NULL;
	s->bo_n--;
}

struct simmm_held *simmm__ld_find_bit(const struct simmm_task *t, const void *word, uint64_t key)
{
	const struct simmm_bit_owner *b = bo_find(t->sched, word, key);

	return b && b->t == t ? &t->bits[b->idx] : NULL;
}

size_t simmm__ld_nr_held(const struct simmm_task *t)
{
	return t->nr_held + t->bits_live;
}

static void bit_push(struct simmm_sched *s, struct simmm_task *t, const struct simmm_held *h)
{
	if (t->bits_hi == t->cap_bits && t->bits_lo) {
		/* Full with holes or a gap below: squeeze the live ones down. */
		size_t n = 0;

		for (size_t i = t->bits_lo; i < t->bits_hi; i++) {
			if (!t->bits[i].obj)
				continue;
			t->bits[n] = t->bits[i];
			bo_find(s, t->bits[n].obj, t->bits[n].key)->idx = n;
			n++;
		}
		t->bits_lo = 0;
		t->bits_hi = n;
	}
	simmm__grow(s->sim, SIMMM_ALLOC_SCHED, (void **)&t->bits, sizeof(*t->bits), &t->cap_bits,
		    t->bits_hi + 1, true);
	bo_insert(s, &(struct simmm_bit_owner){.word = h->obj, .key = h->key, .t = t,
					       .idx = t->bits_hi});
	t->bits[t->bits_hi++] = *h;
	t->bits_live++;
}

static void bit_remove(struct simmm_sched *s, struct simmm_bit_owner *b)
{
	struct simmm_task *t = b->t;

	t->bits[b->idx].obj = NULL;
	bo_remove(s, b);
	t->bits_live--;
	while (t->bits_hi > t->bits_lo && !t->bits[t->bits_hi - 1].obj)
		t->bits_hi--;
	while (t->bits_lo < t->bits_hi && !t->bits[t->bits_lo].obj)
		t->bits_lo++;
	if (t->bits_lo == t->bits_hi)
		t->bits_lo = t->bits_hi = 0;
}

bool simmm__ld_release_bit(struct simmm_sched *s, const void *word, uint64_t key)
{
	struct simmm_bit_owner *b = s ? bo_find(s, word, key) : NULL;

	if (b)
		bit_remove(s, b);
	return b != NULL;
}

void simmm__ld_forget_bits(struct simmm_sched *s, struct simmm_task *t)
{
	for (size_t i = t->bits_lo; i < t->bits_hi; i++)
		if (t->bits[i].obj)
			bo_remove(s, bo_find(s, t->bits[i].obj, t->bits[i].key));
	t->bits_lo = t->bits_hi = t->bits_live = 0;
}

/* }==================================================================== */
/* {==================================================================== */
/* ordered locks                                                          */

void simmm__ld_order(struct simmm_sched *s, const struct simmm_held *h)
{
	const struct simmm_task *t;

	if (!s || !s->ld.enabled || !h->cls)
		return;
	t = s->cur;
	for (size_t i = 0; i < t->nr_held; i++)
		if (t->held[i].cls && t->held[i].cls != h->cls)
			add_dependency(s, &t->held[i], h);
}

void simmm__ld_acquire(struct simmm_sched *s, const struct simmm_held *h, bool order)
{
	struct simmm_task *t;

	if (!s)
		return;
	if (order)
		simmm__ld_order(s, h);
	t = s->cur;
	if (h->kind == SIMMM_LOCK_BIT) {
		bit_push(s, t, h); /* no class: nothing to order */
		return;
	}
	simmm__grow(s->sim, SIMMM_ALLOC_SCHED, (void **)&t->held, sizeof(*t->held), &t->cap_held,
		    t->nr_held + 1, true);
	t->held[t->nr_held++] = *h;
	if (h->kind == SIMMM_LOCK_SPIN)
		t->atomic++;
}

bool simmm__ld_release(struct simmm_sched *s, struct simmm_task *t, const void *obj, uint64_t key)
{
	struct simmm_held *h;
	size_t i;

	if (!s || !t)
		return false;
	h = simmm__ld_find(t, obj, key);
	if (!h) {
		struct simmm_bit_owner *b = bo_find(s, obj, key);

		if (!b || b->t != t)
			return false;
		bit_remove(s, b);
		return true;
	}
	if (h->kind == SIMMM_LOCK_SPIN && t->atomic)
		t->atomic--;
	i = (size_t)(h - t->held);
	memmove(h, h + 1, (t->nr_held - i - 1) * sizeof(*h));
	t->nr_held--;
	return true;
}

size_t simmm__ld_describe_held(const struct simmm_task *t, char *buf, size_t len)
{
	size_t n = 0;

	if (len)
		buf[0] = '\0';
	/* The ordered locks oldest first, then the bit locks oldest first. */
	for (size_t i = 0; i < t->nr_held && n < len; i++) {
		const struct simmm_held *h = &t->held[i];

		n += (size_t)snprintf(buf + n, len - n, "%s%s '%s' (id %u)", i ? ", " : "",
				      kind_name(h->kind, h->mode), h->name, h->id);
	}
	for (size_t i = t->bits_lo; i < t->bits_hi && n < len; i++)
		if (t->bits[i].obj)
			n += (size_t)snprintf(buf + n, len - n, "%sbit lock key %#llx",
					      n ? ", " : "", (unsigned long long)t->bits[i].key);
	return n < len ? n : (len ? len - 1 : 0);
}

/* }==================================================================== */
/* {==================================================================== */
/* reports                                                                */

int simmm__ld_might_sleep(struct simmm_sched *s, const char *what, const char *name)
{
	const struct simmm_task *t;
	const char *spin = NULL;

	if (!s)
		return 0;
	t = s->cur;
	if (SIMMM_LIKELY(!t->atomic && !t->nonblock))
		return 0;
	for (size_t i = t->nr_held; i-- > 0 && !spin;)
		if (t->held[i].kind == SIMMM_LOCK_SPIN)
			spin = t->held[i].name;
	if (spin)
		simmm__report(s->sim, SIMMM_REPORT_LOCKDEP,
			      "lockdep: sleeping function called from invalid context: task %u '%s' "
			      "%s '%s' while atomic (holding spinlock '%s')",
			      t->id, t->name, what, name, spin);
	else
		simmm__report(s->sim, SIMMM_REPORT_LOCKDEP,
			      "lockdep: sleeping in non-blockable context: task %u '%s' %s '%s' "
			      "inside a non-blockable section",
			      t->id, t->name, what, name);
	return -EPERM;
}

void simmm__ld_report_recursion(struct simmm_sched *s, const char *what, const char *name,
				uint64_t id)
{
	uint32_t tid = simmm__sched_cur_id(s);

	if (!s)
		return;
	simmm__report(s->sim, SIMMM_REPORT_LOCKDEP,
		      "lockdep: possible recursive locking: task %u '%s' acquires %s '%s' (id %llu) "
		      "it already holds",
		      tid, simmm__task_name(s, tid), what, name, (unsigned long long)id);
}

void simmm__ld_report_unheld(struct simmm_sched *s, const char *what, const char *name,
			     uint64_t id)
{
	uint32_t tid = simmm__sched_cur_id(s);

	if (!s)
		return;
	simmm__report(s->sim, SIMMM_REPORT_LOCKDEP,
		      "lockdep: bad unlock balance: task %u '%s' releases %s '%s' (id %llu) it "
		      "does not hold",
		      tid, simmm__task_name(s, tid), what, name, (unsigned long long)id);
}

void simmm__ld_task_exit(struct simmm_sched *s, struct simmm_task *t)
{
	char held[700];

	if (simmm__ld_nr_held(t)) {
		simmm__ld_describe_held(t, held, sizeof(held));
		simmm__report(s->sim, SIMMM_REPORT_LOCKDEP,
			      "lockdep: task %u '%s' exited with %zu lock(s) held: %s", t->id,
			      t->name, simmm__ld_nr_held(t), held);
	}
	if (t->nonblock)
		simmm__report(s->sim, SIMMM_REPORT_LOCKDEP,
			      "lockdep: task %u '%s' exited inside %u non-blockable section(s)",
			      t->id, t->name, t->nonblock);
	/* The locks stay taken: whoever waits for them will deadlock, as
	 * they would in the kernel. */
	t->nr_held = 0;
	simmm__ld_forget_bits(s, t);
	t->atomic = 0;
	t->nonblock = 0;
}

void simmm__ld_fini(struct simmm_sched *s)
{
	struct simmm_lockdep *ld = &s->ld;

	for (size_t i = 0; i < ld->nr_classes; i++)
		simmm__free(s->sim, SIMMM_ALLOC_SCHED, ld->classes[i].adj,
			    ld->classes[i].cap_adj * sizeof(*ld->classes[i].adj));
	simmm__free(s->sim, SIMMM_ALLOC_SCHED, ld->classes, ld->cap_classes * sizeof(*ld->classes));
	simmm__free(s->sim, SIMMM_ALLOC_SCHED, ld->edges, ld->cap_edges * sizeof(*ld->edges));
	simmm__free(s->sim, SIMMM_ALLOC_SCHED, ld->keys, ld->cap_keys * sizeof(*ld->keys));
	simmm__free(s->sim, SIMMM_ALLOC_SCHED, ld->key_cls, ld->cap_keys * sizeof(*ld->key_cls));
	simmm__free(s->sim, SIMMM_ALLOC_SCHED, ld->dfs, ld->cap_dfs * sizeof(*ld->dfs));
	memset(ld, 0, sizeof(*ld));
}

/* }==================================================================== */
