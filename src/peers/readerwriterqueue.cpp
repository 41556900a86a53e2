// Registers the readerwriterqueue peers of src/queue_list.hpp (built when libreaderwriterqueue-dev is found).
#include "queue_list.hpp"
#include "registration.hpp"

RINGLAB_READERWRITERQUEUE_QUEUES(RINGLAB_REGISTER)
