#include "cli/server_support.h"

#include <malloc.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "cli/log.h"
#include "patchbay/files.h"

namespace patchbay::cli {

Result<std::pair<std::string, uint16_t>> splitListen(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return Error::invalid("--listen \"" + listen + "\": expected ADDRESS:PORT, e.g. 127.0.0.1:8080");
  std::string host = listen.substr(0, colon), port = listen.substr(colon + 1);
  if (!host.empty() && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) > 65535) {
    return Error::invalid("--listen \"" + listen + "\": the port must be a number from 0 to 65535");
  }
  return std::make_pair(host.empty() ? std::string("0.0.0.0") : host, static_cast<uint16_t>(std::stoul(port)));
}

sigset_t blockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

void keepFreedMemoryForReuse() {
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_TOP_PAD, 16 << 20);
}

const char* waitForStopSignal(const sigset_t& signals, std::chrono::seconds deadline) {
  int sig = 0;
  sigwait(&signals, &sig);
  // Detached: it may still wait while the process ends normally, so it
  // touches nothing that exit() destroys (the logger): one raw write.
  std::thread([signals, deadline] {
    const auto until = std::chrono::steady_clock::now() + deadline;
    int again = -1;
    for (;;) {  // sigtimedwait returns early on EINTR (a sanitizer's stop-the-world at exit, say)
      const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      timespec wait{static_cast<time_t>(left.count() / 1000000000), static_cast<long>(left.count() % 1000000000)};
      again = sigtimedwait(&signals, nullptr, &wait);
      if (again > 0 || errno != EINTR) break;
    }
    const std::string line = std::string(R"({"level":"error","msg":")") +
                             (again > 0 ? "a second stop signal: exiting now" : "stopping took longer than " + std::to_string(deadline.count()) + " s: exiting now") +
                             "\"}\n";
    std::fflush(nullptr);
    (void)!::write(STDERR_FILENO, line.data(), line.size());
    std::_Exit(1);
  }).detach();
  return sig == SIGTERM ? "SIGTERM" : "SIGINT";
}

void logRequest(const http::AccessRecord& r) {
  logInfo({{"msg", "request"}, {"method", r.method}, {"path", r.path}, {"status", r.status}, {"bytes", r.bytes},
           {"ms", static_cast<double>(static_cast<int64_t>(r.seconds * 100000)) / 100.0}, {"remote", r.remoteAddress}});
}

std::function<void(const FolderProgress&)> logFolderProgress(const std::string& folder) {
  return [folder](const FolderProgress& p) {
    logInfo({{"msg", p.imported < p.toImport ? "importing the drop-in folder" : "imported the drop-in folder"},
             {"imported", p.imported},
             {"of", p.toImport},
             {"folder", folder}});
  };
}

http::ServerOptions serverOptionsFor(const std::pair<std::string, uint16_t>& listen, int threads) {
  http::ServerOptions options;
  options.address = listen.first;
  options.port = listen.second;
  options.threads = threads;
  options.onAccess = logRequest;
  options.onProblem = [](const std::string& problem) { logWarn({{"msg", problem}, {"component", "http"}}); };
  options.drainTimeout = std::chrono::seconds(3);  // within the stop's deadline (waitForStopSignal)
  return options;
}

Status startListening(http::Server& server, const std::string& host, const std::string& portFile,
                      const nlohmann::ordered_json& fields) {
  if (auto s = server.start(); !s) return s;
  // Written whole or not at all: whoever waits for the file reads the port.
  if (!portFile.empty()) {
    if (auto s = writeFileAtomically(portFile, std::to_string(server.port()) + "\n"); !s) return s;
  }
  nlohmann::ordered_json line = {{"msg", "listening"}, {"address", host + ":" + std::to_string(server.port())}};
  for (const auto& [key, value] : fields.items()) line[key] = value;
  logInfo(line);
  return {};
}

}  // namespace patchbay::cli
