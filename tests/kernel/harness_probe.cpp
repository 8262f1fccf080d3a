// harness_probe: a dynamically linked C++ program for the harness smoke test.
//
// Purpose: proves that a project-style binary (libstdc++, libnl-3/genl/route, libipset, Boost.JSON,
// yaml-cpp, OpenSSL) runs in the guest with the ldd closure run-guest copies, and that it can talk
// to the guest kernel's IPVS and ipset over netlink. It calls one function of each library so the
// linker keeps every one of them as NEEDED. Test code only: product code keeps libnl and libipset
// inside netlink/.
// Threading: single-threaded. Errors: prints "probe: <what> failed" and exits 1.
// Usage: harness_probe SETNAME  -> creates the ipset SETNAME (hash:ip,port) and prints one JSON
// line with the IPVS generic-netlink family id.
#include <libipset/ipset.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <cstdio>
#include <memory>
#include <string>

namespace {

struct NlSockDeleter {
  void operator()(nl_sock* s) const { nl_socket_free(s); }
};
struct IpsetDeleter {
  void operator()(ipset* s) const { ipset_fini(s); }
};

int fail(const std::string& what) {
  std::fprintf(stderr, "probe: %s failed\n", what.c_str());
  return 1;
}

// The IPVS generic-netlink family id, or a negative libnl error.
int ipvsFamily() {
  std::unique_ptr<nl_sock, NlSockDeleter> sock(nl_socket_alloc());
  if (!sock || genl_connect(sock.get()) < 0) return -1;
  return genl_ctrl_resolve(sock.get(), "IPVS");
}

bool createSet(const std::string& name) {
  ipset_load_types();
  std::unique_ptr<ipset, IpsetDeleter> handle(ipset_init());
  if (!handle) return false;
  std::string line = "create " + name + " hash:ip,port";
  return ipset_parse_line(handle.get(), line.data()) == 0;
}

std::size_t sha256Size() {
  const EVP_MD* md = EVP_sha256();
  return md == nullptr ? 0 : static_cast<std::size_t>(EVP_MD_get_size(md));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return fail("usage: harness_probe SETNAME;");
  const int family = ipvsFamily();
  if (family < 0) return fail("resolving the IPVS genl family");
  if (!createSet(argv[1])) return fail("creating the ipset");
  rtnl_link* link = rtnl_link_alloc();
  if (link == nullptr) return fail("rtnl_link_alloc");
  rtnl_link_put(link);

  const YAML::Node yaml = YAML::Load("answer: 42");
  boost::json::object out;
  out["ipvs_family"] = family;
  out["yaml_answer"] = yaml["answer"].as<int>();
  out["sha256_bytes"] = sha256Size();
  out["set"] = argv[1];
  std::printf("%s\n", boost::json::serialize(out).c_str());
  return 0;
}
