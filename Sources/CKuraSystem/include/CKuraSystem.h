#ifndef CKURASYSTEM_H
#define CKURASYSTEM_H

/// syncfs(2): flushes the filesystem holding `fd` (Glibc's Swift module does not export it).
int kura_syncfs(int fd);

/// Fixes glibc's mmap threshold at 128 KiB, so that large buffers always come from mmap and go
/// back to the system when freed (the default threshold grows as big buffers are freed, after
/// which the heap keeps them).
void kura_tune_malloc(void);

#endif
