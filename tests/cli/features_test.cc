// The CLI's commands for generation, usage, top-up, provider keys and key rotation, against the
// server's real implementations (the built-in local provider; no payment settings).
#include <fstream>
#include "fixture.h"

namespace varg::test {
namespace {

class FeaturesTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    login();
  }
  static bool is_png(const fs::path& p) { return read(p).rfind("\x89PNG\r\n\x1a\n", 0) == 0; }
};

TEST_F(FeaturesTest, ImageIsGeneratedAndDownloaded) {
  Outcome r = varg_({"image", "--model", "local-image", "--prompt", "a cabin at sunset", "-o", "cabin.png"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(is_png(varg_.cwd / "cabin.png")) << r.describe();
  EXPECT_NE(r.out.find("Saved cabin.png"), std::string::npos) << r.describe();
}

TEST_F(FeaturesTest, RepeatIsACacheHitAndJsonIsTheFinalJob) {
  ASSERT_EQ(varg_({"image", "--model", "local-image", "--prompt", "a lighthouse", "--no-download"}).exit_code, 0);
  Outcome r = varg_({"image", "--model", "local-image", "--prompt", "a lighthouse", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  json job = json::parse(r.out);
  EXPECT_EQ(job["status"], "completed");
  EXPECT_EQ(job["cache"]["hit"], true);
  // Without -o the result lands in the working directory as <job id>.<ext>.
  EXPECT_TRUE(is_png(varg_.cwd / (job["job_id"].get<std::string>() + ".png")));
}

TEST_F(FeaturesTest, NoCacheGeneratesAnew) {
  ASSERT_EQ(varg_({"image", "--model", "local-image", "--prompt", "fresh", "--no-download"}).exit_code, 0);
  Outcome r = varg_({"image", "--model", "local-image", "--prompt", "fresh", "--no-cache", "--no-download", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(json::parse(r.out)["cache"]["hit"], false);
}

TEST_F(FeaturesTest, SpeechIsAWav) {
  Outcome r = varg_({"speech", "--model", "local-speech", "--text", "Welcome to varg", "-o", "hello.wav"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(read(varg_.cwd / "hello.wav").substr(0, 4), "RIFF");
}

TEST_F(FeaturesTest, UnknownModelShowsTheServersMessage) {
  Outcome r = varg_({"image", "--model", "no-such-model", "--prompt", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("400"), std::string::npos) << r.describe();
}

TEST_F(FeaturesTest, UsageListsGenerations) {
  ASSERT_EQ(varg_({"image", "--model", "local-image", "--prompt", "usage", "--no-download"}).exit_code, 0);
  Outcome r = varg_({"usage"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("local-image"), std::string::npos) << r.describe();
  EXPECT_NE(r.out.find("Total: 0 credits ($0.00)"), std::string::npos) << r.describe();
  json u = json::parse(varg_({"usage", "--json"}).out);
  EXPECT_GE(u["usage"].size(), 1u);
  Outcome chart = varg_({"usage", "--chart"});
  ASSERT_EQ(chart.exit_code, 0) << chart.describe();
  EXPECT_NE(chart.out.find("Generations per day"), std::string::npos) << chart.describe();
  EXPECT_NE(chart.out.find("\u2588 0 credits, 1 generation"), std::string::npos) << chart.describe();
}

TEST_F(FeaturesTest, ALocalInputFileIsUploadedAndCachedByContent) {
  // The PNG signature and some bytes; the local provider hashes inputs, it does not decode them.
  const std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + "local input for the cli test";
  const std::string a = varg_.cwd.string() + "/a.png", b = varg_.cwd.string() + "/b.png";
  for (const auto& path : {a, b}) std::ofstream(path, std::ios::binary) << png;
  Outcome first = varg_({"image", "--model", "local-image", "--prompt", "edit", "--file", a, "--no-download", "--json"});
  ASSERT_EQ(first.exit_code, 0) << first.describe();
  json j = json::parse(first.out);
  EXPECT_EQ(j["status"], "completed") << first.describe();
  EXPECT_FALSE(j["cache"]["hit"].get<bool>()) << first.describe();
  Outcome second = varg_({"image", "--model", "local-image", "--prompt", "edit", "--file", b, "--no-download", "--json"});
  ASSERT_EQ(second.exit_code, 0) << second.describe();
  EXPECT_TRUE(json::parse(second.out)["cache"]["hit"].get<bool>()) << "same bytes from another path: " << second.describe();
  Outcome missing = varg_({"image", "--model", "local-image", "--prompt", "edit", "--file", varg_.cwd.string() + "/nope.png"});
  EXPECT_NE(missing.exit_code, 0) << missing.describe();
}

TEST_F(FeaturesTest, TopupListsPackagesAndWithoutPaymentsPointsAtTheDashboard) {
  Outcome list = varg_({"topup"});
  ASSERT_EQ(list.exit_code, 0) << list.describe();
  for (const char* name : {"credits-2000", "Starter", "Enterprise", "100,000", "$1,000"})
    EXPECT_NE(list.out.find(name), std::string::npos) << list.describe();
  Outcome buy = varg_({"topup", "--package", "credits-2000"});
  EXPECT_NE(buy.exit_code, 0);
  EXPECT_NE(buy.err.find(server_->url() + "/dashboard?tab=billing"), std::string::npos) << buy.describe();
}

TEST_F(FeaturesTest, ProviderKeysSetListDelete) {
  ASSERT_EQ(varg_({"provider-keys", "set", "fal", "fal_secret_value_1234"}).exit_code, 0);
  Outcome list = varg_({"provider-keys", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.describe();
  EXPECT_NE(list.out.find("fal"), std::string::npos) << list.describe();
  EXPECT_EQ(list.out.find("fal_secret_value_1234"), std::string::npos) << "full provider key shown";
  ASSERT_EQ(varg_({"provider-keys", "delete", "fal"}).exit_code, 0);
  EXPECT_EQ(varg_({"provider-keys", "list"}).out.find("fal "), std::string::npos);
}

TEST_F(FeaturesTest, ResetReplacesTheSavedKey) {
  Outcome r = varg_({"reset", "api-key"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const std::string fresh = json::parse(read(credentials()))["api_key"];
  EXPECT_NE(fresh, key_);
  EXPECT_NE(r.out.find(fresh), std::string::npos) << r.describe();
  EXPECT_EQ(mode_of(credentials()), 0600);
  usleep(1'100'000);
  EXPECT_EQ(varg_({"balance"}).exit_code, 0);
  VargEnv old = varg_;
  old.vars["VARG_API_KEY"] = key_;
  EXPECT_NE(old({"balance"}).exit_code, 0);
}

TEST_F(FeaturesTest, ResetOfAnEnvironmentKeyLeavesTheFileAlone) {
  const std::string other = server_->create_user("other@example.com", 0);
  VargEnv env = varg_;
  env.vars["VARG_API_KEY"] = other;
  Outcome r = env({"reset", "api-key"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("Replace VARG_API_KEY in your environment"), std::string::npos) << r.describe();
  EXPECT_EQ(json::parse(read(credentials()))["api_key"], key_);
}

}  // namespace
}  // namespace varg::test
