// Where this process sits in a distributed job, read from the variables torchrun, mpirun or srun set.
#pragma once
#include <functional>
#include <string>

namespace kiln::dist {

/// This process's place in the job and the rendezvous address.
struct LaunchEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr;
  int master_port = 0;
  /// Which launcher's variables were read: "torchrun", "mpirun" or "srun".
  std::string launcher;
};

/// Reads torchrun's RANK, WORLD_SIZE, LOCAL_RANK; when RANK and WORLD_SIZE are both absent, Open MPI's
/// OMPI_COMM_WORLD_RANK/SIZE/LOCAL_RANK, then Slurm's SLURM_PROCID/SLURM_NTASKS/SLURM_LOCALID. MASTER_ADDR and
/// MASTER_PORT are always required (no launcher's own variables say where rank 0 listens). A local rank that is
/// not set defaults to 0. Throws ValueError naming the missing or malformed variable.
LaunchEnv read_launch_env();
/// The same, reading variables through `getenv` (null for an unset variable), so tests need not touch the
/// process environment.
LaunchEnv read_launch_env(const std::function<const char*(const char*)>& getenv);

}  // namespace kiln::dist
