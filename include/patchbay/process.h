// patchbay/process.h — running a helper program (esbuild) without a shell.
//
//   auto r = runProcess({"esbuild", "client.tsx", "--bundle"}, {.workDir = dir});
//   if (!r) ...               // could not start it, or it ran too long
//   else if (r->exitCode) ... // it ran and failed: r->errorOutput says why
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "patchbay/result.h"

namespace patchbay {

struct ProcessOptions {
  std::string workDir;                       // "" = the current folder
  std::chrono::milliseconds timeout{30000};  // then SIGKILL and kLimitExceeded
  size_t maxOutputBytes = 1 << 20;           // each of stdout and stderr; the rest is dropped
};

struct ProcessResult {
  int exitCode = 0;  // 128 + signal number when killed by a signal
  std::string output;       // stdout
  std::string errorOutput;  // stderr
};

// Runs argv[0] (looked up in PATH) with the given arguments, no shell, stdin
// from /dev/null. Errors: the program cannot be started (kNotFound when it
// is not installed), or it ran past the timeout (killed; kLimitExceeded).
Result<ProcessResult> runProcess(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// A helper program's error output as a person should read it: colour codes
// removed, trailing blank lines trimmed, at most 4,000 characters.
std::string toolMessage(std::string_view errorOutput);

}  // namespace patchbay
