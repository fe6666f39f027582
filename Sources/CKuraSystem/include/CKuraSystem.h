#ifndef CKURASYSTEM_H
#define CKURASYSTEM_H

/// syncfs(2): flushes the filesystem holding `fd` (Glibc's Swift module does not export it).
int kura_syncfs(int fd);

/// sync_file_range(2) with SYNC_FILE_RANGE_WRITE: starts writeback of `length` bytes of `fd` from
/// `offset` (0: to the end) without waiting for it.
int kura_start_writeback(int fd, long long offset, long long length);

/// Fixes glibc's mmap threshold at 128 KiB, so that large buffers always come from mmap and go
/// back to the system when freed (the default threshold grows as big buffers are freed, after
/// which the heap keeps them).
void kura_tune_malloc(void);

#endif
