#ifndef CKURASYSTEM_H
#define CKURASYSTEM_H

/// syncfs(2): flushes the filesystem holding `fd` (Glibc's Swift module does not export it).
int kura_syncfs(int fd);

#endif
