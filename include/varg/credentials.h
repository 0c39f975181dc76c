// Where the API key comes from (SPEC 8): VARG_API_KEY in the environment, then in ./.env, then
// ~/.varg/credentials ({"api_key","email","created_at"}, mode 0600 in a 0700 directory).
#pragma once
#include <filesystem>
#include <map>
#include <string>

#include "varg/result.h"

namespace varg::client {

enum class CredentialSource { environment, dotenv, file };

struct Credentials {
  std::string api_key;
  std::string email;       // empty when unknown
  std::string created_at;  // ISO 8601, empty when unknown
  CredentialSource source = CredentialSource::file;
  std::filesystem::path origin;  // the .env or credentials file the key came from
};

// ~/.varg/credentials, with ~ taken from HOME.
std::filesystem::path credentials_path();

// The key to use, in the documented order. An empty VARG_API_KEY counts as unset. A credentials file
// that group or others may read or write is refused with the chmod that fixes it; a corrupt one is
// an error that says so.
Result<Credentials> find_credentials();

// Reads ~/.varg/credentials only (no environment, no .env).
Result<Credentials> read_credentials_file(const std::filesystem::path& path);

// Writes the credentials file atomically (temp file in the same directory, fsync, rename), mode
// 0600, creating the 0700 directory. created_at is filled in when empty.
Result<void> save_credentials(const Credentials& creds);

// Removes the credentials file; true when there was one.
Result<bool> remove_credentials();

// KEY=VALUE lines of a .env file: `export ` prefix, single or double quotes, # comments, blank lines.
std::map<std::string, std::string> parse_dotenv(const std::string& text);

}  // namespace varg::client
