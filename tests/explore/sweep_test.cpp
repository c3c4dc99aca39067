#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "explore/explore_testing.h"
#include "frugal/explore/child.h"
#include "frugal/explore/spec.h"
#include "frugal/explore/sweep.h"

using namespace frugal::explore;
using namespace frugal::explore::testing;

namespace {

// Stands in for the frugal binary: zoo writes a small file, `shrink IN -o OUT` is a
// transform, bench prints a Record whose p50 is 12 / threads ms (or crashes, hangs or fails
// by backend name), eval prints an accuracy of 0.75. Every call is logged.
const char* kFakeFrugal = R"sh(#!/bin/bash
echo "$1" >> "$(dirname "$0")/calls.log"
cmd="$1"; shift
case "$cmd" in
  zoo) printf 'model:%s' "$1" > "$3" ;;
  shrink) cat "$1" > "$3"; printf ':shrunk' >> "$3" ;;
  bench)
    model="$1"; threads=1; backend=""
    while [ $# -gt 0 ]; do
      case "$1" in --threads) threads="$2";; --backend) backend="$2";; esac; shift
    done
    case "$backend" in
      crash) kill -SEGV $$ ;;
      hang) sleep 30 ;;
      fail) echo "frugal: error: --backend: unknown backend 'fail'" >&2; exit 1 ;;
      slow) sleep 0.3 ;;
      garbage) echo "not json"; exit 0 ;;
    esac
    size=$(stat -c %s "$model")
    echo "{\"schema\":\"frugal.record/1\",\"what\":{\"model\":\"$model\"},\"results\":{\"latency\":{\"p50_ms\":$((12 / threads))},\"memory\":{\"weight_bytes\":$size}}}" ;;
  eval) echo '{"schema":"frugal.record/1","results":{"accuracy":{"top1":0.75}}}' ;;
  *) exit 2 ;;
esac
)sh";

struct Fixture {
  std::string dir, exe, log;
  explicit Fixture(const std::string& name) {
    dir = scratch_dir(name);
    exe = dir + "/frugal";
    log = dir + "/calls.log";
    write_file(exe, kFakeFrugal);
    chmod(exe.c_str(), 0755);
  }
  ~Fixture() { std::filesystem::remove_all(dir); }
  SweepOptions options() const {
    SweepOptions o;
    o.frugal_exe = exe;
    o.cache_dir = dir + "/cache";
    o.log = nullptr;
    return o;
  }
  int calls(const std::string& cmd) const {
    std::istringstream in(read_file(log));
    int n = 0;
    for (std::string line; std::getline(in, line);) n += line == cmd;
    return n;
  }
};

}  // namespace

TEST(Child, ExitCodesSignalsTimeoutsAndStderrTail) {
  ChildLimits l;
  l.timeout_s = 5;
  auto ok = run_child({"/bin/sh", "-c", "echo out; echo err >&2"}, l);
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.out, "out\n");
  EXPECT_EQ(ok.err_tail, "err\n");
  auto bad = run_child({"/bin/sh", "-c", "echo first >&2; echo 'frugal: error: reason' >&2; exit 3"}, l);
  EXPECT_EQ(bad.exit_code, 3);
  EXPECT_EQ(bad.describe(), "exit 3");
  EXPECT_EQ(bad.last_error_line(), "frugal: error: reason");
  auto segv = run_child({"/bin/sh", "-c", "kill -SEGV $$"}, l);
  EXPECT_EQ(segv.signal, SIGSEGV);
  EXPECT_EQ(segv.describe(), "killed by SIGSEGV");
  l.timeout_s = 0.5;
  auto t0 = std::chrono::steady_clock::now();
  auto hang = run_child({"/bin/sh", "-c", "sleep 20"}, l);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
  EXPECT_TRUE(hang.timed_out);
  EXPECT_FALSE(hang.ok());
  EXPECT_EQ(hang.signal, SIGKILL);
  l.timeout_s = 5;
  l.stderr_tail_bytes = 100;
  auto chatty = run_child({"/bin/sh", "-c", "i=0; while [ $i -lt 500 ]; do echo line$i >&2; i=$((i+1)); done"}, l);
  EXPECT_EQ(chatty.err_tail.size(), 100u);
  EXPECT_EQ(chatty.last_error_line(), "line499");
  auto missing = run_child({"/nonexistent/program"}, l);
  EXPECT_EQ(missing.exit_code, 127);
}

TEST(Child, MemoryLimitMakesAnAllocationFail) {
  ChildLimits l;
  l.timeout_s = 20;
  l.memory_bytes = int64_t{64} << 20;
  // 200 MB through a shell variable cannot fit in 64 MiB of address space.
  auto r = run_child({"/bin/bash", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo ${#x}"}, l);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.out, "200000000\n");
}

TEST(Sweep, FailuresAreRecordedAndTheSweepGoesOn) {
  Fixture f("sweep_fail");
  auto spec = parse_sweep_spec(R"(
models:
  - {zoo: lenet5, data: "fashion-mnist:test"}
  - {file: missing.onnx}
transforms:
  - none
  - {name: small, steps: [shrink]}
backends: [ok, crash, hang, fail, garbage]
threads: [1, 3]
timeout: 1
exclude:
  - {model: missing, transform: small}
  - {backend: [crash, hang, fail, garbage], threads: 3}
)",
                               "t.yaml", f.dir);
  // lenet5: 2 transforms x (ok x 2 threads + 4 failing) = 12; missing: none x 6 = 6.
  ASSERT_EQ(spec.points.size(), 18u);
  Store store = Store::open(f.dir + "/r.sqlite", Store::Mode::read_write);
  SweepSummary s = run_sweep(spec.points, store, f.options());
  EXPECT_EQ(s.ok, 4u);
  EXPECT_EQ(s.failed, 14u);
  std::map<std::string, PointRow> rows;
  for (auto& p : store.points()) rows[p.key] = p;
  ASSERT_EQ(rows.size(), 18u);
  const auto& crash = rows["lenet5|none|crash|fp32|-|t1|b1|single-stream"];
  EXPECT_EQ(crash.status, "failed");
  EXPECT_EQ(crash.stage, "bench");
  EXPECT_EQ(crash.signal, SIGSEGV);
  const auto& hang = rows["lenet5|small|hang|fp32|-|t1|b1|single-stream"];
  EXPECT_TRUE(hang.timed_out);
  EXPECT_EQ(hang.signal, SIGKILL);
  const auto& fail = rows["lenet5|none|fail|fp32|-|t1|b1|single-stream"];
  EXPECT_EQ(fail.exit_code, 1);
  EXPECT_EQ(fail.error, "exit 1: frugal: error: --backend: unknown backend 'fail'");
  EXPECT_NE(fail.stderr_tail.find("unknown backend 'fail'"), std::string::npos);
  EXPECT_EQ(rows["lenet5|none|garbage|fp32|-|t1|b1|single-stream"].error, "bench --json printed no Record");
  const auto& missing = rows["missing|none|ok|fp32|-|t1|b1|single-stream"];
  EXPECT_EQ(missing.stage, "model");
  EXPECT_EQ(missing.error, f.dir + "/missing.onnx: no such file");

  // Measured points: p50 = 12 / threads, accuracy merged from eval, the transformed model used.
  auto a = store.record("lenet5|none|ok|fp32|-|t3|b1|single-stream");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->at("results").at("latency").at("p50_ms").get<int>(), 4);
  EXPECT_DOUBLE_EQ(a->at("results").at("accuracy").at("top1").get<double>(), 0.75);
  auto b = store.record("lenet5|small|ok|fp32|-|t1|b1|single-stream");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->at("results").at("memory").at("weight_bytes").get<int>(), 19);  // "model:lenet5:shrunk"
  EXPECT_EQ(b->at("what").at("transforms"), nlohmann::json::array({"shrink"}));

  // The zoo model was built once and the transform ran once for all its points.
  EXPECT_EQ(f.calls("zoo"), 1);
  EXPECT_EQ(f.calls("shrink"), 1);
  EXPECT_EQ(f.calls("eval"), 4);

  // Resume runs only the points that are not ok.
  int bench_before = f.calls("bench");
  SweepOptions o = f.options();
  o.resume = true;
  SweepSummary again = run_sweep(spec.points, store, o);
  EXPECT_EQ(again.skipped, 4u);
  EXPECT_EQ(again.failed, 14u);
  EXPECT_EQ(f.calls("bench") - bench_before, 8);  // the 6 of the missing model fail before bench
  EXPECT_EQ(f.calls("shrink"), 1);                 // cached by content
}

TEST(Sweep, TransformArgv) {
  EXPECT_EQ(transform_argv("prune --sparsity 0.5", "F", "in.onnx", "out.onnx"),
            (std::vector<std::string>{"F", "prune", "--sparsity", "0.5", "in.onnx", "-o", "out.onnx"}));
  EXPECT_EQ(transform_argv("quantize --input {in} --to={out}", "F", "a", "b"),
            (std::vector<std::string>{"F", "quantize", "--input", "a", "--to=b"}));
}

TEST(Sweep, SigkillLosesNoCompletedPoint) {
  Fixture f("sweep_kill");
  auto spec = parse_sweep_spec("models: [lenet5]\nbackends: [slow]\nthreads: [1, 2, 3, 4, 5, 6, 7, 8]\n", "k.yaml", "");
  ASSERT_EQ(spec.points.size(), 8u);
  std::string db = f.dir + "/k.sqlite";
  pid_t pid = fork();
  if (pid == 0) {
    try {
      Store store = Store::open(db, Store::Mode::read_write);
      run_sweep(spec.points, store, f.options());
    } catch (...) {
      _exit(3);
    }
    _exit(0);
  }
  // Kill the sweep once it has committed at least two points (mid-run).
  size_t seen = 0;
  for (int i = 0; i < 200 && seen < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!std::filesystem::exists(db)) continue;
    try {
      seen = Store::open(db, Store::Mode::read_only).ok_keys().size();
    } catch (const std::exception&) {
      // the writer may still be creating the schema
    }
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the sweep ended before it was killed";
  Store store = Store::open(db, Store::Mode::read_write);  // usable, not refused as corrupt
  size_t kept = store.ok_keys().size();
  EXPECT_GE(kept, seen);
  EXPECT_LT(kept, 8u);
  for (const auto& p : store.points()) EXPECT_EQ(p.status, "ok") << p.key;
  int bench_before = f.calls("bench");
  SweepOptions o = f.options();
  o.resume = true;
  SweepSummary rest = run_sweep(spec.points, store, o);
  EXPECT_EQ(rest.skipped, kept);
  EXPECT_EQ(rest.ok, 8u - kept);
  EXPECT_EQ(f.calls("bench") - bench_before, static_cast<int>(8 - kept));
  EXPECT_EQ(store.ok_keys().size(), 8u);
}
