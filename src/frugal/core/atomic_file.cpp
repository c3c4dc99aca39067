#include "frugal/core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "frugal/core/error.h"

namespace frugal {
namespace {

std::string folder_of(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

// A name beside `path` no other writer uses: this process's id and a counter.
std::string unique_beside(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  return path + ".tmp" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  fd_ = ::open(folder_of(path_).c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  if (fd_ >= 0) return;
  const int err = errno;
  if (err != EOPNOTSUPP && err != EISDIR && err != EINVAL) fail("cannot write", err);
  named_temp_ = unique_beside(path_);
  fd_ = ::open(named_temp_.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    named_temp_.clear();
    fail("cannot write", errno);
  }
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!named_temp_.empty()) ::unlink(named_temp_.c_str());
}

void AtomicFile::fail(const std::string& what, int err) {
  throw UserError(path_ + ": " + what + " (" + std::strerror(err) + ")");
}

void AtomicFile::write(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("write failed", n < 0 ? errno : ENOSPC);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

void AtomicFile::commit() {
  if (named_temp_.empty()) {
    // An unnamed file gets a name only now, and keeps it for the instant before rename.
    named_temp_ = unique_beside(path_);
    const std::string proc = "/proc/self/fd/" + std::to_string(fd_);
    if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, named_temp_.c_str(), AT_SYMLINK_FOLLOW) != 0) {
      const int err = errno;
      named_temp_.clear();
      fail("cannot write", err);
    }
  }
  if (::close(fd_) != 0) {
    fd_ = -1;
    fail("write failed", errno);
  }
  fd_ = -1;
  if (std::rename(named_temp_.c_str(), path_.c_str()) != 0) fail("cannot replace the file", errno);
  named_temp_.clear();
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
  AtomicFile f(path);
  f.write(bytes);
  f.commit();
}

}  // namespace frugal
