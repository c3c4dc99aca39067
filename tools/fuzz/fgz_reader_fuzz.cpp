// libFuzzer target: arbitrary bytes through the .fgz container reader (header, graph
// structure, per-layer records, Huffman tables and streams). Any exception other than
// frugal's UserError (damaged or foreign file) is a bug, and so is any crash or sanitizer
// report. Tensors are capped at 2^22 elements so that a claimed shape cannot exhaust memory.
// The bytes also go straight to the tensor-stream decoder (dtype and length from the first
// two bytes), which the container's CRC32s would otherwise keep most mutations away from.
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
  try {
    if (size > 2)
      (void)compress::decode_tensor(data + 2, size - 2, static_cast<DType>(1 + data[0] % 13),
                                    {16 * static_cast<int64_t>(data[1])}, "fuzz stream");
  } catch (const UserError&) {
  }
  return 0;
}
