// libFuzzer target: arbitrary bytes through the .fgz container reader (header, graph
// structure, per-layer records, Huffman tables and streams). Any exception other than
// frugal's UserError (damaged or foreign file) is a bug, and so is any crash or sanitizer
// report. Tensors are capped at 2^22 elements so that a claimed shape cannot exhaust memory.
#include <cstddef>
#include <cstdint>

#include "frugal/compress/container.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace frugal;
  try {
    (void)compress::decode_fgz(data, size, "fuzz.fgz", int64_t{1} << 22);
  } catch (const UserError&) {
    // Refused with a reason: the expected outcome for malformed input.
  }
  return 0;
}
