// Registers our process and host transports (src/queue_list.hpp); peers' transports are
// registered in src/peers/*.cpp.
#include "queue_list.hpp"
#include "registration.hpp"

RINGLAB_OUR_TRANSPORTS(RINGLAB_REGISTER)
