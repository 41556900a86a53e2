// Running the plot scripts: Debian's /usr/bin/python3 (the one that sees
// python3-matplotlib), scripts from the source tree's plots/, no shell in between.
#pragma once
#include <string>
#include <vector>

namespace ringlab::sweep {

// Runs plots/<script> with `args`; returns its exit status (127 if python is missing).
int run_plot_script(const std::string& script, const std::vector<std::string>& args);
std::string source_path(const std::string& relative);  // <source dir>/<relative>

}  // namespace ringlab::sweep
