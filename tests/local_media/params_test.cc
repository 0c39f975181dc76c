#include <gtest/gtest.h>

#include "media_probe.h"

namespace varg::testing {
namespace {

// Each case: a model, parameters it cannot take, and the field the error must name.
struct BadCase {
  const char* model;
  const char* params;
  const char* field;
};

class BadParameters : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadParameters, AreInvalidAndNameTheField) {
  const auto r = render(GetParam().model, nlohmann::json::parse(GetParam().params));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code, Code::invalid) << r.status().message;
  EXPECT_EQ(r.status().field, GetParam().field) << r.status().message;
}

INSTANTIATE_TEST_SUITE_P(
    LocalModels, BadParameters,
    ::testing::Values(BadCase{"local-nothing", R"({"prompt":"x"})", "model"},
                      BadCase{"image", R"({"prompt":"x"})", "model"},
                      BadCase{"local-image", R"({})", "prompt"},
                      BadCase{"local-image", R"({"prompt":42})", "prompt"},
                      BadCase{"local-image", R"({"prompt":"x","aspect_ratio":"5:4"})", "aspect_ratio"},
                      BadCase{"local-image", R"({"prompt":"x","aspect_ratio":169})", "aspect_ratio"},
                      BadCase{"local-speech", R"({"voice":"rachel"})", "text"},
                      BadCase{"local-speech", R"({"text":"   "})", "text"},
                      BadCase{"local-speech", R"({"text":"hi","voice":7})", "voice"},
                      BadCase{"local-music", R"({"prompt":"x","duration":0})", "duration"},
                      BadCase{"local-music", R"({"prompt":"x","duration":61})", "duration"},
                      BadCase{"local-music", R"({"prompt":"x","duration":"10"})", "duration"},
                      BadCase{"local-music", R"({"duration":5})", "prompt"},
                      BadCase{"local-video", R"({"prompt":"x","duration":11})", "duration"},
                      BadCase{"local-video", R"({"prompt":"x","duration":0.5})", "duration"},
                      BadCase{"local-video", R"({"prompt":"x","aspect_ratio":"1:2"})", "aspect_ratio"}));

TEST(LocalSpeech, TextLongerThan5000CharactersIsInvalid) {
  const auto r = render("local-speech", {{"text", std::string(5001, 'a')}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code, Code::invalid);
  EXPECT_EQ(r.status().field, "text");
}

TEST(LocalSpeech, TextOf5000MultibyteCharactersIsAccepted) {
  std::string text;
  for (int i = 0; i < 5000; i++) text += (i % 6 == 5) ? " " : "\xc3\xa9";  // "é", 2 bytes each
  std::atomic<bool> cancelled{true};  // validation only: stop before synthesizing
  const auto r = render_local("local-speech", {{"text", text}}, cancelled);
  EXPECT_EQ(r.status().code, Code::unavailable);
}

}  // namespace
}  // namespace varg::testing
