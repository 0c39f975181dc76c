#include <gtest/gtest.h>

#include <cmath>

#include "media_probe.h"

namespace varg::testing {
namespace {

struct Wav {
  uint16_t format = 0, channels = 0, bits = 0;
  uint32_t rate = 0, byte_rate = 0, data_bytes = 0;
  std::vector<int16_t> samples;
};

Wav parse_wav(const std::string& b) {
  Wav w;
  EXPECT_GE(b.size(), 44u);
  if (b.size() < 44) return w;
  EXPECT_EQ(b.substr(0, 4), "RIFF");
  EXPECT_EQ(le32(b, 4), b.size() - 8);
  EXPECT_EQ(b.substr(8, 8), "WAVEfmt ");
  w.format = le16(b, 20);
  w.channels = le16(b, 22);
  w.rate = le32(b, 24);
  w.byte_rate = le32(b, 28);
  w.bits = le16(b, 34);
  EXPECT_EQ(b.substr(36, 4), "data");
  w.data_bytes = le32(b, 40);
  EXPECT_EQ(w.data_bytes, b.size() - 44);
  for (size_t i = 44; i + 1 < b.size(); i += 2) w.samples.push_back(static_cast<int16_t>(le16(b, i)));
  return w;
}

double rms(const std::vector<int16_t>& s) {
  double sum = 0;
  for (int16_t v : s) sum += double(v) * v;
  return s.empty() ? 0 : std::sqrt(sum / s.size());
}

TEST(LocalMusic, WavHeaderIsPcm16MonoAndDataMatchesTheDuration) {
  const auto r = render("local-music", {{"prompt", "upbeat energetic dance"}, {"duration", 3}});
  ASSERT_TRUE(r.ok()) << r.status().message;
  EXPECT_EQ(r->media_type, "audio/wav");
  const Wav w = parse_wav(r->bytes);
  EXPECT_EQ(w.format, 1);
  EXPECT_EQ(w.channels, 1);
  EXPECT_EQ(w.bits, 16);
  EXPECT_EQ(w.byte_rate, w.rate * 2);
  EXPECT_EQ(w.data_bytes, 3 * w.rate * 2);
  EXPECT_GT(rms(w.samples), 1000.0);
}

TEST(LocalMusic, DefaultDurationIsTenSeconds) {
  const auto r = render("local-music", {{"prompt", "calm ambient"}});
  ASSERT_TRUE(r.ok());
  const Wav w = parse_wav(r->bytes);
  EXPECT_EQ(w.data_bytes, 10 * w.rate * 2);
}

TEST(LocalMusic, SameParametersGiveTheSameBytesAndPromptsChangeTheTune) {
  const auto a = render("local-music", {{"prompt", "sad melancholic piano"}, {"duration", 4}});
  const auto b = render("local-music", {{"prompt", "sad melancholic piano"}, {"duration", 4}});
  const auto c = render("local-music", {{"prompt", "fast happy rock"}, {"duration", 4}});
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->bytes, b->bytes);
  EXPECT_NE(a->bytes, c->bytes);
}

TEST(LocalSpeech, SpeaksTheTextAsAnAudibleWav) {
  const auto r = render("local-speech", {{"text", "Hello from the varg gateway."}, {"voice", "rachel"}});
  ASSERT_TRUE(r.ok()) << r.status().message;
  EXPECT_EQ(r->media_type, "audio/wav");
  const Wav w = parse_wav(r->bytes);
  EXPECT_EQ(w.format, 1);
  EXPECT_EQ(w.channels, 1);
  EXPECT_EQ(w.bits, 16);
  EXPECT_GT(w.rate, 8000u);
  const double seconds = double(w.samples.size()) / w.rate;
  EXPECT_GT(seconds, 0.8);
  EXPECT_LT(seconds, 6.0);
  EXPECT_GT(rms(w.samples), 300.0);
}

TEST(LocalSpeech, VoiceAliasesSoundDifferentAndUnknownVoicesStillSpeak) {
  const std::string text = "The quick brown fox jumps over the lazy dog.";
  const auto rachel = render("local-speech", {{"text", text}, {"voice", "rachel"}});
  const auto arnold = render("local-speech", {{"text", text}, {"voice", "arnold"}});
  const auto other = render("local-speech", {{"text", text}, {"voice", "no-such-voice"}});
  const auto absent = render("local-speech", {{"text", text}});
  ASSERT_TRUE(rachel.ok() && arnold.ok() && other.ok() && absent.ok());
  EXPECT_NE(rachel->bytes.size(), arnold->bytes.size());
  EXPECT_GT(rms(parse_wav(other->bytes).samples), 300.0);
}

}  // namespace
}  // namespace varg::testing
