// Reads the rank, world size and master address that torchrun, mpirun or srun set for each process.
#include "kiln/dist/launch_env.h"

#include <cerrno>
#include <cstdlib>

#include "kiln/core/error.h"

namespace kiln::dist {
namespace {

// One row per launcher, in the order they are tried: the first whose rank variable is set wins.
struct LauncherVars {
  const char* launcher;
  const char* rank;
  const char* world_size;
  const char* local_rank;
};
constexpr LauncherVars kLaunchers[] = {
    {"torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK"},
    {"mpirun", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"},
    {"srun", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"},
};

int parse_int(const char* name, const char* value, long lo, long hi) {
  errno = 0;
  char* end = nullptr;
  long v = std::strtol(value, &end, 10);
  KILN_CHECK(errno == 0 && end != value && *end == '\0' && v >= lo && v <= hi, "dist: environment variable ", name,
             "='", value, "' is not an integer in [", lo, ", ", hi, "]");
  return static_cast<int>(v);
}

}  // namespace

LaunchEnv read_launch_env(const std::function<const char*(const char*)>& getenv) {
  const LauncherVars* found = nullptr;
  for (const auto& row : kLaunchers) {
    if (getenv(row.rank) || getenv(row.world_size)) {
      found = &row;
      break;
    }
  }
  KILN_CHECK(found != nullptr,
             "dist: no launcher variables are set: set RANK and WORLD_SIZE (torchrun and `kiln launch` do), or run "
             "under mpirun (OMPI_COMM_WORLD_RANK) or srun (SLURM_PROCID)");
  const char* rank = getenv(found->rank);
  const char* world = getenv(found->world_size);
  KILN_CHECK(rank != nullptr, "dist: ", found->world_size, " is set but ", found->rank,
             " is not (", found->launcher, "'s variables); set ", found->rank, " to this process's rank");
  KILN_CHECK(world != nullptr, "dist: ", found->rank, " is set but ", found->world_size, " is not (",
             found->launcher, "'s variables); set ", found->world_size, " to the number of processes");
  LaunchEnv env;
  env.launcher = found->launcher;
  env.world_size = parse_int(found->world_size, world, 1, 1 << 20);
  env.rank = parse_int(found->rank, rank, 0, env.world_size - 1);
  const char* local = getenv(found->local_rank);
  env.local_rank = local ? parse_int(found->local_rank, local, 0, 1 << 20) : 0;
  const char* addr = getenv("MASTER_ADDR");
  const char* port = getenv("MASTER_PORT");
  KILN_CHECK(addr != nullptr && *addr != '\0',
             "dist: MASTER_ADDR is not set: set it to the host name or address of rank 0 (e.g. MASTER_ADDR=127.0.0.1 "
             "on one machine)");
  KILN_CHECK(port != nullptr, "dist: MASTER_PORT is not set: set it to a free TCP port on rank 0's host (e.g. 29500)");
  env.master_addr = addr;
  env.master_port = parse_int("MASTER_PORT", port, 1, 65535);
  return env;
}

LaunchEnv read_launch_env() {
  return read_launch_env([](const char* name) -> const char* { return std::getenv(name); });
}

}  // namespace kiln::dist
