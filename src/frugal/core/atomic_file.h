// Files that appear whole or not at all. The bytes go to an unnamed file in the target's
// folder (O_TMPFILE) that is linked and renamed over the target on commit(): a process
// killed while writing leaves nothing behind, not even a temporary (issue 24: a SIGKILLed
// `frugal quantize` used to leave OUT.onnx.tmp). Where the file system has no O_TMPFILE a
// named temporary beside the target is used and removed on every error path.
#pragma once

#include <string>
#include <string_view>

namespace frugal {

class AtomicFile {
 public:
  // Throws UserError naming `path` when its folder cannot take a file.
  explicit AtomicFile(std::string path);
  ~AtomicFile();  // not committed: the bytes are discarded
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(std::string_view bytes);
  // Makes the written bytes the content of `path`, replacing what was there.
  void commit();

 private:
  [[noreturn]] void fail(const std::string& what, int err);
  std::string path_;
  std::string named_temp_;  // the fallback's temporary; empty with O_TMPFILE
  int fd_ = -1;
};

// AtomicFile in one call.
void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace frugal
