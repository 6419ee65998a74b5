// TCPStore: rank 0 serves a key-value map over TCP (one thread per client); every rank is a client.
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>

#include "dist/socket_io.h"
#include "kiln/dist/store.h"

namespace kiln::dist {
namespace {

// The wire format: a request is a command byte, a u32 key length and the key, then for Set a u32 value length
// and the value. Set answers one byte; Get answers a found byte, then for a found key the u32 length and value.
constexpr uint8_t kSet = 'S';
constexpr uint8_t kGet = 'G';
// Bounds that keep a stray connection (a port scanner, a wrong MASTER_PORT) from making the server allocate much.
constexpr uint32_t kMaxKey = 1u << 16;
constexpr uint32_t kMaxValue = 1u << 28;

bool recv_string(int fd, std::string& s, uint32_t max_len) {
  uint32_t n = 0;
  if (!net::recv_all(fd, &n, sizeof(n)) || n > max_len) return false;
  s.resize(n);
  return n == 0 || net::recv_all(fd, s.data(), n);
}

bool send_string(int fd, const std::string& s) {
  uint32_t n = static_cast<uint32_t>(s.size());
  return net::send_all(fd, &n, sizeof(n)) && net::send_all(fd, s.data(), s.size());
}

std::string join_keys(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "'" : ", '") + k + "'";
  return out;
}

}  // namespace

class TCPStore::Server {
 public:
  explicit Server(int port) {
    std::string error;
    fd_ = net::listen_on(port, &port_, &error);
    KILN_CHECK_T(IOError, fd_ >= 0, "dist: rank 0 cannot serve the store on port ", port, " (", error,
                 "); choose another MASTER_PORT");
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~Server() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);  // wakes accept()
    acceptor_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int c : clients_) ::shutdown(c, SHUT_RDWR);  // wakes the clients' recv()
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
    for (int c : clients_) net::close_fd(c);
    net::close_fd(fd_);
  }
  int port() const { return port_; }

 private:
  void accept_loop() {
    while (!stop_) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (stop_) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // EMFILE and the like: try again
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      clients_.push_back(c);
      threads_.emplace_back([this, c] { serve(c); });
    }
  }
  // Answers one client until it disconnects or sends something malformed.
  void serve(int fd) {
    for (;;) {
      uint8_t cmd = 0;
      std::string key, value;
      if (!net::recv_all(fd, &cmd, 1) || !recv_string(fd, key, kMaxKey)) return;
      if (cmd == kSet) {
        if (!recv_string(fd, value, kMaxValue)) return;
        {
          std::lock_guard<std::mutex> lock(mu_);
          kv_[key] = std::move(value);
        }
        uint8_t ok = 1;
        if (!net::send_all(fd, &ok, 1)) return;
      } else if (cmd == kGet) {
        bool found;
        {
          std::lock_guard<std::mutex> lock(mu_);
          auto it = kv_.find(key);
          found = it != kv_.end();
          if (found) value = it->second;
        }
        uint8_t f = found ? 1 : 0;
        if (!net::send_all(fd, &f, 1) || (found && !send_string(fd, value))) return;
      } else {
        return;
      }
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> clients_;
  std::vector<std::thread> threads_;
  std::map<std::string, std::string> kv_;
};

class TCPStore::Client {
 public:
  Client(const std::string& host, int port, std::chrono::milliseconds timeout) : where_(host + ":" + std::to_string(port)) {
    // Workers may start before rank 0 listens: retry until the timeout, backing off up to 100 ms.
    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto pause = std::chrono::milliseconds(5);
    std::string error;
    for (;;) {
      fd_ = net::connect_to(host, port, &error);
      if (fd_ >= 0) break;
      KILN_CHECK_T(DistError, std::chrono::steady_clock::now() < deadline, "dist: could not reach the store at ", where_,
                   " (MASTER_ADDR:MASTER_PORT) within ", timeout.count(), " ms (last error: ", error,
                   "); check that rank 0 is running and that every rank uses the same MASTER_ADDR and MASTER_PORT");
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(100));
    }
    // A request is answered at once by a live server, so a reply slower than the timeout means it is gone.
    net::set_io_timeout(fd_, timeout);
  }
  ~Client() { net::close_fd(fd_); }

  void set(const std::string& key, const std::string& value) {
    std::lock_guard<std::mutex> lock(mu_);
    uint8_t cmd = kSet, ok = 0;
    if (!(net::send_all(fd_, &cmd, 1) && send_string(fd_, key) && send_string(fd_, value) && net::recv_all(fd_, &ok, 1)))
      fail("set", key);
  }
  // The value of key, or false when it is not set.
  bool get(const std::string& key, std::string* value) {
    std::lock_guard<std::mutex> lock(mu_);
    uint8_t cmd = kGet, found = 0;
    if (!(net::send_all(fd_, &cmd, 1) && send_string(fd_, key) && net::recv_all(fd_, &found, 1))) fail("get", key);
    if (found && !recv_string(fd_, *value, kMaxValue)) fail("get", key);
    return found != 0;
  }
  const std::string& where() const { return where_; }

 private:
  [[noreturn]] void fail(const char* op, const std::string& key) {
    std::string why = net::last_error("socket");
    throw DistError("dist: the store at " + where_ + " stopped answering during " + op + "('" + key + "') (" + why +
                    "); rank 0, which serves it, may have exited");
  }
  std::string where_;
  int fd_ = -1;
  std::mutex mu_;
};

TCPStore::TCPStore(std::string host, int port, bool is_master, std::chrono::milliseconds timeout)
    : host_(std::move(host)), port_(port), timeout_(timeout) {
  KILN_CHECK(timeout.count() > 0, "dist: the store's timeout must be positive, got ", timeout.count(), " ms");
  if (is_master) {
    server_ = std::make_unique<Server>(port);
    port_ = server_->port();
  }
  client_ = std::make_unique<Client>(is_master ? std::string("127.0.0.1") : host_, port_, timeout_);
}

TCPStore::~TCPStore() {
  client_.reset();
  server_.reset();
}

void TCPStore::set(const std::string& key, const std::string& value) { client_->set(key, value); }

std::string TCPStore::get(const std::string& key) {
  wait({key}, timeout_);
  std::string value;
  client_->get(key, &value);
  return value;
}

bool TCPStore::check(const std::vector<std::string>& keys) {
  std::string ignored;
  for (const auto& k : keys)
    if (!client_->get(k, &ignored)) return false;
  return true;
}

void TCPStore::wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout) {
  // Polling keeps the server free of waiter lists; the rendezvous reads a few keys per rank, once.
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  std::vector<std::string> missing = keys;
  std::string ignored;
  for (;;) {
    missing.erase(std::remove_if(missing.begin(), missing.end(), [&](const std::string& k) { return client_->get(k, &ignored); }),
                  missing.end());
    if (missing.empty()) return;
    KILN_CHECK_T(DistError, std::chrono::steady_clock::now() < deadline, "dist: timed out after ", timeout.count(),
                 " ms waiting for key(s) ", join_keys(missing), " in the store at ", client_->where(),
                 ": not every rank has joined; check that all WORLD_SIZE processes started and share MASTER_ADDR and "
                 "MASTER_PORT");
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

}  // namespace kiln::dist
