// gRPC behind a small door: the serving side and the calling side of the rpc transports
// (transports/net/rpc_transport.hpp), with gRPC's headers kept in rpc_channel.cpp alone, so that the
// templates that include this compile as fast as any other transport's.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace ringlab::ipc::rpc {

// Where the serving side takes items from: up to `max_items` whole items into `out`,
// waiting for the first when `wait`; the count, or 0 with `closed` set once the queue is
// closed and drained.
using take_fn = std::function<std::size_t(char* out, std::size_t max_items, bool wait, bool& closed)>;

// A gRPC server for service ringlab.rpc.Queue on address:port (0: the kernel picks). Its
// threads are gRPC's own, not pinned (made from a thread on any PU).
class server {
 public:
  server(const std::string& address, unsigned port, std::size_t item_bytes, std::size_t max_items, take_fn take);
  ~server();
  unsigned port() const noexcept;
  void stop() noexcept;  // no new calls; calls in flight get a second to finish

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// The calling side: one channel to the server, a call per take() (unary) or one stream.
// A failed call (the server is gone, the connection broke) throws ipc::peer_lost.
class client {
 public:
  client(const std::string& address, unsigned port, std::size_t item_bytes);
  ~client();
  // One Take call: up to max_items items into out; 0 if none (wait false) or closed.
  std::size_t take(char* out, std::size_t max_items, bool wait, bool& closed);
  // The one Stream call: opened, then read a message at a time (one thread reads); 0 once closed.
  void open_stream(std::size_t max_items);
  std::size_t next_streamed(char* out, std::size_t max_items, bool& closed);
  void cancel() noexcept;   // from any thread: the stream's read returns (and throws)
  void hang_up() noexcept;  // cancels the stream, if any, and waits for it

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace ringlab::ipc::rpc
