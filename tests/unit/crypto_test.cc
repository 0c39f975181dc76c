// Encoding and crypto primitives: base62, CRC32, constant-time comparison, AEAD.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "common/crypto.h"

namespace varg {
namespace {

class CryptoTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { crypto_init(); }
};

TEST_F(CryptoTest, Base62AlphabetIsDigitsUpperLowerInOrder) {
  EXPECT_EQ(std::string(kBase62), "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
}

TEST_F(CryptoTest, RandomBase62HasRequestedLengthAndOnlyAlphabetCharacters) {
  for (size_t n : {0u, 1u, 32u, 100u, 1000u}) {
    std::string s = random_base62(n);
    EXPECT_EQ(s.size(), n);
    EXPECT_TRUE(is_base62(s)) << s;
  }
}

TEST_F(CryptoTest, RandomBase62CoversTheWholeAlphabetAndDoesNotRepeat) {
  std::set<char> seen;
  std::string all;
  for (int i = 0; i < 200; i++) all += random_base62(64);
  for (char c : all) seen.insert(c);
  EXPECT_EQ(seen.size(), 62u) << "12800 draws should hit all 62 characters";
  EXPECT_NE(random_base62(32), random_base62(32));
}

TEST_F(CryptoTest, IsBase62RejectsEverythingOutsideTheAlphabet) {
  EXPECT_TRUE(is_base62(""));
  EXPECT_TRUE(is_base62("azAZ09"));
  for (std::string bad : {std::string("a-b"), std::string("a_b"), std::string("a b"), std::string("a+b"), std::string("a/b"), std::string("\xc3\xa9"), std::string("a\0b", 3)})
    EXPECT_FALSE(is_base62(bad)) << bad;
}

TEST_F(CryptoTest, Base62FixedIsBigEndianZeroPadded) {
  EXPECT_EQ(base62_fixed(0, 6), "000000");
  EXPECT_EQ(base62_fixed(1, 6), "000001");
  EXPECT_EQ(base62_fixed(61, 3), "00z");
  EXPECT_EQ(base62_fixed(62, 3), "010");
  EXPECT_EQ(base62_fixed(62 * 62 - 1, 2), "zz");
  // The largest CRC32 fits in 6 base62 digits (62^6 > 2^32).
  EXPECT_EQ(base62_fixed(0xFFFFFFFFu, 6), "4gfFC3");
  EXPECT_EQ(base62_fixed(0xFFFFFFFFu, 6).size(), 6u);
}

TEST_F(CryptoTest, Crc32MatchesKnownVectors) {
  EXPECT_EQ(crc32(""), 0x00000000u);
  EXPECT_EQ(crc32("a"), 0xE8B7BE43u);
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(crc32("The quick brown fox jumps over the lazy dog"), 0x414FA339u);
}

TEST_F(CryptoTest, Sha256AndHmacMatchKnownVectors) {
  EXPECT_EQ(to_hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  EXPECT_EQ(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  const HmacSha256 jefe("Jefe");
  EXPECT_EQ(to_hex(jefe("what do ya want for nothing?")), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // The keyed state is reused, never consumed: every message, any key length, as the one-shot.
  const std::string long_key(131, '\xaa');  // longer than a block: hashed first (RFC 4231 case 6)
  const HmacSha256 keyed(long_key);
  EXPECT_EQ(to_hex(keyed("Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  for (const std::string& msg : {std::string(), std::string("a"), std::string(64, 'x'), std::string(1000, 'y')}) {
    EXPECT_EQ(jefe(msg), hmac_sha256("Jefe", msg));
    EXPECT_EQ(keyed(msg), hmac_sha256(long_key, msg));
  }
}

TEST_F(CryptoTest, HexRoundTripsAndRejectsGarbage) {
  std::string raw("\x00\x01\xab\xff", 4);
  EXPECT_EQ(to_hex(raw), "0001abff");
  EXPECT_EQ(from_hex("0001ABff"), raw);
  EXPECT_FALSE(from_hex("abc").has_value());
  EXPECT_FALSE(from_hex("zz").has_value());
}

TEST_F(CryptoTest, ConstantTimeEqualComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("secret", "secret"));
  EXPECT_FALSE(constant_time_equal("secret", "secreT"));
  EXPECT_FALSE(constant_time_equal("secret", "secret2"));
  EXPECT_FALSE(constant_time_equal("secret", ""));
}

TEST_F(CryptoTest, AeadRoundTripsWithTheRightKeyAndAssociatedData) {
  const std::string key = random_bytes(32);
  const std::string sealed = aead_seal(key, "provider key fal-123", "user:7");
  EXPECT_EQ(sealed.find("fal-123"), std::string::npos) << "plaintext must not appear in the sealed value";
  auto opened = aead_open(key, sealed, "user:7");
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(*opened, "provider key fal-123");
  EXPECT_NE(aead_seal(key, "x", ""), aead_seal(key, "x", "")) << "each seal uses a fresh nonce";
  auto empty = aead_open(key, aead_seal(key, "", ""), "");
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(*empty, "");
}

TEST_F(CryptoTest, AeadDetectsTamperingWrongKeyWrongAssociatedDataAndTruncation) {
  const std::string key = random_bytes(32);
  const std::string sealed = aead_seal(key, "hello world", "ad");
  for (size_t i = 0; i < sealed.size(); i++) {
    std::string t = sealed;
    t[i] ^= 0x01;
    EXPECT_FALSE(aead_open(key, t, "ad").has_value()) << "flipped byte " << i;
  }
  EXPECT_FALSE(aead_open(random_bytes(32), sealed, "ad").has_value());
  EXPECT_FALSE(aead_open(key, sealed, "other").has_value());
  EXPECT_FALSE(aead_open(key, sealed.substr(0, sealed.size() - 1), "ad").has_value());
  EXPECT_FALSE(aead_open(key, "", "ad").has_value());
  EXPECT_FALSE(aead_open("short key", sealed, "ad").has_value());
}

}  // namespace
}  // namespace varg
