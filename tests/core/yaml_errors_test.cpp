// One shape of YAML error for every file frugal reads: "ORIGIN:LINE:COL: why".
#include "frugal/core/yaml_errors.h"

#include <gtest/gtest.h>

#include <functional>

#include "frugal/core/error.h"

namespace frugal {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(YamlErrors, SyntaxErrorsAndNodesNameTheirPlace) {
  EXPECT_EQ(error_of([] {
              yaml_load("a: [1, 2\n", "x.yaml");
            }).rfind("x.yaml:2:1: YAML syntax error: ", 0),
            0u);
  const YAML::Node root = yaml_load("a: 1\nb:\n  c: [x, y]\n", "x.yaml");
  EXPECT_EQ(yaml_where("x.yaml", root["b"]["c"][1]), "x.yaml:3:10");
  EXPECT_EQ(error_of([&] { yaml_fail("x.yaml", root["a"], "a: must be 2"); }),
            "x.yaml:1:4: a: must be 2");
  EXPECT_EQ(yaml_where("x.yaml", YAML::Node()), "x.yaml");  // a node of no document
}

}  // namespace
}  // namespace frugal
