// libFuzzer target for every other parser a user feeds frugal (issue 24): the first byte
// picks the parser, the rest is the input. NPY and NPZ arrays, IDX data sets, the sweep's
// YAML spec, the devices YAML, the power sensor's serial stream, the activation-ranges JSON
// and the precision-map JSON (their parsers build apart from the runtime for this). Any
// exception other than
// frugal's UserError, any crash or sanitizer report, is a bug. Parsers that read a path get the
// bytes through a per-process temporary file.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "frugal/compress/precision_map.h"
#include "frugal/core/error.h"
#include "frugal/core/npy.h"
#include "frugal/explore/spec.h"
#include "frugal/measure/serial_protocol.h"
#include "frugal/pipeline/devices.h"
#include "frugal/runtime/calibrate.h"
#include "frugal/train/data/idx.h"

namespace {

std::string temp_with(std::span<const uint8_t> bytes, const char* suffix) {
  const std::string path = "/tmp/frugal-parsers-fuzz-" + std::to_string(::getpid()) + suffix;
  if (FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
  }
  return path;
}

void parse(uint8_t which, std::span<const uint8_t> in) {
  using namespace frugal;
  const std::string text(reinterpret_cast<const char*>(in.data()), in.size());
  switch (which % 8) {
    case 0:
      (void)parse_npy(in, "fuzz.npy");
      break;
    case 1: {
      const std::string p = temp_with(in, ".npz");
      (void)read_npz(p);
      break;
    }
    case 2: {
      const std::string p = temp_with(in, ".idx");
      (void)train::read_idx(p);
      break;
    }
    case 3:
      (void)explore::parse_sweep_spec(text, "fuzz.yaml", "/nonexistent");
      break;
    case 4:
      (void)pipeline::parse_devices(text, "fuzz-devices.yaml");
      break;
    case 5: {
      measure::SensorStreamParser parser;
      std::vector<measure::SensorSample> samples;
      std::vector<measure::SensorMarker> markers;
      // Fed in two pieces, as a serial port delivers a stream.
      const size_t half = in.size() / 2;
      parser.feed(in.subspan(0, half), samples, markers);
      parser.feed(in.subspan(half), samples, markers);
      measure::EnergyIntegrator energy;
      for (const auto& s : samples) energy.add(s);
      (void)energy.joules();
      break;
    }
    case 6:
      (void)runtime::ranges_from_json(text, "fuzz.ranges.json");
      break;
    case 7:
      (void)compress::precision_map_from_json(text, "--precision-map fuzz.json");
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  try {
    parse(data[0], std::span<const uint8_t>(data + 1, size - 1));
  } catch (const frugal::UserError&) {
    // Refused with a reason: the expected outcome for malformed input.
  }
  return 0;
}
