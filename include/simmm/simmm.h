/* SPDX-License-Identifier: MIT */
/**
 * DOC: simmm umbrella header
 *
 * Include this for the whole public API. Kernel-named aliases (struct
 * hmm_range, mmu_interval_read_begin, ...) are opt-in: include the headers
 * under <simmm/linux/> explicitly.
 */
#ifndef SIMMM_SIMMM_H
#define SIMMM_SIMMM_H

#include <simmm/common.h>
#include <simmm/alloc.h>
#include <simmm/trace.h>
#include <simmm/geometry.h>
#include <simmm/sim.h>
#include <simmm/page.h>
#include <simmm/pgtable.h>
#include <simmm/sched.h>
#include <simmm/mm.h>
#include <simmm/mmu_notifier.h>
#include <simmm/memremap.h>
#include <simmm/hmm.h>
#include <simmm/migrate.h>
#include <simmm/device.h>

#endif
