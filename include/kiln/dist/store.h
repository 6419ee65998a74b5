// The key-value store processes meet at before they can talk directly (rendezvous), and TCPStore, served by rank 0.
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "kiln/core/error.h"

namespace kiln::dist {

/// A collective or the rendezvous failed: a peer exited or stalled, the network broke, a timeout passed, or the
/// store could not be reached. what() names the operation, this process's rank and its peers.
class DistError : public Error {
 public:
  using Error::Error;
};

/// Timeout of collectives and of the rendezvous unless set otherwise: 30 minutes, as in PyTorch.
inline constexpr std::chrono::milliseconds kDefaultTimeout = std::chrono::minutes(30);

/// A key-value store shared by every process of a group. Values are bytes.
class Store {
 public:
  virtual ~Store() = default;
  /// Sets key to value (replacing an earlier value).
  virtual void set(const std::string& key, const std::string& value) = 0;
  /// The value of key, waiting up to timeout() for another process to set it; DistError after that.
  virtual std::string get(const std::string& key) = 0;
  /// Returns once every key is set; DistError naming the missing keys after `timeout`.
  virtual void wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout) = 0;
  /// Whether every key is set now (never waits).
  virtual bool check(const std::vector<std::string>& keys) = 0;
  /// The timeout get() waits for.
  virtual std::chrono::milliseconds timeout() const = 0;
};

/// PyTorch's TCPStore, minimal: the master process serves the keys from a thread; every process (the master
/// too) is a client over TCP. A client retries connecting until `timeout`, then throws DistError naming the
/// address, so workers may start before the master.
class TCPStore : public Store {
 public:
  /// host:port is the master's address (MASTER_ADDR, MASTER_PORT). With is_master the server listens on port
  /// on every interface (port 0 picks a free one, see port()); IOError when the port cannot be bound.
  TCPStore(std::string host, int port, bool is_master, std::chrono::milliseconds timeout = kDefaultTimeout);
  ~TCPStore() override;
  TCPStore(const TCPStore&) = delete;
  TCPStore& operator=(const TCPStore&) = delete;

  void set(const std::string& key, const std::string& value) override;
  std::string get(const std::string& key) override;
  void wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout) override;
  bool check(const std::vector<std::string>& keys) override;
  std::chrono::milliseconds timeout() const override { return timeout_; }
  /// The port the master listens on (the one chosen when constructed with port 0).
  int port() const { return port_; }

 private:
  class Server;
  class Client;
  std::string host_;
  int port_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<Client> client_;
};

}  // namespace kiln::dist
