// Thread count of the cpu backend's kernels. oneDNN is built on OpenMP here, so this sets
// OpenMP's thread count for the calling thread (the one that runs sessions); results are
// deterministic for a given count. Registered as the cpu backend's kernels::ThreadControl
// (kernels/threads.h): code outside kernels/cpu calls kernels::set_threads.
#pragma once

namespace frugal::kernels::cpu {

// Threads used by kernels run from the calling thread from now on; n >= 1.
// Throws UserError for n < 1.
void set_num_threads(int n);
// Threads kernels run from the calling thread will use.
int num_threads();

}  // namespace frugal::kernels::cpu
