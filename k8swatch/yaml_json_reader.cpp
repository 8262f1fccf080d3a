// The bounded YAML reader behind yamlToJson (see yaml_json.h for why it is event-driven).
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <optional>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "k8swatch/yaml_json.h"

namespace k8swatch {

namespace json = boost::json;

YamlError::YamlError(std::size_t line, std::size_t column, const std::string& detail)
    : std::runtime_error(std::to_string(line) + ":" + std::to_string(column) + ": " + detail),
      line_(line),
      column_(column),
      detail_(detail) {}

namespace {

[[noreturn]] void fail(const YAML::Mark& mark, const std::string& detail) {
  throw YamlError(static_cast<std::size_t>(mark.line) + 1,
                  static_cast<std::size_t>(mark.column) + 1, detail);
}

// Offset of the first byte of `s` that is not well-formed UTF-8 (overlong forms, surrogates and
// code points over U+10FFFF included), or npos. yaml-cpp 0.7 passes such bytes through into
// scalars, while its emitter writes U+FFFD for them, so a value read from invalid UTF-8 would
// not survive being written back (--write-config-to). go-yaml and the API server refuse it too.
std::size_t invalidUtf8At(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b < 0x80) {
      len = 1;
    } else if (b >= 0xC2 && b <= 0xDF) {
      len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3;
      if (b == 0xE0) lo = 0xA0;  // overlong
      if (b == 0xED) hi = 0x9F;  // UTF-16 surrogates
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4;
      if (b == 0xF0) lo = 0x90;  // overlong
      if (b == 0xF4) hi = 0x8F;  // over U+10FFFF
    } else {
      return i;
    }
    if (s.size() - i < len) return i;
    for (std::size_t k = 1; k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF)) return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

// Builds one JSON value per document from parser events. Single-threaded, owned by yamlToJson.
// Throws YamlError from inside the parser's callbacks (plain C++ frames, no C in between), which
// abandons the parse. Counters run over the whole text, so the bounds hold for all documents.
class JsonBuilder final : public YAML::EventHandler {
 public:
  explicit JsonBuilder(const YamlOptions& options) : options_(options) {}

  YAML::Mark documentStart() const { return documentStart_; }
  json::value takeDocument() { return std::exchange(root_, nullptr); }

  void OnDocumentStart(const YAML::Mark& mark) override {
    documentStart_ = mark;
    stack_.clear();
    anchors_.clear();
    keptNodes_ = keptBytes_ = 0;  // the copies kept for aliases die with their document
    root_ = nullptr;
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (expectingKey()) fail(mark, describe() + "a mapping key is null");
    charge(mark, 1, 0);
    keep(mark, anchor, nullptr, 1, 0, std::nullopt);
    place(nullptr);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& text) override {
    charge(mark, 1, text.size());
    if (const auto bad = invalidUtf8At(text); bad != std::string_view::npos) {
      fail(mark, describe() + "a scalar is not valid UTF-8 (byte " + std::to_string(bad + 1) +
                     " of its text)");
    }
    json::value v;
    try {
      v = scalarToJson(tag, text, options_.schema);
    } catch (const std::runtime_error& e) {
      fail(mark, describe() + e.what());
    }
    keep(mark, anchor, v, 1, text.size(), text);
    if (expectingKey()) {
      stack_.back().key = text;  // the text, whatever it resolves to: JSON keys are strings
    } else {
      place(std::move(v));
    }
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const auto it = anchors_.find(anchor);
    // yaml-cpp rejects unknown anchors itself, so a missing one is still open: a cycle.
    if (it == anchors_.end()) fail(mark, describe() + "an alias refers to a node that contains it");
    const Anchored& a = it->second;
    charge(mark, a.nodes, a.bytes);  // before the copy: the bound is what stops billion laughs
    if (expectingKey()) {
      if (!a.text) fail(mark, describe() + "a mapping key is not a scalar");
      stack_.back().key = *a.text;
      return;
    }
    place(a.value);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, anchor, json::array());
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, anchor, json::object());
  }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    json::value value;               // the array or object being filled
    std::optional<std::string> key;  // maps: the key waiting for its value
    YAML::Mark mark;
    YAML::anchor_t anchor = YAML::NullAnchor;
    std::size_t nodesBefore = 0, bytesBefore = 0;  // to size the subtree for its anchor
  };
  struct Anchored {
    json::value value;
    std::size_t nodes = 0, bytes = 0;
    std::optional<std::string> text;  // scalars: usable as a mapping key
  };

  bool expectingKey() const {
    return !stack_.empty() && stack_.back().value.is_object() && !stack_.back().key;
  }

  void charge(const YAML::Mark& mark, std::size_t nodes, std::size_t bytes) {
    const YamlLimits& l = options_.limits;
    nodes_ += nodes;
    bytes_ += bytes;
    if (nodes_ + keptNodes_ > l.maxNodes) {
      fail(mark, "the YAML expands to more than " + std::to_string(l.maxNodes) +
                     " nodes (each use of an alias counts in full)");
    }
    if (bytes_ + keptBytes_ > l.maxBytes) {
      fail(mark, "the YAML expands to more than " + std::to_string(l.maxBytes) +
                     " bytes of text (each use of an alias counts in full)");
    }
  }

  void keep(const YAML::Mark& mark, YAML::anchor_t anchor, const json::value& v, std::size_t nodes,
            std::size_t bytes, std::optional<std::string> text) {
    if (anchor == YAML::NullAnchor) return;
    keptNodes_ += nodes;  // the copy costs memory like any other node
    keptBytes_ += bytes;
    charge(mark, 0, 0);
    anchors_[anchor] = Anchored{v, nodes, bytes, std::move(text)};
  }

  void open(const YAML::Mark& mark, YAML::anchor_t anchor, json::value empty) {
    if (expectingKey()) fail(mark, describe() + "a mapping key is not a scalar");
    if (stack_.size() >= options_.limits.maxDepth) {
      fail(mark,
           "the YAML nests deeper than " + std::to_string(options_.limits.maxDepth) + " levels");
    }
    charge(mark, 1, 0);
    stack_.push_back(Frame{std::move(empty), std::nullopt, mark, anchor, nodes_ - 1, bytes_});
  }

  void close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    keep(f.mark, f.anchor, f.value, nodes_ - f.nodesBefore, bytes_ - f.bytesBefore, std::nullopt);
    place(std::move(f.value));
  }

  void place(json::value v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return;
    }
    Frame& top = stack_.back();
    if (auto* a = top.value.if_array()) {
      a->push_back(std::move(v));
      return;
    }
    json::object& o = top.value.get_object();
    if (options_.duplicateKeys != nullptr && o.contains(*top.key)) {
      options_.duplicateKeys->push_back("duplicate field \"" + path(stack_.size()) +
                                        "\": the last one wins");
    }
    o[*top.key] = std::move(v);
    top.key.reset();
  }

  // "a.b[2].c": where the value being placed into frame `depth - 1` goes.
  std::string path(std::size_t depth) const {
    std::string p;
    for (std::size_t i = 0; i < depth; ++i) {
      const Frame& f = stack_[i];
      if (const auto* a = f.value.if_array()) {
        p += "[" + std::to_string(a->size()) + "]";
      } else if (f.key) {
        p += (p.empty() ? "" : ".") + *f.key;
      }
    }
    return p;
  }
  std::string describe() const {
    const std::string p = path(stack_.size());
    return p.empty() ? std::string() : p + ": ";
  }

  const YamlOptions& options_;
  std::vector<Frame> stack_;
  std::unordered_map<YAML::anchor_t, Anchored> anchors_;
  json::value root_;
  YAML::Mark documentStart_;
  std::size_t nodes_ = 0, bytes_ = 0;          // in the output
  std::size_t keptNodes_ = 0, keptBytes_ = 0;  // in the copies kept for aliases
};

// yaml-cpp 0.7 can return the same empty document forever without consuming a byte (",\n").
[[noreturn]] void failStuck(std::string_view text, const YAML::Mark& mark) {
  const auto pos = static_cast<std::size_t>(mark.pos);
  const std::string what = pos < text.size() && text[pos] >= 0x21 && text[pos] < 0x7f
                               ? "'" + std::string(1, text[pos]) + "'"
                               : "input";
  fail(mark, "unexpected " + what + ": the YAML parser cannot get past it");
}

}  // namespace

std::vector<json::value> yamlToJson(std::string_view text, const YamlOptions& options) {
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  JsonBuilder builder(options);
  std::vector<json::value> docs;
  std::optional<YAML::Mark> previous;
  try {
    while (parser.HandleNextDocument(builder)) {
      const YAML::Mark start = builder.documentStart();
      if (previous && previous->pos == start.pos) failStuck(text, start);
      previous = start;
      if (docs.size() >= options.limits.maxDocuments) {
        fail(start, "more than " + std::to_string(options.limits.maxDocuments) + " documents");
      }
      docs.push_back(builder.takeDocument());
      if (options.firstDocumentOnly) break;
    }
  } catch (const YAML::Exception& e) {
    fail(e.mark, e.msg);
  }
  return docs;
}

}  // namespace k8swatch
