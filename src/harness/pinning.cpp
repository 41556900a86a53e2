#include "harness/pinning.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <stdexcept>

namespace ringlab::harness {

topology::topology(hwloc_topology_t t, bool this_system) : handle_(t, deleter{}), this_system_(this_system) {
  const int pu_count = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU);
  cores_ = static_cast<unsigned>(std::max(0, hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE)));
  packages_ = static_cast<unsigned>(std::max(1, hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PACKAGE)));
  const int l3 = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_L3CACHE);
  l3_groups_ = l3 > 0 ? static_cast<unsigned>(l3) : packages_;
  for (int i = 0; i < pu_count; ++i) {
    hwloc_obj_t pu = hwloc_get_obj_by_type(t, HWLOC_OBJ_PU, static_cast<unsigned>(i));
    hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_CORE, pu);
    hwloc_obj_t cache = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_L3CACHE, pu);
    hwloc_obj_t package = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_PACKAGE, pu);
    const unsigned package_index = package ? package->logical_index : 0;
    pus_.push_back(pu_info{pu->os_index, core ? core->logical_index : static_cast<unsigned>(i),
                           cache ? cache->logical_index : package_index, package_index,
                           core ? pu->sibling_rank : 0});
  }
  if (cores_ == 0) cores_ = static_cast<unsigned>(pus_.size());
}

topology topology::this_machine() {
  hwloc_topology_t t;
  hwloc_topology_init(&t);
  if (hwloc_topology_load(t) != 0) throw std::runtime_error("hwloc could not load this machine's topology");
  return topology(t, true);
}

topology topology::from_xml(const std::string& path) {
  hwloc_topology_t t;
  hwloc_topology_init(&t);
  if (hwloc_topology_set_xml(t, path.c_str()) != 0 || hwloc_topology_load(t) != 0) {
    hwloc_topology_destroy(t);
    throw std::runtime_error(path + ": not a readable hwloc XML topology");
  }
  return topology(t, false);
}

bool topology::has_pu(unsigned os_index) const noexcept {
  return std::any_of(pus_.begin(), pus_.end(), [&](const pu_info& p) { return p.os_index == os_index; });
}

std::string topology::summary() const {
  const unsigned per_core = cores_ ? static_cast<unsigned>(pus_.size()) / cores_ : 1;
  return fmt::format("{} package{}, {} L3 group{}, {} core{}, {} PUs ({} per core)", packages_,
                     packages_ == 1 ? "" : "s", l3_groups_, l3_groups_ == 1 ? "" : "s", cores_, cores_ == 1 ? "" : "s",
                     pus_.size(), per_core);
}

std::string topology::pu_list() const {
  std::vector<unsigned> ids;
  for (const auto& p : pus_) ids.push_back(p.os_index);
  std::sort(ids.begin(), ids.end());
  std::string out;
  for (std::size_t i = 0; i < ids.size();) {
    std::size_t j = i;
    while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1) ++j;
    out += (out.empty() ? "" : ",") + (i == j ? fmt::format("{}", ids[i]) : fmt::format("{}-{}", ids[i], ids[j]));
    i = j + 1;
  }
  return out;
}

pin_request parse_pin(const std::string& text, const topology& topo) {
  pin_request r;
  r.text = text;
  if (text == "none") r.policy = pin_policy::none;
  else if (text == "compact") r.policy = pin_policy::compact;
  else if (text == "scatter") r.policy = pin_policy::scatter;
  else if (text == "same-core") r.policy = pin_policy::same_core;
  else if (text.find(':') == std::string::npos)
    throw std::invalid_argument(fmt::format("--pin {}: unknown policy (none, compact, scatter, same-core, or a list like p:0,c:1)", text));
  else {
    r.policy = pin_policy::explicit_list;
    std::size_t start = 0;
    while (start <= text.size()) {
      const std::size_t end = std::min(text.find(',', start), text.size());
      const std::string entry = text.substr(start, end - start);
      const bool producer = entry.rfind("p:", 0) == 0, consumer = entry.rfind("c:", 0) == 0;
      const std::string number = entry.size() > 2 ? entry.substr(2) : "";
      if ((!producer && !consumer) || number.empty() || number.find_first_not_of("0123456789") != std::string::npos ||
          number.size() > 6)
        throw std::invalid_argument(fmt::format("--pin {}: '{}' is not p:<PU> or c:<PU>", text, entry));
      const unsigned pu = static_cast<unsigned>(std::stoul(number));
      if (!topo.has_pu(pu))
        throw std::invalid_argument(
            fmt::format("--pin {}: PU {} does not exist (this machine has PUs {})", text, pu, topo.pu_list()));
      (producer ? r.producer_pus : r.consumer_pus).push_back(pu);
      start = end + 1;
    }
    if (r.producer_pus.empty()) throw std::invalid_argument(fmt::format("--pin {}: no p:<PU> for the producers", text));
    if (r.consumer_pus.empty()) throw std::invalid_argument(fmt::format("--pin {}: no c:<PU> for the consumers", text));
  }
  return r;
}

namespace {

std::vector<unsigned> policy_order(const topology& topo, pin_policy policy) {
  const auto& pus = topo.pus();
  std::vector<unsigned> order;
  switch (policy) {
    case pin_policy::compact:
      for (const auto& p : pus) order.push_back(p.os_index);
      break;
    case pin_policy::same_core:
      for (const auto& p : pus)
        if (p.core == pus.front().core) order.push_back(p.os_index);
      break;
    case pin_policy::scatter: {
      // Round r takes SMT rank r; within it, the k-th core of each L3 group in turn.
      std::map<unsigned, std::vector<unsigned>> cores_by_l3;  // l3 -> distinct cores, in order
      for (const auto& p : pus) {
        auto& cores = cores_by_l3[p.l3];
        if (std::find(cores.begin(), cores.end(), p.core) == cores.end()) cores.push_back(p.core);
      }
      unsigned max_rank = 0;
      std::size_t max_cores = 0;
      for (const auto& p : pus) max_rank = std::max(max_rank, p.smt_rank);
      for (const auto& [l3, cores] : cores_by_l3) max_cores = std::max(max_cores, cores.size());
      for (unsigned rank = 0; rank <= max_rank; ++rank)
        for (std::size_t k = 0; k < max_cores; ++k)
          for (const auto& [l3, cores] : cores_by_l3) {
            if (k >= cores.size()) continue;
            for (const auto& p : pus)
              if (p.core == cores[k] && p.smt_rank == rank) order.push_back(p.os_index);
          }
      break;
    }
    case pin_policy::none:
    case pin_policy::explicit_list:
      break;
  }
  return order;
}

}  // namespace

pin_plan plan_pinning(const topology& topo, const pin_request& request, unsigned producers, unsigned consumers) {
  pin_plan plan;
  const unsigned threads = producers + consumers;
  if (request.policy == pin_policy::none) {
    plan.producer_pu.assign(producers, -1);
    plan.consumer_pu.assign(consumers, -1);
    plan.oversubscribed = threads > topo.pus().size();
    return plan;
  }
  if (request.policy == pin_policy::explicit_list) {
    for (unsigned i = 0; i < producers; ++i)
      plan.producer_pu.push_back(static_cast<int>(request.producer_pus[i % request.producer_pus.size()]));
    for (unsigned i = 0; i < consumers; ++i)
      plan.consumer_pu.push_back(static_cast<int>(request.consumer_pus[i % request.consumer_pus.size()]));
  } else {
    const auto order = policy_order(topo, request.policy);
    for (unsigned i = 0; i < threads; ++i) {
      const int pu = static_cast<int>(order[i % order.size()]);
      (i < producers ? plan.producer_pu : plan.consumer_pu).push_back(pu);
    }
  }
  std::vector<int> all(plan.producer_pu);
  all.insert(all.end(), plan.consumer_pu.begin(), plan.consumer_pu.end());
  std::sort(all.begin(), all.end());
  plan.oversubscribed = std::adjacent_find(all.begin(), all.end()) != all.end() || threads > topo.pus().size();
  return plan;
}

void bind_this_thread(const topology& topo, int pu_os_index) {
  if (pu_os_index < 0) return;
  if (!topo.is_this_system()) throw std::runtime_error("cannot bind threads on a topology loaded from XML");
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  hwloc_bitmap_only(set, static_cast<unsigned>(pu_os_index));
  const int rc = hwloc_set_cpubind(topo.handle(), set, HWLOC_CPUBIND_THREAD | HWLOC_CPUBIND_STRICT);
  hwloc_bitmap_free(set);
  if (rc != 0) throw std::runtime_error(fmt::format("could not bind a thread to PU {}", pu_os_index));
}

int current_pu(const topology& topo) {
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  int pu = -1;
  if (hwloc_get_last_cpu_location(topo.handle(), set, HWLOC_CPUBIND_THREAD) == 0) pu = hwloc_bitmap_first(set);
  hwloc_bitmap_free(set);
  return pu;
}

}  // namespace ringlab::harness
