// Where threads run. The topology comes from hwloc (this machine, or an XML file for
// tests); a pin policy is planned into one PU per thread before any thread starts, and
// each thread binds itself. Planning is pure, so it is tested on topologies this
// machine does not have.
#pragma once
#include <hwloc.h>

#include <memory>
#include <string>
#include <vector>

namespace ringlab::harness {

struct pu_info {
  unsigned os_index;  // the number taskset and /proc/cpuinfo use
  unsigned core;      // logical index of its core
  unsigned l3;        // logical index of its L3 group (its package if hwloc shows no L3)
  unsigned package;
  unsigned smt_rank;  // 0 for the first PU of its core, 1 for its SMT sibling, ...
};

class topology {
 public:
  static topology this_machine();
  static topology from_xml(const std::string& path);  // throws std::runtime_error naming the file
  const std::vector<pu_info>& pus() const noexcept { return pus_; }
  unsigned packages() const noexcept { return packages_; }
  unsigned l3_groups() const noexcept { return l3_groups_; }
  unsigned cores() const noexcept { return cores_; }
  bool is_this_system() const noexcept { return this_system_; }
  bool has_pu(unsigned os_index) const noexcept;
  std::string summary() const;  // "1 package, 1 L3 group, 2 cores, 2 PUs (1 per core)"
  std::string pu_list() const;  // "0-1" style
  hwloc_topology_t handle() const noexcept { return handle_.get(); }

 private:
  struct deleter {
    void operator()(hwloc_topology_t t) const noexcept { hwloc_topology_destroy(t); }
  };
  explicit topology(hwloc_topology_t t, bool this_system);
  std::shared_ptr<hwloc_topology> handle_;
  std::vector<pu_info> pus_;
  unsigned packages_ = 0, l3_groups_ = 0, cores_ = 0;
  bool this_system_ = false;
};

enum class pin_policy { none, compact, scatter, same_core, explicit_list };

struct pin_request {
  pin_policy policy = pin_policy::compact;
  std::vector<unsigned> producer_pus, consumer_pus;  // explicit_list only, as given
  std::string text;                                  // as typed, for the row
};

// Parses none | compact | scatter | same-core | p:N,c:M,... ; throws std::invalid_argument
// naming the bad part (an unknown policy, a malformed entry, a PU this topology lacks).
pin_request parse_pin(const std::string& text, const topology& topo);

struct pin_plan {
  std::vector<int> producer_pu, consumer_pu;  // os index per thread; -1 = not bound
  bool oversubscribed = false;                 // more threads than PUs, or two threads on one PU
};

// Threads are taken producers first, then consumers, and given PUs in the policy's order:
//   compact   PUs in hwloc's order (SMT siblings, then neighbouring cores, then beyond)
//   scatter   as far apart as possible: one per L3 group in turn, then per core, SMT last
//   same-core the PUs of the first core only (its SMT siblings; one PU without SMT)
//   explicit  producers take the p: PUs in turn, consumers the c: PUs
// wrapping around when there are more threads than PUs.
pin_plan plan_pinning(const topology& topo, const pin_request& request, unsigned producers, unsigned consumers);

// Bind the calling thread to one PU (no-op for -1). Throws std::runtime_error on failure.
void bind_this_thread(const topology& topo, int pu_os_index);
// The PU the calling thread last ran on (os index), or -1.
int current_pu(const topology& topo);

}  // namespace ringlab::harness
