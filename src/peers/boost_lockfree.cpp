// Registers the Boost.Lockfree peers (built when libboost-dev is found).
#include "peers/boost_lockfree.hpp"

#include "registry.hpp"

using namespace ringlab::peers;
RINGLAB_QUEUE("boost.spsc_queue", boost_spsc_queue, "boost::lockfree::spsc_queue, run-time capacity: wait-free SPSC ring");
RINGLAB_QUEUE("boost.queue", boost_queue, "boost::lockfree::queue<fixed_sized<true>>: Michael-Scott over a preallocated node pool, bounded_push; capacity <= 65534");
