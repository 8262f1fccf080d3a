#include "ipvs/name.h"

#include <algorithm>
#include <mutex>
#include <ostream>
#include <unordered_map>

namespace ipvs {

struct Name::Entry {
  std::atomic<std::size_t> refs{1};
  std::string text;
};

namespace {

// The table maps each text to its entry. The last reference is dropped under the mutex, so an
// entry found here is never being freed, and a lookup may safely take a new reference.
struct InternTable {
  std::mutex mutex;
  std::unordered_map<std::string_view, Name::Entry*> entries;  // keys view Entry::text
};

InternTable& table() {
  static auto* t = new InternTable;  // never destroyed: Names may outlive static destruction
  return *t;
}

const std::string& emptyText() {
  static const std::string kEmpty;
  return kEmpty;
}

}  // namespace

Name::Name(std::string_view text) {
  if (text.empty()) return;
  InternTable& t = table();
  std::lock_guard lock(t.mutex);
  if (auto it = t.entries.find(text); it != t.entries.end()) {
    it->second->refs.fetch_add(1, std::memory_order_relaxed);
    entry_ = it->second;
    return;
  }
  auto* e = new Entry;
  e->text.assign(text);
  t.entries.emplace(std::string_view(e->text), e);
  entry_ = e;
}

Name::Name(const Name& other) noexcept : entry_(other.entry_) {
  if (entry_ != nullptr) entry_->refs.fetch_add(1, std::memory_order_relaxed);
}

Name& Name::operator=(const Name& other) noexcept {
  if (entry_ == other.entry_) return *this;
  if (other.entry_ != nullptr) other.entry_->refs.fetch_add(1, std::memory_order_relaxed);
  release();
  entry_ = other.entry_;
  return *this;
}

Name& Name::operator=(Name&& other) noexcept {
  if (this == &other) return *this;
  release();
  entry_ = other.entry_;
  other.entry_ = nullptr;
  return *this;
}

void Name::release() noexcept {
  if (entry_ == nullptr) return;
  // Drop a reference that is not the last without the lock; the last one under it, so that a
  // concurrent intern either sees the entry with a live reference or not at all.
  std::size_t refs = entry_->refs.load(std::memory_order_relaxed);
  while (refs > 1) {
    if (entry_->refs.compare_exchange_weak(refs, refs - 1, std::memory_order_acq_rel)) return;
  }
  InternTable& t = table();
  std::lock_guard lock(t.mutex);
  if (entry_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    t.entries.erase(std::string_view(entry_->text));
    delete entry_;
  }
}

const std::string& Name::str() const { return entry_ ? entry_->text : emptyText(); }

std::ostream& operator<<(std::ostream& os, const Name& name) { return os << name.str(); }

std::size_t Name::internedCount() {
  InternTable& t = table();
  std::lock_guard lock(t.mutex);
  return t.entries.size();
}

NameList::NameList(std::initializer_list<Name> names) {
  if (names.size() != 0) names_ = std::make_unique<std::vector<Name>>(names);
}

NameList::NameList(const NameList& other) {
  if (other.names_) names_ = std::make_unique<std::vector<Name>>(*other.names_);
}

NameList& NameList::operator=(const NameList& other) {
  if (this != &other)
    names_ = other.names_ ? std::make_unique<std::vector<Name>>(*other.names_) : nullptr;
  return *this;
}

void NameList::reserve(std::size_t n) {
  if (n == 0) return;
  if (!names_) names_ = std::make_unique<std::vector<Name>>();
  names_->reserve(n);
}

void NameList::push_back(Name name) {
  if (!names_) names_ = std::make_unique<std::vector<Name>>();
  names_->push_back(std::move(name));
}

bool NameList::contains(std::string_view text) const {
  return std::any_of(begin(), end(), [&](const Name& n) { return n == text; });
}

bool NameList::operator==(const NameList& o) const {
  return std::equal(begin(), end(), o.begin(), o.end());
}

}  // namespace ipvs
