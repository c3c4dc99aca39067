// Verilator testbench: build, drive with vectors, compare with the emulator (see verify.h).
#include "frugal/hw/verify.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/core/rng.h"
#include "frugal/hw/reference.h"
#include "frugal/hw/tools.h"
#include "frugal/hw/verilog.h"

namespace frugal::hw {

namespace fn = frugal::numeric;

namespace {

constexpr int kExhaustiveBits = 24;
constexpr uint64_t kChunk = uint64_t{1} << 21;

int words(int bits) {
  return (bits + 31) / 32;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string hex(Word w, int bits) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (int i = (bits + 3) / 4 - 1; i >= 0; --i) s += digits[static_cast<int>((w >> (4 * i)) & 15)];
  return "0x" + s;
}

std::string set_port(const Port& p, int first_word) {
  std::ostringstream os;
  const std::string w = "v[" + std::to_string(first_word) + "]";
  if (p.bits <= 32) {
    os << "    top." << p.name << " = " << w << ";\n";
  } else if (p.bits <= 64) {
    os << "    top." << p.name << " = uint64_t(" << w << ") | (uint64_t(v[" << first_word + 1
       << "]) << 32);\n";
  } else {
    for (int k = 0; k < words(p.bits); ++k)
      os << "    top." << p.name << "[" << k << "] = v[" << first_word + k << "];\n";
  }
  return os.str();
}

std::string get_port(const Port& p) {
  std::ostringstream os;
  if (p.bits <= 32) {
    os << "      o[0] = uint32_t(top." << p.name << ");\n";
  } else if (p.bits <= 64) {
    os << "      o[0] = uint32_t(top." << p.name << "); o[1] = uint32_t(uint64_t(top." << p.name
       << ") >> 32);\n";
  } else {
    for (int k = 0; k < words(p.bits); ++k)
      os << "      o[" << k << "] = top." << p.name << "[" << k << "];\n";
  }
  return os.str();
}

// Per port: codes worth testing (format extremes, specials and their neighbours).
std::vector<Word> edge_codes(const fn::NumberFormat& f, int bits) {
  std::vector<Word> out;
  const Word all = bits >= 128 ? ~Word{0} : (Word{1} << bits) - 1;
  auto add = [&](Word c) { out.push_back(c & all); };
  if (f.kind == fn::FormatKind::kFloat) {
    const int M = f.mantissa_bits;
    const fn::FloatRange r = fn::float_range(f);
    const Word sign = Word{1} << (bits - 1);
    const Word one = fn::encode(f, 1.0);
    for (Word c :
         {Word{0}, Word{1}, Word{2}, (Word{1} << M) - 1, Word{1} << M, (Word{1} << M) + 1, one - 1,
          one, one + 1, Word{r.max_code} - 1, Word{r.max_code}, Word{r.max_code} + 1, (sign - 1)}) {
      add(c);
      add(c | sign);
    }
  } else {
    for (Word c :
         {Word{0}, Word{1}, Word{2}, all, all - 1, all >> 1, (all >> 1) + 1, (all >> 1) - 1})
      add(c);
  }
  return out;
}

// fp32 inputs around the target's neighbouring values: each value, the midpoints (ties) and
// their fp32 neighbours, beyond the largest value, tiny values, inf and NaN.
std::vector<Word> fp32_edges(const fn::NumberFormat& target) {
  std::vector<double> vals;
  if (fn::code_bits(target) <= 16) {
    vals = fn::finite_values(target);
  } else {
    const fn::FormatInfo info = fn::describe(target);
    for (double v : {info.max_finite, info.min_normal, 1.0, info.min_finite}) vals.push_back(v);
  }
  std::vector<Word> out;
  auto add = [&](float x) {
    for (float y : {x, std::nextafter(x, INFINITY), std::nextafter(x, -INFINITY)}) {
      out.push_back(std::bit_cast<uint32_t>(y));
      out.push_back(std::bit_cast<uint32_t>(-y));
    }
  };
  for (size_t i = 0; i < vals.size(); ++i) {
    add(static_cast<float>(vals[i]));
    if (i + 1 < vals.size()) add(static_cast<float>((vals[i] + vals[i + 1]) / 2));
  }
  const fn::FormatInfo info = fn::describe(target);
  add(static_cast<float>(info.max_finite * 1.0625));
  add(static_cast<float>(info.max_finite * 2));
  if (!std::isnan(info.min_subnormal)) add(static_cast<float>(info.min_subnormal / 2));
  add(static_cast<float>(info.min_normal / 2));
  add(INFINITY);
  add(NAN);
  add(1e-30f);
  return out;
}

// The input vectors: exhaustive, or edge cases followed by random codes.
class VectorSource {
 public:
  VectorSource(const OperatorSpec& spec, const VerifyOptions& opt)
      : spec_(spec), ports_(ports(spec)), rng_(opt.seed) {
    if (spec.rounding.mode == fn::RoundingMode::kStochastic) ports_.inputs.pop_back();
    for (const Port& p : ports_.inputs) data_bits_ += p.bits;
    exhaustive_ = data_bits_ <= kExhaustiveBits;
    if (exhaustive_) {
      total_ = uint64_t{1} << data_bits_;
      return;
    }
    edge_ = opt.edge_vectors;
    random_ = opt.random_vectors;
    total_ = edge_ + random_;
    for (size_t i = 0; i < ports_.inputs.size(); ++i) edges_.push_back(port_edges(i));
  }

  bool exhaustive() const { return exhaustive_; }
  uint64_t total() const { return total_; }
  uint64_t edge() const { return edge_; }
  uint64_t random() const { return random_; }
  const std::vector<Port>& data_ports() const { return ports_.inputs; }

  // Data port values of vector i.
  void get(uint64_t i, std::vector<Word>& v) const {
    v.resize(ports_.inputs.size());
    uint64_t bits = i;
    for (size_t k = 0; k < v.size(); ++k) {
      const int b = ports_.inputs[k].bits;
      if (exhaustive_) {
        v[k] = bits & ((uint64_t{1} << b) - 1);
        bits >>= b;
      } else if (i < edge_) {
        const auto& e = edges_[k];
        v[k] = e[rng_.u32(i * 8 + k) % e.size()];
      } else {
        v[k] = random_word(b, i * 8 + k);
      }
    }
  }

 private:
  Word random_word(int bits, uint64_t counter) const {
    Word w = 0;
    for (int k = 0; k < words(bits); ++k)
      w |= Word{rng_.u32((counter << 3) + static_cast<uint64_t>(k) + (uint64_t{1} << 60))}
           << (32 * k);
    return bits >= 128 ? w : w & ((Word{1} << bits) - 1);
  }

  std::vector<Word> port_edges(size_t k) const {
    const Port& p = ports_.inputs[k];
    if (spec_.op == HwOp::kFromFp32) return fp32_edges(spec_.format);
    if (spec_.kulisch && p.name == "c") {
      const Word top = Word{1} << (p.bits - 2);
      return {0, 1, top - 1, top, (top << 1) - 1, random_word(p.bits - 1, k)};
    }
    const bool acc = p.name == "c" && spec_.op == HwOp::kMac;
    return edge_codes(acc ? spec_.accumulator : spec_.format, p.bits);
  }

  const OperatorSpec& spec_;
  PortList ports_;
  Philox rng_;
  int data_bits_ = 0;
  bool exhaustive_ = false;
  uint64_t total_ = 0, edge_ = 0, random_ = 0;
  std::vector<std::vector<Word>> edges_;
};

void build_testbench(const OperatorSpec& spec, const VerifyOptions& opt, const std::string& dir) {
  const std::string verilator = require_tool("verilator", "verilator");
  {
    std::ofstream v(dir + "/design.v");
    v << generate_verilog(spec);
    std::ofstream tb(dir + "/tb.cpp");
    tb << testbench_source(spec, opt.inject_fault_at);
    if (!v || !tb) throw UserError("cannot write the testbench into " + dir);
  }
  const std::string log = dir + "/verilator.log";
  // Verilator's runtime objects are the same for every testbench: ccache (when installed)
  // compiles them once.
  std::string objcache;
  try {
    objcache = "OBJCACHE=" + require_tool("ccache", "ccache") + " ";
  } catch (const UserError&) {
  }
  const std::string cmd = "cd " + dir + " && " + objcache + verilator +
                          " --cc --exe --build -j 2 -Wno-fatal -Wno-lint -Wno-style"
                          " --top-module " +
                          module_name(spec) +
                          " --prefix Vtop -Mdir obj -o tb -CFLAGS -O1 design.v tb.cpp";
  if (run_logged(cmd, log) != 0)
    throw UserError("verilator failed to build the testbench for " + describe(spec) + ": " +
                    last_line(log) + " (log " + log + ")");
}

std::string mismatch_text(const OperatorSpec& spec, const VectorSource& src, uint64_t i,
                          const std::vector<Word>& in, Word rtl, Word ref) {
  std::ostringstream os;
  os << "mismatch in " << describe(spec) << " at vector " << i << ":";
  for (size_t k = 0; k < in.size(); ++k)
    os << " " << src.data_ports()[k].name << "=" << hex(in[k], src.data_ports()[k].bits);
  if (spec.rounding.mode == fn::RoundingMode::kStochastic)
    os << " rnd=" << hex(random_input(spec, i), spec.rounding.random_bits);
  const int ob = ports(spec).output.bits;
  os << " -> rtl y=" << hex(rtl, ob) << ", emulator y=" << hex(ref, ob);
  return os.str();
}

}  // namespace

std::string testbench_source(const OperatorSpec& spec, int64_t inject_fault_at) {
  const PortList pl = ports(spec);
  int in_words = 0;
  std::string sets;
  for (const Port& p : pl.inputs) {
    sets += set_port(p, in_words);
    in_words += words(p.bits);
  }
  const int out_words = words(pl.output.bits);
  const int pipe = spec.pipeline;
  std::ostringstream os;
  os << "// frugal hw verify testbench for " << describe(spec) << "\n"
     << "#include <cstdint>\n#include <cstdio>\n#include <vector>\n"
     << "#include \"Vtop.h\"\n#include \"verilated.h\"\n\n"
     << "int main(int argc, char** argv) {\n"
     << "  if (argc != 3) return 2;\n"
     << "  std::FILE* fi = std::fopen(argv[1], \"rb\");\n"
     << "  std::FILE* fo = std::fopen(argv[2], \"wb\");\n"
     << "  if (!fi || !fo) return 2;\n"
     << "  std::fseek(fi, 0, SEEK_END);\n"
     << "  const long n = std::ftell(fi) / (4 * " << in_words << ");\n"
     << "  std::fseek(fi, 0, SEEK_SET);\n"
     << "  std::vector<uint32_t> in(n * " << in_words << "), out(n * " << out_words << ");\n"
     << "  if (std::fread(in.data(), 4, in.size(), fi) != in.size()) return 2;\n"
     << "  Vtop top;\n"
     << "  for (long i = 0; i < n + " << std::max(0, pipe - 1) << "; ++i) {\n"
     << "    if (i < n) {\n      const uint32_t* v = &in[i * " << in_words << "];\n"
     << sets << "    }\n";
  if (pipe > 0)
    os << "    top.clk = 0;\n    top.eval();\n    top.clk = 1;\n    top.eval();\n"
       << "    const long j = i - " << pipe - 1 << ";\n";
  else
    os << "    top.eval();\n    const long j = i;\n";
  os << "    if (j >= 0 && j < n) {\n      uint32_t* o = &out[j * " << out_words << "];\n"
     << get_port(pl.output) << "      if (j == " << inject_fault_at << "L) o[0] ^= 1u;\n"
     << "    }\n  }\n"
     << "  top.final();\n"
     << "  if (std::fwrite(out.data(), 4, out.size(), fo) != out.size()) return 2;\n"
     << "  std::fclose(fo);\n  std::fclose(fi);\n  return 0;\n}\n";
  return os.str();
}

VerifyResult verify(const OperatorSpec& spec, const VerifyOptions& opt) {
  check_expressible(spec);
  ScratchDir dir("frugal-hw-verify-");
  VerifyResult res;
  if (opt.keep_dir) {
    dir.keep();
    res.dir = dir.path();
  }
  auto t0 = std::chrono::steady_clock::now();
  build_testbench(spec, opt, dir.path());
  res.compile_seconds = seconds_since(t0);

  const VectorSource src(spec, opt);
  res.exhaustive = src.exhaustive();
  res.edge = src.edge();
  res.random = src.random();
  const PortList pl = ports(spec);
  const int out_words = words(pl.output.bits);
  const std::string in_path = dir.path() + "/in.bin", out_path = dir.path() + "/out.bin";
  const std::string log = dir.path() + "/sim.log";
  t0 = std::chrono::steady_clock::now();
  std::vector<Word> v;
  std::vector<uint32_t> buf, obuf;
  for (uint64_t first = 0; first < src.total(); first += kChunk) {
    const uint64_t n = std::min(kChunk, src.total() - first);
    buf.clear();
    for (uint64_t i = first; i < first + n; ++i) {
      src.get(i, v);
      if (spec.rounding.mode == fn::RoundingMode::kStochastic) v.push_back(random_input(spec, i));
      for (size_t k = 0; k < pl.inputs.size(); ++k)
        for (int w = 0; w < words(pl.inputs[k].bits); ++w)
          buf.push_back(static_cast<uint32_t>(v[k] >> (32 * w)));
    }
    {
      std::ofstream f(in_path, std::ios::binary);
      f.write(reinterpret_cast<const char*>(buf.data()),
              static_cast<std::streamsize>(buf.size() * 4));
      if (!f) throw UserError("cannot write test vectors to " + in_path);
    }
    if (run_logged(dir.path() + "/obj/tb " + in_path + " " + out_path, log) != 0)
      throw UserError("the testbench of " + describe(spec) + " failed: " + last_line(log));
    obuf.assign(n * out_words, 0);
    std::ifstream f(out_path, std::ios::binary);
    f.read(reinterpret_cast<char*>(obuf.data()), static_cast<std::streamsize>(obuf.size() * 4));
    if (!f) throw UserError("the testbench of " + describe(spec) + " wrote no outputs");
    for (uint64_t i = first; i < first + n; ++i) {
      src.get(i, v);
      Word rtl = 0;
      for (int w = 0; w < out_words; ++w)
        rtl |= Word{obuf[(i - first) * out_words + w]} << (32 * w);
      const Word ref = reference_output(spec, v, i);
      ++res.vectors;
      if (!outputs_match(spec, rtl, ref)) {
        res.mismatch = mismatch_text(spec, src, i, v, rtl, ref);
        res.simulate_seconds = seconds_since(t0);
        return res;
      }
    }
  }
  res.simulate_seconds = seconds_since(t0);
  res.passed = true;
  return res;
}

}  // namespace frugal::hw
