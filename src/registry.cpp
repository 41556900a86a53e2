#include "registry.hpp"

#include <algorithm>
#include <stdexcept>

namespace ringlab {

registry& registry::instance() {
  static registry the_registry;
  return the_registry;
}

void registry::add(queue_entry entry) {
  if (find(entry.name)) throw std::logic_error("queue registered twice: " + entry.name);
  entries_.push_back(std::move(entry));
  std::sort(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
}

const queue_entry* registry::find(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

const queue_entry& registry::at(const std::string& name) const {
  if (const auto* e = find(name)) return *e;
  std::string known;
  for (const auto& e : entries_) known += (known.empty() ? "" : ", ") + e.name;
  throw std::invalid_argument("unknown queue '" + name + "' (known: " + known + ")");
}

}  // namespace ringlab
