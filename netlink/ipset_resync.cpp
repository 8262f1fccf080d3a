// IpsetClient::resync and its bulk fill: the part of the ipset adapter that talks to libipset's
// session layer directly, so many adds share one netlink message.

#include <libipset/data.h>
#include <libipset/ipset.h>
#include <libipset/parse.h>
#include <libipset/session.h>
#include <libipset/types.h>

#include "netlink/ipset_client.h"

namespace netlink {

namespace {

std::string reportOf(struct ipset_session* s) {
  const char* msg = ipset_session_report_msg(s);
  std::string text = msg != nullptr ? msg : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  for (char& c : text) {
    if (c == '\n') c = ';';
  }
  ipset_session_report_reset(s);
  return text;
}

}  // namespace

// Adds every entry to `name` in restore mode: a non-zero line number makes libipset aggregate
// consecutive adds into page-sized netlink messages, committed when full and at the end. With
// -exist a duplicate entry does not stop the batch. An entry that does not parse is skipped and
// reported; a kernel error ends the fill (the caller throws the temporary set away).
ipvs::Result<IpsetResyncReport> IpsetClient::fill(const std::string& name,
                                                  std::span<const std::string> entries) {
  struct ipset_session* s = ipset_session(handle_.get());
  resetCapture();
  ipset_envopt_set(s, IPSET_ENV_EXIST);
  IpsetResyncReport report;
  std::uint32_t lineno = 0;
  std::error_code error;
  std::string why;
  const auto skip = [&](const std::string& entry, const std::string& reason) {
    if (report.skipped++ == 0) report.firstSkipped = entry + ": " + reason;
  };
  for (const std::string& entry : entries) {
    if (!plausibleIpsetEntry(entry)) {
      skip(entry, "not an ipset entry");
      continue;
    }
    const struct ipset_type* type = nullptr;
    if (ipset_parse_setname(s, IPSET_SETNAME, name.c_str()) < 0 ||
        (type = ipset_type_get(s, IPSET_CMD_ADD)) == nullptr) {
      why = reportOf(s);
      error = make_error_code(classifyIpsetMessage(why));
      break;
    }
    if (ipset_parse_elem(s, type->last_elem_optional, entry.c_str()) < 0) {
      skip(entry, reportOf(s));
      ipset_data_reset(ipset_session_data(s));
      continue;
    }
    if (ipset_cmd(s, IPSET_CMD_ADD, ++lineno) < 0) {
      why = reportOf(s);
      error = make_error_code(classifyIpsetMessage(why));
      break;
    }
    ++report.added;
  }
  if (!error && ipset_commit(s) < 0) {
    why = reportOf(s);
    error = make_error_code(classifyIpsetMessage(why));
  }
  if (error) {
    (void)ipset_commit(s);  // drop whatever is still buffered
    ipset_session_report_reset(s);
    ipset_data_reset(ipset_session_data(s));
  }
  ipset_envopt_unset(s, IPSET_ENV_EXIST);
  counters_->invalidEntries += report.skipped;
  if (error) {
    recordError(why);
    return fail(error, "ipset restore into " + name);
  }
  counters_->adds += report.added;
  return report;
}

ipvs::Result<IpsetResyncReport> IpsetClient::resync(ipvs::IpsetId id, ipvs::Family family,
                                                    std::span<const std::string> entries) {
  const std::string live = ipvs::ipsetName(id, family);
  const std::string temp = ipsetTempName(id, family);
  if (auto r = createNamed(live, id, family); !r) return r.error();
  // A temporary set left by a crash is replaced, never reused: its contents are unknown.
  if (auto r = run({"destroy", temp}, false); !r && r.error() != IpsetError::kSetMissing) {
    return fail(r.error(), "ipset destroy " + temp);
  }
  if (auto r = createNamed(temp, id, family); !r) return r.error();
  auto filled = fill(temp, entries);
  if (!filled) {
    const std::string saved = lastError_;
    (void)run({"destroy", temp}, false);
    lastError_ = saved;
    return filled.error();
  }
  // swap exchanges the two sets under their names; iptables rules that reference the live name
  // see the new members at once, and the live set is never empty in between.
  if (auto r = run({"swap", temp, live}, false); !r) {
    const std::error_code ec = fail(r.error(), "ipset swap " + temp + " " + live);
    const std::string saved = lastError_;
    (void)run({"destroy", temp}, false);
    lastError_ = saved;
    return ec;
  }
  if (auto r = run({"destroy", temp}, false); !r) {
    return fail(r.error(), "ipset destroy " + temp + " (after swap)");
  }
  ++counters_->resyncs;
  return filled;
}

}  // namespace netlink
