// Registers the moodycamel baseline (built when libconcurrentqueue-dev is found).
#include "peers/moodycamel.hpp"

#include "registry.hpp"

using namespace ringlab::peers;
RINGLAB_QUEUE("moodycamel", moodycamel_queue, "moodycamel::ConcurrentQueue, pre-sized, tokens, try_enqueue (the baseline)");
RINGLAB_QUEUE("moodycamel.blocking", moodycamel_blocking_queue, "moodycamel::BlockingConcurrentQueue, tokens, its own wait_dequeue");
