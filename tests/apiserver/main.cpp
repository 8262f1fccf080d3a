// fake-apiserver: the local Kubernetes API server for end-to-end tests and the demo.
//   fake-apiserver [--port N] [--manifests PATH] [--token T] [--request-log FILE]
//                  [--bookmark-interval-ms N] [--chunk-split N] [--port-file FILE]
// Prints "listening on http://127.0.0.1:PORT" once ready; runs until SIGINT/SIGTERM.

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "tests/apiserver/server.h"

namespace {

[[noreturn]] void usage(const char* why) {
  std::cerr << "fake-apiserver: " << why << "\n"
            << "usage: fake-apiserver [--port N] [--manifests PATH] [--token T] "
               "[--request-log FILE] [--bookmark-interval-ms N] [--chunk-split N] [--watch-list "
               "on|refuse|ignore] "
               "[--port-file FILE]\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  fakeapi::ServerOptions options;
  std::string manifests;
  std::string portFile;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + arg).c_str());
      return argv[++i];
    };
    if (arg == "--port") {
      options.port = static_cast<std::uint16_t>(std::stoul(value()));
    } else if (arg == "--manifests") {
      manifests = value();
    } else if (arg == "--token") {
      options.token = value();
    } else if (arg == "--request-log") {
      options.requestLogPath = value();
    } else if (arg == "--bookmark-interval-ms") {
      options.bookmarkInterval = std::chrono::milliseconds(std::stol(value()));
    } else if (arg == "--chunk-split") {
      options.chunkSplit = std::stoul(value());
    } else if (arg == "--watch-list") {
      options.watchList = value();
    } else if (arg == "--port-file") {
      portFile = value();
    } else {
      usage(("unknown argument " + arg).c_str());
    }
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // the server thread inherits the mask
  try {
    fakeapi::FakeApiServer server(options);
    if (!manifests.empty()) server.loadManifests(manifests);
    server.start();
    if (!portFile.empty()) std::ofstream(portFile) << server.port() << "\n";
    std::cout << "listening on " << server.url() << std::endl;
    int sig = 0;
    sigwait(&signals, &sig);
    server.stop();
  } catch (const std::exception& e) {
    std::cerr << "fake-apiserver: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
