// Registers the moodycamel peers of src/queue_list.hpp (built when libconcurrentqueue-dev is found).
#include "queue_list.hpp"
#include "registration.hpp"

RINGLAB_MOODYCAMEL_QUEUES(RINGLAB_REGISTER)
