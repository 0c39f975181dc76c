// The catalog's input mapping: what a provider receives for a request, and what is refused.
#include "gen/upstream_input.h"

#include <gtest/gtest.h>

namespace varg {
namespace {

using json = nlohmann::json;

const json kDoc = json::parse(R"({
  "families": {"i2v": {"provider": "fal", "capability": "video", "per_seconds": 5, "min_duration": 3, "max_duration": 15,
                       "files": {"image": [0, 2]}, "input": {"prompt": "prompt", "duration": "duration:string", "aspect_ratio": "aspect_ratio"},
                       "routes": {"image": {"input": {"prompt": "prompt", "image_url": "file:image", "end_image_url": "file:image:2"}}}}},
  "models": [
    {"id": "v", "family": "i2v", "upstream": "t2v", "credits": 150, "routes": {"image": {"endpoint": "i2v"}}},
    {"id": "w", "family": "i2v", "upstream": "t2v", "credits": 1, "input": {"aspect_ratio": null, "num_frames": "duration:frames", "fps": 25},
     "routes": {"image": {"endpoint": "i2v2"}}},
    {"id": "lip", "provider": "fal", "capability": "video", "credits": 50, "timed": false, "per_seconds": 5,
     "files": {"video": [1, 1], "audio": [1, 1]}, "input": {"video_url": "file:video", "audio_url": "file:audio", "sync_mode": "=cut_off"}},
    {"id": "img", "provider": "fal", "capability": "image", "credits": 5, "input": {"prompt": "prompt", "image_size": "aspect_ratio:image_size", "num_images": 1}}
  ]})");

const Catalog& catalog() {
  static const Catalog c = *Catalog::parse(kDoc);
  return c;
}

InputFile file(const std::string& url, const std::string& type) { return {url, "sha256:x", type}; }

TEST(UpstreamInput, TextToVideoSendsTheMappedFieldsOverProviderOptions) {
  json params = {{"prompt", "a lake"}, {"duration", 7}, {"aspect_ratio", "9:16"},
                 {"provider_options", {{"duration", "15"}, {"negative_prompt", "blur"}}}};
  auto r = upstream_request(*catalog().find("v"), params, {});
  ASSERT_TRUE(r.ok()) << r.status().message;
  EXPECT_EQ(r->endpoint, "t2v");
  EXPECT_EQ(r->input, (json{{"prompt", "a lake"}, {"duration", "7"}, {"aspect_ratio", "9:16"}, {"negative_prompt", "blur"}}))
      << "the priced duration wins over provider_options";
}

TEST(UpstreamInput, ImagesChooseTheRouteAndFillStartAndEndFrames) {
  json params = {{"prompt", "p"}, {"duration", 5}, {"provider_options", {{"image_url", "http://evil/x.png"}}}};
  auto one = upstream_request(*catalog().find("v"), params, {file("http://a/1.png", "image/png")});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->endpoint, "i2v");
  EXPECT_EQ(one->input, (json{{"prompt", "p"}, {"image_url", "http://a/1.png"}}));
  auto two = upstream_request(*catalog().find("v"), params, {file("http://a/1.png", "image/png"), file("http://a/2.jpg", "image/jpeg")});
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->input["end_image_url"], "http://a/2.jpg");
}

TEST(UpstreamInput, AFamilyIsMergedAndNullRemovesAField) {
  const ModelSpec& w = *catalog().find("w");
  EXPECT_EQ(w.price(7), 2) << "family per_seconds";
  auto r = upstream_request(w, {{"prompt", "p"}, {"duration", 4}, {"aspect_ratio", "16:9"}}, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->input, (json{{"prompt", "p"}, {"duration", "4"}, {"num_frames", 101}, {"fps", 25}}));
  auto routed = upstream_request(w, {{"prompt", "p"}}, {file("http://a/1.png", "image/png")});
  ASSERT_TRUE(routed.ok());
  EXPECT_EQ(routed->endpoint, "i2v2") << "the model's endpoint, the family's route input";
  EXPECT_EQ(routed->input["image_url"], "http://a/1.png");
}

TEST(UpstreamInput, FilesAreMatchedByKindAndWrongOnesRefused) {
  const ModelSpec& lip = *catalog().find("lip");
  EXPECT_EQ(lip.price(60), 50) << "untimed: a flat price";
  EXPECT_FALSE(lip.takes_duration());
  auto ok = upstream_request(lip, json::object(), {file("http://a/v.wav", "audio/wav"), file("http://a/f.mp4", "video/mp4")});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->input, (json{{"video_url", "http://a/f.mp4"}, {"audio_url", "http://a/v.wav"}, {"sync_mode", "cut_off"}}));
  auto missing = upstream_request(lip, json::object(), {file("http://a/f.mp4", "video/mp4")});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().field, "files");
  EXPECT_NE(missing.status().message.find("needs 1 audio file"), std::string::npos) << missing.status().message;
  auto wrong = upstream_request(lip, json::object(), {file("http://a/f.mp4", "video/mp4"), file("http://a/x.png", "image/png")});
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message.find("no image files"), std::string::npos) << wrong.status().message;
}

TEST(UpstreamInput, AspectRatiosBecomeFalImageSizes) {
  const ModelSpec& img = *catalog().find("img");
  EXPECT_EQ(upstream_request(img, {{"prompt", "p"}, {"aspect_ratio", "16:9"}}, {})->input["image_size"], "landscape_16_9");
  json custom = upstream_request(img, {{"prompt", "p"}, {"aspect_ratio", "21:9"}}, {})->input["image_size"];
  EXPECT_EQ(custom, (json{{"width", 1568}, {"height", 672}}));
}

TEST(CatalogParse, RefusesUnknownSourcesFamiliesAndKinds) {
  auto bad_source = Catalog::parse(json::parse(R"({"models": [{"id": "x", "provider": "fal", "capability": "image", "credits": 1,
                                                   "input": {"prompt": "promt"}}]})"));
  ASSERT_FALSE(bad_source.ok());
  EXPECT_NE(bad_source.status().message.find("unknown input source for prompt"), std::string::npos);
  EXPECT_FALSE(Catalog::parse(json::parse(R"({"models": [{"id": "x", "family": "nope", "credits": 1}]})")).ok());
  EXPECT_FALSE(Catalog::parse(json::parse(R"({"models": [{"id": "x", "provider": "fal", "capability": "image", "credits": 1,
                                              "files": {"pdf": [0, 1]}}]})")).ok());
  EXPECT_TRUE(Catalog::builtin().find("nano-banana-pro/edit")) << "the built-in catalog parses";
}

}  // namespace
}  // namespace varg
