// An LD_PRELOAD library that counts the process's calls to malloc (operator new lands
// there too) and prints the count to stderr at exit: bench/runtime/allocations_per_run.sh
// takes the difference between two run counts to get the allocations of one run.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static atomic_long calls;
static void* (*next_malloc)(size_t);

void* malloc(size_t bytes) {
  if (!next_malloc) next_malloc = (void* (*)(size_t))dlsym(RTLD_NEXT, "malloc");
  atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
  return next_malloc(bytes);
}

__attribute__((destructor)) static void report(void) {
  fprintf(stderr, "mallocs %ld\n", (long)atomic_load(&calls));
}
