#include "sweep/python.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "build_info.hpp"

namespace ringlab::sweep {

std::string source_path(const std::string& relative) { return std::string(RINGLAB_SOURCE_DIR) + "/" + relative; }

int run_plot_script(const std::string& script, const std::vector<std::string>& args) {
  static const char* python = "/usr/bin/python3";
  if (access(python, X_OK) != 0) {
    std::fprintf(stderr, "ringlab: error: %s not found (scripts/run installs python3-matplotlib for it)\n", python);
    return 127;
  }
  std::vector<std::string> argv_text{python, source_path("plots/" + script)};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(nullptr);
  const pid_t child = fork();
  if (child == 0) {
    execv(python, argv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0) {}
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace ringlab::sweep
