// Registers our queues that lock (src/queue_list.hpp); the lock-free ones and the
// transports are in their own files so that the three compile in parallel.
#include "queue_list.hpp"
#include "registration.hpp"

RINGLAB_OUR_LOCKING_QUEUES(RINGLAB_REGISTER)
