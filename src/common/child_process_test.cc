// The file sandbox of ChildLimits::files_dir, attacked by a real child: it reads and writes its own
// directory, and nothing else.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "common/child_process.h"
#include "common/sandbox.h"

namespace varg {
namespace {

namespace fs = std::filesystem;

Captured sh(const std::string& script, const fs::path& dir) {
  ChildLimits l;
  l.files_dir = dir.string();
  auto r = run_captured({"/bin/sh", "-c", script}, "", std::chrono::steady_clock::now() + std::chrono::seconds(20), nullptr, l,
                        dir.string());
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : Captured{};
}

TEST(ChildProcessFiles, ConfinedToItsDirectory) {
  if (sandbox::landlock_abi() == 0) GTEST_SKIP() << "this kernel has no Landlock";
  const fs::path dir = fs::temp_directory_path() / ("varg-confine-" + std::to_string(::getpid()));
  const fs::path outside = fs::temp_directory_path() / ("varg-outside-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "in.txt") << "mine";
  std::ofstream(outside) << "theirs";

  auto own = sh("cat in.txt && echo ok > out.txt && cat out.txt && rm out.txt", dir);
  EXPECT_TRUE(own.exited_ok()) << own.err;
  EXPECT_EQ(own.out, "mineok\n");

  auto passwd = sh("cat /etc/passwd", dir);
  EXPECT_FALSE(passwd.exited_ok());
  EXPECT_EQ(passwd.out.find("root:"), std::string::npos);
  EXPECT_FALSE(sh("cat " + outside.string(), dir).exited_ok());
  EXPECT_FALSE(sh("cat /proc/1/environ", dir).exited_ok());
  EXPECT_FALSE(sh("echo x > " + (fs::temp_directory_path() / "varg-escape").string(), dir).exited_ok());
  EXPECT_FALSE(fs::exists(fs::temp_directory_path() / "varg-escape"));
  EXPECT_FALSE(sh("ln -s /etc/passwd link && cat link", dir).exited_ok());  // a link does not lead out
  EXPECT_FALSE(sh("echo x > " + outside.string(), dir).exited_ok());
  std::ifstream check(outside);
  std::string kept;
  check >> kept;
  EXPECT_EQ(kept, "theirs");
  fs::remove_all(dir);
  fs::remove(outside);
}

}  // namespace
}  // namespace varg
