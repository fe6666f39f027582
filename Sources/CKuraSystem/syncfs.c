#define _GNU_SOURCE
#include <unistd.h>
#include "CKuraSystem.h"

int kura_syncfs(int fd) {
    return syncfs(fd);
}
