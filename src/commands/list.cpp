// `ringlab list`: every queue and wait strategy the build knows, with what each promises.
#include <fmt/core.h>

#include <algorithm>
#include <new>
#include <string>
#include <vector>

#include "commands/commands.hpp"
#include "registry.hpp"

namespace ringlab::commands {
namespace {

const char* yes_no(bool b) { return b ? "yes" : "no"; }

struct wait_description {
  const char* name;
  const char* description;
};
constexpr wait_description wait_strategies[] = {
    {"spin", "busy-wait with the pause instruction"},
    {"yield", "spin briefly, then sched_yield between retries"},
    {"park", "spin briefly, then sleep on a futex; a push/pop wakes one sleeper"},
    {"block", "the queue's own blocking push/pop (queues marked 'blocks')"},
};

}  // namespace

runner add_list(CLI::App& app) {
  auto* cmd = app.add_subcommand("list", "List the queues and wait strategies this build knows");
  auto names = std::make_shared<std::vector<std::string>>();
  auto capacity = std::make_shared<long long>(-1);
  cmd->add_option("queues", *names, "Only these queues (an unknown name is an error)");
  cmd->add_option("--capacity", *capacity, "Also check that each listed queue can take this capacity");
  return [names, capacity] {
    std::vector<const queue_entry*> shown;
    if (names->empty()) {
      for (const auto& e : registry::instance().entries()) shown.push_back(&e);
    } else {
      for (const auto& n : *names) {
        try {
          shown.push_back(&registry::instance().at(n));
        } catch (const std::invalid_argument& e) {
          throw usage_error(e.what());
        }
      }
    }
    if (*capacity != -1) {
      if (*capacity < 0) throw usage_error(fmt::format("--capacity {}: must be a whole number >= 1", *capacity));
      for (const auto* e : shown) {
        try {
          e->check_capacity(static_cast<std::size_t>(*capacity));
        } catch (const std::invalid_argument& err) {
          throw usage_error(fmt::format("--capacity {}: {}", *capacity, err.what()));
        } catch (const std::bad_alloc&) {
          throw usage_error(fmt::format("--capacity {}: {} cannot allocate that many slots", *capacity, e->name));
        }
      }
    }
    std::size_t width = 22;
    for (const auto* e : shown) width = std::max(width, e->name.size() + 1);
    const std::size_t asked = *capacity == -1 ? 1024 : static_cast<std::size_t>(*capacity);
    auto holds = [&](const queue_entry& e) -> std::string {  // at `asked`, one producer
      if (!e.properties.bounded || !e.most_held) return "-";
      try {
        return std::to_string(e.most_held(asked, 1));
      } catch (const std::invalid_argument&) {
        return "-";  // it does not take that capacity
      }
    };
    fmt::print("{:<{}} {:<8} {:<5} {:<8} {:<8} {:<6} {:<7} {:<6} {:<26} {}\n", "queue", width, "scope", "fifo", "bounded",
               "lockfree", "sides", "blocks", "holds", "after a crash", "description");
    for (const auto* e : shown) {
      const auto& p = e->properties;
      const char* fifo = !p.fifo ? "no" : p.linearizable ? "yes" : "per-p";
      const char* sides = p.spsc_only ? "1x1" : p.single_consumer ? "Px1" : "PxC";
      fmt::print("{:<{}} {:<8} {:<5} {:<8} {:<8} {:<6} {:<7} {:<6} {:<26} {}{}\n", e->name, width, e->scope, fifo,
                 !p.bounded ? "no" : p.push_waits_inside ? "waits" : p.exact_capacity ? "exact" : "approx", yes_no(p.lock_free), sides,
                 yes_no(p.blocks_natively), holds(*e), e->after_crash.empty() ? "-" : e->after_crash, e->description,
                 p.refuses ? fmt::format(" [refuses {}]", p.refuses) : "");
    }
    if (names->empty()) {
      fmt::print("\n{:<22} {}\n", "wait strategy", "description");
      for (const auto& w : wait_strategies) fmt::print("{:<22} {}\n", w.name, w.description);
      fmt::print("\nscope: thread = producers and consumers are threads of one process; process = each side is its\n"
                 "own process (forked, pinned like threads), the queue in POSIX shared memory; host = the items\n"
                 "travel over a network only (loopback, or --net veth: two network namespaces)\n"
                 "sides: 1x1 = one producer, one consumer; Px1 = any producers, one consumer; PxC = any of both\n");
      fmt::print("bounded: exact = capacity() pushes fill it; approx = at least that many, at most `holds`: the most\n"
                 "items inside at once when asked for {} (--capacity N), one producer, held to it by the bound test\n"
                 "('-': a transport's kernel or network buffers, counted in bytes, or a capacity it does not take);\n"
                 "waits = capacity() pushes fill it, and the next waits inside the library until there is room\n", asked);
      fmt::print("after a crash: what a transport declares, and every crash run checks, when its producer / its\n"
                 "consumer is killed: exactly-once = every item whose push completed arrives once; at-most-once =\n"
                 "none arrives twice, and the one item the dead side held is lost with it ('-': not declared)\n");
      fmt::print("fifo: yes = one total order, per-p = each producer's items stay in order; [refuses ...]: values a\n"
                 "push refuses with an error (never a silent loss); every other queue carries every value\n");
    }
    return 0;
  };
}

}  // namespace ringlab::commands
