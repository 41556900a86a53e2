// Checks of a run's configuration that a queue with a runner of its own adds
// (src/peers/python_seeds.cpp): harness::validate() calls the queue's check last, so
// what that runner cannot do is refused before anything runs, in `ringlab run` and when
// a sweep plans its points. A check throws std::invalid_argument naming the option and
// value. Kept apart from registry.hpp so that the queue entries stay as they are.
#pragma once
#include <string>

#include "harness/config.hpp"

namespace ringlab::harness {

using config_check = void (*)(const run_config&);

// Registers `check` for `queue` (at static initialisation, beside the queue's entry).
void add_config_check(const std::string& queue, config_check check);
// The check for `queue`, or null.
config_check config_check_of(const std::string& queue);

}  // namespace ringlab::harness
