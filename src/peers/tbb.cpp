// Registers the oneTBB peer (built when libtbb-dev is found).
#include "peers/tbb.hpp"

#include "registry.hpp"

using namespace ringlab::peers;
RINGLAB_QUEUE("tbb.concurrent_bounded_queue", tbb_bounded_queue, "oneTBB concurrent_bounded_queue, set_capacity; block = its own blocking push/pop");
