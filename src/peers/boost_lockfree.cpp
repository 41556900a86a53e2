// Registers the boost_lockfree peers of src/queue_list.hpp (built when libboost-dev is found).
#include "queue_list.hpp"
#include "registration.hpp"

RINGLAB_BOOST_LOCKFREE_QUEUES(RINGLAB_REGISTER)
