#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>
#include "CKuraSystem.h"

int kura_syncfs(int fd) {
    return syncfs(fd);
}

int kura_start_writeback(int fd, long long offset, long long length) {
    return sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE);
}
