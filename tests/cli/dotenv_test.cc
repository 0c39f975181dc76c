// parse_dotenv, table-driven: the .env spellings users write.
#include <gtest/gtest.h>

#include "varg/credentials.h"

namespace varg::client {
namespace {

struct Case {
  const char* text;
  const char* expected;  // VARG_API_KEY's value; nullptr: absent
};

TEST(Dotenv, Spellings) {
  const Case cases[] = {
      {"VARG_API_KEY=abc", "abc"},
      {"VARG_API_KEY=\"abc\"", "abc"},
      {"VARG_API_KEY='abc'", "abc"},
      {"export VARG_API_KEY=abc", "abc"},
      {"export VARG_API_KEY='abc' # comment", "abc"},
      {"VARG_API_KEY=abc # comment", "abc"},
      {"VARG_API_KEY=abc#notacomment", "abc#notacomment"},
      {"VARG_API_KEY=\"a#b c\"", "a#b c"},
      {"  VARG_API_KEY = abc  \r", "abc"},
      {"# VARG_API_KEY=abc", nullptr},
      {"\n\n# only comments\n", nullptr},
      {"VARG_API_KEY", nullptr},
      {"VARG_API_KEY=", ""},
      {"A=1\nVARG_API_KEY=first\nVARG_API_KEY=second", "second"},
      {"VARG_API_KEY=\"line\\nnext\"", "line\nnext"},
      {"VARG_API_KEY='it\\'s'", "it\\"},
  };
  for (const auto& c : cases) {
    auto vars = parse_dotenv(c.text);
    auto it = vars.find("VARG_API_KEY");
    if (!c.expected)
      EXPECT_EQ(it, vars.end()) << c.text;
    else if (it == vars.end())
      ADD_FAILURE() << "no VARG_API_KEY in: " << c.text;
    else
      EXPECT_EQ(it->second, c.expected) << c.text;
  }
}

}  // namespace
}  // namespace varg::client
