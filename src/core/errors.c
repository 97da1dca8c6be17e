// SPDX-License-Identifier: MIT
/* Error names and texts, fixed strings so output does not depend on the
 * host's locale or libc. */
#include <simmm/common.h>

#include "core/internal.h"

struct errtext {
	int err;
	const char *text;
};

static const struct errtext errtexts[] = {
	{0, "success"},
	{EPERM, "EPERM: operation not permitted"},
	{ENOENT, "ENOENT: no such entry"},
	{ESRCH, "ESRCH: no such task"},
	{EINTR, "EINTR: interrupted"},
	{EIO, "EIO: I/O error"},
	{E2BIG, "E2BIG: limit reached"},
	{EAGAIN, "EAGAIN: try again (would block)"},
	{ENOMEM, "ENOMEM: out of memory"},
	{EACCES, "EACCES: permission denied"},
	{EFAULT, "EFAULT: bad address"},
	{EBUSY, "EBUSY: busy, retry"},
	{EEXIST, "EEXIST: already exists"},
	{ENODEV, "ENODEV: no such device"},
	{EINVAL, "EINVAL: invalid argument"},
	{ENOSPC, "ENOSPC: no space left"},
	{ERANGE, "ERANGE: out of range"},
	{EDEADLK, "EDEADLK: deadlock"},
	{ENOSYS, "ENOSYS: not implemented"},
	{EOVERFLOW, "EOVERFLOW: value too large"},
	{EOPNOTSUPP, "EOPNOTSUPP: operation not supported"},
	{ETIMEDOUT, "ETIMEDOUT: timed out"},
	{EHWPOISON, "EHWPOISON: memory page has hardware error"},
	{EUCLEAN, "EUCLEAN: invariant violation"},
	{ESHUTDOWN, "ESHUTDOWN: instance torn down"},
};

const char *simmm_strerror(int err)
{
	int e = err < 0 ? -err : err;
	for (unsigned i = 0; i < SIMMM_ARRAY_SIZE(errtexts); i++)
		if (errtexts[i].err == e)
			return errtexts[i].text;
	return "unknown error";
}

void simmm__bug(const char *file, int line, const char *what)
{
	fprintf(stderr, "simmm BUG at %s:%d: %s\n", file, line, what);
	abort();
}
