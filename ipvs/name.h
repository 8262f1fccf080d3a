#pragma once
// Compact names for the fields every endpoint carries (node, zone, topology hints).
// Purpose: a cluster has 10^5 endpoints but only as many distinct node and zone names as nodes
// and zones; a std::string per endpoint costs 32 bytes plus a heap copy when longer than 15
// characters. Name is one pointer to a shared, interned copy; NameList is one pointer, null
// when empty (hint lists usually are).
// Threading: Names are created and dropped on any thread (the watcher decodes, the sync thread
// replaces slices); the intern table takes a mutex on intern and on the last release only.
// Ownership: each interned text lives while a Name refers to it, so the table never holds a name
// no object uses any more. Errors: none (allocation failure throws, as std::string does).

#include <atomic>
#include <compare>
#include <cstddef>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ipvs {

class Name {
 public:
  Name() = default;
  Name(std::string_view text);  // NOLINT(google-explicit-constructor): assigned like a string
  Name(const std::string& text) : Name(std::string_view(text)) {}  // NOLINT
  Name(const char* text) : Name(std::string_view(text)) {}         // NOLINT
  Name(const Name& other) noexcept;
  Name(Name&& other) noexcept : entry_(other.entry_) { other.entry_ = nullptr; }
  Name& operator=(const Name& other) noexcept;
  Name& operator=(Name&& other) noexcept;
  ~Name() { release(); }

  const std::string& str() const;
  std::string_view view() const { return str(); }
  operator const std::string&() const { return str(); }  // NOLINT: reads like the old string
  bool empty() const { return entry_ == nullptr; }
  void clear() {
    release();
    entry_ = nullptr;
  }

  // Interned: equal texts share one entry, so equality is a pointer comparison.
  bool operator==(const Name& o) const { return entry_ == o.entry_; }
  bool operator==(std::string_view text) const { return view() == text; }
  bool operator==(const std::string& text) const { return view() == text; }
  bool operator==(const char* text) const { return view() == text; }
  std::strong_ordering operator<=>(const Name& o) const { return view() <=> o.view(); }

  // Distinct texts currently interned (for tests and diagnostics).
  static std::size_t internedCount();

  struct Entry;  // the shared text and its reference count; defined in name.cpp

 private:
  void release() noexcept;
  Entry* entry_ = nullptr;  // null: the empty name
};

std::ostream& operator<<(std::ostream& os, const Name& name);  // test failure messages

class NameList {
 public:
  NameList() = default;
  NameList(std::initializer_list<Name> names);
  NameList(const NameList& other);
  NameList(NameList&&) noexcept = default;
  NameList& operator=(const NameList& other);
  NameList& operator=(NameList&&) noexcept = default;
  ~NameList() = default;

  bool empty() const { return size() == 0; }
  std::size_t size() const { return names_ ? names_->size() : 0; }
  const Name* begin() const { return names_ ? names_->data() : nullptr; }
  const Name* end() const { return names_ ? names_->data() + names_->size() : nullptr; }
  void reserve(std::size_t n);
  void push_back(Name name);
  void clear() { names_.reset(); }
  bool contains(std::string_view text) const;

  bool operator==(const NameList& o) const;

 private:
  std::unique_ptr<std::vector<Name>> names_;  // null until the first name
};

}  // namespace ipvs
