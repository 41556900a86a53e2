// Registers our lock-free queues (src/queue_list.hpp). Ablation variants have names of
// their own so every experiment can put them side by side.
#include "queue_list.hpp"
#include "registration.hpp"

RINGLAB_OUR_LOCK_FREE_QUEUES(RINGLAB_REGISTER)
