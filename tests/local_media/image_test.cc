#include <gtest/gtest.h>
#include <zlib.h>

#include "media_probe.h"

namespace varg::testing {
namespace {

struct Chunk {
  std::string type;
  std::string data;
  bool crc_ok = false;
};

std::vector<Chunk> chunks_of(const std::string& png) {
  std::vector<Chunk> out;
  size_t at = 8;
  while (at + 12 <= png.size()) {
    const uint32_t len = be32(png, at);
    if (at + 12 + len > png.size()) break;
    Chunk c{png.substr(at + 4, 4), png.substr(at + 8, len)};
    const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(png.data() + at + 4), len + 4);
    c.crc_ok = crc == be32(png, at + 8 + len);
    out.push_back(std::move(c));
    at += 12 + len;
  }
  return out;
}

struct SizeCase {
  const char* aspect_ratio;
  uint32_t width, height;
};

class ImageSize : public ::testing::TestWithParam<SizeCase> {};

TEST_P(ImageSize, PngHeaderHasTheAspectRatiosSize) {
  const auto r = render("local-image", {{"prompt", "a cabin at sunset"}, {"aspect_ratio", GetParam().aspect_ratio}});
  ASSERT_TRUE(r.ok()) << r.status().message;
  EXPECT_EQ(r->media_type, "image/png");
  ASSERT_GT(r->bytes.size(), 33u);
  EXPECT_EQ(r->bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  const auto chunks = chunks_of(r->bytes);
  ASSERT_FALSE(chunks.empty());
  ASSERT_EQ(chunks[0].type, "IHDR");
  EXPECT_EQ(be32(chunks[0].data, 0), GetParam().width);
  EXPECT_EQ(be32(chunks[0].data, 4), GetParam().height);
  EXPECT_EQ(chunks[0].data[8], 8);  // bit depth
  EXPECT_EQ(chunks[0].data[9], 2);  // RGB
}

INSTANTIATE_TEST_SUITE_P(AspectRatios, ImageSize,
                         ::testing::Values(SizeCase{"1:1", 768, 768}, SizeCase{"16:9", 768, 432},
                                           SizeCase{"9:16", 432, 768}, SizeCase{"4:3", 768, 576},
                                           SizeCase{"3:4", 576, 768}, SizeCase{"3:2", 768, 512},
                                           SizeCase{"2:3", 512, 768}, SizeCase{"21:9", 768, 329}));

TEST(LocalImage, DefaultAspectRatioIsSquare) {
  const auto r = render("local-image", {{"prompt", "hills"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(be32(r->bytes, 16), 768u);
  EXPECT_EQ(be32(r->bytes, 20), 768u);
}

TEST(LocalImage, PngChunksHaveValidCrcsAndIdatInflatesToEveryRow) {
  const auto r = render("local-image", {{"prompt", "a lake at night under the stars"}, {"aspect_ratio", "16:9"}});
  ASSERT_TRUE(r.ok());
  const auto chunks = chunks_of(r->bytes);
  std::string idat;
  for (const auto& c : chunks) {
    EXPECT_TRUE(c.crc_ok) << c.type;
    if (c.type == "IDAT") idat += c.data;
  }
  ASSERT_EQ(chunks.back().type, "IEND");
  const size_t w = 768, h = 432;
  std::string raw(h * (1 + 3 * w) + 16, '\0');
  uLongf raw_len = raw.size();
  ASSERT_EQ(uncompress(reinterpret_cast<Bytef*>(raw.data()), &raw_len, reinterpret_cast<const Bytef*>(idat.data()),
                       idat.size()),
            Z_OK);
  EXPECT_EQ(raw_len, h * (1 + 3 * w));
  for (size_t y = 0; y < h; y++) EXPECT_LE(uint8_t(raw[y * (1 + 3 * w)]), 4) << "bad filter type on row " << y;
}

TEST(LocalImage, SameParametersGiveTheSameBytes) {
  const nlohmann::json p = {{"prompt", "misty forest mountains at dawn"}, {"aspect_ratio", "3:2"}};
  const auto a = render("local-image", p), b = render("local-image", p);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->bytes, b->bytes);
}

TEST(LocalImage, DifferentPromptsGiveDifferentPictures) {
  const auto a = render("local-image", {{"prompt", "a cabin at sunset"}});
  const auto b = render("local-image", {{"prompt", "a cabin at night"}});
  const auto c = render("local-image", {{"prompt", "a cabin at sunset!"}});
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_NE(a->bytes, b->bytes);
  EXPECT_NE(a->bytes, c->bytes);
}

}  // namespace
}  // namespace varg::testing
