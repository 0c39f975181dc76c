// Bounded JSON and media types decided by content (SPEC 11): table-driven.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/json.h"
#include "gen/media_type.h"

namespace varg {
namespace {

using namespace std::string_literals;

TEST(JsonBounds, DepthIsCountedOutsideStringsOnly) {
  struct Case {
    std::string text;
    bool ok;
  } cases[] = {
      {std::string(64, '[') + std::string(64, ']'), true},
      {std::string(65, '[') + std::string(65, ']'), false},
      {"{\"a\":\"" + std::string(1000, '[') + "\"}", true},           // brackets inside a string
      {"{\"a\":\"\\\"" + std::string(100, '{') + "\"}", true},        // an escaped quote does not end the string
      {"{\"a\":\"\\\\\"," + std::string(100, '[') + "}", false},      // an escaped backslash does
  };
  for (auto& c : cases) EXPECT_EQ(check_json_bounds(c.text).ok(), c.ok) << c.text.substr(0, 80);
}

TEST(JsonBounds, ElementCountIsCapped) {
  std::string many = "[";
  for (int i = 0; i < 1000; i++) many += "1,";
  many += "1]";
  EXPECT_TRUE(check_json_bounds(many, {64, 2000}).ok());
  EXPECT_FALSE(check_json_bounds(many, {64, 500}).ok());
}

TEST(JsonBounds, DeepBodiesAre400sBeforeAnyValueIsBuilt) {
  const std::string deep = "{\"a\":" + std::string(200000, '[') + std::string(200000, ']') + "}";
  auto r = parse_object(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code, Code::invalid);
  EXPECT_NE(r.status().message.find("deeper than 64"), std::string::npos);
  EXPECT_FALSE(parse_untrusted(deep).ok());
  EXPECT_TRUE(parse_untrusted("[1,{\"b\":null}]").ok());
  EXPECT_FALSE(parse_untrusted("[1,").ok());
}

TEST(MediaType, DecidedByTheBytes) {
  struct Case {
    std::string bytes, want;
  } cases[] = {
      {std::string("\x89PNG\r\n\x1a\n", 8) + "rest", "image/png"},
      {"\xff\xd8\xff\xe0xxxx", "image/jpeg"},
      {"GIF89a....", "image/gif"},
      {"RIFF\x10\0\0\0WEBPVP8 "s, "image/webp"},
      {"RIFF\x10\0\0\0WAVEfmt "s, "audio/wav"},
      {"ID3\x03\0\0\0\0"s, "audio/mpeg"},
      {"\xff\xfb\x90\xc4", "audio/mpeg"},
      {"OggS\0\x02"s, "audio/ogg"},
      {"fLaC\0\0\0\x22"s, "audio/flac"},
      {std::string("\0\0\0\x18" "ftypmp42", 12), "video/mp4"},
      {std::string("\0\0\0\x18" "ftypM4A ", 12), "audio/mp4"},
      {std::string("\0\0\0\x14" "ftypqt  ", 12), "video/quicktime"},
      {"\x1a\x45\xdf\xa3\x01", "video/webm"},
      {"{\"text\":\"hello\"}", "application/json"},
      {"  [1,2]", "application/json"},
      {"<html><script>alert(1)</script>", "application/octet-stream"},
      {"<svg xmlns=\"http://www.w3.org/2000/svg\"/>", "application/octet-stream"},
      {"<?xml version=\"1.0\"?><a/>", "application/octet-stream"},
      {"%PDF-1.7", "application/octet-stream"},
      {"{\"a\": <script>", "application/octet-stream"},
      {std::string(70, '[') + std::string(70, ']'), "application/octet-stream"},
      {"plain text", "application/octet-stream"},
      {"", "application/octet-stream"},
  };
  for (auto& c : cases) EXPECT_EQ(sniff_media_type(c.bytes), c.want) << c.bytes.substr(0, 20);
}

TEST(MediaType, OnlyTheAllowListIsInline) {
  for (const char* t : {"image/png", "video/mp4", "audio/wav", "application/json"}) EXPECT_TRUE(servable_inline(t)) << t;
  for (const char* t : {"text/html", "image/svg+xml", "application/xhtml+xml", "text/plain", "application/pdf",
                        "application/octet-stream", "text/javascript"})
    EXPECT_FALSE(servable_inline(t)) << t;
}

}  // namespace
}  // namespace varg
