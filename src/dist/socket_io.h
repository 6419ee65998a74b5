// Blocking TCP helpers for the store: whole-message reads and writes that survive EINTR and short transfers.
#pragma once
#include <chrono>
#include <cstddef>
#include <string>

namespace kiln::dist::net {

/// Why the last socket call failed, as "<call>: <strerror>".
std::string last_error(const char* call);

/// Writes all n bytes (MSG_NOSIGNAL: a closed peer is an error, not SIGPIPE). False when the peer is gone.
bool send_all(int fd, const void* data, size_t n);
/// Reads exactly n bytes. False on end of stream, an error or the socket's receive timeout.
bool recv_all(int fd, void* data, size_t n);
/// A socket listening on every IPv4 interface at port (0: any free port); sets *bound_port. -1 with
/// *error set when the port cannot be bound.
int listen_on(int port, int* bound_port, std::string* error);
/// One connection attempt to host:port (IPv4). -1 with *error set when it fails.
int connect_to(const std::string& host, int port, std::string* error);
/// Makes blocking reads and writes on fd give up after timeout (0: never).
void set_io_timeout(int fd, std::chrono::milliseconds timeout);
/// Closes fd once: retrying close on EINTR is wrong on Linux (the descriptor is gone either way).
void close_fd(int fd);

}  // namespace kiln::dist::net
