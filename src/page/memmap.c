// SPDX-License-Identifier: MIT
/*
 * Sparse memmap: struct pages are allocated a section (2^14 frames) at a
 * time, the first time a frame of the section is handed out, like the
 * kernel's SPARSEMEM with memory hot-add granularity. Sections are never
 * released before destroy (the kernel keeps the memmap of online memory).
 * The last section stops at the end of RAM (simmm__section_frames()).
 */
#include <string.h>

#include "page/devmem.h"
#include "page/phys.h"

int simmm__memmap_init(simmm_sim *sim)
{
	struct simmm_phys *ph = phys_of(sim);
	ph->nr_sections = (ph->nr_pages + SIMMM_SECTION_PAGES - 1) >> SIMMM_SECTION_SHIFT;
	ph->sections = simmm__zalloc(sim, SIMMM_ALLOC_MEMMAP,
				     ph->nr_sections * sizeof(*ph->sections));
	sim->memmap = ph->sections;
	return ph->sections ? 0 : -ENOMEM;
}

static size_t section_bytes(const struct simmm_phys *ph, uint64_t s)
{
	return simmm__section_frames(ph, s) * sizeof(struct simmm_page);
}

void simmm__memmap_fini(simmm_sim *sim)
{
	struct simmm_phys *ph = phys_of(sim);

	/* Device memmaps go last: every user of device pages (mms, at the
	 * finalisers) is gone by now. */
	simmm__devmem_fini(sim);
	if (!ph->sections)
		return;
	for (uint64_t s = 0; s < ph->nr_sections; s++)
		simmm__free(sim, SIMMM_ALLOC_MEMMAP, ph->sections[s], section_bytes(ph, s));
	simmm__free(sim, SIMMM_ALLOC_MEMMAP, ph->sections,
		    ph->nr_sections * sizeof(*ph->sections));
	ph->sections = NULL;
	sim->memmap = NULL;
}

static int section_create(simmm_sim *sim, uint64_t s)
{
	struct simmm_phys *ph = phys_of(sim);
	uint64_t nr = simmm__section_frames(ph, s);
	struct simmm_page *pages = simmm__zalloc(sim, SIMMM_ALLOC_MEMMAP, section_bytes(ph, s));
	if (!pages)
		return -ENOMEM;
	for (uint64_t i = 0; i < nr; i++)
		pages[i].pfn = (s << SIMMM_SECTION_SHIFT) + i;
	ph->sections[s] = pages;
	ph->sections_present++;
	ph->memmap_bytes += section_bytes(ph, s);
	return 0;
}

int simmm__memmap_populate(simmm_sim *sim, simmm_pfn_t pfn, uint64_t nr)
{
	struct simmm_phys *ph = phys_of(sim);
	uint64_t first = pfn >> SIMMM_SECTION_SHIFT;
	uint64_t last = (pfn + nr - 1) >> SIMMM_SECTION_SHIFT;

	for (uint64_t s = first; s <= last; s++) {
		if (ph->sections[s])
			continue;
		if (section_create(sim, s))
			return -ENOMEM;
	}
	return 0;
}

/* The pfn >= RAM halves of simmm__pfn_valid() and simmm__pfn_to_page(). */
bool simmm__devpfn_valid(const simmm_sim *sim, simmm_pfn_t pfn)
{
	struct simmm_phys *ph = phys_of(sim);

	return ph->devmem && simmm__devmem_page(ph, pfn);
}

struct simmm_page *simmm__devpfn_to_page(const simmm_sim *sim, simmm_pfn_t pfn)
{
	return simmm__devmem_page(phys_of(sim), pfn);
}

struct simmm_page *simmm__pfn_to_page_alloc(simmm_sim *sim, simmm_pfn_t pfn)
{
	if (pfn >= phys_of(sim)->nr_pages)
		return simmm__devmem_page(phys_of(sim), pfn);
	if (!simmm__pfn_valid(sim, pfn))
		return NULL;
	if (simmm__memmap_populate(sim, pfn, 1))
		return NULL;
	return simmm__pfn_to_page(sim, pfn);
}
