/* SPDX-License-Identifier: MIT */
/*
 * Kernel-named aliases for <simmm/hmm.h> (opt-in): code written against
 * include/linux/hmm.h compiles against simmm with this header.
 */
#ifndef SIMMM_LINUX_HMM_H
#define SIMMM_LINUX_HMM_H

#include <simmm/hmm.h>

#define HMM_PFN_VALID         SIMMM_HMM_PFN_VALID
#define HMM_PFN_WRITE         SIMMM_HMM_PFN_WRITE
#define HMM_PFN_ERROR         SIMMM_HMM_PFN_ERROR
#define HMM_PFN_DMA_MAPPED    SIMMM_HMM_PFN_DMA_MAPPED
#define HMM_PFN_P2PDMA        SIMMM_HMM_PFN_P2PDMA
#define HMM_PFN_P2PDMA_BUS    SIMMM_HMM_PFN_P2PDMA_BUS
#define HMM_PFN_INOUT_FLAGS   SIMMM_HMM_PFN_INOUT_FLAGS
#define HMM_PFN_ORDER_SHIFT   SIMMM_HMM_PFN_ORDER_SHIFT
#define HMM_PFN_FLAGS         SIMMM_HMM_PFN_FLAGS
#define HMM_PFN_REQ_FAULT     SIMMM_HMM_PFN_REQ_FAULT
#define HMM_PFN_REQ_WRITE     SIMMM_HMM_PFN_REQ_WRITE
#define HMM_RANGE_DEFAULT_TIMEOUT SIMMM_HMM_RANGE_DEFAULT_TIMEOUT

#define hmm_range simmm_hmm_range
#define hmm_range_fault simmm_hmm_range_fault
#define hmm_pfn_to_map_order simmm_hmm_pfn_to_map_order

#endif
