// ONNX import/export: round trips, and every kind of bad model refused with a one-line
// error naming the file, node and reason (never a crash or a huge allocation).
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <future>
#include <limits>
#include <thread>

#include "frugal/core/rng.h"
#include "frugal/ir/onnx_io.h"
#include "frugal/ops/infer.h"
#include "frugal/runtime/session.h"
#include "frugal/zoo/zoo.h"

using namespace frugal;
namespace fs = std::filesystem;

namespace {

// A small valid model: y = Relu(Conv(x, W)) with x 1x2x5x5, W 3x2x3x3.
onnx::ModelProto small_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("small");
  auto add_vi = [](onnx::ValueInfoProto* vi, const std::string& name, std::vector<int64_t> dims) {
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    for (auto d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
  };
  add_vi(g->add_input(), "x", {1, 2, 5, 5});
  add_vi(g->add_output(), "y", {1, 3, 3, 3});
  auto* w = g->add_initializer();
  w->set_name("W");
  w->set_data_type(onnx::TensorProto::FLOAT);
  for (int d : {3, 2, 3, 3}) w->add_dims(d);
  for (int i = 0; i < 54; ++i) w->add_float_data(0.01f * static_cast<float>(i % 7) - 0.02f);
  auto* conv = g->add_node();
  conv->set_name("conv");
  conv->set_op_type("Conv");
  conv->add_input("x");
  conv->add_input("W");
  conv->add_output("c");
  auto* relu = g->add_node();
  relu->set_name("relu");
  relu->set_op_type("Relu");
  relu->add_input("c");
  relu->add_output("y");
  return m;
}

std::string load_error(const onnx::ModelProto& m) {
  std::string bytes = m.SerializeAsString();
  try {
    ir::Graph g = ir::parse_onnx(bytes.data(), bytes.size(), "bad.onnx");
    auto info = ops::infer_graph(g);
    ops::require_supported(g, info, "bad.onnx");
    runtime::Session s(g, runtime::SessionOptions{});
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

void expect_error(const onnx::ModelProto& m, const std::string& needle) {
  std::string err = load_error(m);
  ASSERT_FALSE(err.empty()) << "expected an error containing: " << needle;
  EXPECT_NE(err.find(needle), std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos) << "error must be one line: " << err;
}

Tensor random_input(const Shape& s, uint64_t seed) {
  Tensor t(DType::kF32, s);
  Philox r(seed);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = r.normal(i);
  return t;
}

}  // namespace

TEST(OnnxIo, SmallModelLoadsAndRuns) {
  std::string bytes = small_model().SerializeAsString();
  ir::Graph g = ir::parse_onnx(bytes.data(), bytes.size(), "small.onnx");
  EXPECT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.opset(), 17);
  runtime::SessionOptions opt;
  runtime::Session s(g, opt);
  auto out = s.run({random_input({1, 2, 5, 5}, 1)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), (Shape{1, 3, 3, 3}));
}

TEST(OnnxIo, ZooRoundTripPreservesOutputsExactly) {
  for (const char* name : {"lenet5", "squeezenet1_1", "mobilenet_v3_small"}) {
    ir::Graph g = zoo::build(name, 3);
    std::string bytes = ir::serialize_onnx(g);
    ir::Graph g2 = ir::parse_onnx(bytes.data(), bytes.size(), "rt.onnx");
    std::string bytes2 = ir::serialize_onnx(g2);
    ir::Graph g3 = ir::parse_onnx(bytes2.data(), bytes2.size(), "rt2.onnx");
    EXPECT_EQ(bytes, bytes2) << name << ": export(import(export(g))) must be byte-identical";
    runtime::SessionOptions opt;
    runtime::Session a(g, opt), b(g3, opt);
    Tensor x = random_input(a.inputs()[0].shape, 11);
    auto ya = a.run({x}), yb = b.run({x});
    ASSERT_EQ(ya.size(), yb.size());
    for (size_t i = 0; i < ya.size(); ++i) EXPECT_TRUE(ya[i].equals(yb[i])) << name;
  }
}

// A model file is mapped where it is a regular file and read as it comes where it is not
// (a pipe): both give the weights bit for bit, raw_data and typed fields alike.
TEST(OnnxIo, LoadsFromARegularFileAndFromAPipe) {
  onnx::ModelProto m = small_model();
  auto* raw = m.mutable_graph()->add_initializer();
  raw->set_name("R");
  raw->set_data_type(onnx::TensorProto::FLOAT);
  raw->add_dims(1000);
  std::vector<float> vals(1000);
  for (size_t i = 0; i < vals.size(); ++i) vals[i] = 0.5f * static_cast<float>(i) - 3.0f;
  raw->set_raw_data(vals.data(), vals.size() * sizeof(float));
  const std::string bytes = m.SerializeAsString();
  const fs::path dir = fs::temp_directory_path() / "frugal_onnx_io_pipe_test";
  fs::create_directories(dir);
  const fs::path file = dir / "m.onnx", fifo = dir / "m.fifo";
  std::ofstream(file, std::ios::binary) << bytes;
  fs::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // The loader must open the pipe once. Opened, closed and opened again (as it once was),
  // the pipe loses what a quick writer wrote and left meanwhile (or the write fails, no
  // reader left), and the second open waits forever for a writer: it hung a CI run. The
  // writer here is as quick as can be (it opens the moment the loader does, writes and
  // leaves); a loader still waiting after 20 s is released (an open for writing and a
  // close give it end of file) and the test fails instead of hanging.
  struct sigaction ignore = {}, previous = {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &previous);
  bool written = false;
  std::thread writer([&] {
    int fd;
    while ((fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0 && errno == ENXIO)
      std::this_thread::yield();
    written =
        fd >= 0 && ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
    if (fd >= 0) ::close(fd);
  });
  auto loading = std::async(std::launch::async, [&] { return ir::load_onnx(fifo.string()); });
  const bool waited_forever =
      loading.wait_for(std::chrono::seconds(20)) == std::future_status::timeout;
  if (waited_forever) ::close(::open(fifo.c_str(), O_WRONLY | O_CLOEXEC));
  writer.join();
  ::sigaction(SIGPIPE, &previous, nullptr);
  ASSERT_FALSE(waited_forever) << "the loader waited for a second writer";
  EXPECT_TRUE(written) << "the loader closed the pipe before its writer wrote";
  const ir::Graph from_pipe = loading.get();
  const ir::Graph from_file = ir::load_onnx(file.string());
  const ir::Graph from_memory = ir::parse_onnx(bytes.data(), bytes.size(), "memory", ".");
  for (const ir::Graph* g : {&from_pipe, &from_file}) {
    for (const char* name : {"W", "R"}) {
      ASSERT_NE(g->initializer(name), nullptr) << name;
      EXPECT_TRUE(g->initializer(name)->equals(*from_memory.initializer(name))) << name;
    }
  }
  EXPECT_EQ(from_file.initializer("R")->data<float>()[999], vals[999]);
  fs::remove_all(dir);
}

TEST(OnnxIo, FileRoundTripAndExternalData) {
  fs::path dir = fs::temp_directory_path() / "frugal_onnx_io_test";
  fs::create_directories(dir);
  // Move W to an external data file.
  onnx::ModelProto m = small_model();
  auto* w = m.mutable_graph()->mutable_initializer(0);
  std::vector<float> vals(w->float_data().begin(), w->float_data().end());
  w->clear_float_data();
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* kv = w->add_external_data();
  kv->set_key("location");
  kv->set_value("weights.bin");
  {
    std::ofstream f(dir / "weights.bin", std::ios::binary);
    f.write(reinterpret_cast<const char*>(vals.data()), vals.size() * 4);
    std::ofstream mf(dir / "ext.onnx", std::ios::binary);
    mf << m.SerializeAsString();
  }
  ir::Graph g = ir::load_onnx((dir / "ext.onnx").string());
  const Tensor* wt = g.initializer("W");
  ASSERT_NE(wt, nullptr);
  EXPECT_EQ(wt->data<float>()[8], vals[8]);
  // External data whose range lies outside the file is refused.
  kv = w->add_external_data();
  kv->set_key("offset");
  kv->set_value("100000");
  {
    std::ofstream mf(dir / "ext_bad.onnx", std::ios::binary);
    mf << m.SerializeAsString();
  }
  try {
    ir::load_onnx((dir / "ext_bad.onnx").string());
    FAIL() << "expected an error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("outside"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(OnnxIo, Float16InitializersConvertedOnLoad) {
  onnx::ModelProto m = small_model();
  auto* w = m.mutable_graph()->mutable_initializer(0);
  std::vector<float> vals(w->float_data().begin(), w->float_data().end());
  w->clear_float_data();
  w->set_data_type(onnx::TensorProto::FLOAT16);
  std::string raw;
  for (float v : vals) {
    uint16_t h = float_to_half(v);
    raw.append(reinterpret_cast<const char*>(&h), 2);
  }
  w->set_raw_data(raw);
  std::string bytes = m.SerializeAsString();
  ir::Graph g = ir::parse_onnx(bytes.data(), bytes.size(), "f16.onnx");
  const Tensor* t = g.initializer("W");
  ASSERT_EQ(t->dtype(), DType::kF32);
  for (int i = 0; i < 54; ++i) EXPECT_NEAR(t->data<float>()[i], vals[i], 1e-3);
}

// A float16-converted model (ISNet medium's form): float32 input cast to float16, float16
// weights, intermediate values declared float16, cast back to float32 at the end. frugal
// holds the float16 values as float32 (core/dtype.h held_type): it loads, runs on ref and
// cpu with the casts rounding to float16's grid, and saves as a float32 model whose casts
// type-check (to=FLOAT).
TEST(OnnxIo, Float16ModelRunsHeldAsFloat32) {
  onnx::ModelProto m = small_model();
  auto* g = m.mutable_graph();
  auto* w = g->mutable_initializer(0);
  std::vector<float> vals(w->float_data().begin(), w->float_data().end());
  w->clear_float_data();
  w->set_data_type(onnx::TensorProto::FLOAT16);
  std::string raw;
  for (float v : vals) {
    const uint16_t h = float_to_half(v);
    raw.append(reinterpret_cast<const char*>(&h), 2);
  }
  w->set_raw_data(raw);
  // x -> Cast(f16) -> conv -> relu -> Cast(f32) -> y, with "c" declared float16.
  auto* conv = g->mutable_node(0);
  conv->set_input(0, "x16");
  auto* relu = g->mutable_node(1);
  relu->set_output(0, "y16");
  auto cast = [&](const std::string& in, const std::string& out, int to) {
    onnx::NodeProto n;
    n.set_name("cast_" + out);
    n.set_op_type("Cast");
    n.add_input(in);
    n.add_output(out);
    auto* a = n.add_attribute();
    a->set_name("to");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(to);
    return n;
  };
  *g->add_node() = cast("x", "x16", onnx::TensorProto::FLOAT16);
  *g->add_node() = cast("y16", "y", onnx::TensorProto::FLOAT);
  auto* vi = g->add_value_info();
  vi->set_name("c");
  vi->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT16);
  const std::string bytes = m.SerializeAsString();
  ir::Graph graph = ir::parse_onnx(bytes.data(), bytes.size(), "f16.onnx");
  graph.validate_and_sort();
  EXPECT_EQ(graph.value_info.at("c").dtype, DType::kF32);

  // The expected result: the same convolution of x rounded to float16, in float32.
  const Tensor x = random_input({1, 2, 5, 5}, 3);
  Tensor x16 = x.clone();
  for (float& v : x16.span<float>()) v = half_to_float(float_to_half(v));
  std::string plain = small_model().SerializeAsString();
  ir::Graph reference = ir::parse_onnx(plain.data(), plain.size(), "small.onnx");
  for (int i = 0; i < 54; ++i)
    reference.initializers.at("W").data<float>()[i] = half_to_float(float_to_half(vals[i]));
  runtime::SessionOptions ref;
  ref.backends = {"ref"};
  const Tensor want = runtime::Session(reference, ref).run({x16})[0];
  for (const std::vector<std::string>& backends :
       {std::vector<std::string>{"ref"}, std::vector<std::string>{"cpu", "ref"}}) {
    runtime::SessionOptions opt;
    opt.backends = backends;
    runtime::Session s(graph, opt);
    const Tensor y = s.run({x})[0];
    ASSERT_EQ(y.dtype(), DType::kF32);
    ASSERT_EQ(y.shape(), want.shape());
    // On cpu the cast back to float32 moves nothing (a view of its input).
    if (backends[0] == "cpu")
      for (const auto& a : s.assignments())
        if (a.node_name == "cast_y") {
          EXPECT_EQ(a.impl.rfind("view", 0), 0u) << a.impl;
        }
    for (int64_t i = 0; i < y.numel(); ++i)
      EXPECT_NEAR(y.data<float>()[i], want.data<float>()[i], 1e-5) << backends[0] << " " << i;
  }
  // Saved, the casts say float32: the file type-checks against its float32 weights.
  const std::string saved = ir::serialize_onnx(graph);
  onnx::ModelProto back;
  ASSERT_TRUE(back.ParseFromString(saved));
  for (const auto& n : back.graph().node())
    if (n.op_type() == "Cast") {
      EXPECT_EQ(n.attribute(0).i(), onnx::TensorProto::FLOAT);
    }
}

namespace {

// An opset-17 model with a float32 input "x" and an output "y" of ONNX type `y_type`, both
// of `n` elements; the caller adds the nodes.
onnx::ModelProto x_to_y_model(const std::string& name, int64_t n, int y_type) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name(name);
  for (auto* vi : {g->add_input(), g->add_output()}) {
    vi->set_name(vi == &g->input(0) ? "x" : "y");
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(vi == &g->input(0) ? onnx::TensorProto::FLOAT : y_type);
    tt->mutable_shape()->add_dim()->set_dim_value(n);
  }
  return m;
}

}  // namespace

// Cast to float16 and bfloat16 on ref and cpu: float32 storage holding values rounded to
// nearest even on that grid, overflow to infinity (float16), NaN kept.
TEST(OnnxIo, CastToSixteenBitFloatsRoundsInFloat32) {
  const std::vector<float> in{1.0f / 3,    -2.5f, 65519.0f,
                              65520.0f,    1e-8f, 3e-5f,
                              1.00390625f, -0.0f, std::numeric_limits<float>::quiet_NaN(),
                              1e20f};
  for (const int to : {onnx::TensorProto::FLOAT16, onnx::TensorProto::BFLOAT16}) {
    onnx::ModelProto m = x_to_y_model("cast", static_cast<int64_t>(in.size()), to);
    auto* g = m.mutable_graph();
    auto* n = g->add_node();
    n->set_name("cast");
    n->set_op_type("Cast");
    n->add_input("x");
    n->add_output("y");
    auto* a = n->add_attribute();
    a->set_name("to");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(to);
    const std::string bytes = m.SerializeAsString();
    const ir::Graph graph = ir::parse_onnx(bytes.data(), bytes.size(), "cast.onnx");
    const Tensor x = Tensor::from_vector<float>({static_cast<int64_t>(in.size())}, in);
    for (const char* backend : {"ref", "cpu"}) {
      runtime::SessionOptions opt;
      opt.backends = {backend};
      runtime::Session s(graph, opt);
      const Tensor y = s.run({x})[0];
      ASSERT_EQ(y.dtype(), DType::kF32) << backend;
      for (size_t i = 0; i < in.size(); ++i) {
        const float want = to == onnx::TensorProto::FLOAT16 ? half_to_float(float_to_half(in[i]))
                                                            : bf16_to_float(float_to_bf16(in[i]));
        const float got = y.data<float>()[i];
        if (std::isnan(want))
          EXPECT_TRUE(std::isnan(got)) << backend << " " << in[i];
        else
          EXPECT_EQ(got, want) << backend << " " << in[i] << " to " << to;
      }
      if (to == onnx::TensorProto::FLOAT16) {
        EXPECT_EQ(y.data<float>()[0], 0.333251953125f) << backend;
        EXPECT_TRUE(std::isinf(y.data<float>()[3])) << backend;
      }
    }
  }
}

// CastLike to a float16 / bfloat16 value (an initializer here) rounds as Cast does: the
// loader turns it into Cast(to=that type), since the value itself is held as float32. To a
// float32 value it stays CastLike and keeps every bit.
TEST(OnnxIo, CastLikeToSixteenBitFloatsRounds) {
  const std::vector<float> in{1.0f / 3, -2.5f, 65520.0f, 1.00390625f, 3e-5f};
  for (const int like :
       {onnx::TensorProto::FLOAT16, onnx::TensorProto::BFLOAT16, onnx::TensorProto::FLOAT}) {
    onnx::ModelProto m = x_to_y_model("castlike", static_cast<int64_t>(in.size()), like);
    auto* g = m.mutable_graph();
    auto* t = g->add_initializer();
    t->set_name("like");
    t->set_data_type(like);
    t->add_dims(1);
    if (like == onnx::TensorProto::FLOAT)
      t->add_float_data(0.0f);
    else
      t->add_int32_data(0);  // 16-bit floats are stored as int32_data
    auto* n = g->add_node();
    n->set_name("castlike");
    n->set_op_type("CastLike");
    n->add_input("x");
    n->add_input("like");
    n->add_output("y");
    const std::string bytes = m.SerializeAsString();
    const ir::Graph graph = ir::parse_onnx(bytes.data(), bytes.size(), "castlike.onnx");
    ASSERT_EQ(graph.nodes.size(), 1u);
    EXPECT_EQ(graph.nodes[0].op_type, like == onnx::TensorProto::FLOAT ? "CastLike" : "Cast");
    const Tensor x = Tensor::from_vector<float>({static_cast<int64_t>(in.size())}, in);
    for (const char* backend : {"ref", "cpu"}) {
      runtime::SessionOptions opt;
      opt.backends = {backend, "ref"};
      runtime::Session s(graph, opt);
      const Tensor y = s.run({x})[0];
      ASSERT_EQ(y.dtype(), DType::kF32) << backend;
      for (size_t i = 0; i < in.size(); ++i) {
        const float want = like == onnx::TensorProto::FLOAT16 ? half_to_float(float_to_half(in[i]))
                           : like == onnx::TensorProto::BFLOAT16
                               ? bf16_to_float(float_to_bf16(in[i]))
                               : in[i];
        EXPECT_EQ(y.data<float>()[i], want) << backend << " " << in[i] << " like " << like;
      }
    }
  }
}

TEST(OnnxIoBadInput, TruncatedAndRandomBytes) {
  std::string bytes = small_model().SerializeAsString();
  for (size_t cut : {size_t{1}, bytes.size() / 3, bytes.size() - 5}) {
    try {
      ir::Graph g = ir::parse_onnx(bytes.data(), cut, "trunc.onnx");
      auto info = ops::infer_graph(g);
      ops::require_supported(g, info, "trunc.onnx");
      // A cut that happens to leave a parseable prefix must still not pass as the model.
      ADD_FAILURE() << "truncated at " << cut << " loaded";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find("trunc.onnx"), std::string::npos) << e.what();
    }
  }
  Philox r(5);
  for (int trial = 0; trial < 50; ++trial) {
    std::string junk(1000, '\0');
    for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>(r.u32(trial * 1000 + i));
    EXPECT_THROW(ir::parse_onnx(junk.data(), junk.size(), "junk.onnx"), UserError);
  }
  EXPECT_THROW(ir::parse_onnx("", 0, "empty.onnx"), UserError);
  EXPECT_THROW(ir::load_onnx("/nonexistent/model.onnx"), UserError);
}

TEST(OnnxIoBadInput, MissingInitializer) {
  auto m = small_model();
  m.mutable_graph()->clear_initializer();
  expect_error(m, "input 'W' is not a graph input, an initializer or any node's output");
}

TEST(OnnxIoBadInput, DanglingValueAndMissingOutput) {
  auto m = small_model();
  m.mutable_graph()->mutable_node(1)->set_input(0, "nowhere");
  expect_error(m, "node 'relu' (Relu): input 'nowhere'");
  auto m2 = small_model();
  m2.mutable_graph()->mutable_output(0)->set_name("zzz");
  expect_error(m2, "graph output 'zzz' is not produced");
}

TEST(OnnxIoBadInput, Cycle) {
  auto m = small_model();
  // conv reads relu's output, relu reads conv's: a cycle.
  m.mutable_graph()->mutable_node(0)->set_input(0, "y");
  expect_error(m, "cycle");
}

TEST(OnnxIoBadInput, DuplicateOutput) {
  auto m = small_model();
  m.mutable_graph()->mutable_node(1)->set_output(0, "c");
  expect_error(m, "already defined");
}

TEST(OnnxIoBadInput, WrongArity) {
  auto m = small_model();
  m.mutable_graph()->mutable_node(1)->add_input("x");  // Relu with 2 inputs
  expect_error(m, "node 'relu' (Relu): has 2 inputs, expected 1");
}

TEST(OnnxIoBadInput, NegativeAndOverflowingDimensions) {
  auto m = small_model();
  m.mutable_graph()->mutable_initializer(0)->set_dims(0, -3);
  expect_error(m, "negative dimension");
  auto m2 = small_model();
  auto* w = m2.mutable_graph()->mutable_initializer(0);
  w->clear_dims();
  for (int64_t d : {int64_t{1} << 40, int64_t{1} << 40}) w->add_dims(d);
  expect_error(m2, "overflows");
  // A declared shape far larger than the data present: refused before allocating.
  auto m3 = small_model();
  m3.mutable_graph()->mutable_initializer(0)->set_dims(0, int64_t{1} << 40);
  expect_error(m3, "holds 54 values");
  // A graph input asking for more memory than exists: refused at allocation, no attempt.
  auto m4 = small_model();
  auto* shp =
      m4.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
  shp->mutable_dim(2)->set_dim_value(int64_t{1} << 30);
  shp->mutable_dim(3)->set_dim_value(int64_t{1} << 30);
  std::string err = load_error(m4);
  EXPECT_FALSE(err.empty());
}

TEST(OnnxIoBadInput, WrongInputShapeOrTypeAtRun) {
  std::string bytes = small_model().SerializeAsString();
  ir::Graph g = ir::parse_onnx(bytes.data(), bytes.size(), "small.onnx");
  runtime::SessionOptions opt;
  runtime::Session s(g, opt);
  try {
    s.run({random_input({1, 2, 6, 5}, 1)});
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("input 'x': expected shape 1x2x5x5, got 1x2x6x5"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(s.run({Tensor(DType::kI64, {1, 2, 5, 5})}), UserError);
  EXPECT_THROW(s.run(std::vector<Tensor>{}), UserError);
}

TEST(OnnxIoBadInput, InconsistentShapesNameTheNode) {
  auto m = small_model();
  // Weight expects 4 input channels, x has 2.
  auto* w = m.mutable_graph()->mutable_initializer(0);
  w->set_dims(1, 1);
  w->set_dims(0, 6);
  expect_error(m, "node 'conv' (Conv)");
}

TEST(OnnxIoBadInput, UnsupportedOperatorAndOpset) {
  auto m = small_model();
  m.mutable_graph()->mutable_node(1)->set_op_type("FancyOp");
  std::string bytes = m.SerializeAsString();
  ir::Graph g = ir::parse_onnx(bytes.data(), bytes.size(), "fancy.onnx");
  auto info = ops::infer_graph(g);
  EXPECT_FALSE(info.supported());
  try {
    ops::require_supported(g, info, "fancy.onnx");
    FAIL();
  } catch (const UnsupportedError& e) {
    EXPECT_NE(std::string(e.what()).find("FancyOp: operator not implemented"), std::string::npos)
        << e.what();
  }
  auto m2 = small_model();
  m2.mutable_opset_import(0)->set_version(99);
  expect_error(m2, "opset 99 is not supported");
  auto m3 = small_model();
  m3.clear_opset_import();
  expect_error(m3, "no opset_import");
}

// Issue 24: an op_type with an embedded NUL printed as a plausible "Relu".
TEST(OnnxIoBadInput, ControlBytesInIdentifiersAreShownEscaped) {
  auto m = small_model();
  m.mutable_graph()->mutable_node(1)->set_op_type(std::string("Relu\0x", 6));
  expect_error(m, "'Relu\\x00x' holds a control byte");
}

// Issue 24: a declared output of 1x2^31 for a graph that computes 1x3x3x3 was accepted.
TEST(OnnxIoBadInput, DeclaredOutputShapeContradictingInference) {
  auto m = small_model();
  auto* shp =
      m.mutable_graph()->mutable_output(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
  shp->clear_dim();
  shp->add_dim()->set_dim_value(1);
  shp->add_dim()->set_dim_value(int64_t{1} << 31);
  expect_error(m, "graph output 'y' is declared 1x2147483648 but the graph computes 1x3x3x3");
  // A symbolic or unknown declared dimension agrees with anything.
  auto ok = small_model();
  ok.mutable_graph()
      ->mutable_output(0)
      ->mutable_type()
      ->mutable_tensor_type()
      ->mutable_shape()
      ->mutable_dim(0)
      ->set_dim_param("N");
  EXPECT_EQ(load_error(ok), "");
}

// Issue 24: --batch on a model whose inputs are all fixed was silently ignored, so figures
// were labelled with a batch that never ran.
TEST(OnnxIoBadInput, BatchAskedOfAFixedShapeModel) {
  std::string bytes = small_model().SerializeAsString();
  ir::Graph g = ir::parse_onnx(bytes.data(), bytes.size(), "small.onnx");
  ops::InferOptions o;
  o.batch = int64_t{1} << 40;
  try {
    ops::infer_graph(g, o);
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(
        std::string(e.what()).find("batch 1099511627776 asked, but every input of the model has a "
                                   "fixed shape (input 'x' is 1x2x5x5)"),
        std::string::npos)
        << e.what();
  }
  o.batch = 1;
  EXPECT_NO_THROW(ops::infer_graph(g, o));
  // The batch of a full input shape given with it (as bench/peers/frugal_peer does) runs.
  o.batch = 8;
  o.input_shapes["x"] = {8, 2, 5, 5};
  EXPECT_NO_THROW(ops::infer_graph(g, o));
}
