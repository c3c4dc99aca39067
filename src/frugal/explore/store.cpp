#include "frugal/explore/store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "frugal/core/error.h"

namespace frugal::explore {
namespace {

namespace fs = std::filesystem;

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS points(
  key TEXT PRIMARY KEY, spec TEXT NOT NULL, status TEXT NOT NULL, stage TEXT,
  exit_code INTEGER, signal INTEGER, timed_out INTEGER, error TEXT, stderr_tail TEXT,
  started TEXT, finished TEXT, wall_s REAL);
CREATE TABLE IF NOT EXISTS records(
  key TEXT PRIMARY KEY REFERENCES points(key), record TEXT NOT NULL,
  model TEXT, transform TEXT, backend TEXT, precision TEXT, format TEXT, threads INTEGER,
  batch INTEGER, scenario TEXT, top1 REAL, latency_p50_ms REAL, latency_p90_ms REAL,
  samples_per_s REAL, joules_per_inference REAL, energy_kind TEXT, energy_source TEXT,
  model_bytes REAL, peak_rss REAL);
)sql";

// Why an SQLite call failed, in words a user can act on.
std::string reason(sqlite3* db, int rc) {
  if (rc == SQLITE_FULL) return "disk full";
  if (rc == SQLITE_READONLY) return "read-only file or file system";
  if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB)
    return "corrupt file (not a valid SQLite database)";
  if (rc == SQLITE_CANTOPEN) return "cannot open the file";
  return db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
}

class Statement {
 public:
  Statement(sqlite3* db, const std::string& path, const char* sql) : db_(db), path_(path) {
    int rc = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
    if (rc != SQLITE_OK) throw UserError(path + ": " + reason(db, rc));
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& bind(int i, const std::optional<double>& v) {
    if (v)
      sqlite3_bind_double(stmt_, i, *v);
    else
      sqlite3_bind_null(stmt_, i);
    return *this;
  }
  // True while there is a row.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw UserError(path_ + ": " + reason(db_, rc));
  }
  std::string text(int col) const {
    auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
  }
  int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const { return sqlite3_column_double(stmt_, col); }

 private:
  sqlite3* db_;
  const std::string& path_;
  sqlite3_stmt* stmt_ = nullptr;
};

void exec(sqlite3* db, const std::string& path, const char* sql) {
  char* msg = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &msg);
  if (rc != SQLITE_OK) {
    std::string why = rc == SQLITE_FULL || rc == SQLITE_READONLY || rc == SQLITE_CORRUPT ||
                              rc == SQLITE_NOTADB || !msg
                          ? reason(db, rc)
                          : std::string(msg);
    sqlite3_free(msg);
    throw UserError(path + ": " + why);
  }
}

// A read-only connection. A WAL database needs its -shm file, which a reader in a folder it
// cannot write cannot create: then, when no -wal is pending, open it as immutable.
int open_read_only(const std::string& path, sqlite3** db) {
  int rc = sqlite3_open_v2(path.c_str(), db, SQLITE_OPEN_READONLY, nullptr);
  if (rc != SQLITE_OK) return rc;
  rc = sqlite3_exec(*db, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
  std::error_code ec;
  if ((rc == SQLITE_CANTOPEN || rc == SQLITE_READONLY) && !fs::exists(path + "-wal", ec)) {
    sqlite3_close(*db);
    *db = nullptr;
    std::string uri = "file:";
    for (char c : fs::absolute(path).string()) {
      if (c == '?' || c == '#' || c == '%') {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
        uri += buf;
      } else {
        uri += c;
      }
    }
    return sqlite3_open_v2((uri + "?immutable=1").c_str(), db,
                           SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
  }
  return SQLITE_OK;
}

// Checks an existing file without writing to it (a read-only connection): SQLite magic,
// integrity, our schema table and its version.
void validate_existing(const std::string& path) {
  {
    std::ifstream in(path, std::ios::binary);
    char magic[16] = {};
    in.read(magic, sizeof magic);
    if (in.gcount() != 16 || std::memcmp(magic, "SQLite format 3", 16) != 0)
      throw UserError(path +
                      ": not a frugal results store (not an SQLite database, or corrupt); refused, "
                      "left as it is");
  }
  sqlite3* db = nullptr;
  int rc = open_read_only(path, &db);
  if (rc != SQLITE_OK) {
    std::string why = reason(db, rc);
    sqlite3_close(db);
    throw UserError(path + ": cannot open: " + why);
  }
  std::string problem;
  try {
    Statement check(db, path, "PRAGMA quick_check");
    if (!check.step() || check.text(0) != "ok") problem = "corrupt (integrity check failed)";
    if (problem.empty()) {
      Statement t(
          db, path,
          "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='schema_version'");
      t.step();
      if (t.integer(0) == 0) problem = "not a frugal results store (no schema_version table)";
    }
    if (problem.empty()) {
      Statement v(db, path, "SELECT max(version) FROM schema_version");
      int64_t version = v.step() ? v.integer(0) : 0;
      if (version > kStoreSchemaVersion)
        problem = "written by a newer frugal (store schema " + std::to_string(version) +
                  ", this frugal reads up to " + std::to_string(kStoreSchemaVersion) + ")";
    }
  } catch (const UserError& e) {
    problem = std::string("corrupt (") + e.what() + ")";
  }
  sqlite3_close(db);
  if (!problem.empty()) {
    if (problem.starts_with("corrupt (" + path)) problem = "corrupt";
    throw UserError(path + ": " + problem + "; refused, left as it is");
  }
}

std::optional<double> number_at(const nlohmann::json& j, const char* pointer) {
  auto p = nlohmann::json::json_pointer(pointer);
  if (!j.contains(p)) return std::nullopt;
  const auto& v = j.at(p);
  if (!v.is_number()) return std::nullopt;
  return v.get<double>();
}
std::string text_at(const nlohmann::json& j, const char* pointer) {
  auto p = nlohmann::json::json_pointer(pointer);
  if (!j.contains(p) || !j.at(p).is_string()) return "";
  return j.at(p).get<std::string>();
}

}  // namespace

RecordRow summarize_record(const std::string& key, const nlohmann::json& record,
                           const nlohmann::json& spec) {
  RecordRow r;
  r.key = key;
  r.record = record;
  r.spec = spec;
  r.top1 = number_at(record, "/results/accuracy/top1");
  r.latency_p50_ms = number_at(record, "/results/latency/p50_ms");
  r.latency_p90_ms = number_at(record, "/results/latency/p90_ms");
  r.samples_per_s = number_at(record, "/results/throughput/samples_per_s");
  r.joules_per_inference = number_at(record, "/results/energy/joules_per_inference");
  if (!r.joules_per_inference) {
    // Older Records carry only the total: divide by the samples of the timed part.
    auto joules = number_at(record, "/results/energy/joules");
    auto seconds = number_at(record, "/results/latency/duration_s");
    if (joules && seconds && r.samples_per_s && *r.samples_per_s * *seconds > 0)
      r.joules_per_inference = *joules / (*r.samples_per_s * *seconds);
  }
  r.energy_kind = text_at(record, "/results/energy/kind");
  r.energy_source = text_at(record, "/results/energy/source");
  // The encoded size where the Record has it (compress's storage), else float32 as loaded.
  r.model_bytes = number_at(record, "/results/memory/encoded_bytes");
  if (!r.model_bytes) r.model_bytes = number_at(record, "/results/memory/weight_bytes");
  if (!r.model_bytes) r.model_bytes = number_at(spec, "/model_file_bytes");
  r.peak_rss = number_at(record, "/results/memory/peak_rss");
  r.stages = static_cast<int64_t>(number_at(record, "/what/stages").value_or(1));
  r.devices = text_at(record, "/what/devices");
  r.partition = text_at(record, "/what/partition");
  const auto est = nlohmann::json::json_pointer("/results/throughput/estimate");
  r.estimate = record.contains(est) && record.at(est).is_boolean() && record.at(est).get<bool>();
  return r;
}

namespace {

// Opens `path` for writing and applies the schema (idempotent), WAL and full sync.
sqlite3* open_writable(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = reason(db, rc);
    sqlite3_close(db);
    throw UserError(path + ": cannot open: " + why);
  }
  sqlite3_busy_timeout(db, 10000);
  try {
    // WAL: a reader (frugal report) never blocks the sweep; synchronous=FULL: a committed
    // point survives even a power cut, not only a killed process.
    exec(db, path, "PRAGMA journal_mode=WAL");
    exec(db, path, "PRAGMA synchronous=FULL");
    exec(db, path, "BEGIN IMMEDIATE");
    try {
      exec(db, path, kSchema);
      exec(db, path,
           ("INSERT INTO schema_version(version) SELECT " + std::to_string(kStoreSchemaVersion) +
            " WHERE NOT EXISTS (SELECT 1 FROM schema_version)")
               .c_str());
      exec(db, path, "COMMIT");
    } catch (...) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  } catch (...) {
    sqlite3_close(db);
    throw;
  }
  return db;
}

// A new store appears whole or not at all: built under a private name, then linked to
// `path` (link never replaces a file), so that no reader or second writer ever sees an
// empty or half-initialized store. Returns false when `path` appeared meanwhile.
bool create_atomically(const std::string& path) {
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw UserError(path + ": cannot create: no such directory " + dir.string());
  const std::string tmp = path + ".creating-" + std::to_string(::getpid());
  // Create the file ourselves: errno then says why (EACCES, EROFS, ENOSPC), SQLite would not.
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    int err = errno;
    throw UserError(path + ": cannot create: " + std::strerror(err) +
                    (err == EACCES || err == EPERM || err == EROFS
                         ? " (read-only directory or file system?)"
                         : ""));
  }
  ::close(fd);
  auto remove_tmp = [&] {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(tmp + suffix, ec);
  };
  try {
    sqlite3_close(open_writable(tmp));  // closing the last connection checkpoints the WAL
  } catch (...) {
    remove_tmp();
    throw;
  }
  const bool linked = ::link(tmp.c_str(), path.c_str()) == 0;
  const int err = errno;
  remove_tmp();
  if (!linked && err != EEXIST) throw UserError(path + ": cannot create: " + std::strerror(err));
  return linked;
}

// Who holds a store's run lock, as its owner wrote it (empty when unknown).
std::string lock_owner(const std::string& path) {
  sqlite3* db = nullptr;
  std::string who;
  if (open_read_only(path, &db) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT pid, host, started FROM run_owner LIMIT 1", -1, &st,
                           nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      auto text = [&](int c) {
        auto* p = sqlite3_column_text(st, c);
        return p ? std::string(reinterpret_cast<const char*>(p)) : std::string("?");
      };
      who = "pid " + text(0) + " on " + text(1) + " since " + text(2);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return who;
}

// One writer per store: measuring the same points twice at once would contaminate each
// other's timings. An exclusive flock on the database file (SQLite itself uses POSIX
// record locks, which flock does not interfere with on Linux), released by the kernel
// when the process ends, however it ends. Returns the locked descriptor.
int take_run_lock(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) throw UserError(path + ": cannot open: " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    const std::string who = lock_owner(path);
    throw UserError(path + ": in use by another frugal" + (who.empty() ? "" : " (" + who + ")") +
                    "; wait for it to finish, or give another --db");
  }
  return fd;
}

void record_owner(sqlite3* db, const std::string& path) {
  char host[256] = "?";
  ::gethostname(host, sizeof host - 1);
  const std::time_t now = std::time(nullptr);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  exec(db, path, "CREATE TABLE IF NOT EXISTS run_owner(pid INTEGER, host TEXT, started TEXT)");
  Statement del(db, path, "DELETE FROM run_owner");
  del.step();
  Statement ins(db, path, "INSERT INTO run_owner(pid, host, started) VALUES(?,?,?)");
  ins.bind(1, int64_t{::getpid()}).bind(2, std::string(host)).bind(3, std::string(when));
  ins.step();
}

// Validates an existing store; on refusal removes the -wal/-shm files that opening it
// created, so the folder is left as it was found.
void validate_leaving_no_trace(const std::string& path) {
  std::error_code ec;
  const bool had_wal = fs::exists(path + "-wal", ec), had_shm = fs::exists(path + "-shm", ec);
  try {
    validate_existing(path);
  } catch (const UserError&) {
    if (!had_wal) fs::remove(path + "-wal", ec);
    if (!had_shm) fs::remove(path + "-shm", ec);
    throw;
  }
}

}  // namespace

Store Store::open(const std::string& path, Mode mode) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw UserError(path + ": is a directory, not a results store");
  bool exists = fs::exists(path, ec);
  if (!exists && mode == Mode::read_only) throw UserError(path + ": no such file");
  if (!exists) exists = !create_atomically(path);
  // frugal never leaves a store empty (creation is atomic), so an empty file is someone
  // else's: refuse rather than take it over.
  if (exists && fs::file_size(path, ec) == 0)
    throw UserError(path + ": empty file, not a frugal results store; refused, left as it is");
  if (exists) validate_leaving_no_trace(path);
  if (mode == Mode::read_only) {
    sqlite3* db = nullptr;
    int rc = open_read_only(path, &db);
    if (rc != SQLITE_OK) {
      std::string why = reason(db, rc);
      sqlite3_close(db);
      throw UserError(path + ": cannot open: " + why);
    }
    sqlite3_busy_timeout(db, 10000);
    return Store(db, path, -1);
  }
  if (::access(path.c_str(), W_OK) != 0)
    throw UserError(path + ": cannot write: " + std::strerror(errno) +
                    " (read-only file or file system?)");
  const int lock_fd = take_run_lock(path);
  sqlite3* db = nullptr;
  try {
    db = open_writable(path);
    record_owner(db, path);
  } catch (...) {
    if (db) sqlite3_close(db);
    ::close(lock_fd);
    throw;
  }
  return Store(db, path, lock_fd);
}

Store::Store(Store&& other) noexcept
    : db_(other.db_), path_(std::move(other.path_)), lock_fd_(other.lock_fd_) {
  other.db_ = nullptr;
  other.lock_fd_ = -1;
}

Store::~Store() {
  if (db_) sqlite3_close(db_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the run lock
}

void Store::put(const PointRow& p, const std::optional<nlohmann::json>& record) {
  exec(db_, path_, "BEGIN IMMEDIATE");
  try {
    bool keep_earlier = false;
    if (p.status != "ok") {
      // A failed re-run never replaces a measured point: nothing recorded is lost.
      Statement s(db_, path_, "SELECT status FROM points WHERE key=?");
      s.bind(1, p.key);
      keep_earlier = s.step() && s.text(0) == "ok";
    }
    if (!keep_earlier) {
      Statement s(
          db_, path_,
          "INSERT OR REPLACE INTO points(key,spec,status,stage,exit_code,signal,timed_out,error,"
          "stderr_tail,started,finished,wall_s) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
      s.bind(1, p.key).bind(2, p.spec.dump()).bind(3, p.status).bind(4, p.stage);
      s.bind(5, int64_t{p.exit_code}).bind(6, int64_t{p.signal}).bind(7, int64_t{p.timed_out});
      s.bind(8, p.error).bind(9, p.stderr_tail).bind(10, p.started).bind(11, p.finished);
      s.bind(12, std::optional<double>(p.wall_s));
      s.step();
      Statement del(db_, path_, "DELETE FROM records WHERE key=?");
      del.bind(1, p.key).step();
      if (record) {
        RecordRow r = summarize_record(p.key, *record, p.spec);
        Statement ins(
            db_, path_,
            "INSERT INTO records(key,record,model,transform,backend,precision,format,threads,batch,"
            "scenario,top1,latency_p50_ms,latency_p90_ms,samples_per_s,joules_per_inference,"
            "energy_kind,energy_source,model_bytes,peak_rss) "
            "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
        ins.bind(1, p.key).bind(2, record->dump());
        ins.bind(3, text_at(p.spec, "/model/label")).bind(4, text_at(p.spec, "/transform/label"));
        ins.bind(5, text_at(p.spec, "/backend")).bind(6, text_at(p.spec, "/precision"));
        ins.bind(7, text_at(p.spec, "/format"));
        ins.bind(8, static_cast<int64_t>(number_at(p.spec, "/threads").value_or(0)));
        ins.bind(9, static_cast<int64_t>(number_at(p.spec, "/batch").value_or(0)));
        ins.bind(10, text_at(p.spec, "/scenario"));
        ins.bind(11, r.top1)
            .bind(12, r.latency_p50_ms)
            .bind(13, r.latency_p90_ms)
            .bind(14, r.samples_per_s);
        ins.bind(15, r.joules_per_inference).bind(16, r.energy_kind).bind(17, r.energy_source);
        ins.bind(18, r.model_bytes).bind(19, r.peak_rss);
        ins.step();
      }
    }
    exec(db_, path_, "COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::set<std::string> Store::ok_keys() const {
  std::set<std::string> keys;
  Statement s(db_, path_, "SELECT key FROM points WHERE status='ok'");
  while (s.step()) keys.insert(s.text(0));
  return keys;
}

std::vector<PointRow> Store::points() const {
  std::vector<PointRow> rows;
  Statement s(
      db_, path_,
      "SELECT key,spec,status,stage,exit_code,signal,timed_out,error,stderr_tail,started,finished,"
      "wall_s FROM points ORDER BY rowid");
  while (s.step()) {
    PointRow p;
    p.key = s.text(0);
    p.spec = nlohmann::json::parse(s.text(1), nullptr, false);
    p.status = s.text(2);
    p.stage = s.text(3);
    p.exit_code = static_cast<int>(s.integer(4));
    p.signal = static_cast<int>(s.integer(5));
    p.timed_out = s.integer(6) != 0;
    p.error = s.text(7);
    p.stderr_tail = s.text(8);
    p.started = s.text(9);
    p.finished = s.text(10);
    p.wall_s = s.real(11);
    rows.push_back(std::move(p));
  }
  return rows;
}

std::vector<RecordRow> Store::records() const {
  std::vector<RecordRow> rows;
  Statement s(db_, path_,
              "SELECT r.key, r.record, p.spec FROM records r JOIN points p ON p.key = r.key ORDER "
              "BY p.rowid");
  while (s.step())
    rows.push_back(summarize_record(s.text(0), nlohmann::json::parse(s.text(1), nullptr, false),
                                    nlohmann::json::parse(s.text(2), nullptr, false)));
  return rows;
}

std::optional<nlohmann::json> Store::record(const std::string& key) const {
  Statement s(db_, path_, "SELECT record FROM records WHERE key=?");
  s.bind(1, key);
  if (!s.step()) return std::nullopt;
  return nlohmann::json::parse(s.text(0), nullptr, false);
}

size_t merge_stores(const std::vector<std::string>& inputs, const std::string& output) {
  std::error_code ec;
  for (const auto& in : inputs)
    if (fs::exists(output, ec) && fs::equivalent(in, output, ec))
      throw UserError(output + ": is also an input; write the merge to a new file");
  std::vector<Store> sources;
  for (const auto& in : inputs) sources.push_back(Store::open(in, Store::Mode::read_only));
  Store out = Store::open(output, Store::Mode::read_write);
  size_t written = 0;
  for (const auto& src : sources)
    for (const auto& p : src.points()) {
      out.put(p, p.status == "ok" ? src.record(p.key) : std::nullopt);
      ++written;
    }
  return written;
}

}  // namespace frugal::explore
