// SPDX-License-Identifier: MIT
/*
 * The kernel's hmm-tests (tools/testing/selftests/mm/hmm-tests.c), every
 * case, run against simmm's dmirror device (<simmm/device.h>), asserting
 * the kernel's results: return codes, cpages, faults, snapshot bytes, data.
 *
 * The kernel process is one simmm_mm; its CPU loads and stores are
 * simmm_mm_access(); open/ioctl/mmap/close of /dev/hmm_dmirrorN are
 * simmm_dmirror_open/ioctl/mmap/close; fork() is simmm_fork() ("the child"
 * is the new mm; its exit is mmput); the pthread of anon_teardown is a task
 * on the deterministic scheduler; gup_test is simmm_get/pin_user_pages.
 *
 * Devices 0 and 1 are DEVICE_PRIVATE, 2 and 3 DEVICE_COHERENT (upstream with
 * spm_addr_dev0/1 set). Each fixture variant is a CMocka group selected by
 * argv[1] (hmm_device_private, hmm_device_coherent, hmm2_device_private,
 * hmm2_device_coherent); without an argument all four run.
 *
 * A few upstream assertions depend on migrating a THP as a unit (6.19+),
 * which simmm does not model yet (docs/migrate.md): those are checked with
 * KNOWN_GAP(), which prints a loud "HMM-TESTS KNOWN GAP" line instead of
 * failing, and the same case asserts what simmm does instead, so closing
 * the gap makes the test fail until it is updated. See docs/device.md.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"
#include <simmm/device.h>

#define HMM_BUFFER_PAGES 1024
#define NTIMES 10

enum { HMM_PRIVATE_DEVICE_ONE, HMM_PRIVATE_DEVICE_TWO, HMM_COHERENCE_DEVICE_ONE,
       HMM_COHERENCE_DEVICE_TWO, NDEV };

struct variant {
	const char *name;
	int dev0, dev1; /* dev1 < 0: the one-device fixture "hmm" */
};

static const struct variant v_hmm_private = {"hmm_device_private", 0, -1};
static const struct variant v_hmm_coherent = {"hmm_device_coherent", 2, -1};
static const struct variant v_hmm2_private = {"hmm2_device_private", 0, 1};
static const struct variant v_hmm2_coherent = {"hmm2_device_coherent", 2, 3};

struct fx {
	const struct variant *v;
	simmm_sim *sim;
	struct simmm_mm *mm;
	struct simmm_dmirror_device *dev[NDEV];
	struct simmm_dmirror *fd, *fd0, *fd1; /* fd == fd0 */
	uint64_t ps;
	unsigned shift;
	uint64_t pmd;
};

struct buf {
	uint64_t ptr;  /* simulated address */
	void *mirror;  /* host memory */
	uint64_t size;
	uint64_t cpages, faults;
};

static unsigned known_gaps;

/* An upstream assertion that cannot hold on simmm today (a library gap).
 * Loud, not fatal; see the file comment. */
#define KNOWN_GAP(cond, ...)                                                          \
	do {                                                                          \
		if (!(cond)) {                                                        \
			known_gaps++;                                                 \
			fprintf(stderr, "HMM-TESTS KNOWN GAP %s:%d: upstream expects %s: ", \
				__func__, __LINE__, #cond);                           \
			fprintf(stderr, __VA_ARGS__);                                 \
			fputc('\n', stderr);                                          \
		} else {                                                              \
			fprintf(stderr, "HMM-TESTS GAP CLOSED? %s:%d: %s holds now\n",  \
				__func__, __LINE__, #cond);                           \
		}                                                                     \
	} while (0)

static bool is_coherent(int devno)
{
	return devno >= HMM_COHERENCE_DEVICE_ONE;
}

/* ---- fixture ----------------------------------------------------------------- */

static int fx_setup(void **state)
{
	const struct variant *v = *state;
	struct fx *f = calloc(1, sizeof(*f));

	f->v = v;
	f->sim = tu_sim_new(NULL, 1ULL << 30, tu_seed());
	f->ps = 1ULL << simmm_sim_geometry(f->sim)->page_shift;
	f->shift = simmm_sim_geometry(f->sim)->page_shift;
	f->pmd = 1ULL << simmm_sim_geometry(f->sim)->level[SIMMM_LVL_PMD].shift;
	simmm_lockdep_enable(f->sim, true);
	for (int i = 0; i < NDEV; i++)
		TU_ASSERT_OK(simmm_dmirror_device_create(
			f->sim, i < 2 ? SIMMM_MEM_DEVICE_PRIVATE : SIMMM_MEM_DEVICE_COHERENT, 0,
			&f->dev[i]));
	TU_ASSERT_OK(simmm_mm_create(f->sim, &f->mm));
	TU_ASSERT_OK(simmm_dmirror_open(f->dev[v->dev0], f->mm, &f->fd0));
	f->fd = f->fd0;
	if (v->dev1 >= 0)
		TU_ASSERT_OK(simmm_dmirror_open(f->dev[v->dev1], f->mm, &f->fd1));
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	TU_ASSERT_OK(simmm_dmirror_close(f->fd0));
	TU_ASSERT_OK(simmm_dmirror_close(f->fd1));
	TU_CHECK(f->sim);
	TU_ASSERT_OK(simmm_mmput(f->mm));
	for (int i = 0; i < NDEV; i++)
		TU_ASSERT_OK(simmm_dmirror_device_destroy(f->dev[i]));
	tu_sim_free(&f->sim);
	free(f);
	return 0;
}

/* ---- helpers ------------------------------------------------------------------ */

static uint64_t npages_of(struct fx *f, uint64_t bytes)
{
	return (bytes + f->ps - 1) >> f->shift;
}

static uint64_t xmmap(struct fx *f, struct simmm_mm *mm, uint64_t size, int prot, int flags,
		      struct simmm_file *file)
{
	simmm_addr_t a;

	TU_ASSERT_OK(simmm_mmap(mm, 0, size, prot, flags, file, 0, &a));
	return a;
}

static struct buf *buf_new(uint64_t size, uint64_t mirror_size)
{
	struct buf *b = calloc(1, sizeof(*b));

	b->size = size;
	b->mirror = malloc(mirror_size ? mirror_size : 1);
	assert_non_null(b->mirror);
	return b;
}

/* hmm_buffer_free(): munmap (if mapped) and free. */
static void buf_free(struct fx *f, struct simmm_mm *mm, struct buf *b)
{
	if (b->ptr)
		TU_ASSERT_OK(simmm_munmap(mm, b->ptr, b->size));
	free(b->mirror);
	free(b);
	(void)f;
}

/* hmm_dmirror_cmd(): on success cpages and faults are copied out. */
static int dcmd(struct simmm_dmirror *fd, unsigned request, struct buf *b, uint64_t npages)
{
	struct simmm_dmirror_cmd cmd = {.addr = b->ptr, .ptr = b->mirror, .npages = npages};
	int ret = simmm_dmirror_ioctl(fd, request, &cmd);

	if (ret == 0) {
		b->cpages = cmd.cpages;
		b->faults = cmd.faults;
	}
	return ret;
}

static int *ivec(uint64_t n)
{
	int *p = malloc(n * sizeof(int) + 1);

	assert_non_null(p);
	return p;
}

/* p[i] = base + sign * i */
static void iset(int *p, uint64_t n, int base, int sign)
{
	for (uint64_t i = 0; i < n; i++)
		p[i] = base + sign * (int)i;
}

static void icheck_(const int *p, uint64_t n, int base, int sign, const char *what, int line)
{
	for (uint64_t i = 0; i < n; i++)
		if (p[i] != base + sign * (int)i)
			fail_msg("line %d: %s[%" PRIu64 "] = %d, expected %d", line, what, i, p[i],
				 base + sign * (int)i);
}
#define icheck(p, n, base, sign) icheck_((p), (n), (base), (sign), #p, __LINE__)

/* CPU stores of n ints p[] at addr. */
static void cpu_write(struct simmm_mm *mm, uint64_t addr, const int *p, uint64_t n)
{
	TU_ASSERT_OK(simmm_mm_access(mm, addr, (void *)p, n * sizeof(int), SIMMM_ACCESS_WRITE));
}

static void cpu_read(struct simmm_mm *mm, uint64_t addr, int *p, uint64_t n)
{
	TU_ASSERT_OK(simmm_mm_access(mm, addr, p, n * sizeof(int), SIMMM_ACCESS_READ));
}

/* CPU-initialise addr[0..n) with base + sign * i. */
static void cpu_init(struct simmm_mm *mm, uint64_t addr, uint64_t n, int base, int sign)
{
	int *p = ivec(n);

	iset(p, n, base, sign);
	cpu_write(mm, addr, p, n);
	free(p);
}

/* CPU-check addr[0..n) == base + sign * i. */
#define cpu_check(mm, addr, n, base, sign)                                   \
	do {                                                                 \
		uint64_t n_ = (n);                                           \
		int *p_ = ivec(n_);                                          \
		cpu_read((mm), (addr), p_, n_);                              \
		icheck_(p_, n_, (base), (sign), "ptr", __LINE__);            \
		free(p_);                                                    \
	} while (0)

static int cpu_int(struct simmm_mm *mm, uint64_t addr)
{
	int v;

	cpu_read(mm, addr, &v, 1);
	return v;
}

static uint64_t align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

static struct buf *anon_buf(struct fx *f, uint64_t npages, int prot, int flags)
{
	struct buf *b = buf_new(npages << f->shift, npages << f->shift);

	b->ptr = xmmap(f, f->mm, b->size, prot, flags, NULL);
	return b;
}

#define RW (SIMMM_PROT_READ | SIMMM_PROT_WRITE)
#define PRIV_ANON (SIMMM_MAP_PRIVATE | SIMMM_MAP_ANONYMOUS)
#define SHARED_ANON (SIMMM_MAP_SHARED | SIMMM_MAP_ANONYMOUS)

/* ---- hmm.* ------------------------------------------------------------------------- */

static void t_open_close(void **state)
{
	(void)state;
}

static void t_anon_read(void **state)
{
	struct fx *f = *state;
	uint64_t npages = HMM_BUFFER_PAGES, n = (npages << f->shift) / sizeof(int);
	uint64_t skip = 2 * f->ps / sizeof(int);
	struct buf *b = anon_buf(f, npages, RW, PRIV_ANON);
	int *p = ivec(n);

	/* Pages 0-1 stay zero (pte_none and the zero page), the rest i. */
	iset(p, n, 0, 1);
	cpu_write(f->mm, b->ptr + skip * sizeof(int), p + skip, n - skip);
	TU_ASSERT_OK(simmm_mprotect(f->mm, b->ptr, b->size, SIMMM_PROT_READ));
	assert_int_equal(cpu_int(f->mm, b->ptr + f->ps), 0);

	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_READ, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	assert_int_equal(b->faults, 1);
	memcpy(p, b->mirror, b->size);
	for (uint64_t i = 0; i < skip; i++)
		assert_int_equal(p[i], 0);
	icheck(p + skip, n - skip, (int)skip, 1);
	free(p);
	buf_free(f, f->mm, b);
}

static void t_anon_read_prot(void **state)
{
	struct fx *f = *state;
	uint64_t npages = HMM_BUFFER_PAGES, n = (npages << f->shift) / sizeof(int);
	struct buf *b = anon_buf(f, npages, RW, PRIV_ANON);

	cpu_init(f->mm, b->ptr, n, 0, 1);
	iset(b->mirror, n, 0, -1);
	TU_ASSERT_OK(simmm_mprotect(f->mm, b->ptr, b->size, SIMMM_PROT_NONE));
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_READ, b, npages), -EFAULT);
	TU_ASSERT_OK(simmm_mprotect(f->mm, b->ptr, b->size, SIMMM_PROT_READ));
	cpu_check(f->mm, b->ptr, n, 0, 1);
	icheck((int *)b->mirror, n, 0, -1);
	buf_free(f, f->mm, b);
}

static void t_anon_write(void **state)
{
	struct fx *f = *state;
	uint64_t npages = HMM_BUFFER_PAGES, n = (npages << f->shift) / sizeof(int);
	struct buf *b = anon_buf(f, npages, RW, PRIV_ANON);

	iset(b->mirror, n, 0, 1);
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_WRITE, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	assert_int_equal(b->faults, 1);
	cpu_check(f->mm, b->ptr, n, 0, 1);
	buf_free(f, f->mm, b);
}

static void t_anon_write_prot(void **state)
{
	struct fx *f = *state;
	uint64_t npages = HMM_BUFFER_PAGES, n = (npages << f->shift) / sizeof(int);
	struct buf *b = anon_buf(f, npages, SIMMM_PROT_READ, PRIV_ANON);

	/* A device read of one zero page. */
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_READ, b, 1), 0);
	assert_int_equal(b->cpages, 1);
	assert_int_equal(b->faults, 1);
	iset(b->mirror, n, 0, 1);
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_WRITE, b, npages), -EPERM);
	cpu_check(f->mm, b->ptr, n, 0, 0);
	/* Now allow writing and see that the zero page is replaced. */
	TU_ASSERT_OK(simmm_mprotect(f->mm, b->ptr, b->size, RW));
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_WRITE, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	assert_int_equal(b->faults, 1);
	cpu_check(f->mm, b->ptr, n, 0, 1);
	buf_free(f, f->mm, b);
}

static void t_anon_write_child(void **state)
{
	struct fx *f = *state;

	for (int migrate = 0; migrate < 2; ++migrate) {
		for (int use_thp = 0; use_thp < 2; ++use_thp) {
			uint64_t npages = use_thp ? npages_of(f, f->pmd) : HMM_BUFFER_PAGES;
			uint64_t size = npages << f->shift, n = size / sizeof(int);
			struct buf *b = buf_new(size * 2, size);
			uint64_t old_ptr;
			struct simmm_mm *child;
			struct simmm_dmirror *child_fd;

			b->ptr = xmmap(f, f->mm, size * 2, RW, PRIV_ANON, NULL);
			old_ptr = b->ptr;
			if (use_thp) {
				uint64_t map = align_up(b->ptr, size);

				TU_ASSERT_OK(simmm_madvise(f->mm, map, size, SIMMM_MADV_HUGEPAGE));
				b->ptr = map;
			}
			cpu_init(f->mm, b->ptr, n, 0, 1);
			iset(b->mirror, n, 0, -1);
			if (migrate) {
				assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, npages), 0);
				assert_int_equal(b->cpages, npages);
				/* The read-back overwrote the mirror buffer. */
			}
			TU_ASSERT_OK(simmm_fork(f->mm, &child));

			/* The child: sees the parent's values. */
			cpu_check(child, b->ptr, n, 0, 1);
			if (!migrate)
				icheck((int *)b->mirror, n, 0, -1);
			else
				iset(b->mirror, n, 0, -1); /* the child's own copy of it */
			/* It needs its own mirror of its own mm. */
			TU_ASSERT_OK(simmm_dmirror_open(f->dev[0], child, &child_fd));
			assert_int_equal(dcmd(child_fd, SIMMM_DMIRROR_WRITE, b, npages), 0);
			assert_int_equal(b->cpages, npages);
			assert_int_equal(b->faults, 1);
			if (!migrate)
				cpu_check(child, b->ptr, n, 0, -1);
			TU_ASSERT_OK(simmm_dmirror_close(child_fd));
			TU_ASSERT_OK(simmm_mmput(child)); /* _exit(0) */

			/* The parent's buffer did not change. */
			cpu_check(f->mm, b->ptr, n, 0, 1);
			b->ptr = old_ptr;
			buf_free(f, f->mm, b);
			TU_CHECK(f->sim);
		}
	}
}

static void t_anon_write_child_shared(void **state)
{
	struct fx *f = *state;
	uint64_t npages = HMM_BUFFER_PAGES, n = (npages << f->shift) / sizeof(int);
	struct buf *b = anon_buf(f, npages, RW, SHARED_ANON);
	struct simmm_mm *child;
	struct simmm_dmirror *child_fd;

	cpu_init(f->mm, b->ptr, n, 0, 1);
	iset(b->mirror, n, 0, -1);
	TU_ASSERT_OK(simmm_fork(f->mm, &child));
	cpu_check(child, b->ptr, n, 0, 1);
	icheck((int *)b->mirror, n, 0, -1);
	TU_ASSERT_OK(simmm_dmirror_open(f->dev[0], child, &child_fd));
	assert_int_equal(dcmd(child_fd, SIMMM_DMIRROR_WRITE, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	assert_int_equal(b->faults, 1);
	cpu_check(child, b->ptr, n, 0, -1);
	TU_ASSERT_OK(simmm_dmirror_close(child_fd));
	TU_ASSERT_OK(simmm_mmput(child));
	/* The parent's buffer did change. */
	cpu_check(f->mm, b->ptr, n, 0, -1);
	buf_free(f, f->mm, b);
}

static void t_anon_write_huge(void **state)
{
	struct fx *f = *state;
	uint64_t size = f->pmd, npages = size >> f->shift, n = size / sizeof(int);
	struct buf *b = buf_new(2 * size, size);
	uint64_t old_ptr, map;

	b->ptr = xmmap(f, f->mm, 2 * size, RW, PRIV_ANON, NULL);
	map = align_up(b->ptr, size);
	TU_ASSERT_OK(simmm_madvise(f->mm, map, size, SIMMM_MADV_HUGEPAGE));
	old_ptr = b->ptr;
	b->ptr = map;
	iset(b->mirror, n, 0, 1);
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_WRITE, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	assert_int_equal(b->faults, 1);
	cpu_check(f->mm, b->ptr, n, 0, 1);
	b->ptr = old_ptr;
	buf_free(f, f->mm, b);
}

static void t_anon_write_hugetlbfs(void **state)
{
	struct fx *f = *state;
	uint64_t size = align_up(2ULL << 20, f->pmd), npages = size >> f->shift;
	uint64_t n = size / sizeof(int);
	struct buf *b = buf_new(size, size);

	b->ptr = xmmap(f, f->mm, size, RW, PRIV_ANON | SIMMM_MAP_HUGETLB, NULL);
	iset(b->mirror, n, 0, 1);
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_WRITE, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	assert_int_equal(b->faults, 1);
	cpu_check(f->mm, b->ptr, n, 0, 1);
	buf_free(f, f->mm, b);
}

static struct simmm_file *tmpfile_of(struct fx *f, uint64_t size)
{
	struct simmm_file *file;

	TU_ASSERT_OK(simmm_file_create(f->sim, size, 0, &file));
	return file;
}

static void t_file_read(void **state)
{
	struct fx *f = *state;
	uint64_t npages = HMM_BUFFER_PAGES, size = npages << f->shift, n = size / sizeof(int);
	struct simmm_file *file = tmpfile_of(f, size);
	struct buf *b = buf_new(size, size);

	iset(b->mirror, n, 0, 1);
	assert_int_equal(simmm_file_pwrite(file, b->mirror, size, 0), (long)size);
	memset(b->mirror, 0, size);
	b->ptr = xmmap(f, f->mm, size, SIMMM_PROT_READ, SIMMM_MAP_SHARED, file);
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_READ, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	assert_int_equal(b->faults, 1);
	icheck((int *)b->mirror, n, 0, 1);
	buf_free(f, f->mm, b);
	TU_ASSERT_OK(simmm_file_put(file));
}

static void t_file_write(void **state)
{
	struct fx *f = *state;
	uint64_t npages = HMM_BUFFER_PAGES, size = npages << f->shift, n = size / sizeof(int);
	struct simmm_file *file = tmpfile_of(f, size);
	struct buf *b = buf_new(size, size);

	b->ptr = xmmap(f, f->mm, size, RW, SIMMM_MAP_SHARED, file);
	iset(b->mirror, n, 0, 1);
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_WRITE, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	assert_int_equal(b->faults, 1);
	cpu_check(f->mm, b->ptr, n, 0, 1);
	/* The device also wrote the file. */
	memset(b->mirror, 0, size);
	assert_int_equal(simmm_file_pread(file, b->mirror, size, 0), (long)size);
	icheck((int *)b->mirror, n, 0, 1);
	buf_free(f, f->mm, b);
	TU_ASSERT_OK(simmm_file_put(file));
}

static void t_migrate(void **state)
{
	struct fx *f = *state;
	uint64_t npages = HMM_BUFFER_PAGES, n = (npages << f->shift) / sizeof(int);
	struct buf *b = anon_buf(f, npages, RW, PRIV_ANON);

	cpu_init(f->mm, b->ptr, n, 0, 1);
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	icheck((int *)b->mirror, n, 0, 1);
	buf_free(f, f->mm, b);
}

static void t_migrate_file_private(void **state)
{
	struct fx *f = *state;
	uint64_t npages = HMM_BUFFER_PAGES, size = npages << f->shift, n = size / sizeof(int);
	struct simmm_file *file = tmpfile_of(f, size);
	struct buf *b = buf_new(size, size);

	b->ptr = xmmap(f, f->mm, size, RW, SIMMM_MAP_PRIVATE, file);
	cpu_init(f->mm, b->ptr, n, 0, 1);
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	icheck((int *)b->mirror, n, 0, 1);
	buf_free(f, f->mm, b);
	TU_ASSERT_OK(simmm_file_put(file));
}

static void t_migrate_fault(void **state)
{
	struct fx *f = *state;
	uint64_t npages = HMM_BUFFER_PAGES, n = (npages << f->shift) / sizeof(int);
	struct buf *b = anon_buf(f, npages, RW, PRIV_ANON);
	struct simmm_dmirror_stats st;

	cpu_init(f->mm, b->ptr, n, 0, 1);
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	icheck((int *)b->mirror, n, 0, 1);
	/* Fault half the pages back to system memory and check them. */
	cpu_check(f->mm, b->ptr, n / 2, 0, 1);
	TU_ASSERT_OK(simmm_dmirror_device_stats(f->dev[f->v->dev0], &st));
	assert_int_equal(st.to_ram, is_coherent(f->v->dev0) ? 0 : npages / 2);
	/* Migrate the mix of system and device memory again. */
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	icheck((int *)b->mirror, n, 0, 1);
	buf_free(f, f->mm, b);
}

static void t_migrate_release(void **state)
{
	struct fx *f = *state;
	uint64_t npages = HMM_BUFFER_PAGES, n = (npages << f->shift) / sizeof(int);
	struct buf *b = anon_buf(f, npages, RW, PRIV_ANON);
	struct simmm_dmirror_stats st;

	cpu_init(f->mm, b->ptr, n, 0, 1);
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	icheck((int *)b->mirror, n, 0, 1);
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_RELEASE, b, npages), 0);
	TU_ASSERT_OK(simmm_dmirror_device_stats(f->dev[f->v->dev0], &st));
	assert_int_equal(st.chunks, 0);
	assert_int_equal(st.evicted, npages);
	/* Fault pages back to system memory and check them. */
	cpu_check(f->mm, b->ptr, n / 2, 0, 1);
	buf_free(f, f->mm, b);
}

static void t_migrate_shared(void **state)
{
	struct fx *f = *state;
	uint64_t npages = HMM_BUFFER_PAGES;
	struct buf *b = anon_buf(f, npages, RW, SHARED_ANON);

	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, npages), -ENOENT);
	buf_free(f, f->mm, b);
}

static void t_migrate_multiple(void **state)
{
	struct fx *f = *state;
	uint64_t npages = HMM_BUFFER_PAGES, n = (npages << f->shift) / sizeof(int);

	for (int c = 0; c < NTIMES; c++) {
		struct buf *b = anon_buf(f, npages, RW, PRIV_ANON);

		cpu_init(f->mm, b->ptr, n, 0, 1);
		assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, npages), 0);
		assert_int_equal(b->cpages, npages);
		icheck((int *)b->mirror, n, 0, 1);
		/* Coherent memory does not fault: migrate it back explicitly. */
		if (is_coherent(f->v->dev0)) {
			assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_MIGRATE_TO_SYS, b, npages), 0);
			assert_int_equal(b->cpages, npages);
		}
		cpu_check(f->mm, b->ptr, n, 0, 1);
		buf_free(f, f->mm, b);
	}
}

static void t_anon_read_multiple(void **state)
{
	struct fx *f = *state;
	uint64_t npages = HMM_BUFFER_PAGES, n = (npages << f->shift) / sizeof(int);

	for (int c = 0; c < NTIMES; c++) {
		struct buf *b = anon_buf(f, npages, RW, PRIV_ANON);

		cpu_init(f->mm, b->ptr, n, c, 1);
		assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_READ, b, npages), 0);
		assert_int_equal(b->cpages, npages);
		assert_int_equal(b->faults, 1);
		icheck((int *)b->mirror, n, c, 1);
		buf_free(f, f->mm, b);
	}
}

/* anon_teardown: a second thread munmaps the upper half of the buffer
 * while the device reads it. Here both are tasks of the deterministic
 * scheduler; the "random delay" is a seeded number of yields. */
struct teardown {
	struct fx *f;
	struct buf *b;
	uint64_t npages;
	unsigned delay;
	int rc;
	uint64_t cpages, faults;
	int unmap_rc;
};

static void task_read(simmm_sim *sim, void *arg)
{
	struct teardown *t = arg;

	(void)sim;
	t->rc = dcmd(t->f->fd, SIMMM_DMIRROR_READ, t->b, t->npages);
	t->cpages = t->b->cpages;
	t->faults = t->b->faults;
}

static void task_unmap(simmm_sim *sim, void *arg)
{
	struct teardown *t = arg;

	for (unsigned i = 0; i < t->delay; i++)
		simmm_sched_yield(sim);
	t->unmap_rc = simmm_munmap(t->f->mm, t->b->ptr + t->b->size / 2, t->b->size / 2);
}

static void t_anon_teardown(void **state)
{
	struct fx *f = *state;
	uint64_t npages = HMM_BUFFER_PAGES, n = (npages << f->shift) / sizeof(int);
	uint64_t seeds = tu_iters(4), ok = 0, failed = 0;

	for (uint64_t s = 0; s < seeds; s++) {
		struct simmm_sched_config cfg;

		simmm_sched_config_init(f->sim, &cfg);
		cfg.policy = (s & 1) ? SIMMM_SCHED_PCT : SIMMM_SCHED_RANDOM;
		cfg.seed = tu_seed() + s;
		TU_ASSERT_OK(simmm_sched_configure(f->sim, &cfg));
		for (int c = 0; c < NTIMES; ++c) {
			struct teardown t = {.f = f, .npages = npages};
			int ret;

			t.b = anon_buf(f, npages, RW, PRIV_ANON);
			cpu_init(f->mm, t.b->ptr, n, c, 1);
			/* hmm_random() % 32000 ns of delay, in scheduling points. */
			t.delay = (unsigned)(simmm_sim_random(f->sim) % 8000);
			assert_true(simmm_sched_spawn(f->sim, "read", task_read, &t) > 0);
			assert_true(simmm_sched_spawn(f->sim, "unmap", task_unmap, &t) > 0);
			ret = simmm_sched_run(f->sim, 0);
			if (ret != SIMMM_SCHED_DONE)
				fail_msg("schedule did not finish: %d (seed %" PRIu64 ")", ret, cfg.seed);
			TU_ASSERT_OK(simmm_sched_reset(f->sim));
			assert_int_equal(t.unmap_rc, 0);
			if (t.rc == 0) {
				assert_int_equal(t.cpages, npages);
				assert_int_equal(t.faults, 1);
				icheck((int *)t.b->mirror, n, c, 1);
				ok++;
			} else {
				failed++;
			}
			/* buffer->ptr = NULL in the thread: unmap the rest. */
			TU_ASSERT_OK(simmm_munmap(f->mm, t.b->ptr, t.b->size / 2));
			t.b->ptr = 0;
			buf_free(f, f->mm, t.b);
			TU_CHECK(f->sim);
		}
	}
	print_message("anon_teardown: %" PRIu64 " reads completed, %" PRIu64
		      " failed (the unmap won)\n", ok, failed);
}

static void t_mixedmap(void **state)
{
	struct fx *f = *state;
	uint64_t npages = 1;
	struct buf *b = buf_new(npages << f->shift, npages);

	TU_ASSERT_OK(simmm_dmirror_mmap(f->fd, 0, b->size, RW, SIMMM_MAP_PRIVATE, &b->ptr));
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_SNAPSHOT, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	assert_int_equal(((unsigned char *)b->mirror)[0], SIMMM_DMIRROR_PROT_READ);
	buf_free(f, f->mm, b);
}

static void t_compound(void **state)
{
	struct fx *f = *state;
	uint64_t size = align_up(2ULL << 20, f->pmd), npages = size >> f->shift;
	struct buf *b = buf_new(size, npages);
	unsigned char *m = b->mirror, prot;

	b->ptr = xmmap(f, f->mm, size, RW, PRIV_ANON | SIMMM_MAP_HUGETLB, NULL);
	cpu_init(f->mm, b->ptr, size / sizeof(int), 0, 1);
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_SNAPSHOT, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	prot = SIMMM_DMIRROR_PROT_WRITE |
	       ((m[0] & SIMMM_DMIRROR_PROT_PUD) ? SIMMM_DMIRROR_PROT_PUD : SIMMM_DMIRROR_PROT_PMD);
	for (uint64_t i = 0; i < npages; ++i)
		assert_int_equal(m[i], prot);
	TU_ASSERT_OK(simmm_mprotect(f->mm, b->ptr, size, SIMMM_PROT_READ));
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_SNAPSHOT, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	prot = SIMMM_DMIRROR_PROT_READ |
	       ((m[0] & SIMMM_DMIRROR_PROT_PUD) ? SIMMM_DMIRROR_PROT_PUD : SIMMM_DMIRROR_PROT_PMD);
	for (uint64_t i = 0; i < npages; ++i)
		assert_int_equal(m[i], prot);
	buf_free(f, f->mm, b);
}

static void t_exclusive(void **state)
{
	struct fx *f = *state;
	uint64_t npages = HMM_BUFFER_PAGES, n = (npages << f->shift) / sizeof(int);
	struct buf *b = anon_buf(f, npages, RW, PRIV_ANON);
	int *p = ivec(n);

	cpu_init(f->mm, b->ptr, n, 0, 1);
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_EXCLUSIVE, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	icheck((int *)b->mirror, n, 0, 1);
	assert_int_equal(simmm_dmirror_mirrored(f->fd, b->ptr, NULL), 2); /* ATOMIC */
	/* ptr[i]++ (revoking atomic access), then check. */
	cpu_read(f->mm, b->ptr, p, n);
	icheck(p, n, 0, 1);
	iset(p, n, 1, 1);
	cpu_write(f->mm, b->ptr, p, n);
	cpu_check(f->mm, b->ptr, n, 1, 1);
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_CHECK_EXCLUSIVE, b, npages), 0);
	free(p);
	buf_free(f, f->mm, b);
}

static void t_exclusive_mprotect(void **state)
{
	struct fx *f = *state;
	uint64_t npages = HMM_BUFFER_PAGES, n = (npages << f->shift) / sizeof(int);
	struct buf *b = anon_buf(f, npages, RW, PRIV_ANON);

	cpu_init(f->mm, b->ptr, n, 0, 1);
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_EXCLUSIVE, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	icheck((int *)b->mirror, n, 0, 1);
	TU_ASSERT_OK(simmm_mprotect(f->mm, b->ptr, b->size, SIMMM_PROT_READ));
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_WRITE, b, npages), -EPERM);
	buf_free(f, f->mm, b);
}

static void t_exclusive_cow(void **state)
{
	struct fx *f = *state;
	uint64_t npages = HMM_BUFFER_PAGES, n = (npages << f->shift) / sizeof(int);
	struct buf *b = anon_buf(f, npages, RW, PRIV_ANON);
	struct simmm_mm *child;
	int *p = ivec(n);

	cpu_init(f->mm, b->ptr, n, 0, 1);
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_EXCLUSIVE, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	TU_ASSERT_OK(simmm_fork(f->mm, &child));
	/* The child increments and checks, then exits. */
	cpu_read(child, b->ptr, p, n);
	icheck(p, n, 0, 1);
	iset(p, n, 1, 1);
	cpu_write(child, b->ptr, p, n);
	cpu_check(child, b->ptr, n, 1, 1);
	/* The parent too (interleaving does not matter: COW). */
	cpu_read(f->mm, b->ptr, p, n);
	icheck(p, n, 0, 1);
	iset(p, n, 1, 1);
	cpu_write(f->mm, b->ptr, p, n);
	cpu_check(f->mm, b->ptr, n, 1, 1);
	TU_ASSERT_OK(simmm_mmput(child));
	free(p);
	buf_free(f, f->mm, b);
}

/* gup_test_exec(): GUP_BASIC_TEST / GUP_FAST_BENCHMARK (get_user_pages),
 * PIN_FAST_BENCHMARK / PIN_LONGTERM_BENCHMARK (pin_user_pages), always
 * FOLL_WRITE; the pages are released again. */
enum gup_cmd { GUP_BASIC_TEST, GUP_FAST_BENCHMARK, PIN_FAST_BENCHMARK, PIN_LONGTERM_BENCHMARK };

static int gup_test_exec(struct fx *f, uint64_t addr, enum gup_cmd cmd, unsigned flags)
{
	simmm_pfn_t pfn;
	long got;

	flags |= SIMMM_FOLL_WRITE;
	if (cmd == PIN_LONGTERM_BENCHMARK)
		flags |= SIMMM_FOLL_LONGTERM;
	if (cmd == GUP_BASIC_TEST || cmd == GUP_FAST_BENCHMARK) {
		got = simmm_get_user_pages(f->mm, addr, 1, flags, &pfn);
		if (got != 1)
			return got < 0 ? (int)got : -EFAULT;
		return simmm_put_user_pages(f->sim, &pfn, 1);
	}
	got = simmm_pin_user_pages(f->mm, addr, 1, flags, &pfn);
	if (got != 1)
		return got < 0 ? (int)got : -EFAULT;
	return simmm_unpin_user_pages(f->sim, &pfn, 1);
}

static void t_hmm_gup_test(void **state)
{
	struct fx *f = *state;
	uint64_t npages = 4, n = (npages << f->shift) / sizeof(int);
	struct buf *b = anon_buf(f, npages, RW, PRIV_ANON);
	unsigned char *m;

	cpu_init(f->mm, b->ptr, n, 0, 1);
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	icheck((int *)b->mirror, n, 0, 1);
	assert_int_equal(gup_test_exec(f, b->ptr, GUP_BASIC_TEST, 0), 0);
	assert_int_equal(gup_test_exec(f, b->ptr + 1 * f->ps, GUP_FAST_BENCHMARK, 0), 0);
	assert_int_equal(gup_test_exec(f, b->ptr + 2 * f->ps, PIN_FAST_BENCHMARK,
				       SIMMM_FOLL_LONGTERM), 0);
	assert_int_equal(gup_test_exec(f, b->ptr + 3 * f->ps, PIN_LONGTERM_BENCHMARK, 0), 0);
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_SNAPSHOT, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	m = b->mirror;
	if (is_coherent(f->v->dev0)) {
		assert_int_equal(m[0], SIMMM_DMIRROR_PROT_DEV_COHERENT_LOCAL | SIMMM_DMIRROR_PROT_WRITE);
		assert_int_equal(m[1], SIMMM_DMIRROR_PROT_DEV_COHERENT_LOCAL | SIMMM_DMIRROR_PROT_WRITE);
	} else {
		assert_int_equal(m[0], SIMMM_DMIRROR_PROT_WRITE);
		assert_int_equal(m[1], SIMMM_DMIRROR_PROT_WRITE);
	}
	assert_int_equal(m[2], SIMMM_DMIRROR_PROT_WRITE);
	assert_int_equal(m[3], SIMMM_DMIRROR_PROT_WRITE);
	/* No corrupted data. */
	cpu_check(f->mm, b->ptr, n, 0, 1);
	buf_free(f, f->mm, b);
}

static void t_hmm_cow_in_device(void **state)
{
	struct fx *f = *state;
	uint64_t npages = 4, n = (npages << f->shift) / sizeof(int);
	struct buf *b = anon_buf(f, npages, RW, PRIV_ANON);
	struct simmm_mm *child;
	unsigned char *m;

	cpu_init(f->mm, b->ptr, n, 0, 1);
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	TU_ASSERT_OK(simmm_fork(f->mm, &child)); /* the child just waits */
	/* The parent writes to the COW pages (private: fault back first). */
	cpu_init(f->mm, b->ptr, n, 0, 1);
	TU_ASSERT_OK(simmm_mmput(child)); /* SIGKILL */
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_SNAPSHOT, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	m = b->mirror;
	for (uint64_t i = 0; i < npages; i++)
		assert_int_equal(m[i], SIMMM_DMIRROR_PROT_WRITE);
	buf_free(f, f->mm, b);
}

/* A PMD-aligned PMD-sized range inside a 2 * PMD mapping. */
static struct buf *huge_buf(struct fx *f, int prot, int advice, uint64_t *old_ptr,
			    uint64_t mirror_size)
{
	struct buf *b = buf_new(2 * f->pmd, mirror_size);

	b->ptr = xmmap(f, f->mm, 2 * f->pmd, prot, PRIV_ANON, NULL);
	memset(b->mirror, 0xFF, mirror_size);
	*old_ptr = b->ptr;
	b->ptr = align_up(b->ptr, f->pmd);
	if (advice >= 0)
		TU_ASSERT_OK(simmm_madvise(f->mm, b->ptr, f->pmd, advice));
	return b;
}

static void t_migrate_anon_huge_empty(void **state)
{
	struct fx *f = *state;
	uint64_t size = f->pmd, npages = size >> f->shift, old_ptr;
	struct buf *b = huge_buf(f, SIMMM_PROT_READ, SIMMM_MADV_HUGEPAGE, &old_ptr, size);
	struct simmm_dmirror_stats st;

	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	icheck((int *)b->mirror, size / sizeof(int), 0, 0);
	/* simmm detail: the empty PMD was one COMPOUND entry, filled by one
	 * device THP, not page by page. */
	TU_ASSERT_OK(simmm_dmirror_device_stats(f->dev[f->v->dev0], &st));
	assert_int_equal(st.huge_alloc, 1);
	assert_int_equal(st.fallback_pages, 0);
	b->ptr = old_ptr;
	buf_free(f, f->mm, b);
}

static void t_migrate_anon_huge_zero(void **state)
{
	struct fx *f = *state;
	uint64_t size = f->pmd, npages = size >> f->shift, old_ptr;
	struct buf *b = huge_buf(f, SIMMM_PROT_READ, SIMMM_MADV_HUGEPAGE, &old_ptr, size);

	/* A read-only huge zero page. */
	assert_int_equal(cpu_int(f->mm, b->ptr), 0);
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	icheck((int *)b->mirror, size / sizeof(int), 0, 0);
	cpu_check(f->mm, b->ptr, size / sizeof(int), 0, 0);
	b->ptr = old_ptr;
	buf_free(f, f->mm, b);
}

static void t_migrate_anon_huge_free(void **state)
{
	struct fx *f = *state;
	uint64_t size = f->pmd, npages = size >> f->shift, old_ptr, n = size / sizeof(int);
	struct buf *b = huge_buf(f, RW, SIMMM_MADV_HUGEPAGE, &old_ptr, size);

	cpu_init(f->mm, b->ptr, n, 0, 1);
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	icheck((int *)b->mirror, n, 0, 1);
	assert_int_equal(simmm_madvise(f->mm, b->ptr, size, SIMMM_MADV_FREE), 0);
	b->ptr = old_ptr;
	buf_free(f, f->mm, b);
}

static void t_migrate_anon_huge_fault(void **state)
{
	struct fx *f = *state;
	uint64_t size = f->pmd, npages = size >> f->shift, old_ptr, n = size / sizeof(int);
	struct buf *b = huge_buf(f, RW, -1, &old_ptr, size);
	unsigned char *m;

	cpu_init(f->mm, b->ptr, n, 0, 1);
	assert_int_equal(simmm_madvise(f->mm, b->ptr, size, SIMMM_MADV_COLLAPSE), 0);
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	icheck((int *)b->mirror, n, 0, 1);
	if (!is_coherent(f->v->dev0)) {
		unsigned want = SIMMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL | SIMMM_DMIRROR_PROT_WRITE;
		uint64_t exact = 0, pmd = 0;

		assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_SNAPSHOT, b, npages), 0);
		assert_int_equal(b->cpages, npages);
		m = b->mirror;
		for (uint64_t i = 0; i < npages; ++i) {
			/* Every page is a local device-private page... */
			assert_int_equal(m[i] & ~SIMMM_DMIRROR_PROT_PMD, want);
			exact += m[i] == (want | SIMMM_DMIRROR_PROT_PMD);
			pmd += (m[i] & SIMMM_DMIRROR_PROT_PMD) != 0;
		}
		/* ...mapped by one device-private PMD entry (a device THP). */
		assert_int_equal(exact, npages);
		assert_int_equal(pmd, npages);
		/* pagemap: PM_SWAP set, not present (a device-private swap entry). */
		for (uint64_t i = 0; i < npages; ++i) {
			struct simmm_translation t;

			if (simmm_pgtable_translate(simmm_mm_pgtable(f->mm), b->ptr + i * f->ps, &t))
				fail_msg("no translation for page %" PRIu64, i);
			assert_false(simmm_pte_present(t.entry));
			assert_true(simmm_is_device_private_entry(t.entry));
		}
	}
	cpu_check(f->mm, b->ptr, n, 0, 1);
	b->ptr = old_ptr;
	buf_free(f, f->mm, b);
}

static void t_migrate_partial_unmap_fault(void **state)
{
	struct fx *f = *state;
	uint64_t size = f->pmd, npages = size >> f->shift, n = size / sizeof(int);
	uint64_t unmap_size = size / 2, offsets[3] = {0, size / 4, size / 2};
	int *p = ivec(n);

	for (int use_thp = 0; use_thp < 2; ++use_thp) {
		for (int j = 0; j < 3; ++j) {
			uint64_t old_ptr;
			struct buf *b = huge_buf(f, RW,
						 use_thp ? SIMMM_MADV_HUGEPAGE : SIMMM_MADV_NOHUGEPAGE,
						 &old_ptr, size);

			cpu_init(f->mm, b->ptr, n, 0, 1);
			assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, npages), 0);
			assert_int_equal(b->cpages, npages);
			icheck((int *)b->mirror, n, 0, 1);
			TU_ASSERT_OK(simmm_munmap(f->mm, b->ptr + offsets[j], unmap_size));
			/* Fault the rest back and check it. */
			for (uint64_t i = 0; i < n; i += f->ps / sizeof(int)) {
				uint64_t off = i * sizeof(int);

				if (off >= offsets[j] && off < offsets[j] + unmap_size)
					continue;
				cpu_read(f->mm, b->ptr + off, p, f->ps / sizeof(int));
				icheck_(p, f->ps / sizeof(int), (int)i, 1, "ptr", __LINE__);
			}
			b->ptr = old_ptr;
			buf_free(f, f->mm, b);
			TU_CHECK(f->sim);
		}
	}
	free(p);
}

static void t_migrate_remap_fault(void **state)
{
	struct fx *f = *state;
	uint64_t size = f->pmd, npages = size >> f->shift, n = size / sizeof(int);
	uint64_t offsets[3] = {0, size / 4, size / 2};

	for (int before = 0; before < 2; ++before)
		for (int dont_unmap = 0; dont_unmap < 2; ++dont_unmap)
			for (int use_thp = 0; use_thp < 2; ++use_thp)
				for (int j = 0; j < 3; ++j) {
					int flags = SIMMM_MREMAP_MAYMOVE | SIMMM_MREMAP_FIXED;
					struct buf *b = buf_new(8 * size, size);
					uint64_t old_ptr, map;
					simmm_addr_t new_ptr = 0;

					if (dont_unmap)
						flags |= SIMMM_MREMAP_DONTUNMAP;
					memset(b->mirror, 0xFF, size);
					b->ptr = xmmap(f, f->mm, b->size, RW, PRIV_ANON, NULL);
					map = align_up(b->ptr, size);
					TU_ASSERT_OK(simmm_madvise(f->mm, map, size,
								   use_thp ? SIMMM_MADV_HUGEPAGE
									   : SIMMM_MADV_NOHUGEPAGE));
					old_ptr = b->ptr;
					TU_ASSERT_OK(simmm_munmap(f->mm, map + size, size * 2));
					b->ptr = map;
					cpu_init(f->mm, b->ptr, n, 0, 1);
					if (before) {
						TU_ASSERT_OK(simmm_mremap(f->mm, map, size, size, flags,
									  map + size + offsets[j],
									  &new_ptr));
						b->ptr = new_ptr;
					}
					assert_int_equal(
						dcmd(f->fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, npages), 0);
					assert_int_equal(b->cpages, npages);
					icheck((int *)b->mirror, n, 0, 1);
					if (!before) {
						TU_ASSERT_OK(simmm_mremap(f->mm, map, size, size, flags,
									  map + size + offsets[j],
									  &new_ptr));
						b->ptr = new_ptr;
					}
					cpu_check(f->mm, b->ptr, n, 0, 1);
					TU_ASSERT_OK(simmm_munmap(f->mm, new_ptr, size));
					b->ptr = old_ptr;
					buf_free(f, f->mm, b);
					TU_CHECK(f->sim);
				}
}

static void t_migrate_anon_huge_err(void **state)
{
	struct fx *f = *state;
	uint64_t size = f->pmd, npages = size >> f->shift, n = size / sizeof(int);
	struct buf *b = buf_new(2 * size, 2 * size);
	uint64_t old_ptr;
	int ret;

	memset(b->mirror, 0xFF, 2 * size);
	old_ptr = xmmap(f, f->mm, 2 * size, RW, PRIV_ANON, NULL);
	b->ptr = align_up(old_ptr, size);
	TU_ASSERT_OK(simmm_madvise(f->mm, b->ptr, size, SIMMM_MADV_HUGEPAGE));
	cpu_init(f->mm, b->ptr, n, 0, 1);

	/* Migrate to the device, forcing a THP allocation error. */
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_FLAGS, b, SIMMM_DMIRROR_FLAG_FAIL_ALLOC), 0);
	ret = dcmd(f->fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, npages);
	/* The THP is one COMPOUND entry; the failed device THP allocation
	 * falls back to base pages and migrate_vma_pages() splits the THP. */
	assert_int_equal(ret, 0);
	assert_int_equal(b->cpages, npages);
	icheck((int *)b->mirror, n, 0, 1);
	/* Fault back a single page. */
	assert_int_equal(cpu_int(f->mm, b->ptr + 2048 * sizeof(int)), 2048);

	/* Unmap and remap the region to reset things. */
	TU_ASSERT_OK(simmm_munmap(f->mm, old_ptr, 2 * size));
	old_ptr = xmmap(f, f->mm, 2 * size, RW, PRIV_ANON, NULL);
	b->ptr = align_up(old_ptr, size);
	TU_ASSERT_OK(simmm_madvise(f->mm, b->ptr, size, SIMMM_MADV_HUGEPAGE));
	cpu_init(f->mm, b->ptr, n, 0, 1);
	/* Migrate the THP to the device. */
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	/* Force an allocation error when migrating it back. */
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_FLAGS, b, SIMMM_DMIRROR_FLAG_FAIL_ALLOC), 0);
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_MIGRATE_TO_SYS, b, npages), 0);
	assert_int_equal(cpu_int(f->mm, b->ptr + 2048 * sizeof(int)), 2048);
	b->ptr = old_ptr;
	buf_free(f, f->mm, b);
}

static void t_migrate_anon_huge_zero_err(void **state)
{
	struct fx *f = *state;
	uint64_t size = f->pmd, npages = size >> f->shift, n = size / sizeof(int);
	struct buf *b = buf_new(2 * size, 2 * size);
	uint64_t old_ptr;
	int ret;

	memset(b->mirror, 0xFF, 2 * size);
	old_ptr = xmmap(f, f->mm, 2 * size, SIMMM_PROT_READ, PRIV_ANON, NULL);
	b->ptr = align_up(old_ptr, size);
	TU_ASSERT_OK(simmm_madvise(f->mm, b->ptr, size, SIMMM_MADV_HUGEPAGE));

	/* An empty PMD: one COMPOUND hole; the failed huge allocation falls
	 * back to single pages. */
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_FLAGS, b, SIMMM_DMIRROR_FLAG_FAIL_ALLOC), 0);
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	icheck((int *)b->mirror, n, 0, 0);
	assert_int_equal(cpu_int(f->mm, b->ptr + 2048 * sizeof(int)), 0);

	/* Unmap and remap the region to reset things. */
	TU_ASSERT_OK(simmm_munmap(f->mm, old_ptr, 2 * size));
	old_ptr = xmmap(f, f->mm, 2 * size, SIMMM_PROT_READ, PRIV_ANON, NULL);
	b->ptr = align_up(old_ptr, size);
	TU_ASSERT_OK(simmm_madvise(f->mm, b->ptr, size, SIMMM_MADV_HUGEPAGE));
	/* A huge zero page (upstream reads through the stale old pointer,
	 * which the kernel happens to map at the same address again). */
	assert_int_equal(cpu_int(f->mm, b->ptr), 0);
	assert_int_equal(dcmd(f->fd, SIMMM_DMIRROR_FLAGS, b, SIMMM_DMIRROR_FLAG_FAIL_ALLOC), 0);
	ret = dcmd(f->fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, npages);
	/* The huge zero PMD is a COMPOUND hole; the small-page fallback
	 * splits it and fills every pte. */
	assert_int_equal(ret, 0);
	assert_int_equal(b->cpages, npages);
	cpu_check(f->mm, b->ptr, n, 0, 0);
	b->ptr = old_ptr;
	buf_free(f, f->mm, b);
}

/* benchmark_thp_migration, reduced: fewer sizes and rounds (it only
 * asserts that every migration returns 0); timings are host time. */
static double now_ms(void)
{
	struct timespec ts;

	timespec_get(&ts, TIME_UTC);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static int run_migration_benchmark(struct fx *f, int use_thp, uint64_t size, int iterations,
				   double *s2d, double *d2s)
{
	struct buf *b = buf_new(size, size);
	uint64_t npages = size >> f->shift;
	int ret;

	memset(b->mirror, 0xFF, size);
	b->ptr = xmmap(f, f->mm, size, RW, PRIV_ANON, NULL);
	ret = simmm_madvise(f->mm, b->ptr, size,
			    use_thp ? SIMMM_MADV_HUGEPAGE : SIMMM_MADV_NOHUGEPAGE);
	if (ret)
		return ret;
	cpu_init(f->mm, b->ptr, size / sizeof(int), 0, 1);
	ret = dcmd(f->fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, npages);
	if (!ret)
		ret = dcmd(f->fd, SIMMM_DMIRROR_MIGRATE_TO_SYS, b, npages);
	*s2d = *d2s = 0;
	for (int i = 0; !ret && i < iterations; i++) {
		double t0 = now_ms();

		ret = dcmd(f->fd, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, npages);
		*s2d += now_ms() - t0;
		if (ret)
			break;
		t0 = now_ms();
		ret = dcmd(f->fd, SIMMM_DMIRROR_MIGRATE_TO_SYS, b, npages);
		*d2s += now_ms() - t0;
	}
	buf_free(f, f->mm, b);
	return ret;
}

static void t_benchmark_thp_migration(void **state)
{
	struct fx *f = *state;
	/* Upstream: 1/4 .. 8 and 128 PMDs, 5 rounds; the 128-PMD size is dropped. */
	uint64_t sizes[] = {f->pmd / 4, f->pmd / 2, f->pmd, f->pmd * 2, f->pmd * 4, f->pmd * 8};
	int iterations = 5;

	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		double thp_s2d, thp_d2s, reg_s2d, reg_d2s;

		assert_int_equal(run_migration_benchmark(f, 1, sizes[i], iterations, &thp_s2d,
							 &thp_d2s), 0);
		assert_int_equal(run_migration_benchmark(f, 0, sizes[i], iterations, &reg_s2d,
							 &reg_d2s), 0);
		print_message("benchmark_thp_migration %6.2f MB: s->d %.3f/%.3f ms, d->s %.3f/%.3f "
			      "ms (THP/4K, host time)\n",
			      sizes[i] / 1048576.0, thp_s2d / iterations, reg_s2d / iterations,
			      thp_d2s / iterations, reg_d2s / iterations);
		TU_CHECK(f->sim);
	}
}

/* ---- hmm2.* ----------------------------------------------------------------------- */

static void t_migrate_mixed(void **state)
{
	struct fx *f = *state;
	uint64_t npages = 6, p;
	struct buf *b = anon_buf(f, npages, SIMMM_PROT_NONE, PRIV_ANON);
	int val;

	p = b->ptr;
	/* Migrating a protected area is an error. */
	assert_int_equal(dcmd(f->fd1, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, npages), -EINVAL);
	/* Punch a hole after the first page. */
	TU_ASSERT_OK(simmm_munmap(f->mm, p + f->ps, f->ps));
	/* The VMA does not cover the range. */
	assert_int_equal(dcmd(f->fd1, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, 3), -EINVAL);
	/* Page 2: a read-only zero page. */
	TU_ASSERT_OK(simmm_mprotect(f->mm, p + 2 * f->ps, f->ps, SIMMM_PROT_READ));
	val = cpu_int(f->mm, p + 2 * f->ps) + 3;
	assert_int_equal(val, 3);
	/* Page 3: read-only. */
	TU_ASSERT_OK(simmm_mprotect(f->mm, p + 3 * f->ps, f->ps, RW));
	cpu_write(f->mm, p + 3 * f->ps, &val, 1);
	TU_ASSERT_OK(simmm_mprotect(f->mm, p + 3 * f->ps, f->ps, SIMMM_PROT_READ));
	/* Pages 4-5: read-write. */
	TU_ASSERT_OK(simmm_mprotect(f->mm, p + 4 * f->ps, 2 * f->ps, RW));
	cpu_write(f->mm, p + 4 * f->ps, &val, 1);
	cpu_write(f->mm, p + 5 * f->ps, &val, 1);
	/* Migrate pages 2-5 to device 1. */
	b->ptr = p + 2 * f->ps;
	assert_int_equal(dcmd(f->fd1, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, 4), 0);
	assert_int_equal(b->cpages, 4);
	/* Page 5 cannot go to device 0: it is on device 1. */
	b->ptr = p + 5 * f->ps;
	assert_int_equal(dcmd(f->fd0, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, 1), -ENOENT);
	/* Unmap what is left (page 1 is a hole). */
	b->ptr = 0;
	TU_ASSERT_OK(simmm_munmap(f->mm, p, npages * f->ps));
	buf_free(f, f->mm, b);
}

static void t_snapshot(void **state)
{
	struct fx *f = *state;
	uint64_t npages = 7, p;
	/* Upstream mallocs npages bytes, but the two 1-page migrations below
	 * copy a page back into it (a heap overflow in the selftest). */
	struct buf *b = buf_new(npages << f->shift, npages << f->shift);
	unsigned char *m = b->mirror;
	int val;

	b->ptr = xmmap(f, f->mm, b->size, SIMMM_PROT_NONE, PRIV_ANON, NULL);
	p = b->ptr;
	TU_ASSERT_OK(simmm_munmap(f->mm, p + f->ps, f->ps));
	/* Page 2: read-only zero page. */
	TU_ASSERT_OK(simmm_mprotect(f->mm, p + 2 * f->ps, f->ps, SIMMM_PROT_READ));
	val = cpu_int(f->mm, p + 2 * f->ps) + 3;
	assert_int_equal(val, 3);
	/* Page 3: read-only. */
	TU_ASSERT_OK(simmm_mprotect(f->mm, p + 3 * f->ps, f->ps, RW));
	cpu_write(f->mm, p + 3 * f->ps, &val, 1);
	TU_ASSERT_OK(simmm_mprotect(f->mm, p + 3 * f->ps, f->ps, SIMMM_PROT_READ));
	/* Pages 4-6: read-write. */
	TU_ASSERT_OK(simmm_mprotect(f->mm, p + 4 * f->ps, 3 * f->ps, RW));
	cpu_write(f->mm, p + 4 * f->ps, &val, 1);
	/* Page 5 to device 0, page 6 to device 1. */
	b->ptr = p + 5 * f->ps;
	assert_int_equal(dcmd(f->fd0, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, 1), 0);
	assert_int_equal(b->cpages, 1);
	b->ptr = p + 6 * f->ps;
	assert_int_equal(dcmd(f->fd1, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, 1), 0);
	assert_int_equal(b->cpages, 1);
	/* Snapshot the CPU page table from device 0. */
	b->ptr = p;
	assert_int_equal(dcmd(f->fd0, SIMMM_DMIRROR_SNAPSHOT, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	assert_int_equal(m[0], SIMMM_DMIRROR_PROT_ERROR);
	assert_int_equal(m[1], SIMMM_DMIRROR_PROT_ERROR);
	assert_int_equal(m[2], SIMMM_DMIRROR_PROT_ZERO | SIMMM_DMIRROR_PROT_READ);
	assert_int_equal(m[3], SIMMM_DMIRROR_PROT_READ);
	assert_int_equal(m[4], SIMMM_DMIRROR_PROT_WRITE);
	if (!is_coherent(f->v->dev0)) {
		assert_int_equal(m[5], SIMMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL | SIMMM_DMIRROR_PROT_WRITE);
		assert_int_equal(m[6], SIMMM_DMIRROR_PROT_NONE);
	} else {
		assert_int_equal(m[5], SIMMM_DMIRROR_PROT_DEV_COHERENT_LOCAL | SIMMM_DMIRROR_PROT_WRITE);
		assert_int_equal(m[6], SIMMM_DMIRROR_PROT_DEV_COHERENT_REMOTE | SIMMM_DMIRROR_PROT_WRITE);
	}
	b->ptr = 0;
	TU_ASSERT_OK(simmm_munmap(f->mm, p, npages * f->ps));
	buf_free(f, f->mm, b);
}

static void t_double_map(void **state)
{
	struct fx *f = *state;
	uint64_t npages = 6, n = (npages << f->shift) / sizeof(int);
	struct buf *b = anon_buf(f, npages, RW, PRIV_ANON);

	cpu_init(f->mm, b->ptr, n, 0, 1);
	TU_ASSERT_OK(simmm_mprotect(f->mm, b->ptr, b->size, SIMMM_PROT_READ));
	assert_int_equal(dcmd(f->fd0, SIMMM_DMIRROR_READ, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	assert_int_equal(b->faults, 1);
	icheck((int *)b->mirror, n, 0, 1);
	assert_int_equal(dcmd(f->fd1, SIMMM_DMIRROR_READ, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	assert_int_equal(b->faults, 1);
	icheck((int *)b->mirror, n, 0, 1);
	/* Migrate to device 1 and read from device 0. */
	assert_int_equal(dcmd(f->fd1, SIMMM_DMIRROR_MIGRATE_TO_DEV, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	assert_int_equal(dcmd(f->fd0, SIMMM_DMIRROR_READ, b, npages), 0);
	assert_int_equal(b->cpages, npages);
	assert_int_equal(b->faults, 1);
	icheck((int *)b->mirror, n, 0, 1);
	buf_free(f, f->mm, b);
}

/* ---- main ---------------------------------------------------------------------------- */

#define T(fn, v) {"hmm." #fn, t_##fn, fx_setup, fx_teardown, (void *)(v)}
#define T2(fn, v) {"hmm2." #fn, t_##fn, fx_setup, fx_teardown, (void *)(v)}

#define HMM_CASES(v)                                                                   \
	T(open_close, v), T(anon_read, v), T(anon_read_prot, v), T(anon_write, v),     \
	T(anon_write_prot, v), T(anon_write_child, v), T(anon_write_child_shared, v),  \
	T(anon_write_huge, v), T(anon_write_hugetlbfs, v), T(file_read, v),            \
	T(file_write, v), T(migrate, v), T(migrate_file_private, v),                   \
	T(migrate_fault, v), T(migrate_release, v), T(migrate_shared, v),              \
	T(migrate_multiple, v), T(anon_read_multiple, v), T(anon_teardown, v),         \
	T(mixedmap, v), T(compound, v), T(exclusive, v), T(exclusive_mprotect, v),     \
	T(exclusive_cow, v), T(hmm_gup_test, v), T(hmm_cow_in_device, v),              \
	T(migrate_anon_huge_empty, v), T(migrate_anon_huge_zero, v),                   \
	T(migrate_anon_huge_free, v), T(migrate_anon_huge_fault, v),                   \
	T(migrate_partial_unmap_fault, v), T(migrate_remap_fault, v),                  \
	T(migrate_anon_huge_err, v), T(migrate_anon_huge_zero_err, v),                 \
	T(benchmark_thp_migration, v)

#define HMM2_CASES(v) T2(migrate_mixed, v), T2(snapshot, v), T2(double_map, v)

int main(int argc, char **argv)
{
	const struct CMUnitTest hmm_private[] = {HMM_CASES(&v_hmm_private)};
	const struct CMUnitTest hmm_coherent[] = {HMM_CASES(&v_hmm_coherent)};
	const struct CMUnitTest hmm2_private[] = {HMM2_CASES(&v_hmm2_private)};
	const struct CMUnitTest hmm2_coherent[] = {HMM2_CASES(&v_hmm2_coherent)};
	const char *only = argc > 1 ? argv[1] : NULL;
	int fails = 0;

	tu_seed();
#define RUN(name, tests)                                                              \
	if (!only || !strcmp(only, name))                                             \
		fails += _cmocka_run_group_tests(name, tests, sizeof(tests) / sizeof(tests[0]), \
						 NULL, NULL)
	RUN("hmm_device_private", hmm_private);
	RUN("hmm_device_coherent", hmm_coherent);
	RUN("hmm2_device_private", hmm2_private);
	RUN("hmm2_device_coherent", hmm2_coherent);
	if (known_gaps)
		fprintf(stderr, "HMM-TESTS: %u known gap assertion(s) reported (see docs/device.md)\n",
			known_gaps);
	return fails;
}
