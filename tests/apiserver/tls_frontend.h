#pragma once
// A TLS front for the fake API server: terminates TLS on 127.0.0.1 and pipes the bytes to the
// plain server's port, so every API semantic is available over https:// unchanged. Used by the
// TLS tests (certificate and host-name verification). Threading: its own io thread.

#include <cstdint>
#include <memory>
#include <string>

namespace fakeapi {

class TlsFrontend {
 public:
  // PEM certificate chain and private key; `backendPort` is the plain server on 127.0.0.1.
  TlsFrontend(const std::string& certPem, const std::string& keyPem, std::uint16_t backendPort);
  ~TlsFrontend();
  TlsFrontend(const TlsFrontend&) = delete;
  TlsFrontend& operator=(const TlsFrontend&) = delete;

  void start();  // throws on bad PEM or bind failure
  void stop();
  std::uint16_t port() const { return port_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
};

}  // namespace fakeapi
