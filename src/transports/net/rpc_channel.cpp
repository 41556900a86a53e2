// The gRPC side of the rpc transports (the only file that includes gRPC): the service
// ringlab.rpc.Queue (rpc.proto) over a take_fn, and its calling side.
#include "transports/net/rpc_channel.hpp"

#include <grpc/support/log.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>

#include "transports/transport.hpp"
#include "rpc.grpc.pb.h"

namespace ringlab::ipc::rpc {
namespace {

// gRPC logs its failures on stderr in lines of its own; ours say what failed, in one.
void quiet(gpr_log_func_args*) {}
void quiet_grpc() { gpr_set_log_function(quiet); }

std::string endpoint(const std::string& address, unsigned port) { return address + ":" + std::to_string(port); }

std::string said(const grpc::Status& s) { return "status " + std::to_string(s.error_code()) + " (" + s.error_message() + ")"; }

// A call that failed because the other side or the connection went away is a lost peer;
// anything else (a refused request) is a plain error.
[[noreturn]] void failed(const char* call, const grpc::Status& s) {
  const std::string what = std::string("rpc: ") + call + " failed: " + said(s);
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE || s.error_code() == grpc::StatusCode::CANCELLED ||
      s.error_code() == grpc::StatusCode::UNKNOWN || s.error_code() == grpc::StatusCode::INTERNAL)
    throw peer_lost(what + ": the serving side is gone");
  throw std::runtime_error(what);
}

class queue_service final : public ringlab::rpc::Queue::Service {
 public:
  queue_service(std::size_t item_bytes, std::size_t max_items, take_fn take)
      : item_bytes_(item_bytes), max_items_(max_items), take_(std::move(take)) {}

  grpc::Status Take(grpc::ServerContext*, const ringlab::rpc::TakeRequest* request, ringlab::rpc::Items* reply) override {
    if (auto refused = check(*request); !refused.ok()) return refused;
    const std::size_t most = std::min<std::size_t>(request->max_items(), max_items_);
    std::string& bytes = *reply->mutable_items();
    bytes.resize(most * item_bytes_);
    bool closed = false;
    const std::size_t n = take_(bytes.data(), most, request->wait(), closed);
    bytes.resize(n * item_bytes_);
    reply->set_closed(n == 0 && closed);
    return grpc::Status::OK;
  }

  // Items flow back one message each until the queue is closed or the caller hangs up.
  grpc::Status Stream(grpc::ServerContext* context, const ringlab::rpc::TakeRequest* request,
                      grpc::ServerWriter<ringlab::rpc::Items>* writer) override {
    if (auto refused = check(*request); !refused.ok()) return refused;
    const std::size_t most = std::min<std::size_t>(request->max_items(), max_items_);
    ringlab::rpc::Items message;
    while (!context->IsCancelled()) {
      std::string& bytes = *message.mutable_items();
      bytes.resize(most * item_bytes_);
      bool closed = false;
      const std::size_t n = take_(bytes.data(), most, true, closed);
      bytes.resize(n * item_bytes_);
      message.set_closed(n == 0 && closed);
      if (!writer->Write(message) || message.closed()) break;
    }
    return grpc::Status::OK;
  }

 private:
  grpc::Status check(const ringlab::rpc::TakeRequest& request) const {
    if (request.item_bytes() != item_bytes_)
      return {grpc::StatusCode::INVALID_ARGUMENT, "items of " + std::to_string(request.item_bytes()) + " bytes asked for; this queue holds " +
                                                      std::to_string(item_bytes_) + "-byte items"};
    if (request.max_items() == 0) return {grpc::StatusCode::INVALID_ARGUMENT, "max_items 0"};
    return grpc::Status::OK;
  }
  std::size_t item_bytes_, max_items_;
  take_fn take_;
};

}  // namespace

struct server::impl {
  queue_service service;
  std::unique_ptr<grpc::Server> running;
  int port = 0;
  impl(std::size_t item_bytes, std::size_t max_items, take_fn take) : service(item_bytes, max_items, std::move(take)) {}
};

server::server(const std::string& address, unsigned port, std::size_t item_bytes, std::size_t max_items, take_fn take)
    : impl_(std::make_unique<impl>(item_bytes, max_items, std::move(take))) {
  quiet_grpc();
  grpc::ServerBuilder builder;
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);  // a port in use is an error, not a second listener
  builder.AddListeningPort(endpoint(address, port), grpc::InsecureServerCredentials(), &impl_->port);
  builder.RegisterService(&impl_->service);
  impl_->running = builder.BuildAndStart();
  if (!impl_->running || impl_->port == 0)
    throw std::runtime_error("rpc: could not listen on " + endpoint(address, port) + " (in use, or not an address of this side)");
}

server::~server() { stop(); }
unsigned server::port() const noexcept { return static_cast<unsigned>(impl_->port); }
void server::stop() noexcept {
  if (!impl_->running) return;
  impl_->running->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  impl_->running->Wait();
  impl_->running.reset();
}

struct client::impl {
  std::size_t item_bytes;
  std::string where;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<ringlab::rpc::Queue::Stub> stub;
  std::unique_ptr<grpc::ClientContext> stream_context;
  std::unique_ptr<grpc::ClientReader<ringlab::rpc::Items>> stream;
  ringlab::rpc::Items message;
};

client::client(const std::string& address, unsigned port, std::size_t item_bytes) : impl_(std::make_unique<impl>()) {
  quiet_grpc();
  impl_->item_bytes = item_bytes;
  impl_->where = endpoint(address, port);
  impl_->channel = grpc::CreateChannel(impl_->where, grpc::InsecureChannelCredentials());
  if (!impl_->channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10)))
    throw std::runtime_error("rpc: could not connect to " + impl_->where + " within 10 s");
  impl_->stub = ringlab::rpc::Queue::NewStub(impl_->channel);
}

client::~client() { hang_up(); }

namespace {
std::size_t copy_out(const ringlab::rpc::Items& m, char* out, std::size_t max_items, std::size_t item_bytes) {
  const std::string& bytes = m.items();
  if (bytes.size() % item_bytes != 0 || bytes.size() > max_items * item_bytes)
    throw std::runtime_error("rpc: a reply of " + std::to_string(bytes.size()) + " bytes: not whole " +
                             std::to_string(item_bytes) + "-byte items up to " + std::to_string(max_items));
  std::copy(bytes.begin(), bytes.end(), out);
  return bytes.size() / item_bytes;
}
}  // namespace

std::size_t client::take(char* out, std::size_t max_items, bool wait, bool& closed) {
  ringlab::rpc::TakeRequest request;
  request.set_max_items(static_cast<std::uint32_t>(max_items));
  request.set_wait(wait);
  request.set_item_bytes(static_cast<std::uint32_t>(impl_->item_bytes));
  grpc::ClientContext context;
  if (const grpc::Status s = impl_->stub->Take(&context, request, &impl_->message); !s.ok()) failed("Take", s);
  closed = impl_->message.closed();
  return copy_out(impl_->message, out, max_items, impl_->item_bytes);
}

void client::open_stream(std::size_t max_items) {
  ringlab::rpc::TakeRequest request;
  request.set_max_items(static_cast<std::uint32_t>(max_items));
  request.set_wait(true);
  request.set_item_bytes(static_cast<std::uint32_t>(impl_->item_bytes));
  impl_->stream_context = std::make_unique<grpc::ClientContext>();
  impl_->stream = impl_->stub->Stream(impl_->stream_context.get(), request);
}

void client::cancel() noexcept {
  if (impl_->stream_context) impl_->stream_context->TryCancel();
}

std::size_t client::next_streamed(char* out, std::size_t max_items, bool& closed) {
  if (!impl_->stream) throw std::logic_error("rpc: no stream open");
  if (!impl_->stream->Read(&impl_->message)) {
    const grpc::Status s = impl_->stream->Finish();
    impl_->stream.reset();
    if (!s.ok()) failed("Stream", s);
    closed = true;
    return 0;
  }
  closed = impl_->message.closed();
  return copy_out(impl_->message, out, max_items, impl_->item_bytes);
}

void client::hang_up() noexcept {
  if (!impl_ || !impl_->stream) return;
  impl_->stream_context->TryCancel();
  ringlab::rpc::Items rest;
  while (impl_->stream->Read(&rest)) {
  }
  (void)impl_->stream->Finish();
  impl_->stream.reset();
}

}  // namespace ringlab::ipc::rpc
