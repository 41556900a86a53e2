// Where a side can die in the middle of a push or a pop. Each of our rings and
// shared-memory transports calls crash_point<T>::at(site) between the steps of its
// operations. For every item type but a test's own it is empty and compiles away (the
// hot path is unchanged). A test specialises it for its own type and dies exactly there
// (tests/test_crash_points.cpp), so every step a death can interrupt is checked by name.
// A timed kill lands there only by luck.
#pragma once

namespace ringlab {

enum class crash_site {
  push_written,    // the item is in its slot, not yet published
  push_published,  // published; the push has not returned
  pop_read,        // the item is copied out; its slot not yet given back
  pop_released,    // the slot given back; the pop has not returned
};

template <class T>
struct crash_point {
  static void at(crash_site) noexcept {}
};

}  // namespace ringlab
