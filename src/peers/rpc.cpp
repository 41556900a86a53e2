// Registers the rpc transports of src/queue_list.hpp (built when meson found gRPC).
#include "queue_list.hpp"
#include "registration.hpp"

RINGLAB_RPC_TRANSPORTS(RINGLAB_REGISTER)
