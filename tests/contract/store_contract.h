// The Store contract: tests written only against the Store interface (store/store.h). Each store
// implementation instantiates the suite with a factory that yields a fresh, empty store:
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StoreContract, ::testing::Values(StoreFactory{"sqlite", ...}), factory_name);
#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "store/store.h"

namespace varg {

struct StoreFactory {
  std::string name;
  // A fresh, empty store. `scratch` is an empty directory the store may use; it is removed after the test.
  std::function<Result<std::unique_ptr<Store>>(const std::filesystem::path& scratch)> make;
};

inline std::string factory_name(const ::testing::TestParamInfo<StoreFactory>& info) { return info.param.name; }

class StoreContract : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;

  Store& store() { return *store_; }
  // A user that exists, for tests about keys, sessions and the ledger.
  int64_t new_user(const std::string& email);
  // Asserts the balance projection equals the sum of the ledger lines.
  void expect_projection_consistent(int64_t user_id, const char* after);

  std::filesystem::path scratch_;
  std::unique_ptr<Store> store_;
};

}  // namespace varg
