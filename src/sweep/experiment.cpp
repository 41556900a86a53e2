#include "sweep/experiment.hpp"

#include <fmt/core.h>
#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

namespace ringlab::sweep {
namespace {

enum class kind { text, integer, number, boolean };

// Every parameter an experiment may set, its type, and where it goes in a run.
struct parameter {
  kind type;
  void (*apply)(point&, const value&);
  const char* scenario = nullptr;  // only for this scenario (nullptr: every scenario)
};

std::int64_t as_int(const value& v) { return std::get<std::int64_t>(v); }
double as_number(const value& v) {
  return std::holds_alternative<double>(v) ? std::get<double>(v) : static_cast<double>(std::get<std::int64_t>(v));
}

const std::map<std::string, parameter>& parameters() {
  static const std::map<std::string, parameter> table = {
      {"queue", {kind::text, [](point& p, const value& v) { p.config.queue = std::get<std::string>(v); }}},
      {"wait", {kind::text, [](point& p, const value& v) { p.config.wait = std::get<std::string>(v); }}},
      {"capacity", {kind::integer, [](point& p, const value& v) { p.config.capacity = static_cast<std::uint64_t>(as_int(v)); }}},
      {"producers", {kind::integer, [](point& p, const value& v) { p.config.producers = static_cast<unsigned>(as_int(v)); }}},
      {"consumers", {kind::integer, [](point& p, const value& v) { p.config.consumers = static_cast<unsigned>(as_int(v)); }}},
      {"payload_bytes", {kind::integer, [](point& p, const value& v) { p.config.payload_bytes = static_cast<std::uint64_t>(as_int(v)); }}},
      {"offered_rate_items_per_s", {kind::number, [](point& p, const value& v) { p.config.offered_rate = as_number(v); }}},
      {"pin", {kind::text, [](point& p, const value& v) { p.config.pin = std::get<std::string>(v); }}},
      {"termination", {kind::text, [](point& p, const value& v) {
         const auto& t = std::get<std::string>(v);
         if (t != "sentinel" && t != "join") throw experiment_error("termination must be sentinel or join, not '" + t + "'");
         p.config.ending = t == "join" ? harness::termination::join : harness::termination::sentinel;
       }}},
      {"pattern", {kind::text, [](point& p, const value& v) {
         const auto& t = std::get<std::string>(v);
         if (t != "stream" && t != "pingpong") throw experiment_error("pattern must be stream or pingpong, not '" + t + "'");
         p.config.shape = t == "pingpong" ? harness::pattern::pingpong : harness::pattern::stream;
       }}},
      {"mode", {kind::text, [](point& p, const value& v) {
         const auto& t = std::get<std::string>(v);
         if (t != "harness" && t != "native" && t != "author")
           throw experiment_error("mode must be harness, native or author, not '" + t + "'");
         p.config.native = t != "harness";
         p.config.author_loop = t == "author";
       }}},
      {"scope", {kind::text, [](point& p, const value& v) {
         const auto& t = std::get<std::string>(v);
         if (t != "thread" && t != "process" && t != "host")
           throw experiment_error("scope must be thread, process or host, not '" + t + "'");
         p.config.scope = t;
       }}},
      {"fault", {kind::text, [](point& p, const value& v) {
         const auto& t = std::get<std::string>(v);
         if (t != "none" && t != "kill-producer" && t != "kill-consumer" && t != "kill-producer-carry-on" &&
             t != "kill-consumer-carry-on")
           throw experiment_error("fault must be none, kill-producer or kill-consumer (either with -carry-on), not '" + t + "'");
         p.config.fault = t;
       }}},
      {"fault_at", {kind::text, [](point& p, const value& v) {
         const auto& t = std::get<std::string>(v);
         if (t != "fixed" && t != "random") throw experiment_error("fault_at must be fixed or random, not '" + t + "'");
         p.config.fault_at = t;
       }}},
      {"fault_after_s", {kind::number, [](point& p, const value& v) { p.config.fault_after_s = as_number(v); }}},
      {"duration_s", {kind::number, [](point& p, const value& v) { p.config.duration_s = as_number(v); }}},
      {"items_requested", {kind::integer, [](point& p, const value& v) { p.config.items = static_cast<std::uint64_t>(as_int(v)); }}},
      {"warmup_s", {kind::number, [](point& p, const value& v) { p.config.warmup_s = as_number(v); }}},
      {"latency_recorded", {kind::boolean, [](point& p, const value& v) { p.config.record_latency = std::get<bool>(v); }}},
      {"service_ns", {kind::integer, [](point& p, const value& v) { p.config.service_ns = static_cast<std::uint64_t>(as_int(v)); }}},
      {"work_ns", {kind::integer, [](point& p, const value& v) { p.config.work_ns = static_cast<std::uint64_t>(as_int(v)); }}},
      {"producer_work_ns", {kind::integer, [](point& p, const value& v) { p.config.producer_work_ns = static_cast<std::uint64_t>(as_int(v)); }}},
      {"net", {kind::text, [](point& p, const value& v) { p.config.net = std::get<std::string>(v); }}},
      {"tcp_nodelay", {kind::boolean, [](point& p, const value& v) { p.config.tcp_nodelay = std::get<bool>(v); }}},
      {"batch_items", {kind::integer, [](point& p, const value& v) { p.config.batch = static_cast<unsigned>(as_int(v)); }}},
      {"tick_ms", {kind::number, [](point& p, const value& v) { p.tick_ms = as_number(v); }, "seed"}},
  };
  return table;
}

std::string known_parameters() {
  std::string s;
  for (const auto& [k, p] : parameters()) s += (s.empty() ? "" : ", ") + k;
  return s;
}

[[noreturn]] void fail(const std::string& path, const toml::source_region& where, const std::string& what) {
  throw experiment_error(fmt::format("{}:{}: {}", path, where.begin.line, what));
}

const char* kind_name(kind k) {
  switch (k) {
    case kind::text: return "a string";
    case kind::integer: return "an integer";
    case kind::number: return "a number";
    case kind::boolean: return "true or false";
  }
  return "?";
}

value read_value(const std::string& path, const std::string& key, const toml::node& node, kind want) {
  if (want == kind::text && node.is_string()) return *node.value<std::string>();
  if (want == kind::integer && node.is_integer()) return *node.value<std::int64_t>();
  if (want == kind::number && (node.is_integer() || node.is_floating_point())) return *node.value<double>();
  if (want == kind::boolean && node.is_boolean()) return *node.value<bool>();
  fail(path, node.source(), fmt::format("key '{}' must be {}", key, kind_name(want)));
}

const parameter& lookup(const std::string& path, const std::string& key, const toml::source_region& where,
                        const std::string& scenario) {
  const auto it = parameters().find(key);
  if (it == parameters().end() || (it->second.scenario && scenario != it->second.scenario))
    fail(path, where, fmt::format("key '{}' is not a parameter of a {} experiment (known: {})", key, scenario, known_parameters()));
  return it->second;
}

// An axis: a list of values, or a range {from, to, steps, scale = "linear" | "log" | "log2"}.
std::vector<value> read_axis(const std::string& path, const std::string& key, const toml::node& node, kind want) {
  std::vector<value> values;
  if (const auto* list = node.as_array()) {
    for (const auto& item : *list) values.push_back(read_value(path, key, item, want));
    if (values.empty()) fail(path, node.source(), fmt::format("axis '{}' has no values", key));
    return values;
  }
  const auto* range = node.as_table();
  if (!range || (want != kind::integer && want != kind::number))
    fail(path, node.source(), fmt::format("axis '{}' must be a list of values{}", key,
                                          want == kind::integer || want == kind::number ? " or a range {from, to, ...}" : ""));
  for (const auto& [k, v] : *range)
    if (k != "from" && k != "to" && k != "steps" && k != "scale")
      fail(path, k.source(), fmt::format("range of axis '{}': unknown key '{}' (from, to, steps, scale)", key, k.str()));
  const auto* from = range->get("from");
  const auto* to = range->get("to");
  if (!from || !to) fail(path, node.source(), fmt::format("range of axis '{}' needs from and to", key));
  const double lo = as_number(read_value(path, key + ".from", *from, kind::number));
  const double hi = as_number(read_value(path, key + ".to", *to, kind::number));
  std::string scale = "linear";
  if (const auto* n = range->get("scale")) scale = std::get<std::string>(read_value(path, key + ".scale", *n, kind::text));
  if (hi < lo) fail(path, node.source(), fmt::format("range of axis '{}': to ({}) is below from ({})", key, hi, lo));
  std::vector<double> xs;
  if (scale == "log2") {
    if (lo <= 0) fail(path, node.source(), fmt::format("range of axis '{}': log2 scale needs from > 0", key));
    for (double x = std::exp2(std::ceil(std::log2(lo))); x <= hi * (1 + 1e-12); x *= 2) xs.push_back(x);
  } else if (scale == "log" || scale == "linear") {
    const auto* steps_node = range->get("steps");
    if (!steps_node) fail(path, node.source(), fmt::format("range of axis '{}': {} scale needs steps", key, scale));
    const auto steps = as_int(read_value(path, key + ".steps", *steps_node, kind::integer));
    if (steps < 2 || steps > 1000) fail(path, steps_node->source(), fmt::format("range of axis '{}': steps must be 2..1000", key));
    if (scale == "log" && lo <= 0) fail(path, node.source(), fmt::format("range of axis '{}': log scale needs from > 0", key));
    for (std::int64_t i = 0; i < steps; ++i) {
      const double t = static_cast<double>(i) / static_cast<double>(steps - 1);
      xs.push_back(scale == "log" ? lo * std::pow(hi / lo, t) : lo + (hi - lo) * t);
    }
  } else {
    fail(path, range->get("scale")->source(), fmt::format("range of axis '{}': scale must be linear, log or log2", key));
  }
  for (double x : xs) {
    if (want == kind::integer) {
      const auto rounded = static_cast<std::int64_t>(std::llround(x));
      if (values.empty() || as_int(values.back()) != rounded) values.push_back(rounded);
    } else {
      values.push_back(std::stod(fmt::format("{:.4g}", x)));  // readable: 3 significant digits and a bit
    }
  }
  return values;
}

condition read_condition(const std::string& path, const std::string& key, const toml::node& node, kind want) {
  condition c;
  c.key = key;
  if (const auto* list = node.as_array()) {
    for (const auto& item : *list) c.any_of.push_back(read_value(path, key, item, want));
  } else if (const auto* bounds = node.as_table()) {
    if (want == kind::text || want == kind::boolean)
      fail(path, node.source(), fmt::format("exclude: '{}' takes a value or a list of values", key));
    for (const auto& [k, v] : *bounds) {
      if (k == "above") c.above = as_number(read_value(path, key + ".above", v, kind::number));
      else if (k == "below") c.below = as_number(read_value(path, key + ".below", v, kind::number));
      else fail(path, k.source(), fmt::format("exclude: '{}' takes above and/or below, not '{}'", key, k.str()));
    }
  } else {
    c.any_of.push_back(read_value(path, key, node, want));
  }
  return c;
}

template <class F>
void for_each_table(const std::string& path, const toml::table& root, const char* name, F&& f) {
  const auto* node = root.get(name);
  if (!node) return;
  const auto* list = node->as_array();
  if (!list || !list->is_array_of_tables())
    fail(path, node->source(), fmt::format("'{}' must be written as [[{}]] tables", name, name));
  for (const auto& t : *list) f(*t.as_table());
}

// `where` names the table in messages: "[[plot]]", or "the experiment" for the top level.
void check_keys(const std::string& path, const toml::table& t, const char* where, std::initializer_list<const char*> allowed,
                std::initializer_list<const char*> required) {
  for (const auto& [k, v] : t)
    if (std::find_if(allowed.begin(), allowed.end(), [&](const char* a) { return k == a; }) == allowed.end()) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      fail(path, k.source(), fmt::format("{}: unknown key '{}' (allowed: {})", where, k.str(), list));
    }
  for (const char* r : required)
    if (!t.get(r)) fail(path, t.source(), fmt::format("{} needs '{}'", where, r));
}

// A value of the right type can still be wrong (termination = "maybe"): try it on a scratch point.
void check_applies(const std::string& path, const std::string& key, const value& v, const toml::source_region& where) {
  point scratch;
  try {
    parameters().at(key).apply(scratch, v);
  } catch (const experiment_error& e) {
    fail(path, where, e.what());
  }
}

}  // namespace

std::string to_text(const value& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) return x;
        else if constexpr (std::is_same_v<T, bool>) return x ? "1" : "0";
        else if constexpr (std::is_same_v<T, double>) return fmt::format("{:g}", x);
        else return std::to_string(x);
      },
      v);
}

bool condition::matches(const value& v) const {
  if (!any_of.empty())
    return std::any_of(any_of.begin(), any_of.end(), [&](const value& w) { return to_text(w) == to_text(v); });
  if (std::holds_alternative<std::string>(v) || std::holds_alternative<bool>(v)) return false;
  const double x = as_number(v);
  return x > above && x < below;
}

experiment load_experiment(const std::string& path) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    if (!std::filesystem::exists(path)) throw experiment_error(path + ": no such experiment file");
    throw experiment_error(fmt::format("{}:{}: {}", path, e.source().begin.line, e.description()));
  }
  experiment x;
  x.path = path;
  check_keys(path, root, "the experiment",
             {"name", "description", "scenario", "repetitions", "max_repetitions", "precision", "noisy_spread", "noise_guards",
              "floor_s", "skip_unsupported", "two_hosts", "fixed", "axes", "group", "exclude", "plot", "claim"},
             {"name", "description"});
  x.name = std::get<std::string>(read_value(path, "name", *root.get("name"), kind::text));
  const std::string stem = std::filesystem::path(path).stem().string();
  if (x.name != stem) fail(path, root.get("name")->source(), fmt::format("name '{}' must match the file name '{}'", x.name, stem));
  x.description = std::get<std::string>(read_value(path, "description", *root.get("description"), kind::text));
  if (const auto* n = root.get("scenario")) {
    x.scenario = std::get<std::string>(read_value(path, "scenario", *n, kind::text));
    if (x.scenario != "run" && x.scenario != "seed") fail(path, n->source(), "scenario must be run or seed");
  }
  if (const auto* n = root.get("repetitions")) {
    const auto r = as_int(read_value(path, "repetitions", *n, kind::integer));
    if (r < 1 || r > 1000) fail(path, n->source(), "repetitions must be 1..1000 (statistics want at least 5)");
    x.repetitions = static_cast<unsigned>(r);
  }
  if (const auto* n = root.get("max_repetitions")) {
    const auto r = as_int(read_value(path, "max_repetitions", *n, kind::integer));
    if (r < x.repetitions || r > 1000)
      fail(path, n->source(), fmt::format("max_repetitions must be {}..1000 (at least the repetitions)", x.repetitions));
    x.max_repetitions = static_cast<unsigned>(r);
  }
  if (const auto* n = root.get("precision")) {
    if (!n->is_table()) fail(path, n->source(), "'precision' must be a table [precision]: column = relative CI half-width");
    static const char* const columns[] = {"throughput_items_per_s", "lat_p50_ns", "lat_p99_ns", "lat_p999_ns",
                                          "rtt_mean_ns", "rtt_p50_ns", "cpu_ns_per_item"};
    for (const auto& [k, v] : *n->as_table()) {
      const std::string key(k.str());
      if (std::find(std::begin(columns), std::end(columns), key) == std::end(columns))
        fail(path, k.source(), fmt::format("[precision]: '{}' is not a column a target can be set on ({})", key,
                                           fmt::join(columns, ", ")));
      const double half = as_number(read_value(path, key, v, kind::number));
      if (!(half > 0 && half < 1)) fail(path, v.source(), fmt::format("[precision] {}: a relative half-width in (0, 1), not {}", key, half));
      x.precision.emplace_back(key, half);
    }
  }
  if (x.max_repetitions > x.repetitions && x.precision.empty())
    x.precision = {{"throughput_items_per_s", 0.05}, {"lat_p99_ns", 0.20}};
  if (const auto* n = root.get("noisy_spread")) x.noisy_spread = as_number(read_value(path, "noisy_spread", *n, kind::number));
  if (const auto* n = root.get("noise_guards")) x.noise_guards = std::get<bool>(read_value(path, "noise_guards", *n, kind::boolean));
  if (const auto* n = root.get("floor_s")) {
    const double f = as_number(read_value(path, "floor_s", *n, kind::number));
    if (!(f >= 0 && f <= 10)) fail(path, n->source(), fmt::format("floor_s must be 0..10 seconds (0: no floor), not {}", f));
    x.floor_s = f;
  }
  if (const auto* n = root.get("skip_unsupported")) x.skip_unsupported = std::get<bool>(read_value(path, "skip_unsupported", *n, kind::boolean));
  if (const auto* n = root.get("two_hosts")) x.two_hosts = std::get<bool>(read_value(path, "two_hosts", *n, kind::boolean));

  auto table_at = [&](const char* name) -> const toml::table* {
    const auto* n = root.get(name);
    if (!n) return nullptr;
    if (!n->is_table()) fail(path, n->source(), fmt::format("'{}' must be a table [{}]", name, name));
    return n->as_table();
  };
  // Fixed values and axes of one group (or of the whole experiment): checked key by key.
  auto read_fixed = [&](const toml::table& table, std::vector<std::pair<std::string, value>>& into) {
    for (const auto& [k, v] : table) {
      const auto& p = lookup(path, std::string(k.str()), k.source(), x.scenario);
      into.emplace_back(std::string(k.str()), read_value(path, std::string(k.str()), v, p.type));
      check_applies(path, into.back().first, into.back().second, v.source());
    }
  };
  auto read_axes = [&](const toml::table& table, point_group& group) {
    for (const auto& [k, v] : table) {
      const std::string key(k.str());
      const auto& p = lookup(path, key, k.source(), x.scenario);
      auto is_key = [&](const auto& f) { return f.first == key; };
      if (std::any_of(x.fixed.begin(), x.fixed.end(), is_key) || std::any_of(group.fixed.begin(), group.fixed.end(), is_key))
        fail(path, k.source(), fmt::format("key '{}' is both fixed and an axis", key));
      group.axes.emplace_back(key, read_axis(path, key, v, p.type));
      for (const auto& one : group.axes.back().second) check_applies(path, key, one, v.source());
    }
    if (group.axes.empty()) fail(path, table.source(), "an [axes] table needs at least one axis");
  };
  if (const auto* fixed = table_at("fixed")) read_fixed(*fixed, x.fixed);
  if (const auto* axes = table_at("axes")) {
    x.groups.emplace_back();
    read_axes(*axes, x.groups.back());
  }
  for_each_table(path, root, "group", [&](const toml::table& t) {
    if (!x.groups.empty() && x.groups.front().name.empty())
      fail(path, t.source(), "use either [axes] or [[group]] tables, not both");
    check_keys(path, t, "[[group]]", {"name", "fixed", "axes"}, {"name", "axes"});
    point_group g;
    g.name = std::get<std::string>(read_value(path, "name", *t.get("name"), kind::text));
    for (const auto& other : x.groups)
      if (other.name == g.name) fail(path, t.source(), fmt::format("two groups named '{}'", g.name));
    if (const auto* f = t.get("fixed")) {
      if (!f->is_table()) fail(path, f->source(), "a group's 'fixed' must be a table");
      read_fixed(*f->as_table(), g.fixed);
    }
    if (!t.get("axes")->is_table()) fail(path, t.get("axes")->source(), "a group's 'axes' must be a table");
    read_axes(*t.get("axes")->as_table(), g);
    x.groups.push_back(std::move(g));
  });
  if (x.groups.empty()) fail(path, root.source(), "the experiment needs [axes] (or [[group]] tables with axes)");
  for_each_table(path, root, "exclude", [&](const toml::table& rule) {
    std::vector<condition> conditions;
    for (const auto& [k, v] : rule) {
      const auto& p = lookup(path, std::string(k.str()), k.source(), x.scenario);
      conditions.push_back(read_condition(path, std::string(k.str()), v, p.type));
    }
    if (conditions.empty()) fail(path, rule.source(), "[[exclude]] with no condition would exclude everything");
    x.excludes.push_back(std::move(conditions));
  });
  for_each_table(path, root, "plot", [&](const toml::table& t) {
    check_keys(path, t, "[[plot]]", {"name", "x", "y", "series", "facet", "where", "logx", "logy", "kind", "title", "xlabel", "ylabel"},
               {"name", "x", "y"});
    ++x.plots;
  });
  for_each_table(path, root, "claim", [&](const toml::table& t) {
    check_keys(path, t, "[[claim]]", {"statement", "per", "where", "source"}, {"statement", "source"});
    // A claim tests a published result or a stated goal: its source names the paper (or
    // the goal), never a figure from an earlier run of ours.
    const auto* source = t.get("source");
    if (!source->is_string()) fail(path, source->source(), "a claim's 'source' must be a string");
    const std::string text = *source->value<std::string>();
    for (const char* word : {"earlier", "previous run", "last run", "measured before"})
      if (text.find(word) != std::string::npos)
        fail(path, source->source(), fmt::format("claim source '{}' cites an earlier measurement ('{}'): name the paper or the goal", text, word));
    ++x.claims;
  });
  return x;
}

std::vector<std::string> extra_parameter_columns(const experiment& e) {
  std::vector<std::string> columns;
  if (!e.groups.front().name.empty()) columns.push_back("group");
  if (e.scenario == "seed") columns.push_back("tick_ms");
  return columns;
}

std::vector<point> expand(const experiment& e) {
  std::vector<point> points;
  for (const auto& g : e.groups) {
    std::vector<std::size_t> at(g.axes.size(), 0);
    for (;;) {
      std::vector<std::pair<std::string, value>> values = e.fixed;
      values.insert(values.end(), g.fixed.begin(), g.fixed.end());
      for (std::size_t a = 0; a < g.axes.size(); ++a) values.emplace_back(g.axes[a].first, g.axes[a].second[at[a]]);
      const bool excluded = std::any_of(e.excludes.begin(), e.excludes.end(), [&](const std::vector<condition>& rule) {
        return std::all_of(rule.begin(), rule.end(), [&](const condition& c) {
          // The last value of a key is the one that holds (a group's own overrides [fixed]).
          const auto it = std::find_if(values.rbegin(), values.rend(), [&](const auto& v) { return v.first == c.key; });
          return it != values.rend() && c.matches(it->second);
        });
      });
      if (!excluded) {
        point p;
        p.config.duration_s = 1.0;
        bool latency_given = false;
        for (const auto& [key, v] : values) {
          try {
            parameters().at(key).apply(p, v);
          } catch (const experiment_error& err) {
            throw experiment_error(fmt::format("{}: {}", e.path, err.what()));
          }
          p.parameters.emplace_back(key, to_text(v));
          latency_given |= key == "latency_recorded";
        }
        if (p.config.native && !latency_given) p.config.record_latency = false;  // the native loop reads no clock
        if (!g.name.empty()) {
          p.id = "group=" + g.name;
          p.parameters.emplace_back("group", g.name);
        }
        for (std::size_t a = 0; a < g.axes.size(); ++a)
          p.id += (p.id.empty() ? "" : " ") + g.axes[a].first + "=" + to_text(g.axes[a].second[at[a]]);
        points.push_back(std::move(p));
      }
      std::size_t a = g.axes.size();
      while (a > 0 && ++at[a - 1] == g.axes[a - 1].second.size()) at[--a] = 0;
      if (a == 0) break;
    }
  }
  return points;
}

}  // namespace ringlab::sweep
