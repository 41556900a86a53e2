// Registers moodycamel's SPSC queues (built when libreaderwriterqueue-dev is found).
#include "peers/readerwriterqueue.hpp"

#include "registry.hpp"

using namespace ringlab::peers;
RINGLAB_QUEUE("rwq.ReaderWriterQueue", rwq_queue, "moodycamel::ReaderWriterQueue: SPSC ring of blocks, pre-sized, try_enqueue (bound per block)");
RINGLAB_QUEUE("rwq.BlockingReaderWriterCircularBuffer", rwq_circular_buffer, "moodycamel::BlockingReaderWriterCircularBuffer: SPSC ring + 2 semaphores; block = its wait_enqueue/wait_dequeue");
