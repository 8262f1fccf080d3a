// FileSource against real files in a temporary directory: the first load, then an edit made the
// way editors make it (write a new file, rename it over the old one) arrives as the difference.

#include "agent/file_source.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "reconcile/change_queue.h"

namespace fs = std::filesystem;

namespace {

const char* kSlice = R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc
  namespace: demo
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
ports: [{name: http, protocol: TCP, port: 8080}]
endpoints:
)";

void writeSlice(const fs::path& dir, int endpoints) {
  std::ofstream out(dir / "tmp.yaml.new");
  out << kSlice;
  for (int i = 1; i <= endpoints; ++i) out << "  - addresses: [10.244.1." << i << "]\n";
  out.close();
  fs::rename(dir / "tmp.yaml.new", dir / "slice.yaml");
}

}  // namespace

TEST_CASE("FileSource emits the first load, then only the differences", "[file_source]") {
  const fs::path dir = fs::temp_directory_path() / ("ipvs-agent-fs-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  writeSlice(dir, 3);

  reconcile::ChangeQueue queue;
  agent::FileSource source(dir, queue, agent::Logger(agent::Logger::Options{0, [](auto) {}, {}}));
  source.start();
  CHECK(queue.allSynced());
  auto first = queue.take();
  REQUIRE(first.changes.size() == 1);
  CHECK(std::get<ipvs::EndpointSlice>(first.changes[0]).endpoints.size() == 3);

  writeSlice(dir, 2);
  reconcile::ChangeBatch second;
  for (int i = 0; i < 100 && second.changes.empty(); ++i) {
    queue.waitUntil(std::chrono::steady_clock::now() + std::chrono::milliseconds(100));
    second = queue.take();
  }
  REQUIRE(second.changes.size() == 1);
  CHECK(std::get<ipvs::EndpointSlice>(second.changes[0]).endpoints.size() == 2);

  fs::remove(dir / "slice.yaml");
  reconcile::ChangeBatch third;
  for (int i = 0; i < 100 && third.changes.empty(); ++i) {
    queue.waitUntil(std::chrono::steady_clock::now() + std::chrono::milliseconds(100));
    third = queue.take();
  }
  REQUIRE(third.changes.size() == 1);
  CHECK(std::holds_alternative<reconcile::SliceDeleted>(third.changes[0]));
  source.stop();
  fs::remove_all(dir);
}
