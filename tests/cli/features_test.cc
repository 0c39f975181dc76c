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

TEST_F(FeaturesTest, ModelsTableFiltersByCapabilityAndProvider) {
  Outcome r = varg_({"models", "--capability", "ffmpeg"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  for (const char* op : {"trim", "resize", "slice", "probe", "command"}) EXPECT_NE(r.out.find(op), std::string::npos) << op;
  EXPECT_EQ(r.out.find("flux-pro"), std::string::npos) << r.describe();
  r = varg_({"models", "--provider", "fal", "--capability", "video"});
  EXPECT_NE(r.out.find("kling-v3"), std::string::npos) << r.describe();
  EXPECT_NE(r.out.find("150 / 5s"), std::string::npos) << r.describe();
  EXPECT_EQ(r.out.find("elevenlabs"), std::string::npos) << r.describe();
  EXPECT_NE(varg_({"models", "--capability", "poetry"}).out.find("No model matches"), std::string::npos);
}

TEST_F(FeaturesTest, FfmpegProbeTrimAndEstimateOnALocalFile) {
  ASSERT_EQ(system(("ffmpeg -nostdin -loglevel error -f lavfi -i color=red:s=320x240:r=25:d=3 -c:v libx264 -pix_fmt yuv420p " +
                    (varg_.cwd / "clip.mp4").string()).c_str()), 0);
  Outcome p = varg_({"ffmpeg", "probe", "clip.mp4"});
  ASSERT_EQ(p.exit_code, 0) << p.describe();
  EXPECT_NE(p.out.find("width: 320"), std::string::npos) << p.describe();
  EXPECT_NE(p.out.find("codec: h264"), std::string::npos) << p.describe();
  Outcome t = varg_({"ffmpeg", "trim", "clip.mp4", "--start", "1", "--duration", "1", "--precise", "-o", "cut.mp4"});
  ASSERT_EQ(t.exit_code, 0) << t.describe();
  EXPECT_EQ(read(varg_.cwd / "cut.mp4").substr(4, 4), "ftyp") << t.describe();
  Outcome e = varg_({"estimate", "ffmpeg", R"({"model":"resize","url":"https://example.com/a.mp4","width":100})"});
  ASSERT_EQ(e.exit_code, 0) << e.describe();
  EXPECT_NE(e.out.find("5 credits ($0.05) (metered)"), std::string::npos) << e.describe();
  Outcome bad = varg_({"ffmpeg", "run", "--command", "-i /etc/passwd {{out_1}}"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("is not allowed"), std::string::npos) << bad.describe();
}

TEST_F(FeaturesTest, JobsListAndAFailedJobIsRetried) {
  ASSERT_EQ(system(("ffmpeg -nostdin -loglevel error -f lavfi -i color=red:s=64x64 -frames:v 1 " + (varg_.cwd / "still.png").string()).c_str()), 0);
  Outcome f = varg_({"ffmpeg", "trim", "still.png", "--start", "0", "--end", "1", "--json"});  // trim takes no image
  EXPECT_EQ(f.exit_code, 1) << f.describe();
  Outcome listed = varg_({"jobs", "--capability", "ffmpeg", "--status", "failed", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.describe();
  const json failed = json::parse(listed.out)["jobs"];
  ASSERT_EQ(failed.size(), 1u) << listed.describe();
  const std::string id = failed[0]["job_id"];
  Outcome again = varg_({"retry", id, "--json"});
  EXPECT_EQ(again.exit_code, 1) << again.describe();  // it fails again, as a new job
  EXPECT_EQ(json::parse(varg_({"jobs", "--capability", "ffmpeg", "--json"}).out)["jobs"].size(), 2u);
  Outcome table = varg_({"jobs"});
  EXPECT_NE(table.out.find(id), std::string::npos) << table.describe();
  EXPECT_NE(table.out.find("ffmpeg:trim"), std::string::npos) << table.describe();
  ASSERT_EQ(varg_({"image", "--model", "local-image", "--prompt", "retry me not", "--no-download"}).exit_code, 0);
  const std::string done = json::parse(varg_({"jobs", "--limit", "1", "--json"}).out)["jobs"][0]["job_id"];
  Outcome refused = varg_({"retry", done});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("completed"), std::string::npos) << refused.describe();
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
