// Registers the tbb peers of src/queue_list.hpp (built when libtbb-dev is found).
#include "queue_list.hpp"
#include "registration.hpp"

RINGLAB_TBB_QUEUES(RINGLAB_REGISTER)
