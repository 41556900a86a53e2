// Registers the atomic_queue peers of src/queue_list.hpp (built when libatomic-queue-dev is found).
#include "queue_list.hpp"
#include "registration.hpp"

RINGLAB_ATOMIC_QUEUE_QUEUES(RINGLAB_REGISTER)
