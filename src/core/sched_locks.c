// SPDX-License-Identifier: MIT
/*
 * Mutexes, spinlocks, rwsems and bit locks.
 *
 * Every operation has the same shape: validate, number the lock, check
 * that the caller may sleep (sleeping kinds) and does not already hold it,
 * take a scheduling point, then wait on the lock's map until it is free.
 * A wait is never a spin: the waiter leaves the runnable set until a
 * release wakes it, and then re-checks (no hand-off, so whoever the
 * schedule picks first wins, which is exactly the race worth exploring).
 *
 * Outside a run all of this reduces to the state update and the checks.
 */
#include "core/sched_internal.h"

static void lk_trace(struct simmm_sched *s, uint32_t type, uint64_t addr, uint8_t kind,
		     uint8_t mode)
{
	if (s && s->running)
		simmm__sched_trace(s, type, addr, kind, mode);
}

static struct simmm_held map_held(const struct simmm_lock_map *map, uint8_t kind, uint8_t mode)
{
	return (struct simmm_held){.obj = map, .name = map->name, .id = map->id, .cls = map->cls,
				   .kind = kind, .mode = mode};
}

/* Check the order before waiting (see simmm__ld_order()). */
static void check_order(struct simmm_sched *s, const struct simmm_lock_map *map, uint8_t kind,
			uint8_t mode)
{
	struct simmm_held h = map_held(map, kind, mode);
	simmm__ld_order(s, &h);
}

/* Record an acquisition of @map by the current context; the order was
 * checked before waiting, and trylocks have none. */
static void note_acquire(struct simmm_sched *s, const struct simmm_lock_map *map, uint8_t kind,
			 uint8_t mode)
{
	struct simmm_held h = map_held(map, kind, mode);

	simmm__ld_acquire(s, &h, false);
	lk_trace(s, SIMMM_EV_LOCK_ACQUIRE, map->id, kind, mode);
}

static void note_release(struct simmm_sched *s, const struct simmm_lock_map *map, uint8_t kind,
			 uint8_t mode)
{
	if (s)
		simmm__ld_release(s, s->cur, map, 0);
	lk_trace(s, SIMMM_EV_LOCK_RELEASE, map->id, kind, mode);
	simmm__sched_wake(s, map, 0, map->id);
	simmm__sched_point(s, "unlock");
}

static int wait_map(struct simmm_sched *s, const struct simmm_lock_map *map, const char *what,
		    uint8_t kind, int64_t owner, bool *contended)
{
	struct simmm_waitinfo w = {.obj = map, .what = what, .name = map->name, .id = map->id,
				   .owner = owner, .kind = kind};

	if (!*contended) {
		lk_trace(s, SIMMM_EV_LOCK_CONTEND, map->id, kind, 0);
		*contended = true;
	}
	return simmm__sched_wait(s, &w, 0);
}

/* Entry checks shared by the blocking acquires: 0 to go on. */
static int acquire_checks(struct simmm_sched *s, struct simmm_lock_map *map, const char *what,
			  bool sleeps, bool recursive)
{
	int err;

	simmm__ld_map_id(s, map);
	if (sleeps && (err = simmm__ld_might_sleep(s, what, map->name)))
		return err;
	if (recursive) {
		simmm__ld_report_recursion(s, what, map->name, map->id);
		return -EDEADLK;
	}
	simmm__sched_point(s, what);
	return 0;
}

/* {==================================================================== */
/* exclusive locks: mutex and spinlock share one layout                   */

struct xlock {
	struct simmm_lock_map *map;
	uint32_t *owner;
	bool *locked;
	uint8_t kind;
	const char *what;
};

static int xlock_lock(simmm_sim *sim, const struct xlock *x)
{
	struct simmm_sched *s = simmm__sched_get(sim);
	uint32_t me = simmm__sched_cur_id(s);
	bool contended = false;
	int err;

	err = acquire_checks(s, x->map, x->what, x->kind == SIMMM_LOCK_MUTEX,
			     *x->locked && *x->owner == me);
	if (!err)
		check_order(s, x->map, x->kind, SIMMM_LOCK_WRITE);
	while (!err && *x->locked)
		err = wait_map(s, x->map, x->what, x->kind, *x->owner, &contended);
	if (err)
		return err;
	*x->locked = true;
	*x->owner = me;
	note_acquire(s, x->map, x->kind, SIMMM_LOCK_WRITE);
	return 0;
}

static int xlock_trylock(simmm_sim *sim, const struct xlock *x)
{
	struct simmm_sched *s = simmm__sched_get(sim);

	simmm__ld_map_id(s, x->map);
	simmm__sched_point(s, x->what);
	if (*x->locked)
		return 0;
	*x->locked = true;
	*x->owner = simmm__sched_cur_id(s);
	note_acquire(s, x->map, x->kind, SIMMM_LOCK_WRITE);
	return 1;
}

static int xlock_unlock(simmm_sim *sim, const struct xlock *x)
{
	struct simmm_sched *s = simmm__sched_get(sim);

	simmm__ld_map_id(s, x->map);
	if (!*x->locked || *x->owner != simmm__sched_cur_id(s)) {
		simmm__ld_report_unheld(s, x->what, x->map->name, x->map->id);
		return -EPERM;
	}
	*x->locked = false;
	note_release(s, x->map, x->kind, SIMMM_LOCK_WRITE);
	return 0;
}

#define MUTEX_X(m) (&(struct xlock){&(m)->map, &(m)->owner, &(m)->locked, SIMMM_LOCK_MUTEX, "mutex"})
#define SPIN_X(l) (&(struct xlock){&(l)->map, &(l)->owner, &(l)->locked, SIMMM_LOCK_SPIN, "spinlock"})

void simmm_mutex_init(struct simmm_mutex *m, const char *name)
{
	if (!m)
		return;
	simmm__ld_map_init(&m->map, name, "mutex");
	m->owner = 0;
	m->locked = false;
}

int simmm_mutex_lock(simmm_sim *sim, struct simmm_mutex *m)
{
	return simmm__sim_ok(sim) && m ? xlock_lock(sim, MUTEX_X(m)) : -EINVAL;
}

int simmm_mutex_trylock(simmm_sim *sim, struct simmm_mutex *m)
{
	return simmm__sim_ok(sim) && m ? xlock_trylock(sim, MUTEX_X(m)) : -EINVAL;
}

int simmm_mutex_unlock(simmm_sim *sim, struct simmm_mutex *m)
{
	return simmm__sim_ok(sim) && m ? xlock_unlock(sim, MUTEX_X(m)) : -EINVAL;
}

bool simmm_mutex_is_locked(const struct simmm_mutex *m)
{
	return m && m->locked;
}

void simmm_spin_lock_init(struct simmm_spinlock *l, const char *name)
{
	if (!l)
		return;
	simmm__ld_map_init(&l->map, name, "spinlock");
	l->owner = 0;
	l->locked = false;
}

int simmm_spin_lock(simmm_sim *sim, struct simmm_spinlock *l)
{
	return simmm__sim_ok(sim) && l ? xlock_lock(sim, SPIN_X(l)) : -EINVAL;
}

int simmm_spin_trylock(simmm_sim *sim, struct simmm_spinlock *l)
{
	return simmm__sim_ok(sim) && l ? xlock_trylock(sim, SPIN_X(l)) : -EINVAL;
}

int simmm_spin_unlock(simmm_sim *sim, struct simmm_spinlock *l)
{
	return simmm__sim_ok(sim) && l ? xlock_unlock(sim, SPIN_X(l)) : -EINVAL;
}

bool simmm_spin_is_locked(const struct simmm_spinlock *l)
{
	return l && l->locked;
}

/* }==================================================================== */
/* {==================================================================== */
/* rwsem                                                                  */

void simmm_rwsem_init(struct simmm_rwsem *sem, const char *name)
{
	if (!sem)
		return;
	simmm__ld_map_init(&sem->map, name, "rwsem");
	sem->readers = 0;
	sem->owner = 0;
	sem->write_waiters = 0;
	sem->write_locked = false;
}

/* Held by the current context in any mode (recursion check). Without a
 * scheduler only a write hold is known. */
static bool rwsem_held_by_me(const struct simmm_sched *s, const struct simmm_rwsem *sem)
{
	if (sem->write_locked && sem->owner == simmm__sched_cur_id(s))
		return true;
	return s && simmm__ld_find(s->cur, &sem->map, 0);
}

static enum simmm_lock_mode rwsem_my_mode(const struct simmm_sched *s,
					  const struct simmm_rwsem *sem)
{
	const struct simmm_held *h;

	if (sem->write_locked && sem->owner == simmm__sched_cur_id(s))
		return SIMMM_LOCK_WRITE;
	if (!s)
		return sem->readers ? SIMMM_LOCK_READ : SIMMM_LOCK_NOT_HELD;
	h = simmm__ld_find(s->cur, &sem->map, 0);
	return h ? (enum simmm_lock_mode)h->mode : SIMMM_LOCK_NOT_HELD;
}

/* New readers also wait behind a waiting writer, as in the kernel. */
static bool rwsem_read_ok(const struct simmm_rwsem *sem)
{
	return !sem->write_locked && !sem->write_waiters;
}

static int64_t rwsem_owner(const struct simmm_rwsem *sem)
{
	return sem->write_locked ? (int64_t)sem->owner : -1;
}

int simmm_down_read(simmm_sim *sim, struct simmm_rwsem *sem)
{
	struct simmm_sched *s;
	bool contended = false;
	int err;

	if (!simmm__sim_ok(sim) || !sem)
		return -EINVAL;
	s = simmm__sched_get(sim);
	err = acquire_checks(s, &sem->map, "down_read", true, rwsem_held_by_me(s, sem));
	if (!err)
		check_order(s, &sem->map, SIMMM_LOCK_RWSEM, SIMMM_LOCK_READ);
	while (!err && !rwsem_read_ok(sem))
		err = wait_map(s, &sem->map, "rwsem read", SIMMM_LOCK_RWSEM, rwsem_owner(sem),
			       &contended);
	if (err)
		return err;
	sem->readers++;
	note_acquire(s, &sem->map, SIMMM_LOCK_RWSEM, SIMMM_LOCK_READ);
	return 0;
}

int simmm_down_read_trylock(simmm_sim *sim, struct simmm_rwsem *sem)
{
	struct simmm_sched *s;

	if (!simmm__sim_ok(sim) || !sem)
		return -EINVAL;
	s = simmm__sched_get(sim);
	simmm__ld_map_id(s, &sem->map);
	simmm__sched_point(s, "down_read_trylock");
	if (!rwsem_read_ok(sem) || rwsem_held_by_me(s, sem))
		return 0;
	sem->readers++;
	note_acquire(s, &sem->map, SIMMM_LOCK_RWSEM, SIMMM_LOCK_READ);
	return 1;
}

int simmm_up_read(simmm_sim *sim, struct simmm_rwsem *sem)
{
	struct simmm_sched *s;

	if (!simmm__sim_ok(sim) || !sem)
		return -EINVAL;
	s = simmm__sched_get(sim);
	simmm__ld_map_id(s, &sem->map);
	if (rwsem_my_mode(s, sem) != SIMMM_LOCK_READ || !sem->readers) {
		simmm__ld_report_unheld(s, "rwsem(read)", sem->map.name, sem->map.id);
		return -EPERM;
	}
	sem->readers--;
	note_release(s, &sem->map, SIMMM_LOCK_RWSEM, SIMMM_LOCK_READ);
	return 0;
}

int simmm_down_write(simmm_sim *sim, struct simmm_rwsem *sem)
{
	struct simmm_sched *s;
	bool contended = false;
	int err;

	if (!simmm__sim_ok(sim) || !sem)
		return -EINVAL;
	s = simmm__sched_get(sim);
	err = acquire_checks(s, &sem->map, "down_write", true, rwsem_held_by_me(s, sem));
	if (err)
		return err;
	check_order(s, &sem->map, SIMMM_LOCK_RWSEM, SIMMM_LOCK_WRITE);
	if (sem->write_locked || sem->readers) {
		sem->write_waiters++;
		while (!err && (sem->write_locked || sem->readers))
			err = wait_map(s, &sem->map, "rwsem write", SIMMM_LOCK_RWSEM,
				       rwsem_owner(sem), &contended);
		sem->write_waiters--;
		if (err) {
			/* Readers queued behind us may go now. */
			simmm__sched_wake(s, &sem->map, 0, sem->map.id);
			return err;
		}
	}
	sem->write_locked = true;
	sem->owner = simmm__sched_cur_id(s);
	note_acquire(s, &sem->map, SIMMM_LOCK_RWSEM, SIMMM_LOCK_WRITE);
	return 0;
}

int simmm_down_write_trylock(simmm_sim *sim, struct simmm_rwsem *sem)
{
	struct simmm_sched *s;

	if (!simmm__sim_ok(sim) || !sem)
		return -EINVAL;
	s = simmm__sched_get(sim);
	simmm__ld_map_id(s, &sem->map);
	simmm__sched_point(s, "down_write_trylock");
	if (sem->write_locked || sem->readers)
		return 0;
	sem->write_locked = true;
	sem->owner = simmm__sched_cur_id(s);
	note_acquire(s, &sem->map, SIMMM_LOCK_RWSEM, SIMMM_LOCK_WRITE);
	return 1;
}

int simmm_up_write(simmm_sim *sim, struct simmm_rwsem *sem)
{
	struct simmm_sched *s;

	if (!simmm__sim_ok(sim) || !sem)
		return -EINVAL;
	s = simmm__sched_get(sim);
	simmm__ld_map_id(s, &sem->map);
	if (rwsem_my_mode(s, sem) != SIMMM_LOCK_WRITE) {
		simmm__ld_report_unheld(s, "rwsem(write)", sem->map.name, sem->map.id);
		return -EPERM;
	}
	sem->write_locked = false;
	note_release(s, &sem->map, SIMMM_LOCK_RWSEM, SIMMM_LOCK_WRITE);
	return 0;
}

int simmm_downgrade_write(simmm_sim *sim, struct simmm_rwsem *sem)
{
	struct simmm_sched *s;
	struct simmm_held *h;

	if (!simmm__sim_ok(sim) || !sem)
		return -EINVAL;
	s = simmm__sched_get(sim);
	simmm__ld_map_id(s, &sem->map);
	if (rwsem_my_mode(s, sem) != SIMMM_LOCK_WRITE) {
		simmm__ld_report_unheld(s, "rwsem(write)", sem->map.name, sem->map.id);
		return -EPERM;
	}
	/* One step, so no writer can slip in between. */
	sem->write_locked = false;
	sem->readers++;
	if (s && (h = simmm__ld_find(s->cur, &sem->map, 0)))
		h->mode = SIMMM_LOCK_READ;
	lk_trace(s, SIMMM_EV_LOCK_ACQUIRE, sem->map.id, SIMMM_LOCK_RWSEM, SIMMM_LOCK_READ);
	simmm__sched_wake(s, &sem->map, 0, sem->map.id);
	simmm__sched_point(s, "downgrade_write");
	return 0;
}

bool simmm_rwsem_is_locked(const struct simmm_rwsem *sem)
{
	return sem && (sem->write_locked || sem->readers);
}

/* }==================================================================== */
/* {==================================================================== */
/* bit locks                                                              */

static bool bit_args_ok(simmm_sim *sim, const uint32_t *word, uint32_t mask)
{
	return simmm__sim_ok(sim) && word && mask && !(mask & (mask - 1));
}

static int bit_wait(struct simmm_sched *s, uint32_t *word, uint32_t mask, uint64_t key,
		    bool *contended)
{
	struct simmm_waitinfo w = {.obj = word, .key = key, .what = "bit lock", .name = "key",
				   .id = key, .owner = -1, .kind = SIMMM_LOCK_BIT};

	if (!*contended) {
		lk_trace(s, SIMMM_EV_LOCK_CONTEND, key, SIMMM_LOCK_BIT, 0);
		*contended = true;
	}
	(void)mask;
	return simmm__sched_wait(s, &w, 0);
}

/* Shared by lock and the waits: the checks before waiting, then (with
 * @point) a scheduling point. */
static int bit_checks(struct simmm_sched *s, const uint32_t *word, uint32_t mask, uint64_t key,
		      const char *what, bool point)
{
	int err = simmm__ld_might_sleep(s, what, "bit lock");

	if (err)
		return err;
	if ((*word & mask) && s && simmm__ld_find_bit(s->cur, word, key)) {
		simmm__ld_report_recursion(s, "bit lock", "key", key);
		return -EDEADLK;
	}
	if (point)
		simmm__sched_point(s, what);
	return 0;
}

static void bit_acquired(struct simmm_sched *s, uint32_t *word, uint32_t mask, uint64_t key)
{
	struct simmm_held h = {.obj = word, .key = key, .name = "bit lock", .id = (uint32_t)key,
			       .kind = SIMMM_LOCK_BIT, .mode = SIMMM_LOCK_WRITE};

	*word |= mask;
	simmm__ld_acquire(s, &h, false);
	lk_trace(s, SIMMM_EV_LOCK_ACQUIRE, key, SIMMM_LOCK_BIT, SIMMM_LOCK_WRITE);
}

int simmm_bit_lock(simmm_sim *sim, uint32_t *word, uint32_t mask, uint64_t key)
{
	struct simmm_sched *s;
	bool contended = false;
	int err;

	if (!bit_args_ok(sim, word, mask))
		return -EINVAL;
	s = simmm__sched_get(sim);
	err = bit_checks(s, word, mask, key, "bit_lock", true);
	while (!err && (*word & mask))
		err = bit_wait(s, word, mask, key, &contended);
	if (err)
		return err;
	bit_acquired(s, word, mask, key);
	return 0;
}

int simmm_bit_trylock(simmm_sim *sim, uint32_t *word, uint32_t mask, uint64_t key)
{
	struct simmm_sched *s;

	if (!bit_args_ok(sim, word, mask))
		return -EINVAL;
	s = simmm__sched_get(sim);
	simmm__sched_point(s, "bit_trylock");
	if (*word & mask)
		return 0;
	bit_acquired(s, word, mask, key);
	return 1;
}

int simmm__bit_trylock_atomic(simmm_sim *sim, uint32_t *word, uint32_t mask, uint64_t key)
{
	if (!bit_args_ok(sim, word, mask))
		return -EINVAL;
	if (*word & mask)
		return 0;
	bit_acquired(simmm__sched_get(sim), word, mask, key);
	return 1;
}

int simmm__bit_unlock_nosched(simmm_sim *sim, uint32_t *word, uint32_t mask, uint64_t key)
{
	struct simmm_sched *s;

	if (!bit_args_ok(sim, word, mask))
		return -EINVAL;
	s = simmm__sched_get(sim);
	if (!(*word & mask)) {
		simmm__ld_report_unheld(s, "bit lock", "key", key);
		return -EPERM;
	}
	*word &= ~mask;
	/* The holder's record goes, whoever unlocks (a hand-off, like I/O
	 * completion unlocking a folio, is legal). */
	simmm__ld_release_bit(s, word, key);
	lk_trace(s, SIMMM_EV_LOCK_RELEASE, key, SIMMM_LOCK_BIT, SIMMM_LOCK_WRITE);
	simmm__sched_wake(s, word, key, key);
	return 0;
}

int simmm_bit_unlock(simmm_sim *sim, uint32_t *word, uint32_t mask, uint64_t key)
{
	int err = simmm__bit_unlock_nosched(sim, word, mask, key);

	if (!err)
		simmm__sched_point(simmm__sched_get(sim), "bit_unlock");
	return err;
}

int simmm_bit_wait_unlocked(simmm_sim *sim, uint32_t *word, uint32_t mask, uint64_t key)
{
	struct simmm_sched *s;
	bool contended = false;
	int err;

	if (!bit_args_ok(sim, word, mask))
		return -EINVAL;
	s = simmm__sched_get(sim);
	err = bit_checks(s, word, mask, key, "bit_wait_unlocked", true);
	while (!err && (*word & mask))
		err = bit_wait(s, word, mask, key, &contended);
	return err;
}

/*
 * The kernel's folio_wait_bit_common() with DROP behaviour, as
 * migration_entry_wait_on_locked() uses it: the caller holds no reference
 * (only the PTL vouched for the page), so the bit is tested with no
 * scheduling point after the caller's own look, and the word is never
 * read again once the wait has begun: the holder may free the page, and
 * a ZONE_DEVICE page's struct page goes with its pagemap. One wakeup (the
 * unlock) ends the wait; the caller retries whatever it was doing.
 */
int simmm__bit_wait_unlocked_drop(simmm_sim *sim, uint32_t *word, uint32_t mask, uint64_t key)
{
	struct simmm_sched *s;
	bool contended = false;
	int err;

	if (!bit_args_ok(sim, word, mask))
		return -EINVAL;
	s = simmm__sched_get(sim);
	err = bit_checks(s, word, mask, key, "bit_wait_unlocked_drop", false);
	if (err || !(*word & mask))
		return err;
	return bit_wait(s, word, mask, key, &contended);
}

/* }==================================================================== */
/* {==================================================================== */
/* queries                                                                */

enum simmm_lock_mode simmm_lock_held(const simmm_sim *sim, const struct simmm_lock_map *map)
{
	const struct simmm_held *h;

	if (!simmm__sim_ok(sim) || !map || !sim->sched)
		return SIMMM_LOCK_NOT_HELD;
	h = simmm__ld_find(sim->sched->cur, map, 0);
	return h ? (enum simmm_lock_mode)h->mode : SIMMM_LOCK_NOT_HELD;
}

unsigned simmm_lock_held_count(const simmm_sim *sim)
{
	if (!simmm__sim_ok(sim) || !sim->sched)
		return 0;
	return (unsigned)simmm__ld_nr_held(sim->sched->cur);
}

/* }==================================================================== */
