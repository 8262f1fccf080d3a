#pragma once
// FileSource: Services, EndpointSlices and Nodes from manifest files instead of the API server
// (--source=PATH), for IPVS load balancing without Kubernetes and for the demo.
//
// Purpose: loads PATH (a file or a directory of YAML/JSON manifests), hands every object to the
//   EventSink, reports all three resources synced, then re-reads PATH whenever it changes
//   (inotify) and emits only the differences: updates for new or changed objects, deletes for
//   vanished ones, like a relist. A file that fails to parse keeps the previous state (a
//   half-written file never deletes Services).
// Threading: start() spawns one thread; the sink is called on it. stop() joins.
// Ownership: owns its thread and inotify descriptor; borrows the sink.
// Errors: file problems are logged and retried on the next change.

#include <atomic>
#include <filesystem>
#include <map>
#include <string>
#include <thread>

#include "agent/log.h"
#include "ipvs/model.h"
#include "k8swatch/event_sink.h"

namespace agent {

class FileSource {
 public:
  FileSource(std::filesystem::path path, k8swatch::EventSink& sink, Logger log);
  ~FileSource();
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  // Loads and emits once; false if the first load failed (nothing is emitted then).
  bool loadOnce();
  void start();
  void stop();

 private:
  void watchLoop();

  std::filesystem::path path_;
  k8swatch::EventSink& sink_;
  Logger log_;
  std::map<ipvs::ObjectKey, ipvs::Service> services_;
  std::map<ipvs::ObjectKey, ipvs::EndpointSlice> slices_;
  std::map<std::string, ipvs::Node> nodes_;
  int inotify_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace agent
