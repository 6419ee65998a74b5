// `kiln launch -n N -- command ...`: starts N local ranks with torchrun's variables, prefixes their output, and
// when one fails stops the others (SIGTERM, then SIGKILL) and exits non-zero naming it.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "kiln/core/error.h"

namespace kiln::cli {
namespace {

struct LaunchArgs {
  int nproc = 1;
  int nodes = 1;
  int node_rank = 0;
  std::string master;  // ADDR:PORT; 127.0.0.1 and a free port on one node
  double grace_s = 5;
  bool no_prefix = false;
  std::vector<std::string> command;
};

// Written by the signal handlers, read by the supervising loop. A byte on the self-pipe wakes its poll() at once,
// so the first rank to exit is reaped first (a peer that then fails because it lost that rank comes second).
volatile std::sig_atomic_t g_signal = 0;
int g_wake[2] = {-1, -1};
void wake() {
  int saved = errno;
  if (g_wake[1] >= 0) (void)!::write(g_wake[1], "x", 1);
  errno = saved;
}
void on_signal(int sig) {
  g_signal = sig;
  wake();
}
void on_child(int) { wake(); }

// A port that was free a moment ago (bound with port 0, then released), as torchrun picks one.
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  KILN_CHECK(fd >= 0, "kiln launch: cannot open a socket to find a free port: ", std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  KILN_CHECK(ok, "kiln launch: cannot find a free port; pass --master 127.0.0.1:PORT");
  return ntohs(addr.sin_port);
}

// "host:port" -> (host, port); ValueError naming the text otherwise.
std::pair<std::string, int> parse_master(const std::string& text) {
  auto colon = text.rfind(':');
  KILN_CHECK(colon != std::string::npos && colon > 0 && colon + 1 < text.size(),
             "kiln launch: --master must be ADDR:PORT, got '", text, "'");
  std::string port = text.substr(colon + 1);
  KILN_CHECK(port.find_first_not_of("0123456789") == std::string::npos && port.size() <= 5 && std::stoi(port) > 0 &&
                 std::stoi(port) < 65536,
             "kiln launch: --master's port must be in 1..65535, got '", port, "'");
  return {text.substr(0, colon), std::stoi(port)};
}

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

// One rank's process and the pipes its output comes through (-1 when closed or not prefixed).
struct Child {
  int rank = 0;
  pid_t pid = -1;
  bool running = false;
  int status = 0;
  int fd[2] = {-1, -1};     // stdout, stderr
  std::string partial[2];  // an unfinished last line per stream
};

// Writes what arrived on one of a child's streams, each complete line prefixed with its rank.
void forward(Child& c, int stream, bool at_eof) {
  char buf[65536];
  ssize_t n = ::read(c.fd[stream], buf, sizeof buf);
  if (n > 0) c.partial[stream].append(buf, static_cast<size_t>(n));
  std::ostream& out = stream == 0 ? std::cout : std::cerr;
  std::string prefix = "[rank " + std::to_string(c.rank) + "] ";
  size_t start = 0;
  for (size_t nl; (nl = c.partial[stream].find('\n', start)) != std::string::npos; start = nl + 1)
    out << prefix << c.partial[stream].substr(start, nl + 1 - start);
  c.partial[stream].erase(0, start);
  if (n <= 0 && !(n < 0 && (errno == EINTR || errno == EAGAIN))) at_eof = true;
  if (at_eof) {
    if (!c.partial[stream].empty()) out << prefix << c.partial[stream] << "\n";
    c.partial[stream].clear();
    ::close(c.fd[stream]);
    c.fd[stream] = -1;
  }
  out.flush();
}

// Forks one rank: its own process group (so a signal reaches whatever it starts, and the terminal's Ctrl-C
// reaches only the launcher, which forwards it), stdin from /dev/null, torchrun's variables.
void spawn(Child& c, const LaunchArgs& a, const std::vector<std::string>& env, bool prefix) {
  int out[2] = {-1, -1}, err[2] = {-1, -1};
  // Close-on-exec: a later rank must not inherit an earlier rank's pipes (dup2 clears the flag on 1 and 2).
  if (prefix)
    KILN_CHECK(::pipe2(out, O_CLOEXEC) == 0 && ::pipe2(err, O_CLOEXEC) == 0, "kiln launch: pipe failed: ",
               std::strerror(errno));
  std::vector<char*> argv;
  for (const auto& s : a.command) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  // `kiln` means this very binary, so the ranks run the version that launched them.
  std::string exe = a.command[0] == "kiln" ? "/proc/self/exe" : a.command[0];
  pid_t pid = ::fork();
  KILN_CHECK(pid >= 0, "kiln launch: fork failed: ", std::strerror(errno));
  if (pid == 0) {
    ::setpgid(0, 0);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    if (prefix) {
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      for (int fd : {out[0], out[1], err[0], err[1]}) ::close(fd);
    }
    for (const auto& kv : env) ::putenv(const_cast<char*>(kv.c_str()));
    ::execvp(exe.c_str(), argv.data());
    std::fprintf(stderr, "kiln launch: cannot run '%s': %s\n", a.command[0].c_str(), std::strerror(errno));
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here: no race with a signal sent before the child ran setpgid
  c.pid = pid;
  c.running = true;
  if (prefix) {
    ::close(out[1]);
    ::close(err[1]);
    c.fd[0] = out[0];
    c.fd[1] = err[0];
  }
}

void signal_all(std::vector<Child>& children, int sig) {
  for (auto& c : children)
    if (c.running) ::kill(-c.pid, sig);
}

int run_launch(const LaunchArgs& a) {
  KILN_CHECK(!a.command.empty(), "kiln launch: give the command to run after --, e.g. kiln launch -n 2 -- kiln train");
  KILN_CHECK(a.nproc >= 1, "kiln launch: -n must be at least 1, got ", a.nproc);
  KILN_CHECK(a.nodes >= 1, "kiln launch: --nodes must be at least 1, got ", a.nodes);
  KILN_CHECK(a.node_rank >= 0 && a.node_rank < a.nodes, "kiln launch: --node-rank must be in [0, ", a.nodes, "), got ",
             a.node_rank);
  KILN_CHECK(a.grace_s >= 0, "kiln launch: --grace-period must not be negative, got ", a.grace_s);
  KILN_CHECK(a.nodes == 1 || !a.master.empty(), "kiln launch: with --nodes ", a.nodes,
             " every node needs the same --master ADDR:PORT (node 0's address and a free port there)");
  auto [addr, port] = a.master.empty() ? std::make_pair(std::string("127.0.0.1"), free_port()) : parse_master(a.master);
  const int world = a.nproc * a.nodes;
  const bool prefix = !a.no_prefix && a.nproc > 1;
  // Each rank would otherwise start one OpenMP thread per core, so N ranks oversubscribe the cores N times;
  // torchrun sets 1, kiln shares the cores out. An explicit OMP_NUM_THREADS wins.
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  std::string omp = std::getenv("OMP_NUM_THREADS") ? "" : std::to_string(std::max(1u, cores / static_cast<unsigned>(a.nproc)));

  KILN_CHECK(::pipe2(g_wake, O_NONBLOCK | O_CLOEXEC) == 0, "kiln launch: pipe failed: ", std::strerror(errno));
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
  sa.sa_handler = on_child;
  sa.sa_flags = SA_NOCLDSTOP;
  ::sigaction(SIGCHLD, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  std::vector<Child> children(static_cast<size_t>(a.nproc));
  for (int local = 0; local < a.nproc; ++local) {
    Child& c = children[static_cast<size_t>(local)];
    c.rank = a.node_rank * a.nproc + local;
    std::vector<std::string> env = {
        "RANK=" + std::to_string(c.rank),          "WORLD_SIZE=" + std::to_string(world),
        "LOCAL_RANK=" + std::to_string(local),     "LOCAL_WORLD_SIZE=" + std::to_string(a.nproc),
        "GROUP_RANK=" + std::to_string(a.node_rank), "MASTER_ADDR=" + addr,
        "MASTER_PORT=" + std::to_string(port)};
    if (!omp.empty()) env.push_back("OMP_NUM_THREADS=" + omp);
    spawn(c, a, env, prefix);
  }

  // Supervise: forward output, reap exits, stop everyone on the first failure or on a signal.
  std::string failure;  // the first failing rank, as the final message says it
  int exit_status = 0;
  bool stopping = false;
  std::chrono::steady_clock::time_point kill_at;
  for (;;) {
    std::vector<pollfd> fds = {{g_wake[0], POLLIN, 0}};
    std::vector<std::pair<Child*, int>> who = {{nullptr, 0}};
    for (auto& c : children)
      for (int s = 0; s < 2; ++s)
        if (c.fd[s] >= 0) {
          fds.push_back({c.fd[s], POLLIN, 0});
          who.emplace_back(&c, s);
        }
    int running = 0;
    for (auto& c : children) running += c.running;
    if (running == 0 && fds.size() == 1) break;
    ::poll(fds.data(), fds.size(), 50);
    char drain[64];
    while (::read(g_wake[0], drain, sizeof drain) > 0) {
    }
    for (size_t i = 1; i < fds.size(); ++i)
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) forward(*who[i].first, who[i].second, false);
    for (auto& c : children) {
      if (!c.running || ::waitpid(c.pid, &c.status, WNOHANG) != c.pid) continue;
      c.running = false;
      bool failed = !WIFEXITED(c.status) || WEXITSTATUS(c.status) != 0;
      if (failed && failure.empty() && !stopping) {
        failure = "rank " + std::to_string(c.rank) + " (pid " + std::to_string(c.pid) + ") " + describe_status(c.status);
        exit_status = WIFEXITED(c.status) ? WEXITSTATUS(c.status) : 128 + WTERMSIG(c.status);
        int others = 0;
        for (auto& o : children) others += o.running;
        if (others > 0)
          std::cerr << "kiln launch: " << failure << "; stopping the other " << others << " rank(s)" << std::endl;
        stopping = true;
        kill_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(a.grace_s * 1000));
        signal_all(children, SIGTERM);
      }
    }
    if (g_signal != 0 && !stopping) {
      int sig = g_signal;
      std::cerr << "kiln launch: got signal " << sig << " (" << strsignal(sig) << "); passing it to the ranks" << std::endl;
      failure = std::string("interrupted by signal ") + std::to_string(sig);
      exit_status = 128 + sig;
      stopping = true;
      kill_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(a.grace_s * 1000));
      signal_all(children, sig);
    }
    running = 0;
    for (auto& c : children) running += c.running;
    if (running == 0 && !stopping) {  // every rank is done; what they started may still hold the pipes
      stopping = true;
      kill_at = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    }
    if (stopping && std::chrono::steady_clock::now() >= kill_at) {
      signal_all(children, SIGKILL);  // repeats harmlessly until they are reaped
      // A rank's own children may hold its pipes open after it died: stop waiting for their output.
      if (running == 0)
        for (auto& c : children)
          for (int s = 0; s < 2; ++s)
            if (c.fd[s] >= 0) forward(c, s, true);
    }
  }
  if (!failure.empty()) {
    std::cerr << "kiln launch: failed: " << failure << std::endl;
    return exit_status != 0 ? exit_status : 1;
  }
  return 0;
}

}  // namespace

void add_launch_command(CLI::App& app) {
  auto args = std::make_shared<LaunchArgs>();
  auto* cmd = app.add_subcommand(
      "launch",
      "Run a command as N local ranks of a distributed job, with torchrun's variables (RANK, WORLD_SIZE, "
      "LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT). When a rank fails, the others get SIGTERM, "
      "then SIGKILL after the grace period, and kiln launch exits non-zero naming it.\n"
      "  kiln launch -n 2 -- kiln train --device cpu --epochs 1\n"
      "  kiln launch -n 4 --nodes 2 --node-rank 0 --master 10.0.0.1:29500 -- kiln train   (run on each node)");
  cmd->add_option("-n,--nproc-per-node", args->nproc, "Processes (ranks) to start on this node")->required();
  cmd->add_option("--nodes", args->nodes, "Number of nodes (machines) in the job")->capture_default_str();
  cmd->add_option("--node-rank", args->node_rank, "This node's index in [0, --nodes)")->capture_default_str();
  cmd->add_option("--master", args->master,
                  "ADDR:PORT where rank 0 serves the rendezvous (default on one node: 127.0.0.1 and a free port)");
  cmd->add_option("--grace-period", args->grace_s, "Seconds between SIGTERM and SIGKILL when stopping the ranks")
      ->capture_default_str();
  cmd->add_flag("--no-prefix", args->no_prefix, "Pass the ranks' output through as is (no [rank N] prefix)");
  cmd->add_option("command", args->command, "The command each rank runs, after --; 'kiln' is this kiln binary")
      ->required();
  cmd->callback([args] { set_exit_code(run_launch(*args)); });
}

}  // namespace kiln::cli
