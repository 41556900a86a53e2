// Registers the zmq process transport of src/queue_list.hpp (built when meson found it).
#include "queue_list.hpp"
#include "registration.hpp"

RINGLAB_ZMQ_TRANSPORTS(RINGLAB_REGISTER)
