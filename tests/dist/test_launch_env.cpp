// read_launch_env: torchrun's, mpirun's and srun's variables, and errors naming what is missing.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "kiln/core/error.h"
#include "kiln/dist/launch_env.h"

namespace kiln::dist {
namespace {

LaunchEnv read(const std::map<std::string, std::string>& vars) {
  return read_launch_env([&](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

std::string error_of(const std::map<std::string, std::string>& vars) {
  try {
    read(vars);
  } catch (const ValueError& e) {
    return e.what();
  }
  return "(no error)";
}

const std::map<std::string, std::string> kMaster = {{"MASTER_ADDR", "10.0.0.1"}, {"MASTER_PORT", "29500"}};

std::map<std::string, std::string> with_master(std::map<std::string, std::string> vars) {
  vars.insert(kMaster.begin(), kMaster.end());
  return vars;
}

TEST(LaunchEnv, Torchrun) {
  LaunchEnv e = read(with_master({{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}}));
  EXPECT_EQ(e.launcher, "torchrun");
  EXPECT_EQ(e.rank, 3);
  EXPECT_EQ(e.world_size, 4);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.master_addr, "10.0.0.1");
  EXPECT_EQ(e.master_port, 29500);
}

TEST(LaunchEnv, TorchrunWinsOverTheOthers) {
  LaunchEnv e = read(with_master({{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_RANK", "0"},
                                  {"OMPI_COMM_WORLD_SIZE", "2"}, {"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}}));
  EXPECT_EQ(e.launcher, "torchrun");
  EXPECT_EQ(e.rank, 1);
  EXPECT_EQ(e.local_rank, 0);  // unset: 0
}

TEST(LaunchEnv, OpenMpi) {
  LaunchEnv e = read(with_master({{"OMPI_COMM_WORLD_RANK", "5"}, {"OMPI_COMM_WORLD_SIZE", "8"},
                                  {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}, {"SLURM_PROCID", "0"}}));
  EXPECT_EQ(e.launcher, "mpirun");
  EXPECT_EQ(e.rank, 5);
  EXPECT_EQ(e.world_size, 8);
  EXPECT_EQ(e.local_rank, 1);
}

TEST(LaunchEnv, Slurm) {
  LaunchEnv e = read(with_master({{"SLURM_PROCID", "2"}, {"SLURM_NTASKS", "3"}, {"SLURM_LOCALID", "0"}}));
  EXPECT_EQ(e.launcher, "srun");
  EXPECT_EQ(e.rank, 2);
  EXPECT_EQ(e.world_size, 3);
}

TEST(LaunchEnv, ErrorsNameTheMissingVariable) {
  EXPECT_NE(error_of(kMaster).find("RANK and WORLD_SIZE"), std::string::npos) << error_of(kMaster);
  EXPECT_NE(error_of(with_master({{"RANK", "0"}})).find("WORLD_SIZE is not"), std::string::npos);
  EXPECT_NE(error_of(with_master({{"WORLD_SIZE", "2"}})).find("RANK is not"), std::string::npos);
  EXPECT_NE(error_of(with_master({{"SLURM_PROCID", "0"}})).find("SLURM_NTASKS is not"), std::string::npos);
  EXPECT_NE(error_of({{"RANK", "0"}, {"WORLD_SIZE", "1"}, {"MASTER_PORT", "1"}}).find("MASTER_ADDR is not set"),
            std::string::npos);
  EXPECT_NE(error_of({{"RANK", "0"}, {"WORLD_SIZE", "1"}, {"MASTER_ADDR", "h"}}).find("MASTER_PORT is not set"),
            std::string::npos);
}

TEST(LaunchEnv, ErrorsNameTheMalformedVariable) {
  EXPECT_NE(error_of(with_master({{"RANK", "2"}, {"WORLD_SIZE", "2"}})).find("RANK='2'"), std::string::npos);
  EXPECT_NE(error_of(with_master({{"RANK", "x"}, {"WORLD_SIZE", "2"}})).find("RANK='x'"), std::string::npos);
  EXPECT_NE(error_of(with_master({{"RANK", "0"}, {"WORLD_SIZE", "0"}})).find("WORLD_SIZE='0'"), std::string::npos);
  EXPECT_NE(error_of({{"RANK", "0"}, {"WORLD_SIZE", "1"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}})
                .find("MASTER_PORT='70000'"),
            std::string::npos);
}

}  // namespace
}  // namespace kiln::dist
