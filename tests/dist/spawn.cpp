// Runs a test scenario in N processes of this test binary on loopback, with torchrun's variables, under a hard limit.
#include "dist/spawn.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace kiln::test {

std::string GroupResult::dump() const {
  std::ostringstream os;
  if (timed_out) os << "(hard limit passed: ranks killed)\n";
  for (size_t r = 0; r < ranks.size(); ++r)
    os << "--- rank " << r << " exit " << ranks[r].exit_code << " signal " << ranks[r].signal << " ---\n"
       << ranks[r].output << "\n";
  return os.str();
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind to port 0 failed");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

namespace {

// Every variable of this process except the launcher ones we set, then ours.
std::vector<std::string> child_env(int rank, int world_size, int port, const std::string& scenario,
                                   const std::vector<std::string>& extra) {
  const char* ours[] = {"RANK=", "WORLD_SIZE=", "LOCAL_RANK=", "MASTER_ADDR=", "MASTER_PORT=", "OMPI_COMM_WORLD_",
                        "SLURM_", "GLOO_SOCKET_IFNAME="};
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    bool skip = false;
    for (const char* p : ours) skip = skip || std::strncmp(*e, p, std::strlen(p)) == 0;
    if (!skip) env.emplace_back(*e);
  }
  env.push_back("RANK=" + std::to_string(rank));
  env.push_back("WORLD_SIZE=" + std::to_string(world_size));
  env.push_back("LOCAL_RANK=" + std::to_string(rank));
  env.push_back("MASTER_ADDR=127.0.0.1");
  env.push_back("MASTER_PORT=" + std::to_string(port));
  env.push_back(std::string(kScenarioVar) + "=" + scenario);
  for (const auto& e : extra) env.push_back(e);
  return env;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

}  // namespace

GroupResult spawn_group(int world_size, const std::string& scenario, std::chrono::milliseconds hard_limit,
                        const std::vector<std::string>& extra_env) {
  int port = free_port();
  std::vector<pid_t> pids;
  std::vector<std::string> logs;
  for (int r = 0; r < world_size; ++r) {
    // Everything the child needs is prepared before fork: between fork and exec it only calls dup2 and execve.
    std::vector<std::string> env = child_env(r, world_size, port, scenario, extra_env);
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    char exe[] = "/proc/self/exe";
    char* argv[] = {exe, nullptr};
    char path[] = "/tmp/kiln_dist_test_XXXXXX";
    int log_fd = ::mkstemp(path);
    if (log_fd < 0) throw std::runtime_error("mkstemp failed");
    logs.emplace_back(path);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(log_fd, 1);
      ::dup2(log_fd, 2);
      ::execve(exe, argv, envp.data());
      ::_exit(127);
    }
    ::close(log_fd);
    if (pid < 0) throw std::runtime_error("fork failed");
    pids.push_back(pid);
  }
  GroupResult result;
  result.ranks.resize(world_size);
  std::vector<bool> done(world_size, false);
  int remaining = world_size;
  auto deadline = std::chrono::steady_clock::now() + hard_limit;
  while (remaining > 0) {
    for (int r = 0; r < world_size; ++r) {
      if (done[r]) continue;
      int status = 0;
      if (::waitpid(pids[r], &status, WNOHANG) == pids[r]) {
        done[r] = true;
        --remaining;
        if (WIFEXITED(status)) result.ranks[r].exit_code = WEXITSTATUS(status);
        if (WIFSIGNALED(status)) result.ranks[r].signal = WTERMSIG(status);
      }
    }
    if (remaining > 0 && std::chrono::steady_clock::now() > deadline) {
      result.timed_out = true;
      for (int r = 0; r < world_size; ++r) {
        if (done[r]) continue;
        ::kill(pids[r], SIGKILL);
        int status = 0;
        ::waitpid(pids[r], &status, 0);
        result.ranks[r].signal = SIGKILL;
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (int r = 0; r < world_size; ++r) {
    result.ranks[r].output = slurp(logs[r]);
    ::unlink(logs[r].c_str());
  }
  return result;
}

}  // namespace kiln::test
