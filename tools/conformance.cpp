// Runs ONNX's own backend test cases (libonnx-testdata) through frugal and compares
// with the stored outputs at the ONNX backend-test tolerances (rtol 1e-3, atol 1e-7).
// A case is attempted when every operator in it is supported; otherwise it is skipped
// with the reason. Exit status 1 when any attempted case fails.
//
//   frugal-conformance [--data DIR] [--backend ref] [--filter REGEX] [--verbose]
//                      [--write-docs docs/ops.md]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "frugal/ir/onnx_io.h"
#include "frugal/ops/infer.h"
#include "frugal/runtime/session.h"

namespace fs = std::filesystem;
using namespace frugal;

namespace {

constexpr double kRtol = 1e-3, kAtol = 1e-7;
const char* kSuites[] = {"node", "pytorch-converted", "pytorch-operator", "simple"};

enum class Outcome { kPass, kFail, kSkip };
struct CaseResult {
  std::string suite, name;
  Outcome outcome;
  std::string reason;         // failure or skip reason
  std::string skip_op;        // the op that caused a skip ("" if not op-specific)
  std::set<std::string> ops;  // op types in the model
};

std::vector<fs::path> sorted_glob(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> v;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().rfind(prefix, 0) == 0) v.push_back(e.path());
  // input_10 after input_9: sort by the number after the prefix.
  std::sort(v.begin(), v.end(), [&](const fs::path& a, const fs::path& b) {
    auto num = [&](const fs::path& p) {
      std::string s = p.stem().string().substr(prefix.size());
      return s.empty() ? 0L : std::atol(s.c_str());
    };
    return num(a) < num(b);
  });
  return v;
}

std::string compare(const Tensor& got, const Tensor& want) {
  if (got.dtype() != want.dtype())
    return "dtype " + std::string(dtype_name(got.dtype())) + " != expected " +
           std::string(dtype_name(want.dtype()));
  if (got.shape() != want.shape())
    return "shape " + shape_str(got.shape()) + " != expected " + shape_str(want.shape());
  for (int64_t i = 0; i < got.numel(); ++i) {
    double g = got.at_double(i), w = want.at_double(i);
    if (std::isnan(w) && std::isnan(g)) continue;
    if (std::isinf(w) && g == w) continue;
    if (!(std::fabs(g - w) <= kAtol + kRtol * std::fabs(w)))
      return "element " + std::to_string(i) + ": got " + std::to_string(g) + ", expected " +
             std::to_string(w);
  }
  return "";
}

CaseResult run_case(const std::string& suite, const fs::path& dir, const std::string& backend) {
  CaseResult r{suite, dir.filename().string(), Outcome::kPass, "", "", {}};
  auto skip = [&](const std::string& why, const std::string& op = "") {
    r.outcome = Outcome::kSkip;
    r.reason = why;
    r.skip_op = op;
    return r;
  };
  try {
    ir::Graph g;
    try {
      g = ir::load_onnx((dir / "model.onnx").string());
    } catch (const UnsupportedError& e) {
      return skip(e.what(), "(model)");
    }
    for (const auto& n : g.nodes) r.ops.insert(n.op_type);
    auto sets = sorted_glob(dir, "test_data_set_");
    if (sets.empty()) return skip("no test data");
    for (const auto& set : sets) {
      std::vector<Tensor> inputs, expected;
      auto in_files = sorted_glob(set, "input_");
      auto out_files = sorted_glob(set, "output_");
      try {
        for (const auto& f : in_files) inputs.push_back(ir::load_tensor_pb(f.string()));
        for (const auto& f : out_files) expected.push_back(ir::load_tensor_pb(f.string()));
      } catch (const UnsupportedError& e) {
        return skip(e.what(), "(data)");
      } catch (const UserError& e) {
        return skip(std::string("test data is not a plain tensor: ") + e.what(), "(data)");
      }
      if (inputs.size() != g.inputs.size())
        return skip("test data has " + std::to_string(inputs.size()) + " inputs, model " +
                        std::to_string(g.inputs.size()) + " (optional inputs)",
                    "(data)");
      runtime::SessionOptions opt;
      opt.backends.clear();
      for (size_t pos = 0; pos <= backend.size();) {  // "cpu,ref": preference order
        size_t c = backend.find(',', pos);
        opt.backends.push_back(backend.substr(pos, c == std::string::npos ? c : c - pos));
        if (c == std::string::npos) break;
        pos = c + 1;
      }
      opt.origin = r.name;
      opt.poison_arena = true;  // catches kernels that read outputs they did not write
      for (size_t i = 0; i < inputs.size(); ++i) {
        if (g.inputs[i].dtype != inputs[i].dtype() && g.inputs[i].dtype != DType::kUndefined)
          return skip("input dtype differs from the model's (float16 data?)", "(data)");
        opt.infer.input_shapes[g.inputs[i].name] = inputs[i].shape();
      }
      auto info = ops::infer_graph(g, opt.infer);
      for (size_t k = 0; k < g.nodes.size(); ++k)
        if (info.nodes[k].state == ops::NodeStatus::State::kUnsupported)
          return skip(info.nodes[k].reason, g.nodes[k].op_type);
      runtime::Session session(g, opt);
      auto outs = session.run(inputs);
      if (outs.size() != expected.size())
        return skip("output count differs (optional outputs)", "(data)");
      // bfloat16 results stored as their uint16 bits (no numpy bfloat16): the model's output,
      // held as float32, cannot be compared with them.
      for (size_t i = 0; i < outs.size() && i < g.outputs.size(); ++i)
        if (g.outputs[i].dtype != DType::kUndefined && expected[i].dtype() != g.outputs[i].dtype)
          return skip("expected output's dtype differs from the model's (bfloat16 data?)",
                      "(data)");
      for (size_t i = 0; i < outs.size(); ++i) {
        std::string diff = compare(outs[i], expected[i]);
        if (!diff.empty()) {
          r.outcome = Outcome::kFail;
          r.reason = set.filename().string() + " output " + std::to_string(i) + ": " + diff;
          return r;
        }
      }
    }
  } catch (const UnsupportedError& e) {
    return skip(e.what());
  } catch (const std::exception& e) {
    r.outcome = Outcome::kFail;
    r.reason = e.what();
  }
  return r;
}

void write_docs(const std::string& path, const std::vector<CaseResult>& results,
                const std::string& backend) {
  std::map<std::string, std::array<int, 3>> per_suite;
  std::map<std::string, std::array<int, 2>> per_op;  // op -> {passed cases, failed cases}
  std::map<std::string, std::vector<std::string>> skipped_by_op;
  std::map<std::string, std::string> skip_reason_by_op;
  for (const auto& r : results) {
    per_suite[r.suite][static_cast<int>(r.outcome)]++;
    if (r.outcome == Outcome::kSkip) {
      std::string key = r.skip_op.empty() ? "(other)" : r.skip_op;
      skipped_by_op[key].push_back(r.name);
      if (!skip_reason_by_op.count(key)) skip_reason_by_op[key] = r.reason;
    } else {
      for (const auto& op : r.ops) per_op[op][r.outcome == Outcome::kPass ? 0 : 1]++;
    }
  }
  std::ofstream f(path);
  f << "# Operator support\n\n"
    << "Generated by `build/frugal-conformance --backend " << backend
    << " --write-docs docs/ops.md` from ONNX's own backend test cases (Debian package "
       "libonnx-testdata, /usr/share/libonnx-testdata/data). A case is attempted when every "
       "operator in it is supported for its dtypes and attributes; outputs are compared at "
       "rtol 1e-3, atol 1e-7.\n\n";
  int tp = 0, tf = 0, ts = 0;
  f << "| suite | passed | failed | skipped |\n|---|---|---|---|\n";
  for (const auto& [s, c] : per_suite) {
    f << "| " << s << " | " << c[0] << " | " << c[1] << " | " << c[2] << " |\n";
    tp += c[0];
    tf += c[1];
    ts += c[2];
  }
  f << "| **all** | " << tp << " | " << tf << " | " << ts << " |\n\n";
  f << "## Implemented operators (default domain)\n\n"
    << "| operator | conformance cases attempted that contain it (passed / failed) |\n|---|---|\n";
  for (const auto* def : ops::all_ops()) {
    if (!def->domain.empty()) continue;  // frugal's own (Attention): no ONNX test case
    auto it = per_op.find(def->op_type);
    f << "| " << def->op_type << " | ";
    if (it == per_op.end())
      f << "none |\n";
    else
      f << it->second[0] << " / " << it->second[1] << " |\n";
  }
  f << "\n## Skipped cases, by the operator (or reason) that stopped them\n\n"
    << "| operator | cases | example reason | cases |\n|---|---|---|---|\n";
  std::vector<std::pair<std::string, std::vector<std::string>>> sk(skipped_by_op.begin(),
                                                                   skipped_by_op.end());
  std::sort(sk.begin(), sk.end(),
            [](auto& a, auto& b) { return a.second.size() > b.second.size(); });
  for (const auto& [op, cases] : sk) {
    std::string reason = skip_reason_by_op[op];
    std::replace(reason.begin(), reason.end(), '|', '/');
    if (reason.size() > 160) reason = reason.substr(0, 157) + "...";
    std::string list;
    for (size_t i = 0; i < cases.size() && i < 6; ++i) list += (i ? ", " : "") + cases[i];
    if (cases.size() > 6) list += ", ...";
    f << "| " << op << " | " << cases.size() << " | " << reason << " | " << list << " |\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string data = "/usr/share/libonnx-testdata/data", backend = "ref", filter, docs;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "frugal-conformance: %s needs a value\n", a.c_str());
        std::exit(1);
      }
      return argv[++i];
    };
    if (a == "--data")
      data = next();
    else if (a == "--backend")
      backend = next();
    else if (a == "--filter")
      filter = next();
    else if (a == "--write-docs")
      docs = next();
    else if (a == "--verbose" || a == "-v")
      verbose = true;
    else {
      std::fprintf(stderr,
                   "usage: frugal-conformance [--data DIR] [--backend NAME] [--filter REGEX] "
                   "[--verbose] [--write-docs FILE]\n");
      return 1;
    }
  }
  if (!fs::is_directory(data)) {
    std::fprintf(stderr, "frugal-conformance: %s: no such folder (install libonnx-testdata)\n",
                 data.c_str());
    return 1;
  }
  std::regex re(filter.empty() ? ".*" : filter);
  std::vector<CaseResult> results;
  auto t0 = std::chrono::steady_clock::now();
  for (const char* suite : kSuites) {
    std::vector<fs::path> cases;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(fs::path(data) / suite, ec))
      if (e.is_directory() && std::regex_search(e.path().filename().string(), re))
        cases.push_back(e.path());
    std::sort(cases.begin(), cases.end());
    for (const auto& c : cases) {
      results.push_back(run_case(suite, c, backend));
      const auto& r = results.back();
      if (r.outcome == Outcome::kFail)
        std::printf("FAIL %s/%s: %s\n", suite, r.name.c_str(), r.reason.c_str());
      else if (verbose)
        std::printf("%s %s/%s%s%s\n", r.outcome == Outcome::kPass ? "pass" : "skip", suite,
                    r.name.c_str(), r.reason.empty() ? "" : ": ", r.reason.c_str());
    }
  }
  int passed = 0, failed = 0, skipped = 0;
  for (const auto& r : results) {
    passed += r.outcome == Outcome::kPass;
    failed += r.outcome == Outcome::kFail;
    skipped += r.outcome == Outcome::kSkip;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!docs.empty()) write_docs(docs, results, backend);
  std::printf("conformance (%s backend, %.1f s): %d passed, %d failed, %d skipped\n",
              backend.c_str(), secs, passed, failed, skipped);
  return failed ? 1 : 0;
}
