#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "media_probe.h"

namespace varg::testing {
namespace {

// ffprobe's JSON for a file holding `bytes`.
nlohmann::json probe(const std::string& bytes) {
  char path[] = "/tmp/varg-local-test-XXXXXX.mp4";
  const int fd = mkstemps(path, 4);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  close(fd);
  const std::string cmd = std::string("ffprobe -v error -show_entries stream=codec_type,codec_name,width,height,duration "
                                      "-of json ") + path;
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
  }
  unlink(path);
  return nlohmann::json::parse(out, nullptr, false);
}

const nlohmann::json* stream_of(const nlohmann::json& probed, const std::string& type) {
  if (!probed.is_object() || !probed.contains("streams")) return nullptr;
  for (const auto& s : probed["streams"])
    if (s.value("codec_type", "") == type) return &s;
  return nullptr;
}

TEST(LocalVideo, Mp4HasH264VideoOfTheRequestedSizeAndDurationWithAacAudio) {
  const auto r = render("local-video", {{"prompt", "a cabin at sunset"}, {"duration", 3}});
  ASSERT_TRUE(r.ok()) << r.status().message;
  EXPECT_EQ(r->media_type, "video/mp4");
  const auto probed = probe(r->bytes);
  const auto* video = stream_of(probed, "video");
  ASSERT_NE(video, nullptr) << probed.dump();
  EXPECT_EQ(video->value("codec_name", ""), "h264");
  EXPECT_EQ(video->value("width", 0), 640);
  EXPECT_EQ(video->value("height", 0), 360);
  EXPECT_NEAR(std::stod(video->value("duration", "0")), 3.0, 0.3);
  const auto* audio = stream_of(probed, "audio");
  ASSERT_NE(audio, nullptr) << probed.dump();
  EXPECT_EQ(audio->value("codec_name", ""), "aac");
}

TEST(LocalVideo, FollowsTheAspectRatioAndIsDeterministic) {
  const nlohmann::json p = {{"prompt", "snowy alpine peaks"}, {"duration", 1}, {"aspect_ratio", "9:16"}};
  const auto a = render("local-video", p), b = render("local-video", p);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->bytes, b->bytes);
  const auto probed = probe(a->bytes);
  const auto* video = stream_of(probed, "video");
  ASSERT_NE(video, nullptr) << probed.dump();
  EXPECT_EQ(video->value("width", 0), 360);
  EXPECT_EQ(video->value("height", 0), 640);
}

TEST(LocalVideo, CancellationStopsTheRenderQuickly) {
  std::atomic<bool> cancelled{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancelled = true;
  });
  const auto start = std::chrono::steady_clock::now();
  const auto r = render_local("local-video", {{"prompt", "a long video"}, {"duration", 10}}, cancelled);
  const auto took = std::chrono::steady_clock::now() - start;
  canceller.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code, Code::unavailable);
  EXPECT_LT(took, std::chrono::milliseconds(2500));
}

TEST(LocalMedia, AnAlreadyCancelledRequestRendersNothing) {
  std::atomic<bool> cancelled{true};
  for (const char* model : {"local-image", "local-speech", "local-music", "local-video"}) {
    const auto r = render_local(model, {{"prompt", "x"}, {"text", "x"}}, cancelled);
    ASSERT_FALSE(r.ok()) << model;
    EXPECT_EQ(r.status().code, Code::unavailable) << model;
  }
}

}  // namespace
}  // namespace varg::testing
