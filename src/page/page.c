// SPDX-License-Identifier: MIT
/*
 * Frames in use: folio refcounting (the kernel's folio_get/folio_put
 * rules), lazily allocated contents, page-table pages, the zero page, and
 * the public page API.
 */
#include <string.h>

#include "page/devmem.h"
#include "page/phys.h"

int simmm__buddy_init(simmm_sim *sim);
void simmm__buddy_fini(simmm_sim *sim);

/* ---- refcounts ------------------------------------------------------------ */

void simmm__folio_get(simmm_sim *sim, struct simmm_page *page)
{
	struct simmm_page *head = simmm__compound_head(sim, page);
	/* folio_get() on a folio with no references is a use-after-free. */
	if (NEVER(head->refcount <= 0))
		return;
	head->refcount++;
}

void simmm__folio_ref_add(simmm_sim *sim, struct simmm_page *page, int n)
{
	struct simmm_page *head = simmm__compound_head(sim, page);
	if (NEVER(head->refcount <= 0 || n < 1))
		return;
	head->refcount += n;
}

void simmm__folio_put(simmm_sim *sim, struct simmm_page *page)
{
	struct simmm_page *head = simmm__compound_head(sim, page);

	if (head->refcount <= 0) {
		simmm__report(sim, SIMMM_REPORT_MISUSE,
			      "folio_put on free pfn 0x%llx (refcount %d)",
			      (unsigned long long)head->pfn, head->refcount);
		return;
	}
	if (--head->refcount)
		return;
	if (head->flags & PG_reserved) {
		simmm__report(sim, SIMMM_REPORT_MISUSE,
			      "last reference of reserved pfn 0x%llx dropped",
			      (unsigned long long)head->pfn);
		head->refcount = 1;
		return;
	}
	if (head->mapcount || (head->order && head[1].u.pincount)) {
		/* A mapped page always holds a reference: reaching zero
		 * while mapped means a caller lost track of a mapping. */
		simmm__report(sim, SIMMM_REPORT_MISUSE,
			      "pfn 0x%llx freed while mapped (mapcount %d)",
			      (unsigned long long)head->pfn, head->mapcount);
	}
	if (simmm__is_zone_device_page(head)) {
		/* free_zone_device_folio(): back to the driver, not the buddy. */
		simmm__devmem_free(sim, head);
		return;
	}
	/* __page_cache_release(): a folio freed still mlocked (its VMA lost
	 * VM_LOCKED without a munlock, MREMAP_DONTUNMAP, and a reference
	 * outlived its last mapping) loses PG_mlocked; the mm layer's count
	 * follows (simmm__page_take_mlocked_freed()). */
	if (head->flags & PG_mlocked) {
		head->flags &= ~(PG_mlocked | PG_mlock_missed);
		phys_of(sim)->mlocked_freed += 1ULL << head->order;
	}
	simmm__free_pages(sim, head);
}

uint64_t simmm__page_take_mlocked_freed(simmm_sim *sim)
{
	struct simmm_phys *ph = phys_of(sim);
	uint64_t n = ph->mlocked_freed;

	ph->mlocked_freed = 0;
	return n;
}

/* ---- contents --------------------------------------------------------------- */

void *simmm__page_data(simmm_sim *sim, struct simmm_page *page, bool alloc)
{
	if (page->data || !alloc)
		return page->data;
	if (sim->flags & SIMMM_CFG_NO_CONTENTS)
		return NULL;
	page->data = simmm__zalloc(sim, SIMMM_ALLOC_CONTENTS, sim->page_size);
	if (page->data)
		phys_of(sim)->content_pages++;
	return page->data;
}

void simmm__page_zero(simmm_sim *sim, struct simmm_page *page)
{
	if (!page->data || (page->flags & PG_table))
		return;
	simmm__free(sim, SIMMM_ALLOC_CONTENTS, page->data, sim->page_size);
	page->data = NULL;
	phys_of(sim)->content_pages--;
}

int simmm__page_copy(simmm_sim *sim, struct simmm_page *dst, struct simmm_page *src)
{
	void *d;

	if (!src->data) {
		simmm__page_zero(sim, dst);
		return 0;
	}
	d = simmm__page_data(sim, dst, true);
	if (!d)
		return (sim->flags & SIMMM_CFG_NO_CONTENTS) ? 0 : -ENOMEM;
	memcpy(d, src->data, sim->page_size);
	return 0;
}

int simmm__folio_copy_contents(simmm_sim *sim, struct simmm_page *dst, struct simmm_page *src)
{
	for (uint64_t i = 0; i < (1ULL << src->order); i++) {
		int err = simmm__page_copy(sim, simmm__pfn_to_page(sim, dst->pfn + i),
					   simmm__pfn_to_page(sim, src->pfn + i));
		if (err)
			return err;
	}
	return 0;
}

/* ---- page-table pages ------------------------------------------------------ */

/* A table page records log2(entries) in pgmap_id (tables are never
 * ZONE_DEVICE) so the entry array can be freed with its size. */
struct simmm_page *simmm__pt_page_alloc(simmm_sim *sim, unsigned nr_entries, void *owner,
					 unsigned level)
{
	struct simmm_page *p;
	uint64_t *entries;
	unsigned lg = (unsigned)__builtin_ctz(nr_entries);

	SIMMM_BUG_ON(nr_entries == 0 || (nr_entries & (nr_entries - 1)));
	entries = simmm__zalloc(sim, SIMMM_ALLOC_PGTABLE, (size_t)nr_entries * sizeof(uint64_t));
	if (!entries)
		return NULL;
	p = simmm__alloc_pages(sim, 0);
	if (!p) {
		simmm__free(sim, SIMMM_ALLOC_PGTABLE, entries, (size_t)nr_entries * sizeof(uint64_t));
		return NULL;
	}
	p->flags |= PG_table;
	p->data = entries;
	p->mapping = owner;
	p->pt_level = (int32_t)level;
	p->pt_deposit = 0;
	p->pgmap_id = (uint16_t)lg;
	p->u.pt_live = 0;
	phys_of(sim)->table_pages++;
	return p;
}

void simmm__pt_page_free(simmm_sim *sim, struct simmm_page *p)
{
	size_t bytes = ((size_t)1 << p->pgmap_id) * sizeof(uint64_t);

	SIMMM_BUG_ON(!(p->flags & PG_table));
	if (p->u.pt_live)
		simmm__report(sim, SIMMM_REPORT_MISUSE,
			      "page table pfn 0x%llx freed with %u live entries",
			      (unsigned long long)p->pfn, p->u.pt_live);
	simmm__free(sim, SIMMM_ALLOC_PGTABLE, p->data, bytes);
	p->data = NULL;
	p->flags &= ~PG_table;
	p->pgmap_id = 0;
	p->u.pt_live = 0;
	p->pt_level = 0;
	p->pt_deposit = 0;
	p->mapping = NULL;
	phys_of(sim)->table_pages--;
	simmm__folio_put(sim, p);
}

/* ---- setup ------------------------------------------------------------------ */

struct simmm_dev_pagemap *simmm__page_pgmap(const simmm_sim *sim, const struct simmm_page *page)
{
	/* Device frames carry their pagemap's id (devmem.c); system frames
	 * have none. */
	if (page->memtype == SIMMM_MEM_SYSTEM)
		return NULL;
	return simmm__devmem_pgmap(sim, page->pgmap_id);
}

simmm_pfn_t simmm__zero_pfn(const simmm_sim *sim)
{
	return phys_of(sim)->zero_pfn;
}

int simmm__phys_init(simmm_sim *sim)
{
	struct simmm_phys *ph = simmm__zalloc(sim, SIMMM_ALLOC_META, sizeof(*ph));
	struct simmm_page *zero;
	int err;

	if (!ph)
		return -ENOMEM;
	sim->phys = ph;
	ph->nr_pages = sim->ram_pages;
	err = simmm__memmap_init(sim);
	if (!err)
		err = simmm__buddy_init(sim);
	if (err)
		return err; /* simmm__phys_fini() undoes the rest */
	/* The shared zero page (ZERO_PAGE): reserved, never freed, read-only
	 * by construction (simmm_page_write refuses it). */
	zero = simmm__alloc_pages(sim, 0);
	if (!zero)
		return -ENOMEM;
	zero->flags |= PG_reserved | PG_zero | PG_uptodate;
	ph->zero_pfn = zero->pfn;
	return 0;
}

static uint64_t release_leaked(simmm_sim *sim, bool quiet)
{
	struct simmm_phys *ph = phys_of(sim);
	uint64_t leaked = 0;

	for (uint64_t s = 0; s < ph->nr_sections; s++) {
		struct simmm_page *sec = ph->sections[s];
		if (!sec)
			continue;
		for (uint64_t i = 0; i < simmm__section_frames(ph, s); i++) {
			struct simmm_page *p = &sec[i];
			if (p->head_delta || p->refcount <= 0)
				continue;
			if (p->flags & PG_zero) {
				p->flags &= ~PG_reserved;
			} else if (p->flags == PG_hwpoison && p->refcount == 1 && !p->order) {
				/* A frame held for its poison (what freeing a
				 * poisoned page or take_page_off_buddy() leaves):
				 * not a leak; back to the buddy now. */
				p->flags = 0;
			} else {
				leaked++;
				if (!quiet && leaked <= 16)
					fprintf(stderr,
						"simmm: leaked folio pfn 0x%llx order %u refcount %d%s\n",
						(unsigned long long)p->pfn, p->order, p->refcount,
						(p->flags & PG_table) ? " (page table)" : "");
			}
			if (p->flags & PG_table) {
				p->u.pt_live = 0;
				simmm__pt_page_free(sim, p);
				continue;
			}
			p->refcount = 1;
			p->mapcount = 0;
			if (p->order)
				p[1].u.pincount = 0;
			simmm__folio_put(sim, p);
		}
	}
	if (leaked > 16 && !quiet)
		fprintf(stderr, "simmm: ... %llu leaked folios in all\n", (unsigned long long)leaked);
	return leaked;
}

uint64_t simmm__phys_fini(simmm_sim *sim, bool quiet)
{
	struct simmm_phys *ph = phys_of(sim);
	uint64_t leaked = 0;

	if (!ph)
		return 0;
	if (ph->sections)
		leaked = release_leaked(sim, quiet);
	simmm__buddy_fini(sim);
	simmm__memmap_fini(sim);
	simmm__free(sim, SIMMM_ALLOC_META, ph, sizeof(*ph));
	sim->phys = NULL;
	return leaked;
}

/* ---- public API ---------------------------------------------------------- */

/* The page of a pfn that must be in use; NULL (with -ENOENT in *err) if
 * free. */
static struct simmm_page *used_page(const simmm_sim *sim, simmm_pfn_t pfn, int *err)
{
	struct simmm_page *p, *head;

	if (!simmm__pfn_valid(sim, pfn)) {
		*err = -EINVAL;
		return NULL;
	}
	p = simmm__pfn_to_page(sim, pfn);
	head = p ? simmm__compound_head(sim, p) : NULL;
	if (!head || head->refcount <= 0) {
		*err = -ENOENT;
		return NULL;
	}
	return p;
}

int simmm_page_alloc(simmm_sim *sim, unsigned order, simmm_pfn_t *pfn)
{
	struct simmm_page *p;

	if (!simmm__sim_ok(sim) || !pfn || order > simmm__max_order(sim))
		return -EINVAL;
	p = simmm__alloc_pages(sim, order);
	if (!p)
		return -ENOMEM;
	*pfn = p->pfn;
	return 0;
}

int simmm_page_get(simmm_sim *sim, simmm_pfn_t pfn)
{
	struct simmm_page *p;
	int err = 0;

	if (!simmm__sim_ok(sim))
		return -EINVAL;
	p = used_page(sim, pfn, &err);
	if (!p) {
		if (err == -ENOENT)
			simmm__report(sim, SIMMM_REPORT_MISUSE, "get on free pfn 0x%llx",
				      (unsigned long long)pfn);
		return err;
	}
	simmm__folio_get(sim, p);
	return 0;
}

int simmm_page_put(simmm_sim *sim, simmm_pfn_t pfn)
{
	struct simmm_page *p, *head;
	int err = 0, left;

	if (!simmm__sim_ok(sim))
		return -EINVAL;
	p = used_page(sim, pfn, &err);
	if (!p) {
		if (err == -ENOENT)
			simmm__report(sim, SIMMM_REPORT_MISUSE, "put on free pfn 0x%llx (double free)",
				      (unsigned long long)pfn);
		return err;
	}
	head = simmm__compound_head(sim, p);
	if (head->flags & (PG_reserved | PG_table))
		return -EINVAL;
	left = head->refcount - 1;
	simmm__folio_put(sim, p);
	return left;
}

int simmm_page_info(const simmm_sim *sim, simmm_pfn_t pfn, struct simmm_page_info *out)
{
	struct simmm_page *p, *head;

	if (!simmm__sim_ok(sim) || !out || !simmm__pfn_valid(sim, pfn))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->pfn = pfn;
	out->head_pfn = pfn;
	p = simmm__pfn_to_page(sim, pfn);
	head = p ? simmm__compound_head(sim, p) : NULL;
	if (!head || head->refcount <= 0) {
		out->free = true;
		return 0;
	}
	out->head_pfn = head->pfn;
	out->order = head->order;
	out->refcount = head->refcount;
	out->mapcount = (head->flags & PG_table) ? 0 : p->mapcount;
	out->pincount = (head->flags & PG_table) ? 0 : head->u.pincount;
	out->flags = p->flags | (head->flags & ~(PG_head));
	out->memtype = (enum simmm_memtype)head->memtype;
	out->has_contents = p->data && !(p->flags & PG_table);
	out->table = head->flags & PG_table;
	return 0;
}

static int rw_check(simmm_sim *sim, simmm_pfn_t pfn, size_t off, const void *buf, size_t len,
		    struct simmm_page **pp)
{
	int err = 0;

	if (!simmm__sim_ok(sim) || (!buf && len))
		return -EINVAL;
	if (off > sim->page_size || len > sim->page_size - off)
		return -EINVAL;
	*pp = used_page(sim, pfn, &err);
	if (!*pp)
		return err;
	if ((*pp)->flags & PG_table)
		return -EINVAL;
	return 0;
}

int simmm_page_read(simmm_sim *sim, simmm_pfn_t pfn, size_t off, void *buf, size_t len)
{
	struct simmm_page *p;
	int err = rw_check(sim, pfn, off, buf, len, &p);

	if (err)
		return err;
	if (p->data)
		memcpy(buf, (char *)p->data + off, len);
	else
		memset(buf, 0, len);
	return 0;
}

/* A write into a page of a user folio in RAM (anonymous, or in a page
 * cache) dirties the folio, as the kernel code or driver that writes into
 * a page it got from GUP or HMM must (set_page_dirty_lock(),
 * unpin_user_pages_dirty_lock(); RDMA ODP dirties what its device could
 * write when the range is invalidated): reclaim writes out only dirty
 * folios, and would drop a write into a clean swap-cache or page-cache
 * folio with it. */
static void mark_user_folio_dirty(simmm_sim *sim, struct simmm_page *p)
{
	struct simmm_page *head = simmm__compound_head(sim, p);

	if (!(head->flags & PG_device) && ((head->flags & PG_anon) || head->mapping))
		head->flags |= PG_dirty;
}

int simmm_page_write(simmm_sim *sim, simmm_pfn_t pfn, size_t off, const void *buf, size_t len)
{
	struct simmm_page *p;
	void *d;
	int err = rw_check(sim, pfn, off, buf, len, &p);

	if (err)
		return err;
	if (p->flags & PG_zero)
		return -EPERM;
	if (!len)
		return 0;
	d = simmm__page_data(sim, p, true);
	if (!d && !(sim->flags & SIMMM_CFG_NO_CONTENTS))
		return -ENOMEM;
	if (d)
		memcpy((char *)d + off, buf, len);
	mark_user_folio_dirty(sim, p);
	return 0;
}

int simmm_phys_stats(const simmm_sim *sim, struct simmm_phys_stats *out)
{
	const struct simmm_phys *ph;

	if (!simmm__sim_ok(sim) || !out)
		return -EINVAL;
	ph = phys_of(sim);
	memset(out, 0, sizeof(*out));
	out->total_pages = ph->nr_pages;
	out->free_pages = ph->free_pages;
	out->table_pages = ph->table_pages;
	out->content_pages = ph->content_pages;
	out->sections = ph->nr_sections;
	out->sections_present = ph->sections_present;
	out->memmap_bytes = ph->memmap_bytes;
	out->alloc_failures = ph->alloc_failures;
	for (unsigned o = 0; o <= ph->max_order && o < 32; o++)
		out->free_blocks[o] = ph->area[o].nr;
	out->max_order = ph->max_order;
	return 0;
}

simmm_pfn_t simmm_zero_pfn(const simmm_sim *sim)
{
	return simmm__sim_ok(sim) ? simmm__zero_pfn(sim) : 0;
}
