#include "frugal/core/atomic_file.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "frugal/core/error.h"

namespace fs = std::filesystem;

namespace frugal {
namespace {

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("frugal-atomic-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  }
  static std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  fs::path dir_;
};

TEST_F(AtomicFileTest, CommitWritesTheBytesAndNothingElse) {
  write_file_atomically((dir_ / "out.onnx").string(), "first");
  write_file_atomically((dir_ / "out.onnx").string(), std::string(100000, 'x'));
  EXPECT_EQ(read(dir_ / "out.onnx"), std::string(100000, 'x'));
  EXPECT_EQ(entries(), std::vector<std::string>{"out.onnx"});
}

TEST_F(AtomicFileTest, UncommittedWriteLeavesTheOldFileAndNoTemporary) {
  write_file_atomically((dir_ / "out.onnx").string(), "old");
  {
    AtomicFile f((dir_ / "out.onnx").string());
    f.write("half of a new model");
  }
  EXPECT_EQ(read(dir_ / "out.onnx"), "old");
  EXPECT_EQ(entries(), std::vector<std::string>{"out.onnx"});
}

// A process killed mid-write (no destructor runs) leaves nothing: the temporary has no name.
TEST_F(AtomicFileTest, KilledWriterLeavesNothing) {
  const std::string path = (dir_ / "out.onnx").string();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    AtomicFile f(path);
    f.write(std::string(1 << 20, 'y'));
    ::raise(SIGKILL);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_TRUE(entries().empty());
}

TEST_F(AtomicFileTest, MissingFolderNamesThePath) {
  const std::string path = (dir_ / "no" / "such" / "out.onnx").string();
  try {
    write_file_atomically(path, "x");
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": cannot write"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(entries().empty());
}

}  // namespace
}  // namespace frugal
