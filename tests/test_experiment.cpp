// Experiment files: what a valid one expands to, and the message each kind of bad
// file gets (file, line, key).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "sweep/experiment.hpp"

namespace ringlab::sweep {
namespace {

namespace fs = std::filesystem;

// Writes `text` to <tmp>/<name>.toml and loads it.
experiment load(const std::string& name, const std::string& text) {
  const fs::path dir = fs::temp_directory_path() / "ringlab-test-experiments";
  fs::create_directories(dir);
  const fs::path file = dir / (name + ".toml");
  std::ofstream(file) << text;
  return load_experiment(file.string());
}

std::string error_of(const std::string& name, const std::string& text) {
  try {
    load(name, text);
  } catch (const experiment_error& e) {
    return e.what();
  }
  return "accepted";
}

const char* header = "name = \"x\"\ndescription = \"d\"\n";

TEST(Experiment, CartesianProductInAxisOrderMinusExclusions) {
  const auto e = load("x", std::string(header) + R"(
repetitions = 3
[fixed]
producers = 1
duration_s = 0.5
[axes]
queue = ["spsc_ring", "mpmc_ring"]
capacity = [2, 4, 8]
[[exclude]]
queue = "spsc_ring"
capacity = { above = 3 }
)");
  EXPECT_EQ(e.repetitions, 3u);
  const auto points = expand(e);
  std::vector<std::string> ids;
  for (const auto& p : points) ids.push_back(p.id);
  // toml++ orders keys by name: capacity varies slowest.
  EXPECT_EQ(ids, (std::vector<std::string>{"capacity=2 queue=spsc_ring", "capacity=2 queue=mpmc_ring",
                                           "capacity=4 queue=mpmc_ring", "capacity=8 queue=mpmc_ring"}));
  EXPECT_EQ(points[1].config.queue, "mpmc_ring");
  EXPECT_EQ(points[1].config.capacity, 2u);
  EXPECT_DOUBLE_EQ(points[1].config.duration_s, 0.5);
}

TEST(Experiment, RangesExpandLinearLogAndLog2) {
  const auto e = load("x", std::string(header) + R"(
[axes]
capacity = { from = 1, to = 64, scale = "log2" }
offered_rate_items_per_s = { from = 1e3, to = 1e6, steps = 4, scale = "log" }
consumers = { from = 1, to = 4, steps = 4 }
)");
  const auto& axes = e.groups.at(0).axes;
  ASSERT_EQ(axes.size(), 3u);
  EXPECT_EQ(axes[0].first, "capacity");
  EXPECT_EQ(axes[0].second.size(), 7u);  // 1 2 4 8 16 32 64
  EXPECT_EQ(to_text(axes[1].second.back()), "4");  // consumers 1..4 linear
  EXPECT_EQ(to_text(axes[2].second[1]), "10000");   // 1e3, 1e4, 1e5, 1e6
  EXPECT_EQ(expand(e).size(), 7u * 4u * 4u);
}

TEST(Experiment, GroupsAreUnitedAndNamedInThePoint) {
  const auto e = load("x", std::string(header) + R"(
[fixed]
duration_s = 0.5
[[group]]
name = "spsc"
fixed = { producers = 1 }
axes = { queue = ["spsc_ring", "boost.spsc_queue"], capacity = [1024, 65536] }
[[group]]
name = "rtt"
fixed = { pattern = "pingpong" }
axes = { queue = ["spsc_ring"] }
)");
  const auto points = expand(e);
  ASSERT_EQ(points.size(), 5u);
  EXPECT_EQ(points[0].id, "group=spsc capacity=1024 queue=spsc_ring");
  EXPECT_EQ(points[4].id, "group=rtt queue=spsc_ring");
  EXPECT_EQ(points[4].config.shape, harness::pattern::pingpong);
  EXPECT_DOUBLE_EQ(points[4].config.duration_s, 0.5);
  EXPECT_EQ(extra_parameter_columns(e), std::vector<std::string>{"group"});
  EXPECT_NE(error_of("x", std::string(header) + "[axes]\nqueue = [\"a\"]\n[[group]]\nname = \"g\"\naxes = { capacity = [1] }\n")
                .find("either [axes] or [[group]]"),
            std::string::npos);
}

TEST(Experiment, ExcludeMatchesListsAndBounds) {
  const auto e = load("x", std::string(header) + R"(
[axes]
queue = ["a", "b", "c"]
producers = [1, 2, 4]
[[exclude]]
queue = ["a", "b"]
producers = { above = 1, below = 4 }
)");
  EXPECT_EQ(expand(e).size(), 9u - 2u);  // a/2 and b/2 only
}

// An exclude rule sees the value that holds: a group's own, not the [fixed] one it overrides.
TEST(Experiment, ExcludeSeesAGroupsOverride) {
  const auto e = load("x", std::string(header) + R"(
[fixed]
capacity = 8
[[group]]
name = "wide"
axes = { queue = ["a", "b"] }
[[group]]
name = "one"
fixed = { capacity = 1 }
axes = { queue = ["a", "b"] }
[[exclude]]
queue = "b"
capacity = 8
)");
  const auto points = expand(e);
  ASSERT_EQ(points.size(), 3u);  // wide/a, one/a, one/b: only wide/b has capacity 8
  EXPECT_EQ(points[2].id, "group=one queue=b");
  EXPECT_EQ(points[2].config.capacity, 1u);
}

struct bad_file {
  const char* name;
  std::string text;
  const char* message;  // what the error must say
};

TEST(Experiment, BadFilesNameFileLineAndKey) {
  const std::vector<bad_file> cases = {
      {"x", std::string(header) + "[axes]\ncapcity = [1]\n", "x.toml:4: key 'capcity' is not a parameter"},
      {"x", std::string(header) + "[axes]\ncapacity = [\"big\"]\n", "x.toml:4: key 'capacity' must be an integer"},
      {"x", std::string(header) + "[axes]\nqueue = \"spsc_ring\"\n", "x.toml:4: axis 'queue' must be a list of values"},
      {"x", std::string(header) + "colour = 3\n[axes]\nqueue = [\"a\"]\n", "x.toml:3: the experiment: unknown key 'colour'"},
      {"x", std::string(header) + "[axes]\nqueue = [\"a\"]\n[[plot]]\nname = \"p\"\nx = \"capacity\"\n", "[[plot]] needs 'y'"},
      {"x", std::string(header) + "[axes]\nqueue = [\"a\"]\n[[plot]]\nname = \"p\"\nx = \"c\"\ny = \"d\"\nshade = 1\n",
       "x.toml:9: [[plot]]: unknown key 'shade'"},
      {"x", std::string(header) + "[axes]\nqueue = [\"a\"]\n[[claim]]\nstatement = \"a b >= 1 * c\"\n", "[[claim]] needs 'source'"},
      {"x", std::string(header) + "[axes]\ncapacity = { from = 8, to = 2, scale = \"log2\" }\n", "to (2) is below from (8)"},
      {"x", std::string(header) + "[axes]\ncapacity = { from = 1, to = 8, scale = \"cubic\" }\n", "scale must be linear, log or log2"},
      {"x", std::string(header) + "[fixed]\nqueue = \"a\"\n[axes]\nqueue = [\"b\"]\n", "key 'queue' is both fixed and an axis"},
      {"x", std::string(header) + "repetitions = 0\n[axes]\nqueue = [\"a\"]\n", "x.toml:3: repetitions must be 1..1000"},
      {"x", std::string(header) + "[axes]\nqueue = [\"a\"\n", "x.toml:4:"},  // TOML syntax error
      {"y", std::string(header) + "[axes]\nqueue = [\"a\"]\n", "name 'x' must match the file name 'y'"},
      {"x", "name = \"x\"\n[axes]\nqueue = [\"a\"]\n", "needs 'description'"},
      {"x", std::string(header) + "[fixed]\nqueue = \"a\"\n", "needs [axes]"},
      {"x", std::string(header) + "[axes]\ntick_ms = [1]\n", "key 'tick_ms' is not a parameter of a run experiment"},
      {"x", std::string(header) + "[axes]\ntermination = [\"maybe\"]\n", "x.toml:4: termination must be sentinel or join"},
      {"x", std::string(header) + "[axes]\nfault_at = [\"soon\"]\n", "x.toml:4: fault_at must be fixed or random"},
      {"x", std::string(header) + "noise_guards = \"off\"\n[axes]\nqueue = [\"a\"]\n", "x.toml:3: key 'noise_guards' must be"},
  };
  for (const auto& c : cases) {
    const std::string message = error_of(c.name, c.text);
    EXPECT_NE(message.find(c.message), std::string::npos) << "expected '" << c.message << "' in: " << message;
  }
  EXPECT_NE(error_of("nosuch", "").find("nosuch.toml"), std::string::npos);
}

TEST(Experiment, EveryCommittedExperimentParses) {
  for (const auto& entry : fs::directory_iterator(RINGLAB_SOURCE_DIR_FOR_TESTS "/experiments")) {
    if (entry.path().extension() != ".toml") continue;
    SCOPED_TRACE(entry.path().string());
    const auto e = load_experiment(entry.path().string());
    EXPECT_GE(e.repetitions, 5u) << "figures are medians of at least 5 repetitions";
    EXPECT_GE(e.plots, 1u);
    EXPECT_FALSE(expand(e).empty());
  }
}

}  // namespace
}  // namespace ringlab::sweep
