// The stress test every queue must pass: its core lives in src/check/stress.hpp, shared
// with `ringlab check` (extra queues); the suites use it under ringlab::testing.
#pragma once
#include "check/stress.hpp"

namespace ringlab::testing {
using namespace ::ringlab::check;
}  // namespace ringlab::testing
