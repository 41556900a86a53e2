// Registers the boost_interprocess process transport of src/queue_list.hpp (built when meson found it).
#include "queue_list.hpp"
#include "registration.hpp"

RINGLAB_BOOST_INTERPROCESS_TRANSPORTS(RINGLAB_REGISTER)
