// SPDX-License-Identifier: MIT
/*
 * Decoding generic entries: the per-architecture hardware view and the
 * one-line text form used by dumps and test failure messages.
 *
 * The generic format is what simmm computes with; these views show what the
 * same mapping looks like to an MMU, following the choices Linux makes on
 * each architecture (arch/x86/include/asm/pgtable_types.h,
 * arch/arm64/include/asm/pgtable-prot.h, arch/riscv/include/asm/pgtable-bits.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pgtable/pt.h"
#include "pgtable/textbuf.h"

#define B(x) ((uint64_t)!!(x))

/* x86-64: NX is the inverse of exec; software bits as Linux places them
 * (SPECIAL = SOFTW1 (9), UFFD_WP = SOFTW2 (10), SOFT_DIRTY = SOFTW3 (11),
 * DEVMAP = SOFTW4 (58)). */
static void view_x86(enum simmm_level lvl, simmm_entry_t e, struct simmm_arch_view *v)
{
	v->x86.p = v->valid;
	v->x86.rw = e & SIMMM_E_WRITE;
	v->x86.us = e & SIMMM_E_USER;
	v->x86.a = e & SIMMM_E_YOUNG;
	v->x86.d = v->leaf && (e & SIMMM_E_DIRTY);
	v->x86.ps = v->leaf && lvl > SIMMM_LVL_PTE;
	v->x86.g = v->leaf && (e & SIMMM_E_GLOBAL);
	v->x86.nx = !(e & SIMMM_E_EXEC);
	v->raw = B(v->x86.p) | B(v->x86.rw) << 1 | B(v->x86.us) << 2 | B(v->x86.a) << 5 |
		 B(v->x86.d) << 6 | B(v->x86.ps) << 7 | B(v->x86.g) << 8 |
		 B(e & SIMMM_E_SPECIAL) << 9 | B(e & SIMMM_E_UFFD_WP) << 10 |
		 B(e & SIMMM_E_SOFT_DIRTY) << 11 | B(e & SIMMM_E_DEVMAP) << 58 |
		 (v->pa & 0x000ffffffffff000ULL) | B(v->x86.nx) << 63;
}

/* arm64 output address: with 64K pages and 52-bit PAs, PA[51:48] live in
 * descriptor bits [15:12]. */
static uint64_t arm64_oa(const struct simmm_geometry *g, uint64_t pa)
{
	if (g->page_shift == 16 && g->pa_bits > 48)
		return (pa & 0x0000ffffffff0000ULL) | ((pa >> 48) & 0xf) << 12;
	return pa & 0x0000fffffffff000ULL & ~((1ULL << g->page_shift) - 1);
}

/* arm64 as Linux drives it: PTE_WRITE is DBM (bit 51), and a writable
 * entry stays PTE_RDONLY (AP[2]) until dirty; user pages are PXN; nG for
 * non-global; bit 1 distinguishes table/page (1) from block (0). */
static void view_arm64(const struct simmm_geometry *g, enum simmm_level lvl, simmm_entry_t e,
		       bool table, struct simmm_arch_view *v)
{
	bool user = e & SIMMM_E_USER, exec = e & SIMMM_E_EXEC;

	v->arm64.valid = v->valid;
	v->arm64.table = v->valid && (table || lvl == SIMMM_LVL_PTE);
	v->raw = B(v->arm64.valid) | B(v->arm64.table) << 1 | arm64_oa(g, v->pa);
	if (!v->leaf)
		return;
	v->arm64.ap = (unsigned)(B(!((e & SIMMM_E_WRITE) && (e & SIMMM_E_DIRTY))) << 1 | B(user));
	v->arm64.af = e & SIMMM_E_YOUNG;
	v->arm64.ng = !(e & SIMMM_E_GLOBAL);
	v->arm64.dbm = e & SIMMM_E_WRITE;
	v->arm64.pxn = user || !exec;
	v->arm64.uxn = !(user && exec);
	v->raw |= (uint64_t)v->arm64.ap << 6 | B(v->arm64.af) << 10 | B(v->arm64.ng) << 11 |
		  B(v->arm64.dbm) << 51 | B(v->arm64.pxn) << 53 | B(v->arm64.uxn) << 54 |
		  B(e & SIMMM_E_SPECIAL) << 56 | B(e & SIMMM_E_DEVMAP) << 57;
}

/* RISC-V: a valid entry with R=W=X=0 points to the next table; every leaf
 * Linux installs for user memory is readable. SPECIAL is RSW bit 8. */
static void view_riscv(const struct simmm_geometry *g, simmm_entry_t e,
		       struct simmm_arch_view *v)
{
	v->riscv.v = v->valid;
	v->riscv.ppn = v->pa >> 12;
	if (v->leaf) {
		v->riscv.r = true;
		v->riscv.w = e & SIMMM_E_WRITE;
		v->riscv.x = e & SIMMM_E_EXEC;
		v->riscv.u = e & SIMMM_E_USER;
		v->riscv.g = e & SIMMM_E_GLOBAL;
		v->riscv.a = e & SIMMM_E_YOUNG;
		v->riscv.d = e & SIMMM_E_DIRTY;
	}
	v->raw = B(v->riscv.v) | B(v->riscv.r) << 1 | B(v->riscv.w) << 2 | B(v->riscv.x) << 3 |
		 B(v->riscv.u) << 4 | B(v->riscv.g) << 5 | B(v->riscv.a) << 6 |
		 B(v->riscv.d) << 7 | B(v->leaf && (e & SIMMM_E_SPECIAL)) << 8 |
		 v->riscv.ppn << 10;
	(void)g;
}

int simmm_entry_arch_view(const struct simmm_geometry *g, enum simmm_level lvl,
			  simmm_entry_t e, struct simmm_arch_view *out)
{
	bool table;

	if (!g || !out || (unsigned)lvl >= SIMMM_NR_LEVELS)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->arch = g->arch;
	table = simmm_entry_is_table(e, lvl);
	out->valid = (e & SIMMM_E_PRESENT) && !(e & SIMMM_E_SWP);
	if (!out->valid)
		return 0; /* swap, marker, PROT_NONE: software-defined encodings */
	out->leaf = !table;
	out->pa = simmm_pte_pfn(e) << g->page_shift;
	switch (g->arch) {
	case SIMMM_ARCH_X86_64:
		view_x86(lvl, e, out);
		break;
	case SIMMM_ARCH_ARM64:
		view_arm64(g, lvl, e, table, out);
		break;
	case SIMMM_ARCH_RISCV:
		view_riscv(g, e, out);
		break;
	default:
		out->raw = e;
		break;
	}
	return 0;
}

/* ---- text ------------------------------------------------------------------ */

static void fmt_flags(struct textbuf *t, simmm_entry_t e)
{
	static const struct { uint64_t bit; const char *name; } f[] = {
		{SIMMM_E_WRITE, "W"}, {SIMMM_E_USER, "U"}, {SIMMM_E_YOUNG, "A"},
		{SIMMM_E_DIRTY, "D"}, {SIMMM_E_EXEC, "X"}, {SIMMM_E_GLOBAL, "G"},
		{SIMMM_E_SPECIAL, "special"}, {SIMMM_E_DEVMAP, "devmap"},
		{SIMMM_E_SOFT_DIRTY, "soft-dirty"}, {SIMMM_E_UFFD_WP, "uffd-wp"},
		{SIMMM_E_LEAF, "huge"}, {SIMMM_E_PROTNONE, "protnone"},
	};
	for (size_t i = 0; i < SIMMM_ARRAY_SIZE(f); i++)
		if (e & f[i].bit)
			tb_printf(t, " %s", f[i].name);
}

static const char *swp_kind(unsigned type)
{
	static const char *const names[] = {
		"hwpoison", "migration-read", "migration-read-exclusive", "migration-write",
		"device-private-write", "device-private-read", "device-exclusive", "marker",
	};
	return type >= SIMMM_MAX_SWAPFILES ? names[type - SIMMM_MAX_SWAPFILES] : "swap";
}

static void fmt_swap(struct textbuf *t, simmm_entry_t e)
{
	unsigned type = simmm_swp_type(e);

	tb_printf(t, "%s", swp_kind(type));
	if (simmm_is_pfn_swap_entry(e))
		tb_printf(t, " pfn=%#llx", (unsigned long long)simmm_swp_offset_pfn(e));
	else if (simmm_is_pte_marker(e))
		tb_printf(t, " %#llx%s%s%s", (unsigned long long)simmm_pte_marker_get(e),
			  simmm_pte_marker_get(e) & SIMMM_PTE_MARKER_UFFD_WP ? " uffd-wp" : "",
			  simmm_is_poisoned_swp_entry(e) ? " poisoned" : "",
			  simmm_is_guard_swp_entry(e) ? " guard" : "");
	else
		tb_printf(t, " type=%u offset=%#llx", type,
			  (unsigned long long)simmm_swp_offset(e));
	if (simmm_is_migration_entry_young(e))
		tb_printf(t, " young");
	if (simmm_is_migration_entry_dirty(e))
		tb_printf(t, " dirty");
	if (simmm_pte_swp_exclusive(e))
		tb_printf(t, " exclusive");
	if (simmm_pte_swp_soft_dirty(e))
		tb_printf(t, " swp-soft-dirty");
	if (simmm_pte_swp_uffd_wp(e))
		tb_printf(t, " swp-uffd-wp");
}

static void fmt_arch(struct textbuf *t, const struct simmm_arch_view *v)
{
	switch (v->arch) {
	case SIMMM_ARCH_X86_64:
		tb_printf(t, " | x86%s%s%s%s%s%s%s%s", v->x86.p ? " P" : "", v->x86.rw ? " RW" : "",
			  v->x86.us ? " US" : "", v->x86.a ? " A" : "", v->x86.d ? " D" : "",
			  v->x86.ps ? " PS" : "", v->x86.g ? " G" : "", v->x86.nx ? " NX" : "");
		break;
	case SIMMM_ARCH_ARM64:
		tb_printf(t, " | arm64 %s AP=%u%s%s%s%s%s", v->arm64.table ? "table/page" : "block",
			  v->arm64.ap, v->arm64.af ? " AF" : "", v->arm64.ng ? " nG" : "",
			  v->arm64.dbm ? " DBM" : "", v->arm64.pxn ? " PXN" : "",
			  v->arm64.uxn ? " UXN" : "");
		break;
	case SIMMM_ARCH_RISCV:
		tb_printf(t, " | riscv V%s%s%s%s%s%s%s", v->riscv.r ? " R" : "",
			  v->riscv.w ? " W" : "", v->riscv.x ? " X" : "", v->riscv.u ? " U" : "",
			  v->riscv.g ? " G" : "", v->riscv.a ? " A" : "", v->riscv.d ? " D" : "");
		break;
	default:
		tb_printf(t, " | generic");
		break;
	}
	tb_printf(t, " pa=%#llx raw=%#llx", (unsigned long long)v->pa, (unsigned long long)v->raw);
}

void pt_format_entry(struct textbuf *t, const struct simmm_geometry *g, enum simmm_level lvl,
		     simmm_entry_t e)
{
	struct simmm_arch_view v;

	if (e == 0) {
		tb_printf(t, "none");
		return;
	}
	if (!simmm_pte_present(e)) {
		fmt_swap(t, e);
		return;
	}
	tb_printf(t, "%s pfn=%#llx", simmm_entry_is_table(e, lvl) ? "table" : "leaf",
		  (unsigned long long)simmm_pte_pfn(e));
	fmt_flags(t, e);
	simmm_entry_arch_view(g, lvl, e, &v);
	if (v.valid)
		fmt_arch(t, &v);
}

int simmm_entry_format(const struct simmm_geometry *g, enum simmm_level lvl, simmm_entry_t e,
		       char *buf, size_t len)
{
	struct textbuf t;

	if (!g || (!buf && len) || (unsigned)lvl >= SIMMM_NR_LEVELS)
		return -EINVAL;
	tb_init(&t, buf, len);
	pt_format_entry(&t, g, lvl, e);
	return (int)t.pos;
}
