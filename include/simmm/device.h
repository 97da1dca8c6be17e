/* SPDX-License-Identifier: MIT */
/**
 * DOC: dmirror, a simulated HMM device (lib/test_hmm.c)
 *
 * A &simmm_dmirror_device is the kernel's test_hmm "dmirror" device, written
 * as a driver on simmm's public API, so that the kernel's hmm-tests (and a
 * driver developer's own tests) can run against simmm:
 *
 *  - device memory comes in chunks registered with simmm_memremap_pages(),
 *    DEVICE_PRIVATE or DEVICE_COHERENT; free pages are threaded through
 *    zone_device_data. A private page's data lives in a system "backing"
 *    page (as upstream: the device page itself is not CPU addressable); a
 *    coherent page holds its data itself.
 *  - every open (simmm_dmirror_open(), the kernel's open(2) of
 *    /dev/hmm_dmirrorN) mirrors one address space: a device page table
 *    keyed by virtual page number whose entries are the page holding the
 *    data, tagged WRITE or ATOMIC, kept coherent by an interval notifier
 *    over the whole address space.
 *  - commands (simmm_dmirror_ioctl(), the kernel's ioctl(2)) read and write
 *    through the mirror (faulting with hmm_range_fault()), migrate to and
 *    from device memory, snapshot the CPU page table, take pages exclusive,
 *    and evict the device memory.
 *
 * Return codes, cpages / faults and the snapshot encoding are upstream's.
 * All objects belong to one simulated machine; nothing is global.
 */
#ifndef SIMMM_DEVICE_H
#define SIMMM_DEVICE_H

#include <simmm/common.h>
#include <simmm/page.h>

#ifdef __cplusplus
extern "C" {
#endif

struct simmm_mm;
struct simmm_dmirror_device;
struct simmm_dmirror;

/* Commands (HMM_DMIRROR_* ioctl numbers, without the _IOWR encoding). */
#define SIMMM_DMIRROR_READ            0x00
#define SIMMM_DMIRROR_WRITE           0x01
#define SIMMM_DMIRROR_MIGRATE_TO_DEV  0x02
#define SIMMM_DMIRROR_MIGRATE_TO_SYS  0x03
#define SIMMM_DMIRROR_SNAPSHOT        0x04
#define SIMMM_DMIRROR_EXCLUSIVE       0x05
#define SIMMM_DMIRROR_CHECK_EXCLUSIVE 0x06
#define SIMMM_DMIRROR_RELEASE         0x07
#define SIMMM_DMIRROR_FLAGS           0x08

/* SIMMM_DMIRROR_FLAGS: cmd.npages is the new flag word. */
#define SIMMM_DMIRROR_FLAG_FAIL_ALLOC (1ULL << 0)

/* SIMMM_DMIRROR_SNAPSHOT: one byte per page (HMM_DMIRROR_PROT_*). */
#define SIMMM_DMIRROR_PROT_ERROR               0xFF
#define SIMMM_DMIRROR_PROT_NONE                0x00
#define SIMMM_DMIRROR_PROT_READ                0x01
#define SIMMM_DMIRROR_PROT_WRITE               0x02
#define SIMMM_DMIRROR_PROT_PMD                 0x04
#define SIMMM_DMIRROR_PROT_PUD                 0x08
#define SIMMM_DMIRROR_PROT_ZERO                0x10
#define SIMMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL   0x20
#define SIMMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE  0x30
#define SIMMM_DMIRROR_PROT_DEV_COHERENT_LOCAL  0x40
#define SIMMM_DMIRROR_PROT_DEV_COHERENT_REMOTE 0x50

/** Default chunk of device memory: 256 MiB of 4 KiB pages (DEVMEM_CHUNK_SIZE). */
#define SIMMM_DMIRROR_DEFAULT_CHUNK_BYTES (256ULL << 20)

/**
 * struct simmm_dmirror_cmd - struct hmm_dmirror_cmd.
 * @addr: first virtual address of the range; page aligned.
 * @ptr: host buffer: npages * PAGE_SIZE bytes for READ, WRITE, the
 *       migrations and EXCLUSIVE (data read back or written), npages bytes
 *       for SNAPSHOT; unused (may be NULL) for the other commands.
 * @npages: pages in the range (> 0); the flag word for FLAGS.
 * @cpages: out: pages copied / migrated / snapshotted (per command).
 * @faults: out: hmm_range_fault() rounds READ and WRITE needed.
 */
struct simmm_dmirror_cmd {
	uint64_t addr;
	void *ptr;
	uint64_t npages;
	uint64_t cpages;
	uint64_t faults;
};

/**
 * struct simmm_dmirror_stats - what a device did (for tests).
 * @chunks: chunks currently registered.
 * @chunks_added: chunks registered since create.
 * @calloc: device pages handed out; @cfree: device pages freed back.
 * @to_ram: ->migrate_to_ram() calls (CPU faults on device-private pages).
 * @evicted: pages migrated to system memory by RELEASE / destroy.
 * @fail_alloc_hits: allocations failed on purpose (FLAG_FAIL_ALLOC).
 * @fallback_pages: pages migrated one by one after a failed huge allocation.
 * @huge_alloc: device THPs (PMD-sized device folios) handed out.
 * @splits: device THPs split (->folio_split() calls for a folio's first tail).
 */
struct simmm_dmirror_stats {
	uint64_t chunks;
	uint64_t chunks_added;
	uint64_t calloc;
	uint64_t cfree;
	uint64_t to_ram;
	uint64_t evicted;
	uint64_t fail_alloc_hits;
	uint64_t fallback_pages;
	uint64_t huge_alloc;
	uint64_t splits;
};

/**
 * simmm_dmirror_device_create() - create a device (module load / one
 * /dev/hmm_dmirrorN).
 * @sim: the machine.
 * @type: SIMMM_MEM_DEVICE_PRIVATE or SIMMM_MEM_DEVICE_COHERENT.
 * @chunk_bytes: size of each device-memory chunk; 0 = the upstream
 *               SIMMM_DMIRROR_DEFAULT_CHUNK_BYTES; rounded up to a PMD.
 * @out: receives the device.
 *
 * Chunks are registered on demand (the first allocation), not at create.
 * Context: the machine's thread.
 * Return: 0; -EINVAL: NULL @sim or @out, another @type, a chunk above
 * SIMMM_DEVMEM_MAX_PAGES pages; -ENOMEM.
 */
SIMMM_API int simmm_dmirror_device_create(simmm_sim *sim, enum simmm_memtype type,
					  uint64_t chunk_bytes,
					  struct simmm_dmirror_device **out);

/**
 * simmm_dmirror_device_destroy() - remove a device (module unload): every
 * chunk is evicted (its pages migrated to system memory) and unregistered,
 * as RELEASE does. Every open of the device must be closed first.
 * @dev: the device; NULL does nothing.
 *
 * Context: the machine's thread or a task (in a task it waits until every
 * device page is back in system memory).
 * Return: 0; -EBUSY: opens remain, or a chunk could not be unregistered
 * (outside a task: pages still in use after one eviction pass; the device
 * is then not freed).
 */
SIMMM_API int simmm_dmirror_device_destroy(struct simmm_dmirror_device *dev);

/**
 * simmm_dmirror_device_stats() - read the device's counters.
 * @dev: the device.
 * @out: receives them.
 * Return: 0; -EINVAL for NULL arguments.
 */
SIMMM_API int simmm_dmirror_device_stats(const struct simmm_dmirror_device *dev,
					 struct simmm_dmirror_stats *out);

/**
 * simmm_dmirror_device_type() - the device's memory type.
 * @dev: the device.
 * Return: SIMMM_MEM_DEVICE_PRIVATE or SIMMM_MEM_DEVICE_COHERENT;
 * SIMMM_MEM_SYSTEM for NULL.
 */
SIMMM_API enum simmm_memtype simmm_dmirror_device_type(const struct simmm_dmirror_device *dev);

/**
 * simmm_dmirror_open() - open the device from process @mm
 * (dmirror_fops_open): a new mirror with an interval notifier over the
 * whole address space of @mm.
 * @dev: the device.
 * @mm: the process (current->mm); the caller holds a user reference.
 * @out: receives the open file.
 *
 * Context: may sleep (the notifier insert).
 * Return: 0; -EINVAL: NULL arguments, @mm of another machine or without
 * users; -ENOMEM; the notifier insert's errors.
 */
SIMMM_API int simmm_dmirror_open(struct simmm_dmirror_device *dev, struct simmm_mm *mm,
				 struct simmm_dmirror **out);

/**
 * simmm_dmirror_close() - close (dmirror_fops_release): remove the
 * notifier, drop the mirror.
 * @dmirror: the open file; NULL does nothing. It must not be used after
 *           this call.
 *
 * Pages this file migrated to the device stay there and fault back as
 * before. Unlike upstream, which frees the file while those pages still
 * point at it, each of them holds a reference on the file's struct: it is
 * freed when the last of them leaves the device (a fault-back running
 * concurrently keeps using valid memory).
 *
 * Context: may sleep; not from a notifier callback.
 * Return: 0; the notifier remove's errors (the file is closed anyway).
 */
SIMMM_API int simmm_dmirror_close(struct simmm_dmirror *dmirror);

/**
 * simmm_dmirror_ioctl() - run a command (dmirror_fops_unlocked_ioctl).
 * @dmirror: the open file.
 * @command: SIMMM_DMIRROR_*.
 * @cmd: in/out; cpages and faults are zeroed first.
 *
 * READ: mirror [addr, addr + npages) (faulting with hmm_range_fault()
 *   where entries are missing, 64 pages per round, REQ_FAULT) and copy it
 *   to @ptr. cpages = pages copied, faults = fault rounds.
 * WRITE: the same with REQ_WRITE, copying @ptr into the pages.
 * MIGRATE_TO_DEV: migrate_vma per PMD-sized chunk inside one VMA
 *   (SELECT_SYSTEM | SELECT_COMPOUND), map the new pages in the mirror,
 *   then read the range back into @ptr (cpages = pages read).
 * MIGRATE_TO_SYS: migrate this device's pages in the range back
 *   (cpages = entries that migrated).
 * SNAPSHOT: hmm_range_fault() without faulting; one SIMMM_DMIRROR_PROT_*
 *   byte per page into @ptr (cpages = pages).
 * EXCLUSIVE: make_device_exclusive() each page, mirror it ATOMIC, then
 *   read the range back into @ptr.
 * CHECK_EXCLUSIVE: whether ATOMIC entries remain.
 * RELEASE: evict all device memory of the device, unregister the chunks.
 *   In a task it returns once every page of those chunks is back in system
 *   memory (evicting again while concurrent commands or faults still hold
 *   some); chunks added meanwhile stay. Outside a task one eviction pass is
 *   made, and a chunk with pages left stays for the next RELEASE.
 * FLAGS: set the flag word to @npages (SIMMM_DMIRROR_FLAG_FAIL_ALLOC: the
 *   next device or system page allocation of a migration fails once).
 *
 * Context: may sleep; a scheduler task or the machine's thread.
 * Return: 0;
 * -EINVAL: NULL arguments, an unknown command, @addr not page aligned,
 *   an empty or overflowing range, NULL @ptr where data is exchanged;
 *   the mirrored mm has no users any more (all commands that touch it);
 *   the migrations: a page of
 *   the range without a VMA or in a VMA without VM_READ (and
 *   migrate_vma_setup()'s -EINVAL);
 * -ENOENT: MIGRATE_TO_DEV / EXCLUSIVE read-back met a page that is not
 *   mirrored (it did not migrate);
 * -EPERM: CHECK_EXCLUSIVE found an ATOMIC entry; WRITE on a read-only
 *   VMA (hmm_range_fault());
 * -EFAULT, -EBUSY (1 s of virtual time passed), -ENOMEM: from
 *   hmm_range_fault(); the EXCLUSIVE command passes on
 *   make_device_exclusive()'s errors.
 */
SIMMM_API int simmm_dmirror_ioctl(struct simmm_dmirror *dmirror, unsigned command,
				  struct simmm_dmirror_cmd *cmd);

/**
 * simmm_dmirror_mmap() - mmap(2) of the device file (dmirror_fops_mmap): a
 * VM_MIXEDMAP mapping of @len bytes in the opener's address space, every
 * page a zeroed system page inserted with vm_insert_page().
 * @dmirror: the open file.
 * @addr: address hint (0 = anywhere).
 * @len: bytes, > 0.
 * @prot: PROT_* bits.
 * @flags: SIMMM_MAP_PRIVATE or SIMMM_MAP_SHARED, optionally SIMMM_MAP_FIXED.
 * @out: receives the address.
 *
 * Context: may sleep (takes the mmap lock).
 * Return: 0; -EINVAL: NULL arguments, bad @flags; simmm_mmap()'s errors;
 * -ENOMEM (the mapping is removed again).
 */
SIMMM_API int simmm_dmirror_mmap(struct simmm_dmirror *dmirror, simmm_addr_t addr, uint64_t len,
				 int prot, int flags, simmm_addr_t *out);

/**
 * simmm_dmirror_mirrored() - the mirror entry of @addr (for tests).
 * @dmirror: the open file.
 * @addr: a virtual address.
 * @pfn: receives the pfn holding the data (a system or coherent page), may
 *       be NULL.
 * Return: 0 not mirrored; 1 read-only; 3 WRITE; 2 ATOMIC (upstream's tag
 * 1, reported as 2 so that 0 means absent); -EINVAL for NULL @dmirror.
 */
SIMMM_API int simmm_dmirror_mirrored(struct simmm_dmirror *dmirror, simmm_addr_t addr,
				     simmm_pfn_t *pfn);

#ifdef __cplusplus
}
#endif
#endif
