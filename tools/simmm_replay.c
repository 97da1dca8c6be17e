// SPDX-License-Identifier: MIT
/*
 * simmm-replay: run fuzz-harness inputs outside libFuzzer, deterministically.
 *
 *   simmm-replay [options] <harness> <file|dir>...
 *   simmm-replay --list
 *
 * Every input runs in a forked child (so a crash, an ASan report or an
 * FZ_CHECK abort is caught and the next input still runs), with the full
 * invariant check after every op and a large trace ring. On a failure the
 * child prints the harness's op log, the reports, the task list and the
 * trace of the interleaving (simmm_trace_read/simmm_trace_format: task
 * switches, lock acquire/contend/release, page-table entries set/cleared,
 * notifier ranges, ...).
 *
 * Options:
 *   --minimize        shrink each failing input by delta debugging over
 *                     bytes (then zeroing bytes), keeping the same failure
 *                     (the first "FUZZ CHECK FAILED at file:line" or "simmm
 *                     BUG at file:line: cond", else the
 *                     sanitizer's SUMMARY line (kind, file:line, function),
 *                     else the exit status); writes <input>.min (or
 *                     --out) and replays the result with its trace.
 *   --out FILE        where --minimize writes (one input only).
 *   --max-tries N     minimization budget in runs (default 4000).
 *   --check-every N   simmm_check() every N ops instead of every op.
 *   --trace-ring N    trace events kept and printed (default 65536).
 *   --quiet           no trace or log output (exit status only).
 *   --determinism     run all inputs in one process, in order and then in
 *                     reverse order, and compare each input's digest of
 *                     trace hashes (fz_run_digest): the same input must
 *                     trace the same whatever ran before it in the process
 *                     (as under libFuzzer). Reports every input that
 *                     differs; exit 1 if any (or if the process crashed).
 *   -v, --verbose     print the harness's op log for passing inputs too.
 *
 * Exit status: 0 all inputs passed, 1 some failed, 2 usage errors.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz_common.h"

/* From the sanitizer runtime when linked with one (weak: absent otherwise). */
void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

struct opts {
	const struct fz_harness *h;
	bool minimize, quiet, determinism;
	const char *out;
	unsigned max_tries;
	unsigned check_every;
	uint32_t trace_ring;
	int verbose;
};

static struct opts O = {.max_tries = 4000, .check_every = 1, .trace_ring = 65536};

/* ---- running one input in a child ----------------------------------------------- */

static void on_fatal_signal(int sig)
{
	fprintf(stderr, "simmm-replay: signal %d\n", sig);
	fz_dump_context();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void death_cb(void)
{
	fz_dump_context();
}

/*
 * Run @data in a child. @quiet: its stderr goes to a temporary file whose
 * first failure line is copied to @sig (the failure signature); otherwise
 * it is inherited and the trace ring is printed on failure.
 * Return: 0 passed, 1 failed.
 */
/* fork() with stdio flushed first (exit 2 if the host refuses). */
static pid_t fork_child(void)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	return pid;
}

/* The child's wait status. */
static int wait_child(pid_t pid)
{
	int status = 0;

	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

static int run_child(const uint8_t *data, size_t len, bool quiet, char *sig, size_t siglen)
{
	char tmpl[] = "/tmp/simmm-replay-XXXXXX";
	int fd = -1, status = 0;
	pid_t pid;

	if (sig)
		sig[0] = 0;
	if (quiet) {
		fd = mkstemp(tmpl);
		if (fd < 0) {
			perror("mkstemp");
			exit(2);
		}
		unlink(tmpl);
	}
	pid = fork_child();
	if (pid == 0) {
		if (quiet) {
			dup2(fd, 2);
			fz_trace_ring = 0;
		} else {
			fz_trace_ring = O.trace_ring;
			fz_verbose = O.verbose;
		}
		fz_check_every = O.check_every;
		if (__sanitizer_set_death_callback && !quiet)
			__sanitizer_set_death_callback(death_cb);
		if (!quiet) {
			signal(SIGSEGV, on_fatal_signal);
			signal(SIGBUS, on_fatal_signal);
			signal(SIGABRT, on_fatal_signal); /* simmm BUG (NEVER/ALWAYS) */
		}
		O.h->fn(data, len);
		fflush(NULL);
		_exit(0);
	}
	status = wait_child(pid);
	if (quiet) {
		char line[512];
		FILE *f = fdopen(fd, "r");
		bool found = false;

		if (f) {
			rewind(f);
			while (!found && fgets(line, sizeof(line), f)) {
				char *p;

				if ((p = strstr(line, "SUMMARY: ")) && sig && strncmp(sig, "FUZZ", 4)) {
					/* a sanitizer's summary names kind and place */
					char *e = strchr(p, '\n');

					if (e)
						*e = 0;
					snprintf(sig, siglen, "%s", p);
					continue;
				}
				if ((p = strstr(line, "simmm BUG at "))) {
					/* a library assertion (debug builds) */
					char *e = strchr(p, '\n');

					if (e)
						*e = 0;
					if (sig)
						snprintf(sig, siglen, "%s", p);
					found = true;
					continue;
				}
				if ((p = strstr(line, "FUZZ CHECK FAILED at "))) {
					/* "at file:line:" is the signature */
					char *e = strchr(p + 21, ' ');

					if (e)
						*e = 0;
					found = true;
				} else if ((p = strstr(line, "ERROR: AddressSanitizer: ")) ||
					   (p = strstr(line, "runtime error: ")) ||
					   (p = strstr(line, "ERROR: LeakSanitizer"))) {
					char *e = strpbrk(p + 15, " \n");

					if (e && strstr(p, "AddressSanitizer"))
						e = strpbrk(p + 25, " \n");
					if (e)
						*e = 0;
					found = true;
				}
				if (found && sig && !strncmp(p, "FUZZ", 4))
					snprintf(sig, siglen, "%s", p);
				else if (found && sig) {
					if (!sig[0])
						snprintf(sig, siglen, "%s", p);
					found = false; /* keep looking for a SUMMARY */
				}
			}
			fclose(f);
		} else {
			close(fd);
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (sig && !sig[0])
		snprintf(sig, siglen, WIFSIGNALED(status) ? "signal %d" : "exit %d",
			 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	return 1;
}

/* ---- minimization ------------------------------------------------------------ */

static unsigned tries;

static bool still_fails(const uint8_t *d, size_t n, const char *want)
{
	char sig[512];

	if (tries >= O.max_tries)
		return false;
	tries++;
	return run_child(d, n, true, sig, sizeof(sig)) && !strcmp(sig, want);
}

/* ddmin over bytes: remove chunks (complements of n-way splits), then try
 * zeroing single bytes. Returns the new length; @d is updated in place. */
static size_t minimize(uint8_t *d, size_t len, const char *want)
{
	uint8_t *t = malloc(len ? len : 1);
	size_t n = 2;

	tries = 0;
	while (len >= 2 && tries < O.max_tries) {
		size_t chunk = (len + n - 1) / n;
		bool reduced = false;

		for (size_t i = 0; i < n && !reduced; i++) {
			size_t a = i * chunk, b = a + chunk < len ? a + chunk : len, m;

			if (a >= len)
				break;
			memcpy(t, d, a);
			memcpy(t + a, d + b, len - b);
			m = len - (b - a);
			if (still_fails(t, m, want)) {
				memcpy(d, t, m);
				len = m;
				n = n > 2 ? n - 1 : 2;
				reduced = true;
			}
		}
		if (!reduced) {
			if (n >= len)
				break;
			n = 2 * n < len ? 2 * n : len;
		}
	}
	for (size_t i = 0; i < len && tries < O.max_tries; i++) {
		uint8_t old = d[i];

		if (!old)
			continue;
		d[i] = 0;
		if (!still_fails(d, len, want))
			d[i] = old;
	}
	free(t);
	return len;
}

/* ---- files ------------------------------------------------------------------ */

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f) {
		perror(path);
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return NULL;
	}
	buf = malloc(n ? (size_t)n : 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* --determinism: the inputs, collected first, then run in one child. */
static char **det_paths;
static size_t det_n, det_cap;

static void det_add(const char *path)
{
	if (det_n == det_cap) {
		det_cap = det_cap ? 2 * det_cap : 64;
		det_paths = realloc(det_paths, det_cap * sizeof(*det_paths));
		if (!det_paths)
			exit(2);
	}
	det_paths[det_n] = strdup(path);
	if (!det_paths[det_n])
		exit(2);
	det_n++;
}

/* Run input @i in this process; its digest. */
static uint64_t det_run_one(size_t i)
{
	size_t len;
	uint8_t *d = read_file(det_paths[i], &len);

	if (!d)
		exit(2);
	fz_run_digest = 0;
	O.h->fn(d, len);
	free(d);
	return fz_run_digest;
}

/* Both passes in one forked child (an input that crashes ends the check). */
static int run_determinism(unsigned *nrun, unsigned *nfail)
{
	int status = 0;
	pid_t pid;

	pid = fork_child();
	if (pid == 0) {
		uint64_t *first = calloc(det_n ? det_n : 1, sizeof(*first));
		unsigned bad = 0;

		if (!first)
			_exit(2);
		fz_trace_ring = 0;
		fz_check_every = O.check_every;
		for (size_t i = 0; i < det_n; i++)
			first[i] = det_run_one(i);
		for (size_t k = det_n; k-- > 0;) {
			uint64_t again = det_run_one(k);

			if (again != first[k]) {
				printf("NONDETERMINISTIC %s: digest %016llx in order, %016llx in reverse\n",
				       det_paths[k], (unsigned long long)first[k],
				       (unsigned long long)again);
				bad++;
			}
		}
		fflush(NULL);
		free(first);
		_exit(bad ? 1 : 0);
	}
	status = wait_child(pid);
	*nrun += (unsigned)det_n;
	if (!WIFEXITED(status) || WEXITSTATUS(status) > 1) {
		printf("simmm-replay: the determinism run crashed (status %#x): replay the inputs "
		       "one by one to find the failing one\n", status);
		*nfail += 1;
	} else if (WEXITSTATUS(status)) {
		*nfail += 1;
	}
	return 0;
}

static int run_path(const char *path, unsigned *nrun, unsigned *nfail)
{
	char sig[512];
	size_t len;
	uint8_t *d;

	if (O.determinism) {
		det_add(path);
		return 0;
	}
	d = read_file(path, &len);

	if (!d)
		return -1;
	(*nrun)++;
	/* First a quiet run for the signature, then (on failure) a loud one. */
	if (!run_child(d, len, true, sig, sizeof(sig))) {
		if (O.verbose)
			run_child(d, len, false, NULL, 0);
		if (!O.quiet)
			printf("PASS %s (%zu bytes)\n", path, len);
		free(d);
		return 0;
	}
	(*nfail)++;
	printf("FAIL %s (%zu bytes): %s\n", path, len, sig);
	fflush(stdout);
	if (O.minimize) {
		char outp[4096];
		size_t m = minimize(d, len, sig);
		FILE *f;

		snprintf(outp, sizeof(outp), "%s", O.out ? O.out : path);
		if (!O.out)
			strncat(outp, ".min", sizeof(outp) - strlen(outp) - 1);
		f = fopen(outp, "wb");
		if (!f || fwrite(d, 1, m, f) != m) {
			perror(outp);
		} else {
			printf("minimized %zu -> %zu bytes in %u runs: %s\n", len, m, tries, outp);
		}
		if (f)
			fclose(f);
		len = m;
	}
	if (!O.quiet) {
		printf("---- replaying %s with its trace ----\n", O.minimize ? "the minimized input" : path);
		fflush(stdout);
		run_child(d, len, false, NULL, 0);
	}
	free(d);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, unsigned *nrun, unsigned *nfail)
{
	DIR *dd = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (!dd) {
		perror(dir);
		return -1;
	}
	while ((de = readdir(dd))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			names = realloc(names, cap * sizeof(*names));
			if (!names)
				exit(2);
		}
		names[n] = malloc(strlen(dir) + strlen(de->d_name) + 2);
		sprintf(names[n], "%s/%s", dir, de->d_name);
		n++;
	}
	closedir(dd);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
			run_path(names[i], nrun, nfail);
		free(names[i]);
	}
	free(names);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: simmm-replay [--minimize] [--out FILE] [--max-tries N] [--check-every N]\n"
		"                    [--trace-ring N] [--quiet] [--determinism] [-v] <harness> <file|dir>...\n"
		"       simmm-replay --list\nharnesses:");
	for (const struct fz_harness *h = fz_harnesses; h->name; h++)
		fprintf(stderr, " %s", h->name);
	fputc('\n', stderr);
}

int main(int argc, char **argv)
{
	unsigned nrun = 0, nfail = 0;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--minimize")) {
			O.minimize = true;
		} else if (!strcmp(a, "--quiet")) {
			O.quiet = true;
		} else if (!strcmp(a, "--determinism")) {
			O.determinism = true;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			O.verbose = 1;
		} else if (!strcmp(a, "--list")) {
			for (const struct fz_harness *h = fz_harnesses; h->name; h++)
				printf("%s\n", h->name);
			return 0;
		} else if (i + 1 < argc && !strcmp(a, "--out")) {
			O.out = argv[++i];
		} else if (i + 1 < argc && !strcmp(a, "--max-tries")) {
			O.max_tries = (unsigned)strtoul(argv[++i], NULL, 0);
		} else if (i + 1 < argc && !strcmp(a, "--check-every")) {
			O.check_every = (unsigned)strtoul(argv[++i], NULL, 0);
		} else if (i + 1 < argc && !strcmp(a, "--trace-ring")) {
			O.trace_ring = (uint32_t)strtoul(argv[++i], NULL, 0);
		} else {
			usage();
			return 2;
		}
	}
	if (argc - i < 2) {
		usage();
		return 2;
	}
	for (const struct fz_harness *h = fz_harnesses; h->name; h++) {
		const char *nm = argv[i];

		if (!strcmp(h->name, nm) || (!strncmp(h->name, "fuzz_", 5) && !strcmp(h->name + 5, nm)))
			O.h = h;
	}
	if (!O.h) {
		fprintf(stderr, "simmm-replay: unknown harness '%s'\n", argv[i]);
		usage();
		return 2;
	}
	if (O.out && argc - i != 2) {
		fprintf(stderr, "simmm-replay: --out needs exactly one input\n");
		return 2;
	}
	for (i++; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st)) {
			perror(argv[i]);
			return 2;
		}
		if (S_ISDIR(st.st_mode))
			run_dir(argv[i], &nrun, &nfail);
		else
			run_path(argv[i], &nrun, &nfail);
	}
	if (O.determinism) {
		run_determinism(&nrun, &nfail);
		printf("simmm-replay %s --determinism: %u inputs, run twice in one process: %s\n",
		       O.h->name, nrun, nfail ? "DIFFERENCES" : "identical traces");
		return nfail ? 1 : (nrun ? 0 : 2);
	}
	printf("simmm-replay %s: %u inputs, %u failed\n", O.h->name, nrun, nfail);
	return nfail ? 1 : (nrun ? 0 : 2);
}
