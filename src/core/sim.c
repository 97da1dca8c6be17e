// SPDX-License-Identifier: MIT
/*
 * The simulated machine: create, destroy, configuration checks, subsystem
 * hooks and the top of the invariant checker.
 */
#include <string.h>

#include "core/internal.h"
#include "page/page.h"

void simmm_config_init(simmm_config *cfg)
{
	if (!cfg)
		return;
	memset(cfg, 0, sizeof(*cfg));
	cfg->geometry = NULL;
	cfg->ram_bytes = 1ULL << 30;
	cfg->swap_bytes = 256ULL << 20;
	cfg->seed = 1;
	cfg->allocator = SIMMM_ALLOCATOR_DEFAULT;
}

static int resolve_geometry(const simmm_config *cfg, struct simmm_geometry *g)
{
	const struct simmm_geometry *b;

	if (cfg->custom_geometry)
		return simmm_geometry_build(cfg->custom_geometry, g);
	b = simmm_geometry_lookup(cfg->geometry);
	if (!b)
		return -EINVAL;
	*g = *b;
	return 0;
}

static int check_sizes(const simmm_config *cfg, const struct simmm_geometry *g)
{
	uint64_t psize = 1ULL << g->page_shift;

	if (cfg->ram_bytes == 0 || cfg->ram_bytes % psize ||
	    cfg->ram_bytes / psize < SIMMM_MIN_RAM_PAGES || cfg->ram_bytes > SIMMM_MAX_RAM_BYTES)
		return -EINVAL;
	/* RAM must be addressable by the geometry's physical address bits. */
	if (g->pa_bits < 64 && cfg->ram_bytes > (1ULL << g->pa_bits))
		return -EINVAL;
	if (cfg->swap_bytes % psize || cfg->swap_bytes > SIMMM_MAX_SWAP_BYTES)
		return -EINVAL;
	if (cfg->flags & ~(SIMMM_CFG_NO_CONTENTS | SIMMM_CFG_QUIET))
		return -EINVAL;
	return 0;
}

static void sim_teardown(simmm_sim *sim, int *leaks)
{
	/* Upper layers first: finalisers run in reverse registration order. */
	while (sim->nr_finis) {
		struct simmm_hook h = sim->finis[--sim->nr_finis];
		((simmm_fini_fn)h.fn)(sim, h.arg);
	}
	if (sim->sched_fini)
		sim->sched_fini(sim, sim->sched);
	sim->sched_fini = NULL;
	if (sim->phys)
		*leaks += (int)simmm__phys_fini(sim, sim->flags & SIMMM_CFG_QUIET);
	simmm__free(sim, SIMMM_ALLOC_META, sim->checkers, sim->cap_checkers * sizeof(*sim->checkers));
	simmm__free(sim, SIMMM_ALLOC_META, sim->finis, sim->cap_finis * sizeof(*sim->finis));
	sim->checkers = NULL;
	sim->finis = NULL;
	simmm__trace_fini(sim);
	simmm__reports_fini(sim);
}

/* Release the instance's own storage after everything else is gone. */
static int sim_release(simmm_sim *sim, bool quiet)
{
	struct simmm_alloc_state a = sim->alloc;

	sim->magic = SIMMM_MAGIC_DEAD;
	/* The struct itself is the one allocation expected to be live. */
	a.live_allocs--;
	a.live_bytes[SIMMM_ALLOC_META] -= sizeof(*sim);
	a.backend.free(a.backend.ctx, sim, sizeof(*sim));
	return simmm__alloc_fini(&a, 0, quiet);
}

int simmm_sim_create(const simmm_config *ucfg, simmm_sim **out)
{
	simmm_config cfg;
	simmm_sim tmp, *sim;
	int err;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (ucfg)
		cfg = *ucfg;
	else
		simmm_config_init(&cfg);

	/* Build the instance on the stack first: the allocator state has to
	 * exist before the instance's own memory can come from it. */
	memset(&tmp, 0, sizeof(tmp));
	err = resolve_geometry(&cfg, &tmp.geo);
	if (err)
		return err;
	err = check_sizes(&cfg, &tmp.geo);
	if (err)
		return err;
	tmp.magic = SIMMM_MAGIC;
	tmp.flags = cfg.flags;
	tmp.page_size = 1ULL << tmp.geo.page_shift;
	tmp.ram_pages = cfg.ram_bytes >> tmp.geo.page_shift;
	tmp.swap_pages = cfg.swap_bytes >> tmp.geo.page_shift;
	tmp.seed = cfg.seed;
	simmm__rng_seed(&tmp.rng, cfg.seed);
	err = simmm__alloc_init(&tmp, &cfg);
	if (err)
		return err;
	tmp.alloc.fault = cfg.fault;

	sim = simmm__malloc(&tmp, SIMMM_ALLOC_META, sizeof(*sim));
	if (!sim) {
		simmm__alloc_fini(&tmp.alloc, 0, true);
		return -ENOMEM;
	}
	memcpy(sim, &tmp, sizeof(*sim));

	err = simmm__trace_init(sim, &cfg);
	if (!err)
		err = simmm__phys_init(sim);
	if (!err)
		err = simmm__add_checker(sim, "phys", simmm__phys_check, NULL);
	if (err) {
		int leaks = 0;
		sim_teardown(sim, &leaks);
		sim_release(sim, true);
		return err;
	}
	simmm__trace(sim, SIMMM_EV_SIM_CREATE, 0, 0, sim->ram_pages, sim->seed);
	*out = sim;
	return 0;
}

int simmm_sim_destroy(simmm_sim **simp)
{
	simmm_sim *sim;
	int leaks = 0;
	bool quiet;

	if (!simp || !*simp)
		return -EINVAL;
	sim = *simp;
	if (sim->magic != SIMMM_MAGIC)
		return -EINVAL;
	*simp = NULL;
	quiet = sim->flags & SIMMM_CFG_QUIET;
	simmm__trace(sim, SIMMM_EV_SIM_DESTROY, 0, 0, 0, 0);
	sim_teardown(sim, &leaks);
	leaks += sim_release(sim, quiet);
	return leaks;
}

const struct simmm_geometry *simmm_sim_geometry(const simmm_sim *sim)
{
	return simmm__sim_ok(sim) ? &sim->geo : NULL;
}

uint64_t simmm_sim_seed(const simmm_sim *sim)
{
	return simmm__sim_ok(sim) ? sim->seed : 0;
}

uint64_t simmm_sim_random(simmm_sim *sim)
{
	return simmm__sim_ok(sim) ? simmm__rng_next(&sim->rng) : 0;
}

static int add_hook(simmm_sim *sim, struct simmm_hook **arr, unsigned *nr, unsigned *cap,
		    const char *name, void *fn, void *arg)
{
	size_t c = *cap;
	int err = simmm__grow(sim, SIMMM_ALLOC_META, (void **)arr, sizeof(**arr), &c, *nr + 1,
			      false);
	if (err)
		return err;
	*cap = (unsigned)c;
	(*arr)[(*nr)++] = (struct simmm_hook){.name = name, .fn = fn, .arg = arg};
	return 0;
}

static int add_hook_nofail(simmm_sim *sim, struct simmm_hook **arr, unsigned *nr,
			   unsigned *cap, const char *name, void *fn, void *arg)
{
	size_t c = *cap;
	simmm__grow(sim, SIMMM_ALLOC_META, (void **)arr, sizeof(**arr), &c, *nr + 1, true);
	*cap = (unsigned)c;
	(*arr)[(*nr)++] = (struct simmm_hook){.name = name, .fn = fn, .arg = arg};
	return 0;
}

static void remove_hook(struct simmm_hook *arr, unsigned *nr, void *fn, void *arg)
{
	for (unsigned i = 0; i < *nr; i++) {
		if (arr[i].fn == fn && arr[i].arg == arg) {
			memmove(&arr[i], &arr[i + 1], (*nr - i - 1) * sizeof(*arr));
			(*nr)--;
			return;
		}
	}
}

int simmm__add_checker(simmm_sim *sim, const char *name, simmm_checker_fn fn, void *arg)
{
	return add_hook(sim, &sim->checkers, &sim->nr_checkers, &sim->cap_checkers, name,
			(void *)fn, arg);
}

void simmm__remove_checker(simmm_sim *sim, simmm_checker_fn fn, void *arg)
{
	remove_hook(sim->checkers, &sim->nr_checkers, (void *)fn, arg);
}

int simmm__add_fini(simmm_sim *sim, const char *name, simmm_fini_fn fn, void *arg)
{
	/* Registering teardown is bookkeeping that must not fail. */
	return add_hook_nofail(sim, &sim->finis, &sim->nr_finis, &sim->cap_finis, name, (void *)fn, arg);
}

void simmm__remove_fini(simmm_sim *sim, simmm_fini_fn fn, void *arg)
{
	remove_hook(sim->finis, &sim->nr_finis, (void *)fn, arg);
}

int simmm_check(simmm_sim *sim)
{
	int total = 0;

	if (!simmm__sim_ok(sim))
		return -EINVAL;
	for (unsigned i = 0; i < sim->nr_checkers; i++) {
		struct simmm_hook *h = &sim->checkers[i];
		total += ((simmm_checker_fn)h->fn)(sim, h->arg);
	}
	return total;
}
