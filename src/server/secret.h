// The server secret: the root of the key-hashing pepper and the provider-key encryption key.
// From --secret/VARGD_SECRET (required when several instances share a database), else a 0600 file
// in the data directory, created on first start.
#pragma once
#include <string>

#include "common/status.h"

namespace varg {

struct ServerSecret {
  std::string pepper;      // 32 bytes, keys the hashes of API keys, tokens and codes
  std::string master_key;  // 32 bytes, AEAD key for provider keys at rest
};

Result<ServerSecret> load_secret(const std::string& hex_setting, const std::string& data_dir);

}  // namespace varg
