#include <malloc.h>
#include "CKuraSystem.h"

void kura_tune_malloc(void) {
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}
