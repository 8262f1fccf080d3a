// k8swatch_bench: decode throughput, cache memory and per-event latency of the watch path.
//
//  1. LIST: 1,000 EndpointSlices x 100 endpoints (100,000 endpoints) with realistic metadata,
//     parsed with Boost.JSON and decoded into the EndpointSlice cache. Reports MB/s (one core).
//  2. Cache memory: live heap bytes held by the cache after the LIST, per endpoint (counted by
//     this binary's operator new/delete).
//  3. WATCH: 10,000 MODIFIED events (one endpoint's readiness flips each time) fed through the
//     stream splitter in 64 KiB pieces. Reports MB/s, and per-event latency (last byte of an
//     event in -> model update delivered to the sink) as p50/p99/max over events fed one by one;
//     both for the DOM path and for the streaming slice decoder the reflector now uses.
//  4. DECODE: one watch event's text -> ipvs::EndpointSlice, the DOM decoder (json::parse into a
//     per-event arena, then decodeEndpointSlice) against the streaming decoder
//     (streamDecodeSliceEvent), alternating event by event in the same run; p50/p99 and the ratio.
// Usage: k8swatch_bench [--endpoints-per-slice N] [--slices N] [--events N] [--runs N]

#include <malloc.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "k8swatch/decode_slice_stream.h"
#include "k8swatch/event_stream.h"
#include "k8swatch/object_cache.h"

namespace {

std::atomic<long long> gLiveBytes{0};

}  // namespace

// Counting replacements of the global allocation functions. GCC sees malloc/free behind
// new/delete once inlined and warns of a mismatch that is the whole point here.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  gLiveBytes += static_cast<long long>(malloc_usable_size(p));
  return p;
}
void operator delete(void* p) noexcept {
  if (p == nullptr) return;
  gLiveBytes -= static_cast<long long>(malloc_usable_size(p));
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }

namespace {

using Clock = std::chrono::steady_clock;
namespace json = boost::json;

struct NullSink final : k8swatch::EventSink {
  std::size_t updates = 0;
  void serviceUpdated(ipvs::Service) override { ++updates; }
  void serviceDeleted(const ipvs::ObjectKey&) override {}
  void sliceUpdated(ipvs::EndpointSlice) override { ++updates; }
  void sliceDeleted(const ipvs::EndpointSlice&) override {}
  void nodeUpdated(ipvs::Node) override {}
  void synced(k8swatch::ResourceKind) override {}
  void rejected(k8swatch::ResourceKind, const std::string& o, std::string_view r,
                const std::string&) override {
    std::fprintf(stderr, "unexpected reject %s %.*s\n", o.c_str(), static_cast<int>(r.size()),
                 r.data());
  }
};

std::string sliceJson(int s, int perSlice, int rv, int flip) {
  const std::string svc = "svc-" + std::to_string(s);
  const std::string name = svc + "-x7k2q";
  std::string j =
      R"({"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1","metadata":{"name":")" + name +
      R"(","generateName":")" + svc + R"(-","namespace":"team-)" + std::to_string(s % 50) +
      R"(","uid":"6b3a8f3e-2c1d-4e5f-9a7b-)" + std::to_string(100000000000 + s) +
      R"(","resourceVersion":")" + std::to_string(rv) + R"(","generation":)" + std::to_string(rv) +
      R"(,"creationTimestamp":"2024-05-01T10:00:00Z","labels":{"app":")" + svc +
      R"(","endpointslice.kubernetes.io/managed-by":"endpointslice-controller.k8s.io","kubernetes.io/service-name":")" +
      svc +
      R"("},"annotations":{"endpoints.kubernetes.io/last-change-trigger-time":"2024-05-01T10:00:00Z"},"ownerReferences":[{"apiVersion":"v1","kind":"Service","name":")" +
      svc + R"(","uid":"0c1d2e3f-aaaa-bbbb-cccc-)" + std::to_string(200000000000 + s) +
      R"(","controller":true,"blockOwnerDeletion":true}]},"addressType":"IPv4","endpoints":[)";
  for (int e = 0; e < perSlice; ++e) {
    const int n = s * perSlice + e;
    const bool ready = e != flip;
    j += std::string(e ? "," : "") + R"({"addresses":["10.)" + std::to_string(64 + n / 65536) +
         "." + std::to_string((n / 256) % 256) + "." + std::to_string(n % 256) +
         R"("],"conditions":{"ready":)" + (ready ? "true" : "false") + R"(,"serving":)" +
         (ready ? "true" : "false") +
         R"(,"terminating":false},"targetRef":{"kind":"Pod","namespace":"team-)" +
         std::to_string(s % 50) + R"(","name":")" + svc + "-7d9f8b6c5-" + std::to_string(n) +
         R"(","uid":"a1b2c3d4-e5f6-4a5b-8c9d-)" + std::to_string(300000000000 + n) +
         R"("},"nodeName":"node-)" + std::to_string(n % 500) + R"(","zone":"zone-)" +
         std::string(1, static_cast<char>('a' + n % 3)) + R"("})";
  }
  j +=
      R"(],"ports":[{"name":"http","protocol":"TCP","port":8080},{"name":"metrics","protocol":"TCP","port":9090}]})";
  return j;
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// CPU time of this thread: "MB/s on one core" even when other work shares the machine.
double cpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

int argInt(int argc, char** argv, const char* name, int def) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == name) return std::atoi(argv[i + 1]);
  }
  return def;
}

struct Percentiles {
  double p50;
  double p99;
  double max;
};

Percentiles percentiles(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto at = [&](double p) {
    return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
  };
  return {at(0.5), at(0.99), v.back()};
}

// A cache filled from the LIST and a stream parser feeding it, wired as the reflector wires
// them: every event through the DOM, or (text) slice events through the streaming decoder.
struct WatchPath {
  NullSink sink;
  k8swatch::WatchStats stats;
  std::unique_ptr<k8swatch::ObjectCache> cache;
  std::unique_ptr<k8swatch::EventStreamParser> parser;
};

std::unique_ptr<WatchPath> makeWatchPath(const std::string& list, bool text) {
  auto w = std::make_unique<WatchPath>();
  w->cache = k8swatch::makeObjectCache(k8swatch::ResourceKind::kEndpointSlice, w->sink, w->stats);
  k8swatch::ObjectCache* cache = w->cache.get();
  {
    json::value root = json::parse(list);
    cache->beginList();
    for (const auto& item : root.at("items").as_array()) cache->listItem(item);
    cache->endList();
  }
  w->parser = std::make_unique<k8swatch::EventStreamParser>(
      16u << 20, [cache](json::value&& ev) { cache->upsert(ev.at("object")); }, [](std::size_t) {});
  if (text) {
    w->parser->setSliceFn([cache](k8swatch::SliceEvent&& ev, std::string_view) {
      cache->storeSlice(std::move(ev.slice));
    });
  }
  return w;
}

// 3. The whole stream through one path in 64 KiB pieces.
bool watchThroughput(WatchPath& w, const std::string& stream, int eventCount, const char* what) {
  const std::size_t before = w.sink.updates;
  const auto t0 = Clock::now();
  const double c0 = cpuSeconds();
  for (std::size_t pos = 0; pos < stream.size(); pos += 64 * 1024) {
    if (!w.parser->feed(std::string_view(stream).substr(pos, 64 * 1024))) return false;
  }
  const double secs = seconds(Clock::now() - t0);
  const double cpu = cpuSeconds() - c0;
  if (w.sink.updates - before != static_cast<std::size_t>(eventCount)) return false;
  std::printf("WATCH  %s: %d events, %.1f MB: %.3f s wall, %.3f s CPU: %.0f MB/s per core\n", what,
              eventCount, static_cast<double>(stream.size()) / 1e6, secs, cpu,
              static_cast<double>(stream.size()) / 1e6 / cpu);
  return true;
}

// 4. The same event texts through both decoders, alternating, so load on the shared machine
// hits both alike. Both results must agree, or the comparison means nothing.
bool compareDecoders(const std::vector<std::string>& events) {
  std::vector<double> tree;
  std::vector<double> sax;
  for (const auto& ev : events) {
    auto t = Clock::now();
    json::value v = json::parse(ev, json::make_shared_resource<json::monotonic_resource>());
    auto fromTree = k8swatch::decodeEndpointSlice(v.at("object"));
    tree.push_back(seconds(Clock::now() - t) * 1e6);
    t = Clock::now();
    auto fromSax = k8swatch::streamDecodeSliceEvent(ev);
    sax.push_back(seconds(Clock::now() - t) * 1e6);
    const auto* slice = std::get_if<ipvs::EndpointSlice>(&fromTree);
    if (slice == nullptr || !fromSax || !(fromSax->slice == *slice)) {
      std::fprintf(stderr, "the decoders disagree\n");
      return false;
    }
  }
  const Percentiles a = percentiles(tree);
  const Percentiles b = percentiles(sax);
  std::printf(
      "DECODE %zu events, DOM: p50 %.1f us, p99 %.1f us; streaming: p50 %.1f us, "
      "p99 %.1f us; streaming/DOM p50 %.2fx\n",
      events.size(), a.p50, a.p99, b.p50, b.p99, b.p50 / a.p50);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const int perSlice = argInt(argc, argv, "--endpoints-per-slice", 100);
  const int slices = argInt(argc, argv, "--slices", 1000);
  const int eventCount = argInt(argc, argv, "--events", 10000);
  const int runs = argInt(argc, argv, "--runs", 5);
  const long long endpoints = static_cast<long long>(perSlice) * slices;

  std::string list =
      R"({"kind":"EndpointSliceList","apiVersion":"discovery.k8s.io/v1","metadata":{"resourceVersion":"5000"},"items":[)";
  for (int s = 0; s < slices; ++s) list += (s ? "," : "") + sliceJson(s, perSlice, 1000 + s, -1);
  list += "]}";

  // 1+2. LIST decode into a fresh cache, best of `runs`; memory from the last run.
  double best = 1e9;
  double bestCpu = 1e9;
  long long cacheBytes = 0;
  for (int r = 0; r < runs; ++r) {
    NullSink sink;
    k8swatch::WatchStats stats;
    const long long before = gLiveBytes.load();
    auto cache = k8swatch::makeObjectCache(k8swatch::ResourceKind::kEndpointSlice, sink, stats);
    const auto t0 = Clock::now();
    const double c0 = cpuSeconds();
    {
      json::value root = json::parse(list, json::make_shared_resource<json::monotonic_resource>());
      cache->beginList();
      for (const auto& item : root.at("items").as_array()) cache->listItem(item);
      cache->endList();
    }
    best = std::min(best, seconds(Clock::now() - t0));
    bestCpu = std::min(bestCpu, cpuSeconds() - c0);
    cacheBytes = gLiveBytes.load() - before;
    if (sink.updates != static_cast<std::size_t>(slices)) return 1;
  }
  std::printf("LIST   %d slices x %d endpoints = %lld endpoints, %.1f MB\n", slices, perSlice,
              endpoints, static_cast<double>(list.size()) / 1e6);
  std::printf(
      "LIST   decode+cache: %.3f s wall, %.3f s CPU: %.0f MB/s per core (%.0f MB/s wall; "
      "best of %d)\n",
      best, bestCpu, static_cast<double>(list.size()) / 1e6 / bestCpu,
      static_cast<double>(list.size()) / 1e6 / best, runs);
  std::printf("CACHE  %lld bytes live = %.1f bytes/endpoint\n", cacheBytes,
              static_cast<double>(cacheBytes) / static_cast<double>(endpoints));

  // 3. WATCH: events flip one endpoint's readiness in a rotating slice.
  std::vector<std::string> events;
  std::size_t streamBytes = 0;
  for (int i = 0; i < eventCount; ++i) {
    events.push_back(R"({"type":"MODIFIED","object":)" +
                     sliceJson(i % slices, perSlice, 10000 + i, i % perSlice) + "}\n");
    streamBytes += events.back().size();
  }
  std::string stream;
  stream.reserve(streamBytes);
  for (const auto& e : events) stream += e;
  auto dom = makeWatchPath(list, false);
  auto text = makeWatchPath(list, true);
  if (!watchThroughput(*dom, stream, eventCount, "DOM") ||
      !watchThroughput(*text, stream, eventCount, "streaming")) {
    return 1;
  }

  // Per event: the whole event is fed as one piece; the clock stops when the sink has it. The
  // two paths take turns, event by event, each into its own cache.
  std::vector<double> viaDom;
  std::vector<double> viaText;
  for (int i = 0; i < eventCount; ++i) {
    const std::string ev = R"({"type":"MODIFIED","object":)" +
                           sliceJson(i % slices, perSlice, 50000 + i, (i + 7) % perSlice) + "}\n";
    for (auto* path : {dom.get(), text.get()}) {
      const auto t = Clock::now();
      path->parser->feed(ev);
      (path == dom.get() ? viaDom : viaText).push_back(seconds(Clock::now() - t) * 1e6);
    }
  }
  if (dom->sink.updates != text->sink.updates) return 1;
  const Percentiles a = percentiles(viaDom);
  const Percentiles b = percentiles(viaText);
  std::printf("EVENT  %.1f KB each, DOM: p50 %.1f us, p99 %.1f us, max %.1f us\n",
              static_cast<double>(events[0].size()) / 1e3, a.p50, a.p99, a.max);
  std::printf("EVENT  streaming: p50 %.1f us, p99 %.1f us, max %.1f us; streaming/DOM p50 %.2fx\n",
              b.p50, b.p99, b.max, b.p50 / a.p50);
  return compareDecoders(events) ? 0 : 1;
}
