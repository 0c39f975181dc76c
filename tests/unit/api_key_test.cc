// API key format (SPEC 2): shape, checksum, display prefix, and the peppered hash.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "auth/api_key.h"
#include "common/crypto.h"

namespace varg {
namespace {

class ApiKeyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { crypto_init(); }
};

// A key with a correct checksum over an arbitrary random part.
std::string key_with_random(const std::string& random) {
  return "varg_" + random + base62_fixed(crc32(random), 6);
}

TEST_F(ApiKeyTest, GeneratedKeyHasPrefixLength43AndValidChecksum) {
  for (int i = 0; i < 100; i++) {
    std::string k = ApiKey::generate();
    ASSERT_EQ(k.size(), 43u) << k;
    EXPECT_EQ(k.substr(0, 5), "varg_");
    EXPECT_TRUE(is_base62(k.substr(5))) << k;
    EXPECT_EQ(k.substr(37), base62_fixed(crc32(k.substr(5, 32)), 6)) << k;
    EXPECT_TRUE(ApiKey::well_formed(k)) << k;
  }
  EXPECT_EQ(ApiKey::kLength, 43u);
}

TEST_F(ApiKeyTest, GeneratedKeysAreUnique) {
  std::set<std::string> keys;
  for (int i = 0; i < 1000; i++) keys.insert(ApiKey::generate());
  EXPECT_EQ(keys.size(), 1000u);
}

TEST_F(ApiKeyTest, WellFormedAcceptsAHandBuiltKey) {
  EXPECT_TRUE(ApiKey::well_formed(key_with_random("0123456789abcdefghijABCDEFGHIJxy")));
}

TEST_F(ApiKeyTest, EveryFlippedChecksumCharacterIsRejected) {
  const std::string k = ApiKey::generate();
  for (size_t i = 37; i < 43; i++) {
    std::string bad = k;
    bad[i] = bad[i] == 'a' ? 'b' : 'a';
    EXPECT_FALSE(ApiKey::well_formed(bad)) << "checksum char " << i << ": " << bad;
  }
}

TEST_F(ApiKeyTest, AChangedRandomCharacterIsRejectedByTheChecksum) {
  const std::string k = ApiKey::generate();
  for (size_t i = 5; i < 37; i++) {
    std::string bad = k;
    bad[i] = bad[i] == 'Q' ? 'R' : 'Q';
    EXPECT_FALSE(ApiKey::well_formed(bad)) << "random char " << i << ": " << bad;
  }
}

struct BadKey {
  const char* why;
  std::string key;
};

TEST_F(ApiKeyTest, MalformedKeysAreRejected) {
  const std::string good = ApiKey::generate();
  const std::string random = good.substr(5, 32);
  const std::vector<BadKey> cases = {
      {"empty", ""},
      {"prefix only", "varg_"},
      {"wrong prefix", "vark_" + good.substr(5)},
      {"upper-case prefix", "VARG_" + good.substr(5)},
      {"no prefix", good.substr(5)},
      {"access token prefix", "vat_" + good.substr(4)},
      {"one char short", good.substr(0, 42)},
      {"one char long", good + "0"},
      {"non-base62 in random part", key_with_random(random.substr(0, 31) + "-")},
      {"non-base62 in checksum", good.substr(0, 42) + "_"},
      {"space inside", good.substr(0, 20) + " " + good.substr(21)},
      {"trailing newline", good.substr(0, 42) + "\n"},
      {"NUL inside", good.substr(0, 20) + std::string(1, '\0') + good.substr(21)},
  };
  for (auto& c : cases) EXPECT_FALSE(ApiKey::well_formed(c.key)) << c.why << ": " << c.key;
  EXPECT_TRUE(ApiKey::well_formed(good));
}

TEST_F(ApiKeyTest, DisplayPrefixIsVargUnderscorePlusFourCharacters) {
  const std::string k = ApiKey::generate();
  EXPECT_EQ(ApiKey::display_prefix(k), k.substr(0, 9));
  EXPECT_EQ(ApiKey::display_prefix(k).size(), 9u);
}

TEST_F(ApiKeyTest, AccessTokenShapeIsVatPlus40Base62) {
  std::string t = AccessToken::generate();
  EXPECT_EQ(t.size(), 44u);
  EXPECT_TRUE(AccessToken::well_formed(t));
  EXPECT_FALSE(AccessToken::well_formed(t.substr(0, 43)));
  EXPECT_FALSE(AccessToken::well_formed("vak_" + t.substr(4)));
  EXPECT_FALSE(AccessToken::well_formed(t.substr(0, 43) + "-"));
  EXPECT_FALSE(AccessToken::well_formed(ApiKey::generate()));
}

TEST_F(ApiKeyTest, SecretHasherIsDeterministicHexAndHidesTheSecret) {
  SecretHasher h("pepper-one");
  const std::string k = ApiKey::generate();
  EXPECT_EQ(h.hash(k), h.hash(k));
  EXPECT_EQ(h.hash(k).size(), 64u);
  EXPECT_TRUE(from_hex(h.hash(k)).has_value());
  EXPECT_EQ(h.hash(k).find(k.substr(5)), std::string::npos);
  EXPECT_NE(h.hash(k), h.hash(ApiKey::generate()));
  EXPECT_EQ(h.hash(k), to_hex(hmac_sha256("pepper-one", k)));
}

TEST_F(ApiKeyTest, SecretHasherDependsOnThePepper) {
  const std::string k = ApiKey::generate();
  EXPECT_NE(SecretHasher("pepper-one").hash(k), SecretHasher("pepper-two").hash(k));
  EXPECT_NE(SecretHasher("pepper-one").hash(k), to_hex(sha256(k))) << "an unpeppered hash would be guessable offline";
}

}  // namespace
}  // namespace varg
