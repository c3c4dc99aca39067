// The .fgz container: decoding gives back the encoded graph bit-exactly (ONNX bytes equal);
// a flipped byte in a record names that layer; truncation, another version and a bad magic
// are UserErrors.
#include <gtest/gtest.h>

#include "frugal/compress/cluster.h"
#include "frugal/compress/container.h"
#include "frugal/compress/prune.h"
#include "frugal/core/error.h"
#include "frugal/ir/onnx_io.h"
#include "frugal/zoo/zoo.h"

using namespace frugal;
using namespace frugal::compress;

namespace {

ir::Graph compressed_lenet300() {
  const ir::Graph g = zoo::build("lenet300_100", 3);
  return cluster(prune(g, PruneSpec::parse("0.9", "--prune")).graph, parse_cluster_spec("fc=5"))
      .graph;
}

std::string error_of(const std::string& bytes) {
  try {
    decode_fgz(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "m.fgz");
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Fgz, RoundTripIsBitExact) {
  for (const ir::Graph& g : {compressed_lenet300(), zoo::build("lenet5", 1)}) {
    FgzSummary s;
    const std::string bytes = encode_fgz(g, {}, &s);
    EXPECT_EQ(s.file_bytes, static_cast<int64_t>(bytes.size()));
    const ir::Graph back =
        decode_fgz(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "m.fgz");
    EXPECT_EQ(ir::serialize_onnx(back), ir::serialize_onnx(g));
  }
  FgzSummary s;
  const ir::Graph g = compressed_lenet300();
  encode_fgz(g, {}, &s);
  int64_t raw = 0;
  for (const auto& r : s.records) raw += r.raw_bytes;
  EXPECT_GT(static_cast<double>(raw) / static_cast<double>(s.file_bytes), 20.0);
}

TEST(Fgz, DamageIsNamed) {
  const ir::Graph g = compressed_lenet300();
  FgzSummary s;
  const std::string bytes = encode_fgz(g, {}, &s);
  // The last record is the last initializer by name; flip a byte in its middle.
  std::string bad = bytes;
  bad[bad.size() - static_cast<size_t>(s.records.back().stored_bytes / 2)] ^= 0x10;
  EXPECT_NE(error_of(bad).find("layer '" + s.records.back().tensor + "': checksum mismatch"),
            std::string::npos)
      << error_of(bad);
  for (size_t cut : {size_t{5}, size_t{40}, bytes.size() / 2, bytes.size() - 1})
    EXPECT_NE(error_of(bytes.substr(0, cut)).find("truncated"), std::string::npos)
        << cut << error_of(bytes.substr(0, cut));
  std::string v2 = bytes;
  v2[8] = 2;
  EXPECT_NE(error_of(v2).find(".fgz version 2, this frugal reads version 1"), std::string::npos);
  std::string magic = bytes;
  magic[0] = 'X';
  EXPECT_NE(error_of(magic).find("bad magic"), std::string::npos);
  EXPECT_NE(error_of(bytes + "x").find("after the last record"), std::string::npos);
}
