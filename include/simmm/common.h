/* SPDX-License-Identifier: MIT */
/**
 * DOC: simmm common definitions
 *
 * Every public simmm function returns 0 or a positive value on success and a
 * negative errno on failure (-EINVAL, -ENOMEM, ...). simmm_strerror() names
 * them. Public symbols are prefixed simmm_; kernel-named aliases live in the
 * opt-in headers under <simmm/linux/>.
 */
#ifndef SIMMM_COMMON_H
#define SIMMM_COMMON_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(SIMMM_BUILDING)
#define SIMMM_API __attribute__((visibility("default")))
#else
#define SIMMM_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct simmm_sim simmm_sim;
typedef uint64_t simmm_pfn_t;  /* physical frame number */
typedef uint64_t simmm_addr_t; /* simulated virtual address */

/**
 * simmm_strerror() - name and describe a simmm return code.
 * @err: a negative errno as returned by simmm (0 gives "success").
 *
 * Return: a static string like "EINVAL: invalid argument"; never NULL, also
 * for unknown codes ("unknown error"). Independent of the C locale.
 */
SIMMM_API const char *simmm_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
