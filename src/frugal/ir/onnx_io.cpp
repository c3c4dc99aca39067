#include "frugal/ir/onnx_io.h"
#include "frugal/core/atomic_file.h"

#include <fcntl.h>
#include <onnx/onnx_pb.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace frugal::ir {
namespace {

bool has_control_byte(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

// `s` with control bytes written as \xHH, so that an error shows what the file holds.
std::string escaped(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      char b[8];
      std::snprintf(b, sizeof(b), "\\x%02X", c);
      out += b;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw UserError(path + ": no such file");
  if (fs::is_directory(path, ec)) throw UserError(path + ": is a directory, not a model file");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw UserError(path + ": cannot open (" + std::strerror(errno) + ")");
  // One read into a buffer of the file's size: a stringstream would copy a 350 MB model
  // several times as it grows (session init time, bench/RESULTS.md).
  const auto size = fs::file_size(path, ec);
  if (ec) {  // not a regular file (a pipe): read as it comes
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  std::string bytes(static_cast<size_t>(size), '\0');
  f.read(bytes.data(), static_cast<std::streamsize>(size));
  if (static_cast<uintmax_t>(f.gcount()) != size)
    throw UserError(path + ": cannot read (" + std::strerror(errno) + ")");
  return bytes;
}

// A file's bytes, mapped read-only where it is a regular file (the page cache's pages, not
// a 350 MB copy of them), else read into memory.
class FileBytes {
 public:
  explicit FileBytes(const std::string& path) {
    // stat, not open, decides: a pipe is opened once only, by read_file. Opened here and
    // closed, its writer could write everything into the pipe meanwhile and leave, its
    // bytes lost with the last reader and the second open waiting for a writer forever.
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) map(path);
    if (!map_) copy_ = read_file(path);  // and its errors: missing, directory, unreadable
  }
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;
  ~FileBytes() { release(); }

  const void* data() const { return map_ ? map_ : copy_.data(); }
  size_t size() const { return map_ ? size_ : copy_.size(); }
  void release() {
    if (map_) ::munmap(map_, size_);
    map_ = nullptr;
    std::string().swap(copy_);
  }

 private:
  void map(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
      void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ,
                       MAP_PRIVATE | MAP_POPULATE, fd, 0);
      if (p != MAP_FAILED) {
        map_ = p;
        size_ = static_cast<size_t>(st.st_size);
      }
    }
    ::close(fd);
  }

  void* map_ = nullptr;
  size_t size_ = 0;
  std::string copy_;
};

struct Loader {
  std::string origin;
  std::string base_dir;

  [[noreturn]] void fail(const std::string& why) const { throw UserError(origin + ": " + why); }

  // Bytes of external data for a tensor, bounded by the file's real size.
  std::string external_bytes(const onnx::TensorProto& tp, size_t expected) const {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const auto& kv : tp.external_data()) {
      if (kv.key() == "location")
        location = kv.value();
      else if (kv.key() == "offset")
        offset = std::atoll(kv.value().c_str());
      else if (kv.key() == "length")
        length = std::atoll(kv.value().c_str());
    }
    if (location.empty()) fail("tensor '" + tp.name() + "': external data without a location");
    if (base_dir.empty()) fail("tensor '" + tp.name() + "': external data, but no model folder");
    fs::path p = fs::path(base_dir) / location;
    std::error_code ec;
    auto fsize = fs::file_size(p, ec);
    if (ec)
      fail("tensor '" + tp.name() + "': external data file " + p.string() + ": " + ec.message());
    if (length < 0) length = static_cast<int64_t>(expected);
    if (offset < 0 || static_cast<uint64_t>(offset) + static_cast<uint64_t>(length) > fsize)
      fail("tensor '" + tp.name() + "': external data range [" + std::to_string(offset) + ", +" +
           std::to_string(length) + ") lies outside " + p.string() + " (" + std::to_string(fsize) +
           " bytes)");
    std::ifstream f(p, std::ios::binary);
    std::string bytes(static_cast<size_t>(length), '\0');
    f.seekg(offset);
    f.read(bytes.data(), length);
    if (!f) fail("tensor '" + tp.name() + "': cannot read external data from " + p.string());
    return bytes;
  }

  Tensor tensor(const onnx::TensorProto& tp) const {
    const std::string what = "tensor '" + tp.name() + "'";
    DType stored = dtype_from_onnx(tp.data_type());
    if (stored == DType::kUndefined || stored == DType::kString)
      throw UnsupportedError(origin + ": " + what + " has data type " +
                             std::to_string(tp.data_type()) + ", which frugal does not support");
    Shape shape(tp.dims().begin(), tp.dims().end());
    for (int64_t d : shape)
      if (d < 0) fail(what + " has a negative dimension (" + shape_str(shape) + ")");
    int64_t n;
    try {
      n = shape_numel(shape);
    } catch (const UserError&) {
      fail(what + " has a shape whose size overflows (" + shape_str(shape) + ")");
    }
    const size_t esize = dtype_size(stored);
    // Check that the data present matches the shape before allocating anything, so that
    // a forged shape cannot ask for more memory than the file holds.
    auto need = [&](size_t have, size_t per_element) {
      if (static_cast<uint64_t>(n) != have / per_element || have % per_element)
        fail(what + " declares shape " + shape_str(shape) + " (" + std::to_string(n) +
             " elements) but holds " + std::to_string(have / per_element) + " values");
    };
    std::string ext;
    const std::string* raw = nullptr;
    if (tp.data_location() == onnx::TensorProto::EXTERNAL) {
      if (static_cast<uint64_t>(n) > max_tensor_bytes() / esize)
        fail(what + " of shape " + shape_str(shape) + " needs more memory than this machine has");
      ext = external_bytes(tp, static_cast<size_t>(n) * esize);
      raw = &ext;
    } else if (tp.has_raw_data()) {
      raw = &tp.raw_data();
    }
    const DType dt = held_type(stored);
    if (raw) {
      need(raw->size(), esize);
      Tensor t = Tensor::uninitialized(dt, shape);  // every byte written below
      if (stored == DType::kF16 || stored == DType::kBF16) {
        widen_16bit_floats(raw->data(), t.data<float>(), n, stored == DType::kBF16);
      } else if (n) {
        std::memcpy(t.raw(), raw->data(), raw->size());
      }
      return t;
    }
    // Typed repeated fields (ONNX stores small ints, bool, fp16 and bf16 in int32_data).
    switch (stored) {
      case DType::kF32: {
        need(tp.float_data_size(), 1);
        Tensor t(dt, shape);
        std::copy(tp.float_data().begin(), tp.float_data().end(), t.data<float>());
        return t;
      }
      case DType::kF64: {
        need(tp.double_data_size(), 1);
        Tensor t(dt, shape);
        std::copy(tp.double_data().begin(), tp.double_data().end(), t.data<double>());
        return t;
      }
      case DType::kI64: {
        need(tp.int64_data_size(), 1);
        Tensor t(dt, shape);
        std::copy(tp.int64_data().begin(), tp.int64_data().end(), t.data<int64_t>());
        return t;
      }
      case DType::kU32:
      case DType::kU64: {
        need(tp.uint64_data_size(), 1);
        Tensor t(dt, shape);
        visit_dtype(dt, [&](auto tag) {
          using T = decltype(tag);
          T* out = static_cast<T*>(t.raw());
          for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(tp.uint64_data(i));
        });
        return t;
      }
      default: {
        need(tp.int32_data_size(), 1);
        Tensor t(dt, shape);
        if (stored == DType::kF16 || stored == DType::kBF16) {
          float* out = t.data<float>();
          for (int64_t i = 0; i < n; ++i) {
            auto h = static_cast<uint16_t>(tp.int32_data(i));
            out[i] = stored == DType::kF16 ? half_to_float(h) : bf16_to_float(h);
          }
          return t;
        }
        visit_dtype(dt, [&](auto tag) {
          using T = decltype(tag);
          T* out = static_cast<T*>(t.raw());
          for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(tp.int32_data(i));
        });
        return t;
      }
    }
  }

  ValueInfo value_info(const onnx::ValueInfoProto& vi) const {
    ValueInfo v;
    v.name = vi.name();
    if (!vi.has_type()) return v;  // unknown type: left to inference
    if (!vi.type().has_tensor_type())
      throw UnsupportedError(origin + ": value '" + vi.name() +
                             "' is not a tensor (sequences, maps and optionals are not supported)");
    const auto& tt = vi.type().tensor_type();
    v.dtype = dtype_from_onnx(tt.elem_type());
    if (v.dtype == DType::kUndefined && tt.elem_type() != 0)
      throw UnsupportedError(origin + ": value '" + vi.name() + "' has data type " +
                             std::to_string(tt.elem_type()) + ", which frugal does not support");
    v.dtype = held_type(v.dtype);  // float16 / bfloat16 values are held as float32
    if (tt.has_shape()) {
      std::vector<Dim> dims;
      for (const auto& d : tt.shape().dim()) {
        Dim dim;
        if (d.has_dim_value()) {
          if (d.dim_value() < 0)
            fail("value '" + vi.name() + "' has a negative dimension " +
                 std::to_string(d.dim_value()));
          dim.value = d.dim_value();
        } else if (d.has_dim_param()) {
          dim.param = d.dim_param();
        }
        dims.push_back(dim);
      }
      v.shape = std::move(dims);
    }
    return v;
  }

  Attribute attribute(const onnx::AttributeProto& a, const Node& node) const {
    using AP = onnx::AttributeProto;
    Attribute out;
    switch (a.type()) {
      case AP::FLOAT:
        out.value = a.f();
        break;
      case AP::INT:
        out.value = static_cast<int64_t>(a.i());
        break;
      case AP::STRING:
        out.value = a.s();
        break;
      case AP::TENSOR:
        out.value = tensor(a.t());
        break;
      case AP::FLOATS:
        out.value = std::vector<float>(a.floats().begin(), a.floats().end());
        break;
      case AP::INTS:
        out.value = std::vector<int64_t>(a.ints().begin(), a.ints().end());
        break;
      case AP::STRINGS:
        out.value = std::vector<std::string>(a.strings().begin(), a.strings().end());
        break;
      case AP::UNDEFINED:
        // Pre-IR-v3 files leave the type unset: infer it from which field is filled.
        if (a.has_f())
          out.value = a.f();
        else if (a.has_i())
          out.value = static_cast<int64_t>(a.i());
        else if (a.has_s())
          out.value = a.s();
        else if (a.has_t())
          out.value = tensor(a.t());
        else if (a.floats_size())
          out.value = std::vector<float>(a.floats().begin(), a.floats().end());
        else if (a.ints_size())
          out.value = std::vector<int64_t>(a.ints().begin(), a.ints().end());
        else if (a.strings_size())
          out.value = std::vector<std::string>(a.strings().begin(), a.strings().end());
        else
          fail(node.describe() + ": attribute '" + a.name() + "' has no type and no value");
        break;
      default:
        throw UnsupportedError(origin + ": " + node.describe() + ": attribute '" + a.name() +
                               "' is a graph, sparse tensor or type; subgraphs are not supported");
    }
    return out;
  }

  Graph graph(const onnx::ModelProto& m) const {
    if (!m.has_graph()) fail("not an ONNX model (no graph)");
    Graph g;
    g.ir_version = m.ir_version();
    g.producer_name = m.producer_name();
    g.producer_version = m.producer_version();
    g.doc = m.doc_string();
    for (const auto& op : m.opset_import()) {
      std::string domain = op.domain() == "ai.onnx" ? "" : op.domain();
      g.opsets[domain] = op.version();
    }
    if (m.opset_import_size() == 0) {
      if (m.ir_version() >= 3) fail("model declares no opset_import");
      g.opsets[""] = 1;  // IR v1/v2 models predate opset_import
    }
    int64_t v = g.opset("");
    if (g.opsets.count("") && (v > kMaxOpset || v < kMinOpset))
      throw UnsupportedError(origin + ": default-domain opset " + std::to_string(v) +
                             " is not supported (frugal implements opsets 1 to " +
                             std::to_string(kMaxOpset) + ")");
    for (const auto& p : m.metadata_props()) g.metadata[p.key()] = p.value();
    const auto& gp = m.graph();
    g.name = gp.name();
    for (const auto& t : gp.initializer()) {
      if (t.name().empty()) fail("an initializer has no name");
      if (!g.initializers.emplace(t.name(), tensor(t)).second)
        fail("initializer '" + t.name() + "' is defined twice");
    }
    if (gp.sparse_initializer_size())
      throw UnsupportedError(origin + ": sparse initializers are not supported");
    for (const auto& vi : gp.input()) {
      if (g.initializers.count(vi.name())) continue;  // IR < 4 lists initializers as inputs
      g.inputs.push_back(value_info(vi));
    }
    for (const auto& vi : gp.output()) g.outputs.push_back(value_info(vi));
    for (const auto& vi : gp.value_info()) {
      try {
        ValueInfo v = value_info(vi);
        g.value_info[v.name] = v;
      } catch (const UnsupportedError&) {
        // Intermediate type annotations are hints; a non-tensor one is ignored here and
        // caught by the node that produces it.
      }
    }
    size_t idx = 0;
    for (const auto& np : gp.node()) {
      Node n;
      n.name = np.name().empty() ? np.op_type() + "_" + std::to_string(idx) : np.name();
      n.op_type = np.op_type();
      n.domain = np.domain() == "ai.onnx" ? "" : np.domain();
      // A control byte inside an identifier would print as a shorter, plausible name
      // ("Relu\0x" as "Relu"): refuse it, shown escaped.
      for (const std::string* id : {&n.op_type, &n.domain, &n.name})
        if (has_control_byte(*id))
          fail("node " + std::to_string(idx) + ": name, op_type or domain '" + escaped(*id) +
               "' holds a control byte (corrupt model?)");
      n.inputs.assign(np.input().begin(), np.input().end());
      n.outputs.assign(np.output().begin(), np.output().end());
      for (const auto& a : np.attribute()) {
        if (a.name().empty()) fail(n.describe() + ": an attribute has no name");
        n.attrs[a.name()] = attribute(a, n);
      }
      if (!n.domain.empty() && !g.opsets.count(n.domain))
        fail(n.describe() + ": domain '" + n.domain + "' is not in opset_import");
      g.nodes.push_back(std::move(n));
      ++idx;
    }
    cast_like_to_sixteen_bits(gp, g);
    try {
      g.validate_and_sort();
    } catch (const UserError& e) {
      fail(e.what());
    }
    return g;
  }

  // CastLike(x, like) with `like` a float16 or bfloat16 value becomes Cast(x, to=that type):
  // frugal holds such values as float32 (core/dtype.h held_type), so the kernel would see a
  // float32 `like` and not round; Cast rounds to the 16-bit grid. The 16-bit values known
  // here: initializers, declared inputs, outputs and value_info, and the outputs of Casts
  // to them.
  static void cast_like_to_sixteen_bits(const onnx::GraphProto& gp, Graph& g) {
    std::map<std::string, int64_t> sixteen;  // value -> its ONNX 16-bit float type
    const auto note = [&](const std::string& name, int64_t type) {
      if (type == onnx::TensorProto::FLOAT16 || type == onnx::TensorProto::BFLOAT16)
        sixteen[name] = type;
    };
    for (const auto& t : gp.initializer()) note(t.name(), t.data_type());
    for (const auto* list : {&gp.input(), &gp.output(), &gp.value_info()})
      for (const auto& vi : *list)
        if (vi.type().has_tensor_type()) note(vi.name(), vi.type().tensor_type().elem_type());
    for (const Node& n : g.nodes)
      if (n.op_type == "Cast" && n.domain.empty() && n.has_attr("to") && !n.outputs.empty() &&
          n.attrs.at("to").kind() == Attribute::Kind::kInt)
        note(n.outputs[0], std::get<int64_t>(n.attrs.at("to").value));
    for (Node& n : g.nodes) {
      if (n.op_type != "CastLike" || !n.domain.empty() || n.inputs.size() != 2) continue;
      const auto it = sixteen.find(n.inputs[1]);
      if (it == sixteen.end()) continue;
      n.op_type = "Cast";
      n.inputs.resize(1);
      n.attrs["to"] = Attribute{it->second};
    }
  }
};

void fill_tensor(const Tensor& t, const std::string& name, onnx::TensorProto* tp) {
  tp->set_name(name);
  tp->set_data_type(dtype_to_onnx(t.dtype()));
  for (int64_t d : t.shape()) tp->add_dims(d);
  tp->set_raw_data(t.raw(), t.nbytes());
}

void fill_value_info(const ValueInfo& v, onnx::ValueInfoProto* vi) {
  vi->set_name(v.name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(dtype_to_onnx(v.dtype));
  if (v.shape) {
    auto* sh = tt->mutable_shape();
    for (const Dim& d : *v.shape) {
      auto* dim = sh->add_dim();
      if (d.known())
        dim->set_dim_value(d.value);
      else if (!d.param.empty())
        dim->set_dim_param(d.param);
    }
  }
}

}  // namespace

namespace {

onnx::ModelProto parse_model(const void* data, size_t size, const std::string& origin) {
  if (size == 0) throw UserError(origin + ": empty file, not an ONNX model");
  if (size > static_cast<size_t>(INT32_MAX))
    throw UnsupportedError(origin + ": model files over 2 GiB must use external data");
  onnx::ModelProto m;
  if (!m.ParseFromArray(data, static_cast<int>(size)))
    throw UserError(origin +
                    ": not a valid ONNX model (protobuf parsing failed: truncated or "
                    "not a ModelProto)");
  return m;
}

}  // namespace

Graph parse_onnx(const void* data, size_t size, const std::string& origin,
                 const std::string& base_dir) {
  return Loader{origin, base_dir}.graph(parse_model(data, size, origin));
}

Graph load_onnx(const std::string& path) {
  FileBytes bytes(path);
  const onnx::ModelProto m = parse_model(bytes.data(), bytes.size(), path);
  // The file's bytes go before the tensors are built: a third copy of the weights would
  // set the peak memory of loading.
  bytes.release();
  std::string dir = fs::path(path).parent_path().string();
  return Loader{path, dir.empty() ? "." : dir}.graph(m);
}

std::string serialize_onnx(const Graph& g) {
  onnx::ModelProto m;
  m.set_ir_version(g.ir_version);
  m.set_producer_name(g.producer_name);
  m.set_producer_version(g.producer_version);
  if (!g.doc.empty()) m.set_doc_string(g.doc);
  for (const auto& [domain, version] : g.opsets) {
    auto* op = m.add_opset_import();
    op->set_domain(domain);
    op->set_version(version);
  }
  for (const auto& [k, v] : g.metadata) {
    auto* p = m.add_metadata_props();
    p->set_key(k);
    p->set_value(v);
  }
  auto* gp = m.mutable_graph();
  gp->set_name(g.name.empty() ? "graph" : g.name);
  for (const auto& [name, t] : g.initializers) fill_tensor(t, name, gp->add_initializer());
  for (const auto& v : g.inputs) fill_value_info(v, gp->add_input());
  for (const auto& v : g.outputs) fill_value_info(v, gp->add_output());
  for (const auto& [name, v] : g.value_info)
    if (v.dtype != DType::kUndefined) fill_value_info(v, gp->add_value_info());
  for (const auto& n : g.nodes) {
    auto* np = gp->add_node();
    np->set_name(n.name);
    np->set_op_type(n.op_type);
    if (!n.domain.empty()) np->set_domain(n.domain);
    for (const auto& i : n.inputs) np->add_input(i);
    for (const auto& o : n.outputs) np->add_output(o);
    for (const auto& [key, a] : n.attrs) {
      using AP = onnx::AttributeProto;
      auto* ap = np->add_attribute();
      ap->set_name(key);
      // A cast to float16 / bfloat16 is written as the float32 cast frugal runs (its values
      // are held as float32, core/dtype.h held_type), so that the file type-checks: its
      // readers' other operands were widened at load.
      const bool cast_to = n.op_type == "Cast" && n.domain.empty() && key == "to";
      std::visit(
          [&](const auto& v) {
            using V = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<V, float>) {
              ap->set_type(AP::FLOAT);
              ap->set_f(v);
            } else if constexpr (std::is_same_v<V, int64_t>) {
              ap->set_type(AP::INT);
              const bool held_cast =
                  cast_to && held_type(dtype_from_onnx(static_cast<int32_t>(v))) == DType::kF32;
              ap->set_i(held_cast ? dtype_to_onnx(DType::kF32) : v);
            } else if constexpr (std::is_same_v<V, std::string>) {
              ap->set_type(AP::STRING);
              ap->set_s(v);
            } else if constexpr (std::is_same_v<V, Tensor>) {
              ap->set_type(AP::TENSOR);
              fill_tensor(v, "", ap->mutable_t());
            } else if constexpr (std::is_same_v<V, std::vector<float>>) {
              ap->set_type(AP::FLOATS);
              for (float f : v) ap->add_floats(f);
            } else if constexpr (std::is_same_v<V, std::vector<int64_t>>) {
              ap->set_type(AP::INTS);
              for (int64_t i : v) ap->add_ints(i);
            } else {
              ap->set_type(AP::STRINGS);
              for (const auto& s : v) ap->add_strings(s);
            }
          },
          a.value);
    }
  }
  std::string out;
  if (!m.SerializeToString(&out))
    throw InternalError("serializing the ONNX model failed (is it over 2 GiB?)");
  return out;
}

void save_onnx(const Graph& g, const std::string& path) {
  // A failed or killed write never leaves half a model, nor a temporary.
  write_file_atomically(path, serialize_onnx(g));
}

Tensor load_tensor_pb(const std::string& path) {
  std::string bytes = read_file(path);
  onnx::TensorProto tp;
  if (!tp.ParseFromString(bytes)) throw UserError(path + ": not a valid TensorProto");
  std::string dir = fs::path(path).parent_path().string();
  Loader l{path, dir};
  return l.tensor(tp);
}

}  // namespace frugal::ir
