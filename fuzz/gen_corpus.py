#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpora of the fuzz harnesses, deterministically.

    fuzz/gen_corpus.py [OUTDIR]     (default: fuzz/corpus)

Writes OUTDIR/<harness>/seed-* for fuzz_entries, fuzz_mm_ops and fuzz_races. The input
formats are described in fuzz/README.md; the helpers below spell them out.
Files the fuzzer found (merged in with -merge=1) are named by their SHA-1
and are not touched.
"""
import os
import random
import struct
import sys

# ---- fuzz_entries -------------------------------------------------------------

def entry_rec(geo, lvl, kind, a, b):
    return struct.pack("<BBBQQ", geo, lvl, kind, a & (2**64 - 1), b & (2**64 - 1))

def entries_seeds():
    seeds = {}
    for g in range(12):
        recs = b""
        for lvl in range(5):
            recs += entry_rec(g, lvl, 0, 0x1234 << lvl * 9, 0x7f | 1 << 14)
        seeds["present-geo%02d" % g] = recs
    for t in (0, 1, 23, 24, 25, 26, 27, 28, 29, 30, 31):
        seeds["swap-type%02d" % t] = entry_rec(0, 0, 1, t | 0x38 << 8, 0x3ffffffffffff)
    for k in range(7):
        seeds["pfnswap-%d" % k] = entry_rec(6, 1, 2, 0xffffffffffff, k | 0x700)
    for m in range(8):
        seeds["marker-%d" % m] = entry_rec(11, 0, 3, 0, m)
    rnd = random.Random(1)
    for i in range(8):
        seeds["raw-%d" % i] = b"".join(
            entry_rec(rnd.randrange(12), rnd.randrange(8), 4, rnd.getrandbits(64),
                      rnd.getrandbits(64)) for _ in range(4))
    seeds["bad-levels"] = b"".join(entry_rec(0, l, 0, 5, 3) for l in range(5, 8))
    return seeds

# ---- fuzz_mm_ops --------------------------------------------------------------

GEO = {"x86": 0, "arm64k": 1, "mini": 2, "toy": 3}
(MMAP, MUNMAP, MPROTECT, MADVISE, MREMAP, FORK, ACCESS, RECLAIM, PIN, UNPIN, MMPUT,
 FWRITE, FREAD, VERIFY, THP) = range(15)
NONE, R, RW, RX = 0, 1, 2, 3          # dec_prot() indices
M_SHARED, M_FILE, M_FIXED, M_NOREPLACE, M_POPULATE, M_FILE1 = 1, 2, 4, 8, 16, 32
DONTNEED, FREE, HUGEPAGE, NOHUGEPAGE, COLLAPSE, PAGEOUT = range(6)
COLD = 0xfa
# advice bytes after COLD: POPULATE_READ, POPULATE_WRITE, WILLNEED, DONTFORK
# (DOFORK when the range's first mapped page has it), WIPEONFORK (KEEPONFORK)
POP_READ, POP_WRITE, WILLNEED, DONTFORK, WIPEONFORK = range(0xfb, 0x100)
# guard regions: advice bytes 0xf4, 0xf5 (before them COLLAPSE and PAGEOUT mod 6)
GUARD_INSTALL, GUARD_REMOVE = 0xf4, 0xf5
# access pattern, core dump and DONTNEED_LOCKED advice (bytes no older input used)
RANDOM, SEQUENTIAL, NORMAL, DONTDUMP, DODUMP, DONTNEED_LOCKED = 0xf1, 0xef, 0xeb, 0xe9, 0xe8, 0xe7
# mlock kinds: the mprotect op's prot bytes 0xf8..0xff
(MLOCK, MLOCK_ONFAULT, MUNLOCK, MLOCKALL_CUR, MLOCKALL_CUR_FUT, MLOCKALL_FUT_ONFAULT,
 MUNLOCKALL, MLOCKALL_CUR_ONFAULT) = range(0xf8, 0x100)
READ, WRITE, EXEC = 0, 1, 2

def u16(v):
    return struct.pack("<H", v)

def op(code, *args, inject=0):
    out = bytes([code | (0x80 if inject else 0)])
    if inject:
        out += bytes([inject - 1])
    for a in args:
        out += a if isinstance(a, bytes) else bytes([a & 0xff])
    return out

def mmap(mm, page, n, prot, kind, pgoff=0, inject=0):
    return op(MMAP, mm, u16(page), L(n), prot, kind, pgoff, inject=inject)

# MAP_HUGETLB: an anonymous mmap whose pgoff byte is 0xa0..0xbf (mini-thp only)
HUGE = 0xa0

def hmmap(mm, page, n, prot, kind=M_FIXED, inject=0):
    return mmap(mm, page, n, prot, kind, HUGE, inject=inject)

def munmap(mm, page, n, inject=0):
    return op(MUNMAP, mm, u16(page), L(n), inject=inject)

def mprotect(mm, page, n, prot, inject=0):
    return op(MPROTECT, mm, u16(page), L(n), prot, inject=inject)

def mlock(mm, page, n, kind=MLOCK, inject=0):
    return mprotect(mm, page, n, kind, inject=inject)

def munlock_(mm, page, n, inject=0):
    return mlock(mm, page, n, MUNLOCK, inject=inject)

def mlockall(mm, kind):
    return mprotect(mm, 0, 1, kind)

def madvise(mm, page, n, adv, inject=0):
    return op(MADVISE, mm, u16(page), L(n), adv, inject=inject)

def mremap(mm, page, old, new, flags, dest=0, same=False, inject=0):
    return op(MREMAP, mm, u16(page), L(old), new - 1, flags | (0x80 if same else 0),
              u16(dest), inject=inject)

def access(mm, page, slot, kind, data=0, cross=False, inject=0):
    return op(ACCESS, mm, u16(page), slot | (4 if cross else 0), kind, data, inject=inject)

def write(mm, page, data, slot=0):
    return access(mm, page, slot, WRITE, data)

def read(mm, page, slot=0):
    return access(mm, page, slot, READ)

def fork(mm, inject=0):
    return op(FORK, mm, inject=inject)

def mmput(child):
    return op(MMPUT, child - 1)

def reclaim(n, inject=0):
    return op(RECLAIM, n - 1, inject=inject)

def pin(mm, page, n, write=False, longterm=False, get=False, inject=0):
    return op(PIN, mm, u16(page), n - 1,
              (1 if write else 0) | (2 if longterm else 0) | (4 if get else 0), inject=inject)

def unpin(i=0):
    return op(UNPIN, i)

def fwrite(f, page, slot, v):
    return op(FWRITE, f, page, slot, v)

def fread(f, page, slot):
    return op(FREAD, f, page, slot)

def fsync(f):
    return op(FREAD, 0x80 | f, 0, 0)

def msync(mm, page, n, async_=False):
    return op(FREAD, 0x80 | 0x40 | (0x20 if async_ else 0) | (mm << 2), page, n - 1)

# Truncation (the fsync encodings 0xb0..0xbf): ftruncate to pages * page + TAIL[tail]
# bytes; punch [page * page + TAIL[tail], + n pages + TAIL[ltail]) (n 0..15).
# TAIL: 0, 1, page/2 + 1, page - 1. MADV_REMOVE: advice byte 0xf0.
def ftruncate(f, pages, tail=0):
    return op(FREAD, 0xb0 | f | tail << 2, pages, 0)

def punch(f, page, n, tail=0, ltail=0):
    return op(FREAD, 0xb2 | f | tail << 2, page, n | ltail << 4)

REMOVE = 0xf0

# memory failure (advice bytes none of the 621 in-tree inputs and 25 regressions had):
# 0xe6 MADV_HWPOISON of one page; 0xe5 memory_failure() of the frame a page maps (flags
# byte: 1 MF_ACTION_REQUIRED, 2 MF_MUST_KILL); 0xe3 unpoison of an earlier poisoned frame
HWPOISON, MFAIL, UNPOISON = 0xe6, 0xe5, 0xe3

def hwpoison(mm, page):
    return madvise(mm, page, 1, HWPOISON)

def mfail(mm, page, flags=1):
    return op(MADVISE, mm, u16(page), L(1), MFAIL, flags)

def unpoison(sel=0):
    return madvise(0, sel, 1, UNPOISON)

# soft_offline_page() of the frame a page maps: advice byte 0xe2 (one of this round's
# merged inputs had it, meaning ab % 6; none of the seeds or regressions)
SOFTOFF = 0xe2

def softoff(mm, page):
    return madvise(mm, page, 1, SOFTOFF)

def verify(mm, page, n):
    return op(VERIFY, mm, u16(page), L(n))

def thp(policy):
    return op(THP, policy)

def big(k):
    """A length of k sixteenths of the window (dec_len() codes 0xf0..0xff)."""
    return -k

def L(n):
    """dec_len() code: 1..48 pages, or big(k)."""
    return n - 1 if n > 0 else 0xef - n

def scenario(geo, *ops):
    return bytes([GEO[geo]]) + b"".join(ops)

def mm_seeds():
    s = {}
    for g in GEO:
        s["basic-" + g] = scenario(g, mmap(0, 4, 8, RW, M_FIXED), write(0, 5, 0x11),
                                   read(0, 5), munmap(0, 4, 2), read(0, 5), verify(0, 0, 16))
        s["cow-fork-" + g] = scenario(g, mmap(0, 0, 6, RW, M_FIXED), write(0, 1, 0x21),
                                      write(0, 2, 0x22, 2), fork(0), write(1, 1, 0x31),
                                      read(0, 1), read(1, 1), write(0, 2, 0x32, 2),
                                      read(1, 2, 2), mmput(1), verify(0, 0, 6))
        s["shared-anon-" + g] = scenario(g, mmap(0, 10, 4, RW, M_SHARED | M_FIXED),
                                         write(0, 10, 0x41), fork(0), write(1, 11, 0x42),
                                         read(0, 11), reclaim(64), read(1, 10), mmput(1))
        s["swap-" + g] = scenario(g, mmap(0, 0, 16, RW, M_FIXED | M_POPULATE),
                                  *[write(0, p, 0x50 + p) for p in range(16)],
                                  madvise(0, 0, 16, PAGEOUT), reclaim(200), reclaim(200),
                                  verify(0, 0, 16), fork(0), reclaim(200), write(1, 3, 0x99),
                                  verify(0, 0, 16))
        s["mprotect-" + g] = scenario(g, mmap(0, 20, 10, RW, M_FIXED), write(0, 21, 1),
                                      mprotect(0, 21, 3, R), access(0, 21, 0, WRITE, 2),
                                      mprotect(0, 22, 1, NONE), read(0, 22), mprotect(0, 19, 4, RW),
                                      mprotect(0, 20, 10, RX), access(0, 25, 1, EXEC),
                                      mprotect(0, 20, 10, RW), write(0, 22, 3))
        s["dontneed-free-" + g] = scenario(g, mmap(0, 0, 8, RW, M_FIXED), write(0, 0, 7),
                                           write(0, 1, 8, 1), write(0, 2, 9, 2),
                                           madvise(0, 0, 1, DONTNEED), madvise(0, 1, 2, FREE),
                                           reclaim(100), read(0, 1, 1), write(0, 2, 10),
                                           read(0, 2, 2), madvise(0, 0, 9, DONTNEED),
                                           verify(0, 0, 8))
        s["file-" + g] = scenario(g, mmap(0, 30, 8, RW, M_FILE | M_FIXED, 2),
                                  mmap(0, 40, 8, RW, M_FILE | M_SHARED | M_FIXED, 2),
                                  read(0, 30), write(0, 40, 0x77), read(0, 30),
                                  write(0, 31, 0x78), fwrite(0, 3, 0, 0x79), read(0, 31),
                                  read(0, 41), fread(0, 2, 0), madvise(0, 30, 8, DONTNEED),
                                  read(0, 31), madvise(0, 30, 8, FREE), reclaim(100),
                                  verify(0, 30, 20))
        s["cold-" + g] = scenario(g, mmap(0, 0, 12, RW, M_FIXED), *[write(0, p, 0x30 + p) for p in range(12)],
                                  read(0, 3), read(0, 3), madvise(0, 0, 6, COLD), fork(0),
                                  madvise(1, 4, 4, COLD), reclaim(8), read(0, 8), reclaim(64),
                                  verify(0, 0, 12), verify(1, 0, 12))
        s["forkflags-" + g] = scenario(g, mmap(0, 0, 8, RW, M_FIXED), *[write(0, p, 0x60 + p) for p in range(8)],
                                       madvise(0, 1, 2, DONTFORK), madvise(0, 5, 2, WIPEONFORK),
                                       pin(0, 1, 2, write=True), fork(0), read(1, 0), read(1, 5),
                                       write(0, 1, 0x6a), write(1, 6, 0x6b), fork(1),
                                       madvise(0, 0, 8, DONTFORK), madvise(0, 5, 3, WIPEONFORK),
                                       mmput(2), fork(0), unpin(0), verify(0, 0, 8), verify(1, 0, 8),
                                       mmap(0, 10, 4, RW, M_FILE | M_FIXED), madvise(0, 8, 6, WIPEONFORK))
        s["populate-" + g] = scenario(g, mmap(0, 30, 8, RW, M_FILE | M_FIXED, 2),
                                      mmap(0, 40, 4, R, M_FIXED), madvise(0, 30, 8, POP_READ),
                                      fwrite(0, 3, 0, 0x81), madvise(0, 30, 4, POP_WRITE),
                                      fwrite(0, 2, 0, 0x82), read(0, 30), read(0, 31),
                                      madvise(0, 40, 4, POP_WRITE), madvise(0, 38, 6, POP_READ),
                                      fork(0), madvise(0, 32, 6, POP_WRITE), write(1, 33, 0x83),
                                      madvise(0, 30, 8, PAGEOUT), madvise(0, 30, 8, WILLNEED),
                                      read(0, 32), verify(0, 30, 8), verify(1, 30, 8),
                                      mmap(0, 50, 20, R, M_FILE | M_FILE1 | M_FIXED, 8),
                                      madvise(0, 50, 20, POP_READ), madvise(0, 50, 20, WILLNEED))
        s["writeback-" + g] = scenario(g, mmap(0, 40, 8, RW, M_FILE | M_SHARED | M_FIXED, 2),
                                       read(0, 41), write(0, 40, 0x71), fork(0),
                                       write(1, 42, 0x72), fsync(0), read(0, 42),
                                       write(0, 42, 0x73), msync(1, 40, 4), write(1, 40, 0x74),
                                       msync(0, 38, 4), msync(0, 40, 2, async_=True),
                                       mprotect(0, 40, 8, R), write(1, 41, 0x75), fsync(0),
                                       mprotect(0, 40, 8, RW), write(0, 41, 0x76),
                                       reclaim(100), verify(0, 40, 8), verify(1, 40, 8))
        s["file-eof-" + g] = scenario(g, mmap(0, 0, 20, R, M_FILE | M_FILE1 | M_FIXED, 8),
                                      read(0, 7), read(0, 8), fwrite(1, 30, 1, 5), read(0, 19),
                                      mmap(0, 30, 4, RW, M_FILE | M_FILE1 | M_SHARED | M_FIXED),
                                      mprotect(0, 0, 4, RW), verify(0, 0, 20))
        s["mremap-" + g] = scenario(g, mmap(0, 0, 6, RW, M_FIXED), write(0, 0, 1),
                                    write(0, 5, 2, 2), mremap(0, 0, 6, 6, 3, 20),
                                    read(0, 20), read(0, 25, 2), mremap(0, 20, 6, 10, 0),
                                    write(0, 29, 3), mremap(0, 20, 10, 4, 0),
                                    mremap(0, 20, 4, 4, 7, 40, same=True), read(0, 20),
                                    read(0, 40), mremap(0, 40, 4, 8, 1), verify(0, 0, 48))
        s["mremap-shared-" + g] = scenario(g, mmap(0, 8, 4, RW, M_SHARED | M_FIXED),
                                           write(0, 9, 0x19), mremap(0, 8, 4, 6, 1),
                                           read(0, 9), read(0, 13), mremap(0, 8, 4, 4, 5,
                                                                           same=True),
                                           verify(0, 0, 32))
        s["gup-" + g] = scenario(g, mmap(0, 0, 8, RW, M_FIXED), write(0, 1, 0x61),
                                 pin(0, 0, 4, write=True, longterm=True), fork(0),
                                 write(0, 1, 0x62), read(1, 1), pin(1, 0, 3),
                                 pin(0, 4, 4, get=True), reclaim(100), unpin(0), write(1, 2, 3),
                                 mmput(1))
        s["hint-" + g] = scenario(g, mmap(0, 2, 4, RW, 0), mmap(0, 2, 4, R, 0),
                                  mmap(0, 3, 4, RW, M_FIXED | M_NOREPLACE),
                                  mmap(0, 40, 2, RW, M_FIXED | M_NOREPLACE), write(0, 41, 9))
        s["access-cross-" + g] = scenario(g, mmap(0, 0, 2, RW, M_FIXED),
                                          access(0, 0, 2, WRITE, 0xab, cross=True),
                                          access(0, 1, 2, WRITE, 0xcd, cross=True),
                                          access(0, 0, 2, READ, cross=True), verify(0, 0, 3))
        s["inject-" + g] = scenario(g, mmap(0, 0, 8, RW, M_FIXED, inject=1), write(0, 0, 1),
                                    fork(0, inject=3), munmap(0, 2, 2, inject=2),
                                    mprotect(0, 4, 2, R, inject=1),
                                    mmap(0, 10, 4, RW, M_FIXED | M_SHARED, inject=2),
                                    madvise(0, 1, 2, DONTNEED, inject=1),
                                    mremap(0, 10, 4, 4, 3, 30, inject=2),
                                    access(0, 5, 0, WRITE, 3, inject=1),
                                    pin(0, 0, 2, inject=2), reclaim(50, inject=1),
                                    verify(0, 0, 40))
        # mlock: populate, reclaim around locked pages, munlock, ONFAULT,
        # fork, the refused madvise, mlockall(MCL_FUTURE) for a new mapping
        # and a locked VMA grown by mremap, munlockall, injected failures
        s["mlock-" + g] = scenario(g, mmap(0, 0, 12, RW, M_FIXED), write(0, 1, 0x11),
                                   mmap(0, 20, 4, RW, M_FILE | M_FIXED, 1),
                                   mlock(0, 0, 6), mlock(0, 20, 4), fwrite(0, 2, 0, 0x12),
                                   munlock_(0, 4, 1, inject=1), mlock(0, 6, 1, inject=2),
                                   reclaim(200), madvise(0, 2, 2, DONTNEED), read(0, 21),
                                   munlock_(0, 3, 2), mlock(0, 8, 4, MLOCK_ONFAULT),
                                   write(0, 9, 0x13), fork(0), write(1, 1, 0x14),
                                   reclaim(200), mlockall(0, MLOCKALL_CUR_FUT),
                                   mmap(0, 30, 2, RW, M_FIXED), mremap(0, 30, 2, 4, 0),
                                   mprotect(0, 0, 2, NONE), mlock(0, 0, 4), reclaim(200),
                                   mlockall(0, MUNLOCKALL), reclaim(200),
                                   verify(0, 0, 36), verify(1, 0, 12), mmput(1))
        # guard regions: install over written pages, an access and a GUP of
        # a guard page, DONTNEED and FREE keep the markers, fork copies them,
        # the child removes its own, mremap moves them, munmap drops them,
        # a file mapping's, a refused VM_LOCKED VMA, populate, an injected
        # allocation failure
        s["guard-" + g] = scenario(g, mmap(0, 0, 12, RW, M_FIXED),
                                   *[write(0, p, 0x90 + p) for p in range(6)],
                                   madvise(0, 1, 3, GUARD_INSTALL), read(0, 2), write(0, 3, 1),
                                   pin(0, 0, 4, write=True), madvise(0, 0, 6, DONTNEED),
                                   madvise(0, 0, 6, FREE), fork(0), read(1, 1),
                                   madvise(1, 0, 12, GUARD_REMOVE), write(1, 2, 0x9a),
                                   mprotect(0, 0, 12, R), mremap(0, 0, 6, 6, 3, 20),
                                   read(0, 21), munmap(0, 22, 2), verify(0, 20, 6),
                                   mmap(0, 30, 8, RW, M_FILE | M_SHARED | M_FIXED),
                                   write(0, 31, 0x9b), madvise(0, 30, 4, GUARD_INSTALL),
                                   madvise(0, 30, 8, POP_READ), fork(0), read(2, 31),
                                   madvise(0, 30, 8, GUARD_REMOVE), read(0, 31),
                                   mlock(0, 36, 2), madvise(0, 34, 4, GUARD_INSTALL),
                                   mmap(0, 40, 6, RW, M_FIXED),
                                   madvise(0, 40, 6, GUARD_INSTALL, inject=1),
                                   madvise(0, 40, 6, GUARD_INSTALL, inject=2), unpin(0),
                                   verify(0, 28, 20), mmput(1))
        s["three-mms-" + g] = scenario(g, mmap(0, 0, 10, RW, M_FIXED), write(0, 0, 1),
                                       fork(0), fork(1), write(2, 0, 2), write(1, 0, 3),
                                       read(0, 0), mmput(1), fork(2), read(1, 0), mmput(2),
                                       mmput(1))
    # THP on the geometries with PMD leaves: x86 (512-page PMDs, a 1 024-page
    # window) and mini-thp (16-page PMDs, a 64-page window). P = PMD pages;
    # rd, mp, un, dst = the pages read, mprotected, unmapped; the mremap target
    for g, P, rd, mp, un, dst in (("x86", 512, 300, 100, 200, 100), ("mini", 16, 9, 3, 6, 40)):
        s["thp-" + g] = scenario(g, thp(1), mmap(0, 0, big(16), RW, M_FIXED),
                                 madvise(0, 0, big(8), HUGEPAGE),
                                 write(0, 3, 0x33), read(0, rd), fork(0), write(1, 7, 0x44),
                                 mprotect(0, mp, 5, R), munmap(0, un, 1), write(0, P - 1, 5),
                                 madvise(0, 0, big(8), COLLAPSE),
                                 reclaim(255), verify(0, 0, 16), mmput(1))
        s["thp-always-" + g] = scenario(g, thp(2), mmap(0, 0, big(16), RW, M_FIXED),
                                        write(0, P + 1, 1), pin(0, P, 4, longterm=True),
                                        fork(0), write(0, P + 2, 2), madvise(0, P, 3, DONTNEED),
                                        mremap(0, P, 8, 8, 3, dst), read(0, dst), unpin(0))
        # a read maps the huge zero PMD, a write replaces it by a THP (6.13+),
        # a fork shares that THP, the child's write splits it (on x86 the huge
        # zero folio takes half of the 1 024 frames: the write falls back to
        # the split; mini-thp replaces)
        s["thp-huge-zero-" + g] = scenario(g, thp(2), mmap(0, 0, big(16), RW, M_FIXED),
                                           read(0, P + 1), write(0, P + 3, 7), read(0, P + 5),
                                           fork(0), write(1, P + 6, 8), read(0, P + 6),
                                           verify(0, P, 8), mmput(1))
    # mremap's move_page_tables() at PMD granularity, on mini-thp (the
    # harness moves at most 48 pages: x86's 512-page PMDs never move whole):
    # a THP shared with a child, and the huge zero PMD, moved whole onto
    # mapped targets (their deposits following), a COW write splitting the
    # moved THP, a PTE table moved whole (THP policy never), a DONTUNMAP
    # move, an unaligned (split) move, and reclaim through the moved rmap.
    s["mremap-thp-mini"] = scenario("mini", thp(2), mmap(0, 0, big(16), RW, M_FIXED),
                                    write(0, 1, 0x11), write(0, 17, 0x12), read(0, 33),
                                    fork(0), mremap(0, 0, 16, 16, 3, 48), read(0, 49),
                                    write(0, 50, 0x13), mremap(0, 32, 16, 16, 3, 0),
                                    read(0, 1), write(0, 2, 0x14),
                                    mremap(0, 16, 16, 16, 3, 36), reclaim(200),
                                    verify(0, 0, big(16)), mmput(1), verify(0, 0, big(16)))
    s["mremap-tables-mini"] = scenario("mini", thp(0), mmap(0, 0, 32, RW, M_FIXED),
                                       write(0, 3, 0x21), write(0, 20, 0x22),
                                       mremap(0, 0, 32, 32, 3, 32), read(0, 35),
                                       mremap(0, 32, 16, 16, 7, 0, same=True), read(0, 3),
                                       thp(2), madvise(0, 48, 16, HUGEPAGE), write(0, 50, 0x23),
                                       mremap(0, 48, 16, 16, 3, 16, inject=1),
                                       mremap(0, 48, 16, 16, 3, 16), verify(0, 0, big(16)))
    # hugetlb (MAP_HUGETLB, 16-page huge pages on mini-thp): whole huge pages
    # faulted and copied on write after fork, splits only at huge-page
    # boundaries (munmap, mprotect, madvise, MAP_FIXED, mremap: -EINVAL
    # inside), MADV_DONTNEED of whole huge pages, the other zapping advice,
    # guards and WIPEONFORK refused, never locked (but populated), never
    # reclaimed; shared pages in the pool; GUP's unshare and fork's copy of
    # a pinned page; mremap's rounding and alignment rules, moves over
    # several VMAs with a hugetlb part; the pool running dry (SIGBUS)
    s["hugetlb-basic-mini"] = scenario("mini", hmmap(0, 0, 32, RW), write(0, 1, 0x11),
                                       write(0, 17, 0x12, 2), read(0, 20), fork(0),
                                       write(1, 2, 0x13), read(0, 2), read(1, 1),
                                       madvise(1, 4, 4, DONTNEED), madvise(1, 0, 20, DONTNEED),
                                       read(1, 17, 2), read(1, 2), munmap(0, 3, 2),
                                       munmap(0, 16, 16), mprotect(0, 0, 5, R),
                                       mprotect(0, 0, 16, R), access(0, 1, 0, WRITE, 5),
                                       mprotect(0, 0, 16, NONE), read(0, 1),
                                       mprotect(0, 0, 16, RW), write(0, 3, 0x14),
                                       reclaim(255), verify(0, 0, 32), verify(1, 0, 32),
                                       mmput(1))
    s["hugetlb-shared-mini"] = scenario("mini", hmmap(0, 16, 16, RW, M_FIXED | M_SHARED),
                                        write(0, 17, 0x21), fork(0), write(1, 18, 0x22),
                                        read(0, 18), madvise(0, 16, 16, DONTNEED), read(0, 17),
                                        hmmap(0, 3, 10, RW, M_SHARED), hmmap(0, 35, 10, RW, M_SHARED),
                                        write(0, 50, 0x23), read(0, 51),
                                        hmmap(0, 0, 16, R, M_FIXED | M_SHARED | M_POPULATE),
                                        read(0, 1), mmap(0, 20, 4, RW, M_FIXED),
                                        mmap(0, 32, 3, RW, M_FIXED), reclaim(255),
                                        verify(0, 0, big(16)), verify(1, 16, 16), mmput(1))
    s["hugetlb-madvise-mini"] = scenario("mini", hmmap(0, 0, 16, RW),
                                         hmmap(0, 16, 16, RW, M_FIXED | M_SHARED),
                                         mmap(0, 32, 8, RW, M_FIXED), write(0, 1, 0x31),
                                         write(0, 17, 0x32), write(0, 33, 0x33),
                                         madvise(0, 0, 16, FREE), madvise(0, 0, 16, COLD),
                                         madvise(0, 30, 6, PAGEOUT), madvise(0, 32, 8, PAGEOUT),
                                         madvise(0, 2, 4, GUARD_INSTALL),
                                         madvise(0, 0, 16, GUARD_REMOVE),
                                         madvise(0, 3, 4, HUGEPAGE), madvise(0, 0, 16, HUGEPAGE),
                                         madvise(0, 0, 5, HUGEPAGE), madvise(0, 0, 5, NOHUGEPAGE),
                                         madvise(0, 16, 8, DONTFORK), madvise(0, 16, 16, DONTFORK),
                                         madvise(0, 0, 8, WIPEONFORK), madvise(0, 0, 40, POP_WRITE),
                                         madvise(0, 0, 40, POP_READ), madvise(0, 0, 40, WILLNEED),
                                         madvise(0, 0, 16, COLLAPSE), mlock(0, 0, 40), reclaim(255),
                                         mlockall(0, MLOCKALL_CUR_FUT), hmmap(0, 48, 16, RW),
                                         mlockall(0, MUNLOCKALL), mlock(0, 4, 8, MLOCK_ONFAULT),
                                         munlock_(0, 0, 40), fork(0), read(1, 17), read(1, 1),
                                         verify(0, 0, big(16)), mmput(1))
    s["hugetlb-mremap-mini"] = scenario("mini", hmmap(0, 0, 32, RW), write(0, 1, 0x41),
                                        write(0, 17, 0x42), mremap(0, 0, 32, 32, 3, 32),
                                        read(0, 33), read(0, 49), mremap(0, 32, 16, 16, 3, 5),
                                        mremap(0, 32, 16, 20, 1), mremap(0, 32, 16, 16, 7, 0, same=True),
                                        mremap(0, 33, 4, 4, 3, 0), mremap(0, 32, 32, 20, 0),
                                        mremap(0, 32, 32, 10, 0), mremap(0, 32, 5, 3, 1, 7),
                                        mmap(0, 4, 3, RW, M_FIXED), write(0, 5, 0x43),
                                        mremap(0, 4, 40, 40, 0), mremap(0, 4, 32, 2, 0),
                                        munmap(0, 0, big(16)), mmap(0, 0, 3, RW, M_FIXED),
                                        write(0, 1, 0x44), hmmap(0, 16, 16, RW),
                                        write(0, 18, 0x45), write(0, 30, 0x46),
                                        mremap(0, 0, 20, 20, 3, 32), read(0, 33), read(0, 50),
                                        read(0, 62), mremap(0, 32, 20, 20, 3, 5),
                                        mmap(0, 40, 2, RW, M_FIXED), mremap(0, 40, 2, 2, 3, 50),
                                        mremap(0, 40, 2, 2, 3, 52, same=True),
                                        verify(0, 0, big(16)))
    s["hugetlb-gup-mini"] = scenario("mini", hmmap(0, 0, 32, RW), write(0, 1, 0x51),
                                     write(0, 17, 0x52), fork(0), pin(0, 0, 4, longterm=True),
                                     pin(1, 16, 2, write=True), fork(0), read(2, 1),
                                     write(0, 2, 0x53), read(2, 2), unpin(0), unpin(1),
                                     pin(0, 16, 8, get=True), reclaim(255), mmput(2), mmput(1),
                                     verify(0, 0, 32))
    s["hugetlb-oom-mini"] = scenario("mini", hmmap(0, 0, big(16), RW, M_FIXED | M_POPULATE),
                                     write(0, 1, 0x61), pin(0, 16, 1, write=True), fork(0),
                                     *[write(1, 16 * p + 2, 0x62 + p) for p in range(4)],
                                     read(0, 2), fork(0), pin(1, 32, 2, write=True),
                                     madvise(1, 48, 16, POP_WRITE), mmput(1),
                                     access(0, 3, 0, WRITE, 0x66, inject=1), fork(0, inject=2),
                                     madvise(0, 0, 16, DONTNEED, inject=1),
                                     mremap(0, 0, 16, 16, 3, 48, inject=2),
                                     hmmap(0, 0, 16, RW, M_FIXED | M_POPULATE, inject=1),
                                     verify(0, 0, big(16)))
    # truncation and hole punching: a shrink zaps shared pages and private COW copies past
    # the new EOF (a locked one too), SIGBUS there, zeros past EOF in its page and after a
    # regrow; a punch keeps COW copies; MADV_REMOVE VMA by VMA
    for g in ("mini", "toy"):
        s["trunc-regrow-" + g] = scenario(g, mmap(0, 0, 32, RW, M_FILE | M_SHARED | M_FIXED, 0),
                                          mmap(0, 40, 16, RW, M_FILE | M_FIXED, 16),
                                          write(0, 42, 0x71), write(0, 20, 0x72, 1),
                                          write(0, 17, 0x73, 2), mlock(0, 40, 4), read(0, 41),
                                          fork(0), write(1, 43, 0x74), read(1, 18),
                                          ftruncate(0, 17, 1), read(0, 20), read(0, 42),
                                          read(0, 17, 1), read(1, 17, 2), write(0, 17, 0x75, 1),
                                          fread(0, 17, 0), fread(0, 17, 1), read(1, 41),
                                          ftruncate(0, 30), read(0, 17, 1), read(0, 20, 1),
                                          read(0, 42), verify(0, 0, 32), verify(0, 40, 16),
                                          verify(1, 40, 16), ftruncate(0, 0, 2),
                                          fwrite(0, 3, 1, 0x76), verify(0, 0, 8), mmput(1))
        s["punch-cow-" + g] = scenario(g, mmap(0, 0, 16, RW, M_FILE | M_SHARED | M_FIXED, 0),
                                       mmap(0, 20, 16, RW, M_FILE | M_FIXED, 0),
                                       write(0, 22, 0x81), write(0, 3, 0x82, 1), read(0, 23),
                                       pin(0, 4, 2, longterm=True), pin(0, 24, 1),
                                       mlock(0, 20, 8), fork(0), punch(0, 2, 3, 1, 2),
                                       read(0, 22), read(0, 23), read(1, 3, 1), read(0, 4),
                                       unpin(0), unpin(1), punch(0, 30, 0), punch(1, 1, 2),
                                       punch(0, 0, 15, 3, 3), verify(0, 0, 16),
                                       verify(0, 20, 16), verify(1, 0, 36))
        s["madv-remove-" + g] = scenario(g, mmap(0, 0, 8, RW, M_SHARED | M_FIXED),
                                         mmap(0, 8, 8, RW, M_FILE | M_SHARED | M_FIXED, 4),
                                         mmap(0, 16, 4, RW, M_FILE | M_FIXED, 4),
                                         mmap(0, 20, 4, R, M_FILE | M_FILE1 | M_SHARED | M_FIXED),
                                         mmap(0, 24, 4, RW, M_FIXED),
                                         *[write(0, p, 0x90 + p) for p in range(0, 18, 3)],
                                         fork(0), madvise(1, 1, 2, REMOVE), read(0, 1),
                                         read(0, 2), madvise(0, 6, 12, REMOVE), read(0, 9),
                                         read(0, 16), madvise(0, 19, 2, REMOVE),
                                         madvise(0, 24, 1, REMOVE), mlock(0, 10, 2),
                                         madvise(0, 8, 4, REMOVE), munmap(0, 4, 1),
                                         madvise(0, 3, 3, REMOVE), madvise(0, 8, 8, GUARD_INSTALL),
                                         madvise(0, 12, 2, REMOVE), verify(0, 0, 28),
                                         verify(1, 0, 28))
    # MADV_REMOVE of private hugetlb memory: -EACCES (its hugetlbfs file is not shared);
    # of shared hugetlb memory: hugetlbfs_punch_hole(), partial huge pages zeroed in place,
    # whole ones unmapped everywhere and dropped
    s["madv-remove-hugetlb-mini"] = scenario("mini", hmmap(0, 0, 16, RW), write(0, 1, 0xa1),
                                             hmmap(0, 32, 32, RW, M_SHARED | M_FIXED),
                                             mmap(0, 16, 4, RW, M_SHARED | M_FIXED),
                                             write(0, 33, 0xa2), write(0, 17, 0xa3),
                                             write(0, 40, 0xa4), write(0, 50, 0xa5, 2),
                                             write(0, 60, 0xa6, 1), fork(0),
                                             madvise(0, 0, 16, REMOVE),
                                             madvise(0, 16, 20, REMOVE), read(1, 33),
                                             madvise(1, 34, 20, REMOVE), read(0, 50, 2),
                                             read(0, 60, 1), madvise(0, 48, 16, REMOVE),
                                             verify(1, 32, 32), write(1, 49, 0xa7),
                                             verify(0, 0, big(16)))
    # a write through a shared mapping past EOF in the page EOF falls in stays in the page
    # cache, readable through every mapping (the model followed the file's size there)
    s["eof-tail-mini"] = scenario("mini", fwrite(0, 35, 0, 0x11),
                                  mmap(0, 0, 8, RW, M_FILE | M_SHARED | M_FIXED, 30),
                                  mmap(0, 8, 8, RW, M_FILE | M_FIXED, 30), write(0, 5, 0x22, 1),
                                  read(0, 13, 1), reclaim(255), fwrite(0, 36, 0, 0x33),
                                  verify(0, 0, 8), verify(0, 8, 8), fread(0, 35, 1))
    # MADV_RANDOM / SEQUENTIAL / NORMAL and DONTDUMP / DODUMP change VMA flags only (a
    # VMA without recency is skipped by folio_referenced(): reclaim takes its young pages,
    # but not a locked one's); DONTNEED_LOCKED zaps VM_LOCKED VMAs too; hugetlb VMAs refuse
    # a flag change inside a huge page and take DONTNEED_LOCKED from a huge-page boundary
    for g in ("mini", "x86"):
        hp = [hmmap(0, 32, 32, RW, M_SHARED | M_FIXED), write(0, 33, 0xc5),
              madvise(0, 36, 4, DONTDUMP), madvise(0, 32, 16, DONTDUMP), madvise(0, 32, 32, DODUMP),
              madvise(0, 40, 8, RANDOM), madvise(0, 48, 16, SEQUENTIAL),
              madvise(0, 33, 20, DONTNEED_LOCKED), madvise(0, 32, 20, DONTNEED_LOCKED),
              read(0, 33), verify(0, 32, 32)] if g == "mini" else []
        s["madv-pattern-" + g] = scenario(g, mmap(0, 0, 16, RW, M_FIXED),
                                          mmap(0, 16, 8, RW, M_FILE | M_SHARED | M_FIXED, 0),
                                          *[write(0, p, 0xc0 + p) for p in range(0, 24, 2)],
                                          madvise(0, 2, 6, RANDOM), madvise(0, 16, 4, SEQUENTIAL),
                                          mlock(0, 4, 2), madvise(0, 10, 4, DONTDUMP),
                                          reclaim(255), read(0, 4), read(0, 2), read(0, 17),
                                          madvise(0, 4, 2, DONTNEED), madvise(0, 3, 3, DONTNEED_LOCKED),
                                          read(0, 4), write(0, 5, 0xd0), reclaim(255),
                                          madvise(0, 0, 24, NORMAL), madvise(0, 8, 8, DODUMP),
                                          fork(0), madvise(1, 4, 4, DONTNEED), read(1, 4),
                                          madvise(1, 3, 4, DONTNEED_LOCKED), read(1, 4),
                                          write(1, 5, 0xd1), madvise(0, 14, 12, RANDOM),
                                          reclaim(255), verify(1, 0, 24), *hp, verify(0, 0, 24))
    # memory failure: an anonymous page (COW-shared with a fork child) becomes hwpoison
    # entries in both, which fork copies, mremap moves, DONTNEED / FREE / munmap drop; a
    # swapped-in (swap-cache) page goes back to swap entries, its data kept; a dirty file
    # page is lost (hwpoison entries, the store's bytes, fsync -EIO once), a clean one just
    # dropped; a shmem page stays poisoned in the cache until MADV_REMOVE; a THP is split
    for g in ("mini", "toy", "x86"):
        s["hwpoison-anon-" + g] = scenario(g, mmap(0, 0, 16, RW, M_FIXED),
                                           *[write(0, p, 0xe0 + p) for p in range(8)],
                                           fork(0), hwpoison(0, 2), read(1, 2), read(0, 3),
                                           hwpoison(1, 2), mfail(1, 3, 3), read(0, 3),
                                           madvise(0, 5, 1, POP_READ), pin(1, 1, 3),
                                           fork(1), mremap(0, 2, 2, 2, 3, 20), read(0, 20),
                                           madvise(2, 2, 1, DONTNEED), read(2, 2),
                                           madvise(1, 3, 1, FREE), read(1, 3), mlock(0, 4, 4),
                                           hwpoison(0, 6), mlock(0, 4, 4), unpin(0), unpoison(0),
                                           unpoison(1), munmap(0, 20, 1), hwpoison(0, 12),
                                           reclaim(255), verify(0, 0, 24), verify(1, 0, 16),
                                           verify(2, 0, 16))
        s["hwpoison-swap-" + g] = scenario(g, mmap(0, 0, 8, RW, M_FIXED),
                                           *[write(0, p, 0xd0 + p) for p in range(8)],
                                           fork(0), reclaim(255), reclaim(255), read(0, 1),
                                           read(0, 2), mfail(0, 1, 0), read(0, 1), read(1, 1),
                                           hwpoison(1, 2), read(1, 2), read(0, 2),
                                           write(0, 3, 0x33), read(0, 3), hwpoison(0, 3),
                                           hwpoison(0, 4), read(1, 4), verify(0, 0, 8),
                                           verify(1, 0, 8))
        # a swap-cache folio written since its swap-in (dirty) and shared with a child's
        # swap entry: both keep swap entries of the slot, and both SIGBUS (MF_DELAYED),
        # also the grandchild's copy of the entry; DONTNEED / MADV_FREE drop them
        s["hwpoison-swapdirty-" + g] = scenario(g, mmap(0, 0, 8, RW, M_FIXED),
                                                *[write(0, p, 0xc0 + p) for p in range(8)],
                                                reclaim(255), read(0, 3), write(0, 3, 0x33),
                                                read(0, 5), write(0, 5, 0x35), fork(0),
                                                mfail(0, 3, 0), read(0, 3), read(1, 3),
                                                hwpoison(1, 5), fork(1), read(2, 5),
                                                mremap(1, 3, 3, 3, 3, 16), read(1, 16),
                                                madvise(0, 3, 1, DONTNEED), read(0, 3),
                                                madvise(2, 5, 1, FREE), read(2, 5),
                                                verify(0, 0, 8), verify(1, 0, 24),
                                                verify(2, 0, 8))
    for g in ("mini", "toy"):
        s["hwpoison-file-" + g] = scenario(g, mmap(0, 0, 16, RW, M_FILE | M_SHARED | M_FIXED, 0),
                                           mmap(0, 16, 16, RW, M_FILE | M_FIXED, 0),
                                           write(0, 1, 0x51), read(0, 17), fork(0),
                                           hwpoison(0, 1), read(1, 17), read(1, 1), fread(0, 1, 0),
                                           fsync(0), fsync(0), write(0, 2, 0x52), read(0, 18),
                                           fsync(0), mfail(0, 2), fsync(0), read(0, 18), read(1, 2),
                                           write(0, 4, 0x54), mfail(0, 20), msync(0, 0, 8),
                                           read(0, 20), hwpoison(0, 5), punch(0, 5, 1),
                                           read(0, 5), ftruncate(0, 3), read(1, 1), read(0, 17),
                                           mmap(0, 40, 4, R, M_FILE | M_FILE1 | M_FIXED),
                                           hwpoison(0, 41), fsync(1), ftruncate(1, 8),
                                           punch(1, 0, 2), verify(0, 0, 32),
                                           verify(1, 0, 32), verify(0, 40, 4))
        s["hwpoison-shmem-" + g] = scenario(g, mmap(0, 0, 8, RW, M_SHARED | M_FIXED),
                                            write(0, 1, 0x61), write(0, 2, 0x62), fork(0),
                                            hwpoison(1, 1), read(0, 1), read(1, 1),
                                            madvise(0, 1, 1, DONTNEED), read(0, 1),
                                            madvise(0, 0, 4, POP_READ), mfail(0, 2, 2),
                                            unpoison(0), madvise(0, 1, 1, REMOVE), read(0, 1),
                                            read(1, 1), madvise(1, 0, 4, DONTNEED), read(1, 1),
                                            unpoison(0), unpoison(1), verify(0, 0, 8),
                                            verify(1, 0, 8))
    # soft offline: an anonymous page COW-shared with a fork child moves to a new frame in
    # both (contents, presence kept), a swapped-in one too, a locked one stays present; a
    # pinned page stays (-EBUSY); the zero page is refused (-EIO); a shared file page and a
    # shmem page move with their cache slot; a THP is split, only the page moves
    for g in ("mini", "toy", "x86"):
        s["softoff-" + g] = scenario(g, mmap(0, 0, 16, RW, M_FIXED),
                                     *[write(0, p, 0xa0 + p) for p in range(6)],
                                     fork(0), softoff(0, 1), read(1, 1), write(1, 1, 0x11),
                                     read(0, 1), softoff(0, 1), read(0, 8), softoff(0, 8),
                                     pin(0, 2, 1), softoff(0, 2), unpin(0), softoff(0, 2),
                                     mlock(0, 3, 2), softoff(0, 3), reclaim(255), read(0, 5),
                                     softoff(0, 5), read(1, 5), verify(0, 0, 16),
                                     verify(1, 0, 16))
    for g in ("mini", "toy"):
        s["softoff-file-" + g] = scenario(g, mmap(0, 0, 8, RW, M_FILE | M_SHARED | M_FIXED, 0),
                                          mmap(0, 8, 8, RW, M_SHARED | M_FIXED),
                                          write(0, 1, 0x51), read(0, 2), write(0, 9, 0x59),
                                          fork(0), softoff(0, 1), softoff(1, 2), softoff(0, 9),
                                          read(1, 9), fsync(0), read(0, 1), verify(0, 0, 16),
                                          verify(1, 0, 16))
    s["softoff-thp-mini"] = scenario("mini", thp(2), mmap(0, 0, 32, RW, M_FIXED),
                                     write(0, 0, 0x71), write(0, 5, 0x72), fork(0),
                                     softoff(0, 5), read(1, 5), read(0, 4), softoff(1, 20),
                                     verify(0, 0, 32), verify(1, 0, 32))
    s["hwpoison-thp-mini"] = scenario("mini", thp(2), mmap(0, 0, 32, RW, M_FIXED),
                                      write(0, 0, 0x71), write(0, 5, 0x72), write(0, 17, 0x73),
                                      fork(0), hwpoison(0, 5), read(0, 4), read(1, 5),
                                      read(0, 6), pin(0, 16, 2), mfail(0, 17), unpin(0),
                                      mfail(0, 17), verify(0, 0, 32), verify(1, 0, 32))
    s["trunc-pin-x86"] = scenario("x86", mmap(0, 0, 32, RW, M_FILE | M_SHARED | M_FIXED, 0),
                                  write(0, 30, 0x61), pin(0, 28, 4), pin(0, 29, 1, write=True),
                                  ftruncate(0, 20, 3), read(0, 29), fwrite(0, 29, 0, 0x62),
                                  read(0, 29), ftruncate(0, 33), read(0, 30), unpin(0), unpin(1),
                                  verify(0, 0, 32))
    return s

# ---- fuzz_races ---------------------------------------------------------------
# Header: b0 = ncpu-1 (bit 0) | ndev-1 (bit 1) << 1 | premigrate (bit 2) | seed-1 << 4,
# bit 7 (seeds 9..16) = extended record variants;
# b1 = number of 4-byte records [task, op, page, arg] (+ 4 * 33 = THP mode); then the
# replay schedule.
# Tasks: cpu0, cpu1 (if 2 CPUs), then dev0, dev1. Opcodes per task kind:
C_READ, C_WRITE, C_MUNMAP, C_MMAP, C_MPROTECT, C_DONTNEED, C_FORK_WRITE, C_RECLAIM, \
    C_INJECT, C_EXIT = range(10)
D_FAULT_READ, D_FAULT_WRITE, D_SNAPSHOT, D_TO_DEV, D_TO_SYS, D_EXCLUSIVE, D_EVICT, \
    D_MIRROR_READ = range(8)
P_NONE, P_R, P_RW = 0, 1, 2
# Extended variants (ext=True), as `extra` bits (arg = (n-1) | extra << 2):
X_PERPAGE = 4   # fault/snapshot: per-page request flags (A_PERPAGE)
X_TOGGLE = 4    # mirror-read: unregister/register the mirror, close/reopen dmirror
X_DMIRROR = 8   # the device op goes to the task's dmirror file (A_DMIRROR)
X_FIRST = 16    # with X_PERPAGE: only the first page asks
X_REAP = 32     # CPU reclaim: OOM-reaper-like non-blockable invalidation
X_PAGEOUT = 4   # CPU dontneed: MADV_PAGEOUT instead (A_PAGEOUT)
# CPU mmap with X_MORE (A_MORE): the "more" ops, one of the eight below (sub-op << 2),
# plus flag bits F2 (MF_2) / F3 (MF_3); file-mprotect takes the protection (P_*) there
X_MORE = 32
MO_MREMAP, MO_FMREMAP, MO_FREAD, MO_FWRITE, MO_FMAP, MO_FMPROTECT, MO_FDONTNEED, MO_FSYNC = \
    (X_MORE | k << 2 for k in range(8))
F2, F3 = 1, 2   # mremap: DONTUNMAP / whole VMA; file-read/-write: pread/pwrite;
                # file-map: mmap (else munmap); file-dontneed: pageout; file-sync: msync
X_FILE = 32     # device op on the file region, once the file exists (A_FILE)
# The X ops: a CPU record with op byte OP_X (extended inputs); extra = mode | XO_* (the
# sub-op), page = page | K(k) for the resizes (| MS_NOASYNC for msync)
OP_X = 0xb7
XO_RESIZE, XO_FRESIZE, XO_MSYNC, XO_MLOCK, XO_CHILD = (k << 2 for k in range(5))
RZ_INPLACE, RZ_MAYMOVE, RZ_FIXED, RZ_REGROW = range(4)       # resize modes
MS_ASYNC_, MS_INVAL, MS_ASYNC_INVAL, MS_SYNC_INVAL = range(4)  # msync modes
MS_NOASYNC = 0x80                                             # page bit: without MS_ASYNC
ML_LOCK, ML_UNLOCK, ML_ONFAULT = range(3)                     # mlock modes
CH_READ, CH_WRITE, CH_DONTNEED, CH_MSYNC = range(4)           # the child's file ops

# The Y ops: a CPU record with op byte OP_Y (extended inputs); extra = mode | YO_* (the
# sub-op): mlock of the window, msync(MS_INVALIDATE) of locked file pages, the fork child
OP_Y = 0xa7
YO_MLOCK, YO_LMSYNC, YO_CHILD = (k << 2 for k in range(3))
WL_LOCK, WL_UNLOCK, WL_ONFAULT, WL_EVICT = range(4)             # window mlock modes
LM_INVAL, LM_ASYNC_INVAL, LM_ONFAULT_SYNC, LM_UNLOCK = range(4)  # locked-msync modes
CF_WRITE, CF_WRITE_READ, CF_READ, CF_SYNC = range(4)             # fork-child modes

# The Z ops: a record with op byte OP_Z (extended inputs). On a CPU task extra = mode |
# ZO_* (the sub-op): guard install / remove of the window (page | H_PAGE: of the hugetlb
# region), and the hugetlb region (one huge page at the window + 8 MiB, the model's pages
# 0..3 of it): mmap, munmap, access, MADV_DONTNEED, mprotect, fork + write. On a device
# task extra = D_* << 2: that device op on the hugetlb region (page | H_PERPAGE,
# | H_FIRST for the faults' per-page requests).
OP_Z = 0xd8
ZO_GINSTALL, ZO_GREMOVE, ZO_HMAP, ZO_HUNMAP, ZO_HACCESS, ZO_HDONTNEED, ZO_HMPROTECT, \
    ZO_HFORK = (k << 2 for k in range(8))
HM_RW, HM_R, HM_RW2, HM_POPULATE = range(4)      # huge-mmap modes
HA_READ, HA_WRITE = range(2)                     # huge-access modes
HD_WHOLE, HD_SPLIT = range(2)                    # huge-dontneed modes (split: inside it)
HP_SPLIT = 3                                     # huge-munmap / -mprotect mode (else P_*)
H_PAGE = 0x80                                    # guard ops: on the hugetlb region
H_PERPAGE, H_FIRST = 0x80, 0x40                  # device Z ops' page bits

# The T ops: a CPU record with op byte OP_T (extended inputs); extra = tail | TO_* (the
# sub-op): truncate the file to (page % 9) pages + TAIL bytes, grow it back to 8 pages,
# punch a hole at (page % 8) pages + TAIL, n pages + PL(k) long, MADV_REMOVE of the n
# file pages in mm0 / in the fork child. TAIL: T_0, T_1, T_HALF (page/2 + 1), T_LAST
# (page - 1).
OP_T = 0x96
TO_TRUNC, TO_GROW, TO_PUNCH, TO_REMOVE, TO_CREMOVE = (k << 2 for k in range(5))
T_0, T_1, T_HALF, T_LAST = range(4)

def PL(k):
    """the punch length's extra bytes (T_* tail k) in the page byte"""
    return k << 4

def ZD(dop):
    """extra of a device Z record: device op @dop on the hugetlb region"""
    return dop << 2

def K(k):
    """the new length of a resize, k pages (1..4), in the page byte"""
    return (k - 1) << 5

# THP mode: extra of D_TO_DEV / D_TO_SYS: bit 0 = the whole PMD, bits 1-2 = the offer
PMD, PMD_BASE, PMD_BASE8, PMD_BASE1 = 1, 1 | 1 << 1, 1 | 2 << 1, 1 | 3 << 1
B1_THP = 4 * 33

def races(ncpu=1, ndev=1, premigrate=False, seed=1, recs=(), sched=b"", ext=False, thp=False):
    """recs: (task, op, page, n=1, extra=0); arg = (n-1) | extra << 2.
    ext=True sets header bit 7 (the seed becomes seed + 8); thp=True: THP mode."""
    b0 = (ncpu - 1) | (ndev - 1) << 1 | (4 if premigrate else 0) | (seed - 1) << 4
    b0 |= 0x80 if ext else 0
    body = b""
    for r in recs:
        task, op, page = r[0], r[1], r[2]
        n = r[3] if len(r) > 3 else 1
        extra = r[4] if len(r) > 4 else 0
        body += bytes([task, op, page, ((n - 1) & 3) | (extra << 2) & 0xff])
    return bytes([b0, len(recs) + (B1_THP if thp else 0)]) + body + bytes(sched)

def alt(n, pattern=(0, 1)):
    """n schedule choices cycling through pattern (indices among runnable tasks)."""
    return bytes(pattern[i % len(pattern)] for i in range(n))

def races_seeds():
    s = {}
    # 1 CPU + 1 device: tasks 0 = cpu0, 1 = dev0
    s["fault-vs-munmap"] = races(recs=[(1, D_FAULT_READ, 0, 4), (0, C_MUNMAP, 1, 2),
                                       (1, D_MIRROR_READ, 0), (0, C_MMAP, 1, 2),
                                       (1, D_FAULT_WRITE, 1)], sched=alt(64))
    s["fault-vs-mprotect"] = races(recs=[(1, D_FAULT_WRITE, 2, 4), (0, C_MPROTECT, 2, 4, P_R),
                                         (1, D_SNAPSHOT, 0, 4), (0, C_WRITE, 3),
                                         (0, C_MPROTECT, 2, 4, P_RW), (1, D_FAULT_WRITE, 3)],
                                   sched=alt(64, (1, 0)))
    s["fault-vs-dontneed"] = races(recs=[(1, D_FAULT_READ, 4, 4), (0, C_DONTNEED, 5, 2),
                                         (0, C_READ, 5), (1, D_MIRROR_READ, 0)],
                                   sched=alt(40, (0, 0, 1)))
    s["fault-vs-fork"] = races(recs=[(1, D_FAULT_WRITE, 6, 2), (0, C_FORK_WRITE, 6),
                                     (1, D_FAULT_WRITE, 7), (0, C_WRITE, 7), (0, C_EXIT, 0, 1, 0)],
                               sched=alt(80))
    s["migrate-vs-cpu"] = races(recs=[(1, D_TO_DEV, 0, 4), (0, C_READ, 0), (0, C_WRITE, 1),
                                      (1, D_FAULT_READ, 0, 4), (0, C_READ, 2), (1, D_TO_SYS, 0, 4),
                                      (0, C_READ, 3)], sched=alt(80))
    s["premigrated-read"] = races(premigrate=True,
                                  recs=[(0, C_READ, 0), (1, D_SNAPSHOT, 0, 4), (0, C_WRITE, 1),
                                        (1, D_EVICT, 0), (0, C_READ, 2)], sched=alt(40))
    s["exclusive-vs-cpu"] = races(recs=[(1, D_EXCLUSIVE, 8), (0, C_READ, 8), (1, D_EXCLUSIVE, 9),
                                        (0, C_WRITE, 9), (1, D_MIRROR_READ, 0),
                                        (0, C_FORK_WRITE, 10), (1, D_EXCLUSIVE, 10)],
                                  sched=alt(60))
    s["reclaim-vs-fault"] = races(recs=[(1, D_FAULT_READ, 0, 4), (0, C_RECLAIM, 0, 1, 3),
                                        (1, D_MIRROR_READ, 0), (0, C_READ, 0),
                                        (1, D_FAULT_WRITE, 2)], sched=alt(60))
    s["exit-vs-device"] = races(recs=[(1, D_FAULT_READ, 0, 4), (0, C_EXIT, 0),
                                      (1, D_TO_DEV, 0, 4), (1, D_FAULT_WRITE, 4)], sched=alt(30))
    s["inject-migrate"] = races(recs=[(0, C_INJECT, 0, 1, 1), (1, D_TO_DEV, 0, 4),
                                      (0, C_INJECT, 0, 1, 0), (0, C_READ, 1), (1, D_TO_DEV, 4, 4),
                                      (0, C_WRITE, 5), (0, C_INJECT, 0, 3), (1, D_FAULT_WRITE, 8, 2),
                                      (0, C_MUNMAP, 8, 1)], sched=alt(60))
    # 2 CPUs + 2 devices: tasks 0 = cpu0, 1 = cpu1, 2 = dev0, 3 = dev1
    s["two-devices"] = races(ncpu=2, ndev=2,
                             recs=[(2, D_TO_DEV, 0, 4), (3, D_TO_DEV, 0, 4), (0, C_READ, 1),
                                   (1, C_WRITE, 2), (2, D_FAULT_READ, 0, 4), (3, D_FAULT_WRITE, 3),
                                   (0, C_DONTNEED, 0, 2), (1, C_READ, 3), (2, D_EVICT, 0),
                                   (3, D_TO_SYS, 0, 4)], sched=alt(120, (0, 1, 2, 3)))
    s["two-cpus-mapping"] = races(ncpu=2, recs=[(0, C_MUNMAP, 4, 4), (1, C_WRITE, 5),
                                                (0, C_MMAP, 4, 4), (1, C_READ, 5),
                                                (2, D_FAULT_WRITE, 4, 4), (1, C_MPROTECT, 4, 2, P_NONE),
                                                (2, D_SNAPSHOT, 4, 4), (0, C_READ, 4)],
                                  sched=alt(80, (0, 1, 2)))
    s["everything"] = races(ncpu=2, ndev=2, premigrate=True, seed=3,
                            recs=[(i % 4, (i * 7) % 10, (i * 5) % 16, 1 + i % 4, i % 3)
                                  for i in range(32)], sched=alt(200, (1, 0, 2, 3, 0)))
    s["empty-schedule"] = races(recs=[(1, D_FAULT_READ, 0, 4), (0, C_WRITE, 0),
                                      (1, D_FAULT_READ, 0, 4)])
    # extended inputs: per-page requests, mirror lifecycle, dmirror, reaper
    s["ext-perpage"] = races(ext=True, recs=[(1, D_FAULT_READ, 0, 4, X_PERPAGE),
                                            (0, C_DONTNEED, 1, 2), (1, D_FAULT_WRITE, 1, 3, X_PERPAGE),
                                            (0, C_RECLAIM, 0, 1, 3),
                                            (1, D_FAULT_READ, 2, 4, X_PERPAGE | X_FIRST),
                                            (1, D_SNAPSHOT, 0, 4, X_PERPAGE)], sched=alt(60))
    s["ext-toggle"] = races(ext=True, ndev=2,
                            recs=[(1, D_FAULT_READ, 0, 4), (2, D_FAULT_WRITE, 1, 2),
                                  (0, C_MUNMAP, 0, 2), (2, D_MIRROR_READ, 0, 1, X_TOGGLE),
                                  (1, D_MIRROR_READ, 0, 1, X_TOGGLE), (0, C_MMAP, 0, 2),
                                  (1, D_MIRROR_READ, 0, 1, X_TOGGLE), (1, D_FAULT_READ, 0, 2),
                                  (2, D_MIRROR_READ, 0, 1, X_TOGGLE)], sched=alt(80, (0, 1, 2)))
    s["ext-dmirror"] = races(ext=True, ndev=2,
                             recs=[(1, D_FAULT_READ, 0, 4, X_DMIRROR), (0, C_WRITE, 1),
                                   (1, D_FAULT_WRITE, 2, 2, X_DMIRROR), (2, D_FAULT_READ, 0, 4),
                                   (1, D_TO_DEV, 4, 4, X_DMIRROR), (0, C_READ, 5),
                                   (2, D_TO_DEV, 8, 2), (1, D_SNAPSHOT, 0, 4, X_DMIRROR),
                                   (1, D_TO_SYS, 4, 4, X_DMIRROR), (0, C_MPROTECT, 8, 2, P_R),
                                   (1, D_MIRROR_READ, 0, 1, X_DMIRROR),
                                   (2, D_FAULT_READ, 0, 2, X_DMIRROR), (1, D_EVICT, 0, 1, X_DMIRROR),
                                   (1, D_MIRROR_READ, 0, 1, X_DMIRROR | X_TOGGLE),
                                   (0, C_DONTNEED, 0, 4),
                                   (1, D_MIRROR_READ, 0, 1, X_DMIRROR | X_TOGGLE),
                                   (1, D_FAULT_READ, 0, 2, X_DMIRROR)], sched=alt(160, (0, 1, 2)))
    s["ext-reap"] = races(ext=True, ncpu=2,
                          recs=[(2, D_FAULT_READ, 0, 4), (0, C_RECLAIM, 0, 1, X_REAP),
                                (1, C_WRITE, 1), (2, D_FAULT_WRITE, 0, 2, X_DMIRROR),
                                (1, C_RECLAIM, 0, 1, X_REAP), (2, D_MIRROR_READ, 0),
                                (0, C_READ, 0)], sched=alt(60, (0, 1, 2)))
    # MADV_PAGEOUT (reclaim_pages() of a range) against mirrors, migration and fork
    s["ext-pageout"] = races(ext=True, ncpu=2, ndev=2,
                             recs=[(2, D_FAULT_READ, 0, 4), (0, C_DONTNEED, 0, 4, X_PAGEOUT),
                                   (3, D_TO_DEV, 2, 2), (1, C_WRITE, 1),
                                   (2, D_FAULT_WRITE, 0, 2), (0, C_DONTNEED, 0, 4, X_PAGEOUT),
                                   (1, C_FORK_WRITE, 3), (0, C_DONTNEED, 2, 4, X_PAGEOUT),
                                   (2, D_MIRROR_READ, 0), (1, C_READ, 0), (3, D_TO_SYS, 2, 2),
                                   (2, D_SNAPSHOT, 0, 4), (0, C_READ, 2)],
                             sched=alt(120, (0, 1, 2, 3)))
    # THP mode: the window is one PMD-mapped THP
    # 1 CPU + 2 devices (tasks 0 = cpu0, 1 = dev0, 2 = dev1): dev1's HMM faults and
    # cpu0's access meet dev0's PMD migration entries (both directions)
    s["thp-pmd-vs-hmm"] = races(ndev=2, thp=True,
                                recs=[(1, D_TO_DEV, 0, 1, PMD), (2, D_FAULT_READ, 0, 4),
                                      (0, C_READ, 2), (1, D_TO_SYS, 0, 1, PMD),
                                      (2, D_FAULT_WRITE, 1, 2), (0, C_WRITE, 3)],
                                sched=alt(60, (1, 2, 0)))
    # the whole PMD starts as a device THP: PMD fault-back, pte fault after a split
    s["thp-premigrated"] = races(ndev=2, premigrate=True, thp=True,
                                 recs=[(0, C_READ, 3), (1, D_SNAPSHOT, 0, 4),
                                       (1, D_TO_DEV, 0, 1, PMD), (2, D_FAULT_READ, 4, 2),
                                       (0, C_MPROTECT, 8, 1, P_R), (0, C_WRITE, 5),
                                       (1, D_EVICT, 0)], sched=alt(60, (0, 1, 2)))
    # compound sources split for small destinations, both directions
    s["thp-split-partial"] = races(thp=True,
                                   recs=[(1, D_TO_DEV, 0, 1, PMD_BASE8), (0, C_READ, 9),
                                         (1, D_TO_DEV, 0, 1, PMD), (1, D_FAULT_WRITE, 2, 2),
                                         (0, C_WRITE, 4), (1, D_TO_SYS, 0, 1, PMD_BASE1),
                                         (0, C_FORK_WRITE, 5), (1, D_TO_SYS, 0, 1, PMD)],
                                   sched=alt(60))
    s["thp-device-thp-split"] = races(premigrate=True, thp=True,
                                      recs=[(1, D_TO_SYS, 0, 1, PMD_BASE), (0, C_READ, 1),
                                            (1, D_TO_DEV, 0, 1, PMD), (0, C_DONTNEED, 2, 2),
                                            (1, D_TO_SYS, 0, 1, PMD), (0, C_READ, 2)],
                                      sched=alt(40))
    # MADV_PAGEOUT over part of a PMD-mapped THP (split, then paged out) and of a device THP
    s["thp-pageout"] = races(ext=True, ndev=2, thp=True,
                             recs=[(1, D_FAULT_READ, 0, 4), (0, C_DONTNEED, 2, 4, X_PAGEOUT),
                                   (2, D_TO_DEV, 0, 1, PMD), (0, C_READ, 3),
                                   (1, D_FAULT_WRITE, 1, 2), (0, C_DONTNEED, 0, 4, X_PAGEOUT),
                                   (2, D_TO_SYS, 0, 1, PMD), (0, C_DONTNEED, 4, 4, X_PAGEOUT),
                                   (1, D_SNAPSHOT, 0, 4), (0, C_READ, 5)],
                             sched=alt(80, (0, 1, 2)))
    # mremap out and back (extended inputs): the hole meets HMM faults, migration to
    # and from device memory, exclusive access, eviction, reclaim and fork
    s["ext-mremap"] = races(ext=True, ndev=2,
                            recs=[(1, D_FAULT_READ, 0, 4), (0, C_MMAP, 0, 4, MO_MREMAP),
                                  (2, D_TO_DEV, 2, 2), (1, D_FAULT_WRITE, 1),
                                  (0, C_READ, 2), (2, D_EXCLUSIVE, 5),
                                  (0, C_MMAP, 2, 4, MO_MREMAP | F2), (1, D_SNAPSHOT, 0, 4),
                                  (2, D_FAULT_WRITE, 3), (0, C_MMAP, 4, 2, MO_MREMAP),
                                  (1, D_EVICT, 0), (0, C_RECLAIM, 0, 1, 3),
                                  (0, C_MMAP, 0, 1, MO_MREMAP | F3), (2, D_TO_SYS, 2, 2),
                                  (0, C_FORK_WRITE, 3), (0, C_MMAP, 2, 2, MO_MREMAP | F2),
                                  (1, D_MIRROR_READ, 0), (0, C_READ, 5)],
                            sched=alt(160, (0, 1, 2)))
    # two CPUs: one maps, writes and unmaps in the other's hole
    s["ext-mremap-hole"] = races(ext=True, ncpu=2,
                                 recs=[(0, C_MMAP, 4, 4, MO_MREMAP), (1, C_MMAP, 5, 2),
                                       (1, C_WRITE, 5), (2, D_FAULT_WRITE, 4, 2),
                                       (0, C_MMAP, 4, 4, MO_MREMAP | F2), (1, C_WRITE, 6),
                                       (1, C_MUNMAP, 6, 1), (2, D_TO_DEV, 4, 4),
                                       (0, C_MPROTECT, 4, 2, P_R), (0, C_MMAP, 4, 4, MO_MREMAP),
                                       (1, C_MMAP, 0, 1, MO_MREMAP | F3), (2, D_FAULT_READ, 4, 4),
                                       (0, C_READ, 4), (1, C_INJECT, 0, 1, 2),
                                       (0, C_MMAP, 8, 4, MO_MREMAP), (1, C_READ, 9)],
                                 sched=alt(160, (0, 1, 2, 1)))
    # the shared file mapping: write-notify faults by the CPU and the devices, fsync and
    # msync against them, file pages declined by migration and exclusive access, reclaim,
    # pread / pwrite
    s["ext-file"] = races(ext=True, ndev=2,
                          recs=[(0, C_MMAP, 0, 1, MO_FWRITE), (1, D_FAULT_READ, 0, 4, X_FILE),
                                (2, D_FAULT_WRITE, 1, 2, X_FILE), (0, C_MMAP, 0, 1, MO_FSYNC),
                                (1, D_FAULT_WRITE, 0, 1, X_FILE), (0, C_MMAP, 1, 1, MO_FREAD),
                                (2, D_TO_DEV, 0, 4, X_FILE), (0, C_MMAP, 0, 4, MO_FSYNC | F2),
                                (1, D_EXCLUSIVE, 2, 1, X_FILE), (0, C_RECLAIM, 0, 1, 15),
                                (2, D_SNAPSHOT, 0, 4, X_FILE), (0, C_MMAP, 3, 1, MO_FWRITE | F2),
                                (1, D_MIRROR_READ, 0), (0, C_MMAP, 2, 1, MO_FREAD | F2),
                                (2, D_FAULT_WRITE, 3, 1, X_FILE), (0, C_MMAP, 0, 1, MO_FSYNC),
                                (1, D_FAULT_READ, 0, 4, X_FILE | X_DMIRROR),
                                (0, C_MMAP, 0, 4, MO_FDONTNEED | F2),
                                (2, D_FAULT_WRITE, 4, 2, X_FILE | X_DMIRROR),
                                (0, C_MMAP, 5, 1, MO_FREAD)],
                          sched=bytes(8) + alt(200, (0, 1, 2)))
    # the file mapping moved, unmapped, remapped and write-protected while devices mirror
    # it and the other CPU syncs and writes; then the process exits and pwrite / fsync go on
    s["ext-file-mremap"] = races(ext=True, ncpu=2,
                                 recs=[(0, C_MMAP, 2, 1, MO_FWRITE), (2, D_FAULT_WRITE, 2, 2, X_FILE),
                                       (0, C_MMAP, 0, 4, MO_FMREMAP), (1, C_MMAP, 2, 1, MO_FSYNC),
                                       (1, C_MMAP, 3, 1, MO_FWRITE | F2),
                                       (0, C_MMAP, 2, 2, MO_FMREMAP | F2),
                                       (2, D_SNAPSHOT, 0, 4, X_FILE), (1, C_MMAP, 2, 2, MO_FDONTNEED),
                                       (0, C_MMAP, 4, 2, MO_FMPROTECT | P_R),
                                       (2, D_FAULT_WRITE, 4, 1, X_FILE), (1, C_MMAP, 4, 2, MO_FMPROTECT | P_RW),
                                       (0, C_MMAP, 6, 2, MO_FMAP), (1, C_MMAP, 6, 1, MO_FWRITE),
                                       (0, C_MMAP, 6, 2, MO_FMAP | F2), (2, D_FAULT_READ, 6, 2, X_FILE),
                                       (1, C_MMAP, 0, 1, MO_FMREMAP | F3), (0, C_FORK_WRITE, 1),
                                       (2, D_FAULT_WRITE, 1, 1, X_FILE), (0, C_EXIT, 0),
                                       (1, C_MMAP, 7, 1, MO_FWRITE | F2), (1, C_MMAP, 0, 1, MO_FSYNC)],
                                 sched=bytes(8) + alt(200, (0, 1, 2)))
    # THP mode: the PMD-mapped THP moved whole (move_huge_pmd()) and in part (split), and
    # a device THP moved as a PMD entry
    s["thp-mremap"] = races(ext=True, ndev=2, thp=True,
                            recs=[(1, D_FAULT_READ, 0, 4), (0, C_MMAP, 0, 1, MO_MREMAP | F3),
                                  (2, D_FAULT_WRITE, 1), (0, C_READ, 2),
                                  (1, D_TO_DEV, 0, 1, PMD), (0, C_MMAP, 0, 1, MO_MREMAP | F3),
                                  (2, D_SNAPSHOT, 0, 4), (0, C_READ, 3),
                                  (1, D_TO_SYS, 0, 1, PMD), (0, C_MMAP, 2, 4, MO_MREMAP),
                                  (2, D_FAULT_WRITE, 3), (0, C_MMAP, 0, 1, MO_MREMAP | F3 | F2),
                                  (0, C_READ, 4)], sched=alt(120, (0, 1, 2)))
    # X ops: resizes of the window (in place, MAYMOVE, FIXED, shrink and grow back) under
    # HMM faults, migration, exclusive access and reclaim
    s["x-resize"] = races(ext=True, ndev=2,
                          recs=[(1, D_FAULT_READ, 4, 4), (0, OP_X, 4 | K(2), 4, XO_RESIZE | RZ_INPLACE),
                                (2, D_TO_DEV, 2, 4), (1, D_FAULT_WRITE, 5, 2),
                                (0, OP_X, 4 | K(4), 2, XO_RESIZE | RZ_INPLACE), (0, C_READ, 6),
                                (1, D_SNAPSHOT, 4, 4), (0, OP_X, 8 | K(2), 4, XO_RESIZE | RZ_REGROW),
                                (2, D_EXCLUSIVE, 9), (0, OP_X, 2 | K(4), 2, XO_RESIZE | RZ_MAYMOVE),
                                (1, D_FAULT_WRITE, 2, 4), (0, OP_X, 12 | K(4), 1, XO_RESIZE | RZ_FIXED),
                                (2, D_TO_SYS, 2, 4), (0, C_RECLAIM, 0, 1, 3),
                                (0, OP_X, 0 | K(1), 3, XO_RESIZE | RZ_FIXED), (1, D_MIRROR_READ, 0),
                                (0, C_MPROTECT, 10, 1, P_R), (0, OP_X, 8 | K(3), 4, XO_RESIZE | RZ_INPLACE),
                                (2, D_FAULT_READ, 8, 4), (0, C_READ, 9)],
                          sched=alt(200, (0, 1, 2)))
    # the same on the file region, the devices mirroring it, fsync and pwrite meanwhile
    s["x-file-resize"] = races(ext=True, ncpu=2, ndev=1,
                               recs=[(0, C_MMAP, 0, 1, MO_FWRITE), (2, D_FAULT_WRITE, 2, 4, X_FILE),
                                     (0, OP_X, 4 | K(2), 4, XO_FRESIZE | RZ_INPLACE),
                                     (1, C_MMAP, 5, 1, MO_FWRITE | F2), (2, D_FAULT_READ, 4, 4, X_FILE),
                                     (0, OP_X, 4 | K(4), 2, XO_FRESIZE | RZ_MAYMOVE),
                                     (1, C_MMAP, 0, 1, MO_FSYNC), (0, OP_X, 0 | K(2), 4, XO_FRESIZE | RZ_REGROW),
                                     (2, D_SNAPSHOT, 0, 4, X_FILE), (1, C_MMAP, 1, 1, MO_FWRITE),
                                     (0, OP_X, 2 | K(4), 2, XO_FRESIZE | RZ_FIXED), (2, D_FAULT_WRITE, 3, 1, X_FILE),
                                     (1, C_MMAP, 2, 2, MO_FMAP), (0, OP_X, 0 | K(4), 2, XO_FRESIZE | RZ_MAYMOVE),
                                     (1, C_MMAP, 0, 4, MO_FSYNC | F2), (0, C_MMAP, 3, 1, MO_FREAD)],
                               sched=alt(200, (0, 1, 2)))
    # msync(MS_ASYNC / MS_INVALIDATE) on dirty pages, mlock (then -EBUSY, and -EINVAL from
    # MADV_DONTNEED), munlock, MS_SYNC | MS_INVALIDATE
    s["x-msync"] = races(ext=True, ndev=1,
                         recs=[(0, C_MMAP, 0, 1, MO_FWRITE), (0, C_MMAP, 1, 1, MO_FWRITE),
                               (0, OP_X, 0, 4, XO_MSYNC | MS_ASYNC_), (1, D_FAULT_WRITE, 2, 2, X_FILE),
                               (0, OP_X, 0, 4, XO_MSYNC | MS_INVAL), (0, OP_X, 0 | MS_NOASYNC, 4, XO_MSYNC | MS_ASYNC_),
                               (0, OP_X, 2, 2, XO_MLOCK | ML_LOCK), (1, D_FAULT_READ, 0, 4, X_FILE),
                               (0, OP_X, 1, 2, XO_MSYNC | MS_ASYNC_INVAL), (0, C_MMAP, 2, 2, MO_FDONTNEED),
                               (0, C_MMAP, 3, 1, MO_FWRITE), (0, OP_X, 3, 1, XO_MSYNC | MS_SYNC_INVAL),
                               (0, OP_X, 2, 1, XO_MLOCK | ML_UNLOCK), (0, OP_X, 2, 2, XO_MSYNC | MS_INVAL),
                               (0, OP_X, 5, 2, XO_MLOCK | ML_ONFAULT), (1, D_FAULT_WRITE, 5, 2, X_FILE),
                               (0, C_MMAP, 4, 4, MO_FDONTNEED | F2), (0, OP_X, 4, 4, XO_MSYNC | MS_SYNC_INVAL),
                               (0, C_MMAP, 0, 1, MO_FSYNC)],
                         sched=alt(120, (0, 0, 1)))
    # the fork child's view of the file region: its reads see the parent's and the devices'
    # writes, its writes reach the store; it exits while the devices mirror the region
    s["x-child"] = races(ext=True, ncpu=2, ndev=1,
                         recs=[(0, C_MMAP, 0, 1, MO_FWRITE), (2, D_FAULT_WRITE, 1, 2, X_FILE),
                               (0, C_FORK_WRITE, 3), (0, OP_X, 0, 1, XO_CHILD | CH_READ),
                               (1, C_MMAP, 2, 1, MO_FWRITE), (0, OP_X, 1, 1, XO_CHILD | CH_WRITE),
                               (2, D_FAULT_READ, 0, 4, X_FILE), (1, C_MMAP, 1, 1, MO_FREAD),
                               (0, OP_X, 2, 1, XO_CHILD | CH_READ), (1, C_MMAP, 2, 1, MO_FWRITE),
                               (0, OP_X, 2, 1, XO_CHILD | CH_READ), (2, D_FAULT_WRITE, 4, 1, X_FILE),
                               (0, OP_X, 4, 1, XO_CHILD | CH_WRITE), (1, C_MMAP, 0, 4, MO_FSYNC | F2),
                               (0, OP_X, 0, 4, XO_CHILD | CH_DONTNEED), (1, C_MMAP, 4, 1, MO_FREAD | F2),
                               (0, OP_X, 5, 1, XO_CHILD | CH_WRITE), (0, OP_X, 4, 2, XO_CHILD | CH_MSYNC),
                               (2, D_FAULT_WRITE, 5, 2, X_FILE), (0, OP_X, 6, 1, XO_CHILD | CH_WRITE),
                               (0, C_EXIT, 0, 2), (2, D_MIRROR_READ, 0), (1, C_MMAP, 0, 1, MO_FSYNC),
                               (2, D_FAULT_WRITE, 6, 1, X_FILE), (1, C_MMAP, 6, 1, MO_FREAD | F2)],
                         sched=alt(200, (0, 1, 2)))
    # The Y ops. mlock of the window: populated when alone, reclaim and MADV_PAGEOUT keep
    # its pages (a device's migration and the fault back, a COW break after the fork
    # give it new folios, which must be mlocked too), munlock makes them evictable again
    # (munlock + pageout must swap them out), mlock2(ONFAULT) pages as they are faulted,
    # -ENOMEM over PROT_NONE. 2 CPUs + 1 device: tasks 0 = cpu0, 1 = cpu1, 2 = dev0
    s["y-mlock"] = races(ext=True, ncpu=2, ndev=1,
                         recs=[(0, OP_Y, 0, 4, YO_MLOCK | WL_LOCK), (0, C_RECLAIM, 0, 4, 3),
                               (2, D_FAULT_READ, 0, 4), (0, C_DONTNEED, 0, 4, X_PAGEOUT),
                               (2, D_TO_DEV, 2, 2), (0, C_READ, 2), (0, C_RECLAIM, 0, 4, 3),
                               (0, OP_Y, 4, 4, YO_MLOCK | WL_ONFAULT), (0, C_WRITE, 5),
                               (1, C_WRITE, 6), (0, C_RECLAIM, 0, 4, 3),
                               (0, OP_Y, 0, 2, YO_MLOCK | WL_EVICT), (0, C_READ, 1),
                               (1, C_MPROTECT, 8, 2, P_NONE), (0, OP_Y, 8, 2, YO_MLOCK | WL_LOCK),
                               (1, C_FORK_WRITE, 12), (0, C_WRITE, 3), (0, C_RECLAIM, 0, 4, 3),
                               (2, D_FAULT_WRITE, 2, 2), (0, OP_Y, 12, 4, YO_MLOCK | WL_UNLOCK),
                               (0, OP_Y, 4, 4, YO_MLOCK | WL_EVICT), (0, C_READ, 4),
                               (0, OP_Y, 2, 2, YO_MLOCK | WL_EVICT), (0, C_RECLAIM, 0, 4, 3)],
                         sched=alt(160, (0, 0, 0, 1, 2)))
    # locked window pages moved by mremap (out and back, DONTUNMAP), resized, unmapped,
    # with a device mirroring them; premigrated pages faulted back by mlock's populate
    s["y-mlock-mremap"] = races(ext=True, ncpu=2, ndev=1, premigrate=True,
                                recs=[(0, OP_Y, 0, 4, YO_MLOCK | WL_LOCK), (2, D_FAULT_READ, 0, 4),
                                      (0, C_MMAP, 0, 2, MO_MREMAP), (0, C_RECLAIM, 0, 4, 3),
                                      (0, OP_Y, 4, 4, YO_MLOCK | WL_LOCK),
                                      (1, C_MMAP, 4, 2, MO_MREMAP | F2), (0, C_RECLAIM, 0, 4, 3),
                                      (0, OP_X, 8 | K(4), 2, XO_RESIZE | RZ_INPLACE),
                                      (0, OP_Y, 8, 4, YO_MLOCK | WL_LOCK),
                                      (0, OP_X, 8 | K(2), 4, XO_RESIZE | RZ_INPLACE),
                                      (0, C_DONTNEED, 8, 4, X_PAGEOUT), (1, C_MUNMAP, 9, 1),
                                      (0, C_RECLAIM, 0, 4, 3), (0, OP_Y, 0, 4, YO_MLOCK | WL_EVICT),
                                      (2, D_TO_DEV, 0, 4), (0, OP_Y, 0, 4, YO_MLOCK | WL_LOCK)],
                                sched=alt(160, (0, 0, 1, 2)))
    # THP mode: mlock of part of the PMD-mapped THP (the VMA split splits the PMD),
    # reclaim (the deferred split), munlock and pageout
    s["y-mlock-thp"] = races(ext=True, ndev=1, thp=True,
                             recs=[(0, OP_Y, 2, 4, YO_MLOCK | WL_LOCK), (1, D_FAULT_READ, 0, 4),
                                   (0, C_RECLAIM, 0, 4, 3), (0, C_MUNMAP, 8, 2),
                                   (0, C_RECLAIM, 0, 4, 3), (1, D_TO_DEV, 0, 4),
                                   (0, OP_Y, 0, 4, YO_MLOCK | WL_LOCK), (0, C_RECLAIM, 0, 4, 3),
                                   (0, OP_Y, 2, 2, YO_MLOCK | WL_EVICT),
                                   (0, C_DONTNEED, 0, 4, X_PAGEOUT)],
                             sched=alt(80, (0, 0, 1)))
    # msync(MS_INVALIDATE) of locked file pages: -EBUSY, then munlock and no -EBUSY; a
    # device writes them meanwhile; reclaim keeps them mapped
    s["y-locked-msync"] = races(ext=True, ncpu=2, ndev=1,
                                recs=[(0, OP_Y, 0, 2, YO_LMSYNC | LM_INVAL),
                                      (2, D_FAULT_WRITE, 0, 2, X_FILE),
                                      (0, OP_Y, 2, 2, YO_LMSYNC | LM_ASYNC_INVAL),
                                      (1, C_MMAP, 2, 1, MO_FWRITE), (0, C_RECLAIM, 0, 4, 3),
                                      (0, OP_Y, 4, 4, YO_LMSYNC | LM_ONFAULT_SYNC),
                                      (1, C_MMAP, 5, 1, MO_FWRITE),
                                      (0, OP_Y, 0, 4, YO_LMSYNC | LM_UNLOCK),
                                      (0, OP_X, 0, 4, XO_MSYNC | MS_INVAL),
                                      (2, D_FAULT_READ, 4, 4, X_FILE), (0, C_RECLAIM, 0, 4, 3),
                                      (0, OP_Y, 6, 2, YO_LMSYNC | LM_UNLOCK),
                                      (0, C_MMAP, 4, 4, MO_FDONTNEED | F2)],
                                sched=alt(160, (0, 0, 1, 2)))
    # the fork child's writes to the shared file region (the Y op forks if nobody did):
    # the parent, the devices and pread see them, and the parent's writes reach the
    # child; its msync(MS_SYNC) and pread; the child exits while a device mirrors them
    s["y-child"] = races(ext=True, ncpu=2, ndev=1,
                         recs=[(0, OP_Y, 0, 2, YO_CHILD | CF_WRITE), (2, D_FAULT_READ, 0, 4, X_FILE),
                               (0, OP_Y, 1, 1, YO_CHILD | CF_WRITE_READ),
                               (1, C_MMAP, 2, 1, MO_FWRITE), (0, OP_Y, 2, 1, YO_CHILD | CF_READ),
                               (2, D_FAULT_WRITE, 3, 1, X_FILE), (0, OP_Y, 3, 3, YO_CHILD | CF_SYNC),
                               (1, C_MMAP, 0, 4, MO_FSYNC | F2), (0, OP_Y, 4, 2, YO_CHILD | CF_WRITE),
                               (2, D_FAULT_READ, 4, 2, X_FILE), (1, C_MMAP, 4, 1, MO_FREAD | F2),
                               (0, OP_Y, 6, 2, YO_CHILD | CF_WRITE_READ), (0, C_RECLAIM, 0, 4, 3),
                               (0, C_EXIT, 0, 2), (2, D_MIRROR_READ, 0),
                               (0, OP_Y, 7, 1, YO_CHILD | CF_WRITE), (1, C_MMAP, 6, 1, MO_FSYNC)],
                         sched=alt(200, (0, 1, 2)))
    # Z ops: guard regions racing device faults (the faults over a marker -EFAULT, a
    # snapshot reports nothing, the migration skips it, exclusive access -EFAULT); the
    # markers move with mremap out and back, fork copies them, mlock stops there
    s["z-guard"] = races(ext=True, recs=[
        (1, D_FAULT_READ, 0, 4), (0, OP_Z, 1, 2, ZO_GINSTALL), (1, D_FAULT_READ, 0, 4),
        (1, D_SNAPSHOT, 0, 4), (0, C_READ, 1), (0, C_WRITE, 2), (1, D_TO_DEV, 0, 4),
        (1, D_EXCLUSIVE, 1), (0, C_MMAP, 0, 4, MO_MREMAP | F3), (1, D_FAULT_WRITE, 1, 2),
        (0, C_FORK_WRITE, 3), (0, OP_Y, 0, 4, YO_MLOCK | WL_LOCK),
        (0, OP_Y, 0, 4, YO_MLOCK | WL_UNLOCK), (0, OP_Z, 1, 1, ZO_GREMOVE),
        (1, D_FAULT_WRITE, 1, 2), (0, C_READ, 2), (0, OP_Z, 5, 4, ZO_GINSTALL),
        (1, D_FAULT_READ, 4, 4, X_PERPAGE), (0, C_MUNMAP, 5, 1), (0, C_MMAP, 5, 1),
        (1, D_FAULT_WRITE, 4, 4), (0, C_DONTNEED, 6, 2), (1, D_TO_SYS, 0, 4)],
        sched=alt(200, (0, 1, 1)))
    # the install zaps what the devices mirror (a CLEAR invalidation): no mirror of a
    # guarded page may stay (mirror coherence right after the install)
    s["z-guard-mirror"] = races(ext=True, ndev=2, recs=[
        (1, D_FAULT_READ, 0, 4), (2, D_FAULT_WRITE, 4, 4), (1, D_TO_DEV, 8, 4),
        (2, D_EXCLUSIVE, 6), (0, OP_Z, 0, 4, ZO_GREMOVE), (0, OP_Z, 2, 4, ZO_GINSTALL), (0, OP_Z, 6, 4, ZO_GINSTALL),
        (1, D_MIRROR_READ, 0), (2, D_MIRROR_READ, 0), (0, C_READ, 2), (0, C_WRITE, 9),
        (0, OP_Z, 2, 4, ZO_GREMOVE), (1, D_FAULT_WRITE, 2, 4), (0, C_READ, 3)],
        sched=bytes([1] * 40 + [2] * 40) + alt(100, (0, 1, 2)))
    # MREMAP_DONTUNMAP of guarded pages: the markers leave with the pages, the source
    # stays mapped without them while the other CPU runs, and they come back
    s["z-guard-dontunmap"] = races(ext=True, ncpu=2, recs=[
        (0, OP_Z, 0, 4, ZO_GINSTALL), (0, C_MMAP, 0, 4, MO_MREMAP | F2), (1, C_READ, 5),
        (1, C_READ, 1), (1, C_WRITE, 2), (2, D_FAULT_READ, 0, 4), (1, C_READ, 3),
        (0, OP_Z, 1, 2, ZO_GREMOVE), (0, C_MMAP, 0, 4, MO_MREMAP), (1, C_READ, 0),
        (2, D_SNAPSHOT, 0, 4), (1, C_READ, 2)],
        sched=bytes([0] * 12 + [1] * 40) + alt(100, (0, 1, 2)))
    s["z-guard-race"] = races(ext=True, ncpu=2, ndev=2, premigrate=True, recs=[
        (2, D_FAULT_WRITE, 0, 4), (0, OP_Z, 0, 4, ZO_GINSTALL), (1, C_WRITE, 1),
        (3, D_FAULT_READ, 0, 4), (2, D_EXCLUSIVE, 2), (1, C_WRITE, 3), (0, OP_Z, 0, 2, ZO_GREMOVE),
        (3, D_TO_DEV, 0, 4), (1, C_READ, 0), (0, OP_Z, 2, 4, ZO_GINSTALL), (2, D_FAULT_READ, 2, 4),
        (1, C_MPROTECT, 2, 2, P_R), (0, OP_Z, 2, 4, ZO_GREMOVE), (3, D_FAULT_WRITE, 3, 2),
        (1, C_RECLAIM, 0, 4, 3), (2, D_MIRROR_READ, 0), (0, OP_Z, 8, 4, ZO_GINSTALL),
        (1, C_MMAP, 8, 2, MO_MREMAP), (3, D_SNAPSHOT, 8, 4)],
        sched=alt(300, (0, 1, 2, 3, 1)))
    # the hugetlb region: devices mirror it (the huge page's order in every pfn), cannot
    # migrate it (-EINVAL) nor make it exclusive (-EOPNOTSUPP); COW after fork, DONTNEED,
    # mprotect, the -EINVAL of ranges inside the huge page, guard advice refused there
    s["z-huge"] = races(ext=True, recs=[
        (0, OP_Z, 0, 1, ZO_HMAP | HM_RW), (1, OP_Z, 0, 4, ZD(D_FAULT_WRITE)),
        (0, OP_Z, 1, 1, ZO_HACCESS | HA_READ), (1, OP_Z, 0, 4, ZD(D_SNAPSHOT)),
        (1, OP_Z, 0, 2, ZD(D_TO_DEV)), (1, OP_Z, 2, 1, ZD(D_EXCLUSIVE)),
        (0, OP_Z, 2, 1, ZO_HFORK), (1, OP_Z, 0, 4, ZD(D_FAULT_READ)),
        (0, OP_Z, 0, 1, ZO_HDONTNEED | HD_SPLIT), (1, OP_Z, 0, 1, ZD(D_MIRROR_READ)),
        (0, OP_Z, 0, 1, ZO_HDONTNEED | HD_WHOLE), (1, OP_Z, 1, 2, ZD(D_SNAPSHOT)),
        (0, OP_Z, 0, 1, ZO_HMPROTECT | P_R), (1, OP_Z, 0, 2, ZD(D_FAULT_WRITE)),
        (0, OP_Z, 0, 1, ZO_HMPROTECT | HP_SPLIT), (0, OP_Z, 0, 1, ZO_HUNMAP | HP_SPLIT),
        (0, OP_Z, H_PAGE, 2, ZO_GINSTALL), (0, OP_Z, 3, 1, ZO_HACCESS | HA_WRITE),
        (0, OP_Z, 0, 1, ZO_HUNMAP), (1, OP_Z, 0 | H_PERPAGE, 4, ZD(D_FAULT_READ)),
        (0, OP_Z, 0, 1, ZO_HMAP | HM_POPULATE), (1, OP_Z, 1, 3, ZD(D_FAULT_WRITE))],
        sched=alt(200, (0, 1)))
    s["z-huge-race"] = races(ext=True, ncpu=2, ndev=2, recs=[
        (0, OP_Z, 0, 1, ZO_HMAP | HM_RW), (2, OP_Z, 0, 4, ZD(D_FAULT_READ)),
        (1, OP_Z, 1, 1, ZO_HACCESS | HA_WRITE), (3, OP_Z, 1, 3, ZD(D_FAULT_WRITE)),
        (0, OP_Z, 0, 1, ZO_HMAP | HM_R), (2, OP_Z, 0 | H_PERPAGE | H_FIRST, 4, ZD(D_FAULT_WRITE)),
        (1, OP_Z, 2, 1, ZO_HFORK), (3, OP_Z, 0, 4, ZD(D_SNAPSHOT)), (0, C_RECLAIM, 0, 4, 3),
        (2, OP_Z, 0, 1, ZD(D_EXCLUSIVE)), (1, OP_Z, 0, 1, ZO_HMPROTECT | P_RW),
        (3, OP_Z, 0, 4, ZD(D_FAULT_WRITE)), (0, OP_Z, 0, 1, ZO_HDONTNEED),
        (2, OP_Z, 0, 1, ZD(D_MIRROR_READ)), (1, OP_Z, 0, 1, ZO_HMAP | HM_POPULATE),
        (3, D_MIRROR_READ, 0, 1, X_TOGGLE), (2, OP_Z, 2, 2, ZD(D_FAULT_READ)),
        (3, D_MIRROR_READ, 0, 1, X_TOGGLE), (3, OP_Z, 0, 4, ZD(D_FAULT_READ)),
        (1, C_INJECT, 0, 1, 1), (0, OP_Z, 3, 1, ZO_HACCESS | HA_WRITE)],
        sched=alt(300, (0, 2, 1, 3)))
    s["z-huge-thp"] = races(ext=True, ndev=2, thp=True, recs=[
        (0, OP_Z, 0, 1, ZO_HMAP | HM_RW), (1, OP_Z, 0, 4, ZD(D_FAULT_WRITE)),
        (2, D_TO_DEV, 0, 1, PMD), (0, OP_Z, 2, 4, ZO_GINSTALL), (1, D_FAULT_READ, 0, 4),
        (2, OP_Z, 1, 2, ZD(D_FAULT_READ)), (0, OP_Z, 1, 1, ZO_HFORK), (1, D_TO_SYS, 0, 1, PMD),
        (0, OP_Z, 2, 2, ZO_GREMOVE), (2, OP_Z, 0, 4, ZD(D_SNAPSHOT)), (0, C_WRITE, 3),
        (0, OP_Z, 0, 1, ZO_HUNMAP)],
        sched=alt(200, (0, 1, 2)))
    # T ops: truncation of the file region racing device faults (a mirror of a
    # truncated page must be gone when the truncation returns; faults past EOF
    # -EFAULT, snapshots report nothing), CPU accesses (SIGBUS past EOF), the grow
    # back (zeros), a mid-page EOF (the page stays mapped and mirrored). cpu0 creates
    # the file alone first (the schedule's leading zeros): the others' file ops would
    # skip while it is being set up.
    lead = bytes([0] * 24)
    s["t-fault-vs-truncate"] = races(ext=True, recs=[
        (0, C_MMAP, 0, 1, MO_FREAD), (1, D_FAULT_READ, 0, 4),
        (1, D_FAULT_READ, 0, 4, X_FILE), (0, OP_T, 2, 1, TO_TRUNC | T_0),
        (1, D_FAULT_READ, 4, 4, X_FILE), (1, D_SNAPSHOT, 0, 4, X_FILE), (0, C_MMAP, 5, 1, MO_FREAD),
        (1, D_FAULT_WRITE, 1, 2, X_FILE), (0, OP_T, 0, 1, TO_GROW), (1, D_FAULT_READ, 2, 4, X_FILE),
        (0, C_MMAP, 6, 1, MO_FWRITE), (1, D_FAULT_WRITE, 6, 2, X_FILE),
        (0, OP_T, 3, 1, TO_TRUNC | T_1), (1, D_FAULT_READ, 2, 3, X_FILE | X_PERPAGE),
        (0, C_MMAP, 3, 1, MO_FREAD), (1, D_MIRROR_READ, 0), (0, OP_T, 6, 1, TO_TRUNC | T_HALF),
        (1, D_FAULT_WRITE, 4, 4, X_FILE), (0, C_MMAP, 7, 1, MO_FWRITE | F2),
        (1, D_FAULT_READ, 4, 4, X_FILE)],
        sched=lead + alt(200, (0, 1, 1)))
    # hole punches and MADV_REMOVE against device writes through their mirrors, CPU
    # writes through the mapping, pwrite and reclaim of the file's pages, two of each
    s["t-punch-race"] = races(ext=True, ncpu=2, ndev=2, recs=[
        (0, C_MMAP, 0, 1, MO_FREAD), (1, C_READ, 0), (2, D_FAULT_READ, 0, 4), (3, D_FAULT_READ, 4, 4),
        (2, D_FAULT_WRITE, 0, 4, X_FILE), (0, OP_T, 1, 2, TO_PUNCH | T_0),
        (3, D_FAULT_READ, 0, 4, X_FILE), (1, C_MMAP, 2, 1, MO_FWRITE), (0, OP_T, 0, 4, TO_REMOVE),
        (2, D_FAULT_WRITE, 2, 2, X_FILE), (1, C_RECLAIM, 0, 4, 3), (3, D_SNAPSHOT, 0, 4, X_FILE),
        (0, OP_T, 2 | PL(T_HALF), 1, TO_PUNCH | T_1), (1, C_MMAP, 3, 1, MO_FWRITE | F2),
        (2, D_MIRROR_READ, 0), (0, OP_T, 4, 4, TO_REMOVE), (3, D_FAULT_WRITE, 4, 4, X_FILE),
        (1, C_MMAP, 4, 2, MO_FDONTNEED | F2), (0, OP_T, 5, 2, TO_PUNCH | T_LAST),
        (2, D_FAULT_READ, 4, 4, X_FILE), (1, C_MMAP, 5, 1, MO_FREAD), (3, D_MIRROR_READ, 0)],
        sched=lead + alt(300, (0, 2, 1, 3)))
    # a migration of the window to the device and back, and one of the file region (its
    # pages are collected but never migrate), in the schedule of a truncation of the
    # file region and its grow back
    s["t-migrate-truncate"] = races(ext=True, ncpu=2, recs=[
        (0, C_MMAP, 0, 1, MO_FREAD), (1, C_READ, 0), (2, D_TO_DEV, 0, 4),
        (0, OP_T, 1, 1, TO_TRUNC | T_0), (2, D_TO_DEV, 0, 4, X_FILE),
        (1, C_READ, 1), (2, D_FAULT_READ, 0, 4, X_FILE), (0, OP_T, 0, 1, TO_GROW),
        (1, C_MMAP, 2, 1, MO_FWRITE), (2, D_TO_SYS, 0, 4), (0, OP_T, 2, 1, TO_TRUNC | T_LAST),
        (2, D_TO_DEV, 2, 4, X_FILE), (1, C_WRITE, 0), (2, D_TO_DEV, 4, 4),
        (0, OP_T, 0, 1, TO_GROW), (1, C_MMAP, 4, 1, MO_FREAD), (2, D_FAULT_WRITE, 3, 2, X_FILE)],
        sched=lead + alt(250, (0, 2, 2, 1)))
    # reclaim and MADV_PAGEOUT of file pages while holes are punched in them and the
    # file shrinks and grows; fsync and pread in between
    s["t-reclaim-punch"] = races(ext=True, ncpu=2, recs=[
        (0, C_MMAP, 0, 4, MO_FWRITE), (1, C_READ, 0), (2, D_FAULT_READ, 0, 4),
        (1, C_RECLAIM, 0, 4, 15), (0, OP_T, 0, 4, TO_PUNCH | T_0),
        (1, C_MMAP, 0, 4, MO_FDONTNEED | F2), (2, D_FAULT_READ, 0, 4, X_FILE),
        (0, C_MMAP, 0, 1, MO_FSYNC), (1, C_RECLAIM, 0, 4, 15), (0, OP_T, 4, 1, TO_TRUNC | T_HALF),
        (1, C_MMAP, 4, 1, MO_FREAD | F2), (2, D_SNAPSHOT, 4, 4, X_FILE), (0, OP_T, 0, 1, TO_GROW),
        (1, C_MMAP, 6, 1, MO_FWRITE | F2), (0, OP_T, 1 | PL(T_1), 4, TO_PUNCH | T_HALF),
        (1, C_RECLAIM, 0, 4, 15), (2, D_FAULT_WRITE, 1, 2, X_FILE)],
        sched=lead + alt(250, (0, 1, 2)))
    # the fork child maps the file too: its MADV_REMOVE and the parent's truncation
    # unmap its pages, its accesses past EOF are SIGBUS; file-mremap out and back over
    # a truncation (the peek at the scratch address finds EOF); mlock stops at EOF
    s["t-child-mremap"] = races(ext=True, ncpu=2, recs=[
        (0, OP_Y, 0, 4, YO_CHILD | CF_WRITE), (1, C_READ, 0), (2, D_FAULT_READ, 0, 4),
        (1, OP_T, 2, 2, TO_CREMOVE),
        (2, D_FAULT_READ, 0, 4, X_FILE), (0, OP_X, 2, 1, XO_CHILD | CH_READ),
        (1, OP_T, 3, 1, TO_TRUNC | T_0), (0, C_MMAP, 2, 4, MO_FMREMAP),
        (2, D_FAULT_WRITE, 0, 4, X_FILE), (0, OP_X, 5, 1, XO_CHILD | CH_WRITE),
        (1, OP_X, 0, 4, XO_MLOCK | ML_LOCK), (1, OP_T, 0, 1, TO_GROW),
        (0, OP_X, 0, 4, XO_MLOCK | ML_UNLOCK), (0, OP_T, 1, 3, TO_REMOVE),
        (2, D_FAULT_READ, 0, 4, X_FILE | X_DMIRROR), (1, OP_T, 6, 1, TO_TRUNC | T_1),
        (0, OP_Y, 6, 2, YO_CHILD | CF_SYNC), (2, D_FAULT_WRITE, 5, 2, X_FILE | X_DMIRROR)],
        sched=lead + alt(300, (0, 1, 2)))
    return s

def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    for name, seeds in (("fuzz_entries", entries_seeds()), ("fuzz_mm_ops", mm_seeds()),
                        ("fuzz_races", races_seeds())):
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        for k, v in sorted(seeds.items()):
            with open(os.path.join(d, "seed-" + k), "wb") as f:
                f.write(v)
        print("%s: %d seeds" % (d, len(seeds)))

if __name__ == "__main__":
    main()
