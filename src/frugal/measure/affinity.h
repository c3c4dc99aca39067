// Pinning the process to CPUs (--pin): a CPU list as taskset and /sys print them
// ("0-3,6"), and sched_setaffinity on the calling thread before the Session creates its
// workers, which inherit it.
#pragma once

#include <string>
#include <vector>

namespace frugal::measure {

// "0-3,6" -> {0,1,2,3,6} (sorted, unique). Throws UserError naming `option` on bad text.
std::vector<int> parse_cpu_list(const std::string& text, const std::string& option = "--pin");
std::string cpu_list_str(const std::vector<int>& cpus);  // {0,1,2,3,6} -> "0-3,6"
// Pins the calling thread (and threads it creates later). UserError naming the CPUs when
// the kernel refuses (a CPU not online or not allowed to this process).
void pin_to_cpus(const std::vector<int>& cpus);
// CPUs the calling thread may run on.
std::vector<int> current_affinity();

}  // namespace frugal::measure
