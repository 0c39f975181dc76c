// Bounded JSON and media types decided by content (SPEC 11): table-driven.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/json.h"
#include "gen/media_type.h"
#include "http/address.h"

#include <arpa/inet.h>

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

bool public_text(const char* text) {
  sockaddr_storage ss{};
  if (inet_pton(AF_INET, text, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr) == 1) {
    ss.ss_family = AF_INET;
  } else {
    EXPECT_EQ(inet_pton(AF_INET6, text, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr), 1) << text;
    ss.ss_family = AF_INET6;
  }
  return public_address(reinterpret_cast<const sockaddr*>(&ss));
}

TEST(OutboundAddress, EveryNonPublicFormIsRefused) {
  for (const char* a : {"0.0.0.0", "0.1.2.3", "10.0.0.1", "100.64.0.1", "100.127.255.254", "127.0.0.1", "127.8.9.10",
                        "169.254.169.254", "172.16.0.1", "172.31.255.255", "192.0.0.1", "192.0.0.170", "192.0.2.10",
                        "192.88.99.1", "192.168.1.1", "198.18.0.1", "198.19.255.255", "198.51.100.7", "203.0.113.9",
                        "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
                        "::", "::1", "::127.0.0.1", "::8.8.8.8", "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254",
                        "::ffff:0:127.0.0.1", "64:ff9b::127.0.0.1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::8.8.8.8",
                        "2002:7f00:1::", "2002:a9fe:a9fe::1", "2002:c0a8:0101::", "2001::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2",
                        "2001:db8::1", "2001:10::1", "3fff::1", "fc00::1", "fd12:3456::1", "fe80::1", "fec0::1", "ff02::1",
                        "100::1"})
    EXPECT_FALSE(public_text(a)) << a;
}

TEST(OutboundAddress, PublicAddressesPass) {
  for (const char* a : {"8.8.8.8", "1.1.1.1", "93.184.216.34", "100.63.255.255", "100.128.0.1", "172.15.255.255",
                        "172.32.0.1", "192.0.1.1", "198.17.255.255", "198.20.0.1", "223.255.255.254",
                        "2606:4700:4700::1111", "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8",
                        "2002:0808:0808::1"})
    EXPECT_TRUE(public_text(a)) << a;
}

}  // namespace
}  // namespace varg
