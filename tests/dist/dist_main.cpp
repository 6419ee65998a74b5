// main() of kiln_dist_tests: runs a scenario when spawned as a rank (spawn.h), the GoogleTest suite otherwise.
#include <gtest/gtest.h>

#include <cstdlib>

#include "dist/spawn.h"

int main(int argc, char** argv) {
  if (const char* scenario = std::getenv(kiln::test::kScenarioVar)) return kiln::test::run_scenario(scenario);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
